//! The held state over HTTP, at the routes and with the headers and status codes of
//! [`crate::tiles_http`]: `GET /checkpoint` (the held note with its cosignature lines, not
//! cached), `GET /tile/<L>/<N>[.p/<W>]` and `GET /tile/entries/<N>[.p/<W>]` (immutable;
//! bundles gzip-compressed). A tile or bundle is served at any width up to the one the held
//! size gives it, read from the file of that width; anything beyond, or any non-canonical
//! path, is `404`.

use super::files::bundle_prefix;
use super::{MirrorError, Shared};
use crate::tiles_http::{CHECKPOINT_CACHE_CONTROL, CHECKPOINT_CONTENT_TYPE, TILE_CACHE_CONTROL, TILE_CONTENT_TYPE};
use axum::http::{header, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use greenledger_core::log::tiles::{tile_width, TileKind, TilePath};
use std::io::Write as _;
use std::sync::Arc;

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    let s = shared.clone();
    let checkpoint = get(move || checkpoint(s.clone()));
    let tile = get(move |uri: Uri| tile(shared.clone(), uri));
    Router::new().route("/checkpoint", checkpoint).route("/tile/{*rest}", tile)
}

async fn checkpoint(shared: Arc<Shared>) -> Response {
    match shared.held() {
        Some(held) => (
            [(header::CONTENT_TYPE, CHECKPOINT_CONTENT_TYPE), (header::CACHE_CONTROL, CHECKPOINT_CACHE_CONTROL)],
            held.note,
        )
            .into_response(),
        None => not_found("the mirror holds no checkpoint yet"),
    }
}

enum Read {
    Body(Vec<u8>, bool),
    Missing(String),
}

async fn tile(shared: Arc<Shared>, uri: Uri) -> Response {
    let Some(path) = uri.path().strip_prefix('/').and_then(TilePath::parse) else {
        return not_found("not a tlog-tiles path");
    };
    let read = tokio::task::spawn_blocking(move || -> Result<Read, MirrorError> {
        // Held while the file is read: a commit prunes partial files only after it has the lock.
        let held = shared.held.read().unwrap_or_else(|p| p.into_inner());
        let size = held.as_ref().map_or(0, |h| h.checkpoint.size);
        let level = match path.kind {
            TileKind::Hashes(l) => l,
            TileKind::Entries => 0,
        };
        let have = tile_width(level, path.index, size);
        if path.width > have {
            return Ok(Read::Missing(format!("{path} is not in the held tree of size {size}")));
        }
        match path.kind {
            TileKind::Hashes(level) => {
                let mut bytes = shared.files.hash_tile(level, path.index, have)?;
                bytes.truncate(usize::from(path.width) * 32);
                Ok(Read::Body(bytes, false))
            }
            TileKind::Entries => {
                let bundle = shared.files.bundle(path.index, have)?;
                let prefix = bundle_prefix(&bundle, path.width)?;
                let body = gzip(prefix).map_err(|e| MirrorError::Damaged { reason: format!("gzip: {e}") })?;
                Ok(Read::Body(body, true))
            }
        }
    });
    match read.await {
        Ok(Ok(Read::Body(body, gzipped))) => {
            let mut response =
                ([(header::CONTENT_TYPE, TILE_CONTENT_TYPE), (header::CACHE_CONTROL, TILE_CACHE_CONTROL)], body)
                    .into_response();
            if gzipped {
                response.headers_mut().insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            }
            response
        }
        Ok(Ok(Read::Missing(why))) => not_found(&why),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "mirror read failed");
            (StatusCode::INTERNAL_SERVER_ERROR, [(header::CACHE_CONTROL, "no-store")], e.to_string()).into_response()
        }
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

fn gzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder =
        flate2::write::GzEncoder::new(Vec::with_capacity(bytes.len() / 2), flate2::Compression::default());
    encoder.write_all(bytes)?;
    encoder.finish()
}

fn not_found(why: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, CHECKPOINT_CONTENT_TYPE), (header::CACHE_CONTROL, CHECKPOINT_CACHE_CONTROL)],
        format!("{why}\n"),
    )
        .into_response()
}

//! The log over HTTP as C2SP tlog-tiles (<https://c2sp.org/tlog-tiles>): the signed checkpoint,
//! the Merkle tree as hash tiles and the entries as entry bundles, static resources that any
//! tlog-tiles client (Go's `golang.org/x/mod/sumdb/tlog` among them) reads to rebuild roots and
//! compute inclusion and consistency proofs on its own. Served on the same HTTP port as
//! `/metrics` and the explorer (`serve --http-addr`), at the root of that port.
//!
//! | route | body | headers |
//! |---|---|---|
//! | `GET /checkpoint` | the latest published checkpoint note (C2SP tlog-checkpoint) with every witness cosignature gathered for it ([`crate::publish`]); the newest signed checkpoint when the server publishes none | `Content-Type: text/plain; charset=utf-8`, `Cache-Control: no-cache` |
//! | `GET /tile/<L>/<N>` | full hash tile: 256 hashes of 32 bytes | `Content-Type: application/octet-stream`, `Cache-Control: public, max-age=31536000, immutable` |
//! | `GET /tile/<L>/<N>.p/<W>` | partial hash tile: its first `W` (1 to 255) hashes | as a full tile |
//! | `GET /tile/entries/<N>[.p/<W>]` | entry bundle: each leaf after its big-endian `uint16` length | as a hash tile, plus `Content-Encoding: gzip` |
//!
//! `<L>` is the tile level (0 to 63), `<N>` the tile index in groups of three digits, all but
//! the last prefixed with `x` (`1234067` is `x001/x234/067`), `<W>` the width of a partial tile.
//! A tile at level `L` holds the hashes of tree level `8L`; level 0 holds the leaf hashes.
//! Only canonical paths are served ([`TilePath::parse`]); anything else is `404`, and so is a
//! tile or bundle the signed tree does not (yet) hold that many hashes or entries of. A tile
//! of a given path never changes once it exists: a partial tile of width `W` is the prefix of
//! the full tile it grows into, so both are cached as immutable; the checkpoint is not cached.
//! Entry bundles are always gzip-compressed, without negotiation, as the specification allows;
//! hash tiles are not (hashes do not compress).
//!
//! Every read touches the store, so it runs on the blocking pool.

use crate::ledger::queries::QueryError;
use crate::ledger::Ledger;
use crate::publish::Published;
use crate::store::Store;
use axum::http::{header, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use greenledger_core::log::tiles::{TileKind, TilePath};
use std::io::Write as _;
use std::sync::Arc;

/// `Content-Type` of `/checkpoint`.
pub const CHECKPOINT_CONTENT_TYPE: &str = "text/plain; charset=utf-8";
/// `Content-Type` of hash tiles and entry bundles.
pub const TILE_CONTENT_TYPE: &str = "application/octet-stream";
/// `Cache-Control` of `/checkpoint`: it changes with every publish (every batch without one).
pub const CHECKPOINT_CACHE_CONTROL: &str = "no-cache";
/// `Cache-Control` of every tile and bundle that exists (full or partial): its bytes never
/// change.
pub const TILE_CACHE_CONTROL: &str = "public, max-age=31536000, immutable";

/// The tlog-tiles routes, to merge into the HTTP port's router; `/checkpoint` is the newest
/// signed checkpoint.
pub fn router<S: Store>(ledger: Arc<Ledger<S>>) -> Router {
    router_with(ledger, None)
}

/// The tlog-tiles routes; with `published`, `/checkpoint` is the latest published checkpoint
/// with its cosignatures (the newest signed one until something is published).
pub fn router_with<S: Store>(ledger: Arc<Ledger<S>>, published: Option<Published>) -> Router {
    let l = ledger.clone();
    let checkpoint = get(move || checkpoint(l.clone(), published.clone()));
    let tile = get(move |uri: Uri| tile(ledger.clone(), uri));
    Router::new().route("/checkpoint", checkpoint).route("/tile/{*rest}", tile)
}

async fn checkpoint<S: Store>(ledger: Arc<Ledger<S>>, published: Option<Published>) -> Response {
    let read = move || -> Result<String, QueryError> {
        if let Some(p) = published {
            match p.latest() {
                Ok(Some((_, note))) => return Ok(note),
                Ok(None) => {}
                Err(e) => return Err(QueryError::Invalid(e.to_string())),
            }
        }
        ledger.checkpoint_note()
    };
    match tokio::task::spawn_blocking(read).await {
        Ok(Ok(note)) => {
            ([(header::CONTENT_TYPE, CHECKPOINT_CONTENT_TYPE), (header::CACHE_CONTROL, CHECKPOINT_CACHE_CONTROL)], note)
                .into_response()
        }
        Ok(Err(e)) => failure(&e),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// A hash tile or an entry bundle. The raw request path is parsed, not a percent-decoded
/// capture, so `tile/0/x001%2F234` is no spelling of `tile/0/x001/234`.
async fn tile<S: Store>(ledger: Arc<Ledger<S>>, uri: Uri) -> Response {
    let Some(path) = uri.path().strip_prefix('/').and_then(TilePath::parse) else {
        return not_found("not a tlog-tiles path");
    };
    let read = tokio::task::spawn_blocking(move || -> Result<(Vec<u8>, bool), QueryError> {
        match path.kind {
            TileKind::Hashes(level) => Ok((ledger.hash_tile(level, path.index, path.width)?, false)),
            TileKind::Entries => {
                let bundle = ledger.entry_bundle(path.index, path.width)?;
                Ok((gzip(&bundle).map_err(|e| QueryError::Invalid(format!("gzip: {e}")))?, true))
            }
        }
    });
    match read.await {
        Ok(Ok((body, gzipped))) => {
            let mut response =
                ([(header::CONTENT_TYPE, TILE_CONTENT_TYPE), (header::CACHE_CONTROL, TILE_CACHE_CONTROL)], body)
                    .into_response();
            if gzipped {
                response.headers_mut().insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            }
            response
        }
        Ok(Err(e)) => failure(&e),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

fn gzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder =
        flate2::write::GzEncoder::new(Vec::with_capacity(bytes.len() / 2), flate2::Compression::default());
    encoder.write_all(bytes)?;
    encoder.finish()
}

/// `404` for what the tree does not hold (yet: not cached); `500` for anything else, such as
/// a damaged store.
fn failure(e: &QueryError) -> Response {
    match e {
        QueryError::NotFound { .. } => not_found(&e.to_string()),
        _ => {
            tracing::error!(error = %e, "tlog-tiles read failed");
            (StatusCode::INTERNAL_SERVER_ERROR, [(header::CACHE_CONTROL, "no-store")], e.to_string()).into_response()
        }
    }
}

fn not_found(why: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, CHECKPOINT_CONTENT_TYPE), (header::CACHE_CONTROL, CHECKPOINT_CACHE_CONTROL)],
        format!("{why}\n"),
    )
        .into_response()
}

//! The followed log over HTTP: its checkpoint, hash tiles and entry bundles (C2SP tlog-tiles),
//! with size limits, and the full tile as a fallback for a partial one the log has deleted.

use super::MirrorError;
use greenledger_core::log::merkle::Hash;
use greenledger_core::log::tiles::{
    decode_bundle, tile_hashes, ExpandedTile, TileKind, TilePath, FULL_TILE_BYTES, TILE_WIDTH,
};
use std::sync::Arc;
use std::time::Duration;

/// Largest checkpoint note accepted (a checkpoint with the most signature lines a note may
/// carry is a few kilobytes).
pub const MAX_CHECKPOINT_BYTES: usize = 64 * 1024;
/// Largest entry bundle accepted, decompressed: 256 entries of at most 65535 bytes and their
/// lengths.
pub const MAX_BUNDLE_BYTES: usize = 256 * (65535 + 2);
/// How long one request may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// The log a mirror follows: a base URL (`http://host:port` or with a path prefix) under which
/// `checkpoint` and `tile/...` are served.
#[derive(Clone, Debug)]
pub struct Upstream {
    base: String,
    client: reqwest::Client,
}

impl Upstream {
    /// `base` must be an `http://` or `https://` URL; a trailing `/` is dropped.
    pub fn new(base: &str) -> Result<Upstream, MirrorError> {
        let trimmed = base.trim_end_matches('/');
        let ok = (trimmed.starts_with("http://") || trimmed.starts_with("https://"))
            && reqwest::Url::parse(trimmed).is_ok_and(|u| u.host_str().is_some());
        if !ok {
            return Err(MirrorError::BadUrl { url: base.to_string() });
        }
        let client = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("greenledger-mirror/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| MirrorError::Fetch { url: base.to_string(), reason: e.to_string() })?;
        Ok(Upstream { base: trimmed.to_string(), client })
    }

    /// The base URL, without a trailing `/`.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The URL of `path` (without a leading `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}/{path}", self.base)
    }

    /// `GET path`: the body of a `200` (decompressed when sent gzip-encoded), at most `limit`
    /// bytes; `Ok(None)` for a `404`. Only the checkpoint is asked for past any cache: tiles
    /// never change, so a cache in front of the log may answer for them.
    async fn get(&self, path: &str, limit: usize) -> Result<Option<Vec<u8>>, MirrorError> {
        let url = self.url(path);
        let fail = |reason: String| MirrorError::Fetch { url: url.clone(), reason };
        let mut request = self.client.get(&url);
        if path == "checkpoint" {
            request = request.header(reqwest::header::CACHE_CONTROL, "no-cache");
        }
        let mut response = request.send().await.map_err(|e| fail(e.to_string()))?;
        let status = response.status();
        if status == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if status != reqwest::StatusCode::OK {
            return Err(fail(format!("status {status}")));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| fail(e.to_string()))? {
            if body.len() + chunk.len() > limit {
                return Err(fail(format!("body exceeds the limit of {limit} bytes")));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Some(body))
    }

    async fn get_required(&self, path: &str, limit: usize) -> Result<Vec<u8>, MirrorError> {
        self.get(path, limit)
            .await?
            .ok_or_else(|| MirrorError::Fetch { url: self.url(path), reason: "status 404 Not Found".into() })
    }

    /// The signed checkpoint note, as served.
    pub async fn checkpoint(&self) -> Result<String, MirrorError> {
        let body = self.get_required("checkpoint", MAX_CHECKPOINT_BYTES).await?;
        String::from_utf8(body).map_err(|_| MirrorError::BadCheckpoint {
            url: self.url("checkpoint"),
            reason: "the note is not UTF-8".into(),
        })
    }

    /// `path`, or, for a partial one the log no longer serves, the first `width` of the full
    /// one; `cut` takes that prefix.
    async fn tile_or_full(
        &self,
        path: TilePath,
        limit: usize,
        cut: fn(Vec<u8>, u16) -> Result<Vec<u8>, String>,
    ) -> Result<Vec<u8>, MirrorError> {
        if let Some(body) = self.get(&path.path(), limit).await? {
            return Ok(body);
        }
        let full = TilePath { width: TILE_WIDTH as u16, ..path };
        if path.width == full.width {
            return Err(MirrorError::Fetch { url: self.url(&path.path()), reason: "status 404 Not Found".into() });
        }
        let body = self.get_required(&full.path(), limit).await?;
        cut(body, path.width).map_err(|reason| MirrorError::BadTile { path: full.path(), reason })
    }

    /// Hash tile `level`/`index` of `width` hashes, checked to hold exactly that many.
    pub async fn hash_tile(&self, level: u8, index: u64, width: u16) -> Result<Arc<ExpandedTile>, MirrorError> {
        let path = TilePath { kind: TileKind::Hashes(level), index, width };
        let want = usize::from(width) * 32;
        let cut = |mut body: Vec<u8>, width: u16| {
            let want = usize::from(width) * 32;
            if body.len() < want {
                return Err(format!("{} bytes, fewer than the {want} of {width} hashes", body.len()));
            }
            body.truncate(want);
            Ok(body)
        };
        let body = self.tile_or_full(path, FULL_TILE_BYTES, cut).await?;
        if body.len() != want {
            return Err(MirrorError::BadTile {
                path: path.path(),
                reason: format!("{} bytes, expected {want} ({width} hashes)", body.len()),
            });
        }
        let hashes: Vec<Hash> = tile_hashes(&body).unwrap_or_default();
        Ok(Arc::new(ExpandedTile::new(hashes)))
    }

    /// Entry bundle `index` of `width` entries, uncompressed, checked to hold exactly that many.
    pub async fn bundle(&self, index: u64, width: u16) -> Result<Vec<u8>, MirrorError> {
        let path = TilePath { kind: TileKind::Entries, index, width };
        let cut = |body: Vec<u8>, width: u16| {
            let entries = decode_bundle(&body).map_err(|e| e.to_string())?;
            if entries.len() < usize::from(width) {
                return Err(format!("{} entries, fewer than {width}", entries.len()));
            }
            let len: usize = entries[..usize::from(width)].iter().map(|e| e.len() + 2).sum();
            Ok(body[..len].to_vec())
        };
        let body = self.tile_or_full(path, MAX_BUNDLE_BYTES, cut).await?;
        let count =
            decode_bundle(&body).map_err(|e| MirrorError::BadTile { path: path.path(), reason: e.to_string() })?;
        if count.len() != usize::from(width) {
            return Err(MirrorError::BadTile {
                path: path.path(),
                reason: format!("{} entries, expected {width}", count.len()),
            });
        }
        Ok(body)
    }
}

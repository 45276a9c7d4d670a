//! The embedded default store: one sled tree, atomic `apply_batch`, then `flush` before a
//! commit returns, so an acknowledged entry survives a crash.

use super::{Batch, Store, StoreError};
use std::path::Path;

pub struct SledStore {
    db: sled::Db,
    tree: sled::Tree,
    mark: std::path::PathBuf,
}

fn io(e: sled::Error) -> StoreError {
    match e {
        sled::Error::Corruption { .. } => StoreError::Corrupt(e.to_string()),
        other => StoreError::Io(other.to_string()),
    }
}

/// File in the store directory holding the tree head of the last durable commit.
pub const HEAD_MARK_FILE: &str = "greenledger.head";

impl SledStore {
    pub fn open(dir: &Path) -> Result<SledStore, StoreError> {
        let config = sled::Config::new().path(dir).cache_capacity(256 * 1024 * 1024).mode(sled::Mode::HighThroughput);
        // sled 0.34 panics instead of failing on some damaged files (e.g. "tried to serialize
        // Uninitialized" while rebuilding its snapshot): turn that into an error.
        let db = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| config.open()))
            .map_err(|p| {
                let what = p
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| p.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".into());
                StoreError::Corrupt(format!("sled failed while recovering the store files ({what}); they are damaged"))
            })?
            .map_err(io)?;
        let tree = db.open_tree("ledger").map_err(io)?;
        Ok(SledStore { db, tree, mark: dir.join(HEAD_MARK_FILE) })
    }

    /// Records the head after a durable commit: write a temporary file, then rename it over
    /// the mark, so the mark is always a whole head. It is written after sled's flush and never
    /// synced itself, so it can lag behind the store (after a power cut) but never run ahead of
    /// what sled said was durable; it survives a killed process.
    fn write_mark(&self, head: &[u8]) -> std::io::Result<()> {
        let tmp = self.mark.with_extension("tmp");
        std::fs::write(&tmp, head)?;
        std::fs::rename(&tmp, &self.mark)
    }
}

impl Store for SledStore {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.tree.get(key).map_err(io)?.map(|v| v.to_vec()))
    }
    fn scan(&self, start: &[u8], end: &[u8], limit: usize) -> Result<super::Rows, StoreError> {
        if start >= end {
            return Ok(Vec::new());
        }
        self.tree
            .range(start..end)
            .take(limit)
            .map(|kv| kv.map(|(k, v)| (k.to_vec(), v.to_vec())).map_err(io))
            .collect()
    }
    fn last_before(&self, start: &[u8], end: &[u8]) -> Result<Option<super::Row>, StoreError> {
        if start >= end {
            return Ok(None);
        }
        self.tree
            .range(start..end)
            .next_back()
            .transpose()
            .map(|kv| kv.map(|(k, v)| (k.to_vec(), v.to_vec())))
            .map_err(io)
    }
    fn commit(&self, batch: Batch) -> Result<(), StoreError> {
        let head = batch.writes.get(super::keys::HEAD).cloned().flatten();
        let mut b = sled::Batch::default();
        for (k, v) in batch.writes {
            match v {
                Some(v) => b.insert(k, v),
                None => b.remove(k),
            }
        }
        self.tree.apply_batch(b).map_err(io)?;
        self.db.flush().map_err(io)?;
        if let Some(head) = head {
            // The batch is durable; a missing mark only weakens the start-up check.
            if let Err(e) = self.write_mark(&head) {
                tracing::warn!(error = %e, mark = %self.mark.display(), "cannot record the tree head mark");
            }
        }
        Ok(())
    }
    fn head_mark(&self) -> Result<Option<Vec<u8>>, StoreError> {
        match std::fs::read(&self.mark) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StoreError::Io(format!("cannot read {}: {e}", self.mark.display()))),
        }
    }
    fn size_on_disk(&self) -> u64 {
        self.db.size_on_disk().unwrap_or(0)
    }
}

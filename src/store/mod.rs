//! Storage behind a narrow trait: ordered bytes-to-bytes with atomic, durable batches.
//!
//! The sequencer never writes outside [`Store::commit`]: a batch of entries, their tree nodes,
//! the state changes and the new tree head land together or not at all, and `commit` returns only
//! once they are on disk. sled is the embedded default ([`SledStore`]); [`MemStore`] is its
//! in-memory twin for tests, with a switch that makes commits fail so that refusal paths can be
//! tested.
//!
//! [`keys`] fixes the key layout and [`view`] reads typed state records through the trait.

pub mod keys;
pub mod log;
pub mod mem;
pub mod sled_store;
pub mod view;

pub use mem::MemStore;
pub use sled_store::SledStore;
pub use view::{Pending, StoreView};

use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("storage I/O failed: {0}")]
    Io(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

/// A set of writes applied atomically. `None` deletes the key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Batch {
    pub writes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
}

impl Batch {
    pub fn put(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.writes.insert(key, Some(value));
    }
    pub fn delete(&mut self, key: Vec<u8>) {
        self.writes.insert(key, None);
    }
    pub fn len(&self) -> usize {
        self.writes.len()
    }
    pub fn is_empty(&self) -> bool {
        self.writes.is_empty()
    }
}

/// One key and its value.
pub type Row = (Vec<u8>, Vec<u8>);

/// Key-value pairs returned by a scan.
pub type Rows = Vec<Row>;

/// Ordered key-value storage with atomic durable batches.
pub trait Store: Send + Sync + 'static {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;
    /// Keys in `[start, end)` in order, at most `limit` of them.
    fn scan(&self, start: &[u8], end: &[u8], limit: usize) -> Result<Rows, StoreError>;
    /// The last key in `[start, end)` and its value: an ordered lookup, used as the interval
    /// index of readings (the reading with the latest start before a time).
    fn last_before(&self, start: &[u8], end: &[u8]) -> Result<Option<Row>, StoreError>;
    /// Applies every write of the batch atomically and returns once it is durable.
    fn commit(&self, batch: Batch) -> Result<(), StoreError>;
    /// Bytes the store occupies on disk (0 for memory).
    fn size_on_disk(&self) -> u64 {
        0
    }
    /// The tree head (`H` value) of the last commit, as recorded outside the store's own files
    /// after that commit was durable, if the store keeps such a record. It lets the ledger see
    /// a store that came back shorter than what was acknowledged (sled treats a damaged log
    /// tail as a torn write and silently recovers an older prefix).
    fn head_mark(&self) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(None)
    }
}

impl<S: Store + ?Sized> Store for std::sync::Arc<S> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        (**self).get(key)
    }
    fn scan(&self, start: &[u8], end: &[u8], limit: usize) -> Result<Rows, StoreError> {
        (**self).scan(start, end, limit)
    }
    fn last_before(&self, start: &[u8], end: &[u8]) -> Result<Option<Row>, StoreError> {
        (**self).last_before(start, end)
    }
    fn commit(&self, batch: Batch) -> Result<(), StoreError> {
        (**self).commit(batch)
    }
    fn size_on_disk(&self) -> u64 {
        (**self).size_on_disk()
    }
    fn head_mark(&self) -> Result<Option<Vec<u8>>, StoreError> {
        (**self).head_mark()
    }
}

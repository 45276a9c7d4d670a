//! In-memory twin of the sled store, for tests.

use super::{Batch, Store, StoreError};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::RwLock;

#[derive(Debug, Default)]
pub struct MemStore {
    map: RwLock<BTreeMap<Vec<u8>, Vec<u8>>>,
    fail_commits: AtomicBool,
}

impl MemStore {
    pub fn new() -> MemStore {
        MemStore::default()
    }
    /// Makes every following commit fail as a disk error would (nothing is written).
    pub fn fail_commits(&self, fail: bool) {
        self.fail_commits.store(fail, Ordering::SeqCst);
    }
    /// Direct access for tests that tamper with stored bytes.
    pub fn raw_put(&self, key: &[u8], value: &[u8]) {
        self.map.write().expect("lock").insert(key.to_vec(), value.to_vec());
    }
    pub fn raw_delete(&self, key: &[u8]) {
        self.map.write().expect("lock").remove(key);
    }
}

impl Store for MemStore {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.map.read().expect("lock").get(key).cloned())
    }
    fn scan(&self, start: &[u8], end: &[u8], limit: usize) -> Result<super::Rows, StoreError> {
        if start >= end {
            return Ok(Vec::new());
        }
        let map = self.map.read().expect("lock");
        Ok(map.range(start.to_vec()..end.to_vec()).take(limit).map(|(k, v)| (k.clone(), v.clone())).collect())
    }
    fn last_before(&self, start: &[u8], end: &[u8]) -> Result<Option<super::Row>, StoreError> {
        if start >= end {
            return Ok(None);
        }
        let map = self.map.read().expect("lock");
        Ok(map.range(start.to_vec()..end.to_vec()).next_back().map(|(k, v)| (k.clone(), v.clone())))
    }
    fn commit(&self, batch: Batch) -> Result<(), StoreError> {
        if self.fail_commits.load(Ordering::SeqCst) {
            return Err(StoreError::Io("simulated disk failure".into()));
        }
        let mut map = self.map.write().expect("lock");
        for (k, v) in batch.writes {
            match v {
                Some(v) => map.insert(k, v),
                None => map.remove(&k),
            };
        }
        Ok(())
    }
}

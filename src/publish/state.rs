//! Where the publisher keeps what it published: the published checkpoints (a bounded history),
//! the witness cosignatures gathered for each, and the size each witness last acknowledged.
//!
//! [`PublishState`] is the seam: [`StoreState`] keeps it in the ledger's own store under the `P`
//! keys ([`crate::store::keys`]); a replicated deployment can keep it elsewhere (in the database
//! every node reads) by implementing the trait. Every method is a short, durable operation; the
//! publisher and the gRPC service call them from the blocking pool.

use crate::store::{keys, Batch, Store, StoreError};
use std::sync::{Arc, Mutex};

/// One published checkpoint: a signed checkpoint of the ledger, as the log signed it (no
/// cosignature lines).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublishedCheckpoint {
    pub size: u64,
    pub note: String,
}

/// One witness cosignature of a published checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredCosignature {
    /// The witness's cosignature verifier key (`name+hash+base64`).
    pub witness: String,
    /// The signature line, `— name base64`, without its newline.
    pub line: String,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PublishError {
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("the published state is damaged: {0}")]
    Corrupt(String),
}

/// What the publisher records, behind a small interface.
pub trait PublishState: Send + Sync + 'static {
    /// Records `checkpoint` as published and forgets all but the newest `keep` published
    /// checkpoints and their cosignatures, in one durable write.
    fn publish(&self, checkpoint: &PublishedCheckpoint, keep: usize) -> Result<(), PublishError>;
    /// The published checkpoints still kept, newest first.
    fn history(&self) -> Result<Vec<PublishedCheckpoint>, PublishError>;
    /// The newest published checkpoint.
    fn latest(&self) -> Result<Option<PublishedCheckpoint>, PublishError>;
    /// Adds (or replaces) `witness`'s cosignature of the published checkpoint of `size`.
    fn add_cosignature(&self, size: u64, cosignature: &StoredCosignature) -> Result<(), PublishError>;
    /// The cosignatures gathered for the published checkpoint of `size`, by witness key.
    fn cosignatures(&self, size: u64) -> Result<Vec<StoredCosignature>, PublishError>;
    /// The size `witness` (its verifier key) last acknowledged: it holds a checkpoint of that
    /// size for this log. `None` when unknown.
    fn acknowledged(&self, witness: &str) -> Result<Option<u64>, PublishError>;
    fn set_acknowledged(&self, witness: &str, size: u64) -> Result<(), PublishError>;
}

/// [`PublishState`] in the ledger's store (`P` keys). Writes are serialized so that a
/// cosignature never lands beside a publish that prunes its checkpoint.
pub struct StoreState<S: Store> {
    store: Arc<S>,
    write: Mutex<()>,
}

impl<S: Store> StoreState<S> {
    pub fn new(store: Arc<S>) -> Self {
        StoreState { store, write: Mutex::new(()) }
    }

    fn size_of(key: &[u8]) -> Result<u64, PublishError> {
        key.get(2..10)
            .and_then(|b| b.try_into().ok())
            .map(u64::from_be_bytes)
            .ok_or_else(|| PublishError::Corrupt(format!("published checkpoint key {}", hex::encode(key))))
    }

    fn decode(key: &[u8], value: Vec<u8>) -> Result<PublishedCheckpoint, PublishError> {
        let size = Self::size_of(key)?;
        let note = String::from_utf8(value)
            .map_err(|_| PublishError::Corrupt(format!("the published checkpoint of size {size} is not UTF-8")))?;
        Ok(PublishedCheckpoint { size, note })
    }
}

impl<S: Store> PublishState for StoreState<S> {
    fn publish(&self, checkpoint: &PublishedCheckpoint, keep: usize) -> Result<(), PublishError> {
        let _w = self.write.lock().unwrap_or_else(|e| e.into_inner());
        let mut batch = Batch::default();
        batch.put(keys::published(checkpoint.size), checkpoint.note.as_bytes().to_vec());
        // The sizes kept after this write: the newest `keep` of those stored plus this one.
        let (a, b) = keys::published_range(0, u64::MAX);
        let mut sizes: Vec<u64> =
            self.store.scan(&a, &b, usize::MAX)?.iter().map(|(k, _)| Self::size_of(k)).collect::<Result<_, _>>()?;
        sizes.push(checkpoint.size);
        sizes.sort_unstable();
        sizes.dedup();
        let keep = keep.max(1);
        if sizes.len() > keep {
            let oldest_kept = sizes[sizes.len() - keep];
            for size in sizes.iter().take_while(|s| **s < oldest_kept) {
                batch.delete(keys::published(*size));
            }
            let (a, b) = keys::published_cosignatures(0, oldest_kept);
            for (k, _) in self.store.scan(&a, &b, usize::MAX)? {
                batch.delete(k);
            }
        }
        self.store.commit(batch)?;
        Ok(())
    }

    fn history(&self) -> Result<Vec<PublishedCheckpoint>, PublishError> {
        let (a, b) = keys::published_range(0, u64::MAX);
        let mut all = self
            .store
            .scan(&a, &b, usize::MAX)?
            .into_iter()
            .map(|(k, v)| Self::decode(&k, v))
            .collect::<Result<Vec<_>, _>>()?;
        all.reverse();
        Ok(all)
    }

    fn latest(&self) -> Result<Option<PublishedCheckpoint>, PublishError> {
        let (a, b) = keys::published_range(0, u64::MAX);
        self.store.last_before(&a, &b)?.map(|(k, v)| Self::decode(&k, v)).transpose()
    }

    fn add_cosignature(&self, size: u64, cosignature: &StoredCosignature) -> Result<(), PublishError> {
        let _w = self.write.lock().unwrap_or_else(|e| e.into_inner());
        if self.store.get(&keys::published(size))?.is_none() {
            return Err(PublishError::Corrupt(format!("no published checkpoint of size {size} is kept")));
        }
        let mut batch = Batch::default();
        batch.put(
            keys::published_cosignature(size, &cosignature.witness),
            format!("{}\n{}", cosignature.witness, cosignature.line).into_bytes(),
        );
        self.store.commit(batch)?;
        Ok(())
    }

    fn cosignatures(&self, size: u64) -> Result<Vec<StoredCosignature>, PublishError> {
        let (a, b) = keys::published_cosignatures(size, size.saturating_add(1));
        self.store
            .scan(&a, &b, usize::MAX)?
            .into_iter()
            .map(|(_, v)| {
                let text = String::from_utf8(v).ok();
                let (witness, line) = text
                    .as_deref()
                    .and_then(|t| t.split_once('\n'))
                    .ok_or_else(|| PublishError::Corrupt(format!("a cosignature of size {size} is malformed")))?;
                Ok(StoredCosignature { witness: witness.to_string(), line: line.to_string() })
            })
            .collect()
    }

    fn acknowledged(&self, witness: &str) -> Result<Option<u64>, PublishError> {
        self.store
            .get(&keys::witness_acknowledged(witness))?
            .map(|v| {
                v.try_into().map(u64::from_be_bytes).map_err(|_| {
                    PublishError::Corrupt(format!("the acknowledged size of witness {witness} is not 8 bytes"))
                })
            })
            .transpose()
    }

    fn set_acknowledged(&self, witness: &str, size: u64) -> Result<(), PublishError> {
        let _w = self.write.lock().unwrap_or_else(|e| e.into_inner());
        let mut batch = Batch::default();
        batch.put(keys::witness_acknowledged(witness), size.to_be_bytes().to_vec());
        self.store.commit(batch)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemStore;

    fn cp(size: u64) -> PublishedCheckpoint {
        PublishedCheckpoint { size, note: format!("log.example\n{size}\nroot\n\n— log.example sig\n") }
    }

    #[test]
    fn history_is_bounded_and_newest_first() {
        let s = StoreState::new(Arc::new(MemStore::new()));
        assert_eq!(s.latest().unwrap(), None);
        for size in [3, 5, 9, 12] {
            s.publish(&cp(size), 3).unwrap();
            let c = StoredCosignature { witness: "w+1+k".into(), line: format!("— w sig{size}") };
            s.add_cosignature(size, &c).unwrap();
        }
        assert_eq!(s.history().unwrap(), vec![cp(12), cp(9), cp(5)]);
        assert_eq!(s.latest().unwrap(), Some(cp(12)));
        // The pruned checkpoint's cosignatures went with it; a cosignature of it is refused.
        assert!(s.cosignatures(3).unwrap().is_empty());
        assert!(s.add_cosignature(3, &StoredCosignature { witness: "w".into(), line: "l".into() }).is_err());
        assert_eq!(s.cosignatures(9).unwrap()[0].line, "— w sig9");
        assert_eq!(s.cosignatures(12).unwrap().len(), 1);
    }

    #[test]
    fn acknowledged_sizes() {
        let s = StoreState::new(Arc::new(MemStore::new()));
        assert_eq!(s.acknowledged("w+1+k").unwrap(), None);
        s.set_acknowledged("w+1+k", 42).unwrap();
        assert_eq!(s.acknowledged("w+1+k").unwrap(), Some(42));
        assert_eq!(s.acknowledged("v+1+k").unwrap(), None);
    }
}

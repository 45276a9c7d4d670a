//! Typed state records read through the [`Store`] trait, with the writes of a batch in flight
//! layered on top ([`Pending`]). The rules decide against [`StoreView`]; effects are written
//! into [`Pending`], which also keeps the query indexes up to date; the sequencer commits it.

use super::{keys, Batch, Store, StoreError};
use bincode::{Decode, Encode};
use greenledger_core::codec;
use greenledger_core::state::*;
use greenledger_core::types::*;
use std::collections::BTreeMap;

impl From<StoreError> for StoreFault {
    fn from(e: StoreError) -> StoreFault {
        StoreFault(e.to_string())
    }
}

/// Writes of the batch in flight, not yet committed.
#[derive(Debug, Default, Clone)]
pub struct Pending {
    pub writes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
}

impl Pending {
    pub fn into_batch(self) -> Batch {
        Batch { writes: self.writes }
    }
    fn put_record<T: Encode>(&mut self, key: Vec<u8>, value: &T) {
        self.writes.insert(key, Some(codec::encode(value)));
    }
}

/// State as the store holds it plus the pending writes.
pub struct StoreView<'a, S: ?Sized> {
    pub store: &'a S,
    pub pending: &'a Pending,
}

impl<'a, S: Store + ?Sized> StoreView<'a, S> {
    pub fn new(store: &'a S, pending: &'a Pending) -> Self {
        StoreView { store, pending }
    }

    fn raw(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreFault> {
        match self.pending.writes.get(key) {
            Some(v) => Ok(v.clone()),
            None => Ok(self.store.get(key)?),
        }
    }

    fn get<T: Decode<()>>(&self, key: &[u8]) -> Read<T> {
        match self.raw(key)? {
            None => Ok(None),
            Some(bytes) => {
                codec::decode(&bytes).map(Some).map_err(|e| StoreFault(format!("record {}: {e}", hex::encode(key))))
            }
        }
    }

    /// Records with keys in `[start, end)`, pending writes included.
    fn range<T: Decode<()>>(&self, start: &[u8], end: &[u8]) -> Result<Vec<T>, StoreFault> {
        let mut merged: BTreeMap<Vec<u8>, Option<Vec<u8>>> =
            self.store.scan(start, end, usize::MAX)?.into_iter().map(|(k, v)| (k, Some(v))).collect();
        for (k, v) in self.pending.writes.range(start.to_vec()..end.to_vec()) {
            merged.insert(k.clone(), v.clone());
        }
        merged
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .map(|(k, v)| codec::decode(&v).map_err(|e| StoreFault(format!("record {}: {e}", hex::encode(k)))))
            .collect()
    }
}

impl<S: Store + ?Sized> StateView for StoreView<'_, S> {
    fn meta(&self) -> Read<Meta> {
        self.get(&keys::meta())
    }
    fn account(&self, id: &AccountId) -> Read<Account> {
        self.get(&keys::account(id))
    }
    fn device(&self, id: &DeviceId) -> Read<Device> {
        self.get(&keys::device(id))
    }
    fn reading(&self, device: &DeviceId, start: Timestamp) -> Read<Reading> {
        self.get(&keys::reading(device, start))
    }
    fn readings_overlapping(&self, device: &DeviceId, interval: Interval) -> Result<Vec<Reading>, StoreFault> {
        let start = keys::reading(device, Timestamp(0));
        let end = keys::reading(device, interval.end);
        Ok(self.range::<Reading>(&start, &end)?.into_iter().filter(|r| r.interval.overlaps(&interval)).collect())
    }
    fn consumption(&self, account: &AccountId, start: Timestamp) -> Read<Consumption> {
        self.get(&keys::consumption(account, start))
    }
    fn bundle(&self, id: BundleId) -> Read<Bundle> {
        self.get(&keys::bundle(id))
    }
    fn claim(&self, id: ClaimId) -> Read<Claim> {
        self.get(&keys::claim(id))
    }
    fn nonce(&self, signer: &AccountId, nonce: u64) -> Read<NonceRecord> {
        self.get(&keys::nonce(signer, nonce))
    }
}

/// Writes effects into the pending set, keeping the holdings and claims indexes current.
pub struct PendingWriter<'a, S: ?Sized> {
    pub store: &'a S,
    pub pending: &'a mut Pending,
}

impl<S: Store + ?Sized> StateWrite for PendingWriter<'_, S> {
    fn put(&mut self, effect: Effect) -> Result<(), StoreFault> {
        match effect {
            Effect::Meta(m) => self.pending.put_record(keys::meta(), &m),
            Effect::Account(a) => self.pending.put_record(keys::account(&a.id), &a),
            Effect::Device(d) => self.pending.put_record(keys::device(&d.id), &d),
            Effect::Reading(r) => self.pending.put_record(keys::reading(&r.device, r.interval.start), &r),
            Effect::Consumption(c) => self.pending.put_record(keys::consumption(&c.account, c.interval.start), &c),
            Effect::Bundle(b) => {
                let old: Option<Bundle> = StoreView::new(self.store, self.pending).bundle(b.id)?;
                if let Some(old) = old.filter(|o| o.owner != b.owner) {
                    self.pending.writes.insert(keys::holding(&old.owner, b.id), None);
                }
                self.pending.writes.insert(keys::holding(&b.owner, b.id), Some(Vec::new()));
                self.pending.put_record(keys::bundle(b.id), &b);
            }
            Effect::Claim(c) => {
                self.pending.writes.insert(keys::claimant(&c.claimant, c.id), Some(Vec::new()));
                self.pending.put_record(keys::claim(c.id), &c);
            }
            Effect::Nonce { signer, nonce, record } => self.pending.put_record(keys::nonce(&signer, nonce), &record),
        }
        Ok(())
    }
}

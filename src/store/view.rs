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
    /// Windowed nonce records below this time are already deleted in `writes` (every command of
    /// a batch forgets up to the same time; only the first needs to look).
    pub nonces_forgotten_before: u64,
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

    /// The raw value of `key`, pending writes included.
    pub fn raw_get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreFault> {
        self.raw(key)
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

    /// The record with the last key in `[start, end)`, pending writes included. (State records
    /// of this kind are never deleted, so a pending write can only add or replace one.)
    fn last<T: Decode<()>>(&self, start: &[u8], end: &[u8]) -> Read<T> {
        let stored = self.store.last_before(start, end)?;
        let pending = self
            .pending
            .writes
            .range(start.to_vec()..end.to_vec())
            .rev()
            .find_map(|(k, v)| v.as_ref().map(|v| (k.clone(), v.clone())));
        let best = match (stored, pending) {
            (Some(s), Some(p)) => Some(if p.0 >= s.0 { p } else { s }),
            (s, p) => s.or(p),
        };
        match best {
            None => Ok(None),
            Some((k, v)) => {
                codec::decode(&v).map(Some).map_err(|e| StoreFault(format!("record {}: {e}", hex::encode(k))))
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
    fn reading(&self, device: &DeviceId, channel: Channel, start: Timestamp) -> Read<Reading> {
        self.get(&keys::reading(device, channel, start))
    }
    fn reading_before(&self, device: &DeviceId, channel: Channel, before: Timestamp) -> Read<Reading> {
        self.last(&keys::reading(device, channel, Timestamp(0)), &keys::reading(device, channel, before))
    }
    fn readings_overlapping(
        &self,
        device: &DeviceId,
        channel: Channel,
        interval: Interval,
    ) -> Result<Vec<Reading>, StoreFault> {
        // From the one reading that can start before `interval` and reach into it, then forward.
        let from = match self.reading_before(device, channel, Timestamp(interval.start.0.saturating_add(1)))? {
            Some(r) => r.interval.start,
            None => interval.start,
        };
        let start = keys::reading(device, channel, from);
        let end = keys::reading(device, channel, interval.end);
        Ok(self.range::<Reading>(&start, &end)?.into_iter().filter(|r| r.interval.overlaps(&interval)).collect())
    }
    fn consumption(&self, account: &AccountId, start: Timestamp) -> Read<Consumption> {
        self.get(&keys::consumption(account, start))
    }
    fn consumption_before(&self, account: &AccountId, before: Timestamp) -> Read<Consumption> {
        self.last(&keys::consumption(account, Timestamp(0)), &keys::consumption(account, before))
    }
    fn bundle(&self, id: BundleId) -> Read<Bundle> {
        self.get(&keys::bundle(id))
    }
    fn claim(&self, id: ClaimId) -> Read<Claim> {
        self.get(&keys::claim(id))
    }
    fn park(&self, id: &ParkId) -> Read<Park> {
        self.get(&keys::park(id))
    }
    fn nonce(&self, signer: &AccountId, nonce: u64) -> Read<NonceRecord> {
        self.get(&keys::nonce(signer, nonce))
    }
    fn windowed_nonce(&self, expires: Timestamp, signer: &AccountId, nonce: u64) -> Read<NonceRecord> {
        self.get(&keys::windowed_nonce(expires, signer, nonce))
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
            Effect::Reading(r) => self.pending.put_record(keys::reading(&r.device, r.channel, r.interval.start), &r),
            Effect::Consumption(c) => self.pending.put_record(keys::consumption(&c.account, c.interval.start), &c),
            Effect::Bundle(b) => {
                let old: Option<Bundle> = StoreView::new(self.store, self.pending).bundle(b.id)?;
                if let Some(old) = old.as_ref().filter(|o| o.owner != b.owner) {
                    self.pending.writes.insert(keys::holding(&old.owner, b.id), None);
                }
                // The serial index: a split can move a bundle's first serial (its right part
                // keeps the id); the cut piece that now starts there writes its own key.
                if let Some(old) = old.filter(|o| o.serials.start != b.serials.start) {
                    let stale = keys::serial(old.serials.start);
                    let still_ours = StoreView::new(self.store, self.pending)
                        .raw_get(&stale)?
                        .is_some_and(|v| v == b.id.0.to_be_bytes());
                    if still_ours {
                        self.pending.writes.insert(stale, None);
                    }
                }
                self.pending.writes.insert(keys::serial(b.serials.start), Some(b.id.0.to_be_bytes().to_vec()));
                self.pending.writes.insert(keys::holding(&b.owner, b.id), Some(Vec::new()));
                self.pending.put_record(keys::bundle(b.id), &b);
            }
            Effect::Park(p) => self.pending.put_record(keys::park(&p.id), &p),
            Effect::Claim(c) => {
                self.pending.writes.insert(keys::claimant(&c.claimant, c.id), Some(Vec::new()));
                self.pending.writes.insert(keys::capped(&c.capped, c.id), Some(Vec::new()));
                self.pending.put_record(keys::claim(c.id), &c);
            }
            Effect::Nonce { signer, nonce, record } => self.pending.put_record(keys::nonce(&signer, nonce), &record),
            Effect::WindowedNonce { expires, signer, nonce, record } => {
                self.pending.put_record(keys::windowed_nonce(expires, &signer, nonce), &record)
            }
            Effect::ForgetNonces { before } => {
                // Every windowed nonce record below `before`, stored or pending, is deleted. No
                // record below it can be added later in the batch (its command would have
                // expired), so once done for a time it is done for every earlier time.
                if before.0 <= self.pending.nonces_forgotten_before {
                    return Ok(());
                }
                self.pending.nonces_forgotten_before = before.0;
                let (start, end) = keys::windowed_nonces_before(before);
                let stored = self.store.scan(&start, &end, usize::MAX)?.into_iter().map(|(k, _)| k);
                let pending: Vec<Vec<u8>> = self
                    .pending
                    .writes
                    .range(start.clone()..end.clone())
                    .filter(|(_, v)| v.is_some())
                    .map(|(k, _)| k.clone())
                    .collect();
                for key in stored.chain(pending) {
                    self.pending.writes.insert(key, None);
                }
            }
        }
        Ok(())
    }
}

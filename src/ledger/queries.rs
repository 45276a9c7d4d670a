//! Reads: state records for users, entries and proofs for auditors. Readers see only committed
//! data and never take the writer's lock.

use super::{Damage, Ledger, LedgerError};
use crate::store::{keys, Pending, Store, StoreView};
use greenledger_core::codec;
use greenledger_core::command::Entry;
use greenledger_core::log::merkle::{self, Hash};
use greenledger_core::state::*;
use greenledger_core::types::*;

/// Most entries returned by one `entries` call.
pub const MAX_ENTRIES_PER_CALL: u64 = 10_000;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QueryError {
    #[error("{what} {id} not found")]
    NotFound { what: &'static str, id: String },
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

impl From<StoreFault> for QueryError {
    fn from(f: StoreFault) -> QueryError {
        QueryError::Ledger(LedgerError::Corrupt(Damage::Record(f.0)))
    }
}

impl From<crate::store::StoreError> for QueryError {
    fn from(e: crate::store::StoreError) -> QueryError {
        QueryError::Ledger(e.into())
    }
}

fn found<T>(v: Option<T>, what: &'static str, id: impl ToString) -> Result<T, QueryError> {
    v.ok_or_else(|| QueryError::NotFound { what, id: id.to_string() })
}

impl<S: Store> Ledger<S> {
    fn with_view<T>(&self, f: impl FnOnce(&StoreView<'_, S>) -> Result<T, QueryError>) -> Result<T, QueryError> {
        let pending = Pending::default();
        self.read(|_| f(&StoreView::new(&*self.store, &pending)))
    }

    /// Keys in `[a, b)` as of the read snapshot.
    fn scan_state(&self, a: &[u8], b: &[u8]) -> Result<crate::store::Rows, QueryError> {
        self.read(|_| Ok(self.store.scan(a, b, usize::MAX)?))
    }

    pub fn size(&self) -> u64 {
        self.committed().head.size
    }

    pub fn meta(&self) -> Result<Meta, QueryError> {
        self.with_view(|v| found(v.meta()?, "ledger", "meta"))
    }

    pub fn account(&self, id: &AccountId) -> Result<Account, QueryError> {
        self.with_view(|v| found(v.account(id)?, "account", id.short()))
    }

    pub fn accounts(&self) -> Result<Vec<Account>, QueryError> {
        let (a, b) = keys::accounts_range();
        self.decode_range(&a, &b)
    }

    pub fn devices(&self) -> Result<Vec<Device>, QueryError> {
        let (a, b) = keys::devices_range();
        self.decode_range(&a, &b)
    }

    pub fn device(&self, id: &DeviceId) -> Result<Device, QueryError> {
        self.with_view(|v| found(v.device(id)?, "device", id))
    }

    pub fn bundle(&self, id: BundleId) -> Result<Bundle, QueryError> {
        self.with_view(|v| found(v.bundle(id)?, "bundle", id))
    }

    pub fn claim(&self, id: ClaimId) -> Result<Claim, QueryError> {
        self.with_view(|v| found(v.claim(id)?, "claim", id))
    }

    /// Bundles an account holds (in every state), in id order.
    pub fn holdings(&self, owner: &AccountId) -> Result<Vec<Bundle>, QueryError> {
        let prefix = keys::holdings_prefix(owner);
        let (a, b) = keys::u64_range(prefix, 0, u64::MAX);
        self.read(|_| {
            let ids: Vec<u64> = self.scan_state(&a, &b)?.iter().filter_map(|(k, _)| keys::trailing_id(k)).collect();
            ids.into_iter().map(|id| self.bundle(BundleId(id))).collect()
        })
    }

    /// Claims made by an account, in id order.
    pub fn claims_of(&self, account: &AccountId) -> Result<Vec<Claim>, QueryError> {
        let (a, b) = keys::u64_range(keys::claimant_prefix(account), 0, u64::MAX);
        self.read(|_| {
            let ids: Vec<u64> = self.scan_state(&a, &b)?.iter().filter_map(|(k, _)| keys::trailing_id(k)).collect();
            ids.into_iter().map(|id| self.claim(ClaimId(id))).collect()
        })
    }

    /// Claims made for the consumption of `account` (by it, or by others for it as
    /// beneficiary), in claim order.
    pub fn claims_for(&self, account: &AccountId) -> Result<Vec<Claim>, QueryError> {
        let (a, b) = keys::u64_range(keys::capped_prefix(account), 0, u64::MAX);
        self.read(|_| {
            let ids: Vec<u64> = self.scan_state(&a, &b)?.iter().filter_map(|(k, _)| keys::trailing_id(k)).collect();
            ids.into_iter().map(|id| self.claim(ClaimId(id))).collect()
        })
    }

    /// The bundle that holds `serial` now (each serial is in exactly one bundle).
    pub fn bundle_of_serial(&self, serial: Serial) -> Result<Bundle, QueryError> {
        let (lo, hi) = (keys::serial(Serial(0)), keys::serial(Serial(serial.0.saturating_add(1))));
        let not_found = || QueryError::NotFound { what: "serial", id: serial.0.to_string() };
        self.read(|_| {
            let Some((_, v)) = self.store.last_before(&lo, &hi)? else { return Err(not_found()) };
            let id =
                u64::from_be_bytes(v.as_slice().try_into().map_err(|_| QueryError::Invalid("serial index".into()))?);
            let b = self.bundle(BundleId(id))?;
            if b.serials.start <= serial && serial < b.serials.end {
                Ok(b)
            } else {
                Err(not_found())
            }
        })
    }

    /// A registered park.
    pub fn park(&self, id: &ParkId) -> Result<Park, QueryError> {
        self.with_view(|v| found(v.park(id)?, "park", id))
    }

    /// Every registered park.
    pub fn parks(&self) -> Result<Vec<Park>, QueryError> {
        let (a, b) = keys::parks_range();
        self.decode_range(&a, &b)
    }

    /// Generation readings of a device with start in `[from, to)`, in time order.
    pub fn readings(&self, device: &DeviceId, from: u64, to: u64) -> Result<Vec<Reading>, QueryError> {
        self.read(|_| {
            let mut all = Vec::new();
            for channel in Channel::ALL.into_iter().filter(|c| c.is_device_channel()) {
                all.extend(self.readings_on(device, channel, from, to)?);
            }
            all.sort_by_key(|r| (r.interval.start, r.channel));
            Ok(all)
        })
    }

    /// Readings of a device on one channel with start in `[from, to)`, in time order.
    pub fn readings_on(
        &self,
        device: &DeviceId,
        channel: Channel,
        from: u64,
        to: u64,
    ) -> Result<Vec<Reading>, QueryError> {
        let (a, b) = keys::u64_range(keys::readings_prefix(device, channel), from, to);
        self.decode_range(&a, &b)
    }

    /// Consumption readings of an account with start in `[from, to)`, in time order.
    pub fn consumption(&self, account: &AccountId, from: u64, to: u64) -> Result<Vec<Consumption>, QueryError> {
        let (a, b) = keys::u64_range(keys::consumption_prefix(account), from, to);
        self.decode_range(&a, &b)
    }

    fn decode_range<T: bincode::Decode<()>>(&self, a: &[u8], b: &[u8]) -> Result<Vec<T>, QueryError> {
        self.scan_state(a, b)?
            .into_iter()
            .map(|(_, v)| codec::decode(&v).map_err(|e| QueryError::Invalid(e.to_string())))
            .collect()
    }

    /// The exact bytes of a committed leaf.
    pub fn leaf(&self, index: u64) -> Result<Vec<u8>, QueryError> {
        let size = self.size();
        if index >= size {
            return Err(QueryError::NotFound { what: "entry", id: format!("{index} (tree size {size})") });
        }
        self.log().leaf(index).map_err(|e| corrupt_log(index, e))
    }

    pub fn entry(&self, index: u64) -> Result<Entry, QueryError> {
        codec::decode_leaf(&self.leaf(index)?)
            .map_err(|e| QueryError::Ledger(LedgerError::Corrupt(Damage::Entry { index, reason: e.to_string() })))
    }

    /// Leaves `[start, end)`, clipped to the tree size and to [`MAX_ENTRIES_PER_CALL`].
    pub fn entries(&self, start: u64, end: u64) -> Result<Vec<(u64, Vec<u8>)>, QueryError> {
        let size = self.size();
        if start > end {
            return Err(QueryError::Invalid(format!("start {start} is after end {end}")));
        }
        let end = end.min(size).min(start.saturating_add(MAX_ENTRIES_PER_CALL));
        if start >= end {
            return Ok(Vec::new());
        }
        let rows = self.log().leaves(start, end).map_err(|e| corrupt_log(start, e))?;
        Ok((start..end).zip(rows).collect())
    }

    /// Hash tile `level`/`index` as C2SP tlog-tiles serves it: `width` hashes (256 for a full
    /// tile), 32 bytes each. A tile exists once the committed tree has that many hashes at its
    /// level; a narrower width of a wider tile is its prefix.
    pub fn hash_tile(&self, level: u8, index: u64, width: u16) -> Result<Vec<u8>, QueryError> {
        let size = self.size();
        let have = greenledger_core::log::tiles::tile_width(level, index, size);
        if width == 0 || width > have {
            return Err(QueryError::NotFound {
                what: "tile",
                id: format!("{level}/{index} of width {width} (tree size {size})"),
            });
        }
        use greenledger_core::log::tiles::TileSource as _;
        let tile = self.log().tile(level, index, width).map_err(|e| corrupt_log(index, e))?;
        Ok(tile.hashes()[..usize::from(width)].concat())
    }

    /// Entry bundle `index` as C2SP tlog-tiles serves it (uncompressed): `width` leaves, each
    /// after its big-endian `uint16` length.
    pub fn entry_bundle(&self, index: u64, width: u16) -> Result<Vec<u8>, QueryError> {
        let size = self.size();
        let have = greenledger_core::log::tiles::bundle_width(index, size);
        if width == 0 || width > have {
            return Err(QueryError::NotFound {
                what: "entry bundle",
                id: format!("{index} of width {width} (tree size {size})"),
            });
        }
        let first = index * greenledger_core::log::tiles::TILE_WIDTH;
        let leaves = self.log().leaves(first, first + u64::from(width)).map_err(|e| corrupt_log(first, e))?;
        greenledger_core::log::tiles::encode_bundle(&leaves).map_err(|e| QueryError::Invalid(e.to_string()))
    }

    fn check_size(&self, size: u64) -> Result<(), QueryError> {
        let current = self.size();
        if size > current {
            return Err(QueryError::Invalid(format!("tree size {size} is beyond the current size {current}")));
        }
        Ok(())
    }

    pub fn root_at(&self, size: u64) -> Result<Hash, QueryError> {
        self.check_size(size)?;
        merkle::root(size, &self.log().nodes(self.size())).map_err(|e| QueryError::Ledger(super::tree_err(e)))
    }

    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, QueryError> {
        self.check_size(size)?;
        if index >= size {
            return Err(QueryError::Invalid(format!("index {index} is not below tree size {size}")));
        }
        merkle::inclusion_proof(index, size, &self.log().nodes(self.size()))
            .map_err(|e| QueryError::Ledger(super::tree_err(e)))
    }

    pub fn consistency_proof(&self, first: u64, second: u64) -> Result<Vec<Hash>, QueryError> {
        self.check_size(second)?;
        if first == 0 || first > second {
            return Err(QueryError::Invalid(format!("need 0 < first <= second, got first {first}, second {second}")));
        }
        merkle::consistency_proof(first, second, &self.log().nodes(self.size()))
            .map_err(|e| QueryError::Ledger(super::tree_err(e)))
    }

    /// The signed checkpoint with every witness cosignature collected for its exact text.
    pub fn checkpoint_note(&self) -> Result<String, QueryError> {
        let note = self.committed().checkpoint;
        let (a, b) = keys::witness_range();
        let lines: Vec<String> =
            self.scan_state(&a, &b)?.into_iter().filter_map(|(_, v)| String::from_utf8(v).ok()).collect();
        if lines.is_empty() {
            return Ok(note);
        }
        // A cosignature only belongs to the checkpoint it signed; the witness module checks that
        // before storing, and stale lines simply fail verification, so serve only those that fit.
        let fitting: Vec<String> = lines
            .iter()
            .filter(|l| cosignature_fits(&note, l))
            .filter_map(|l| l.split_once('\n').map(|(_, line)| line.to_string()))
            .collect();
        greenledger_core::log::add_signature_lines(&note, &fitting).map_err(|e| QueryError::Invalid(e.to_string()))
    }

    /// The entries that created and changed a bundle, oldest first (lineage back to issuance).
    pub fn bundle_history(&self, id: BundleId) -> Result<Vec<(u64, Entry)>, QueryError> {
        self.read(|_| {
            let b = self.bundle(id)?;
            b.history.iter().map(|i| Ok((i.0, self.entry(i.0)?))).collect()
        })
    }
}

fn corrupt_log(index: u64, e: crate::store::StoreError) -> QueryError {
    match e {
        crate::store::StoreError::Corrupt(reason) => {
            QueryError::Ledger(LedgerError::Corrupt(Damage::Entry { index, reason }))
        }
        other => QueryError::Ledger(other.into()),
    }
}

/// Stored cosignature lines are `<witness verifier key>\n<signature line>`; a line fits the note
/// when its cosignature verifies over the note's text.
fn cosignature_fits(note: &str, stored: &str) -> bool {
    let Some((key, line)) = stored.split_once('\n') else { return false };
    let Ok(verifier) = greenledger_core::log::CosignatureVerifier::parse(key) else { return false };
    let Ok((text, _)) = greenledger_core::log::split(note) else { return false };
    let Ok(sig) = greenledger_core::log::note::SignatureLine::parse(line) else { return false };
    verifier.verify(&text, &sig.sig).is_ok()
}

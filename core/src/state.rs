//! The records that make up the ledger's state, the read seam [`StateView`] the rules decide
//! against, the write seam [`StateWrite`] effects are applied through, and [`MemState`], the
//! in-memory twin used by tests and by offline replay.

use super::policy::Policy;
use super::types::*;
use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Global values: the policy, the operator and the counters that hand out ids and serials.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct Meta {
    pub policy: Policy,
    pub operator: AccountId,
    pub next_serial: u64,
    pub next_bundle: u64,
    pub next_claim: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct Account {
    pub id: AccountId,
    pub name: String,
    pub roles: Roles,
    pub registered: LeafIndex,
    /// Sum of all metered consumption of this account.
    pub consumed: Wh,
    /// Sum of all energy this account has claimed by retirement.
    pub claimed: Wh,
    /// Span covered by consumption readings: first start, last end.
    pub metered: Option<Interval>,
}

#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct Exclusion {
    pub interval: Interval,
    pub scheme: String,
    pub entry: LeafIndex,
}

#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct Device {
    pub id: DeviceId,
    pub owner: AccountId,
    pub technology: Technology,
    pub capacity_w: u64,
    pub region: String,
    pub commissioned: Timestamp,
    pub registered: LeafIndex,
    /// Generated energy below one certificate unit, carried to the next issuance.
    pub carry: Wh,
    /// Direct-supply energy below one unit, carried per consumer.
    pub direct_carry: Vec<(AccountId, Wh)>,
    /// End of the latest generation reading; readings of a device are posted in time order,
    /// which makes overlapping readings impossible.
    pub readings_until: Option<Timestamp>,
    pub exclusions: Vec<Exclusion>,
}

/// Energy of a reading set aside for a consumer before issuance.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct Allocation {
    pub to: AccountId,
    pub energy: Wh,
    pub entry: LeafIndex,
}

/// What one issuance created.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct Issuance {
    pub entry: LeafIndex,
    /// All serials issued for this reading, to every recipient: one contiguous range.
    pub serials: SerialRange,
    /// The carry-over consumed by this issuance (from earlier readings).
    pub carry_in: Wh,
    /// The remainder below one unit left for the next reading.
    pub carry_out: Wh,
}

#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct Reading {
    pub device: DeviceId,
    pub interval: Interval,
    pub energy: Wh,
    pub entry: LeafIndex,
    pub direct: Vec<Allocation>,
    pub trades: Vec<Allocation>,
    pub issuance: Option<Issuance>,
    /// Every bundle that holds serials of this reading (splits add to it).
    pub bundles: Vec<BundleId>,
}

impl Reading {
    /// Energy already allocated to direct supply and trades.
    pub fn allocated(&self) -> Option<Wh> {
        self.direct.iter().chain(self.trades.iter()).try_fold(Wh::ZERO, |acc, a| acc.checked_add(a.energy))
    }
}

/// Metered consumption of an account over an interval.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct Consumption {
    pub account: AccountId,
    pub interval: Interval,
    pub energy: Wh,
    pub entry: LeafIndex,
    /// Energy claimed against this interval under hourly matching.
    pub claimed: Wh,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub enum BundleState {
    Active,
    Retired(ClaimId),
    Withdrawn,
    /// Frozen by an exclusion declaration: the output is claimed by another scheme.
    Frozen,
}

/// The life of a bundle. Transitions consume the old state and return the new one, or give the
/// old state back when the transition is not allowed from it:
///
/// ```text
/// Active --retire--> Retired(claim)
/// Active --freeze--> Frozen
/// Active | Frozen --withdraw--> Withdrawn
/// ```
///
/// Expiry is not a state: it is computed from the production time and the policy ([`Standing`]).
impl BundleState {
    pub fn name(&self) -> &'static str {
        match self {
            BundleState::Active => "active",
            BundleState::Retired(_) => "retired",
            BundleState::Withdrawn => "withdrawn",
            BundleState::Frozen => "frozen",
        }
    }

    /// Why certificates in this state cannot be used (moved or retired): the rule and its name.
    /// `None` for active certificates.
    pub fn unusable(&self) -> Option<(u8, &'static str)> {
        match self {
            BundleState::Active => None,
            BundleState::Retired(_) => Some((5, "no use after retirement")),
            BundleState::Withdrawn => Some((6, "no use after withdrawal")),
            BundleState::Frozen => Some((3, "no double scheme: frozen by an exclusion")),
        }
    }

    /// Active certificates are retired for a claim.
    pub fn retire(self, claim: ClaimId) -> Result<BundleState, BundleState> {
        match self {
            BundleState::Active => Ok(BundleState::Retired(claim)),
            other => Err(other),
        }
    }

    /// An exclusion freezes active certificates.
    pub fn freeze(self) -> Result<BundleState, BundleState> {
        match self {
            BundleState::Active => Ok(BundleState::Frozen),
            other => Err(other),
        }
    }

    /// The regulator withdraws certificates that are neither retired nor withdrawn.
    pub fn withdraw(self) -> Result<BundleState, BundleState> {
        match self {
            BundleState::Active | BundleState::Frozen => Ok(BundleState::Withdrawn),
            other => Err(other),
        }
    }
}

/// A bundle's standing at a moment: its state, with expiry applied to active certificates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Standing {
    Active,
    Expired,
    Retired(ClaimId),
    Withdrawn,
    Frozen,
}

impl Standing {
    pub fn name(&self) -> &'static str {
        match self {
            Standing::Active => "active",
            Standing::Expired => "expired",
            Standing::Retired(_) => "retired",
            Standing::Withdrawn => "withdrawn",
            Standing::Frozen => "frozen",
        }
    }
}

impl std::fmt::Display for Standing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// How a bundle's certificates first reached an account.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub enum Origin {
    /// Issued to the generator.
    Issued,
    /// Issued to the consumer of a direct-supply line; never transferable.
    DirectSupply,
    /// Moved to the buyer of a green-power trade with the power; never transferable.
    Trade,
}

impl Origin {
    pub fn name(&self) -> &'static str {
        match self {
            Origin::Issued => "issued",
            Origin::DirectSupply => "direct-supply",
            Origin::Trade => "green-power-trade",
        }
    }
}

/// A contiguous range of serials with one owner and one state, produced by one device in one
/// interval.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct Bundle {
    pub id: BundleId,
    pub device: DeviceId,
    pub production: Interval,
    pub serials: SerialRange,
    pub owner: AccountId,
    pub state: BundleState,
    pub origin: Origin,
    pub transferable: bool,
    /// Times these certificates have changed hands by transfer.
    pub transfers: u32,
    pub expires: Timestamp,
    /// The bundle this one was split from.
    pub parent: Option<BundleId>,
    /// Entries that created or changed this bundle, oldest first.
    pub history: Vec<LeafIndex>,
}

impl Bundle {
    /// Expiry is computed from production time and policy, never stored as a state: a bundle
    /// is expired at `now` when it is active and `now >= expires`.
    pub fn is_expired(&self, now: Timestamp) -> bool {
        now >= self.expires
    }
    /// The standing at `now`: the state, with expiry applied.
    pub fn state_at(&self, now: Timestamp) -> Standing {
        match self.state {
            BundleState::Active if self.is_expired(now) => Standing::Expired,
            BundleState::Active => Standing::Active,
            BundleState::Retired(c) => Standing::Retired(c),
            BundleState::Withdrawn => Standing::Withdrawn,
            BundleState::Frozen => Standing::Frozen,
        }
    }

    /// The bundle after a transfer to `to`.
    pub fn transferred_to(self, to: AccountId) -> Bundle {
        Bundle { owner: to, transfers: self.transfers + 1, ..self }
    }

    /// The bundle after it moved to the buyer of a green-power trade with the power: it came by
    /// trade now, and can never be transferred again.
    pub fn traded_to(self, to: AccountId) -> Bundle {
        Bundle { owner: to, origin: Origin::Trade, transferable: false, transfers: self.transfers + 1, ..self }
    }

    /// The bundle retired for `claim`; the old state back if it is not active.
    pub fn retired(self, claim: ClaimId) -> Result<Bundle, BundleState> {
        Ok(Bundle { state: self.state.retire(claim)?, ..self })
    }

    /// The bundle withdrawn; the old state back if it is retired or withdrawn already.
    pub fn withdrawn(self) -> Result<Bundle, BundleState> {
        Ok(Bundle { state: self.state.withdraw()?, ..self })
    }

    /// The bundle frozen by the exclusion at entry `at`, which joins its history; `None` if it
    /// is not active (nothing to freeze).
    pub fn frozen(mut self, at: LeafIndex) -> Option<Bundle> {
        self.state = self.state.freeze().ok()?;
        self.history.push(at);
        Some(self)
    }
}

/// A retirement: certificates used for a claim by a beneficiary.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct Claim {
    pub id: ClaimId,
    pub claimant: AccountId,
    pub bundle: BundleId,
    pub serials: SerialRange,
    pub energy: Wh,
    pub device: DeviceId,
    pub production: Interval,
    pub beneficiary: String,
    pub purpose: String,
    pub consumption: Interval,
    pub entry: LeafIndex,
}

/// A used nonce: the entry that used it and the hash of the signed command.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct NonceRecord {
    pub entry: LeafIndex,
    pub command_hash: [u8; 32],
}

/// A storage failure seen while reading state. Not a refusal: the batch is abandoned.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("storage fault: {0}")]
pub struct StoreFault(pub String);

pub type Read<T> = Result<Option<T>, StoreFault>;

/// Read access to the state. The rules see the state only through this seam.
pub trait StateView {
    fn meta(&self) -> Read<Meta>;
    fn account(&self, id: &AccountId) -> Read<Account>;
    fn device(&self, id: &DeviceId) -> Read<Device>;
    fn reading(&self, device: &DeviceId, start: Timestamp) -> Read<Reading>;
    /// Readings of a device whose interval overlaps `interval`, in time order.
    fn readings_overlapping(&self, device: &DeviceId, interval: Interval) -> Result<Vec<Reading>, StoreFault>;
    fn consumption(&self, account: &AccountId, start: Timestamp) -> Read<Consumption>;
    fn bundle(&self, id: BundleId) -> Read<Bundle>;
    fn claim(&self, id: ClaimId) -> Read<Claim>;
    fn nonce(&self, signer: &AccountId, nonce: u64) -> Read<NonceRecord>;
}

/// One change to the state. Effects are whole records: applying them is a plain upsert.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    Meta(Meta),
    Account(Account),
    Device(Device),
    Reading(Reading),
    Consumption(Consumption),
    Bundle(Bundle),
    Claim(Claim),
    Nonce { signer: AccountId, nonce: u64, record: NonceRecord },
}

/// Write access: where effects land.
pub trait StateWrite {
    fn put(&mut self, effect: Effect) -> Result<(), StoreFault>;
}

/// The whole state in ordered maps. Used for tests, offline audit replay and as the overlay
/// of a batch in flight.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemState {
    pub meta: Option<Meta>,
    pub accounts: BTreeMap<AccountId, Account>,
    pub devices: BTreeMap<DeviceId, Device>,
    pub readings: BTreeMap<(DeviceId, Timestamp), Reading>,
    pub consumption: BTreeMap<(AccountId, Timestamp), Consumption>,
    pub bundles: BTreeMap<BundleId, Bundle>,
    pub claims: BTreeMap<ClaimId, Claim>,
    pub nonces: BTreeMap<(AccountId, u64), NonceRecord>,
}

impl StateView for MemState {
    fn meta(&self) -> Read<Meta> {
        Ok(self.meta.clone())
    }
    fn account(&self, id: &AccountId) -> Read<Account> {
        Ok(self.accounts.get(id).cloned())
    }
    fn device(&self, id: &DeviceId) -> Read<Device> {
        Ok(self.devices.get(id).cloned())
    }
    fn reading(&self, device: &DeviceId, start: Timestamp) -> Read<Reading> {
        Ok(self.readings.get(&(device.clone(), start)).cloned())
    }
    fn readings_overlapping(&self, device: &DeviceId, interval: Interval) -> Result<Vec<Reading>, StoreFault> {
        Ok(self
            .readings
            .range((device.clone(), Timestamp(0))..(device.clone(), interval.end))
            .map(|(_, r)| r)
            .filter(|r| r.interval.overlaps(&interval))
            .cloned()
            .collect())
    }
    fn consumption(&self, account: &AccountId, start: Timestamp) -> Read<Consumption> {
        Ok(self.consumption.get(&(*account, start)).cloned())
    }
    fn bundle(&self, id: BundleId) -> Read<Bundle> {
        Ok(self.bundles.get(&id).cloned())
    }
    fn claim(&self, id: ClaimId) -> Read<Claim> {
        Ok(self.claims.get(&id).cloned())
    }
    fn nonce(&self, signer: &AccountId, nonce: u64) -> Read<NonceRecord> {
        Ok(self.nonces.get(&(*signer, nonce)).cloned())
    }
}

impl StateWrite for MemState {
    fn put(&mut self, effect: Effect) -> Result<(), StoreFault> {
        match effect {
            Effect::Meta(m) => self.meta = Some(m),
            Effect::Account(a) => {
                self.accounts.insert(a.id, a);
            }
            Effect::Device(d) => {
                self.devices.insert(d.id.clone(), d);
            }
            Effect::Reading(r) => {
                self.readings.insert((r.device.clone(), r.interval.start), r);
            }
            Effect::Consumption(c) => {
                self.consumption.insert((c.account, c.interval.start), c);
            }
            Effect::Bundle(b) => {
                self.bundles.insert(b.id, b);
            }
            Effect::Claim(c) => {
                self.claims.insert(c.id, c);
            }
            Effect::Nonce { signer, nonce, record } => {
                self.nonces.insert((signer, nonce), record);
            }
        }
        Ok(())
    }
}

//! The records that make up the ledger's state, the read seam [`StateView`] the rules decide
//! against, the write seam [`StateWrite`] effects are applied through, and [`MemState`], the
//! in-memory twin used by tests and by offline replay.

use super::policy::{Class, Policy};
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
    /// Dated policy amendments in log order; each governs the commands from its date on.
    pub amendments: Vec<Amendment>,
    /// Founded with the first genesis format: the first retirement format (`RetireV1`) is
    /// still taken, as its clients send it. Other ledgers take only the current one.
    pub first_format: bool,
}

/// A dated policy amendment: from `effective` on, `policy` replaces the policy in force.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct Amendment {
    pub effective: Timestamp,
    pub entry: LeafIndex,
    pub policy: Policy,
    pub reason: String,
}

impl Meta {
    /// The policy in force at `now`: the genesis policy, or the latest amendment in effect.
    /// Amendments take effect at their date and never reach back: a command is decided under
    /// the policy in force at its entry's time, and what earlier entries did stays as it was.
    pub fn policy_at(&self, now: Timestamp) -> &Policy {
        self.amendments.iter().rev().find(|a| a.effective <= now).map_or(&self.policy, |a| &a.policy)
    }
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

/// The attributes of a device that decide the class of its certificates (see
/// [`crate::policy::ClassTable`]). A device is one unit or phase with one commissioning date:
/// a plant built in phases registers each phase as its own device.
#[derive(Clone, Debug, Default, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct DeviceAttributes {
    /// Not connected to the public grid (离网).
    pub off_grid: bool,
    /// Conventional (not pumped-storage, not small) hydro.
    pub conventional_hydro: bool,
    /// An independent storage station: everything it delivers is storage discharge.
    pub storage: bool,
    /// Its output makes hydrogen (风光制氢).
    pub hydrogen: bool,
    /// Receives central subsidy or a 机制电价.
    pub subsidised: bool,
    /// Who uses the self-consumed output (自发自用) when that is not the owner: the self-use
    /// certificates go to them.
    pub user: Option<AccountId>,
}

/// Energy below one certificate, waiting for the next issuance of the same holder, origin and
/// class. Each part names the reading it came from, so an exclusion or a correction of that
/// reading can take it out again: excluded energy never reaches a later certificate.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct CarryPart {
    pub holder: AccountId,
    pub origin: Origin,
    pub class: Class,
    pub channel: Channel,
    pub reading: Timestamp,
    pub energy: Wh,
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
    pub attributes: DeviceAttributes,
    /// No readings may end after this time.
    pub decommissioned: Option<Timestamp>,
    /// Energy below one certificate unit, by holder, origin and class, oldest first.
    pub carry: Vec<CarryPart>,
    /// Energy owed by the device: a downward correction that could not be clawed back, or
    /// storage charge netted after its export was issued. Settled from the owner's share of
    /// later issuances before anything new is issued.
    pub deficit: Wh,
    pub exclusions: Vec<Exclusion>,
    /// Entries that changed the device after registration (attributes, owner, decommissioning).
    pub changes: Vec<LeafIndex>,
}

impl Device {
    /// Total energy in the carry.
    pub fn carried(&self) -> Wh {
        Wh(self.carry.iter().map(|p| p.energy.0).sum())
    }
    /// The attributes the class table reads.
    pub fn facts(&self) -> crate::policy::DeviceFacts {
        let a = &self.attributes;
        crate::policy::DeviceFacts {
            commissioned: self.commissioned,
            off_grid: a.off_grid,
            conventional_hydro: a.conventional_hydro,
            storage: a.storage,
            hydrogen: a.hydrogen,
            subsidised: a.subsidised,
        }
    }
}

/// Energy of a reading set aside for a consumer before issuance.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct Allocation {
    pub to: AccountId,
    pub energy: Wh,
    pub entry: LeafIndex,
    /// How the energy reached `to`: direct supply, green-power trade or distributed trade.
    pub origin: Origin,
    /// The settlement's price, for trades settled with one.
    pub price: Option<Price>,
}

/// The price of a settlement, in integer fen (0.01 CNY) per MWh.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct Price {
    pub fen_per_mwh: u64,
    /// The distribution network charge (过网费) of a distributed-generation trade.
    pub network_charge_fen_per_mwh: Option<u64>,
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
    /// This reading's energy handed to this issuance: `carry_in + energy = serials x unit +
    /// carry_out`.
    pub energy: Wh,
    /// The carry parts of earlier readings this issuance consumed.
    pub carried_from: Vec<CarryPart>,
}

/// Where part of a reading's carry went: into the certificate `serial` of a later reading.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct CarriedInto {
    pub channel: Channel,
    pub reading: Timestamp,
    pub serial: Serial,
    pub energy: Wh,
}

/// A correction of a reading: the trail a regulator reads.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct CorrectionRecord {
    pub entry: LeafIndex,
    pub signer: AccountId,
    /// The regulator who co-signed a correction after the window.
    pub approved_by: Option<AccountId>,
    pub old: Wh,
    pub new: Wh,
    pub reason: String,
    /// Energy taken back from this reading's carry and certificates.
    pub clawed_back: Wh,
    /// Energy that could not be taken back and is owed by the device.
    pub deficit: Wh,
    /// Claims already made on certificates of this reading when it was corrected downward.
    pub claims: Vec<ClaimId>,
}

/// A meter reading of a device on one channel.
///
/// Once issued, its energy is accounted for by `energy + clawed_back + deficit = handed +
/// netted + uncertified + paid` ([`Reading::balanced`]): what the meter says now, plus what
/// corrections took back or charged to the device, equals what went to certificates (directly
/// or through the carry), what storage charge netted off, what the class table gives no
/// certificates for, and what settled the device's earlier deficit.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct Reading {
    pub device: DeviceId,
    pub channel: Channel,
    pub interval: Interval,
    pub energy: Wh,
    pub entry: LeafIndex,
    pub direct: Vec<Allocation>,
    pub trades: Vec<Allocation>,
    /// The first issuance.
    pub issuance: Option<Issuance>,
    /// Supplementary issuances after upward corrections.
    pub supplements: Vec<Issuance>,
    /// The class its certificates were issued in.
    pub class: Option<Class>,
    /// Every bundle that holds serials of this reading (splits add to it).
    pub bundles: Vec<BundleId>,
    pub corrections: Vec<CorrectionRecord>,
    /// Storage charge netted off this export reading; for a storage-charge reading, how much of
    /// it has been netted.
    pub netted: Wh,
    /// Energy the class table gives no certificates.
    pub uncertified: Wh,
    /// Energy that settled the device's deficit.
    pub paid: Wh,
    /// Energy taken back by downward corrections.
    pub clawed_back: Wh,
    /// Energy of downward corrections charged to the device as a deficit.
    pub deficit: Wh,
    /// Carry of this reading removed by an exclusion: it never reaches a certificate.
    pub excluded: Wh,
    /// Where this reading's carry went.
    pub carried_into: Vec<CarriedInto>,
}

impl Reading {
    /// A reading as posted: nothing allocated, issued or corrected yet.
    pub fn posted(device: DeviceId, channel: Channel, interval: Interval, energy: Wh, entry: LeafIndex) -> Reading {
        Reading {
            device,
            channel,
            interval,
            energy,
            entry,
            direct: Vec::new(),
            trades: Vec::new(),
            issuance: None,
            supplements: Vec::new(),
            class: None,
            bundles: Vec::new(),
            corrections: Vec::new(),
            netted: Wh::ZERO,
            uncertified: Wh::ZERO,
            paid: Wh::ZERO,
            clawed_back: Wh::ZERO,
            deficit: Wh::ZERO,
            excluded: Wh::ZERO,
            carried_into: Vec::new(),
        }
    }

    /// Energy already allocated to direct supply and trades.
    pub fn allocated(&self) -> Option<Wh> {
        self.direct.iter().chain(self.trades.iter()).try_fold(Wh::ZERO, |acc, a| acc.checked_add(a.energy))
    }

    /// Every issuance, first one first.
    pub fn issuances(&self) -> impl Iterator<Item = &Issuance> {
        self.issuance.iter().chain(self.supplements.iter())
    }

    /// This reading's energy handed to issuances.
    pub fn handed(&self) -> u128 {
        self.issuances().map(|i| i.energy.0 as u128).sum()
    }

    /// The reading's energy balance holds (see the type's documentation). True before issuance.
    pub fn balanced(&self) -> bool {
        if self.issuance.is_none() {
            return true;
        }
        let w = |x: Wh| x.0 as u128;
        w(self.energy) + w(self.clawed_back) + w(self.deficit)
            == self.handed() + w(self.netted) + w(self.uncertified) + w(self.paid)
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
    /// A frozen certificate cancelled by the regulator: the other scheme used the output.
    Cancelled,
}

/// The life of a bundle. Transitions consume the old state and return the new one, or give the
/// old state back when the transition is not allowed from it:
///
/// ```text
/// Active --retire--> Retired(claim)
/// Active --freeze--> Frozen --unfreeze--> Active
///                    Frozen --cancel--> Cancelled
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
            BundleState::Cancelled => "cancelled",
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
            BundleState::Cancelled => Some((3, "no double scheme: cancelled after an exclusion")),
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

    /// The regulator lifts an exclusion's freeze (the other scheme did not use the output).
    pub fn unfreeze(self) -> Result<BundleState, BundleState> {
        match self {
            BundleState::Frozen => Ok(BundleState::Active),
            other => Err(other),
        }
    }

    /// The regulator cancels frozen certificates (the other scheme used the output).
    pub fn cancel(self) -> Result<BundleState, BundleState> {
        match self {
            BundleState::Frozen => Ok(BundleState::Cancelled),
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
    Cancelled,
}

impl Standing {
    pub fn name(&self) -> &'static str {
        match self {
            Standing::Active => "active",
            Standing::Expired => "expired",
            Standing::Retired(_) => "retired",
            Standing::Withdrawn => "withdrawn",
            Standing::Frozen => "frozen",
            Standing::Cancelled => "cancelled",
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
    /// Issued to the user of self-consumed output (自发自用); never transferable.
    SelfUse,
    /// Moved to the buyer of a distributed-generation trade in a park (隔墙售电) with the power;
    /// never transferable.
    Distributed,
}

impl Origin {
    pub fn name(&self) -> &'static str {
        match self {
            Origin::Issued => "issued",
            Origin::DirectSupply => "direct-supply",
            Origin::Trade => "green-power-trade",
            Origin::SelfUse => "self-use",
            Origin::Distributed => "distributed-trade",
        }
    }
}

/// A contiguous range of serials with one owner and one state, produced by one device in one
/// interval.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct Bundle {
    pub id: BundleId,
    pub device: DeviceId,
    /// The channel of the reading whose certificates these are.
    pub channel: Channel,
    pub production: Interval,
    pub serials: SerialRange,
    pub owner: AccountId,
    pub state: BundleState,
    pub origin: Origin,
    /// The class it was issued in.
    pub class: Class,
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
            BundleState::Cancelled => Standing::Cancelled,
        }
    }

    /// The bundle after a transfer to `to`.
    pub fn transferred_to(self, to: AccountId) -> Bundle {
        Bundle { owner: to, transfers: self.transfers + 1, ..self }
    }

    /// The bundle after it moved to the buyer of a trade with the power (`origin`: a
    /// green-power or distributed trade): it can never be transferred again.
    pub fn traded_to(self, to: AccountId, origin: Origin) -> Bundle {
        Bundle { owner: to, origin, transferable: false, transfers: self.transfers + 1, ..self }
    }

    /// The bundle retired for `claim`; the old state back if it is not active.
    pub fn retired(self, claim: ClaimId) -> Result<Bundle, BundleState> {
        Ok(Bundle { state: self.state.retire(claim)?, ..self })
    }

    /// The bundle withdrawn; the old state back if it is retired or withdrawn already.
    pub fn withdrawn(self) -> Result<Bundle, BundleState> {
        Ok(Bundle { state: self.state.withdraw()?, ..self })
    }

    /// The bundle after the regulator unfroze (`cancel` false) or cancelled it at entry `at`;
    /// the old state back if it is not frozen.
    pub fn resolved(mut self, cancel: bool, at: LeafIndex) -> Result<Bundle, BundleState> {
        self.state = if cancel { self.state.cancel()? } else { self.state.unfreeze()? };
        self.history.push(at);
        Ok(self)
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
    /// The account whose metered consumption the claim is capped by: the claimant, or the
    /// beneficiary account.
    pub capped: AccountId,
    /// The beneficiary as the claim named it (claims of the first format: `None`, free text).
    pub spec: Option<crate::command::retire::Beneficiary>,
    /// The purpose from the documented set (first format: `None`, free text).
    pub purpose_code: Option<crate::command::retire::Purpose>,
    /// How the certificates reached the claimant, their class and their reading's channel.
    pub origin: Origin,
    pub class: Class,
    pub channel: Channel,
}

/// A member of a park over a time: from `from`, until `until` (open if `None`). The province
/// (or grid region) is where the member's site is: location-based factors are the member's own.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct Member {
    pub account: AccountId,
    pub province: String,
    pub from: Timestamp,
    pub until: Option<Timestamp>,
}

impl Member {
    /// The part of `interval` in which this membership holds, if any.
    pub fn during(&self, interval: Interval) -> Option<Interval> {
        let start = self.from.max(interval.start);
        let end = self.until.map_or(interval.end, |u| u.min(interval.end));
        (start < end).then_some(Interval { start, end })
    }
}

/// A park (零碳园区, an industrial park): its members over time, registered by the operator.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct Park {
    pub id: ParkId,
    pub name: String,
    pub province: String,
    /// Every membership, in the order they began.
    pub members: Vec<Member>,
    pub registered: LeafIndex,
    /// Entries that changed the membership after registration.
    pub changes: Vec<LeafIndex>,
}

/// A used nonce: the entry that used it and the hash of the signed command. The nonce of a
/// command without a validity window is kept for ever, keyed by signer and nonce; that of a
/// windowed command by its window's end, signer and nonce, until the window has passed
/// ([`Effect::ForgetNonces`]).
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
    fn reading(&self, device: &DeviceId, channel: Channel, start: Timestamp) -> Read<Reading>;
    /// The reading of a device and channel with the latest start before `before`: with the
    /// readings of a channel never overlapping, the only one that can overlap an interval
    /// ending at `before` and starting after its start. An ordered-key lookup, not a scan.
    fn reading_before(&self, device: &DeviceId, channel: Channel, before: Timestamp) -> Read<Reading>;
    /// Readings of a device and channel whose interval overlaps `interval`, in time order:
    /// walked back from `interval.end` through [`StateView::reading_before`], one lookup per
    /// reading found.
    fn readings_overlapping(
        &self,
        device: &DeviceId,
        channel: Channel,
        interval: Interval,
    ) -> Result<Vec<Reading>, StoreFault> {
        let mut out = Vec::new();
        let mut before = interval.end;
        while let Some(r) = self.reading_before(device, channel, before)? {
            if r.interval.end <= interval.start {
                break;
            }
            before = r.interval.start;
            out.push(r);
        }
        out.reverse();
        Ok(out)
    }
    fn consumption(&self, account: &AccountId, start: Timestamp) -> Read<Consumption>;
    /// The consumption reading of an account with the latest start before `before`.
    fn consumption_before(&self, account: &AccountId, before: Timestamp) -> Read<Consumption>;
    fn bundle(&self, id: BundleId) -> Read<Bundle>;
    fn claim(&self, id: ClaimId) -> Read<Claim>;
    fn park(&self, id: &ParkId) -> Read<Park>;
    fn nonce(&self, signer: &AccountId, nonce: u64) -> Read<NonceRecord>;
    /// The record of a windowed command's nonce: exactly this window end, signer and nonce.
    fn windowed_nonce(&self, expires: Timestamp, signer: &AccountId, nonce: u64) -> Read<NonceRecord>;
}

/// One change to the state. Effects are whole records: applying them is a plain upsert, except
/// [`Effect::ForgetNonces`], which deletes the windowed nonce records whose window has passed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    Meta(Meta),
    Account(Account),
    Device(Device),
    Reading(Reading),
    Consumption(Consumption),
    Bundle(Bundle),
    Claim(Claim),
    Park(Park),
    /// The nonce of a command without a validity window, kept for ever.
    Nonce {
        signer: AccountId,
        nonce: u64,
        record: NonceRecord,
    },
    /// The nonce of a windowed command, kept until its window has passed.
    WindowedNonce {
        expires: Timestamp,
        signer: AccountId,
        nonce: u64,
        record: NonceRecord,
    },
    /// Deletes every windowed nonce record whose window ended before `before` (`expires <
    /// before`): no command of that window can be accepted any more, so its nonce need not be
    /// remembered. Every accepted command carries one, with `before` its entry's time, so the
    /// records kept are a function of the log.
    ForgetNonces {
        before: Timestamp,
    },
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
    pub readings: BTreeMap<(DeviceId, Channel, Timestamp), Reading>,
    pub consumption: BTreeMap<(AccountId, Timestamp), Consumption>,
    pub bundles: BTreeMap<BundleId, Bundle>,
    pub claims: BTreeMap<ClaimId, Claim>,
    pub parks: BTreeMap<ParkId, Park>,
    pub nonces: BTreeMap<(AccountId, u64), NonceRecord>,
    /// Nonces of windowed commands by window end, signer and nonce.
    pub windowed_nonces: BTreeMap<(Timestamp, AccountId, u64), NonceRecord>,
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
    fn reading(&self, device: &DeviceId, channel: Channel, start: Timestamp) -> Read<Reading> {
        Ok(self.readings.get(&(device.clone(), channel, start)).cloned())
    }
    fn reading_before(&self, device: &DeviceId, channel: Channel, before: Timestamp) -> Read<Reading> {
        Ok(self
            .readings
            .range((device.clone(), channel, Timestamp(0))..(device.clone(), channel, before))
            .next_back()
            .map(|(_, r)| r.clone()))
    }
    fn consumption(&self, account: &AccountId, start: Timestamp) -> Read<Consumption> {
        Ok(self.consumption.get(&(*account, start)).cloned())
    }
    fn consumption_before(&self, account: &AccountId, before: Timestamp) -> Read<Consumption> {
        Ok(self.consumption.range((*account, Timestamp(0))..(*account, before)).next_back().map(|(_, c)| c.clone()))
    }
    fn bundle(&self, id: BundleId) -> Read<Bundle> {
        Ok(self.bundles.get(&id).cloned())
    }
    fn claim(&self, id: ClaimId) -> Read<Claim> {
        Ok(self.claims.get(&id).cloned())
    }
    fn park(&self, id: &ParkId) -> Read<Park> {
        Ok(self.parks.get(id).cloned())
    }
    fn nonce(&self, signer: &AccountId, nonce: u64) -> Read<NonceRecord> {
        Ok(self.nonces.get(&(*signer, nonce)).cloned())
    }
    fn windowed_nonce(&self, expires: Timestamp, signer: &AccountId, nonce: u64) -> Read<NonceRecord> {
        Ok(self.windowed_nonces.get(&(expires, *signer, nonce)).cloned())
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
                self.readings.insert((r.device.clone(), r.channel, r.interval.start), r);
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
            Effect::Park(p) => {
                self.parks.insert(p.id.clone(), p);
            }
            Effect::Nonce { signer, nonce, record } => {
                self.nonces.insert((signer, nonce), record);
            }
            Effect::WindowedNonce { expires, signer, nonce, record } => {
                self.windowed_nonces.insert((expires, signer, nonce), record);
            }
            Effect::ForgetNonces { before } => {
                // Keep the records from the least key of window end `before` on.
                self.windowed_nonces = self.windowed_nonces.split_off(&(before, AccountId([0; 32]), 0));
            }
        }
        Ok(())
    }
}

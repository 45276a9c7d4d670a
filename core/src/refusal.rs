//! Why a command was refused. Every message names the rule and the values involved, so the
//! submitter can act on it. Rules are numbered as the failure modes in the README.

use super::state::StoreFault;
use super::types::*;

/// How a refusal should be reported to a client; the service maps these to gRPC codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RefusalKind {
    /// The command itself is malformed: bad interval, empty range, text too long.
    Invalid,
    /// The signature or key is not acceptable.
    Unauthenticated,
    /// The signer lacks the role or does not own what it tries to move.
    PermissionDenied,
    /// The command is well formed but the ledger's rules forbid it now.
    FailedPrecondition,
    /// The nonce was used already or the thing exists already.
    AlreadyExists,
    /// It names an account, device, reading, bundle or claim the ledger does not know.
    NotFound,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    #[error("the ledger has no genesis entry yet; the first command must be genesis")]
    NoGenesis,
    #[error("the ledger already has a genesis entry; genesis cannot be repeated")]
    GenesisTwice,
    #[error("invalid policy: {0}")]
    BadPolicy(String),
    #[error("rule 10 (authorised signers): signer {signer} is not a registered account")]
    UnknownSigner { signer: String },
    #[error("rule 10 (authorised signers): signer {signer} lacks the {role} role needed for {command}")]
    MissingRole { signer: String, role: Role, command: &'static str },
    #[error("rule 10 (no replay): nonce {nonce} of signer {signer} was already used by entry {entry} for a different command")]
    NonceReused { signer: String, nonce: u64, entry: LeafIndex },
    #[error("identical command already accepted as entry {entry}")]
    Duplicate { entry: LeafIndex },
    #[error("rule 10 (no replay): the command's validity window ended at {expires}, before the ledger time {now}; it can never be accepted: sign it again with a new nonce and a new window")]
    CommandExpired { expires: Timestamp, now: Timestamp },
    #[error("rule 10 (no replay): the command's validity window ends at {expires}, more than {max_hours} hours after the ledger time {now}; sign it with a window of at most {max_hours} hours")]
    WindowTooLong { expires: Timestamp, now: Timestamp, max_hours: u64 },
    #[error("the log entry of this command would be {bytes} bytes; an entry of a C2SP tlog-tiles entry bundle holds at most {max}: send less in one command")]
    EntryTooLarge { bytes: usize, max: usize },
    #[error("account {account} is not a valid Ed25519 public key")]
    BadAccountKey { account: String },
    #[error("account {account} is already registered")]
    AccountExists { account: String },
    #[error("account {account} is not registered")]
    UnknownAccount { account: String },
    #[error("account {account} lacks the {role} role needed to {needed_for}")]
    AccountLacksRole { account: String, role: Role, needed_for: &'static str },
    #[error("roles value {0} is not a non-empty set of the six defined roles")]
    BadRoles(u8),
    #[error("device code {0:?} must be 1 to 64 ASCII letters, digits, '-', '_' or '.'")]
    BadDeviceId(String),
    #[error("device {0} is already registered")]
    DeviceExists(DeviceId),
    #[error("device {0} is not registered")]
    UnknownDevice(DeviceId),
    #[error("capacity must be more than 0 W, got {0}")]
    ZeroCapacity(u64),
    #[error("{field}: {reason}")]
    BadText { field: &'static str, reason: String },
    #[error("interval {interval} is empty or reversed")]
    BadInterval { interval: Interval },
    #[error("interval {interval} is longer than the {max_days} days a single reading may cover")]
    IntervalTooLong { interval: Interval, max_days: u64 },
    #[error("interval {interval} ends in the future (ledger time {now})")]
    FutureInterval { interval: Interval, now: Timestamp },
    #[error("interval {interval} starts before device {device} was commissioned at {commissioned}")]
    BeforeCommissioning { device: DeviceId, interval: Interval, commissioned: Timestamp },
    #[error("rule 1 (one reading per interval): reading {interval} of {subject} overlaps the reading {existing} already posted")]
    ReadingOverlap { subject: String, interval: Interval, existing: Interval },
    #[error("rule 2 (no issuance beyond physics): {energy} in {interval} exceeds device {device}'s capacity of {capacity_w} W ({max} at most)")]
    ExceedsCapacity { device: DeviceId, interval: Interval, energy: Wh, capacity_w: u64, max: Wh },
    #[error("energy must be more than 0 Wh")]
    ZeroEnergy,
    #[error("amount overflow: {0}")]
    Overflow(&'static str),
    #[error("device {device} has no {channel} reading for exactly {interval}")]
    UnknownReading { device: DeviceId, channel: Channel, interval: Interval },
    #[error("rule 9 (hourly matching): the policy takes readings of at most {max} s; {interval} is {seconds} s")]
    ReadingTooLong { interval: Interval, seconds: u64, max: u64 },
    #[error("rule 9 (hourly matching): reading {interval} is not within one clock hour of {zone}; an hourly policy takes hourly data")]
    NotHourly { interval: Interval, zone: String },
    #[error("channel {channel} is not a {what} channel")]
    WrongChannel { channel: Channel, what: &'static str },
    #[error(
        "rule 11 (device lifecycle): device {device} was decommissioned at {at}; reading {interval} ends after it"
    )]
    Decommissioned { device: DeviceId, at: Timestamp, interval: Interval },
    #[error("rule 11 (device lifecycle): device {device} has a {channel} reading up to {until}, after the decommissioning date {at}")]
    ReadingsAfterDecommissioning { device: DeviceId, channel: Channel, until: Timestamp, at: Timestamp },
    #[error("rule 11 (device lifecycle): {0}")]
    DeviceChange(String),
    #[error("rule 12 (corrections): the correction of {device} {channel} {interval} after {deadline} needs a regulator's co-signature")]
    CorrectionNeedsRegulator { device: DeviceId, channel: Channel, interval: Interval, deadline: Timestamp },
    #[error("rule 12 (corrections): the co-signature {reason}")]
    BadApproval { reason: String },
    #[error("rule 12 (corrections): the reading of {device} in {interval} already says {energy}")]
    NothingToCorrect { device: DeviceId, interval: Interval, energy: Wh },
    #[error("rule 8 (no double attribute): {device} {interval} has {allocated} allocated to direct supply and trades; a correction to {energy} before issuance must not go below it (correct the settlement first)")]
    CorrectionBelowAllocated { device: DeviceId, interval: Interval, energy: Wh, allocated: Wh },
    #[error("rule 12 (corrections): storage charge {interval} of {device} was already netted against its export; correct the export reading instead")]
    ChargeAlreadyNetted { device: DeviceId, interval: Interval },
    #[error("rule 13 (issuance): {0}")]
    Issuance(String),
    #[error("rule 13 (issuance): the policy has certificates issued by the issuing body month by month; device owners cannot ask for issuance")]
    OwnerIssuanceOff,
    #[error("rule 8 (no double attribute): the settlement of {asked} from {device} in {period} finds only {available} of metered output not yet sold")]
    SettlementExceedsGeneration { device: DeviceId, period: Interval, asked: Wh, available: Wh },
    #[error("rule 8 (no double attribute): a distributed trade must be metered on both sides; buyer {account} has {metered} of consumption metered in {period}, less than the {asked} sold")]
    DeliveryNotMetered { account: String, period: Interval, asked: Wh, metered: Wh },
    #[error("policy amendment: {0}")]
    BadAmendment(String),
    #[error("rule 8 (claims within consumption): the consumption period {consumption} of a claim must lie inside one reporting period; it runs past the end of {period} at {end}")]
    ClaimAcrossPeriods { consumption: Interval, period: String, end: Timestamp },
    #[error("rule 8 (claims within consumption): certificates produced in {production} are outside the vintage the policy allows ({rule}) for consumption in {consumption}")]
    VintageOutOfRange { production: Interval, consumption: Interval, rule: String },
    #[error(
        "rule 8 (claims within consumption): account {account}'s consumption in {interval} is not metered whole: {why}"
    )]
    ConsumptionNotCovered { account: String, interval: Interval, why: String },
    #[error("rule 8 (claims within consumption): consumption reading {interval} spans two reporting periods (the next starts at {boundary}); post one reading per period")]
    ReadingAcrossPeriods { interval: Interval, boundary: Timestamp },
    #[error("the {kind} format is taken only by ledgers founded with the first formats; send {by}")]
    Superseded { kind: &'static str, by: &'static str },
    #[error("park {0} is already registered")]
    ParkExists(String),
    #[error("park {0} is not registered")]
    UnknownPark(String),
    #[error("park {park}: {reason}")]
    Membership { park: String, reason: String },
    #[error(
        "rule 3 (no double scheme): bundle {bundle} is {state}; only frozen certificates can be unfrozen or cancelled"
    )]
    NotFrozen { bundle: BundleId, state: &'static str },
    #[error(
        "rule 1 (one issuance per reading): device {device} interval {interval} was already issued by entry {entry}"
    )]
    AlreadyIssued { device: DeviceId, interval: Interval, entry: LeafIndex },
    #[error("rule 3 (no double scheme): device {device} output in {interval} is excluded for scheme {scheme:?} (entry {entry})")]
    Excluded { device: DeviceId, interval: Interval, scheme: String, entry: LeafIndex },
    #[error("rule 8 (no double attribute): direct supply and trades for device {device} in {interval} would total {asked}, above the metered generation of {generated}")]
    AllocationExceedsGeneration { device: DeviceId, interval: Interval, asked: Wh, generated: Wh },
    #[error("rule 8 (no double attribute): device {device} interval {interval} is already issued to the generator (entry {entry}); direct supply must be posted before issuance")]
    AttributeAlreadyIssued { device: DeviceId, interval: Interval, entry: LeafIndex },
    #[error("rule 8 (no double attribute): the trade needs {needed} certificates of device {device} interval {interval} still held by the generator, only {available} are")]
    TradeCertificatesUnavailable { device: DeviceId, interval: Interval, needed: u64, available: u64 },
    #[error("{energy} is not a whole number of certificates of {unit_wh} Wh")]
    NotWholeUnits { energy: Wh, unit_wh: u64 },
    #[error("{account} cannot {action} with itself")]
    SamePartyTwice { account: String, action: &'static str },
    #[error("bundle {0} does not exist")]
    UnknownBundle(BundleId),
    #[error("claim {0} does not exist")]
    UnknownClaim(ClaimId),
    #[error("rule 4 (one owner per certificate): bundle {bundle} is owned by {owner}, not by signer {signer}")]
    NotOwner { bundle: BundleId, owner: String, signer: String },
    #[error("rule 4 (one owner per certificate): device {device} is owned by {owner}, not by signer {signer}; only the owner may request issuance")]
    NotDeviceOwner { device: DeviceId, owner: String, signer: String },
    #[error("serials {serials} are not a non-empty range inside bundle {bundle} ({held})")]
    SerialsOutsideBundle { bundle: BundleId, serials: SerialRange, held: SerialRange },
    #[error("rule {rule} ({what}): bundle {bundle} is {state}")]
    NotActive { bundle: BundleId, state: &'static str, rule: u8, what: &'static str },
    #[error("rule 6 (no use after expiry): bundle {bundle} expired at {expired}")]
    Expired { bundle: BundleId, expired: Timestamp },
    #[error("rule 7 (transfer limit): bundle {bundle} came by {origin} and cannot be transferred")]
    NotTransferable { bundle: BundleId, origin: &'static str },
    #[error("rule 7 (transfer limit): bundle {bundle} was transferred {transfers} times; the policy allows {limit}")]
    TransferLimit { bundle: BundleId, transfers: u32, limit: u32 },
    #[error("rule 8 (claims within consumption): account {account} has no metered consumption covering {interval}")]
    NoConsumption { account: String, interval: Interval },
    #[error("rule 8 (claims within consumption): claiming {asked} for {interval} would bring account {account}'s claims to {total}, above its metered consumption of {consumed}")]
    ClaimExceedsConsumption { account: String, interval: Interval, asked: Wh, total: Wh, consumed: Wh },
    #[error(
        "rule 9 (hourly matching): certificates produced in {production} cannot back consumption in {consumption}"
    )]
    HourlyMismatch { production: Interval, consumption: Interval },
    #[error("rule 6 (withdrawal): bundle {bundle} is {state}; only certificates not yet retired or withdrawn can be withdrawn")]
    CannotWithdraw { bundle: BundleId, state: &'static str },
}

impl Refusal {
    /// The number of the rule that refuses, as the README numbers them; `None` for refusals of
    /// malformed commands and unknown things, which no numbered rule covers.
    pub fn rule(&self) -> Option<u8> {
        use Refusal::*;
        match self {
            ReadingOverlap { .. } | AlreadyIssued { .. } => Some(1),
            ReadingTooLong { .. } | NotHourly { .. } => Some(9),
            Decommissioned { .. } | ReadingsAfterDecommissioning { .. } | DeviceChange(_) => Some(11),
            CorrectionNeedsRegulator { .. }
            | BadApproval { .. }
            | NothingToCorrect { .. }
            | ChargeAlreadyNetted { .. } => Some(12),
            Issuance(_) | OwnerIssuanceOff => Some(13),
            NotFrozen { .. } => Some(3),
            CorrectionBelowAllocated { .. }
            | SettlementExceedsGeneration { .. }
            | DeliveryNotMetered { .. }
            | ClaimAcrossPeriods { .. }
            | VintageOutOfRange { .. }
            | ConsumptionNotCovered { .. }
            | ReadingAcrossPeriods { .. } => Some(8),
            ExceedsCapacity { .. } => Some(2),
            Excluded { .. } => Some(3),
            NotOwner { .. } | NotDeviceOwner { .. } => Some(4),
            NotActive { rule, .. } => Some(*rule),
            Expired { .. } | CannotWithdraw { .. } => Some(6),
            NotTransferable { .. } | TransferLimit { .. } => Some(7),
            AllocationExceedsGeneration { .. }
            | AttributeAlreadyIssued { .. }
            | TradeCertificatesUnavailable { .. }
            | NoConsumption { .. }
            | ClaimExceedsConsumption { .. } => Some(8),
            HourlyMismatch { .. } => Some(9),
            UnknownSigner { .. }
            | MissingRole { .. }
            | NonceReused { .. }
            | CommandExpired { .. }
            | WindowTooLong { .. } => Some(10),
            _ => None,
        }
    }

    /// The refusal's stable name: its variant in kebab case (`NotOwner` is `not-owner`).
    pub fn name(&self) -> String {
        let debug = format!("{self:?}");
        let variant = debug.split(|c: char| !c.is_ascii_alphanumeric()).next().unwrap_or_default();
        let mut out = String::with_capacity(variant.len() + 4);
        for (i, c) in variant.chars().enumerate() {
            if c.is_ascii_uppercase() {
                if i > 0 {
                    out.push('-');
                }
                out.push(c.to_ascii_lowercase());
            } else {
                out.push(c);
            }
        }
        out
    }

    pub fn kind(&self) -> RefusalKind {
        use Refusal::*;
        match self {
            NoGenesis
            | GenesisTwice
            | ReadingOverlap { .. }
            | ExceedsCapacity { .. }
            | AlreadyIssued { .. }
            | Excluded { .. }
            | AllocationExceedsGeneration { .. }
            | AttributeAlreadyIssued { .. }
            | TradeCertificatesUnavailable { .. }
            | NotActive { .. }
            | Expired { .. }
            | NotTransferable { .. }
            | TransferLimit { .. }
            | NoConsumption { .. }
            | ClaimExceedsConsumption { .. }
            | HourlyMismatch { .. }
            | CannotWithdraw { .. }
            | BeforeCommissioning { .. }
            | Decommissioned { .. }
            | ReadingsAfterDecommissioning { .. }
            | DeviceChange(_)
            | CorrectionNeedsRegulator { .. }
            | NothingToCorrect { .. }
            | CorrectionBelowAllocated { .. }
            | ChargeAlreadyNetted { .. }
            | Issuance(_)
            | OwnerIssuanceOff
            | SettlementExceedsGeneration { .. }
            | DeliveryNotMetered { .. }
            | NotFrozen { .. }
            | ClaimAcrossPeriods { .. }
            | VintageOutOfRange { .. }
            | ConsumptionNotCovered { .. }
            | ReadingAcrossPeriods { .. }
            | Membership { .. }
            | CommandExpired { .. } => RefusalKind::FailedPrecondition,
            ParkExists(_) => RefusalKind::AlreadyExists,
            UnknownPark(_) => RefusalKind::NotFound,
            BadApproval { .. } => RefusalKind::PermissionDenied,
            BadPolicy(_)
            | EntryTooLarge { .. }
            | BadAccountKey { .. }
            | BadRoles(_)
            | BadDeviceId(_)
            | ZeroCapacity(_)
            | BadText { .. }
            | BadInterval { .. }
            | IntervalTooLong { .. }
            | FutureInterval { .. }
            | ZeroEnergy
            | Overflow(_)
            | NotWholeUnits { .. }
            | SamePartyTwice { .. }
            | SerialsOutsideBundle { .. }
            | ReadingTooLong { .. }
            | NotHourly { .. }
            | WrongChannel { .. }
            | BadAmendment(_)
            | Superseded { .. }
            | WindowTooLong { .. } => RefusalKind::Invalid,
            UnknownSigner { .. } => RefusalKind::Unauthenticated,
            MissingRole { .. } | NotOwner { .. } | NotDeviceOwner { .. } | AccountLacksRole { .. } => {
                RefusalKind::PermissionDenied
            }
            NonceReused { .. } | Duplicate { .. } | AccountExists { .. } | DeviceExists(_) => {
                RefusalKind::AlreadyExists
            }
            UnknownAccount { .. } | UnknownDevice(_) | UnknownReading { .. } | UnknownBundle(_) | UnknownClaim(_) => {
                RefusalKind::NotFound
            }
        }
    }
}

/// Why `decide` produced no decision: a refusal (the command is wrong) or a storage fault
/// (the ledger could not read its state; the batch must be abandoned).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error(transparent)]
    Fault(#[from] StoreFault),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_rules_are_stable() {
        let r = Refusal::NotOwner { bundle: BundleId(2), owner: "a".into(), signer: "b".into() };
        assert_eq!((r.name().as_str(), r.rule()), ("not-owner", Some(4)));
        assert_eq!(Refusal::ZeroEnergy.name(), "zero-energy");
        assert_eq!(Refusal::ZeroEnergy.rule(), None);
        let frozen = Refusal::NotActive { bundle: BundleId(1), state: "frozen", rule: 3, what: "" };
        assert_eq!((frozen.name().as_str(), frozen.rule()), ("not-active", Some(3)));
        assert_eq!(Refusal::UnknownDevice(DeviceId("X".into())).name(), "unknown-device");
        let expired = Refusal::CommandExpired { expires: Timestamp(0), now: Timestamp(1) };
        assert_eq!(
            (expired.name().as_str(), expired.rule(), expired.kind()),
            ("command-expired", Some(10), RefusalKind::FailedPrecondition)
        );
        let long = Refusal::WindowTooLong { expires: Timestamp(86_401), now: Timestamp(0), max_hours: 24 };
        assert_eq!(
            (long.name().as_str(), long.rule(), long.kind()),
            ("window-too-long", Some(10), RefusalKind::Invalid)
        );
        // Every message that names a rule names the same rule as `rule()`.
        let cases = [
            Refusal::Expired { bundle: BundleId(1), expired: Timestamp(0) },
            Refusal::HourlyMismatch { production: Interval::new(0, 1), consumption: Interval::new(1, 2) },
            Refusal::UnknownSigner { signer: "x".into() },
            Refusal::TransferLimit { bundle: BundleId(1), transfers: 1, limit: 1 },
            Refusal::CommandExpired { expires: Timestamp(0), now: Timestamp(1) },
            Refusal::WindowTooLong { expires: Timestamp(86_401), now: Timestamp(0), max_hours: 24 },
        ];
        for r in cases {
            let n = r.rule().expect("numbered");
            assert!(r.to_string().starts_with(&format!("rule {n} (")), "{r}");
        }
    }
}

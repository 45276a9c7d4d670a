//! `decide(state, command, context) -> Decision | Rejection`: the checks every command goes
//! through (genesis first, no replay, a registered signer with the kind's role), then the kind's
//! own rules, which live with the kind in `command/<kind>.rs`. This module also holds the helpers
//! those rules share ([`Rules`]). Pure: no I/O, time comes in the context.

use crate::bundle::split_off;
use crate::command::{Command, CommandBody, MAX_TEXT};
use crate::crypto::Authenticated;
use crate::policy::Policy;
use crate::refusal::{Refusal, Rejection};
use crate::state::*;
use crate::types::*;
use serde::{Deserialize, Serialize};

/// Longest interval a single reading may cover (a leap year).
pub const MAX_READING_DAYS: u64 = 366;

/// Longest validity window of a command, in seconds (24 hours): a windowed command is refused
/// when its window ends more than this after the ledger's time. It bounds how long the ledger
/// remembers a windowed command's nonce.
pub const MAX_VALIDITY: u64 = 24 * 3600;

/// What the sequencer knows when it decides: the entry's index and its clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Context {
    pub index: LeafIndex,
    pub now: Timestamp,
}

/// The decision on an accepted command: the state records to write (`effects`), what it made in
/// a form a client can act on (`changes`: ids and serial ranges), and a summary in words.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Decision {
    pub effects: Vec<Effect>,
    pub changes: Vec<Change>,
    pub summary: Vec<String>,
}

impl Decision {
    pub(crate) fn say(&mut self, line: String) {
        self.summary.push(line);
    }

    pub(crate) fn made(&mut self, change: Change) {
        self.changes.push(change);
    }
}

/// What an accepted command changed, as receipts carry it: the ids and serial ranges a client
/// needs for its next command, so nobody has to read them out of sentences.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Change {
    /// The ledger was founded.
    Genesis { ledger: String },
    /// An account was registered.
    Account { account: AccountId },
    /// A device was registered.
    Device { device: DeviceId },
    /// A generation reading was recorded.
    Generation { device: DeviceId, interval: Interval, energy: Wh },
    /// A device reading on a channel other than export was recorded.
    Metered { device: DeviceId, channel: Channel, interval: Interval, energy: Wh },
    /// A reading was corrected.
    Corrected {
        device: DeviceId,
        channel: Channel,
        interval: Interval,
        old: Wh,
        new: Wh,
        clawed_back: Wh,
        deficit: Wh,
        claims: Vec<ClaimId>,
    },
    /// The policy was amended from `effective` on.
    Amended { effective: Timestamp },
    /// Frozen certificates were unfrozen or cancelled.
    Resolved { bundle: BundleId, serials: SerialRange, cancelled: bool },
    /// A settlement over a period was recorded.
    Settled { device: DeviceId, period: Interval, buyer: AccountId, energy: Wh, origin: Origin, price: Price },
    /// A consumption reading was recorded.
    Consumption { account: AccountId, interval: Interval, energy: Wh },
    /// Energy of a reading was allocated to a consumer before issuance (direct supply or trade).
    Allocation { device: DeviceId, interval: Interval, to: AccountId, energy: Wh, origin: Origin },
    /// A bundle of certificates came into being for `owner`: by issuance, by a transfer or trade
    /// (cut from `from`), or as the retired or withdrawn piece of a split.
    Bundle { bundle: BundleId, owner: AccountId, serials: SerialRange, origin: Origin, from: Option<BundleId> },
    /// A claim was recorded: the certificates of `bundle` are retired.
    Claim { claim: ClaimId, bundle: BundleId, serials: SerialRange, energy: Wh },
    /// Certificates were withdrawn by the regulator.
    Withdrawn { bundle: BundleId, serials: SerialRange },
    /// Certificates were frozen by an exclusion.
    Frozen { bundle: BundleId, serials: SerialRange },
    /// Energy below one certificate was carried over to the device's next issuance.
    Carry { device: DeviceId, energy: Wh },
    /// A device's output in an interval was declared used in another scheme.
    Exclusion { device: DeviceId, interval: Interval, scheme: String },
}

pub(crate) type Outcome = Result<Decision, Rejection>;

pub(crate) fn refuse<T>(r: Refusal) -> Result<T, Rejection> {
    Err(Rejection::Refused(r))
}

/// Decides an authenticated command against the state. An accepted command's decision ends with
/// [`Effect::ForgetNonces`] before its time: the windowed nonces whose window has passed are
/// forgotten as the log goes on.
pub fn decide<V: StateView>(view: &V, cmd: &Authenticated, ctx: Context) -> Outcome {
    check_window(cmd.body().expires, ctx.now)?;
    let mut decision = decide_windowed(view, cmd, ctx)?;
    decision.effects.push(Effect::ForgetNonces { before: ctx.now });
    Ok(decision)
}

/// Rule 10 (no replay) for a windowed command: its window has not ended (`now <= expires`) and
/// ends at most [`MAX_VALIDITY`] after `now`.
fn check_window(expires: Option<Timestamp>, now: Timestamp) -> Result<(), Rejection> {
    match expires {
        Some(expires) if expires < now => refuse(Refusal::CommandExpired { expires, now }),
        Some(expires) if expires.0 > now.0.saturating_add(MAX_VALIDITY) => {
            refuse(Refusal::WindowTooLong { expires, now, max_hours: MAX_VALIDITY / 3600 })
        }
        _ => Ok(()),
    }
}

/// The record of `body`'s nonce, if it was used: by its window, signer and nonce for a windowed
/// command, by signer and nonce for one without a window.
fn used_nonce<V: StateView>(view: &V, body: &CommandBody) -> Read<NonceRecord> {
    match body.expires {
        Some(expires) => view.windowed_nonce(expires, &body.signer, body.nonce),
        None => view.nonce(&body.signer, body.nonce),
    }
}

/// The effect that records `body`'s nonce as used by the entry `record` names.
pub(crate) fn nonce_effect(body: &CommandBody, record: NonceRecord) -> Effect {
    match body.expires {
        Some(expires) => Effect::WindowedNonce { expires, signer: body.signer, nonce: body.nonce, record },
        None => Effect::Nonce { signer: body.signer, nonce: body.nonce, record },
    }
}

/// [`decide`] once the command's window (if any) is open.
fn decide_windowed<V: StateView>(view: &V, cmd: &Authenticated, ctx: Context) -> Outcome {
    let body = cmd.body();
    let Some(meta) = view.meta()? else {
        return match &body.command {
            Command::Genesis(genesis) => genesis.found(cmd, ctx),
            Command::GenesisV1(genesis) => genesis.found(cmd, ctx),
            _ => refuse(Refusal::NoGenesis),
        };
    };
    if let Command::Genesis(_) | Command::GenesisV1(_) = body.command {
        return refuse(Refusal::GenesisTwice);
    }
    if let Some(used) = used_nonce(view, body)? {
        return refuse(if used.command_hash == cmd.hash() {
            Refusal::Duplicate { entry: used.entry }
        } else {
            Refusal::NonceReused { signer: body.signer.short(), nonce: body.nonce, entry: used.entry }
        });
    }
    let Some(signer) = view.account(&body.signer)? else {
        return refuse(Refusal::UnknownSigner { signer: body.signer.short() });
    };
    let policy = meta.policy_at(ctx.now).clone();
    let mut rules = Rules { view, meta, policy, signer, ctx, command: body.command.kind() };
    if let Some(role) = body.command.role() {
        rules.require_role(role)?;
    }
    let mut decision = body.command.decide(&mut rules)?;
    decision.effects.push(nonce_effect(body, NonceRecord { entry: ctx.index, command_hash: cmd.hash() }));
    Ok(decision)
}

/// Free text: at most [`MAX_TEXT`] bytes, no control characters, optionally non-empty.
pub fn check_text(field: &'static str, value: &str, may_be_empty: bool) -> Result<(), Rejection> {
    let bad = |reason: String| refuse(Refusal::BadText { field, reason });
    if !may_be_empty && value.trim().is_empty() {
        return bad("must not be empty".into());
    }
    if value.len() > MAX_TEXT {
        return bad(format!("is {} bytes long, at most {MAX_TEXT} are allowed", value.len()));
    }
    if let Some(c) = value.chars().find(|c| c.is_control()) {
        return bad(format!("contains the control character U+{:04X}", c as u32));
    }
    // Bidirectional formatting characters can make a beneficiary read differently from what was
    // signed (a "Trojan Source" string); no legitimate name needs them.
    if let Some(c) = value.chars().find(|c| matches!(*c as u32, 0x200E | 0x200F | 0x202A..=0x202E | 0x2066..=0x2069)) {
        return bad(format!("contains the bidirectional formatting character U+{:04X}", c as u32));
    }
    Ok(())
}

/// What a kind's rules see: the state, the ledger's meta record (policy and counters, updated as
/// the rules hand out ids), the signer's account and the context. Its methods are the checks
/// that several kinds share.
pub struct Rules<'a, V> {
    pub(crate) view: &'a V,
    pub(crate) meta: Meta,
    /// The policy in force at the entry's time ([`Meta::policy_at`]).
    pub(crate) policy: Policy,
    pub(crate) signer: Account,
    pub(crate) ctx: Context,
    pub(crate) command: &'static str,
}

impl<V: StateView> Rules<'_, V> {
    pub(crate) fn policy(&self) -> &Policy {
        &self.policy
    }

    pub(crate) fn require_role(&self, role: Role) -> Result<(), Rejection> {
        if self.signer.roles.has(role) {
            Ok(())
        } else {
            refuse(Refusal::MissingRole { signer: self.signer.id.short(), role, command: self.command })
        }
    }

    pub(crate) fn account_with_role(
        &self,
        id: &AccountId,
        role: Role,
        needed_for: &'static str,
    ) -> Result<Account, Rejection> {
        let Some(acct) = self.view.account(id)? else {
            return refuse(Refusal::UnknownAccount { account: id.short() });
        };
        if !acct.roles.has(role) {
            return refuse(Refusal::AccountLacksRole { account: id.short(), role, needed_for });
        }
        Ok(acct)
    }

    pub(crate) fn device(&self, id: &DeviceId) -> Result<Device, Rejection> {
        match self.view.device(id)? {
            Some(d) => Ok(d),
            None => refuse(Refusal::UnknownDevice(id.clone())),
        }
    }

    pub(crate) fn bundle(&self, id: BundleId) -> Result<Bundle, Rejection> {
        match self.view.bundle(id)? {
            Some(b) => Ok(b),
            None => refuse(Refusal::UnknownBundle(id)),
        }
    }

    /// A past interval of sensible length (readings and claims).
    pub(crate) fn check_past_interval(&self, interval: Interval) -> Result<(), Rejection> {
        if !interval.is_valid() {
            return refuse(Refusal::BadInterval { interval });
        }
        if interval.seconds() > MAX_READING_DAYS * 86_400 {
            return refuse(Refusal::IntervalTooLong { interval, max_days: MAX_READING_DAYS });
        }
        if interval.end.0 > self.ctx.now.0.saturating_add(self.policy().clock_skew_s) {
            return refuse(Refusal::FutureInterval { interval, now: self.ctx.now });
        }
        Ok(())
    }

    /// A meter reading's interval: past, of sensible length, and under an hourly policy at
    /// most one hour long and aligned to the hour in the policy's zone.
    pub(crate) fn check_reading_interval(&self, interval: Interval) -> Result<(), Rejection> {
        self.check_past_interval(interval)?;
        let p = self.policy();
        if let Some(max) = p.max_reading_s {
            if interval.seconds() > max {
                return refuse(Refusal::ReadingTooLong { interval, seconds: interval.seconds(), max });
            }
        }
        if p.hourly_matching {
            let local = |t: Timestamp| (t.0 as i64 + p.zone.offset_s as i64).rem_euclid(3600);
            if interval.seconds() > 3600 || local(interval.start) != 0 && local(interval.end) != 0 {
                return refuse(Refusal::NotHourly { interval, zone: p.zone.name.clone() });
            }
            let hour_start = interval.start.0 - local(interval.start) as u64;
            if interval.end.0 > hour_start + 3600 {
                return refuse(Refusal::NotHourly { interval, zone: p.zone.name.clone() });
            }
        }
        Ok(())
    }

    /// Rule 1 (one reading per interval): no reading of the device and channel overlaps
    /// `interval`. One ordered-key lookup: readings of a channel never overlap, so only the one
    /// with the latest start before `interval.end` can.
    pub(crate) fn no_overlap(&self, device: &DeviceId, channel: Channel, interval: Interval) -> Result<(), Rejection> {
        if let Some(prev) = self.view.reading_before(device, channel, interval.end)? {
            if prev.interval.overlaps(&interval) {
                return refuse(Refusal::ReadingOverlap {
                    subject: format!("device {device} channel {channel}"),
                    interval,
                    existing: prev.interval,
                });
            }
        }
        Ok(())
    }

    /// The export reading of `device` for exactly `interval`.
    pub(crate) fn reading(&self, device: &DeviceId, interval: Interval) -> Result<Reading, Rejection> {
        self.reading_on(device, Channel::Export, interval)
    }

    /// The reading of `device` on `channel` for exactly `interval`.
    pub(crate) fn reading_on(
        &self,
        device: &DeviceId,
        channel: Channel,
        interval: Interval,
    ) -> Result<Reading, Rejection> {
        match self.view.reading(device, channel, interval.start)? {
            Some(r) if r.interval == interval => Ok(r),
            _ => refuse(Refusal::UnknownReading { device: device.clone(), channel, interval }),
        }
    }

    pub(crate) fn exclusion_overlapping(device: &Device, interval: Interval) -> Result<(), Rejection> {
        match device.exclusions.iter().find(|e| e.interval.overlaps(&interval)) {
            Some(e) => refuse(Refusal::Excluded {
                device: device.id.clone(),
                interval,
                scheme: e.scheme.clone(),
                entry: e.entry,
            }),
            None => Ok(()),
        }
    }

    /// Splits `serials` off `bundle` and records any new bundle ids on the bundle's reading.
    pub(crate) fn split(
        &mut self,
        bundle: &Bundle,
        serials: SerialRange,
        effects: &mut Vec<Effect>,
    ) -> Result<Bundle, Rejection> {
        let (piece, new_ids) = split_off(&mut self.meta, bundle, serials, self.ctx, effects)?;
        if !new_ids.is_empty() {
            let mut reading = self.bundle_reading(bundle)?;
            reading.bundles.extend(new_ids);
            effects.push(Effect::Reading(reading));
        }
        Ok(piece)
    }

    /// The reading whose certificates `bundle` holds.
    pub(crate) fn bundle_reading(&self, bundle: &Bundle) -> Result<Reading, Rejection> {
        self.reading_on(&bundle.device, bundle.channel, bundle.production)
    }

    /// Checks shared by transfer and retirement: ownership, range, state, expiry.
    pub(crate) fn usable_bundle(&self, id: BundleId, serials: SerialRange) -> Result<Bundle, Rejection> {
        let bundle = self.bundle(id)?;
        if bundle.owner != self.signer.id {
            return refuse(Refusal::NotOwner {
                bundle: id,
                owner: bundle.owner.short(),
                signer: self.signer.id.short(),
            });
        }
        if !bundle.serials.contains(&serials) {
            return refuse(Refusal::SerialsOutsideBundle { bundle: id, serials, held: bundle.serials });
        }
        if let Some((rule, what)) = bundle.state.unusable() {
            return refuse(Refusal::NotActive { bundle: id, state: bundle.state.name(), rule, what });
        }
        if bundle.is_expired(self.ctx.now) {
            return refuse(Refusal::Expired { bundle: id, expired: bundle.expires });
        }
        Ok(bundle)
    }
}

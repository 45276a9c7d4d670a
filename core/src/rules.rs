//! `decide(state, command, context) -> Decision | Rejection`: every rule that keeps a
//! megawatt-hour from being counted twice lives here. Pure: no I/O, time comes in the context.

use super::bundle::{split_off, take_from_generator};
use super::calendar::add_months;
use super::command::{Command, MAX_TEXT};
use super::policy::Policy;
use super::refusal::{Refusal, Rejection};
use super::state::*;
use super::types::*;
use crate::command as cmd;
use crate::crypto::{self, Authenticated};

/// Longest interval a single reading may cover (a leap year).
pub const MAX_READING_DAYS: u64 = 366;

/// What the sequencer knows when it decides: the entry's index and its clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Context {
    pub index: LeafIndex,
    pub now: Timestamp,
}

/// The effects of an accepted command and a summary in words for the receipt.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Decision {
    pub effects: Vec<Effect>,
    pub summary: Vec<String>,
}

impl Decision {
    fn say(&mut self, line: String) {
        self.summary.push(line);
    }
}

type Outcome = Result<Decision, Rejection>;

fn refuse<T>(r: Refusal) -> Result<T, Rejection> {
    Err(Rejection::Refused(r))
}

/// Decides an authenticated command against the state.
pub fn decide<V: StateView>(view: &V, cmd: &Authenticated, ctx: Context) -> Outcome {
    let body = cmd.body();
    let meta = view.meta()?;
    let Some(meta) = meta else {
        return match &body.command {
            Command::Genesis(cmd::Genesis { policy, operator_name }) => genesis(cmd, policy, operator_name, ctx),
            _ => refuse(Refusal::NoGenesis),
        };
    };
    if let Command::Genesis(cmd::Genesis { .. }) = body.command {
        return refuse(Refusal::GenesisTwice);
    }
    if let Some(used) = view.nonce(&body.signer, body.nonce)? {
        return refuse(if used.command_hash == cmd.hash() {
            Refusal::Duplicate { entry: used.entry }
        } else {
            Refusal::NonceReused { signer: body.signer.short(), nonce: body.nonce, entry: used.entry }
        });
    }
    let Some(signer) = view.account(&body.signer)? else {
        return refuse(Refusal::UnknownSigner { signer: body.signer.short() });
    };
    let mut r = Rules { view, meta, signer, ctx, command: body.command.kind() };
    let mut decision = match &body.command {
        Command::Genesis(cmd::Genesis { .. }) => unreachable!("handled above"),
        Command::RegisterAccount(cmd::RegisterAccount { account, name, roles }) => {
            r.register_account(account, name, *roles)
        }
        Command::RegisterDevice(cmd::RegisterDevice {
            device,
            owner,
            technology,
            capacity_w,
            region,
            commissioned,
        }) => r.register_device(device, owner, *technology, *capacity_w, region, *commissioned),
        Command::PostGeneration(cmd::PostGeneration { device, interval, energy }) => {
            r.post_generation(device, *interval, *energy)
        }
        Command::PostConsumption(cmd::PostConsumption { account, interval, energy }) => {
            r.post_consumption(account, *interval, *energy)
        }
        Command::PostDirectSupply(cmd::PostDirectSupply { device, consumer, interval, energy }) => {
            r.allocate(device, consumer, *interval, *energy, false)
        }
        Command::SettleTrade(cmd::SettleTrade { device, interval, buyer, energy }) => {
            r.allocate(device, buyer, *interval, *energy, true)
        }
        Command::Issue(cmd::Issue { device, interval }) => r.issue(device, *interval),
        Command::Transfer(cmd::Transfer { bundle, serials, to }) => r.transfer(*bundle, *serials, to),
        Command::Retire(cmd::Retire { bundle, serials, beneficiary, purpose, consumption }) => {
            r.retire(*bundle, *serials, beneficiary, purpose, *consumption)
        }
        Command::Withdraw(cmd::Withdraw { bundle, serials, reason }) => r.withdraw(*bundle, *serials, reason),
        Command::DeclareExclusion(cmd::DeclareExclusion { device, interval, scheme }) => {
            r.exclude(device, *interval, scheme)
        }
    }?;
    decision.effects.push(Effect::Nonce {
        signer: body.signer,
        nonce: body.nonce,
        record: NonceRecord { entry: ctx.index, command_hash: cmd.hash() },
    });
    Ok(decision)
}

fn genesis(cmd: &Authenticated, policy: &Policy, operator_name: &str, ctx: Context) -> Outcome {
    if !policy.name_is_valid() {
        return refuse(Refusal::BadPolicy(format!(
            "ledger name {:?} must be 1 to 128 printable ASCII characters without spaces or '+'",
            policy.name
        )));
    }
    if policy.unit_wh == 0 {
        return refuse(Refusal::BadPolicy("certificate unit must be at least 1 Wh".into()));
    }
    if policy.validity_months == 0 {
        return refuse(Refusal::BadPolicy("validity must be at least 1 month".into()));
    }
    check_text("operator name", operator_name, false)?;
    let operator = cmd.body().signer;
    let mut d = Decision::default();
    d.effects.push(Effect::Meta(Meta {
        policy: policy.clone(),
        operator,
        next_serial: 1,
        next_bundle: 1,
        next_claim: 1,
    }));
    d.effects.push(Effect::Account(Account {
        id: operator,
        name: operator_name.to_string(),
        roles: Roles::of(&[Role::Operator]),
        registered: ctx.index,
        consumed: Wh::ZERO,
        claimed: Wh::ZERO,
        metered: None,
    }));
    d.effects.push(Effect::Nonce {
        signer: operator,
        nonce: cmd.body().nonce,
        record: NonceRecord { entry: ctx.index, command_hash: cmd.hash() },
    });
    d.say(format!(
        "genesis of ledger {} ({} Wh per certificate, valid {} months, transfers {}, hourly matching {})",
        policy.name,
        policy.unit_wh,
        policy.validity_months,
        policy.max_transfers.map_or("unlimited".to_string(), |n| format!("at most {n}")),
        if policy.hourly_matching { "on" } else { "off" }
    ));
    d.say(format!("operator {operator_name} is {}", operator.short()));
    Ok(d)
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

struct Rules<'a, V> {
    view: &'a V,
    meta: Meta,
    signer: Account,
    ctx: Context,
    command: &'static str,
}

impl<V: StateView> Rules<'_, V> {
    fn policy(&self) -> &Policy {
        &self.meta.policy
    }

    fn require_role(&self, role: Role) -> Result<(), Rejection> {
        if self.signer.roles.has(role) {
            Ok(())
        } else {
            refuse(Refusal::MissingRole { signer: self.signer.id.short(), role, command: self.command })
        }
    }

    fn account_with_role(&self, id: &AccountId, role: Role, needed_for: &'static str) -> Result<Account, Rejection> {
        let Some(acct) = self.view.account(id)? else {
            return refuse(Refusal::UnknownAccount { account: id.short() });
        };
        if !acct.roles.has(role) {
            return refuse(Refusal::AccountLacksRole { account: id.short(), role, needed_for });
        }
        Ok(acct)
    }

    fn device(&self, id: &DeviceId) -> Result<Device, Rejection> {
        match self.view.device(id)? {
            Some(d) => Ok(d),
            None => refuse(Refusal::UnknownDevice(id.clone())),
        }
    }

    fn bundle(&self, id: BundleId) -> Result<Bundle, Rejection> {
        match self.view.bundle(id)? {
            Some(b) => Ok(b),
            None => refuse(Refusal::UnknownBundle(id)),
        }
    }

    /// A past interval of sensible length (readings and claims).
    fn check_past_interval(&self, interval: Interval) -> Result<(), Rejection> {
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

    /// The generation reading of `device` for exactly `interval`.
    fn reading(&self, device: &DeviceId, interval: Interval) -> Result<Reading, Rejection> {
        match self.view.reading(device, interval.start)? {
            Some(r) if r.interval == interval => Ok(r),
            _ => refuse(Refusal::UnknownReading { device: device.clone(), interval }),
        }
    }

    fn exclusion_overlapping(device: &Device, interval: Interval) -> Result<(), Rejection> {
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

    fn register_account(&mut self, account: &AccountId, name: &str, roles: Roles) -> Outcome {
        self.require_role(Role::Operator)?;
        check_text("account name", name, false)?;
        if roles.0 == 0 || !roles.is_valid() {
            return refuse(Refusal::BadRoles(roles.0));
        }
        if !crypto::is_valid_account_key(account) {
            return refuse(Refusal::BadAccountKey { account: account.short() });
        }
        if self.view.account(account)?.is_some() {
            return refuse(Refusal::AccountExists { account: account.short() });
        }
        let mut d = Decision::default();
        d.effects.push(Effect::Account(Account {
            id: *account,
            name: name.to_string(),
            roles,
            registered: self.ctx.index,
            consumed: Wh::ZERO,
            claimed: Wh::ZERO,
            metered: None,
        }));
        d.say(format!("registered account {name} ({}) with roles {roles}", account.short()));
        Ok(d)
    }

    fn register_device(
        &mut self,
        device: &DeviceId,
        owner: &AccountId,
        technology: Technology,
        capacity_w: u64,
        region: &str,
        commissioned: Timestamp,
    ) -> Outcome {
        self.require_role(Role::Operator)?;
        if !device.is_well_formed() {
            return refuse(Refusal::BadDeviceId(device.0.clone()));
        }
        if capacity_w == 0 {
            return refuse(Refusal::ZeroCapacity(capacity_w));
        }
        check_text("region", region, false)?;
        if self.view.device(device)?.is_some() {
            return refuse(Refusal::DeviceExists(device.clone()));
        }
        self.account_with_role(owner, Role::Generator, "own a device")?;
        let mut d = Decision::default();
        d.effects.push(Effect::Device(Device {
            id: device.clone(),
            owner: *owner,
            technology,
            capacity_w,
            region: region.to_string(),
            commissioned,
            registered: self.ctx.index,
            carry: Wh::ZERO,
            direct_carry: Vec::new(),
            readings_until: None,
            exclusions: Vec::new(),
        }));
        d.say(format!(
            "registered {technology} device {device} of {capacity_w} W in {region}, owner {}",
            owner.short()
        ));
        Ok(d)
    }

    fn post_generation(&mut self, device_id: &DeviceId, interval: Interval, energy: Wh) -> Outcome {
        self.require_role(Role::MeterOperator)?;
        let mut device = self.device(device_id)?;
        self.check_past_interval(interval)?;
        if interval.start < device.commissioned {
            return refuse(Refusal::BeforeCommissioning {
                device: device.id.clone(),
                interval,
                commissioned: device.commissioned,
            });
        }
        if let Some(until) = device.readings_until {
            if interval.start < until {
                return refuse(Refusal::ReadingOverlap { subject: format!("device {device_id}"), interval, until });
            }
        }
        // Rule 2: energy <= capacity x duration, computed in u128 so nothing overflows.
        let max = (device.capacity_w as u128) * (interval.seconds() as u128) / 3600;
        if (energy.0 as u128) > max {
            return refuse(Refusal::ExceedsCapacity {
                device: device.id.clone(),
                interval,
                energy,
                capacity_w: device.capacity_w,
                max: Wh(max.min(u64::MAX as u128) as u64),
            });
        }
        device.readings_until = Some(interval.end);
        let mut d = Decision::default();
        d.effects.push(Effect::Reading(Reading {
            device: device.id.clone(),
            interval,
            energy,
            entry: self.ctx.index,
            direct: Vec::new(),
            trades: Vec::new(),
            issuance: None,
            bundles: Vec::new(),
        }));
        d.effects.push(Effect::Device(device));
        d.say(format!("generation of {device_id} in {interval}: {energy}"));
        Ok(d)
    }

    fn post_consumption(&mut self, account_id: &AccountId, interval: Interval, energy: Wh) -> Outcome {
        self.require_role(Role::MeterOperator)?;
        let mut account = self.account_with_role(account_id, Role::Consumer, "have consumption metered")?;
        self.check_past_interval(interval)?;
        if let Some(metered) = account.metered {
            if interval.start < metered.end {
                return refuse(Refusal::ReadingOverlap {
                    subject: format!("account {}", account_id.short()),
                    interval,
                    until: metered.end,
                });
            }
        }
        account.consumed = account.consumed.checked_add(energy).ok_or(Refusal::Overflow("total consumption"))?;
        account.metered =
            Some(Interval { start: account.metered.map_or(interval.start, |m| m.start), end: interval.end });
        let mut d = Decision::default();
        d.effects.push(Effect::Consumption(Consumption {
            account: *account_id,
            interval,
            energy,
            entry: self.ctx.index,
            claimed: Wh::ZERO,
        }));
        d.say(format!("consumption of {} ({}) in {interval}: {energy}", account.name, account_id.short()));
        d.effects.push(Effect::Account(account));
        Ok(d)
    }

    /// Direct supply (`trade == false`) or green-power trade settlement (`trade == true`).
    fn allocate(
        &mut self,
        device_id: &DeviceId,
        to: &AccountId,
        interval: Interval,
        energy: Wh,
        trade: bool,
    ) -> Outcome {
        self.require_role(if trade { Role::TradingPlatform } else { Role::MeterOperator })?;
        let device = self.device(device_id)?;
        let needed_for = if trade { "buy green power" } else { "receive direct supply" };
        let recipient = self.account_with_role(to, Role::Consumer, needed_for)?;
        if *to == device.owner {
            return refuse(Refusal::SamePartyTwice { account: to.short(), action: "trade its own output" });
        }
        if energy == Wh::ZERO {
            return refuse(Refusal::ZeroEnergy);
        }
        let unit = self.policy().unit_wh;
        if trade && !energy.0.is_multiple_of(unit) {
            return refuse(Refusal::NotWholeUnits { energy, unit_wh: unit });
        }
        let mut reading = self.reading(device_id, interval)?;
        Self::exclusion_overlapping(&device, interval)?;
        let what = if trade { "green-power trade" } else { "direct supply" };
        let mut d = Decision::default();
        if let Some(issuance) = &reading.issuance {
            if !trade {
                return refuse(Refusal::AttributeAlreadyIssued {
                    device: device_id.clone(),
                    interval,
                    entry: issuance.entry,
                });
            }
            // Certificates exist: they move from the generator to the buyer with the power.
            let units = energy.0 / unit;
            let moved = take_from_generator(self.view, &mut self.meta, &mut reading, &device, units, to, self.ctx)?;
            d.effects.extend(moved.effects);
            d.effects.push(Effect::Meta(self.meta.clone()));
            d.say(format!(
                "{what}: {units} certificates of {device_id} in {interval} moved from the generator to {} ({}): {}",
                recipient.name,
                to.short(),
                moved.ranges.iter().map(|r| format!("{} {}", r.0, r.1)).collect::<Vec<_>>().join(", ")
            ));
        } else {
            let asked =
                reading.allocated().and_then(|a| a.checked_add(energy)).ok_or(Refusal::Overflow("allocated energy"))?;
            if asked > reading.energy {
                return refuse(Refusal::AllocationExceedsGeneration {
                    device: device_id.clone(),
                    interval,
                    asked,
                    generated: reading.energy,
                });
            }
            let alloc = Allocation { to: *to, energy, entry: self.ctx.index };
            if trade {
                reading.trades.push(alloc);
            } else {
                reading.direct.push(alloc);
            }
            d.say(format!(
                "{what} of {energy} from {device_id} in {interval} to {} ({}); its certificates will be issued to them",
                recipient.name,
                to.short()
            ));
        }
        d.effects.push(Effect::Reading(reading));
        Ok(d)
    }

    fn issue(&mut self, device_id: &DeviceId, interval: Interval) -> Outcome {
        let mut device = self.device(device_id)?;
        if device.owner != self.signer.id {
            return refuse(Refusal::NotDeviceOwner {
                device: device_id.clone(),
                owner: device.owner.short(),
                signer: self.signer.id.short(),
            });
        }
        let mut reading = self.reading(device_id, interval)?;
        if let Some(i) = &reading.issuance {
            return refuse(Refusal::AlreadyIssued { device: device_id.clone(), interval, entry: i.entry });
        }
        Self::exclusion_overlapping(&device, interval)?;
        let unit = self.policy().unit_wh;
        let expires = Timestamp(add_months(interval.end.0, self.policy().validity_months));
        let first_serial = self.meta.next_serial;
        let mut d = Decision::default();
        let mut grants: Vec<(AccountId, u64, Origin)> = Vec::new();
        for a in &reading.direct {
            let carried = device.direct_carry.iter().find(|c| c.0 == a.to).map_or(Wh::ZERO, |c| c.1);
            let total = a.energy.checked_add(carried).ok_or(Refusal::Overflow("direct supply carry"))?;
            device.direct_carry.retain(|c| c.0 != a.to);
            if !total.0.is_multiple_of(unit) {
                device.direct_carry.push((a.to, Wh(total.0 % unit)));
            }
            grants.push((a.to, total.0 / unit, Origin::DirectSupply));
        }
        for a in &reading.trades {
            grants.push((a.to, a.energy.0 / unit, Origin::Trade));
        }
        let allocated = reading.allocated().ok_or(Refusal::Overflow("allocated energy"))?;
        let own = reading
            .energy
            .checked_sub(allocated)
            .and_then(|e| e.checked_add(device.carry))
            .ok_or(Refusal::Overflow("generator energy"))?;
        let carry_in = device.carry;
        device.carry = Wh(own.0 % unit);
        grants.push((device.owner, own.0 / unit, Origin::Issued));
        for (owner, units, origin) in grants {
            if units == 0 {
                continue;
            }
            let start = self.meta.next_serial;
            let end = start.checked_add(units).ok_or(Refusal::Overflow("serial numbers"))?;
            let id = BundleId(self.meta.next_bundle);
            self.meta.next_bundle += 1;
            self.meta.next_serial = end;
            let bundle = Bundle {
                id,
                device: device_id.clone(),
                production: interval,
                serials: SerialRange::new(start, end),
                owner,
                state: BundleState::Active,
                origin,
                transferable: origin == Origin::Issued,
                transfers: 0,
                expires,
                parent: None,
                history: vec![self.ctx.index],
            };
            d.say(format!(
                "issued {units} certificates {} as bundle {id} to {} ({}), valid until {expires}",
                bundle.serials,
                owner.short(),
                origin.name()
            ));
            reading.bundles.push(id);
            d.effects.push(Effect::Bundle(bundle));
        }
        if reading.bundles.is_empty() {
            d.say(format!("no whole certificate yet for {device_id} in {interval}; {} carried over", device.carry));
        }
        reading.issuance = Some(Issuance {
            entry: self.ctx.index,
            serials: SerialRange::new(first_serial, self.meta.next_serial),
            carry_in,
            carry_out: device.carry,
        });
        d.effects.push(Effect::Reading(reading));
        d.effects.push(Effect::Device(device));
        d.effects.push(Effect::Meta(self.meta.clone()));
        Ok(d)
    }

    /// Splits `serials` off `bundle` and records any new bundle ids on the bundle's reading.
    fn split(&mut self, bundle: &Bundle, serials: SerialRange, effects: &mut Vec<Effect>) -> Result<Bundle, Rejection> {
        let (piece, new_ids) = split_off(&mut self.meta, bundle, serials, self.ctx, effects)?;
        if !new_ids.is_empty() {
            let mut reading = self.reading(&bundle.device, bundle.production)?;
            reading.bundles.extend(new_ids);
            effects.push(Effect::Reading(reading));
        }
        Ok(piece)
    }

    /// Checks shared by transfer and retirement: ownership, range, state, expiry.
    fn usable_bundle(&self, id: BundleId, serials: SerialRange) -> Result<Bundle, Rejection> {
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
        let (rule, what) = match bundle.state {
            BundleState::Active => (0, ""),
            BundleState::Retired(_) => (5, "no use after retirement"),
            BundleState::Withdrawn => (6, "no use after withdrawal"),
            BundleState::Frozen => (3, "no double scheme: frozen by an exclusion"),
        };
        if rule != 0 {
            return refuse(Refusal::NotActive { bundle: id, state: bundle.state.name(), rule, what });
        }
        if bundle.is_expired(self.ctx.now) {
            return refuse(Refusal::Expired { bundle: id, expired: bundle.expires });
        }
        Ok(bundle)
    }

    fn transfer(&mut self, id: BundleId, serials: SerialRange, to: &AccountId) -> Outcome {
        let bundle = self.usable_bundle(id, serials)?;
        if !bundle.transferable {
            return refuse(Refusal::NotTransferable { bundle: id, origin: bundle.origin.name() });
        }
        if let Some(limit) = self.policy().max_transfers {
            if bundle.transfers >= limit {
                return refuse(Refusal::TransferLimit { bundle: id, transfers: bundle.transfers, limit });
            }
        }
        if *to == self.signer.id {
            return refuse(Refusal::SamePartyTwice { account: to.short(), action: "transfer certificates" });
        }
        let recipient = match self.view.account(to)? {
            Some(a) => a,
            None => return refuse(Refusal::UnknownAccount { account: to.short() }),
        };
        let mut d = Decision::default();
        let mut moved = self.split(&bundle, serials, &mut d.effects)?;
        moved.owner = *to;
        moved.transfers += 1;
        d.say(format!(
            "transferred {} certificates {} of bundle {id} to {} ({}) as bundle {}",
            serials.len(),
            serials,
            recipient.name,
            to.short(),
            moved.id
        ));
        d.effects.push(Effect::Bundle(moved));
        d.effects.push(Effect::Meta(self.meta.clone()));
        Ok(d)
    }

    fn retire(
        &mut self,
        id: BundleId,
        serials: SerialRange,
        beneficiary: &str,
        purpose: &str,
        consumption: Interval,
    ) -> Outcome {
        check_text("beneficiary", beneficiary, false)?;
        check_text("purpose", purpose, false)?;
        let bundle = self.usable_bundle(id, serials)?;
        if !self.signer.roles.has(Role::Consumer) {
            return refuse(Refusal::MissingRole {
                signer: self.signer.id.short(),
                role: Role::Consumer,
                command: "retire",
            });
        }
        self.check_past_interval(consumption)?;
        let energy =
            serials.len().checked_mul(self.policy().unit_wh).map(Wh).ok_or(Refusal::Overflow("claimed energy"))?;
        let mut account = self.signer.clone();
        let mut d = Decision::default();
        if self.policy().hourly_matching {
            if !consumption.contains(&bundle.production) {
                return refuse(Refusal::HourlyMismatch { production: bundle.production, consumption });
            }
            let mut rec = match self.view.consumption(&account.id, consumption.start)? {
                Some(c) if c.interval == consumption => c,
                _ => return refuse(Refusal::NoConsumption { account: account.id.short(), interval: consumption }),
            };
            let total = rec.claimed.checked_add(energy).ok_or(Refusal::Overflow("claimed energy"))?;
            if total > rec.energy {
                return refuse(Refusal::ClaimExceedsConsumption {
                    account: account.id.short(),
                    interval: consumption,
                    asked: energy,
                    total,
                    consumed: rec.energy,
                });
            }
            rec.claimed = total;
            d.effects.push(Effect::Consumption(rec));
        } else if !account.metered.is_some_and(|m| m.contains(&consumption)) {
            return refuse(Refusal::NoConsumption { account: account.id.short(), interval: consumption });
        }
        let total = account.claimed.checked_add(energy).ok_or(Refusal::Overflow("claimed energy"))?;
        if total > account.consumed {
            return refuse(Refusal::ClaimExceedsConsumption {
                account: account.id.short(),
                interval: consumption,
                asked: energy,
                total,
                consumed: account.consumed,
            });
        }
        account.claimed = total;
        let claim_id = ClaimId(self.meta.next_claim);
        self.meta.next_claim += 1;
        let mut retired = self.split(&bundle, serials, &mut d.effects)?;
        retired.state = BundleState::Retired(claim_id);
        d.effects.push(Effect::Claim(Claim {
            id: claim_id,
            claimant: account.id,
            bundle: retired.id,
            serials,
            energy,
            device: bundle.device.clone(),
            production: bundle.production,
            beneficiary: beneficiary.to_string(),
            purpose: purpose.to_string(),
            consumption,
            entry: self.ctx.index,
        }));
        d.say(format!(
            "claim {claim_id}: retired {} certificates {} ({energy}) of {} produced in {} for {beneficiary:?}, purpose {purpose:?}, consumption {consumption}",
            serials.len(),
            serials,
            bundle.device,
            bundle.production
        ));
        d.effects.push(Effect::Bundle(retired));
        d.effects.push(Effect::Account(account));
        d.effects.push(Effect::Meta(self.meta.clone()));
        Ok(d)
    }

    fn withdraw(&mut self, id: BundleId, serials: SerialRange, reason: &str) -> Outcome {
        self.require_role(Role::Regulator)?;
        check_text("reason", reason, false)?;
        let bundle = self.bundle(id)?;
        if !bundle.serials.contains(&serials) {
            return refuse(Refusal::SerialsOutsideBundle { bundle: id, serials, held: bundle.serials });
        }
        if matches!(bundle.state, BundleState::Retired(_) | BundleState::Withdrawn) {
            return refuse(Refusal::CannotWithdraw { bundle: id, state: bundle.state.name() });
        }
        let mut d = Decision::default();
        let mut gone = self.split(&bundle, serials, &mut d.effects)?;
        gone.state = BundleState::Withdrawn;
        d.say(format!(
            "withdrew {} certificates {} of bundle {id} as bundle {}: {reason}",
            serials.len(),
            serials,
            gone.id
        ));
        d.effects.push(Effect::Bundle(gone));
        d.effects.push(Effect::Meta(self.meta.clone()));
        Ok(d)
    }

    fn exclude(&mut self, device_id: &DeviceId, interval: Interval, scheme: &str) -> Outcome {
        self.require_role(Role::Regulator)?;
        check_text("scheme", scheme, false)?;
        if !interval.is_valid() {
            return refuse(Refusal::BadInterval { interval });
        }
        let mut device = self.device(device_id)?;
        device.exclusions.push(Exclusion { interval, scheme: scheme.to_string(), entry: self.ctx.index });
        let mut d = Decision::default();
        d.say(format!("output of {device_id} in {interval} is declared used in {scheme:?}; issuance blocked"));
        let mut frozen = 0u64;
        for reading in self.view.readings_overlapping(device_id, interval)? {
            for bid in &reading.bundles {
                let mut b = self.bundle(*bid)?;
                if b.state == BundleState::Active {
                    b.state = BundleState::Frozen;
                    b.history.push(self.ctx.index);
                    frozen += b.serials.len();
                    d.effects.push(Effect::Bundle(b));
                }
            }
        }
        if frozen > 0 {
            d.say(format!("froze {frozen} certificates not yet retired"));
        }
        d.effects.push(Effect::Device(device));
        Ok(d)
    }
}

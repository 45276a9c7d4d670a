//! Parse at the edge: protobuf messages to validated domain commands, and domain records back
//! to protobuf. Every conversion error names the field and the value.

use super::pb;
use greenledger_core::command as cmd;
use greenledger_core::command::{Beneficiary, Command, CommandBody, DeviceChange, ParkChange, Purpose, SignedCommand};
use greenledger_core::policy::{Class, ClassTable, Expiry, Extension, Policy, PolicyV1, Vintage, Zone};
use greenledger_core::rules::Change;
use greenledger_core::state::{self, BundleState, DeviceAttributes};
use greenledger_core::types::*;

/// A malformed field: which one and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed request: {field}: {reason}")]
pub struct BadField {
    pub field: &'static str,
    pub reason: String,
}

fn bad<T>(field: &'static str, reason: impl Into<String>) -> Result<T, BadField> {
    Err(BadField { field, reason: reason.into() })
}

pub fn account(field: &'static str, bytes: &[u8]) -> Result<AccountId, BadField> {
    match <[u8; 32]>::try_from(bytes) {
        Ok(a) => Ok(AccountId(a)),
        Err(_) => bad(field, format!("must be a 32-byte Ed25519 public key, got {} bytes", bytes.len())),
    }
}

fn interval(field: &'static str, i: &Option<pb::Interval>) -> Result<Interval, BadField> {
    match i {
        Some(i) => Ok(Interval::new(i.start, i.end)),
        None => bad(field, "is missing"),
    }
}

fn serials(field: &'static str, s: &Option<pb::SerialRange>) -> Result<SerialRange, BadField> {
    match s {
        Some(s) => Ok(SerialRange::new(s.start, s.end)),
        None => bad(field, "is missing"),
    }
}

fn device(field: &'static str, s: &str) -> Result<DeviceId, BadField> {
    let d = DeviceId(s.to_string());
    if d.is_well_formed() {
        Ok(d)
    } else {
        bad(field, format!("{s:?} must be 1 to 64 ASCII letters, digits, '-', '_' or '.'"))
    }
}

fn park(field: &'static str, s: &str) -> Result<ParkId, BadField> {
    let p = ParkId(s.to_string());
    if p.is_well_formed() {
        Ok(p)
    } else {
        bad(field, format!("{s:?} must be 1 to 64 ASCII letters, digits, '-', '_' or '.'"))
    }
}

fn role(r: i32) -> Result<Role, BadField> {
    match pb::Role::try_from(r) {
        Ok(pb::Role::Operator) => Ok(Role::Operator),
        Ok(pb::Role::MeterOperator) => Ok(Role::MeterOperator),
        Ok(pb::Role::TradingPlatform) => Ok(Role::TradingPlatform),
        Ok(pb::Role::Generator) => Ok(Role::Generator),
        Ok(pb::Role::Consumer) => Ok(Role::Consumer),
        Ok(pb::Role::Regulator) => Ok(Role::Regulator),
        _ => bad("roles", format!("{r} is not a role")),
    }
}

pub fn role_to_pb(r: Role) -> i32 {
    (match r {
        Role::Operator => pb::Role::Operator,
        Role::MeterOperator => pb::Role::MeterOperator,
        Role::TradingPlatform => pb::Role::TradingPlatform,
        Role::Generator => pb::Role::Generator,
        Role::Consumer => pb::Role::Consumer,
        Role::Regulator => pb::Role::Regulator,
    }) as i32
}

/// Which command a policy or attribute message is nested in, for the field names of errors.
#[derive(Clone, Copy)]
enum In {
    Genesis,
    Amend,
}

/// The full name of field `$f` of a policy nested in `$at`.
macro_rules! policy_field {
    ($at:expr, $f:literal) => {
        match $at {
            In::Genesis => concat!("genesis.policy.", $f),
            In::Amend => concat!("amend_policy.policy.", $f),
        }
    };
}

fn channel(field: &'static str, s: &str) -> Result<Channel, BadField> {
    Channel::parse(s).ok_or_else(|| BadField {
        field,
        reason: format!(
            "{s:?} is not a channel; use one of {}",
            Channel::ALL.iter().map(|c| c.name()).collect::<Vec<_>>().join(", ")
        ),
    })
}

fn technology(field: &'static str, s: &str) -> Result<Technology, BadField> {
    Technology::parse(s).ok_or_else(|| BadField {
        field,
        reason: format!("{s:?} is not one of wind, solar, hydro, biomass, geothermal, marine, other"),
    })
}

fn class(field: &'static str, c: i32) -> Result<Class, BadField> {
    match pb::CertificateClass::try_from(c) {
        Ok(pb::CertificateClass::None) => Ok(Class::None),
        Ok(pb::CertificateClass::NonTradable) => Ok(Class::NonTradable),
        Ok(pb::CertificateClass::Tradable) => Ok(Class::Tradable),
        _ => bad(field, format!("{c} is not a certificate class (1 none, 2 non-tradable, 3 tradable)")),
    }
}

fn class_to_pb(c: Class) -> i32 {
    (match c {
        Class::None => pb::CertificateClass::None,
        Class::NonTradable => pb::CertificateClass::NonTradable,
        Class::Tradable => pb::CertificateClass::Tradable,
    }) as i32
}

fn classes(at: In, t: &pb::ClassTable) -> Result<ClassTable, BadField> {
    Ok(ClassTable {
        self_use: class(policy_field!(at, "classes.self_use"), t.self_use)?,
        off_grid: class(policy_field!(at, "classes.off_grid"), t.off_grid)?,
        hydrogen: class(policy_field!(at, "classes.hydrogen"), t.hydrogen)?,
        old_hydro_before: t.old_hydro_before.map(Timestamp),
        old_hydro: class(policy_field!(at, "classes.old_hydro"), t.old_hydro)?,
        storage: class(policy_field!(at, "classes.storage"), t.storage)?,
        subsidised: class(policy_field!(at, "classes.subsidised"), t.subsidised)?,
    })
}

fn expiry(at: In, p: &pb::Policy) -> Result<Expiry, BadField> {
    use pb::expiry::Kind;
    let Some(e) = &p.expiry else {
        return Ok(Expiry::AfterEnd { months: p.validity_months });
    };
    let (expiry, months) = match e.kind {
        Some(Kind::MonthInclusive(months)) => (Expiry::MonthInclusive { months }, months),
        Some(Kind::AfterEnd(months)) => (Expiry::AfterEnd { months }, months),
        Some(Kind::Never(_)) => (Expiry::Never, 0),
        None => return bad(policy_field!(at, "expiry"), "is empty: set month_inclusive, after_end or never"),
    };
    if p.validity_months != 0 && p.validity_months != months {
        return bad(
            policy_field!(at, "validity_months"),
            format!("{} contradicts the expiry {expiry:?}; leave it 0 or make them agree", p.validity_months),
        );
    }
    Ok(expiry)
}

/// A policy message: the first format's fields, and for every newer field that is absent the
/// value of `Policy::new` (see the proto).
fn policy(at: In, p: &pb::Policy) -> Result<Policy, BadField> {
    let base = Policy::new(p.name.clone());
    Ok(Policy {
        unit_wh: p.unit_wh,
        zone: p.zone.as_ref().map_or(base.zone.clone(), |z| Zone { name: z.name.clone(), offset_s: z.offset_s }),
        expiry: expiry(at, p)?,
        extensions: p
            .extensions
            .iter()
            .map(|e| Extension { produced_before: Timestamp(e.produced_before), valid_until: Timestamp(e.valid_until) })
            .collect(),
        max_transfers: p.max_transfers,
        hourly_matching: p.hourly_matching,
        max_reading_s: p.max_reading_s,
        clock_skew_s: p.clock_skew_s,
        correction_window_months: p.correction_window_months.unwrap_or(base.correction_window_months),
        owner_issuance: p.owner_issuance.unwrap_or(base.owner_issuance),
        classes: match &p.classes {
            Some(t) => classes(at, t)?,
            None => base.classes.clone(),
        },
        reporting_start_month: p.reporting_start_month.unwrap_or(base.reporting_start_month),
        vintage: vintage(at, &p.vintage)?,
        ..base
    })
}

fn vintage(at: In, v: &Option<pb::Vintage>) -> Result<Vintage, BadField> {
    use pb::vintage::Kind;
    let Some(v) = v else { return Ok(Policy::new("").vintage) };
    Ok(match v.kind {
        Some(Kind::SameReportingPeriod(_)) => Vintage::SameReportingPeriod,
        Some(Kind::WithinMonths(n)) => Vintage::WithinMonths(n),
        Some(Kind::Any(_)) => Vintage::Any,
        None => return bad(policy_field!(at, "vintage"), "is empty: set same_reporting_period, within_months or any"),
    })
}

fn vintage_to_pb(v: Vintage) -> pb::Vintage {
    use pb::vintage::Kind;
    pb::Vintage {
        kind: Some(match v {
            Vintage::SameReportingPeriod => Kind::SameReportingPeriod(pb::vintage::SameReportingPeriod {}),
            Vintage::WithinMonths(n) => Kind::WithinMonths(n),
            Vintage::Any => Kind::Any(pb::vintage::Any {}),
        }),
    }
}

fn policy_to_pb(p: Policy) -> pb::Policy {
    use pb::expiry::Kind;
    let (kind, validity_months) = match p.expiry {
        Expiry::MonthInclusive { months } => (Kind::MonthInclusive(months), 0),
        Expiry::AfterEnd { months } => (Kind::AfterEnd(months), months),
        Expiry::Never => (Kind::Never(pb::expiry::Never {}), 0),
    };
    let t = p.classes;
    pb::Policy {
        name: p.name,
        unit_wh: p.unit_wh,
        validity_months,
        max_transfers: p.max_transfers,
        hourly_matching: p.hourly_matching,
        clock_skew_s: p.clock_skew_s,
        zone: Some(pb::Zone { name: p.zone.name, offset_s: p.zone.offset_s }),
        expiry: Some(pb::Expiry { kind: Some(kind) }),
        extensions: p
            .extensions
            .iter()
            .map(|e| pb::Extension { produced_before: e.produced_before.0, valid_until: e.valid_until.0 })
            .collect(),
        max_reading_s: p.max_reading_s,
        correction_window_months: Some(p.correction_window_months),
        owner_issuance: Some(p.owner_issuance),
        classes: Some(pb::ClassTable {
            self_use: class_to_pb(t.self_use),
            off_grid: class_to_pb(t.off_grid),
            hydrogen: class_to_pb(t.hydrogen),
            old_hydro_before: t.old_hydro_before.map(|t| t.0),
            old_hydro: class_to_pb(t.old_hydro),
            storage: class_to_pb(t.storage),
            subsidised: class_to_pb(t.subsidised),
        }),
        reporting_start_month: Some(p.reporting_start_month),
        vintage: Some(vintage_to_pb(p.vintage)),
    }
}

/// A beneficiary message; `field` names it in errors.
fn beneficiary(field: &'static str, account_field: &'static str, b: &pb::Beneficiary) -> Result<Beneficiary, BadField> {
    use pb::beneficiary::Kind;
    Ok(match &b.kind {
        Some(Kind::Claimant(_)) => Beneficiary::Claimant,
        Some(Kind::Account(a)) => Beneficiary::Account { account: account(account_field, a)? },
        Some(Kind::Product(p)) => {
            Beneficiary::Product { product: p.product.clone(), quantity: p.quantity, unit: p.unit.clone() }
        }
        None => return bad(field, "is empty: set claimant, account or product"),
    })
}

pub fn beneficiary_to_pb(b: &Beneficiary) -> pb::Beneficiary {
    use pb::beneficiary::Kind;
    pb::Beneficiary {
        kind: Some(match b {
            Beneficiary::Claimant => Kind::Claimant(pb::beneficiary::Claimant {}),
            Beneficiary::Account { account } => Kind::Account(account.0.to_vec()),
            Beneficiary::Product { product, quantity, unit } => Kind::Product(pb::beneficiary::Product {
                product: product.clone(),
                quantity: *quantity,
                unit: unit.clone(),
            }),
        }),
    }
}

/// A purpose code and its text: `text` only with `other`.
fn purpose(code: i32, text: &str) -> Result<Purpose, BadField> {
    let no_text = |p: Purpose| {
        if text.is_empty() {
            Ok(p)
        } else {
            bad("retire.purpose_text", format!("{text:?} is only for PURPOSE_OTHER, not {}", p.name()))
        }
    };
    match pb::Purpose::try_from(code) {
        Ok(pb::Purpose::Re100Cdp) => no_text(Purpose::Re100Cdp),
        Ok(pb::Purpose::EnergyDeduction) => no_text(Purpose::EnergyDeduction),
        Ok(pb::Purpose::RenewableQuota) => no_text(Purpose::RenewableQuota),
        Ok(pb::Purpose::ProductFootprint) => no_text(Purpose::ProductFootprint),
        Ok(pb::Purpose::Cbam) => no_text(Purpose::Cbam),
        Ok(pb::Purpose::Other) => Ok(Purpose::Other(text.to_string())),
        _ => bad(
            "retire.purpose_code",
            format!("{code} is not a purpose; use one of {} (1 to 6)", Purpose::NAMES.join(", ")),
        ),
    }
}

/// A purpose as its code and text (empty unless `other`).
pub fn purpose_to_pb(p: &Purpose) -> (i32, String) {
    let code = match p {
        Purpose::Re100Cdp => pb::Purpose::Re100Cdp,
        Purpose::EnergyDeduction => pb::Purpose::EnergyDeduction,
        Purpose::RenewableQuota => pb::Purpose::RenewableQuota,
        Purpose::ProductFootprint => pb::Purpose::ProductFootprint,
        Purpose::Cbam => pb::Purpose::Cbam,
        Purpose::Other(_) => pb::Purpose::Other,
    };
    let text = match p {
        Purpose::Other(t) => t.clone(),
        _ => String::new(),
    };
    (code as i32, text)
}

/// Both retirement formats: with `beneficiary_spec` the current one, without it the first.
fn retire(r: &pb::Retire) -> Result<Command, BadField> {
    let bundle = BundleId(r.bundle);
    let serials = serials("retire.serials", &r.serials)?;
    let consumption = interval("retire.consumption", &r.consumption)?;
    let Some(spec) = &r.beneficiary_spec else {
        if r.purpose_code != 0 || !r.purpose_text.is_empty() {
            return bad(
                "retire.beneficiary_spec",
                "is missing: a retirement with a purpose code names its beneficiary (claimant, account or product)",
            );
        }
        return Ok(Command::RetireV1(cmd::RetireV1 {
            bundle,
            serials,
            beneficiary: r.beneficiary.clone(),
            purpose: r.purpose.clone(),
            consumption,
        }));
    };
    for (field, text) in [("retire.beneficiary", &r.beneficiary), ("retire.purpose", &r.purpose)] {
        if !text.is_empty() {
            return bad(field, format!("{text:?} is the first format's text: leave it empty with beneficiary_spec"));
        }
    }
    Ok(Command::Retire(cmd::Retire {
        bundle,
        serials,
        beneficiary: beneficiary("retire.beneficiary_spec", "retire.beneficiary_spec.account", spec)?,
        purpose: purpose(r.purpose_code, &r.purpose_text)?,
        consumption,
    }))
}

fn change_park(r: &pb::ChangePark) -> Result<Command, BadField> {
    use pb::change_park::Change;
    let change = match &r.change {
        Some(Change::Join(j)) => ParkChange::Join {
            account: account("change_park.join.account", &j.account)?,
            province: j.province.clone(),
            from: Timestamp(j.from),
        },
        Some(Change::Leave(l)) => {
            ParkChange::Leave { account: account("change_park.leave.account", &l.account)?, at: Timestamp(l.at) }
        }
        None => return bad("change_park.change", "is empty: set join or leave"),
    };
    Ok(Command::ChangePark(cmd::ChangePark { park: park("change_park.park", &r.park)?, change }))
}

fn attributes(user_field: &'static str, a: &Option<pb::DeviceAttributes>) -> Result<DeviceAttributes, BadField> {
    let Some(a) = a else { return Ok(DeviceAttributes::default()) };
    Ok(DeviceAttributes {
        off_grid: a.off_grid,
        conventional_hydro: a.conventional_hydro,
        storage: a.storage,
        hydrogen: a.hydrogen,
        subsidised: a.subsidised,
        user: if a.user.is_empty() { None } else { Some(account(user_field, &a.user)?) },
    })
}

pub fn attributes_to_pb(a: &DeviceAttributes) -> pb::DeviceAttributes {
    pb::DeviceAttributes {
        off_grid: a.off_grid,
        conventional_hydro: a.conventional_hydro,
        storage: a.storage,
        hydrogen: a.hydrogen,
        subsidised: a.subsidised,
        user: a.user.map_or(Vec::new(), |u| u.0.to_vec()),
    }
}

fn signature(field: &'static str, bytes: &[u8]) -> Result<[u8; 64], BadField> {
    <[u8; 64]>::try_from(bytes)
        .map_err(|_| BadField { field, reason: format!("must be 64 bytes, got {}", bytes.len()) })
}

pub fn command(c: &pb::Command) -> Result<Command, BadField> {
    use pb::command::Kind;
    let Some(kind) = &c.kind else { return bad("command", "is empty: set exactly one command kind") };
    Ok(match kind {
        Kind::Genesis(g) => {
            let p = g.policy.as_ref().ok_or(BadField { field: "genesis.policy", reason: "is missing".into() })?;
            Command::Genesis(cmd::Genesis { policy: policy(In::Genesis, p)?, operator_name: g.operator_name.clone() })
        }
        Kind::GenesisV1(g) => {
            let p = g.policy.as_ref().ok_or(BadField { field: "genesis_v1.policy", reason: "is missing".into() })?;
            Command::GenesisV1(cmd::GenesisV1 {
                policy: PolicyV1 {
                    name: p.name.clone(),
                    unit_wh: p.unit_wh,
                    validity_months: p.validity_months,
                    max_transfers: p.max_transfers,
                    hourly_matching: p.hourly_matching,
                    clock_skew_s: p.clock_skew_s,
                },
                operator_name: g.operator_name.clone(),
            })
        }
        Kind::RegisterAccount(r) => Command::RegisterAccount(cmd::RegisterAccount {
            account: account("register_account.account", &r.account)?,
            name: r.name.clone(),
            roles: Roles::of(&r.roles.iter().map(|x| role(*x)).collect::<Result<Vec<_>, _>>()?),
        }),
        Kind::RegisterDevice(r) => Command::RegisterDevice(cmd::RegisterDevice {
            device: device("register_device.device", &r.device)?,
            owner: account("register_device.owner", &r.owner)?,
            technology: technology("register_device.technology", &r.technology)?,
            capacity_w: r.capacity_w,
            region: r.region.clone(),
            commissioned: Timestamp(r.commissioned),
            attributes: attributes("register_device.attributes.user", &r.attributes)?,
        }),
        Kind::RegisterDeviceV1(r) => Command::RegisterDeviceV1(cmd::RegisterDeviceV1 {
            device: device("register_device_v1.device", &r.device)?,
            owner: account("register_device_v1.owner", &r.owner)?,
            technology: technology("register_device_v1.technology", &r.technology)?,
            capacity_w: r.capacity_w,
            region: r.region.clone(),
            commissioned: Timestamp(r.commissioned),
        }),
        Kind::PostGeneration(r) => Command::PostGeneration(cmd::PostGeneration {
            device: device("post_generation.device", &r.device)?,
            interval: interval("post_generation.interval", &r.interval)?,
            energy: Wh(r.energy_wh),
        }),
        Kind::PostConsumption(r) => Command::PostConsumption(cmd::PostConsumption {
            account: account("post_consumption.account", &r.account)?,
            interval: interval("post_consumption.interval", &r.interval)?,
            energy: Wh(r.energy_wh),
        }),
        Kind::PostDirectSupply(r) => Command::PostDirectSupply(cmd::PostDirectSupply {
            device: device("post_direct_supply.device", &r.device)?,
            consumer: account("post_direct_supply.consumer", &r.consumer)?,
            interval: interval("post_direct_supply.interval", &r.interval)?,
            energy: Wh(r.energy_wh),
        }),
        Kind::SettleTrade(r) => Command::SettleTrade(cmd::SettleTrade {
            device: device("settle_trade.device", &r.device)?,
            interval: interval("settle_trade.interval", &r.interval)?,
            buyer: account("settle_trade.buyer", &r.buyer)?,
            energy: Wh(r.energy_wh),
        }),
        Kind::Issue(r) => Command::Issue(cmd::Issue {
            device: device("issue.device", &r.device)?,
            interval: interval("issue.interval", &r.interval)?,
        }),
        Kind::Transfer(r) => Command::Transfer(cmd::Transfer {
            bundle: BundleId(r.bundle),
            serials: serials("transfer.serials", &r.serials)?,
            to: account("transfer.to", &r.to)?,
        }),
        Kind::Retire(r) => retire(r)?,
        Kind::Withdraw(r) => Command::Withdraw(cmd::Withdraw {
            bundle: BundleId(r.bundle),
            serials: serials("withdraw.serials", &r.serials)?,
            reason: r.reason.clone(),
        }),
        Kind::DeclareExclusion(r) => Command::DeclareExclusion(cmd::DeclareExclusion {
            device: device("declare_exclusion.device", &r.device)?,
            interval: interval("declare_exclusion.interval", &r.interval)?,
            scheme: r.scheme.clone(),
        }),
        Kind::PostMeterReading(r) => Command::PostMeterReading(cmd::PostMeterReading {
            device: device("post_meter_reading.device", &r.device)?,
            channel: channel("post_meter_reading.channel", &r.channel)?,
            interval: interval("post_meter_reading.interval", &r.interval)?,
            energy: Wh(r.energy_wh),
        }),
        Kind::CorrectReading(r) => Command::CorrectReading(cmd::CorrectReading {
            device: device("correct_reading.device", &r.device)?,
            channel: channel("correct_reading.channel", &r.channel)?,
            interval: interval("correct_reading.interval", &r.interval)?,
            energy: Wh(r.energy_wh),
            reason: r.reason.clone(),
            approval: match &r.approval {
                None => None,
                Some(a) => Some(cmd::Approval {
                    regulator: account("correct_reading.approval.regulator", &a.regulator)?,
                    signature: signature("correct_reading.approval.signature", &a.signature)?,
                }),
            },
        }),
        Kind::AmendPolicy(r) => {
            let p = r.policy.as_ref().ok_or(BadField { field: "amend_policy.policy", reason: "is missing".into() })?;
            Command::AmendPolicy(cmd::AmendPolicy {
                effective: Timestamp(r.effective),
                policy: policy(In::Amend, p)?,
                reason: r.reason.clone(),
            })
        }
        Kind::ChangeDevice(r) => {
            use pb::change_device::Change;
            let change = match &r.change {
                Some(Change::Attributes(a)) => {
                    DeviceChange::Attributes(attributes("change_device.attributes.user", &Some(a.clone()))?)
                }
                Some(Change::Owner(o)) => DeviceChange::Owner(account("change_device.owner", o)?),
                Some(Change::Decommission(t)) => DeviceChange::Decommission(Timestamp(*t)),
                None => return bad("change_device.change", "is empty: set attributes, owner or decommission"),
            };
            Command::ChangeDevice(cmd::ChangeDevice { device: device("change_device.device", &r.device)?, change })
        }
        Kind::SettleMonth(r) => Command::SettleMonth(cmd::SettleMonth {
            device: device("settle_month.device", &r.device)?,
            period: interval("settle_month.period", &r.period)?,
            buyer: account("settle_month.buyer", &r.buyer)?,
            energy: Wh(r.energy_wh),
            price_fen_per_mwh: r.price_fen_per_mwh,
            network_charge_fen_per_mwh: r.network_charge_fen_per_mwh,
        }),
        Kind::IssueMonth(r) => Command::IssueMonth(cmd::IssueMonth {
            device: device("issue_month.device", &r.device)?,
            year: r.year,
            month: r.month,
        }),
        Kind::ResolveFrozen(r) => Command::ResolveFrozen(cmd::ResolveFrozen {
            bundle: BundleId(r.bundle),
            cancel: r.cancel,
            reason: r.reason.clone(),
        }),
        Kind::RegisterPark(r) => Command::RegisterPark(cmd::RegisterPark {
            park: park("register_park.park", &r.park)?,
            name: r.name.clone(),
            province: r.province.clone(),
            since: Timestamp(r.since),
            members: r
                .members
                .iter()
                .map(|m| {
                    Ok(cmd::Site {
                        account: account("register_park.members.account", &m.account)?,
                        province: m.province.clone(),
                    })
                })
                .collect::<Result<_, BadField>>()?,
        }),
        Kind::ChangePark(r) => change_park(r)?,
    })
}

pub fn body(b: &pb::CommandBody) -> Result<CommandBody, BadField> {
    let c = b.command.as_ref().ok_or(BadField { field: "body.command", reason: "is missing".into() })?;
    Ok(CommandBody {
        signer: account("body.signer", &b.signer)?,
        nonce: b.nonce,
        command: command(c)?,
        expires: b.expires.map(Timestamp),
    })
}

pub fn signed(s: &pb::SignedCommand) -> Result<SignedCommand, BadField> {
    let b = s.body.as_ref().ok_or(BadField { field: "body", reason: "is missing".into() })?;
    let signature = <[u8; 64]>::try_from(s.signature.as_slice())
        .map_err(|_| BadField { field: "signature", reason: format!("must be 64 bytes, got {}", s.signature.len()) })?;
    Ok(SignedCommand { body: body(b)?, signature })
}

fn iv(i: Interval) -> Option<pb::Interval> {
    Some(pb::Interval { start: i.start.0, end: i.end.0 })
}

fn sr(s: SerialRange) -> Option<pb::SerialRange> {
    Some(pb::SerialRange { start: s.start.0, end: s.end.0 })
}

/// Domain command to protobuf (used by clients built on this crate). Exact: [`command`] gives
/// back the identical command, so a signature over it still verifies.
pub fn command_to_pb(c: &Command) -> pb::Command {
    use pb::command::Kind;
    let kind = match c.clone() {
        Command::Genesis(cmd::Genesis { policy, operator_name }) => {
            Kind::Genesis(pb::Genesis { policy: Some(policy_to_pb(policy)), operator_name })
        }
        Command::GenesisV1(cmd::GenesisV1 { policy: p, operator_name }) => Kind::GenesisV1(pb::GenesisV1 {
            policy: Some(pb::PolicyV1 {
                name: p.name,
                unit_wh: p.unit_wh,
                validity_months: p.validity_months,
                max_transfers: p.max_transfers,
                hourly_matching: p.hourly_matching,
                clock_skew_s: p.clock_skew_s,
            }),
            operator_name,
        }),
        Command::RegisterAccount(cmd::RegisterAccount { account, name, roles }) => {
            Kind::RegisterAccount(pb::RegisterAccount {
                account: account.0.to_vec(),
                name,
                roles: roles.list().into_iter().map(role_to_pb).collect(),
            })
        }
        Command::RegisterDevice(cmd::RegisterDevice {
            device,
            owner,
            technology,
            capacity_w,
            region,
            commissioned,
            attributes,
        }) => Kind::RegisterDevice(pb::RegisterDevice {
            device: device.0,
            owner: owner.0.to_vec(),
            technology: technology.name().into(),
            capacity_w,
            region,
            commissioned: commissioned.0,
            attributes: Some(attributes_to_pb(&attributes)),
        }),
        Command::RegisterDeviceV1(cmd::RegisterDeviceV1 {
            device,
            owner,
            technology,
            capacity_w,
            region,
            commissioned,
        }) => Kind::RegisterDeviceV1(pb::RegisterDeviceV1 {
            device: device.0,
            owner: owner.0.to_vec(),
            technology: technology.name().into(),
            capacity_w,
            region,
            commissioned: commissioned.0,
        }),
        Command::PostGeneration(cmd::PostGeneration { device, interval, energy }) => {
            Kind::PostGeneration(pb::PostGeneration { device: device.0, interval: iv(interval), energy_wh: energy.0 })
        }
        Command::PostConsumption(cmd::PostConsumption { account, interval, energy }) => {
            Kind::PostConsumption(pb::PostConsumption {
                account: account.0.to_vec(),
                interval: iv(interval),
                energy_wh: energy.0,
            })
        }
        Command::PostDirectSupply(cmd::PostDirectSupply { device, consumer, interval, energy }) => {
            Kind::PostDirectSupply(pb::PostDirectSupply {
                device: device.0,
                consumer: consumer.0.to_vec(),
                interval: iv(interval),
                energy_wh: energy.0,
            })
        }
        Command::SettleTrade(cmd::SettleTrade { device, interval, buyer, energy }) => {
            Kind::SettleTrade(pb::SettleTrade {
                device: device.0,
                interval: iv(interval),
                buyer: buyer.0.to_vec(),
                energy_wh: energy.0,
            })
        }
        Command::Issue(cmd::Issue { device, interval }) => {
            Kind::Issue(pb::Issue { device: device.0, interval: iv(interval) })
        }
        Command::Transfer(cmd::Transfer { bundle, serials, to }) => {
            Kind::Transfer(pb::Transfer { bundle: bundle.0, serials: sr(serials), to: to.0.to_vec() })
        }
        Command::Retire(cmd::Retire { bundle, serials, beneficiary, purpose, consumption }) => {
            let (purpose_code, purpose_text) = purpose_to_pb(&purpose);
            Kind::Retire(pb::Retire {
                bundle: bundle.0,
                serials: sr(serials),
                beneficiary: String::new(),
                purpose: String::new(),
                consumption: iv(consumption),
                beneficiary_spec: Some(beneficiary_to_pb(&beneficiary)),
                purpose_code,
                purpose_text,
            })
        }
        Command::RetireV1(cmd::RetireV1 { bundle, serials, beneficiary, purpose, consumption }) => {
            Kind::Retire(pb::Retire {
                bundle: bundle.0,
                serials: sr(serials),
                beneficiary,
                purpose,
                consumption: iv(consumption),
                beneficiary_spec: None,
                purpose_code: 0,
                purpose_text: String::new(),
            })
        }
        Command::Withdraw(cmd::Withdraw { bundle, serials, reason }) => {
            Kind::Withdraw(pb::Withdraw { bundle: bundle.0, serials: sr(serials), reason })
        }
        Command::DeclareExclusion(cmd::DeclareExclusion { device, interval, scheme }) => {
            Kind::DeclareExclusion(pb::DeclareExclusion { device: device.0, interval: iv(interval), scheme })
        }
        Command::PostMeterReading(cmd::PostMeterReading { device, channel, interval, energy }) => {
            Kind::PostMeterReading(pb::PostMeterReading {
                device: device.0,
                channel: channel.name().into(),
                interval: iv(interval),
                energy_wh: energy.0,
            })
        }
        Command::CorrectReading(cmd::CorrectReading { device, channel, interval, energy, reason, approval }) => {
            Kind::CorrectReading(pb::CorrectReading {
                device: device.0,
                channel: channel.name().into(),
                interval: iv(interval),
                energy_wh: energy.0,
                reason,
                approval: approval
                    .map(|a| pb::Approval { regulator: a.regulator.0.to_vec(), signature: a.signature.to_vec() }),
            })
        }
        Command::AmendPolicy(cmd::AmendPolicy { effective, policy, reason }) => {
            Kind::AmendPolicy(pb::AmendPolicy { effective: effective.0, policy: Some(policy_to_pb(policy)), reason })
        }
        Command::ChangeDevice(cmd::ChangeDevice { device, change }) => {
            use pb::change_device::Change;
            Kind::ChangeDevice(pb::ChangeDevice {
                device: device.0,
                change: Some(match change {
                    DeviceChange::Attributes(a) => Change::Attributes(attributes_to_pb(&a)),
                    DeviceChange::Owner(o) => Change::Owner(o.0.to_vec()),
                    DeviceChange::Decommission(t) => Change::Decommission(t.0),
                }),
            })
        }
        Command::SettleMonth(cmd::SettleMonth {
            device,
            period,
            buyer,
            energy,
            price_fen_per_mwh,
            network_charge_fen_per_mwh,
        }) => Kind::SettleMonth(pb::SettleMonth {
            device: device.0,
            period: iv(period),
            buyer: buyer.0.to_vec(),
            energy_wh: energy.0,
            price_fen_per_mwh,
            network_charge_fen_per_mwh,
        }),
        Command::IssueMonth(cmd::IssueMonth { device, year, month }) => {
            Kind::IssueMonth(pb::IssueMonth { device: device.0, year, month })
        }
        Command::ResolveFrozen(cmd::ResolveFrozen { bundle, cancel, reason }) => {
            Kind::ResolveFrozen(pb::ResolveFrozen { bundle: bundle.0, cancel, reason })
        }
        Command::RegisterPark(cmd::RegisterPark { park, name, province, since, members }) => {
            Kind::RegisterPark(pb::RegisterPark {
                park: park.0,
                name,
                province,
                since: since.0,
                members: members
                    .into_iter()
                    .map(|m| pb::ParkSite { account: m.account.0.to_vec(), province: m.province })
                    .collect(),
            })
        }
        Command::ChangePark(cmd::ChangePark { park, change }) => {
            use pb::change_park::{Change, Join, Leave};
            Kind::ChangePark(pb::ChangePark {
                park: park.0,
                change: Some(match change {
                    ParkChange::Join { account, province, from } => {
                        Change::Join(Join { account: account.0.to_vec(), province, from: from.0 })
                    }
                    ParkChange::Leave { account, at } => Change::Leave(Leave { account: account.0.to_vec(), at: at.0 }),
                }),
            })
        }
    };
    pb::Command { kind: Some(kind) }
}

pub fn signed_to_pb(s: &SignedCommand) -> pb::SignedCommand {
    pb::SignedCommand {
        body: Some(pb::CommandBody {
            signer: s.body.signer.0.to_vec(),
            nonce: s.body.nonce,
            command: Some(command_to_pb(&s.body.command)),
            expires: s.body.expires.map(|t| t.0),
        }),
        signature: s.signature.to_vec(),
    }
}

pub fn bundle_to_pb(b: &state::Bundle, now: Timestamp) -> pb::Bundle {
    pb::Bundle {
        id: b.id.0,
        device: b.device.0.clone(),
        production: iv(b.production),
        serials: sr(b.serials),
        owner: b.owner.0.to_vec(),
        state: b.state_at(now).name().into(),
        origin: b.origin.name().into(),
        transferable: b.transferable,
        transfers: b.transfers,
        expires: b.expires.0,
        parent: b.parent.map_or(0, |p| p.0),
        history: b.history.iter().map(|i| i.0).collect(),
        claim: match b.state {
            BundleState::Retired(c) => c.0,
            _ => 0,
        },
        channel: b.channel.name().into(),
        class: b.class.name().into(),
    }
}

pub fn claim_to_pb(c: &state::Claim) -> pb::ClaimInfo {
    pb::ClaimInfo {
        id: c.id.0,
        claimant: c.claimant.0.to_vec(),
        bundle: c.bundle.0,
        serials: sr(c.serials),
        energy_wh: c.energy.0,
        device: c.device.0.clone(),
        production: iv(c.production),
        beneficiary: c.beneficiary.clone(),
        purpose: c.purpose.clone(),
        consumption: iv(c.consumption),
        entry: c.entry.0,
        capped: c.capped.0.to_vec(),
        tree_size: 0,
        beneficiary_spec: c.spec.as_ref().map(beneficiary_to_pb),
        purpose_code: c.purpose_code.as_ref().map_or(0, |p| purpose_to_pb(p).0),
        purpose_text: c.purpose_code.as_ref().map_or(String::new(), |p| purpose_to_pb(p).1),
        origin: c.origin.name().into(),
        class: c.class.name().into(),
        channel: c.channel.name().into(),
    }
}

/// A park with every membership.
pub fn park_to_pb(p: &state::Park) -> pb::ParkInfo {
    pb::ParkInfo {
        park: p.id.0.clone(),
        name: p.name.clone(),
        province: p.province.clone(),
        members: p
            .members
            .iter()
            .map(|m| pb::ParkMember {
                account: m.account.0.to_vec(),
                province: m.province.clone(),
                from: m.from.0,
                until: m.until.map(|t| t.0),
            })
            .collect(),
        registered_entry: p.registered.0,
        changes: p.changes.iter().map(|i| i.0).collect(),
    }
}

pub fn reading_to_pb(r: &state::Reading) -> pb::Reading {
    let sum = |v: &[state::Allocation]| v.iter().map(|a| a.energy.0).fold(0u64, u64::saturating_add);
    pb::Reading {
        interval: iv(r.interval),
        energy_wh: r.energy.0,
        entry: r.entry.0,
        direct_supply_wh: sum(&r.direct),
        traded_wh: sum(&r.trades),
        issued: r.issuance.is_some(),
        issued_serials: r.issuance.as_ref().and_then(|i| sr(i.serials)),
        channel: r.channel.name().into(),
        class: r.class.map_or(String::new(), |c| c.name().into()),
        corrections: r.corrections.iter().map(correction_to_pb).collect(),
        supplements: r
            .supplements
            .iter()
            .map(|i| pb::SerialRange { start: i.serials.start.0, end: i.serials.end.0 })
            .collect(),
        netted_wh: r.netted.0,
        uncertified_wh: r.uncertified.0,
        paid_wh: r.paid.0,
        clawed_back_wh: r.clawed_back.0,
        deficit_wh: r.deficit.0,
        excluded_wh: r.excluded.0,
    }
}

fn correction_to_pb(c: &state::CorrectionRecord) -> pb::Correction {
    pb::Correction {
        entry: c.entry.0,
        signer: c.signer.0.to_vec(),
        approver: c.approved_by.map_or(Vec::new(), |a| a.0.to_vec()),
        old_wh: c.old.0,
        new_wh: c.new.0,
        reason: c.reason.clone(),
        clawed_back_wh: c.clawed_back.0,
        deficit_wh: c.deficit.0,
        claims: c.claims.iter().map(|k| k.0).collect(),
    }
}

/// A device and the readings asked for.
pub fn device_to_pb(d: &state::Device, readings: &[state::Reading]) -> pb::DeviceInfo {
    pb::DeviceInfo {
        tree_size: 0,
        device: d.id.0.clone(),
        owner: d.owner.0.to_vec(),
        technology: d.technology.name().into(),
        capacity_w: d.capacity_w,
        region: d.region.clone(),
        commissioned: d.commissioned.0,
        carry_wh: d.carried().0,
        readings: readings.iter().map(reading_to_pb).collect(),
        attributes: Some(attributes_to_pb(&d.attributes)),
        decommissioned: d.decommissioned.map(|t| t.0),
        deficit_wh: d.deficit.0,
        changes: d.changes.iter().map(|i| i.0).collect(),
    }
}

/// A receipt's structured effect: the kind names which fields are set (see the proto).
pub fn change_to_pb(c: &Change) -> pb::Effect {
    let mut e = pb::Effect::default();
    let kind = match c {
        Change::Genesis { ledger } => {
            e.ledger = ledger.clone();
            "genesis"
        }
        Change::Account { account } => {
            e.account = account.0.to_vec();
            "account"
        }
        Change::Device { device } => {
            e.device = device.0.clone();
            "device"
        }
        Change::Generation { device, interval, energy } => {
            (e.device, e.interval, e.energy_wh) = (device.0.clone(), iv(*interval), energy.0);
            "generation"
        }
        Change::Consumption { account, interval, energy } => {
            (e.account, e.interval, e.energy_wh) = (account.0.to_vec(), iv(*interval), energy.0);
            "consumption"
        }
        Change::Allocation { device, interval, to, energy, origin } => {
            (e.device, e.interval, e.account, e.energy_wh) = (device.0.clone(), iv(*interval), to.0.to_vec(), energy.0);
            e.origin = origin.name().into();
            "allocation"
        }
        Change::Bundle { bundle, owner, serials, origin, from } => {
            (e.bundle, e.account, e.serials) = (bundle.0, owner.0.to_vec(), sr(*serials));
            (e.origin, e.from_bundle) = (origin.name().into(), from.map_or(0, |b| b.0));
            "bundle"
        }
        Change::Claim { claim, bundle, serials, energy } => {
            (e.claim, e.bundle, e.serials, e.energy_wh) = (claim.0, bundle.0, sr(*serials), energy.0);
            "claim"
        }
        Change::Withdrawn { bundle, serials } => {
            (e.bundle, e.serials) = (bundle.0, sr(*serials));
            "withdrawn"
        }
        Change::Frozen { bundle, serials } => {
            (e.bundle, e.serials) = (bundle.0, sr(*serials));
            "frozen"
        }
        Change::Carry { device, energy } => {
            (e.device, e.energy_wh) = (device.0.clone(), energy.0);
            "carry"
        }
        Change::Exclusion { device, interval, scheme } => {
            (e.device, e.interval, e.scheme) = (device.0.clone(), iv(*interval), scheme.clone());
            "exclusion"
        }
        Change::Metered { device, channel, interval, energy } => {
            (e.device, e.channel, e.interval, e.energy_wh) =
                (device.0.clone(), channel.name().into(), iv(*interval), energy.0);
            "metered"
        }
        Change::Corrected { device, channel, interval, old, new, clawed_back, deficit, claims } => {
            (e.device, e.channel, e.interval) = (device.0.clone(), channel.name().into(), iv(*interval));
            (e.old_wh, e.energy_wh, e.clawed_back_wh, e.deficit_wh) = (old.0, new.0, clawed_back.0, deficit.0);
            e.claims = claims.iter().map(|c| c.0).collect();
            "corrected"
        }
        Change::Amended { effective } => {
            e.effective = effective.0;
            "amended"
        }
        Change::Resolved { bundle, serials, cancelled } => {
            (e.bundle, e.serials, e.cancelled) = (bundle.0, sr(*serials), *cancelled);
            "resolved"
        }
        Change::Settled { device, period, buyer, energy, origin, price } => {
            (e.device, e.interval, e.account, e.energy_wh) =
                (device.0.clone(), iv(*period), buyer.0.to_vec(), energy.0);
            e.origin = origin.name().into();
            (e.price_fen_per_mwh, e.network_charge_fen_per_mwh) = (price.fen_per_mwh, price.network_charge_fen_per_mwh);
            "settled"
        }
        // `Change` is non-exhaustive: a kind of change this server does not know yet.
        _ => "other",
    };
    e.kind = kind.into();
    e
}

#[cfg(test)]
mod tests {
    use super::*;
    use greenledger_core::crypto::Keypair;

    fn key(n: u8) -> Keypair {
        Keypair::from_seed([n; 32])
    }

    /// One command of every kind (several of the kinds with variants and edge values).
    fn examples() -> Vec<Command> {
        let (a, b) = (key(1).account(), key(2).account());
        let d = DeviceId("IM-WIND-01".into());
        let iv = Interval::new(1_796_126_400, 1_796_130_000);
        let mut gec = Policy::preset("gec", "example.org/ledger").expect("gec");
        gec.zone = Zone { name: "America/Sao_Paulo".into(), offset_s: -3 * 3600 };
        gec.max_reading_s = Some(900);
        gec.reporting_start_month = 4;
        gec.vintage = Vintage::WithinMonths(3);
        let mut never = Policy::preset("i-rec", "example.org/ledger").expect("i-rec");
        never.max_transfers = Some(0);
        never.owner_issuance = false;
        never.correction_window_months = 0;
        never.reporting_start_month = 0;
        never.vintage = Vintage::Any;
        let attributes = DeviceAttributes {
            off_grid: true,
            conventional_hydro: true,
            storage: false,
            hydrogen: true,
            subsidised: true,
            user: Some(b),
        };
        let correct = cmd::CorrectReading {
            device: d.clone(),
            channel: Channel::SelfUse,
            interval: iv,
            energy: Wh(42),
            reason: "meter replaced".into(),
            approval: None,
        };
        let mut all = vec![
            Command::GenesisV1(cmd::GenesisV1 {
                policy: PolicyV1 {
                    name: "example.org/ledger".into(),
                    unit_wh: 1,
                    validity_months: 12,
                    max_transfers: Some(0),
                    hourly_matching: true,
                    clock_skew_s: 0,
                },
                operator_name: "Registry".into(),
            }),
            Command::RegisterAccount(cmd::RegisterAccount {
                account: a,
                name: "x".into(),
                roles: Roles::of(&[Role::Consumer, Role::Regulator]),
            }),
            Command::RegisterDeviceV1(cmd::RegisterDeviceV1 {
                device: d.clone(),
                owner: a,
                technology: Technology::Hydro,
                capacity_w: 7,
                region: "CN-YN".into(),
                commissioned: Timestamp(5),
            }),
            Command::PostGeneration(cmd::PostGeneration { device: d.clone(), interval: iv, energy: Wh(1) }),
            Command::PostConsumption(cmd::PostConsumption { account: a, interval: iv, energy: Wh(2) }),
            Command::PostDirectSupply(cmd::PostDirectSupply {
                device: d.clone(),
                consumer: b,
                interval: iv,
                energy: Wh(3),
            }),
            Command::SettleTrade(cmd::SettleTrade { device: d.clone(), interval: iv, buyer: b, energy: Wh(4) }),
            Command::Issue(cmd::Issue { device: d.clone(), interval: iv }),
            Command::Transfer(cmd::Transfer { bundle: BundleId(3), serials: SerialRange::new(1, 9), to: b }),
            Command::RetireV1(cmd::RetireV1 {
                bundle: BundleId(3),
                serials: SerialRange::new(1, 2),
                beneficiary: "b".into(),
                purpose: "p".into(),
                consumption: iv,
            }),
            Command::RetireV1(cmd::RetireV1 {
                bundle: BundleId(0),
                serials: SerialRange::new(0, 0),
                beneficiary: "".into(),
                purpose: "".into(),
                consumption: Interval::new(0, 0),
            }),
            Command::Withdraw(cmd::Withdraw {
                bundle: BundleId(4),
                serials: SerialRange::new(0, 1),
                reason: "r".into(),
            }),
            Command::DeclareExclusion(cmd::DeclareExclusion { device: d.clone(), interval: iv, scheme: "CCER".into() }),
            Command::Genesis(cmd::Genesis { policy: Policy::new("example.org/ledger"), operator_name: "op".into() }),
            Command::Genesis(cmd::Genesis { policy: gec.clone(), operator_name: "op".into() }),
            Command::Genesis(cmd::Genesis { policy: never, operator_name: "".into() }),
            Command::RegisterDevice(cmd::RegisterDevice {
                device: d.clone(),
                owner: a,
                technology: Technology::Solar,
                capacity_w: 9,
                region: "CN-JS".into(),
                commissioned: Timestamp(6),
                attributes: attributes.clone(),
            }),
            Command::RegisterDevice(cmd::RegisterDevice {
                device: d.clone(),
                owner: a,
                technology: Technology::Wind,
                capacity_w: 9,
                region: "CN-JS".into(),
                commissioned: Timestamp(6),
                attributes: DeviceAttributes::default(),
            }),
            Command::PostMeterReading(cmd::PostMeterReading {
                device: d.clone(),
                channel: Channel::StorageCharge,
                interval: iv,
                energy: Wh(0),
            }),
            Command::CorrectReading(correct.clone()),
            Command::CorrectReading(correct.approved(&key(3), "example.org/ledger")),
            Command::AmendPolicy(cmd::AmendPolicy { effective: Timestamp(u64::MAX), policy: gec, reason: "r".into() }),
            Command::ChangeDevice(cmd::ChangeDevice {
                device: d.clone(),
                change: DeviceChange::Attributes(attributes),
            }),
            Command::ChangeDevice(cmd::ChangeDevice {
                device: d.clone(),
                change: DeviceChange::Attributes(DeviceAttributes::default()),
            }),
            Command::ChangeDevice(cmd::ChangeDevice { device: d.clone(), change: DeviceChange::Owner(b) }),
            Command::ChangeDevice(cmd::ChangeDevice {
                device: d.clone(),
                change: DeviceChange::Decommission(Timestamp(0)),
            }),
            Command::SettleMonth(cmd::SettleMonth {
                device: d.clone(),
                period: iv,
                buyer: b,
                energy: Wh(5),
                price_fen_per_mwh: 38_000,
                network_charge_fen_per_mwh: None,
            }),
            Command::SettleMonth(cmd::SettleMonth {
                device: d.clone(),
                period: iv,
                buyer: b,
                energy: Wh(5),
                price_fen_per_mwh: 0,
                network_charge_fen_per_mwh: Some(0),
            }),
            Command::IssueMonth(cmd::IssueMonth { device: d, year: 2026, month: 11 }),
            Command::ResolveFrozen(cmd::ResolveFrozen { bundle: BundleId(7), cancel: true, reason: "used".into() }),
            Command::ResolveFrozen(cmd::ResolveFrozen { bundle: BundleId(7), cancel: false, reason: "not".into() }),
        ];
        // The current retirement: each beneficiary and each purpose.
        let beneficiaries = [
            Beneficiary::Claimant,
            Beneficiary::Account { account: b },
            Beneficiary::Product { product: "LFP cell 280Ah".into(), quantity: 12_000, unit: "cells".into() },
            Beneficiary::Product { product: "".into(), quantity: 0, unit: "".into() },
        ];
        let purposes = [
            Purpose::Re100Cdp,
            Purpose::EnergyDeduction,
            Purpose::RenewableQuota,
            Purpose::ProductFootprint,
            Purpose::Cbam,
            Purpose::Other("green bond allocation report".into()),
            Purpose::Other("".into()),
        ];
        for (i, purpose) in purposes.into_iter().enumerate() {
            all.push(Command::Retire(cmd::Retire {
                bundle: BundleId(i as u64),
                serials: SerialRange::new(1, 2),
                beneficiary: beneficiaries[i % beneficiaries.len()].clone(),
                purpose,
                consumption: iv,
            }));
        }
        let site = |account, province: &str| cmd::Site { account, province: province.into() };
        all.extend([
            Command::RegisterPark(cmd::RegisterPark {
                park: ParkId("CZ-ZERO-CARBON".into()),
                name: "常州零碳园区".into(),
                province: "Jiangsu".into(),
                since: Timestamp(1_767_225_600),
                members: vec![site(a, "Jiangsu"), site(b, "Zhejiang")],
            }),
            Command::RegisterPark(cmd::RegisterPark {
                park: ParkId("P".into()),
                name: "".into(),
                province: "".into(),
                since: Timestamp(0),
                members: vec![],
            }),
            Command::ChangePark(cmd::ChangePark {
                park: ParkId("CZ-ZERO-CARBON".into()),
                change: ParkChange::Join { account: b, province: "Anhui".into(), from: Timestamp(u64::MAX) },
            }),
            Command::ChangePark(cmd::ChangePark {
                park: ParkId("CZ-ZERO-CARBON".into()),
                change: ParkChange::Leave { account: a, at: Timestamp(1) },
            }),
        ]);
        all
    }

    /// Every kind converts to protobuf and back to the identical command, also through the
    /// wire bytes.
    #[test]
    fn every_kind_round_trips_exactly_through_protobuf() {
        use prost::Message;
        let examples = examples();
        let mut kinds: Vec<&str> = examples.iter().map(Command::kind).collect();
        kinds.sort();
        kinds.dedup();
        let mut all = Command::KINDS.to_vec();
        all.sort();
        assert_eq!(kinds, all, "the examples cover every kind");
        for c in examples {
            let msg = command_to_pb(&c);
            assert_eq!(command(&msg).as_ref(), Ok(&c), "{}", c.kind());
            let wire = pb::Command::decode(msg.encode_to_vec().as_slice()).expect("decodes");
            assert_eq!(command(&wire), Ok(c.clone()), "{} through the wire", c.kind());
        }
    }

    /// A signed command of every kind, with and without a validity window (a window ending at 0
    /// is a window, not none), converts to protobuf and back to the identical command, also
    /// through the wire bytes.
    #[test]
    fn signed_commands_round_trip_with_and_without_a_window() {
        use prost::Message;
        for c in examples() {
            for expires in [None, Some(0), Some(1_796_130_000), Some(u64::MAX)] {
                let signed = SignedCommand {
                    body: CommandBody {
                        signer: key(3).account(),
                        nonce: 9,
                        command: c.clone(),
                        expires: expires.map(Timestamp),
                    },
                    signature: [7; 64],
                };
                let msg = signed_to_pb(&signed);
                assert_eq!(msg.body.as_ref().and_then(|b| b.expires), expires, "{}", c.kind());
                assert_eq!(super::signed(&msg).as_ref(), Ok(&signed), "{} {expires:?}", c.kind());
                let wire = pb::SignedCommand::decode(msg.encode_to_vec().as_slice()).expect("decodes");
                assert_eq!(super::signed(&wire), Ok(signed), "{} {expires:?} through the wire", c.kind());
            }
        }
    }

    /// A client that knows only the first policy fields gets expiry after the end of production
    /// and the rest of `Policy::new`.
    #[test]
    fn an_old_policy_message_gets_the_defaults() {
        let old = pb::Command {
            kind: Some(pb::command::Kind::Genesis(pb::Genesis {
                policy: Some(pb::Policy {
                    name: "l".into(),
                    unit_wh: 1000,
                    validity_months: 12,
                    max_transfers: Some(1),
                    hourly_matching: true,
                    clock_skew_s: 60,
                    ..Default::default()
                }),
                operator_name: "op".into(),
            })),
        };
        let Ok(Command::Genesis(g)) = command(&old) else { panic!("a genesis") };
        let want = Policy {
            unit_wh: 1000,
            expiry: Expiry::AfterEnd { months: 12 },
            max_transfers: Some(1),
            hourly_matching: true,
            clock_skew_s: 60,
            ..Policy::new("l")
        };
        assert_eq!(g.policy, want);
    }

    #[test]
    fn bad_fields_are_named() {
        let c = Command::CorrectReading(cmd::CorrectReading {
            device: DeviceId("D".into()),
            channel: Channel::Export,
            interval: Interval::new(0, 1),
            energy: Wh(1),
            reason: "r".into(),
            approval: Some(cmd::Approval { regulator: key(1).account(), signature: [0; 64] }),
        });
        let mut msg = command_to_pb(&c);
        let Some(pb::command::Kind::CorrectReading(r)) = &mut msg.kind else { unreachable!() };
        r.channel = "import".into();
        let e = command(&msg).unwrap_err();
        assert_eq!(e.field, "correct_reading.channel");
        assert!(e.reason.contains("\"import\" is not a channel; use one of export, self-use"), "{e}");
        let Some(pb::command::Kind::CorrectReading(r)) = &mut msg.kind else { unreachable!() };
        r.channel = "export".into();
        r.approval.as_mut().unwrap().signature.pop();
        assert_eq!(command(&msg).unwrap_err().field, "correct_reading.approval.signature");

        let mut amend = command_to_pb(&Command::AmendPolicy(cmd::AmendPolicy {
            effective: Timestamp(1),
            policy: Policy::new("l"),
            reason: "r".into(),
        }));
        let Some(pb::command::Kind::AmendPolicy(a)) = &mut amend.kind else { unreachable!() };
        a.policy.as_mut().unwrap().classes.as_mut().unwrap().storage = 0;
        assert_eq!(command(&amend).unwrap_err().field, "amend_policy.policy.classes.storage");
        let Some(pb::command::Kind::AmendPolicy(a)) = &mut amend.kind else { unreachable!() };
        let p = a.policy.as_mut().unwrap();
        p.classes = None;
        p.validity_months = 5;
        let e = command(&amend).unwrap_err();
        assert_eq!(e.field, "amend_policy.policy.validity_months", "{e}");

        let change = pb::Command {
            kind: Some(pb::command::Kind::ChangeDevice(pb::ChangeDevice { device: "D".into(), change: None })),
        };
        assert_eq!(command(&change).unwrap_err().field, "change_device.change");
    }

    /// A retirement message as a client might send it, changed by `edit`; the field its
    /// conversion names.
    fn retire_error(edit: impl FnOnce(&mut pb::Retire)) -> BadField {
        let mut msg = command_to_pb(&Command::Retire(cmd::Retire {
            bundle: BundleId(1),
            serials: SerialRange::new(0, 1),
            beneficiary: Beneficiary::Claimant,
            purpose: Purpose::Cbam,
            consumption: Interval::new(0, 3600),
        }));
        let Some(pb::command::Kind::Retire(r)) = &mut msg.kind else { unreachable!() };
        edit(r);
        command(&msg).unwrap_err()
    }

    #[test]
    fn bad_retirements_parks_and_vintages_are_named() {
        let e = retire_error(|r| r.purpose_code = 9);
        assert_eq!(e.field, "retire.purpose_code");
        assert!(e.reason.contains("9 is not a purpose; use one of re100-cdp, energy-deduction"), "{e}");
        assert_eq!(retire_error(|r| r.purpose_code = 0).field, "retire.purpose_code");
        let e = retire_error(|r| r.purpose_text = "why".into());
        assert_eq!(e.field, "retire.purpose_text");
        assert!(e.reason.contains("only for PURPOSE_OTHER, not cbam"), "{e}");
        let e = retire_error(|r| r.beneficiary = "text".into());
        assert_eq!(e.field, "retire.beneficiary", "{e}");
        assert_eq!(retire_error(|r| r.purpose = "text".into()).field, "retire.purpose");
        let e = retire_error(|r| r.beneficiary_spec = Some(pb::Beneficiary { kind: None }));
        assert_eq!(e.field, "retire.beneficiary_spec", "{e}");
        let e = retire_error(|r| {
            r.beneficiary_spec = Some(pb::Beneficiary { kind: Some(pb::beneficiary::Kind::Account(vec![1; 31])) })
        });
        assert_eq!(
            (e.field, e.reason.as_str()),
            ("retire.beneficiary_spec.account", "must be a 32-byte Ed25519 public key, got 31 bytes")
        );
        // A purpose code without a beneficiary is neither format.
        assert_eq!(retire_error(|r| r.beneficiary_spec = None).field, "retire.beneficiary_spec");

        let join = pb::change_park::Join { account: vec![0; 32], province: "Jiangsu".into(), from: 1 };
        let park = |park: &str, change| pb::Command {
            kind: Some(pb::command::Kind::ChangePark(pb::ChangePark { park: park.into(), change })),
        };
        assert_eq!(command(&park("P", None)).unwrap_err().field, "change_park.change");
        let e = command(&park("a park", Some(pb::change_park::Change::Join(join)))).unwrap_err();
        assert_eq!(e.field, "change_park.park", "{e}");
        let register = pb::Command {
            kind: Some(pb::command::Kind::RegisterPark(pb::RegisterPark {
                park: "P".into(),
                members: vec![pb::ParkSite { account: vec![], province: "Jiangsu".into() }],
                ..Default::default()
            })),
        };
        assert_eq!(command(&register).unwrap_err().field, "register_park.members.account");

        let mut genesis =
            command_to_pb(&Command::Genesis(cmd::Genesis { policy: Policy::new("l"), operator_name: "o".into() }));
        let Some(pb::command::Kind::Genesis(g)) = &mut genesis.kind else { unreachable!() };
        g.policy.as_mut().unwrap().vintage = Some(pb::Vintage { kind: None });
        assert_eq!(command(&genesis).unwrap_err().field, "genesis.policy.vintage");
    }

    /// An old client's retirement (free text, no beneficiary message) is the first format, which
    /// ledgers founded with `genesis_v1` take; its reporting-period fields are absent from its
    /// policies, which then count calendar years with the same-period vintage.
    #[test]
    fn an_old_clients_retirement_is_the_first_format() {
        let old = pb::Command {
            kind: Some(pb::command::Kind::Retire(pb::Retire {
                bundle: 2,
                serials: Some(pb::SerialRange { start: 0, end: 1 }),
                beneficiary: "常州电池厂".into(),
                purpose: "2026 annual report".into(),
                consumption: Some(pb::Interval { start: 0, end: 3600 }),
                ..Default::default()
            })),
        };
        let Ok(Command::RetireV1(r)) = command(&old) else { panic!("the first format: {:?}", command(&old)) };
        assert_eq!((r.beneficiary.as_str(), r.purpose.as_str()), ("常州电池厂", "2026 annual report"));
        let policy = pb::Policy { name: "l".into(), unit_wh: 1, ..Default::default() };
        let g = pb::Command {
            kind: Some(pb::command::Kind::Genesis(pb::Genesis { policy: Some(policy), operator_name: "o".into() })),
        };
        let Ok(Command::Genesis(g)) = command(&g) else { panic!("a genesis") };
        assert_eq!((g.policy.reporting_start_month, g.policy.vintage), (1, Vintage::SameReportingPeriod));
    }
}

//! Parse at the edge: protobuf messages to validated domain commands, and domain records back
//! to protobuf. Every conversion error names the field and the value.

use super::pb;
use greenledger_core::command as cmd;
use greenledger_core::command::{Command, CommandBody, SignedCommand};
use greenledger_core::policy::Policy;
use greenledger_core::rules::Change;
use greenledger_core::state::{self, BundleState};
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

pub fn command(c: &pb::Command) -> Result<Command, BadField> {
    use pb::command::Kind;
    let Some(kind) = &c.kind else { return bad("command", "is empty: set exactly one command kind") };
    Ok(match kind {
        Kind::Genesis(g) => {
            let p = g.policy.as_ref().ok_or(BadField { field: "genesis.policy", reason: "is missing".into() })?;
            Command::Genesis(cmd::Genesis {
                policy: Policy {
                    name: p.name.clone(),
                    unit_wh: p.unit_wh,
                    expiry: greenledger_core::policy::Expiry::AfterEnd { months: p.validity_months },
                    max_transfers: (p.max_transfers != 0).then_some(p.max_transfers),
                    hourly_matching: p.hourly_matching,
                    clock_skew_s: p.clock_skew_s,
                    ..Policy::new(p.name.clone())
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
            technology: Technology::parse(&r.technology).ok_or(BadField {
                field: "register_device.technology",
                reason: format!(
                    "{:?} is not one of wind, solar, hydro, biomass, geothermal, marine, other",
                    r.technology
                ),
            })?,
            capacity_w: r.capacity_w,
            region: r.region.clone(),
            commissioned: Timestamp(r.commissioned),
            attributes: Default::default(),
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
        Kind::Retire(r) => Command::Retire(cmd::Retire {
            bundle: BundleId(r.bundle),
            serials: serials("retire.serials", &r.serials)?,
            beneficiary: r.beneficiary.clone(),
            purpose: r.purpose.clone(),
            consumption: interval("retire.consumption", &r.consumption)?,
        }),
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
    })
}

pub fn body(b: &pb::CommandBody) -> Result<CommandBody, BadField> {
    let c = b.command.as_ref().ok_or(BadField { field: "body.command", reason: "is missing".into() })?;
    Ok(CommandBody { signer: account("body.signer", &b.signer)?, nonce: b.nonce, command: command(c)? })
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

/// Domain command to protobuf (used by clients built on this crate).
pub fn command_to_pb(c: &Command) -> pb::Command {
    use pb::command::Kind;
    let kind = match c.clone() {
        Command::Genesis(cmd::Genesis { policy, operator_name }) => Kind::Genesis(pb::Genesis {
            policy: Some(pb::Policy {
                name: policy.name,
                unit_wh: policy.unit_wh,
                validity_months: match policy.expiry {
                    greenledger_core::policy::Expiry::AfterEnd { months } => months,
                    _ => 0,
                },
                max_transfers: policy.max_transfers.unwrap_or(0),
                hourly_matching: policy.hourly_matching,
                clock_skew_s: policy.clock_skew_s,
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
            ..
        }) => Kind::RegisterDevice(pb::RegisterDevice {
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
            Kind::Retire(pb::Retire {
                bundle: bundle.0,
                serials: sr(serials),
                beneficiary,
                purpose,
                consumption: iv(consumption),
            })
        }
        Command::Withdraw(cmd::Withdraw { bundle, serials, reason }) => {
            Kind::Withdraw(pb::Withdraw { bundle: bundle.0, serials: sr(serials), reason })
        }
        Command::DeclareExclusion(cmd::DeclareExclusion { device, interval, scheme }) => {
            Kind::DeclareExclusion(pb::DeclareExclusion { device: device.0, interval: iv(interval), scheme })
        }
        _ => todo!("new kinds"),
    };
    pb::Command { kind: Some(kind) }
}

pub fn signed_to_pb(s: &SignedCommand) -> pb::SignedCommand {
    pb::SignedCommand {
        body: Some(pb::CommandBody {
            signer: s.body.signer.0.to_vec(),
            nonce: s.body.nonce,
            command: Some(command_to_pb(&s.body.command)),
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
        _ => "other",
    };
    e.kind = kind.into();
    e
}

//! The commands each role signs and submits. One shape for all: parse, build the domain
//! command, sign with `--key`, submit, print the receipt.

use super::client::{self, account_arg, interval_arg};
use super::time::BadInput;
use super::Signer;
use crate::rpc::pb;
use anyhow::{anyhow, bail};
use clap::{Args, Subcommand};
use greenledger_core::command as cmd;
use greenledger_core::command::Command;
use greenledger_core::types::*;

#[derive(Args, Debug)]
pub struct RegisterAccountArgs {
    #[command(flatten)]
    pub signer: Signer,
    /// Account id (64 hex digits) or key file of the new account.
    #[arg(long)]
    pub account: String,
    #[arg(long)]
    pub name: String,
    /// Comma-separated: operator, meter-operator, trading-platform, generator, consumer, regulator.
    #[arg(long, value_delimiter = ',', required = true)]
    pub roles: Vec<String>,
}

#[derive(Args, Debug)]
pub struct RegisterDeviceArgs {
    #[command(flatten)]
    pub signer: Signer,
    #[arg(long)]
    pub device: String,
    /// Owner account id or key file (a generator).
    #[arg(long)]
    pub owner: String,
    /// wind, solar, hydro, biomass, geothermal, marine, other
    #[arg(long)]
    pub technology: String,
    #[arg(long)]
    pub capacity_w: u64,
    /// Grid region or province, e.g. inner_mongolia, jiangsu.
    #[arg(long)]
    pub region: String,
    /// Commissioning date, e.g. 2021-06-30 (midnight UTC), or a time such as 2021-06-30T00:00+08:00.
    #[arg(long)]
    pub commissioned: String,
}

/// A metered interval and its energy.
#[derive(Args, Debug)]
pub struct Metered {
    /// Interval start: 2026-11-20T13:00Z, 2026-11-20T21:00+08:00, Unix seconds or 13-digit
    /// milliseconds (a time without a zone needs --tz).
    #[arg(long)]
    pub start: String,
    /// Interval end (exclusive).
    #[arg(long)]
    pub end: String,
    /// Energy in watt-hours.
    #[arg(long)]
    pub wh: u64,
}

#[derive(Args, Debug)]
pub struct GenerationArgs {
    #[command(flatten)]
    pub signer: Signer,
    #[arg(long)]
    pub device: String,
    #[command(flatten)]
    pub metered: Metered,
}

#[derive(Args, Debug)]
pub struct ConsumptionArgs {
    #[command(flatten)]
    pub signer: Signer,
    /// Consumer account id or key file.
    #[arg(long)]
    pub account: String,
    #[command(flatten)]
    pub metered: Metered,
}

#[derive(Args, Debug)]
pub struct DirectSupplyArgs {
    #[command(flatten)]
    pub signer: Signer,
    #[arg(long)]
    pub device: String,
    #[arg(long)]
    pub consumer: String,
    #[command(flatten)]
    pub metered: Metered,
}

#[derive(Args, Debug)]
pub struct TradeArgs {
    #[command(flatten)]
    pub signer: Signer,
    #[arg(long)]
    pub device: String,
    #[arg(long)]
    pub buyer: String,
    #[command(flatten)]
    pub metered: Metered,
}

#[derive(Args, Debug)]
pub struct IssueArgs {
    #[command(flatten)]
    pub signer: Signer,
    #[arg(long)]
    pub device: String,
    #[arg(long)]
    pub start: String,
    #[arg(long)]
    pub end: String,
}

/// Which serials of a bundle: all of them unless `--first`/`--count` say otherwise.
#[derive(Args, Debug)]
pub struct Part {
    /// The bundle, as printed (B12) or as a number (12).
    #[arg(long, value_parser = client::bundle_arg)]
    pub bundle: u64,
    /// First serial to use (default: the bundle's first).
    #[arg(long)]
    pub first: Option<u64>,
    /// How many certificates (default: to the end of the bundle).
    #[arg(long)]
    pub count: Option<u64>,
}

#[derive(Args, Debug)]
pub struct TransferArgs {
    #[command(flatten)]
    pub signer: Signer,
    #[command(flatten)]
    pub part: Part,
    /// Recipient account id or key file.
    #[arg(long)]
    pub to: String,
}

#[derive(Args, Debug)]
pub struct RetireArgs {
    #[command(flatten)]
    pub signer: Signer,
    #[command(flatten)]
    pub part: Part,
    #[arg(long)]
    pub beneficiary: String,
    #[arg(long)]
    pub purpose: String,
    /// Start of the consumption the claim covers.
    #[arg(long)]
    pub start: String,
    #[arg(long)]
    pub end: String,
}

#[derive(Args, Debug)]
pub struct WithdrawArgs {
    #[command(flatten)]
    pub signer: Signer,
    #[command(flatten)]
    pub part: Part,
    #[arg(long)]
    pub reason: String,
}

#[derive(Args, Debug)]
pub struct ExcludeArgs {
    #[command(flatten)]
    pub signer: Signer,
    #[arg(long)]
    pub device: String,
    #[arg(long)]
    pub start: String,
    #[arg(long)]
    pub end: String,
    /// The other scheme, e.g. CCER, I-REC.
    #[arg(long)]
    pub scheme: String,
}

async fn serials(server: &str, part: &Part) -> anyhow::Result<SerialRange> {
    let mut c = client::connect(server).await?;
    let h = c
        .get_bundle_history(pb::BundleRequest { bundle: part.bundle })
        .await
        .map_err(client::server_error)?
        .into_inner();
    let held = h.bundle.and_then(|b| b.serials).ok_or_else(|| anyhow!("bundle B{} has no serials", part.bundle))?;
    let first = part.first.unwrap_or(held.start);
    let end = match part.count {
        Some(n) => first.checked_add(n).ok_or_else(|| anyhow!("--first + --count overflows"))?,
        None => held.end,
    };
    if first < held.start || end > held.end || first >= end {
        bail!("serials [{first}, {end}) are not inside bundle B{} [{}, {})", part.bundle, held.start, held.end);
    }
    Ok(SerialRange::new(first, end))
}

fn device(s: &str) -> DeviceId {
    DeviceId(s.to_string())
}

fn roles(names: &[String]) -> anyhow::Result<Roles> {
    let valid = || Role::ALL.iter().map(|r| r.name()).collect::<Vec<_>>().join(", ");
    let list = names
        .iter()
        .filter(|n| !n.trim().is_empty())
        .map(|n| Role::parse(n).ok_or_else(|| BadInput(format!("{n:?} is not a role; the roles are: {}", valid()))))
        .collect::<Result<Vec<_>, _>>()?;
    if list.is_empty() {
        return Err(BadInput(format!("--roles needs at least one of: {}", valid())).into());
    }
    Ok(Roles::of(&list))
}

/// The commands each role signs and submits, one variant per kind of command (`Genesis` is
/// `greenledger init`). `run` matches it exhaustively, so a variant without its arm does not
/// compile.
#[derive(Subcommand, Debug)]
pub enum Submit {
    /// Operator: register an account with roles.
    RegisterAccount(RegisterAccountArgs),
    /// Operator: register a generation device.
    RegisterDevice(RegisterDeviceArgs),
    /// Meter operator: post a device's generation reading.
    PostGeneration(GenerationArgs),
    /// Meter operator: post an account's consumption reading.
    PostConsumption(ConsumptionArgs),
    /// Meter operator: post a direct-supply delivery.
    PostDirectSupply(DirectSupplyArgs),
    /// Trading platform: settle a green-power trade.
    SettleTrade(TradeArgs),
    /// Generator: issue the certificates of a reading.
    Issue(IssueArgs),
    /// Owner: transfer certificates.
    Transfer(TransferArgs),
    /// Owner: retire certificates for a claim.
    Retire(RetireArgs),
    /// Regulator: withdraw certificates.
    Withdraw(WithdrawArgs),
    /// Regulator: declare a device's output used in another scheme.
    Exclude(ExcludeArgs),
}

/// The subcommand that submits each kind of command (`greenledger <name> --help`). The match is
/// exhaustive on purpose: a new kind of command does not compile until the command line can
/// submit it, and a test checks that every name here is a real subcommand.
pub fn subcommand(c: &Command) -> &'static str {
    match c {
        Command::Genesis(_) => "init",
        Command::RegisterAccount(_) => "register-account",
        Command::RegisterDevice(_) => "register-device",
        Command::PostGeneration(_) => "post-generation",
        Command::PostConsumption(_) => "post-consumption",
        Command::PostDirectSupply(_) => "post-direct-supply",
        Command::SettleTrade(_) => "settle-trade",
        Command::Issue(_) => "issue",
        Command::Transfer(_) => "transfer",
        Command::Retire(_) => "retire",
        Command::Withdraw(_) => "withdraw",
        Command::DeclareExclusion(_) => "exclude",
        _ => todo!("new kinds"),
    }
}

/// Builds the domain command of a submitting subcommand and submits it.
pub async fn run(top: Submit) -> anyhow::Result<()> {
    let (signer, command) = match top {
        Submit::RegisterAccount(a) => {
            let cmd = Command::RegisterAccount(cmd::RegisterAccount {
                account: account_arg(&a.account)?,
                name: a.name,
                roles: roles(&a.roles)?,
            });
            (a.signer, cmd)
        }
        Submit::RegisterDevice(a) => {
            let cmd = Command::RegisterDevice(cmd::RegisterDevice {
                device: device(&a.device),
                owner: account_arg(&a.owner)?,
                technology: Technology::parse(&a.technology).ok_or_else(|| {
                    BadInput(format!(
                        "{:?} is not a technology; use wind, solar, hydro, biomass, geothermal, marine or other",
                        a.technology
                    ))
                })?,
                capacity_w: a.capacity_w,
                region: a.region,
            commissioned: Timestamp(super::time::parse_date(&a.commissioned)?),
            attributes: Default::default(),
            });
            (a.signer, cmd)
        }
        Submit::PostGeneration(a) => {
            let m = &a.metered;
            let cmd = Command::PostGeneration(cmd::PostGeneration {
                device: device(&a.device),
                interval: interval_arg(&m.start, &m.end)?,
                energy: Wh(m.wh),
            });
            (a.signer, cmd)
        }
        Submit::PostConsumption(a) => {
            let m = &a.metered;
            let cmd = Command::PostConsumption(cmd::PostConsumption {
                account: account_arg(&a.account)?,
                interval: interval_arg(&m.start, &m.end)?,
                energy: Wh(m.wh),
            });
            (a.signer, cmd)
        }
        Submit::PostDirectSupply(a) => {
            let m = &a.metered;
            let cmd = Command::PostDirectSupply(cmd::PostDirectSupply {
                device: device(&a.device),
                consumer: account_arg(&a.consumer)?,
                interval: interval_arg(&m.start, &m.end)?,
                energy: Wh(m.wh),
            });
            (a.signer, cmd)
        }
        Submit::SettleTrade(a) => {
            let m = &a.metered;
            let cmd = Command::SettleTrade(cmd::SettleTrade {
                device: device(&a.device),
                interval: interval_arg(&m.start, &m.end)?,
                buyer: account_arg(&a.buyer)?,
                energy: Wh(m.wh),
            });
            (a.signer, cmd)
        }
        Submit::Issue(a) => {
            let cmd =
                Command::Issue(cmd::Issue { device: device(&a.device), interval: interval_arg(&a.start, &a.end)? });
            (a.signer, cmd)
        }
        Submit::Transfer(a) => {
            let cmd = Command::Transfer(cmd::Transfer {
                bundle: BundleId(a.part.bundle),
                serials: serials(&a.signer.conn.server, &a.part).await?,
                to: account_arg(&a.to)?,
            });
            (a.signer, cmd)
        }
        Submit::Retire(a) => {
            let cmd = Command::Retire(cmd::Retire {
                bundle: BundleId(a.part.bundle),
                serials: serials(&a.signer.conn.server, &a.part).await?,
                beneficiary: a.beneficiary,
                purpose: a.purpose,
                consumption: interval_arg(&a.start, &a.end)?,
            });
            (a.signer, cmd)
        }
        Submit::Withdraw(a) => {
            let cmd = Command::Withdraw(cmd::Withdraw {
                bundle: BundleId(a.part.bundle),
                serials: serials(&a.signer.conn.server, &a.part).await?,
                reason: a.reason,
            });
            (a.signer, cmd)
        }
        Submit::Exclude(a) => {
            let cmd = Command::DeclareExclusion(cmd::DeclareExclusion {
                device: device(&a.device),
                interval: interval_arg(&a.start, &a.end)?,
                scheme: a.scheme,
            });
            (a.signer, cmd)
        }
    };
    let key = client::read_key(&signer.key)?;
    client::submit(&signer.conn.server, &key, command, signer.conn.json).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// One command of every kind, from the golden encoding vectors (which cover every kind).
    fn one_of_each_kind() -> Vec<Command> {
        let vectors: serde_json::Value =
            serde_json::from_str(include_str!("../../core/tests/vectors/commands.json")).expect("vectors");
        let list = vectors.get("vectors").and_then(|v| v.as_array()).expect("a list of vectors");
        list.iter()
            .map(|v| {
                let entry: greenledger_core::Entry = serde_json::from_value(v["entry"].clone()).expect("an entry");
                entry.signed.body.command
            })
            .collect()
    }

    #[test]
    fn every_kind_has_a_subcommand_that_exists() {
        let commands = one_of_each_kind();
        let mut kinds: Vec<&str> = commands.iter().map(Command::kind).collect();
        kinds.sort();
        kinds.dedup();
        assert_eq!(kinds.len(), Command::KINDS.len(), "the vectors cover every kind");
        let cli = super::super::Cli::command();
        for c in &commands {
            let name = subcommand(c);
            assert!(cli.find_subcommand(name).is_some(), "{} has no subcommand {name:?}", c.kind());
        }
    }
}

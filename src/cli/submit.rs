//! The commands each role signs and submits. One shape for all: parse, build the domain
//! command, sign with `--key`, submit, print the receipt.

use super::admin::PolicyArgs;
use super::client::{self, account_arg, interval_arg};
use super::time::BadInput;
use super::Signer;
use crate::rpc::pb;
use anyhow::{anyhow, bail};
use clap::{Args, Subcommand};
use greenledger_core::command as cmd;
use greenledger_core::command::{Beneficiary, Command, DeviceChange, ParkChange, Purpose};
use greenledger_core::policy::Policy;
use greenledger_core::state::DeviceAttributes;
use greenledger_core::types::*;
use std::path::PathBuf;

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
    #[command(flatten)]
    pub attributes: AttributeArgs,
}

/// The attributes of a device that decide the class of its certificates (the policy's class
/// table). None of them: a grid-connected unit.
#[derive(Args, Debug)]
pub struct AttributeArgs {
    /// Not connected to the public grid (离网).
    #[arg(long)]
    pub off_grid: bool,
    /// Conventional hydro (not pumped storage, not small hydro).
    #[arg(long)]
    pub conventional_hydro: bool,
    /// An independent storage station: everything it delivers is storage discharge.
    #[arg(long)]
    pub storage: bool,
    /// Its output makes hydrogen (风光制氢).
    #[arg(long)]
    pub hydrogen: bool,
    /// Receives central subsidy or a 机制电价.
    #[arg(long)]
    pub subsidised: bool,
    /// The user of self-consumed output (自发自用) when it is not the owner: account id or key file (a consumer).
    #[arg(long)]
    pub user: Option<String>,
}

impl AttributeArgs {
    fn any(&self) -> bool {
        self.off_grid
            || self.conventional_hydro
            || self.storage
            || self.hydrogen
            || self.subsidised
            || self.user.is_some()
    }

    fn attributes(&self) -> anyhow::Result<DeviceAttributes> {
        Ok(DeviceAttributes {
            off_grid: self.off_grid,
            conventional_hydro: self.conventional_hydro,
            storage: self.storage,
            hydrogen: self.hydrogen,
            subsidised: self.subsidised,
            user: self.user.as_deref().map(account_arg).transpose()?,
        })
    }
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

/// Whom a claim is for: another account, a batch of a product, or (neither given) the
/// claimant itself.
#[derive(Args, Debug, Default)]
pub struct BeneficiaryArgs {
    /// The claim is for this account (a customer, a subsidiary; a consumer) and is capped by its
    /// metered consumption: account id or key file.
    #[arg(long, value_name = "ACCOUNT")]
    pub for_account: Option<String>,
    /// The claim is for a batch of this product (a footprint or a label); with --quantity and --unit.
    #[arg(long, value_name = "NAME")]
    pub product: Option<String>,
    /// How much of the product, in --unit.
    #[arg(long, value_name = "N")]
    pub quantity: Option<u64>,
    /// The product's unit, e.g. cells, t, pieces.
    #[arg(long, value_name = "U")]
    pub unit: Option<String>,
}

impl BeneficiaryArgs {
    fn beneficiary(&self) -> anyhow::Result<Beneficiary> {
        let product_flags = self.product.is_some() || self.quantity.is_some() || self.unit.is_some();
        match (&self.for_account, product_flags) {
            (Some(_), true) => Err(BadInput(
                "a claim is for one beneficiary: give --for-account ACCOUNT, or --product NAME --quantity N --unit U, \
                 not both"
                    .into(),
            )
            .into()),
            (Some(account), false) => Ok(Beneficiary::Account { account: account_arg(account)? }),
            (None, true) => match (&self.product, self.quantity, &self.unit) {
                (Some(product), Some(quantity), Some(unit)) => {
                    Ok(Beneficiary::Product { product: product.clone(), quantity, unit: unit.clone() })
                }
                _ => {
                    Err(BadInput("a product beneficiary needs all of --product NAME --quantity N --unit U".into())
                        .into())
                }
            },
            (None, false) => Ok(Beneficiary::Claimant),
        }
    }
}

/// `--purpose NAME` and, for `other`, `--purpose-text TEXT`.
fn purpose_arg(name: &str, text: Option<&str>) -> Result<Purpose, BadInput> {
    let names = Purpose::NAMES.join(", ");
    match (name.trim(), text) {
        ("other", None) => {
            Err(BadInput("--purpose other needs --purpose-text TEXT saying what the claim is for".into()))
        }
        (n, Some(t)) if n != "other" => {
            Err(BadInput(format!("--purpose-text {t:?} goes only with --purpose other; {n:?} is a documented purpose")))
        }
        (n, t) => Purpose::parse(n, t).ok_or_else(|| BadInput(format!("{n:?} is not a purpose; use one of {names}"))),
    }
}

#[derive(Args, Debug)]
pub struct RetireArgs {
    #[command(flatten)]
    pub signer: Signer,
    #[command(flatten)]
    pub part: Part,
    #[command(flatten)]
    pub beneficiary: BeneficiaryArgs,
    /// re100-cdp, energy-deduction, renewable-quota, product-footprint, cbam, or other (with
    /// --purpose-text).
    #[arg(long)]
    pub purpose: String,
    /// What the claim is for, with --purpose other.
    #[arg(long, value_name = "TEXT")]
    pub purpose_text: Option<String>,
    /// Start of the consumption the claim covers (inside one reporting period, tiled by whole
    /// consumption readings).
    #[arg(long)]
    pub start: String,
    #[arg(long)]
    pub end: String,
}

#[derive(Args, Debug)]
pub struct RegisterParkArgs {
    #[command(flatten)]
    pub signer: Signer,
    /// The park's code: 1 to 64 ASCII letters, digits, '-', '_' or '.'.
    #[arg(long)]
    pub park: String,
    #[arg(long)]
    pub name: String,
    /// The park's province (or grid region).
    #[arg(long)]
    pub province: String,
    /// Every member listed is a member from this time.
    #[arg(long)]
    pub since: String,
    /// A member and the province of its site, ACCOUNT=PROVINCE (account id or key file); repeat
    /// for each member.
    #[arg(long = "member", value_name = "ACCOUNT=PROVINCE")]
    pub members: Vec<String>,
}

#[derive(Args, Debug)]
pub struct ParkJoinArgs {
    #[command(flatten)]
    pub signer: Signer,
    #[arg(long)]
    pub park: String,
    /// The joining account (a consumer): id or key file.
    #[arg(long)]
    pub account: String,
    /// The province (or grid region) of its site.
    #[arg(long)]
    pub province: String,
    /// A member from this time.
    #[arg(long)]
    pub from: String,
}

#[derive(Args, Debug)]
pub struct ParkLeaveArgs {
    #[command(flatten)]
    pub signer: Signer,
    #[arg(long)]
    pub park: String,
    /// The leaving member: account id or key file.
    #[arg(long)]
    pub account: String,
    /// No longer a member from this time.
    #[arg(long)]
    pub at: String,
}

/// `--member ACCOUNT=PROVINCE`.
fn site_arg(s: &str) -> anyhow::Result<cmd::Site> {
    let Some((account, province)) = s.rsplit_once('=').filter(|(a, p)| !a.trim().is_empty() && !p.trim().is_empty())
    else {
        return Err(BadInput(format!("--member {s:?}: write ACCOUNT=PROVINCE, e.g. factory.key=Jiangsu")).into());
    };
    Ok(cmd::Site { account: account_arg(account.trim())?, province: province.trim().to_string() })
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

/// A device's reading on a channel over an interval (`post-reading`, `correct-reading`).
#[derive(Args, Debug)]
pub struct ChannelReading {
    #[arg(long)]
    pub device: String,
    /// export, self-use, storage-charge or storage-discharge.
    #[arg(long, value_parser = channel_arg)]
    pub channel: Channel,
    /// Interval start: 2026-11-20T13:00Z, 2026-11-20T21:00+08:00, Unix seconds or 13-digit
    /// milliseconds (a time without a zone needs --tz).
    #[arg(long, visible_alias = "start")]
    pub from: String,
    /// Interval end (exclusive).
    #[arg(long, visible_alias = "end")]
    pub to: String,
    /// Energy in watt-hours.
    #[arg(long)]
    pub wh: u64,
}

fn channel_arg(s: &str) -> Result<Channel, String> {
    Channel::parse(s).ok_or_else(|| {
        format!(
            "{s:?} is not a channel; use one of {}",
            Channel::ALL.iter().filter(|c| c.is_device_channel()).map(|c| c.name()).collect::<Vec<_>>().join(", ")
        )
    })
}

#[derive(Args, Debug)]
pub struct PostReadingArgs {
    #[command(flatten)]
    pub signer: Signer,
    #[command(flatten)]
    pub reading: ChannelReading,
}

#[derive(Args, Debug)]
pub struct CorrectReadingArgs {
    #[command(flatten)]
    pub signer: Signer,
    /// The reading to correct (exactly its interval) and its corrected energy.
    #[command(flatten)]
    pub reading: ChannelReading,
    #[arg(long)]
    pub reason: String,
    /// A regulator's key file: co-sign the correction here (needed after the policy's
    /// correction window).
    #[arg(long)]
    pub approval_key: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct AmendPolicyArgs {
    #[command(flatten)]
    pub signer: Signer,
    /// When the amended policy takes effect (now or later; amendments never reach back).
    #[arg(long)]
    pub effective: String,
    /// The policy: the ledger's latest one (read from its log), or the --preset named, with the
    /// overrides given. The ledger's name and certificate unit never change.
    #[command(flatten)]
    pub policy: PolicyArgs,
    #[arg(long)]
    pub reason: String,
}

#[derive(Args, Debug)]
pub struct ChangeDeviceArgs {
    #[command(flatten)]
    pub signer: Signer,
    #[arg(long)]
    pub device: String,
    /// Hand the device to this account (a generator): id or key file.
    #[arg(long)]
    pub owner: Option<String>,
    /// Decommission the device at this time: no readings may end after it.
    #[arg(long)]
    pub decommission: Option<String>,
    /// Set the attributes to exactly the attribute flags given (with none of them: a plain
    /// grid-connected unit).
    #[arg(long)]
    pub plain: bool,
    #[command(flatten)]
    pub attributes: AttributeArgs,
}

#[derive(Args, Debug)]
pub struct SettleMonthArgs {
    #[command(flatten)]
    pub signer: Signer,
    #[arg(long)]
    pub device: String,
    /// Start of the settlement period.
    #[arg(long)]
    pub from: String,
    /// End of the settlement period (exclusive).
    #[arg(long)]
    pub to: String,
    /// Buyer account id or key file (a consumer).
    #[arg(long)]
    pub buyer: String,
    /// Energy settled, in watt-hours.
    #[arg(long)]
    pub wh: u64,
    /// Price in fen (0.01 CNY) per MWh.
    #[arg(long)]
    pub price_fen_per_mwh: u64,
    /// For a distributed-generation trade (隔墙售电): the network charge (过网费) in fen per MWh.
    #[arg(long)]
    pub network_charge_fen_per_mwh: Option<u64>,
}

#[derive(Args, Debug)]
pub struct IssueMonthArgs {
    #[command(flatten)]
    pub signer: Signer,
    #[arg(long)]
    pub device: String,
    /// The month, YYYY-MM, in the policy's zone (GEC: Beijing time).
    #[arg(long, value_parser = month_arg)]
    pub month: (u32, u32),
}

fn month_arg(s: &str) -> Result<(u32, u32), String> {
    let bad = || format!("{s:?} is not a month: write YYYY-MM, e.g. 2026-11");
    let (y, m) = s.trim().split_once('-').ok_or_else(bad)?;
    let (y, m): (u32, u32) = (y.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if !(1..=12).contains(&m) || y < 1970 {
        return Err(bad());
    }
    Ok((y, m))
}

#[derive(Args, Debug)]
pub struct ResolveArgs {
    #[command(flatten)]
    pub signer: Signer,
    /// The frozen bundle, as printed (B12) or as a number (12).
    #[arg(long, value_parser = client::bundle_arg)]
    pub bundle: u64,
    #[arg(long)]
    pub reason: String,
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

fn reading(r: &ChannelReading) -> anyhow::Result<cmd::PostMeterReading> {
    Ok(cmd::PostMeterReading {
        device: device(&r.device),
        channel: r.channel,
        interval: interval_arg(&r.from, &r.to)?,
        energy: Wh(r.wh),
    })
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
    /// Owner (a consumer): retire certificates for a claim, for a beneficiary and a purpose.
    Retire(RetireArgs),
    /// Regulator: withdraw certificates.
    Withdraw(WithdrawArgs),
    /// Regulator: declare a device's output used in another scheme.
    Exclude(ExcludeArgs),
    /// Meter operator: post a device's reading on a channel (export, self-use, storage).
    PostReading(PostReadingArgs),
    /// Meter operator: correct a reading, with a reason (and a regulator's co-signature after the window).
    CorrectReading(CorrectReadingArgs),
    /// Regulator: amend the policy from a date on.
    AmendPolicy(AmendPolicyArgs),
    /// Operator: change a device's owner or attributes, or decommission it.
    ChangeDevice(ChangeDeviceArgs),
    /// Trading platform: settle a device's output over a period, with price.
    SettleMonth(SettleMonthArgs),
    /// Operator (issuing body): issue a device's readings of a month.
    IssueMonth(IssueMonthArgs),
    /// Regulator: unfreeze frozen certificates (the other scheme did not use the output).
    Unfreeze(ResolveArgs),
    /// Regulator: cancel frozen certificates (the other scheme used the output).
    CancelFrozen(ResolveArgs),
    /// Operator: register a park (零碳园区) and its members.
    RegisterPark(RegisterParkArgs),
    /// Operator: a member joins a park from a date.
    ParkJoin(ParkJoinArgs),
    /// Operator: a member leaves a park at a date.
    ParkLeave(ParkLeaveArgs),
}

/// The subcommand that submits each kind of command (`greenledger <name> --help`). The match is
/// exhaustive on purpose: a new kind of command does not compile until the command line can
/// submit it, and a test checks that every name here is a real subcommand.
pub fn subcommand(c: &Command) -> &'static str {
    match c {
        Command::Genesis(_) | Command::GenesisV1(_) => "init",
        Command::RegisterAccount(_) => "register-account",
        Command::RegisterDevice(_) | Command::RegisterDeviceV1(_) => "register-device",
        Command::PostGeneration(_) => "post-generation",
        Command::PostConsumption(_) => "post-consumption",
        Command::PostDirectSupply(_) => "post-direct-supply",
        Command::SettleTrade(_) => "settle-trade",
        Command::Issue(_) => "issue",
        Command::Transfer(_) => "transfer",
        Command::Retire(_) | Command::RetireV1(_) => "retire",
        Command::RegisterPark(_) => "register-park",
        Command::ChangePark(c) => match c.change {
            ParkChange::Join { .. } => "park-join",
            ParkChange::Leave { .. } => "park-leave",
        },
        Command::Withdraw(_) => "withdraw",
        Command::DeclareExclusion(_) => "exclude",
        Command::PostMeterReading(_) => "post-reading",
        Command::CorrectReading(_) => "correct-reading",
        Command::AmendPolicy(_) => "amend-policy",
        Command::ChangeDevice(_) => "change-device",
        Command::SettleMonth(_) => "settle-month",
        Command::IssueMonth(_) => "issue-month",
        Command::ResolveFrozen(r) if r.cancel => "cancel-frozen",
        Command::ResolveFrozen(_) => "unfreeze",
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
                attributes: a.attributes.attributes()?,
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
            let beneficiary = a.beneficiary.beneficiary()?;
            let purpose = purpose_arg(&a.purpose, a.purpose_text.as_deref())?;
            let consumption = interval_arg(&a.start, &a.end)?;
            let cmd = Command::Retire(cmd::Retire {
                bundle: BundleId(a.part.bundle),
                serials: serials(&a.signer.conn.server, &a.part).await?,
                beneficiary,
                purpose,
                consumption,
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
        Submit::PostReading(a) => (a.signer, Command::PostMeterReading(reading(&a.reading)?)),
        Submit::CorrectReading(a) => {
            let cmd::PostMeterReading { device, channel, interval, energy } = reading(&a.reading)?;
            let mut c = cmd::CorrectReading { device, channel, interval, energy, reason: a.reason, approval: None };
            if let Some(path) = &a.approval_key {
                let regulator = client::read_key(path)?;
                let mut conn = client::connect(&a.signer.conn.server).await?;
                c = c.approved(&regulator, &client::ledger_name(&mut conn).await?);
            }
            (a.signer, Command::CorrectReading(c))
        }
        Submit::AmendPolicy(a) => {
            let mut conn = client::connect(&a.signer.conn.server).await?;
            let current = client::current_policy(&mut conn).await?;
            let base = match &a.policy.preset {
                // A preset for this ledger: its name, and the unit it was founded with.
                Some(_) => Policy { unit_wh: current.unit_wh, ..a.policy.preset("gec", &current.name) },
                None => current,
            };
            let cmd = Command::AmendPolicy(cmd::AmendPolicy {
                effective: Timestamp(client::time_arg(&a.effective)?),
                policy: a.policy.apply(base),
                reason: a.reason,
            });
            (a.signer, cmd)
        }
        Submit::ChangeDevice(a) => {
            let attributes = a.plain || a.attributes.any();
            let change = match (&a.owner, &a.decommission, attributes) {
                (Some(owner), None, false) => DeviceChange::Owner(account_arg(owner)?),
                (None, Some(at), false) => DeviceChange::Decommission(Timestamp(client::time_arg(at)?)),
                (None, None, true) => DeviceChange::Attributes(a.attributes.attributes()?),
                _ => {
                    return Err(BadInput(
                        "change-device changes one thing: give --owner, --decommission, or the attribute flags                          (--plain for none)"
                            .into(),
                    )
                    .into())
                }
            };
            (a.signer, Command::ChangeDevice(cmd::ChangeDevice { device: device(&a.device), change }))
        }
        Submit::SettleMonth(a) => {
            let cmd = Command::SettleMonth(cmd::SettleMonth {
                device: device(&a.device),
                period: interval_arg(&a.from, &a.to)?,
                buyer: account_arg(&a.buyer)?,
                energy: Wh(a.wh),
                price_fen_per_mwh: a.price_fen_per_mwh,
                network_charge_fen_per_mwh: a.network_charge_fen_per_mwh,
            });
            (a.signer, cmd)
        }
        Submit::IssueMonth(a) => {
            let (year, month) = a.month;
            (a.signer, Command::IssueMonth(cmd::IssueMonth { device: device(&a.device), year, month }))
        }
        Submit::Unfreeze(a) => {
            let cmd = cmd::ResolveFrozen { bundle: BundleId(a.bundle), cancel: false, reason: a.reason };
            (a.signer, Command::ResolveFrozen(cmd))
        }
        Submit::CancelFrozen(a) => {
            let cmd = cmd::ResolveFrozen { bundle: BundleId(a.bundle), cancel: true, reason: a.reason };
            (a.signer, Command::ResolveFrozen(cmd))
        }
        Submit::RegisterPark(a) => {
            let cmd = Command::RegisterPark(cmd::RegisterPark {
                park: ParkId(a.park),
                name: a.name,
                province: a.province,
                since: Timestamp(client::time_arg(&a.since)?),
                members: a.members.iter().map(|m| site_arg(m)).collect::<anyhow::Result<_>>()?,
            });
            (a.signer, cmd)
        }
        Submit::ParkJoin(a) => {
            let change = ParkChange::Join {
                account: account_arg(&a.account)?,
                province: a.province,
                from: Timestamp(client::time_arg(&a.from)?),
            };
            (a.signer, Command::ChangePark(cmd::ChangePark { park: ParkId(a.park), change }))
        }
        Submit::ParkLeave(a) => {
            let change =
                ParkChange::Leave { account: account_arg(&a.account)?, at: Timestamp(client::time_arg(&a.at)?) };
            (a.signer, Command::ChangePark(cmd::ChangePark { park: ParkId(a.park), change }))
        }
    };
    let key = client::read_key(&signer.key)?;
    client::submit(&signer.conn.server, &key, command, signer.valid_for, signer.conn.json).await?;
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
    fn beneficiaries_and_purposes_refuse_bad_combinations() {
        let account = "ab".repeat(32);
        let b = |for_account: Option<&str>, product: Option<&str>, quantity: Option<u64>, unit: Option<&str>| {
            BeneficiaryArgs {
                for_account: for_account.map(Into::into),
                product: product.map(Into::into),
                quantity,
                unit: unit.map(Into::into),
            }
            .beneficiary()
            .map_err(|e| e.to_string())
        };
        assert_eq!(b(None, None, None, None), Ok(Beneficiary::Claimant));
        let id = AccountId::from_hex(&account).unwrap();
        assert_eq!(b(Some(&account), None, None, None), Ok(Beneficiary::Account { account: id }));
        assert_eq!(
            b(None, Some("cell"), Some(5), Some("pieces")),
            Ok(Beneficiary::Product { product: "cell".into(), quantity: 5, unit: "pieces".into() })
        );
        assert!(b(Some(&account), Some("cell"), Some(5), Some("pieces")).unwrap_err().contains("not both"));
        assert!(b(Some(&account), None, Some(5), None).unwrap_err().contains("not both"));
        assert!(b(None, Some("cell"), None, Some("t")).unwrap_err().contains("needs all of --product"));

        assert_eq!(purpose_arg("cbam", None), Ok(Purpose::Cbam));
        assert_eq!(purpose_arg("other", Some("bond")), Ok(Purpose::Other("bond".into())));
        assert!(purpose_arg("other", None).unwrap_err().0.contains("needs --purpose-text"));
        assert!(purpose_arg("cbam", Some("x")).unwrap_err().0.contains("only with --purpose other"));
        let e = purpose_arg("scope2", None).unwrap_err().0;
        assert!(e.contains("\"scope2\" is not a purpose; use one of re100-cdp, energy-deduction"), "{e}");

        assert_eq!(site_arg(&format!("{account}=Jiangsu")).unwrap().province, "Jiangsu");
        assert!(site_arg(&account).unwrap_err().to_string().contains("ACCOUNT=PROVINCE"));
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

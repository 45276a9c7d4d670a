//! `greenledger report`: green consumption statements read from a local ledger directory.
//!
//! Text by default, `--format json` for scripts, `--format html` for a self-contained page. The
//! ledger is opened directly with `--data DIR` (its store is locked while a server runs it), or
//! asked over RPC with `--server ADDR`. Every statement is signed by the ledger's log key
//! (see [`greenledger_core::accounting::signed`]): `--signed` writes the signed note too, and
//! `greenledger verify-statement` checks one. `--format json` prints the signed statement's
//! JSON (the statement with the ledger, checkpoint and claim list), pretty-printed.

use super::admin::DataDir;
use super::client::{account_arg, block_on, time_arg};
use super::proof::Source;
use super::statement_text::cancellation_text;
use super::statement_text::{consumption_text, park_text};
use crate::rpc::pb;
use anyhow::{anyhow, bail, Context as _};
use clap::{Args, Subcommand, ValueEnum};
use greenledger_core::accounting::factors::{self, Factors};
use greenledger_core::accounting::hourly::Statement;
use greenledger_core::accounting::cancellation::Certificate;
use greenledger_core::accounting::html;
use greenledger_core::accounting::park::{ParkSpec, ParkStatement};
use greenledger_core::accounting::signed::{self, Signed};
use greenledger_core::types::Timestamp;
use serde::de::DeserializeOwned;
use std::path::{Path, PathBuf};

#[derive(Subcommand, Debug)]
pub enum Report {
    /// Green consumption statement of one account, hour by hour: 24/7 matched and annual-volume
    /// shares side by side, and the claims behind every hour.
    Consumption(ConsumptionArgs),
    /// Cancellation certificate (注销证明) of a beneficiary account for one reporting year, for
    /// RE100/CDP: every claim for it with instrument, class, province, technology, vintage and
    /// the device's commissioning date, with totals.
    Cancellation(CancellationArgs),
    /// Zero-carbon park statement: members added up without double counting, clean share,
    /// market-based and location-based emissions side by side.
    Park(ParkArgs),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
    /// A self-contained page; the consumption statement has an inline SVG chart.
    Html,
}

#[derive(Args, Debug)]
pub struct ConsumptionArgs {
    #[command(flatten)]
    pub source: Source,
    /// Account id (64 hex digits) or its key file.
    #[arg(long)]
    pub account: String,
    /// Start of the period, on a whole UTC hour: 2026-01-01T00:00Z, 2026-01-01T08:00+08:00 or Unix
    /// seconds (a time without a zone needs --tz).
    #[arg(long)]
    pub from: String,
    /// End of the period (exclusive), on a whole UTC hour.
    #[arg(long)]
    pub to: String,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    #[command(flatten)]
    pub output: Output,
}

/// Where the statement goes, and its signed note.
#[derive(Args, Debug, Clone)]
pub struct Output {
    /// Write the statement to this file instead of printing it.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Also write the statement signed by the ledger's log key (a C2SP signed note of its
    /// canonical JSON) next to --out, with the extension .note; without --out, print only the
    /// signed note. Check it with `greenledger verify-statement`.
    #[arg(long)]
    pub signed: bool,
}

#[derive(Args, Debug)]
pub struct ParkArgs {
    #[command(flatten)]
    pub source: Source,
    /// Member accounts, comma separated (ids or key files).
    #[arg(long, value_delimiter = ',', required_unless_present = "park_file", conflicts_with = "park_file")]
    pub members: Vec<String>,
    /// A park file instead: {"name": "...", "members": ["<account hex>", ...]}.
    #[arg(long)]
    pub park_file: Option<PathBuf>,
    /// Park name (with --members).
    #[arg(long, default_value = "park")]
    pub name: String,
    /// Start of the period, on a whole UTC hour. Default: the start of the members' metering.
    #[arg(long)]
    pub from: Option<String>,
    /// End of the period (exclusive). Default: the end of the members' metering.
    #[arg(long)]
    pub to: Option<String>,
    /// Year of the published factors in data/china-grid-factors.json.
    #[arg(long, default_value_t = 2022)]
    pub factor_year: u16,
    /// Grid region (north, northeast, east, central, northwest, south, southwest) or listed
    /// province for the location-based factor; national average when omitted.
    #[arg(long)]
    pub region: Option<String>,
    /// Residual factor in kgCO2/kWh instead of the published one (market-based).
    #[arg(long)]
    pub residual_factor: Option<String>,
    /// Average factor in kgCO2/kWh instead of the published one (location-based).
    #[arg(long)]
    pub location_factor: Option<String>,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    #[command(flatten)]
    pub output: Output,
}

pub fn run(r: Report) -> anyhow::Result<()> {
    match r {
        Report::Consumption(a) => consumption(a),
        Report::Cancellation(a) => cancellation(a),
        Report::Park(a) => park(a),
    }
}

fn consumption(a: ConsumptionArgs) -> anyhow::Result<()> {
    let account = account_arg(&a.account)?;
    let (from, to) = (time_arg(&a.from)?, time_arg(&a.to)?);
    let signed = match (&a.source.server, &a.source.data) {
        (Some(server), _) => {
            let req = pb::ConsumptionStatementRequest { account: account.0.to_vec(), from, to };
            remote(server, Ask::Consumption(req))?
        }
        (None, Some(dir)) => {
            let ledger = open_local(dir)?;
            crate::statements::consumption_signed(&ledger, &account, from, to)?.1
        }
        (None, None) => bail!("give --server or --data"),
    };
    let s: Statement = inner(&signed.json)?;
    if s.totals.consumption_wh == 0 {
        eprintln!(
            "note: no consumption is metered for this account from {} to {}; check --from and --to",
            Timestamp(from),
            Timestamp(to)
        );
    }
    let body = match a.format {
        Format::Json => pretty(&signed.json)?,
        Format::Text => consumption_text(&s),
        Format::Html => html::consumption_page(&s),
    };
    emit(&a.output, &body, &signed)
}

fn park(a: ParkArgs) -> anyhow::Result<()> {
    let (name, members) = match &a.park_file {
        Some(p) => {
            let text = std::fs::read_to_string(p).with_context(|| format!("cannot read park file {}", p.display()))?;
            let spec = ParkSpec::from_json(&text).map_err(anyhow::Error::msg)?;
            (spec.name, spec.members)
        }
        None => (a.name.clone(), a.members.iter().map(|m| account_arg(m.trim())).collect::<anyhow::Result<Vec<_>>>()?),
    };
    let period = match (&a.from, &a.to) {
        (Some(f), Some(t)) => Some((time_arg(f)?, time_arg(t)?)),
        (None, None) => None,
        _ => bail!("give both --from and --to, or neither (the members' metered span)"),
    };
    let signed = match (&a.source.server, &a.source.data) {
        (Some(server), _) => {
            let req = pb::ParkStatementRequest {
                name,
                members: members.iter().map(|m| m.0.to_vec()).collect(),
                from: period.map(|p| p.0),
                to: period.map(|p| p.1),
                factor_year: a.factor_year.into(),
                region: a.region.clone(),
                residual_factor: a.residual_factor.clone(),
                location_factor: a.location_factor.clone(),
            };
            remote(server, Ask::Park(req))?
        }
        (None, Some(dir)) => {
            let factors = choose_factors(&a)?;
            let ledger = open_local(dir)?;
            crate::statements::park_signed(&ledger, &name, &members, period, &factors)?.2
        }
        (None, None) => bail!("give --server or --data"),
    };
    let p: ParkStatement = inner(&signed.json)?;
    let body = match a.format {
        Format::Json => pretty(&signed.json)?,
        Format::Text => park_text(&p),
        Format::Html => html::park_page(&p),
    };
    emit(&a.output, &body, &signed)
}

/// The published factors of the year and region, with explicit factors taking their place.
fn choose_factors(a: &ParkArgs) -> anyhow::Result<Factors> {
    factors::choose(
        a.factor_year,
        a.region.as_deref(),
        a.residual_factor.as_deref(),
        a.location_factor.as_deref(),
        "on the command line",
    )
    .map_err(
        |e| {
            if a.residual_factor.is_none() {
                anyhow!("{e}: pass it with --residual-factor")
            } else {
                e.into()
            }
        },
    )
}

#[derive(Args, Debug)]
pub struct CancellationArgs {
    #[command(flatten)]
    pub source: Source,
    /// The beneficiary: account id (64 hex digits) or its key file.
    #[arg(long)]
    pub beneficiary: String,
    /// The reporting year (the policy's reporting period starting in it, in the policy's zone).
    #[arg(long)]
    pub year: i32,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    #[command(flatten)]
    pub output: Output,
}

fn cancellation(a: CancellationArgs) -> anyhow::Result<()> {
    let beneficiary = account_arg(&a.beneficiary)?;
    let signed = match (&a.source.server, &a.source.data) {
        (Some(server), _) => {
            let req = pb::CancellationCertificateRequest { beneficiary: beneficiary.0.to_vec(), year: a.year };
            remote(server, Ask::Cancellation(req))?
        }
        (None, Some(dir)) => {
            let ledger = open_local(dir)?;
            crate::statements::cancellation_signed(&ledger, &beneficiary, a.year.into())?.1
        }
        (None, None) => bail!("give --server or --data"),
    };
    let c: Certificate = inner(&signed.json)?;
    if c.claims.is_empty() {
        eprintln!("note: no claims for this beneficiary in reporting period {}", c.reporting_period);
    }
    let body = match a.format {
        Format::Json => pretty(&signed.json)?,
        Format::Text => cancellation_text(&c),
        Format::Html => html::cancellation_page(&c),
    };
    emit(&a.output, &body, &signed)
}

/// The ledger in `dir`, read directly.
fn open_local(dir: &Path) -> anyhow::Result<crate::ledger::Ledger<crate::store::SledStore>> {
    DataDir(dir.to_path_buf()).open()
}

/// A statement asked of a server.
enum Ask {
    Consumption(pb::ConsumptionStatementRequest),
    Cancellation(pb::CancellationCertificateRequest),
    Park(pb::ParkStatementRequest),
}

fn remote(server: &str, ask: Ask) -> anyhow::Result<Signed> {
    let server = server.to_string();
    let mut out = None;
    let slot = &mut out;
    block_on(async move {
        let mut c = super::client::connect(&server).await?;
        let st = |s: tonic::Status| anyhow!("{:?}: {}", s.code(), s.message());
        let r = match ask {
            Ask::Consumption(req) => c.get_consumption_statement(req).await.map_err(st)?,
            Ask::Cancellation(req) => c.get_cancellation_certificate(req).await.map_err(st)?,
            Ask::Park(req) => c.get_park_statement(req).await.map_err(st)?,
        }
        .into_inner();
        *slot = Some(Signed { json: r.json, note: r.signed_note });
        Ok(())
    })?;
    out.ok_or_else(|| anyhow!("no answer from the server"))
}

/// The `statement` of a canonical statement JSON.
fn inner<T: DeserializeOwned>(json: &str) -> anyhow::Result<T> {
    Ok(signed::inner(json)?)
}

fn pretty(json: &str) -> anyhow::Result<String> {
    let v: serde_json::Value = serde_json::from_str(json)?;
    Ok(format!("{}\n", serde_json::to_string_pretty(&v)?))
}

/// Where `--signed` writes the note next to `out`: the same name with the extension `.note`.
pub fn note_path(out: &Path) -> PathBuf {
    let p = out.with_extension("note");
    if p == out {
        PathBuf::from(format!("{}.note", out.display()))
    } else {
        p
    }
}

fn emit(o: &Output, body: &str, signed: &Signed) -> anyhow::Result<()> {
    let Some(out) = &o.out else {
        print!("{}", if o.signed { &signed.note } else { body });
        return Ok(());
    };
    std::fs::write(out, body).with_context(|| format!("cannot write {}", out.display()))?;
    println!("wrote {}", out.display());
    if o.signed {
        let np = note_path(out);
        std::fs::write(&np, &signed.note).with_context(|| format!("cannot write {}", np.display()))?;
        println!("wrote the signed statement {}; check it with:", np.display());
        println!("  greenledger verify-statement {} --log-key LOG_KEY", np.display());
    }
    Ok(())
}

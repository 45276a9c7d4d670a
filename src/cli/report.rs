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
use super::statement_text::consumption_text;
use crate::rpc::pb;
use anyhow::{anyhow, bail, Context as _};
use clap::{Args, Subcommand, ValueEnum};
use greenledger_core::accounting::cancellation::Certificate;
use greenledger_core::accounting::factors::{self, Factors};
use greenledger_core::accounting::hourly::Statement;
use greenledger_core::accounting::html;
use greenledger_core::accounting::park::{self, Declared, ParkSpec, ParkStatement};
use greenledger_core::accounting::product::{self, DeclaredKwh, ProductStatement};
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
    /// Zero-carbon park statement from the park registered on the ledger (--park): members for
    /// the hours they are members, hourly and per member, clean share, Scope 2 market-based and
    /// location-based (each member's own factor), carbon per unit of energy, energy traded inside.
    Park(ParkArgs),
    /// Product batch statement: green electricity per unit, source mix, footprint, and the
    /// direct-supply evidence CBAM accepts.
    Product(ProductArgs),
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
    /// The code of a park registered on the ledger: its members, their dates and sites come
    /// from there (needs --from and --to).
    #[arg(long, conflicts_with_all = ["members", "park_file", "region", "residual_factor", "location_factor"])]
    pub park: Option<String>,
    /// The first form: member accounts, comma separated (ids or key files), members for the
    /// whole period with one location factor (--region).
    #[arg(long, value_delimiter = ',', conflicts_with = "park_file")]
    pub members: Vec<String>,
    /// The first form, from a file: {"name": "...", "members": ["<account hex>", ...]}.
    #[arg(long)]
    pub park_file: Option<PathBuf>,
    /// Park name (with --members).
    #[arg(long, default_value = "park")]
    pub name: String,
    /// Start of the period, on a whole UTC hour. Default (first form only): the start of the
    /// members' metering.
    #[arg(long)]
    pub from: Option<String>,
    /// End of the period (exclusive). Default (first form only): the end of the members' metering.
    #[arg(long)]
    pub to: Option<String>,
    /// Year of the published factors in data/china-grid-factors.json. Default: the newest year
    /// in the data (2022 for the first form).
    #[arg(long)]
    pub factor_year: Option<u16>,
    /// Non-electric energy of the park in tce (as declared, e.g. 1200.5): gives the carbon per
    /// unit of energy (electricity at 0.1229 kgce/kWh, GB/T 2589-2020).
    #[arg(long)]
    pub non_electric_tce: Option<String>,
    /// First form: grid region (north, northeast, east, central, northwest, south, southwest) or
    /// province for the location-based factor; national average when omitted.
    #[arg(long)]
    pub region: Option<String>,
    /// First form: residual factor in kgCO2/kWh instead of the published one (market-based).
    #[arg(long)]
    pub residual_factor: Option<String>,
    /// First form: average factor in kgCO2/kWh instead of the published one (location-based).
    #[arg(long)]
    pub location_factor: Option<String>,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    #[command(flatten)]
    pub output: Output,
}

#[derive(Args, Debug)]
pub struct ProductArgs {
    #[command(flatten)]
    pub source: Source,
    /// The claimant: account id (64 hex digits) or its key file.
    #[arg(long)]
    pub claimant: String,
    /// The product named by the claims (their beneficiary, Beneficiary::Product).
    #[arg(long)]
    pub product: String,
    /// The reporting year (its first calendar year), in the policy's zone.
    #[arg(long)]
    pub year: i64,
    /// The batch's electricity in kWh, as declared (e.g. 1500.5): the rest beyond the claims is
    /// counted at the grid residual factor.
    #[arg(long)]
    pub electricity_kwh: Option<String>,
    /// Year of the factors in data/china-grid-factors.json. Default: the newest in the data.
    #[arg(long)]
    pub factor_year: Option<u16>,
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
        Report::Product(a) => product(a),
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
        Format::Html => html::consumption_page_at(&s, html::Computed::of_json(&signed.json).as_ref()),
    };
    emit(&a.output, &body, &signed)
}

fn park(a: ParkArgs) -> anyhow::Result<()> {
    if let Some(code) = &a.park {
        return park_from_ledger(&a, code);
    }
    if a.members.is_empty() && a.park_file.is_none() {
        bail!("give --park (a park on the ledger), or --members or --park-file");
    }
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
    // The member statements, for the page's member charts (a server sends the park's only).
    let mut statements = Vec::new();
    let signed = match (&a.source.server, &a.source.data) {
        (Some(server), _) => {
            let req = pb::ParkStatementRequest {
                name,
                members: members.iter().map(|m| m.0.to_vec()).collect(),
                from: period.map(|p| p.0),
                to: period.map(|p| p.1),
                factor_year: a.factor_year.unwrap_or(2022).into(),
                region: a.region.clone(),
                residual_factor: a.residual_factor.clone(),
                location_factor: a.location_factor.clone(),
                park: None,
                non_electric_tce: None,
            };
            remote(server, Ask::Park(req))?
        }
        (None, Some(dir)) => {
            let factors = choose_factors(&a)?;
            let ledger = open_local(dir)?;
            let (_, m, signed) = crate::statements::park_signed(&ledger, &name, &members, period, &factors)?;
            statements = m;
            signed
        }
        (None, None) => bail!("give --server or --data"),
    };
    emit_park(&a, &signed, &statements)
}

/// Prints or writes a park statement in the asked format; the members' statements, when at hand,
/// give the page a chart per member.
fn emit_park(a: &ParkArgs, signed: &Signed, statements: &[Statement]) -> anyhow::Result<()> {
    let p: ParkStatement = inner(&signed.json)?;
    let body = match a.format {
        Format::Json => pretty(&signed.json)?,
        Format::Text => park::text(&p),
        Format::Html => html::park_page_at(&p, statements, html::Computed::of_json(&signed.json).as_ref()),
    };
    emit(&a.output, &body, signed)
}

/// The statement of a park registered on the ledger.
fn park_from_ledger(a: &ParkArgs, code: &str) -> anyhow::Result<()> {
    let (Some(from), Some(to)) = (&a.from, &a.to) else {
        bail!("a park statement from the ledger needs --from and --to");
    };
    let (from, to) = (time_arg(from)?, time_arg(to)?);
    let mut statements = Vec::new();
    let signed = match (&a.source.server, &a.source.data) {
        (Some(server), _) => {
            let req = pb::ParkStatementRequest {
                name: String::new(),
                members: Vec::new(),
                from: Some(from),
                to: Some(to),
                factor_year: a.factor_year.map_or(0, u32::from),
                region: None,
                residual_factor: None,
                location_factor: None,
                park: Some(code.to_string()),
                non_electric_tce: a.non_electric_tce.clone(),
            };
            remote(server, Ask::Park(req))?
        }
        (None, Some(dir)) => {
            use crate::statements::park_product::{park_from_ledger_signed, ParkAsk};
            let non_electric = a.non_electric_tce.as_deref().map(Declared::parse_tce).transpose()?;
            let ask = ParkAsk {
                park: greenledger_core::types::ParkId(code.to_string()),
                from,
                to,
                factor_year: a.factor_year,
                non_electric,
            };
            let (_, m, signed) = park_from_ledger_signed(&open_local(dir)?, &ask)?;
            statements = m;
            signed
        }
        (None, None) => bail!("give --server or --data"),
    };
    emit_park(a, &signed, &statements)
}

fn product(a: ProductArgs) -> anyhow::Result<()> {
    let claimant = account_arg(&a.claimant)?;
    let signed = match (&a.source.server, &a.source.data) {
        (Some(server), _) => {
            let req = pb::ProductStatementRequest {
                claimant: claimant.0.to_vec(),
                product: a.product.clone(),
                year: a.year,
                electricity_kwh: a.electricity_kwh.clone(),
                factor_year: a.factor_year.map_or(0, u32::from),
            };
            remote(server, Ask::Product(req))?
        }
        (None, Some(dir)) => {
            use crate::statements::park_product::{product_signed, ProductAsk};
            let electricity = a.electricity_kwh.as_deref().map(DeclaredKwh::parse).transpose()?;
            let ask = ProductAsk {
                claimant,
                product: a.product.clone(),
                year: a.year,
                electricity,
                factor_year: a.factor_year,
            };
            product_signed(&open_local(dir)?, &ask)?.1
        }
        (None, None) => bail!("give --server or --data"),
    };
    let p: ProductStatement = inner(&signed.json)?;
    let body = match a.format {
        Format::Json => pretty(&signed.json)?,
        Format::Text => product::text(&p),
        Format::Html => html::product_page_at(&p, html::Computed::of_json(&signed.json).as_ref()),
    };
    emit(&a.output, &body, &signed)
}

/// The published factors of the year and region, with explicit factors taking their place.
fn choose_factors(a: &ParkArgs) -> anyhow::Result<Factors> {
    factors::choose(
        a.factor_year.unwrap_or(2022),
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
        Format::Html => html::cancellation_page_at(&c, html::Computed::of_json(&signed.json).as_ref()),
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
    Product(pb::ProductStatementRequest),
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
            Ask::Product(req) => c.get_product_statement(req).await.map_err(st)?,
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

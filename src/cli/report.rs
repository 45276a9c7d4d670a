//! `greenledger report`: green consumption statements read from a local ledger directory.
//!
//! Text by default, `--format json` for scripts, `--format html` for a self-contained page. The ledger is opened directly (its store is
//! locked while a server runs it); a report over RPC is future work.

use super::admin::DataDir;
use super::client::{account_arg, time_arg};
use crate::accounting::factors::{self, Factor, Factors, SourcedFactor};
use crate::accounting::hourly::{statement, Statement};
use crate::accounting::html;
use crate::accounting::load::account_records;
use crate::accounting::park::{park_statement, Figures, ParkSpec, ParkStatement};
use crate::accounting::{Period, HOUR};
use crate::domain::types::{AccountId, Interval, Timestamp};
use anyhow::{bail, Context as _};
use clap::{Args, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Subcommand, Debug)]
pub enum Report {
    /// Green consumption statement of one account, hour by hour: 24/7 matched and annual-volume
    /// shares side by side, and the claims behind every hour.
    Consumption(ConsumptionArgs),
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
    /// Ledger directory (as created by `greenledger init`).
    #[arg(long)]
    pub data: PathBuf,
    /// Account id (64 hex digits) or its key file.
    #[arg(long)]
    pub account: String,
    /// Start of the period, on a whole UTC hour: Unix seconds or 2026-01-01T00:00Z.
    #[arg(long)]
    pub from: String,
    /// End of the period (exclusive), on a whole UTC hour.
    #[arg(long)]
    pub to: String,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Args, Debug)]
pub struct ParkArgs {
    /// Ledger directory (as created by `greenledger init`).
    #[arg(long)]
    pub data: PathBuf,
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
}

pub fn run(r: Report) -> anyhow::Result<()> {
    match r {
        Report::Consumption(a) => consumption(a),
        Report::Park(a) => park(a),
    }
}

fn consumption(a: ConsumptionArgs) -> anyhow::Result<()> {
    let ledger = DataDir(a.data.clone()).open()?;
    let account = account_arg(&a.account)?;
    let period = Period::new(time_arg(&a.from)?, time_arg(&a.to)?)?;
    let records = account_records(&ledger, &account, period.interval)?;
    let s = statement(&records, period.interval.start.0, period.interval.end.0)?;
    match a.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&s)?),
        Format::Text => print!("{}", consumption_text(&s)),
        Format::Html => print!("{}", html::consumption_page(&s)),
    }
    Ok(())
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
    let factors = choose_factors(&a)?;
    let ledger = DataDir(a.data.clone()).open()?;
    let interval = match (&a.from, &a.to) {
        (Some(f), Some(t)) => Interval::new(time_arg(f)?, time_arg(t)?),
        (None, None) => metered_span(&members, |id| Ok(ledger.account(id)?.metered))?,
        _ => bail!("give both --from and --to, or neither (the members' metered span)"),
    };
    let period = Period::new(interval.start.0, interval.end.0)?;
    let statements = members
        .iter()
        .map(|m| {
            let records = account_records(&ledger, m, period.interval)?;
            Ok(statement(&records, period.interval.start.0, period.interval.end.0)?)
        })
        .collect::<anyhow::Result<Vec<Statement>>>()?;
    let p = park_statement(&name, &statements, &factors)?;
    match a.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&p)?),
        Format::Text => print!("{}", park_text(&p)),
        Format::Html => print!("{}", html::park_page(&p)),
    }
    Ok(())
}

/// The published factors of the year and region, with explicit factors taking their place.
fn choose_factors(a: &ParkArgs) -> anyhow::Result<Factors> {
    let given = |s: &Option<String>, what: &str| -> anyhow::Result<Option<SourcedFactor>> {
        s.as_deref()
            .map(|s| {
                Ok(SourcedFactor::new(Factor::parse_kg_per_kwh(s)?, format!("given on the command line ({what})")))
            })
            .transpose()
    };
    let residual = match given(&a.residual_factor, "--residual-factor")? {
        Some(f) => f,
        None => factors::residual(a.factor_year).map_err(|e| anyhow::anyhow!("{e}: pass it with --residual-factor"))?,
    };
    let location = match given(&a.location_factor, "--location-factor")? {
        Some(f) => f,
        None => factors::location(a.factor_year, a.region.as_deref())?,
    };
    Ok(Factors { residual, location })
}

/// The smallest span of whole hours covering every member's metered consumption.
fn metered_span(
    members: &[AccountId],
    metered: impl Fn(&AccountId) -> anyhow::Result<Option<Interval>>,
) -> anyhow::Result<Interval> {
    let mut span: Option<(u64, u64)> = None;
    for m in members {
        if let Some(i) = metered(m)? {
            span = Some(match span {
                None => (i.start.0, i.end.0),
                Some((s, e)) => (s.min(i.start.0), e.max(i.end.0)),
            });
        }
    }
    let Some((s, e)) = span else { bail!("no member has metered consumption; give --from and --to") };
    Ok(Interval::new(s / HOUR * HOUR, e.div_ceil(HOUR) * HOUR))
}

fn t(secs: u64) -> String {
    Timestamp(secs).to_string()
}

/// Grams as kilograms with three decimals.
fn kg(g: u64) -> String {
    format!("{}.{:03} kg", g / 1000, g % 1000)
}

pub fn consumption_text(s: &Statement) -> String {
    use std::fmt::Write as _;
    let mut o = String::new();
    let tt = &s.totals;
    let _ = writeln!(o, "Green consumption statement of {} ({})", s.name, s.account);
    let _ = writeln!(o, "period {} .. {} ({} hours, UTC)", t(s.period.start.0), t(s.period.end.0), s.hours.len());
    let _ = writeln!(o, "Green energy counts only through retired certificates (claims), each Wh once.\n");
    let _ = writeln!(
        o,
        "{:<20} {:>14} {:>12} {:>12} {:>12} {:>12} {:>12}  claims",
        "hour", "consumption Wh", "direct Wh", "trade Wh", "certs Wh", "green Wh", "matched Wh"
    );
    for h in &s.hours {
        let claims: Vec<String> = h.backing.iter().map(|b| format!("C{}:{}", b.claim, b.wh)).collect();
        let _ = writeln!(
            o,
            "{:<20} {:>14} {:>12} {:>12} {:>12} {:>12} {:>12}  {}",
            t(h.start),
            h.consumption_wh,
            h.direct_wh,
            h.trade_wh,
            h.certificates_wh,
            h.green_wh,
            h.matched_wh,
            claims.join(" ")
        );
    }
    let _ = writeln!(o, "\ntotals");
    let _ = writeln!(o, "  consumption           {} Wh", tt.consumption_wh);
    let _ = writeln!(
        o,
        "  green (claimed)       {} Wh = direct supply {} + green-power trade {} + certificates {}",
        tt.green_wh, tt.direct_wh, tt.trade_wh, tt.certificates_wh
    );
    let _ = writeln!(
        o,
        "  24/7 matched          {} Wh: hourly-matched share {}",
        tt.matched_wh,
        tt.hourly_matched.percent()
    );
    let _ = writeln!(o, "  annual-volume share   {} (green / consumption, capped at 100%)", tt.annual_volume.percent());
    let _ = writeln!(
        o,
        "  unmatched green       {} Wh (above its own hour's consumption; not carried to other hours)",
        tt.unmatched_green_wh
    );
    let _ = writeln!(
        o,
        "  delivered (info only) direct supply {} Wh, green-power trade {} Wh: these count once their certificates are retired",
        tt.delivered_direct_wh, tt.delivered_trade_wh
    );
    let _ = writeln!(o, "\nclaims ({})", s.claims.len());
    for c in &s.claims {
        let _ = writeln!(
            o,
            "  C{} {} {} bundle B{} entry #{}: {} Wh produced {}, claimed for consumption {}; counted {} Wh, outside period {} Wh, not for this consumption {} Wh; {:?} for {:?}",
            c.claim,
            c.source.name(),
            c.device,
            c.bundle,
            c.entry,
            c.energy_wh,
            c.production,
            c.consumption,
            c.counted_wh,
            c.outside_period_wh,
            c.not_for_this_consumption_wh,
            c.beneficiary,
            c.purpose
        );
    }
    o
}

pub fn park_text(p: &ParkStatement) -> String {
    use std::fmt::Write as _;
    let mut o = String::new();
    let _ = writeln!(o, "Park statement: {} ({} members)", p.name, p.members.len());
    let _ = writeln!(o, "period {} .. {} (UTC)", t(p.period.start.0), t(p.period.end.0));
    let _ =
        writeln!(o, "market-based factor   {} kgCO2/kWh: {}", p.factors.residual.kg_per_kwh, p.factors.residual.source);
    let _ =
        writeln!(o, "location-based factor {} kgCO2/kWh: {}", p.factors.location.kg_per_kwh, p.factors.location.source);
    let _ = writeln!(
        o,
        "Green energy counts only through retired certificates (claims): energy moved between members counts once.\n"
    );
    let _ = writeln!(
        o,
        "{:<24} {:>14} {:>12} {:>14} {:>9} {:>9} {:>18} {:>18}",
        "member", "consumption Wh", "green Wh", "grid Wh", "clean", "24/7", "market-based", "location-based"
    );
    let row = |o: &mut String, label: &str, f: &Figures| {
        let _ = writeln!(
            o,
            "{:<24} {:>14} {:>12} {:>14} {:>9} {:>9} {:>18} {:>18}",
            label,
            f.consumption_wh,
            f.green_counted_wh,
            f.grid_wh,
            f.clean_share.percent(),
            f.hourly_matched.percent(),
            kg(f.market_based_g),
            kg(f.location_based_g)
        );
    };
    for m in &p.members {
        let name: String = m.name.chars().take(15).collect();
        let label = format!("{name} {}", &m.account[..8]);
        row(&mut o, &label, &m.figures);
    }
    row(&mut o, "park total", &p.total);
    let f = &p.total;
    let _ = writeln!(
        o,
        "\ngreen by source: direct supply {} Wh, green-power trade {} Wh, certificates {} Wh (claimed {} Wh, counted against consumption {} Wh)",
        f.direct_wh, f.trade_wh, f.certificates_wh, f.green_wh, f.green_counted_wh
    );
    let _ = writeln!(
        o,
        "market-based = grid Wh x residual factor; location-based = consumption Wh x average factor; CO2 in kg"
    );
    o
}

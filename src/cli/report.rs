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
use crate::rpc::pb;
use anyhow::{anyhow, bail, Context as _};
use clap::{Args, Subcommand, ValueEnum};
use greenledger_core::accounting::factors::{self, Factors};
use greenledger_core::accounting::hourly::Statement;
use greenledger_core::accounting::html;
use greenledger_core::accounting::park::{Figures, ParkSpec, ParkStatement};
use greenledger_core::accounting::signed::{self, open_statement, Signed};
use greenledger_core::log::NoteVerifier;
use greenledger_core::types::Timestamp;
use serde::de::DeserializeOwned;
use std::path::{Path, PathBuf};

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

#[derive(Args, Debug)]
pub struct VerifyStatementArgs {
    /// The signed statement (the .note written by `greenledger report ... --signed`).
    pub file: PathBuf,
    /// The ledger's trusted verifier key (name+hash+base64), or a file holding it (log.pub).
    #[arg(long)]
    pub log_key: String,
    /// Print `{"verified": true, "file", "checks": [...], "statement": {...}}` instead of text.
    #[arg(long)]
    pub json: bool,
    /// A claim proof bundle (from `greenledger proof`) to verify with the same key and match
    /// against the statement's claim list by retirement entry and claimant (repeatable).
    #[arg(long = "proof")]
    pub proofs: Vec<PathBuf>,
}

pub fn run(r: Report) -> anyhow::Result<()> {
    match r {
        Report::Consumption(a) => consumption(a),
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

/// The ledger in `dir`, read directly.
fn open_local(dir: &Path) -> anyhow::Result<crate::ledger::Ledger<crate::store::SledStore>> {
    DataDir(dir.to_path_buf()).open()
}

/// A statement asked of a server.
enum Ask {
    Consumption(pb::ConsumptionStatementRequest),
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

/// A key given inline or as the path of a file holding it.
fn key_text(s: &str) -> anyhow::Result<String> {
    let p = Path::new(s);
    if !s.contains('+') && p.exists() {
        let text = std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?;
        return Ok(text.trim().to_string());
    }
    Ok(s.trim().to_string())
}

/// `greenledger verify-statement`: checks a signed statement offline with the log key.
pub fn verify_statement(a: VerifyStatementArgs) -> anyhow::Result<()> {
    let note = std::fs::read_to_string(&a.file).with_context(|| format!("cannot read {}", a.file.display()))?;
    let key = key_text(&a.log_key)?;
    let verifier = NoteVerifier::parse(&key).map_err(|e| anyhow!("log key {key:?}: {e}"))?;
    let checked = open_statement(&note, &verifier).map_err(anyhow::Error::from).and_then(|v| {
        let mut lines = describe(&v, &verifier).context("the signature verifies but the statement cannot be read")?;
        for p in &a.proofs {
            lines.push(match_proof(&v, p, &key)?);
        }
        Ok((v, lines))
    });
    match checked {
        Ok((v, lines)) if a.json => {
            println!(
                "{}",
                serde_json::json!({"verified": true, "file": a.file.display().to_string(), "checks": lines, "statement": v})
            );
            Ok(())
        }
        Ok((_, lines)) => {
            println!("VERIFIED {}", a.file.display());
            for line in lines {
                println!("  - {line}");
            }
            Ok(())
        }
        Err(e) => {
            if !a.json {
                println!("REFUSED {}", a.file.display());
                println!("  check failed: {e:#}");
            }
            Err(super::CheckFailed(format!("verification failed: {e:#}")).into())
        }
    }
}

/// Verifies the claim proof bundle `path` with `key` and finds its claim in the statement.
fn match_proof(v: &serde_json::Value, path: &Path, key: &str) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let proof = greenledger_core::proof::verify_json(&text, key, &[], 0)
        .map_err(|e| anyhow!("proof bundle {} does not verify: {e}", path.display()))?;
    let claims: Vec<signed::ClaimRef> = serde_json::from_value(v["claims"].clone())?;
    let s = &proof.summary;
    let Some(c) = claims.iter().find(|c| c.entry == s.claim_entry) else {
        bail!(
            "proof bundle {}: its claim (retirement entry #{}) is not among the statement's claims",
            path.display(),
            s.claim_entry
        )
    };
    if c.account != s.claimant {
        bail!(
            "proof bundle {}: the claim at entry #{} is by {}, the statement lists it for {}",
            path.display(),
            s.claim_entry,
            s.claimant,
            c.account
        );
    }
    Ok(format!(
        "proof bundle {} verifies: its claim at entry #{} is C{} of the statement ({} Wh retired, {} Wh counted)",
        path.display(),
        s.claim_entry,
        c.claim,
        s.energy_wh,
        c.counted_wh
    ))
}

/// What a verified statement says, in words.
fn describe(v: &serde_json::Value, key: &NoteVerifier) -> anyhow::Result<Vec<String>> {
    #[derive(serde::Deserialize)]
    struct Envelope {
        kind: String,
        ledger: String,
        checkpoint: signed::At,
        claims: Vec<signed::ClaimRef>,
        statement: serde_json::Value,
    }
    let e: Envelope = serde_json::from_value(v.clone())?;
    let mut out = vec![
        format!("signed by the log key of ledger {} (key ID {:08x})", e.ledger, key.key_hash()),
        format!("computed at the ledger's checkpoint of size {} (root {})", e.checkpoint.size, e.checkpoint.root),
    ];
    match e.kind.as_str() {
        "consumption" => {
            let s: Statement = serde_json::from_value(e.statement)?;
            let tt = &s.totals;
            out.push(format!(
                "green consumption statement of {} ({}), {} .. {} ({} hours, UTC)",
                s.name,
                s.account,
                t(s.period.start.0),
                t(s.period.end.0),
                s.hours.len()
            ));
            out.push(format!(
                "consumption {} Wh, green (claimed) {} Wh, 24/7 matched {} Wh: hourly-matched share {}, annual-volume share {}",
                tt.consumption_wh,
                tt.green_wh,
                tt.matched_wh,
                tt.hourly_matched.percent(),
                tt.annual_volume.percent()
            ));
        }
        "park" => {
            let p: ParkStatement = serde_json::from_value(e.statement)?;
            let f = &p.total;
            out.push(format!(
                "park statement {:?} ({} members), {} .. {} (UTC)",
                p.name,
                p.members.len(),
                t(p.period.start.0),
                t(p.period.end.0)
            ));
            out.push(format!(
                "consumption {} Wh, green counted {} Wh (clean share {}, 24/7 share {}), market-based {}, location-based {} CO2",
                f.consumption_wh,
                f.green_counted_wh,
                f.clean_share.percent(),
                f.hourly_matched.percent(),
                kg(f.market_based_g),
                kg(f.location_based_g)
            ));
        }
        other => bail!("unknown statement kind {other:?}"),
    }
    out.push(format!(
        "{} claims, each with the log index of its retirement entry (`greenledger verify` of a claim's proof bundle prints \"claim at entry #N\"):",
        e.claims.len()
    ));
    for c in &e.claims {
        let account = c.account.get(..16).unwrap_or(&c.account);
        out.push(format!("  C{} retired at entry #{} by {account}, {} Wh counted", c.claim, c.entry, c.counted_wh));
    }
    Ok(out)
}

fn t(secs: u64) -> String {
    Timestamp(secs).to_string()
}

/// Grams as kilograms with three decimals.
fn kg(g: u64) -> String {
    format!("{}.{:03} kg", g / 1000, g % 1000)
}

pub fn consumption_text(s: &Statement) -> String {
    consumption_text_trimmed(s, usize::MAX, usize::MAX)
}

/// The statement as text, with at most `max_hours` hour lines and `max_claims` claim lines (the
/// totals always cover the whole period).
pub fn consumption_text_trimmed(s: &Statement, max_hours: usize, max_claims: usize) -> String {
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
    for h in s.hours.iter().take(max_hours) {
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
    if s.hours.len() > max_hours {
        let _ = writeln!(o, "... {} more hours (in the full statement)", s.hours.len() - max_hours);
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
    for c in s.claims.iter().take(max_claims) {
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
    if s.claims.len() > max_claims {
        let _ = writeln!(o, "  ... {} more claims (in the full statement)", s.claims.len() - max_claims);
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

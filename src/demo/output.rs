//! What the demo prints and writes: the table of enterprises and the signed statements.

use super::{Actors, Report, HOURS, MWH};
use crate::rpc::pb;
use crate::testkit::client::Signing;
use anyhow::anyhow;
use greenledger_core::accounting::cancellation::Certificate;
use greenledger_core::accounting::hourly::Statement;
use greenledger_core::accounting::park::ParkStatement;
use greenledger_core::accounting::product::{self, ProductStatement};
use greenledger_core::accounting::{html, signed};
use greenledger_core::types::Timestamp;
use std::path::Path;

/// The factories' consumption statements and the park statement, asked of the server like any
/// client would, signed by the ledger; the park statement is written to `dir`.
pub(super) async fn statements(
    d: &mut Signing,
    a: &Actors,
    dir: &Path,
    start: u64,
    log_key: &greenledger_core::log::NoteVerifier,
) -> anyhow::Result<()> {
    let (from, to) = (start, start + HOURS * 3600);
    // The period, for `report consumption --from "$(cat DIR/period-from)" --to "$(cat DIR/period-to)"`.
    std::fs::write(dir.join("period-from"), format!("{}\n", Timestamp(from)))?;
    std::fs::write(dir.join("period-to"), format!("{}\n", Timestamp(to)))?;
    // The reporting year, for `report cancellation --year "$(cat DIR/reporting-year)"`.
    std::fs::write(dir.join("reporting-year"), format!("{}\n", reporting_year(from)))?;
    for (k, file) in [(&a.battery, "battery-statement.txt"), (&a.modules, "modules-statement.txt")] {
        let r = d
            .client
            .get_consumption_statement(pb::ConsumptionStatementRequest { account: k.account().0.to_vec(), from, to })
            .await
            .map_err(|e| anyhow!("consumption statement: {}", e.message()))?
            .into_inner();
        let s: Statement = signed::inner(&r.json)?;
        let path = dir.join(file);
        std::fs::write(&path, crate::cli::statement_text::consumption_text(&s))?;
        let short = crate::cli::statement_text::consumption_text_trimmed(&s, 24, 3)
            .replace("(in the full statement)", &format!("(in the full statement, {})", path.display()));
        println!("\n{short}");
        println!("full statement written to {}", path.display());
    }
    let r = d
        .client
        .get_park_statement(pb::ParkStatementRequest {
            name: String::new(),
            members: Vec::new(),
            from: Some(from),
            to: Some(to),
            factor_year: FACTOR_YEAR,
            region: None,
            residual_factor: None,
            location_factor: None,
            park: Some(super::PARK.into()),
            // The park's declared non-electric energy over the three days (natural gas for
            // the module factory's furnaces), in tonnes of standard coal equivalent.
            non_electric_tce: Some(NON_ELECTRIC_TCE.into()),
        })
        .await
        .map_err(|e| anyhow!("park statement: {}", e.message()))?
        .into_inner();
    // The demo checks the signature as any recipient would.
    signed::open_statement(&r.signed_note, log_key)?;
    let p: ParkStatement = signed::inner(&r.json)?;
    // The hour lines are in the files; the first six here.
    let text = greenledger_core::accounting::park::text(&p);
    let hours_at = text
        .find("\nhour (")
        .map_or(text.len(), |i| text[i + 1..].match_indices('\n').nth(6).map_or(text.len(), |(j, _)| i + 1 + j));
    println!("\n{}\n... (every hour in the files below)", &text[..hours_at]);
    let pretty = serde_json::to_string_pretty(&serde_json::from_str::<serde_json::Value>(&r.json)?)?;
    let (html, json, note) =
        (dir.join("park-statement.html"), dir.join("park-statement.json"), dir.join("park-statement.note"));
    std::fs::write(&html, html::park_page_at(&p, &[], html::Computed::of_json(&r.json).as_ref()))?;
    std::fs::write(&json, format!("{pretty}\n"))?;
    std::fs::write(&note, &r.signed_note)?;
    println!(
        "park statement written to {} (page), {} (JSON) and {} (signed by the ledger); check the signature with:\n  {} verify-statement {} --log-key '{log_key}'",
        html.display(),
        json.display(),
        note.display(),
        program(),
        note.display()
    );
    cancellation(d, a, dir, from, log_key).await?;
    product(d, a, dir, from, log_key).await
}

/// The year of the published factors the demo's statements use.
const FACTOR_YEAR: u32 = 2023;
/// The park's declared non-electric energy over the demo's three days, tce.
const NON_ELECTRIC_TCE: &str = "180";
/// The battery batch's electricity as declared by the factory, kWh.
const BATCH_KWH: &str = "150000";

/// The reporting year of `t` in the demo ledger's policy (GEC: the calendar year in Beijing time).
fn reporting_year(t: u64) -> i64 {
    let policy = greenledger_core::Policy::preset("gec", "demo").expect("a preset");
    policy.zone.month_of(Timestamp(t)).0
}

/// Writes a signed statement as `name.json`, `name.note` and, given, `name.html` / `name.txt`.
fn write_statement(
    dir: &Path,
    name: &str,
    r: &pb::StatementResponse,
    pages: &[(&str, String)],
    log_key: &greenledger_core::log::NoteVerifier,
) -> anyhow::Result<()> {
    signed::open_statement(&r.signed_note, log_key)?;
    let pretty = serde_json::to_string_pretty(&serde_json::from_str::<serde_json::Value>(&r.json)?)?;
    std::fs::write(dir.join(format!("{name}.json")), format!("{pretty}\n"))?;
    std::fs::write(dir.join(format!("{name}.note")), &r.signed_note)?;
    let mut written = vec![dir.join(format!("{name}.json")), dir.join(format!("{name}.note"))];
    for (ext, text) in pages {
        let path = dir.join(format!("{name}.{ext}"));
        std::fs::write(&path, text)?;
        written.push(path);
    }
    let list: Vec<String> = written.iter().map(|p| p.display().to_string()).collect();
    println!("written to {}", list.join(", "));
    Ok(())
}

/// The module factory's cancellation certificate (注销证明) for its RE100 report of the year.
async fn cancellation(
    d: &mut Signing,
    a: &Actors,
    dir: &Path,
    from: u64,
    log_key: &greenledger_core::log::NoteVerifier,
) -> anyhow::Result<()> {
    let year = reporting_year(from);
    let r = d
        .client
        .get_cancellation_certificate(pb::CancellationCertificateRequest {
            beneficiary: a.modules.account().0.to_vec(),
            year: year as i32,
        })
        .await
        .map_err(|e| anyhow!("cancellation certificate: {}", e.message()))?
        .into_inner();
    let c: Certificate = signed::inner(&r.json)?;
    let text = crate::cli::statement_text::cancellation_text(&c);
    println!("\n{}", text.lines().take(24).collect::<Vec<_>>().join("\n"));
    write_statement(
        dir,
        "cancellation-certificate",
        &r,
        &[("html", html::cancellation_page_at(&c, html::Computed::of_json(&r.json).as_ref())), ("txt", text)],
        log_key,
    )
}

/// The battery factory's product statement for its export batch, with CBAM evidence.
async fn product(
    d: &mut Signing,
    a: &Actors,
    dir: &Path,
    from: u64,
    log_key: &greenledger_core::log::NoteVerifier,
) -> anyhow::Result<()> {
    let r = d
        .client
        .get_product_statement(pb::ProductStatementRequest {
            claimant: a.battery.account().0.to_vec(),
            product: super::BATCH.into(),
            year: reporting_year(from),
            electricity_kwh: Some(BATCH_KWH.into()),
            factor_year: FACTOR_YEAR,
        })
        .await
        .map_err(|e| anyhow!("product statement: {}", e.message()))?
        .into_inner();
    let p: ProductStatement = signed::inner(&r.json)?;
    let text = product::text(&p);
    let claims_at = text.find("\nClaims:").unwrap_or(text.len());
    println!("\n{}", &text[..claims_at]);
    write_statement(
        dir,
        "product-statement",
        &r,
        &[("html", html::product_page_at(&p, html::Computed::of_json(&r.json).as_ref())), ("txt", text)],
        log_key,
    )
}

/// How to run this program again: `greenledger` when it is on the PATH, else its full path
/// (as after `cargo run`; `cargo install --path .` puts it on the PATH).
pub fn program() -> String {
    let on_path =
        std::env::var_os("PATH").is_some_and(|p| std::env::split_paths(&p).any(|d| d.join("greenledger").is_file()));
    if on_path {
        return "greenledger".into();
    }
    std::env::current_exe().map_or_else(|_| "greenledger".into(), |p| p.display().to_string())
}

fn mwh(wh: u64) -> String {
    format!("{}.{:03}", wh / MWH, (wh % MWH) / 1000)
}

pub(super) fn print_report(dir: &Path, r: &Report, cp: &pb::CheckpointResponse) {
    println!("greenledger demo: a zero-carbon park over {} hours, {} log entries\n", HOURS, r.entries);
    println!(
        "{:<28} {:>12} {:>12} {:>12} {:>12} {:>8}",
        "enterprise", "consumed MWh", "direct MWh", "traded MWh", "claimed MWh", "green %"
    );
    for e in &r.enterprises {
        let share = (e.claimed_wh * 1000).checked_div(e.consumed_wh).unwrap_or(0);
        println!(
            "{:<28} {:>12} {:>12} {:>12} {:>12} {:>6}.{}",
            e.name,
            mwh(e.consumed_wh),
            mwh(e.direct_wh),
            mwh(e.traded_wh),
            mwh(e.claimed_wh),
            share / 10,
            share % 10
        );
    }
    println!("\n(claimed = certificates retired; whole MWh only, the metered remainder carries over)\n");
    println!("attempted double counts, all refused:");
    for (what, why) in &r.refused {
        println!("  - {what}\n      {why}");
    }
    if let (Some(first), Some(last)) = (r.claims.first(), r.claims.last()) {
        println!(
            "\n{} claims recorded (C{first} .. C{last}); once the ledger is served, see one with: {} show claim C{first}",
            r.claims.len(),
            program()
        );
    }
    println!("\nsigned checkpoint:\n{}", cp.checkpoint);
    println!("the ledger is in {}; serve it with:\n  {} serve --data {}", dir.display(), program(), dir.display());
}

//! What the demo prints and writes: the table of enterprises and the signed statements.

use super::{Actors, Report, HOURS, MWH};
use crate::rpc::pb;
use crate::testkit::client::Signing;
use anyhow::anyhow;
use greenledger_core::accounting::hourly::Statement;
use greenledger_core::accounting::park::ParkStatement;
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
            name: "Changzhou-Suzhou zero-carbon park (demo)".into(),
            members: vec![a.battery.account().0.to_vec(), a.modules.account().0.to_vec()],
            from: Some(from),
            to: Some(to),
            factor_year: 2022,
            region: Some("east".into()),
            residual_factor: None,
            location_factor: None,
            park: None,
            non_electric_tce: None,
        })
        .await
        .map_err(|e| anyhow!("park statement: {}", e.message()))?
        .into_inner();
    // The demo checks the signature as any recipient would.
    signed::open_statement(&r.signed_note, log_key)?;
    let p: ParkStatement = signed::inner(&r.json)?;
    println!("\n{}", crate::cli::statement_text::park_text(&p));
    let pretty = serde_json::to_string_pretty(&serde_json::from_str::<serde_json::Value>(&r.json)?)?;
    let (html, json, note) =
        (dir.join("park-statement.html"), dir.join("park-statement.json"), dir.join("park-statement.note"));
    std::fs::write(&html, html::park_page(&p))?;
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
    Ok(())
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

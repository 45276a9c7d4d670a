//! `greenledger verify-statement`: a signed statement checked offline with the ledger's log key,
//! optionally together with the proof bundles of its claims.

use super::statement_text::{kg, t};
use anyhow::{anyhow, bail, Context as _};
use clap::Args;
use greenledger_core::accounting::cancellation::Certificate;
use greenledger_core::accounting::hourly::Statement;
use greenledger_core::accounting::park::ParkStatement;
use greenledger_core::accounting::product::ProductStatement;
use greenledger_core::accounting::signed::{self, open_statement};
use greenledger_core::log::NoteVerifier;
use std::path::{Path, PathBuf};

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
    // The statement's own line of the claim names its serial numbers (consumption statements and
    // cancellation certificates): they must be the ones the proof shows retired.
    let line = v["statement"]["claims"].as_array().and_then(|ls| ls.iter().find(|l| l["claim"] == c.claim));
    if let Some(serials) = line.and_then(|l| serde_json::from_value::<(u64, u64)>(l["serials"].clone()).ok()) {
        if (s.serial_first, s.serial_last.checked_add(1)) != (serials.0, Some(serials.1)) {
            bail!(
                "proof bundle {}: the claim at entry #{} retired serials {}..={}, the statement lists {}..{} (end exclusive)",
                path.display(),
                s.claim_entry,
                s.serial_first,
                s.serial_last,
                serials.0,
                serials.1
            );
        }
    }
    if v["kind"] == "cancellation" && s.energy_wh != c.counted_wh {
        bail!(
            "proof bundle {}: the claim at entry #{} retired {} Wh, the certificate lists {} Wh",
            path.display(),
            s.claim_entry,
            s.energy_wh,
            c.counted_wh
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
                "green consumption statement of {} ({}), {} .. {} ({} hours; given in {} UTC{})",
                s.name,
                s.account,
                t(s.period.start.0),
                t(s.period.end.0),
                s.hours.len(),
                if s.zone.is_empty() { "UTC" } else { &s.zone },
                s.utc_offset
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
            let local = |secs| greenledger_core::accounting::park::local_time(secs, &p.zone);
            out.push(format!(
                "park statement {:?}{} ({} memberships), {} .. {} ({})",
                p.name,
                p.park.as_ref().map_or(String::new(), |id| format!(" [{id}]")),
                p.members.len(),
                local(p.period.start.0),
                local(p.period.end.0),
                p.zone.name
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
        "cancellation" => {
            let c: Certificate = serde_json::from_value(e.statement)?;
            out.push(format!(
                "cancellation certificate (注销证明) of {} ({}), reporting period {} ({})",
                c.name, c.beneficiary, c.reporting_period, c.zone
            ));
            out.push(format!(
                "{} claims, {} Wh cancelled; {} Wh from devices older than 15 years",
                c.totals.claims, c.totals.energy_wh, c.totals.older_than_15_years_wh
            ));
        }
        "product" => {
            let p: ProductStatement = serde_json::from_value(e.statement)?;
            out.push(format!(
                "product statement of {}: {} {} made by {} ({}), reporting year {} ({})",
                p.product, p.quantity, p.unit, p.claimant_name, p.claimant, p.year, p.zone.name
            ));
            out.push(format!(
                "certified green electricity {} Wh ({} Wh per {}), footprint {} g CO2e ({} mg per {}); CBAM evidence (direct supply) {} Wh",
                p.certified_wh, p.certified_wh_per_unit, p.unit, p.footprint_g, p.footprint_mg_per_unit, p.unit, p.cbam.direct_supply_wh
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

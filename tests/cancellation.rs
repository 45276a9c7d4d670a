//! The cancellation certificate (注销证明) of a beneficiary account for one reporting year: every
//! claim capped by it (its own and those others made for it), none of another year, with totals
//! checked by hand; signed with the log key and checked offline with the claims' proof bundles.

use greenledger::testkit::fixtures::{post_consumption, post_generation, retire_own, transfer};
use greenledger::testkit::{hour, wind, World, MWH};
use greenledger_core::accounting::cancellation::{Certificate, Instrument, Total};
use greenledger_core::accounting::signed::{self, open_statement};
use greenledger_core::command as cmd;
use greenledger_core::crypto::Keypair;
use greenledger_core::log::NoteVerifier;
use greenledger_core::policy::Zone;
use greenledger_core::state::{Bundle, BundleState};
use greenledger_core::*;
use std::process::Command as Process;

const OLD: &str = "SOLAR-OLD";

/// 2025-12-31T15:00Z .. 16:00Z: the last hour of 2025 in Beijing (23:00 CST).
fn last_hour_of_2025() -> Interval {
    let end = hour(0).start.0 - 8 * 3600;
    Interval::new(end - 3600, end)
}

/// The active bundle `who` holds for `device`'s production in `production`.
fn held(h: &World, who: &Keypair, device: &str, production: Interval) -> Bundle {
    let b: Vec<Bundle> = h
        .holdings(who)
        .into_iter()
        .filter(|b| b.state == BundleState::Active && b.device.0 == device && b.production == production)
        .collect();
    assert_eq!(b.len(), 1, "{b:?}");
    b[0].clone()
}

fn for_account(b: &Bundle, account: AccountId, consumption: Interval) -> Command {
    Command::Retire(cmd::Retire {
        bundle: b.id,
        serials: b.serials,
        beneficiary: cmd::Beneficiary::Account { account },
        purpose: cmd::Purpose::Re100Cdp,
        consumption,
    })
}

/// A GEC-zoned ledger (Asia/Shanghai) and its claims:
///
/// | claim | by        | for       | instrument           | device    | hour        | MWh |
/// |-------|-----------|-----------|----------------------|-----------|-------------|-----|
/// | 1     | consumer  | consumer  | unbundled            | WIND-1    | 0           | 2   |
/// | 2     | consumer  | consumer  | bundled trade        | WIND-1    | 1           | 3   |
/// | 3     | consumer  | consumer  | direct supply        | SOLAR-OLD | 2           | 1   |
/// | 4     | consumer2 | consumer  | unbundled            | WIND-1    | 2           | 4   |
/// | 5     | consumer  | consumer2 | unbundled            | WIND-1    | 3           | 2   |
/// | 6     | consumer  | consumer  | unbundled            | WIND-1    | 2025-12-31 23:00 CST | 1 |
fn world() -> World {
    let mut h = World::builder().policy(|p| p.zone = Zone::shanghai()).build();
    let (op, meter, gen, platform) = (h.operator.clone(), h.meter.clone(), h.generator.clone(), h.platform.clone());
    let (c, c2) = (h.consumer.clone(), h.consumer2.clone());
    let (me, other) = (c.account(), c2.account());
    h.ok(
        &op,
        Command::RegisterDevice(cmd::RegisterDevice {
            device: DeviceId(OLD.into()),
            owner: gen.account(),
            technology: Technology::Solar,
            capacity_w: 10_000_000,
            region: "gansu".into(),
            // June 2009: more than 15 years before 2026.
            commissioned: Timestamp(calendar::unix(2009, 6, 1, 0, 0, 0)),
            attributes: Default::default(),
        }),
    );
    for n in 0..4 {
        h.consumption(me, n, 5 * MWH);
        h.consumption(other, n, 5 * MWH);
    }
    h.ok(&meter, post_consumption(me, last_hour_of_2025(), 5 * MWH));

    // 1: certificates bought from the generator.
    h.generation(0, 2 * MWH);
    h.issue(0);
    let b = held(&h, &gen, "WIND-1", hour(0));
    h.ok(&gen, transfer(b.id, b.serials, me));
    h.ok(&c, retire_own(b.id, b.serials, hour(0)));
    // 2: a green-power trade: the certificates travel with the power.
    h.generation(1, 3 * MWH);
    h.ok(
        &platform,
        Command::SettleTrade(cmd::SettleTrade { device: wind(), interval: hour(1), buyer: me, energy: Wh(3 * MWH) }),
    );
    h.issue(1);
    let b = held(&h, &c, "WIND-1", hour(1));
    h.ok(&c, retire_own(b.id, b.serials, hour(1)));
    // 3: direct supply from the old solar plant.
    let old = DeviceId(OLD.into());
    h.ok(&meter, post_generation(old.clone(), hour(2), MWH));
    h.ok(
        &meter,
        Command::PostDirectSupply(cmd::PostDirectSupply {
            device: old.clone(),
            consumer: me,
            interval: hour(2),
            energy: Wh(MWH),
        }),
    );
    h.ok(&gen, Command::Issue(cmd::Issue { device: old, interval: hour(2) }));
    let b = held(&h, &c, OLD, hour(2));
    h.ok(&c, retire_own(b.id, b.serials, hour(2)));
    // 4: consumer2 claims for the consumer's consumption.
    h.generation(2, 4 * MWH);
    h.issue(2);
    let b = held(&h, &gen, "WIND-1", hour(2));
    h.ok(&gen, transfer(b.id, b.serials, other));
    h.ok(&c2, for_account(&b, me, hour(2)));
    // 5: the consumer claims for consumer2's consumption.
    h.generation(3, 2 * MWH);
    h.issue(3);
    let b = held(&h, &gen, "WIND-1", hour(3));
    h.ok(&gen, transfer(b.id, b.serials, me));
    h.ok(&c, for_account(&b, other, hour(3)));
    // 6: the last hour of 2025 in Beijing.
    h.ok(&meter, post_generation(wind(), last_hour_of_2025(), MWH));
    h.ok(&gen, Command::Issue(cmd::Issue { device: wind(), interval: last_hour_of_2025() }));
    let b = held(&h, &gen, "WIND-1", last_hour_of_2025());
    h.ok(&gen, transfer(b.id, b.serials, me));
    h.ok(&c, retire_own(b.id, b.serials, last_hour_of_2025()));
    h
}

fn totals(t: &[Total]) -> Vec<(&str, u64, u64)> {
    t.iter().map(|t| (t.key.as_str(), t.claims, t.energy_wh)).collect()
}

#[test]
fn the_certificate_lists_every_claim_for_the_beneficiary_in_its_year_with_totals_by_hand() {
    let h = world();
    let me = h.consumer.account();
    let (c, signed) = greenledger::statements::cancellation_signed(&h.ledger, &me, 2026).unwrap();
    assert_eq!(
        (c.reporting_period.as_str(), c.zone.as_str(), c.utc_offset.as_str()),
        ("2026", "Asia/Shanghai", "+08:00")
    );
    // 2026 in Beijing: 2025-12-31T16:00Z .. 2026-12-31T16:00Z.
    assert_eq!(c.period.start.0, hour(0).start.0 - 8 * 3600);
    // Claims 1 to 4: the one consumer2 made for the consumer included, the one the consumer made
    // for consumer2 (5) and the one of 2025 (6) not.
    let ids: Vec<u64> = c.claims.iter().map(|l| l.claim).collect();
    let ledger_ids = |year_start: u64| -> Vec<u64> {
        let mut v: Vec<u64> = h
            .ledger
            .claims_for(&me)
            .unwrap()
            .iter()
            .filter(|x| x.consumption.start.0 >= year_start)
            .map(|x| x.id.0)
            .collect();
        v.sort();
        v
    };
    assert_eq!(ids, ledger_ids(c.period.start.0));
    assert_eq!(ids.len(), 4);
    assert_eq!(c.other_periods, 1);
    let by2 = c.claims.iter().find(|l| l.claimant == h.consumer2.account().to_hex()).expect("consumer2's claim for me");
    assert_eq!((by2.energy_wh, by2.instrument), (4 * MWH, Instrument::UnbundledCertificate));
    // Each line as the ledger has it.
    for l in &c.claims {
        let claim = h.ledger.claim(ClaimId(l.claim)).unwrap();
        assert_eq!(
            (l.entry, l.serials, l.energy_wh),
            (claim.entry.0, (claim.serials.start.0, claim.serials.end.0), claim.energy.0)
        );
        assert_eq!(l.class, claim.class.name());
        assert_eq!(l.vintage, "2026-01");
    }
    // Totals by hand: 2 + 3 + 1 + 4 = 10 MWh.
    let t = &c.totals;
    assert_eq!((t.claims, t.energy_wh), (4, 10 * MWH));
    assert_eq!(
        totals(&t.by_instrument),
        vec![("bundled-trade", 1, 3 * MWH), ("direct-supply", 1, MWH), ("unbundled-certificate", 2, 6 * MWH)]
    );
    assert_eq!(totals(&t.by_province), vec![("gansu", 1, MWH), ("inner_mongolia", 3, 9 * MWH)]);
    assert_eq!(totals(&t.by_technology), vec![("solar", 1, MWH), ("wind", 3, 9 * MWH)]);
    assert_eq!(totals(&t.by_vintage), vec![("2026-01", 4, 10 * MWH)]);
    assert_eq!(t.by_class.iter().map(|x| x.energy_wh).sum::<u64>(), 10 * MWH);
    // RE100's 15-year rule: the 2009 plant is flagged, the 2020 one not.
    let old: Vec<&str> = c.claims.iter().filter(|l| l.older_than_15_years).map(|l| l.device.as_str()).collect();
    assert_eq!((old, t.older_than_15_years_wh), (vec![OLD], MWH));
    assert_eq!(c.claims.iter().find(|l| l.device == OLD).unwrap().commissioned, "2009-06-01");

    // Signed like the other statements: the envelope lists each claim with its whole energy.
    let key = h.ledger.verifier();
    let v = open_statement(&signed.note, &key).unwrap();
    assert_eq!((v["kind"].as_str(), v["checkpoint"]["size"].as_u64()), (Some("cancellation"), Some(h.ledger.size())));
    let inner: Certificate = signed::inner(&signed.json).unwrap();
    assert_eq!(inner, c);
    let counted: Vec<u64> = v["claims"].as_array().unwrap().iter().map(|x| x["counted_wh"].as_u64().unwrap()).collect();
    assert_eq!(counted, vec![2 * MWH, 3 * MWH, MWH, 4 * MWH]);

    // The 2025 certificate holds claim 6 alone; consumer2's 2026 certificate holds claim 5.
    let (c2025, _) = greenledger::statements::cancellation_signed(&h.ledger, &me, 2025).unwrap();
    assert_eq!((c2025.claims.len(), c2025.totals.energy_wh, c2025.claims[0].vintage.as_str()), (1, MWH, "2025-12"));
    let other = h.consumer2.account();
    let (c2, _) = greenledger::statements::cancellation_signed(&h.ledger, &other, 2026).unwrap();
    assert_eq!(
        c2.claims.iter().map(|l| (l.claimant.clone(), l.energy_wh)).collect::<Vec<_>>(),
        vec![(me.to_hex(), 2 * MWH)]
    );
}

/// Every single-byte change at ~100 positions spread over the note makes it fail to open.
fn assert_every_byte_matters(note: &str, key: &NoteVerifier) {
    let bytes = note.as_bytes();
    let step = (bytes.len() / 100).max(1);
    let text_end = note.rfind("\n\n").expect("a blank line before the signatures");
    let mut positions: Vec<usize> = (0..bytes.len()).step_by(step).collect();
    positions.extend([0, 1, text_end - 1, text_end, text_end + 1, text_end + 2, bytes.len() - 2, bytes.len() - 1]);
    let mut checked = 0;
    for &i in &positions {
        for flip in [0x01u8, 0x20] {
            let mut changed = bytes.to_vec();
            changed[i] ^= flip;
            let Ok(text) = String::from_utf8(changed) else { continue };
            assert!(
                open_statement(&text, key).is_err(),
                "a change of byte {i} ({:?}) went unnoticed",
                bytes[i] as char
            );
            checked += 1;
        }
    }
    assert!(checked >= 100, "only {checked} changes checked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_certificate_from_the_server_verifies_offline_with_the_proofs_and_fails_after_any_change() {
    let h = world();
    let me = h.consumer.account();
    let (c, signed) = greenledger::statements::cancellation_signed(&h.ledger, &me, 2026).unwrap();
    assert_every_byte_matters(&signed.note, &h.ledger.verifier());

    let dir = tempfile::tempdir().unwrap();
    let mut proofs = Vec::new();
    for l in &c.claims {
        let p = greenledger::proof::build(&h.ledger, ClaimId(l.claim)).unwrap();
        let path = dir.path().join(format!("claim-{}.json", l.claim));
        std::fs::write(&path, p.to_json()).unwrap();
        proofs.push(path);
    }
    // A proof of claim 5 (by the consumer for consumer2) is not among the certificate's claims.
    let stray = dir.path().join("claim-5.json");
    std::fs::write(&stray, greenledger::proof::build(&h.ledger, ClaimId(5)).unwrap().to_json()).unwrap();

    let server = h.serve().await;
    let addr = server.addr.to_string();
    let log_key = h.ledger.verifier().to_string();
    let (out, hex) = (dir.path().join("certificate.html"), me.to_hex());
    let (report, verified, tampered, stray_run) = tokio::task::spawn_blocking(move || {
        let bin = env!("CARGO_BIN_EXE_greenledger");
        let report = Process::new(bin)
            .args(["report", "cancellation", "--server", &addr, "--beneficiary", &hex, "--year", "2026"])
            .args(["--format", "html", "--signed", "--out"])
            .arg(&out)
            .output()
            .unwrap();
        let note = out.with_extension("note");
        let mut verify = Process::new(bin);
        verify.arg("verify-statement").arg(&note).args(["--log-key", &log_key]);
        for p in &proofs {
            verify.arg("--proof").arg(p);
        }
        let verified = verify.output().unwrap();
        let text = std::fs::read_to_string(&note).unwrap();
        let bad = out.with_extension("bad");
        std::fs::write(&bad, text.replacen("\"energy_wh\":4000000", "\"energy_wh\":4000001", 1)).unwrap();
        let tampered =
            Process::new(bin).arg("verify-statement").arg(&bad).args(["--log-key", &log_key]).output().unwrap();
        let stray_run = Process::new(bin)
            .arg("verify-statement")
            .arg(&note)
            .args(["--log-key", &log_key, "--proof"])
            .arg(&stray)
            .output()
            .unwrap();
        (report, verified, tampered, stray_run)
    })
    .await
    .unwrap();
    let text = |o: &std::process::Output| {
        format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
    };
    assert!(report.status.success(), "{}", text(&report));
    let page = std::fs::read_to_string(dir.path().join("certificate.html")).unwrap();
    for label in
        ["注销证明 / Cancellation certificate", "按省份 / by province", "gansu", "(&gt;15 年 / years)", "UTC+08:00"]
    {
        assert!(page.contains(label), "{label} missing from the page");
    }
    assert!(verified.status.success(), "{}", text(&verified));
    assert!(text(&verified).contains("cancellation certificate (注销证明)"), "{}", text(&verified));
    assert_eq!(text(&verified).matches("verifies: its claim at entry").count(), 4, "{}", text(&verified));
    assert!(!tampered.status.success() && text(&tampered).contains("REFUSED"), "{}", text(&tampered));
    assert!(!stray_run.status.success(), "{}", text(&stray_run));
    assert!(text(&stray_run).contains("not among the statement's claims"), "{}", text(&stray_run));
    server.stop().await.unwrap();
}

//! Signed statements: the ledger signs each consumption and park statement (canonical JSON as a
//! C2SP signed note with the log key), over gRPC while the server holds the store, and
//! `greenledger verify-statement` checks them offline.

use greenledger_core::command as cmd;

use greenledger::rpc::pb;
use greenledger::testkit::net::*;
use greenledger::testkit::{hour, LEDGER, MWH};
use greenledger_core::accounting::hourly::Statement;
use greenledger_core::accounting::park::ParkStatement;
use greenledger_core::accounting::signed::{self, open_statement, ClaimRef, FORMAT};
use greenledger_core::log::NoteVerifier;
use greenledger_core::*;
use std::process::Command as Process;
use tonic::Code;

/// Every single-byte change at ~100 positions spread over the note (text, separator and
/// signature line) makes it fail to open; changes that leave invalid UTF-8 cannot even be read
/// as a note.
fn assert_every_byte_matters(note: &str, key: &NoteVerifier) {
    let bytes = note.as_bytes();
    let step = (bytes.len() / 100).max(1);
    let mut positions: Vec<usize> = (0..bytes.len()).step_by(step).collect();
    // The ends of the text, the blank line and the signature line's start and end.
    let text_end = note.rfind("\n\n").expect("a blank line before the signatures");
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

/// Three hours of consumption (3 MWh each) for `consumer`, 2 MWh of wind certificates produced
/// in each hour bought from the generator and retired for that consumption; `consumer2` consumes
/// 1 MWh an hour with no green energy.
async fn three_green_hours(net: &mut Net) {
    let (meter, gen, consumer) = (net.meter.clone(), net.generator.clone(), net.consumer.clone());
    let (me, other) = (consumer.account(), net.consumer2.account());
    let period = Interval::new(hour(0).start.0, hour(3).start.0);
    for n in 0..3 {
        net.ok(
            &meter,
            Command::PostConsumption(cmd::PostConsumption { account: me, interval: hour(n), energy: Wh(3 * MWH) }),
        )
        .await;
        net.ok(
            &meter,
            Command::PostConsumption(cmd::PostConsumption { account: other, interval: hour(n), energy: Wh(MWH) }),
        )
        .await;
    }
    for n in 0..3 {
        net.ok(
            &meter,
            Command::PostGeneration(cmd::PostGeneration { device: wind(), interval: hour(n), energy: Wh(2 * MWH) }),
        )
        .await;
        net.ok(&gen, Command::Issue(cmd::Issue { device: wind(), interval: hour(n) })).await;
        let held = net.holdings(gen.account()).await;
        let b = only(&held, |b| b.state == "active").clone();
        net.ok(&gen, Command::Transfer(cmd::Transfer { bundle: BundleId(b.id), serials: sr(&b.serials), to: me }))
            .await;
        net.ok(
            &consumer,
            Command::Retire(cmd::Retire {
                bundle: BundleId(b.id),
                serials: sr(&b.serials),
                beneficiary: cmd::Beneficiary::Claimant,
                purpose: cmd::Purpose::Re100Cdp,
                consumption: period,
            }),
        )
        .await;
    }
}

#[derive(serde::Deserialize)]
struct Envelope<T> {
    format: String,
    kind: String,
    ledger: String,
    checkpoint: signed::At,
    claims: Vec<ClaimRef>,
    statement: T,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statements_over_grpc_are_signed_at_a_checkpoint_and_match_the_claim_proofs() {
    let mut net = Net::mem().await;
    three_green_hours(&mut net).await;
    let cp = net.checkpoint().await;
    let key = NoteVerifier::parse(&cp.log_key).unwrap();
    let me = net.consumer.account();
    let (from, to) = (hour(0).start.0, hour(3).start.0);

    let r = net
        .client
        .get_consumption_statement(pb::ConsumptionStatementRequest { account: me.0.to_vec(), from, to })
        .await
        .unwrap()
        .into_inner();
    // The note signs exactly the JSON, which opens to the same value.
    assert!(r.signed_note.starts_with(&format!("{}\n\n\u{2014} {LEDGER} ", r.json)));
    let opened = open_statement(&r.signed_note, &key).unwrap();
    assert_eq!(opened, serde_json::from_str::<serde_json::Value>(&r.json).unwrap());
    let e: Envelope<Statement> = serde_json::from_str(&r.json).unwrap();
    assert_eq!((e.format.as_str(), e.kind.as_str(), e.ledger.as_str()), (FORMAT, "consumption", LEDGER));
    assert_eq!(e.checkpoint.size, cp.size);
    assert_eq!(e.checkpoint.root, {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(&cp.root)
    });
    let t = &e.statement.totals;
    assert_eq!((t.consumption_wh, t.green_wh, t.matched_wh), (9 * MWH, 6 * MWH, 6 * MWH));
    assert_eq!(e.statement.hours.len(), 3);

    // Each listed claim is the claim with that retirement entry, and its proof bundle says so.
    assert_eq!(e.claims.len(), 3);
    for c in &e.claims {
        assert_eq!((c.account.as_str(), c.counted_wh), (me.to_hex().as_str(), 2 * MWH));
        let claim = net.client.get_claim(pb::ClaimRequest { claim: c.claim }).await.unwrap().into_inner();
        assert_eq!(claim.entry, c.entry);
        let proof = net.client.get_claim_proof(pb::ClaimRequest { claim: c.claim }).await.unwrap().into_inner();
        let verified = greenledger_core::proof::verify_json(&proof.json, &cp.log_key, &[], 0).unwrap();
        assert_eq!(verified.summary.claim_entry, c.entry);
    }
    assert_every_byte_matters(&r.signed_note, &key);
    let first = e.claims[0].clone();

    // The park of both consumers, with the published 2022 factors of the east grid.
    let members = vec![me.0.to_vec(), net.consumer2.account().0.to_vec()];
    let park = |members: Vec<Vec<u8>>, from: Option<u64>, to: Option<u64>, region: &str| pb::ParkStatementRequest {
        name: "Test park".into(),
        members,
        from,
        to,
        factor_year: 2022,
        region: Some(region.into()),
        residual_factor: None,
        location_factor: None,
        park: None,
        non_electric_tce: None,
    };
    let r =
        net.client.get_park_statement(park(members.clone(), Some(from), Some(to), "east")).await.unwrap().into_inner();
    let opened = open_statement(&r.signed_note, &key).unwrap();
    assert_eq!(opened["kind"], "park");
    let e: Envelope<ParkStatement> = serde_json::from_str(&r.json).unwrap();
    assert_eq!(e.claims.len(), 3);
    let p = &e.statement;
    assert_eq!((p.name.as_str(), p.members.len()), ("Test park", 2));
    assert_eq!((p.total.consumption_wh, p.total.green_counted_wh, p.total.grid_wh), (12 * MWH, 6 * MWH, 6 * MWH));
    // 6 MWh of grid power at 0.5856 kg/kWh; 12 MWh at the east grid's 0.5617 kg/kWh.
    assert_eq!((p.total.market_based_g, p.total.location_based_g), (3_513_600, 6_740_400));
    assert_every_byte_matters(&r.signed_note, &key);
    // Without a period: the members' metered span, the same three hours.
    let r = net.client.get_park_statement(park(members.clone(), None, None, "east")).await.unwrap().into_inner();
    let e: Envelope<ParkStatement> = serde_json::from_str(&r.json).unwrap();
    assert_eq!(e.statement.period, Interval::new(from, to));

    // Refusals name what is wrong.
    let c = &mut net.client;
    let bad = |account: Vec<u8>, from: u64, to: u64| pb::ConsumptionStatementRequest { account, from, to };
    let s = c.get_consumption_statement(bad(vec![1; 31], from, to)).await.unwrap_err();
    assert_eq!(s.code(), Code::InvalidArgument, "{s:?}");
    let s = c.get_consumption_statement(bad(vec![9; 32], from, to)).await.unwrap_err();
    assert_eq!(s.code(), Code::NotFound, "{s:?}");
    let s = c.get_consumption_statement(bad(me.0.to_vec(), from + 1, to)).await.unwrap_err();
    assert_eq!(s.code(), Code::InvalidArgument, "{s:?}");
    assert!(s.message().contains("whole UTC hour"), "{}", s.message());
    let s = c.get_park_statement(park(vec![], Some(from), Some(to), "east")).await.unwrap_err();
    assert_eq!(s.code(), Code::InvalidArgument, "{s:?}");
    let s = c.get_park_statement(park(members.clone(), Some(from), None, "east")).await.unwrap_err();
    assert_eq!(s.code(), Code::InvalidArgument, "{s:?}");
    let s = c.get_park_statement(park(members.clone(), Some(from), Some(to), "atlantis")).await.unwrap_err();
    assert_eq!(s.code(), Code::InvalidArgument, "{s:?}");
    assert!(s.message().contains("atlantis"), "{}", s.message());
    let twice = vec![me.0.to_vec(), me.0.to_vec()];
    let s = c.get_park_statement(park(twice, Some(from), Some(to), "east")).await.unwrap_err();
    assert_eq!(s.code(), Code::InvalidArgument, "{s:?}");

    // The command line: a report from the running server, signed, then verified offline.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("statement.json");
    let addr = net.addr().to_string();
    let log_key = cp.log_key.clone();
    let (out2, hex) = (out.clone(), me.to_hex());
    let proof = net.client.get_claim_proof(pb::ClaimRequest { claim: first.claim }).await.unwrap().into_inner();
    let proof_file = dir.path().join("claim.json");
    std::fs::write(&proof_file, &proof.json).unwrap();
    let (report, verified, tampered, wrong_key) = tokio::task::spawn_blocking(move || {
        let bin = env!("CARGO_BIN_EXE_greenledger");
        let report = Process::new(bin)
            .args(["report", "consumption", "--server", &addr, "--account", &hex])
            .args(["--from", &from.to_string(), "--to", &to.to_string(), "--format", "json", "--signed"])
            .arg("--out")
            .arg(&out2)
            .output()
            .unwrap();
        let note = out2.with_extension("note");
        let verified = Process::new(bin)
            .arg("verify-statement")
            .arg(&note)
            .args(["--log-key", &log_key, "--proof"])
            .arg(&proof_file)
            .output()
            .unwrap();
        let text = std::fs::read_to_string(&note).unwrap();
        let bad = out2.with_extension("bad");
        std::fs::write(&bad, text.replacen("\"consumption_wh\":9000000", "\"consumption_wh\":9000001", 1)).unwrap();
        let tampered =
            Process::new(bin).arg("verify-statement").arg(&bad).args(["--log-key", &log_key]).output().unwrap();
        let other =
            greenledger_core::log::NoteSigner::new(LEDGER, ed25519_dalek::SigningKey::from_bytes(&[5; 32])).unwrap();
        let other_key = other.verifier().to_string();
        let wrong_key =
            Process::new(bin).arg("verify-statement").arg(&note).args(["--log-key", &other_key]).output().unwrap();
        (report, verified, tampered, wrong_key)
    })
    .await
    .unwrap();
    let text = |o: &std::process::Output| String::from_utf8_lossy(&o.stdout).to_string();
    assert!(report.status.success(), "{}{}", text(&report), String::from_utf8_lossy(&report.stderr));
    let written: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(written["statement"]["totals"]["consumption_wh"], 9 * MWH);
    assert!(verified.status.success(), "{}", text(&verified));
    assert!(text(&verified).starts_with("VERIFIED"), "{}", text(&verified));
    assert!(text(&verified).contains("checkpoint of size"), "{}", text(&verified));
    let matched = format!("its claim at entry #{} is C{} of the statement", first.entry, first.claim);
    assert!(text(&verified).contains(&matched), "{}", text(&verified));
    for (o, why) in [(&tampered, "does not verify"), (&wrong_key, "not signed by any known key")] {
        assert!(!o.status.success());
        assert!(text(o).starts_with("REFUSED"), "{}", text(o));
        assert!(text(o).contains(why), "{}", text(o));
    }
    net.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_statement_is_computed_at_the_checkpoint_it_names_while_commands_keep_coming() {
    let mut net = Net::mem().await;
    three_green_hours(&mut net).await;
    let me = net.consumer.account();
    let meter = net.meter.clone();
    let (from, to) = (hour(0).start.0, hour(48).start.0);
    // Consumption keeps arriving while statements are asked for: each statement's totals are
    // those of the checkpoint it names (3 MWh per hour posted before that checkpoint).
    let start_size = net.checkpoint().await.size;
    let mut client = net.client.clone();
    let asker = tokio::spawn(async move {
        let mut seen = Vec::new();
        for _ in 0..20 {
            let r = client
                .get_consumption_statement(pb::ConsumptionStatementRequest { account: me.0.to_vec(), from, to })
                .await
                .unwrap()
                .into_inner();
            let e: Envelope<Statement> = serde_json::from_str(&r.json).unwrap();
            seen.push((e.checkpoint.size, e.statement.totals.consumption_wh));
        }
        seen
    });
    for n in 3..43 {
        net.ok(
            &meter,
            Command::PostConsumption(cmd::PostConsumption { account: me, interval: hour(n), energy: Wh(3 * MWH) }),
        )
        .await;
    }
    for (size, consumption) in asker.await.unwrap() {
        // Each entry after `start_size` is one more hour of 3 MWh.
        let hours = 3 + (size - start_size);
        assert_eq!(consumption, hours * 3 * MWH, "statement at size {size}");
    }
    net.stop().await;
}

#[test]
fn a_local_statement_is_signed_with_the_log_key_and_every_byte_matters() {
    let mut h = greenledger::testkit::World::new();
    let c = h.consumer.clone();
    let me = c.account();
    for n in 0..2 {
        h.consumption(me, n, 2 * MWH);
    }
    h.generation(0, MWH);
    h.issue(0);
    let g = h.generator.clone();
    let b = h.only_bundle(&g);
    h.ok(&g, Command::Transfer(cmd::Transfer { bundle: b.id, serials: b.serials, to: me }));
    let period = Interval::new(hour(0).start.0, hour(2).start.0);
    let retire = Command::Retire(cmd::Retire {
        bundle: b.id,
        serials: b.serials,
        beneficiary: cmd::Beneficiary::Claimant,
        purpose: cmd::Purpose::Re100Cdp,
        consumption: period,
    });
    h.ok(&c, retire);
    let (s, signed) =
        greenledger::statements::consumption_signed(&h.ledger, &me, period.start.0, period.end.0).unwrap();
    assert_eq!((s.totals.consumption_wh, s.totals.green_wh), (4 * MWH, MWH));
    // The ledger signs with its log key: the same note as signing the JSON with that key.
    assert_eq!(signed.note, signed::sign_statement(&signed.json, &greenledger::testkit::log_signer()).unwrap());
    let key = h.ledger.verifier();
    let v = open_statement(&signed.note, &key).unwrap();
    assert_eq!(v["checkpoint"]["size"], h.ledger.size());
    assert_eq!(v["claims"][0]["entry"], h.ledger.claims_of(&me).unwrap()[0].entry.0);
    assert_every_byte_matters(&signed.note, &key);
    // A checkpoint, signed by the same key, is not a statement.
    let checkpoint = h.ledger.committed().checkpoint;
    assert!(open_statement(&checkpoint, &key).is_err());
}

/// Statements agree with the ledger: every claim made for an account's consumption, or made by it
/// for someone else, is in its statement, counted or listed with the reason it does not count;
/// over the whole reporting year each claim counts in full in exactly one statement.
#[test]
fn every_claim_is_in_the_statement_counted_or_with_its_reason() {
    use greenledger::testkit::fixtures::{retire_own, transfer};
    use greenledger_core::accounting::hourly::Reason;
    let mut h = greenledger::testkit::World::new();
    let (g, c, c2) = (h.generator.clone(), h.consumer.clone(), h.consumer2.clone());
    let (me, other) = (c.account(), c2.account());
    for n in 0..4 {
        h.consumption(me, n, 5 * MWH);
        h.consumption(other, n, 5 * MWH);
    }
    let give = |h: &mut greenledger::testkit::World, n: u64, mwh: u64, to: AccountId| {
        h.generation(n, mwh * MWH);
        h.issue(n);
        let b = h.only_bundle(&g);
        h.ok(&g, transfer(b.id, b.serials, to));
        b
    };
    // 1: my own, hour 0. 2: mine, produced in hour 1 for the consumption of hours 0..2.
    let b = give(&mut h, 0, 2, me);
    h.ok(&c, retire_own(b.id, b.serials, hour(0)));
    let b = give(&mut h, 1, 1, me);
    h.ok(&c, retire_own(b.id, b.serials, Interval::new(hour(0).start.0, hour(2).start.0)));
    // 3: consumer2 for my consumption of hour 2. 4: mine for consumer2's hour 3.
    let b = give(&mut h, 2, 3, other);
    let for_account = |b: &state::Bundle, account: AccountId, consumption: Interval| {
        Command::Retire(cmd::Retire {
            bundle: b.id,
            serials: b.serials,
            beneficiary: cmd::Beneficiary::Account { account },
            purpose: cmd::Purpose::Re100Cdp,
            consumption,
        })
    };
    h.ok(&c2, for_account(&b, me, hour(2)));
    let b = give(&mut h, 3, 4, me);
    h.ok(&c, for_account(&b, other, hour(3)));

    let statement = |who: AccountId, from: u64, to: u64| {
        greenledger::statements::consumption_signed(&h.ledger, &who, hour(from).start.0, hour(to).start.0).unwrap().0
    };
    let listed =
        |s: &Statement| s.claims.iter().map(|c| (c.claim, c.counted_wh, c.reasons.clone())).collect::<Vec<_>>();
    // The first two hours: claims 1 and 2 count; 3 (hour 2) and 4 (hour 3) lie elsewhere.
    let s = statement(me, 0, 2);
    assert_eq!(listed(&s), vec![(1, 2 * MWH, vec![]), (2, MWH, vec![])]);
    assert_eq!((s.claims_elsewhere, s.totals.green_wh, s.totals.matched_wh), (2, 3 * MWH, 3 * MWH));
    // Hours 1 to 4: claim 1 is elsewhere, claim 2 counts (produced in hour 1), claim 3 counts
    // (made by consumer2 for me), claim 4 is listed: made for consumer2's consumption.
    let s = statement(me, 1, 4);
    assert_eq!(
        listed(&s),
        vec![(2, MWH, vec![]), (3, 3 * MWH, vec![]), (4, 0, vec![Reason::AnotherAccountsConsumption])]
    );
    assert_eq!(s.claims[2].capped, other.to_hex());
    assert_eq!(s.claims_elsewhere, 1);
    // Over the whole day, every claim capped by each account counts in full, once.
    for who in [me, other] {
        let s = statement(who, 0, 24);
        let capped = h.ledger.claims_for(&who).unwrap();
        let counted: Vec<(u64, u64)> =
            s.claims.iter().filter(|c| c.counted_wh > 0).map(|c| (c.claim, c.counted_wh)).collect();
        assert_eq!(counted, capped.iter().map(|c| (c.id.0, c.energy.0)).collect::<Vec<_>>());
        let of: Vec<u64> = h.ledger.claims_of(&who).unwrap().iter().map(|c| c.id.0).collect();
        assert!(of.iter().all(|id| s.claims.iter().any(|c| c.claim == *id)), "claims of {who:?} missing");
    }
    // A claim produced over more than an hour counts in the annual volume only: see the unit
    // tests of accounting::hourly; and the statement names the zone it is given in.
    assert_eq!(
        (s.zone.as_str(), s.utc_offset.as_str(), s.hours[0].local.as_str()),
        ("UTC", "+00:00", "2026-01-01T01:00+00:00")
    );
}

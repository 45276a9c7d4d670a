//! Claim proof bundles: built from a ledger, verified offline with only the log key, refused
//! after any single-byte change, and still valid against an older checkpoint given a
//! consistency proof to a newer one; in format 2 each entry's C2SP tlog-proof is checked too.

use greenledger_core::command as cmd;

use greenledger::testkit::*;
use greenledger_core::log::{add_signature_lines, split, Checkpoint, Cosigner};
use greenledger_core::proof::{self, ClaimProof, ProofFailure};
use greenledger_core::*;

/// A ledger with three claims:
/// - C1: part of a bundle the generator sold to `consumer` (issuance, transfer, retirement);
/// - C2: the rest of that bundle (issuance, transfer, split by C1's retirement, retirement);
/// - C3: certificates that came to `consumer2` with a green-power trade settled before issuance.
fn ledger_with_claims() -> World {
    let mut h = World::new();
    h.generation(0, 5 * MWH + 500_000);
    let (p, c2) = (h.platform.clone(), h.consumer2.account());
    h.ok(&p, Command::SettleTrade(cmd::SettleTrade { device: wind(), interval: hour(0), buyer: c2, energy: Wh(MWH) }));
    h.issue(0);
    h.consumption(h.consumer.account(), 0, 10 * MWH);
    h.consumption(h.consumer2.account(), 0, 10 * MWH);
    let g = h.generator.clone();
    let b = h.only_bundle(&g);
    assert_eq!(b.serials.len(), 4);
    let to = h.consumer.account();
    let s = b.serials.start.0;
    h.ok(&g, Command::Transfer(cmd::Transfer { bundle: b.id, serials: SerialRange::new(s + 1, s + 4), to }));
    let c = h.consumer.clone();
    let cb = h.only_bundle(&c);
    h.ok(
        &c,
        Command::Retire(cmd::Retire {
            bundle: cb.id,
            serials: SerialRange::new(s + 1, s + 2),
            beneficiary: cmd::Beneficiary::Product {
                product: "Battery factory, batch 7".into(),
                quantity: 1,
                unit: "batch".into(),
            },
            purpose: cmd::Purpose::Other("product label".into()),
            consumption: hour(0),
        }),
    );
    let rest = h.only_bundle(&c);
    h.ok(
        &c,
        Command::Retire(cmd::Retire {
            bundle: rest.id,
            serials: rest.serials,
            beneficiary: cmd::Beneficiary::Product {
                product: "Battery factory".into(),
                quantity: 1,
                unit: "batch".into(),
            },
            purpose: cmd::Purpose::Other("annual report 2026".into()),
            consumption: hour(0),
        }),
    );
    let c2k = h.consumer2.clone();
    let tb = h.only_bundle(&c2k);
    h.ok(
        &c2k,
        Command::Retire(cmd::Retire {
            bundle: tb.id,
            serials: tb.serials,
            beneficiary: cmd::Beneficiary::Product {
                product: "Solar glass factory".into(),
                quantity: 1,
                unit: "batch".into(),
            },
            purpose: cmd::Purpose::Other("RE100".into()),
            consumption: hour(0),
        }),
    );
    h
}

fn log_key(h: &World) -> String {
    h.ledger.verifier().to_string()
}

fn roles(p: &ClaimProof) -> Vec<&str> {
    p.entries.iter().map(|e| e.role.as_str()).collect()
}

#[test]
fn every_claim_verifies_offline() {
    let h = ledger_with_claims();
    let key = log_key(&h);
    for id in 1..=3 {
        let p = greenledger::proof::build(&h.ledger, ClaimId(id)).unwrap();
        // Through the JSON file format, as a third party would receive it.
        let json = p.to_json();
        let v = proof::verify_json(&json, &key, &[], 0).unwrap_or_else(|e| panic!("C{id}: {e}"));
        let claim = h.ledger.claim(ClaimId(id)).unwrap();
        assert_eq!(v.summary.claim_entry, claim.entry.0);
        assert_eq!(v.summary.energy_wh, claim.energy.0);
        assert_eq!(v.summary.serial_first, claim.serials.start.0);
        assert_eq!(v.summary.device, "WIND-1");
        assert_eq!(v.summary.technology, "wind");
        assert_eq!(v.summary.claimant, claim.claimant.to_hex());
        assert!(!v.describe().is_empty());
    }
    let r = |id| roles(&greenledger::proof::build(&h.ledger, ClaimId(id)).unwrap()).join(",");
    assert!(r(1).ends_with("reading,trade,issuance,transfer,retirement"), "{}", r(1));
    assert!(r(2).ends_with("issuance,transfer,retirement"), "{}", r(2));
    assert!(r(3).ends_with("reading,trade,issuance,retirement"), "{}", r(3));
    assert!(r(1).starts_with("genesis,account"), "{}", r(1));
}

#[test]
fn any_single_byte_change_is_refused() {
    let h = ledger_with_claims();
    let key = log_key(&h);
    let json = greenledger::proof::build(&h.ledger, ClaimId(2)).unwrap().to_json();
    assert!(proof::verify_json(&json, &key, &[], 0).is_ok());
    let bytes = json.as_bytes();
    // GREENLEDGER_FLIP_ALL=1 flips every byte instead of 200 samples (slow).
    let samples = if std::env::var_os("GREENLEDGER_FLIP_ALL").is_some() { bytes.len() } else { 200usize };
    let step = (bytes.len() / samples).max(1);
    let mut tried = 0;
    for pos in (0..bytes.len()).step_by(step).take(samples) {
        let mut changed = bytes.to_vec();
        changed[pos] ^= 0x01;
        // A change that breaks the UTF-8 or the JSON is refused too.
        let outcome = match String::from_utf8(changed) {
            Ok(text) => proof::verify_json(&text, &key, &[], 0),
            Err(_) => Err(ProofFailure::Malformed("not UTF-8".into())),
        };
        assert!(
            outcome.is_err(),
            "flipping byte {pos} ({:?}) in ...{}... was accepted",
            bytes[pos] as char,
            String::from_utf8_lossy(&bytes[pos.saturating_sub(30)..(pos + 30).min(bytes.len())])
        );
        tried += 1;
    }
    assert_eq!(tried, samples);
}

#[test]
fn precise_failures() {
    let h = ledger_with_claims();
    let key = log_key(&h);
    let p = greenledger::proof::build(&h.ledger, ClaimId(1)).unwrap();

    // Another log's key.
    let other =
        greenledger_core::log::NoteSigner::new(LEDGER, ed25519_dalek::SigningKey::from_bytes(&[98; 32])).unwrap();
    assert!(matches!(
        proof::verify(&p, &other.verifier().to_string(), &[], 0),
        Err(ProofFailure::LogKeyMismatch { .. })
    ));

    // A transfer left out: the retirement is signed by someone who never received the serials.
    let mut q = p.clone();
    let t = q.entries.iter().position(|e| e.role == "transfer").unwrap();
    let removed = q.entries.remove(t).index;
    let err = proof::verify(&q, &key, &[], 0).unwrap_err();
    assert!(matches!(err, ProofFailure::Lineage { .. }), "{err}");
    assert!(err.to_string().contains("did not own"), "{err}");
    assert!(removed < p.summary.claim_entry);

    // A wrong role.
    let mut q = p.clone();
    let i = q.entries.iter().position(|e| e.role == "transfer").unwrap();
    q.entries[i].role = "split".into();
    let err = proof::verify(&q, &key, &[], 0).unwrap_err();
    assert!(matches!(err, ProofFailure::Role { index, .. } if index == q.entries[i].index), "{err}");

    // An inclusion proof of another entry.
    let mut q = p.clone();
    q.entries[2].inclusion_proof = q.entries[3].inclusion_proof.clone();
    let err = proof::verify(&q, &key, &[], 0).unwrap_err();
    assert!(matches!(err, ProofFailure::Inclusion { index, .. } if index == q.entries[2].index), "{err}");
    assert!(err.to_string().starts_with(&format!("entry {}:", q.entries[2].index)), "{err}");

    // A witness quorum that is not met, then met.
    let witness = Cosigner::new("witness.example/w1", ed25519_dalek::SigningKey::from_bytes(&[42; 32])).unwrap();
    assert!(matches!(
        proof::verify(&p, &key, &[witness.verifier()], 1),
        Err(ProofFailure::Witnesses { needed: 1, got: 0, .. })
    ));
    let (text, _) = split(&p.checkpoint).unwrap();
    let line = witness.cosign(&text, 1_800_000_000).unwrap();
    let mut q = p.clone();
    q.checkpoint = add_signature_lines(&q.checkpoint, &[line]).unwrap();
    let v = proof::verify(&q, &key, &[witness.verifier()], 1).unwrap();
    assert_eq!(v.witnesses, vec![("witness.example/w1".to_string(), 1_800_000_000)]);
}

#[test]
fn older_checkpoint_plus_consistency_proof_verifies() {
    let mut h = ledger_with_claims();
    let key = log_key(&h);
    let old = greenledger::proof::build(&h.ledger, ClaimId(3)).unwrap();
    let (text, _) = split(&old.checkpoint).unwrap();
    let old_size = Checkpoint::parse(&text).unwrap().size;

    // The log grows.
    for n in 1..6 {
        h.generation(n, 3 * MWH);
        h.issue(n);
    }
    assert!(h.ledger.size() > old_size + 9);

    let mut p = old.clone();
    greenledger::proof::extend_to_current(&h.ledger, &mut p).unwrap();
    let v = proof::verify_json(&p.to_json(), &key, &[], 0).unwrap();
    assert_eq!(v.checkpoint_size, old_size);
    assert_eq!(v.newer_size, Some(h.ledger.size()));

    // The same through verify_with_newer.
    let newer = h.ledger.checkpoint_note().unwrap();
    let cproof = h.ledger.consistency_proof(old_size, h.ledger.size()).unwrap();
    assert!(proof::verify_with_newer(&old, &newer, &cproof, &key, &[], 0).is_ok());

    // A consistency proof for other sizes does not verify.
    let wrong = h.ledger.consistency_proof(old_size - 1, h.ledger.size()).unwrap();
    assert!(matches!(proof::verify_with_newer(&old, &newer, &wrong, &key, &[], 0), Err(ProofFailure::Consistency(_))));

    // Changing any sampled byte of the extended proof is refused as well.
    let json = p.to_json();
    let bytes = json.as_bytes();
    let cstart = json.find("\"consistency\"").unwrap();
    for pos in (cstart..bytes.len()).step_by(7) {
        let mut changed = bytes.to_vec();
        changed[pos] ^= 0x01;
        if let Ok(text) = String::from_utf8(changed) {
            assert!(proof::verify_json(&text, &key, &[], 0).is_err(), "byte {pos} of the consistency part");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_demo_claim_bundle_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("demo");
    let report = greenledger::demo::run(&data).await.unwrap();
    assert!(!report.claims.is_empty());
    let key = std::fs::read_to_string(data.join("log.pub")).unwrap();
    let mut roles_seen = std::collections::BTreeSet::new();
    for id in &report.claims {
        let text = std::fs::read_to_string(data.join("proofs").join(format!("C{id}.json"))).unwrap();
        let v = proof::verify_json(&text, key.trim(), &[], 0).unwrap_or_else(|e| panic!("C{id}: {e}"));
        assert!(v.summary.energy_wh > 0);
        let p: ClaimProof = serde_json::from_str(&text).unwrap();
        roles_seen.extend(p.entries.into_iter().map(|e| e.role));
    }
    // Direct supply, green-power trades and an unbundled purchase all appear in the demo.
    for r in ["direct-supply", "trade", "transfer", "issuance", "retirement"] {
        assert!(roles_seen.contains(r), "no {r} in {roles_seen:?}");
    }
}

/// Under the GEC preset: the issuing body's monthly run, a dated policy amendment, a device
/// change, an upward correction with a supplementary issue, and self-consumed output. Each
/// claim's proof carries the class and channel, and `verify` derives them from the lineage.
#[test]
fn proofs_carry_the_class_under_the_real_rules() {
    use greenledger::ledger::Clock;
    use greenledger_core::calendar::unix;
    use greenledger_core::state::DeviceAttributes;
    let mut h = World::builder().policy(|p| *p = Policy::preset("gec", LEDGER).unwrap()).build();
    let (op, m, reg, g, c) =
        (h.operator.clone(), h.meter.clone(), h.regulator.clone(), h.generator.clone(), h.consumer.clone());
    // The factory uses part of the plant's output itself (自发自用).
    let attrs = DeviceAttributes { user: Some(c.account()), ..Default::default() };
    let change = cmd::ChangeDevice { device: wind(), change: cmd::DeviceChange::Attributes(attrs) };
    h.ok(&op, Command::ChangeDevice(change));
    let mut strict = Policy::preset("gec", LEDGER).unwrap();
    strict.max_transfers = Some(1);
    strict.correction_window_months = 2;
    let amend = cmd::AmendPolicy { effective: h.clock.now(), policy: strict, reason: "2026 rules".into() };
    h.ok(&reg, Command::AmendPolicy(amend));
    let read = |channel, wh| {
        Command::PostMeterReading(cmd::PostMeterReading { device: wind(), channel, interval: hour(0), energy: Wh(wh) })
    };
    h.ok(&m, read(Channel::Export, 3 * MWH));
    h.ok(&m, read(Channel::SelfUse, 2 * MWH));
    // GEC: January 2026 (Beijing) is issued by the issuing body.
    h.ok(&op, Command::IssueMonth(cmd::IssueMonth { device: wind(), year: 2026, month: 1 }));
    let correct = cmd::CorrectReading {
        device: wind(),
        channel: Channel::Export,
        interval: hour(0),
        energy: Wh(4 * MWH),
        reason: "settlement data".into(),
        approval: None,
    };
    h.ok(&m, Command::CorrectReading(correct));
    h.consumption(c.account(), 0, 10 * MWH);
    let mut claims = Vec::new();
    for b in h.holdings(&g) {
        h.ok(&g, Command::Transfer(cmd::Transfer { bundle: b.id, serials: b.serials, to: c.account() }));
    }
    for b in h.holdings(&c) {
        h.ok(
            &c,
            Command::Retire(cmd::Retire {
                bundle: b.id,
                serials: b.serials,
                beneficiary: cmd::Beneficiary::Product {
                    product: "Battery factory".into(),
                    quantity: 1,
                    unit: "batch".into(),
                },
                purpose: cmd::Purpose::Other("RE100".into()),
                consumption: hour(0),
            }),
        );
        claims.push((ClaimId(h.ledger.meta().unwrap().next_claim - 1), b.class, b.channel));
    }
    assert_eq!(claims.len(), 3, "the first issuance, the supplement and the self-use bundle");
    assert!(h.clock.now().0 < unix(2026, 3, 1, 0, 0, 0));
    let key = log_key(&h);
    for (id, class, channel) in claims {
        let p = greenledger::proof::build(&h.ledger, id).unwrap();
        assert_eq!(p.summary.class.as_deref(), Some(class.name()));
        assert_eq!(p.summary.channel.as_deref(), Some(channel.name()));
        let roles = roles(&p);
        for role in ["device-change", "policy-amendment", "issuance"] {
            assert!(roles.contains(&role), "{id}: {roles:?}");
        }
        let v = proof::verify_json(&p.to_json(), &key, &[], 0).unwrap_or_else(|e| panic!("{id}: {e}"));
        assert_eq!(v.summary.class.as_deref(), Some(class.name()));
        // A proof that states another class fails on that field.
        let mut wrong = p.clone();
        wrong.summary.class = Some(if class == policy::Class::Tradable { "non-tradable" } else { "tradable" }.into());
        match proof::verify_json(&wrong.to_json(), &key, &[], 0) {
            Err(ProofFailure::Summary { field: "class", .. }) => {}
            other => panic!("{id}: a changed class gave {other:?}"),
        }
    }
}

/// Format 2: every entry carries its C2SP tlog-proof against the bundle's checkpoint, which the
/// core checks too; format 1 bundles (without them) keep verifying.
#[test]
fn format_2_bundles_carry_tlog_proofs() {
    use greenledger_core::log::tlog_proof::TlogProof;
    let h = ledger_with_claims();
    let key = log_key(&h);
    let note = h.ledger.checkpoint_note().unwrap();
    let size = h.ledger.size();
    let p = greenledger::proof::build_with(&h.ledger, ClaimId(2), &note, size, true).unwrap();
    assert_eq!(p.format, proof::FORMAT_V2);
    let v = proof::verify(&p, &key, &[], 0).unwrap();
    assert_eq!(v.entries, p.entries.len());
    for e in &p.entries {
        let t = TlogProof::parse(e.tlog_proof.as_deref().unwrap()).unwrap();
        assert_eq!((t.index, t.checkpoint.as_str()), (e.index, note.as_str()));
        assert!(e.tlog_proof.as_deref().unwrap().starts_with(&format!("c2sp.org/tlog-proof@v1\nindex {}\n", e.index)));
    }
    // The same claim in format 1 verifies as before.
    let v1 = greenledger::proof::build_at(&h.ledger, ClaimId(2), &note, size).unwrap();
    assert_eq!(v1.format, proof::FORMAT);
    assert!(v1.entries.iter().all(|e| e.tlog_proof.is_none()));
    proof::verify(&v1, &key, &[], 0).unwrap();
    assert!(!v1.to_json().contains("tlog_proof"));

    let tlog_failure = |q: &ClaimProof| match proof::verify(q, &key, &[], 0) {
        Err(ProofFailure::TlogProof { index, reason }) => (index, reason),
        other => panic!("expected a tlog-proof failure, got {other:?}"),
    };
    // Missing in format 2 (a format 1 bundle relabelled).
    let mut q = v1.clone();
    q.format = proof::FORMAT_V2.into();
    assert!(tlog_failure(&q).1.contains("missing"));
    // Another entry's tlog-proof.
    let mut q = p.clone();
    q.entries[2].tlog_proof = q.entries[3].tlog_proof.clone();
    assert_eq!(tlog_failure(&q).0, q.entries[2].index);
    // One proof hash changed (the JSON inclusion proof untouched).
    let mut q = p.clone();
    let mut t = TlogProof::parse(q.entries[1].tlog_proof.as_deref().unwrap()).unwrap();
    t.proof[0][0] ^= 1;
    q.entries[1].tlog_proof = Some(t.to_text());
    assert!(tlog_failure(&q).1.contains("against the checkpoint of size"), "{:?}", tlog_failure(&q));
    // Against another checkpoint (an older one of the same log).
    let older = h.ledger.checkpoint_note().unwrap();
    let mut q = p.clone();
    let mut t = TlogProof::parse(q.entries[0].tlog_proof.as_deref().unwrap()).unwrap();
    t.checkpoint = older.replacen(&format!("\n{size}\n"), "\n1\n", 1);
    q.entries[0].tlog_proof = Some(t.to_text());
    assert!(tlog_failure(&q).1.contains("not the bundle's checkpoint"));
    // Not a tlog proof at all.
    let mut q = p.clone();
    q.entries[0].tlog_proof = Some("c2sp.org/tlog-proof@v1\n".into());
    assert!(tlog_failure(&q).1.contains("malformed"));

    // Single-byte changes anywhere in a format 2 bundle, tlog-proofs included, are refused.
    let json = p.to_json();
    let bytes = json.as_bytes();
    let step = (bytes.len() / 150).max(1);
    for pos in (0..bytes.len()).step_by(step) {
        let mut changed = bytes.to_vec();
        changed[pos] ^= 0x01;
        if let Ok(text) = String::from_utf8(changed) {
            assert!(proof::verify_json(&text, &key, &[], 0).is_err(), "flipping byte {pos} was accepted");
        }
    }
}

//! The regulator's audit: replay and root recomputation over a good ledger, leaves edited or
//! deleted behind the ledger's back, and forked or rolled-back histories caught through the
//! state kept between audits.

use greenledger_core::command as cmd;

use greenledger::audit::{self, AuditFailure, AuditReport, AuditState, StoreProofs};
use greenledger::store::keys;
use greenledger::testkit::*;
use greenledger_core::calendar::unix;
use greenledger_core::codec;
use greenledger_core::*;

fn now() -> Timestamp {
    Timestamp(unix(2026, 3, 1, 0, 0, 0))
}

/// Audits the harness's ledger from its store, as `greenledger audit --data` does.
fn run(h: &World, prior: Option<&AuditState>) -> Result<AuditReport, AuditFailure> {
    let note = audit::store_checkpoint(&*h.store).unwrap();
    let size = h.ledger.size();
    let mut progress = Vec::new();
    let r = audit::audit(
        audit::store_leaves(&*h.store, size),
        &note,
        &h.ledger.verifier().to_string(),
        prior,
        &mut StoreProofs(&*h.store),
        now(),
        &mut |done, total| progress.push((done, total)),
    );
    if r.is_ok() {
        assert_eq!(progress.last(), Some(&(size, size)));
    }
    r
}

/// Issues 5 MWh, trades 1 MWh with the power, transfers 2 certificates and retires one.
fn busy(h: &mut World, wh: u64) {
    h.generation(0, wh);
    let (p, c2) = (h.platform.clone(), h.consumer2.account());
    h.ok(&p, Command::SettleTrade(cmd::SettleTrade { device: wind(), interval: hour(0), buyer: c2, energy: Wh(MWH) }));
    h.issue(0);
    h.consumption(h.consumer.account(), 0, 10 * MWH);
    let g = h.generator.clone();
    let b = h.only_bundle(&g);
    let s = b.serials.start.0;
    let to = h.consumer.account();
    h.ok(&g, Command::Transfer(cmd::Transfer { bundle: b.id, serials: SerialRange::new(s, s + 2), to }));
    let c = h.consumer.clone();
    let cb = h.only_bundle(&c);
    h.ok(
        &c,
        Command::Retire(cmd::Retire {
            bundle: cb.id,
            serials: SerialRange::new(cb.serials.start.0, cb.serials.start.0 + 1),
            beneficiary: cmd::Beneficiary::Product {
                product: "Battery factory".into(),
                quantity: 1,
                unit: "batch".into(),
            },
            purpose: cmd::Purpose::Other("annual report".into()),
            consumption: hour(0),
        }),
    );
}

#[test]
fn a_good_ledger_passes_with_totals() {
    let mut h = World::new();
    busy(&mut h, 5 * MWH + 300_000);
    let r = run(&h, None).unwrap();
    assert_eq!(r.entries, h.ledger.size());
    assert_eq!(r.root, h.ledger.root_at(r.entries).unwrap());
    assert_eq!(r.wh_issued, 5 * MWH as u128);
    assert_eq!(r.wh_retired, MWH as u128);
    assert_eq!(r.claims, 1);
    assert_eq!(r.wh_withdrawn, 0);
    assert_eq!(r.wh_expired, 0);
    assert_eq!(r.wh_active, 4 * MWH as u128);
    assert_eq!(r.refusals_logged, 0);
    assert!(!r.lines().iter().any(|l| l.contains("refused attempts")), "a line that always says 0 means nothing");
    assert_eq!(r.next_state.checkpoints.len(), 1);
    assert_eq!(r.next_state.log_key, h.ledger.verifier().to_string());

    // Long after production every active certificate has expired.
    let note = audit::store_checkpoint(&*h.store).unwrap();
    let late = Timestamp(unix(2030, 1, 1, 0, 0, 0));
    let r = audit::audit(
        audit::store_leaves(&*h.store, h.ledger.size()),
        &note,
        &h.ledger.verifier().to_string(),
        None,
        &mut StoreProofs(&*h.store),
        late,
        &mut |_, _| {},
    )
    .unwrap();
    assert_eq!((r.wh_expired, r.wh_active), (4 * MWH as u128, 0));
}

#[test]
fn an_edited_leaf_is_found() {
    let mut h = World::new();
    busy(&mut h, 5 * MWH);
    let size = h.ledger.size();

    // A broken signature: replay stops at that entry.
    let i = size - 3;
    let mut leaf = h.ledger.leaf(i).unwrap();
    let n = leaf.len();
    leaf[n - 1] ^= 1;
    h.store.raw_put(&keys::leaf(i), &leaf);
    let err = run(&h, None).unwrap_err();
    assert_eq!(err.index(), Some(i), "{err}");
    assert!(err.to_string().contains(&format!("entry {i}")), "{err}");
}

#[test]
fn a_subtly_edited_leaf_is_found_by_the_root() {
    // The sequencer time is not signed: editing it keeps every signature valid and the replay
    // may pass, but the recomputed root differs and the search names the entry.
    let mut h = World::new();
    busy(&mut h, 5 * MWH);
    let size = h.ledger.size();
    let i = size - 4;
    let mut entry = h.ledger.entry(i).unwrap();
    entry.time = Timestamp(entry.time.0 + 1);
    h.store.raw_put(&keys::leaf(i), &codec::leaf_bytes(&entry));
    let err = run(&h, None).unwrap_err();
    assert!(matches!(err, AuditFailure::RootMismatch { first_divergent: Some(d), .. } if d == i), "{err}");
    assert!(err.to_string().starts_with(&format!("first divergent entry {i}")), "{err}");
}

#[test]
fn a_deleted_leaf_is_found() {
    let mut h = World::new();
    busy(&mut h, 5 * MWH);
    let i = 5;
    h.store.raw_delete(&keys::leaf(i));
    let err = run(&h, None).unwrap_err();
    assert_eq!(err, AuditFailure::Missing { index: i, size: h.ledger.size() });
}

#[test]
fn growth_is_consistent_and_a_fork_is_detected() {
    // Two ledgers with the same log key and genesis (the harness is deterministic) that diverge.
    let mut a = World::new();
    let mut b = World::new();
    let first = run(&a, None).unwrap();
    assert_eq!(run(&b, Some(&first.next_state)).unwrap().consistent_with, 1, "identical so far");

    busy(&mut a, 5 * MWH);
    let seen_a = run(&a, Some(&first.next_state)).unwrap();
    assert_eq!(seen_a.consistent_with, 1);
    assert_eq!(seen_a.next_state.checkpoints.len(), 2);

    // A grows honestly: consistent with both checkpoints seen before.
    a.generation(1, 2 * MWH);
    let later = run(&a, Some(&seen_a.next_state)).unwrap();
    assert_eq!(later.consistent_with, 2);

    // B tells a different story after the common prefix, and grows beyond A's size.
    busy(&mut b, 4 * MWH);
    b.generation(1, 3 * MWH);
    b.generation(2, 3 * MWH);
    assert!(b.ledger.size() >= a.ledger.size());
    let err = run(&b, Some(&later.next_state)).unwrap_err();
    assert!(matches!(err, AuditFailure::Fork { .. }), "{err}");
    assert!(err.to_string().contains("forked history"), "{err}");

    // A log that shrank is a rollback.
    let small = World::new();
    let err = run(&small, Some(&later.next_state)).unwrap_err();
    assert!(matches!(err, AuditFailure::Rollback { .. }), "{err}");

    // The key may not change between audits.
    let mut other = later.next_state.clone();
    other.log_key = greenledger_core::log::NoteSigner::new(LEDGER, ed25519_dalek::SigningKey::from_bytes(&[98; 32]))
        .unwrap()
        .verifier()
        .to_string();
    let err = run(&a, Some(&other)).unwrap_err();
    assert!(matches!(err, AuditFailure::LogKeyChanged { .. }), "{err}");
}

#[test]
fn a_witness_cosigns_only_consistent_checkpoints() {
    use greenledger_core::log::{split, Cosigner};
    let witness = Cosigner::new("witness.example/w1", ed25519_dalek::SigningKey::from_bytes(&[42; 32])).unwrap();
    let mut a = World::new();
    let mut b = World::new();
    let key = a.ledger.verifier().to_string();

    // First sight: accepted, cosigned and stored in the ledger; claim proofs then carry it.
    let note = a.ledger.checkpoint_note().unwrap();
    let (_, state) = audit::witness_check(&note, &key, None, &mut StoreProofs(&*a.store)).unwrap();
    let (text, _) = split(&note).unwrap();
    let line = witness.cosign(&text, 1_800_000_000).unwrap();
    a.ledger.store_cosignature(witness.name(), &format!("{}\n{}", witness.verifier(), line)).unwrap();
    let served = a.ledger.checkpoint_note().unwrap();
    let (_, opened) = greenledger_core::log::open_checkpoint(&served, &a.ledger.verifier()).unwrap();
    assert_eq!(opened.verify_cosignatures(&[witness.verifier()]).unwrap().len(), 1);

    // A grows: consistent. B forks from the same genesis: refused.
    busy(&mut a, 5 * MWH);
    let note = a.ledger.checkpoint_note().unwrap();
    let (_, state2) = audit::witness_check(&note, &key, Some(&state), &mut StoreProofs(&*a.store)).unwrap();
    assert_eq!(state2.checkpoints.len(), 2);
    busy(&mut b, 4 * MWH);
    b.generation(1, MWH);
    let fork = b.ledger.checkpoint_note().unwrap();
    let err = audit::witness_check(&fork, &key, Some(&state2), &mut StoreProofs(&*b.store)).unwrap_err();
    assert!(matches!(err, AuditFailure::Fork { .. }), "{err}");
}

/// The real rules replay in an audit: corrections (a supplementary issue, a claw-back that
/// runs into a deficit because the certificates were retired), an exclusion that takes carried
/// energy out, the regulator's cancellation of frozen certificates and a policy amendment.
#[test]
fn an_audit_replays_corrections_exclusions_and_amendments() {
    let mut h = World::new();
    let (m, g, c, reg) = (h.meter.clone(), h.generator.clone(), h.consumer.clone(), h.regulator.clone());
    let correct = |interval, wh| {
        Command::CorrectReading(cmd::CorrectReading {
            device: wind(),
            channel: Channel::Export,
            interval,
            energy: Wh(wh),
            reason: "settlement data".into(),
            approval: None,
        })
    };
    // Hour 0: 2 MWh issued, corrected up to 3 MWh (a supplement of 1).
    h.generation(0, 2 * MWH);
    h.issue(0);
    h.ok(&m, correct(hour(0), 3 * MWH));
    // All 3 sold and retired; then the meter is corrected down to 1 MWh: 2 MWh owed.
    h.consumption(c.account(), 0, 10 * MWH);
    for b in h.holdings(&g) {
        h.ok(&g, Command::Transfer(cmd::Transfer { bundle: b.id, serials: b.serials, to: c.account() }));
    }
    for b in h.holdings(&c) {
        h.ok(&c, retire(b.id, b.serials, "Battery factory", "RE100", hour(0)));
    }
    h.ok(&m, correct(hour(0), MWH));
    // Hour 1: 2.5 MWh; 2 MWh settle the deficit; 0.5 carried. CCER excludes it: carry out.
    h.generation(1, 2_500_000);
    h.issue(1);
    h.ok(
        &reg,
        Command::DeclareExclusion(cmd::DeclareExclusion { device: wind(), interval: hour(1), scheme: "CCER".into() }),
    );
    // Hour 2: 2 MWh, frozen by another exclusion and cancelled.
    h.generation(2, 2 * MWH);
    h.issue(2);
    h.ok(
        &reg,
        Command::DeclareExclusion(cmd::DeclareExclusion { device: wind(), interval: hour(2), scheme: "I-REC".into() }),
    );
    let frozen = h.holdings(&g).into_iter().find(|b| b.state == state::BundleState::Frozen).unwrap();
    h.ok(
        &reg,
        Command::ResolveFrozen(cmd::ResolveFrozen { bundle: frozen.id, cancel: true, reason: "used in I-REC".into() }),
    );
    let mut strict = fixtures::policy(LEDGER);
    strict.max_transfers = Some(1);
    let effective = Timestamp(unix(2026, 6, 1, 0, 0, 0));
    h.ok(&reg, Command::AmendPolicy(cmd::AmendPolicy { effective, policy: strict, reason: "sold once".into() }));

    let r = run(&h, None).unwrap();
    assert_eq!(r.entries, h.ledger.size());
    assert_eq!(r.wh_issued, 5 * MWH as u128, "2 + 1 supplementary + 2");
    assert_eq!(r.wh_retired, 3 * MWH as u128);
    assert_eq!(r.wh_cancelled, 2 * MWH as u128);
    assert_eq!((r.claims, r.corrections, r.wh_clawed_back, r.claims_on_corrected), (2, 2, 0, 2));
    assert_eq!(r.wh_deficit, 0, "hour 1 settled the 2 MWh owed");
    assert_eq!(r.wh_excluded_carry, 500_000);
    assert_eq!(r.amendments, 1);
    let lines = r.lines().join("\n");
    assert!(lines.contains("corrections: 2") && lines.contains("2 claims on corrected energy"), "{lines}");
}

/// A ledger of a few thousand entries: hourly readings and issuances of three devices, and a
/// one-certificate transfer split off every issued bundle.
fn big() -> World {
    let devices = ["WIND-1", "WIND-2", "WIND-3"];
    let h = World::builder().devices(&devices.map(|d| (d, 10_000_000))).build();
    let (m, g, to) = (h.meter.clone(), h.generator.clone(), h.consumer.account());
    for hours in (0..700u64).collect::<Vec<_>>().chunks(100) {
        let mut batch = Vec::new();
        for &n in hours {
            for d in devices {
                batch.push(h.sign(&m, fixtures::post_generation(DeviceId(d.into()), hour(n), 3 * MWH)));
                batch.push(h.sign(&g, fixtures::issue(DeviceId(d.into()), hour(n))));
            }
        }
        h.ok_all(batch);
        let transfers = h
            .holdings(&g)
            .into_iter()
            .filter(|b| b.serials.len() == 3)
            .map(|b| {
                h.sign(&g, fixtures::transfer(b.id, SerialRange::new(b.serials.start.0, b.serials.start.0 + 1), to))
            })
            .collect();
        h.ok_all(transfers);
    }
    assert!(h.ledger.size() > 6000, "{}", h.ledger.size());
    h
}

/// The world's leaves, read from its store.
fn leaves_of(h: &World) -> Vec<Option<Vec<u8>>> {
    audit::store_leaves(&*h.store, h.ledger.size()).collect()
}

/// Audits `leaves` against the world's checkpoint with `parallelism` (proofs from its store).
fn run_with(
    h: &World,
    leaves: &[Option<Vec<u8>>],
    parallelism: audit::Parallelism,
) -> Result<AuditReport, AuditFailure> {
    let note = audit::store_checkpoint(&*h.store).unwrap();
    let size = h.ledger.size();
    let mut last = (0, 0);
    let r = audit::audit_with(
        parallelism,
        leaves.iter().cloned(),
        &note,
        &h.ledger.verifier().to_string(),
        None,
        &mut StoreProofs(&*h.store),
        now(),
        &mut |done, total| {
            assert_eq!(done, last.0 + 1, "progress in order");
            last = (done, total);
        },
    );
    if r.is_ok() {
        assert_eq!(last, (size, size));
    }
    r
}

/// What the replay one entry at a time with [`replay::Replayer::push`] finds: the first entry it
/// refuses, as the audit reports it.
fn replay_one_by_one(leaves: &[Option<Vec<u8>>]) -> Option<AuditFailure> {
    let mut r = replay::Replayer::new();
    for leaf in leaves {
        if let Err(e) = r.push(leaf.as_ref().unwrap()) {
            return Some(AuditFailure::Replay { index: e.index(), reason: e.to_string() });
        }
    }
    None
}

/// The same audit with checking on the calling thread, on one thread, on several, and with
/// small and odd batches.
fn every_parallelism() -> Vec<audit::Parallelism> {
    let mut all = vec![audit::Parallelism::threads(0), audit::Parallelism::threads(1), audit::Parallelism::threads(4)];
    all.push(audit::Parallelism::all_cores());
    all.push(audit::Parallelism { threads: 3, chunk: 7 });
    all.push(audit::Parallelism { threads: 2, chunk: 1 });
    all
}

#[test]
fn a_large_ledger_audits_the_same_on_any_number_of_threads() {
    let h = big();
    let size = h.ledger.size();
    let leaves = leaves_of(&h);
    assert_eq!(replay_one_by_one(&leaves), None);
    let reference = run_with(&h, &leaves, audit::Parallelism::threads(0)).unwrap();
    assert_eq!(reference.entries, size);
    assert_eq!(reference.root, h.ledger.root_at(size).unwrap());
    assert_eq!(reference.wh_issued, 3 * 700 * 3 * MWH as u128);
    assert_eq!(reference.wh_active, reference.wh_issued);
    for p in every_parallelism() {
        assert_eq!(run_with(&h, &leaves, p).unwrap(), reference, "{p:?}");
    }
    assert_eq!(run(&h, None).unwrap(), reference);
}

#[test]
fn a_bad_signature_in_the_middle_of_a_batch_is_its_own_entry() {
    let h = big();
    let size = h.ledger.size();
    let mut leaves = leaves_of(&h);
    // One signature broken in the middle of the log, away from any batch boundary, and one
    // later in the same batch: the first is reported, with the reason one-by-one replay gives.
    let i = size / 2 + 100;
    assert_ne!(i % audit::Parallelism::CHUNK as u64, 0);
    for j in [i, i + 5] {
        let leaf = leaves[j as usize].as_mut().unwrap();
        let n = leaf.len();
        leaf[n - 1] ^= 1;
    }
    let expected = replay_one_by_one(&leaves).unwrap();
    assert_eq!(expected.index(), Some(i));
    assert!(expected.to_string().contains("the signature does not verify"), "{expected}");
    for p in every_parallelism() {
        assert_eq!(run_with(&h, &leaves, p).unwrap_err(), expected, "{p:?}");
    }

    // An entry that no longer decodes, before it: that one is reported.
    let k = i - 1000;
    leaves[k as usize] = Some(b"not a leaf".to_vec());
    let expected = replay_one_by_one(&leaves).unwrap();
    assert_eq!(expected.index(), Some(k));
    for p in every_parallelism() {
        assert_eq!(run_with(&h, &leaves, p).unwrap_err(), expected, "{p:?}");
    }

    // A missing entry is reported as missing wherever the replay is.
    leaves[size as usize - 2] = None;
    for p in every_parallelism() {
        assert_eq!(run_with(&h, &leaves, p).unwrap_err(), AuditFailure::Missing { index: size - 2, size }, "{p:?}");
    }
}

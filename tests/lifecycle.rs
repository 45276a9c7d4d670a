//! The happy path end to end on the in-memory store: readings, issuance with carry-over,
//! direct supply, a trade, transfers with splits, a retirement; then replay and reopen.

use greenledger::ledger::Ledger;
use greenledger::ledger::Refused;
use greenledger::testkit::*;
use greenledger_core::command as cmd;
use greenledger_core::replay::Replayer;
use greenledger_core::state::{BundleState, Origin};
use greenledger_core::*;

#[test]
fn certificates_flow_from_meter_to_claim_and_replay_gives_the_same_root() {
    let mut h = World::new();
    let (c1, c2) = (h.consumer.account(), h.consumer2.account());
    // Hour 0: 5.4 MWh generated, 1.2 MWh delivered over the direct line to consumer 1.
    h.generation(0, 5_400_000);
    let m = h.meter.clone();
    h.ok(
        &m,
        Command::PostDirectSupply(cmd::PostDirectSupply {
            device: wind(),
            consumer: c1,
            interval: hour(0),
            energy: Wh(1_200_000),
        }),
    );
    // A green-power trade of 2 MWh to consumer 2, settled before issuance.
    let p = h.platform.clone();
    h.ok(
        &p,
        Command::SettleTrade(cmd::SettleTrade { device: wind(), interval: hour(0), buyer: c2, energy: Wh(2 * MWH) }),
    );
    let r = h.issue(0);
    assert!(r.summary.iter().any(|s| s.contains("issued")), "{:?}", r.summary);

    // Consumer 1 gets 1 non-transferable certificate (0.2 MWh carried for that line),
    // consumer 2 gets 2 traded ones, the generator 2 (5.4 - 1.2 - 2.0 = 2.2; 0.2 carried).
    let b1 = h.only_bundle(&h.consumer.clone());
    assert_eq!((b1.serials.len(), b1.origin, b1.transferable), (1, Origin::DirectSupply, false));
    let b2 = h.only_bundle(&h.consumer2.clone());
    assert_eq!((b2.serials.len(), b2.origin), (2, Origin::Trade));
    let g = h.only_bundle(&h.generator.clone());
    assert_eq!((g.serials.len(), g.origin), (2, Origin::Issued));
    let dev = h.ledger.device(&wind()).unwrap();
    // The carry is kept per holder and origin, each part naming its reading.
    let parts: Vec<(AccountId, Origin, Wh)> = dev.carry.iter().map(|p| (p.holder, p.origin, p.energy)).collect();
    let generator = h.generator.account();
    assert_eq!(parts, vec![(c1, Origin::DirectSupply, Wh(200_000)), (generator, Origin::Issued, Wh(200_000))]);
    assert!(dev.carry.iter().all(|p| p.reading == hour(0).start));

    // Hour 1: 0.9 MWh + 0.2 carried = 1 certificate for the generator, 0.1 MWh carried.
    h.generation(1, 900_000);
    h.issue(1);
    let dev = h.ledger.device(&wind()).unwrap();
    let generator_carry: Vec<Wh> = dev.carry.iter().filter(|p| p.origin == Origin::Issued).map(|p| p.energy).collect();
    assert_eq!(generator_carry, vec![Wh(100_000)]);
    assert_eq!(dev.carried(), Wh(300_000));

    // Partial transfer splits the hour-0 bundle.
    let gen = h.generator.clone();
    let first = SerialRange::new(g.serials.start.0, g.serials.start.0 + 1);
    h.ok(&gen, Command::Transfer(cmd::Transfer { bundle: g.id, serials: first, to: c1 }));
    let held = h.holdings(&h.consumer.clone());
    assert_eq!(held.len(), 2);
    let moved = held.iter().find(|b| b.origin == Origin::Issued).unwrap();
    assert_eq!(moved.serials, first);
    assert_eq!(moved.parent, Some(g.id));
    assert_eq!(h.ledger.bundle(g.id).unwrap().serials.len(), 1);

    // Consumer 1 consumed 3 MWh in hour 0 and retires both certificates it holds.
    h.consumption(c1, 0, 3 * MWH);
    let c = h.consumer.clone();
    for b in held {
        h.ok(
            &c,
            Command::Retire(cmd::Retire {
                bundle: b.id,
                serials: b.serials,
                beneficiary: cmd::Beneficiary::Product {
                    product: "Battery factory, export batch 2026-01".into(),
                    quantity: 1,
                    unit: "batch".into(),
                },
                purpose: cmd::Purpose::Other("product carbon footprint".into()),
                consumption: hour(0),
            }),
        );
    }
    let claims = h.ledger.claims_of(&c1).unwrap();
    assert_eq!(claims.len(), 2);
    assert!(h.holdings(&h.consumer.clone()).iter().all(|b| matches!(b.state, BundleState::Retired(_))));
    assert_eq!(h.ledger.account(&c1).unwrap().claimed, Wh(2 * MWH));

    // Replay every leaf from scratch: same accounts, bundles and root.
    let size = h.ledger.size();
    let mut replay = Replayer::new();
    let mut tree = greenledger_core::log::MemTree::new();
    for (_, leaf) in h.ledger.entries(0, size).unwrap() {
        replay.push(&leaf).unwrap();
        tree.push(&leaf);
    }
    assert_eq!(tree.root(), h.ledger.committed().head.root);
    for b in replay.state.bundles.values() {
        assert_eq!(&h.ledger.bundle(b.id).unwrap(), b);
    }
    assert_eq!(replay.state.claims.len(), 2);

    // Reopen the same store: same root.
    let root = h.ledger.committed().head.root;
    let reopened = Ledger::open(h.store.clone(), log_signer(), h.clock.clone()).unwrap();
    assert_eq!(reopened.committed().head.root, root);
}

/// Selling a bundle in many small lots must not grow the remainder's record: only the pieces
/// that moved record the transfer in their lineage.
#[test]
fn selling_in_small_lots_keeps_history_short() {
    let mut h = World::new();
    h.generation(0, 9_000_000);
    h.issue(0);
    let g = h.only_bundle(&h.generator.clone());
    let gen = h.generator.clone();
    let c1 = h.consumer.account();
    for i in 0..8 {
        let lot = SerialRange::new(g.serials.start.0 + i, g.serials.start.0 + i + 1);
        h.ok(&gen, Command::Transfer(cmd::Transfer { bundle: g.id, serials: lot, to: c1 }));
    }
    let rest = h.ledger.bundle(g.id).unwrap();
    assert_eq!(rest.serials.len(), 1);
    assert_eq!(rest.history.len(), 1, "remainder history {:?}", rest.history);
    for b in h.holdings(&h.consumer.clone()) {
        assert_eq!(b.history.len(), 2, "issuance and the transfer that moved it");
        assert_eq!(b.parent, Some(g.id));
    }
}

/// Free text is checked: empty, too long, control and bidirectional formatting characters are
/// refused; ordinary Unicode is kept as signed.
#[test]
fn free_text_rules() {
    let mut h = World::new();
    h.generation(0, 2_000_000);
    h.issue(0);
    h.consumption(h.consumer.account(), 0, 2_000_000);
    let g = h.only_bundle(&h.generator.clone());
    let gen = h.generator.clone();
    h.ok(&gen, Command::Transfer(cmd::Transfer { bundle: g.id, serials: g.serials, to: h.consumer.account() }));
    let b = h.only_bundle(&h.consumer.clone());
    let c = h.consumer.clone();
    let retire = |beneficiary: &str| {
        Command::Retire(cmd::Retire {
            bundle: b.id,
            serials: b.serials,
            beneficiary: cmd::Beneficiary::Product { product: beneficiary.into(), quantity: 1, unit: "batch".into() },
            purpose: cmd::Purpose::Other("RE100".into()),
            consumption: hour(0),
        })
    };
    for (text, fragment) in [
        ("", "must not be empty"),
        ("Factory\u{202E}gnirtS", "U+202E"),
        ("Factory\u{2066}x", "U+2066"),
        ("Line\nbreak", "U+000A"),
        (&"x".repeat(300), "300 bytes"),
    ] {
        let e = h.refused(&c, retire(text));
        let Refused::Rule(Refusal::BadText { field: "beneficiary product", reason }) = &e else { panic!("{e:?}") };
        assert!(reason.contains(fragment), "{e}");
    }
    h.ok(&c, retire("常州电池厂 — export batch Ø"));
    let claim = h.ledger.claims_of(&h.consumer.account()).unwrap().pop().unwrap();
    assert_eq!(claim.beneficiary, "product 常州电池厂 — export batch Ø: 1 batch");
}

/// Every serial is found in the one bundle that holds it, through the serial index, after
/// issuance, partial transfers (splits that move a bundle's first serial) and retirements; and
/// the index is what replaying the log gives.
#[test]
fn each_serial_is_found_in_its_bundle() {
    let mut h = World::new();
    h.generation(0, 9 * MWH);
    h.issue(0);
    h.generation(1, 4 * MWH);
    h.issue(1);
    let (g, c) = (h.generator.clone(), h.consumer.clone());
    let first = h.holdings(&g)[0].clone();
    let s = first.serials.start.0;
    // Cut from the middle and from the start: the remainder's first serial moves.
    h.ok(
        &g,
        Command::Transfer(cmd::Transfer { bundle: first.id, serials: SerialRange::new(s + 3, s + 5), to: c.account() }),
    );
    h.ok(
        &g,
        Command::Transfer(cmd::Transfer { bundle: first.id, serials: SerialRange::new(s, s + 2), to: c.account() }),
    );
    let meta = h.ledger.meta().unwrap();
    for serial in 1..meta.next_serial {
        let b = h.ledger.bundle_of_serial(Serial(serial)).unwrap();
        assert!(b.serials.start.0 <= serial && serial < b.serials.end.0, "serial {serial} in {b:?}");
    }
    assert!(h.ledger.bundle_of_serial(Serial(meta.next_serial)).is_err());
    assert_eq!(h.ledger.verify_full().unwrap().entries, h.ledger.size());
}

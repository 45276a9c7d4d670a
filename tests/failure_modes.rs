//! One test per double-counting failure mode of DESIGN.md section 3. Each test attempts the
//! double count, checks the refusal's kind and that its message names the rule and the value,
//! and (through `Harness::refused`) that the store did not change by a single byte.

mod common;
use common::*;
use greenledger::codec;
use greenledger::domain::calendar::add_months;
use greenledger::domain::replay::{ReplayError, Replayer};
use greenledger::domain::state::{Bundle, BundleState, Origin};
use greenledger::domain::*;
use greenledger::ledger::Refused;
use greenledger::log::{open_checkpoint, verify_consistency, MemTree};

fn transfer(b: &Bundle, serials: SerialRange, to: AccountId) -> Command {
    Command::Transfer {
        bundle: b.id,
        serials,
        to,
    }
}

fn retire(b: &Bundle, serials: SerialRange, consumption: Interval) -> Command {
    Command::Retire {
        bundle: b.id,
        serials,
        beneficiary: "Battery factory".into(),
        purpose: "scope 2".into(),
        consumption,
    }
}

fn expect(r: &Refused, kind: RefusalKind, parts: &[&str]) {
    assert_eq!(r.kind, kind, "{}", r.message);
    for p in parts {
        assert!(
            r.message.contains(p),
            "message {:?} does not name {:?}",
            r.message,
            p
        );
    }
}

/// Submits a prepared signed command, insists on refusal and checks the store is unchanged.
fn refused_signed(h: &mut Harness, signed: SignedCommand) -> Refused {
    let before = h.snapshot();
    let out = h.submit_signed(signed);
    assert_eq!(h.snapshot(), before, "a refused command changed the store");
    out.expect_err("the command was accepted")
}

/// Generation of `mwh` MWh in hour `n`, issued to the generator; returns the generator's bundle.
fn issued(h: &mut Harness, n: u64, mwh: u64) -> Bundle {
    h.generation(n, mwh * MWH);
    let r = h.issue(n);
    let g = h.generator.clone();
    let b = h
        .holdings(&g)
        .into_iter()
        .rfind(|b| b.history[0] == r.index)
        .expect("a bundle");
    assert_eq!(b.serials.len(), mwh);
    b
}

#[test]
fn mode_01_two_issuances_same_interval() {
    let mut h = Harness::new();
    let b = issued(&mut h, 0, 3);
    let first = b.history[0];
    let (g, m) = (h.generator.clone(), h.meter.clone());
    let r = h.refused(
        &g,
        Command::Issue {
            device: Harness::wind(),
            interval: hour(0),
        },
    );
    expect(
        &r,
        RefusalKind::FailedPrecondition,
        &["rule 1", "WIND-1", &format!("entry {first}")],
    );

    // A second reading of the same hour, or one overlapping it, would let the same output be
    // issued again: refused as well.
    let again = Command::PostGeneration {
        device: Harness::wind(),
        interval: hour(0),
        energy: Wh(MWH),
    };
    let r = h.refused(&m, again);
    expect(&r, RefusalKind::FailedPrecondition, &["rule 1", "WIND-1"]);
    let straddling = Interval::new(hour(0).start.0 + 1800, hour(1).start.0 + 1800);
    let r = h.refused(
        &m,
        Command::PostGeneration {
            device: Harness::wind(),
            interval: straddling,
            energy: Wh(MWH),
        },
    );
    expect(
        &r,
        RefusalKind::FailedPrecondition,
        &["rule 1", &hour(0).end.to_string()],
    );

    // Issuing an interval that spans the issued reading and a new one is not a reading at all.
    h.generation(1, MWH);
    let both = Interval::new(hour(0).start.0, hour(1).end.0);
    let r = h.refused(
        &g,
        Command::Issue {
            device: Harness::wind(),
            interval: both,
        },
    );
    assert_eq!(r.kind, RefusalKind::NotFound, "{}", r.message);
    assert_eq!(h.ledger.meta().unwrap().next_serial, 4);
}

#[test]
fn mode_02_issuance_beyond_metered_output() {
    let mut h = Harness::new();
    // Issuance is computed from the reading: whole units, the remainder carried.
    h.generation(0, 2_500_000);
    h.issue(0);
    h.generation(1, 1_500_000);
    h.issue(1);
    let readings = h.ledger.readings(&Harness::wind(), 0, u64::MAX).unwrap();
    let i0 = readings[0].issuance.clone().unwrap();
    let i1 = readings[1].issuance.clone().unwrap();
    assert_eq!(
        (i0.serials.len(), i0.carry_in, i0.carry_out),
        (2, Wh(0), Wh(500_000))
    );
    assert_eq!(
        (i1.serials.len(), i1.carry_in, i1.carry_out),
        (2, Wh(500_000), Wh(0))
    );
    let total: u64 = h
        .holdings(&h.generator.clone())
        .iter()
        .map(|b| b.serials.len())
        .sum();
    assert_eq!(total * MWH, 2_500_000 + 1_500_000);

    // 10 MW for one hour is at most 10 MWh: one watt-hour more is refused.
    let m = h.meter.clone();
    let over = Command::PostGeneration {
        device: Harness::wind(),
        interval: hour(2),
        energy: Wh(10 * MWH + 1),
    };
    let r = h.refused(&m, over);
    expect(
        &r,
        RefusalKind::FailedPrecondition,
        &["rule 2", "10000001 Wh", "10000000 W", "WIND-1"],
    );
    h.generation(2, 10 * MWH);
}

#[test]
fn mode_03_exclusion_blocks_issuance_and_freezes_issued() {
    let mut h = Harness::new();
    let (g, c, reg) = (h.generator.clone(), h.consumer.clone(), h.regulator.clone());
    let c1 = c.account();
    // Hour 0: excluded before issuance; issuance is refused.
    h.generation(0, 2 * MWH);
    let excl = Command::DeclareExclusion {
        device: Harness::wind(),
        interval: hour(0),
        scheme: "CCER".into(),
    };
    let excl_entry = h.ok(&reg, excl).index;
    let r = h.refused(
        &g,
        Command::Issue {
            device: Harness::wind(),
            interval: hour(0),
        },
    );
    expect(
        &r,
        RefusalKind::FailedPrecondition,
        &["rule 3", "CCER", "WIND-1", &format!("entry {excl_entry}")],
    );

    // Hour 1: issued, part sold and retired, then excluded: the unretired rest is frozen.
    let b = issued(&mut h, 1, 4);
    let s = b.serials.start.0;
    h.ok(&g, transfer(&b, SerialRange::new(s, s + 2), c1));
    h.consumption(c1, 1, 5 * MWH);
    let mine = h.only_bundle(&c);
    h.ok(&c, retire(&mine, SerialRange::new(s, s + 1), hour(1)));
    let excl = Command::DeclareExclusion {
        device: Harness::wind(),
        interval: hour(1),
        scheme: "I-REC".into(),
    };
    h.ok(&reg, excl);
    let states: Vec<(u64, &str)> = [h.holdings(&g), h.holdings(&c)]
        .concat()
        .iter()
        .filter(|b| b.production == hour(1))
        .map(|b| (b.serials.start.0, b.state.name()))
        .collect();
    assert_eq!(states.len(), 3);
    for (start, state) in states {
        assert_eq!(
            state,
            if start == s { "retired" } else { "frozen" },
            "serial {start}"
        );
    }
    // Frozen certificates can neither be transferred nor retired.
    let frozen_g = h.ledger.bundle(b.id).unwrap();
    assert_eq!(frozen_g.state, BundleState::Frozen);
    let r = h.refused(&g, transfer(&frozen_g, frozen_g.serials, c1));
    expect(
        &r,
        RefusalKind::FailedPrecondition,
        &["rule 3", &frozen_g.id.to_string(), "frozen"],
    );
    let frozen_c = h
        .holdings(&c)
        .into_iter()
        .find(|b| b.state == BundleState::Frozen)
        .unwrap();
    let r = h.refused(&c, retire(&frozen_c, frozen_c.serials, hour(1)));
    expect(
        &r,
        RefusalKind::FailedPrecondition,
        &["rule 3", &frozen_c.id.to_string(), "frozen"],
    );
    assert_eq!(h.ledger.account(&c1).unwrap().claimed, Wh(MWH));
}

#[test]
fn mode_04_sold_twice_or_by_non_owner() {
    let mut h = Harness::new();
    let (g, c, c2) = (h.generator.clone(), h.consumer.clone(), h.consumer2.clone());
    let b = issued(&mut h, 0, 4);
    // Someone else cannot sell the generator's certificates.
    let r = h.refused(&c2, transfer(&b, b.serials, c2.account()));
    expect(
        &r,
        RefusalKind::PermissionDenied,
        &["rule 4", &b.id.to_string(), &c2.account().short()],
    );

    // After a partial sale the old owner cannot move the sold serials any more, neither by the
    // new bundle's id nor through the remainder of the old one.
    let s = b.serials.start.0;
    let sold = SerialRange::new(s, s + 2);
    h.ok(&g, transfer(&b, sold, c.account()));
    let new = h.only_bundle(&c);
    assert_eq!(new.serials, sold);
    let r = h.refused(&g, transfer(&new, sold, c2.account()));
    expect(
        &r,
        RefusalKind::PermissionDenied,
        &["rule 4", &new.id.to_string(), &c.account().short()],
    );
    let rest = h.ledger.bundle(b.id).unwrap();
    assert_eq!(rest.serials, SerialRange::new(s + 2, s + 4));
    let r = h.refused(&g, transfer(&rest, sold, c2.account()));
    expect(
        &r,
        RefusalKind::Invalid,
        &[&b.id.to_string(), &sold.to_string()],
    );
    assert!(h.holdings(&c2).is_empty());

    // Whole-bundle sale: the old owner loses the bundle entirely.
    h.ok(&g, transfer(&rest, rest.serials, c2.account()));
    let r = h.refused(&g, transfer(&rest, rest.serials, c.account()));
    expect(
        &r,
        RefusalKind::PermissionDenied,
        &["rule 4", &rest.id.to_string()],
    );
    assert!(h.holdings(&g).is_empty());
}

#[test]
fn mode_05_retired_twice_or_transferred_after_retirement() {
    let mut h = Harness::new();
    let (g, c) = (h.generator.clone(), h.consumer.clone());
    let c1 = c.account();
    let b = issued(&mut h, 0, 3);
    h.ok(&g, transfer(&b, b.serials, c1));
    h.consumption(c1, 0, 10 * MWH);
    let s = b.serials.start.0;
    h.ok(&c, retire(&b, SerialRange::new(s, s + 1), hour(0)));
    let retired = h
        .holdings(&c)
        .into_iter()
        .find(|b| matches!(b.state, BundleState::Retired(_)))
        .unwrap();
    let r = h.refused(&c, retire(&retired, retired.serials, hour(0)));
    expect(
        &r,
        RefusalKind::FailedPrecondition,
        &["rule 5", &retired.id.to_string(), "retired"],
    );
    let r = h.refused(
        &c,
        transfer(&retired, retired.serials, h.consumer2.account()),
    );
    expect(
        &r,
        RefusalKind::FailedPrecondition,
        &["rule 5", &retired.id.to_string(), "retired"],
    );
    // The retired serial is no longer inside the bundle the rest kept.
    let r = h.refused(&c, retire(&b, b.serials, hour(0)));
    expect(&r, RefusalKind::Invalid, &[&b.id.to_string()]);
    assert_eq!(h.ledger.account(&c1).unwrap().claimed, Wh(MWH));
    assert_eq!(h.ledger.claims_of(&c1).unwrap().len(), 1);
}

#[test]
fn mode_06_use_after_expiry_or_withdrawal() {
    let mut h = Harness::new();
    let (g, c, reg) = (h.generator.clone(), h.consumer.clone(), h.regulator.clone());
    let c1 = c.account();
    let b = issued(&mut h, 0, 4);
    let expires = add_months(hour(0).end.0, 24);
    assert_eq!(b.expires, Timestamp(expires));
    let s = b.serials.start.0;
    h.ok(&g, transfer(&b, SerialRange::new(s, s + 2), c1));
    h.consumption(c1, 0, 10 * MWH);
    let mine = h.only_bundle(&c);

    // Withdrawal: the withdrawn serials cannot be used or withdrawn again.
    h.ok(
        &reg,
        Command::Withdraw {
            bundle: mine.id,
            serials: SerialRange::new(s, s + 1),
            reason: "meter error".into(),
        },
    );
    let gone = h
        .holdings(&c)
        .into_iter()
        .find(|b| b.state == BundleState::Withdrawn)
        .unwrap();
    let r = h.refused(&c, retire(&gone, gone.serials, hour(0)));
    expect(
        &r,
        RefusalKind::FailedPrecondition,
        &["rule 6", &gone.id.to_string(), "withdrawn"],
    );
    let r = h.refused(&c, transfer(&gone, gone.serials, h.consumer2.account()));
    expect(
        &r,
        RefusalKind::FailedPrecondition,
        &["rule 6", &gone.id.to_string(), "withdrawn"],
    );
    let again = Command::Withdraw {
        bundle: gone.id,
        serials: gone.serials,
        reason: "again".into(),
    };
    let r = h.refused(&reg, again);
    expect(
        &r,
        RefusalKind::FailedPrecondition,
        &["rule 6", &gone.id.to_string(), "withdrawn"],
    );

    // Expiry: one second before, still usable; at the expiry instant, neither side can use it.
    h.clock.set(expires - 1);
    h.ok(
        &g,
        transfer(&b, SerialRange::new(s + 2, s + 3), h.consumer2.account()),
    );
    let still = h.only_bundle(&c);
    let rest = h.ledger.bundle(b.id).unwrap();
    assert_eq!(rest.serials, SerialRange::new(s + 3, s + 4));
    h.clock.set(expires);
    let r = h.refused(&c, retire(&still, still.serials, hour(0)));
    expect(
        &r,
        RefusalKind::FailedPrecondition,
        &[
            "rule 6",
            &still.id.to_string(),
            &Timestamp(expires).to_string(),
        ],
    );
    let r = h.refused(&g, transfer(&rest, rest.serials, c1));
    expect(
        &r,
        RefusalKind::FailedPrecondition,
        &["rule 6", &rest.id.to_string(), "expired"],
    );
    assert_eq!(
        h.ledger.bundle(b.id).unwrap().state_at(Timestamp(expires)),
        "expired"
    );
    assert_eq!(h.ledger.account(&c1).unwrap().claimed, Wh(0));
}

#[test]
fn mode_07_transfers_beyond_policy_limit() {
    let mut p = Policy::new(LEDGER);
    p.unit_wh = MWH;
    p.max_transfers = Some(1);
    let mut h = Harness::with_policy(p);
    let (g, c, c2) = (h.generator.clone(), h.consumer.clone(), h.consumer2.clone());
    let b = issued(&mut h, 0, 3);
    let s = b.serials.start.0;
    h.ok(&g, transfer(&b, SerialRange::new(s, s + 2), c.account()));
    let mine = h.only_bundle(&c);
    assert_eq!(mine.transfers, 1);
    for range in [mine.serials, SerialRange::new(s, s + 1)] {
        let r = h.refused(&c, transfer(&mine, range, c2.account()));
        expect(
            &r,
            RefusalKind::FailedPrecondition,
            &["rule 7", &mine.id.to_string(), "allows 1"],
        );
    }
    // The generator's unsold remainder may still be sold once.
    h.ok(
        &g,
        transfer(&b, SerialRange::new(s + 2, s + 3), c2.account()),
    );

    // Certificates that came with direct supply or a green-power trade are never transferable.
    let mut h = Harness::new();
    let (m, p, c, c2) = (
        h.meter.clone(),
        h.platform.clone(),
        h.consumer.clone(),
        h.consumer2.clone(),
    );
    h.generation(0, 5 * MWH);
    let direct = Command::PostDirectSupply {
        device: Harness::wind(),
        consumer: c.account(),
        interval: hour(0),
        energy: Wh(MWH),
    };
    h.ok(&m, direct);
    let trade = Command::SettleTrade {
        device: Harness::wind(),
        interval: hour(0),
        buyer: c2.account(),
        energy: Wh(2 * MWH),
    };
    h.ok(&p, trade);
    h.issue(0);
    for (who, to, origin) in [
        (&c, c2.account(), "direct-supply"),
        (&c2, c.account(), "green-power-trade"),
    ] {
        let b = h.only_bundle(who);
        assert!(!b.transferable);
        let r = h.refused(who, transfer(&b, b.serials, to));
        expect(
            &r,
            RefusalKind::FailedPrecondition,
            &["rule 7", &b.id.to_string(), origin],
        );
    }
}

#[test]
fn mode_08_double_attribute_claims() {
    let mut h = Harness::new();
    let (g, m, p, c, c2) = (
        h.generator.clone(),
        h.meter.clone(),
        h.platform.clone(),
        h.consumer.clone(),
        h.consumer2.clone(),
    );
    let (c1, c2a) = (c.account(), c2.account());
    // Direct supply posted after the certificates were issued to the generator.
    let b0 = issued(&mut h, 0, 3);
    let direct = Command::PostDirectSupply {
        device: Harness::wind(),
        consumer: c1,
        interval: hour(0),
        energy: Wh(MWH),
    };
    let r = h.refused(&m, direct);
    expect(
        &r,
        RefusalKind::FailedPrecondition,
        &["rule 8", "WIND-1", &format!("entry {}", b0.history[0])],
    );

    // A green-power trade after the generator sold 2 of its 3 certificates separately.
    let s = b0.serials.start.0;
    h.ok(&g, transfer(&b0, SerialRange::new(s, s + 2), c2a));
    let trade = Command::SettleTrade {
        device: Harness::wind(),
        interval: hour(0),
        buyer: c1,
        energy: Wh(2 * MWH),
    };
    let r = h.refused(&p, trade);
    expect(
        &r,
        RefusalKind::FailedPrecondition,
        &["rule 8", "needs 2", "only 1"],
    );
    let trade = Command::SettleTrade {
        device: Harness::wind(),
        interval: hour(0),
        buyer: c1,
        energy: Wh(MWH),
    };
    h.ok(&p, trade);
    assert_eq!(h.only_bundle(&c).origin, Origin::Trade);
    assert!(h.holdings(&g).is_empty());

    // Allocations beyond the metered generation.
    h.generation(1, 2 * MWH);
    h.ok(
        &m,
        Command::PostDirectSupply {
            device: Harness::wind(),
            consumer: c1,
            interval: hour(1),
            energy: Wh(1_500_000),
        },
    );
    let trade = Command::SettleTrade {
        device: Harness::wind(),
        interval: hour(1),
        buyer: c2a,
        energy: Wh(MWH),
    };
    let r = h.refused(&p, trade);
    expect(
        &r,
        RefusalKind::FailedPrecondition,
        &["rule 8", "2500000 Wh", "2000000 Wh"],
    );

    // Claims beyond the consumer's metered consumption.
    h.consumption(c2a, 0, MWH);
    let held = h.only_bundle(&c2);
    let r = h.refused(&c2, retire(&held, held.serials, hour(0)));
    expect(
        &r,
        RefusalKind::FailedPrecondition,
        &["rule 8", "2000000 Wh", "1000000 Wh", &c2a.short()],
    );
    // And for consumption that was never metered.
    let r = h.refused(&c2, retire(&held, SerialRange::new(s, s + 1), hour(1)));
    expect(
        &r,
        RefusalKind::FailedPrecondition,
        &["rule 8", "no metered consumption", &c2a.short()],
    );
    h.ok(&c2, retire(&held, SerialRange::new(s, s + 1), hour(0)));
    assert_eq!(h.ledger.account(&c2a).unwrap().claimed, Wh(MWH));
}

#[test]
fn mode_09_hourly_matching() {
    let mut p = Policy::new(LEDGER);
    p.unit_wh = MWH;
    p.hourly_matching = true;
    let mut h = Harness::with_policy(p);
    let (g, c) = (h.generator.clone(), h.consumer.clone());
    let c1 = c.account();
    let b0 = issued(&mut h, 0, 2);
    let b1 = issued(&mut h, 1, 2);
    let b2 = issued(&mut h, 2, 1);
    for b in [&b0, &b1, &b2] {
        h.ok(&g, transfer(b, b.serials, c1));
    }
    h.consumption(c1, 0, 0);
    h.consumption(c1, 1, 5 * MWH);
    // Hour-0 certificates cannot back hour-1 consumption, even though it has room.
    let r = h.refused(&c, retire(&b0, b0.serials, hour(1)));
    expect(
        &r,
        RefusalKind::FailedPrecondition,
        &["rule 9", &hour(0).to_string(), &hour(1).to_string()],
    );
    // Nor hour-0 consumption of nothing.
    let r = h.refused(&c, retire(&b0, b0.serials, hour(0)));
    expect(
        &r,
        RefusalKind::FailedPrecondition,
        &["rule 8", "2000000 Wh", "consumption of 0 Wh"],
    );
    // An hour without a consumption reading cannot be claimed at all.
    let r = h.refused(&c, retire(&b2, b2.serials, hour(2)));
    expect(
        &r,
        RefusalKind::FailedPrecondition,
        &["no metered consumption", &hour(2).to_string()],
    );
    h.ok(&c, retire(&b1, b1.serials, hour(1)));
    let rec = h
        .ledger
        .consumption(&c1, hour(1).start.0, hour(1).end.0)
        .unwrap();
    assert_eq!(rec[0].claimed, Wh(2 * MWH));
}

#[test]
fn mode_10_replay_and_unauthorised_signers() {
    let mut h = Harness::new();
    let (g, c, m) = (h.generator.clone(), h.consumer.clone(), h.meter.clone());
    let b = issued(&mut h, 0, 3);
    let signed = h.signed(
        &g,
        transfer(
            &b,
            SerialRange::new(b.serials.start.0, b.serials.start.0 + 1),
            c.account(),
        ),
    );
    let first = h.submit_signed(signed.clone()).unwrap();
    let (size, before) = (h.ledger.size(), h.snapshot());
    // An identical resubmission gets the original receipt and changes nothing.
    let again = h.submit_signed(signed.clone()).unwrap();
    assert!(again.duplicate && !first.duplicate);
    assert_eq!(
        (again.index, again.leaf_hash, again.tree_size),
        (first.index, first.leaf_hash, size)
    );
    assert_eq!((h.ledger.size(), h.snapshot()), (size, before));

    // The same nonce on a different command.
    let nonce = signed.body.nonce;
    let other = g.sign(
        LEDGER,
        nonce,
        transfer(
            &b,
            SerialRange::new(b.serials.start.0 + 1, b.serials.end.0),
            c.account(),
        ),
    );
    let r = refused_signed(&mut h, other);
    expect(
        &r,
        RefusalKind::AlreadyExists,
        &[
            "rule 10",
            &format!("nonce {nonce}"),
            &format!("entry {}", first.index),
        ],
    );

    // A flipped signature byte.
    let mut bad = h.signed(
        &g,
        transfer(
            &b,
            SerialRange::new(b.serials.start.0 + 1, b.serials.end.0),
            c.account(),
        ),
    );
    bad.signature[17] ^= 0x01;
    let r = refused_signed(&mut h, bad);
    expect(
        &r,
        RefusalKind::Unauthenticated,
        &["rule 10", &g.account().short()],
    );

    // A consumer posting a meter reading; an unregistered key issuing.
    let post = Command::PostGeneration {
        device: Harness::wind(),
        interval: hour(1),
        energy: Wh(MWH),
    };
    let r = h.refused(&c, post.clone());
    expect(
        &r,
        RefusalKind::PermissionDenied,
        &["rule 10", "meter-operator", &c.account().short()],
    );
    let stranger = h.stranger.clone();
    let r = h.refused(
        &stranger,
        Command::Issue {
            device: Harness::wind(),
            interval: hour(0),
        },
    );
    expect(
        &r,
        RefusalKind::Unauthenticated,
        &["rule 10", &stranger.account().short()],
    );

    // A meter reading properly signed, but for another ledger.
    let n = h.next_nonce();
    let foreign = m.sign("other.greenledger.example", n, post);
    let r = refused_signed(&mut h, foreign);
    expect(&r, RefusalKind::Unauthenticated, &["rule 10", LEDGER]);
    assert_eq!(h.ledger.size(), size);
}

#[test]
fn mode_11_history_rewritten_by_operator() {
    // Two ledgers built from the same genesis with the same keys and clock agree entry by entry
    // until the operator rewrites one: in `forged`, the first sale goes to consumer 2 instead.
    let build = |forge: bool| {
        let mut h = Harness::new();
        let g = h.generator.clone();
        let b = issued(&mut h, 0, 4);
        let to = if forge {
            h.consumer2.account()
        } else {
            h.consumer.account()
        };
        h.ok(
            &g,
            transfer(
                &b,
                SerialRange::new(b.serials.start.0, b.serials.start.0 + 2),
                to,
            ),
        );
        h
    };
    let mut h = build(false);
    let kept = h.ledger.committed();
    let (old_size, old_root) = (kept.head.size, kept.head.root);
    let (cp, _) = open_checkpoint(&kept.checkpoint, &h.ledger.verifier()).unwrap();
    assert_eq!((cp.size, cp.root), (old_size, old_root));
    for n in 1..4 {
        h.generation(n, MWH);
        h.issue(n);
    }
    let new = h.ledger.committed().head;

    // (a) The honest ledger proves it only appended.
    let proof = h.ledger.consistency_proof(old_size, new.size).unwrap();
    verify_consistency(old_size, new.size, &old_root, &new.root, &proof).unwrap();

    // (b) The rewritten ledger's own proofs are fine, but not against the kept checkpoint.
    let mut f = build(true);
    for n in 1..4 {
        f.generation(n, MWH);
        f.issue(n);
    }
    let forged = f.ledger.committed().head;
    assert_eq!(forged.size, new.size);
    let fproof = f.ledger.consistency_proof(old_size, forged.size).unwrap();
    let forged_old = f.ledger.root_at(old_size).unwrap();
    assert_ne!(forged_old, old_root);
    verify_consistency(old_size, forged.size, &forged_old, &forged.root, &fproof).unwrap();
    assert!(verify_consistency(old_size, forged.size, &old_root, &forged.root, &fproof).is_err());

    // Tampering with one old leaf in a copy of the tree gives the same result.
    let leaves = h.ledger.entries(0, new.size).unwrap();
    let mut tree = MemTree::new();
    for (i, leaf) in &leaves {
        let mut bytes = leaf.clone();
        if *i == 3 {
            let last = bytes.len() - 1;
            bytes[last] ^= 0x01;
        }
        tree.push(&bytes);
    }
    assert_ne!(tree.root(), new.root);
    let tproof = tree.consistency_proof(old_size, new.size).unwrap();
    assert!(verify_consistency(old_size, new.size, &old_root, &tree.root(), &tproof).is_err());

    // (c) A full audit replay names the entry whose bytes were altered: re-encode the last
    // sale with consumer 2 as the recipient but keep the original signature.
    let idx = old_size - 1;
    let mut entry = codec::decode_leaf(&leaves[idx as usize].1).unwrap();
    let Command::Transfer { to, .. } = &mut entry.signed.body.command else {
        panic!("not a transfer")
    };
    *to = h.consumer2.account();
    let altered = codec::leaf_bytes(&entry);
    let mut replay = Replayer::new();
    for (i, leaf) in &leaves {
        let res = replay.push(if *i == idx { &altered } else { leaf });
        if *i == idx {
            let err = res.unwrap_err();
            assert!(matches!(err, ReplayError::Signature { .. }), "{err}");
            assert_eq!(err.index(), idx);
            assert!(err.to_string().contains(&format!("entry {idx}")), "{err}");
            break;
        }
        res.unwrap();
    }
    // The untouched log replays to the committed root.
    let mut replay = Replayer::new();
    let mut tree = MemTree::new();
    for (_, leaf) in &leaves {
        replay.push(leaf).unwrap();
        tree.push(leaf);
    }
    assert_eq!(tree.root(), new.root);
}

//! One test per double-counting failure mode of DESIGN.md section 3. Each test attempts the
//! double count, checks the refusal's kind and that its message names the rule and the value,
//! and (through `World::refused`) that the store did not change by a single byte.

use greenledger::ledger::Refused;
use greenledger::testkit::*;
use greenledger_core::calendar::add_months;
use greenledger_core::codec;
use greenledger_core::command as cmd;
use greenledger_core::log::{open_checkpoint, verify_consistency, MemTree};
use greenledger_core::replay::{ReplayError, Replayer};
use greenledger_core::state::{Bundle, BundleState, Origin};
use greenledger_core::RefusalKind::*;
use greenledger_core::*;

fn range(start: u64, end: u64) -> SerialRange {
    SerialRange::new(start, end)
}

fn transfer(b: &Bundle, serials: SerialRange, to: AccountId) -> Command {
    Command::Transfer(cmd::Transfer { bundle: b.id, serials, to })
}

fn retire(b: &Bundle, serials: SerialRange, consumption: Interval) -> Command {
    let (beneficiary, purpose) = (cmd::Beneficiary::Claimant, cmd::Purpose::Re100Cdp);
    Command::Retire(cmd::Retire { bundle: b.id, serials, beneficiary, purpose, consumption })
}

fn issue(interval: Interval) -> Command {
    Command::Issue(cmd::Issue { device: wind(), interval })
}

fn post(interval: Interval, wh: u64) -> Command {
    Command::PostGeneration(cmd::PostGeneration { device: wind(), interval, energy: Wh(wh) })
}

/// Checks a refusal: its kind, that its typed rule is the one named in `parts` (`"rule N"`), and
/// that its message names the rule and the values.
trait Is {
    fn is(&self, kind: RefusalKind, parts: &[&str]);
}

impl Is for Refused {
    fn is(&self, kind: RefusalKind, parts: &[&str]) {
        let message = self.to_string();
        assert_eq!(self.kind(), kind, "{message}");
        for p in parts {
            assert!(message.contains(p), "{message:?} does not name {p:?}");
            if let Some(n) = p.strip_prefix("rule ").and_then(|n| n.parse::<u8>().ok()) {
                assert_eq!(self.rule(), Some(n), "{self:?}");
            }
        }
    }
}

/// Like `World::refused` for a prepared signed command: refused, store unchanged.
fn refused_signed(h: &mut World, signed: SignedCommand) -> Refused {
    let before = h.snapshot();
    let out = h.submit_signed(signed);
    assert_eq!(h.snapshot(), before, "a refused command changed the store");
    out.expect_err("the command was accepted")
}

/// Generation of `mwh` MWh in hour `n`, issued to the generator; returns the generator's bundle.
fn issued(h: &mut World, n: u64, mwh: u64) -> Bundle {
    h.generation(n, mwh * MWH);
    let r = h.issue(n);
    let g = h.generator.clone();
    let b = h.holdings(&g).into_iter().rfind(|b| b.history[0] == r.index).unwrap();
    assert_eq!(b.serials.len(), mwh);
    b
}

#[test]
fn mode_01_two_issuances_same_interval() {
    let mut h = World::new();
    let b = issued(&mut h, 0, 3);
    let first = format!("entry {}", b.history[0]);
    let (g, m) = (h.generator.clone(), h.meter.clone());
    h.refused(&g, issue(hour(0))).is(FailedPrecondition, &["rule 1", "WIND-1", &first]);

    // A second reading of the same hour, or one overlapping it, would let the same output be
    // issued again: refused as well.
    h.refused(&m, post(hour(0), MWH)).is(FailedPrecondition, &["rule 1", "WIND-1"]);
    let straddling = Interval::new(hour(0).start.0 + 1800, hour(1).start.0 + 1800);
    let until = hour(0).end.to_string();
    h.refused(&m, post(straddling, MWH)).is(FailedPrecondition, &["rule 1", &until]);

    // Issuing an interval spanning the issued reading and a new one is not a reading at all.
    h.generation(1, MWH);
    let both = Interval::new(hour(0).start.0, hour(1).end.0);
    h.refused(&g, issue(both)).is(NotFound, &["WIND-1"]);
    assert_eq!(h.ledger.meta().unwrap().next_serial, 4);
}

#[test]
fn mode_02_issuance_beyond_metered_output() {
    let mut h = World::new();
    // Issuance is computed from the reading: whole units, the remainder carried.
    h.generation(0, 2_500_000);
    h.issue(0);
    h.generation(1, 1_500_000);
    h.issue(1);
    let readings = h.ledger.readings(&wind(), 0, u64::MAX).unwrap();
    let i0 = readings[0].issuance.clone().unwrap();
    let i1 = readings[1].issuance.clone().unwrap();
    assert_eq!((i0.serials.len(), i0.carry_in, i0.carry_out), (2, Wh(0), Wh(500_000)));
    assert_eq!((i1.serials.len(), i1.carry_in, i1.carry_out), (2, Wh(500_000), Wh(0)));
    let g = h.generator.clone();
    let total: u64 = h.holdings(&g).iter().map(|b| b.serials.len()).sum();
    assert_eq!(total * MWH, 2_500_000 + 1_500_000);

    // 10 MW for one hour is at most 10 MWh: one watt-hour more is refused.
    let m = h.meter.clone();
    let names = ["rule 2", "10000001 Wh", "10000000 W", "WIND-1"];
    h.refused(&m, post(hour(2), 10 * MWH + 1)).is(FailedPrecondition, &names);
    h.generation(2, 10 * MWH);
}

#[test]
fn mode_03_exclusion_blocks_issuance_and_freezes_issued() {
    let mut h = World::new();
    let (g, c, reg) = (h.generator.clone(), h.consumer.clone(), h.regulator.clone());
    let c1 = c.account();
    let exclude = |interval, scheme: &str| {
        Command::DeclareExclusion(cmd::DeclareExclusion { device: wind(), interval, scheme: scheme.into() })
    };
    // Hour 0: excluded before issuance; issuance is refused.
    h.generation(0, 2 * MWH);
    let entry = format!("entry {}", h.ok(&reg, exclude(hour(0), "CCER")).index);
    h.refused(&g, issue(hour(0))).is(FailedPrecondition, &["rule 3", "CCER", "WIND-1", &entry]);

    // Hour 1: issued, part sold and retired, then excluded: the unretired rest is frozen.
    let b = issued(&mut h, 1, 4);
    let s = b.serials.start.0;
    h.ok(&g, transfer(&b, range(s, s + 2), c1));
    h.consumption(c1, 1, 5 * MWH);
    let mine = h.only_bundle(&c);
    h.ok(&c, retire(&mine, range(s, s + 1), hour(1)));
    h.ok(&reg, exclude(hour(1), "I-REC"));
    let all = [h.holdings(&g), h.holdings(&c)].concat();
    let states: Vec<(u64, &str)> = all.iter().map(|b| (b.serials.start.0, b.state.name())).collect();
    assert_eq!(states.len(), 3);
    for (start, state) in states {
        assert_eq!(state, if start == s { "retired" } else { "frozen" }, "serial {start}");
    }
    // Frozen certificates can neither be transferred nor retired.
    let fg = h.ledger.bundle(b.id).unwrap();
    assert_eq!(fg.state, BundleState::Frozen);
    let names = ["rule 3", &fg.id.to_string(), "frozen"];
    h.refused(&g, transfer(&fg, fg.serials, c1)).is(FailedPrecondition, &names);
    let fc = h.holdings(&c).into_iter().find(|b| b.state == BundleState::Frozen).unwrap();
    let names = ["rule 3", &fc.id.to_string(), "frozen"];
    h.refused(&c, retire(&fc, fc.serials, hour(1))).is(FailedPrecondition, &names);
    assert_eq!(h.ledger.account(&c1).unwrap().claimed, Wh(MWH));
}

#[test]
fn mode_04_sold_twice_or_by_non_owner() {
    let mut h = World::new();
    let (g, c, c2) = (h.generator.clone(), h.consumer.clone(), h.consumer2.clone());
    let b = issued(&mut h, 0, 4);
    // Someone else cannot sell the generator's certificates.
    let names = ["rule 4", &b.id.to_string(), &c2.account().short()];
    h.refused(&c2, transfer(&b, b.serials, c2.account())).is(PermissionDenied, &names);

    // After a partial sale the old owner cannot move the sold serials any more, neither by the
    // new bundle's id nor through the remainder of the old one.
    let s = b.serials.start.0;
    let sold = range(s, s + 2);
    h.ok(&g, transfer(&b, sold, c.account()));
    let new = h.only_bundle(&c);
    assert_eq!(new.serials, sold);
    let names = ["rule 4", &new.id.to_string(), &c.account().short()];
    h.refused(&g, transfer(&new, sold, c2.account())).is(PermissionDenied, &names);
    let rest = h.ledger.bundle(b.id).unwrap();
    assert_eq!(rest.serials, range(s + 2, s + 4));
    let names: [&str; 2] = [&b.id.to_string(), &sold.to_string()];
    h.refused(&g, transfer(&rest, sold, c2.account())).is(Invalid, &names);
    assert!(h.holdings(&c2).is_empty());

    // Whole-bundle sale: the old owner loses the bundle entirely.
    h.ok(&g, transfer(&rest, rest.serials, c2.account()));
    let names = ["rule 4", &rest.id.to_string()];
    h.refused(&g, transfer(&rest, rest.serials, c.account())).is(PermissionDenied, &names);
    assert!(h.holdings(&g).is_empty());
}

#[test]
fn mode_05_retired_twice_or_transferred_after_retirement() {
    let mut h = World::new();
    let (g, c) = (h.generator.clone(), h.consumer.clone());
    let (c1, c2) = (c.account(), h.consumer2.account());
    let b = issued(&mut h, 0, 3);
    h.ok(&g, transfer(&b, b.serials, c1));
    h.consumption(c1, 0, 10 * MWH);
    let s = b.serials.start.0;
    h.ok(&c, retire(&b, range(s, s + 1), hour(0)));
    let done = h.holdings(&c).into_iter().find(|b| b.serials.start.0 == s).unwrap();
    assert!(matches!(done.state, BundleState::Retired(_)));
    let names = ["rule 5", &done.id.to_string(), "retired"];
    h.refused(&c, retire(&done, done.serials, hour(0))).is(FailedPrecondition, &names);
    h.refused(&c, transfer(&done, done.serials, c2)).is(FailedPrecondition, &names);
    // The retired serial is no longer inside the bundle the rest kept.
    h.refused(&c, retire(&b, b.serials, hour(0))).is(Invalid, &[&b.id.to_string()]);
    assert_eq!(h.ledger.account(&c1).unwrap().claimed, Wh(MWH));
    assert_eq!(h.ledger.claims_of(&c1).unwrap().len(), 1);
}

#[test]
fn mode_06_use_after_expiry_or_withdrawal() {
    let mut h = World::new();
    let (g, c, reg) = (h.generator.clone(), h.consumer.clone(), h.regulator.clone());
    let (c1, c2) = (c.account(), h.consumer2.account());
    let b = issued(&mut h, 0, 4);
    let expires = add_months(hour(0).end.0, 24);
    assert_eq!(b.expires, Timestamp(expires));
    let s = b.serials.start.0;
    h.ok(&g, transfer(&b, range(s, s + 2), c1));
    h.consumption(c1, 0, 10 * MWH);
    let mine = h.only_bundle(&c);

    // Withdrawal: the withdrawn serials cannot be used or withdrawn again.
    let withdraw =
        |b: &Bundle, serials| Command::Withdraw(cmd::Withdraw { bundle: b.id, serials, reason: "meter error".into() });
    h.ok(&reg, withdraw(&mine, range(s, s + 1)));
    let gone = h.holdings(&c).into_iter().find(|b| b.state == BundleState::Withdrawn).unwrap();
    let names = ["rule 6", &gone.id.to_string(), "withdrawn"];
    h.refused(&c, retire(&gone, gone.serials, hour(0))).is(FailedPrecondition, &names);
    h.refused(&c, transfer(&gone, gone.serials, c2)).is(FailedPrecondition, &names);
    h.refused(&reg, withdraw(&gone, gone.serials)).is(FailedPrecondition, &names);

    // Expiry: one second before, still usable; from the expiry instant on, by no one.
    h.clock.set(expires - 1);
    h.ok(&g, transfer(&b, range(s + 2, s + 3), c2));
    let still = h.only_bundle(&c);
    let rest = h.ledger.bundle(b.id).unwrap();
    assert_eq!(rest.serials, range(s + 3, s + 4));
    h.clock.set(expires);
    let names = ["rule 6", &still.id.to_string(), &Timestamp(expires).to_string()];
    h.refused(&c, retire(&still, still.serials, hour(0))).is(FailedPrecondition, &names);
    let names = ["rule 6", &rest.id.to_string(), "expired"];
    h.refused(&g, transfer(&rest, rest.serials, c1)).is(FailedPrecondition, &names);
    assert_eq!(h.ledger.bundle(b.id).unwrap().state_at(Timestamp(expires)), greenledger_core::state::Standing::Expired);
    assert_eq!(h.ledger.account(&c1).unwrap().claimed, Wh(0));
}

#[test]
fn mode_07_transfers_beyond_policy_limit() {
    let mut p = Policy::new(LEDGER);
    p.unit_wh = MWH;
    p.max_transfers = Some(1);
    let mut h = World::with_policy(p);
    let (g, c, c2) = (h.generator.clone(), h.consumer.clone(), h.consumer2.account());
    let b = issued(&mut h, 0, 3);
    let s = b.serials.start.0;
    h.ok(&g, transfer(&b, range(s, s + 2), c.account()));
    let mine = h.only_bundle(&c);
    assert_eq!(mine.transfers, 1);
    let names = ["rule 7", &mine.id.to_string(), "allows 1"];
    for serials in [mine.serials, range(s, s + 1)] {
        h.refused(&c, transfer(&mine, serials, c2)).is(FailedPrecondition, &names);
    }
    // The generator's unsold remainder may still be sold once.
    h.ok(&g, transfer(&b, range(s + 2, s + 3), c2));

    // Certificates that came with direct supply or a green-power trade are never transferable.
    let mut h = World::new();
    let (m, p, c, c2) = (h.meter.clone(), h.platform.clone(), h.consumer.clone(), h.consumer2.clone());
    let (device, interval) = (wind(), hour(0));
    h.generation(0, 5 * MWH);
    let (consumer, buyer) = (c.account(), c2.account());
    let energy = Wh(MWH);
    h.ok(&m, Command::PostDirectSupply(cmd::PostDirectSupply { device: device.clone(), consumer, interval, energy }));
    let energy = Wh(2 * MWH);
    h.ok(&p, Command::SettleTrade(cmd::SettleTrade { device, interval, buyer, energy }));
    h.issue(0);
    for (who, to, origin) in [(&c, buyer, "direct-supply"), (&c2, consumer, "green-power-trade")] {
        let b = h.only_bundle(who);
        assert!(!b.transferable);
        let names = ["rule 7", &b.id.to_string(), origin];
        h.refused(who, transfer(&b, b.serials, to)).is(FailedPrecondition, &names);
    }
}

#[test]
fn mode_08_double_attribute_claims() {
    let mut h = World::new();
    let (g, m, p) = (h.generator.clone(), h.meter.clone(), h.platform.clone());
    let (c1, c2k) = (h.consumer.account(), h.consumer2.clone());
    let c2 = c2k.account();
    let device = wind();
    let direct = |interval, wh| {
        Command::PostDirectSupply(cmd::PostDirectSupply { device: wind(), consumer: c1, interval, energy: Wh(wh) })
    };
    let trade = |interval, buyer, wh| {
        Command::SettleTrade(cmd::SettleTrade { device: wind(), interval, buyer, energy: Wh(wh) })
    };
    // Direct supply posted after the certificates were issued to the generator.
    let b0 = issued(&mut h, 0, 3);
    let names = ["rule 8", "WIND-1", &format!("entry {}", b0.history[0])];
    h.refused(&m, direct(hour(0), MWH)).is(FailedPrecondition, &names);

    // A green-power trade after the generator sold 2 of its 3 certificates separately.
    let s = b0.serials.start.0;
    h.ok(&g, transfer(&b0, range(s, s + 2), c2));
    let names = ["rule 8", "needs 2", "only 1", device.0.as_str()];
    h.refused(&p, trade(hour(0), c1, 2 * MWH)).is(FailedPrecondition, &names);
    h.ok(&p, trade(hour(0), c1, MWH));
    assert_eq!(h.ledger.holdings(&c1).unwrap()[0].origin, Origin::Trade);
    assert!(h.holdings(&g).is_empty());

    // Allocations beyond the metered generation.
    h.generation(1, 2 * MWH);
    h.ok(&m, direct(hour(1), 1_500_000));
    let names = ["rule 8", "2500000 Wh", "2000000 Wh"];
    h.refused(&p, trade(hour(1), c2, MWH)).is(FailedPrecondition, &names);

    // Claims beyond the consumer's metered consumption, or for consumption never metered.
    h.consumption(c2, 0, MWH);
    let held = h.only_bundle(&c2k);
    let names = ["rule 8", "2000000 Wh", "1000000 Wh", &c2.short()];
    h.refused(&c2k, retire(&held, held.serials, hour(0))).is(FailedPrecondition, &names);
    let names = ["rule 8", "not metered whole", &c2.short()];
    h.refused(&c2k, retire(&held, range(s, s + 1), hour(1))).is(FailedPrecondition, &names);
    h.ok(&c2k, retire(&held, range(s, s + 1), hour(0)));
    assert_eq!(h.ledger.account(&c2).unwrap().claimed, Wh(MWH));
}

#[test]
fn mode_09_hourly_matching() {
    let mut p = Policy::new(LEDGER);
    p.unit_wh = MWH;
    p.hourly_matching = true;
    let mut h = World::with_policy(p);
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
    let names = ["rule 9", &hour(0).to_string(), &hour(1).to_string()];
    h.refused(&c, retire(&b0, b0.serials, hour(1))).is(FailedPrecondition, &names);
    // Nor an hour-0 consumption of nothing.
    let names = ["rule 8", "2000000 Wh", "consumption of 0 Wh"];
    h.refused(&c, retire(&b0, b0.serials, hour(0))).is(FailedPrecondition, &names);
    // An hour without a consumption reading cannot be claimed at all.
    let names = ["rule 8", "nothing is metered", &hour(2).to_string()];
    h.refused(&c, retire(&b2, b2.serials, hour(2))).is(FailedPrecondition, &names);
    h.ok(&c, retire(&b1, b1.serials, hour(1)));
    let rec = h.ledger.consumption(&c1, hour(1).start.0, hour(1).end.0).unwrap();
    assert_eq!(rec[0].claimed, Wh(2 * MWH));
}

#[test]
fn mode_10_replay_and_unauthorised_signers() {
    let mut h = World::new();
    let (g, c, m) = (h.generator.clone(), h.consumer.clone(), h.meter.clone());
    let b = issued(&mut h, 0, 3);
    let (head, tail) = (range(b.serials.start.0, b.serials.start.0 + 1), range(b.serials.start.0 + 1, b.serials.end.0));
    let signed = h.signed(&g, transfer(&b, head, c.account()));
    let first = h.submit_signed(signed.clone()).unwrap();
    let (size, before) = (h.ledger.size(), h.snapshot());
    // An identical resubmission gets the original receipt and changes nothing.
    let again = h.submit_signed(signed.clone()).unwrap();
    assert!(again.duplicate && !first.duplicate);
    assert_eq!((again.index, again.leaf_hash), (first.index, first.leaf_hash));
    assert_eq!((again.tree_size, h.ledger.size()), (size, size));
    assert!(h.snapshot() == before);

    // The same nonce on a different command.
    let nonce = signed.body.nonce;
    let other = g.sign(LEDGER, nonce, transfer(&b, tail, c.account()));
    let names = ["rule 10", &format!("nonce {nonce}"), &format!("entry {}", first.index)];
    refused_signed(&mut h, other).is(AlreadyExists, &names);

    // A flipped signature byte.
    let mut bad = h.signed(&g, transfer(&b, tail, c.account()));
    bad.signature[17] ^= 0x01;
    refused_signed(&mut h, bad).is(Unauthenticated, &["rule 10", &g.account().short()]);

    // A consumer posting a meter reading; an unregistered key issuing.
    let names = ["rule 10", "meter-operator", &c.account().short()];
    h.refused(&c, post(hour(1), MWH)).is(PermissionDenied, &names);
    let stranger = h.stranger.clone();
    let names = ["rule 10", &stranger.account().short()];
    h.refused(&stranger, issue(hour(0))).is(Unauthenticated, &names);

    // A meter reading properly signed, but for another ledger.
    let n = h.next_nonce();
    let foreign = m.sign("other.greenledger.example", n, post(hour(1), MWH));
    refused_signed(&mut h, foreign).is(Unauthenticated, &["rule 10", LEDGER]);
    assert_eq!(h.ledger.size(), size);
}

/// A ledger whose first sale of 2 certificates goes to consumer 1, or, when the operator
/// rewrites history, to consumer 2. Everything else is identical: keys, nonces, clock.
fn sale_ledger(forge: bool) -> World {
    let mut h = World::new();
    let g = h.generator.clone();
    let b = issued(&mut h, 0, 4);
    let to = if forge { h.consumer2.account() } else { h.consumer.account() };
    h.ok(&g, transfer(&b, range(b.serials.start.0, b.serials.start.0 + 2), to));
    h
}

fn grow(h: &mut World) {
    for n in 1..=3 {
        h.generation(n, MWH);
        h.issue(n);
    }
}

#[test]
fn mode_11_history_rewritten_by_operator() {
    // An auditor kept the checkpoint right after the sale.
    let mut h = sale_ledger(false);
    let kept = h.ledger.committed();
    let (old_size, old_root) = (kept.head.size, kept.head.root);
    let (cp, _) = open_checkpoint(&kept.checkpoint, &h.ledger.verifier()).unwrap();
    assert_eq!((cp.size, cp.root), (old_size, old_root));

    // (a) The honest ledger, grown since, proves it only appended.
    grow(&mut h);
    let new = h.ledger.committed().head;
    let proof = h.ledger.consistency_proof(old_size, new.size).unwrap();
    verify_consistency(old_size, new.size, &old_root, &new.root, &proof).unwrap();

    // (b) A ledger from the same genesis with the sale rewritten: its own proofs are fine, but
    // not against the kept checkpoint.
    let mut f = sale_ledger(true);
    grow(&mut f);
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
            *bytes.last_mut().unwrap() ^= 0x01;
        }
        tree.push(&bytes);
    }
    assert_ne!(tree.root(), new.root);
    let tproof = tree.consistency_proof(old_size, new.size).unwrap();
    assert!(verify_consistency(old_size, new.size, &old_root, &tree.root(), &tproof).is_err());

    // (c) A full audit replay names the entry whose bytes were altered: the sale re-encoded
    // with consumer 2 as the recipient under the original signature.
    let idx = old_size - 1;
    let mut entry = codec::decode_leaf(&leaves[idx as usize].1).unwrap();
    let Command::Transfer(cmd::Transfer { to, .. }) = &mut entry.signed.body.command else { panic!("not a sale") };
    *to = h.consumer2.account();
    let altered = codec::leaf_bytes(&entry);
    let mut replay = Replayer::new();
    for (_, leaf) in &leaves[..idx as usize] {
        replay.push(leaf).unwrap();
    }
    let err = replay.push(&altered).unwrap_err();
    assert!(matches!(err, ReplayError::Signature { .. }), "{err}");
    assert_eq!(err.index(), idx);
    assert!(err.to_string().contains(&format!("entry {idx}")), "{err}");

    // The untouched log replays to the committed root.
    let mut replay = Replayer::new();
    let mut tree = MemTree::new();
    for (_, leaf) in &leaves {
        replay.push(leaf).unwrap();
        tree.push(leaf);
    }
    assert_eq!(tree.root(), new.root);
}

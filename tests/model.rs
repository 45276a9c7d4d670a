//! Random command sequences against a plain reference model: a map from serial number to owner
//! and state, updated only by what an accepted command should do. After every step the ledger
//! must agree with the model on every serial (none in two bundles, none lost), on whether the
//! command was accepted, and issuance must be conserved per reading.

use greenledger::ledger::Clock;
use greenledger::testkit::*;
use greenledger_core::calendar::add_months;
use greenledger_core::command as cmd;
use greenledger_core::crypto::Keypair;
use greenledger_core::log::MemTree;
use greenledger_core::replay::Replayer;
use greenledger_core::state::{Bundle, BundleState};
use greenledger_core::*;
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

/// Parties by index: generator, consumer, consumer 2, platform, regulator, unregistered.
const PARTIES: usize = 6;
const REGULATOR: usize = 4;
const STRANGER: usize = 5;
/// Signs meter readings; not a party that holds certificates.
const METER: usize = 6;

fn party(h: &World, i: usize) -> Keypair {
    [&h.generator, &h.consumer, &h.consumer2, &h.platform, &h.regulator, &h.stranger][i].clone()
}

fn is_consumer(i: usize) -> bool {
    i == 1 || i == 2
}

/// A sub-range of one of the bundles that exist when the step runs.
#[derive(Clone, Debug)]
struct Pick {
    bundle: usize,
    offset: u64,
    len: u64,
}

#[derive(Clone, Debug)]
enum Op {
    Generate { wh: u64 },
    Issue { hour: u64, by_owner: bool },
    Consume { who: usize, wh: u64 },
    Transfer { pick: Pick, owner_signs: bool, signer: usize, to: usize },
    Retire { pick: Pick, owner_signs: bool, signer: usize, hour: u64 },
    Withdraw { pick: Pick, by_regulator: bool },
    Exclude { hour: u64, len: u64 },
    Advance { days: u64 },
}

fn op() -> impl Strategy<Value = Op> {
    let pick = (0..1000usize, 0..1000u64, 0..1000u64).prop_map(|(bundle, offset, len)| Pick { bundle, offset, len });
    // Anyone, but consumers more often: they are the ones who can retire.
    let who = || prop_oneof![Just(1), Just(2), 0..PARTIES];
    // Mostly the latest reading (`u64::MAX`), sometimes any hour, posted or not.
    let hour = || prop_oneof![Just(u64::MAX), 0..64u64];
    prop_oneof![
        4 => (0..=12 * MWH).prop_map(|wh| Op::Generate { wh }),
        4 => (hour(), prop::bool::weighted(0.9))
            .prop_map(|(hour, by_owner)| Op::Issue { hour, by_owner }),
        3 => (who(), 0..=6 * MWH).prop_map(|(who, wh)| Op::Consume { who, wh }),
        6 => (pick.clone(), any::<bool>(), who(), who()).prop_map(
            |(pick, owner_signs, signer, to)| Op::Transfer { pick, owner_signs, signer, to }
        ),
        4 => (pick.clone(), prop::bool::weighted(0.7), who(), 0..64u64).prop_map(
            |(pick, owner_signs, signer, hour)| Op::Retire { pick, owner_signs, signer, hour }
        ),
        1 => (pick, prop::bool::weighted(0.8))
            .prop_map(|(pick, by_regulator)| Op::Withdraw { pick, by_regulator }),
        1 => (hour(), 1..=3u64).prop_map(|(hour, len)| Op::Exclude { hour, len }),
        2 => (1..=365u64).prop_map(|days| Op::Advance { days }),
    ]
}

/// The hour an `Issue` or `Exclude` names: `u64::MAX` is the latest posted reading.
fn pick_hour(m: &Model, k: u64) -> u64 {
    if k == u64::MAX {
        m.next_hour.saturating_sub(1)
    } else {
        k % (m.next_hour + 1)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum St {
    Active,
    Retired,
    Withdrawn,
    Frozen,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Cert {
    owner: usize,
    state: St,
    hour: u64,
    expires: u64,
}

/// The reference model. It knows nothing of bundles: only serials.
#[derive(Default)]
struct Model {
    certs: BTreeMap<u64, Cert>,
    next_serial: u64,
    carry: u64,
    /// Generation readings by hour: energy and whether issued.
    readings: BTreeMap<u64, (u64, bool)>,
    next_hour: u64,
    excluded: Vec<(u64, u64)>,
    /// Per party: consumption hours posted (from hour 0), consumed Wh, claimed Wh.
    meters: [(u64, u64, u64); PARTIES],
    now: u64,
}

impl Model {
    /// True when every serial of `r` exists, belongs to `owner` and is usable now.
    fn usable(&self, r: SerialRange, owner: usize) -> bool {
        (r.start.0..r.end.0).all(|s| {
            self.certs.get(&s).is_some_and(|c| c.owner == owner && c.state == St::Active && self.now < c.expires)
        })
    }
    fn set(&mut self, r: SerialRange, f: impl Fn(&mut Cert)) {
        for s in r.start.0..r.end.0 {
            f(self.certs.get_mut(&s).expect("serial in model"));
        }
    }
}

/// All bundles, from the holdings of every party, checking the holdings index on the way.
fn all_bundles(h: &World) -> Vec<Bundle> {
    let mut out = Vec::new();
    for i in 0..PARTIES {
        let k = party(h, i);
        for b in h.ledger.holdings(&k.account()).unwrap() {
            assert_eq!(b.owner, k.account(), "holdings index of party {i} lists {b:?}");
            out.push(b);
        }
    }
    out.sort_by_key(|b| b.id);
    out
}

/// A sub-range of a bundle. When `usable` is set the pick is among the active bundles of the
/// parties `allowed` (if there are any): the owner will sign.
fn resolve(
    bundles: &[Bundle],
    p: &Pick,
    usable: bool,
    allowed: impl Fn(&Bundle) -> bool,
) -> Option<(Bundle, SerialRange)> {
    let preferred: Vec<&Bundle> =
        bundles.iter().filter(|b| usable && b.state == BundleState::Active && allowed(b)).collect();
    let b = match preferred.len() {
        0 => bundles.get(p.bundle % bundles.len().max(1))?,
        n => preferred[p.bundle % n],
    }
    .clone();
    let n = b.serials.len();
    let off = p.offset % n;
    let len = 1 + p.len % (n - off);
    let start = b.serials.start.0 + off;
    Some((b, SerialRange::new(start, start + len)))
}

fn owner_index(h: &World, b: &Bundle) -> usize {
    (0..PARTIES).find(|i| party(h, *i).account() == b.owner).expect("owner is a party")
}

/// Runs one step: builds the command, predicts acceptance, submits, updates the model.
fn step(h: &mut World, m: &mut Model, op: &Op) {
    let bundles = all_bundles(h);
    let wind = wind();
    let (signer, cmd, accept): (usize, Command, bool) = match op {
        Op::Generate { wh } => {
            let ok = *wh <= 10 * MWH;
            let cmd = Command::PostGeneration(cmd::PostGeneration {
                device: wind,
                interval: hour(m.next_hour),
                energy: Wh(*wh),
            });
            (METER, cmd, ok)
        }
        Op::Issue { hour: k, by_owner } => {
            let k = pick_hour(m, *k);
            let excluded = m.excluded.iter().any(|(a, b)| (*a..*b).contains(&k));
            let fresh = m.readings.get(&k).is_some_and(|r| !r.1);
            let signer = if *by_owner { 0 } else { 3 };
            let cmd = Command::Issue(cmd::Issue { device: wind, interval: hour(k) });
            (signer, cmd, *by_owner && fresh && !excluded)
        }
        Op::Consume { who, wh } => {
            let cmd = Command::PostConsumption(cmd::PostConsumption {
                account: party(h, *who).account(),
                interval: hour(m.meters[*who].0),
                energy: Wh(*wh),
            });
            (METER, cmd, is_consumer(*who))
        }
        Op::Transfer { pick, owner_signs, signer, to } => {
            let Some((b, serials)) = resolve(&bundles, pick, *owner_signs, |_| true) else {
                return;
            };
            let signer = if *owner_signs { owner_index(h, &b) } else { *signer };
            let ok = signer != STRANGER && *to != STRANGER && *to != signer;
            let to = party(h, *to).account();
            let cmd = Command::Transfer(cmd::Transfer { bundle: b.id, serials, to });
            (signer, cmd, ok && m.usable(serials, signer))
        }
        Op::Retire { pick, owner_signs, signer, hour: k } => {
            let consumer = |b: &Bundle| is_consumer(owner_index(h, b));
            let Some((b, serials)) = resolve(&bundles, pick, *owner_signs, consumer) else {
                return;
            };
            let signer = if *owner_signs { owner_index(h, &b) } else { *signer };
            let (hours, consumed, claimed) = m.meters[signer];
            let k = k % (hours + 1);
            let ok = is_consumer(signer) && k < hours && claimed + serials.len() * MWH <= consumed;
            let cmd = Command::Retire(cmd::Retire {
                bundle: b.id,
                serials,
                beneficiary: "factory".into(),
                purpose: "scope 2".into(),
                consumption: hour(k),
            });
            (signer, cmd, ok && m.usable(serials, signer))
        }
        Op::Withdraw { pick, by_regulator } => {
            let Some((b, serials)) = resolve(&bundles, pick, false, |_| true) else {
                return;
            };
            let live = (serials.start.0..serials.end.0).all(|s| matches!(m.certs[&s].state, St::Active | St::Frozen));
            let reason = "meter fault".into();
            let cmd = Command::Withdraw(cmd::Withdraw { bundle: b.id, serials, reason });
            let signer = if *by_regulator { REGULATOR } else { 0 };
            (signer, cmd, *by_regulator && live)
        }
        Op::Exclude { hour: k, len } => {
            let k = pick_hour(m, *k);
            let interval = Interval::new(hour(k).start.0, hour(k + len - 1).end.0);
            let cmd =
                Command::DeclareExclusion(cmd::DeclareExclusion { device: wind, interval, scheme: "CCER".into() });
            (REGULATOR, cmd, true)
        }
        Op::Advance { days } => {
            m.now += days * 86_400;
            h.clock.advance(days * 86_400);
            // Later readings are of recent hours, so that fresh certificates keep coming.
            m.next_hour = m.next_hour.max((m.now - t0()) / HOUR - 30 * 24);
            return;
        }
    };
    let who = if signer == METER { h.meter.clone() } else { party(h, signer) };
    let before = h.snapshot();
    let out = h.submit(&who, cmd.clone());
    match &out {
        Ok(r) => assert!(accept, "model refuses, ledger accepted {cmd:?}: {:?}", r.summary),
        Err(e) => {
            assert!(!accept, "model accepts, ledger refused {cmd:?}: {e}");
            assert_eq!(h.snapshot(), before, "refused {cmd:?} changed the store");
            return;
        }
    }
    match (op, cmd) {
        (Op::Generate { wh }, _) => {
            m.readings.insert(m.next_hour, (*wh, false));
            m.next_hour += 1;
        }
        (Op::Issue { .. }, Command::Issue(cmd::Issue { interval, .. })) => {
            let k = (interval.start.0 - t0()) / HOUR;
            let r = m.readings.get_mut(&k).unwrap();
            r.1 = true;
            let total = r.0 + m.carry;
            m.carry = total % MWH;
            let expires = add_months(interval.end.0, 24);
            for _ in 0..total / MWH {
                m.next_serial += 1;
                let cert = Cert { owner: 0, state: St::Active, hour: k, expires };
                m.certs.insert(m.next_serial, cert);
            }
        }
        (Op::Consume { who, wh }, _) => {
            m.meters[*who].0 += 1;
            m.meters[*who].1 += wh;
        }
        (Op::Transfer { to, .. }, Command::Transfer(cmd::Transfer { serials, .. })) => {
            m.set(serials, |c| c.owner = *to);
        }
        (Op::Retire { .. }, Command::Retire(cmd::Retire { serials, .. })) => {
            m.meters[signer].2 += serials.len() * MWH;
            m.set(serials, |c| c.state = St::Retired);
        }
        (Op::Withdraw { .. }, Command::Withdraw(cmd::Withdraw { serials, .. })) => {
            m.set(serials, |c| c.state = St::Withdrawn);
        }
        (Op::Exclude { hour: _, len }, Command::DeclareExclusion(cmd::DeclareExclusion { interval, .. })) => {
            let a = (interval.start.0 - t0()) / HOUR;
            m.excluded.push((a, a + len));
            for c in m.certs.values_mut() {
                if (a..a + len).contains(&c.hour) && c.state == St::Active {
                    c.state = St::Frozen;
                }
            }
        }
        _ => unreachable!(),
    }
}

/// (a) bundles expanded to serials equal the model; (b) conservation per reading.
fn check(h: &World, m: &Model) {
    let bundles = all_bundles(h);
    let mut seen: BTreeMap<u64, Cert> = BTreeMap::new();
    for b in &bundles {
        let state = match b.state {
            BundleState::Active => St::Active,
            BundleState::Retired(_) => St::Retired,
            BundleState::Withdrawn => St::Withdrawn,
            BundleState::Frozen => St::Frozen,
            BundleState::Cancelled => unreachable!("the model never cancels"),
        };
        let k = (b.production.start.0 - t0()) / HOUR;
        let owner = owner_index(h, b);
        for s in b.serials.start.0..b.serials.end.0 {
            let cert = Cert { owner, state, hour: k, expires: b.expires.0 };
            assert!(seen.insert(s, cert).is_none(), "serial {s} is in two bundles");
        }
    }
    assert_eq!(seen, m.certs, "ledger serials differ from the model");

    let readings = h.ledger.readings(&wind(), 0, u64::MAX).unwrap();
    let by_id: BTreeMap<BundleId, &Bundle> = bundles.iter().map(|b| (b.id, b)).collect();
    let mut listed = BTreeSet::new();
    let mut model_readings = BTreeMap::new();
    for r in &readings {
        let k = (r.interval.start.0 - t0()) / HOUR;
        model_readings.insert(k, (r.energy.0, r.issuance.is_some()));
        let Some(iss) = &r.issuance else {
            assert!(r.bundles.is_empty());
            continue;
        };
        assert_eq!(iss.carry_in.0 + r.energy.0, iss.serials.len() * MWH + iss.carry_out.0);
        let mut count = 0;
        for id in &r.bundles {
            assert!(listed.insert(*id), "bundle {id} listed by two readings");
            let b = by_id[id];
            assert_eq!((&b.device, b.production), (&r.device, r.interval), "{id} of another reading");
            assert!(iss.serials.contains(&b.serials), "{id} outside its issuance");
            count += b.serials.len();
        }
        assert_eq!(count, iss.serials.len(), "issuance of hour {k} not conserved");
    }
    assert_eq!(listed, by_id.keys().copied().collect(), "bundles not listed by a reading");
    assert_eq!(model_readings, m.readings);
}

/// The whole log replays to the same bundles and root.
fn check_replay(h: &World) {
    let size = h.ledger.size();
    let mut replay = Replayer::new();
    let mut tree = MemTree::new();
    for (_, leaf) in h.ledger.entries(0, size).unwrap() {
        replay.push(&leaf).unwrap();
        tree.push(&leaf);
    }
    assert_eq!(tree.root(), h.ledger.committed().head.root);
    let replayed: Vec<Bundle> = replay.state.bundles.into_values().collect();
    assert_eq!(replayed, all_bundles(h));
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 64,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn ledger_agrees_with_reference_model(ops in prop::collection::vec(op(), 1..60)) {
        let mut h = World::new();
        let mut m = Model { next_serial: 0, now: h.clock.now().0, ..Model::default() };
        for op in &ops {
            step(&mut h, &mut m, op);
            check(&h, &m);
        }
        check_replay(&h);
    }
}

//! Random command sequences against a plain reference model: a map from serial number to owner
//! and state, updated only by what an accepted command should do. After every step the ledger
//! must agree with the model on every serial (none in two bundles, none lost), on whether the
//! command was accepted, on the device's carry (part by part) and deficit, and energy must be
//! conserved per reading: what the meter says, plus what corrections clawed back or charged as a
//! deficit, is what went to certificates, paid the deficit or was netted.
//!
//! The sequences include self-consumed output (non-tradable certificates under the GEC class
//! table), backfilled readings, corrections up and down (before and after issuance, within and
//! after the correction window, with and without a regulator's co-signature) and exclusions
//! that reach into the carry.

use greenledger::ledger::Clock;
use greenledger::store::Store;
use greenledger::testkit::*;
use greenledger_core::calendar::add_months;
use greenledger_core::calendar::{civil, unix};
use greenledger_core::command as cmd;
use greenledger_core::crypto::Keypair;
use greenledger_core::log::MemTree;
use greenledger_core::policy::ClassTable;
use greenledger_core::replay::Replayer;
use greenledger_core::state::{Bundle, BundleState, Origin};
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
    SelfUse { hour: u64, wh: u64 },
    Correct { hour: u64, self_use: bool, wh: u64, approved: bool },
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
        2 => (hour(), 0..=4 * MWH).prop_map(|(hour, wh)| Op::SelfUse { hour, wh }),
        3 => (hour(), any::<bool>(), 0..=11 * MWH, prop::bool::weighted(0.5))
            .prop_map(|(hour, self_use, wh, approved)| Op::Correct { hour, self_use, wh, approved }),
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
    self_use: bool,
}

/// Energy below one certificate, as the device keeps it: holder, self-use or not, the reading
/// (self-use or not, hour) it came from, and Wh. In the device's order.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Part {
    owner: usize,
    self_use: bool,
    reading: (bool, u64),
    wh: u64,
}

/// The reference model. It knows nothing of bundles: only serials.
#[derive(Default)]
struct Model {
    certs: BTreeMap<u64, Cert>,
    next_serial: u64,
    carry: Vec<Part>,
    deficit: u64,
    /// Readings by (self-use?, hour): energy and whether issued.
    readings: BTreeMap<(bool, u64), (u64, bool)>,
    /// Where each reading's carry went: the first serial of a later issuance.
    carried_into: BTreeMap<(bool, u64), Vec<u64>>,
    next_hour: u64,
    excluded: Vec<(u64, u64)>,
    /// Per party: consumption hours posted (from hour 0), consumed Wh, claimed Wh.
    /// Per party: its consumption readings, hour by hour from hour 0: (Wh, Wh claimed).
    meters: [Vec<(u64, u64)>; PARTIES],
    now: u64,
    /// Commands signed so far: every other one is signed with a validity window of an hour,
    /// which the model's acceptance does not depend on.
    signed: u64,
}

impl Model {
    /// Issues `wh` of reading `reading` to the generator (party 0): the GEC arithmetic.
    fn grant(&mut self, reading: (bool, u64), mut wh: u64) {
        let (self_use, k) = reading;
        if !self_use {
            let pay = self.deficit.min(wh);
            self.deficit -= pay;
            wh -= pay;
        }
        if wh == 0 {
            return;
        }
        let same = |p: &Part| p.owner == 0 && p.self_use == self_use;
        let carried: u64 = self.carry.iter().filter(|p| same(p)).map(|p| p.wh).sum();
        let total = carried + wh;
        if total < MWH {
            self.carry.push(Part { owner: 0, self_use, reading, wh });
            return;
        }
        let first = self.next_serial + 1;
        let (used, kept): (Vec<Part>, Vec<Part>) = self.carry.drain(..).partition(|p| same(p));
        self.carry = kept;
        for p in used {
            self.carried_into.entry(p.reading).or_default().push(first);
        }
        if !total.is_multiple_of(MWH) {
            self.carry.push(Part { owner: 0, self_use, reading, wh: total % MWH });
        }
        let expires = add_months(hour(k).end.0, 24);
        for _ in 0..total / MWH {
            self.next_serial += 1;
            let cert = Cert { owner: 0, state: St::Active, hour: k, expires, self_use };
            self.certs.insert(self.next_serial, cert);
        }
    }

    /// Takes `delta` back from an issued reading: its carry, then its live certificates (the
    /// generator's first, lowest serials first), the excess of the last back to the carry, the
    /// rest a deficit.
    fn claw_back(&mut self, reading: (bool, u64), delta: u64) {
        let mut taken = 0;
        for p in self.carry.iter_mut().filter(|p| p.reading == reading) {
            let t = p.wh.min(delta - taken);
            p.wh -= t;
            taken += t;
        }
        self.carry.retain(|p| p.wh > 0);
        let mut left = delta - taken;
        let mut live: Vec<(bool, u64)> = self
            .certs
            .iter()
            .filter(|(_, c)| (c.self_use, c.hour) == reading && matches!(c.state, St::Active | St::Frozen))
            .map(|(s, c)| (c.owner != 0, *s))
            .collect();
        live.sort();
        for (_, s) in live {
            if left == 0 {
                break;
            }
            let c = self.certs.get_mut(&s).unwrap();
            c.state = St::Withdrawn;
            let t = MWH.min(left);
            if t < MWH {
                self.carry.push(Part { owner: c.owner, self_use: c.self_use, reading, wh: MWH - t });
            }
            left -= t;
        }
        self.deficit += left;
    }

    /// True when every serial of `r` exists, belongs to `owner` and is usable now.
    fn usable(&self, r: SerialRange, owner: usize) -> bool {
        (r.start.0..r.end.0).all(|s| {
            self.certs.get(&s).is_some_and(|c| c.owner == owner && c.state == St::Active && self.now < c.expires)
        })
    }
    /// True when every serial of `r` may change hands (not self-use).
    fn transferable(&self, r: SerialRange) -> bool {
        (r.start.0..r.end.0).all(|s| self.certs.get(&s).is_some_and(|c| !c.self_use))
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
        Op::SelfUse { hour: k, wh } => {
            let k = pick_hour(m, *k);
            let ok = *wh <= 10 * MWH && !m.readings.contains_key(&(true, k)) && hour(k).end.0 <= m.now + 300;
            let cmd = Command::PostMeterReading(cmd::PostMeterReading {
                device: wind,
                channel: Channel::SelfUse,
                interval: hour(k),
                energy: Wh(*wh),
            });
            (METER, cmd, ok)
        }
        Op::Correct { hour: k, self_use, wh, approved } => {
            let k = pick_hour(m, *k);
            let channel = if *self_use { Channel::SelfUse } else { Channel::Export };
            // The window: until the start of the third month after the production month (UTC).
            let (y, mo, ..) = civil(hour(k).start.0);
            let total = y * 12 + mo as i64 - 1 + 4;
            let deadline = unix(total.div_euclid(12), (total.rem_euclid(12) + 1) as u32, 1, 0, 0, 0);
            let exists = m.readings.get(&(*self_use, k)).is_some_and(|r| r.0 != *wh);
            let ok = exists && *wh <= 10 * MWH && (m.now < deadline || *approved);
            let mut c = cmd::CorrectReading {
                device: wind,
                channel,
                interval: hour(k),
                energy: Wh(*wh),
                reason: "settlement data corrected".into(),
                approval: None,
            };
            if *approved {
                c = c.approved(&h.regulator, LEDGER);
            }
            (METER, Command::CorrectReading(c), ok)
        }
        Op::Issue { hour: k, by_owner } => {
            let k = pick_hour(m, *k);
            let excluded = m.excluded.iter().any(|(a, b)| (*a..*b).contains(&k));
            let fresh = [false, true].iter().any(|c| m.readings.get(&(*c, k)).is_some_and(|r| !r.1));
            let signer = if *by_owner { 0 } else { 3 };
            let cmd = Command::Issue(cmd::Issue { device: wind, interval: hour(k) });
            (signer, cmd, *by_owner && fresh && !excluded)
        }
        Op::Consume { who, wh } => {
            let cmd = Command::PostConsumption(cmd::PostConsumption {
                account: party(h, *who).account(),
                interval: hour(m.meters[*who].len() as u64),
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
            (signer, cmd, ok && m.usable(serials, signer) && m.transferable(serials))
        }
        Op::Retire { pick, owner_signs, signer, hour: k } => {
            let consumer = |b: &Bundle| is_consumer(owner_index(h, b));
            let Some((b, serials)) = resolve(&bundles, pick, *owner_signs, consumer) else {
                return;
            };
            let signer = if *owner_signs { owner_index(h, &b) } else { *signer };
            // The claim draws on the reading of hour k, which must be there and have room; the
            // certificates must be of the same (UTC) calendar year as that hour.
            let hours = m.meters[signer].len() as u64;
            let k = k % (hours + 1);
            let room = m.meters[signer].get(k as usize).map_or(0, |(wh, claimed)| wh - claimed);
            let year = |t: u64| civil(t).0;
            let vintage = year(b.production.start.0) == year(hour(k).start.0);
            let ok = is_consumer(signer) && k < hours && serials.len() * MWH <= room && vintage;
            let cmd = Command::Retire(cmd::Retire {
                bundle: b.id,
                serials,
                beneficiary: cmd::Beneficiary::Product { product: "factory".into(), quantity: 1, unit: "batch".into() },
                purpose: cmd::Purpose::Other("scope 2".into()),
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
    m.signed += 1;
    let signed =
        if m.signed.is_multiple_of(2) { h.sign_valid_for(&who, HOUR, cmd.clone()) } else { h.sign(&who, cmd.clone()) };
    let out = h.submit_signed(signed);
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
            m.readings.insert((false, m.next_hour), (*wh, false));
            m.next_hour += 1;
        }
        (Op::SelfUse { .. }, Command::PostMeterReading(c)) => {
            let k = (c.interval.start.0 - t0()) / HOUR;
            m.readings.insert((true, k), (c.energy.0, false));
        }
        (Op::Correct { self_use, .. }, Command::CorrectReading(c)) => {
            let key = (*self_use, (c.interval.start.0 - t0()) / HOUR);
            let (old, issued) = m.readings[&key];
            let new = c.energy.0;
            m.readings.insert(key, (new, issued));
            let excluded = m.excluded.iter().any(|(a, b)| (*a..*b).contains(&key.1));
            if issued && new > old && !excluded {
                m.grant(key, new - old);
            } else if issued && new > old {
                // Excluded output gets no certificates, corrected or not.
            } else if issued {
                m.claw_back(key, old - new);
            }
        }
        (Op::Issue { .. }, Command::Issue(cmd::Issue { interval, .. })) => {
            let k = (interval.start.0 - t0()) / HOUR;
            for self_use in [false, true] {
                if let Some(r) = m.readings.get_mut(&(self_use, k)).filter(|r| !r.1) {
                    r.1 = true;
                    let wh = r.0;
                    m.grant((self_use, k), wh);
                }
            }
        }
        (Op::Consume { who, wh }, _) => {
            m.meters[*who].push((*wh, 0));
        }
        (Op::Transfer { to, .. }, Command::Transfer(cmd::Transfer { serials, .. })) => {
            m.set(serials, |c| c.owner = *to);
        }
        (Op::Retire { .. }, Command::Retire(cmd::Retire { serials, consumption, .. })) => {
            let k = (consumption.start.0 - t0()) / HOUR;
            m.meters[signer][k as usize].1 += serials.len() * MWH;
            m.set(serials, |c| c.state = St::Retired);
        }
        (Op::Withdraw { .. }, Command::Withdraw(cmd::Withdraw { serials, .. })) => {
            m.set(serials, |c| c.state = St::Withdrawn);
        }
        (Op::Exclude { hour: _, len }, Command::DeclareExclusion(cmd::DeclareExclusion { interval, .. })) => {
            let a = (interval.start.0 - t0()) / HOUR;
            let inside = |k: u64| (a..a + len).contains(&k);
            m.excluded.push((a, a + len));
            for c in m.certs.values_mut() {
                if inside(c.hour) && c.state == St::Active {
                    c.state = St::Frozen;
                }
            }
            // Its carry leaves the device; a later certificate that already holds some is frozen.
            m.carry.retain(|p| !inside(p.reading.1));
            let later: Vec<u64> = m
                .carried_into
                .iter()
                .filter(|((_, k), _)| inside(*k))
                .flat_map(|(_, serials)| serials.clone())
                .collect();
            for s in later {
                if let Some(c) = m.certs.get_mut(&s).filter(|c| !inside(c.hour) && c.state == St::Active) {
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
        let self_use = b.origin == Origin::SelfUse;
        assert_eq!(b.transferable, !self_use, "{b:?}: self-use certificates are the only non-tradable ones");
        for s in b.serials.start.0..b.serials.end.0 {
            let cert = Cert { owner, state, hour: k, expires: b.expires.0, self_use };
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
        let self_use = r.channel == Channel::SelfUse;
        model_readings.insert((self_use, k), (r.energy.0, r.issuance.is_some()));
        assert!(r.balanced(), "energy of {} hour {k} not conserved: {r:?}", r.channel);
        if r.issuance.is_none() {
            assert!(r.bundles.is_empty());
            continue;
        }
        let mut issued = 0;
        for iss in r.issuances() {
            assert_eq!(iss.carry_in.0 + iss.energy.0, iss.serials.len() * MWH + iss.carry_out.0);
            issued += iss.serials.len();
        }
        let mut count = 0;
        for id in &r.bundles {
            assert!(listed.insert(*id), "bundle {id} listed by two readings");
            let b = by_id[id];
            assert_eq!(
                (&b.device, b.channel, b.production),
                (&r.device, r.channel, r.interval),
                "{id} of another reading"
            );
            assert!(r.issuances().any(|i| i.serials.contains(&b.serials)), "{id} outside its issuances");
            count += b.serials.len();
        }
        assert_eq!(count, issued, "issuance of {} hour {k} not conserved", r.channel);
    }
    let device = h.ledger.device(&wind()).unwrap();
    let carry: Vec<Part> = device
        .carry
        .iter()
        .map(|p| Part {
            owner: (0..PARTIES).find(|i| party(h, *i).account() == p.holder).expect("a party"),
            self_use: p.origin == Origin::SelfUse,
            reading: (p.channel == Channel::SelfUse, (p.reading.0 - t0()) / HOUR),
            wh: p.energy.0,
        })
        .collect();
    assert_eq!(carry, m.carry, "the carry differs from the model");
    assert_eq!(device.deficit.0, m.deficit, "the deficit differs from the model");
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
    // The core's state and the store agree on which nonces are remembered: the permanent ones,
    // and the windowed ones whose window has not passed.
    let stored = |from: &[u8], to: &[u8]| h.store.scan(from, to, usize::MAX).unwrap().len();
    assert_eq!(replay.state.nonces.len(), stored(b"Sn", b"So"));
    assert_eq!(replay.state.windowed_nonces.len(), stored(b"Sx", b"Sy"));
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
        let mut h = World::builder().policy(|p| p.classes = ClassTable::gec()).build();
        let mut m = Model { next_serial: 0, now: h.clock.now().0, ..Model::default() };
        for op in &ops {
            step(&mut h, &mut m, op);
            check(&h, &m);
        }
        check_replay(&h);
    }
}

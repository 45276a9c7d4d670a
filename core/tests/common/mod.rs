//! The harness of the core's rule tests: a few lines around `decide` and `apply` on a
//! [`MemState`] that also keeps the signed log. Refusals are checked to name their rule and to
//! leave the state untouched, and [`Ledger::replays`] checks that replaying the log gives the
//! same state.

#![allow(dead_code)]

use greenledger_core::calendar::unix;
use greenledger_core::codec;
use greenledger_core::command as cmd;
use greenledger_core::crypto::{self, Keypair};
use greenledger_core::policy::Policy;
use greenledger_core::refusal::Rejection;
use greenledger_core::replay::{apply, Replayer};
use greenledger_core::rules::{decide, Context, Decision};
use greenledger_core::state::*;
use greenledger_core::*;

pub const MWH: u64 = 1_000_000;
pub const HOUR: u64 = 3600;
pub const NAME: &str = "rules.example";

pub fn key(n: u8) -> Keypair {
    Keypair::from_seed([n; 32])
}

/// The parties: operator, meter, platform, regulator, generator, consumer, consumer 2.
pub struct Cast {
    pub operator: Keypair,
    pub meter: Keypair,
    pub platform: Keypair,
    pub regulator: Keypair,
    pub generator: Keypair,
    pub consumer: Keypair,
    pub consumer2: Keypair,
}

pub struct Ledger {
    pub state: MemState,
    pub log: Vec<Entry>,
    pub now: u64,
    pub nonce: u64,
    pub cast: Cast,
}

/// Hour `n` of January 2026 (UTC).
pub fn hour(n: u64) -> Interval {
    let t0 = unix(2026, 1, 1, 0, 0, 0);
    Interval::new(t0 + n * HOUR, t0 + (n + 1) * HOUR)
}

pub fn device(id: &str) -> DeviceId {
    DeviceId(id.into())
}

impl Ledger {
    /// A ledger under `policy` (renamed to [`NAME`]) with the cast registered; the clock at
    /// 2026-02-01.
    pub fn new(mut policy: Policy) -> Ledger {
        policy.name = NAME.into();
        let cast = Cast {
            operator: key(1),
            meter: key(2),
            platform: key(3),
            regulator: key(4),
            generator: key(5),
            consumer: key(6),
            consumer2: key(7),
        };
        let mut l =
            Ledger { state: MemState::default(), log: Vec::new(), now: unix(2026, 2, 1, 0, 0, 0), nonce: 0, cast };
        let op = l.cast.operator.clone();
        l.ok(&op, Command::Genesis(cmd::Genesis { policy, operator_name: "Registry".into() }));
        let members = [
            (l.cast.meter.account(), Role::MeterOperator),
            (l.cast.platform.account(), Role::TradingPlatform),
            (l.cast.regulator.account(), Role::Regulator),
            (l.cast.generator.account(), Role::Generator),
            (l.cast.consumer.account(), Role::Consumer),
            (l.cast.consumer2.account(), Role::Consumer),
        ];
        for (account, role) in members {
            let c = cmd::RegisterAccount { account, name: role.name().into(), roles: Roles::of(&[role]) };
            l.ok(&op, Command::RegisterAccount(c));
        }
        l
    }

    pub fn run(&mut self, who: &Keypair, command: Command) -> Result<Decision, Rejection> {
        self.nonce += 1;
        let signed = who.sign(NAME, self.nonce, command);
        self.submit(signed)
    }

    /// Decides a command signed by the caller (for instance with a validity window) at the
    /// ledger's time; applies and logs it if accepted.
    pub fn submit(&mut self, signed: SignedCommand) -> Result<Decision, Rejection> {
        let auth = crypto::verify(NAME, signed.clone()).expect("signed");
        let ctx = Context { index: LeafIndex(self.log.len() as u64), now: Timestamp(self.now) };
        let d = decide(&self.state, &auth, ctx)?;
        apply(&mut self.state, d.effects.clone()).expect("memory");
        self.log.push(Entry { time: Timestamp(self.now), signed });
        Ok(d)
    }

    pub fn ok(&mut self, who: &Keypair, command: Command) -> Decision {
        let what = command.to_string();
        self.run(who, command).unwrap_or_else(|e| panic!("{what}: refused: {e}"))
    }

    /// [`Ledger::submit`] that insists on acceptance.
    pub fn ok_signed(&mut self, signed: SignedCommand) -> Decision {
        let what = signed.body.command.to_string();
        self.submit(signed).unwrap_or_else(|e| panic!("{what}: refused: {e}"))
    }

    /// The command is refused with a message naming every one of `names`, and nothing changes.
    pub fn refused(&mut self, who: &Keypair, command: Command, names: &[&str]) -> String {
        let before = (self.state.clone(), self.log.len());
        let what = command.to_string();
        let e = match self.run(who, command) {
            Ok(d) => panic!("{what}: accepted: {:?}", d.summary),
            Err(e) => e.to_string(),
        };
        for n in names {
            assert!(e.contains(n), "{what}: refusal {e:?} does not name {n:?}");
        }
        assert_eq!((self.state.clone(), self.log.len()), before, "a refusal changed the state");
        e
    }

    /// Replaying the signed log from its leaves gives exactly this state.
    pub fn replays(&self) {
        let mut r = Replayer::new();
        for e in &self.log {
            r.push(&codec::leaf_bytes(e)).unwrap_or_else(|e| panic!("replay: {e}"));
        }
        assert_eq!(r.state, self.state, "replay differs");
    }

    pub fn register(&mut self, id: &str, technology: Technology, commissioned: u64, attributes: DeviceAttributes) {
        let op = self.cast.operator.clone();
        let owner = self.cast.generator.account();
        let c = cmd::RegisterDevice {
            device: device(id),
            owner,
            technology,
            capacity_w: 10_000_000,
            region: "gansu".into(),
            commissioned: Timestamp(commissioned),
            attributes,
        };
        self.ok(&op, Command::RegisterDevice(c));
    }

    pub fn wind(&mut self, id: &str) {
        self.register(id, Technology::Wind, unix(2020, 1, 1, 0, 0, 0), DeviceAttributes::default());
    }

    pub fn read(&mut self, id: &str, channel: Channel, interval: Interval, wh: u64) -> Decision {
        let m = self.cast.meter.clone();
        self.ok(
            &m,
            Command::PostMeterReading(cmd::PostMeterReading { device: device(id), channel, interval, energy: Wh(wh) }),
        )
    }

    pub fn issue(&mut self, id: &str, interval: Interval) -> Decision {
        let g = self.cast.generator.clone();
        self.ok(&g, Command::Issue(cmd::Issue { device: device(id), interval }))
    }

    pub fn correct(&self, id: &str, channel: Channel, interval: Interval, wh: u64) -> Command {
        Command::CorrectReading(cmd::CorrectReading {
            device: device(id),
            channel,
            interval,
            energy: Wh(wh),
            reason: "meter replaced; settlement data corrected".into(),
            approval: None,
        })
    }

    pub fn reading(&self, id: &str, channel: Channel, interval: Interval) -> Reading {
        self.state.readings[&(device(id), channel, interval.start)].clone()
    }

    pub fn device(&self, id: &str) -> Device {
        self.state.devices[&device(id)].clone()
    }

    pub fn bundles_of(&self, owner: &Keypair) -> Vec<Bundle> {
        self.state.bundles.values().filter(|b| b.owner == owner.account()).cloned().collect()
    }

    pub fn units(&self, owner: &Keypair, state: BundleState) -> u64 {
        self.bundles_of(owner).iter().filter(|b| b.state == state).map(|b| b.serials.len()).sum()
    }

    pub fn consume(&mut self, who: AccountId, interval: Interval, wh: u64) {
        let m = self.cast.meter.clone();
        self.ok(&m, Command::PostConsumption(cmd::PostConsumption { account: who, interval, energy: Wh(wh) }));
    }

    /// Every issued reading's energy balance holds and no serial is in two bundles.
    pub fn conserved(&self) {
        for r in self.state.readings.values() {
            assert!(r.balanced(), "reading {} {} of {} is not balanced: {r:?}", r.channel, r.interval, r.device);
        }
        let mut seen = std::collections::BTreeSet::new();
        for b in self.state.bundles.values() {
            for s in b.serials.start.0..b.serials.end.0 {
                assert!(seen.insert(s), "serial {s} is in two bundles");
            }
        }
    }
}

pub fn retire(b: &Bundle, consumption: Interval) -> Command {
    Command::Retire(cmd::Retire {
        bundle: b.id,
        serials: b.serials,
        beneficiary: cmd::Beneficiary::Claimant,
        purpose: cmd::Purpose::Re100Cdp,
        consumption,
    })
}

pub fn transfer(b: &Bundle, to: AccountId) -> Command {
    Command::Transfer(cmd::Transfer { bundle: b.id, serials: b.serials, to })
}

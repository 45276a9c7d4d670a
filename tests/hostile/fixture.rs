//! The ledger the hostile requests go to: the kit's world with three devices (one of unbounded
//! capacity), readings, certificates, and bundles in every state the cases need.

use greenledger::rpc::convert::signed_to_pb;
use greenledger::testkit::{hour, wind, LEDGER, MWH};
use greenledger_core::command as cmd;
use greenledger_core::crypto::Keypair;
use greenledger_core::state::BundleState;
use greenledger_core::{BundleId, Command, DeviceId, SerialRange, Wh};
use prost::Message;
use std::ops::Deref;

/// A known nonce of the meter, for the replay case.
pub const REPLAYED_NONCE: u64 = 7_777_777;

pub fn huge() -> DeviceId {
    DeviceId("HUGE-1".into())
}
pub fn solar() -> DeviceId {
    DeviceId("SOLAR-1".into())
}

/// The kit's world (the cast's keys through `Deref`) and the bundles of `consumer`: active
/// (wind), withdrawn, frozen; and one active of `generator`.
pub struct Fixture {
    pub kit: greenledger::testkit::World,
    pub active: BundleId,
    pub active_serials: SerialRange,
    pub withdrawn: (BundleId, SerialRange),
    pub frozen: (BundleId, SerialRange),
    pub generators: BundleId,
}

impl Deref for Fixture {
    type Target = greenledger::testkit::World;
    fn deref(&self) -> &Self::Target {
        &self.kit
    }
}

impl Fixture {
    /// `command` signed by `who` with a fresh nonce, as protobuf bytes.
    pub fn bytes(&self, who: &Keypair, command: Command) -> Vec<u8> {
        signed_to_pb(&self.sign(who, command)).encode_to_vec()
    }
}

/// A ledger with every kind of record the cases need.
pub fn setup() -> Fixture {
    let kit = greenledger::testkit::World::builder()
        .policy(|p| p.expiry = greenledger_core::policy::Expiry::AfterEnd { months: 12 })
        // No upper bound on capacity: the overflow cases need a device this big.
        .devices(&[("WIND-1", 10_000_000), ("SOLAR-1", 10_000_000), ("HUGE-1", u64::MAX)])
        .build();
    let mut w = Fixture {
        kit,
        active: BundleId(0),
        active_serials: SerialRange::new(0, 0),
        withdrawn: (BundleId(0), SerialRange::new(0, 0)),
        frozen: (BundleId(0), SerialRange::new(0, 0)),
        generators: BundleId(0),
    };
    let ledger = w.ledger.clone();
    let gen = |w: &Fixture, d: DeviceId, n: u64, wh: u64| {
        w.sign(&w.meter, Command::PostGeneration(cmd::PostGeneration { device: d, interval: hour(n), energy: Wh(wh) }))
    };
    let issue = |w: &Fixture, d: DeviceId, n: u64| {
        w.sign(&w.generator, Command::Issue(cmd::Issue { device: d, interval: hour(n) }))
    };
    let mut cmds = Vec::new();
    for n in 0..3 {
        cmds.push(gen(&w, wind(), n, 5 * MWH));
    }
    cmds.push(gen(&w, solar(), 0, 5 * MWH));
    // A known nonce of the meter, for the replay case.
    cmds.push(w.meter.sign(
        LEDGER,
        REPLAYED_NONCE,
        Command::PostGeneration(cmd::PostGeneration { device: solar(), interval: hour(1), energy: Wh(MWH) }),
    ));
    cmds.push(gen(&w, huge(), 0, u64::MAX));
    cmds.push(w.sign(
        &w.meter,
        Command::PostDirectSupply(cmd::PostDirectSupply {
            device: huge(),
            consumer: w.consumer.account(),
            interval: hour(0),
            energy: Wh(u64::MAX - 10),
        }),
    ));
    for n in 0..24 {
        cmds.push(w.sign(
            &w.meter,
            Command::PostConsumption(cmd::PostConsumption {
                account: w.consumer.account(),
                interval: hour(n),
                energy: Wh(100 * MWH),
            }),
        ));
    }
    cmds.push(w.sign(
        &w.meter,
        Command::PostConsumption(cmd::PostConsumption {
            account: w.consumer2.account(),
            interval: hour(0),
            energy: Wh(u64::MAX),
        }),
    ));
    for n in 0..3 {
        cmds.push(issue(&w, wind(), n));
    }
    cmds.push(issue(&w, solar(), 0));
    w.ok_all(cmds);
    // Bundles 1..=3 are wind hours 0..2, bundle 4 is solar; each holds serials of 5 certificates.
    let bundle = |id: u64| ledger.bundle(BundleId(id)).unwrap();
    let to_consumer = |w: &Fixture, id: u64| {
        let b = bundle(id);
        w.sign(
            &w.generator,
            Command::Transfer(cmd::Transfer { bundle: b.id, serials: b.serials, to: w.consumer.account() }),
        )
    };
    w.ok_all(vec![to_consumer(&w, 1), to_consumer(&w, 2), to_consumer(&w, 4)]);
    let b2 = bundle(2);
    let withdraw = SerialRange::new(b2.serials.start.0, b2.serials.start.0 + 2);
    w.ok_all(vec![
        w.sign(
            &w.regulator,
            Command::Withdraw(cmd::Withdraw { bundle: b2.id, serials: withdraw, reason: "meter fault".into() }),
        ),
        w.sign(
            &w.regulator,
            Command::DeclareExclusion(cmd::DeclareExclusion {
                device: solar(),
                interval: hour(0),
                scheme: "CCER".into(),
            }),
        ),
    ]);
    let holdings = ledger.holdings(&w.consumer.account()).unwrap();
    let find = |f: &dyn Fn(&greenledger_core::state::Bundle) -> bool| holdings.iter().find(|b| f(b)).unwrap().clone();
    let active = find(&|b| b.state == BundleState::Active && b.device == wind() && b.production == hour(0));
    w.active = active.id;
    w.active_serials = active.serials;
    let b = find(&|b| b.state == BundleState::Withdrawn);
    w.withdrawn = (b.id, b.serials);
    let b = find(&|b| b.state == BundleState::Frozen);
    w.frozen = (b.id, b.serials);
    w.generators = BundleId(3);
    assert_eq!(ledger.bundle(w.generators).unwrap().owner, w.generator.account());
    w
}

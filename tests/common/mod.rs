//! Shared test harness: a ledger on the in-memory store with a manual clock, named keys and
//! helpers to submit commands and to snapshot everything the store holds.
#![allow(dead_code)]

use greenledger::ledger::{Ledger, ManualClock, Outcome, Receipt, Refused};
use greenledger::store::{MemStore, Store};
use greenledger_core::calendar::unix;
use greenledger_core::command as cmd;
use greenledger_core::crypto::Keypair;
use greenledger_core::log::NoteSigner;
use greenledger_core::*;
use std::collections::BTreeMap;
use std::sync::Arc;

pub const LEDGER: &str = "test.greenledger.example";
pub const HOUR: u64 = 3600;
pub const MWH: u64 = 1_000_000;

/// 2026-01-01T00:00:00Z
pub fn t0() -> u64 {
    unix(2026, 1, 1, 0, 0, 0)
}

pub fn hour(n: u64) -> Interval {
    Interval::new(t0() + n * HOUR, t0() + (n + 1) * HOUR)
}

pub fn key(n: u8) -> Keypair {
    Keypair::from_seed([n; 32])
}

pub struct Harness {
    pub ledger: Ledger<MemStore>,
    pub store: Arc<MemStore>,
    pub clock: Arc<ManualClock>,
    pub operator: Keypair,
    pub meter: Keypair,
    pub platform: Keypair,
    pub regulator: Keypair,
    pub generator: Keypair,
    pub consumer: Keypair,
    pub consumer2: Keypair,
    pub stranger: Keypair,
    nonce: u64,
}

pub fn log_signer() -> NoteSigner {
    NoteSigner::new(LEDGER, ed25519_dalek::SigningKey::from_bytes(&[99; 32])).unwrap()
}

impl Harness {
    /// A ledger with the given policy, the six roles registered, and one wind device
    /// `WIND-1` of 10 MW owned by `generator`. The clock starts at 2026-02-01.
    pub fn with_policy(policy: Policy) -> Harness {
        let store = Arc::new(MemStore::new());
        let clock = Arc::new(ManualClock::new(unix(2026, 2, 1, 0, 0, 0)));
        let operator = key(1);
        let genesis =
            operator.sign(LEDGER, 0, Command::Genesis(cmd::Genesis { policy, operator_name: "Registry".into() }));
        let ledger = Ledger::create(store.clone(), log_signer(), genesis, clock.clone()).unwrap();
        let mut h = Harness {
            ledger,
            store,
            clock,
            operator,
            meter: key(2),
            platform: key(3),
            regulator: key(4),
            generator: key(5),
            consumer: key(6),
            consumer2: key(7),
            stranger: key(8),
            nonce: 1,
        };
        let accounts = [
            (h.meter.account(), "State Grid metering", vec![Role::MeterOperator]),
            (h.platform.account(), "Power exchange", vec![Role::TradingPlatform]),
            (h.regulator.account(), "Regulator", vec![Role::Regulator]),
            (h.generator.account(), "Wind farm co", vec![Role::Generator]),
            (h.consumer.account(), "Battery factory", vec![Role::Consumer]),
            (h.consumer2.account(), "Solar glass factory", vec![Role::Consumer]),
        ];
        for (account, name, roles) in accounts {
            let op = h.operator.clone();
            h.ok(
                &op,
                Command::RegisterAccount(cmd::RegisterAccount { account, name: name.into(), roles: Roles::of(&roles) }),
            );
        }
        let (op, owner) = (h.operator.clone(), h.generator.account());
        h.ok(
            &op,
            Command::RegisterDevice(cmd::RegisterDevice {
                device: DeviceId("WIND-1".into()),
                owner,
                technology: Technology::Wind,
                capacity_w: 10_000_000,
                region: "inner_mongolia".into(),
                commissioned: Timestamp(unix(2020, 1, 1, 0, 0, 0)),
            }),
        );
        h
    }

    pub fn new() -> Harness {
        let mut p = Policy::new(LEDGER);
        p.unit_wh = MWH;
        Harness::with_policy(p)
    }

    pub fn next_nonce(&mut self) -> u64 {
        self.nonce += 1;
        self.nonce
    }

    pub fn signed(&mut self, who: &Keypair, command: Command) -> SignedCommand {
        let n = self.next_nonce();
        who.sign(LEDGER, n, command)
    }

    pub fn submit(&mut self, who: &Keypair, command: Command) -> Outcome {
        let signed = self.signed(who, command);
        self.submit_signed(signed)
    }

    pub fn submit_signed(&mut self, signed: SignedCommand) -> Outcome {
        self.ledger.submit_batch(vec![signed]).expect("storage works").pop().expect("one outcome")
    }

    /// Submits and insists on acceptance.
    pub fn ok(&mut self, who: &Keypair, command: Command) -> Receipt {
        let c = command.clone();
        match self.submit(who, command) {
            Ok(r) => r,
            Err(e) => panic!("{} refused: {e}", c.kind()),
        }
    }

    /// Submits, insists on refusal, and checks that nothing in the store changed.
    pub fn refused(&mut self, who: &Keypair, command: Command) -> Refused {
        let before = self.snapshot();
        let c = command.clone();
        let out = self.submit(who, command);
        assert_eq!(self.snapshot(), before, "a refused {} changed the store", c.kind());
        match out {
            Err(e) => e,
            Ok(r) => panic!("{} was accepted: {:?}", c.kind(), r.summary),
        }
    }

    /// Everything the store holds.
    pub fn snapshot(&self) -> BTreeMap<Vec<u8>, Vec<u8>> {
        self.store.scan(&[], &[0xff; 8], usize::MAX).unwrap().into_iter().collect()
    }

    pub fn wind() -> DeviceId {
        DeviceId("WIND-1".into())
    }

    /// Posts a generation reading of `mwh` whole MWh for hour `n` of `WIND-1`.
    pub fn generation(&mut self, n: u64, wh: u64) -> Receipt {
        let m = self.meter.clone();
        self.ok(
            &m,
            Command::PostGeneration(cmd::PostGeneration { device: Self::wind(), interval: hour(n), energy: Wh(wh) }),
        )
    }

    pub fn consumption(&mut self, who: AccountId, n: u64, wh: u64) -> Receipt {
        let m = self.meter.clone();
        self.ok(&m, Command::PostConsumption(cmd::PostConsumption { account: who, interval: hour(n), energy: Wh(wh) }))
    }

    pub fn issue(&mut self, n: u64) -> Receipt {
        let g = self.generator.clone();
        self.ok(&g, Command::Issue(cmd::Issue { device: Self::wind(), interval: hour(n) }))
    }

    /// Bundles held by an account.
    pub fn holdings(&self, who: &Keypair) -> Vec<greenledger_core::state::Bundle> {
        self.ledger.holdings(&who.account()).unwrap()
    }

    /// The only active bundle of an account.
    pub fn only_bundle(&self, who: &Keypair) -> greenledger_core::state::Bundle {
        let mut b: Vec<_> = self.holdings(who).into_iter().filter(|b| b.state == state::BundleState::Active).collect();
        assert_eq!(b.len(), 1, "expected exactly one active bundle, got {b:?}");
        b.pop().unwrap()
    }
}

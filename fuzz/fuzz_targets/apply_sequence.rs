//! Arbitrary bytes become a sequence of signed commands (any kind, any signer, extreme amounts,
//! odd intervals and serial ranges, clock jumps, validity windows open, passed or too long)
//! submitted in batches to a ledger on the in-memory store. Nothing may panic, and after every
//! batch a small reference check holds:
//!
//! - certificates are conserved: the bundles' serial ranges are disjoint and together hold
//!   exactly the serials ever issued (`1..next_serial`);
//! - no reading allocates more than it generated, no account claims more than it consumed, and
//!   each account's claimed total is the sum of its claims;
//! - the log replays to exactly the stored state and tree (`Ledger::verify_full`), checked at
//!   the end of each input.
#![no_main]

use greenledger_core::command as cmd;
use greenledger_core::codec;
use greenledger_core::crypto::Keypair;
use greenledger_core::calendar::unix;
use greenledger_core::state::{Bundle, Claim, Meta};
use greenledger_core::{
    AccountId, BundleId, Channel, Command, DeviceId, Interval, Policy, Role, Roles, SerialRange, SignedCommand, Technology,
    Timestamp, Wh,
};
use greenledger::ledger::{Clock, Ledger, ManualClock};
use greenledger_core::state::DeviceAttributes;
use greenledger::store::{keys, MemStore, Store};
use libfuzzer_sys::fuzz_target;
use std::collections::BTreeMap;
use std::sync::Arc;

const NAME: &str = greenledger::testkit::LEDGER;
const UNIT: u64 = 1_000;
const HOUR: u64 = 3600;

fn t0() -> u64 {
    unix(2026, 1, 1, 0, 0, 0)
}

/// Reads the fuzz input as small numbers.
struct Input<'a>(&'a [u8]);
impl Input<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }
    fn small(&mut self, n: u8) -> Option<u64> {
        Some((self.byte()? % n) as u64)
    }
    /// An amount: mostly ordinary, sometimes an edge (0, 1, unit multiples, u64::MAX...).
    fn amount(&mut self) -> Option<u64> {
        Some(match self.byte()? {
            0 => 0,
            1 => 1,
            2 => u64::MAX,
            3 => u64::MAX - 1,
            4 => u64::MAX / 2 + 1,
            b @ 5..=127 => b as u64 * UNIT,
            b => (b as u64) * 37 + self.byte()? as u64 * 1_000_003,
        })
    }
}

struct World {
    kit: greenledger::testkit::World,
    ledger: Arc<Ledger<MemStore>>,
    clock: Arc<ManualClock>,
    /// operator, meter, platform, regulator, generator, consumer, consumer2, stranger
    keys: Vec<Keypair>,
}

const DEVICES: [&str; 3] = ["WIND-1", "SOLAR-1", "HUGE-1"];

impl World {
    fn new() -> World {
        let kit = greenledger::testkit::World::builder()
            .policy(|p| {
                p.unit_wh = UNIT;
                p.expiry = greenledger_core::policy::Expiry::AfterEnd { months: 2 };
                p.classes = greenledger_core::policy::ClassTable::gec();
                p.max_transfers = Some(3);
            })
            .devices(&[(DEVICES[0], 10_000_000), (DEVICES[1], 5_000_000), (DEVICES[2], u64::MAX)])
            .build();
        let keys = kit.cast.all().into_iter().cloned().collect();
        World { ledger: kit.ledger.clone(), clock: kit.clock.clone(), kit, keys }
    }

    fn sign(&mut self, who: usize, command: Command) -> SignedCommand {
        self.kit.sign(&self.keys[who], command)
    }

    fn account(&self, i: u64) -> AccountId {
        self.keys[i as usize % self.keys.len()].account()
    }

    fn bundles(&self) -> Vec<Bundle> {
        let (a, b) = (keys::bundle(BundleId(0)), keys::bundle(BundleId(u64::MAX)));
        let rows = self.ledger.store().scan(&a, &b, usize::MAX).unwrap();
        rows.iter().map(|(_, v)| codec::decode(v).unwrap()).collect()
    }

    /// A serial range relative to an existing bundle: inside, overlapping, reversed, empty...
    fn serials(&self, bundle: BundleId, how: u64, a: u64, b: u64) -> SerialRange {
        let held = self.ledger.bundle(bundle).map(|b| b.serials).unwrap_or(SerialRange::new(1, 2));
        let (s, e) = (held.start.0, held.end.0);
        match how {
            0 => held,
            1 => SerialRange::new(s + a % held.len().max(1), e),
            2 => SerialRange::new(s, s + 1 + a % held.len().max(1)),
            3 => SerialRange::new(e, s),
            4 => SerialRange::new(s, s),
            5 => SerialRange::new(s.saturating_sub(1), e),
            6 => SerialRange::new(s, u64::MAX),
            _ => SerialRange::new(a, b),
        }
    }

    /// One command from the input, or None when the input is used up.
    fn command(&mut self, input: &mut Input) -> Option<SignedCommand> {
        let kind = input.small(19)?;
        let device = DeviceId(DEVICES[input.small(3)? as usize].to_string());
        let h = input.small(48)?;
        let hour = match input.small(16)? {
            0 => Interval::new(t0() + h * HOUR, t0() + h * HOUR),
            1 => Interval::new(t0() + (h + 1) * HOUR, t0() + h * HOUR),
            2 => Interval::new(t0() + h * HOUR, t0() + (h + 2) * HOUR),
            3 => Interval::new(u64::MAX - HOUR, u64::MAX),
            _ => Interval::new(t0() + h * HOUR, t0() + (h + 1) * HOUR),
        };
        let energy = Wh(input.amount()?);
        let bundle = BundleId(input.small(24)?);
        let serials = {
            let (how, a, b) = (input.small(8)?, input.amount()?, input.amount()?);
            self.serials(bundle, how, a, b)
        };
        let account = self.account(input.small(8)?);
        let text = match input.small(8)? {
            0 => String::new(),
            1 => "x".repeat(300),
            2 => "bell\u{7}".into(),
            3 => "绿电 🌱".into(),
            _ => "ok".into(),
        };
        // Usually the right signer for the kind, sometimes anyone.
        let right = [0, 0, 0, 1, 1, 1, 2, 4, 5, 5, 3, 3, 1, 1, 0, 2, 0, 3, 3][kind as usize];
        let channel = Channel::ALL[input.small(5)? as usize];
        let flag = input.small(2)? == 0;
        let signer = if input.small(8)? == 0 { input.small(8)? as usize } else { right };
        let signer = if signer == 5 && input.small(2)? == 0 { 6 } else { signer };
        let command = match kind {
            0 => Command::RegisterAccount(cmd::RegisterAccount { account, name: text, roles: Roles::of(&[Role::Consumer]) }),
            1 => Command::RegisterDevice(cmd::RegisterDevice {
                device,
                owner: account,
                technology: Technology::Solar,
                capacity_w: energy.0,
                region: text,
                commissioned: Timestamp(t0()),
                attributes: DeviceAttributes { hydrogen: flag, user: flag.then_some(account), ..Default::default() },
            }),
            2 => Command::Genesis(cmd::Genesis { policy: Policy::new(NAME), operator_name: text }),
            3 => Command::PostGeneration(cmd::PostGeneration { device, interval: hour, energy }),
            4 => Command::PostConsumption(cmd::PostConsumption { account, interval: hour, energy }),
            5 => Command::PostDirectSupply(cmd::PostDirectSupply { device, consumer: account, interval: hour, energy }),
            6 => Command::SettleTrade(cmd::SettleTrade { device, interval: hour, buyer: account, energy }),
            7 => Command::Issue(cmd::Issue { device, interval: hour }),
            8 => Command::Transfer(cmd::Transfer { bundle, serials, to: account }),
            9 => Command::Retire(cmd::Retire { bundle, serials, beneficiary: cmd::Beneficiary::Product { product: text.clone(), quantity: 1, unit: "batch".into() }, purpose: cmd::Purpose::Other(text), consumption: hour }),
            10 => Command::Withdraw(cmd::Withdraw { bundle, serials, reason: text }),
            11 => Command::DeclareExclusion(cmd::DeclareExclusion { device, interval: hour, scheme: text }),
            12 => Command::PostMeterReading(cmd::PostMeterReading { device, channel, interval: hour, energy }),
            13 => {
                let c = cmd::CorrectReading { device, channel, interval: hour, energy, reason: text, approval: None };
                Command::CorrectReading(if flag { c.approved(&self.keys[3], NAME) } else { c })
            }
            14 => Command::ChangeDevice(cmd::ChangeDevice {
                device,
                change: match input.small(3)? {
                    0 => cmd::DeviceChange::Owner(account),
                    1 => cmd::DeviceChange::Decommission(hour.end),
                    _ => cmd::DeviceChange::Attributes(DeviceAttributes { off_grid: flag, ..Default::default() }),
                },
            }),
            15 => Command::SettleMonth(cmd::SettleMonth {
                device,
                period: Interval::new(t0(), t0() + 48 * HOUR),
                buyer: account,
                energy,
                price_fen_per_mwh: 38_500,
                network_charge_fen_per_mwh: flag.then_some(9_500),
            }),
            16 => Command::IssueMonth(cmd::IssueMonth { device, year: 2026, month: 1 + input.small(2)? as u32 }),
            17 => Command::ResolveFrozen(cmd::ResolveFrozen { bundle, cancel: flag, reason: text }),
            _ => {
                let mut policy = Policy::new(NAME);
                policy.unit_wh = UNIT;
                policy.max_transfers = flag.then_some(1);
                let effective = Timestamp(self.clock.now().0 + h * HOUR);
                Command::AmendPolicy(cmd::AmendPolicy { effective, policy, reason: text })
            }
        };
        let how = input.small(32)?;
        let mut signed = match how {
            // Validity windows: open, ending now, ended a second ago, a second too long.
            2..=5 => {
                let now = self.clock.now().0;
                let expires = [now + HOUR, now, now.saturating_sub(1), now + 86_400 + 1][how as usize - 2];
                self.kit.sign_until(&self.keys[signer], Timestamp(expires), command)
            }
            _ => self.sign(signer, command),
        };
        match how {
            0 => signed.signature[0] ^= 1,
            1 => signed.body.nonce = 2, // reuse a setup nonce
            _ => {}
        }
        Some(signed)
    }

    fn check(&self) {
        let meta: Meta = self.ledger.meta().unwrap();
        let mut bundles = self.bundles();
        bundles.sort_by_key(|b| b.serials.start);
        let mut next = 1u64;
        for b in &bundles {
            assert!(!b.serials.is_empty(), "empty bundle {b:?}");
            assert_eq!(b.serials.start.0, next, "serials lost or held twice at {next}: {bundles:?}");
            next = b.serials.end.0;
        }
        assert_eq!(next, meta.next_serial, "bundles do not cover every issued serial");
        let mut claimed: BTreeMap<AccountId, u64> = BTreeMap::new();
        let mut id = 1;
        while let Ok(c) = self.ledger.claim(greenledger_core::ClaimId(id)) {
            let c: Claim = c;
            *claimed.entry(c.claimant).or_default() += c.energy.0;
            id += 1;
        }
        assert_eq!(id, meta.next_claim, "claims are numbered without gaps");
        for a in self.ledger.accounts().unwrap() {
            assert!(a.claimed <= a.consumed, "account claims more than it consumed: {a:?}");
            assert_eq!(a.claimed.0, claimed.get(&a.id).copied().unwrap_or(0), "claimed total of {a:?}");
        }
        for d in DEVICES {
            for r in self.ledger.readings(&DeviceId(d.into()), 0, u64::MAX).unwrap() {
                assert!(r.balanced(), "a reading's energy is not accounted for: {r:?}");
                let allocated = r.allocated().expect("allocations never overflow");
                assert!(allocated <= r.energy, "reading over-allocated: {r:?}");
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut w = World::new();
    let mut input = Input(data);
    'outer: loop {
        let Some(control) = input.byte() else { break };
        if control & 0x80 != 0 {
            w.clock.advance((control as u64 & 0x7f) * 86_400 * 7);
        }
        let mut batch = Vec::new();
        for _ in 0..1 + (control & 3) {
            match w.command(&mut input) {
                Some(c) => batch.push(c),
                None if batch.is_empty() => break 'outer,
                None => break,
            }
        }
        let n = batch.len();
        let outcomes = w.ledger.submit_batch(batch).expect("the in-memory store never fails");
        assert_eq!(outcomes.len(), n);
        w.check();
    }
    let report = w.ledger.verify_full().expect("the log replays to the stored state");
    assert_eq!(report.entries, w.ledger.size());
});

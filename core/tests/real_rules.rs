//! The real rules of meter data and certificate classes, decided by the core alone: backfill,
//! corrections (up, down, into a deficit, after the window), exclusions that reach the carry,
//! the class table, GEC and EECS expiry, dated policy amendments, the device lifecycle, monthly
//! settlements with price and distributed trades in a park.
//!
//! Every test drives [`Ledger`], a few lines around `decide` and `apply` on a [`MemState`] that
//! also keeps the signed log; refusals are checked to name their rule and to leave the state
//! untouched, and [`Ledger::replays`] checks that replaying the log gives the same state.

mod common;

use common::*;
use greenledger_core::calendar::unix;
use greenledger_core::command::{self as cmd, DeviceChange};
use greenledger_core::policy::{Class, ClassTable, Policy};
use greenledger_core::rules::Change;
use greenledger_core::state::*;
use greenledger_core::*;

#[test]
fn readings_backfill_per_channel_and_never_overlap() {
    let mut l = Ledger::new(Policy::new(NAME));
    l.wind("W");
    // Hour 2 first, then the gap before it: backfilling is fine.
    l.read("W", Channel::Export, hour(2), MWH);
    l.read("W", Channel::Export, hour(0), MWH);
    l.read("W", Channel::Export, hour(1), MWH);
    // Another channel of the same device may cover the same hour.
    l.read("W", Channel::SelfUse, hour(1), 200_000);
    // Overlaps within one channel are refused, naming the reading already there.
    let m = l.cast.meter.clone();
    let straddle = Interval::new(hour(0).start.0 + 1800, hour(1).start.0 + 1800);
    let post = |iv| {
        Command::PostMeterReading(cmd::PostMeterReading {
            device: device("W"),
            channel: Channel::Export,
            interval: iv,
            energy: Wh(1),
        })
    };
    l.refused(&m, post(straddle), &["rule 1", &hour(1).to_string(), "export"]);
    l.refused(&m, post(hour(2)), &["rule 1", &hour(2).to_string()]);
    // A consumption channel is not a device channel.
    let wrong = Command::PostMeterReading(cmd::PostMeterReading {
        device: device("W"),
        channel: Channel::GridImport,
        interval: hour(5),
        energy: Wh(1),
    });
    l.refused(&m, wrong, &["grid-import", "not a device channel"]);
    // Consumption backfills too.
    let c = l.cast.consumer.account();
    l.consume(c, hour(3), MWH);
    l.consume(c, hour(1), MWH);
    let pc = |iv| Command::PostConsumption(cmd::PostConsumption { account: c, interval: iv, energy: Wh(5) });
    l.refused(&m, pc(Interval::new(hour(1).start.0, hour(2).end.0)), &["rule 1", &hour(1).to_string()]);
    l.consume(c, hour(2), MWH);
    assert_eq!(l.state.accounts[&c].metered, Some(Interval { start: hour(1).start, end: hour(3).end }));
    assert_eq!(l.state.accounts[&c].consumed, Wh(3 * MWH));
    l.replays();
}

#[test]
fn an_hourly_policy_takes_hourly_data_only() {
    let mut l = Ledger::new(Policy::preset("energytag", NAME).unwrap());
    l.wind("W");
    let m = l.cast.meter.clone();
    let two_hours = Interval { start: hour(0).start, end: hour(1).end };
    let post = Command::PostMeterReading(cmd::PostMeterReading {
        device: device("W"),
        channel: Channel::Export,
        interval: two_hours,
        energy: Wh(1),
    });
    l.refused(&m, post, &["rule 9", "7200 s", "3600"]);
    let c = l.cast.consumer.account();
    let pc = Command::PostConsumption(cmd::PostConsumption { account: c, interval: two_hours, energy: Wh(5) });
    l.refused(&m, pc, &["rule 9"]);
    // Within one clock hour but not aligned to it is not hourly data either.
    let misaligned = Interval::new(hour(0).start.0 + 1800, hour(1).start.0 + 1800);
    let post = Command::PostMeterReading(cmd::PostMeterReading {
        device: device("W"),
        channel: Channel::Export,
        interval: misaligned,
        energy: Wh(1),
    });
    l.refused(&m, post, &["rule 9", "clock hour"]);
    l.read("W", Channel::Export, hour(0), 700);
    l.consume(c, hour(0), 500);
}

#[test]
fn corrections_up_down_and_into_a_deficit() {
    let mut l = Ledger::new(Policy::new(NAME));
    l.wind("W");
    let (g, c) = (l.cast.generator.clone(), l.cast.consumer.clone());
    let m = l.cast.meter.clone();

    // Before issuance a correction only changes the value, and keeps the trail.
    l.read("W", Channel::Export, hour(0), 3 * MWH);
    let d = l.ok(&m, l.correct("W", Channel::Export, hour(0), 3_500_000));
    assert!(matches!(&d.changes[0], Change::Corrected { old: Wh(3_000_000), new: Wh(3_500_000), .. }));
    let r = l.reading("W", Channel::Export, hour(0));
    assert_eq!((r.energy, r.corrections.len(), r.corrections[0].signer), (Wh(3_500_000), 1, m.account()));
    assert_eq!(r.corrections[0].reason, "meter replaced; settlement data corrected");
    // Correcting to the same value is refused.
    l.refused(&m, l.correct("W", Channel::Export, hour(0), 3_500_000), &["rule 12", "already says"]);

    // Upward after issuance: a supplementary issue of the extra (with the carry).
    l.issue("W", hour(0));
    assert_eq!(l.units(&g, BundleState::Active), 3);
    l.ok(&m, l.correct("W", Channel::Export, hour(0), 5_200_000));
    let r = l.reading("W", Channel::Export, hour(0));
    assert_eq!(r.supplements.len(), 1);
    assert_eq!(l.units(&g, BundleState::Active), 5, "3.5 + 1.7 MWh = 5 certificates, 0.2 carried");
    assert_eq!(l.device("W").carried(), Wh(200_000));
    l.conserved();

    // Downward after issuance: the carry first, then the owner's certificates are withdrawn.
    let d = l.ok(&m, l.correct("W", Channel::Export, hour(0), 3_900_000));
    let Change::Corrected { clawed_back, deficit, claims, .. } = d.changes.last().unwrap().clone() else {
        panic!("{:?}", d.changes)
    };
    assert_eq!((clawed_back, deficit, claims), (Wh(1_300_000), Wh::ZERO, vec![]));
    assert_eq!(l.units(&g, BundleState::Active), 3);
    assert_eq!(l.units(&g, BundleState::Withdrawn), 2);
    // 0.2 carried + 2 certificates withdrawn (2.2 MWh) for 1.3 MWh: 0.9 goes back to the carry.
    assert_eq!(l.device("W").carried(), Wh(900_000));
    assert_eq!(l.device("W").deficit, Wh::ZERO);
    l.conserved();

    // Into a deficit: the certificates are sold and retired; nothing is left to claw back.
    let held: Vec<Bundle> = l.bundles_of(&g).into_iter().filter(|b| b.state == BundleState::Active).collect();
    for b in &held {
        l.ok(&g, transfer(b, c.account()));
    }
    l.consume(c.account(), hour(0), 10 * MWH);
    let mine = l.bundles_of(&c);
    let mut claimed = Vec::new();
    for b in &mine {
        l.ok(&c, retire(b, hour(0)));
        claimed.push(ClaimId(l.state.meta.as_ref().unwrap().next_claim - 1));
    }
    let d = l.ok(&m, l.correct("W", Channel::Export, hour(0), 1_000_000));
    let Change::Corrected { clawed_back, deficit, claims, .. } = d.changes.last().unwrap().clone() else { panic!() };
    assert_eq!(clawed_back, Wh(900_000), "only the carry was left");
    assert_eq!(deficit, Wh(2_000_000));
    assert_eq!(claims, claimed, "the claims on the clawed-back energy are named");
    assert_eq!(l.device("W").deficit, Wh(2_000_000));
    let r = l.reading("W", Channel::Export, hour(0));
    assert_eq!(r.corrections.last().unwrap().claims, claimed);
    l.conserved();

    // The deficit is settled from the device's next issuance before anything is issued.
    l.read("W", Channel::Export, hour(1), 2_500_000);
    l.issue("W", hour(1));
    let r1 = l.reading("W", Channel::Export, hour(1));
    assert_eq!(r1.paid, Wh(2_000_000));
    assert_eq!(l.device("W").deficit, Wh::ZERO);
    assert_eq!(l.units(&g, BundleState::Active), 0, "0.5 MWh left: carried, no certificate");
    assert_eq!(l.device("W").carried(), Wh(500_000));
    l.conserved();
    l.replays();
}

#[test]
fn corrections_after_the_window_need_a_regulator() {
    let mut l = Ledger::new(Policy::preset("gec", NAME).unwrap());
    l.wind("W");
    let (m, reg, gen) = (l.cast.meter.clone(), l.cast.regulator.clone(), l.cast.generator.clone());
    l.read("W", Channel::Export, hour(0), 2 * MWH);
    // January 2026 output (Beijing): alone until the end of April 2026, Beijing time.
    let deadline = unix(2026, 4, 30, 16, 0, 0);
    l.now = deadline - 1;
    l.ok(&m, l.correct("W", Channel::Export, hour(0), 2_100_000));
    l.now = deadline;
    let late = l.correct("W", Channel::Export, hour(0), 2_200_000);
    l.refused(&m, late.clone(), &["rule 12", "co-signature", &Timestamp(deadline).to_string()]);
    let Command::CorrectReading(c) = late else { unreachable!() };
    // A co-signature by someone who is not a regulator, or over another correction, is refused.
    let by_generator = c.clone().approved(&gen, NAME);
    l.refused(&m, Command::CorrectReading(by_generator), &["rule 12", "not a registered regulator"]);
    let mut other = c.clone().approved(&reg, NAME);
    other.energy = Wh(9_000_000);
    l.refused(&m, Command::CorrectReading(other), &["rule 12", "does not verify"]);
    let approved = c.approved(&reg, NAME);
    l.ok(&m, Command::CorrectReading(approved));
    let r = l.reading("W", Channel::Export, hour(0));
    assert_eq!(r.corrections.last().unwrap().approved_by, Some(reg.account()));
    assert_eq!(r.energy, Wh(2_200_000));
    l.replays();
}

#[test]
fn an_exclusion_takes_its_energy_out_of_the_carry() {
    let mut l = Ledger::new(Policy::new(NAME));
    l.wind("W");
    let (g, reg) = (l.cast.generator.clone(), l.cast.regulator.clone());
    // 1.9 MWh: one certificate and 0.9 MWh carried.
    l.read("W", Channel::Export, hour(0), 1_900_000);
    l.issue("W", hour(0));
    assert_eq!(l.device("W").carried(), Wh(900_000));
    // CCER claims that hour: the certificate is frozen and the 0.9 MWh leaves the carry.
    let exclude = |iv| {
        Command::DeclareExclusion(cmd::DeclareExclusion { device: device("W"), interval: iv, scheme: "CCER".into() })
    };
    l.ok(&reg, exclude(hour(0)));
    assert_eq!(l.units(&g, BundleState::Frozen), 1);
    assert_eq!(l.device("W").carried(), Wh::ZERO);
    assert_eq!(l.reading("W", Channel::Export, hour(0)).excluded, Wh(900_000));
    // The next hour's 0.1 MWh issues nothing: no active certificate holds excluded energy.
    l.read("W", Channel::Export, hour(1), 100_000);
    l.issue("W", hour(1));
    assert_eq!(l.units(&g, BundleState::Active), 0);
    assert_eq!(l.device("W").carried(), Wh(100_000));

    // When the carry already went into a later certificate, that certificate is frozen.
    l.read("W", Channel::Export, hour(2), 1_500_000);
    l.issue("W", hour(2)); // 0.1 + 1.5 = 1 certificate, 0.6 carried
    l.read("W", Channel::Export, hour(3), 2_600_000);
    l.issue("W", hour(3)); // 0.6 + 2.6 = 3 certificates; the first holds hour 2's 0.6
    let first_of_hour3 = l.reading("W", Channel::Export, hour(3)).issuance.unwrap().serials.start;
    l.ok(&reg, exclude(hour(2)));
    let frozen: Vec<u64> = l
        .bundles_of(&g)
        .iter()
        .filter(|b| b.state == BundleState::Frozen)
        .flat_map(|b| b.serials.start.0..b.serials.end.0)
        .collect();
    assert!(frozen.contains(&first_of_hour3.0), "the hour-3 certificate holding hour 2's carry is frozen: {frozen:?}");
    assert_eq!(l.units(&g, BundleState::Active), 2);
    l.conserved();
    l.replays();
}

#[test]
fn an_exclusion_takes_direct_supply_energy_out_of_the_carry() {
    let mut l = Ledger::new(Policy::new(NAME));
    l.wind("W");
    let (m, c, reg) = (l.cast.meter.clone(), l.cast.consumer.clone(), l.cast.regulator.clone());
    let direct = |iv, wh| {
        Command::PostDirectSupply(cmd::PostDirectSupply {
            device: device("W"),
            consumer: c.account(),
            interval: iv,
            energy: Wh(wh),
        })
    };
    l.read("W", Channel::Export, hour(0), 1_900_000);
    l.ok(&m, direct(hour(0), 1_900_000));
    l.issue("W", hour(0));
    assert_eq!(l.units(&c, BundleState::Active), 1);
    l.ok(
        &reg,
        Command::DeclareExclusion(cmd::DeclareExclusion {
            device: device("W"),
            interval: hour(0),
            scheme: "CCER".into(),
        }),
    );
    assert_eq!(l.device("W").carried(), Wh::ZERO);
    l.read("W", Channel::Export, hour(1), 100_000);
    l.ok(&m, direct(hour(1), 100_000));
    l.issue("W", hour(1));
    assert_eq!(l.units(&c, BundleState::Active), 0, "no certificate of excluded direct-supply energy");
    l.conserved();
}

#[test]
fn frozen_certificates_are_unfrozen_or_cancelled_by_the_regulator() {
    let mut l = Ledger::new(Policy::new(NAME));
    l.wind("W");
    let (g, reg) = (l.cast.generator.clone(), l.cast.regulator.clone());
    for h in 0..2 {
        l.read("W", Channel::Export, hour(h), 2 * MWH);
        l.issue("W", hour(h));
    }
    let exclude = Command::DeclareExclusion(cmd::DeclareExclusion {
        device: device("W"),
        interval: Interval { start: hour(0).start, end: hour(1).end },
        scheme: "CCER".into(),
    });
    l.ok(&reg, exclude);
    let frozen = l.bundles_of(&g);
    let resolve = |b: &Bundle, cancel| {
        Command::ResolveFrozen(cmd::ResolveFrozen { bundle: b.id, cancel, reason: "CCER registry answered".into() })
    };
    l.ok(&reg, resolve(&frozen[0], false));
    l.ok(&reg, resolve(&frozen[1], true));
    assert_eq!(l.state.bundles[&frozen[0].id].state, BundleState::Active);
    assert_eq!(l.state.bundles[&frozen[1].id].state, BundleState::Cancelled);
    // Only frozen certificates can be resolved; cancelled ones can never be used.
    l.refused(&reg, resolve(&frozen[0], true), &["rule 3", "active", "only frozen"]);
    let c = l.cast.consumer.account();
    l.refused(&g, transfer(&frozen[1], c), &["rule 3", "cancelled"]);
    l.ok(&g, transfer(&l.state.bundles[&frozen[0].id].clone(), c));
    l.replays();
}

#[test]
fn the_class_table() {
    let mut gec = Policy::preset("gec", NAME).unwrap();
    gec.owner_issuance = true;
    let mut l = Ledger::new(gec);
    let (g, c) = (l.cast.generator.clone(), l.cast.consumer.clone());
    let plain = DeviceAttributes::default();
    l.register(
        "OLD-HYDRO",
        Technology::Hydro,
        unix(2015, 6, 1, 0, 0, 0),
        DeviceAttributes { conventional_hydro: true, ..plain.clone() },
    );
    l.register(
        "NEW-HYDRO",
        Technology::Hydro,
        unix(2023, 6, 1, 0, 0, 0),
        DeviceAttributes { conventional_hydro: true, ..plain.clone() },
    );
    l.register(
        "OFFGRID",
        Technology::Solar,
        unix(2022, 1, 1, 0, 0, 0),
        DeviceAttributes { off_grid: true, ..plain.clone() },
    );
    l.register("H2", Technology::Wind, unix(2024, 1, 1, 0, 0, 0), DeviceAttributes { hydrogen: true, ..plain.clone() });
    l.register(
        "ROOF",
        Technology::Solar,
        unix(2024, 1, 1, 0, 0, 0),
        DeviceAttributes { user: Some(c.account()), ..plain.clone() },
    );
    l.register(
        "BESS",
        Technology::Other,
        unix(2024, 1, 1, 0, 0, 0),
        DeviceAttributes { storage: true, ..plain.clone() },
    );
    l.register("PV", Technology::Solar, unix(2024, 1, 1, 0, 0, 0), plain);
    let class_of = |l: &Ledger, id: &str, ch: Channel| l.reading(id, ch, hour(0)).class;
    for id in ["OLD-HYDRO", "NEW-HYDRO", "OFFGRID", "H2", "BESS"] {
        l.read(id, Channel::Export, hour(0), 2 * MWH);
        l.issue(id, hour(0));
    }
    assert_eq!(class_of(&l, "OLD-HYDRO", Channel::Export), Some(Class::NonTradable));
    assert_eq!(class_of(&l, "NEW-HYDRO", Channel::Export), Some(Class::Tradable));
    assert_eq!(class_of(&l, "OFFGRID", Channel::Export), Some(Class::NonTradable));
    assert_eq!(class_of(&l, "H2", Channel::Export), Some(Class::NonTradable));
    // Independent storage gets no certificates at all: its energy is recorded as uncertified.
    assert_eq!(class_of(&l, "BESS", Channel::Export), Some(Class::None));
    let bess = l.reading("BESS", Channel::Export, hour(0));
    assert_eq!((bess.bundles.len(), bess.uncertified), (0, Wh(2 * MWH)));
    // Non-tradable certificates cannot be transferred (rule 7); tradable ones can.
    let of = |l: &Ledger, id: &str| l.bundles_of(&g).into_iter().find(|b| b.device == device(id)).unwrap();
    let old = of(&l, "OLD-HYDRO");
    assert_eq!((old.class, old.transferable), (Class::NonTradable, false));
    l.refused(&g, transfer(&old, c.account()), &["rule 7", &old.id.to_string()]);
    l.ok(&g, transfer(&of(&l, "NEW-HYDRO"), c.account()));

    // Self-consumed output (自发自用): non-tradable certificates to the registered user.
    l.read("ROOF", Channel::SelfUse, hour(0), 3 * MWH);
    l.read("ROOF", Channel::Export, hour(0), MWH);
    l.issue("ROOF", hour(0)); // both channels of the hour
    let roof: Vec<Bundle> = l.bundles_of(&c).into_iter().filter(|b| b.device == device("ROOF")).collect();
    assert_eq!(roof.len(), 1);
    assert_eq!(
        (roof[0].serials.len(), roof[0].origin, roof[0].class, roof[0].transferable),
        (3, Origin::SelfUse, Class::NonTradable, false)
    );
    assert_eq!(of(&l, "ROOF").class, Class::Tradable, "the exported part stays tradable with the owner");

    // Storage at a plant is netted: export 5 MWh, storage charged 1.5 MWh from the grid.
    l.read("PV", Channel::Export, hour(0), 5 * MWH);
    l.read("PV", Channel::StorageCharge, hour(0), 1_500_000);
    l.issue("PV", hour(0));
    let pv = l.reading("PV", Channel::Export, hour(0));
    assert_eq!(pv.netted, Wh(1_500_000));
    assert_eq!(l.bundles_of(&g).iter().filter(|b| b.device == device("PV")).map(|b| b.serials.len()).sum::<u64>(), 3);
    l.conserved();
    l.replays();
}

#[test]
fn storage_charge_after_issuance_is_a_deficit() {
    let mut l = Ledger::new(Policy::new(NAME));
    l.wind("W");
    let g = l.cast.generator.clone();
    l.read("W", Channel::Export, hour(0), 3 * MWH);
    l.issue("W", hour(0));
    l.read("W", Channel::StorageCharge, hour(0), 1_200_000);
    assert_eq!(l.device("W").deficit, Wh(1_200_000));
    l.read("W", Channel::Export, hour(1), 2 * MWH);
    l.issue("W", hour(1));
    assert_eq!(l.reading("W", Channel::Export, hour(1)).paid, Wh(1_200_000));
    assert_eq!(l.units(&g, BundleState::Active), 3, "3 + (2 - 1.2 = 0.8 carried)");
    l.conserved();
    // A storage-charge reading never gets certificates of its own.
    l.read("W", Channel::StorageCharge, hour(5), MWH);
    let iss = Command::Issue(cmd::Issue { device: device("W"), interval: hour(5) });
    l.refused(&g, iss, &["no export reading", &hour(5).to_string()]);
}

#[test]
fn gec_expiry_counts_beijing_months_to_the_second() {
    let mut l = Ledger::new(Policy::preset("gec", NAME).unwrap());
    l.wind("W");
    let (op, g, c) = (l.cast.operator.clone(), l.cast.generator.clone(), l.cast.consumer.clone());
    // November 2026 in Beijing starts at 2026-10-31T16:00Z; its first hour:
    let nov = Interval::new(unix(2026, 10, 31, 16, 0, 0), unix(2026, 10, 31, 17, 0, 0));
    l.now = unix(2026, 12, 2, 0, 0, 0);
    l.read("W", Channel::Export, nov, 3 * MWH);
    // GEC: the issuing body issues monthly; owners cannot ask.
    l.refused(&g, Command::Issue(cmd::Issue { device: device("W"), interval: nov }), &["rule 13", "issuing body"]);
    l.ok(&op, Command::IssueMonth(cmd::IssueMonth { device: device("W"), year: 2026, month: 11 }));
    let b = l.bundles_of(&g)[0].clone();
    // Valid through October 2028 in Beijing time: lapses at 2028-11-01 00:00 +08:00.
    assert_eq!(b.expires, Timestamp(unix(2028, 10, 31, 16, 0, 0)));
    let one = |b: &Bundle, n: u64| cmd::Transfer {
        bundle: b.id,
        serials: SerialRange::new(b.serials.start.0 + n, b.serials.start.0 + n + 1),
        to: c.account(),
    };
    l.now = unix(2028, 10, 31, 15, 59, 59);
    l.ok(&g, Command::Transfer(one(&b, 0)));
    l.now = unix(2028, 10, 31, 16, 0, 0);
    let rest = l.state.bundles[&b.id].clone();
    l.refused(&g, Command::Transfer(one(&rest, 1)), &["rule 6", "expired", "2028-10-31T16:00:00Z"]);
    l.replays();
}

#[test]
fn eecs_expiry_is_twelve_months_after_production() {
    let mut l = Ledger::new(Policy::preset("eecs-go", NAME).unwrap());
    l.wind("W");
    let g = l.cast.generator.clone();
    l.read("W", Channel::Export, hour(0), MWH);
    l.issue("W", hour(0));
    assert_eq!(
        l.bundles_of(&g)[0].expires,
        Timestamp(hour(0).end.0 + (unix(2027, 1, 1, 0, 0, 0) - unix(2026, 1, 1, 0, 0, 0)))
    );
}

#[test]
fn an_amendment_applies_from_its_date_and_replays() {
    let mut l = Ledger::new(Policy::new(NAME));
    l.wind("W");
    let (g, c, c2, reg) =
        (l.cast.generator.clone(), l.cast.consumer.clone(), l.cast.consumer2.clone(), l.cast.regulator.clone());
    let date = unix(2026, 3, 1, 0, 0, 0);
    let mut once = Policy::new(NAME);
    once.max_transfers = Some(1);
    once.classes = ClassTable::gec();
    let amend = |effective, policy: Policy| {
        Command::AmendPolicy(cmd::AmendPolicy {
            effective: Timestamp(effective),
            policy,
            reason: "2026 tradable scope".into(),
        })
    };
    // Never retroactive, never a new name or unit; only a regulator signs.
    l.refused(&reg, amend(l.now - 1, once.clone()), &["amendment", "never reach back"]);
    let renamed = Policy { name: "other.example".into(), ..once.clone() };
    l.refused(&reg, amend(date, renamed), &["amendment", "name"]);
    l.refused(&g, amend(date, once.clone()), &["rule 10", "regulator"]);
    l.ok(&reg, amend(date, once));
    // Before the date: unlimited transfers still.
    for h in 0..2 {
        l.read("W", Channel::Export, hour(h), MWH);
        l.issue("W", hour(h));
    }
    let bs = l.bundles_of(&g);
    l.ok(&g, transfer(&bs[0], c.account()));
    l.ok(&c, transfer(&l.state.bundles[&bs[0].id].clone(), c2.account()));
    // From the date: a certificate changes hands once at most.
    l.now = date;
    l.ok(&g, transfer(&bs[1], c.account()));
    let b1 = l.state.bundles[&bs[1].id].clone();
    l.refused(&c, transfer(&b1, c2.account()), &["rule 7", "allows 1"]);
    // The new class table governs issuance from the date: self-use is non-tradable now.
    l.read("W", Channel::SelfUse, hour(2), 2 * MWH);
    l.issue("W", hour(2));
    assert_eq!(l.reading("W", Channel::SelfUse, hour(2)).class, Some(Class::NonTradable));
    l.replays();
}

#[test]
fn the_device_lifecycle() {
    let mut l = Ledger::new(Policy { classes: ClassTable::gec(), ..Policy::new(NAME) });
    l.wind("W");
    let (op, g, c, m) =
        (l.cast.operator.clone(), l.cast.generator.clone(), l.cast.consumer.clone(), l.cast.meter.clone());
    let change = |change| Command::ChangeDevice(cmd::ChangeDevice { device: device("W"), change });
    l.read("W", Channel::Export, hour(0), 2 * MWH);
    l.issue("W", hour(0));
    // Attributes: hydrogen from now on makes new issuance non-tradable; issued stay tradable.
    l.ok(&op, change(DeviceChange::Attributes(DeviceAttributes { hydrogen: true, ..Default::default() })));
    l.read("W", Channel::Export, hour(1), 2 * MWH);
    l.issue("W", hour(1));
    let classes: Vec<Class> = l.bundles_of(&g).iter().map(|b| b.class).collect();
    assert_eq!(classes, vec![Class::Tradable, Class::NonTradable]);
    // A new owner: a consumer cannot own a device; a generator can. Issued certificates stay.
    l.refused(&op, change(DeviceChange::Owner(c.account())), &["generator", "own a device"]);
    let new_owner = key(9);
    let reg = cmd::RegisterAccount {
        account: new_owner.account(),
        name: "Buyer of the project".into(),
        roles: Roles::of(&[Role::Generator]),
    };
    l.ok(&op, Command::RegisterAccount(reg));
    l.ok(&op, change(DeviceChange::Owner(new_owner.account())));
    assert_eq!(l.bundles_of(&g).len(), 2);
    l.read("W", Channel::Export, hour(2), 2 * MWH);
    l.refused(&g, Command::Issue(cmd::Issue { device: device("W"), interval: hour(2) }), &["rule 4", "W"]);
    l.ok(&new_owner, Command::Issue(cmd::Issue { device: device("W"), interval: hour(2) }));
    assert_eq!(l.bundles_of(&new_owner).len(), 1);
    // Decommissioning: not before a reading that exists; no readings after it.
    l.refused(&op, change(DeviceChange::Decommission(hour(1).end)), &["rule 11", &hour(2).end.to_string()]);
    l.ok(&op, change(DeviceChange::Decommission(hour(3).end)));
    l.read("W", Channel::Export, hour(3), MWH);
    let late = Command::PostMeterReading(cmd::PostMeterReading {
        device: device("W"),
        channel: Channel::Export,
        interval: hour(4),
        energy: Wh(1),
    });
    l.refused(&m, late, &["rule 11", "decommissioned"]);
    l.refused(&op, change(DeviceChange::Owner(g.account())), &["rule 11", "decommissioned"]);
    assert_eq!(l.device("W").changes.len(), 3);
    l.replays();
}

#[test]
fn a_monthly_settlement_with_price() {
    let mut l = Ledger::new(Policy::new(NAME));
    l.wind("W");
    let (p, g, c, op) =
        (l.cast.platform.clone(), l.cast.generator.clone(), l.cast.consumer.clone(), l.cast.operator.clone());
    for h in 0..4 {
        l.read("W", Channel::Export, hour(h), 1_500_000);
    }
    let january = Interval::new(unix(2026, 1, 1, 0, 0, 0), unix(2026, 2, 1, 0, 0, 0));
    let settle = |wh, charge| {
        Command::SettleMonth(cmd::SettleMonth {
            device: device("W"),
            period: january,
            buyer: c.account(),
            energy: Wh(wh),
            price_fen_per_mwh: 38_500,
            network_charge_fen_per_mwh: charge,
        })
    };
    // More than the month's metered output is refused, naming what there is.
    l.refused(&p, settle(6_000_001, None), &["rule 8", "6000001 Wh", "6000000 Wh"]);
    let d = l.ok(&p, settle(4_200_000, None));
    assert!(matches!(d.changes.last(), Some(Change::Settled { price: Price { fen_per_mwh: 38_500, .. }, .. })));
    // Taken from the readings in time order, with the price on each allocation.
    let taken: Vec<u64> =
        (0..4).map(|h| l.reading("W", Channel::Export, hour(h)).trades.iter().map(|a| a.energy.0).sum()).collect();
    assert_eq!(taken, vec![1_500_000, 1_500_000, 1_200_000, 0]);
    assert!(l.reading("W", Channel::Export, hour(0)).trades[0].price.is_some());
    // The issuing body issues the month: the buyer's certificates go with the power.
    l.ok(&op, Command::IssueMonth(cmd::IssueMonth { device: device("W"), year: 2026, month: 1 }));
    let bought: u64 = l.bundles_of(&c).iter().map(|b| b.serials.len()).sum();
    assert_eq!(bought, 4, "4.2 MWh: 4 certificates, 0.2 carried for the buyer");
    assert!(l.bundles_of(&c).iter().all(|b| b.origin == Origin::Trade && !b.transferable));
    let gen: u64 = l.bundles_of(&g).iter().map(|b| b.serials.len()).sum();
    assert_eq!(gen, 1, "1.8 MWh left to the generator: 1 certificate, 0.8 carried");
    // The month is issued now: a second run finds nothing.
    l.refused(
        &op,
        Command::IssueMonth(cmd::IssueMonth { device: device("W"), year: 2026, month: 1 }),
        &["rule 13", "no unissued reading"],
    );
    l.conserved();
    l.replays();
}

#[test]
fn a_distributed_trade_between_two_park_members() {
    let mut l = Ledger::new(Policy::new(NAME));
    l.register("ROOF-PV", Technology::Solar, unix(2024, 1, 1, 0, 0, 0), DeviceAttributes::default());
    let (p, c, g) = (l.cast.platform.clone(), l.cast.consumer.clone(), l.cast.generator.clone());
    l.read("ROOF-PV", Channel::Export, hour(0), 3 * MWH);
    let period = Interval { start: hour(0).start, end: hour(1).end };
    let dg = Command::SettleMonth(cmd::SettleMonth {
        device: device("ROOF-PV"),
        period,
        buyer: c.account(),
        energy: Wh(2 * MWH),
        price_fen_per_mwh: 42_000,
        network_charge_fen_per_mwh: Some(9_500),
    });
    // The delivery must be metered on the buyer's side too.
    l.refused(&p, dg.clone(), &["rule 8", "metered on both sides", "0 Wh"]);
    l.consume(c.account(), hour(0), 2_500_000);
    l.ok(&p, dg);
    let a = &l.reading("ROOF-PV", Channel::Export, hour(0)).trades[0];
    assert_eq!((a.origin, a.price.unwrap().network_charge_fen_per_mwh), (Origin::Distributed, Some(9_500)));
    l.issue("ROOF-PV", hour(0));
    let bought = l.bundles_of(&c);
    assert_eq!((bought.len(), bought[0].serials.len(), bought[0].origin), (1, 2, Origin::Distributed));
    assert_eq!(l.bundles_of(&g)[0].serials.len(), 1);
    l.conserved();
    l.replays();
}

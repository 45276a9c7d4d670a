//! Claims as real reporting needs them, decided by the core alone: one reporting period per
//! claim (the calendar year in the policy's zone), the cap per capped account and period drawn
//! reading by reading, no gaps, the vintage rule, beneficiaries (the claimant, another account,
//! a product batch), purposes from the documented set, one consumption hour under an hourly
//! policy, the first retirement format only on first-format ledgers; and parks on the ledger.

mod common;

use common::*;
use greenledger_core::calendar::unix;
use greenledger_core::command::{self as cmd, Beneficiary, ParkChange, Purpose, Site};
use greenledger_core::crypto::Keypair;
use greenledger_core::policy::{Policy, Vintage};
use greenledger_core::state::*;
use greenledger_core::*;

/// GEC rules with owners asking for issuance, so that tests need no monthly run.
fn gec() -> Policy {
    Policy { owner_issuance: true, ..Policy::preset("gec", NAME).unwrap() }
}

/// An hour starting at a UTC civil time.
fn at(y: i64, m: u32, d: u32, h: u64) -> Interval {
    let s = unix(y, m, d, h, 0, 0);
    Interval::new(s, s + HOUR)
}

fn claim(b: &Bundle, n: u64, beneficiary: Beneficiary, consumption: Interval) -> Command {
    let serials = SerialRange::new(b.serials.start.0, b.serials.start.0 + n);
    Command::Retire(cmd::Retire { bundle: b.id, serials, beneficiary, purpose: Purpose::Re100Cdp, consumption })
}

/// A ledger with 20 certificates of `production` held by the consumer (device "W").
fn with_certificates(policy: Policy, production: Interval, now: u64) -> (Ledger, Bundle) {
    let mut l = Ledger::new(policy);
    l.now = now;
    l.wind("W");
    l.read("W", Channel::Export, production, 10 * MWH);
    l.issue("W", production);
    let g = l.cast.generator.clone();
    let b = l.bundles_of(&g)[0].clone();
    l.ok(&g, transfer(&b, l.cast.consumer.account()));
    let b = l.bundles_of(&l.cast.consumer.clone())[0].clone();
    (l, b)
}

#[test]
fn a_claim_lies_inside_one_reporting_year_of_the_policy_zone() {
    // The last Beijing hour of 2026 is 15:00-16:00 UTC on 31 December; the first of 2027 follows.
    let last_2026 = at(2026, 12, 31, 15);
    let first_2027 = at(2026, 12, 31, 16);
    let (mut l, b) = with_certificates(gec(), at(2026, 12, 31, 10), unix(2027, 1, 2, 0, 0, 0));
    let c = l.cast.consumer.clone();
    // A reading across the boundary is refused: it would belong to two years.
    let m = l.cast.meter.clone();
    let straddle = Interval::new(last_2026.start.0 + 1800, first_2027.start.0 + 1800);
    let post =
        Command::PostConsumption(cmd::PostConsumption { account: c.account(), interval: straddle, energy: Wh(MWH) });
    l.refused(&m, post, &["rule 8", "spans two reporting periods", &first_2027.start.to_string()]);
    l.consume(c.account(), last_2026, 5 * MWH);
    l.consume(c.account(), first_2027, 5 * MWH);
    let both = Interval { start: last_2026.start, end: first_2027.end };
    l.refused(&c, claim(&b, 2, Beneficiary::Claimant, both), &["rule 8", "one reporting period", "2026"]);
    // 2026 output backs 2026 consumption; it is the wrong vintage for 2027 consumption.
    l.ok(&c, claim(&b, 2, Beneficiary::Claimant, last_2026));
    let rest = l.bundles_of(&c).into_iter().find(|x| x.state == BundleState::Active).unwrap();
    l.refused(&c, claim(&rest, 1, Beneficiary::Claimant, first_2027), &["rule 8", "vintage", "SameReportingPeriod"]);
    l.replays();
}

#[test]
fn the_cap_is_per_period_and_per_interval_drawn_reading_by_reading() {
    let (mut l, b) = with_certificates(gec(), at(2026, 6, 1, 2), unix(2027, 2, 1, 0, 0, 0));
    let c = l.cast.consumer.clone();
    // 2 MWh in one June hour, 100 MWh in a December hour, and plenty in January 2027.
    l.consume(c.account(), at(2026, 6, 1, 2), 2 * MWH);
    l.consume(c.account(), at(2026, 12, 1, 2), 100 * MWH);
    l.consume(c.account(), at(2027, 1, 5, 2), 500 * MWH);
    // 3 MWh cannot be claimed against the June hour: its reading holds 2 MWh, whatever the year.
    l.refused(&c, claim(&b, 3, Beneficiary::Claimant, at(2026, 6, 1, 2)), &["rule 8", "3000000 Wh", "2000000 Wh"]);
    l.ok(&c, claim(&b, 2, Beneficiary::Claimant, at(2026, 6, 1, 2)));
    // The June hour is used up now.
    let rest = l.bundles_of(&c).into_iter().find(|x| x.state == BundleState::Active).unwrap();
    l.refused(&c, claim(&rest, 1, Beneficiary::Claimant, at(2026, 6, 1, 2)), &["rule 8"]);
    // A claim over a span of readings draws on them in time order.
    let june_to_dec = Interval { start: at(2026, 6, 1, 2).start, end: at(2026, 12, 1, 2).end };
    l.refused(
        &c,
        claim(&rest, 1, Beneficiary::Claimant, june_to_dec),
        &["rule 8", "not metered whole", "nothing is metered"],
    );
    l.ok(&c, claim(&rest, 8, Beneficiary::Claimant, at(2026, 12, 1, 2)));
    let dec = l.state.consumption[&(c.account(), at(2026, 12, 1, 2).start)].clone();
    assert_eq!(dec.claimed, Wh(8 * MWH));
    assert_eq!(l.state.accounts[&c.account()].claimed, Wh(10 * MWH));
    l.replays();
}

#[test]
fn no_claim_for_a_gap_or_a_part_of_a_reading() {
    let (mut l, b) = with_certificates(Policy::new(NAME), hour(0), unix(2026, 2, 1, 0, 0, 0));
    let c = l.cast.consumer.clone();
    l.consume(c.account(), hour(0), 5 * MWH);
    l.consume(c.account(), hour(2), 5 * MWH);
    let three = Interval { start: hour(0).start, end: hour(2).end };
    l.refused(&c, claim(&b, 1, Beneficiary::Claimant, three), &["rule 8", &hour(1).to_string()]);
    l.refused(&c, claim(&b, 1, Beneficiary::Claimant, hour(1)), &["rule 8", "nothing is metered"]);
    // A two-hour reading cannot be claimed an hour at a time: its energy is not split.
    l.consume(c.account(), Interval { start: hour(5).start, end: hour(6).end }, 4 * MWH);
    l.refused(&c, claim(&b, 1, Beneficiary::Claimant, hour(5)), &["rule 8", "reaches outside"]);
    // Filling the gap later (backfill) makes the span claimable.
    l.consume(c.account(), hour(1), 5 * MWH);
    l.ok(&c, claim(&b, 7, Beneficiary::Claimant, three));
    let claimed: Vec<u64> = (0..3).map(|h| l.state.consumption[&(c.account(), hour(h).start)].claimed.0).collect();
    assert_eq!(claimed, vec![5 * MWH, 2 * MWH, 0]);
    l.replays();
}

#[test]
fn a_beneficiary_account_is_capped_by_its_own_consumption() {
    let (mut l, b) = with_certificates(Policy::new(NAME), hour(0), unix(2026, 2, 1, 0, 0, 0));
    let (c, c2, g) = (l.cast.consumer.clone(), l.cast.consumer2.clone(), l.cast.generator.clone());
    l.consume(c.account(), hour(0), 10 * MWH);
    l.consume(c2.account(), hour(0), MWH);
    let for_c2 = Beneficiary::Account { account: c2.account() };
    // The claimant's 10 MWh do not count: the beneficiary's 1 MWh does.
    l.refused(&c, claim(&b, 2, for_c2.clone(), hour(0)), &["rule 8", &c2.account().short(), "1000000 Wh"]);
    l.ok(&c, claim(&b, 1, for_c2.clone(), hour(0)));
    let made = l.state.claims.values().last().unwrap().clone();
    assert_eq!((made.claimant, made.capped), (c.account(), c2.account()));
    assert_eq!(made.spec, Some(for_c2.clone()));
    assert_eq!(l.state.consumption[&(c2.account(), hour(0).start)].claimed, Wh(MWH));
    assert_eq!(l.state.consumption[&(c.account(), hour(0).start)].claimed, Wh::ZERO);
    // A beneficiary account must be a consumer.
    let rest = l.bundles_of(&c).into_iter().find(|x| x.state == BundleState::Active).unwrap();
    let for_g = Beneficiary::Account { account: g.account() };
    l.refused(&c, claim(&rest, 1, for_g, hour(0)), &["consumer", "beneficiary"]);
    // A product batch is capped by the claimant's consumption.
    let batch =
        Beneficiary::Product { product: "Battery packs CB-2026-01".into(), quantity: 2_000, unit: "packs".into() };
    l.ok(&c, claim(&rest, 9, batch.clone(), hour(0)));
    assert_eq!(l.state.claims.values().last().unwrap().capped, c.account());
    assert_eq!(l.state.claims.values().last().unwrap().beneficiary, batch.to_string());
    let last = l.bundles_of(&c).into_iter().find(|x| x.state == BundleState::Active);
    assert!(last.is_none(), "all 10 claimed");
    l.replays();
}

#[test]
fn purposes_come_from_the_documented_set() {
    let (mut l, b) = with_certificates(Policy::new(NAME), hour(0), unix(2026, 2, 1, 0, 0, 0));
    let c = l.cast.consumer.clone();
    l.consume(c.account(), hour(0), 10 * MWH);
    let with = |purpose, beneficiary| {
        Command::Retire(cmd::Retire {
            bundle: b.id,
            serials: SerialRange::new(b.serials.start.0, b.serials.start.0 + 1),
            beneficiary,
            purpose,
            consumption: hour(0),
        })
    };
    l.refused(&c, with(Purpose::Other("  ".into()), Beneficiary::Claimant), &["purpose", "must not be empty"]);
    let zero = Beneficiary::Product { product: "Modules".into(), quantity: 0, unit: "pcs".into() };
    l.refused(&c, with(Purpose::Cbam, zero), &["quantity", "at least 1"]);
    l.ok(&c, with(Purpose::EnergyDeduction, Beneficiary::Claimant));
    let made = l.state.claims.values().last().unwrap().clone();
    assert_eq!(made.purpose_code, Some(Purpose::EnergyDeduction));
    assert!(made.purpose.contains("绿证抵扣能耗"), "{}", made.purpose);
    for name in Purpose::NAMES {
        let p = Purpose::parse(name, Some("text")).unwrap();
        assert_eq!(p.name(), name);
    }
    assert_eq!(Purpose::parse("re100", None), None);
}

#[test]
fn vintage_within_months() {
    let near = Policy { vintage: Vintage::WithinMonths(3), ..Policy::new(NAME) };
    let (mut l, b) = with_certificates(near, at(2025, 11, 15, 0), unix(2026, 5, 1, 0, 0, 0));
    let c = l.cast.consumer.clone();
    l.consume(c.account(), at(2026, 1, 10, 0), 10 * MWH);
    l.consume(c.account(), at(2026, 3, 10, 0), 10 * MWH);
    // Produced mid-November: within three months of 10 January, not of 10 March.
    l.refused(&c, claim(&b, 1, Beneficiary::Claimant, at(2026, 3, 10, 0)), &["rule 8", "vintage", "WithinMonths(3)"]);
    l.ok(&c, claim(&b, 1, Beneficiary::Claimant, at(2026, 1, 10, 0)));
}

#[test]
fn an_hourly_policy_claims_one_consumption_hour() {
    let policy = Policy::preset("energytag", NAME).unwrap();
    let mut l = Ledger::new(policy);
    l.wind("W");
    let (g, c) = (l.cast.generator.clone(), l.cast.consumer.clone());
    l.read("W", Channel::Export, hour(1), 5_000);
    l.issue("W", hour(1));
    let b = l.bundles_of(&g)[0].clone();
    l.ok(&g, transfer(&b, c.account()));
    let b = l.bundles_of(&c)[0].clone();
    for h in 0..3 {
        l.consume(c.account(), hour(h), 10_000);
    }
    let two = Interval { start: hour(1).start, end: hour(2).end };
    l.refused(&c, claim(&b, 100, Beneficiary::Claimant, two), &["rule 9"]);
    l.refused(&c, claim(&b, 100, Beneficiary::Claimant, hour(0)), &["rule 9"]);
    l.ok(&c, claim(&b, 100, Beneficiary::Claimant, hour(1)));
}

#[test]
fn the_first_retirement_format_only_on_first_format_ledgers() {
    let (mut l, b) = with_certificates(Policy::new(NAME), hour(0), unix(2026, 2, 1, 0, 0, 0));
    let c = l.cast.consumer.clone();
    l.consume(c.account(), hour(0), 10 * MWH);
    let v1 = Command::RetireV1(cmd::RetireV1 {
        bundle: b.id,
        serials: b.serials,
        beneficiary: "anyone".into(),
        purpose: "anything".into(),
        consumption: hour(0),
    });
    l.refused(&c, v1, &["retire-v1", "first formats", "send retire"]);
}

#[test]
fn parks_and_their_members_over_time() {
    let mut l = Ledger::new(gec());
    let (op, c, c2, g) =
        (l.cast.operator.clone(), l.cast.consumer.clone(), l.cast.consumer2.clone(), l.cast.generator.clone());
    let park = ParkId("CZ-ZERO-CARBON".into());
    let since = Timestamp(unix(2026, 1, 1, 0, 0, 0));
    let register = |members: Vec<Site>| {
        Command::RegisterPark(cmd::RegisterPark {
            park: park.clone(),
            name: "Changzhou zero-carbon park".into(),
            province: "jiangsu".into(),
            since,
            members,
        })
    };
    let site = |a: &Keypair, p: &str| Site { account: a.account(), province: p.into() };
    l.refused(&op, register(vec![site(&c, "jiangsu"), site(&c, "zhejiang")]), &["listed twice"]);
    l.refused(&op, register(vec![site(&g, "jiangsu")]), &["consumer", "park member"]);
    l.ok(&op, register(vec![site(&c, "jiangsu")]));
    l.refused(&op, register(vec![]), &["already registered"]);
    let change = |change| Command::ChangePark(cmd::ChangePark { park: park.clone(), change });
    let mar = Timestamp(unix(2026, 3, 1, 0, 0, 0));
    l.ok(&op, change(ParkChange::Join { account: c2.account(), province: "anhui".into(), from: mar }));
    l.refused(
        &op,
        change(ParkChange::Join { account: c2.account(), province: "anhui".into(), from: mar }),
        &["member from"],
    );
    l.refused(&op, change(ParkChange::Leave { account: c2.account(), at: mar }), &["cannot leave"]);
    let jun = Timestamp(unix(2026, 6, 1, 0, 0, 0));
    l.ok(&op, change(ParkChange::Leave { account: c2.account(), at: jun }));
    let p = l.state.parks[&park].clone();
    assert_eq!(p.members.len(), 2);
    let m2 = &p.members[1];
    assert_eq!((m2.province.as_str(), m2.from, m2.until), ("anhui", mar, Some(jun)));
    let q1 = Interval { start: since, end: Timestamp(unix(2026, 4, 1, 0, 0, 0)) };
    assert_eq!(m2.during(q1), Some(Interval { start: mar, end: q1.end }));
    assert_eq!(p.changes.len(), 2);
    let unknown = Command::ChangePark(cmd::ChangePark {
        park: ParkId("NOPE".into()),
        change: ParkChange::Leave { account: c.account(), at: jun },
    });
    l.refused(&op, unknown, &["park NOPE is not registered"]);
    l.replays();
}

//! Green-consumption accounting end to end on the in-memory ledger: hourly (24/7) statements,
//! park statements without double counting, and emissions in integer grams.

use greenledger::ledger::Refused;
use greenledger::statements::load::account_records;
use greenledger::testkit::*;
use greenledger_core::accounting::factors::{self, Factor, Factors, SourcedFactor};
use greenledger_core::accounting::hourly::{statement, Source, Statement};
use greenledger_core::accounting::park::{park_statement, ParkInput, ParkStatement};
use greenledger_core::accounting::AccountingError;
use greenledger_core::command as cmd;
use greenledger_core::policy::Zone;
use greenledger_core::state::Origin;
use greenledger_core::*;

/// The statement of `who` over hours `[from, to)` of the harness calendar.
fn statement_of(h: &World, who: AccountId, from: u64, to: u64) -> Statement {
    let (from, to) = (hour(from).start.0, hour(to).start.0);
    let records = account_records(&h.ledger, &who, Interval::new(from, to)).unwrap();
    statement(&records, from, to).unwrap()
}

/// Moves every active certificate the generator holds to `to`.
fn give_all(h: &mut World, to: AccountId) {
    let g = h.generator.clone();
    let b = h.only_bundle(&g);
    h.ok(&g, Command::Transfer(cmd::Transfer { bundle: b.id, serials: b.serials, to }));
}

/// Retires every active bundle `who` holds, for consumption in `consumption`.
fn retire_all(h: &mut World, who: &greenledger_core::crypto::Keypair, consumption: Interval) {
    let held: Vec<_> = h.holdings(who).into_iter().filter(|b| b.state == state::BundleState::Active).collect();
    for b in held {
        h.ok(
            who,
            Command::Retire(cmd::Retire {
                bundle: b.id,
                serials: b.serials,
                beneficiary: cmd::Beneficiary::Claimant,
                purpose: cmd::Purpose::Re100Cdp,
                consumption,
            }),
        );
    }
}

fn day() -> Interval {
    Interval::new(hour(0).start.0, hour(24).start.0)
}

#[test]
fn a_day_with_known_hours_gives_the_exact_matched_share() {
    let mut h = World::new();
    let c = h.consumer.clone();
    let me = c.account();
    // Consumption: 2 MWh every hour, 3 MWh in hours 10 to 13. Total 20 × 2 + 4 × 3 = 52 MWh.
    for n in 0..24 {
        let wh = if (10..14).contains(&n) { 3 * MWH } else { 2 * MWH };
        h.consumption(me, n, wh);
    }
    // Certificates bought on the market: 4 MWh produced in hour 9, 5 in hour 10, 1 in hour 11.
    for (n, mwh) in [(9, 4), (10, 5), (11, 1)] {
        h.generation(n, mwh * MWH);
        h.issue(n);
        give_all(&mut h, me);
    }
    // Hour 12: 2.5 MWh over the direct line: 2 certificates (0.5 MWh carried for the line).
    h.generation(12, 2_500_000);
    let m = h.meter.clone();
    h.ok(
        &m,
        Command::PostDirectSupply(cmd::PostDirectSupply {
            device: wind(),
            consumer: me,
            interval: hour(12),
            energy: Wh(2_500_000),
        }),
    );
    h.issue(12);
    // Hour 13: a 3 MWh green-power trade: 3 certificates travel with the power.
    h.generation(13, 3 * MWH);
    let p = h.platform.clone();
    h.ok(
        &p,
        Command::SettleTrade(cmd::SettleTrade { device: wind(), interval: hour(13), buyer: me, energy: Wh(3 * MWH) }),
    );
    h.issue(13);
    retire_all(&mut h, &c, day());
    // Hour 14: 2 MWh bought but not retired: held certificates count for no one.
    h.generation(14, 2 * MWH);
    h.issue(14);
    give_all(&mut h, me);

    let s = statement_of(&h, me, 0, 24);
    assert_eq!(s.hours.len(), 24);
    let t = &s.totals;
    assert_eq!(t.consumption_wh, 52 * MWH);
    // Green by hour: 9 → 4, 10 → 5, 11 → 1 (certificates), 12 → 2 (direct), 13 → 3 (trade).
    assert_eq!((t.certificates_wh, t.direct_wh, t.trade_wh, t.green_wh), (10 * MWH, 2 * MWH, 3 * MWH, 15 * MWH));
    let green: Vec<(u64, u64)> =
        s.hours.iter().enumerate().filter(|(_, x)| x.green_wh > 0).map(|(i, x)| (i as u64, x.green_wh)).collect();
    assert_eq!(green, vec![(9, 4 * MWH), (10, 5 * MWH), (11, MWH), (12, 2 * MWH), (13, 3 * MWH)]);
    assert_eq!((s.hours[12].direct_wh, s.hours[13].trade_wh), (2 * MWH, 3 * MWH));
    // Matched hour by hour, surplus not carried: min(4,2) + min(5,3) + min(1,3) + min(2,3) + min(3,3)
    // = 2 + 3 + 1 + 2 + 3 = 11 MWh.
    assert_eq!(t.matched_wh, 11 * MWH);
    assert_eq!(t.unmatched_green_wh, 4 * MWH);
    // 11 / 52 = 0.2115384… → 211,538 ppm; annual volume 15 / 52 = 0.2884615… → 288,461 ppm.
    assert_eq!((t.hourly_matched.numerator_wh, t.hourly_matched.denominator_wh), (11 * MWH, 52 * MWH));
    assert_eq!(t.hourly_matched.ppm, 211_538);
    assert_eq!(t.annual_volume.ppm, 288_461);
    assert_eq!((t.hourly_matched.percent(), t.annual_volume.percent()), ("21.15%".to_string(), "28.84%".to_string()));
    // Deliveries are shown, never counted: 2.5 MWh delivered, 2 MWh of it certified and claimed.
    assert_eq!((t.delivered_direct_wh, t.delivered_trade_wh), (2_500_000, 3 * MWH));
    // Each claim once; every hour names the claims behind it and they add up.
    let ids: Vec<u64> = s.claims.iter().map(|c| c.claim).collect();
    let mut unique = ids.clone();
    unique.dedup();
    assert_eq!((ids.len(), unique.len()), (5, 5));
    for x in &s.hours {
        assert_eq!(x.backing.iter().map(|b| b.wh).sum::<u64>(), x.green_wh);
    }
    assert_eq!(s.hours[12].backing[0].source, Source::DirectSupply);
    assert_eq!(s.claims.iter().map(|c| c.counted_wh).sum::<u64>(), t.green_wh);

    // The next day has consumption nowhere and green nowhere: nothing leaks across statements.
    let next = statement_of(&h, me, 24, 48);
    assert_eq!((next.totals.green_wh, next.claims.len()), (0, 0));
    // A statement of hours 10 and 11 alone takes exactly their part.
    let part = statement_of(&h, me, 10, 12);
    assert_eq!((part.totals.green_wh, part.totals.matched_wh, part.totals.consumption_wh), (6 * MWH, 4 * MWH, 6 * MWH));
}

/// The park of `members` (the first form: members over the whole period, one factor) over hours
/// `[from, to)`.
fn park_of(h: &World, name: &str, members: &[AccountId], factors: &Factors, from: u64, to: u64) -> ParkStatement {
    try_park(h, name, members, factors, from, to).unwrap()
}

fn try_park(
    h: &World,
    name: &str,
    members: &[AccountId],
    factors: &Factors,
    from: u64,
    to: u64,
) -> Result<ParkStatement, AccountingError> {
    let (from, to) = (hour(from).start.0, hour(to).start.0);
    let input = ParkInput::from_accounts(name, members, factors, Zone::shanghai());
    let records: Vec<_> =
        input.accounts().iter().map(|a| account_records(&h.ledger, a, Interval::new(from, to)).unwrap()).collect();
    park_statement(&input, &records, from, to).map(|(p, _)| p)
}

fn factors_2022_east() -> Factors {
    let f = factors::published(2022, Some("east")).unwrap();
    assert_eq!((f.residual.mg_per_kwh, f.location.mg_per_kwh), (585_600, 561_700));
    f
}

#[test]
fn energy_moved_between_park_members_counts_once() {
    let mut h = World::new();
    let (a, b) = (h.consumer.clone(), h.consumer2.clone());
    h.consumption(a.account(), 0, 2 * MWH);
    h.consumption(b.account(), 0, 5 * MWH);
    h.generation(0, 4 * MWH);
    h.issue(0);
    give_all(&mut h, a.account());
    // Member A passes 3 of its 4 certificates to member B, which retires them; A retires 1.
    let held = h.only_bundle(&a);
    let three = SerialRange::new(held.serials.start.0, held.serials.start.0 + 3);
    h.ok(&a, Command::Transfer(cmd::Transfer { bundle: held.id, serials: three, to: b.account() }));
    retire_all(&mut h, &b, hour(0));
    retire_all(&mut h, &a, hour(0));

    let members = [statement_of(&h, a.account(), 0, 1), statement_of(&h, b.account(), 0, 1)];
    assert_eq!((members[0].totals.green_wh, members[1].totals.green_wh), (MWH, 3 * MWH));
    let p = park_of(&h, "Zero-carbon park", &[a.account(), b.account()], &factors_2022_east(), 0, 1);
    // 4 MWh were generated and claimed: the park counts 4, not 3 + 4 + 1.
    assert_eq!((p.total.consumption_wh, p.total.green_wh, p.total.grid_wh), (7 * MWH, 4 * MWH, 3 * MWH));
    assert_eq!(p.total.certificates_wh, 4 * MWH);
    assert_eq!(p.total.clean_share.ppm, 571_428); // 4 / 7
                                                  // Market-based: 3,000 kWh × 585.6 g/kWh = 1,756,800 g. Location-based: 7,000 kWh × 561.7 g/kWh
                                                  // = 3,931,900 g.
    assert_eq!((p.total.market_based_g, p.total.location_based_g), (1_756_800, 3_931_900));
    // Member B: 5 MWh, 3 green, 2 grid: 2,000 kWh × 585.6 = 1,171,200 g; 5,000 × 561.7 = 2,808,500 g.
    assert_eq!((p.members[1].figures.market_based_g, p.members[1].figures.location_based_g), (1_171_200, 2_808_500));

    // The same member twice would count its claims twice: refused.
    let twice = [a.account(), a.account()];
    assert!(matches!(try_park(&h, "p", &twice, &factors_2022_east(), 0, 1), Err(AccountingError::MemberTwice { .. })));
}

#[test]
fn emissions_are_integer_grams_and_surplus_is_capped_per_member() {
    let mut h = World::new();
    let a = h.consumer.clone();
    // 1.5 MWh consumed in hour 0 and 0.5 MWh in hour 1; 2 MWh produced in hour 0 and claimed for
    // both hours.
    h.consumption(a.account(), 0, 1_500_000);
    h.consumption(a.account(), 1, 500_000);
    h.generation(0, 2 * MWH);
    h.issue(0);
    give_all(&mut h, a.account());
    retire_all(&mut h, &a, Interval::new(hour(0).start.0, hour(2).start.0));
    let f = Factors {
        residual: SourcedFactor::new(Factor::parse_kg_per_kwh("0.5856").unwrap(), "test"),
        location: SourcedFactor::new(Factor::parse_kg_per_kwh("0.5366").unwrap(), "test"),
    };
    // Over both hours: 2 MWh consumed, 2 MWh green, nothing left to the grid.
    let both = park_of(&h, "p", &[a.account()], &f, 0, 2);
    assert_eq!((both.total.grid_wh, both.total.market_based_g), (0, 0));
    assert_eq!(both.total.location_based_g, 1_073_200); // 2,000 kWh × 536.6 g
    assert_eq!(both.total.hourly_matched.ppm, 750_000); // hour 0 matches 1.5 of 2 MWh
                                                        // Hour 1 alone: the certificates were produced in hour 0, so hour 1 is all grid:
                                                        // 500 kWh × 585.6 g = 292,800 g market-based, 500 × 536.6 = 268,300 g location-based.
    let h1 = park_of(&h, "p", &[a.account()], &f, 1, 2);
    assert_eq!((h1.total.green_wh, h1.total.market_based_g, h1.total.location_based_g), (0, 292_800, 268_300));
    // Hour 0 alone: 2 MWh green against 1.5 MWh: counted 1.5, surplus 0.5 not counted.
    let h0 = park_of(&h, "p", &[a.account()], &f, 0, 1);
    assert_eq!((h0.total.green_wh, h0.total.green_counted_wh, h0.total.grid_wh), (2 * MWH, 1_500_000, 0));
    assert_eq!(h0.total.clean_share.ppm, 1_000_000);
    // A small amount rounds half up to whole grams: 1,001 Wh × 0.5856 = 586.1856 g → 586 g.
    assert_eq!(Factor(585_600).grams(1_001), 586);
}

#[test]
fn hourly_matching_refuses_a_claim_for_an_hour_without_consumption() {
    let mut p = Policy::new(LEDGER);
    p.unit_wh = MWH;
    p.hourly_matching = true;
    let mut h = World::with_policy(p);
    let c = h.consumer.clone();
    h.consumption(c.account(), 0, 2 * MWH);
    h.generation(1, 2 * MWH);
    h.issue(1);
    give_all(&mut h, c.account());
    let b = h.only_bundle(&c);
    let retire = |consumption| {
        Command::Retire(cmd::Retire {
            bundle: b.id,
            serials: b.serials,
            beneficiary: cmd::Beneficiary::Claimant,
            purpose: cmd::Purpose::Other("24/7".into()),
            consumption,
        })
    };
    // Hour 1 has no consumption reading; hour 0 has one but the certificates come from hour 1.
    let no_consumption = h.refused(&c, retire(hour(1)));
    assert!(
        matches!(&no_consumption, Refused::Rule(Refusal::ConsumptionNotCovered { interval, .. }) if *interval == hour(1)),
        "{no_consumption:?}"
    );
    let mismatch = h.refused(&c, retire(hour(0)));
    assert!(
        matches!(&mismatch, Refused::Rule(Refusal::HourlyMismatch { consumption, .. }) if *consumption == hour(0)),
        "{mismatch:?}"
    );
    // Nothing was claimed, so the statement shows no green energy.
    let s = statement_of(&h, c.account(), 0, 2);
    assert_eq!((s.totals.consumption_wh, s.totals.green_wh), (2 * MWH, 0));
    assert_eq!(b.origin, Origin::Issued);
}

/// A minimal XML well-formedness check: tags nest and close in order, attribute values are
/// quoted, and every `&` starts an entity.
fn assert_well_formed(xml: &str) {
    let mut stack: Vec<String> = Vec::new();
    let mut rest = xml;
    while let Some(open) = rest.find('<') {
        let text = &rest[..open];
        for (i, _) in text.match_indices('&') {
            let entity = &text[i..];
            assert!(
                entity.find(';').is_some_and(
                    |semi| semi > 1 && entity[1..semi].chars().all(|c| c.is_ascii_alphanumeric() || c == '#')
                ),
                "bare & in {text:?}"
            );
        }
        let close = rest[open..].find('>').expect("unclosed tag") + open;
        let tag = &rest[open + 1..close];
        assert_eq!(tag.matches('"').count() % 2, 0, "unbalanced quotes in <{tag}>");
        assert!(!tag.contains('<'), "'<' inside <{tag}>");
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(stack.pop().as_deref(), Some(name.trim()), "</{name}> closes the wrong element");
        } else if !tag.ends_with('/') {
            stack.push(tag.split_whitespace().next().expect("tag name").to_string());
        }
        rest = &rest[close + 1..];
    }
    assert!(stack.is_empty(), "unclosed elements: {stack:?}");
}

#[test]
fn the_html_page_holds_a_well_formed_svg_chart() {
    let mut h = World::new();
    let c = h.consumer.clone();
    h.consumption(c.account(), 0, 3 * MWH);
    h.consumption(c.account(), 1, 2 * MWH);
    h.generation(0, 2 * MWH);
    h.issue(0);
    give_all(&mut h, c.account());
    let b = h.only_bundle(&c);
    h.ok(
        &c,
        Command::Retire(cmd::Retire {
            bundle: b.id,
            serials: b.serials,
            beneficiary: cmd::Beneficiary::Product {
                product: "Tom & Jerry's <factory>".into(),
                quantity: 1,
                unit: "batch".into(),
            },
            purpose: cmd::Purpose::Other("\"quoted\" purpose".into()),
            consumption: hour(0),
        }),
    );
    let s = statement_of(&h, c.account(), 0, 2);
    let page = greenledger_core::accounting::html::consumption_page(&s);
    assert!(page.starts_with("<!DOCTYPE html>"));
    let start = page.find("<svg").expect("an <svg element");
    let end = page.find("</svg>").expect("a closed svg") + "</svg>".len();
    let svg = &page[start..end];
    assert!(svg.contains("xmlns=\"http://www.w3.org/2000/svg\""));
    assert_well_formed(svg);
    // Drawn by plotters (core/tests/pages.rs checks axes and legend): the certificates' bar in
    // their colour, the legend entry, the unit and the consumption line.
    assert!(svg.contains("fill=\"#C5E1A5\""));
    assert!(svg.contains(">\ncertificates\n</text>") && svg.contains(">\nMWh\n</text>"));
    assert!(svg.contains("stroke=\"#C62828\" stroke-width=\"2\" points="));
    // The user's text is escaped, and the page outside the doctype is well formed too.
    assert!(page.contains("Tom &amp; Jerry&#39;s &lt;factory&gt;"));
    assert_well_formed(&page["<!DOCTYPE html>".len()..].replace("<meta charset=\"utf-8\">", ""));
    let park = park_of(&h, "P & Q", &[c.account()], &factors_2022_east(), 0, 2);
    let park_page = greenledger_core::accounting::html::park_page(&park);
    assert_well_formed(&park_page["<!DOCTYPE html>".len()..].replace("<meta charset=\"utf-8\">", ""));
}

//! Park statements from the park registered on the ledger (members for the hours they are
//! members, each with its own site's factor) and product statements, with their numbers worked
//! out by hand; both signed by the ledger.

use greenledger::statements::park_product::{park_from_ledger_signed, product_signed, ParkAsk, ProductAsk};
use greenledger::testkit::*;
use greenledger_core::accounting::park::{Declared, ParkStatement};
use greenledger_core::accounting::product::{DeclaredKwh, ProductStatement};
use greenledger_core::accounting::signed::{self, open_statement};
use greenledger_core::command as cmd;
use greenledger_core::crypto::Keypair;
use greenledger_core::state::{BundleState, Origin};
use greenledger_core::*;

/// Moves every active certificate the generator holds to `to`.
fn give_all(h: &mut World, to: AccountId) {
    let g = h.generator.clone();
    for b in h.holdings(&g).into_iter().filter(|b| b.state == BundleState::Active) {
        h.ok(&g, Command::Transfer(cmd::Transfer { bundle: b.id, serials: b.serials, to }));
    }
}

/// Retires every active bundle `who` holds for `beneficiary`, for consumption in `consumption`.
fn retire_all(h: &mut World, who: &Keypair, beneficiary: cmd::Beneficiary, consumption: Interval) {
    let held: Vec<_> = h.holdings(who).into_iter().filter(|b| b.state == BundleState::Active).collect();
    for b in held {
        h.ok(
            who,
            Command::Retire(cmd::Retire {
                bundle: b.id,
                serials: b.serials,
                beneficiary: beneficiary.clone(),
                purpose: cmd::Purpose::ProductFootprint,
                consumption,
            }),
        );
    }
}

/// A single-byte change anywhere in the note makes it fail to open.
fn assert_bytes_matter(note: &str, key: &greenledger_core::log::NoteVerifier) {
    let bytes = note.as_bytes();
    for i in (0..bytes.len()).step_by((bytes.len() / 60).max(1)) {
        let mut changed = bytes.to_vec();
        changed[i] ^= 0x01;
        if let Ok(text) = String::from_utf8(changed) {
            assert!(open_statement(&text, key).is_err(), "a change of byte {i} went unnoticed");
        }
    }
}

#[test]
fn a_park_from_the_ledger_counts_members_for_their_hours_with_their_own_factors() {
    // The GEC zone, Beijing time: the statement shows its times in it.
    let mut h = World::builder().policy(|p| p.zone = greenledger_core::policy::Zone::shanghai()).build();
    let (a, b) = (h.consumer.clone(), h.consumer2.clone());
    let op = h.operator.clone();
    // Member A (site in Jiangsu: east grid) from hour 0; member B (Sichuan: southwest grid) joins
    // at hour 2.
    h.ok(
        &op,
        Command::RegisterPark(cmd::RegisterPark {
            park: ParkId("ZCP-1".into()),
            name: "Test zero-carbon park".into(),
            province: "jiangsu".into(),
            since: hour(0).start,
            members: vec![cmd::Site { account: a.account(), province: "jiangsu".into() }],
        }),
    );
    h.ok(
        &op,
        Command::ChangePark(cmd::ChangePark {
            park: ParkId("ZCP-1".into()),
            change: cmd::ParkChange::Join { account: b.account(), province: "sichuan".into(), from: hour(2).start },
        }),
    );
    // A consumes 2 MWh an hour, B 1 MWh an hour, hours 0 to 3.
    for n in 0..4 {
        h.consumption(a.account(), n, 2 * MWH);
        h.consumption(b.account(), n, MWH);
    }
    // B claims 1 MWh produced in hour 0, before it joined: not the park's.
    h.generation(0, MWH);
    h.issue(0);
    give_all(&mut h, b.account());
    retire_all(&mut h, &b, cmd::Beneficiary::Claimant, hour(0));
    // A claims 3 MWh produced in hour 1 for hours 0 to 3; B claims 1 MWh produced in hour 3.
    h.generation(1, 3 * MWH);
    h.issue(1);
    give_all(&mut h, a.account());
    retire_all(&mut h, &a, cmd::Beneficiary::Claimant, Interval::new(hour(0).start.0, hour(4).start.0));
    h.generation(3, MWH);
    h.issue(3);
    give_all(&mut h, b.account());
    retire_all(&mut h, &b, cmd::Beneficiary::Claimant, hour(3));

    let ask = ParkAsk {
        park: ParkId("ZCP-1".into()),
        from: hour(0).start.0,
        to: hour(4).start.0,
        factor_year: Some(2023),
        non_electric: Some(Declared::parse_tce("10").unwrap()),
    };
    let (p, members, signed) = park_from_ledger_signed(&h.ledger, &ask).unwrap();
    assert_eq!((p.park.as_deref(), p.members.len(), members.len()), (Some("ZCP-1"), 2, 2));
    let (ma, mb) = (&p.members[0], &p.members[1]);
    // Each member's own factor: east 0.5500 for Jiangsu, southwest 0.2472 for Sichuan.
    assert_eq!(ma.location.as_ref().unwrap().mg_per_kwh, 550_000);
    assert_eq!(mb.location.as_ref().unwrap().mg_per_kwh, 247_200);
    assert!(mb.location.as_ref().unwrap().source.contains("southwest (region of sichuan)"));
    assert_eq!(p.factors.residual.mg_per_kwh, 609_600);
    // A: 8 MWh, 3 green (matched 2 in hour 1), 5 to the grid.
    //   market 5,000 kWh x 609.6 g = 3,048,000 g; location 8,000 kWh x 550 g = 4,400,000 g.
    assert_eq!((ma.hours, ma.figures.consumption_wh, ma.figures.green_counted_wh), (4, 8 * MWH, 3 * MWH));
    assert_eq!((ma.figures.market_based_g, ma.figures.location_based_g), (3_048_000, 4_400_000));
    // B counts from hour 2 only: 2 MWh, 1 green (its hour-0 claim is outside), 1 to the grid.
    //   market 1,000 kWh x 609.6 g = 609,600 g; location 2,000 kWh x 247.2 g = 494,400 g.
    assert_eq!((mb.hours, mb.figures.consumption_wh, mb.figures.green_counted_wh), (2, 2 * MWH, MWH));
    assert_eq!((mb.figures.market_based_g, mb.figures.location_based_g), (609_600, 494_400));
    assert_eq!(mb.from, hour(2).start.0);
    // The park: 10 MWh, 4 green, 6 to the grid; 6,000 kWh x 609.6 g = 3,657,600 g market-based,
    // 4,400,000 + 494,400 = 4,894,400 g location-based.
    let t = &p.total;
    assert_eq!((t.consumption_wh, t.green_counted_wh, t.grid_wh, t.matched_wh), (10 * MWH, 4 * MWH, 6 * MWH, 3 * MWH));
    assert_eq!((t.market_based_g, t.location_based_g), (3_657_600, 4_894_400));
    assert_eq!((t.clean_share.ppm, t.hourly_matched.ppm), (400_000, 300_000));
    // Hour by hour: B is in hours 2 and 3 only.
    let hours: Vec<(u32, u64, u64)> = p.hours.iter().map(|x| (x.members, x.consumption_wh, x.clean_wh)).collect();
    assert_eq!(hours, vec![(1, 2 * MWH, 0), (1, 2 * MWH, 2 * MWH), (2, 3 * MWH, 0), (2, 3 * MWH, MWH)]);
    assert_eq!(p.hours[0].local, "2026-01-01T08:00+08:00");
    // Energy: 10,000 kWh x 122.9 gce = 1,229,000 gce; + 10 tce declared = 11,229,000 gce.
    // 3,657,600 / 11,229,000 = 0.325728... tCO2/tce; 4,894,400 / 11,229,000 = 0.435871...
    let i = p.indicators.as_ref().unwrap();
    assert_eq!((i.electricity_gce, i.total_energy_gce), (1_229_000, Some(11_229_000)));
    assert_eq!(i.market_based_per_tce_millionths, Some(325_728));
    assert_eq!(i.location_based_per_tce_millionths, Some(435_871));
    assert_eq!(i.non_electric_declared.as_ref().unwrap().tce, "10");
    // The signed claims are those the park counts: A's and B's hour-3 claim, not B's hour-0 one.
    let v = open_statement(&signed.note, &h.ledger.verifier()).unwrap();
    assert_eq!(v["kind"], "park");
    let counted: Vec<u64> = v["claims"].as_array().unwrap().iter().map(|c| c["counted_wh"].as_u64().unwrap()).collect();
    assert_eq!(counted, vec![3 * MWH, MWH]);
    assert_eq!(signed::inner::<ParkStatement>(&signed.json).unwrap(), p);
    assert_bytes_matter(&signed.note, &h.ledger.verifier());
    let text = greenledger_core::accounting::park::text(&p);
    assert!(text.contains("Asia/Shanghai") || text.contains("+08:00"), "{text}");
    // An unknown park is a clear error.
    let unknown = ParkAsk { park: ParkId("NOPE".into()), ..ask };
    assert!(park_from_ledger_signed(&h.ledger, &unknown).unwrap_err().to_string().contains("NOPE"));
}

#[test]
fn a_product_statement_gives_wh_per_unit_footprint_and_cbam_evidence() {
    let mut h = World::new();
    let c = h.consumer.clone();
    let me = c.account();
    let batch = cmd::Beneficiary::Product { product: "Cells 2026-01".into(), quantity: 400, unit: "cell".into() };
    h.consumption(me, 5, 3 * MWH);
    h.consumption(me, 6, 2 * MWH);
    // 2 MWh of unbundled wind certificates produced in hour 5.
    h.generation(5, 2 * MWH);
    h.issue(5);
    give_all(&mut h, me);
    retire_all(&mut h, &c, batch.clone(), hour(5));
    // 2 MWh over a direct line in hour 6: certificates issued to the consumer (direct supply).
    h.generation(6, 2 * MWH);
    let m = h.meter.clone();
    h.ok(
        &m,
        Command::PostDirectSupply(cmd::PostDirectSupply {
            device: wind(),
            consumer: me,
            interval: hour(6),
            energy: Wh(2 * MWH),
        }),
    );
    h.issue(6);
    assert!(h.holdings(&c).iter().any(|b| b.origin == Origin::DirectSupply && b.state == BundleState::Active));
    retire_all(&mut h, &c, batch, hour(6));
    // A claim for the claimant itself is not the batch's.
    h.generation(7, MWH);
    h.issue(7);
    h.consumption(me, 7, MWH);
    give_all(&mut h, me);
    retire_all(&mut h, &c, cmd::Beneficiary::Claimant, hour(7));

    let ask = ProductAsk {
        claimant: me,
        product: "Cells 2026-01".into(),
        year: 2026,
        electricity: Some(DeclaredKwh::parse("5000").unwrap()),
        factor_year: Some(2023),
    };
    let (p, signed) = product_signed(&h.ledger, &ask).unwrap();
    // 4 MWh certified for 400 cells: 10,000 Wh per cell; 5,000 kWh declared: 12,500 Wh per cell,
    // 1,000,000 Wh from the grid.
    assert_eq!((p.quantity, p.claims.len(), p.certified_wh), (400, 2, 4 * MWH));
    assert_eq!((p.certified_wh_per_unit, p.certified_wh_per_unit_remainder), (10_000, 0));
    assert_eq!((p.electricity_wh_per_unit, p.rest_wh), (Some(12_500), MWH));
    // Footprint: 4,000 kWh of wind x 33.6 g = 134,400 g CO2e; 1,000 kWh x 609.6 g = 609,600 g;
    // 744,000 g in all, 744,000,000 mg / 400 = 1,860,000 mg per cell.
    let lines: Vec<(&str, u64, u64)> = p.footprint.iter().map(|f| (f.what.as_str(), f.wh, f.grams)).collect();
    assert_eq!(lines, vec![("wind", 4 * MWH, 134_400), ("grid (rest of declared)", MWH, 609_600)]);
    assert_eq!((p.footprint_g, p.footprint_mg_per_unit), (744_000, 1_860_000));
    assert!(p.footprint[0].factor.source.contains("MEE/NBS/NEA"));
    // Source mix by instrument; CBAM evidence lists only the direct supply.
    let mix: Vec<(&str, u64)> = p.mix_by_instrument.iter().map(|m| (m.kind.as_str(), m.wh)).collect();
    assert_eq!(mix, vec![("direct-supply", 2 * MWH), ("unbundled-certificate", 2 * MWH)]);
    assert_eq!((p.cbam.direct_supply.len(), p.cbam.direct_supply_wh, p.cbam.not_accepted_wh), (1, 2 * MWH, 2 * MWH));
    assert!(p.cbam.rule.contains("2023/1773"));
    // Signed: opens with the log key, kind product, and every byte matters.
    let v = open_statement(&signed.note, &h.ledger.verifier()).unwrap();
    assert_eq!((v["kind"].as_str(), v["claims"].as_array().unwrap().len()), (Some("product"), 2));
    assert_eq!(signed::inner::<ProductStatement>(&signed.json).unwrap(), p);
    assert_bytes_matter(&signed.note, &h.ledger.verifier());
    let page = greenledger_core::accounting::html::product_page(&p);
    assert!(page.contains("CBAM evidence"));
    // No claims for another product: a clear error.
    let none = ProductAsk { product: "Modules".into(), ..ask };
    assert!(product_signed(&h.ledger, &none).unwrap_err().to_string().contains("Modules"));
}

/// A distributed-generation trade (隔墙售电) between two members: a member's rooftop PV sells to
/// its neighbour over the distribution grid; the park statement shows the energy traded inside.
#[test]
fn a_distributed_trade_between_two_park_members_is_energy_traded_inside() {
    let mut h = World::new();
    let (op, m, p) = (h.operator.clone(), h.meter.clone(), h.platform.clone());
    let buyer = h.consumer.clone();
    // The seller is an enterprise that uses power and owns a rooftop plant.
    let seller = Keypair::from_seed([42; 32]);
    let roles = Roles::of(&[Role::Generator, Role::Consumer]);
    h.ok(
        &op,
        Command::RegisterAccount(cmd::RegisterAccount { account: seller.account(), name: "Glass works".into(), roles }),
    );
    h.ok(&op, fixtures::register_device(DeviceId("ROOF-PV".into()), seller.account(), 5_000_000));
    let site = |k: &Keypair| cmd::Site { account: k.account(), province: "jiangsu".into() };
    let park = ParkId("DG-PARK".into());
    let register = cmd::RegisterPark {
        park: park.clone(),
        name: "Park with a distributed trade".into(),
        province: "jiangsu".into(),
        since: hour(0).start,
        members: vec![site(&buyer), site(&seller)],
    };
    h.ok(&op, Command::RegisterPark(register));
    h.ok(
        &m,
        Command::PostGeneration(cmd::PostGeneration {
            device: DeviceId("ROOF-PV".into()),
            interval: hour(0),
            energy: Wh(3 * MWH),
        }),
    );
    h.consumption(buyer.account(), 0, 4 * MWH);
    h.consumption(seller.account(), 0, MWH);
    // The trading platform settles 2 MWh at 0.42 CNY/kWh with a network charge of 0.095 CNY/kWh.
    let settle = cmd::SettleMonth {
        device: DeviceId("ROOF-PV".into()),
        period: hour(0),
        buyer: buyer.account(),
        energy: Wh(2 * MWH),
        price_fen_per_mwh: 42_000,
        network_charge_fen_per_mwh: Some(9_500),
    };
    h.ok(&p, Command::SettleMonth(settle));
    h.ok(&seller, Command::Issue(cmd::Issue { device: DeviceId("ROOF-PV".into()), interval: hour(0) }));
    let bought = h.only_bundle(&buyer);
    assert_eq!((bought.origin, bought.serials.len()), (Origin::Distributed, 2));
    retire_all(&mut h, &buyer, cmd::Beneficiary::Claimant, hour(0));
    let ask = ParkAsk { park, from: hour(0).start.0, to: hour(1).start.0, factor_year: Some(2023), non_electric: None };
    let (p, _, _) = park_from_ledger_signed(&h.ledger, &ask).unwrap();
    let i = p.indicators.as_ref().unwrap();
    assert_eq!((i.traded_between_members_wh, i.traded_from_outside_wh), (2 * MWH, 0));
    assert_eq!(p.hours[0].inside_wh, 2 * MWH);
    assert_eq!(p.inside.len(), 1);
    assert!(p.inside[0].seller_is_member);
    // Without declared non-electric energy there is no carbon per unit of energy.
    assert_eq!(i.market_based_per_tce_millionths, None);
}

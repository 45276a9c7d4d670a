//! The story: participants and devices, three days of readings, trades and issuance, a
//! certificate purchase and retirements, then attempted double counts that must be refused.

use super::{Actors, Report, HOURS, MWH};
use crate::testkit::client::{submit_all, Signing};
use anyhow::{anyhow, bail, Context as _};
use greenledger_core::command as cmd;
use greenledger_core::command::Command;
use greenledger_core::crypto::Keypair;
use greenledger_core::types::*;
use greenledger_core::ParkId;

const WIND: &str = "IM-WIND-01";
const SOLAR: &str = "JS-SOLAR-01";

/// Submits one command that must be accepted.
async fn one(d: &mut Signing, who: &Keypair, c: Command) -> anyhow::Result<crate::rpc::pb::Receipt> {
    d.submit(who, c).await.map_err(|e| anyhow!("{}", e.message()))
}

/// Submits a command that must be refused; records the server's message in the report.
async fn refused(d: &mut Signing, who: &Keypair, what: &str, c: Command, report: &mut Report) -> anyhow::Result<()> {
    match d.submit(who, c).await {
        Ok(_) => bail!("the ledger accepted a double count: {what}"),
        Err(status) => {
            report.refused.push((what.to_string(), format!("{:?}: {}", status.code(), status.message())));
            Ok(())
        }
    }
}

/// Deterministic hourly wind output in Wh for a 50 MW farm (between about 8 and 42 MWh).
fn wind_wh(h: u64) -> u64 {
    let x = (h.wrapping_mul(2_654_435_761) >> 7) % 1000;
    8 * MWH + (h % 24) * 600_000 + x * 13_000
}

/// Rooftop solar in Wh for an 8 MW plant: zero at night, a bell in daytime (UTC+8 local time).
fn solar_wh(h: u64) -> u64 {
    let local = (h + 8) % 24;
    match local {
        6..=18 => {
            let d = local.abs_diff(12);
            (36 - d * d) * 180_000 + (h % 5) * 37_000
        }
        _ => 0,
    }
}

/// The participants and the two devices, registered by the operator.
pub(super) async fn participants(d: &mut Signing, a: &Actors) -> anyhow::Result<()> {
    let reg = |k: &Keypair, name: &str, roles: &[Role]| {
        Command::RegisterAccount(cmd::RegisterAccount {
            account: k.account(),
            name: name.into(),
            roles: Roles::of(roles),
        })
    };
    let mut setup = vec![
        reg(&a.meter, "State Grid metering", &[Role::MeterOperator]),
        reg(&a.exchange, "Beijing Power Exchange", &[Role::TradingPlatform]),
        reg(&a.regulator, "Energy regulator", &[Role::Regulator]),
        reg(&a.wind_co, "Ulanqab Wind Power Co.", &[Role::Generator]),
        reg(&a.solar_co, "Changzhou Rooftop Solar Co.", &[Role::Generator]),
        reg(&a.battery, "Changzhou Battery Factory", &[Role::Consumer]),
        reg(&a.modules, "Suzhou Module Factory", &[Role::Consumer]),
    ];
    setup.push(Command::RegisterDevice(cmd::RegisterDevice {
        device: DeviceId("IM-WIND-01".into()),
        owner: a.wind_co.account(),
        technology: Technology::Wind,
        capacity_w: 50_000_000,
        region: "inner_mongolia".into(),
        commissioned: Timestamp(greenledger_core::calendar::unix(2021, 6, 30, 0, 0, 0)),
        attributes: Default::default(),
    }));
    setup.push(Command::RegisterDevice(cmd::RegisterDevice {
        device: DeviceId("JS-SOLAR-01".into()),
        owner: a.solar_co.account(),
        technology: Technology::Solar,
        capacity_w: 8_000_000,
        region: "jiangsu".into(),
        commissioned: Timestamp(greenledger_core::calendar::unix(2023, 3, 1, 0, 0, 0)),
        attributes: Default::default(),
    }));
    let signed: Vec<_> = setup.into_iter().map(|c| d.sign(&a.operator.clone(), c)).collect();
    submit_all(&mut d.client, &signed).await.context("demo set-up")?;
    Ok(())
}

/// The park on the ledger: both factories are members from `start`, each with the province of
/// its site (park statements use each member's own location factor).
pub(super) async fn park(d: &mut Signing, a: &Actors, start: u64) -> anyhow::Result<()> {
    let site = |k: &Keypair, province: &str| cmd::Site { account: k.account(), province: province.into() };
    let register = Command::RegisterPark(cmd::RegisterPark {
        park: ParkId(super::PARK.into()),
        name: "Changzhou-Suzhou zero-carbon park (demo)".into(),
        province: "jiangsu".into(),
        since: Timestamp(start),
        members: vec![site(&a.battery, "jiangsu"), site(&a.modules, "jiangsu")],
    });
    let signed = d.sign(&a.operator.clone(), register);
    submit_all(&mut d.client, &[signed]).await.context("registering the park")?;
    Ok(())
}

/// Three days of hourly readings from `start`: generation, consumption, direct supply, trades
/// and issuance. Returns the energy supplied directly and traded.
pub(super) async fn hours(d: &mut Signing, a: &Actors, start: u64) -> anyhow::Result<(u64, u64)> {
    let wind = DeviceId(WIND.into());
    let solar = DeviceId(SOLAR.into());
    let (mut direct_total, mut traded_total) = (0u64, 0u64);
    let mut day_cmds = Vec::new();
    for h in 0..HOURS {
        let iv = Interval::new(start + h * 3600, start + (h + 1) * 3600);
        let (w, s) = (wind_wh(h), solar_wh(h));
        let m = a.meter.clone();
        day_cmds.push(d.sign(
            &m,
            Command::PostGeneration(cmd::PostGeneration { device: wind.clone(), interval: iv, energy: Wh(w) }),
        ));
        day_cmds.push(d.sign(
            &m,
            Command::PostGeneration(cmd::PostGeneration { device: solar.clone(), interval: iv, energy: Wh(s) }),
        ));
        // The battery factory draws about 6 MWh an hour, the module factory about 9.
        let battery_use = 6 * MWH + (h % 7) * 150_000;
        let modules_use = 9 * MWH + (h % 5) * 200_000;
        day_cmds.push(d.sign(
            &m,
            Command::PostConsumption(cmd::PostConsumption {
                account: a.battery.account(),
                interval: iv,
                energy: Wh(battery_use),
            }),
        ));
        day_cmds.push(d.sign(
            &m,
            Command::PostConsumption(cmd::PostConsumption {
                account: a.modules.account(),
                interval: iv,
                energy: Wh(modules_use),
            }),
        ));
        // 70% of the rooftop output flows over the dedicated line to the battery factory.
        let direct = s * 7 / 10;
        if direct > 0 {
            direct_total += direct;
            day_cmds.push(d.sign(
                &m,
                Command::PostDirectSupply(cmd::PostDirectSupply {
                    device: solar.clone(),
                    consumer: a.battery.account(),
                    interval: iv,
                    energy: Wh(direct),
                }),
            ));
        }
        // The module factory buys 5 MWh of wind power every hour on the exchange.
        traded_total += 5 * MWH;
        let x = a.exchange.clone();
        day_cmds.push(d.sign(
            &x,
            Command::SettleTrade(cmd::SettleTrade {
                device: wind.clone(),
                interval: iv,
                buyer: a.modules.account(),
                energy: Wh(5 * MWH),
            }),
        ));
        let (wc, sc) = (a.wind_co.clone(), a.solar_co.clone());
        day_cmds.push(d.sign(&wc, Command::Issue(cmd::Issue { device: wind.clone(), interval: iv })));
        day_cmds.push(d.sign(&sc, Command::Issue(cmd::Issue { device: solar.clone(), interval: iv })));
    }
    submit_all(&mut d.client, &day_cmds).await.context("demo readings, trades and issuance")?;
    Ok((direct_total, traded_total))
}

/// The battery factory buys unbundled wind certificates; both factories retire what they hold.
/// Returns the bundle and serials sold.
pub(super) async fn claims(d: &mut Signing, a: &Actors, start: u64) -> anyhow::Result<(u64, SerialRange)> {
    // The battery factory also buys 40 unbundled wind certificates from the wind farm.
    let wind_bundles = d.holdings(&a.wind_co).await?;
    let b = wind_bundles.iter().find(|b| b.state == "active").ok_or_else(|| anyhow!("wind farm holds nothing"))?;
    let s = b.serials.unwrap_or_default();
    let take = 10.min(s.end - s.start);
    let wc = a.wind_co.clone();
    one(
        d,
        &wc,
        Command::Transfer(cmd::Transfer {
            bundle: BundleId(b.id),
            serials: SerialRange::new(s.start, s.start + take),
            to: a.battery.account(),
        }),
    )
    .await?;
    let sold_bundle = b.id;
    let sold = SerialRange::new(s.start, s.start + take);

    // Retirements: the battery factory claims its direct supply and bought certificates for an
    // export battery batch (a product footprint); the module factory claims its traded wind power
    // for its RE100 report. Each claim is for the consumption of its certificates' production
    // hour, so it lies in one reporting year whatever the demo's dates.
    let batch = cmd::Beneficiary::Product { product: super::BATCH.into(), quantity: 2_000, unit: "packs".into() };
    for (who, beneficiary, purpose) in [
        (&a.battery, batch, cmd::Purpose::ProductFootprint),
        (&a.modules, cmd::Beneficiary::Claimant, cmd::Purpose::Re100Cdp),
    ] {
        let who = who.clone();
        for b in d.holdings(&who).await? {
            if b.state != "active" {
                continue;
            }
            let serials = b.serials.unwrap_or_default();
            let hour =
                b.production.map(|p| Interval::new(p.start, p.end)).unwrap_or(Interval::new(start, start + 3600));
            let r = one(
                d,
                &who,
                Command::Retire(cmd::Retire {
                    bundle: BundleId(b.id),
                    serials: SerialRange::new(serials.start, serials.end),
                    beneficiary: beneficiary.clone(),
                    purpose: purpose.clone(),
                    consumption: hour,
                }),
            )
            .await?;
            let _ = r;
        }
    }
    Ok((sold_bundle, sold))
}

/// Attempts to count the same energy twice; every one must be refused.
pub(super) async fn double_counts(
    d: &mut Signing,
    a: &Actors,
    start: u64,
    (sold_bundle, sold): (u64, SerialRange),
    report: &mut Report,
) -> anyhow::Result<()> {
    let wind = DeviceId(WIND.into());
    let solar = DeviceId(SOLAR.into());
    let period = Interval::new(start, start + HOURS * 3600);
    let wc = a.wind_co.clone();
    // Attempted double counts.
    let battery_retired = d
        .holdings(&a.battery)
        .await?
        .into_iter()
        .find(|b| b.state == "retired")
        .ok_or_else(|| anyhow!("no retired bundle"))?;
    let rs = battery_retired.serials.unwrap_or_default();
    let bat = a.battery.clone();
    refused(
        d,
        &bat,
        "retire the same certificates twice",
        Command::Retire(cmd::Retire {
            bundle: BundleId(battery_retired.id),
            serials: SerialRange::new(rs.start, rs.end),
            beneficiary: cmd::Beneficiary::Claimant,
            purpose: cmd::Purpose::Re100Cdp,
            consumption: period,
        }),
        report,
    )
    .await?;
    refused(
        d,
        &wc,
        "sell certificates already sold to the battery factory",
        Command::Transfer(cmd::Transfer { bundle: BundleId(sold_bundle), serials: sold, to: a.modules.account() }),
        report,
    )
    .await?;
    let first_hour = Interval::new(start, start + 3600);
    refused(
        d,
        &wc,
        "issue the same wind hour twice",
        Command::Issue(cmd::Issue { device: wind.clone(), interval: first_hour }),
        report,
    )
    .await?;
    let m = a.meter.clone();
    refused(
        d,
        &m,
        "deliver already-issued solar output over the direct line",
        Command::PostDirectSupply(cmd::PostDirectSupply {
            device: solar.clone(),
            consumer: a.battery.account(),
            interval: Interval::new(start + 12 * 3600, start + 13 * 3600),
            energy: Wh(MWH),
        }),
        report,
    )
    .await?;
    refused(
        d,
        &m,
        "post an overlapping wind reading",
        Command::PostGeneration(cmd::PostGeneration {
            device: wind.clone(),
            interval: Interval::new(start + 1800, start + 5400),
            energy: Wh(MWH),
        }),
        report,
    )
    .await?;
    let rg = a.regulator.clone();
    // The regulator learns that the wind farm's last hour was also registered for CCER offsets.
    let last_hour = Interval::new(start + (HOURS - 1) * 3600, start + HOURS * 3600);
    one(
        d,
        &rg,
        Command::DeclareExclusion(cmd::DeclareExclusion {
            device: wind.clone(),
            interval: last_hour,
            scheme: "CCER".into(),
        }),
    )
    .await?;
    let frozen = d.holdings(&a.wind_co).await?.into_iter().find(|b| b.state == "frozen");
    if let Some(f) = frozen {
        let fs = f.serials.unwrap_or_default();
        refused(
            d,
            &wc,
            "sell wind certificates whose hour is claimed in CCER",
            Command::Transfer(cmd::Transfer {
                bundle: BundleId(f.id),
                serials: SerialRange::new(fs.start, fs.end),
                to: a.battery.account(),
            }),
            report,
        )
        .await?;
    }
    Ok(())
}

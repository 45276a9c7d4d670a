//! A zero-carbon park (零碳园区): the green consumption of its members, hour by hour and member
//! by member, with the park's indicators: clean share of electricity, Scope 2 emissions
//! market-based and location-based side by side, carbon per unit of energy when the park declares
//! its non-electric energy, and the energy traded inside the park.
//!
//! # Membership from the ledger
//!
//! A park is registered on the ledger (`RegisterPark`, `ChangePark`): each membership names an
//! account, the province of its site and its dates. [`ParkInput::from_park`] turns that record
//! into the input of a statement, each member with the location-based factor of its own site
//! ([`super::factors::site`]). A member counts **only for the hours that lie wholly inside its
//! membership** (a member joining at 10:30 counts from 11:00; one leaving at 10:30 counts until
//! 10:00): its consumption, its claims and its emissions in other hours are not the park's. The
//! first form, a list of accounts members for the whole period with one factor for all
//! ([`ParkInput::from_accounts`]), still works.
//!
//! # No double counting inside the park
//!
//! Green energy counts only through claims (see [`super::hourly`]), and a claim belongs to exactly
//! one claimant. Certificates that one member transferred to another and that the second retired
//! count once, for the member that retired them; certificates still held (not retired) by any
//! member count for no one. A member listed twice over the same time is refused. Energy traded
//! inside the park (分布式发电市场化交易, 隔墙售电: `Origin::Distributed`) counts once, for the
//! buyer that claimed it; the statement lists it with its seller.
//!
//! # Emissions
//!
//! - market-based = (consumption − green) × residual factor, per member, where green is capped at
//!   the member's own consumption (a member's surplus does not lower another member's figure:
//!   transfer the certificates to that member instead). The residual factor excludes
//!   market-traded non-fossil electricity (2023: 0.6096 kgCO2/kWh); the plain average already
//!   contains that green energy, and using it would count it twice.
//! - location-based = consumption × the average of the member's own site (provincial where
//!   published, else its regional grid's).
//! - carbon per unit of energy = Scope 2 CO2 / (electricity at 0.1229 kgce/kWh, GB/T 2589-2020,
//!   plus the non-electric energy the park declares, in tce), given only when it is declared.
//!   Only the electricity's CO2 is on the ledger: the CO2 of the non-electric energy is not
//!   included.
//!
//! Emissions are whole grams, computed in integers ([`super::factors::Factor::grams`]). The park's
//! market-based total is computed from the summed grid energy; its location-based total from the
//! exact sum of every member's energy times its factor, rounded once.

use super::factors::{Factor, Factors, SourcedFactor, ELECTRICITY_EQUIVALENT, ELECTRICITY_EQUIVALENT_SOURCE};
use super::hourly::{statement, AccountRecords, Statement, Totals};
use super::{AccountingError, Period, Share, HOUR};
use crate::policy::Zone;
use crate::state::{Origin, Park};
use crate::types::{AccountId, Interval, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// A park: a name and its member accounts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParkSpec {
    pub name: String,
    pub members: Vec<AccountId>,
}

impl ParkSpec {
    /// Reads `{"name": "...", "members": ["<64 hex digits>", ...]}`.
    pub fn from_json(text: &str) -> Result<ParkSpec, String> {
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct File {
            name: String,
            members: Vec<String>,
        }
        let f: File = serde_json::from_str(text).map_err(|e| format!("park file: {e}"))?;
        let members = f
            .members
            .iter()
            .map(|m| {
                AccountId::from_hex(m)
                    .ok_or_else(|| format!("park file: member {m:?} is not a 64-hex-digit account id"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ParkSpec { name: f.name, members })
    }
}

/// One membership of a park, for a statement: who, where and when, and the location-based
/// factor of the site.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberSpec {
    pub account: AccountId,
    /// The province (or region) of the member's site, as registered; empty when not known.
    pub province: String,
    pub from: Timestamp,
    pub until: Option<Timestamp>,
    pub location: SourcedFactor,
}

/// Who owns a device and what it is: for the energy traded inside the park.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceOwner {
    pub owner: AccountId,
    pub technology: String,
}

/// Everything a park statement needs besides the members' records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParkInput {
    /// The park's code on the ledger (`None` for a list of accounts).
    pub id: Option<String>,
    pub name: String,
    pub province: Option<String>,
    pub members: Vec<MemberSpec>,
    /// The residual factor and the park's own location factor (each member uses its own).
    pub factors: Factors,
    /// The zone times are shown in (the policy's).
    pub zone: Zone,
    /// Non-electric energy the park declares, tce.
    pub non_electric: Option<Declared>,
    /// Owners of the devices whose output members claimed (for the energy traded inside).
    pub devices: BTreeMap<String, DeviceOwner>,
}

/// An amount the park declares, as written and in kilograms of coal equivalent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Declared {
    /// As declared: `"1200.5"` tce.
    pub tce: String,
    pub kgce: u64,
}

impl Declared {
    /// Tonnes of coal equivalent written as a decimal with at most three decimals (one kgce).
    pub fn parse_tce(s: &str) -> Result<Declared, AccountingError> {
        Ok(Declared { tce: s.trim().to_string(), kgce: super::parse_thousandths(s, "tce", "1200.5")? })
    }
}

impl ParkInput {
    /// The input for a park registered on the ledger: every membership with the factor of its
    /// own site in `year`; the park's own location factor is that of its province (the national
    /// average when the province is not in the data).
    pub fn from_park(park: &Park, year: u16, zone: Zone) -> Result<ParkInput, AccountingError> {
        let residual = super::factors::residual(year)?;
        let location = super::factors::site(year, &park.province).or_else(|_| super::factors::location(year, None))?;
        let members = park
            .members
            .iter()
            .map(|m| {
                Ok(MemberSpec {
                    account: m.account,
                    province: m.province.clone(),
                    from: m.from,
                    until: m.until,
                    location: super::factors::site(year, &m.province).map_err(|e| {
                        AccountingError::Factor(format!("member {} of park {}: {e}", m.account.short(), park.id.0))
                    })?,
                })
            })
            .collect::<Result<Vec<_>, AccountingError>>()?;
        Ok(ParkInput {
            id: Some(park.id.0.clone()),
            name: park.name.clone(),
            province: Some(park.province.clone()),
            members,
            factors: Factors { residual, location },
            zone,
            non_electric: None,
            devices: BTreeMap::new(),
        })
    }

    /// The first form: `accounts` are members over the whole of time, all with `factors.location`.
    pub fn from_accounts(name: &str, accounts: &[AccountId], factors: &Factors, zone: Zone) -> ParkInput {
        let members = accounts
            .iter()
            .map(|a| MemberSpec {
                account: *a,
                province: String::new(),
                from: Timestamp(0),
                until: None,
                location: factors.location.clone(),
            })
            .collect();
        ParkInput {
            id: None,
            name: name.to_string(),
            province: None,
            members,
            factors: factors.clone(),
            zone,
            non_electric: None,
            devices: BTreeMap::new(),
        }
    }

    /// Each account once, in order: whose records the statement needs.
    pub fn accounts(&self) -> Vec<AccountId> {
        let mut seen = BTreeSet::new();
        self.members.iter().map(|m| m.account).filter(|a| seen.insert(*a)).collect()
    }

    /// The memberships that hold during some of `period`.
    pub fn members_during(&self, period: Interval) -> Vec<&MemberSpec> {
        self.members.iter().filter(|m| during(m, period).is_some()).collect()
    }
}

fn during(m: &MemberSpec, interval: Interval) -> Option<Interval> {
    let start = m.from.max(interval.start);
    let end = m.until.map_or(interval.end, |u| u.min(interval.end));
    (start < end).then_some(Interval { start, end })
}

/// The whole hours of `period` that lie inside the membership, `[first start, last end)`.
fn membership_hours(m: &MemberSpec, period: &Period) -> Option<(u64, u64)> {
    let i = during(m, period.interval)?;
    let (a, b) = (i.start.0.div_ceil(HOUR) * HOUR, i.end.0 / HOUR * HOUR);
    (a < b).then_some((a, b))
}

/// Energy, shares and emissions of one member or of the whole park.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Figures {
    pub consumption_wh: u64,
    pub direct_wh: u64,
    pub trade_wh: u64,
    pub certificates_wh: u64,
    /// All green energy claimed for the hours counted.
    pub green_wh: u64,
    /// Green energy counted against consumption: `min(green, consumption)` per member.
    pub green_counted_wh: u64,
    /// Green energy matched hour by hour (24/7).
    pub matched_wh: u64,
    /// Consumption left to the grid: `consumption − green_counted`.
    pub grid_wh: u64,
    /// Clean share, annual volume: green_counted / consumption.
    pub clean_share: Share,
    /// Clean share, hourly matched: matched / consumption.
    pub hourly_matched: Share,
    /// grid_wh × residual factor, grams CO2.
    pub market_based_g: u64,
    /// consumption_wh × location factor(s), grams CO2.
    pub location_based_g: u64,
}

/// One membership's line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberLine {
    pub account: String,
    pub name: String,
    /// The site's province or region as registered (empty: not given).
    #[serde(default)]
    pub province: String,
    /// Membership, Unix seconds (`until` open when `None`).
    #[serde(default)]
    pub from: u64,
    #[serde(default)]
    pub until: Option<u64>,
    /// Hours of the period the member counts in (wholly inside its membership).
    #[serde(default)]
    pub hours: u64,
    /// The location-based factor of the member's site.
    #[serde(default)]
    pub location: Option<SourcedFactor>,
    pub claims: usize,
    #[serde(flatten)]
    pub figures: Figures,
}

/// One hour of the park: the members that count in it added up.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParkHour {
    /// Start of the hour, Unix seconds.
    pub start: u64,
    /// The same in the statement's zone: `2026-01-01T08:00+08:00`.
    pub local: String,
    pub members: u32,
    pub consumption_wh: u64,
    /// Green energy claimed for the hour.
    pub green_wh: u64,
    /// Clean energy of the hour: green matched per member in the hour (capped at its consumption).
    pub clean_wh: u64,
    /// Consumption not matched by clean energy in the hour.
    pub grid_wh: u64,
    /// Green energy of the hour traded inside the park (distributed trade between members).
    pub inside_wh: u64,
}

/// Energy of one distributed-trade claim counted in the park.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InsideTrade {
    pub claim: u64,
    pub buyer: String,
    pub device: String,
    /// The device's owner, hex (empty when not known).
    pub seller: String,
    /// Whether the seller is a member during the claim's production.
    pub seller_is_member: bool,
    pub counted_wh: u64,
}

/// The zero-carbon park indicators.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Indicators {
    /// Clean share of electricity, annual volume (green counted / consumption).
    pub clean_share: Share,
    /// Clean share matched hour by hour.
    pub hourly_matched: Share,
    pub scope2_market_based_g: u64,
    pub scope2_location_based_g: u64,
    /// Electricity in coal equivalent: consumption × 0.1229 kgce/kWh, grams.
    pub electricity_gce: u64,
    pub electricity_equivalent_source: String,
    /// Non-electric energy as declared by the park.
    pub non_electric_declared: Option<Declared>,
    /// Electricity + non-electric energy, grams of coal equivalent (only when declared).
    pub total_energy_gce: Option<u64>,
    /// Scope 2 CO2 per unit of energy, tCO2/tce in millionths (market-based, location-based);
    /// only when the non-electric energy is declared.
    pub market_based_per_tce_millionths: Option<u64>,
    pub location_based_per_tce_millionths: Option<u64>,
    /// Distributed-trade energy claimed by members from members (隔墙售电).
    pub traded_between_members_wh: u64,
    /// Distributed-trade energy claimed by members from sellers outside the park.
    pub traded_from_outside_wh: u64,
}

/// The statement of a park.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParkStatement {
    /// The park's code on the ledger (`None` for a list of accounts).
    #[serde(default)]
    pub park: Option<String>,
    pub name: String,
    #[serde(default)]
    pub province: Option<String>,
    pub period: Interval,
    /// The zone times are shown in.
    #[serde(default = "Zone::utc")]
    pub zone: Zone,
    /// How the figures are made, in words.
    #[serde(default)]
    pub method: Vec<String>,
    pub factors: Factors,
    pub members: Vec<MemberLine>,
    pub total: Figures,
    #[serde(default)]
    pub indicators: Option<Indicators>,
    #[serde(default)]
    pub hours: Vec<ParkHour>,
    #[serde(default)]
    pub inside: Vec<InsideTrade>,
}

#[derive(Default)]
struct Energy {
    consumption: u64,
    direct: u64,
    trade: u64,
    certificates: u64,
    green: u64,
    green_counted: u64,
    matched: u64,
}

impl Energy {
    fn of(t: &Totals) -> Energy {
        Energy {
            consumption: t.consumption_wh,
            direct: t.direct_wh,
            trade: t.trade_wh,
            certificates: t.certificates_wh,
            green: t.green_wh,
            green_counted: t.green_wh.min(t.consumption_wh),
            matched: t.matched_wh,
        }
    }

    fn add(&mut self, e: &Energy) -> Result<(), AccountingError> {
        let sum = |a: &mut u64, b: u64| -> Result<(), AccountingError> {
            *a = a.checked_add(b).ok_or(AccountingError::Overflow("park totals"))?;
            Ok(())
        };
        sum(&mut self.consumption, e.consumption)?;
        sum(&mut self.direct, e.direct)?;
        sum(&mut self.trade, e.trade)?;
        sum(&mut self.certificates, e.certificates)?;
        sum(&mut self.green, e.green)?;
        sum(&mut self.green_counted, e.green_counted)?;
        sum(&mut self.matched, e.matched)
    }

    fn figures(&self, residual: Factor, location_g: u64) -> Figures {
        let grid = self.consumption - self.green_counted;
        Figures {
            consumption_wh: self.consumption,
            direct_wh: self.direct,
            trade_wh: self.trade,
            certificates_wh: self.certificates,
            green_wh: self.green,
            green_counted_wh: self.green_counted,
            matched_wh: self.matched,
            grid_wh: grid,
            clean_share: Share::of(self.green_counted, self.consumption),
            hourly_matched: Share::of(self.matched, self.consumption),
            market_based_g: residual.grams(grid),
            location_based_g: location_g,
        }
    }
}

/// The park statement over `[from, to)` (whole hours) from the records of its members (one
/// [`AccountRecords`] per account). Returns the statement and, per membership counted, the
/// member's statement restricted to its membership (whose claims the signed statement lists).
pub fn park_statement(
    input: &ParkInput,
    records: &[AccountRecords],
    from: u64,
    to: u64,
) -> Result<(ParkStatement, Vec<Statement>), AccountingError> {
    let period = Period::new(from, to)?;
    let park = input.id.clone().unwrap_or_else(|| input.name.clone());
    let members = input.members_during(period.interval);
    if members.is_empty() {
        return Err(AccountingError::NoMembers { park });
    }
    for (i, a) in members.iter().enumerate() {
        if members[..i].iter().any(|b| {
            b.account == a.account && during(b, during(a, period.interval).unwrap_or(period.interval)).is_some()
        }) {
            return Err(AccountingError::MemberTwice { park, account: a.account.to_hex() });
        }
    }
    let residual = input.factors.residual.factor();
    let mut hours: Vec<ParkHour> = (0..period.hours())
        .map(|i| {
            let start = period.hour_start(i);
            ParkHour { start, local: local_time(start, &input.zone), ..ParkHour::default() }
        })
        .collect();
    let mut total = Energy::default();
    let mut location_exact: u128 = 0;
    let mut lines = Vec::new();
    let mut statements = Vec::new();
    let mut inside: BTreeMap<u64, InsideTrade> = BTreeMap::new();
    let mut claims_seen: BTreeMap<u64, AccountId> = BTreeMap::new();
    for m in &members {
        let r = records
            .iter()
            .find(|r| r.account == m.account)
            .ok_or_else(|| AccountingError::WrongAccount { expected: m.account.short(), found: "no records".into() })?;
        // The whole hours of the period inside the membership: one contiguous range.
        let Some((a, b)) = membership_hours(m, &period) else { continue };
        let s = statement(r, a, b)?;
        for c in s.claims.iter().filter(|c| c.counted_wh > 0) {
            if claims_seen.insert(c.claim, m.account).is_some_and(|a| a != m.account) {
                return Err(AccountingError::ClaimTwice { claim: format!("C{}", c.claim) });
            }
        }
        let distributed: BTreeSet<u64> =
            r.claims.iter().filter(|c| c.origin == Origin::Distributed).map(|c| c.claim.id.0).collect();
        let counted_hours = s.hours.len() as u64;
        let first = ((a - from) / HOUR) as usize;
        for (ph, h) in hours[first..].iter_mut().zip(&s.hours) {
            ph.members += 1;
            ph.consumption_wh += h.consumption_wh;
            ph.green_wh += h.green_wh;
            ph.clean_wh += h.matched_wh;
            ph.grid_wh += h.consumption_wh - h.matched_wh;
            for b in h.backing.iter().filter(|b| distributed.contains(&b.claim)) {
                let claim = r.claims.iter().find(|c| c.claim.id.0 == b.claim).map(|c| &c.claim);
                let device = claim.map(|c| c.device.0.clone()).unwrap_or_default();
                let owner = input.devices.get(&device).map(|d| d.owner);
                let seller_is_member = match (owner, claim) {
                    (Some(o), Some(c)) => {
                        input.members.iter().any(|x| x.account == o && during(x, c.production).is_some())
                    }
                    _ => false,
                };
                if seller_is_member {
                    ph.inside_wh += b.wh;
                }
                let t = inside.entry(b.claim).or_insert_with(|| InsideTrade {
                    claim: b.claim,
                    buyer: m.account.to_hex(),
                    device,
                    seller: owner.map(|o| o.to_hex()).unwrap_or_default(),
                    seller_is_member,
                    counted_wh: 0,
                });
                t.counted_wh += b.wh;
            }
        }
        let e = Energy::of(&s.totals);
        total.add(&e)?;
        let loc = m.location.factor();
        location_exact += e.consumption as u128 * loc.0 as u128;
        lines.push(MemberLine {
            account: s.account.clone(),
            name: s.name.clone(),
            province: m.province.clone(),
            from: m.from.0,
            until: m.until.map(|u| u.0),
            hours: counted_hours,
            location: Some(m.location.clone()),
            claims: s.claims.iter().filter(|c| c.counted_wh > 0).count(),
            figures: e.figures(residual, loc.grams(e.consumption)),
        });
        statements.push(s);
    }
    let location_g = u64::try_from((location_exact + 500_000) / 1_000_000)
        .map_err(|_| AccountingError::Overflow("location-based emissions"))?;
    let total = total.figures(residual, location_g);
    let inside: Vec<InsideTrade> = inside.into_values().collect();
    let between: u64 = inside.iter().filter(|t| t.seller_is_member).map(|t| t.counted_wh).sum();
    let outside: u64 = inside.iter().filter(|t| !t.seller_is_member).map(|t| t.counted_wh).sum();
    let electricity_gce = ELECTRICITY_EQUIVALENT.grams(total.consumption_wh);
    let total_gce = input.non_electric.as_ref().map(|d| d.kgce.saturating_mul(1000).saturating_add(electricity_gce));
    let per = |g: u64| total_gce.filter(|t| *t > 0).map(|t| (g as u128 * 1_000_000 / t as u128) as u64);
    let indicators = Indicators {
        clean_share: total.clean_share,
        hourly_matched: total.hourly_matched,
        scope2_market_based_g: total.market_based_g,
        scope2_location_based_g: total.location_based_g,
        electricity_gce,
        electricity_equivalent_source: ELECTRICITY_EQUIVALENT_SOURCE.to_string(),
        non_electric_declared: input.non_electric.clone(),
        total_energy_gce: total_gce,
        market_based_per_tce_millionths: per(total.market_based_g),
        location_based_per_tce_millionths: per(total.location_based_g),
        traded_between_members_wh: between,
        traded_from_outside_wh: outside,
    };
    Ok((
        ParkStatement {
            park: input.id.clone(),
            name: input.name.clone(),
            province: input.province.clone(),
            period: period.interval,
            zone: input.zone.clone(),
            method: method(input),
            factors: input.factors.clone(),
            members: lines,
            total,
            indicators: Some(indicators),
            hours,
            inside,
        },
        statements,
    ))
}

fn method(input: &ParkInput) -> Vec<String> {
    let mut m = vec![
        "Green energy counts only through claims (retired certificates, and certificates of direct supply and green-power or distributed trades claimed by their buyer): each Wh once, for the member that claimed it.".to_string(),
        "A member counts only for the hours that lie wholly inside its membership on the ledger.".to_string(),
        "Clean share = green counted (capped at each member's own consumption) / consumption; hourly clean energy is matched per member in the hour, surplus not carried.".to_string(),
        format!(
            "Scope 2 market-based = grid consumption x residual factor {} kgCO2/kWh ({}).",
            input.factors.residual.kg_per_kwh, input.factors.residual.source
        ),
        "Scope 2 location-based = consumption x the average factor of each member's own site (see the member lines).".to_string(),
        format!("Electricity in coal equivalent: {ELECTRICITY_EQUIVALENT_SOURCE}."),
    ];
    if input.non_electric.is_some() {
        m.push("Carbon per unit of energy = Scope 2 CO2 of electricity / (electricity in tce + non-electric energy as declared); the CO2 of the non-electric energy is not on the ledger and is not included.".into());
    }
    m.push("Energy traded inside the park: distributed-trade (隔墙售电) certificates claimed by members, counted once for the buyer; 'between members' when the device's owner is a member.".into());
    m
}

/// `t` in `zone`: `2026-01-01T08:00+08:00`.
pub fn local_time(t: u64, zone: &Zone) -> String {
    super::hourly::local_time(t, zone.offset_s)
}

/// Millionths as a decimal: `123_456` → `"0.123456"`.
pub fn millionths(v: u64) -> String {
    format!("{}.{:06}", v / 1_000_000, v % 1_000_000)
}

/// Grams as kilograms with three decimals: `1_756_800` → `"1756.800 kg"`.
pub fn kg(g: u64) -> String {
    format!("{}.{:03} kg", g / 1000, g % 1000)
}

/// The park statement as text.
pub fn text(p: &ParkStatement) -> String {
    use std::fmt::Write as _;
    let mut o = String::new();
    let code = p.park.as_deref().map(|c| format!(" [{c}]")).unwrap_or_default();
    let _ = writeln!(o, "Park statement: {}{code} ({} members)", p.name, p.members.len());
    let _ = writeln!(
        o,
        "period {} .. {} (times in {}, UTC{})",
        local_time(p.period.start.0, &p.zone),
        local_time(p.period.end.0, &p.zone),
        p.zone.name,
        &local_time(0, &p.zone)[16..]
    );
    let _ =
        writeln!(o, "market-based factor   {} kgCO2/kWh: {}", p.factors.residual.kg_per_kwh, p.factors.residual.source);
    let _ = writeln!(
        o,
        "park location factor  {} kgCO2/kWh: {} (members use their own)",
        p.factors.location.kg_per_kwh, p.factors.location.source
    );
    let _ = writeln!(o, "\nMethod:");
    for m in &p.method {
        let _ = writeln!(o, "  - {m}");
    }
    let _ = writeln!(
        o,
        "\n{:<24} {:<14} {:>14} {:>12} {:>14} {:>9} {:>9} {:>16} {:>16}",
        "member", "site", "consumption Wh", "green Wh", "grid Wh", "clean", "24/7", "market-based", "location-based"
    );
    let row = |o: &mut String, label: &str, site: &str, f: &Figures| {
        let _ = writeln!(
            o,
            "{:<24} {:<14} {:>14} {:>12} {:>14} {:>9} {:>9} {:>16} {:>16}",
            label,
            site,
            f.consumption_wh,
            f.green_counted_wh,
            f.grid_wh,
            f.clean_share.percent(),
            f.hourly_matched.percent(),
            kg(f.market_based_g),
            kg(f.location_based_g)
        );
    };
    for m in &p.members {
        let name: String = m.name.chars().take(15).collect();
        let label = format!("{name} {}", m.account.get(..8).unwrap_or(&m.account));
        row(&mut o, &label, &m.province, &m.figures);
    }
    row(&mut o, "park total", "", &p.total);
    let _ = writeln!(o, "\nMembers:");
    for m in &p.members {
        let until = m.until.map_or("open".to_string(), |u| local_time(u, &p.zone));
        let f = m
            .location
            .as_ref()
            .map_or(String::new(), |f| format!("; location factor {} kgCO2/kWh ({})", f.kg_per_kwh, f.source));
        let _ = writeln!(
            o,
            "  {} member from {} until {until}: {} hours counted{f}",
            m.account.get(..16).unwrap_or(&m.account),
            local_time(m.from, &p.zone),
            m.hours
        );
    }
    if let Some(i) = &p.indicators {
        let _ = writeln!(o, "\nZero-carbon park indicators:");
        let _ = writeln!(
            o,
            "  clean share of electricity     {} (hourly matched {})",
            i.clean_share.percent(),
            i.hourly_matched.percent()
        );
        let _ = writeln!(o, "  Scope 2 market-based           {} CO2", kg(i.scope2_market_based_g));
        let _ = writeln!(o, "  Scope 2 location-based         {} CO2", kg(i.scope2_location_based_g));
        let _ = writeln!(
            o,
            "  electricity in coal equivalent {} ce ({})",
            kg(i.electricity_gce),
            i.electricity_equivalent_source
        );
        match (&i.non_electric_declared, i.total_energy_gce) {
            (Some(d), Some(t)) => {
                let _ = writeln!(o, "  non-electric energy (declared) {} tce", d.tce);
                let _ = writeln!(o, "  total energy                   {} ce", kg(t));
                let _ = writeln!(
                    o,
                    "  carbon per unit of energy      {} tCO2/tce market-based, {} location-based (electricity's CO2 only)",
                    i.market_based_per_tce_millionths.map_or("-".into(), millionths),
                    i.location_based_per_tce_millionths.map_or("-".into(), millionths)
                );
            }
            _ => {
                let _ = writeln!(
                    o,
                    "  carbon per unit of energy      not given: declare the non-electric energy (--non-electric-tce)"
                );
            }
        }
        let _ = writeln!(
            o,
            "  traded inside the park         {} Wh between members, {} Wh from sellers outside",
            i.traded_between_members_wh, i.traded_from_outside_wh
        );
    }
    for t in &p.inside {
        let seller = t.seller.get(..16).unwrap_or(&t.seller);
        let _ = writeln!(
            o,
            "    C{}: {} Wh from {} ({seller}{}) to {}",
            t.claim,
            t.counted_wh,
            t.device,
            if t.seller_is_member { ", member" } else { ", outside" },
            t.buyer.get(..16).unwrap_or(&t.buyer)
        );
    }
    if !p.hours.is_empty() {
        let _ = writeln!(
            o,
            "\n{:<24} {:>7} {:>14} {:>12} {:>12} {:>14} {:>12}",
            format!("hour ({})", p.zone.name),
            "members",
            "consumption Wh",
            "green Wh",
            "clean Wh",
            "grid Wh",
            "inside Wh"
        );
        for h in &p.hours {
            let _ = writeln!(
                o,
                "{:<24} {:>7} {:>14} {:>12} {:>12} {:>14} {:>12}",
                h.local, h.members, h.consumption_wh, h.green_wh, h.clean_wh, h.grid_wh, h.inside_wh
            );
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn park_files_name_their_members_by_hex_id() {
        let hex = "ab".repeat(32);
        let p = ParkSpec::from_json(&format!(r#"{{"name": "Park", "members": ["{hex}"]}}"#)).unwrap();
        assert_eq!(p.members, vec![AccountId([0xab; 32])]);
        assert!(ParkSpec::from_json(r#"{"name": "Park", "members": ["zz"]}"#).is_err());
        assert!(ParkSpec::from_json(r#"{"name": "Park", "members": [], "extra": 1}"#).is_err());
    }

    #[test]
    fn declared_tce_and_local_times_are_exact() {
        assert_eq!(Declared::parse_tce("1200.5").unwrap().kgce, 1_200_500);
        assert_eq!(Declared::parse_tce("3").unwrap().kgce, 3_000);
        for bad in ["", "1.2345", "-1", "1e3", "x"] {
            assert!(Declared::parse_tce(bad).is_err(), "{bad:?}");
        }
        let t = crate::calendar::unix(2025, 12, 31, 16, 0, 0);
        assert_eq!(local_time(t, &Zone::shanghai()), "2026-01-01T00:00+08:00");
        assert_eq!(local_time(t, &Zone::utc()), "2025-12-31T16:00+00:00");
        assert_eq!(millionths(1_234_567), "1.234567");
    }
}

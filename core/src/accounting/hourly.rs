//! The green consumption statement of one account over a period of whole hours.
//!
//! For every hour it shows the metered consumption, the green energy by source, and the 24/7
//! matched energy; over the whole period it shows the hourly-matched share and the conventional
//! annual-volume share side by side, and it lists every claim that backs the figures.
//!
//! # A MWh counts once
//!
//! Green energy is counted **only through the account's claims** (retired certificates). Direct
//! supply (绿电直连) and green-power trades (绿电交易) are not counted from the deliveries
//! themselves: the ledger issues their certificates to the consumer (bundles with origin
//! `DirectSupply` or `Trade`), and the consumer claims them by retirement. Counting both the
//! delivery and the certificate would count the same MWh twice, so deliveries appear only as
//! information (`delivered_*` figures), never in the green columns. The source column of a
//! claim's energy is the origin of the retired bundle:
//!
//! | bundle origin  | column         |
//! |----------------|----------------|
//! | `DirectSupply` | `direct_wh`    |
//! | `Trade`        | `trade_wh`     |
//! | `Issued`       | `certificates_wh` (certificates bought on the certificate market) |
//!
//! # Which claims count, and where
//!
//! The statement lists **every claim** that touches its period and was made for the account's
//! consumption (by the account itself or by another account naming it as beneficiary: the
//! ledger's `claims_for`) or by the account for someone else (`claims_of`). Each line says how
//! much of it counts here and, for the rest, why not:
//!
//! - a claim counts only in the statement of the account whose consumption caps it (the
//!   claimant, or the beneficiary account); a claim made **for another account's consumption**
//!   is listed in the claimant's statement with that reason and counts in the beneficiary's;
//! - a claim counts in the hours of its **consumption** interval (the ledger capped it by the
//!   readings there): energy in hours outside the period belongs to the statement of those hours,
//!   and a claim whose consumption lies wholly **outside the period** is listed with that reason.
//!
//! Claims touching the period in neither production nor consumption are not listed; the number
//! of them is given (`claims_elsewhere`), so the statements of all periods together account for
//! every claim. Each Wh of a claim lands in at most one hour, so the same MWh cannot back two
//! hours, nor two statements over disjoint periods.
//!
//! # Hourly means hourly
//!
//! Only a claim whose certificates were **produced over at most one hour**, inside the claim's
//! consumption interval, counts in the 24/7 matched share: its energy lands in the hour(s) of its
//! production (split by time, see [`super::spread`]). The energy of any other claim (monthly or
//! yearly certificates, or production outside its own consumption interval) is spread over its
//! consumption interval by time and counts **in the annual-volume share only**
//! (`annual_volume_only_wh`); it is green, but no hour can be said to be matched by it.
//!
//! # Time zone
//!
//! The statement is given in the policy's time zone (GEC: Asia/Shanghai, +08:00) and names it.
//! Hours are whole hours of UTC, which are whole hours of every zone with a whole-hour offset;
//! each hour is labelled in the zone (`2026-01-01T08:00+08:00`).
//!
//! # 24/7 matching
//!
//! The matched energy of an hour is the hourly green energy of that hour (claims produced over at
//! most one hour) capped at that hour's consumption. Surplus green energy in one hour is **not**
//! carried to another hour: it stays visible as `unmatched_green_wh`. The annual-volume share, by
//! contrast, is all green energy over total consumption for the whole period, capped at 100%.

use super::{spread, AccountingError, Period, Share, HOUR};
use crate::calendar;
use crate::policy::Zone;
use crate::state::{Claim, Consumption, Origin};
use crate::types::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// A claim together with the origin of the bundle it retired.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimRecord {
    pub claim: Claim,
    pub origin: Origin,
}

/// How green energy was delivered to a consumer before its certificates were issued.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeliveryKind {
    DirectSupply,
    Trade,
}

/// A direct-supply or green-power-trade allocation of a generation reading to the consumer.
/// Information only: the energy counts once its certificates are claimed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    pub device: DeviceId,
    pub interval: Interval,
    pub energy: Wh,
    pub kind: DeliveryKind,
    pub entry: LeafIndex,
}

/// Everything the statement of one account needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountRecords {
    pub account: AccountId,
    pub name: String,
    /// The policy's zone: the statement is given in it.
    pub zone: Zone,
    pub consumption: Vec<Consumption>,
    /// Every claim made for the account's consumption and every claim the account made; those
    /// touching neither the period's production nor its consumption are only counted.
    pub claims: Vec<ClaimRecord>,
    pub deliveries: Vec<Delivery>,
}

/// The source column a claim's energy lands in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    DirectSupply,
    Trade,
    Certificates,
}

impl Source {
    pub fn of(origin: Origin) -> Source {
        match origin {
            // Self-consumed output is delivered physically, as a direct line is; a
            // distributed trade in a park is a trade with the power.
            Origin::DirectSupply | Origin::SelfUse => Source::DirectSupply,
            Origin::Trade | Origin::Distributed => Source::Trade,
            Origin::Issued => Source::Certificates,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Source::DirectSupply => "direct supply",
            Source::Trade => "green-power trade",
            Source::Certificates => "certificates",
        }
    }
}

/// The part of one claim that backs one hour.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Backing {
    pub claim: u64,
    pub source: Source,
    pub wh: u64,
    /// Produced in this hour (counts in the 24/7 match); otherwise annual-volume only.
    #[serde(default)]
    pub hourly: bool,
}

/// One hour of the statement.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HourLine {
    /// Start of the hour, Unix seconds (UTC).
    pub start: u64,
    /// Start of the hour in the statement's zone, e.g. `2026-01-01T08:00+08:00`.
    #[serde(default)]
    pub local: String,
    pub consumption_wh: u64,
    pub direct_wh: u64,
    pub trade_wh: u64,
    pub certificates_wh: u64,
    /// `direct_wh + trade_wh + certificates_wh`: every claim counted in this hour.
    pub green_wh: u64,
    /// The part of `green_wh` produced in this very hour (claims produced over at most an hour).
    #[serde(default)]
    pub hourly_green_wh: u64,
    /// `min(hourly_green_wh, consumption_wh)`: green energy matched in this very hour.
    pub matched_wh: u64,
    /// The claims whose certificates back this hour, with the Wh of each.
    pub backing: Vec<Backing>,
    /// Delivered over a direct line to this account in this hour (information; counted only
    /// through claims).
    pub delivered_direct_wh: u64,
    /// Bought with the power in green-power trades settled before issuance (information).
    pub delivered_trade_wh: u64,
}

/// Sums over the period.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    pub consumption_wh: u64,
    pub direct_wh: u64,
    pub trade_wh: u64,
    pub certificates_wh: u64,
    pub green_wh: u64,
    /// Green energy produced in the hour it is counted in (claims produced over at most an hour).
    #[serde(default)]
    pub hourly_green_wh: u64,
    pub matched_wh: u64,
    /// Hourly green energy above the consumption of its own hour: not carried to other hours.
    pub unmatched_green_wh: u64,
    /// Green energy of claims produced over more than an hour (or outside their consumption
    /// interval): counted in the annual-volume share only.
    /// `green_wh = matched_wh + unmatched_green_wh + annual_volume_only_wh`.
    #[serde(default)]
    pub annual_volume_only_wh: u64,
    pub delivered_direct_wh: u64,
    pub delivered_trade_wh: u64,
    /// 24/7 share: matched / consumption.
    pub hourly_matched: Share,
    /// Conventional (annual-volume) share: green / consumption, capped at 100%.
    pub annual_volume: Share,
}

/// Why (part of) a claim listed in a statement does not count in it, or counts in the
/// annual-volume share only.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reason {
    /// Made by this account for another account's consumption: counts in that account's
    /// statement.
    AnotherAccountsConsumption,
    /// Claimed for consumption wholly outside the period: counts in the statement of that
    /// consumption.
    ConsumptionOutsidePeriod,
    /// The claim falls (partly) in hours outside the period (its production hour, or its
    /// consumption): that part counts in their statement.
    HoursOutsidePeriod,
    /// Produced over more than one hour: annual-volume share only, not hour by hour.
    ProducedOverMoreThanAnHour,
    /// Produced outside the consumption interval it was claimed for: annual-volume share only.
    ProducedOutsideItsConsumption,
}

impl Reason {
    pub fn describe(self) -> &'static str {
        match self {
            Reason::AnotherAccountsConsumption => {
                "claimed for another account's consumption: counts in that account's statement"
            }
            Reason::ConsumptionOutsidePeriod => "claimed for consumption outside this period: counts in that period",
            Reason::HoursOutsidePeriod => "in hours outside this period: that part counts in their statement",
            Reason::ProducedOverMoreThanAnHour => {
                "produced over more than one hour: annual-volume share only, not 24/7 matched"
            }
            Reason::ProducedOutsideItsConsumption => {
                "produced outside its consumption interval: annual-volume share only, not 24/7 matched"
            }
        }
    }
}

/// One claim touching the period, listed once, counted or not.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimLine {
    pub claim: u64,
    /// The claimant, hex.
    #[serde(default)]
    pub claimant: String,
    /// The account whose consumption caps the claim, hex.
    #[serde(default)]
    pub capped: String,
    pub source: Source,
    pub device: String,
    pub bundle: u64,
    pub entry: u64,
    /// Serial numbers `[start, end)`.
    #[serde(default)]
    pub serials: (u64, u64),
    pub energy_wh: u64,
    pub production: Interval,
    pub consumption: Interval,
    pub beneficiary: String,
    pub purpose: String,
    /// Counted in the 24/7 match (produced over at most an hour, inside its consumption).
    #[serde(default)]
    pub hourly: bool,
    /// Counted in the hours of this statement.
    pub counted_wh: u64,
    /// In hours outside the period: belongs to another statement (or, for a claim for another
    /// account, the whole claim: it belongs to that account's statement).
    pub outside_period_wh: u64,
    /// Why some or all of it does not count here, or counts in the annual volume only.
    #[serde(default)]
    pub reasons: Vec<Reason>,
}

/// The green consumption statement of an account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Statement {
    /// Account id, hex.
    pub account: String,
    pub name: String,
    pub period: Interval,
    /// The zone the statement is given in (the policy's), e.g. `Asia/Shanghai`.
    #[serde(default)]
    pub zone: String,
    /// Its offset from UTC, e.g. `+08:00`.
    #[serde(default)]
    pub utc_offset: String,
    pub hours: Vec<HourLine>,
    pub totals: Totals,
    pub claims: Vec<ClaimLine>,
    /// Claims of or for the account that touch this period neither by production nor by
    /// consumption: they count in the statements of their own periods.
    #[serde(default)]
    pub claims_elsewhere: u64,
}

/// `+08:00` for an offset of 28,800 s.
pub fn offset_label(offset_s: i32) -> String {
    let sign = if offset_s < 0 { '-' } else { '+' };
    let a = offset_s.unsigned_abs();
    format!("{sign}{:02}:{:02}", a / 3600, (a % 3600) / 60)
}

/// `t` in a zone `offset_s` east of UTC, to the minute: `2026-01-01T08:00+08:00`.
pub fn local_time(t: u64, offset_s: i32) -> String {
    let local = t.saturating_add_signed(offset_s as i64);
    let (y, mo, d, h, mi, _) = calendar::civil(local);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}{}", offset_label(offset_s))
}

/// Makes the statement of `records.account` over `[from, to)` (whole UTC hours).
pub fn statement(records: &AccountRecords, from: u64, to: u64) -> Result<Statement, AccountingError> {
    let period = Period::new(from, to)?;
    let account = records.account;
    let offset = records.zone.offset_s;
    let wrong = |found: &AccountId| AccountingError::WrongAccount { expected: account.short(), found: found.short() };
    let mut hours: Vec<HourLine> = (0..period.hours())
        .map(|i| HourLine {
            start: period.hour_start(i),
            local: local_time(period.hour_start(i), offset),
            ..HourLine::default()
        })
        .collect();

    for c in &records.consumption {
        if c.account != account {
            return Err(wrong(&c.account));
        }
        for (i, wh) in spread(c.energy.0, c.interval, &period).inside {
            add(&mut hours[i].consumption_wh, wh)?;
        }
    }

    for d in &records.deliveries {
        for (i, wh) in spread(d.energy.0, d.interval, &period).inside {
            let h = &mut hours[i];
            match d.kind {
                DeliveryKind::DirectSupply => add(&mut h.delivered_direct_wh, wh)?,
                DeliveryKind::Trade => add(&mut h.delivered_trade_wh, wh)?,
            }
        }
    }

    let mut seen = BTreeSet::new();
    let mut claims = Vec::new();
    let mut claims_elsewhere = 0u64;
    let mut ordered: Vec<&ClaimRecord> = records.claims.iter().collect();
    ordered.sort_by_key(|r| r.claim.id);
    for r in ordered {
        let c = &r.claim;
        if c.claimant != account && c.capped != account {
            return Err(wrong(&c.claimant));
        }
        if !seen.insert(c.id) {
            return Err(AccountingError::ClaimTwice { claim: c.id.to_string() });
        }
        if !c.production.overlaps(&period.interval) && !c.consumption.overlaps(&period.interval) {
            claims_elsewhere += 1;
            continue;
        }
        let mut line = claim_line(c, r.origin);
        if c.capped != account {
            line.outside_period_wh = c.energy.0;
            line.reasons.push(Reason::AnotherAccountsConsumption);
            claims.push(line);
            continue;
        }
        if c.production.seconds() > HOUR {
            line.reasons.push(Reason::ProducedOverMoreThanAnHour);
        } else if !c.consumption.contains(&c.production) {
            line.reasons.push(Reason::ProducedOutsideItsConsumption);
        }
        line.hourly = line.reasons.is_empty();
        // Hourly claims land in their production hours, the others over their consumption.
        let over = if line.hourly { c.production } else { c.consumption };
        let s = spread(c.energy.0, over, &period);
        line.outside_period_wh = s.outside;
        if s.outside > 0 {
            line.reasons.push(if s.inside.is_empty() && !c.consumption.overlaps(&period.interval) {
                Reason::ConsumptionOutsidePeriod
            } else {
                Reason::HoursOutsidePeriod
            });
        }
        for (i, wh) in s.inside {
            let h = &mut hours[i];
            add(&mut line.counted_wh, wh)?;
            let column = match line.source {
                Source::DirectSupply => &mut h.direct_wh,
                Source::Trade => &mut h.trade_wh,
                Source::Certificates => &mut h.certificates_wh,
            };
            add(column, wh)?;
            add(&mut h.green_wh, wh)?;
            if line.hourly {
                add(&mut h.hourly_green_wh, wh)?;
            }
            h.backing.push(Backing { claim: c.id.0, source: line.source, wh, hourly: line.hourly });
        }
        line.reasons.sort();
        claims.push(line);
    }

    for h in &mut hours {
        h.matched_wh = h.hourly_green_wh.min(h.consumption_wh);
    }
    let totals = totals(&hours)?;
    Ok(Statement {
        account: account.to_hex(),
        name: records.name.clone(),
        period: period.interval,
        zone: records.zone.name.clone(),
        utc_offset: offset_label(offset),
        hours,
        totals,
        claims,
        claims_elsewhere,
    })
}

fn claim_line(c: &Claim, origin: Origin) -> ClaimLine {
    ClaimLine {
        claim: c.id.0,
        claimant: c.claimant.to_hex(),
        capped: c.capped.to_hex(),
        source: Source::of(origin),
        device: c.device.0.clone(),
        bundle: c.bundle.0,
        entry: c.entry.0,
        serials: (c.serials.start.0, c.serials.end.0),
        energy_wh: c.energy.0,
        production: c.production,
        consumption: c.consumption,
        beneficiary: c.beneficiary.clone(),
        purpose: c.purpose.clone(),
        hourly: false,
        counted_wh: 0,
        outside_period_wh: 0,
        reasons: Vec::new(),
    }
}

fn totals(hours: &[HourLine]) -> Result<Totals, AccountingError> {
    let sum = |f: fn(&HourLine) -> u64| -> Result<u64, AccountingError> {
        hours.iter().try_fold(0u64, |acc, h| acc.checked_add(f(h))).ok_or(AccountingError::Overflow("statement totals"))
    };
    let consumption_wh = sum(|h| h.consumption_wh)?;
    let green_wh = sum(|h| h.green_wh)?;
    let hourly_green_wh = sum(|h| h.hourly_green_wh)?;
    let matched_wh = sum(|h| h.matched_wh)?;
    Ok(Totals {
        consumption_wh,
        direct_wh: sum(|h| h.direct_wh)?,
        trade_wh: sum(|h| h.trade_wh)?,
        certificates_wh: sum(|h| h.certificates_wh)?,
        green_wh,
        hourly_green_wh,
        matched_wh,
        unmatched_green_wh: hourly_green_wh - matched_wh,
        annual_volume_only_wh: green_wh - hourly_green_wh,
        delivered_direct_wh: sum(|h| h.delivered_direct_wh)?,
        delivered_trade_wh: sum(|h| h.delivered_trade_wh)?,
        hourly_matched: Share::of(matched_wh, consumption_wh),
        annual_volume: Share::of(green_wh, consumption_wh),
    })
}

fn add(into: &mut u64, wh: u64) -> Result<(), AccountingError> {
    *into = into.checked_add(wh).ok_or(AccountingError::Overflow("hourly energy"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Class;

    fn acct(n: u8) -> AccountId {
        AccountId([n; 32])
    }

    fn consumption(n: u64, wh: u64) -> Consumption {
        Consumption {
            account: acct(1),
            interval: Interval::new(n * HOUR, (n + 1) * HOUR),
            energy: Wh(wh),
            entry: LeafIndex(n),
            claimed: Wh::ZERO,
        }
    }

    fn claim(id: u64, production: Interval, consumption: Interval, wh: u64) -> Claim {
        Claim {
            id: ClaimId(id),
            claimant: acct(1),
            bundle: BundleId(id),
            serials: SerialRange::new(id * 10, id * 10 + 1),
            energy: Wh(wh),
            device: DeviceId("D".into()),
            production,
            beneficiary: "b".into(),
            purpose: "p".into(),
            consumption,
            entry: LeafIndex(100 + id),
            capped: acct(1),
            spec: None,
            purpose_code: None,
            origin: Origin::Issued,
            class: Class::Tradable,
            channel: Channel::Export,
        }
    }

    fn rec(claim: Claim, origin: Origin) -> ClaimRecord {
        ClaimRecord { claim, origin }
    }

    fn records(account: AccountId, consumption: Vec<Consumption>, claims: Vec<ClaimRecord>) -> AccountRecords {
        AccountRecords { account, name: "A".into(), zone: Zone::utc(), consumption, claims, deliveries: vec![] }
    }

    fn h(n: u64) -> Interval {
        Interval::new(n * HOUR, (n + 1) * HOUR)
    }

    #[test]
    fn surplus_stays_in_its_hour_and_sources_follow_the_origin() {
        let day = Interval::new(0, 2 * HOUR);
        let r = records(
            acct(1),
            vec![consumption(0, 1000), consumption(1, 1000)],
            vec![
                rec(claim(1, h(0), day, 1500), Origin::DirectSupply),
                rec(claim(2, h(1), day, 200), Origin::Issued),
                rec(claim(3, h(1), h(0), 300), Origin::Trade),
            ],
        );
        let s = statement(&r, 0, 2 * HOUR).unwrap();
        // Claim 3 was made for hour 0's consumption but produced in hour 1: it counts in hour 0,
        // in the annual volume only.
        assert_eq!((s.hours[0].direct_wh, s.hours[0].trade_wh, s.hours[0].matched_wh), (1500, 300, 1000));
        assert_eq!((s.hours[1].certificates_wh, s.hours[1].trade_wh, s.hours[1].matched_wh), (200, 0, 200));
        let t = &s.totals;
        assert_eq!((t.green_wh, t.hourly_green_wh, t.matched_wh), (2000, 1700, 1200));
        assert_eq!((t.unmatched_green_wh, t.annual_volume_only_wh), (500, 300));
        assert_eq!((t.hourly_matched.ppm, t.annual_volume.ppm), (600_000, 1_000_000));
        let c3 = s.claims.iter().find(|c| c.claim == 3).unwrap();
        assert_eq!(
            (c3.counted_wh, c3.hourly, c3.reasons.clone()),
            (300, false, vec![Reason::ProducedOutsideItsConsumption])
        );
    }

    #[test]
    fn production_over_more_than_an_hour_counts_in_the_annual_volume_only() {
        let day = Interval::new(0, 24 * HOUR);
        let r = records(
            acct(1),
            (0..24).map(|n| consumption(n, 1000)).collect(),
            vec![rec(claim(1, day, day, 2400), Origin::Issued)],
        );
        let s = statement(&r, 0, 24 * HOUR).unwrap();
        assert!(s.hours.iter().all(|h| h.green_wh == 100 && h.matched_wh == 0));
        assert_eq!((s.totals.green_wh, s.totals.matched_wh, s.totals.annual_volume_only_wh), (2400, 0, 2400));
        assert_eq!(s.claims[0].reasons, vec![Reason::ProducedOverMoreThanAnHour]);
        // Half the day: half the claim, the rest in the other half's statement.
        let s = statement(&r, 0, 12 * HOUR).unwrap();
        assert_eq!((s.claims[0].counted_wh, s.claims[0].outside_period_wh), (1200, 1200));
        assert_eq!(s.claims[0].reasons, vec![Reason::HoursOutsidePeriod, Reason::ProducedOverMoreThanAnHour]);
    }

    #[test]
    fn every_claim_is_listed_with_why_it_does_not_count() {
        let mut for_other = claim(1, h(0), h(0), 500);
        for_other.capped = acct(2);
        let two_hours = Interval::new(0, 2 * HOUR);
        let later = claim(2, two_hours, h(5), 700);
        let elsewhere = claim(3, h(10), h(10), 900);
        let mine = claim(4, h(1), two_hours, 400);
        let all = vec![
            rec(for_other.clone(), Origin::Issued),
            rec(later, Origin::Issued),
            rec(elsewhere, Origin::Issued),
            rec(mine, Origin::Issued),
        ];
        let s = statement(&records(acct(1), vec![], all), 0, 2 * HOUR).unwrap();
        let why: Vec<(u64, u64, Vec<Reason>)> =
            s.claims.iter().map(|c| (c.claim, c.counted_wh, c.reasons.clone())).collect();
        assert_eq!(
            why,
            vec![
                (1, 0, vec![Reason::AnotherAccountsConsumption]),
                (2, 0, vec![Reason::ConsumptionOutsidePeriod, Reason::ProducedOverMoreThanAnHour]),
                (4, 400, vec![]),
            ]
        );
        assert_eq!((s.claims_elsewhere, s.totals.green_wh), (1, 400));
        // The claim for account 2 counts in account 2's statement.
        let s = statement(&records(acct(2), vec![], vec![rec(for_other, Origin::Issued)]), 0, HOUR).unwrap();
        assert_eq!((s.claims[0].counted_wh, s.totals.matched_wh), (500, 0));
        // A claim neither by nor for the account is refused.
        let mut stranger = claim(5, h(0), h(0), 1);
        (stranger.claimant, stranger.capped) = (acct(3), acct(3));
        let r = records(acct(1), vec![], vec![rec(stranger, Origin::Issued)]);
        assert!(matches!(statement(&r, 0, HOUR), Err(AccountingError::WrongAccount { .. })));
    }

    #[test]
    fn hours_are_labelled_in_the_policy_zone() {
        let mut r = records(acct(1), vec![], vec![]);
        r.zone = Zone::shanghai();
        let s = statement(&r, 16 * HOUR, 18 * HOUR).unwrap();
        assert_eq!((s.zone.as_str(), s.utc_offset.as_str()), ("Asia/Shanghai", "+08:00"));
        assert_eq!(s.hours[0].local, "1970-01-02T00:00+08:00");
        assert_eq!(local_time(86_400, -(5 * 3600 + 1800)), "1970-01-01T18:30-05:30");
    }

    #[test]
    fn a_claim_listed_twice_is_refused() {
        let c = rec(claim(1, h(0), h(0), 1), Origin::Issued);
        let r = records(acct(1), vec![], vec![c.clone(), c]);
        assert!(matches!(statement(&r, 0, HOUR), Err(AccountingError::ClaimTwice { .. })));
    }
}

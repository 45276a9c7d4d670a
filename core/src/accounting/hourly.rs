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
//! A claim's energy is attributed to the hour(s) of the certificates' **production** interval,
//! split by time when the production interval spans several hours (integer split that loses no
//! Wh, see [`super::spread`]). It counts in an hour only when the claim was made for consumption
//! that overlaps that hour: green supply counts against the consumption it was claimed for. Energy
//! of a claim produced outside the period belongs to the statement of that other period, and
//! energy claimed for other consumption is shown per claim as `not_for_this_consumption_wh` but
//! not counted. Each claim is listed once, each of its Wh lands in at most one hour, so the same
//! MWh cannot back two hours, nor two statements over disjoint periods.
//!
//! # 24/7 matching
//!
//! The matched energy of an hour is the green energy of that hour capped at that hour's
//! consumption. Surplus green energy in one hour is **not** carried to another hour: it stays
//! visible as `unmatched_green_wh`. The annual-volume share, by contrast, is total green over
//! total consumption for the whole period, capped at 100%.

use super::{spread, AccountingError, Period, Share, HOUR};
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
    pub consumption: Vec<Consumption>,
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
}

/// One hour of the statement.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HourLine {
    /// Start of the hour, Unix seconds (UTC).
    pub start: u64,
    pub consumption_wh: u64,
    pub direct_wh: u64,
    pub trade_wh: u64,
    pub certificates_wh: u64,
    /// `direct_wh + trade_wh + certificates_wh`.
    pub green_wh: u64,
    /// `min(green_wh, consumption_wh)`: green energy matched in this very hour.
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
    pub matched_wh: u64,
    /// Green energy above the consumption of its own hour: not carried to other hours.
    pub unmatched_green_wh: u64,
    pub delivered_direct_wh: u64,
    pub delivered_trade_wh: u64,
    /// 24/7 share: matched / consumption.
    pub hourly_matched: Share,
    /// Conventional (annual-volume) share: green / consumption, capped at 100%.
    pub annual_volume: Share,
}

/// One claim of the account touching the period, listed once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimLine {
    pub claim: u64,
    pub source: Source,
    pub device: String,
    pub bundle: u64,
    pub entry: u64,
    pub energy_wh: u64,
    pub production: Interval,
    pub consumption: Interval,
    pub beneficiary: String,
    pub purpose: String,
    /// Counted in the hours of this statement.
    pub counted_wh: u64,
    /// Produced in hours outside the period: belongs to another statement.
    pub outside_period_wh: u64,
    /// Produced in the period but claimed for consumption that does not overlap its hour.
    pub not_for_this_consumption_wh: u64,
}

/// The green consumption statement of an account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Statement {
    /// Account id, hex.
    pub account: String,
    pub name: String,
    pub period: Interval,
    pub hours: Vec<HourLine>,
    pub totals: Totals,
    pub claims: Vec<ClaimLine>,
}

/// Makes the statement of `records.account` over `[from, to)` (whole UTC hours).
pub fn statement(records: &AccountRecords, from: u64, to: u64) -> Result<Statement, AccountingError> {
    let period = Period::new(from, to)?;
    let account = records.account;
    let wrong = |found: &AccountId| AccountingError::WrongAccount { expected: account.short(), found: found.short() };
    let mut hours: Vec<HourLine> =
        (0..period.hours()).map(|i| HourLine { start: period.hour_start(i), ..HourLine::default() }).collect();

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
    let mut ordered: Vec<&ClaimRecord> = records.claims.iter().collect();
    ordered.sort_by_key(|r| r.claim.id);
    for r in ordered {
        let c = &r.claim;
        if c.claimant != account {
            return Err(wrong(&c.claimant));
        }
        if !seen.insert(c.id) {
            return Err(AccountingError::ClaimTwice { claim: c.id.to_string() });
        }
        let source = Source::of(r.origin);
        let s = spread(c.energy.0, c.production, &period);
        let mut line = ClaimLine {
            claim: c.id.0,
            source,
            device: c.device.0.clone(),
            bundle: c.bundle.0,
            entry: c.entry.0,
            energy_wh: c.energy.0,
            production: c.production,
            consumption: c.consumption,
            beneficiary: c.beneficiary.clone(),
            purpose: c.purpose.clone(),
            counted_wh: 0,
            outside_period_wh: s.outside,
            not_for_this_consumption_wh: 0,
        };
        for (i, wh) in s.inside {
            let h = &mut hours[i];
            if !c.consumption.overlaps(&Interval::new(h.start, h.start + HOUR)) {
                add(&mut line.not_for_this_consumption_wh, wh)?;
                continue;
            }
            add(&mut line.counted_wh, wh)?;
            let column = match source {
                Source::DirectSupply => &mut h.direct_wh,
                Source::Trade => &mut h.trade_wh,
                Source::Certificates => &mut h.certificates_wh,
            };
            add(column, wh)?;
            add(&mut h.green_wh, wh)?;
            h.backing.push(Backing { claim: c.id.0, source, wh });
        }
        if line.counted_wh > 0 || line.not_for_this_consumption_wh > 0 {
            claims.push(line);
        }
    }

    for h in &mut hours {
        h.matched_wh = h.green_wh.min(h.consumption_wh);
    }
    let totals = totals(&hours)?;
    Ok(Statement {
        account: account.to_hex(),
        name: records.name.clone(),
        period: period.interval,
        hours,
        totals,
        claims,
    })
}

fn totals(hours: &[HourLine]) -> Result<Totals, AccountingError> {
    let sum = |f: fn(&HourLine) -> u64| -> Result<u64, AccountingError> {
        hours.iter().try_fold(0u64, |acc, h| acc.checked_add(f(h))).ok_or(AccountingError::Overflow("statement totals"))
    };
    let consumption_wh = sum(|h| h.consumption_wh)?;
    let green_wh = sum(|h| h.green_wh)?;
    let matched_wh = sum(|h| h.matched_wh)?;
    Ok(Totals {
        consumption_wh,
        direct_wh: sum(|h| h.direct_wh)?,
        trade_wh: sum(|h| h.trade_wh)?,
        certificates_wh: sum(|h| h.certificates_wh)?,
        green_wh,
        matched_wh,
        unmatched_green_wh: green_wh - matched_wh,
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
        }
    }

    fn h(n: u64) -> Interval {
        Interval::new(n * HOUR, (n + 1) * HOUR)
    }

    #[test]
    fn surplus_stays_in_its_hour_and_sources_follow_the_origin() {
        let day = Interval::new(0, 2 * HOUR);
        let records = AccountRecords {
            account: acct(1),
            name: "A".into(),
            consumption: vec![consumption(0, 1000), consumption(1, 1000)],
            claims: vec![
                ClaimRecord { claim: claim(1, h(0), day, 1500), origin: Origin::DirectSupply },
                ClaimRecord { claim: claim(2, h(1), day, 200), origin: Origin::Issued },
                ClaimRecord { claim: claim(3, h(1), h(0), 300), origin: Origin::Trade },
            ],
            deliveries: vec![],
        };
        let s = statement(&records, 0, 2 * HOUR).unwrap();
        assert_eq!((s.hours[0].direct_wh, s.hours[0].matched_wh), (1500, 1000));
        assert_eq!((s.hours[1].certificates_wh, s.hours[1].trade_wh, s.hours[1].matched_wh), (200, 0, 200));
        assert_eq!((s.totals.green_wh, s.totals.matched_wh, s.totals.unmatched_green_wh), (1700, 1200, 500));
        assert_eq!(s.totals.hourly_matched.ppm, 600_000);
        assert_eq!(s.totals.annual_volume.ppm, 850_000);
        // Claim 3 was made for hour 0's consumption but produced in hour 1: not counted.
        let c3 = s.claims.iter().find(|c| c.claim == 3).unwrap();
        assert_eq!((c3.counted_wh, c3.not_for_this_consumption_wh), (0, 300));
    }

    #[test]
    fn a_claim_listed_twice_is_refused() {
        let c = ClaimRecord { claim: claim(1, h(0), h(0), 1), origin: Origin::Issued };
        let records = AccountRecords {
            account: acct(1),
            name: "A".into(),
            consumption: vec![],
            claims: vec![c.clone(), c],
            deliveries: vec![],
        };
        assert!(matches!(statement(&records, 0, HOUR), Err(AccountingError::ClaimTwice { .. })));
    }
}

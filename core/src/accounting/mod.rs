//! Green-consumption accounting: pure functions from ledger records to statements.
//!
//! Nothing here touches storage, the network or a clock: the caller hands in records and gets
//! back a statement it can print as text or JSON. Gathering the records from a running ledger
//! and signing at a settled head is the main crate's `statements` module.
//!
//! Layout:
//! - [`hourly`]: the green consumption statement of one account, hour by hour, with 24/7 matching
//!   and the conventional annual-volume share side by side.
//! - [`cancellation`]: the cancellation certificate (注销证明) of a beneficiary account and
//!   reporting period: every claim for it with the attributes RE100/CDP reporting asks for.
//! - [`park`]: a zero-carbon park registered on the ledger: its members for the hours they are
//!   members, hour by hour and member by member, with the park indicators (clean share, Scope 2
//!   market-based and location-based with each member's own factor, carbon per unit of energy,
//!   energy traded inside the park).
//! - [`product`]: a product batch: green electricity per unit, source mix, footprint at lifecycle
//!   and residual factors, and the direct-supply evidence CBAM accepts.
//! - [`factors`]: emission factors as integers (milligrams CO2 per kWh), the published Chinese
//!   factors, lifecycle factors and province-to-grid map embedded from
//!   `data/china-grid-factors.json`, and integer emission arithmetic.
//! - [`chart`]: the pages' charts (hourly stacked bars by source, breakdowns) drawn with the SVG
//!   backend of `plotters`; figures for people (thousands separators, MWh, t CO2).
//! - [`html`]: self-contained HTML pages with inline SVG charts, naming the checkpoint and factors.
//! - [`signed`]: statements as canonical JSON signed as C2SP signed notes with the ledger's
//!   log key, naming the checkpoint they were computed at; opening and checking them offline.
//!
//! The one rule that keeps every figure honest: **a MWh counts once**. Green energy enters a
//! statement only through the account's claims (retired certificates); see [`hourly`].

pub mod cancellation;
pub mod chart;
pub mod factors;
pub mod hourly;
pub mod html;
pub mod park;
pub mod product;
pub mod signed;

use crate::types::{Interval, Timestamp};
use serde::{Deserialize, Serialize};

/// Seconds in an hour: statements are bucketed by UTC hour (China Standard Time is UTC+8, so
/// its hours are the same buckets).
pub const HOUR: u64 = 3600;

/// Longest statement period, in hours (two leap years).
pub const MAX_HOURS: u64 = 2 * 366 * 24;

/// A decimal with at most three decimals, as thousandths: `"1200.5"` is 1,200,500. `unit` and
/// `example` name the amount in the error (`"tce"`, `"1200.5"`).
pub fn parse_thousandths(s: &str, unit: &str, example: &str) -> Result<u64, AccountingError> {
    let bad =
        || AccountingError::Factor(format!("{s:?} is not an amount in {unit} such as {example} (at most 3 decimals)"));
    let t = s.trim();
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    if (int.is_empty() && frac.is_empty())
        || frac.len() > 3
        || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    let whole: u64 = if int.is_empty() { 0 } else { int.parse().map_err(|_| bad())? };
    let part: u64 =
        if frac.is_empty() { 0 } else { frac.parse::<u64>().map_err(|_| bad())? * 10u64.pow(3 - frac.len() as u32) };
    whole.checked_mul(1000).and_then(|w| w.checked_add(part)).ok_or_else(bad)
}

/// Why a statement could not be made.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AccountingError {
    #[error("statement period {from} .. {to} must start before it ends and both ends must fall on a whole UTC hour (multiples of 3600 s)")]
    BadPeriod { from: Timestamp, to: Timestamp },
    #[error("statement period {from} .. {to} spans {hours} hours; at most {max} hours fit in one statement")]
    PeriodTooLong { from: Timestamp, to: Timestamp, hours: u64, max: u64 },
    #[error("record of account {found} given for the statement of account {expected}")]
    WrongAccount { expected: String, found: String },
    #[error("claim {claim} is listed twice; each claim may be counted once")]
    ClaimTwice { claim: String },
    #[error("account {account} is listed twice in park {park:?}; each member may be counted once")]
    MemberTwice { park: String, account: String },
    #[error("park {park:?} has no members")]
    NoMembers { park: String },
    #[error("member statements of park {park:?} cover different periods: {first} and {other}")]
    MixedPeriods { park: String, first: Interval, other: Interval },
    #[error("emission factor: {0}")]
    Factor(String),
    #[error("amount overflow: {0}")]
    Overflow(&'static str),
}

/// A share as an exact fraction of watt-hours and, for display, in parts per million (rounded
/// down, capped at 1,000,000 = 100%).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Share {
    pub numerator_wh: u64,
    pub denominator_wh: u64,
    pub ppm: u64,
}

impl Share {
    /// `numerator / denominator`, capped at 100%; 0 when there is no denominator.
    pub fn of(numerator_wh: u64, denominator_wh: u64) -> Share {
        let capped = numerator_wh.min(denominator_wh);
        let ppm = if denominator_wh == 0 { 0 } else { (capped as u128 * 1_000_000 / denominator_wh as u128) as u64 };
        Share { numerator_wh: capped, denominator_wh, ppm }
    }

    /// Percent with two decimals, rounded down: `"83.33%"`.
    pub fn percent(&self) -> String {
        format!("{}.{:02}%", self.ppm / 10_000, (self.ppm % 10_000) / 100)
    }
}

/// A checked statement period: whole hours, `[from, to)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period {
    pub interval: Interval,
}

impl Period {
    pub fn new(from: u64, to: u64) -> Result<Period, AccountingError> {
        if from >= to || !from.is_multiple_of(HOUR) || !to.is_multiple_of(HOUR) {
            return Err(AccountingError::BadPeriod { from: Timestamp(from), to: Timestamp(to) });
        }
        let hours = (to - from) / HOUR;
        if hours > MAX_HOURS {
            return Err(AccountingError::PeriodTooLong {
                from: Timestamp(from),
                to: Timestamp(to),
                hours,
                max: MAX_HOURS,
            });
        }
        Ok(Period { interval: Interval::new(from, to) })
    }

    pub fn hours(&self) -> usize {
        ((self.interval.end.0 - self.interval.start.0) / HOUR) as usize
    }

    /// Start of hour `i` of the period.
    pub fn hour_start(&self, i: usize) -> u64 {
        self.interval.start.0 + i as u64 * HOUR
    }
}

/// How an amount spread over an interval falls into the hours of a period.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Spread {
    /// `(hour index in the period, Wh)`, only hours with energy.
    pub inside: Vec<(usize, u64)>,
    /// The part that falls in hours outside the period.
    pub outside: u64,
}

/// Spreads `energy` over `interval` in proportion to time, hour bucket by hour bucket, with
/// integer arithmetic that loses nothing: the share of bucket k is
/// `floor(E * t_k / T) - floor(E * t_(k-1) / T)` where `t_k` is the time from the interval's start
/// to the end of bucket k. The parts add up to `energy` exactly.
pub fn spread(energy: u64, interval: Interval, period: &Period) -> Spread {
    let (start, end) = (interval.start.0, interval.end.0);
    let mut out = Spread::default();
    if energy == 0 {
        return out;
    }
    if start >= end {
        // A degenerate interval: all of it belongs to the hour it names.
        match bucket_index(start, period) {
            Some(i) => out.inside.push((i, energy)),
            None => out.outside = energy,
        }
        return out;
    }
    let total = (end - start) as u128;
    let mut before = 0u64;
    let mut t = start;
    while t < end {
        let bucket_end = (t / HOUR + 1) * HOUR;
        let upto = bucket_end.min(end);
        let cumulative = (energy as u128 * (upto - start) as u128 / total) as u64;
        let part = cumulative - before;
        before = cumulative;
        if part > 0 {
            match bucket_index(t, period) {
                Some(i) => out.inside.push((i, part)),
                None => out.outside += part,
            }
        }
        t = upto;
    }
    out
}

fn bucket_index(t: u64, period: &Period) -> Option<usize> {
    let (from, to) = (period.interval.start.0, period.interval.end.0);
    (t >= from && t < to).then(|| ((t - from) / HOUR) as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_loses_nothing_and_splits_by_time() {
        let p = Period::new(0, 4 * HOUR).unwrap();
        // 1000 Wh over 90 minutes from 00:30: a third in hour 0, two thirds in hour 1.
        let s = spread(1000, Interval::new(1800, 1800 + 5400), &p);
        assert_eq!(s.inside, vec![(0, 333), (1, 667)]);
        assert_eq!(s.outside, 0);
        // An interval running past the period: the rest is outside.
        let s = spread(10, Interval::new(3 * HOUR, 5 * HOUR), &p);
        assert_eq!((s.inside, s.outside), (vec![(3, 5)], 5));
    }

    #[test]
    fn periods_must_be_whole_hours() {
        assert!(Period::new(0, HOUR).is_ok());
        assert!(Period::new(1, HOUR).is_err());
        assert!(Period::new(HOUR, HOUR).is_err());
        assert!(Period::new(0, (MAX_HOURS + 1) * HOUR).is_err());
    }

    #[test]
    fn shares_are_capped_and_exact() {
        let s = Share::of(5, 6);
        assert_eq!((s.ppm, s.percent()), (833_333, "83.33%".to_string()));
        assert_eq!(Share::of(7, 6).ppm, 1_000_000);
        assert_eq!(Share::of(7, 0).ppm, 0);
    }
}

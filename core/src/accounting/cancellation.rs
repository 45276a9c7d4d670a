//! The cancellation certificate (注销证明): every claim made for one beneficiary account in one
//! reporting period, with the attributes RE100 and CDP reporting asks for, and totals.
//!
//! It is the document an enterprise attaches to an RE100 or CDP disclosure (and what EnergyTag
//! calls a cancellation statement): for each claim the retirement entry, the instrument type
//! (bundled green-power trade, unbundled certificate, direct supply), the certificates' class, the
//! province and technology of the device, the vintage (month of production in the policy's zone),
//! the device's commissioning date, the serial numbers, the energy, beneficiary and purpose.
//!
//! Which claims: those **capped by the beneficiary account** (the ledger's `claims_for`: made by
//! the account itself, or by another account naming it as beneficiary) whose consumption interval
//! starts in the reporting period. A claim lies in one reporting period by rule, so each claim is
//! on exactly one certificate of its beneficiary.
//!
//! RE100's age criterion: a device commissioned (or repowered) more than 15 years before the start
//! of the reporting year is flagged (`older_than_15_years`); whether an exemption applies (own
//! installation, a long-standing contract) is for the reporting company to show.
//!
//! Totals are integer Wh, by instrument type, class, province, technology and vintage; each
//! grouping adds up to the certificate's total.

use super::hourly::{local_time, offset_label};
use super::AccountingError;
use crate::policy::Zone;
use crate::state::{Claim, Origin};
use crate::types::*;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// RE100: devices older than this, in years before the reporting year, are flagged.
pub const MAX_AGE_YEARS: i64 = 15;

/// How the certificates of a claim reached the market.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Instrument {
    /// Green-power trade: the certificates travelled with the power (证电合一, 绿电交易).
    BundledTrade,
    /// A certificate bought on its own (单独交易绿证).
    UnbundledCertificate,
    /// Direct supply over a dedicated line or self-use behind the meter (绿电直连, 自发自用).
    DirectSupply,
}

impl Instrument {
    pub fn of(origin: Origin) -> Instrument {
        match origin {
            Origin::Trade | Origin::Distributed => Instrument::BundledTrade,
            Origin::Issued => Instrument::UnbundledCertificate,
            Origin::DirectSupply | Origin::SelfUse => Instrument::DirectSupply,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Instrument::BundledTrade => "bundled-trade",
            Instrument::UnbundledCertificate => "unbundled-certificate",
            Instrument::DirectSupply => "direct-supply",
        }
    }
    /// English and Chinese.
    pub fn label(self) -> &'static str {
        match self {
            Instrument::BundledTrade => "bundled green-power trade (绿电交易)",
            Instrument::UnbundledCertificate => "unbundled certificate (单独交易绿证)",
            Instrument::DirectSupply => "direct supply (绿电直连/自发自用)",
        }
    }
}

/// A claim with the attributes of its device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CancelledClaim {
    pub claim: Claim,
    pub region: String,
    pub technology: Technology,
    pub commissioned: Timestamp,
}

/// Everything the certificate of one beneficiary and reporting period needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CancellationRecords {
    pub beneficiary: AccountId,
    pub name: String,
    /// The reporting period and its name (`2026`).
    pub period: Interval,
    pub period_name: String,
    pub zone: Zone,
    /// Claims capped by the beneficiary; those of other periods are only counted.
    pub claims: Vec<CancelledClaim>,
}

/// One claim on the certificate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    pub claim: u64,
    /// Log index of the retirement entry.
    pub entry: u64,
    /// Who retired the certificates, hex.
    pub claimant: String,
    pub instrument: Instrument,
    pub class: String,
    /// The device's province (region).
    pub province: String,
    pub technology: String,
    /// Month of production in the policy's zone, `YYYY-MM`.
    pub vintage: String,
    pub production: Interval,
    pub device: String,
    /// Commissioning date in the policy's zone, `YYYY-MM-DD`.
    pub commissioned: String,
    /// Commissioned more than 15 years before the reporting year started (RE100).
    pub older_than_15_years: bool,
    /// Serial numbers `[start, end)`.
    pub serials: (u64, u64),
    pub energy_wh: u64,
    pub beneficiary: String,
    pub purpose: String,
    pub consumption: Interval,
}

/// Claims and energy of one group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Total {
    pub key: String,
    pub claims: u64,
    pub energy_wh: u64,
}

/// Totals of the certificate; every grouping adds up to `energy_wh`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    pub claims: u64,
    pub energy_wh: u64,
    pub by_instrument: Vec<Total>,
    pub by_class: Vec<Total>,
    pub by_province: Vec<Total>,
    pub by_technology: Vec<Total>,
    pub by_vintage: Vec<Total>,
    /// Energy from devices flagged by the 15-year rule.
    pub older_than_15_years_wh: u64,
}

/// The cancellation certificate of a beneficiary account for a reporting period.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Certificate {
    /// Beneficiary account id, hex.
    pub beneficiary: String,
    pub name: String,
    pub reporting_period: String,
    pub period: Interval,
    /// The policy's zone, e.g. `Asia/Shanghai`, and its offset, `+08:00`.
    pub zone: String,
    pub utc_offset: String,
    pub claims: Vec<Line>,
    pub totals: Totals,
    /// Claims for the beneficiary in other reporting periods (on their own certificates).
    pub other_periods: u64,
}

/// Makes the certificate of `records.beneficiary` for `records.period`.
pub fn certificate(records: &CancellationRecords) -> Result<Certificate, AccountingError> {
    let zone = &records.zone;
    let (year, month) = zone.month_of(records.period.start);
    let cutoff = zone.month_start(year - MAX_AGE_YEARS, month);
    let mut seen = BTreeSet::new();
    let mut lines = Vec::new();
    let mut other_periods = 0;
    let mut ordered: Vec<&CancelledClaim> = records.claims.iter().collect();
    ordered.sort_by_key(|r| r.claim.id);
    for r in ordered {
        let c = &r.claim;
        if c.capped != records.beneficiary {
            return Err(AccountingError::WrongAccount {
                expected: records.beneficiary.short(),
                found: c.capped.short(),
            });
        }
        if !seen.insert(c.id) {
            return Err(AccountingError::ClaimTwice { claim: c.id.to_string() });
        }
        let t = c.consumption.start;
        if t < records.period.start || t >= records.period.end {
            other_periods += 1;
            continue;
        }
        let (vy, vm) = zone.month_of(c.production.start);
        lines.push(Line {
            claim: c.id.0,
            entry: c.entry.0,
            claimant: c.claimant.to_hex(),
            instrument: Instrument::of(c.origin),
            class: c.class.name().to_string(),
            province: r.region.clone(),
            technology: r.technology.name().to_string(),
            vintage: format!("{vy:04}-{vm:02}"),
            production: c.production,
            device: c.device.0.clone(),
            commissioned: local_time(r.commissioned.0, zone.offset_s)[..10].to_string(),
            older_than_15_years: r.commissioned < cutoff,
            serials: (c.serials.start.0, c.serials.end.0),
            energy_wh: c.energy.0,
            beneficiary: c.beneficiary.clone(),
            purpose: c.purpose.clone(),
            consumption: c.consumption,
        });
    }
    let totals = totals(&lines)?;
    Ok(Certificate {
        beneficiary: records.beneficiary.to_hex(),
        name: records.name.clone(),
        reporting_period: records.period_name.clone(),
        period: records.period,
        zone: zone.name.clone(),
        utc_offset: offset_label(zone.offset_s),
        claims: lines,
        totals,
        other_periods,
    })
}

fn totals(lines: &[Line]) -> Result<Totals, AccountingError> {
    let overflow = || AccountingError::Overflow("cancellation totals");
    let group = |key: fn(&Line) -> String| -> Result<Vec<Total>, AccountingError> {
        let mut m: BTreeMap<String, (u64, u64)> = BTreeMap::new();
        for l in lines {
            let e = m.entry(key(l)).or_default();
            e.0 += 1;
            e.1 = e.1.checked_add(l.energy_wh).ok_or_else(overflow)?;
        }
        Ok(m.into_iter().map(|(key, (claims, energy_wh))| Total { key, claims, energy_wh }).collect())
    };
    let sum = |old: bool| {
        lines
            .iter()
            .filter(|l| !old || l.older_than_15_years)
            .try_fold(0u64, |a, l| a.checked_add(l.energy_wh))
            .ok_or_else(overflow)
    };
    Ok(Totals {
        claims: lines.len() as u64,
        energy_wh: sum(false)?,
        by_instrument: group(|l| l.instrument.name().to_string())?,
        by_class: group(|l| l.class.clone())?,
        by_province: group(|l| l.province.clone())?,
        by_technology: group(|l| l.technology.clone())?,
        by_vintage: group(|l| l.vintage.clone())?,
        older_than_15_years_wh: sum(true)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::unix;
    use crate::policy::Class;

    fn acct(n: u8) -> AccountId {
        AccountId([n; 32])
    }

    fn claim(id: u64, claimant: u8, month: u32, wh: u64, origin: Origin) -> Claim {
        let t = unix(2026, month, 1, 0, 0, 0);
        Claim {
            id: ClaimId(id),
            claimant: acct(claimant),
            bundle: BundleId(id),
            serials: SerialRange::new(id * 10, id * 10 + 1),
            energy: Wh(wh),
            device: DeviceId("D".into()),
            production: Interval::new(t, t + 3600),
            beneficiary: "b".into(),
            purpose: "p".into(),
            consumption: Interval::new(t, t + 3600),
            entry: LeafIndex(100 + id),
            capped: acct(1),
            spec: None,
            purpose_code: None,
            origin,
            class: Class::Tradable,
            channel: Channel::Export,
        }
    }

    fn cancelled(claim: Claim, region: &str, commissioned_year: i64) -> CancelledClaim {
        CancelledClaim {
            claim,
            region: region.into(),
            technology: Technology::Solar,
            commissioned: Timestamp(unix(commissioned_year, 6, 1, 0, 0, 0)),
        }
    }

    #[test]
    fn totals_add_up_by_every_grouping_and_old_devices_are_flagged() {
        let zone = Zone::shanghai();
        let period = Interval { start: zone.month_start(2026, 1), end: zone.month_start(2027, 1) };
        let records = CancellationRecords {
            beneficiary: acct(1),
            name: "Factory".into(),
            period,
            period_name: "2026".into(),
            zone,
            claims: vec![
                cancelled(claim(1, 1, 3, 1000, Origin::Issued), "jiangsu", 2020),
                cancelled(claim(2, 2, 3, 2000, Origin::Trade), "gansu", 2010),
                cancelled(claim(3, 1, 5, 4000, Origin::DirectSupply), "gansu", 2011),
            ],
        };
        let c = certificate(&records).unwrap();
        assert_eq!((c.totals.claims, c.totals.energy_wh, c.other_periods), (3, 7000, 0));
        let keys = |t: &[Total]| t.iter().map(|t| (t.key.clone(), t.energy_wh)).collect::<Vec<_>>();
        assert_eq!(
            keys(&c.totals.by_instrument),
            vec![
                ("bundled-trade".into(), 2000),
                ("direct-supply".into(), 4000),
                ("unbundled-certificate".into(), 1000)
            ]
        );
        assert_eq!(keys(&c.totals.by_province), vec![("gansu".into(), 6000), ("jiangsu".into(), 1000)]);
        assert_eq!(keys(&c.totals.by_vintage), vec![("2026-03".into(), 3000), ("2026-05".into(), 4000)]);
        // Commissioned June 2010: more than 15 years before 2026; June 2011 is not.
        let old: Vec<u64> = c.claims.iter().filter(|l| l.older_than_15_years).map(|l| l.claim).collect();
        assert_eq!((old, c.totals.older_than_15_years_wh), (vec![2], 2000));
        assert_eq!((c.utc_offset.as_str(), c.claims[0].commissioned.as_str()), ("+08:00", "2020-06-01"));
    }

    #[test]
    fn claims_of_other_periods_and_other_beneficiaries() {
        let zone = Zone::utc();
        let period = Interval { start: zone.month_start(2026, 4), end: zone.month_start(2027, 4) };
        let records = CancellationRecords {
            beneficiary: acct(1),
            name: "F".into(),
            period,
            period_name: "2026/27".into(),
            zone,
            claims: vec![cancelled(claim(1, 1, 3, 1, Origin::Issued), "x", 2020)],
        };
        let c = certificate(&records).unwrap();
        assert_eq!((c.claims.len(), c.other_periods), (0, 1));
        let mut other = records.clone();
        other.claims[0].claim.capped = acct(2);
        assert!(matches!(certificate(&other), Err(AccountingError::WrongAccount { .. })));
    }
}

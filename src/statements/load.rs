//! Gathers the records a statement needs from a ledger, through its query methods.

use crate::ledger::queries::QueryError;
use crate::ledger::Ledger;
use crate::store::Store;
use greenledger_core::accounting::cancellation::{CancellationRecords, CancelledClaim};
use greenledger_core::accounting::hourly::{AccountRecords, ClaimRecord, Delivery, DeliveryKind};
use greenledger_core::rules::MAX_READING_DAYS;
use greenledger_core::state::{Claim, Device};
use greenledger_core::types::{AccountId, ClaimId, DeviceId, Interval};
use std::collections::BTreeMap;

/// The consumption readings and deliveries of `account` that touch `period`, and its claims.
///
/// Readings are keyed by their start, and one reading spans at most [`MAX_READING_DAYS`], so
/// readings that start that long before the period are the earliest that can overlap it.
/// Deliveries are found by scanning the readings of every device in that window: fine for a
/// registry of thousands of devices, to be replaced by a per-consumer index when it is not.
pub fn account_records<S: Store>(
    ledger: &Ledger<S>,
    account: &AccountId,
    period: Interval,
) -> Result<AccountRecords, QueryError> {
    let a = ledger.account(account)?;
    let (from, to) = (period.start.0, period.end.0);
    let earliest = from.saturating_sub(MAX_READING_DAYS * 86_400);
    let consumption =
        ledger.consumption(account, earliest, to)?.into_iter().filter(|c| c.interval.overlaps(&period)).collect();
    let claims = claims_of_or_for(ledger, account)?;
    let mut deliveries = Vec::new();
    for device in ledger.devices()? {
        for r in ledger.readings(&device.id, earliest, to)? {
            if !r.interval.overlaps(&period) {
                continue;
            }
            let direct = r.direct.iter().map(|a| (a, DeliveryKind::DirectSupply));
            let trades = r.trades.iter().map(|a| (a, DeliveryKind::Trade));
            for (alloc, kind) in direct.chain(trades).filter(|(a, _)| a.to == *account) {
                deliveries.push(Delivery {
                    device: device.id.clone(),
                    interval: r.interval,
                    energy: alloc.energy,
                    kind,
                    entry: alloc.entry,
                });
            }
        }
    }
    let zone = ledger.meta()?.policy_at(period.start).zone.clone();
    Ok(AccountRecords { account: *account, name: a.name, zone, consumption, claims, deliveries })
}

/// Every claim made for the consumption of `account` and every claim it made for others, once
/// each, in claim order: the statement lists those touching its period and counts the rest.
fn claims_of_or_for<S: Store>(ledger: &Ledger<S>, account: &AccountId) -> Result<Vec<ClaimRecord>, QueryError> {
    let mut claims: BTreeMap<ClaimId, Claim> = BTreeMap::new();
    for c in ledger.claims_for(account)?.into_iter().chain(ledger.claims_of(account)?) {
        claims.entry(c.id).or_insert(c);
    }
    Ok(claims.into_values().map(|claim| ClaimRecord { origin: claim.origin, claim }).collect())
}

/// The records of the cancellation certificate of `beneficiary` for the reporting period that
/// starts in `year` (the policy's reporting period in the policy's zone).
pub fn cancellation_records<S: Store>(
    ledger: &Ledger<S>,
    beneficiary: &AccountId,
    year: i64,
) -> Result<CancellationRecords, QueryError> {
    let a = ledger.account(beneficiary)?;
    let meta = ledger.meta()?;
    let first = &meta.policy;
    let policy = meta.policy_at(first.zone.month_start(year, first.reporting_start_month));
    let period = policy.reporting_period(policy.zone.month_start(year, policy.reporting_start_month));
    let mut devices: BTreeMap<DeviceId, Device> = BTreeMap::new();
    let mut claims = Vec::new();
    for claim in ledger.claims_for(beneficiary)? {
        if !devices.contains_key(&claim.device) {
            devices.insert(claim.device.clone(), ledger.device(&claim.device)?);
        }
        let d = &devices[&claim.device];
        claims.push(CancelledClaim {
            region: d.region.clone(),
            technology: d.technology,
            commissioned: d.commissioned,
            claim,
        });
    }
    Ok(CancellationRecords {
        beneficiary: *beneficiary,
        name: a.name,
        period,
        period_name: policy.reporting_name(period),
        zone: policy.zone.clone(),
        claims,
    })
}

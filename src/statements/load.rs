//! Gathers the records a statement needs from a ledger, through its query methods.

use crate::ledger::queries::QueryError;
use crate::ledger::Ledger;
use crate::store::Store;
use greenledger_core::accounting::hourly::{AccountRecords, ClaimRecord, Delivery, DeliveryKind};
use greenledger_core::rules::MAX_READING_DAYS;
use greenledger_core::types::{AccountId, Interval};

/// The consumption readings, claims and deliveries of `account` that touch `period`.
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
    let mut claims = Vec::new();
    for claim in ledger.claims_of(account)? {
        if claim.production.overlaps(&period) {
            let origin = ledger.bundle(claim.bundle)?.origin;
            claims.push(ClaimRecord { claim, origin });
        }
    }
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
    Ok(AccountRecords { account: *account, name: a.name, consumption, claims, deliveries })
}

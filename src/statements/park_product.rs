//! Park statements from the park record on the ledger, and product statements: the records are
//! gathered through the ledger's queries, the figures made by
//! [`greenledger_core::accounting::park`] and [`greenledger_core::accounting::product`], and the
//! result signed with the log key at a settled head, as the other statements are.

use super::load::account_records;
use super::{at, at_settled_head, sign_with_ledger, ReportError};
use crate::ledger::Ledger;
use crate::store::Store;
use greenledger_core::accounting::factors;
use greenledger_core::accounting::hourly::{AccountRecords, ClaimRecord, Statement};
use greenledger_core::accounting::park::{park_statement, Declared, DeviceOwner, ParkInput, ParkStatement};
use greenledger_core::accounting::product::{
    is_for, product_json, product_statement, DeclaredKwh, ProductClaim, ProductInput, ProductStatement,
};
use greenledger_core::accounting::signed::{park_json, Signed};
use greenledger_core::accounting::Period;
use greenledger_core::types::{AccountId, DeviceId, Interval, ParkId, Timestamp};
use std::collections::BTreeMap;

/// What a park statement from the ledger is asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParkAsk {
    pub park: ParkId,
    pub from: u64,
    pub to: u64,
    /// Year of the factors; the newest in the data when `None`.
    pub factor_year: Option<u16>,
    /// Non-electric energy the park declares, tce.
    pub non_electric: Option<Declared>,
}

/// The statement of park `ask.park` over `[from, to)` from its record on the ledger: members for
/// the hours they are members, each with the factor of its own site; signed by the ledger.
pub fn park_from_ledger_signed<S: Store>(
    ledger: &Ledger<S>,
    ask: &ParkAsk,
) -> Result<(ParkStatement, Vec<Statement>, Signed), ReportError> {
    let period = Period::new(ask.from, ask.to)?;
    let year = match ask.factor_year {
        Some(y) => y,
        None => factors::latest_year()?,
    };
    let (head, (p, statements)) = at_settled_head(ledger, || {
        let park = ledger.park(&ask.park)?;
        let zone = ledger.meta()?.policy_at(Timestamp(ask.from)).zone.clone();
        let mut input = ParkInput::from_park(&park, year, zone)?;
        input.non_electric = ask.non_electric.clone();
        let records = input
            .accounts()
            .iter()
            .map(|a| account_records(ledger, a, period.interval))
            .collect::<Result<Vec<AccountRecords>, _>>()?;
        input.devices = device_owners(ledger, &records)?;
        Ok(park_statement(&input, &records, ask.from, ask.to)?)
    })?;
    let json = park_json(&head.name, &at(&head), &p, &statements);
    let note = sign_with_ledger(&json, ledger)?;
    Ok((p, statements, Signed { json, note }))
}

/// Owner and technology of every device whose output the records' claims retired.
fn device_owners<S: Store>(
    ledger: &Ledger<S>,
    records: &[AccountRecords],
) -> Result<BTreeMap<String, DeviceOwner>, ReportError> {
    let mut out = BTreeMap::new();
    for r in records {
        for c in &r.claims {
            if !out.contains_key(&c.claim.device.0) {
                let d = ledger.device(&c.claim.device)?;
                out.insert(d.id.0.clone(), DeviceOwner { owner: d.owner, technology: d.technology.name().into() });
            }
        }
    }
    Ok(out)
}

/// What a product statement is asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProductAsk {
    pub claimant: AccountId,
    pub product: String,
    /// The reporting year (its first calendar year), in the policy's zone.
    pub year: i64,
    /// The batch's electricity as declared.
    pub electricity: Option<DeclaredKwh>,
    /// Year of the factors; the newest in the data when `None`.
    pub factor_year: Option<u16>,
}

/// The statement of product batch `ask.product` of `ask.claimant` in reporting year `ask.year`,
/// signed by the ledger.
pub fn product_signed<S: Store>(
    ledger: &Ledger<S>,
    ask: &ProductAsk,
) -> Result<(ProductStatement, Signed), ReportError> {
    let factor_year = match ask.factor_year {
        Some(y) => y,
        None => factors::latest_year()?,
    };
    let (head, p) = at_settled_head(ledger, || {
        let meta = ledger.meta()?;
        let policy = &meta.policy;
        let start = policy.zone.month_start(ask.year, policy.reporting_start_month);
        let policy = meta.policy_at(start);
        let period: Interval = policy.reporting_period(start);
        let name = ledger.account(&ask.claimant)?.name;
        let mut claims = Vec::new();
        let mut technologies: BTreeMap<DeviceId, greenledger_core::types::Technology> = BTreeMap::new();
        for claim in ledger.claims_of(&ask.claimant)? {
            let record = ClaimRecord { origin: claim.origin, claim };
            if !is_for(&record, &ask.claimant, &ask.product, period) {
                continue;
            }
            let device = record.claim.device.clone();
            let technology = match technologies.get(&device) {
                Some(t) => *t,
                None => {
                    let t = ledger.device(&device)?.technology;
                    technologies.insert(device, t);
                    t
                }
            };
            claims.push(ProductClaim { record, technology });
        }
        let mut lifecycle = BTreeMap::new();
        for t in technologies.values() {
            lifecycle.insert(t.name().to_string(), factors::lifecycle(factor_year, *t)?);
        }
        let input = ProductInput {
            claimant: ask.claimant,
            claimant_name: name,
            product: ask.product.clone(),
            year: policy.reporting_name(period),
            period,
            zone: policy.zone.clone(),
            electricity: ask.electricity.clone(),
            factor_year,
            residual: factors::residual(factor_year)?,
            lifecycle,
        };
        Ok(product_statement(&input, &claims)?)
    })?;
    let json = product_json(&head.name, &at(&head), &p);
    let note = sign_with_ledger(&json, ledger)?;
    Ok((p, Signed { json, note }))
}

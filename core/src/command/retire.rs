//! `Retire`: the owner uses certificates for good, for a named beneficiary and a documented
//! purpose, against the consumption of one interval inside one reporting period, and a claim is
//! recorded. Rules 4 to 6 (owner, no use after retirement, withdrawal or expiry), rule 8 (claims
//! within metered consumption) and rule 9 (hourly matching) are checked here.
//!
//! Rule 8, as real reporting needs it (GHG Protocol Scope 2 Quality Criteria, RE100):
//!
//! - the consumption interval lies inside one reporting period of the policy (a calendar year
//!   in the policy's zone unless it says otherwise), and the certificates' production fits the
//!   policy's vintage rule for it;
//! - the interval is covered by whole consumption readings of the *capped* account, without a
//!   gap: the claimant's own, or the beneficiary account's;
//! - the claim's energy is taken from those readings in time order, from what earlier claims
//!   left of each, and it must fit: no claim draws on consumption outside its interval, so
//!   headroom of another hour, month or year never pays for it.
//!
//! The claimant needs the consumer role, but that is checked after ownership, so that someone
//! retiring certificates that are not theirs learns that first.

use super::retire_v1::{record_claim, retirement_step, ClaimText, Retiring};
use super::Kind;
use crate::proof::walk::{Step, Walk};
use crate::proof::ProofFailure;
use crate::refusal::{Refusal, Rejection};
use crate::rules::{check_text, refuse, Decision, Rules};
use crate::state::*;
use crate::types::*;
use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Whom a claim is for, and so whose consumption caps it.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Beneficiary {
    /// The claimant itself: capped by the claimant's consumption.
    Claimant,
    /// Another registered account (a customer, a subsidiary): capped by that account's
    /// consumption.
    Account { account: AccountId },
    /// A batch of a product the claimant makes (for a footprint or a label): capped by the
    /// claimant's consumption.
    Product { product: String, quantity: u64, unit: String },
}

/// What a claim is used for. Regulators separate the uses; `Other` carries its own text.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[serde(tag = "kind", content = "text", rename_all = "kebab-case")]
pub enum Purpose {
    /// RE100 reporting or a CDP disclosure (Scope 2, market-based).
    Re100Cdp,
    /// Energy-consumption deduction (绿证抵扣能耗, NDRC 2024).
    EnergyDeduction,
    /// A renewable consumption responsibility weight (可再生能源电力消纳责任权重).
    RenewableQuota,
    /// A product carbon footprint or zero-carbon label.
    ProductFootprint,
    /// Evidence for the EU CBAM (actual emissions of electricity need a direct technical link or
    /// a PPA: see the product statement).
    Cbam,
    /// Anything else, described.
    Other(String),
}

impl Purpose {
    pub const NAMES: [&'static str; 6] =
        ["re100-cdp", "energy-deduction", "renewable-quota", "product-footprint", "cbam", "other"];

    pub fn name(&self) -> &'static str {
        match self {
            Purpose::Re100Cdp => "re100-cdp",
            Purpose::EnergyDeduction => "energy-deduction",
            Purpose::RenewableQuota => "renewable-quota",
            Purpose::ProductFootprint => "product-footprint",
            Purpose::Cbam => "cbam",
            Purpose::Other(_) => "other",
        }
    }

    /// The purpose from its name; `other` takes the text.
    pub fn parse(name: &str, text: Option<&str>) -> Option<Purpose> {
        Some(match name.trim() {
            "re100-cdp" => Purpose::Re100Cdp,
            "energy-deduction" => Purpose::EnergyDeduction,
            "renewable-quota" => Purpose::RenewableQuota,
            "product-footprint" => Purpose::ProductFootprint,
            "cbam" => Purpose::Cbam,
            "other" => Purpose::Other(text?.to_string()),
            _ => return None,
        })
    }

    /// In words, English and Chinese.
    pub fn describe(&self) -> String {
        match self {
            Purpose::Re100Cdp => "RE100 / CDP reporting (RE100/CDP报告)".into(),
            Purpose::EnergyDeduction => "energy-consumption deduction (绿证抵扣能耗)".into(),
            Purpose::RenewableQuota => "renewable consumption responsibility (可再生能源消纳责任权重)".into(),
            Purpose::ProductFootprint => "product carbon footprint (产品碳足迹)".into(),
            Purpose::Cbam => "EU CBAM evidence (欧盟碳边境调节机制)".into(),
            Purpose::Other(text) => format!("other: {text}"),
        }
    }
}

impl fmt::Display for Purpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

/// Owner: final use of certificates for a beneficiary and a purpose, against one consumption
/// interval.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct Retire {
    pub bundle: BundleId,
    pub serials: SerialRange,
    pub beneficiary: Beneficiary,
    pub purpose: Purpose,
    pub consumption: Interval,
}

impl Kind for Retire {
    /// Checked by the rules, after ownership (see the module documentation).
    const ROLE: Option<Role> = None;

    fn decide<V: StateView>(&self, r: &mut Rules<'_, V>) -> Result<Decision, Rejection> {
        let Retire { bundle: id, serials, beneficiary, purpose, consumption } = self;
        let (id, serials, consumption) = (*id, *serials, *consumption);
        if let Purpose::Other(text) = purpose {
            check_text("purpose", text, false)?;
        }
        if let Beneficiary::Product { product, unit, quantity } = beneficiary {
            check_text("beneficiary product", product, false)?;
            check_text("beneficiary unit", unit, false)?;
            if *quantity == 0 {
                return refuse(Refusal::BadText { field: "quantity", reason: "must be at least 1".into() });
            }
        }
        let bundle = r.usable_bundle(id, serials)?;
        if !r.signer.roles.has(Role::Consumer) {
            return refuse(Refusal::MissingRole {
                signer: r.signer.id.short(),
                role: Role::Consumer,
                command: "retire",
            });
        }
        r.check_past_interval(consumption)?;
        let period = r.policy().reporting_period(consumption.start);
        if !period.contains(&consumption) {
            let name = r.policy().reporting_name(period);
            return refuse(Refusal::ClaimAcrossPeriods { consumption, period: name, end: period.end });
        }
        if !r.policy().vintage_fits(bundle.production, consumption) {
            return refuse(Refusal::VintageOutOfRange {
                production: bundle.production,
                consumption,
                rule: format!("{:?}", r.policy().vintage),
            });
        }
        let energy =
            serials.len().checked_mul(r.policy().unit_wh).map(Wh).ok_or(Refusal::Overflow("claimed energy"))?;
        let capped = match beneficiary {
            Beneficiary::Claimant | Beneficiary::Product { .. } => r.signer.clone(),
            Beneficiary::Account { account } => {
                r.account_with_role(account, Role::Consumer, "be a claim's beneficiary")?
            }
        };
        // The text a proof's summary shows, derived from the command alone.
        let beneficiary_text = beneficiary.to_string();
        // An hourly policy: the claim names one consumption hour, which contains the production.
        if r.policy().hourly_matching && (consumption.seconds() > 3600 || !consumption.contains(&bundle.production)) {
            return refuse(Refusal::HourlyMismatch { production: bundle.production, consumption });
        }
        let mut d = Decision::default();
        draw_consumption(r, &capped.id, consumption, energy, &mut d)?;
        let mut capped = capped;
        capped.claimed = capped.claimed.checked_add(energy).ok_or(Refusal::Overflow("claimed energy"))?;
        let text = ClaimText {
            beneficiary: beneficiary_text,
            purpose: purpose.describe(),
            spec: Some(beneficiary.clone()),
            purpose_code: Some(purpose.clone()),
        };
        let capped_id = capped.id;
        d.effects.push(Effect::Account(capped));
        record_claim(r, Retiring { bundle: &bundle, serials, energy, consumption, capped: capped_id }, text, &mut d)?;
        Ok(d)
    }

    fn lineage(&self, w: &mut Walk<'_>, step: &Step) -> Result<&'static str, ProofFailure> {
        retirement_step(w, step, self.serials, self.consumption)
    }
}

/// Rule 8: takes `energy` from the consumption readings of `account` that tile `interval`, in
/// time order, each giving what earlier claims left of it. Refuses a gap in the readings, a
/// reading that reaches outside the interval (its energy cannot be split), and a claim larger
/// than what is left.
fn draw_consumption<V: StateView>(
    r: &Rules<'_, V>,
    account: &AccountId,
    interval: Interval,
    energy: Wh,
    d: &mut Decision,
) -> Result<(), Rejection> {
    // The readings that overlap the interval, walked back from its end: one ordered lookup each.
    let mut readings = Vec::new();
    let mut covered_from = interval.end;
    let mut before = interval.end;
    while let Some(c) = r.view.consumption_before(account, before)? {
        if c.interval.end <= interval.start {
            break;
        }
        if !interval.contains(&c.interval) {
            return refuse(Refusal::ConsumptionNotCovered {
                account: account.short(),
                interval,
                why: format!("the reading {} reaches outside it; claim whole readings", c.interval),
            });
        }
        if c.interval.end != covered_from {
            let gap = Interval { start: c.interval.end, end: covered_from };
            return refuse(Refusal::ConsumptionNotCovered {
                account: account.short(),
                interval,
                why: format!("nothing is metered in {gap}"),
            });
        }
        covered_from = c.interval.start;
        before = c.interval.start;
        readings.push(c);
    }
    if covered_from != interval.start {
        let gap = Interval { start: interval.start, end: covered_from };
        return refuse(Refusal::ConsumptionNotCovered {
            account: account.short(),
            interval,
            why: format!("nothing is metered in {gap}"),
        });
    }
    readings.reverse();
    let available: u128 = readings.iter().map(|c| c.energy.0.saturating_sub(c.claimed.0) as u128).sum();
    if (energy.0 as u128) > available {
        return refuse(Refusal::ClaimExceedsConsumption {
            account: account.short(),
            interval,
            asked: energy,
            total: Wh(readings.iter().map(|c| c.claimed.0).sum::<u64>().saturating_add(energy.0)),
            consumed: Wh(readings.iter().map(|c| c.energy.0).sum()),
        });
    }
    let mut left = energy.0;
    for mut c in readings {
        if left == 0 {
            break;
        }
        let take = c.energy.0.saturating_sub(c.claimed.0).min(left);
        if take > 0 {
            c.claimed = Wh(c.claimed.0 + take);
            left -= take;
            d.effects.push(Effect::Consumption(c));
        }
    }
    Ok(())
}

impl fmt::Display for Beneficiary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Beneficiary::Claimant => f.write_str("the claimant"),
            Beneficiary::Account { account } => write!(f, "account {account}"),
            Beneficiary::Product { product, quantity, unit } => write!(f, "product {product}: {quantity} {unit}"),
        }
    }
}

impl fmt::Display for Retire {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "retire certificates {} of bundle {} for {}, purpose {}, consumption {}",
            self.serials, self.bundle, self.beneficiary, self.purpose, self.consumption
        )
    }
}

//! A zero-carbon park (零碳园区): the green consumption statements of its member accounts added
//! up, with the clean-energy share and emissions, market-based and location-based side by side.
//!
//! For now a park is just a name and a list of member accounts, given on the command line or in a
//! small JSON file (`{"name": "...", "members": ["<account hex>", ...]}`). Registering parks on
//! the ledger itself, so that membership is signed and dated, is future work.
//!
//! # No double counting inside the park
//!
//! Green energy counts only through claims (see [`super::hourly`]), and a claim belongs to exactly
//! one claimant. Certificates that one member transferred to another and that the second retired
//! count once, for the member that retired them; certificates still held (not retired) by any
//! member count for no one. [`park_statement`] also refuses a member listed twice and a claim that
//! shows up in two member statements.
//!
//! # Emissions
//!
//! - market-based = (consumption − green) × residual factor, per member, where green is capped at
//!   the member's own consumption (a member's surplus does not lower another member's figure:
//!   transfer the certificates to that member instead). The residual factor excludes
//!   market-traded non-fossil electricity (2022: 0.5856 kgCO2/kWh); the plain average already
//!   contains that green energy, and using it would count it twice.
//! - location-based = consumption × regional (or provincial, or national) average factor.
//!
//! Emissions are whole grams, computed in integers ([`super::factors::Factor::grams`]). Park
//! totals are computed from the summed energy, not by adding rounded member figures.

use super::factors::Factors;
use super::hourly::Statement;
use super::{AccountingError, Share};
use crate::types::{AccountId, Interval};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

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

/// Energy, shares and emissions of one member or of the whole park.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Figures {
    pub consumption_wh: u64,
    pub direct_wh: u64,
    pub trade_wh: u64,
    pub certificates_wh: u64,
    /// All green energy claimed for the period.
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
    /// consumption_wh × location factor, grams CO2.
    pub location_based_g: u64,
}

/// One member's line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberLine {
    pub account: String,
    pub name: String,
    pub claims: usize,
    #[serde(flatten)]
    pub figures: Figures,
}

/// The statement of a park.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParkStatement {
    pub name: String,
    pub period: Interval,
    pub factors: Factors,
    pub members: Vec<MemberLine>,
    pub total: Figures,
}

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
    fn figures(&self, factors: &Factors) -> Figures {
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
            market_based_g: factors.residual.factor().grams(grid),
            location_based_g: factors.location.factor().grams(self.consumption),
        }
    }
}

/// Adds up the members' statements (all over the same period) into the park statement.
pub fn park_statement(
    name: &str,
    statements: &[Statement],
    factors: &Factors,
) -> Result<ParkStatement, AccountingError> {
    let first = statements.first().ok_or_else(|| AccountingError::NoMembers { park: name.to_string() })?;
    let mut accounts = BTreeSet::new();
    let mut claims = BTreeSet::new();
    let mut total =
        Energy { consumption: 0, direct: 0, trade: 0, certificates: 0, green: 0, green_counted: 0, matched: 0 };
    let mut members = Vec::new();
    for s in statements {
        if s.period != first.period {
            return Err(AccountingError::MixedPeriods { park: name.to_string(), first: first.period, other: s.period });
        }
        if !accounts.insert(s.account.clone()) {
            return Err(AccountingError::MemberTwice { park: name.to_string(), account: s.account.clone() });
        }
        for c in &s.claims {
            if !claims.insert(c.claim) {
                return Err(AccountingError::ClaimTwice { claim: format!("C{}", c.claim) });
            }
        }
        let t = &s.totals;
        let e = Energy {
            consumption: t.consumption_wh,
            direct: t.direct_wh,
            trade: t.trade_wh,
            certificates: t.certificates_wh,
            green: t.green_wh,
            green_counted: t.green_wh.min(t.consumption_wh),
            matched: t.matched_wh,
        };
        let sum = |a: u64, b: u64| a.checked_add(b).ok_or(AccountingError::Overflow("park totals"));
        total = Energy {
            consumption: sum(total.consumption, e.consumption)?,
            direct: sum(total.direct, e.direct)?,
            trade: sum(total.trade, e.trade)?,
            certificates: sum(total.certificates, e.certificates)?,
            green: sum(total.green, e.green)?,
            green_counted: sum(total.green_counted, e.green_counted)?,
            matched: sum(total.matched, e.matched)?,
        };
        members.push(MemberLine {
            account: s.account.clone(),
            name: s.name.clone(),
            claims: s.claims.iter().filter(|c| c.counted_wh > 0).count(),
            figures: e.figures(factors),
        });
    }
    Ok(ParkStatement {
        name: name.to_string(),
        period: first.period,
        factors: factors.clone(),
        members,
        total: total.figures(factors),
    })
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
}

//! The statement of a product batch: the green electricity claimed for it, per unit, by source,
//! and the electricity footprint of the batch, with a CBAM evidence section.
//!
//! # What is counted
//!
//! The claims counted are those of one claimant whose beneficiary is the product batch
//! (`Beneficiary::Product` with that product name) and whose consumption interval lies in the
//! reporting year. Every Wh of such a claim counts (the whole claim was retired for the batch);
//! claims of the first format (free-text beneficiary) are not counted, since they name no batch.
//! All claims must name the same quantity and unit: that is the batch.
//!
//! - certified green electricity = the sum of the claims' energy, Wh;
//! - green electricity per unit = certified / quantity (Wh, rounded down, the remainder given);
//! - when the batch's electricity is declared (`electricity_kwh`, shown as declared): electricity
//!   per unit = declared / quantity, and the rest = declared − certified (zero when the claims
//!   cover more than declared; the excess is given).
//!
//! # Footprint of the batch's electricity
//!
//! Certified green electricity counts at the lifecycle factor of its technology
//! ([`super::factors::lifecycle`]: MEE/NBS/NEA 2023 technology values where published, IPCC AR5
//! medians otherwise), kgCO2e/kWh; the rest of the declared electricity at the grid residual
//! factor (national average excluding market-traded non-fossil electricity), kgCO2/kWh. Each line
//! is rounded to whole grams; the total is the sum of the lines; per unit in milligrams, rounded
//! half up. Without a declared electricity only the certified part has a footprint.
//!
//! # CBAM evidence
//!
//! Under the EU CBAM, actual emission factors of electricity may be used only with a direct
//! technical link between the installation and the generator or a power purchase agreement
//! (Commission Implementing Regulation (EU) 2023/1773, Annex III). The section lists only the
//! direct-supply claims (`Origin::DirectSupply`, `Origin::SelfUse`); unbundled certificates and
//! bundled trades are not accepted as actual-emissions evidence and are left out of it.

use super::factors::SourcedFactor;
use super::hourly::ClaimRecord;
use super::signed::{At, ClaimRef, FORMAT};
use super::{AccountingError, Share};
use crate::command::retire::Beneficiary;
use crate::policy::Zone;
use crate::state::Origin;
use crate::types::{AccountId, Interval, Technology};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The CBAM rule the evidence section follows, for the statement.
pub const CBAM_RULE: &str = "Commission Implementing Regulation (EU) 2023/1773, Annex III: actual emission factors of electricity may be used only with a direct technical link between the installation and the generator, or a power purchase agreement; unbundled certificates and bundled trades are not accepted as actual-emissions evidence";

/// A claim for the product with the technology of its device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProductClaim {
    pub record: ClaimRecord,
    pub technology: Technology,
}

/// What the statement needs besides the claims.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProductInput {
    pub claimant: AccountId,
    pub claimant_name: String,
    pub product: String,
    /// The reporting year's name (`2026`) and interval in the policy's zone.
    pub year: String,
    pub period: Interval,
    pub zone: Zone,
    /// The batch's electricity as declared, kWh.
    pub electricity: Option<DeclaredKwh>,
    /// Year of the factors.
    pub factor_year: u16,
    pub residual: SourcedFactor,
    /// Lifecycle factor by technology name (only those the claims need).
    pub lifecycle: BTreeMap<String, SourcedFactor>,
}

/// Electricity as declared, and in Wh.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeclaredKwh {
    pub kwh: String,
    pub wh: u64,
}

impl DeclaredKwh {
    /// kWh written as a decimal with at most three decimals (one Wh).
    pub fn parse(s: &str) -> Result<DeclaredKwh, AccountingError> {
        Ok(DeclaredKwh { kwh: s.trim().to_string(), wh: super::parse_thousandths(s, "kWh", "1500.5")? })
    }
}

/// Energy of one kind in the source mix.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MixLine {
    pub kind: String,
    pub wh: u64,
    /// Share of the certified green electricity.
    pub share: Share,
}

/// One line of the footprint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FootprintLine {
    /// `wind`, `solar`, ... or `grid (rest of declared)`.
    pub what: String,
    pub wh: u64,
    pub factor: SourcedFactor,
    pub grams: u64,
}

/// One claim of the product.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductClaimLine {
    pub claim: u64,
    pub entry: u64,
    pub device: String,
    pub technology: String,
    /// `unbundled-certificate`, `bundled-trade` or `direct-supply`.
    pub instrument: String,
    pub origin: String,
    pub production: Interval,
    pub consumption: Interval,
    pub energy_wh: u64,
}

/// The CBAM evidence: direct-supply claims only.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cbam {
    pub rule: String,
    /// Direct-supply claims (direct line or self-use), accepted as evidence of a direct link.
    pub direct_supply: Vec<ProductClaimLine>,
    pub direct_supply_wh: u64,
    /// Certified energy left out: unbundled certificates and bundled trades.
    pub not_accepted_wh: u64,
}

/// The statement of a product batch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductStatement {
    pub claimant: String,
    pub claimant_name: String,
    pub product: String,
    pub quantity: u64,
    pub unit: String,
    pub year: String,
    pub period: Interval,
    /// The zone the reporting year is counted in.
    pub zone: Zone,
    pub method: Vec<String>,
    pub claims: Vec<ProductClaimLine>,
    /// Sum of the claims' energy.
    pub certified_wh: u64,
    pub certified_wh_per_unit: u64,
    pub certified_wh_per_unit_remainder: u64,
    pub electricity_declared: Option<DeclaredKwh>,
    /// declared / quantity, when declared.
    pub electricity_wh_per_unit: Option<u64>,
    /// declared − certified (0 when the claims cover more).
    pub rest_wh: u64,
    /// certified − declared when the claims cover more than declared.
    pub certified_beyond_declared_wh: u64,
    /// Certified share of the declared electricity.
    pub green_share: Option<Share>,
    pub mix_by_technology: Vec<MixLine>,
    pub mix_by_instrument: Vec<MixLine>,
    pub factor_year: u16,
    pub footprint: Vec<FootprintLine>,
    /// Sum of the footprint lines, grams CO2e.
    pub footprint_g: u64,
    /// Per unit, milligrams CO2e (rounded half up).
    pub footprint_mg_per_unit: u64,
    pub cbam: Cbam,
}

/// The instrument of a claim's certificates, by origin.
pub fn instrument(origin: Origin) -> &'static str {
    match origin {
        Origin::Issued => "unbundled-certificate",
        Origin::Trade | Origin::Distributed => "bundled-trade",
        Origin::DirectSupply | Origin::SelfUse => "direct-supply",
    }
}

/// Whether a claim is one of `product`'s, made by `claimant`, for consumption in `period`.
pub fn is_for(r: &ClaimRecord, claimant: &AccountId, product: &str, period: Interval) -> bool {
    let c = &r.claim;
    c.claimant == *claimant
        && period.contains(&c.consumption)
        && matches!(&c.spec, Some(Beneficiary::Product { product: p, .. }) if p == product)
}

/// The product statement from the claims of the product (others are refused).
pub fn product_statement(input: &ProductInput, claims: &[ProductClaim]) -> Result<ProductStatement, AccountingError> {
    let mut batch: Option<(u64, String)> = None;
    let mut lines = Vec::new();
    let mut by_tech: BTreeMap<String, u64> = BTreeMap::new();
    let mut by_instrument: BTreeMap<String, u64> = BTreeMap::new();
    let mut certified = 0u64;
    let mut ordered: Vec<&ProductClaim> = claims.iter().collect();
    ordered.sort_by_key(|c| c.record.claim.id);
    for pc in ordered {
        let c = &pc.record.claim;
        if !is_for(&pc.record, &input.claimant, &input.product, input.period) {
            return Err(AccountingError::WrongAccount {
                expected: format!("claims of {} for product {:?}", input.claimant.short(), input.product),
                found: format!("C{}", c.id.0),
            });
        }
        if let Some(Beneficiary::Product { quantity, unit, .. }) = &c.spec {
            match &batch {
                None => batch = Some((*quantity, unit.clone())),
                Some((q, u)) if q == quantity && u == unit => {}
                Some((q, u)) => {
                    return Err(AccountingError::Factor(format!(
                        "claims for product {:?} name different batches: {q} {u} and {quantity} {unit} (claim C{}); a batch is one quantity",
                        input.product, c.id.0
                    )))
                }
            }
        }
        if lines.iter().any(|l: &ProductClaimLine| l.claim == c.id.0) {
            return Err(AccountingError::ClaimTwice { claim: format!("C{}", c.id.0) });
        }
        let energy = c.energy.0;
        certified = certified.checked_add(energy).ok_or(AccountingError::Overflow("product energy"))?;
        let tech = pc.technology.name().to_string();
        let inst = instrument(pc.record.origin).to_string();
        *by_tech.entry(tech.clone()).or_default() += energy;
        *by_instrument.entry(inst.clone()).or_default() += energy;
        lines.push(ProductClaimLine {
            claim: c.id.0,
            entry: c.entry.0,
            device: c.device.0.clone(),
            technology: tech,
            instrument: inst,
            origin: pc.record.origin.name().to_string(),
            production: c.production,
            consumption: c.consumption,
            energy_wh: energy,
        });
    }
    let Some((quantity, unit)) = batch else {
        return Err(AccountingError::Factor(format!(
            "no claims by {} for product {:?} for consumption in {}",
            input.claimant.short(),
            input.product,
            input.year
        )));
    };
    let declared = input.electricity.as_ref().map(|d| d.wh);
    let rest = declared.map_or(0, |d| d.saturating_sub(certified));
    let beyond = declared.map_or(0, |d| certified.saturating_sub(d));
    let mix = |m: &BTreeMap<String, u64>| -> Vec<MixLine> {
        m.iter().map(|(k, wh)| MixLine { kind: k.clone(), wh: *wh, share: Share::of(*wh, certified) }).collect()
    };
    let mut footprint = Vec::new();
    for (tech, wh) in &by_tech {
        let factor = input.lifecycle.get(tech).cloned().ok_or_else(|| {
            AccountingError::Factor(format!("no lifecycle factor for technology {tech} in {}", input.factor_year))
        })?;
        let grams = factor.factor().grams(*wh);
        footprint.push(FootprintLine { what: tech.clone(), wh: *wh, factor, grams });
    }
    if declared.is_some() {
        let grams = input.residual.factor().grams(rest);
        footprint.push(FootprintLine {
            what: "grid (rest of declared)".into(),
            wh: rest,
            factor: input.residual.clone(),
            grams,
        });
    }
    let footprint_g: u64 = footprint.iter().map(|f| f.grams).sum();
    let direct: Vec<ProductClaimLine> = lines.iter().filter(|l| l.instrument == "direct-supply").cloned().collect();
    let direct_wh: u64 = direct.iter().map(|l| l.energy_wh).sum();
    Ok(ProductStatement {
        claimant: input.claimant.to_hex(),
        claimant_name: input.claimant_name.clone(),
        product: input.product.clone(),
        quantity,
        unit,
        year: input.year.clone(),
        period: input.period,
        zone: input.zone.clone(),
        method: method(input),
        claims: lines,
        certified_wh: certified,
        certified_wh_per_unit: certified / quantity,
        certified_wh_per_unit_remainder: certified % quantity,
        electricity_declared: input.electricity.clone(),
        electricity_wh_per_unit: declared.map(|d| d / quantity),
        rest_wh: rest,
        certified_beyond_declared_wh: beyond,
        green_share: declared.map(|d| Share::of(certified, d)),
        mix_by_technology: mix(&by_tech),
        mix_by_instrument: mix(&by_instrument),
        factor_year: input.factor_year,
        footprint,
        footprint_g,
        footprint_mg_per_unit: ((footprint_g as u128 * 1000 + quantity as u128 / 2) / quantity as u128) as u64,
        cbam: Cbam {
            rule: CBAM_RULE.into(),
            direct_supply: direct,
            direct_supply_wh: direct_wh,
            not_accepted_wh: certified - direct_wh,
        },
    })
}

fn method(input: &ProductInput) -> Vec<String> {
    let mut m = vec![
        format!(
            "Counted: every claim by this claimant whose beneficiary is product {:?} (Beneficiary::Product) and whose consumption lies in the reporting year {} ({} zone); each claim's whole energy.",
            input.product, input.year, input.zone.name
        ),
        "Green electricity per unit = the claims' energy / the batch quantity, Wh, rounded down (remainder given).".into(),
        "Footprint: certified green electricity at the lifecycle factor of its technology (MEE/NBS/NEA 2023 technology values where published, IPCC AR5 WG3 Annex III Table A.III.2 medians otherwise), kgCO2e/kWh.".into(),
    ];
    if input.electricity.is_some() {
        m.push(format!(
            "The rest of the declared electricity (declared − certified) at the residual factor {} kgCO2/kWh ({}).",
            input.residual.kg_per_kwh, input.residual.source
        ));
    } else {
        m.push("No electricity declared for the batch: only the certified part has a footprint.".into());
    }
    m.push("Each footprint line is rounded to whole grams; the total is their sum; per unit in milligrams, rounded half up.".into());
    m.push(format!("CBAM evidence lists direct supply only: {CBAM_RULE}."));
    m
}

#[derive(Serialize)]
struct Envelope<'a> {
    format: &'static str,
    kind: &'static str,
    ledger: &'a str,
    checkpoint: &'a At,
    claims: Vec<ClaimRef>,
    statement: &'a ProductStatement,
}

/// The canonical JSON of a product statement (kind `product`, the envelope of
/// [`super::signed`]); every claim counts whole.
pub fn product_json(ledger: &str, at: &At, p: &ProductStatement) -> String {
    let claims = p
        .claims
        .iter()
        .map(|c| ClaimRef { claim: c.claim, entry: c.entry, account: p.claimant.clone(), counted_wh: c.energy_wh })
        .collect();
    let e = Envelope { format: FORMAT, kind: "product", ledger, checkpoint: at, claims, statement: p };
    serde_json::to_string(&e).expect("statement serializes")
}

/// Grams as kg with three decimals.
fn kg(g: u64) -> String {
    format!("{}.{:03} kg", g / 1000, g % 1000)
}

/// The product statement as text.
pub fn text(p: &ProductStatement) -> String {
    use std::fmt::Write as _;
    let mut o = String::new();
    let _ = writeln!(o, "Product statement: {} ({} {}), reporting year {}", p.product, p.quantity, p.unit, p.year);
    let _ = writeln!(o, "claimant {} ({})", p.claimant_name, p.claimant);
    let _ = writeln!(
        o,
        "year {} .. {} ({})",
        super::park::local_time(p.period.start.0, &p.zone),
        super::park::local_time(p.period.end.0, &p.zone),
        p.zone.name
    );
    let _ = writeln!(o, "\nMethod:");
    for m in &p.method {
        let _ = writeln!(o, "  - {m}");
    }
    let _ = writeln!(o, "\nElectricity:");
    let _ = writeln!(
        o,
        "  certified green      {} Wh = {} Wh per {} (remainder {} Wh)",
        p.certified_wh, p.certified_wh_per_unit, p.unit, p.certified_wh_per_unit_remainder
    );
    match (&p.electricity_declared, p.electricity_wh_per_unit) {
        (Some(d), Some(per)) => {
            let _ = writeln!(o, "  declared (as given)  {} kWh = {} Wh per {}", d.kwh, per, p.unit);
            let _ = writeln!(o, "  rest from the grid   {} Wh", p.rest_wh);
            if p.certified_beyond_declared_wh > 0 {
                let _ = writeln!(o, "  certified beyond declared: {} Wh", p.certified_beyond_declared_wh);
            }
            if let Some(s) = &p.green_share {
                let _ = writeln!(o, "  green share          {}", s.percent());
            }
        }
        _ => {
            let _ = writeln!(o, "  declared             not given (--electricity-kwh)");
        }
    }
    let _ = writeln!(o, "\nSource mix:");
    for m in p.mix_by_technology.iter().chain(&p.mix_by_instrument) {
        let _ = writeln!(o, "  {:<24} {:>14} Wh {:>8}", m.kind, m.wh, m.share.percent());
    }
    let _ = writeln!(o, "\nFootprint ({} factors):", p.factor_year);
    for f in &p.footprint {
        let _ = writeln!(
            o,
            "  {:<24} {:>14} Wh x {} kg/kWh = {} ({})",
            f.what,
            f.wh,
            f.factor.kg_per_kwh,
            kg(f.grams),
            f.factor.source
        );
    }
    let _ = writeln!(
        o,
        "  total {} CO2e; per {} {}.{:03} g CO2e",
        kg(p.footprint_g),
        p.unit,
        p.footprint_mg_per_unit / 1000,
        p.footprint_mg_per_unit % 1000
    );
    let _ = writeln!(o, "\nCBAM evidence (direct supply only): {} Wh", p.cbam.direct_supply_wh);
    for c in &p.cbam.direct_supply {
        let _ = writeln!(
            o,
            "  C{} {} ({}, {}) {} Wh, produced {}",
            c.claim, c.device, c.technology, c.origin, c.energy_wh, c.production
        );
    }
    let _ = writeln!(o, "  not accepted: {} Wh. {}", p.cbam.not_accepted_wh, p.cbam.rule);
    let _ = writeln!(o, "\nClaims:");
    for c in &p.claims {
        let _ = writeln!(
            o,
            "  C{} entry #{} {} ({}, {}) {} Wh, produced {}, for consumption {}",
            c.claim, c.entry, c.device, c.technology, c.instrument, c.energy_wh, c.production, c.consumption
        );
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_kwh_is_exact() {
        assert_eq!(DeclaredKwh::parse("1500.5").unwrap().wh, 1_500_500);
        assert_eq!(DeclaredKwh::parse("2").unwrap().wh, 2_000);
        for bad in ["", "1.2345", "-1", "1e3"] {
            assert!(DeclaredKwh::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(instrument(Origin::SelfUse), "direct-supply");
        assert_eq!(instrument(Origin::Distributed), "bundled-trade");
    }
}

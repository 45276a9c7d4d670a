//! Grid emission factors as integers and the emission arithmetic.
//!
//! A factor is held as milligrams CO2 per kWh ([`Factor`]): 0.5856 kgCO2/kWh = 585,600 mg/kWh.
//! Emissions are computed in `u128` and given in whole grams. No floating point anywhere: the
//! published factors in `data/china-grid-factors.json` are decimal strings parsed digit by digit.

use super::AccountingError;
use serde::{Deserialize, Serialize};

/// The published Chinese factors, embedded at compile time (see `data/README.md` for sources).
pub const CHINA_GRID_FACTORS: &str = include_str!("../../data/china-grid-factors.json");

/// An emission factor in milligrams CO2 per kWh.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Factor(pub u64);

impl Factor {
    /// Parses kgCO2/kWh written as a decimal, such as `"0.5856"`, exactly (at most six decimals:
    /// one milligram per kWh).
    pub fn parse_kg_per_kwh(s: &str) -> Result<Factor, AccountingError> {
        let bad = || {
            AccountingError::Factor(format!("{s:?} is not a factor in kgCO2/kWh such as 0.5856 (at most 6 decimals)"))
        };
        let s = s.trim();
        let (int, frac) = s.split_once('.').unwrap_or((s, ""));
        if int.is_empty() && frac.is_empty() {
            return Err(bad());
        }
        if frac.len() > 6 || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let whole: u64 = if int.is_empty() { 0 } else { int.parse().map_err(|_| bad())? };
        let mut milli: u64 = if frac.is_empty() { 0 } else { frac.parse().map_err(|_| bad())? };
        milli *= 10u64.pow(6 - frac.len() as u32);
        whole.checked_mul(1_000_000).and_then(|w| w.checked_add(milli)).map(Factor).ok_or_else(bad)
    }

    /// kgCO2/kWh as a decimal string without trailing zeros: `585_600` mg → `"0.5856"`.
    pub fn kg_per_kwh(&self) -> String {
        let frac = format!("{:06}", self.0 % 1_000_000);
        let frac = frac.trim_end_matches('0');
        if frac.is_empty() {
            format!("{}", self.0 / 1_000_000)
        } else {
            format!("{}.{frac}", self.0 / 1_000_000)
        }
    }

    /// Grams of CO2 for `wh` watt-hours: `wh × mg/kWh / 1,000,000`, rounded half up.
    pub fn grams(&self, wh: u64) -> u64 {
        let mg_times_1000 = wh as u128 * self.0 as u128; // Wh × mg/kWh = mg/1000
        let g = (mg_times_1000 + 500_000) / 1_000_000;
        // u64::MAX Wh × u64::MAX mg/kWh cannot occur with real factors (< 10 kg/kWh).
        u64::try_from(g).unwrap_or(u64::MAX)
    }
}

/// A factor with where it came from, for the statement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourcedFactor {
    pub mg_per_kwh: u64,
    pub kg_per_kwh: String,
    pub source: String,
}

impl SourcedFactor {
    pub fn new(factor: Factor, source: impl Into<String>) -> SourcedFactor {
        SourcedFactor { mg_per_kwh: factor.0, kg_per_kwh: factor.kg_per_kwh(), source: source.into() }
    }
    pub fn factor(&self) -> Factor {
        Factor(self.mg_per_kwh)
    }
}

/// The two factors of a park statement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Factors {
    /// Market-based: applied to grid consumption left after green claims; it must exclude the
    /// market-traded non-fossil electricity (2022: 0.5856).
    pub residual: SourcedFactor,
    /// Location-based: the regional, provincial or national average, applied to all consumption.
    pub location: SourcedFactor,
}

/// The published factors of `year`: the residual factor and the average of `region` (a grid
/// region such as `east`, or a province listed in the data), or the national average when no
/// region is given.
pub fn published(year: u16, region: Option<&str>) -> Result<Factors, AccountingError> {
    Ok(Factors { residual: residual(year)?, location: location(year, region)? })
}

/// The published residual factor of `year`: the national average excluding market-traded
/// non-fossil electricity.
pub fn residual(year: u16) -> Result<SourcedFactor, AccountingError> {
    let (y, published) = year_table(year)?;
    let key = "national_average_excluding_market_traded_non_fossil";
    match y.get(key) {
        Some(v) => Ok(SourcedFactor::new(
            decimal(v, year, key)?,
            format!("{year} national average excluding market-traded non-fossil electricity ({published})"),
        )),
        None => Err(AccountingError::Factor(format!(
            "no residual factor ({key}) published for {year} in data/china-grid-factors.json; give it explicitly (2022: 0.5856)"
        ))),
    }
}

/// The published average of `year` for `region` (grid region or listed province), or the
/// national average when `region` is `None`.
pub fn location(year: u16, region: Option<&str>) -> Result<SourcedFactor, AccountingError> {
    let (y, published) = year_table(year)?;
    let Some(region) = region else {
        return Ok(SourcedFactor::new(
            decimal(&y["national_average"], year, "national_average")?,
            format!("{year} national average ({published})"),
        ));
    };
    let r = region.trim().to_lowercase();
    const TABLES: [(&str, &str); 2] = [("regional_average", "regional"), ("provincial_examples", "provincial")];
    for (table, kind) in TABLES {
        if let Some(v) = y.get(table).and_then(|t| t.get(&r)) {
            return Ok(SourcedFactor::new(decimal(v, year, &r)?, format!("{year} {kind} average, {r} ({published})")));
        }
    }
    let known: Vec<&str> = TABLES
        .iter()
        .filter_map(|(table, _)| y.get(*table).and_then(|t| t.as_object()))
        .flat_map(|o| o.keys().map(|k| k.as_str()))
        .collect();
    Err(AccountingError::Factor(format!("no {year} average for region {r:?}; known: {}", known.join(", "))))
}

/// The published factors of `year` and `region`, with factors given explicitly (kgCO2/kWh
/// decimals) taking their place; `given_by` says where they were given, for the statement.
pub fn choose(
    year: u16,
    region: Option<&str>,
    residual_given: Option<&str>,
    location_given: Option<&str>,
    given_by: &str,
) -> Result<Factors, AccountingError> {
    let given = |s: Option<&str>, what: &str| -> Result<Option<SourcedFactor>, AccountingError> {
        s.map(|s| Ok(SourcedFactor::new(Factor::parse_kg_per_kwh(s)?, format!("given {given_by} ({what})"))))
            .transpose()
    };
    let residual = match given(residual_given, "residual factor")? {
        Some(f) => f,
        None => residual(year)?,
    };
    let location = match given(location_given, "location factor")? {
        Some(f) => f,
        None => location(year, region)?,
    };
    Ok(Factors { residual, location })
}

fn year_table(year: u16) -> Result<(serde_json::Value, String), AccountingError> {
    let data: serde_json::Value = serde_json::from_str(CHINA_GRID_FACTORS)
        .map_err(|e| AccountingError::Factor(format!("embedded data/china-grid-factors.json: {e}")))?;
    let years = &data["co2_emission_factors"];
    let Some(y) = years.get(year.to_string()) else {
        let known: Vec<&str> = years.as_object().map(|o| o.keys().map(|k| k.as_str()).collect()).unwrap_or_default();
        return Err(AccountingError::Factor(format!(
            "no factors for {year} in data/china-grid-factors.json; known years: {}",
            known.join(", ")
        )));
    };
    let published = y["published"].as_str().unwrap_or("published factor").to_string();
    Ok((y.clone(), published))
}

fn decimal(v: &serde_json::Value, year: u16, what: &str) -> Result<Factor, AccountingError> {
    let s = v.as_str().ok_or_else(|| AccountingError::Factor(format!("{year} {what} is not a decimal string")))?;
    Factor::parse_kg_per_kwh(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn factors_parse_exactly() {
        assert_eq!(Factor::parse_kg_per_kwh("0.5856").unwrap(), Factor(585_600));
        assert_eq!(Factor::parse_kg_per_kwh("1").unwrap(), Factor(1_000_000));
        assert_eq!(Factor::parse_kg_per_kwh(".1").unwrap(), Factor(100_000));
        assert_eq!(Factor(585_600).kg_per_kwh(), "0.5856");
        assert_eq!(Factor(2_000_000).kg_per_kwh(), "2");
        for bad in ["", ".", "0.1234567", "-0.5", "0,5", "1e-3", "abc"] {
            assert!(Factor::parse_kg_per_kwh(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn grams_round_half_up() {
        // 1 MWh at 0.5856 kg/kWh = 585.6 kg.
        assert_eq!(Factor(585_600).grams(1_000_000), 585_600);
        // 1 Wh at 0.5856 kg/kWh = 0.5856 g -> 1 g; 1 Wh at 0.4 kg/kWh = 0.4 g -> 0 g.
        assert_eq!(Factor(585_600).grams(1), 1);
        assert_eq!(Factor(400_000).grams(1), 0);
    }

    #[test]
    fn published_factors_are_found_by_year_and_region() {
        let f = published(2022, Some("east")).unwrap();
        assert_eq!((f.residual.mg_per_kwh, f.location.mg_per_kwh), (585_600, 561_700));
        assert_eq!(published(2022, None).unwrap().location.mg_per_kwh, 536_600);
        assert_eq!(published(2022, Some("Sichuan")).unwrap().location.mg_per_kwh, 140_400);
        assert!(published(2023, None).is_err(), "2023 has no residual factor in the data");
        assert_eq!(location(2023, Some("south")).unwrap().mg_per_kwh, 404_200);
        assert!(published(2022, Some("atlantis")).is_err());
        assert!(published(1999, None).is_err());
    }
}

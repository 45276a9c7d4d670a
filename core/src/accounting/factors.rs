//! Grid emission factors as integers and the emission arithmetic.
//!
//! A factor is held as milligrams CO2 per kWh ([`Factor`]): 0.5856 kgCO2/kWh = 585,600 mg/kWh.
//! Emissions are computed in `u128` and given in whole grams. No floating point anywhere: the
//! published factors in `data/china-grid-factors.json` are decimal strings parsed digit by digit.
//!
//! Everything year-dependent comes from the data file: the CO2 factors of each year
//! ([`residual`], [`location`], [`site`]), the lifecycle factors of generation technologies
//! ([`lifecycle`]) and the map of provinces to the seven regional grids ([`region_of`]). A new
//! year of factors is a data change; [`latest_year`] is the newest year with a residual factor.

use super::AccountingError;
use crate::types::Technology;
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;

/// The published Chinese factors, embedded at compile time (see `data/README.md` for sources).
pub const CHINA_GRID_FACTORS: &str = include_str!("../../data/china-grid-factors.json");

/// Electricity at its equivalent value (当量值) in coal equivalent: 0.1229 kgce/kWh, held as
/// milligrams of coal equivalent per kWh so that [`Factor::grams`] gives grams of coal
/// equivalent (GB/T 2589-2020, General rules for calculation of the comprehensive energy
/// consumption, Appendix A).
pub const ELECTRICITY_EQUIVALENT: Factor = Factor(122_900);

/// Where [`ELECTRICITY_EQUIVALENT`] comes from, for statements.
pub const ELECTRICITY_EQUIVALENT_SOURCE: &str =
    "GB/T 2589-2020, electricity at its equivalent value (当量值) 0.1229 kgce/kWh";

/// An emission factor in milligrams CO2 (or CO2e) per kWh.
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
    /// market-traded non-fossil electricity (2022: 0.5856, 2023: 0.6096).
    pub residual: SourcedFactor,
    /// Location-based: the regional, provincial or national average, applied to all consumption.
    /// In a park from the ledger each member has its own (see the member lines); this one is the
    /// park's own province's.
    pub location: SourcedFactor,
}

/// The published factors of `year`: the residual factor and the average of `region` (a grid
/// region, a province, or a listed province), or the national average when no region is given.
pub fn published(year: u16, region: Option<&str>) -> Result<Factors, AccountingError> {
    Ok(Factors { residual: residual(year)?, location: location(year, region)? })
}

/// The newest year of the data with a residual factor: the default year of statements.
pub fn latest_year() -> Result<u16, AccountingError> {
    let years = data()?["co2_emission_factors"].as_object().cloned().unwrap_or_default();
    years
        .iter()
        .filter(|(_, y)| y.get(RESIDUAL).is_some())
        .filter_map(|(k, _)| k.parse::<u16>().ok())
        .max()
        .ok_or_else(|| AccountingError::Factor("no year with a residual factor in data/china-grid-factors.json".into()))
}

const RESIDUAL: &str = "national_average_excluding_market_traded_non_fossil";

/// The published residual factor of `year`: the national average excluding market-traded
/// non-fossil electricity.
pub fn residual(year: u16) -> Result<SourcedFactor, AccountingError> {
    let (y, published) = year_table(year)?;
    match y.get(RESIDUAL) {
        Some(v) => Ok(SourcedFactor::new(
            decimal(v, year, RESIDUAL)?,
            format!("{year} national average excluding market-traded non-fossil electricity ({published})"),
        )),
        None => Err(AccountingError::Factor(format!(
            "no residual factor ({RESIDUAL}) published for {year} in data/china-grid-factors.json; give it explicitly (2023: 0.6096)"
        ))),
    }
}

/// The published average of `year` for `region` (grid region, province or listed province:
/// see [`site`]), or the national average when `region` is `None`.
pub fn location(year: u16, region: Option<&str>) -> Result<SourcedFactor, AccountingError> {
    match region {
        None => {
            let (y, published) = year_table(year)?;
            Ok(SourcedFactor::new(
                decimal(&y["national_average"], year, "national_average")?,
                format!("{year} national average ({published})"),
            ))
        }
        Some(region) => site(year, region),
    }
}

/// The location-based factor of a site in `place` (a province in pinyin or Chinese, such as
/// `jiangsu` or `江苏`, or one of the seven grid regions): the province's own published
/// average when `year` lists it, else the average of the province's regional grid.
pub fn site(year: u16, place: &str) -> Result<SourcedFactor, AccountingError> {
    let (y, published) = year_table(year)?;
    let key = normalize(place);
    if let Some(v) = y.get("provincial_examples").and_then(|t| t.get(&key)) {
        return Ok(SourcedFactor::new(
            decimal(v, year, &key)?,
            format!("{year} provincial average, {key} ({published})"),
        ));
    }
    let Some(region) = region_of(place)? else {
        return Err(AccountingError::Factor(format!(
            "{place:?} is neither a province nor a grid region known to data/china-grid-factors.json; regions: north, northeast, east, central, northwest, south, southwest (or 华北, 东北, 华东, 华中, 西北, 南方, 西南)"
        )));
    };
    let v = y.get("regional_average").and_then(|t| t.get(&region)).ok_or_else(|| {
        AccountingError::Factor(format!("no {year} regional average for the {region} grid (site {place:?})"))
    })?;
    let how = if region == key { String::new() } else { format!(" (region of {key})") };
    Ok(SourcedFactor::new(decimal(v, year, &region)?, format!("{year} regional average, {region}{how} ({published})")))
}

/// The grid region (`north`, `east`, ...) of a province (pinyin or Chinese) or region name, if
/// the data knows it.
pub fn region_of(place: &str) -> Result<Option<String>, AccountingError> {
    let key = normalize(place);
    let regions = data()?["province_regions"]["regions"].as_object().cloned().unwrap_or_default();
    for (region, r) in &regions {
        let listed = |field: &str| {
            r[field].as_array().is_some_and(|a| a.iter().any(|p| p.as_str().is_some_and(|p| normalize(p) == key)))
        };
        if *region == key || r["zh"].as_str() == Some(place.trim()) || listed("provinces") || listed("provinces_zh") {
            return Ok(Some(region.clone()));
        }
    }
    Ok(None)
}

/// The lifecycle (carbon footprint) factor of `technology` in `year`, kgCO2e/kWh as
/// milligrams: the MEE/NBS/NEA technology values where published, else the IPCC AR5 medians.
pub fn lifecycle(year: u16, technology: Technology) -> Result<SourcedFactor, AccountingError> {
    let all = &data()?["lifecycle_factors"];
    let Some(y) = all.get(year.to_string()) else {
        let known: Vec<&str> = all.as_object().map(|o| o.keys().map(|k| k.as_str()).collect()).unwrap_or_default();
        return Err(AccountingError::Factor(format!(
            "no lifecycle factors for {year} in data/china-grid-factors.json; known: {}",
            known.join(", ")
        )));
    };
    let name = technology.name();
    let Some(t) = y.get(name) else {
        return Err(AccountingError::Factor(format!(
            "no {year} lifecycle factor for technology {name} in data/china-grid-factors.json"
        )));
    };
    let source = t["source"].as_str().unwrap_or("data/china-grid-factors.json");
    Ok(SourcedFactor::new(decimal(&t["value"], year, name)?, format!("{year} lifecycle factor, {name}: {source}")))
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

fn normalize(place: &str) -> String {
    place.trim().to_lowercase().replace([' ', '-'], "_")
}

fn data() -> Result<&'static serde_json::Value, AccountingError> {
    static DATA: OnceLock<Result<serde_json::Value, String>> = OnceLock::new();
    DATA.get_or_init(|| serde_json::from_str(CHINA_GRID_FACTORS).map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| AccountingError::Factor(format!("embedded data/china-grid-factors.json: {e}")))
}

fn year_table(year: u16) -> Result<(&'static serde_json::Value, String), AccountingError> {
    let years = &data()?["co2_emission_factors"];
    let Some(y) = years.get(year.to_string()) else {
        let known: Vec<&str> = years.as_object().map(|o| o.keys().map(|k| k.as_str()).collect()).unwrap_or_default();
        return Err(AccountingError::Factor(format!(
            "no factors for {year} in data/china-grid-factors.json; known years: {}",
            known.join(", ")
        )));
    };
    let published = y["published"].as_str().unwrap_or("published factor").to_string();
    Ok((y, published))
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
        assert!(published(2022, Some("atlantis")).is_err());
    }

    #[test]
    fn the_2023_factors_read_and_an_unknown_year_is_a_clear_error() {
        let f = published(2023, None).unwrap();
        assert_eq!((f.residual.mg_per_kwh, f.location.mg_per_kwh), (609_600, 530_600));
        assert!(f.residual.source.starts_with("2023 national average excluding"), "{}", f.residual.source);
        assert_eq!(location(2023, Some("south")).unwrap().mg_per_kwh, 404_200);
        assert_eq!(latest_year().unwrap(), 2023);
        let e = published(1999, None).unwrap_err().to_string();
        assert!(e.contains("no factors for 1999") && e.contains("2022, 2023"), "{e}");
        assert!(lifecycle(1999, Technology::Wind).unwrap_err().to_string().contains("1999"));
    }

    #[test]
    fn every_site_finds_its_own_factor() {
        // A province without its own factor takes its regional grid's: Jiangsu is in the east.
        let js = site(2023, "jiangsu").unwrap();
        assert_eq!(js.mg_per_kwh, 550_000);
        assert!(js.source.contains("east (region of jiangsu)"), "{}", js.source);
        assert_eq!(site(2023, "江苏").unwrap().mg_per_kwh, 550_000);
        assert_eq!(site(2023, "Sichuan").unwrap().mg_per_kwh, 247_200); // southwest
        assert_eq!(site(2023, "华北").unwrap().mg_per_kwh, 636_100);
        assert_eq!(site(2023, "inner_mongolia_east").unwrap().mg_per_kwh, 512_200);
        // 2022 lists some provinces: their own factor comes first.
        assert_eq!(site(2022, "sichuan").unwrap().mg_per_kwh, 140_400);
        assert_eq!(site(2022, "chongqing").unwrap().mg_per_kwh, 226_800);
        assert!(site(2023, "atlantis").unwrap_err().to_string().contains("atlantis"));
        // Every province of the map has a region with a factor.
        let regions = data().unwrap()["province_regions"]["regions"].as_object().unwrap();
        let mut provinces = 0;
        for r in regions.values() {
            for p in r["provinces"].as_array().unwrap().iter().chain(r["provinces_zh"].as_array().unwrap()) {
                site(2023, p.as_str().unwrap()).unwrap();
                provinces += 1;
            }
        }
        assert_eq!((regions.len(), provinces), (7, 64));
    }

    #[test]
    fn lifecycle_factors_cover_every_renewable_technology() {
        let mg = |t| lifecycle(2023, t).unwrap().mg_per_kwh;
        assert_eq!([mg(Technology::Wind), mg(Technology::Solar), mg(Technology::Biomass)], [33_600, 54_500, 45_700]);
        assert_eq!(
            [mg(Technology::Hydro), mg(Technology::Geothermal), mg(Technology::Marine)],
            [24_000, 38_000, 17_000]
        );
        assert!(lifecycle(2023, Technology::Hydro).unwrap().source.contains("IPCC AR5"));
        assert!(lifecycle(2023, Technology::Wind).unwrap().source.contains("MEE/NBS/NEA"));
        assert!(lifecycle(2023, Technology::Other).is_err());
        assert_eq!(ELECTRICITY_EQUIVALENT.grams(1_000_000), 122_900); // 1 MWh = 122.9 kgce
    }
}

//! Self-contained HTML pages for statements: no scripts, no external files. Charts are inline
//! SVG made by [`super::chart`]: green supply stacked by source (direct supply, green-power
//! trade, certificates) per hour with the hour's consumption as a step line, times in the
//! statement's zone. Every page names the checkpoint it was computed at (when the caller gives
//! it, see [`Computed`]) and the emission factors it used with their sources. Figures for people
//! are in MWh and t CO2 with thousands separators; the JSON keeps the exact integers.

use super::cancellation::Certificate;
use super::chart::{self, mwh, t_co2, thousands, Series};
use super::hourly::{HourLine, Statement};
use super::park::{Figures, ParkStatement};
use super::product::ProductStatement;
use super::signed::At;
use crate::types::Timestamp;
use std::fmt::Write as _;

/// The ledger state a page's statement was computed at, read from the statement's JSON.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Computed {
    pub ledger: String,
    pub at: At,
}

impl Computed {
    /// The `ledger` and `checkpoint` of a statement's canonical JSON (`None` if it has none).
    pub fn of_json(json: &str) -> Option<Computed> {
        #[derive(serde::Deserialize)]
        struct Envelope {
            ledger: String,
            checkpoint: At,
        }
        let e: Envelope = serde_json::from_str(json).ok()?;
        Some(Computed { ledger: e.ledger, at: e.checkpoint })
    }
}

/// The paragraph naming the checkpoint and the factors.
fn provenance(at: Option<&Computed>, factors: &[(String, String, String)]) -> String {
    let mut b = String::from("<h2>Computed at</h2>\n");
    match at {
        Some(c) => {
            let _ = writeln!(
                b,
                "<p class=\"at\">Ledger <code>{}</code>, checkpoint of tree size {} with root <code>{}</code>. The signed statement (JSON and note) names the same checkpoint.</p>",
                escape(&c.ledger),
                thousands(c.at.size),
                escape(&c.at.root)
            );
        }
        None => b.push_str("<p class=\"at\">Checkpoint: not given (this page was made from the statement alone; the signed statement names it).</p>\n"),
    }
    if factors.is_empty() {
        b.push_str("<p>Emission factors: none used (this statement counts energy only).</p>\n");
    } else {
        b.push_str("<table>\n<tr><th>emission factor</th><th>kg CO2/kWh</th><th>source</th></tr>\n");
        for (what, value, source) in factors {
            let _ =
                writeln!(b, "<tr><td>{}</td><td>{}</td><td>{}</td></tr>", escape(what), escape(value), escape(source));
        }
        b.push_str("</table>\n");
    }
    b
}

/// Escapes text for HTML element content and attribute values.
pub fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// The start of an hour in the statement's zone (UTC for statements made before zones).
fn hour_label(h: &HourLine) -> String {
    if h.local.is_empty() {
        Timestamp(h.start).to_string()
    } else {
        h.local.clone()
    }
}

fn page(title: &str, body: &str) -> String {
    page_in("en", title, body)
}

fn page_in(lang: &str, title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"{lang}\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>\n\
         body {{ font-family: sans-serif; margin: 2em; }}\n\
         table {{ border-collapse: collapse; }}\n\
         td, th {{ border: 1px solid #ccc; padding: 2px 8px; text-align: right; }}\n\
         th:first-child, td:first-child {{ text-align: left; }}\n\
         .flag {{ color: #b71c1c; }}\n\
         @media print {{ body {{ margin: 0; }} }}\n\
         </style>\n</head>\n<body>\n{body}</body>\n</html>\n",
        escape(title)
    )
}

/// The hourly chart of a consumption statement: green supply stacked by source, consumption as
/// a step line, times in the statement's zone.
pub fn chart(s: &Statement) -> String {
    let hours: Vec<String> = s.hours.iter().map(hour_label).collect();
    let pick = |f: fn(&HourLine) -> u64| s.hours.iter().map(f).collect::<Vec<u64>>();
    chart::hourly(&chart::Hourly {
        title: format!("{}: consumption and green energy by source, hour by hour", s.name),
        hours: &hours,
        zone: zone_text(&s.zone, &s.utc_offset),
        stacked: vec![
            Series::new("direct supply", chart::DIRECT, pick(|h| h.direct_wh)),
            Series::new("green-power trade", chart::TRADE, pick(|h| h.trade_wh)),
            Series::new("certificates", chart::CERTIFICATES, pick(|h| h.certificates_wh)),
        ],
        line: Some(Series::new("consumption", chart::CONSUMPTION, pick(|h| h.consumption_wh))),
    })
}

/// Wh with thousands separators: `1,234,567 Wh`.
fn wh(v: u64) -> String {
    format!("{} Wh", thousands(v))
}

/// The consumption statement as a page: summary, chart, hourly table and claims; without the
/// checkpoint (see [`consumption_page_at`]).
pub fn consumption_page(s: &Statement) -> String {
    consumption_page_at(s, None)
}

/// The consumption statement as a page naming the checkpoint `at` it was computed at.
pub fn consumption_page_at(s: &Statement, at: Option<&Computed>) -> String {
    let t = &s.totals;
    let mut b = String::new();
    let _ = writeln!(b, "<h1>Green consumption statement: {}</h1>", escape(&s.name));
    let _ = writeln!(
        b,
        "<p>Account <code>{}</code>, {} to {} ({} hours, {}). Green energy counts only through retired certificates (claims): each Wh once. Only claims produced over at most one hour count in the 24/7 match; longer production counts in the annual-volume share only.</p>",
        escape(&s.account),
        escape(&moment(s.period.start.0, &s.zone, &s.utc_offset)),
        escape(&moment(s.period.end.0, &s.zone, &s.utc_offset)),
        s.hours.len(),
        escape(&zone_text(&s.zone, &s.utc_offset))
    );
    let _ = writeln!(b, "<table>");
    for (label, value) in [
        ("consumption", mwh(t.consumption_wh)),
        ("green (claimed)", mwh(t.green_wh)),
        ("direct supply", mwh(t.direct_wh)),
        ("green-power trade", mwh(t.trade_wh)),
        ("certificates", mwh(t.certificates_wh)),
        ("24/7 matched", mwh(t.matched_wh)),
        ("hourly-matched share", t.hourly_matched.percent()),
        ("annual-volume share", t.annual_volume.percent()),
        ("unmatched green (not carried)", mwh(t.unmatched_green_wh)),
        ("annual-volume only (produced over more than an hour)", mwh(t.annual_volume_only_wh)),
        ("claims of other periods (not listed)", s.claims_elsewhere.to_string()),
    ] {
        let _ = writeln!(b, "<tr><th>{label}</th><td>{value}</td></tr>");
    }
    let _ = writeln!(b, "</table>\n<h2>Hour by hour</h2>");
    b.push_str(&chart(s));
    let _ = writeln!(
        b,
        "<table>\n<tr><th>hour</th><th>consumption Wh</th><th>direct Wh</th><th>trade Wh</th><th>certificates Wh</th><th>matched Wh</th><th>claims</th></tr>"
    );
    for h in &s.hours {
        let claims: Vec<String> = h.backing.iter().map(|k| format!("C{}: {}", k.claim, wh(k.wh))).collect();
        let _ = writeln!(
            b,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            hour_label(h),
            thousands(h.consumption_wh),
            thousands(h.direct_wh),
            thousands(h.trade_wh),
            thousands(h.certificates_wh),
            thousands(h.matched_wh),
            claims.join(", ")
        );
    }
    let _ = writeln!(
        b,
        "</table>\n<h2>Claims</h2>\n<table>\n<tr><th>claim</th><th>source</th><th>device</th><th>produced</th><th>for consumption</th><th>energy Wh</th><th>counted Wh</th><th>beneficiary</th><th>purpose</th><th>not counted / annual volume only because</th></tr>"
    );
    for c in &s.claims {
        let why: Vec<&str> = c.reasons.iter().map(|r| r.describe()).collect();
        let _ = writeln!(
            b,
            "<tr><td>C{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            c.claim,
            c.source.name(),
            escape(&c.device),
            escape(&c.production.to_string()),
            escape(&c.consumption.to_string()),
            thousands(c.energy_wh),
            thousands(c.counted_wh),
            escape(&c.beneficiary),
            escape(&c.purpose),
            escape(&why.join("; "))
        );
    }
    b.push_str("</table>\n");
    b.push_str(&provenance(at, &[]));
    page(&format!("Green consumption statement: {}", s.name), &b)
}

/// The park statement as a page without the checkpoint and member charts (see [`park_page_at`]).
pub fn park_page(p: &ParkStatement) -> String {
    park_page_at(p, &[], None)
}

/// The park statement as a page: method and factors, charts (the park hour by hour, green energy
/// by source, and one hourly chart per member of `members`, the member statements it adds up,
/// when given), members with their sites and factors, the park indicators, the energy traded
/// inside the park and the hourly table, times in the zone; naming the checkpoint `at`.
pub fn park_page_at(p: &ParkStatement, members: &[Statement], at: Option<&Computed>) -> String {
    use super::park::{local_time, millionths};
    let mut b = String::new();
    let code = p.park.as_deref().map(|c| format!(" [{}]", escape(c))).unwrap_or_default();
    let _ = writeln!(b, "<h1>Park statement: {}{code}</h1>", escape(&p.name));
    let _ = writeln!(
        b,
        "<p>{} to {} (times in {}).</p>",
        local_time(p.period.start.0, &p.zone),
        local_time(p.period.end.0, &p.zone),
        escape(&p.zone.name)
    );
    let _ = writeln!(
        b,
        "<p>Market-based factor {} kgCO2/kWh ({}); park location factor {} kgCO2/kWh ({}); each member uses its own site's.</p>",
        escape(&p.factors.residual.kg_per_kwh),
        escape(&p.factors.residual.source),
        escape(&p.factors.location.kg_per_kwh),
        escape(&p.factors.location.source)
    );
    b.push_str("<h2>Method</h2>\n<ul>\n");
    for m in &p.method {
        let _ = writeln!(b, "<li>{}</li>", escape(m));
    }
    b.push_str("</ul>\n");
    b.push_str(&park_charts(p));
    let _ = writeln!(
        b,
        "<h2>Members</h2>\n<table>\n<tr><th>member</th><th>site</th><th>member from</th><th>until</th><th>hours</th><th>location factor</th><th>consumption</th><th>green</th><th>grid</th><th>clean share</th><th>24/7 share</th><th>market-based</th><th>location-based</th></tr>"
    );
    let row = |b: &mut String, cells: [String; 6], f: &Figures| {
        let _ = write!(b, "<tr>");
        for c in cells {
            let _ = write!(b, "<td>{}</td>", escape(&c));
        }
        let _ = writeln!(
            b,
            "<td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            mwh(f.consumption_wh),
            mwh(f.green_counted_wh),
            mwh(f.grid_wh),
            f.clean_share.percent(),
            f.hourly_matched.percent(),
            t_co2(f.market_based_g),
            t_co2(f.location_based_g)
        );
    };
    for m in &p.members {
        let factor = m.location.as_ref().map_or(String::new(), |f| format!("{} ({})", f.kg_per_kwh, f.source));
        let cells = [
            format!("{} ({})", m.name, &m.account[..m.account.len().min(16)]),
            m.province.clone(),
            local_time(m.from, &p.zone),
            m.until.map_or("open".into(), |u| local_time(u, &p.zone)),
            m.hours.to_string(),
            factor,
        ];
        row(&mut b, cells, &m.figures);
    }
    let empty = || String::new();
    row(&mut b, ["park total".into(), empty(), empty(), empty(), empty(), empty()], &p.total);
    b.push_str("</table>\n");
    if let Some(i) = &p.indicators {
        b.push_str("<h2>Zero-carbon park indicators</h2>\n<table>\n");
        let per = |v: Option<u64>| {
            v.map_or("not given: non-electric energy not declared".to_string(), |v| {
                format!("{} tCO2/tce", millionths(v))
            })
        };
        for (label, value) in [
            (
                "clean share of electricity",
                format!("{} (hourly matched {})", i.clean_share.percent(), i.hourly_matched.percent()),
            ),
            ("Scope 2 market-based", t_co2(i.scope2_market_based_g)),
            ("Scope 2 location-based", t_co2(i.scope2_location_based_g)),
            (
                "electricity in coal equivalent",
                format!("{}ce ({})", chart::tonnes(i.electricity_gce), i.electricity_equivalent_source),
            ),
            (
                "non-electric energy (declared)",
                i.non_electric_declared.as_ref().map_or("not declared".into(), |d| format!("{} tce", d.tce)),
            ),
            ("carbon per unit of energy, market-based", per(i.market_based_per_tce_millionths)),
            ("carbon per unit of energy, location-based", per(i.location_based_per_tce_millionths)),
            ("traded inside the park, between members", mwh(i.traded_between_members_wh)),
            ("distributed trade from sellers outside", mwh(i.traded_from_outside_wh)),
        ] {
            let _ = writeln!(b, "<tr><th>{}</th><td>{}</td></tr>", escape(label), escape(&value));
        }
        b.push_str("</table>\n");
    }
    if !p.inside.is_empty() {
        b.push_str("<h2>Energy traded inside the park</h2>\n<table>\n<tr><th>claim</th><th>device</th><th>seller</th><th>buyer</th><th>Wh</th></tr>\n");
        for t in &p.inside {
            let seller = format!(
                "{}{}",
                &t.seller[..t.seller.len().min(16)],
                if t.seller_is_member { " (member)" } else { " (outside)" }
            );
            let _ = writeln!(
                b,
                "<tr><td>C{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                t.claim,
                escape(&t.device),
                escape(&seller),
                escape(&t.buyer[..t.buyer.len().min(16)]),
                thousands(t.counted_wh)
            );
        }
        b.push_str("</table>\n");
    }
    if !p.hours.is_empty() {
        let _ = writeln!(
            b,
            "<h2>Hour by hour ({})</h2>\n<table>\n<tr><th>hour</th><th>members</th><th>consumption Wh</th><th>green Wh</th><th>clean Wh</th><th>grid Wh</th><th>inside Wh</th></tr>",
            escape(&p.zone.name)
        );
        for h in &p.hours {
            let _ = writeln!(
                b,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&h.local),
                h.members,
                thousands(h.consumption_wh),
                thousands(h.green_wh),
                thousands(h.clean_wh),
                thousands(h.grid_wh),
                thousands(h.inside_wh)
            );
        }
        b.push_str("</table>\n");
    }
    for m in members {
        let _ = writeln!(b, "<h2>Member {}, hour by hour</h2>", escape(&m.name));
        b.push_str(&chart(m));
    }
    let mut factors = vec![
        (
            "market-based (residual)".to_string(),
            p.factors.residual.kg_per_kwh.clone(),
            p.factors.residual.source.clone(),
        ),
        (
            "location-based, the park's".to_string(),
            p.factors.location.kg_per_kwh.clone(),
            p.factors.location.source.clone(),
        ),
    ];
    for m in &p.members {
        if let Some(f) = &m.location {
            factors.push((
                format!("location-based, {} ({})", m.name, m.province),
                f.kg_per_kwh.clone(),
                f.source.clone(),
            ));
        }
    }
    b.push_str(&provenance(at, &factors));
    page(&format!("Park statement: {}", p.name), &b)
}

/// The park's charts: hour by hour (clean energy and grid stacked, consumption as a line) and
/// the green energy of the period by source.
fn park_charts(p: &ParkStatement) -> String {
    let mut b = String::new();
    if !p.hours.is_empty() {
        let hours: Vec<String> = p.hours.iter().map(|h| h.local.clone()).collect();
        let pick = |f: fn(&super::park::ParkHour) -> u64| p.hours.iter().map(f).collect::<Vec<u64>>();
        b.push_str(&chart::hourly(&chart::Hourly {
            title: format!("{}: consumption, clean energy and grid, hour by hour", p.name),
            hours: &hours,
            zone: p.zone.name.clone(),
            stacked: vec![
                Series::new("clean (green matched in the hour)", chart::DIRECT, pick(|h| h.clean_wh)),
                Series::new("grid", chart::GRID, pick(|h| h.grid_wh)),
            ],
            line: Some(Series::new("consumption", chart::CONSUMPTION, pick(|h| h.consumption_wh))),
        }));
    }
    let t = &p.total;
    b.push_str(&chart::bars(
        "Green energy by source, and the grid (whole period)",
        &[
            ("direct supply", chart::DIRECT, t.direct_wh),
            ("green-power trade", chart::TRADE, t.trade_wh),
            ("certificates", chart::CERTIFICATES, t.certificates_wh),
            ("grid", chart::GRID, t.grid_wh),
        ],
    ));
    b
}

/// The product statement as a page without the checkpoint (see [`product_page_at`]).
pub fn product_page(p: &ProductStatement) -> String {
    product_page_at(p, None)
}

/// The product statement as a page: method, electricity per unit, source mix, footprint and the
/// CBAM evidence; naming the checkpoint `at`.
pub fn product_page_at(p: &ProductStatement, at: Option<&Computed>) -> String {
    let mut b = String::new();
    let _ = writeln!(
        b,
        "<h1>Product statement: {} ({} {})</h1>\n<p>Claimant {} (<code>{}</code>), reporting year {} ({}).</p>",
        escape(&p.product),
        p.quantity,
        escape(&p.unit),
        escape(&p.claimant_name),
        escape(&p.claimant),
        escape(&p.year),
        escape(&p.zone.name)
    );
    b.push_str("<h2>Method</h2>\n<ul>\n");
    for m in &p.method {
        let _ = writeln!(b, "<li>{}</li>", escape(m));
    }
    b.push_str("</ul>\n<table>\n");
    let declared = p.electricity_declared.as_ref().map_or("not declared".into(), |d| format!("{} kWh", d.kwh));
    for (label, value) in [
        ("certified green electricity", format!("{} Wh", p.certified_wh)),
        (
            "certified per unit",
            format!("{} Wh (remainder {} Wh)", p.certified_wh_per_unit, p.certified_wh_per_unit_remainder),
        ),
        ("declared electricity (as given)", declared),
        ("electricity per unit", p.electricity_wh_per_unit.map_or("-".into(), |w| format!("{w} Wh"))),
        ("rest from the grid", format!("{} Wh", p.rest_wh)),
        ("footprint", format!("{} g CO2e", p.footprint_g)),
        ("footprint per unit", format!("{} mg CO2e", p.footprint_mg_per_unit)),
    ] {
        let _ = writeln!(b, "<tr><th>{}</th><td>{}</td></tr>", escape(label), escape(&value));
    }
    b.push_str("</table>\n<h2>Source mix</h2>\n<table>\n<tr><th>kind</th><th>Wh</th><th>share</th></tr>\n");
    for m in p.mix_by_technology.iter().chain(&p.mix_by_instrument) {
        let _ = writeln!(b, "<tr><td>{}</td><td>{}</td><td>{}</td></tr>", escape(&m.kind), m.wh, m.share.percent());
    }
    let _ = writeln!(
        b,
        "</table>\n<h2>Footprint ({} factors)</h2>\n<table>\n<tr><th>electricity</th><th>Wh</th><th>factor kg/kWh</th><th>g</th><th>source</th></tr>",
        p.factor_year
    );
    for f in &p.footprint {
        let _ = writeln!(
            b,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&f.what),
            f.wh,
            escape(&f.factor.kg_per_kwh),
            f.grams,
            escape(&f.factor.source)
        );
    }
    let _ = writeln!(
        b,
        "</table>\n<h2>CBAM evidence: direct supply only ({} Wh)</h2>\n<p>{}</p>\n<table>\n<tr><th>claim</th><th>device</th><th>technology</th><th>origin</th><th>Wh</th></tr>",
        p.cbam.direct_supply_wh,
        escape(&p.cbam.rule)
    );
    for c in &p.cbam.direct_supply {
        let _ = writeln!(
            b,
            "<tr><td>C{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            c.claim,
            escape(&c.device),
            escape(&c.technology),
            escape(&c.origin),
            c.energy_wh
        );
    }
    let _ = writeln!(b, "</table>\n<p>Not accepted as CBAM evidence: {} Wh.</p>", thousands(p.cbam.not_accepted_wh));
    let factors: Vec<(String, String, String)> = p
        .footprint
        .iter()
        .map(|f| (format!("{} ({})", f.what, p.factor_year), f.factor.kg_per_kwh.clone(), f.factor.source.clone()))
        .collect();
    b.push_str(&provenance(at, &factors));
    page(&format!("Product statement: {}", p.product), &b)
}

/// `Asia/Shanghai (UTC+08:00)`; statements made before zones were named are in UTC.
fn zone_text(zone: &str, offset: &str) -> String {
    if zone.is_empty() {
        "UTC".to_string()
    } else {
        format!("{zone} (UTC{offset})")
    }
}

/// The cancellation certificate as a page without the checkpoint (see [`cancellation_page_at`]).
pub fn cancellation_page(c: &Certificate) -> String {
    cancellation_page_at(c, None)
}

/// The cancellation certificate as a printable page with Chinese and English labels, naming the
/// checkpoint `at`.
pub fn cancellation_page_at(c: &Certificate, at: Option<&Computed>) -> String {
    let mut b = String::new();
    let _ = writeln!(b, "<h1>注销证明 / Cancellation certificate</h1>");
    let _ = writeln!(b, "<table>");
    for (zh, en, value) in [
        ("受益方", "beneficiary", format!("{} (<code>{}</code>)", escape(&c.name), escape(&c.beneficiary))),
        ("报告期", "reporting period", escape(&c.reporting_period)),
        (
            "期间",
            "period",
            format!(
                "{} .. {}",
                escape(&moment(c.period.start.0, &c.zone, &c.utc_offset)),
                escape(&moment(c.period.end.0, &c.zone, &c.utc_offset))
            ),
        ),
        ("时区", "time zone", escape(&zone_text(&c.zone, &c.utc_offset))),
        ("核销笔数", "claims", c.totals.claims.to_string()),
        ("注销电量", "energy cancelled", mwh(c.totals.energy_wh)),
        ("超过15年的设备", "devices older than 15 years (RE100)", mwh(c.totals.older_than_15_years_wh)),
    ] {
        let _ = writeln!(b, "<tr><th>{zh} / {en}</th><td>{value}</td></tr>");
    }
    let _ = writeln!(b, "</table>");
    let _ = writeln!(
        b,
        "<p>每一笔核销只计入一次 / Each claim counts once: for this beneficiary, in the reporting period of its consumption. Claims of other periods: {}.</p>",
        c.other_periods
    );
    let _ = writeln!(b, "<h2>核销明细 / Claims</h2>\n<table>");
    let _ = writeln!(
        b,
        "<tr><th>核销 / claim</th><th>日志条目 / entry</th><th>类型 / instrument</th><th>类别 / class</th><th>省份 / province</th><th>技术 / technology</th><th>生产年月 / vintage</th><th>设备 / device</th><th>投运日期 / commissioned</th><th>证书编号 / serials</th><th>电量 / energy Wh</th><th>受益方 / beneficiary</th><th>用途 / purpose</th></tr>"
    );
    for l in &c.claims {
        let old = if l.older_than_15_years { " <span class=\"flag\">(&gt;15 年 / years)</span>" } else { "" };
        let _ = writeln!(
            b,
            "<tr><td>C{}</td><td>#{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}{old}</td><td>{} .. {}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            l.claim,
            l.entry,
            escape(l.instrument.label()),
            escape(&l.class),
            escape(&l.province),
            escape(&l.technology),
            escape(&l.vintage),
            escape(&l.device),
            escape(&l.commissioned),
            l.serials.0,
            l.serials.1.saturating_sub(1),
            thousands(l.energy_wh),
            escape(&l.beneficiary),
            escape(&l.purpose)
        );
    }
    let _ = writeln!(b, "</table>\n<h2>合计 / Totals</h2>");
    let t = &c.totals;
    for (zh, en, rows) in [
        ("按类型", "by instrument", &t.by_instrument),
        ("按类别", "by class", &t.by_class),
        ("按省份", "by province", &t.by_province),
        ("按技术", "by technology", &t.by_technology),
        ("按生产年月", "by vintage", &t.by_vintage),
    ] {
        let _ = writeln!(
            b,
            "<h3>{zh} / {en}</h3>\n<table>\n<tr><th>{en}</th><th>核销 / claims</th><th>电量 / Wh</th></tr>"
        );
        for r in rows.iter() {
            let _ = writeln!(
                b,
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&r.key),
                r.claims,
                thousands(r.energy_wh)
            );
        }
        let _ = writeln!(b, "</table>");
    }
    b.push_str(&provenance(at, &[]));
    page_in("zh-CN", &format!("注销证明 / Cancellation certificate: {} {}", c.name, c.reporting_period), &b)
}

/// `t` in the statement's zone; in UTC for statements made before zones were named.
fn moment(t: u64, zone: &str, offset: &str) -> String {
    if zone.is_empty() {
        Timestamp(t).to_string()
    } else {
        super::hourly::local_time(t, offset_s(offset))
    }
}

/// Seconds of an offset label `+08:00` (0 when it cannot be read).
fn offset_s(label: &str) -> i32 {
    let sign = if label.starts_with('-') { -1 } else { 1 };
    let digits = label.trim_start_matches(['+', '-']);
    let (h, m) = digits.split_once(':').unwrap_or((digits, "0"));
    sign * (h.parse::<i32>().unwrap_or(0) * 3600 + m.parse::<i32>().unwrap_or(0) * 60)
}

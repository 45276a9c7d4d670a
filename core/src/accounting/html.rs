//! Self-contained HTML pages for statements: no scripts, no external files. The consumption
//! statement carries an inline SVG chart: green supply stacked by source (direct supply,
//! green-power trade, certificates) per hour, with the hour's consumption drawn as a step line.
//! All coordinates are integers.

use super::cancellation::Certificate;
use super::hourly::{HourLine, Statement};
use super::park::{Figures, ParkStatement};
use super::product::ProductStatement;
use crate::types::Timestamp;
use std::fmt::Write as _;

const CHART_HEIGHT: u64 = 300;
const CHART_WIDTH: u64 = 960;
const COLORS: [(&str, &str); 3] =
    [("direct supply", "#2e7d32"), ("green-power trade", "#66bb6a"), ("certificates", "#c5e1a5")];

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

/// Integer y coordinate of `wh` on a chart whose top is `max` Wh.
fn y(wh: u64, max: u64) -> u64 {
    CHART_HEIGHT - (wh as u128 * CHART_HEIGHT as u128 / max as u128) as u64
}

/// The stacked chart of a statement as an SVG element.
pub fn chart(s: &Statement) -> String {
    let n = s.hours.len().max(1) as u64;
    let bar = (CHART_WIDTH / n).clamp(1, 40);
    let width = bar * n;
    let max = s.hours.iter().map(|h| h.consumption_wh.max(h.green_wh)).max().unwrap_or(0).max(1);
    let mut o = String::new();
    let _ = writeln!(
        o,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\" role=\"img\" aria-label=\"hourly consumption and green supply\">",
        width,
        CHART_HEIGHT + 40,
        width,
        CHART_HEIGHT + 40
    );
    let _ = writeln!(o, "<rect x=\"0\" y=\"0\" width=\"{width}\" height=\"{CHART_HEIGHT}\" fill=\"#fafafa\"/>");
    let _ = writeln!(o, "<text x=\"4\" y=\"12\" font-size=\"11\">top: {max} Wh</text>");
    let mut line = String::new();
    for (i, h) in s.hours.iter().enumerate() {
        let x = i as u64 * bar;
        let mut base = 0u64;
        for (wh, (label, color)) in [h.direct_wh, h.trade_wh, h.certificates_wh].into_iter().zip(COLORS) {
            if wh == 0 {
                continue;
            }
            let (top, bottom) = (y(base + wh, max), y(base, max));
            let _ = writeln!(
                o,
                "<rect x=\"{x}\" y=\"{top}\" width=\"{bar}\" height=\"{}\" fill=\"{color}\"><title>{} {label}: {wh} Wh</title></rect>",
                bottom - top,
                hour_label(h)
            );
            base += wh;
        }
        let cy = y(h.consumption_wh, max);
        let _ = write!(line, "{x},{cy} {},{cy} ", x + bar);
    }
    let _ =
        writeln!(o, "<polyline points=\"{}\" fill=\"none\" stroke=\"#c62828\" stroke-width=\"2\"/>", line.trim_end());
    let legend = [("consumption", "#c62828")].into_iter().chain(COLORS);
    for (i, (label, color)) in legend.enumerate() {
        let x = i as u64 * 160;
        let _ =
            writeln!(o, "<rect x=\"{x}\" y=\"{}\" width=\"12\" height=\"12\" fill=\"{color}\"/>", CHART_HEIGHT + 14);
        let _ = writeln!(o, "<text x=\"{}\" y=\"{}\" font-size=\"12\">{label}</text>", x + 16, CHART_HEIGHT + 25);
    }
    o.push_str("</svg>\n");
    o
}

/// The consumption statement as a page: summary, chart, hourly table and claims.
pub fn consumption_page(s: &Statement) -> String {
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
        ("consumption", format!("{} Wh", t.consumption_wh)),
        ("green (claimed)", format!("{} Wh", t.green_wh)),
        ("direct supply", format!("{} Wh", t.direct_wh)),
        ("green-power trade", format!("{} Wh", t.trade_wh)),
        ("certificates", format!("{} Wh", t.certificates_wh)),
        ("24/7 matched", format!("{} Wh", t.matched_wh)),
        ("hourly-matched share", t.hourly_matched.percent()),
        ("annual-volume share", t.annual_volume.percent()),
        ("unmatched green (not carried)", format!("{} Wh", t.unmatched_green_wh)),
        ("annual-volume only (produced over more than an hour)", format!("{} Wh", t.annual_volume_only_wh)),
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
        let claims: Vec<String> = h.backing.iter().map(|k| format!("C{}: {} Wh", k.claim, k.wh)).collect();
        let _ = writeln!(
            b,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            hour_label(h),
            h.consumption_wh,
            h.direct_wh,
            h.trade_wh,
            h.certificates_wh,
            h.matched_wh,
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
            c.energy_wh,
            c.counted_wh,
            escape(&c.beneficiary),
            escape(&c.purpose),
            escape(&why.join("; "))
        );
    }
    b.push_str("</table>\n");
    page(&format!("Green consumption statement: {}", s.name), &b)
}

/// The park statement as a page: method and factors, members with their sites and factors, the
/// park indicators, the energy traded inside the park and the hourly table, times in the zone.
pub fn park_page(p: &ParkStatement) -> String {
    use super::park::{kg, local_time, millionths};
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
    let _ = writeln!(
        b,
        "<table>\n<tr><th>member</th><th>site</th><th>member from</th><th>until</th><th>hours</th><th>location factor</th><th>consumption Wh</th><th>green Wh</th><th>grid Wh</th><th>clean share</th><th>24/7 share</th><th>market-based g CO2</th><th>location-based g CO2</th></tr>"
    );
    let row = |b: &mut String, cells: [String; 6], f: &Figures| {
        let _ = write!(b, "<tr>");
        for c in cells {
            let _ = write!(b, "<td>{}</td>", escape(&c));
        }
        let _ = writeln!(
            b,
            "<td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            f.consumption_wh,
            f.green_counted_wh,
            f.grid_wh,
            f.clean_share.percent(),
            f.hourly_matched.percent(),
            f.market_based_g,
            f.location_based_g
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
            ("Scope 2 market-based", format!("{} CO2", kg(i.scope2_market_based_g))),
            ("Scope 2 location-based", format!("{} CO2", kg(i.scope2_location_based_g))),
            (
                "electricity in coal equivalent",
                format!("{} ce ({})", kg(i.electricity_gce), i.electricity_equivalent_source),
            ),
            (
                "non-electric energy (declared)",
                i.non_electric_declared.as_ref().map_or("not declared".into(), |d| format!("{} tce", d.tce)),
            ),
            ("carbon per unit of energy, market-based", per(i.market_based_per_tce_millionths)),
            ("carbon per unit of energy, location-based", per(i.location_based_per_tce_millionths)),
            ("traded inside the park, between members", format!("{} Wh", i.traded_between_members_wh)),
            ("distributed trade from sellers outside", format!("{} Wh", i.traded_from_outside_wh)),
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
                t.counted_wh
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
                h.consumption_wh,
                h.green_wh,
                h.clean_wh,
                h.grid_wh,
                h.inside_wh
            );
        }
        b.push_str("</table>\n");
    }
    page(&format!("Park statement: {}", p.name), &b)
}

/// The product statement as a page: method, electricity per unit, source mix, footprint and the
/// CBAM evidence.
pub fn product_page(p: &ProductStatement) -> String {
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
    let _ = writeln!(b, "</table>\n<p>Not accepted as CBAM evidence: {} Wh.</p>", p.cbam.not_accepted_wh);
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

/// The cancellation certificate as a printable page with Chinese and English labels.
pub fn cancellation_page(c: &Certificate) -> String {
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
        ("注销电量", "energy cancelled", format!("{} Wh", c.totals.energy_wh)),
        ("超过15年的设备", "devices older than 15 years (RE100)", format!("{} Wh", c.totals.older_than_15_years_wh)),
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
            l.energy_wh,
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
            let _ = writeln!(b, "<tr><td>{}</td><td>{}</td><td>{}</td></tr>", escape(&r.key), r.claims, r.energy_wh);
        }
        let _ = writeln!(b, "</table>");
    }
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

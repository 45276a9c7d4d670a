//! Self-contained HTML pages for statements: no scripts, no external files. The consumption
//! statement carries an inline SVG chart: green supply stacked by source (direct supply,
//! green-power trade, certificates) per hour, with the hour's consumption drawn as a step line.
//! All coordinates are integers.

use super::cancellation::Certificate;
use super::hourly::{HourLine, Statement};
use super::park::{Figures, ParkStatement};
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

/// The park statement as a page: factors and a table of members with the park total.
pub fn park_page(p: &ParkStatement) -> String {
    let mut b = String::new();
    let _ = writeln!(b, "<h1>Park statement: {}</h1>", escape(&p.name));
    let _ = writeln!(b, "<p>{} to {} (UTC). Green energy counts only through retired certificates (claims): energy moved between members counts once.</p>", Timestamp(p.period.start.0), Timestamp(p.period.end.0));
    let _ = writeln!(
        b,
        "<p>Market-based factor {} kgCO2/kWh ({}); location-based factor {} kgCO2/kWh ({}).</p>",
        escape(&p.factors.residual.kg_per_kwh),
        escape(&p.factors.residual.source),
        escape(&p.factors.location.kg_per_kwh),
        escape(&p.factors.location.source)
    );
    let _ = writeln!(
        b,
        "<table>\n<tr><th>member</th><th>consumption Wh</th><th>green Wh</th><th>grid Wh</th><th>clean share</th><th>24/7 share</th><th>market-based g CO2</th><th>location-based g CO2</th></tr>"
    );
    let row = |b: &mut String, label: &str, f: &Figures| {
        let _ = writeln!(
            b,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(label),
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
        row(&mut b, &format!("{} ({})", m.name, &m.account[..m.account.len().min(16)]), &m.figures);
    }
    row(&mut b, "park total", &p.total);
    b.push_str("</table>\n");
    page(&format!("Park statement: {}", p.name), &b)
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
        let _ = writeln!(b, "<h3>{zh} / {en}</h3>\n<table>\n<tr><th>{en}</th><th>核销 / claims</th><th>电量 / Wh</th></tr>");
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

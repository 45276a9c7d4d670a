//! Statements as text for a terminal: the hourly consumption statement and the park statement.

use greenledger_core::accounting::cancellation::Certificate;
use greenledger_core::accounting::hourly::{local_time, Statement};
use greenledger_core::types::Timestamp;

pub(super) fn t(secs: u64) -> String {
    Timestamp(secs).to_string()
}

/// Grams as kilograms with three decimals.
pub(super) fn kg(g: u64) -> String {
    format!("{}.{:03} kg", g / 1000, g % 1000)
}

pub fn consumption_text(s: &Statement) -> String {
    consumption_text_trimmed(s, usize::MAX, usize::MAX)
}

/// The statement as text, with at most `max_hours` hour lines and `max_claims` claim lines (the
/// totals always cover the whole period).
pub fn consumption_text_trimmed(s: &Statement, max_hours: usize, max_claims: usize) -> String {
    use std::fmt::Write as _;
    let mut o = String::new();
    let tt = &s.totals;
    let _ = writeln!(o, "Green consumption statement of {} ({})", s.name, s.account);
    let (start, end) = match s.hours.first() {
        Some(h) if !h.local.is_empty() => (h.local.clone(), local_time(s.period.end.0, offset_of(&s.utc_offset))),
        _ => (t(s.period.start.0), t(s.period.end.0)),
    };
    let zone = if s.zone.is_empty() { "UTC".to_string() } else { format!("{}, UTC{}", s.zone, s.utc_offset) };
    let _ = writeln!(o, "period {start} .. {end} ({} hours, {zone})", s.hours.len());
    let _ = writeln!(o, "Green energy counts only through retired certificates (claims), each Wh once.");
    let _ = writeln!(
        o,
        "Only claims produced over at most one hour count in the 24/7 match; the rest count in the annual-volume share only.\n"
    );
    let _ = writeln!(
        o,
        "{:<22} {:>14} {:>12} {:>12} {:>12} {:>12} {:>12}  claims",
        "hour", "consumption Wh", "direct Wh", "trade Wh", "certs Wh", "green Wh", "matched Wh"
    );
    for h in s.hours.iter().take(max_hours) {
        let claims: Vec<String> = h.backing.iter().map(|b| format!("C{}:{}", b.claim, b.wh)).collect();
        let _ = writeln!(
            o,
            "{:<22} {:>14} {:>12} {:>12} {:>12} {:>12} {:>12}  {}",
            if h.local.is_empty() { t(h.start) } else { h.local.clone() },
            h.consumption_wh,
            h.direct_wh,
            h.trade_wh,
            h.certificates_wh,
            h.green_wh,
            h.matched_wh,
            claims.join(" ")
        );
    }
    if s.hours.len() > max_hours {
        let _ = writeln!(o, "... {} more hours (in the full statement)", s.hours.len() - max_hours);
    }
    let _ = writeln!(o, "\ntotals");
    let _ = writeln!(o, "  consumption           {} Wh", tt.consumption_wh);
    let _ = writeln!(
        o,
        "  green (claimed)       {} Wh = direct supply {} + green-power trade {} + certificates {}",
        tt.green_wh, tt.direct_wh, tt.trade_wh, tt.certificates_wh
    );
    let _ = writeln!(
        o,
        "  24/7 matched          {} Wh: hourly-matched share {}",
        tt.matched_wh,
        tt.hourly_matched.percent()
    );
    let _ = writeln!(o, "  annual-volume share   {} (green / consumption, capped at 100%)", tt.annual_volume.percent());
    let _ = writeln!(
        o,
        "  unmatched green       {} Wh (above its own hour's consumption; not carried to other hours)",
        tt.unmatched_green_wh
    );
    let _ = writeln!(
        o,
        "  annual-volume only    {} Wh (produced over more than an hour, or outside its consumption: not 24/7 matched)",
        tt.annual_volume_only_wh
    );
    let _ = writeln!(
        o,
        "  delivered (info only) direct supply {} Wh, green-power trade {} Wh: these count once their certificates are retired",
        tt.delivered_direct_wh, tt.delivered_trade_wh
    );
    let _ = writeln!(
        o,
        "\nclaims ({} listed; {} more of or for this account belong to other periods)",
        s.claims.len(),
        s.claims_elsewhere
    );
    for c in s.claims.iter().take(max_claims) {
        let why: Vec<&str> = c.reasons.iter().map(|r| r.describe()).collect();
        let _ = writeln!(
            o,
            "  C{} {} {} bundle B{} entry #{}: {} Wh produced {}, claimed for consumption {}; counted {} Wh, outside the period {} Wh; {:?} for {:?}{}{}",
            c.claim,
            c.source.name(),
            c.device,
            c.bundle,
            c.entry,
            c.energy_wh,
            c.production,
            c.consumption,
            c.counted_wh,
            c.outside_period_wh,
            c.beneficiary,
            c.purpose,
            if why.is_empty() { "" } else { "; " },
            why.join("; ")
        );
    }
    if s.claims.len() > max_claims {
        let _ = writeln!(o, "  ... {} more claims (in the full statement)", s.claims.len() - max_claims);
    }
    o
}

/// Seconds of an offset label such as `+08:00` (0 when it cannot be read).
fn offset_of(label: &str) -> i32 {
    let sign = if label.starts_with('-') { -1 } else { 1 };
    let digits = label.trim_start_matches(['+', '-']);
    let (h, m) = digits.split_once(':').unwrap_or((digits, "0"));
    sign * (h.parse::<i32>().unwrap_or(0) * 3600 + m.parse::<i32>().unwrap_or(0) * 60)
}

/// The cancellation certificate as text, Chinese and English labels.
pub fn cancellation_text(c: &Certificate) -> String {
    use std::fmt::Write as _;
    let mut o = String::new();
    let off = offset_of(&c.utc_offset);
    let _ = writeln!(o, "注销证明 / Cancellation certificate");
    let _ = writeln!(o, "受益方 / beneficiary      {} ({})", c.name, c.beneficiary);
    let _ = writeln!(
        o,
        "报告期 / reporting period {} ({} .. {}, {} UTC{})",
        c.reporting_period,
        local_time(c.period.start.0, off),
        local_time(c.period.end.0, off),
        c.zone,
        c.utc_offset
    );
    let _ = writeln!(o, "核销 / claims             {}, {} Wh", c.totals.claims, c.totals.energy_wh);
    let _ = writeln!(o, "claims for this beneficiary in other reporting periods: {}\n", c.other_periods);
    for l in &c.claims {
        let _ = writeln!(
            o,
            "  C{} entry #{} by {}: {} Wh, serials {}..{}, {}, {}, {} {}, vintage {}, device {} commissioned {}{}; for {:?}, {:?}",
            l.claim,
            l.entry,
            l.claimant.get(..16).unwrap_or(&l.claimant),
            l.energy_wh,
            l.serials.0,
            l.serials.1.saturating_sub(1),
            l.instrument.label(),
            l.class,
            l.province,
            l.technology,
            l.vintage,
            l.device,
            l.commissioned,
            if l.older_than_15_years { " (older than 15 years: RE100 age criterion)" } else { "" },
            l.beneficiary,
            l.purpose
        );
    }
    let t = &c.totals;
    for (label, rows) in [
        ("按类型 / by instrument", &t.by_instrument),
        ("按类别 / by class", &t.by_class),
        ("按省份 / by province", &t.by_province),
        ("按技术 / by technology", &t.by_technology),
        ("按生产年月 / by vintage", &t.by_vintage),
    ] {
        let _ = writeln!(o, "\n{label}");
        for r in rows.iter() {
            let _ = writeln!(o, "  {:<24} {:>6} claims {:>16} Wh", r.key, r.claims, r.energy_wh);
        }
    }
    let _ = writeln!(o, "\nfrom devices older than 15 years: {} Wh", t.older_than_15_years_wh);
    o
}

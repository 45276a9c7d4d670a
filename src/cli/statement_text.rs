//! Statements as text for a terminal: the hourly consumption statement and the park statement.

use greenledger_core::accounting::hourly::Statement;
use greenledger_core::accounting::park::{Figures, ParkStatement};
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
    let _ = writeln!(o, "period {} .. {} ({} hours, UTC)", t(s.period.start.0), t(s.period.end.0), s.hours.len());
    let _ = writeln!(o, "Green energy counts only through retired certificates (claims), each Wh once.\n");
    let _ = writeln!(
        o,
        "{:<20} {:>14} {:>12} {:>12} {:>12} {:>12} {:>12}  claims",
        "hour", "consumption Wh", "direct Wh", "trade Wh", "certs Wh", "green Wh", "matched Wh"
    );
    for h in s.hours.iter().take(max_hours) {
        let claims: Vec<String> = h.backing.iter().map(|b| format!("C{}:{}", b.claim, b.wh)).collect();
        let _ = writeln!(
            o,
            "{:<20} {:>14} {:>12} {:>12} {:>12} {:>12} {:>12}  {}",
            t(h.start),
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
        "  delivered (info only) direct supply {} Wh, green-power trade {} Wh: these count once their certificates are retired",
        tt.delivered_direct_wh, tt.delivered_trade_wh
    );
    let _ = writeln!(o, "\nclaims ({})", s.claims.len());
    for c in s.claims.iter().take(max_claims) {
        let _ = writeln!(
            o,
            "  C{} {} {} bundle B{} entry #{}: {} Wh produced {}, claimed for consumption {}; counted {} Wh, outside period {} Wh, not for this consumption {} Wh; {:?} for {:?}",
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
            c.not_for_this_consumption_wh,
            c.beneficiary,
            c.purpose
        );
    }
    if s.claims.len() > max_claims {
        let _ = writeln!(o, "  ... {} more claims (in the full statement)", s.claims.len() - max_claims);
    }
    o
}

pub fn park_text(p: &ParkStatement) -> String {
    use std::fmt::Write as _;
    let mut o = String::new();
    let _ = writeln!(o, "Park statement: {} ({} members)", p.name, p.members.len());
    let _ = writeln!(o, "period {} .. {} (UTC)", t(p.period.start.0), t(p.period.end.0));
    let _ =
        writeln!(o, "market-based factor   {} kgCO2/kWh: {}", p.factors.residual.kg_per_kwh, p.factors.residual.source);
    let _ =
        writeln!(o, "location-based factor {} kgCO2/kWh: {}", p.factors.location.kg_per_kwh, p.factors.location.source);
    let _ = writeln!(
        o,
        "Green energy counts only through retired certificates (claims): energy moved between members counts once.\n"
    );
    let _ = writeln!(
        o,
        "{:<24} {:>14} {:>12} {:>14} {:>9} {:>9} {:>18} {:>18}",
        "member", "consumption Wh", "green Wh", "grid Wh", "clean", "24/7", "market-based", "location-based"
    );
    let row = |o: &mut String, label: &str, f: &Figures| {
        let _ = writeln!(
            o,
            "{:<24} {:>14} {:>12} {:>14} {:>9} {:>9} {:>18} {:>18}",
            label,
            f.consumption_wh,
            f.green_counted_wh,
            f.grid_wh,
            f.clean_share.percent(),
            f.hourly_matched.percent(),
            kg(f.market_based_g),
            kg(f.location_based_g)
        );
    };
    for m in &p.members {
        let name: String = m.name.chars().take(15).collect();
        let label = format!("{name} {}", &m.account[..8]);
        row(&mut o, &label, &m.figures);
    }
    row(&mut o, "park total", &p.total);
    let f = &p.total;
    let _ = writeln!(
        o,
        "\ngreen by source: direct supply {} Wh, green-power trade {} Wh, certificates {} Wh (claimed {} Wh, counted against consumption {} Wh)",
        f.direct_wh, f.trade_wh, f.certificates_wh, f.green_wh, f.green_counted_wh
    );
    let _ = writeln!(
        o,
        "market-based = grid Wh x residual factor; location-based = consumption Wh x average factor; CO2 in kg"
    );
    o
}

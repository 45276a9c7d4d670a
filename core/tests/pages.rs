//! The statement pages as people see them: the charts of a short period (times in the
//! statement's zone, the unit, every legend entry inside the picture), thousands separators and
//! the checkpoint named.

use greenledger_core::accounting::chart;
use greenledger_core::accounting::hourly::{self, AccountRecords, Statement};
use greenledger_core::accounting::html::{self, Computed};
use greenledger_core::accounting::signed::{consumption_json, At};
use greenledger_core::accounting::HOUR;
use greenledger_core::policy::Zone;
use greenledger_core::state::Consumption;
use greenledger_core::{AccountId, Interval, LeafIndex, Wh};

/// 2026-01-01T00:00Z: 08:00 in Shanghai.
const START: u64 = 1_767_225_600;

/// A statement of three hours in Asia/Shanghai with `wh` consumed each hour and green energy
/// from every source.
fn three_hours(wh: u64) -> Statement {
    let account = AccountId([1; 32]);
    let consumption = (0..3)
        .map(|i| Consumption {
            account,
            interval: Interval::new(START + i * HOUR, START + (i + 1) * HOUR),
            energy: Wh(wh),
            entry: LeafIndex(i),
            claimed: Wh::ZERO,
        })
        .collect();
    let records = AccountRecords {
        account,
        name: "Changzhou Battery Factory".into(),
        zone: Zone { name: "Asia/Shanghai".into(), offset_s: 8 * 3600 },
        consumption,
        claims: vec![],
        deliveries: vec![],
    };
    let mut s = hourly::statement(&records, START, START + 3 * HOUR).unwrap();
    for h in &mut s.hours {
        (h.direct_wh, h.trade_wh, h.certificates_wh) = (wh / 4, wh / 4, wh / 4);
    }
    s
}

/// The `(x, y, font size, text)` of every `<text>` element of an SVG.
fn texts(svg: &str) -> Vec<(f64, f64, f64, String)> {
    let attr = |tag: &str, name: &str| -> f64 {
        let at = tag.find(&format!(" {name}=\"")).unwrap_or_else(|| panic!("no {name} in {tag}")) + name.len() + 3;
        tag[at..].split('"').next().unwrap().parse().unwrap()
    };
    svg.split("<text")
        .skip(1)
        .map(|t| {
            let (tag, rest) = t.split_once('>').unwrap();
            let text = rest.split("</text>").next().unwrap().trim().to_string();
            (attr(tag, "x"), attr(tag, "y"), attr(tag, "font-size"), text)
        })
        .collect()
}

/// The width and height of the SVG's viewBox.
fn view_box(svg: &str) -> (f64, f64) {
    let v = svg.split("viewBox=\"").nth(1).unwrap().split('"').next().unwrap();
    let n: Vec<f64> = v.split(' ').map(|x| x.parse().unwrap()).collect();
    assert_eq!((n[0], n[1]), (0.0, 0.0));
    (n[2], n[3])
}

#[test]
fn a_short_period_has_times_in_its_zone_the_unit_and_the_whole_legend() {
    let s = three_hours(800_000);
    let svg = html::chart(&s);
    assert!(svg.starts_with("<svg"), "{svg}");
    let texts = texts(&svg);
    let all: Vec<&str> = texts.iter().map(|t| t.3.as_str()).collect();
    // The time axis: the hours' starts in Shanghai time, and the zone named.
    for hour in ["01-01 08:00", "01-01 09:00", "01-01 10:00"] {
        assert!(all.contains(&hour), "{hour} not among {all:?}");
    }
    assert!(all.iter().any(|t| t.contains("Asia/Shanghai (UTC+08:00)")), "{all:?}");
    // 800 kWh an hour: the axis is in kWh.
    assert!(all.contains(&"kWh"), "{all:?}");
    let (width, height) = view_box(&svg);
    for entry in ["consumption", "direct supply", "green-power trade", "certificates"] {
        let (x, y, size, _) = texts.iter().find(|t| t.3 == entry).unwrap_or_else(|| panic!("no legend {entry}"));
        // Generous estimate of the text's extent: 0.7 em a character, one em high.
        let right = x + entry.len() as f64 * size * 0.7;
        assert!(*x >= 0.0 && right <= width, "{entry}: x {x}..{right} outside 0..{width}");
        assert!(*y >= 0.0 && y + size <= height, "{entry}: y {y}..{} outside 0..{height}", y + size);
    }
}

#[test]
fn megawatt_hours_from_one_mwh() {
    let svg = html::chart(&three_hours(1_500_000));
    assert!(texts(&svg).iter().any(|t| t.3 == "MWh"), "{svg}");
}

#[test]
fn figures_have_thousands_separators() {
    let page = html::consumption_page(&three_hours(1_234_567));
    // Totals in MWh, hours in Wh, both with separators.
    assert!(page.contains("3.703 MWh"), "total consumption 3,703,701 Wh");
    assert!(page.contains("<td>1,234,567</td>"));
    assert_eq!(chart::mwh(1_234_567_890_123), "1,234,567.890 MWh");
    assert_eq!(chart::t_co2(12_345_678_900), "12,345.678 t CO2");
}

#[test]
fn every_page_names_its_checkpoint() {
    let s = three_hours(1000);
    let at = At { size: 1_234_567, root: "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=".into() };
    let json = consumption_json("example.org/ledger", &at, &s);
    let computed = Computed::of_json(&json).unwrap();
    assert_eq!(computed, Computed { ledger: "example.org/ledger".into(), at: at.clone() });
    let page = html::consumption_page_at(&s, Some(&computed));
    assert!(page.contains("<code>example.org/ledger</code>, checkpoint of tree size 1,234,567"));
    assert!(page.contains(&at.root));
    assert!(page.contains("Emission factors: none used"));
    // Without it, the page says so rather than staying silent.
    assert!(html::consumption_page(&s).contains("Checkpoint: not given"));
    assert_eq!(Computed::of_json("{}"), None);
}

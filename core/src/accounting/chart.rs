//! Charts for the statement pages, drawn with the SVG backend of `plotters` (no font files: the
//! text is SVG `<text>`, laid out by the viewer). Energy arrives in integer Wh and is shown in kWh
//! or MWh, chosen from the largest value. The legend has its own strip below the plot, wrapped
//! into rows that fit the width, so it never covers the bars nor falls outside the picture.
//!
//! Also the figures for people: thousands separators, MWh and t CO2.

use plotters::prelude::*;

/// Width of every chart, px.
pub const WIDTH: u32 = 960;
const PLOT_HEIGHT: u32 = 320;
const FONT: &str = "sans-serif";
// Sizes as given to plotters; its SVG text is 1/1.24 of them.
const LEGEND_FONT: u32 = 16;
const ROW: u32 = 22;

/// Colours of the sources, the same on every page.
pub const DIRECT: RGBColor = RGBColor(0x2e, 0x7d, 0x32);
pub const TRADE: RGBColor = RGBColor(0x66, 0xbb, 0x6a);
pub const CERTIFICATES: RGBColor = RGBColor(0xc5, 0xe1, 0xa5);
pub const GRID: RGBColor = RGBColor(0xb0, 0xbe, 0xc5);
pub const CONSUMPTION: RGBColor = RGBColor(0xc6, 0x28, 0x28);

/// One series of an hourly chart: Wh per hour.
pub struct Series {
    pub label: String,
    pub color: RGBColor,
    pub wh: Vec<u64>,
}

impl Series {
    pub fn new(label: &str, color: RGBColor, wh: Vec<u64>) -> Series {
        Series { label: label.to_string(), color, wh }
    }
}

/// An hourly chart: `stacked` drawn as stacked bars, `line` as a step line over them.
pub struct Hourly<'a> {
    pub title: String,
    /// Each hour's start in the statement's zone, `2026-01-01T08:00+08:00`.
    pub hours: &'a [String],
    /// What the time axis is in: `Asia/Shanghai (UTC+08:00)`.
    pub zone: String,
    pub stacked: Vec<Series>,
    pub line: Option<Series>,
}

/// The unit energy is shown in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    KWh,
    MWh,
}

impl Unit {
    /// MWh from 1 MWh on, kWh below.
    pub fn for_max(max_wh: u64) -> Unit {
        if max_wh >= 1_000_000 {
            Unit::MWh
        } else {
            Unit::KWh
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Unit::KWh => "kWh",
            Unit::MWh => "MWh",
        }
    }
    fn wh(self) -> f64 {
        match self {
            Unit::KWh => 1e3,
            Unit::MWh => 1e6,
        }
    }
}

/// `1234567` → `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut o = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            o.push(',');
        }
        o.push(c);
    }
    o
}

/// An integer in thousandths with three decimals and separators: `1234567` → `1,234.567`.
fn thousandths(v: u64) -> String {
    format!("{}.{:03}", thousands(v / 1000), v % 1000)
}

/// Wh as MWh with three decimals (exact to the kWh, rounded down): `1234567890` → `1,234.567 MWh`.
pub fn mwh(wh: u64) -> String {
    format!("{} MWh", thousandths(wh / 1000))
}

/// Grams as tonnes with three decimals (exact to the kg, rounded down): `1756800` → `1.756 t`.
pub fn tonnes(g: u64) -> String {
    format!("{} t", thousandths(g / 1000))
}

/// Grams CO2 as tonnes: `1756800` → `1.756 t CO2`.
pub fn t_co2(g: u64) -> String {
    format!("{} CO2", tonnes(g))
}

/// A value on an axis whose top is `top`, with as many decimals as the scale needs.
fn axis_number(v: f64, top: f64) -> String {
    let decimals = if top < 10.0 {
        2
    } else if top < 100.0 {
        1
    } else {
        0
    };
    let scaled = (v * 10f64.powi(decimals)).round().max(0.0) as u64;
    let unit = 10u64.pow(decimals as u32);
    let whole = thousands(scaled / unit);
    match decimals {
        0 => whole,
        d => format!("{whole}.{:0width$}", scaled % unit, width = d as usize),
    }
}

/// The short form of a local hour label on the time axis: `01-01 08:00`.
fn tick(label: &str) -> String {
    match (label.get(5..10), label.get(11..16)) {
        (Some(day), Some(time)) => format!("{day} {time}"),
        _ => label.to_string(),
    }
}

/// Hours between ticks, so that at most eight show.
fn tick_step(n: usize) -> usize {
    [1, 2, 3, 6, 12, 24, 48, 72, 168, 336, 720].into_iter().find(|s| n.div_ceil(*s) <= 8).unwrap_or(n.max(1))
}

/// Lays out legend entries left to right in rows that fit the width: (x, y) of each, and the
/// strip's height.
fn legend_layout(labels: &[&str]) -> (Vec<(i32, i32)>, u32) {
    let (mut x, mut y) = (10i32, 6i32);
    let mut at = Vec::new();
    for l in labels {
        let w = 24 + (l.chars().count() as i32 * LEGEND_FONT as i32 * 6 / 10) + 20;
        if x > 10 && x + w > WIDTH as i32 - 10 {
            x = 10;
            y += ROW as i32;
        }
        at.push((x, y));
        x += w;
    }
    (at, y as u32 + ROW + 4)
}

/// Draws `entries` (label, colour, whether a line) in the legend strip.
fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    entries: &[(&str, RGBColor, bool)],
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let labels: Vec<&str> = entries.iter().map(|e| e.0).collect();
    let (at, _) = legend_layout(&labels);
    for ((label, color, line), (x, y)) in entries.iter().zip(at) {
        if *line {
            area.draw(&PathElement::new(vec![(x, y + 7), (x + 16, y + 7)], color.stroke_width(3)))?;
        } else {
            area.draw(&Rectangle::new([(x, y + 1), (x + 14, y + 14)], color.filled()))?;
        }
        area.draw(&Text::new(label.to_string(), (x + 22, y), (FONT, LEGEND_FONT).into_font()))?;
    }
    Ok(())
}

/// The hourly chart as an SVG element.
pub fn hourly(h: &Hourly) -> String {
    let n = h.hours.len();
    let max_wh = (0..n)
        .map(|i| {
            let stack: u64 = h.stacked.iter().map(|s| s.wh.get(i).copied().unwrap_or(0)).sum();
            stack.max(h.line.as_ref().and_then(|l| l.wh.get(i).copied()).unwrap_or(0))
        })
        .max()
        .unwrap_or(0);
    let unit = Unit::for_max(max_wh);
    let top = (max_wh as f64 / unit.wh() * 1.1).max(0.001);
    let mut entries: Vec<(&str, RGBColor, bool)> = h.line.iter().map(|l| (l.label.as_str(), l.color, true)).collect();
    entries.extend(h.stacked.iter().map(|s| (s.label.as_str(), s.color, false)));
    let (_, legend_height) = legend_layout(&entries.iter().map(|e| e.0).collect::<Vec<_>>());
    let mut svg = String::new();
    let drawn = (|| {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, PLOT_HEIGHT + legend_height)).into_drawing_area();
        root.fill(&WHITE)?;
        let (plot, legend) = root.split_vertically(PLOT_HEIGHT);
        let step = tick_step(n);
        let mut chart = ChartBuilder::on(&plot)
            .caption(&h.title, (FONT, 20))
            .margin(10)
            .x_label_area_size(44)
            .y_label_area_size(64)
            .build_cartesian_2d(0f64..n.max(1) as f64, 0f64..top)?;
        // Only whole hours get a label; plotters may place ticks between them.
        let label_of = |x: &f64| {
            let i = x.round() as usize;
            let whole = (x - x.round()).abs() < 1e-6;
            h.hours.get(i).filter(|_| whole).map(|l| tick(l)).unwrap_or_default()
        };
        let y_of = |y: &f64| axis_number(*y, top);
        chart
            .configure_mesh()
            .disable_x_mesh()
            .max_light_lines(1)
            .x_labels(n.div_ceil(step) + 1)
            .x_label_formatter(&label_of)
            .y_label_formatter(&y_of)
            .x_desc(format!("hour starting, {}", h.zone))
            .y_desc(unit.name())
            .label_style((FONT, 15))
            .axis_desc_style((FONT, 15))
            .draw()?;
        let gap = if n <= 48 { 0.1 } else { 0.0 };
        for i in 0..n {
            let mut base = 0u64;
            for s in &h.stacked {
                let wh = s.wh.get(i).copied().unwrap_or(0);
                if wh == 0 {
                    continue;
                }
                let (y0, y1) = (base as f64 / unit.wh(), (base + wh) as f64 / unit.wh());
                chart.draw_series(std::iter::once(Rectangle::new(
                    [(i as f64 + gap, y0), (i as f64 + 1.0 - gap, y1)],
                    s.color.filled(),
                )))?;
                base += wh;
            }
        }
        if let Some(l) = &h.line {
            let steps = l.wh.iter().enumerate().flat_map(|(i, wh)| {
                let y = *wh as f64 / unit.wh();
                [(i as f64, y), (i as f64 + 1.0, y)]
            });
            chart.draw_series(LineSeries::new(steps, l.color.stroke_width(2)))?;
        }
        draw_legend(&legend, &entries)?;
        root.present()
    })();
    match drawn {
        Ok(()) => svg,
        Err(e) => format!("<p>The chart could not be drawn: {e}</p>"),
    }
}

/// Horizontal bars, one per `(label, colour, Wh)`, with the value written beside each.
pub fn bars(title: &str, items: &[(&str, RGBColor, u64)]) -> String {
    let max_wh = items.iter().map(|i| i.2).max().unwrap_or(0);
    let unit = Unit::for_max(max_wh);
    // Room on the right for the label written after the longest bar.
    let top = (max_wh as f64 / unit.wh() * 1.6).max(0.001);
    let height = 70 + 34 * items.len().max(1) as u32;
    let mut svg = String::new();
    let drawn = (|| {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE)?;
        let n = items.len().max(1) as f64;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FONT, 20))
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(10)
            .build_cartesian_2d(0f64..top, 0f64..n)?;
        let x_of = |x: &f64| axis_number(*x, top);
        chart
            .configure_mesh()
            .disable_y_mesh()
            .max_light_lines(1)
            .y_labels(0)
            .x_label_formatter(&x_of)
            .x_desc(unit.name())
            .label_style((FONT, 15))
            .axis_desc_style((FONT, 15))
            .draw()?;
        for (i, (label, color, wh)) in items.iter().enumerate() {
            let (y0, y1) = (n - i as f64 - 0.8, n - i as f64 - 0.2);
            let x = *wh as f64 / unit.wh();
            chart.draw_series(std::iter::once(Rectangle::new([(0.0, y0), (x, y1)], color.filled())))?;
            let text = format!("{label}: {} {}", axis_number(x, top), unit.name());
            chart.draw_series(std::iter::once(Text::new(text, (x, y1), (FONT, 16).into_font())))?;
        }
        root.present()
    })();
    match drawn {
        Ok(()) => svg,
        Err(e) => format!("<p>The chart could not be drawn: {e}</p>"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_for_people() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(mwh(1_234_567_890), "1,234.567 MWh");
        assert_eq!(t_co2(1_756_800), "1.756 t CO2");
        assert_eq!(Unit::for_max(999_999), Unit::KWh);
        assert_eq!(Unit::for_max(1_000_000), Unit::MWh);
        assert_eq!(axis_number(1234.4, 2000.0), "1,234");
        assert_eq!(axis_number(1.5, 2.0), "1.50");
    }

    #[test]
    fn ticks_are_few_and_short() {
        assert_eq!(tick("2026-01-01T08:00+08:00"), "01-01 08:00");
        assert_eq!(tick_step(3), 1);
        assert_eq!(tick_step(24), 3);
        assert!(744usize.div_ceil(tick_step(744)) <= 8);
    }

    #[test]
    fn the_legend_wraps_inside_the_width() {
        let labels = ["a rather long legend entry number one"; 12];
        let (at, height) = legend_layout(&labels);
        assert!(at.iter().all(|(x, _)| *x >= 0 && (*x as u32) < WIDTH));
        assert!(at.iter().all(|(_, y)| (*y as u32) + ROW <= height));
    }
}

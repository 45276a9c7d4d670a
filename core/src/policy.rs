//! The ledger's policy: fixed by the genesis entry, changed only by dated amendments that a
//! regulator signs (`AmendPolicy`), each a log entry that replay applies again.
//!
//! [`Policy::preset`] gives the documented values of the schemes the ledger follows; every value
//! is a field here, so a ledger's rules are readable from its genesis and amendments alone.

use crate::calendar;
use crate::types::*;
use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};

/// The time zone in which the policy counts calendar months and reporting periods.
///
/// A fixed offset from UTC, not a tz-database name lookup, so that every machine computes the
/// same dates from the log alone whatever its tz data. Asia/Shanghai (UTC+8) has observed no
/// daylight saving time since 1991, so its fixed offset is exact for every date a certificate
/// can carry. `name` is for people; `offset_s` is what the arithmetic uses.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct Zone {
    pub name: String,
    /// Seconds east of UTC (Asia/Shanghai: 28,800).
    pub offset_s: i32,
}

impl Zone {
    pub fn utc() -> Zone {
        Zone { name: "UTC".into(), offset_s: 0 }
    }
    /// China Standard Time, 北京时间: UTC+8, no daylight saving time since 1991.
    pub fn shanghai() -> Zone {
        Zone { name: "Asia/Shanghai".into(), offset_s: 8 * 3600 }
    }
    /// The (year, month) a moment falls in, in this zone.
    pub fn month_of(&self, t: Timestamp) -> (i64, u32) {
        calendar::month_in(t.0, self.offset_s)
    }
    /// The first second of a calendar month in this zone.
    pub fn month_start(&self, year: i64, month: u32) -> Timestamp {
        Timestamp(calendar::month_start_in(year, month, self.offset_s))
    }
    /// A calendar month `[first second, first second of the next)` in this zone.
    pub fn month(&self, year: i64, month: u32) -> Interval {
        let (ny, nm) = calendar::next_month(year, month);
        Interval { start: self.month_start(year, month), end: self.month_start(ny, nm) }
    }
}

/// How long certificates stay usable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub enum Expiry {
    /// Valid for `months` calendar months counted from the month of production, that month
    /// included, in the policy's zone: the certificates lapse at the first second of month
    /// `production month + months`. China's GEC: 24 months, Asia/Shanghai (NEA 2024 No. 67 and
    /// the 2026 implementing rules: 有效期2年, 自电量生产自然月起算). The month of production
    /// is the month in which the production interval starts.
    MonthInclusive { months: u32 },
    /// Valid for `months` calendar months after the end of the production interval (EECS
    /// Guarantees of Origin: 12 months, EU RED II Art. 19(3)).
    AfterEnd { months: u32 },
    /// Never lapse by time (the I-REC Standard sets no expiry; reporting rules limit use).
    Never,
}

/// A dated exception to the expiry rule: certificates of output produced before
/// `produced_before` stay valid at least until `valid_until`. The GEC preset carries the
/// transitional one of NEA 2024 No. 67: output before 2024 valid until the end of 2025.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct Extension {
    pub produced_before: Timestamp,
    pub valid_until: Timestamp,
}

/// How close in time the certificates' production must be to the consumption a claim covers
/// (GHG Protocol Scope 2 Quality Criteria: vintage close to the reporting period; RE100).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub enum Vintage {
    /// Produced in the same reporting period as the consumption.
    SameReportingPeriod,
    /// Produced no more than this many calendar months before the consumption period starts or
    /// after it ends.
    WithinMonths(u32),
    /// Any vintage the certificates' validity allows.
    Any,
}

/// Whether certificates may be issued for some energy, and whether they may change hands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Class {
    /// No certificates at all (for example independent storage discharge).
    None,
    /// Certificates that can only be used (retired) by the one who receives them.
    NonTradable,
    /// Certificates that may be transferred within the policy's transfer limit.
    Tradable,
}

impl Class {
    pub fn name(self) -> &'static str {
        match self {
            Class::None => "none",
            Class::NonTradable => "non-tradable",
            Class::Tradable => "tradable",
        }
    }
    pub fn parse(s: &str) -> Option<Class> {
        [Class::None, Class::NonTradable, Class::Tradable].into_iter().find(|c| c.name() == s.trim())
    }
}

impl std::fmt::Display for Class {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The certificate class table: which energy gets which class. A device's energy takes the most
/// restrictive class of every line that applies to it (`None` < `NonTradable` < `Tradable`);
/// energy no line applies to is tradable. The GEC values follow NDRC/NEA 2023 No. 1044 and the
/// 2026 implementing rules (可再生能源绿色电力证书管理实施细则(试行)).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct ClassTable {
    /// Output consumed behind the meter by the plant's own user (自发自用). GEC: non-tradable.
    pub self_use: Class,
    /// Output of plants not connected to the grid (离网). GEC: non-tradable.
    pub off_grid: Class,
    /// Output used to make hydrogen (风光制氢). GEC: non-tradable.
    pub hydrogen: Class,
    /// Conventional hydro commissioned before this date (GEC: 2023-01-01 Beijing time) gets
    /// `old_hydro`; `None` turns the line off.
    pub old_hydro_before: Option<Timestamp>,
    pub old_hydro: Class,
    /// Discharge of storage (the storage-discharge channel, and everything an independent
    /// storage station delivers): it re-delivers energy generated elsewhere. GEC: no certificates.
    pub storage: Class,
    /// Output of projects with central subsidy or 机制电价. GEC: tradable (the proceeds are
    /// handled outside the ledger).
    pub subsidised: Class,
}

impl ClassTable {
    /// Every line tradable except storage, which never gets certificates: the table of ledgers
    /// founded before certificate classes existed.
    pub fn all_tradable() -> ClassTable {
        ClassTable {
            self_use: Class::Tradable,
            off_grid: Class::Tradable,
            hydrogen: Class::Tradable,
            old_hydro_before: None,
            old_hydro: Class::Tradable,
            storage: Class::None,
            subsidised: Class::Tradable,
        }
    }

    /// The GEC table.
    pub fn gec() -> ClassTable {
        ClassTable {
            self_use: Class::NonTradable,
            off_grid: Class::NonTradable,
            hydrogen: Class::NonTradable,
            old_hydro_before: Some(Timestamp(calendar::month_start_in(2023, 1, 8 * 3600))),
            old_hydro: Class::NonTradable,
            storage: Class::None,
            subsidised: Class::Tradable,
        }
    }

    /// The class of a device's energy on a channel.
    pub fn class_of(&self, device: &DeviceFacts, channel: Channel) -> Class {
        let mut class = Class::Tradable;
        let mut apply = |applies: bool, c: Class| {
            if applies {
                class = class.min(c);
            }
        };
        apply(channel == Channel::SelfUse, self.self_use);
        apply(channel == Channel::StorageDischarge || device.storage, self.storage);
        apply(device.off_grid, self.off_grid);
        apply(device.hydrogen, self.hydrogen);
        apply(device.subsidised, self.subsidised);
        let old = self.old_hydro_before.is_some_and(|before| device.conventional_hydro && device.commissioned < before);
        apply(old, self.old_hydro);
        if matches!(channel, Channel::StorageCharge | Channel::GridImport) {
            return Class::None;
        }
        class
    }
}

/// The attributes of a device that decide the class of its certificates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceFacts {
    pub commissioned: Timestamp,
    pub off_grid: bool,
    pub conventional_hydro: bool,
    pub storage: bool,
    pub hydrogen: bool,
    pub subsidised: bool,
}

/// Rules that vary between certificate schemes. Every node that replays the log applies the
/// same policy: the genesis one, then each amendment from its effective date.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct Policy {
    /// The ledger's name. It is the checkpoint origin and is part of every signed command, so a
    /// command signed for one ledger is worthless on another. Never amended.
    pub name: String,
    /// Watt-hours per certificate: 1,000,000 for GEC, GO and I-REC (1 MWh), 1 for granular
    /// schemes. Never amended (serials and carries are counted in it).
    pub unit_wh: u64,
    /// The zone of calendar months: expiry, correction windows, monthly issuance.
    pub zone: Zone,
    pub expiry: Expiry,
    pub extensions: Vec<Extension>,
    /// How many times a certificate may change hands by transfer; `None` is unlimited.
    /// China's GEC rules allow a tradable certificate to be sold once: `Some(1)`.
    pub max_transfers: Option<u32>,
    /// When true a claim must name a metered consumption hour that contains the certificates'
    /// production interval (24/7 hourly matching).
    pub hourly_matching: bool,
    /// Longest interval one meter reading may cover, in seconds; `None` leaves it to the
    /// general limit of a year. EnergyTag: 3,600.
    pub max_reading_s: Option<u64>,
    /// How far past the sequencer's clock a reading's interval may end, in seconds (meter clocks
    /// drift). Readings of the future beyond this are refused.
    pub clock_skew_s: u64,
    /// A meter operator may correct a reading alone until the end of this many calendar months
    /// after the month of production (in `zone`); later corrections need a regulator's
    /// co-signature. GEC: 3 (disputes within three months, 2026 implementing rules).
    pub correction_window_months: u32,
    /// Whether a device owner may ask for the issuance of a reading. When false only the issuing
    /// body (the operator) issues, month by month (`IssueMonth`), as the GEC scheme does.
    pub owner_issuance: bool,
    pub classes: ClassTable,
    /// The month (1 to 12) in which a reporting period starts, in `zone`: 1 for calendar years
    /// (GHG Protocol and RE100 reporting years, China's compliance years), 4 for April fiscal
    /// years. A claim's consumption period lies inside one reporting period, and consumption
    /// readings never span two.
    pub reporting_start_month: u32,
    pub vintage: Vintage,
}

/// The policies [`Policy::preset`] knows.
pub const PRESETS: [&str; 4] = ["gec", "eecs-go", "i-rec", "energytag"];

impl Policy {
    /// The permissive base of tests and examples: 1 MWh per certificate, 24 months after the end
    /// of production, unlimited transfers, owner issuance, every class tradable, UTC.
    pub fn new(name: impl Into<String>) -> Policy {
        Policy {
            name: name.into(),
            unit_wh: 1_000_000,
            zone: Zone::utc(),
            expiry: Expiry::AfterEnd { months: 24 },
            extensions: Vec::new(),
            max_transfers: None,
            hourly_matching: false,
            max_reading_s: None,
            clock_skew_s: 300,
            correction_window_months: 3,
            owner_issuance: true,
            classes: ClassTable::all_tradable(),
            reporting_start_month: 1,
            vintage: Vintage::SameReportingPeriod,
        }
    }

    /// A scheme's documented values.
    ///
    /// | preset | unit | expiry | zone | transfers | classes | other |
    /// |---|---|---|---|---|---|---|
    /// | `gec` | 1 MWh | 24 months, production month included | Asia/Shanghai | once | GEC table | output before 2024 valid to the end of 2025; issued monthly by the issuing body; corrections alone within 3 months |
    /// | `eecs-go` | 1 MWh | 12 months after the end of production | UTC | unlimited | storage none, rest tradable | owner issuance |
    /// | `i-rec` | 1 MWh | none | UTC | unlimited | storage none, rest tradable | owner issuance |
    /// | `energytag` | 1 Wh | 12 months after the end of production | UTC | unlimited | storage none, rest tradable | hourly matching, readings of at most 1 h |
    pub fn preset(preset: &str, name: impl Into<String>) -> Option<Policy> {
        let base = Policy::new(name);
        Some(match preset {
            "gec" => {
                let zone = Zone::shanghai();
                let extensions = vec![Extension {
                    produced_before: zone.month_start(2024, 1),
                    valid_until: zone.month_start(2026, 1),
                }];
                Policy {
                    zone,
                    expiry: Expiry::MonthInclusive { months: 24 },
                    extensions,
                    max_transfers: Some(1),
                    owner_issuance: false,
                    classes: ClassTable::gec(),
                    ..base
                }
            }
            "eecs-go" => Policy { expiry: Expiry::AfterEnd { months: 12 }, ..base },
            "i-rec" => Policy { expiry: Expiry::Never, ..base },
            "energytag" => Policy {
                unit_wh: 1,
                expiry: Expiry::AfterEnd { months: 12 },
                hourly_matching: true,
                max_reading_s: Some(3600),
                ..base
            },
            _ => return None,
        })
    }

    /// Ledger names follow the C2SP checkpoint origin rules: 1 to 128 printable ASCII characters
    /// without spaces or `+`.
    pub fn name_is_valid(&self) -> bool {
        !self.name.is_empty() && self.name.len() <= 128 && self.name.bytes().all(|b| b.is_ascii_graphic() && b != b'+')
    }

    /// What is wrong with this policy, if anything.
    pub fn problem(&self) -> Option<String> {
        if !self.name_is_valid() {
            return Some(format!(
                "ledger name {:?} must be 1 to 128 printable ASCII characters without spaces or '+'",
                self.name
            ));
        }
        if self.unit_wh == 0 {
            return Some("certificate unit must be at least 1 Wh".into());
        }
        match self.expiry {
            Expiry::MonthInclusive { months: 0 } | Expiry::AfterEnd { months: 0 } => {
                return Some("validity must be at least 1 month".into())
            }
            _ => {}
        }
        if self.zone.offset_s.unsigned_abs() > 14 * 3600 || self.zone.name.is_empty() || self.zone.name.len() > 64 {
            return Some(format!("time zone {:?} {} s is not a real zone offset", self.zone.name, self.zone.offset_s));
        }
        if self.max_reading_s == Some(0) {
            return Some("the longest reading must be at least 1 s".into());
        }
        if !(1..=12).contains(&self.reporting_start_month) {
            return Some(format!(
                "the reporting period must start in a month 1 to 12, not {}",
                self.reporting_start_month
            ));
        }
        if self.extensions.len() > 16 || self.extensions.iter().any(|e| e.valid_until <= e.produced_before) {
            return Some("expiry extensions must be at most 16, each valid until after its production cut-off".into());
        }
        None
    }

    /// When certificates of output produced in `production` lapse.
    pub fn expires(&self, production: Interval) -> Timestamp {
        let off = self.zone.offset_s;
        let base = match self.expiry {
            Expiry::MonthInclusive { months } => {
                let (y, m) = self.zone.month_of(production.start);
                let total = y * 12 + (m as i64 - 1) + months as i64;
                Timestamp(calendar::month_start_in(total.div_euclid(12), (total.rem_euclid(12) + 1) as u32, off))
            }
            Expiry::AfterEnd { months } => Timestamp(calendar::add_months_in(production.end.0, months, off)),
            Expiry::Never => Timestamp(u64::MAX),
        };
        self.extensions
            .iter()
            .filter(|e| production.start < e.produced_before)
            .map(|e| e.valid_until)
            .fold(base, Timestamp::max)
    }

    /// The first moment a correction of a reading of `production` needs a regulator's
    /// co-signature: the start of the month `correction_window_months` after the production
    /// month, in the policy's zone.
    pub fn correction_deadline(&self, production: Interval) -> Timestamp {
        let (y, m) = self.zone.month_of(production.start);
        let total = y * 12 + (m as i64 - 1) + 1 + self.correction_window_months as i64;
        self.zone.month_start(total.div_euclid(12), (total.rem_euclid(12) + 1) as u32)
    }

    /// The reporting period that contains `t`: a year starting on the first day of
    /// `reporting_start_month`, in the policy's zone.
    pub fn reporting_period(&self, t: Timestamp) -> Interval {
        let (y, m) = self.zone.month_of(t);
        let start_year = if m >= self.reporting_start_month { y } else { y - 1 };
        Interval {
            start: self.zone.month_start(start_year, self.reporting_start_month),
            end: self.zone.month_start(start_year + 1, self.reporting_start_month),
        }
    }

    /// The reporting period's name: its first year (`2026`), or both years for a fiscal year
    /// (`2026/27`).
    pub fn reporting_name(&self, period: Interval) -> String {
        let (y, _) = self.zone.month_of(period.start);
        if self.reporting_start_month == 1 {
            y.to_string()
        } else {
            format!("{y}/{:02}", (y + 1).rem_euclid(100))
        }
    }

    /// Whether certificates produced in `production` may back consumption in `consumption`.
    pub fn vintage_fits(&self, production: Interval, consumption: Interval) -> bool {
        match self.vintage {
            Vintage::Any => true,
            Vintage::SameReportingPeriod => {
                self.reporting_period(production.start) == self.reporting_period(consumption.start)
            }
            Vintage::WithinMonths(n) => {
                let earliest = self.shift_months(consumption.start, -(n as i64));
                let latest = self.shift_months(consumption.end, n as i64);
                production.start >= earliest && production.start < latest
            }
        }
    }

    /// `t` moved by whole calendar months in the policy's zone (the day clamped to the month).
    fn shift_months(&self, t: Timestamp, months: i64) -> Timestamp {
        if months >= 0 {
            Timestamp(calendar::add_months_in(t.0, months as u32, self.zone.offset_s))
        } else {
            Timestamp(calendar::sub_months_in(t.0, (-months) as u32, self.zone.offset_s))
        }
    }

    /// Describes the policy in one line.
    pub fn describe(&self) -> String {
        let expiry = match self.expiry {
            Expiry::MonthInclusive { months } => format!("{months} months including the production month"),
            Expiry::AfterEnd { months } => format!("{months} months after production"),
            Expiry::Never => "no expiry".into(),
        };
        format!(
            "{} Wh per certificate, valid {expiry} ({}), transfers {}, hourly matching {}, issuance {}",
            self.unit_wh,
            self.zone.name,
            self.max_transfers.map_or("unlimited".to_string(), |n| format!("at most {n}")),
            if self.hourly_matching { "on" } else { "off" },
            if self.owner_issuance { "on the owner's request or monthly" } else { "monthly by the issuing body" },
        ) + &format!(
            ", reporting years from month {}, vintage {}",
            self.reporting_start_month,
            match self.vintage {
                Vintage::SameReportingPeriod => "same reporting year".to_string(),
                Vintage::WithinMonths(n) => format!("within {n} months"),
                Vintage::Any => "any".to_string(),
            }
        )
    }
}

/// The policy of ledgers founded with the first genesis format (leaf kind `genesis-v1`): the
/// fields that genesis carried. It is read as a [`Policy`] with UTC, expiry after the end of
/// production, owner issuance and every class tradable: the rules those ledgers were kept by.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct PolicyV1 {
    pub name: String,
    pub unit_wh: u64,
    pub validity_months: u32,
    pub max_transfers: Option<u32>,
    pub hourly_matching: bool,
    pub clock_skew_s: u64,
}

impl From<PolicyV1> for Policy {
    fn from(p: PolicyV1) -> Policy {
        Policy {
            unit_wh: p.unit_wh,
            expiry: Expiry::AfterEnd { months: p.validity_months },
            max_transfers: p.max_transfers,
            hourly_matching: p.hourly_matching,
            clock_skew_s: p.clock_skew_s,
            ..Policy::new(p.name)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::unix;

    #[test]
    fn gec_expiry_counts_beijing_months_with_the_production_month() {
        let gec = Policy::preset("gec", "t").unwrap();
        // Output of November 2026 (Beijing) lapses at the end of October 2028, Beijing time.
        let nov = gec.zone.month(2026, 11);
        let lapse = gec.expires(Interval { start: nov.start, end: Timestamp(nov.start.0 + 3600) });
        assert_eq!(lapse.0, unix(2028, 10, 31, 16, 0, 0));
        // 00:30 on 1 November Beijing is still 31 October in UTC: the zone decides the month.
        let early = Interval::new(unix(2026, 10, 31, 16, 30, 0), unix(2026, 10, 31, 17, 30, 0));
        assert_eq!(gec.expires(early), lapse);
        // The last hour of October (Beijing) lapses a month earlier.
        let oct = Interval::new(unix(2026, 10, 31, 15, 0, 0), unix(2026, 10, 31, 16, 0, 0));
        assert_eq!(gec.expires(oct).0, unix(2028, 9, 30, 16, 0, 0));
        // Output before 2024 stays valid until the end of 2025.
        let old = Interval::new(unix(2023, 3, 1, 0, 0, 0), unix(2023, 3, 1, 1, 0, 0));
        assert_eq!(gec.expires(old).0, unix(2025, 12, 31, 16, 0, 0));
    }

    #[test]
    fn eecs_and_never() {
        let go = Policy::preset("eecs-go", "t").unwrap();
        let p = Interval::new(unix(2026, 1, 31, 0, 0, 0), unix(2026, 1, 31, 1, 0, 0));
        assert_eq!(go.expires(p).0, unix(2027, 1, 31, 1, 0, 0));
        let irec = Policy::preset("i-rec", "t").unwrap();
        assert_eq!(irec.expires(p), Timestamp(u64::MAX));
    }

    #[test]
    fn correction_deadline_is_three_months_after_the_production_month() {
        let gec = Policy::preset("gec", "t").unwrap();
        let nov = gec.zone.month(2026, 11);
        assert_eq!(gec.correction_deadline(nov), gec.zone.month_start(2027, 3));
    }

    #[test]
    fn reporting_periods_and_vintage() {
        let gec = Policy::preset("gec", "t").unwrap();
        // 2026-12-31T16:00Z is 2027-01-01 00:00 in Beijing: the 2027 reporting year.
        let y2027 = gec.reporting_period(Timestamp(unix(2026, 12, 31, 16, 0, 0)));
        assert_eq!(y2027, Interval::new(unix(2026, 12, 31, 16, 0, 0), unix(2027, 12, 31, 16, 0, 0)));
        assert_eq!(gec.reporting_name(y2027), "2027");
        let fiscal = Policy { reporting_start_month: 4, ..Policy::new("t") };
        let p = fiscal.reporting_period(Timestamp(unix(2027, 2, 1, 0, 0, 0)));
        assert_eq!(p, Interval::new(unix(2026, 4, 1, 0, 0, 0), unix(2027, 4, 1, 0, 0, 0)));
        assert_eq!(fiscal.reporting_name(p), "2026/27");
        let dec = Interval::new(unix(2026, 12, 1, 0, 0, 0), unix(2026, 12, 1, 1, 0, 0));
        let jan = Interval::new(unix(2027, 1, 1, 0, 0, 0), unix(2027, 2, 1, 0, 0, 0));
        assert!(!Policy::new("t").vintage_fits(dec, jan));
        let near = Policy { vintage: Vintage::WithinMonths(3), ..Policy::new("t") };
        assert!(near.vintage_fits(dec, jan));
        let may = Interval::new(unix(2026, 5, 1, 0, 0, 0), unix(2026, 5, 1, 1, 0, 0));
        assert!(!near.vintage_fits(may, jan));
    }

    #[test]
    fn class_table() {
        let t = ClassTable::gec();
        let plain = DeviceFacts {
            commissioned: Timestamp(unix(2020, 1, 1, 0, 0, 0)),
            off_grid: false,
            conventional_hydro: false,
            storage: false,
            hydrogen: false,
            subsidised: false,
        };
        assert_eq!(t.class_of(&plain, Channel::Export), Class::Tradable);
        assert_eq!(t.class_of(&plain, Channel::SelfUse), Class::NonTradable);
        assert_eq!(t.class_of(&plain, Channel::StorageDischarge), Class::None);
        let hydro = DeviceFacts { conventional_hydro: true, ..plain.clone() };
        assert_eq!(t.class_of(&hydro, Channel::Export), Class::NonTradable);
        let new_hydro = DeviceFacts { commissioned: Timestamp(unix(2023, 6, 1, 0, 0, 0)), ..hydro };
        assert_eq!(t.class_of(&new_hydro, Channel::Export), Class::Tradable);
        let h2 = DeviceFacts { hydrogen: true, ..plain };
        assert_eq!(t.class_of(&h2, Channel::Export), Class::NonTradable);
    }
}

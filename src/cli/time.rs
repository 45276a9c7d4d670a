//! Times on the command line and in CSV files.
//!
//! Accepted forms:
//!
//! - RFC 3339 / ISO 8601 with a zone: `2026-11-20T12:00:00+08:00`, `2026-11-20T04:00Z`,
//!   `2026-11-20 12:00+08:00` (seconds optional);
//! - Unix seconds: up to 11 digits, e.g. `1795219200`;
//! - Unix milliseconds: exactly 13 digits, e.g. `1795219200000` (read as milliseconds, and
//!   refused unless on a whole second: the ledger counts whole seconds).
//!
//! A date or time without a zone (`2026-11-20T10:00`, `2026-11-20 05:00`, `2026-11-20`) is
//! refused, naming the value, unless a zone is given with `--tz ZONE` (or `GREENLEDGER_TZ`):
//! a fixed offset such as `+08:00` or an IANA name such as `Asia/Shanghai`. Such times are then
//! read in that zone and the command says so on stderr. Output always shows times in UTC with a
//! `Z`.

use jiff::civil::DateTime;
use jiff::tz::{Offset, TimeZone};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

/// A time or zone the command line could not read. Its message names the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadInput(pub String);

/// The zone in which times without a zone are read.
#[derive(Debug, Clone, PartialEq)]
pub struct Zone {
    /// As the user wrote it, e.g. `+08:00` or `Asia/Shanghai`.
    pub name: String,
    tz: TimeZone,
}

impl Zone {
    /// Parses `+08:00`, `-05:30`, `+0800`, `UTC`, `Z` or an IANA zone name.
    pub fn parse(s: &str) -> Result<Zone, BadInput> {
        let name = s.trim().to_string();
        let tz = if name == "Z" || name.eq_ignore_ascii_case("UTC") {
            TimeZone::UTC
        } else if let Some(offset) = fixed_offset(&name) {
            TimeZone::fixed(offset)
        } else {
            TimeZone::get(&name).map_err(|_| {
                BadInput(format!(
                    "time zone {name:?} is neither an offset such as +08:00 nor a zone name such as Asia/Shanghai"
                ))
            })?
        };
        Ok(Zone { name, tz })
    }
}

fn fixed_offset(s: &str) -> Option<Offset> {
    let sign = match s.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let digits: String = s[1..].chars().filter(|c| *c != ':').collect();
    if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) || s[1..].len() > 5 {
        return None;
    }
    let (h, m): (i32, i32) = (digits[..2].parse().ok()?, digits[2..].parse().ok()?);
    if h > 23 || m > 59 {
        return None;
    }
    Offset::from_seconds(sign * (h * 3600 + m * 60)).ok()
}

static ZONE: OnceLock<Option<Zone>> = OnceLock::new();
static NOTED: AtomicBool = AtomicBool::new(false);

/// Sets the zone of `--tz` for this process (once, at start-up).
pub fn set_zone(zone: Option<Zone>) {
    let _ = ZONE.set(zone);
}

/// The zone of `--tz`, if one was given.
pub fn zone() -> Option<&'static Zone> {
    ZONE.get().and_then(Option::as_ref)
}

/// Parses a time with the process's `--tz` (see the module documentation).
pub fn parse(s: &str) -> Result<u64, BadInput> {
    let (t, used_zone) = parse_in(s, zone())?;
    if let Some(z) = used_zone {
        if !NOTED.swap(true, Ordering::Relaxed) {
            eprintln!("note: times without a zone are read in {} (--tz)", z.name);
        }
    }
    Ok(t)
}

/// Parses a time; times without a zone are read in `zone`, or refused without one. Returns the
/// Unix seconds and the zone if it was needed.
pub fn parse_in<'z>(s: &str, zone: Option<&'z Zone>) -> Result<(u64, Option<&'z Zone>), BadInput> {
    let v = s.trim();
    if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
        let n: u64 = v.parse().map_err(|_| BadInput(format!("time {v:?} is too large")))?;
        return match v.len() {
            1..=11 => Ok((n, None)),
            13 if n.is_multiple_of(1000) => Ok((n / 1000, None)),
            13 => Err(BadInput(format!(
                "time {v:?} is in Unix milliseconds but not on a whole second; the ledger counts whole seconds"
            ))),
            _ => Err(BadInput(format!(
                "time {v:?}: a number is Unix seconds (up to 11 digits) or Unix milliseconds (13 digits)"
            ))),
        };
    }
    if let Ok(ts) = v.parse::<jiff::Timestamp>() {
        return non_negative(v, ts.as_second()).map(|t| (t, None));
    }
    let civil = v
        .parse::<DateTime>()
        .or_else(|_| v.parse::<jiff::civil::Date>().map(|d| d.to_datetime(jiff::civil::Time::midnight())));
    match (civil, zone) {
        (Ok(dt), Some(z)) => {
            let ts =
                z.tz.to_ambiguous_timestamp(dt)
                    .unambiguous()
                    .map_err(|_| BadInput(format!("time {v:?} does not exist or is ambiguous in zone {}", z.name)))?;
            non_negative(v, ts.as_second()).map(|t| (t, Some(z)))
        }
        (Ok(_), None) => Err(BadInput(format!(
            "time {v:?} has no time zone: write it with one, as {v}Z (UTC) or {v}+08:00, or give --tz \
             (e.g. --tz +08:00 or --tz Asia/Shanghai) to read such times in that zone"
        ))),
        (Err(_), _) => Err(BadInput(format!(
            "{v:?} is not a time: use RFC 3339 such as 2026-11-20T12:00+08:00 or 2026-11-20T04:00Z, \
             Unix seconds, or 13-digit Unix milliseconds"
        ))),
    }
}

fn non_negative(v: &str, secs: i64) -> Result<u64, BadInput> {
    u64::try_from(secs).map_err(|_| BadInput(format!("time {v:?} is before 1970")))
}

/// A calendar date such as a commissioning date: `YYYY-MM-DD` is midnight UTC; any time form
/// above is accepted too.
pub fn parse_date(s: &str) -> Result<u64, BadInput> {
    let v = s.trim();
    if let Ok(d) = v.parse::<jiff::civil::Date>() {
        if v.len() == 10 {
            let ts = d.to_zoned(TimeZone::UTC).map_err(|e| BadInput(format!("date {v:?}: {e}")))?.timestamp();
            return non_negative(v, ts.as_second());
        }
    }
    parse(v)
}

/// A validity window's length (`--valid-for`): `90` (seconds), `30m`, `1h`, `1h30m`, `1d`, or
/// ISO 8601 `PT1H`; more than 0 seconds and at most the ledger's limit of 24 hours.
pub fn validity(s: &str) -> Result<u64, String> {
    let v = s.trim();
    let secs = match v.parse::<u64>() {
        Ok(n) => n,
        Err(_) => {
            let span = v.parse::<jiff::Span>().map_err(|_| {
                format!("{s:?} is not a length of time: write seconds (3600) or a span such as 30m, 1h, 1h30m or 1d")
            })?;
            let d = span
                .to_duration(jiff::SpanRelativeTo::days_are_24_hours())
                .map_err(|e| format!("{s:?} is not a length of time in seconds, minutes, hours or days: {e}"))?;
            if d.subsec_nanos() != 0 || d.as_secs() < 0 {
                return Err(format!("{s:?} must be a whole, positive number of seconds"));
            }
            d.as_secs() as u64
        }
    };
    let max = greenledger_core::rules::MAX_VALIDITY;
    if secs == 0 || secs > max {
        return Err(format!("{s:?} is {secs} s: a validity window is more than 0 s and at most {} hours", max / 3600));
    }
    Ok(secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: u64 = 1_795_219_200; // 2026-11-21T00:00:00Z

    fn utc(s: &str) -> Result<u64, BadInput> {
        parse_in(s, None).map(|(t, _)| t)
    }

    #[test]
    fn reads_offsets_and_utc() {
        assert_eq!(utc("2026-11-21T08:00:00+08:00"), Ok(T));
        assert_eq!(utc("2026-11-21T08:00+08:00"), Ok(T));
        assert_eq!(utc("2026-11-21T00:00Z"), Ok(T));
        assert_eq!(utc("2026-11-21T00:00:00Z"), Ok(T));
        assert_eq!(utc("2026-11-20T19:00:00-05:00"), Ok(T));
        assert_eq!(utc("2026-11-21 08:00+08:00"), Ok(T));
    }

    #[test]
    fn reads_seconds_and_milliseconds() {
        assert_eq!(utc("1795219200"), Ok(T));
        assert_eq!(utc("1795219200000"), Ok(T), "13 digits are milliseconds");
        assert!(utc("1795219200500").unwrap_err().0.contains("whole second"));
        assert!(utc("179521920000").unwrap_err().0.contains("13 digits"), "12 digits are neither");
    }

    #[test]
    fn refuses_times_without_a_zone_unless_one_is_given() {
        for v in ["2026-11-20T10:00", "2026-11-20 05:00", "2026-11-21"] {
            let e = utc(v).unwrap_err().0;
            assert!(e.contains(v) && e.contains("no time zone") && e.contains("--tz"), "{e}");
        }
        let cst = Zone::parse("+08:00").unwrap();
        assert_eq!(parse_in("2026-11-21T08:00", Some(&cst)).unwrap(), (T, Some(&cst)));
        assert_eq!(parse_in("2026-11-21 08:00:00", Some(&cst)).unwrap().0, T);
        let shanghai = Zone::parse("Asia/Shanghai").unwrap();
        assert_eq!(parse_in("2026-11-21T08:00", Some(&shanghai)).unwrap().0, T);
        assert_eq!(parse_in("2026-11-21", Some(&shanghai)).unwrap().0, T - 8 * 3600);
        // A time with its own zone ignores --tz.
        assert_eq!(parse_in("2026-11-21T00:00Z", Some(&cst)).unwrap(), (T, None));
    }

    #[test]
    fn refuses_nonsense_naming_it() {
        for v in ["yesterday", "2026-02-31T00:00Z", "2026-13-01T00:00Z", "1969-12-31T23:00Z"] {
            let e = utc(v).unwrap_err().0;
            assert!(e.contains(v), "{e}");
        }
        assert!(Zone::parse("Mars/Olympus").unwrap_err().0.contains("Mars/Olympus"));
        assert!(Zone::parse("+25:00").is_err());
        assert_eq!(Zone::parse("+0800").unwrap().tz, TimeZone::fixed(Offset::from_seconds(8 * 3600).unwrap()));
    }

    #[test]
    fn validity_windows_are_seconds_or_spans_up_to_a_day() {
        assert_eq!(validity("3600"), Ok(3600));
        assert_eq!(validity("30m"), Ok(1800));
        assert_eq!(validity("1h"), Ok(3600));
        assert_eq!(validity("1h30m"), Ok(5400));
        assert_eq!(validity("1d"), Ok(86_400));
        assert_eq!(validity("PT2H"), Ok(7200));
        for v in ["0", "0s", "2d", "86401", "25h"] {
            assert!(validity(v).unwrap_err().contains("at most 24 hours"), "{v}");
        }
        assert!(validity("soon").unwrap_err().contains("\"soon\" is not a length of time"));
        assert!(validity("1.5s").is_err());
    }

    #[test]
    fn dates_are_utc_midnight() {
        assert_eq!(parse_date("2026-11-21"), Ok(T));
        assert_eq!(parse_date("2026-11-21T08:00+08:00"), Ok(T));
    }
}

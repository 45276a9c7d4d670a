//! Pure integer calendar arithmetic (proleptic Gregorian, UTC or a fixed zone offset), used for
//! expiry dates, correction windows and monthly issuance. No tz database, no floats: every
//! machine computes the same dates.
//! The algorithms are the well-known days-from-civil / civil-from-days conversions.

/// Days since 1970-01-01 of a civil date.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Civil date of a day count since 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// (year, month, day, hour, minute, second) of a Unix time.
pub fn civil(secs: u64) -> (i64, u32, u32, u64, u64, u64) {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    (y, m, d, rem / 3600, rem % 3600 / 60, rem % 60)
}

/// Unix time of a civil date and time, UTC.
pub fn unix(y: i64, m: u32, d: u32, hh: u64, mm: u64, ss: u64) -> u64 {
    (days_from_civil(y, m, d) * 86_400) as u64 + hh * 3600 + mm * 60 + ss
}

/// Adds whole calendar months to a Unix time; the day is clamped to the target month's length
/// (31 January + 1 month = 28/29 February). Saturates far in the future.
pub fn add_months(secs: u64, months: u32) -> u64 {
    let (y, m, d, hh, mm, ss) = civil(secs);
    let total = y * 12 + (m as i64 - 1) + months as i64;
    let (ny, nm) = (total.div_euclid(12), (total.rem_euclid(12) + 1) as u32);
    let next_first = if nm == 12 { days_from_civil(ny + 1, 1, 1) } else { days_from_civil(ny, nm + 1, 1) };
    let month_len = (next_first - days_from_civil(ny, nm, 1)) as u32;
    let days = days_from_civil(ny, nm, d.min(month_len));
    if days < 0 {
        return 0;
    }
    (days as u64) * 86_400 + hh * 3600 + mm * 60 + ss
}

/// Shifts a Unix time by a zone offset (seconds east of UTC) to local seconds, or back.
fn shift(secs: u64, offset_s: i32) -> u64 {
    (secs as i64).saturating_add(offset_s as i64).max(0) as u64
}

/// The (year, month) that a Unix time falls in at a fixed zone offset (seconds east of UTC).
pub fn month_in(secs: u64, offset_s: i32) -> (i64, u32) {
    let (y, m, ..) = civil(shift(secs, offset_s));
    (y, m)
}

/// The month after (year, month).
pub fn next_month(y: i64, m: u32) -> (i64, u32) {
    if m >= 12 {
        (y + 1, 1)
    } else {
        (y, m + 1)
    }
}

/// The Unix time of the first second of a month at a fixed zone offset.
pub fn month_start_in(y: i64, m: u32, offset_s: i32) -> u64 {
    let local = days_from_civil(y, m, 1).max(0) as u64 * 86_400;
    (local as i64 - offset_s as i64).max(0) as u64
}

/// [`add_months`] counted in local time at a fixed zone offset.
pub fn add_months_in(secs: u64, months: u32, offset_s: i32) -> u64 {
    let local = add_months(shift(secs, offset_s), months);
    (local as i64).saturating_sub(offset_s as i64).max(0) as u64
}

/// Subtracts whole calendar months at a fixed zone offset; the day is clamped to the target
/// month's length. Saturates at the epoch.
pub fn sub_months_in(secs: u64, months: u32, offset_s: i32) -> u64 {
    let local = shift(secs, offset_s);
    let (y, m, d, hh, mm, ss) = civil(local);
    let total = y * 12 + (m as i64 - 1) - months as i64;
    let (ny, nm) = (total.div_euclid(12), (total.rem_euclid(12) + 1) as u32);
    let (fy, fm) = next_month(ny, nm);
    let month_len = (days_from_civil(fy, fm, 1) - days_from_civil(ny, nm, 1)) as u32;
    let days = days_from_civil(ny, nm, d.min(month_len));
    if days < 0 {
        return 0;
    }
    let t = (days as u64) * 86_400 + hh * 3600 + mm * 60 + ss;
    (t as i64).saturating_sub(offset_s as i64).max(0) as u64
}

/// Parses `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM[:SS][Z]` as UTC.
pub fn parse_utc(s: &str) -> Option<u64> {
    let s = s.trim().trim_end_matches('Z');
    let (date, time) = match s.split_once(['T', ' ']) {
        Some((d, t)) => (d, Some(t)),
        None => (s, None),
    };
    let mut dp = date.split('-');
    let y: i64 = dp.next()?.parse().ok()?;
    let m: u32 = dp.next()?.parse().ok()?;
    let d: u32 = dp.next()?.parse().ok()?;
    if dp.next().is_some() || !(1..=12).contains(&m) || !(1..=31).contains(&d) || y < 1970 {
        return None;
    }
    let (mut hh, mut mm, mut ss) = (0u64, 0u64, 0u64);
    if let Some(t) = time {
        let mut tp = t.split(':');
        hh = tp.next()?.parse().ok()?;
        mm = tp.next()?.parse().ok()?;
        ss = match tp.next() {
            Some(x) => x.parse().ok()?,
            None => 0,
        };
        if tp.next().is_some() || hh > 23 || mm > 59 || ss > 59 {
            return None;
        }
    }
    let t = unix(y, m, d, hh, mm, ss);
    // Reject dates like 2026-02-31 that would silently roll over.
    let (_, m2, d2, ..) = civil(t);
    (m2 == m && d2 == d).then_some(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_known_dates() {
        assert_eq!(unix(1970, 1, 1, 0, 0, 0), 0);
        assert_eq!(unix(2026, 11, 21, 0, 0, 0), 1_795_219_200);
        assert_eq!(civil(1_795_219_200), (2026, 11, 21, 0, 0, 0));
        for days in (0..40_000).step_by(7) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn adds_months_with_clamping() {
        let jan31 = unix(2024, 1, 31, 12, 0, 0);
        assert_eq!(civil(add_months(jan31, 1)), (2024, 2, 29, 12, 0, 0));
        assert_eq!(civil(add_months(jan31, 24)), (2026, 1, 31, 12, 0, 0));
        assert_eq!(civil(add_months(unix(2025, 3, 1, 0, 0, 0), 12)), (2026, 3, 1, 0, 0, 0));
    }

    #[test]
    fn months_in_a_zone() {
        let bj = 8 * 3600;
        // 2026-10-31T16:00Z is 2026-11-01 00:00 in Beijing.
        assert_eq!(month_in(unix(2026, 10, 31, 16, 0, 0), bj), (2026, 11));
        assert_eq!(month_in(unix(2026, 10, 31, 15, 59, 59), bj), (2026, 10));
        assert_eq!(month_start_in(2026, 11, bj), unix(2026, 10, 31, 16, 0, 0));
        assert_eq!(month_start_in(2026, 11, 0), unix(2026, 11, 1, 0, 0, 0));
        assert_eq!(next_month(2026, 12), (2027, 1));
        assert_eq!(sub_months_in(unix(2026, 3, 31, 0, 0, 0), 1, 0), unix(2026, 2, 28, 0, 0, 0));
        assert_eq!(sub_months_in(unix(2026, 1, 15, 0, 0, 0), 13, 0), unix(2024, 12, 15, 0, 0, 0));
        assert_eq!(add_months_in(unix(2026, 1, 30, 17, 0, 0), 1, bj), unix(2026, 2, 27, 17, 0, 0));
    }

    #[test]
    fn parses_and_rejects() {
        assert_eq!(parse_utc("2026-11-21"), Some(1_795_219_200));
        assert_eq!(parse_utc("2026-11-21T01:00Z"), Some(1_795_219_200 + 3600));
        assert_eq!(parse_utc("2026-02-31"), None);
        assert_eq!(parse_utc("2026-13-01"), None);
        assert_eq!(parse_utc("yesterday"), None);
    }
}

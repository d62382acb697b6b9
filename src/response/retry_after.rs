//! `Retry-After`: delta-seconds or an HTTP date. What is read here is the
//! server's own value; sessions and keepers bound the wait they take from it.

use std::time::Duration;

use crate::error::RetryAfter;
use crate::time::Timestamp;

/// `Retry-After` as delta-seconds or an HTTP date: the IMF-fixdate
/// (`Sun, 06 Nov 1994 08:49:37 GMT`) and, as RFC 9110 §5.6.7 asks of
/// recipients, the obsolete RFC 850 (`Sunday, 06-Nov-94 08:49:37 GMT`) and
/// asctime (`Sun Nov  6 08:49:37 1994`) forms.
pub(crate) fn parse_retry_after(value: &str) -> Option<RetryAfter> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        let secs = value.parse::<u64>().unwrap_or(u64::MAX);
        return Some(RetryAfter::Delay(Duration::from_secs(secs)));
    }
    parse_imf_fixdate(value)
        .or_else(|| parse_rfc850(value))
        .or_else(|| parse_asctime(value))
        .map(RetryAfter::At)
}

/// `Sun, 06 Nov 1994 08:49:37 GMT`.
fn parse_imf_fixdate(s: &str) -> Option<Timestamp> {
    let (weekday, rest) = s.split_once(", ")?;
    let mut parts = rest.split(' ');
    let (day, month, year, time) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if weekday.len() != 3
        || day.len() != 2
        || year.len() != 4
        || parts.next()? != "GMT"
        || parts.next().is_some()
    {
        return None;
    }
    instant(year.parse().ok()?, month, day.parse().ok()?, time)
}

/// `Sunday, 06-Nov-94 08:49:37 GMT`. Two-digit years are read as
/// 1970–2069 (the rule RFC 9110 gives needs today's date, which the crate
/// never reads).
fn parse_rfc850(s: &str) -> Option<Timestamp> {
    let (_weekday, rest) = s.split_once(", ")?;
    let mut parts = rest.split(' ');
    let (date, time) = (parts.next()?, parts.next()?);
    if parts.next()? != "GMT" || parts.next().is_some() {
        return None;
    }
    let mut date = date.split('-');
    let (day, month, year) = (date.next()?, date.next()?, date.next()?);
    if date.next().is_some() || day.len() != 2 || year.len() != 2 {
        return None;
    }
    let year: u64 = year.parse().ok()?;
    let year = if year < 70 { 2000 + year } else { 1900 + year };
    instant(year, month, day.parse().ok()?, time)
}

/// `Sun Nov  6 08:49:37 1994` (the day padded with a space).
fn parse_asctime(s: &str) -> Option<Timestamp> {
    let mut parts = s.split_whitespace();
    let (weekday, month, day, time, year) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    if parts.next().is_some() || weekday.len() != 3 || !(1..=2).contains(&day.len()) || year.len() != 4 {
        return None;
    }
    instant(year.parse().ok()?, month, day.parse().ok()?, time)
}

/// The instant of a date and an `HH:MM:SS` time, all fields in range.
fn instant(year: u64, month: &str, day: u64, time: &str) -> Option<Timestamp> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS.iter().position(|m| *m == month)? as u64 + 1;
    let mut hms = time.split(':');
    let mut field = || -> Option<u64> {
        let part = hms.next()?;
        (part.len() == 2).then(|| part.parse().ok()).flatten()
    };
    let (h, m, sec) = (field()?, field()?, field()?);
    if hms.next().is_some()
        || !(1970..=9999).contains(&year)
        || !(1..=31).contains(&day)
        || h > 23
        || m > 59
        || sec > 60
    {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some(Timestamp::from_unix_secs(days * 86_400 + h * 3600 + m * 60 + sec))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (year >= 1970).
fn days_from_civil(year: u64, month: u64, day: u64) -> u64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_forms() {
        assert_eq!(
            parse_retry_after("120"),
            Some(RetryAfter::Delay(Duration::from_secs(120)))
        );
        assert_eq!(
            parse_retry_after("99999999999999999999999"),
            Some(RetryAfter::Delay(Duration::from_secs(u64::MAX)))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(RetryAfter::At(Timestamp::from_unix_secs(784_111_777)))
        );
        assert_eq!(parse_retry_after("soon"), None);
        assert_eq!(parse_retry_after("-1"), None);
        assert_eq!(parse_retry_after("Sun, 06 Foo 1994 08:49:37 GMT"), None);
        // January, February and the last second of a leap day.
        assert_eq!(
            parse_retry_after("Thu, 01 Jan 2026 00:00:00 GMT"),
            Some(RetryAfter::At(Timestamp::from_unix_secs(1_767_225_600)))
        );
        assert_eq!(
            parse_retry_after("Thu, 29 Feb 2024 23:59:59 GMT"),
            Some(RetryAfter::At(Timestamp::from_unix_secs(1_709_251_199)))
        );
        assert_eq!(parse_retry_after("Thu, 29 Feb 2024 24:00:00 GMT"), None);
        assert_eq!(parse_retry_after("Thu, 29 Feb 2024 23:60:00 GMT"), None);
        // Every field is checked on its own.
        for bad in [
            "Sun, 06 Nov 1994 08:49:37 GMT later",
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Wed, 31 Dec 1969 23:59:59 GMT",
            "Sun, 32 Nov 1994 08:49:37 GMT",
            "Sun, 00 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 08:49:61 GMT",
            "Sun, 06 Nov 1994 08:49:37:00 GMT",
        ] {
            assert_eq!(parse_retry_after(bad), None, "{bad}");
        }
        // The obsolete forms RFC 9110 asks recipients to read.
        for obsolete in [
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
            "Sun Nov 06 08:49:37 1994",
        ] {
            assert_eq!(
                parse_retry_after(obsolete),
                Some(RetryAfter::At(Timestamp::from_unix_secs(784_111_777))),
                "{obsolete}"
            );
        }
        assert_eq!(
            parse_retry_after("Thursday, 01-Jan-26 00:00:00 GMT"),
            Some(RetryAfter::At(Timestamp::from_unix_secs(1_767_225_600)))
        );
        for bad in [
            "Sunday, 06-Nov-1994 08:49:37 GMT",
            "Sunday, 06-Nov-94 08:49:37 UTC",
            "Sun Nov  6 08:49:37 94",
            "Sun Nov  6 8:49:37 1994",
            "Sun, 6 Nov 1994 08:49:37 GMT",
        ] {
            assert_eq!(parse_retry_after(bad), None, "{bad}");
        }
        // A leap second is a valid time.
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:60 GMT"),
            Some(RetryAfter::At(Timestamp::from_unix_secs(784_111_800)))
        );
    }
}

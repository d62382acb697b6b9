//! `Retry-After`: delta-seconds or an HTTP date. What is read here is the
//! server's own value; sessions and keepers bound the wait they take from it.

use std::time::{Duration, UNIX_EPOCH};

use crate::error::RetryAfter;
use crate::time::Timestamp;

/// `Retry-After` as delta-seconds or an HTTP date: the IMF-fixdate
/// (`Sun, 06 Nov 1994 08:49:37 GMT`) and, as RFC 9110 §5.6.7 asks of
/// recipients, the obsolete RFC 850 (`Sunday, 06-Nov-94 08:49:37 GMT`, its
/// two-digit years read as 1970–2069) and asctime (`Sun Nov  6 08:49:37
/// 1994`) forms. Dates are read by `httpdate`, which replaced a
/// hand-written parser (README, "Dependencies"): years 1970–9999, and the
/// weekday must be the date's.
pub(crate) fn parse_retry_after(value: &str) -> Option<RetryAfter> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        let secs = value.parse::<u64>().unwrap_or(u64::MAX);
        return Some(RetryAfter::Delay(Duration::from_secs(secs)));
    }
    // A date httpdate accepts is at or after 1970, so it has Unix seconds.
    let at = httpdate::parse_http_date(value).ok()?;
    let secs = at.duration_since(UNIX_EPOCH).ok()?.as_secs();
    Some(RetryAfter::At(Timestamp::from_unix_secs(secs)))
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
        // A weekday that is not the date's, and a leap second (which
        // httpdate does not read; the wait then falls back to the holder's
        // own backoff, bounded like any other).
        for bad in [
            "Mon, 06 Nov 1994 08:49:37 GMT",
            "Monday, 06-Nov-94 08:49:37 GMT",
            "Mon Nov  6 08:49:37 1994",
            "Sun, 06 Nov 1994 08:49:60 GMT",
        ] {
            assert_eq!(parse_retry_after(bad), None, "{bad}");
        }
        // The last date httpdate names, and a value around it.
        assert_eq!(
            parse_retry_after("  Fri, 31 Dec 9999 23:59:59 GMT  "),
            Some(RetryAfter::At(Timestamp::from_unix_secs(253_402_300_799)))
        );
    }
}

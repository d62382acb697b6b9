//! Time and `Retry-After`, modelled here independently of the crate, and the failing answers drawn from it.

use super::*;

// ====================================================================
// Time and Retry-After, modelled here independently of the crate.

pub(crate) const MS: Duration = Duration::from_millis(1);
pub(crate) const SEC: Duration = Duration::from_secs(1);
pub(crate) const HOUR: Duration = Duration::from_secs(3600);
pub(crate) const DAY: Duration = Duration::from_secs(86_400);

/// 9999-12-31 23:59:59 GMT, the last instant an IMF-fixdate can name.
pub(crate) const LAST_DATE: u64 = 253_402_300_799;

pub(crate) const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `unix` seconds as a civil date and time: weekday (0 = Monday), day,
/// month (1–12), year, hours, minutes, seconds.
pub(crate) fn civil(unix: u64) -> (usize, u64, u64, u64, u64, u64, u64) {
    let (days, rest) = (unix / 86_400, unix % 86_400);
    // 1970-01-01 was a Thursday.
    let weekday = ((days + 3) % 7) as usize;
    // Days to a civil date, counting years from March (H. Hinnant).
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (weekday, day, month, year, rest / 3600, rest / 60 % 60, rest % 60)
}

pub(crate) const WEEKDAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// The three HTTP date forms RFC 9110 §5.6.7 asks recipients to read.
#[derive(Clone, Copy, Debug)]
pub(crate) enum DateForm {
    /// `Sun, 06 Nov 1994 08:49:37 GMT`.
    Imf,
    /// `Sunday, 06-Nov-94 08:49:37 GMT` (years 1970–2069 only).
    Rfc850,
    /// `Sun Nov  6 08:49:37 1994`.
    Asctime,
}

/// The first second of 2070: two-digit RFC 850 years name 1970–2069.
pub(crate) const RFC850_END: u64 = 3_155_760_000;

/// `unix` seconds written in `form`.
pub(crate) fn http_date(form: DateForm, unix: u64) -> String {
    let (weekday, day, month, year, h, m, sec) = civil(unix);
    let (long_day, month) = (WEEKDAYS[weekday], MONTHS[(month - 1) as usize]);
    let short_day = &long_day[..3];
    match form {
        DateForm::Imf => format!("{short_day}, {day:02} {month} {year:04} {h:02}:{m:02}:{sec:02} GMT"),
        DateForm::Rfc850 => format!(
            "{long_day}, {day:02}-{month}-{:02} {h:02}:{m:02}:{sec:02} GMT",
            year % 100
        ),
        DateForm::Asctime => format!("{short_day} {month} {day:>2} {h:02}:{m:02}:{sec:02} {year:04}"),
    }
}

/// `unix` seconds as an IMF-fixdate, weekday included.
pub(crate) fn imf_fixdate(unix: u64) -> String {
    http_date(DateForm::Imf, unix)
}

/// A string of digits as a number, saturating at `u64::MAX` (as a wait of
/// "more seconds than a u64 holds" is as long as the longest).
pub(crate) fn saturating_digits(digits: &str) -> u64 {
    let n = digits.bytes().fold(0u128, |n, b| {
        (n * 10 + u128::from(b - b'0')).min(u128::from(u64::MAX))
    });
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// What a `Retry-After` value asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Meaning {
    /// Delta-seconds (saturated).
    Secs(u64),
    /// An HTTP date (IMF-fixdate, or an obsolete RFC 850 or asctime form,
    /// which RFC 9110 §5.6.7 asks recipients to read), as Unix seconds.
    Date(u64),
    /// Nothing the holder reads as a wait: no header, or a malformed value.
    Ignored,
}

/// A `Retry-After` header (or none) and what it means.
#[derive(Clone, Debug)]
pub(crate) struct RetryAfterCase {
    pub(crate) header: Option<String>,
    pub(crate) meaning: Meaning,
}

impl RetryAfterCase {
    pub(crate) fn secs(header: impl Into<String>) -> Self {
        let header = header.into();
        let meaning = Meaning::Secs(saturating_digits(header.trim()));
        RetryAfterCase {
            header: Some(header),
            meaning,
        }
    }

    pub(crate) fn date(unix: u64) -> Self {
        RetryAfterCase {
            header: Some(imf_fixdate(unix)),
            meaning: Meaning::Date(unix),
        }
    }

    /// `unix` seconds in `form`.
    pub(crate) fn dated(form: DateForm, unix: u64) -> Self {
        RetryAfterCase {
            header: Some(http_date(form, unix)),
            meaning: Meaning::Date(unix),
        }
    }

    pub(crate) fn obsolete((header, unix): (&str, u64)) -> Self {
        RetryAfterCase {
            header: Some(header.to_owned()),
            meaning: Meaning::Date(unix),
        }
    }

    pub(crate) fn ignored(header: Option<&str>) -> Self {
        RetryAfterCase {
            header: header.map(str::to_owned),
            meaning: Meaning::Ignored,
        }
    }

    /// How long, from `t`, the server asks the client to wait.
    pub(crate) fn asked(&self, t: Timestamp) -> Duration {
        match self.meaning {
            Meaning::Secs(n) => t
                .saturating_add(Duration::from_secs(n))
                .saturating_duration_since(t),
            Meaning::Date(unix) => Timestamp::from_unix_secs(unix).saturating_duration_since(t),
            Meaning::Ignored => Duration::ZERO,
        }
    }

    /// The absolute instant a caller of `TokenKeeper::renewal_failed` would
    /// pass, for an answer received at `t`.
    pub(crate) fn retry_at(&self, t: Timestamp) -> Option<Timestamp> {
        match self.meaning {
            Meaning::Secs(n) => Some(t.saturating_add(Duration::from_secs(n))),
            Meaning::Date(unix) => Some(Timestamp::from_unix_secs(unix)),
            Meaning::Ignored => None,
        }
    }

    /// What the crate should read from the header.
    pub(crate) fn parsed(&self) -> Option<RetryAfter> {
        match self.meaning {
            Meaning::Secs(n) => Some(RetryAfter::Delay(Duration::from_secs(n))),
            Meaning::Date(unix) => Some(RetryAfter::At(Timestamp::from_unix_secs(unix))),
            Meaning::Ignored => None,
        }
    }
}

/// Named delta-seconds: the review's and the integer limits.
pub(crate) const NAMED_SECS: [&str; 10] = [
    "0",
    "1",
    "120",
    "86400",
    "99999999999",
    "18446744073709551615",
    "18446744073709551616",
    "99999999999999999999999999999999999999",
    "00000000000000000000000000120",
    " 120 ",
];

/// Dates in the obsolete forms RFC 9110 §5.6.7 asks recipients to read, and
/// their Unix seconds (two-digit RFC 850 years are 1970–2069).
pub(crate) const OBSOLETE: [(&str, u64); 4] = [
    ("Friday, 31-Dec-99 23:59:59 GMT", 946_684_799),
    ("Thursday, 01-Jan-26 00:00:00 GMT", 1_767_225_600),
    ("Fri Dec 31 23:59:59 9999", 253_402_300_799),
    ("Sun Nov  6 08:49:37 1994", 784_111_777),
];

/// Values that are no `Retry-After` the crate reads.
pub(crate) const MALFORMED: [&str; 14] = [
    "soon",
    "-1",
    "1.5",
    "1e9",
    "+120",
    "0x10",
    "120 s",
    "Fri, 31 Dec 9999 23:59:59 UTC",
    "Sat, 01 Jan 10000 00:00:00 GMT",
    "Wed, 31 Dec 1969 23:59:59 GMT",
    "Thu, 32 Dec 2026 00:00:00 GMT",
    "Thu, 31 Dec 2026 24:00:00 GMT",
    // Obsolete forms bent out of shape.
    "Friday, 31-Dec-1999 23:59:59 GMT",
    "Fri Dec 31 23:59:59 99",
];

pub(crate) fn retry_after(now: Timestamp) -> impl Strategy<Value = RetryAfterCase> {
    let now_secs = now.as_unix_millis() / 1000;
    let near = (-(30 * 86_400i64)..30 * 86_400)
        .prop_map(move |offset| RetryAfterCase::date(now_secs.saturating_add_signed(offset).min(LAST_DATE)));
    prop_oneof![
        3 => select(NAMED_SECS.to_vec()).prop_map(RetryAfterCase::secs),
        2 => any::<u64>().prop_map(|n| RetryAfterCase::secs(n.to_string())),
        2 => (0u64..2_000).prop_map(|n| RetryAfterCase::secs(n.to_string())),
        1 => "[0-9]{20,40}".prop_map(RetryAfterCase::secs),
        2 => near,
        1 => (0..=LAST_DATE).prop_map(RetryAfterCase::date),
        1 => select(vec![0, LAST_DATE]).prop_map(RetryAfterCase::date),
        1 => select(MALFORMED.to_vec()).prop_map(|v| RetryAfterCase::ignored(Some(v))),
        1 => select(OBSOLETE.to_vec()).prop_map(RetryAfterCase::obsolete),
        // The obsolete forms of any date they can name, the edges of
        // RFC 850's two-digit years (1970 and 2069) included.
        1 => prop_oneof![0..RFC850_END, Just(0), Just(RFC850_END - 1), Just(946_684_800)]
            .prop_map(|unix| RetryAfterCase::dated(DateForm::Rfc850, unix)),
        1 => (0..=LAST_DATE).prop_map(|unix| RetryAfterCase::dated(DateForm::Asctime, unix)),
        1 => Just(RetryAfterCase::ignored(None)),
    ]
}

/// Instants around the epoch, in this century, and just before the end of
/// time (`Timestamp::MAX` itself, where every pause saturates to end at
/// once, is left to a test of its own).
pub(crate) fn instant() -> impl Strategy<Value = Timestamp> {
    prop_oneof![
        Just(0u64),
        0u64..10_000_000,
        1_600_000_000_000u64..1_900_000_000_000,
        (u64::MAX - 10_000_000)..u64::MAX,
        Just(u64::MAX - 1),
    ]
    .prop_map(Timestamp::from_unix_millis)
}

/// Bounds on the server's wait, zero (ignore it) included.
pub(crate) fn server_cap() -> impl Strategy<Value = Duration> {
    prop_oneof![
        select(vec![
            Duration::ZERO,
            MS,
            SEC,
            Duration::from_secs(120),
            Duration::from_secs(600),
            HOUR,
            DAY,
        ]),
        (0u64..=86_400_000).prop_map(Duration::from_millis),
    ]
}

/// The holder's preset, the preset with another `max_server_wait`, or a
/// custom back-off (a minimum interval no longer than the first pause, so
/// that the end of a back-off is the moment to send).
pub(crate) fn pacing(preset: Pacing) -> impl Strategy<Value = Pacing> {
    prop_oneof![
        Just(preset),
        server_cap().prop_map(move |max_server_wait| Pacing {
            max_server_wait,
            ..preset
        }),
        (1u64..=10_000, 0u64..=3_600_000, server_cap()).prop_map(move |(first, extra, max_server_wait)| {
            let initial_backoff = Duration::from_millis(first);
            Pacing {
                initial_backoff,
                max_backoff: initial_backoff + Duration::from_millis(extra),
                min_interval: preset.min_interval.min(initial_backoff),
                max_server_wait,
                ..preset
            }
        }),
    ]
}

// ====================================================================
// The failing answers.

/// Bodies of a rate limit or an outage, none an OAuth refusal of credentials.
pub(crate) const BODIES: [(&str, &str); 6] = [
    ("", ""),
    (
        "application/json",
        r#"{"error":"temporarily_unavailable","error_description":"try later"}"#,
    ),
    ("application/json", r#"{"error":"slow_down"}"#),
    (
        "text/html",
        "<html><head><title>503 Service Temporarily Unavailable</title></head><body><center><h1>503 Service Temporarily Unavailable</h1></center><hr><center>nginx</center></body></html>",
    ),
    ("text/plain", "Too Many Requests"),
    ("application/json", r#"{"error_message":"Too many requests"}"#),
];

/// One failed renewal: the server's answer, and (for the keeper source)
/// which request of the sign-in it answers.
#[derive(Clone, Debug)]
pub(crate) struct Failure {
    pub(crate) status: u16,
    pub(crate) body: usize,
    pub(crate) retry: RetryAfterCase,
    /// The sign-in's exchange fails, not its key request.
    pub(crate) late: bool,
}

impl Failure {
    pub(crate) fn new(status: u16, retry: RetryAfterCase) -> Self {
        Failure {
            status,
            body: 0,
            retry,
            late: false,
        }
    }

    pub(crate) fn response(&self) -> http::Response<Vec<u8>> {
        let (content_type, body) = BODIES[self.body];
        let mut b = http::Response::builder().status(self.status);
        if !content_type.is_empty() {
            b = b.header("content-type", content_type);
        }
        if let Some(value) = &self.retry.header {
            b = b.header("retry-after", value.as_str());
        }
        b.body(body.as_bytes().to_vec()).unwrap()
    }
}

pub(crate) fn failure(now: Timestamp) -> impl Strategy<Value = Failure> {
    // `Retry-After` is read on every refusal: rate limits, server failures,
    // a timeout, a proxy's 4xx, and an OAuth "later" in a 200 (JSON bodies
    // only there: another 200 body is no refusal but unreadable).
    let status_and_body = prop_oneof![
        4 => (select(vec![429u16, 503]), 0..BODIES.len()),
        3 => (select(vec![408u16, 500, 502, 504, 599, 400, 401, 403, 404]), 0..BODIES.len()),
        1 => (Just(200u16), select(vec![1usize, 2, 5])),
    ];
    (status_and_body, retry_after(now), any::<bool>()).prop_map(|((status, body), retry, late)| Failure {
        status,
        body,
        retry,
        late,
    })
}

// ====================================================================
// The model's own checks.

#[test]
fn the_date_model_prints_imf_fixdates() {
    assert_eq!(imf_fixdate(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
    assert_eq!(imf_fixdate(0), "Thu, 01 Jan 1970 00:00:00 GMT");
    assert_eq!(imf_fixdate(LAST_DATE), "Fri, 31 Dec 9999 23:59:59 GMT");
    assert_eq!(imf_fixdate(951_825_599), "Tue, 29 Feb 2000 11:59:59 GMT");
    assert_eq!(saturating_digits("18446744073709551616"), u64::MAX);
    assert_eq!(saturating_digits("00000000000000000000000000120"), 120);
    let all: Vec<RetryAfterCase> = draw(200, retry_after(T0));
    assert!(all.iter().any(|r| matches!(r.meaning, Meaning::Date(_))));
    assert!(all.iter().any(|r| r.meaning == Meaning::Secs(u64::MAX)));
    assert!(all.iter().any(|r| r.meaning == Meaning::Ignored));
}

//! Every wait a server asks for is bounded (review class 4).
//!
//! Five token holders, each driven through the public API without a token,
//! so that every renewal that fails shows its wait:
//!
//! | holder | renewal | how it fails |
//! |---|---|---|
//! | `PasswordSession` by `poll` / `handle_response` | the password grant | 429 / 503 with `Retry-After` |
//! | `PasswordSession` under `itc::consumer` (`call::Authorized`) | the password grant | the same |
//! | `TokenKeeper` | a ticket | `renewal_failed(ticket, now, retry_at)` |
//! | `KeeperSource` on `Arc<Mutex<TokenKeeper>>` under `Authorized` | a True API sign-in | its key request or its exchange answered 429 / 503 with `Retry-After` |
//! | `Reissue` over `gam::client_credentials` under `gam::post` | a token request | 429 / 503 with `Retry-After` |
//!
//! `Retry-After` is drawn as delta-seconds (the named values 0, 1, 120,
//! 86 400, 99 999 999 999, 2^64 - 1, longer digit strings, leading zeros),
//! as IMF-fixdates (past, near, 9999-12-31, the epoch) and as malformed or
//! obsolete forms, with `now` near the epoch, in this century, near
//! `Timestamp::MAX` and at it, for the holder's preset pacing and for custom
//! ones (`max_server_wait` zero included).
//!
//! The model (from `Pacing`'s docs): after the i-th failure in a row at `t`,
//! the holder pauses until `t + max(own, min(asked, max_server_wait))`, where
//! `own = min(initial_backoff · 2^i, max_backoff)` and `asked` is what the
//! server's `Retry-After` asks from `t` (zero if unreadable): never later
//! than `t + max(max_backoff, max_server_wait)`, never shorter than the
//! server asked within the cap.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use proptest::prelude::*;
use proptest::sample::select;

mod common;
use common::holders::{itc_config, itc_session, reissue, sign_in, suz_ping, MakeGam, CONN, REG_NO};
use common::pacing::{self, longest_pause};
use common::steps::KEY_ANSWER;
use common::{draw, kind, session_kind, Tally};
use tokendance::call::{Authorized, Reissue, Scheme};
use tokendance::crpt::{KeeperAction, KeeperSource, TokenKeeper};
use tokendance::oauth2::SessionAction;
use tokendance::{
    gam, itc, Action, Error, Flow, Input, Pacing, RetryAfter, Signature, Timestamp, TokenRequest, UsageError,
};

// ====================================================================
// Time and Retry-After, modelled here independently of the crate.

const MS: Duration = Duration::from_millis(1);
const SEC: Duration = Duration::from_secs(1);
const HOUR: Duration = Duration::from_secs(3600);
const DAY: Duration = Duration::from_secs(86_400);

/// A usual instant: 2023-11-14.
const T0: Timestamp = Timestamp::from_unix_secs(1_700_000_000);

/// 9999-12-31 23:59:59 GMT, the last instant an IMF-fixdate can name.
const LAST_DATE: u64 = 253_402_300_799;

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `unix` seconds as a civil date and time: weekday (0 = Monday), day,
/// month (1–12), year, hours, minutes, seconds.
fn civil(unix: u64) -> (usize, u64, u64, u64, u64, u64, u64) {
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

const WEEKDAYS: [&str; 7] = [
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
enum DateForm {
    /// `Sun, 06 Nov 1994 08:49:37 GMT`.
    Imf,
    /// `Sunday, 06-Nov-94 08:49:37 GMT` (years 1970–2069 only).
    Rfc850,
    /// `Sun Nov  6 08:49:37 1994`.
    Asctime,
}

/// The first second of 2070: two-digit RFC 850 years name 1970–2069.
const RFC850_END: u64 = 3_155_760_000;

/// `unix` seconds written in `form`.
fn http_date(form: DateForm, unix: u64) -> String {
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
fn imf_fixdate(unix: u64) -> String {
    http_date(DateForm::Imf, unix)
}

/// A string of digits as a number, saturating at `u64::MAX` (as a wait of
/// "more seconds than a u64 holds" is as long as the longest).
fn saturating_digits(digits: &str) -> u64 {
    let n = digits.bytes().fold(0u128, |n, b| {
        (n * 10 + u128::from(b - b'0')).min(u128::from(u64::MAX))
    });
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// What a `Retry-After` value asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Meaning {
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
struct RetryAfterCase {
    header: Option<String>,
    meaning: Meaning,
}

impl RetryAfterCase {
    fn secs(header: impl Into<String>) -> Self {
        let header = header.into();
        let meaning = Meaning::Secs(saturating_digits(header.trim()));
        RetryAfterCase {
            header: Some(header),
            meaning,
        }
    }

    fn date(unix: u64) -> Self {
        RetryAfterCase {
            header: Some(imf_fixdate(unix)),
            meaning: Meaning::Date(unix),
        }
    }

    /// `unix` seconds in `form`.
    fn dated(form: DateForm, unix: u64) -> Self {
        RetryAfterCase {
            header: Some(http_date(form, unix)),
            meaning: Meaning::Date(unix),
        }
    }

    fn obsolete((header, unix): (&str, u64)) -> Self {
        RetryAfterCase {
            header: Some(header.to_owned()),
            meaning: Meaning::Date(unix),
        }
    }

    fn ignored(header: Option<&str>) -> Self {
        RetryAfterCase {
            header: header.map(str::to_owned),
            meaning: Meaning::Ignored,
        }
    }

    /// How long, from `t`, the server asks the client to wait.
    fn asked(&self, t: Timestamp) -> Duration {
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
    fn retry_at(&self, t: Timestamp) -> Option<Timestamp> {
        match self.meaning {
            Meaning::Secs(n) => Some(t.saturating_add(Duration::from_secs(n))),
            Meaning::Date(unix) => Some(Timestamp::from_unix_secs(unix)),
            Meaning::Ignored => None,
        }
    }

    /// What the crate should read from the header.
    fn parsed(&self) -> Option<RetryAfter> {
        match self.meaning {
            Meaning::Secs(n) => Some(RetryAfter::Delay(Duration::from_secs(n))),
            Meaning::Date(unix) => Some(RetryAfter::At(Timestamp::from_unix_secs(unix))),
            Meaning::Ignored => None,
        }
    }
}

/// Named delta-seconds: the review's and the integer limits.
const NAMED_SECS: [&str; 10] = [
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
const OBSOLETE: [(&str, u64); 4] = [
    ("Friday, 31-Dec-99 23:59:59 GMT", 946_684_799),
    ("Thursday, 01-Jan-26 00:00:00 GMT", 1_767_225_600),
    ("Fri Dec 31 23:59:59 9999", 253_402_300_799),
    ("Sun Nov  6 08:49:37 1994", 784_111_777),
];

/// Values that are no `Retry-After` the crate reads.
const MALFORMED: [&str; 14] = [
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

fn retry_after(now: Timestamp) -> impl Strategy<Value = RetryAfterCase> {
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
fn instant() -> impl Strategy<Value = Timestamp> {
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
fn server_cap() -> impl Strategy<Value = Duration> {
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
fn pacing(preset: Pacing) -> impl Strategy<Value = Pacing> {
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
const BODIES: [(&str, &str); 6] = [
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
struct Failure {
    status: u16,
    body: usize,
    retry: RetryAfterCase,
    /// The sign-in's exchange fails, not its key request.
    late: bool,
}

impl Failure {
    fn new(status: u16, retry: RetryAfterCase) -> Self {
        Failure {
            status,
            body: 0,
            retry,
            late: false,
        }
    }

    fn response(&self) -> http::Response<Vec<u8>> {
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

fn failure(now: Timestamp) -> impl Strategy<Value = Failure> {
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
// The holders.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    SessionPoll,
    SessionCall,
    Keeper,
    KeeperSource,
    Reissue,
}

const KINDS: [Kind; 5] = [
    Kind::SessionPoll,
    Kind::SessionCall,
    Kind::Keeper,
    Kind::KeeperSource,
    Kind::Reissue,
];

impl Kind {
    fn preset(self) -> Pacing {
        match self {
            Kind::SessionPoll | Kind::SessionCall => Pacing::session(),
            Kind::Keeper | Kind::KeeperSource => Pacing::keeper(),
            Kind::Reissue => Pacing::reissue(),
        }
    }
}

/// What a holder did at an instant.
#[derive(Debug)]
enum Attempt {
    /// It started a renewal, which was failed as asked.
    Failed,
    /// It asked to wait until then.
    Wait(Timestamp),
}

/// A token holder with no token, as one of the five [`Kind`]s.
struct Holder {
    kind: Kind,
    session: itc::Session,
    keeper: TokenKeeper,
    shared: Arc<Mutex<TokenKeeper>>,
    reissue: Reissue<MakeGam, TokenRequest>,
    config: itc::Config,
    gam: gam::Config,
}

/// Checks that a failed renewal failed with the server's answer.
fn check_error(err: &Error, failure: &Failure) -> Result<(), String> {
    if err.status().map(|s| s.as_u16()) != Some(failure.status) {
        return Err(format!("error: the failure is reported as {err}"));
    }
    if err.retry_after() != failure.retry.parsed() {
        return Err(format!(
            "parse: Retry-After {:?} read as {:?}, expected {:?}",
            failure.retry.header,
            err.retry_after(),
            failure.retry.parsed()
        ));
    }
    Ok(())
}

impl Holder {
    fn new(kind: Kind) -> Self {
        Holder {
            kind,
            session: itc_session(),
            keeper: TokenKeeper::new(CONN),
            shared: Arc::new(Mutex::new(TokenKeeper::new(CONN))),
            reissue: reissue(gam::Config::staging()),
            config: itc_config(),
            gam: gam::Config::staging(),
        }
    }

    fn with_pacing(kind: Kind, pacing: Pacing) -> Self {
        let mut holder = Holder::new(kind);
        holder.set_pacing(pacing).expect("a valid pacing");
        holder
    }

    fn set_pacing(&mut self, pacing: Pacing) -> Result<(), Error> {
        match self.kind {
            Kind::SessionPoll | Kind::SessionCall => self.session.set_pacing(pacing),
            Kind::Keeper => self.keeper.set_pacing(pacing),
            Kind::KeeperSource => self.shared.lock().unwrap().set_pacing(pacing),
            Kind::Reissue => self.reissue.set_pacing(pacing),
        }
    }

    fn pacing(&self) -> Pacing {
        match self.kind {
            Kind::SessionPoll | Kind::SessionCall => *self.session.pacing(),
            Kind::Keeper => *self.keeper.pacing(),
            Kind::KeeperSource => *self.shared.lock().unwrap().pacing(),
            Kind::Reissue => *self.reissue.pacing(),
        }
    }

    fn retry_now(&mut self) {
        match self.kind {
            Kind::SessionPoll | Kind::SessionCall => self.session.retry_now(),
            Kind::Keeper => self.keeper.retry_now(),
            Kind::KeeperSource => self.shared.lock().unwrap().retry_now(),
            Kind::Reissue => self.reissue.retry_now(),
        }
    }

    /// When the holder says it next needs attention (`Reissue` does not say).
    fn next_deadline(&self) -> Option<Timestamp> {
        match self.kind {
            Kind::SessionPoll | Kind::SessionCall => self.session.next_deadline(),
            Kind::Keeper => Some(self.keeper.next_deadline()),
            Kind::KeeperSource => Some(self.shared.lock().unwrap().next_deadline()),
            Kind::Reissue => None,
        }
    }

    /// Asks the holder for a token at `t`; if it starts a renewal, the
    /// renewal fails at `t` with `failure`.
    fn attempt(&mut self, t: Timestamp, failure: &Failure) -> Result<Attempt, String> {
        match self.kind {
            Kind::SessionPoll => match self.session.poll(t) {
                Ok(SessionAction::Send(request)) => {
                    let body = String::from_utf8_lossy(request.as_http().body()).into_owned();
                    if !body.starts_with("grant_type=password") {
                        return Err(format!("request: expected the password grant, got {body}"));
                    }
                    match self.session.handle_response(t, failure.response()) {
                        Err(err) => check_error(&err, failure).map(|()| Attempt::Failed),
                        Ok(()) => Err("error: the failing answer was accepted".into()),
                    }
                }
                Ok(SessionAction::Wait(until)) => Ok(Attempt::Wait(until)),
                Ok(SessionAction::UseToken(_)) => Err("token: a session without a token used one".into()),
                Err(err) => Err(format!("ended: poll failed with {err}")),
            },
            Kind::SessionCall => {
                let mut call = itc::consumer(&self.config, REG_NO, &mut self.session).unwrap();
                let renewal = |path: &str| path.ends_with("/protocol/openid-connect/token");
                fail_renewal(&mut call, t, failure, ("the token request", renewal), |_| Ok(()))
            }
            Kind::Keeper => match self.keeper.poll(t) {
                KeeperAction::Renew(ticket) => {
                    let retry_at = failure.retry.retry_at(t);
                    match self.keeper.renewal_failed(ticket, t, retry_at) {
                        Ok(()) => Ok(Attempt::Failed),
                        Err(err) => Err(format!("ticket: renewal_failed refused the ticket: {err}")),
                    }
                }
                KeeperAction::Wait(until) => Ok(Attempt::Wait(until)),
                KeeperAction::UseToken(_) => Err("token: a keeper without a token used one".into()),
            },
            Kind::KeeperSource => {
                let source = KeeperSource::new(Arc::clone(&self.shared), sign_in);
                let mut call = Authorized::new(source, suz_ping(), Scheme::SuzClientToken).unwrap();
                let renewal = |path: &str| path.ends_with("/auth/key");
                fail_renewal(&mut call, t, failure, ("the key request", renewal), |call| {
                    if !failure.late {
                        return Ok(());
                    }
                    let challenge = http::Response::new(KEY_ANSWER.as_bytes().to_vec());
                    match call.resume(t, Input::Response(challenge)) {
                        Ok(Action::Sign(_)) => {}
                        other => return Err(format!("sign-in: no signature asked ({other:?})")),
                    }
                    let signature = Signature::from_der(vec![0x30, 0x80]);
                    match call.resume(t, Input::Signature(signature)) {
                        Ok(Action::Send(_)) => Ok(()),
                        other => Err(format!("sign-in: no exchange sent ({other:?})")),
                    }
                })
            }
            Kind::Reissue => {
                let body = serde_json::json!({"customerCode": "C-1"});
                let mut call = gam::post::<_, serde_json::Value>(
                    &self.gam,
                    "DEMO",
                    &["api", "v1", "orders"],
                    &body,
                    &mut self.reissue,
                )
                .unwrap();
                let renewal = |path: &str| path == "/oauth2/v3/token";
                fail_renewal(&mut call, t, failure, ("the token request", renewal), |_| Ok(()))
            }
        }
    }
}

/// Starts `call` at `t`: a `Wait` is the attempt; otherwise its first
/// request must be the renewal (`renewal`: what it is, and the test of its
/// path), which `lead_in` may carry on to a later request of the renewal
/// before that one is answered with `failure`.
fn fail_renewal<F: Flow>(
    call: &mut F,
    t: Timestamp,
    failure: &Failure,
    (what, renewal): (&str, fn(&str) -> bool),
    lead_in: impl FnOnce(&mut F) -> Result<(), String>,
) -> Result<Attempt, String> {
    match call.start(t) {
        Ok(Action::Send(request)) => {
            let uri = request.as_http().uri();
            if !renewal(uri.path()) {
                return Err(format!("request: expected {what}, got {uri}"));
            }
            lead_in(call)?;
            match call.resume(t, Input::Response(failure.response())) {
                Err(err) => check_error(&err, failure).map(|()| Attempt::Failed),
                Ok(step) => Err(format!("error: the failing answer gave {}", kind(&step))),
            }
        }
        Ok(Action::Wait(until)) => Ok(Attempt::Wait(until)),
        Ok(step) => Err(format!("start: the call began with {}", kind(&step))),
        Err(err) => Err(format!("start: the call failed with {err}")),
    }
}

/// The holder's own pause after the `i`-th failure in a row (from 0).
fn own_backoff(pacing: &Pacing, i: u32) -> Duration {
    let factor = 1u32.checked_shl(i).unwrap_or(u32::MAX);
    pacing
        .initial_backoff
        .saturating_mul(factor)
        .min(pacing.max_backoff)
}

/// Checks the pause `until` a holder announced after the `i`-th failure in
/// a row, at `t`, answered with `retry`.
fn check_pause(
    pacing: &Pacing,
    i: u32,
    t: Timestamp,
    retry: &RetryAfterCase,
    until: Timestamp,
) -> Result<(), String> {
    let asked = retry.asked(t);
    let honoured = asked.min(pacing.max_server_wait);
    let upper = t.saturating_add(longest_pause(pacing));
    if until > upper {
        return Err(format!(
            "unbounded: failure {i} at {t:?}: waits {:?}, more than the bound {:?}",
            until.saturating_duration_since(t),
            longest_pause(pacing)
        ));
    }
    if until < t.saturating_add(honoured) {
        return Err(format!(
            "not honoured: failure {i} at {t:?}: waits {:?}, the server asked {asked:?} (cap {:?})",
            until.saturating_duration_since(t),
            pacing.max_server_wait
        ));
    }
    let expected = t.saturating_add(own_backoff(pacing, i).max(honoured));
    if until != expected {
        return Err(format!(
            "formula: failure {i} at {t:?}: waits {:?}, expected {:?} (own {:?}, asked {asked:?}, cap {:?})",
            until.saturating_duration_since(t),
            expected.saturating_duration_since(t),
            own_backoff(pacing, i),
            pacing.max_server_wait
        ));
    }
    Ok(())
}

/// Fails the holder's renewals in a row, each when the previous pause
/// ends, and checks each pause, both as the next `Wait` and as
/// `next_deadline()`.
fn check_failures(holder: &mut Holder, start: Timestamp, failures: &[Failure]) -> Result<(), String> {
    let pacing = holder.pacing();
    let mut t = start;
    for (i, failure) in (0u32..).zip(failures) {
        if t == Timestamp::MAX {
            // A pause that ended at the end of time: see its own test.
            return Ok(());
        }
        match holder.attempt(t, failure)? {
            Attempt::Failed => {}
            Attempt::Wait(until) => {
                return Err(format!(
                    "stuck: failure {i} at {t:?}: the back-off is over, yet it waits until {until:?}"
                ))
            }
        }
        let until = match holder.attempt(t, failure)? {
            Attempt::Wait(until) => until,
            Attempt::Failed => {
                return Err(format!("no pause: failure {i} at {t:?}: it renews again at once"))
            }
        };
        check_pause(&pacing, i, t, &failure.retry, until)?;
        if let Some(deadline) = holder.next_deadline() {
            if deadline > t.saturating_add(longest_pause(&pacing)) || deadline < until {
                return Err(format!(
                    "deadline: failure {i} at {t:?}: next_deadline {:?} ahead, the wait {:?}",
                    deadline.saturating_duration_since(t),
                    until.saturating_duration_since(t)
                ));
            }
        }
        t = until;
    }
    Ok(())
}

#[derive(Debug)]
struct Case {
    now: Timestamp,
    pacing: Pacing,
    failures: Vec<Failure>,
}

fn cases(kind: Kind) -> impl Strategy<Value = Case> {
    (instant(), pacing(kind.preset())).prop_flat_map(|(now, pacing)| {
        prop::collection::vec(failure(now), 1..=4).prop_map(move |failures| Case {
            now,
            pacing,
            failures,
        })
    })
}

fn generated(name: &'static str, kind: Kind, count: u32) {
    let mut tally = Tally::new(name);
    tally.sample(count, cases(kind), |case| {
        let mut holder = Holder::with_pacing(kind, case.pacing);
        check_failures(&mut holder, case.now, &case.failures)
    });
    tally.finish();
}

// ====================================================================
// Generated: each holder, failures in a row.

#[test]
fn session_polled_bounds_every_server_wait() {
    generated("session_polled_bounds_every_server_wait", Kind::SessionPoll, 400);
}

#[test]
fn session_under_an_authorized_call_bounds_every_server_wait() {
    generated(
        "session_under_an_authorized_call_bounds_every_server_wait",
        Kind::SessionCall,
        400,
    );
}

#[test]
fn keeper_bounds_every_retry_at() {
    generated("keeper_bounds_every_retry_at", Kind::Keeper, 400);
}

#[test]
fn keeper_source_bounds_every_sign_in_wait() {
    generated("keeper_source_bounds_every_sign_in_wait", Kind::KeeperSource, 400);
}

#[test]
fn reissue_bounds_every_token_request_wait() {
    generated("reissue_bounds_every_token_request_wait", Kind::Reissue, 400);
}

// ====================================================================
// Named values, every holder, with the preset pacing.

/// The values of the review, each at three instants, for every holder.
#[test]
fn named_retry_after_values_are_cut_to_the_preset_bound() {
    let mut rows: Vec<RetryAfterCase> = NAMED_SECS.iter().map(|v| RetryAfterCase::secs(*v)).collect();
    rows.extend([
        RetryAfterCase::date(LAST_DATE),
        RetryAfterCase::date(0),
        RetryAfterCase::date(784_111_777),
        // Ten seconds and five minutes after T0, an hour before it.
        RetryAfterCase::date(1_700_000_010),
        RetryAfterCase::date(1_700_000_300),
        RetryAfterCase::date(1_699_996_400),
        RetryAfterCase::ignored(None),
    ]);
    rows.extend(MALFORMED.iter().map(|v| RetryAfterCase::ignored(Some(v))));
    rows.extend(OBSOLETE.iter().copied().map(RetryAfterCase::obsolete));
    let nows = [
        Timestamp::EPOCH,
        T0,
        Timestamp::from_unix_millis(u64::MAX - 1_000),
    ];
    let mut tally = Tally::new("named_retry_after_values_are_cut_to_the_preset_bound");
    for kind in KINDS {
        for now in nows {
            for (row, status) in rows.iter().zip([429u16, 503].into_iter().cycle()) {
                let mut holder = Holder::new(kind);
                let failure = Failure::new(status, row.clone());
                let result = check_failures(&mut holder, now, &[failure]);
                tally.check(
                    format_args!("{kind:?} at {now:?}: {status} {:?}", row.header),
                    result,
                );
            }
        }
    }
    tally.finish();
}

/// The review's two cases exactly: a session (or keeper) told to wait until
/// the year 5193 or 9999 waits ten minutes.
#[test]
fn the_reviewed_waits_last_ten_minutes() {
    for kind in KINDS {
        for retry in [
            RetryAfterCase::secs("99999999999"),
            RetryAfterCase::date(LAST_DATE),
        ] {
            let mut holder = Holder::new(kind);
            let failure = Failure::new(503, retry.clone());
            assert!(
                matches!(holder.attempt(T0, &failure), Ok(Attempt::Failed)),
                "{kind:?}"
            );
            let until = match holder.attempt(T0, &failure) {
                Ok(Attempt::Wait(until)) => until,
                other => panic!("{kind:?} {retry:?}: expected a wait, got {other:?}"),
            };
            assert_eq!(
                until.saturating_duration_since(T0),
                Duration::from_secs(600),
                "{kind:?} {retry:?}"
            );
        }
    }
}

/// `max_server_wait` zero: whatever the server asks, the pause is the
/// holder's own, doubling from `initial_backoff`.
#[test]
fn a_zero_server_cap_keeps_only_the_own_back_off() {
    let mut tally = Tally::new("a_zero_server_cap_keeps_only_the_own_back_off");
    for kind in KINDS {
        let strategy = (instant(), prop::collection::vec(failure(T0), 1..=4));
        tally.sample(60, strategy, |(now, failures)| {
            let pacing = Pacing {
                max_server_wait: Duration::ZERO,
                ..kind.preset()
            };
            let mut holder = Holder::with_pacing(kind, pacing);
            let mut t = *now;
            for (i, failure) in (0u32..).zip(failures) {
                if t == Timestamp::MAX {
                    return Ok(());
                }
                match holder.attempt(t, failure)? {
                    Attempt::Failed => {}
                    Attempt::Wait(until) => return Err(format!("stuck: {kind:?} waits until {until:?}")),
                }
                let expected = t.saturating_add(own_backoff(&pacing, i));
                match holder.attempt(t, failure)? {
                    Attempt::Wait(until) if until == expected => t = until,
                    other => {
                        return Err(format!(
                        "own: {kind:?} failure {i} at {t:?}: {other:?}, expected a wait until {expected:?}"
                    ))
                    }
                }
            }
            Ok(())
        });
    }
    tally.finish();
}

/// At `Timestamp::MAX` itself every pause saturates to end "now": a
/// failure there must still not be retried at once (the pacing module:
/// "`Timestamp::MAX` saturates into 'wait' rather than into 'go again'").
/// The first attempt renews and fails; every later attempt, at the end of
/// time, waits until `Timestamp::MAX`: no instant comes after it.
#[test]
fn a_failure_at_the_end_of_time_still_pauses() {
    let mut tally = Tally::new("a_failure_at_the_end_of_time_still_pauses");
    for kind in KINDS {
        for start in [u64::MAX, u64::MAX - 1, u64::MAX - 999] {
            let start = Timestamp::from_unix_millis(start);
            let failure = Failure::new(503, RetryAfterCase::secs("120"));
            let result = (|| {
                let mut holder = Holder::new(kind);
                match holder.attempt(start, &failure)? {
                    Attempt::Failed => {}
                    Attempt::Wait(until) => return Err(format!("setup: no renewal, waits until {until:?}")),
                }
                for (i, t) in [start, Timestamp::MAX, Timestamp::MAX, Timestamp::MAX]
                    .into_iter()
                    .enumerate()
                {
                    match holder.attempt(t, &failure)? {
                        Attempt::Wait(until) if until == Timestamp::MAX => {}
                        other => {
                            return Err(format!(
                                "no pause: attempt {i} at {t:?} after the failure: {other:?} (expected a wait until MAX)"
                            ))
                        }
                    }
                }
                Ok(())
            })();
            tally.check(format_args!("{kind:?} from {start:?}"), result);
        }
    }
    tally.finish();
}

// ====================================================================
// retry_now.

/// After `retry_now`, the next poll renews once `min_interval` has passed
/// since the last renewal started; and the failures in a row count from
/// one again.
#[test]
fn retry_now_ends_the_back_off_after_the_minimum_interval() {
    let mut tally = Tally::new("retry_now_ends_the_back_off_after_the_minimum_interval");
    let strategy = (
        select(KINDS.to_vec()),
        select(vec![
            Duration::ZERO,
            MS,
            Duration::from_millis(300),
            SEC,
            Duration::from_secs(5),
        ]),
        prop::collection::vec(failure(T0), 1..=5),
        0u64..=7_000,
    );
    tally.sample(300, strategy, |(kind, min_interval, failures, later_ms)| {
        let pacing = Pacing {
            min_interval: *min_interval,
            ..kind.preset()
        };
        let mut holder = Holder::with_pacing(*kind, pacing);
        // Fail in a row, each failure when the last pause ends.
        let mut t = T0;
        let mut last_start = T0;
        for failure in failures {
            match holder.attempt(t, failure)? {
                Attempt::Failed => last_start = t,
                Attempt::Wait(until) => return Err(format!("setup: waits until {until:?}")),
            }
            match holder.attempt(t, failure)? {
                Attempt::Wait(until) => t = until.max(t.saturating_add(*min_interval)),
                Attempt::Failed => return Err("no pause: it renews again at once".into()),
            }
        }
        // The operator presses "retry now" some time after the last renewal.
        let pressed = last_start.saturating_add(Duration::from_millis(*later_ms));
        holder.retry_now();
        let again = Failure::new(503, RetryAfterCase::ignored(None));
        let earliest = last_start.saturating_add(*min_interval);
        match holder.attempt(pressed, &again)? {
            Attempt::Failed if pressed >= earliest => {}
            Attempt::Wait(until) if pressed < earliest && until == earliest => {
                match holder.attempt(until, &again)? {
                    Attempt::Failed => {}
                    Attempt::Wait(later) => {
                        return Err(format!(
                            "retry_now: at the end of min_interval it still waits until {later:?}"
                        ))
                    }
                }
            }
            other => {
                return Err(format!(
                "retry_now: pressed {:?} after the last renewal (min_interval {min_interval:?}): {other:?}",
                pressed.saturating_duration_since(last_start)
            ))
            }
        }
        // The failure that followed counts as the first in a row.
        let after = pressed.max(earliest);
        match holder.attempt(after, &again)? {
            Attempt::Wait(until) if until == after.saturating_add(pacing.initial_backoff) => Ok(()),
            other => Err(format!(
                "count: after retry_now a failure pauses {other:?}, expected the first back-off {:?}",
                pacing.initial_backoff
            )),
        }
    });
    tally.finish();
}

/// `retry_now` while a renewal is out leaves it out: no second request, no
/// second ticket.
#[test]
fn retry_now_keeps_single_flight() {
    // The session.
    let mut s = itc_session();
    let SessionAction::Send(_) = s.poll(T0).unwrap() else {
        panic!("a fresh session sends the password grant");
    };
    s.retry_now();
    for later in [Duration::ZERO, SEC, Duration::from_secs(30)] {
        match s.poll(T0.saturating_add(later)).unwrap() {
            SessionAction::Wait(until) => assert_eq!(until, T0.saturating_add(Duration::from_secs(60))),
            other => panic!("retry_now with a request in flight: {other:?}"),
        }
    }
    // The keeper.
    let mut keeper = TokenKeeper::new(CONN);
    let KeeperAction::Renew(ticket) = keeper.poll(T0) else {
        panic!("a fresh keeper hands out a ticket");
    };
    keeper.retry_now();
    for later in [Duration::ZERO, SEC, Duration::from_secs(299)] {
        assert!(
            matches!(keeper.poll(T0.saturating_add(later)), KeeperAction::Wait(_)),
            "retry_now with a ticket out must not issue a second"
        );
    }
    keeper.renewal_failed(ticket, T0, None).unwrap();
}

// ====================================================================
// A clock stepped back during a back-off.

/// A back-off set at `t`, then the clock stepped back.
#[derive(Debug)]
struct StepBack {
    kind: Kind,
    pacing: Pacing,
    t: Timestamp,
    failure: Failure,
    step: Duration,
    failures_before: usize,
}

fn steps_back() -> impl Strategy<Value = StepBack> {
    (
        select(KINDS.to_vec()),
        prop_oneof![
            Just(Pacing::session()),
            Just(Pacing::keeper()),
            Just(Pacing::reissue()),
            pacing(Pacing::session()),
        ],
        prop_oneof![1_000_000_000_000u64..1_900_000_000_000, 0u64..100_000_000]
            .prop_map(Timestamp::from_unix_millis),
        failure(T0),
        prop_oneof![
            Just(HOUR),
            Just(DAY),
            (1_000u64..=3 * 86_400_000).prop_map(Duration::from_millis)
        ],
        0usize..3,
    )
        .prop_map(|(kind, pacing, t, failure, step, failures_before)| StepBack {
            kind,
            pacing,
            t,
            failure,
            step,
            failures_before,
        })
}

impl StepBack {
    /// Fails `failures_before` renewals in a row, then one with `failure`
    /// at `t`, and returns the holder and the instant `step` before.
    fn set_up(&self) -> Result<(Holder, Timestamp), String> {
        let mut holder = Holder::with_pacing(self.kind, self.pacing);
        let mut t = self.t;
        let plain = Failure::new(503, RetryAfterCase::ignored(None));
        for _ in 0..self.failures_before {
            if !matches!(holder.attempt(t, &plain)?, Attempt::Failed) {
                return Err("setup: no renewal".into());
            }
            match holder.attempt(t, &plain)? {
                Attempt::Wait(until) => t = until.max(t.saturating_add(self.pacing.min_interval)),
                Attempt::Failed => return Err("no pause: it renews again at once".into()),
            }
        }
        if !matches!(holder.attempt(t, &self.failure)?, Attempt::Failed) {
            return Err("setup: no renewal".into());
        }
        Ok((holder, t.saturating_sub(self.step)))
    }

    /// [`StepBack::set_up`], then the poll at the instant `step` before: the
    /// holder, that instant, and the end of the wait it announced there.
    fn wait_after_the_step(&self) -> Result<(Holder, Timestamp, Timestamp), String> {
        let (mut holder, back) = self.set_up()?;
        match holder.attempt(back, &self.failure)? {
            Attempt::Wait(until) => Ok((holder, back, until)),
            Attempt::Failed => Err("no pause: after the step back it renews at once".into()),
        }
    }
}

/// Fail at `t` (the server may ask for a long wait), then poll at
/// `t - step` (an hour, a day, up to three days): the `Wait` is at most the
/// bound from the new `now`, and the holder renews by then (after at most
/// one `min_interval` more: the last renewal started "now" at the latest).
#[test]
fn a_clock_stepped_back_never_lengthens_a_wait() {
    let mut tally = Tally::new("a_clock_stepped_back_never_lengthens_a_wait");
    tally.sample(500, steps_back(), |case| {
        let (mut holder, back, until) = case.wait_after_the_step()?;
        let step = case.step;
        let bound = longest_pause(&case.pacing);
        if until > back.saturating_add(bound) || until <= back {
            return Err(format!(
                "unbounded: {step:?} back: waits {:?} from the new now, bound {bound:?}",
                until.saturating_duration_since(back)
            ));
        }
        let plain = Failure::new(503, RetryAfterCase::ignored(None));
        let latest = back
            .saturating_add(bound)
            .saturating_add(case.pacing.min_interval);
        let mut at = until;
        for _ in 0..3 {
            match holder.attempt(at, &plain)? {
                Attempt::Failed => return Ok(()),
                Attempt::Wait(next) if next > at && next <= latest => at = next,
                Attempt::Wait(next) => {
                    return Err(format!(
                        "late: {step:?} back: at {:?} from the new now it waits until {:?}",
                        at.saturating_duration_since(back),
                        next.saturating_duration_since(back)
                    ))
                }
            }
        }
        Err(format!(
            "late: {step:?} back: no renewal within {:?} of the new now",
            latest.saturating_duration_since(back)
        ))
    });
    tally.finish();
}

/// The same, as `next_deadline()` says after the poll at the new `now`:
/// a caller that sleeps until the deadline must not sleep past the bound.
#[test]
fn a_clock_stepped_back_never_lengthens_the_next_deadline() {
    let mut tally = Tally::new("a_clock_stepped_back_never_lengthens_the_next_deadline");
    // `Reissue` has no deadline of its own (its `Wait` is checked above).
    let with_deadline = steps_back().prop_filter("has a deadline", |case| case.kind != Kind::Reissue);
    tally.sample(500, with_deadline, |case| {
        let (holder, back, until) = case.wait_after_the_step()?;
        let step = case.step;
        let bound = longest_pause(&case.pacing);
        match holder.next_deadline() {
            Some(deadline) if deadline > back.saturating_add(bound) => Err(format!(
                "deadline: {step:?} back: next_deadline {:?} from the new now (the wait: {:?}), bound {bound:?}",
                deadline.saturating_duration_since(back),
                until.saturating_duration_since(back)
            )),
            Some(_) => Ok(()),
            None => Err(format!("deadline: {step:?} back: none while backing off")),
        }
    });
    tally.finish();
}

// ====================================================================
// Pacing::validate.

/// A duration for a pacing field: the edges of every rule, and anything up
/// to two days.
fn field() -> impl Strategy<Value = Duration> {
    prop_oneof![
        2 => select(vec![
            Duration::ZERO,
            Duration::from_nanos(1),
            Duration::from_micros(999),
            MS,
            Duration::from_millis(999),
            SEC,
            Duration::from_secs(300),
            DAY,
            DAY + MS,
            Duration::from_secs(u64::MAX),
        ]),
        2 => (0u64..=600_000).prop_map(Duration::from_millis),
        1 => (0u64..=2 * 86_400_000).prop_map(Duration::from_millis),
    ]
}

fn any_pacing() -> impl Strategy<Value = Pacing> {
    prop_oneof![
        // Every field drawn.
        [field(), field(), field(), field(), field(), field()].prop_map(pacing::from_fields),
        // A preset with one or two fields changed: each rule alone.
        (
            select(vec![Pacing::session(), Pacing::keeper(), Pacing::reissue()]),
            0usize..6,
            field(),
            proptest::option::of((0usize..6, field())),
        )
            .prop_map(move |(preset, i, d, other)| {
                let mut f = pacing::fields(&preset);
                f[i] = d;
                if let Some((j, e)) = other {
                    f[j] = e;
                }
                pacing::from_fields(f)
            }),
    ]
}

/// A refused pacing leaves the holder's pacing as it was, in what
/// `pacing()` says and in how it backs off; an accepted one is taken whole.
#[test]
fn refused_pacings_change_nothing() {
    let before = Pacing {
        renew_margin: Duration::from_secs(20),
        renewal_timeout: Duration::from_secs(40),
        min_interval: Duration::from_millis(500),
        initial_backoff: Duration::from_secs(7),
        max_backoff: Duration::from_secs(70),
        max_server_wait: Duration::from_secs(33),
    };
    let mut tally = Tally::new("refused_pacings_change_nothing");
    tally.sample(400, (select(KINDS.to_vec()), any_pacing()), |(kind, pacing)| {
        let mut holder = Holder::with_pacing(*kind, before);
        let result = holder.set_pacing(*pacing);
        match (&result, pacing::is_valid(pacing)) {
            (Ok(()), true) => {
                return (holder.pacing() == *pacing)
                    .then_some(())
                    .ok_or_else(|| format!("taken: accepted, but pacing() is {:?}", holder.pacing()))
            }
            (Err(Error::Usage(UsageError::InvalidConfig { .. })), false) => {}
            (result, valid) => {
                return Err(format!("verdict: {result:?} for a pacing that is valid: {valid}"))
            }
        }
        if holder.pacing() != before {
            return Err(format!("changed: refused, but pacing() is {:?}", holder.pacing()));
        }
        if *kind == Kind::Keeper {
            let built = TokenKeeper::with_pacing(CONN, *pacing);
            if !matches!(built, Err(Error::Usage(UsageError::InvalidConfig { .. }))) {
                return Err(format!("verdict: TokenKeeper::with_pacing gave {built:?}"));
            }
        }
        // It still backs off as before: a server asking for a day gets 33 s.
        let failure = Failure::new(429, RetryAfterCase::secs("86400"));
        match holder.attempt(T0, &failure)? {
            Attempt::Failed => {}
            other => return Err(format!("setup: {other:?}")),
        }
        match holder.attempt(T0, &failure)? {
            Attempt::Wait(until) if until == T0.saturating_add(Duration::from_secs(33)) => Ok(()),
            other => Err(format!(
                "behaviour: after a refused pacing the pause is {other:?}"
            )),
        }
    });
    tally.finish();
}

/// The presets are valid and are what each holder starts with.
#[test]
fn holders_start_with_their_preset() {
    for kind in KINDS {
        assert_eq!(Holder::new(kind).pacing(), kind.preset(), "{kind:?}");
        assert_eq!(kind.preset().validate(), Ok(()));
    }
    assert_eq!(Pacing::default(), Pacing::session());
    assert_eq!(Pacing::session().max_server_wait, Duration::from_secs(600));
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

// ====================================================================
// A token without a lifetime.

/// A password grant answered without `expires_in`: the session hands out
/// that token at every later poll, up to `Timestamp::MAX` and after a clock
/// stepped back, and its deadline is `Timestamp::MAX` (nothing to wake for).
#[test]
fn a_token_without_a_lifetime_is_never_renewed() {
    let mut tally = Tally::new("a_token_without_a_lifetime_is_never_renewed");
    let polls = proptest::collection::vec(prop_oneof![instant(), Just(Timestamp::MAX)], 1..8);
    tally.sample(200, (instant(), polls), |(answered, polls)| {
        let mut session = itc_session();
        match session.poll(*answered) {
            Ok(SessionAction::Send(_)) => {}
            other => return Err(format!("setup: {other:?}")),
        }
        let response = http::Response::builder()
            .status(200)
            .header("content-type", "application/json")
            .body(br#"{"access_token":"forever-1","token_type":"Bearer"}"#.to_vec())
            .map_err(|e| e.to_string())?;
        session
            .handle_response(*answered, response)
            .map_err(|e| format!("setup: {e}"))?;
        for &at in polls.iter().chain([Timestamp::MAX].iter()) {
            match session.poll(at) {
                Ok(SessionAction::UseToken(token)) if token.expose_secret() == "forever-1" => {}
                other => return Err(format!("at {at:?}: {:?}", other.map(|a| session_kind(&a)))),
            }
            match session.next_deadline() {
                Some(Timestamp::MAX) => {}
                other => return Err(format!("at {at:?}: the deadline {other:?}")),
            }
        }
        Ok(())
    });
    tally.finish();
}

//! A valid token keeps serving while its renewal fails (review class 6),
//! through the public API, against the crate's fakes behind a scripted
//! proxy that answers the renewal with a hostile answer:
//!
//! * ITC (`fake::Keycloak`): a refresh due 30 s before expiry answered with
//!   plain text, HTML, JSON without an OAuth `error`, a 429, a 503 with
//!   `Retry-After`, a dropped connection: the `itc::consumer` or
//!   `itc::get_profile` call (or `PasswordSession::fetch`) gets the
//!   still-valid token, and the session backs off; after expiry the error
//!   reaches the call. A non-OAuth, non-retryable 4xx to the refresh is
//!   followed by the password grant at once; a proxy's page or untyped
//!   JSON to the password grant backs off; only a typed OAuth refusal ends
//!   the session.
//! * CRPT (`fake::Crpt`): a `KeeperSource` whose sign-in fails (every
//!   `CrptFailure`, scripted statuses and bodies, a refused signature, a
//!   dropped connection) serves the keeper's valid token; without one the
//!   call fails; a call dropped in the middle of a sign-in frees its ticket.
//! * GAM (`fake::Gam`): `Reissue` serves its valid token while the token
//!   request fails, fails the call without one, and backs off.
//!
//! Statuses 400-599 are sampled against a table of bodies, so each test
//! covers the class and not only the examples.
#![cfg(feature = "fake")]

use std::ops::Range;
use std::sync::Mutex;
use std::time::Duration;

use proptest::prelude::*;
use proptest::sample::select;

mod common;
use common::holders::{itc_config, itc_session, reissue, sign_in, suz_ping, MakeGam, CONN, REG_NO};
use common::{kind, session_kind, Tally};
use tokendance::call::{Authorized, Reissue, Scheme, TokenSource};
use tokendance::crpt::{KeeperAction, KeeperSource, TokenKeeper};
use tokendance::fake::{self, CrptFailure, Fake};
use tokendance::oauth2::{Grant, SessionAction};
use tokendance::{
    gam, itc, AccessToken, Action, Endpoint, Error, Flow, Input, Password, SignJob, Signature, SignatureKind,
    Timestamp, TokenRequest, UsageError,
};

const T0: Timestamp = Timestamp::from_unix_secs(1_700_000_000);

fn at(secs: u64) -> Timestamp {
    T0.saturating_add(Duration::from_secs(secs))
}

fn at_ms(ms: u64) -> Timestamp {
    T0.saturating_add(Duration::from_millis(ms))
}

// ====================================================================
// Hostile answers.

/// Bodies that carry no OAuth error code: what proxies, firewalls, load
/// balancers and broken upstreams send.
const BODIES: [(&str, &str); 10] = [
    ("text/plain", "Bad request"),
    (
        "text/html",
        "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>",
    ),
    (
        "text/html",
        "<html><head><title>403 Forbidden</title></head><body><h1>Request blocked by the web application firewall</h1></body></html>",
    ),
    (
        "text/html",
        "<html><head><title>404 Not Found</title></head><body><h1>Not Found</h1></body></html>",
    ),
    ("application/json", r#"{"message":"Internal Server Error"}"#),
    ("application/json", "{}"),
    ("application/json", r#"{"status":"error","detail":"upstream timed out"}"#),
    ("application/json", r#"{"error":"request_blocked","message":"blocked by policy"}"#),
    ("", ""),
    (
        "application/xml",
        "<error><code>503</code><message>Service Unavailable</message></error>",
    ),
];

// Rows of [`BODIES`] by name.
const PLAIN: usize = 0;
const HTML_502: usize = 1;
const WAF: usize = 2;
const PAGE_404: usize = 3;
const JSON_500: usize = 4;
const JSON_EMPTY: usize = 5;
const JSON_NO_ERROR: usize = 6;
const EMPTY: usize = 8;

/// OAuth error codes that say "later", not "never".
const RETRYABLE_OAUTH: [&str; 3] = [
    r#"{"error":"temporarily_unavailable","error_description":"Try again later"}"#,
    r#"{"error":"server_error"}"#,
    r#"{"error":"slow_down"}"#,
];

/// The typed OAuth refusals that end a password-grant session.
const TYPED_REFUSALS: [&str; 7] = [
    "invalid_grant",
    "invalid_client",
    "unauthorized_client",
    "invalid_request",
    "invalid_scope",
    "unsupported_grant_type",
    "access_denied",
];

/// What the proxy does to a renewal.
#[derive(Clone, Debug)]
enum Hostile {
    /// Answers with `status`, a body of [`BODIES`] (or, past its end, of
    /// [`RETRYABLE_OAUTH`]), and `Retry-After: secs` if given.
    Answer {
        status: u16,
        body: usize,
        retry_after: Option<u64>,
    },
    /// Answers with a typed OAuth refusal.
    Typed { status: u16, code: &'static str },
    /// The connection drops: `Input::Failed`.
    Dropped,
}

impl Hostile {
    fn answer(status: u16, body: usize) -> Self {
        Hostile::Answer {
            status,
            body,
            retry_after: None,
        }
    }

    /// The response, or `None` for a dropped connection.
    fn response(&self) -> Option<http::Response<Vec<u8>>> {
        let (status, content_type, body, retry_after) = match self {
            Hostile::Answer {
                status,
                body,
                retry_after,
            } => {
                let (content_type, text) = match BODIES.get(*body) {
                    Some(row) => *row,
                    None => ("application/json", RETRYABLE_OAUTH[*body - BODIES.len()]),
                };
                (*status, content_type, text.to_owned(), *retry_after)
            }
            Hostile::Typed { status, code } => (
                *status,
                "application/json",
                format!(r#"{{"error":"{code}","error_description":"refused"}}"#),
                None,
            ),
            Hostile::Dropped => return None,
        };
        let mut b = http::Response::builder().status(status);
        if !content_type.is_empty() {
            b = b.header("content-type", content_type);
        }
        if let Some(secs) = retry_after {
            b = b.header("retry-after", secs.to_string());
        }
        Some(b.body(body.into_bytes()).unwrap())
    }

    fn status(&self) -> Option<u16> {
        match self {
            Hostile::Answer { status, .. } | Hostile::Typed { status, .. } => Some(*status),
            Hostile::Dropped => None,
        }
    }

    /// Whether a refresh so refused is not worth sending again: a 4xx that
    /// is neither a rate limit (429) nor a timeout (408), with no OAuth code
    /// that says "later".
    fn refuses_refresh(&self) -> bool {
        match self {
            Hostile::Answer { status, body, .. } => {
                (400..500).contains(status) && ![408, 429].contains(status) && *body < BODIES.len()
            }
            Hostile::Typed { .. } => true,
            Hostile::Dropped => false,
        }
    }

    /// Checks that `err` is how a call reports this failure.
    fn check_error(&self, err: &Error) -> Result<(), String> {
        let ok = match self.status() {
            Some(status) => err.status().map(|s| s.as_u16()) == Some(status),
            None => matches!(err, Error::Usage(UsageError::Aborted)),
        };
        ok.then_some(())
            .ok_or_else(|| format!("error: {self:?} reported as {err}"))
    }
}

/// Any status from 400 to 599 (the named ones more often) with any body
/// of the table, sometimes with `Retry-After`.
fn any_answer(bodies: usize) -> impl Strategy<Value = Hostile> {
    let statuses = prop_oneof![
        2 => select(vec![400u16, 401, 403, 404, 429, 500, 502, 503]),
        3 => 400u16..600,
    ];
    answers(statuses, 0..bodies)
}

/// Answers with a status drawn from `statuses` and a body of the rows
/// `bodies` (see [`Hostile::Answer`]), sometimes with `Retry-After`.
fn answers(statuses: impl Strategy<Value = u16>, bodies: Range<usize>) -> impl Strategy<Value = Hostile> {
    (statuses, bodies, proptest::option::of(0u64..=20)).prop_map(|(status, body, retry_after)| {
        Hostile::Answer {
            status,
            body,
            retry_after,
        }
    })
}

/// The review's answers.
fn named_failures() -> Vec<Hostile> {
    vec![
        Hostile::answer(400, PLAIN),
        Hostile::answer(502, HTML_502),
        Hostile::Answer {
            status: 503,
            body: EMPTY,
            retry_after: Some(5),
        },
        Hostile::answer(429, JSON_500),
        Hostile::Answer {
            status: 429,
            body: PLAIN,
            retry_after: Some(1),
        },
        Hostile::answer(500, JSON_500),
        Hostile::Dropped,
    ]
}

// ====================================================================
// Driving calls.

/// A server behind the scripted proxy.
trait Server {
    /// The answer to `request` at `now`; `None` drops the connection.
    fn answer(&mut self, now: Timestamp, request: &http::Request<Vec<u8>>)
        -> Option<http::Response<Vec<u8>>>;

    /// The signature of a sign-in's job.
    fn sign(&mut self, job: &SignJob) -> Signature {
        fake::sign(job)
    }
}

/// Drives `call` from `*now` to its end against `server`, moving `*now`
/// to the end of each `Wait`.
fn run<F: Flow>(call: &mut F, now: &mut Timestamp, server: &mut impl Server) -> Result<F::Output, Error> {
    let mut step = call.start(*now);
    for _ in 0..32 {
        step = match step? {
            Action::Done(output) => return Ok(output),
            Action::Send(request) => {
                let request = request.into_http();
                match server.answer(*now, &request) {
                    Some(response) => call.resume(*now, Input::Response(response)),
                    None => call.resume(*now, Input::Failed),
                }
            }
            Action::Sign(job) => {
                let signature = server.sign(&job);
                call.resume(*now, Input::Signature(signature))
            }
            Action::Wait(until) => {
                assert!(
                    until.saturating_duration_since(*now) <= Duration::from_secs(600),
                    "a wait of {:?}",
                    until.saturating_duration_since(*now)
                );
                *now = until.max(*now);
                call.resume(*now, Input::Timeout)
            }
        };
    }
    panic!("the call did not end in 32 steps");
}

/// The value of `name` in a form body.
fn form_field(body: &[u8], name: &str) -> Option<String> {
    String::from_utf8_lossy(body)
        .split('&')
        .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('=').map(str::to_owned))
}

/// The token of an `Authorization: Bearer …` header.
fn bearer(request: &http::Request<Vec<u8>>) -> Option<String> {
    let value = request.headers().get("authorization")?.to_str().ok()?;
    value.strip_prefix("Bearer ").map(str::to_owned)
}

// ====================================================================
// ITC: the Keycloak realm and its service.

/// `fake::Keycloak` behind a proxy that answers its token endpoint with
/// `hostile` while set; logs the grants asked for and the tokens the
/// service calls carried.
struct Itc {
    realm: fake::Keycloak,
    hostile: Option<Hostile>,
    grants: Vec<String>,
    service_tokens: Vec<String>,
}

impl Itc {
    fn new() -> Self {
        Itc {
            realm: fake::Keycloak::itc_staging(),
            hostile: None,
            grants: Vec::new(),
            service_tokens: Vec::new(),
        }
    }

    fn clear_logs(&mut self) {
        self.grants.clear();
        self.service_tokens.clear();
    }

    /// Answers a request the session sent (no proxy).
    fn real(&mut self, now: Timestamp, request: tokendance::Outgoing) -> http::Response<Vec<u8>> {
        self.realm.handle(now, &request.into_http())
    }
}

impl Server for Itc {
    fn answer(
        &mut self,
        now: Timestamp,
        request: &http::Request<Vec<u8>>,
    ) -> Option<http::Response<Vec<u8>>> {
        if request.uri().path().ends_with("/protocol/openid-connect/token") {
            self.grants
                .push(form_field(request.body(), "grant_type").unwrap_or_default());
            if let Some(hostile) = &self.hostile {
                return hostile.response();
            }
        } else {
            self.service_tokens.push(bearer(request).unwrap_or_default());
        }
        Some(self.realm.handle(now, request))
    }
}

/// How a test asks the session for its token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Via {
    /// `itc::consumer` (an `Authorized` call).
    Consumer,
    /// `itc::get_profile` (an `Authorized` call).
    Profile,
    /// `PasswordSession::fetch` (the session as a flow).
    Fetch,
}

/// An Easy Register call, checked for the service's answer; or, via
/// `fetch`, the token the session hands out.
fn itc_call(
    session: &mut itc::Session,
    now: &mut Timestamp,
    server: &mut Itc,
    via: Via,
) -> Result<Option<AccessToken>, Error> {
    let config = itc_config();
    match via {
        Via::Profile => {
            let query = itc::ProfileQuery::Phone(fake::ITC_TEST_PHONE.to_owned());
            let mut call = itc::get_profile(&config, &query, session)?;
            let reply = run(&mut call, now, server)?;
            assert_eq!(reply.code, itc::Code::Success, "getProfile answered");
        }
        Via::Consumer => {
            let mut call = itc::consumer(&config, REG_NO, session)?;
            let consumer = run(&mut call, now, server)?.expect("the test citizen is known");
            assert_eq!(&*consumer.reg_no, REG_NO);
        }
        Via::Fetch => {
            let mut flow = session.fetch();
            return run(&mut flow, now, server).map(Some);
        }
    }
    Ok(None)
}

/// A session holding the token of a first call at `T0` (it expires at
/// `T0 + 300 s`, is due for renewal from `T0 + 270 s`).
fn itc_with_token() -> (itc::Session, Itc, AccessToken) {
    let mut session = itc_session();
    let mut server = Itc::new();
    let mut now = T0;
    itc_call(&mut session, &mut now, &mut server, Via::Consumer).expect("the first call");
    let token = session.tokens().unwrap().access_token().clone();
    assert_eq!(session.tokens().unwrap().expires_at(), Some(at(300)));
    server.clear_logs();
    (session, server, token)
}

/// A session that polled at `T0` and holds the realm's answer to its
/// password grant (no call made).
fn itc_granted() -> Result<(itc::Session, Itc), String> {
    let mut session = itc_session();
    let mut server = Itc::new();
    let SessionAction::Send(first) = session.poll(T0).unwrap() else {
        return Err("setup: no password grant".into());
    };
    let answer = server.real(T0, first);
    session
        .handle_response(T0, answer)
        .map_err(|e| format!("setup: {e}"))?;
    Ok((session, server))
}

#[derive(Debug)]
struct WindowCase {
    hostile: Hostile,
    /// When the call is made, after `T0 + 270 s` (the token still valid).
    offset_ms: u64,
    /// How long after expiry the last call is made.
    late_ms: u64,
    via: Via,
}

fn window_cases() -> impl Strategy<Value = WindowCase> {
    (
        prop_oneof![
            2 => select(named_failures()),
            4 => any_answer(BODIES.len() + RETRYABLE_OAUTH.len()),
            1 => Just(Hostile::Dropped),
        ],
        prop_oneof![Just(270_000u64), 270_000u64..299_000],
        0u64..5_000,
        select(vec![Via::Consumer, Via::Profile, Via::Fetch]),
    )
        .prop_map(|(hostile, offset_ms, late_ms, via)| WindowCase {
            hostile,
            offset_ms,
            late_ms,
            via,
        })
}

/// The refresh, due 30 s before expiry, fails: the call succeeds with the
/// still-valid token, the session backs off (holding the token, sending
/// nothing); after expiry, the failure reaches the call; once the realm
/// answers again, so does the session.
#[test]
fn a_failed_refresh_leaves_the_call_its_valid_token() {
    let mut tally = Tally::new("a_failed_refresh_leaves_the_call_its_valid_token");
    let check = |case: &WindowCase| {
        let (mut session, mut server, old) = itc_with_token();
        server.hostile = Some(case.hostile.clone());
        let t = at_ms(case.offset_ms);
        let mut now = t;
        let fetched = match itc_call(&mut session, &mut now, &mut server, case.via) {
            Ok(fetched) => fetched,
            Err(err) => {
                return Err(format!(
                    "reached: the call failed with {err} while the token had {:?} left",
                    at(300).saturating_duration_since(t)
                ))
            }
        };
        let used: Vec<String> = match fetched {
            Some(token) => vec![token.expose_secret().to_owned()],
            None => server.service_tokens.clone(),
        };
        if used != [old.expose_secret()] {
            return Err(format!("token: the call used {used:?}"));
        }
        let expected: &[&str] = if case.hostile.refuses_refresh() {
            &["refresh_token", "password"]
        } else {
            &["refresh_token"]
        };
        if server.grants != expected {
            return Err(format!("grants: {:?}, expected {expected:?}", server.grants));
        }
        if now != t {
            return Err(format!(
                "waited: the call waited {:?}",
                now.saturating_duration_since(t)
            ));
        }
        // Backing off: the token is used, nothing is sent.
        for later in [0, 1, 500] {
            match session.poll(t.saturating_add(Duration::from_millis(later))) {
                Ok(SessionAction::UseToken(token)) if *token == old => {}
                other => {
                    return Err(format!(
                        "backoff: {later} ms after the failure, poll gave {other:?}"
                    ))
                }
            }
        }
        if session.next_deadline().is_none_or(|d| d <= t) {
            return Err(format!("backoff: next_deadline {:?}", session.next_deadline()));
        }
        // After expiry, the failure is the call's.
        server.clear_logs();
        let mut now = at(300).saturating_add(Duration::from_millis(case.late_ms));
        match itc_call(&mut session, &mut now, &mut server, case.via) {
            Err(err) => case.hostile.check_error(&err)?,
            Ok(_) => {
                return Err("expired: the call succeeded with an expired token and a failing realm".into())
            }
        }
        if !server.service_tokens.is_empty() {
            return Err(format!(
                "expired: the service was called with {:?}",
                server.service_tokens
            ));
        }
        if session.has_ended() {
            return Err("ended: an untyped failure ended the session".into());
        }
        // The realm answers again: a new token.
        server.hostile = None;
        let mut now = now.saturating_add(Duration::from_secs(600));
        itc_call(&mut session, &mut now, &mut server, case.via).map_err(|e| format!("recovery: {e}"))?;
        match session.tokens() {
            Some(tokens) if *tokens.access_token() != old => Ok(()),
            _ => Err("recovery: no new token".into()),
        }
    };
    // The review's answers, each through the three ways, then sampled ones.
    for hostile in named_failures() {
        for via in [Via::Consumer, Via::Profile, Via::Fetch] {
            let case = WindowCase {
                hostile: hostile.clone(),
                offset_ms: 270_000,
                late_ms: 0,
                via,
            };
            tally.check(format_args!("{case:?}"), check(&case));
        }
    }
    tally.sample(300, window_cases(), check);
    tally.finish();
}

/// The refresh, due 30 s before expiry, is refused with a typed OAuth code
/// at a 4xx, and so is the password grant it falls back to: the session
/// ends, yet every call until expiry gets the still-valid token without a
/// request; after expiry a call is `Usage(Finished)` and sends nothing.
#[test]
fn a_typed_refusal_in_the_window_ends_the_session_and_the_token_serves_until_expiry() {
    let mut tally =
        Tally::new("a_typed_refusal_in_the_window_ends_the_session_and_the_token_serves_until_expiry");
    for code in TYPED_REFUSALS {
        for status in [400u16, 401, 403] {
            for via in [Via::Consumer, Via::Profile, Via::Fetch] {
                let result = (|| {
                    let (mut session, mut server, old) = itc_with_token();
                    server.hostile = Some(Hostile::Typed { status, code });
                    let t = at_ms(275_000);
                    let mut now = t;
                    // The token a call used: handed out (fetch) or sent to the service.
                    let used = |fetched: Option<AccessToken>, server: &Itc| -> Vec<String> {
                        match fetched {
                            Some(token) => vec![token.expose_secret().to_owned()],
                            None => server.service_tokens.clone(),
                        }
                    };
                    match itc_call(&mut session, &mut now, &mut server, via) {
                        Ok(fetched) if used(fetched.clone(), &server) == [old.expose_secret()] => {}
                        Ok(fetched) => {
                            return Err(format!("token: the call used {:?}", used(fetched, &server)))
                        }
                        Err(err) => return Err(format!("reached: the call failed with {err}")),
                    }
                    if server.grants != ["refresh_token", "password"] {
                        return Err(format!("grants: {:?}", server.grants));
                    }
                    if !session.has_ended() {
                        return Err("ended: the refused password grant left the session running".into());
                    }
                    // Until expiry: the token, and no request.
                    for ms in [275_000u64, 280_000, 299_999] {
                        server.clear_logs();
                        let mut now = at_ms(ms);
                        let fetched = itc_call(&mut session, &mut now, &mut server, via)
                            .map_err(|e| format!("serving: at {ms} ms the call failed with {e}"))?;
                        if used(fetched, &server) != [old.expose_secret()] {
                            return Err(format!("serving: at {ms} ms another token was used"));
                        }
                        if !server.grants.is_empty() {
                            return Err(format!(
                                "serving: at {ms} ms the session sent {:?}",
                                server.grants
                            ));
                        }
                    }
                    // After expiry: finished, nothing sent.
                    server.clear_logs();
                    let mut now = at(300);
                    match itc_call(&mut session, &mut now, &mut server, via) {
                        Err(Error::Usage(UsageError::Finished)) => {}
                        other => return Err(format!("expired: {:?}", other.map(|_| "a success"))),
                    }
                    if !server.grants.is_empty() || !server.service_tokens.is_empty() {
                        return Err(format!(
                            "expired: sent {:?}, served {:?}",
                            server.grants, server.service_tokens
                        ));
                    }
                    Ok(())
                })();
                tally.check(format_args!("{status} {code} {via:?}"), result);
            }
        }
    }
    tally.finish();
}

/// A 4xx that says nothing of being retryable (not 408 or 429), with a body
/// that is no OAuth refusal: plain text, HTML, JSON without `error`.
fn non_oauth_refusal() -> impl Strategy<Value = Hostile> {
    let named = select(vec![
        Hostile::answer(400, PLAIN),
        Hostile::answer(401, WAF),
        Hostile::answer(403, WAF),
        Hostile::answer(404, PAGE_404),
        Hostile::answer(400, JSON_EMPTY),
        Hostile::answer(401, JSON_EMPTY),
    ]);
    let statuses = prop_oneof![
        2 => select(vec![400u16, 401, 403, 404]),
        3 => (400u16..500).prop_filter("retryable", |s| ![408, 429].contains(s)),
    ];
    let sampled = answers(statuses, 0..BODIES.len());
    prop_oneof![1 => named, 3 => sampled]
}

/// A non-OAuth refusal of the refresh: the very next request (at the same
/// instant) is the password grant, not the same refresh again.
#[test]
fn a_non_oauth_refusal_of_the_refresh_is_followed_by_the_password_grant() {
    let mut tally = Tally::new("a_non_oauth_refusal_of_the_refresh_is_followed_by_the_password_grant");
    let rows = (non_oauth_refusal(), 270_000u64..299_000);
    tally.sample(300, rows, |(hostile, offset_ms)| {
        let (mut session, mut server) = itc_granted()?;
        let old = session.tokens().unwrap().access_token().clone();
        let t = at_ms(*offset_ms);
        let refresh = match session.poll(t) {
            Ok(SessionAction::Send(request)) => request,
            other => return Err(format!("setup: no refresh at {t:?}: {other:?}")),
        };
        if form_field(refresh.as_http().body(), "grant_type").as_deref() != Some("refresh_token") {
            return Err("setup: the renewal is not a refresh".into());
        }
        let _ = session.handle_response(t, hostile.response().unwrap());
        let next = match session.poll(t) {
            Ok(SessionAction::Send(request)) => request,
            Ok(SessionAction::UseToken(_)) => {
                return Err("fallback: the session keeps the token and backs off".into())
            }
            other => return Err(format!("fallback: {other:?}")),
        };
        let grant = form_field(next.as_http().body(), "grant_type");
        if grant.as_deref() != Some("password") || session.in_flight() != Some(Grant::Password) {
            return Err(format!("fallback: the next request is {grant:?}"));
        }
        let answer = server.real(t, next);
        session
            .handle_response(t, answer)
            .map_err(|e| format!("password grant: {e}"))?;
        match session.poll(t) {
            Ok(SessionAction::UseToken(token)) if *token != old => Ok(()),
            other => Err(format!("password grant: then {other:?}")),
        }
    });
    tally.finish();
}

/// A rate limit, a timeout or a server failure of the refresh keeps the
/// refresh token: once the back-off ends (at `next_deadline()`), the same
/// grant goes again, never the password grant.
#[test]
fn a_retryable_failure_of_the_refresh_sends_the_refresh_again_after_the_back_off() {
    let mut tally =
        Tally::new("a_retryable_failure_of_the_refresh_sends_the_refresh_again_after_the_back_off");
    let retryable = prop_oneof![
        answers(prop_oneof![Just(408u16), Just(429), 500u16..600], 0..BODIES.len()),
        (400u16..600, BODIES.len()..BODIES.len() + RETRYABLE_OAUTH.len())
            .prop_map(|(status, body)| Hostile::answer(status, body)),
        Just(Hostile::Dropped),
    ];
    tally.sample(200, (retryable, 270_000u64..290_000), |(hostile, offset_ms)| {
        let (mut session, _server) = itc_granted()?;
        let t = at_ms(*offset_ms);
        let Ok(SessionAction::Send(_refresh)) = session.poll(t) else {
            return Err("setup: no refresh".into());
        };
        match hostile.response() {
            Some(response) => {
                let _ = session.handle_response(t, response);
            }
            None => session.transport_failed(t).map_err(|e| format!("setup: {e}"))?,
        }
        let Some(deadline) = session.next_deadline() else {
            return Err("deadline: none".into());
        };
        if deadline <= t {
            return Err(format!(
                "backoff: next_deadline {deadline:?} is not after the failure"
            ));
        }
        match session.poll(deadline) {
            Ok(SessionAction::Send(request)) => {
                let grant = form_field(request.as_http().body(), "grant_type");
                (grant.as_deref() == Some("refresh_token"))
                    .then_some(())
                    .ok_or_else(|| format!("grant: after the back-off the session sent {grant:?}"))
            }
            other => Err(format!("deadline: at next_deadline the session gave {other:?}")),
        }
    });
    tally.finish();
}

/// A typed OAuth refusal of the refresh, at every status a server or a
/// proxy puts it on: a 4xx that is not a rate limit, or `invalid_grant` on
/// a 2xx, sends the password grant at once; a rate limit or a server
/// failure keeps the refresh token, and the refresh goes again at
/// `next_deadline()`; any other code on a 2xx backs off the same way.
#[test]
fn a_typed_refusal_of_the_refresh_falls_back_or_backs_off_by_its_status() {
    let mut tally = Tally::new("a_typed_refusal_of_the_refresh_falls_back_or_backs_off_by_its_status");
    let t = at_ms(280_000);
    for code in TYPED_REFUSALS {
        for status in [
            200u16, 400, 401, 403, 404, 408, 409, 422, 429, 500, 502, 503, 504, 599,
        ] {
            let falls_back =
                ((400..500).contains(&status) && status != 429) || (status == 200 && code == "invalid_grant");
            let result = (|| {
                let (mut session, _server) = itc_granted()?;
                match session.poll(t) {
                    Ok(SessionAction::Send(refresh))
                        if form_field(refresh.as_http().body(), "grant_type").as_deref()
                            == Some("refresh_token") => {}
                    other => {
                        return Err(format!(
                            "setup: no refresh: {:?}",
                            other.map(|a| session_kind(&a))
                        ))
                    }
                }
                let response = Hostile::Typed { status, code }.response().unwrap();
                // A fallback is no error of the session's: its next request is.
                match (falls_back, session.handle_response(t, response)) {
                    (true, Ok(())) | (false, Err(Error::Server(_))) => {}
                    (_, handled) => return Err(format!("handled: {handled:?}")),
                }
                let (at, expected) = if falls_back {
                    (t, "password")
                } else {
                    match session.poll(t) {
                        Ok(SessionAction::UseToken(_)) => {}
                        other => return Err(format!("back-off: {:?}", other.map(|a| session_kind(&a)))),
                    }
                    let deadline = session.next_deadline().unwrap_or(Timestamp::MAX);
                    if deadline <= t {
                        return Err(format!("back-off: deadline {deadline:?} not after the failure"));
                    }
                    (deadline, "refresh_token")
                };
                match session.poll(at) {
                    Ok(SessionAction::Send(next)) => {
                        let grant = form_field(next.as_http().body(), "grant_type");
                        (grant.as_deref() == Some(expected))
                            .then_some(())
                            .ok_or_else(|| format!("expected {expected}, sent {grant:?}"))
                    }
                    other => Err(format!(
                        "expected {expected}: {:?}",
                        other.map(|a| session_kind(&a))
                    )),
                }
            })();
            tally.check(format_args!("{status} {code}"), result);
        }
    }
    tally.finish();
}

/// Bodies of refusals that do not name the credentials: [`BODIES`] and the
/// OAuth codes that say "later".
fn untyped_answer() -> impl Strategy<Value = Hostile> {
    let named = select(vec![
        Hostile::answer(401, WAF),
        Hostile::answer(403, WAF),
        Hostile::answer(404, PAGE_404),
        Hostile::answer(401, JSON_EMPTY),
        Hostile::answer(403, JSON_NO_ERROR),
        Hostile::answer(400, PLAIN),
    ]);
    let statuses = prop_oneof![
        3 => select(vec![401u16, 403, 404]),
        2 => 400u16..600,
    ];
    let sampled = answers(statuses, 0..BODIES.len() + RETRYABLE_OAUTH.len());
    prop_oneof![1 => named, 3 => sampled]
}

/// A proxy's or firewall's page (401, 403, 404 and the rest), or JSON
/// without an OAuth refusal, to the password grant: the session backs off,
/// does not end, and a later good answer gives it a token. Through
/// `poll`/`handle_response` or through an `Authorized` call.
#[test]
fn a_proxy_refusal_of_the_password_grant_backs_off_and_the_session_goes_on() {
    let mut tally = Tally::new("a_proxy_refusal_of_the_password_grant_backs_off_and_the_session_goes_on");
    tally.sample(
        300,
        (untyped_answer(), any::<bool>()),
        |(hostile, through_call)| {
            let mut session = itc_session();
            let mut server = Itc::new();
            let err = if *through_call {
                server.hostile = Some(hostile.clone());
                let mut now = T0;
                match itc_call(&mut session, &mut now, &mut server, Via::Consumer) {
                    Err(err) => err,
                    Ok(_) => return Err("setup: the call succeeded".into()),
                }
            } else {
                let Ok(SessionAction::Send(_)) = session.poll(T0) else {
                    return Err("setup: no password grant".into());
                };
                match session.handle_response(T0, hostile.response().unwrap()) {
                    Err(err) => err,
                    Ok(()) => return Err("setup: the refusal was accepted".into()),
                }
            };
            hostile.check_error(&err)?;
            if session.has_ended() {
                return Err(format!("ended: {err}"));
            }
            let until = match session.poll(T0) {
                Ok(SessionAction::Wait(until)) if until > T0 => until,
                other => return Err(format!("backoff: right after the refusal, poll gave {other:?}")),
            };
            if session.next_deadline() != Some(until) {
                return Err(format!(
                    "deadline: {:?}, the wait {until:?}",
                    session.next_deadline()
                ));
            }
            let request = match session.poll(until) {
                Ok(SessionAction::Send(request)) => request,
                other => return Err(format!("retry: at the end of the back-off, poll gave {other:?}")),
            };
            let answer = server.real(until, request);
            session
                .handle_response(until, answer)
                .map_err(|e| format!("retry: {e}"))?;
            match session.poll(until) {
                Ok(SessionAction::UseToken(_)) => Ok(()),
                other => Err(format!("retry: then {other:?}")),
            }
        },
    );
    tally.finish();
}

/// A typed OAuth refusal of the password grant ends the session: every
/// code at 400, 401 and 403, and the fake realm's own refusals (a wrong
/// password, an unknown client).
#[test]
fn a_typed_oauth_refusal_of_the_password_grant_ends_the_session() {
    let mut tally = Tally::new("a_typed_oauth_refusal_of_the_password_grant_ends_the_session");
    let ended = |session: &mut itc::Session, err: Result<(), Error>, code: &str| -> Result<(), String> {
        match err {
            Err(Error::Server(refusal)) if refusal.code.as_deref() == Some(code) => {}
            other => return Err(format!("error: {other:?}")),
        }
        if !session.has_ended() || session.tokens().is_some() || session.next_deadline().is_some() {
            return Err(format!(
                "ended: has_ended {}, next_deadline {:?}",
                session.has_ended(),
                session.next_deadline()
            ));
        }
        match session.poll(T0.saturating_add(Duration::from_secs(3600))) {
            Err(Error::Usage(UsageError::Finished)) => Ok(()),
            other => Err(format!("ended: a later poll gave {other:?}")),
        }
    };
    for code in TYPED_REFUSALS {
        for status in [400u16, 401, 403] {
            let mut session = itc_session();
            let result = match session.poll(T0) {
                Ok(SessionAction::Send(_)) => {
                    let response = Hostile::Typed { status, code }.response().unwrap();
                    let err = session.handle_response(T0, response);
                    ended(&mut session, err, code)
                }
                other => Err(format!("setup: {other:?}")),
            };
            tally.check(format_args!("{status} {code}"), result);
        }
    }
    // The fake realm: a wrong password (401 invalid_grant).
    let mut session =
        itc::session(&itc_config(), itc::STAGING_TEST_USERNAME, Password::new("wrong")).unwrap();
    let mut realm = fake::Keycloak::itc_staging();
    let Ok(SessionAction::Send(request)) = session.poll(T0) else {
        panic!("no password grant")
    };
    let answer = realm.handle(T0, &request.into_http());
    assert_eq!(answer.status(), 401);
    let err = session.handle_response(T0, answer);
    tally.check("fake: wrong password", ended(&mut session, err, "invalid_grant"));
    // A realm that does not know the client `vatps` (401 invalid_client).
    let mut session = itc_session();
    let mut realm = fake::Keycloak::new("another-client");
    realm.add_user(itc::STAGING_TEST_USERNAME, itc::STAGING_TEST_PASSWORD);
    let Ok(SessionAction::Send(request)) = session.poll(T0) else {
        panic!("no password grant")
    };
    let answer = realm.handle(T0, &request.into_http());
    let err = session.handle_response(T0, answer);
    tally.check("fake: unknown client", ended(&mut session, err, "invalid_client"));
    tally.finish();
}

/// A typed OAuth code at a rate limit or a server failure says the server is
/// in trouble, not that the credentials are wrong: the session backs off and
/// sends the password grant again afterwards.
#[test]
fn a_typed_oauth_code_at_a_rate_limit_or_server_failure_backs_off() {
    let mut tally = Tally::new("a_typed_oauth_code_at_a_rate_limit_or_server_failure_backs_off");
    for code in TYPED_REFUSALS {
        for status in [429u16, 500, 502, 503, 504, 599] {
            let mut session = itc_session();
            let result = match session.poll(T0) {
                Ok(SessionAction::Send(_)) => {
                    let response = Hostile::Typed { status, code }.response().unwrap();
                    let refused = matches!(session.handle_response(T0, response), Err(Error::Server(_)));
                    let later = session.next_deadline().unwrap_or(Timestamp::MAX);
                    let ended = session.has_ended();
                    let at_once = session.poll(T0).map(|a| session_kind(&a));
                    let then = session.poll(later).map(|a| session_kind(&a));
                    match (refused, ended, at_once, then) {
                        (true, false, Ok("Wait"), Ok("Send")) => Ok(()),
                        (refused, ended, at_once, then) => Err(format!(
                            "refused {refused}, ended {ended}, at once {at_once:?}, at {later:?} {then:?}"
                        )),
                    }
                }
                other => Err(format!("setup: {other:?}")),
            };
            tally.check(format_args!("{status} {code}"), result);
        }
    }
    tally.finish();
}

// ====================================================================
// CRPT: a KeeperSource over fake::Crpt.

const TEN_HOURS: u64 = 10 * 3600;

/// Which request of a True API sign-in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    Key,
    Exchange,
}

/// How a sign-in fails.
#[derive(Clone, Debug)]
enum SignInFailure {
    /// One of the fake's documented failure modes, for every request.
    Fake(CrptFailure),
    /// The proxy answers this request of the sign-in.
    Scripted(Step, Hostile),
    /// The signer signs detached: CRPT refuses the signature with 403.
    WrongSignature,
}

impl SignInFailure {
    /// Checks that `err` is how a call reports this failure: the status of
    /// the answer that failed (the fake's documented one), or `Aborted` for
    /// a dropped connection.
    fn check_error(&self, err: &Error) -> Result<(), String> {
        let status = match self {
            SignInFailure::Scripted(_, hostile) => return hostile.check_error(err),
            SignInFailure::WrongSignature => 403,
            SignInFailure::Fake(failure) => match failure {
                CrptFailure::NginxNotFound => 404,
                CrptFailure::BadGateway => 502,
                CrptFailure::XmlUnauthorized => 401,
                CrptFailure::EmptyNotAcceptable => 406,
                CrptFailure::ErrorIn200 => 200,
                CrptFailure::RateLimited => 429,
                CrptFailure::SpringError | CrptFailure::SuzGlobalErrors => 400,
                other => return Err(format!("harness: no status known for {other:?}")),
            },
        };
        (err.status().map(|s| s.as_u16()) == Some(status))
            .then_some(())
            .ok_or_else(|| format!("error: {self:?} reported as {err}"))
    }
}

const CRPT_FAILURES: [CrptFailure; 8] = [
    CrptFailure::NginxNotFound,
    CrptFailure::BadGateway,
    CrptFailure::XmlUnauthorized,
    CrptFailure::EmptyNotAcceptable,
    CrptFailure::ErrorIn200,
    CrptFailure::RateLimited,
    CrptFailure::SpringError,
    CrptFailure::SuzGlobalErrors,
];

fn sign_in_failures() -> impl Strategy<Value = SignInFailure> {
    let step = select(vec![Step::Key, Step::Exchange]);
    prop_oneof![
        2 => select(CRPT_FAILURES.to_vec()).prop_map(SignInFailure::Fake),
        4 => (step.clone(), any_answer(BODIES.len() + RETRYABLE_OAUTH.len()))
            .prop_map(|(step, hostile)| SignInFailure::Scripted(step, hostile)),
        1 => (step.clone(), select(TYPED_REFUSALS.to_vec()), select(vec![400u16, 401, 403]))
            .prop_map(|(step, code, status)| SignInFailure::Scripted(step, Hostile::Typed { status, code })),
        1 => step.prop_map(|step| SignInFailure::Scripted(step, Hostile::Dropped)),
        1 => Just(SignInFailure::WrongSignature),
    ]
}

/// `fake::Crpt` for the sign-ins, a SUZ ping that accepts the connection's
/// live token, and the proxy in front of the sign-ins.
struct Crpt {
    crpt: fake::Crpt,
    failure: Option<SignInFailure>,
    /// (when, path) of every request.
    log: Vec<(Timestamp, String)>,
    /// The `clientToken` of every ping.
    pings: Vec<String>,
}

impl Crpt {
    fn new() -> Self {
        Crpt {
            crpt: fake::Crpt::new(),
            failure: None,
            log: Vec::new(),
            pings: Vec::new(),
        }
    }

    fn fail(&mut self, failure: Option<SignInFailure>) {
        self.crpt.failure = match &failure {
            Some(SignInFailure::Fake(f)) => Some(*f),
            _ => None,
        };
        self.failure = failure;
    }

    fn sign_ins(&self) -> usize {
        self.log
            .iter()
            .filter(|(_, path)| !path.contains("/ping"))
            .count()
    }
}

impl Server for Crpt {
    fn answer(
        &mut self,
        now: Timestamp,
        request: &http::Request<Vec<u8>>,
    ) -> Option<http::Response<Vec<u8>>> {
        let path = request.uri().path().to_owned();
        self.log.push((now, path.clone()));
        if request.uri().host() == Some("suzgrid.crpt.ru") {
            let token = request
                .headers()
                .get("clienttoken")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            let live = self.crpt.accepts(now, CONN, &AccessToken::new(token.clone()));
            self.pings.push(token);
            let status = if live { 200 } else { 401 };
            return Some(
                http::Response::builder()
                    .status(status)
                    .body(b"{}".to_vec())
                    .unwrap(),
            );
        }
        let step = if path.ends_with("/auth/key") {
            Step::Key
        } else {
            Step::Exchange
        };
        if let Some(SignInFailure::Scripted(failing, hostile)) = &self.failure {
            if *failing == step {
                return hostile.response();
            }
        }
        Some(self.crpt.handle(now, request))
    }

    fn sign(&mut self, job: &SignJob) -> Signature {
        match self.failure {
            Some(SignInFailure::WrongSignature) => fake::sign_as(job.bytes(), SignatureKind::Detached),
            _ => fake::sign(job),
        }
    }
}

/// A SUZ ping through a `KeeperSource` on `keeper`.
fn ping(keeper: &Mutex<TokenKeeper>, now: &mut Timestamp, server: &mut Crpt) -> Result<u16, Error> {
    let source = KeeperSource::new(keeper, sign_in);
    let mut call = Authorized::new(source, suz_ping(), Scheme::SuzClientToken)?;
    run(&mut call, now, server).map(|response| response.status().as_u16())
}

fn held(keeper: &Mutex<TokenKeeper>) -> Option<AccessToken> {
    keeper.lock().unwrap().token().map(|t| t.access_token().clone())
}

/// The keeper holds a valid token due for renewal; the sign-in fails: the
/// call gets the valid token and the keeper backs off (no second ticket at
/// once). After expiry, and with no token at all, the failure reaches the
/// call.
#[test]
fn a_failed_sign_in_leaves_the_call_the_keepers_valid_token() {
    let mut tally = Tally::new("a_failed_sign_in_leaves_the_call_the_keepers_valid_token");
    let check = |(failure, offset_ms, late_ms): &(SignInFailure, u64, u64)| {
        let keeper = Mutex::new(TokenKeeper::new(CONN));
        let mut server = Crpt::new();
        let mut now = T0;
        match ping(&keeper, &mut now, &mut server) {
            Ok(200) => {}
            other => return Err(format!("setup: the first ping gave {other:?}")),
        }
        let old = held(&keeper).ok_or("setup: no token held")?;
        // Due: five minutes before the ten hours are up.
        let t = at(TEN_HOURS - 300).saturating_add(Duration::from_millis(*offset_ms));
        server.fail(Some(failure.clone()));
        server.log.clear();
        server.pings.clear();
        let mut now = t;
        match ping(&keeper, &mut now, &mut server) {
            Ok(200) => {}
            other => {
                return Err(format!(
                    "reached: with {:?} of the token left the ping gave {other:?}",
                    at(TEN_HOURS).saturating_duration_since(t)
                ))
            }
        }
        if server.sign_ins() == 0 {
            return Err("setup: no sign-in was tried".into());
        }
        if server.pings != [old.expose_secret()] || held(&keeper).as_ref() != Some(&old) {
            return Err(format!("token: the ping carried {:?}", server.pings));
        }
        {
            let mut k = keeper.lock().unwrap();
            if k.renewing() {
                return Err("ticket: the failed sign-in's ticket is still out".into());
            }
            match k.poll(t) {
                KeeperAction::UseToken(token) if *token == old => {}
                other => return Err(format!("backoff: right after the failure, poll gave {other:?}")),
            }
        }
        // After expiry the failure is the call's.
        server.pings.clear();
        let mut now = at(TEN_HOURS).saturating_add(Duration::from_millis(*late_ms));
        match ping(&keeper, &mut now, &mut server) {
            Ok(status) => return Err(format!("expired: the ping succeeded ({status})")),
            Err(err) => failure.check_error(&err).map_err(|e| format!("expired: {e}"))?,
        }
        if !server.pings.is_empty() {
            return Err(format!("expired: pinged with {:?}", server.pings));
        }
        // A keeper with no token: the failure is the call's, and it backs off.
        let empty = Mutex::new(TokenKeeper::new(CONN));
        let mut now = t;
        match ping(&empty, &mut now, &mut server) {
            Ok(status) => return Err(format!("empty: the ping succeeded ({status})")),
            Err(err) => failure.check_error(&err).map_err(|e| format!("empty: {e}"))?,
        }
        let mut empty = empty.lock().unwrap();
        match empty.poll(now) {
            KeeperAction::Wait(until) if until > now => Ok(()),
            other => Err(format!("empty: right after the failure, poll gave {other:?}")),
        }
    };
    // Every documented failure mode, a refused signature, the review's
    // answers at either request, then sampled ones.
    let mut named: Vec<SignInFailure> = CRPT_FAILURES.iter().map(|f| SignInFailure::Fake(*f)).collect();
    named.push(SignInFailure::WrongSignature);
    for step in [Step::Key, Step::Exchange] {
        named.extend(
            named_failures()
                .into_iter()
                .map(|h| SignInFailure::Scripted(step, h)),
        );
    }
    for failure in named {
        let case = (failure, 0, 0);
        tally.check(format_args!("{case:?}"), check(&case));
    }
    let cases = (sign_in_failures(), 0u64..299_000, 0u64..5_000);
    tally.sample(300, cases, check);
    tally.finish();
}

/// Where the first caller's call is dropped.
#[derive(Clone, Copy, Debug)]
enum DropPoint {
    /// The key request is out.
    KeyOut,
    /// The signer has the challenge.
    Signing,
    /// The exchange is out.
    ExchangeOut,
}

/// A call over a `KeeperSource` on a `&Mutex<TokenKeeper>` dropped in the
/// middle of its sign-in: a second caller polling right after gets a
/// ticket within a couple of seconds (the keeper's first back-off and
/// `min_interval`), not after the five-minute `renewal_timeout`, and signs
/// in.
#[test]
fn a_call_dropped_during_its_sign_in_frees_the_ticket() {
    let mut tally = Tally::new("a_call_dropped_during_its_sign_in_frees_the_ticket");
    let cases = (
        select(vec![
            DropPoint::KeyOut,
            DropPoint::Signing,
            DropPoint::ExchangeOut,
        ]),
        any::<bool>(),
        0u64..1_000,
    );
    tally.sample(120, cases, |(point, expired, delay_ms)| {
        let keeper = Mutex::new(TokenKeeper::new(CONN));
        let mut server = Crpt::new();
        if *expired {
            // A token from eleven hours ago, expired an hour since.
            let mut then = at(0).saturating_sub(Duration::from_secs(11 * 3600));
            match ping(&keeper, &mut then, &mut server) {
                Ok(200) => {}
                other => return Err(format!("setup: the first ping gave {other:?}")),
            }
        }
        {
            let source = KeeperSource::new(&keeper, sign_in);
            let mut first = Authorized::new(source, suz_ping(), Scheme::SuzClientToken).unwrap();
            let key = match first.start(T0) {
                Ok(Action::Send(key)) => key.into_http(),
                other => return Err(format!("setup: the first call began with {other:?}")),
            };
            if !matches!(point, DropPoint::KeyOut) {
                let challenge = server.answer(T0, &key).unwrap();
                let job = match first.resume(T0, Input::Response(challenge)) {
                    Ok(Action::Sign(job)) => job,
                    other => {
                        return Err(format!(
                            "setup: no signature asked: {:?}",
                            other.map(|a| kind(&a))
                        ))
                    }
                };
                if matches!(point, DropPoint::ExchangeOut) {
                    match first.resume(T0, Input::Signature(fake::sign(&job))) {
                        Ok(Action::Send(_)) => {}
                        other => return Err(format!("setup: no exchange: {:?}", other.map(|a| kind(&a)))),
                    }
                }
            }
            if !keeper.lock().unwrap().renewing() {
                return Err("setup: no ticket out".into());
            }
            // The first call is dropped here, its sign-in half-way.
        }
        server.log.clear();
        let mut now = T0.saturating_add(Duration::from_millis(*delay_ms));
        let status = ping(&keeper, &mut now, &mut server).map_err(|e| format!("second: {e}"))?;
        let Some((asked_at, _)) = server.log.first() else {
            return Err("second: it sent nothing".into());
        };
        if asked_at.saturating_duration_since(T0) > Duration::from_secs(2) {
            return Err(format!(
                "waited: the second caller's sign-in started {:?} after the drop",
                asked_at.saturating_duration_since(T0)
            ));
        }
        if status != 200 || keeper.lock().unwrap().renewing() {
            return Err(format!("second: the ping gave {status}"));
        }
        Ok(())
    });
    tally.finish();
}

// ====================================================================
// GAM: Reissue over fake::Gam.

fn gam_config() -> gam::Config {
    gam::Config::new(
        Endpoint::parse("https://iam.fake").unwrap(),
        Endpoint::parse("https://gateway.fake/oms").unwrap(),
    )
}

/// `fake::Gam` behind a proxy that answers its token endpoint with
/// `hostile` while set.
struct Gam {
    gam: fake::Gam,
    hostile: Option<Hostile>,
    token_requests: usize,
    business_tokens: Vec<String>,
}

impl Gam {
    fn new() -> Self {
        let mut gam = fake::Gam::new();
        gam.add_client("shop", "s3cret", &["orders:read"]);
        Gam {
            gam,
            hostile: None,
            token_requests: 0,
            business_tokens: Vec::new(),
        }
    }
}

impl Server for Gam {
    fn answer(
        &mut self,
        now: Timestamp,
        request: &http::Request<Vec<u8>>,
    ) -> Option<http::Response<Vec<u8>>> {
        if request.uri().path() == "/oauth2/v3/token" {
            self.token_requests += 1;
            if let Some(hostile) = &self.hostile {
                return hostile.response();
            }
        } else {
            self.business_tokens.push(bearer(request).unwrap_or_default());
        }
        Some(self.gam.handle(now, request))
    }
}

/// A GAM business call with the source's token.
fn gam_call(
    source: &mut Reissue<MakeGam, TokenRequest>,
    now: &mut Timestamp,
    server: &mut Gam,
) -> Result<(), Error> {
    let body = serde_json::json!({"customerCode": "C-1"});
    let mut call = gam::post::<_, serde_json::Value>(
        &gam_config(),
        fake::DEMO_PARTNER_CODE,
        &["api", "v1", "orders"],
        &body,
        source,
    )?;
    let envelope = run(&mut call, now, server)?;
    assert_eq!(envelope.status.as_str(), "200");
    Ok(())
}

/// The held token is due (30 s before its hour is up) and the token
/// request fails: the call gets the valid token, and later polls within the
/// back-off hand it out without a new request. After expiry the failure
/// reaches the call. Without a token the call fails, and the next poll
/// waits instead of sending again.
#[test]
fn a_failed_reissue_leaves_the_call_its_valid_token_and_backs_off() {
    let mut tally = Tally::new("a_failed_reissue_leaves_the_call_its_valid_token_and_backs_off");
    let failures = prop_oneof![
        2 => select(named_failures()),
        4 => any_answer(BODIES.len() + RETRYABLE_OAUTH.len()),
        1 => (select(TYPED_REFUSALS.to_vec()), select(vec![400u16, 401, 403]))
            .prop_map(|(code, status)| Hostile::Typed { status, code }),
    ];
    let check = |(hostile, offset_ms, late_ms): &(Hostile, u64, u64)| {
        let mut source = reissue(gam_config());
        let mut server = Gam::new();
        let mut now = T0;
        gam_call(&mut source, &mut now, &mut server).map_err(|e| format!("setup: {e}"))?;
        let old = source.token().ok_or("setup: no token")?.access_token().clone();
        server.hostile = Some(hostile.clone());
        server.token_requests = 0;
        server.business_tokens.clear();
        let t = at_ms(*offset_ms);
        let mut now = t;
        if let Err(err) = gam_call(&mut source, &mut now, &mut server) {
            return Err(format!(
                "reached: the call failed with {err} while the token had {:?} left",
                at(3600).saturating_duration_since(t)
            ));
        }
        if server.token_requests != 1 || server.business_tokens != [old.expose_secret()] {
            return Err(format!(
                "token: {} token requests, the API saw {:?}",
                server.token_requests, server.business_tokens
            ));
        }
        for later in [0, 1, 500] {
            match source.poll_token(t.saturating_add(Duration::from_millis(later))) {
                Ok(Action::Done(token)) if token == old => {}
                other => {
                    return Err(format!(
                        "backoff: {later} ms after the failure, poll_token gave {:?}",
                        other.map(|a| kind(&a))
                    ))
                }
            }
        }
        // After expiry the failure is the call's.
        server.business_tokens.clear();
        let mut now = at(3600).saturating_add(Duration::from_millis(*late_ms));
        match gam_call(&mut source, &mut now, &mut server) {
            Err(err) => hostile.check_error(&err)?,
            Ok(()) => return Err("expired: the call succeeded".into()),
        }
        if !server.business_tokens.is_empty() {
            return Err(format!("expired: the API saw {:?}", server.business_tokens));
        }
        // No token at all: the call fails, then the source waits.
        let mut empty = reissue(gam_config());
        server.token_requests = 0;
        let mut now = t;
        match gam_call(&mut empty, &mut now, &mut server) {
            Err(err) => hostile.check_error(&err)?,
            Ok(()) => return Err("empty: the call succeeded".into()),
        }
        for later in [0, 1, 500] {
            let when = now.saturating_add(Duration::from_millis(later));
            match empty.poll_token(when) {
                Ok(Action::Wait(until)) if until > when => {}
                other => {
                    return Err(format!(
                        "no backoff: {later} ms after the failure, poll_token gave {:?}",
                        other.map(|a| kind(&a))
                    ))
                }
            }
        }
        if server.token_requests != 1 {
            return Err(format!("no backoff: {} token requests", server.token_requests));
        }
        Ok(())
    };
    for hostile in named_failures() {
        let case = (hostile, 3_570_000, 0);
        tally.check(format_args!("{case:?}"), check(&case));
    }
    tally.sample(300, (failures, 3_570_000u64..3_599_000, 0u64..5_000), check);
    tally.finish();
}

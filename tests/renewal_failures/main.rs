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

#[path = "../common/mod.rs"]
mod common;
mod crpt_sign_in;
mod gam_reissue;
mod itc_grants;
mod itc_window;

use common::holders::{itc_config, itc_session, reissue, sign_in, suz_ping, MakeGam, CONN, REG_NO};
use common::time::{at, at_ms, T0};
use common::{kind, session_kind, Tally};
use tokendance::call::{Authorized, Reissue, Scheme, TokenSource};
use tokendance::crpt::{KeeperAction, KeeperSource, TokenKeeper};
use tokendance::fake::{self, CrptFailure, Fake};
use tokendance::oauth2::{Grant, SessionAction};
use tokendance::{
    gam, itc, AccessToken, Action, Endpoint, Error, Flow, Input, Password, SignJob, Signature, SignatureKind,
    Timestamp, TokenRequest, UsageError,
};

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
            Action::Store(_) => unreachable!("these calls use no store"),
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
    session: &mut tokendance::oauth2::PasswordSession,
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
fn itc_with_token() -> (tokendance::oauth2::PasswordSession, Itc, AccessToken) {
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
fn itc_granted() -> Result<(tokendance::oauth2::PasswordSession, Itc), String> {
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

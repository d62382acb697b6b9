//! Property tests, in the style of quinn's `fuzz/fuzz_targets/streams.rs`:
//! arbitrary operation sequences against every flow and the ITC session,
//! with hostile responses and a monotone random clock; a 48-hour virtual-time
//! run of the session against `fake::Keycloak`; and properties of the
//! core value types (`Timestamp`, `TokenSet::renew_at`, `Signature`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use serde_json::{json, Map, Value};

use common::keycloak;
use tokendance::oauth2::{PasswordSession, SessionAction};
use tokendance::{
    astana_plat, gam, itc, monpay, AccessToken, Action, AuthCode, ClientSecret, Endpoint, Error, Expect,
    Flow, Input, InputKind, Pacing, Password, RetryAfter, Signature, Timestamp, TokenRequest, TokenSet,
    UsageError,
};

// From `tests/properties/`, a plain `mod common;` would look for
// `properties/common.rs`.
#[path = "../common/mod.rs"]
mod common;
mod one_shot;
mod session;
mod values;
// Runs the session against `fake::Keycloak`.
#[cfg(feature = "fake")]
mod virtual_hours;

/// Proptest's config with `cases` cases, keeping failures in
/// `<file>.proptest-regressions` beside the file that runs the property: from
/// a folder crate the default (`SourceParallel`) finds main.rs and would use
/// `tests/proptest-regressions/<file>.txt`, shared by every folder crate.
fn config(cases: u32) -> ProptestConfig {
    let mut config = ProptestConfig::with_cases(cases);
    config.failure_persistence = Some(Box::new(FileFailurePersistence::WithSource(
        "proptest-regressions",
    )));
    config
}

// ---------------------------------------------------------------------------
// Arbitrary inputs.

#[derive(Clone, Debug)]
enum ArbInput {
    Response {
        status: u16,
        content_type: Option<&'static str>,
        retry_after: Option<String>,
        location: Option<String>,
        body: Vec<u8>,
    },
    Signature(Vec<u8>),
    Timeout,
    Failed,
}

impl ArbInput {
    fn response(&self) -> Option<http::Response<Vec<u8>>> {
        let ArbInput::Response {
            status,
            content_type,
            retry_after,
            location,
            body,
        } = self
        else {
            return None;
        };
        let mut b = http::Response::builder().status(*status);
        if let Some(ct) = content_type {
            b = b.header("content-type", *ct);
        }
        if let Some(r) = retry_after {
            b = b.header("retry-after", r.as_str());
        }
        if let Some(l) = location {
            b = b.header("location", l.as_str());
        }
        Some(b.body(body.clone()).expect("valid response parts"))
    }

    fn to_input(&self) -> Input {
        match self {
            ArbInput::Response { .. } => Input::Response(self.response().unwrap()),
            ArbInput::Signature(der) => Input::Signature(Signature::from_der(der.clone())),
            ArbInput::Timeout => Input::Timeout,
            ArbInput::Failed => Input::Failed,
        }
    }

    fn kind(&self) -> InputKind {
        match self {
            ArbInput::Response { .. } => InputKind::Response,
            ArbInput::Signature(_) => InputKind::Signature,
            ArbInput::Timeout => InputKind::Timeout,
            ArbInput::Failed => InputKind::Failed,
        }
    }
}

fn arb_status() -> impl Strategy<Value = u16> {
    prop_oneof![
        6 => Just(200u16),
        1 => prop::sample::select(vec![201u16, 204, 206]),
        1 => prop::sample::select(vec![301u16, 302, 303, 307, 308]),
        4 => prop::sample::select(vec![400u16, 401, 403, 404, 408, 415, 422, 429]),
        2 => prop::sample::select(vec![500u16, 502, 503, 504, 505]),
        2 => 100u16..=599,
    ]
}

fn arb_content_type() -> impl Strategy<Value = Option<&'static str>> {
    prop::sample::select(vec![
        None,
        Some("application/json"),
        Some("application/json;charset=UTF-8"),
        Some("text/html"),
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("application/xml"),
        Some("bogus"),
    ])
}

/// Numbers in every form servers send them: huge, negative, fractional, as strings.
fn arb_number() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<u64>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (-1e25f64..1e25).prop_map(Value::from),
        prop::sample::select(vec![0i64, 1, 299, 300, 1800, 3600, 86_400, -1]).prop_map(Value::from),
        Just(json!(u64::MAX)),
        prop_oneof![
            "[0-9]{1,25}",
            "-[0-9]{1,5}",
            "[0-9]{1,4}\\.[0-9]{1,3}",
            "1e[0-9]{1,3}",
            Just(" 300 ".to_owned()),
            Just(String::new()),
            Just("soon".to_owned()),
            Just("NaN".to_owned()),
        ]
        .prop_map(Value::String),
    ]
}

fn arb_text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[a-zA-Z0-9._~+/=-]{1,24}",
        ".{0,40}",
        Just("invalid_grant".to_owned()),
        Just("Token is not active".to_owned()),
        Just("Incorrect credentials".to_owned()),
        (1usize..2000).prop_map(|n| "é".repeat(n)),
    ]
}

/// Any JSON value, one level of nesting.
fn arb_scalar() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        arb_text().prop_map(Value::String),
        arb_number(),
        any::<bool>().prop_map(Value::Bool),
        Just(Value::Null),
    ];
    leaf.prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop::sample::select(vec!["token", "message", "text", "field", "error", "x"]),
                    inner
                ),
                0..3
            )
            .prop_map(|kv| Value::Object(kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())),
        ]
    })
}

/// A field's value: mostly plausible, sometimes anything.
fn plausible(good: impl Strategy<Value = Value> + 'static) -> impl Strategy<Value = Option<Value>> {
    prop::option::weighted(0.8, prop_oneof![3 => good.boxed(), 1 => arb_scalar().boxed()])
}

fn arb_token_body() -> impl Strategy<Value = Value> {
    (
        plausible(arb_text().prop_map(Value::String)),
        plausible(prop::sample::select(vec!["bearer", "Bearer", "BEARER", "mac", ""]).prop_map(Value::from)),
        plausible(arb_number()),
        plausible(arb_text().prop_map(Value::String)),
        plausible(arb_number()),
        plausible(arb_text().prop_map(Value::String)),
        prop::option::of(arb_scalar()),
    )
        .prop_map(|(at, tt, exp, rt, rexp, scope, extra)| {
            let mut m = Map::new();
            for (k, v) in [
                ("access_token", at),
                ("token_type", tt),
                ("expires_in", exp),
                ("refresh_token", rt),
                ("refresh_expires_in", rexp),
                ("scope", scope),
                ("not-before-policy", extra),
            ] {
                if let Some(v) = v {
                    m.insert(k.to_owned(), v);
                }
            }
            Value::Object(m)
        })
}

fn arb_astana_body() -> impl Strategy<Value = Value> {
    (
        plausible(arb_number()),
        plausible(arb_text().prop_map(Value::String)),
        plausible(arb_text().prop_map(|t| json!({ "token": t }))),
    )
        .prop_map(|(code, msg, data)| {
            let mut m = Map::new();
            for (k, v) in [("statusCode", code), ("message", msg), ("data", data)] {
                if let Some(v) = v {
                    m.insert(k.to_owned(), v);
                }
            }
            Value::Object(m)
        })
}

/// Every error shape the providers use, with arbitrary values.
fn arb_error_body() -> impl Strategy<Value = Value> {
    let s = arb_scalar;
    prop_oneof![
        (s(), s()).prop_map(|(e, d)| json!({"error": e, "error_description": d})),
        (s(), s()).prop_map(|(m, c)| json!({"error_message": m, "code": c})),
        (s(), s(), s()).prop_map(|(st, e, m)| json!({"status": st, "error": e, "message": m, "path": "/x"})),
        s().prop_map(|e| json!({"globalErrors": e})),
        s().prop_map(|e| json!({"fieldErrors": [{"field": "x", "message": e}]})),
        s().prop_map(|e| json!({"violations": e})),
        (arb_number(), s()).prop_map(|(c, m)| json!({"statusCode": c, "message": m})),
        (s(), s(), s()).prop_map(|(st, m, c)| json!({"status": st, "message": m, "error_code": c})),
        (s(), s()).prop_map(|(ok, d)| json!({"success": ok, "description": d})),
    ]
}

fn arb_body() -> impl Strategy<Value = Vec<u8>> {
    let to_bytes = |v: Value| serde_json::to_vec(&v).unwrap();
    prop_oneof![
        5 => arb_token_body().prop_map(to_bytes),
        2 => arb_astana_body().prop_map(to_bytes),
        3 => arb_error_body().prop_map(to_bytes),
        1 => arb_scalar().prop_map(to_bytes),
        1 => arb_token_body().prop_map(move |v| {
            let mut b = b"\xEF\xBB\xBF".to_vec();
            b.extend(to_bytes(v));
            b
        }),
        1 => prop::collection::vec(any::<u8>(), 0..64),
        1 => Just(Vec::new()),
        1 => Just(b"<html><body>502 Bad Gateway</body></html>".to_vec()),
        1 => Just(br#"{"access_token":"a","access_token":"b"}"#.to_vec()),
        1 => Just(br#"{"access_token":"a","expires_in":300"#.to_vec()),
        1 => (0usize..3).prop_map(|extra| {
            let mut b = br#"{"access_token":"a","pad":""#.to_vec();
            b.resize(tokendance::MAX_BODY + extra - 2, b'p');
            b.extend_from_slice(b"\"}");
            b
        }),
    ]
}

fn arb_response() -> impl Strategy<Value = ArbInput> {
    (
        arb_status(),
        arb_content_type(),
        prop::option::weighted(
            0.2,
            prop_oneof![
                "[0-9]{1,25}",
                Just("Sun, 06 Nov 1994 08:49:37 GMT".to_owned()),
                Just("Fri, 31 Dec 9999 23:59:59 GMT".to_owned()),
                Just("soon".to_owned()),
            ],
        ),
        prop::option::weighted(
            0.1,
            "https://[a-z]{1,8}\\.example/[a-z]{0,8}(\\?code=[a-z0-9]{1,8})?",
        ),
        arb_body(),
    )
        .prop_map(
            |(status, content_type, retry_after, location, body)| ArbInput::Response {
                status,
                content_type,
                retry_after,
                location,
                body,
            },
        )
}

fn arb_input() -> impl Strategy<Value = ArbInput> {
    prop_oneof![
        8 => arb_response(),
        1 => prop::collection::vec(any::<u8>(), 0..32).prop_map(ArbInput::Signature),
        1 => Just(ArbInput::Timeout),
        1 => Just(ArbInput::Failed),
    ]
}

/// Time steps: mostly small, sometimes hours, rarely absurd.
fn arb_dt() -> impl Strategy<Value = u64> {
    prop_oneof![
        3 => Just(0u64),
        3 => 0u64..5_000,
        3 => 0u64..600_000,
        1 => 0u64..(48 * 3_600_000),
        1 => any::<u64>(),
    ]
}

fn arb_t0() -> impl Strategy<Value = u64> {
    prop_oneof![
        8 => 1_600_000_000_000u64..1_900_000_000_000,
        1 => Just(0u64),
        1 => (u64::MAX - 10_000_000)..=u64::MAX,
    ]
}

#[derive(Clone, Debug)]
enum Op {
    Start,
    Resume(ArbInput),
}

fn arb_ops() -> impl Strategy<Value = Vec<(u64, Op)>> {
    let op = prop_oneof![
        1 => Just(Op::Start),
        6 => arb_input().prop_map(Op::Resume),
    ];
    (any::<bool>(), prop::collection::vec((arb_dt(), op), 0..12)).prop_map(|(lead, mut ops)| {
        // Most sequences begin with a start, so that the interesting part runs.
        if lead {
            ops.insert(0, (0, Op::Start));
        }
        ops
    })
}

// ---------------------------------------------------------------------------
// Outcome tally: which branches the generated cases reach (see
// `strategies_reach_every_outcome`, which fails if a strategy goes blind).

thread_local! {
    static TALLY: std::cell::RefCell<std::collections::BTreeMap<&'static str, u32>> = Default::default();
}

fn tally(what: &'static str) {
    TALLY.with(|t| *t.borrow_mut().entry(what).or_default() += 1);
}

// ---------------------------------------------------------------------------
// The one-shot flow model.

/// What a run of a flow produced, for checks the caller makes afterwards.
struct Run<O> {
    done: Option<(O, Timestamp)>,
    started_at: Option<Timestamp>,
    /// When each Send was emitted.
    sends: Vec<Timestamp>,
}

/// Feeds `ops` to `flow` and checks the `Flow` contract after every call.
/// `ended_session`: the flow is a `fetch()` of a session that has ended, so
/// its start answers `Finished`.
fn check_flow<F: Flow>(
    flow: &mut F,
    t0: u64,
    ops: &[(u64, Op)],
    ended_session: bool,
) -> Result<Run<F::Output>, TestCaseError> {
    let mut finished = false;
    let mut now = Timestamp::from_unix_millis(t0);
    let mut started = false;
    let mut awaiting: Option<Expect> = None;
    let mut outstanding = 0u32;
    let mut run = Run {
        done: None,
        started_at: None,
        sends: Vec::new(),
    };
    for (dt, op) in ops {
        now = now.saturating_add(Duration::from_millis(*dt));
        let result = match op {
            Op::Start => flow.start(now),
            Op::Resume(i) => flow.resume(now, i.to_input()),
        };
        if let Err(e) = &result {
            prop_assert!(!e.to_string().is_empty(), "empty Display for {:?}", e);
        }
        if finished {
            tally("flow: call after the end");
            prop_assert!(
                matches!(result, Err(Error::Usage(UsageError::Finished))),
                "a finished flow answered {:?}",
                result.as_ref().map(|_| "an action")
            );
            continue;
        }
        // Did this call answer an outstanding Send?
        let answered = matches!(op, Op::Resume(ArbInput::Response { .. } | ArbInput::Failed))
            && awaiting == Some(Expect::Response);
        match result {
            Ok(action) => {
                match op {
                    Op::Start => {
                        prop_assert!(!started, "started twice");
                        started = true;
                        run.started_at = Some(now);
                    }
                    Op::Resume(i) => {
                        prop_assert!(started);
                        let matching = matches!(
                            (awaiting, i),
                            (Some(Expect::Response), ArbInput::Response { .. })
                                // A failed request is an answer too: a session
                                // whose refresh failed serves its still-valid token.
                                | (Some(Expect::Response), ArbInput::Failed)
                                | (Some(Expect::Timeout), ArbInput::Timeout)
                                | (Some(Expect::Signature), ArbInput::Signature(_))
                        );
                        prop_assert!(matching, "accepted {:?} while awaiting {:?}", i.kind(), awaiting);
                    }
                }
                if answered {
                    outstanding -= 1;
                }
                match action {
                    Action::Store(_) => prop_assert!(false, "a session asked for a store"),
                    Action::Send(_) => {
                        tally("flow: Send");
                        prop_assert_eq!(outstanding, 0, "a second Send while one is outstanding");
                        outstanding = 1;
                        run.sends.push(now);
                        awaiting = Some(Expect::Response);
                    }
                    Action::Sign(_) => awaiting = Some(Expect::Signature),
                    Action::Wait(until) => {
                        tally("flow: Wait");
                        // At the end of time, waiting "until now" is the only wait left.
                        prop_assert!(
                            until > now || now == Timestamp::MAX,
                            "Wait({:?}) is not in the future of {:?}",
                            until,
                            now
                        );
                        awaiting = Some(Expect::Timeout);
                    }
                    Action::Done(output) => {
                        tally("flow: Done");
                        prop_assert!(run.done.is_none(), "Done twice");
                        prop_assert_eq!(outstanding, 0);
                        run.done = Some((output, now));
                        finished = true;
                    }
                }
            }
            Err(Error::Usage(UsageError::UnexpectedInput { expected, got })) => {
                tally("flow: UnexpectedInput");
                prop_assert!(started);
                prop_assert_eq!(Some(expected), awaiting);
                let Op::Resume(i) = op else {
                    return Err(TestCaseError::fail("UnexpectedInput from start"));
                };
                prop_assert_eq!(got, i.kind());
                prop_assert!(got != InputKind::Failed, "Failed is always an answer");
            }
            Err(Error::Usage(UsageError::NotStarted)) => {
                tally("flow: NotStarted");
                prop_assert!(!started && matches!(op, Op::Resume(_)));
            }
            Err(Error::Usage(UsageError::AlreadyStarted)) => {
                tally("flow: AlreadyStarted");
                prop_assert!(started && matches!(op, Op::Start));
            }
            Err(Error::Usage(UsageError::Finished)) => {
                prop_assert!(
                    ended_session && !started && matches!(op, Op::Start),
                    "unexpected Finished"
                );
                started = true;
                finished = true;
            }
            Err(Error::Usage(UsageError::Aborted)) => {
                tally("flow: Aborted");
                prop_assert!(started && matches!(op, Op::Resume(ArbInput::Failed)));
                if answered {
                    outstanding -= 1;
                }
                finished = true;
            }
            Err(e @ (Error::Server(_) | Error::Protocol(_))) => {
                tally(if matches!(e, Error::Server(_)) {
                    "flow: Server"
                } else {
                    "flow: Protocol"
                });
                prop_assert!(answered, "{:?} without a response to a Send", e);
                outstanding -= 1;
                finished = true;
            }
            Err(e) => return Err(TestCaseError::fail(format!("unexpected error {e:?} ({e})"))),
        }
    }
    Ok(run)
}

// ---------------------------------------------------------------------------
// Flows and sessions more than one file runs.

fn astana_url() -> Endpoint {
    Endpoint::parse("https://astana-plat.example/api/auth/login").unwrap()
}

fn build_one_shot(which: u8) -> TokenRequest {
    match which % 4 {
        0 => gam::client_credentials(
            &gam::Config::staging(),
            "client",
            ClientSecret::new("s3cret"),
            "a:b c:d",
        )
        .unwrap(),
        1 => monpay::exchange_code(
            &monpay::Config::test(),
            "client",
            ClientSecret::new("s3cret"),
            AuthCode::new("code-1"),
            "https://shop.example/back",
        )
        .unwrap(),
        2 => astana_plat::login_password(&astana_url(), "user", Password::new("pw-1")).unwrap(),
        _ => astana_plat::login_certificate(&astana_url()).unwrap(),
    }
}

const USER: &str = "easy-register-test";
const PASSWORD: &str = "Test@123";

fn new_session() -> PasswordSession {
    itc::session(&itc::Config::staging(), USER, Password::new(PASSWORD)).unwrap()
}

//! Property tests, in the style of quinn's `fuzz/fuzz_targets/streams.rs`:
//! arbitrary operation sequences against every flow and the ITC session,
//! with hostile responses and a monotone random clock; a 48-hour virtual-time
//! run of the session against a scripted Keycloak; and properties of the
//! core value types (`Timestamp`, `TokenSet::renew_at`, `Signature`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use proptest::prelude::*;
use serde_json::{json, Map, Value};

use tokendance::oauth2::{PasswordSession, SessionAction};
use tokendance::{
    astana_plat, gam, itc, monpay, AccessToken, Action, AuthCode, ClientSecret, Endpoint, Error, Expect,
    Flow, Input, InputKind, Pacing, Password, RetryAfter, Signature, Timestamp, TokenRequest, TokenSet,
    UsageError,
};

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

fn check_token(token: &TokenSet, started_at: Option<Timestamp>) -> Result<(), TestCaseError> {
    prop_assert_eq!(
        Some(token.obtained_at()),
        started_at,
        "expiry is counted from the send"
    );
    if let Some(e) = token.expires_at() {
        prop_assert!(e >= token.obtained_at());
    }
    if let Some(e) = token.refresh_expires_at() {
        prop_assert!(e >= token.obtained_at());
        prop_assert!(token.refresh_token().is_some());
    }
    prop_assert!(!token.access_token().expose_secret().is_empty());
    if let Some(r) = token.renew_at(Duration::from_secs(30)) {
        prop_assert!(r <= token.expires_at().unwrap());
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn one_shot_flows_keep_their_contract(which in 0u8..4, t0 in arb_t0(), ops in arb_ops()) {
        let mut flow = build_one_shot(which);
        let run = check_flow(&mut flow, t0, &ops, false)?;
        if let Some((token, _)) = &run.done {
            check_token(token, run.started_at)?;
        }
        // Whatever happened, Debug never panics and never shows a secret.
        let debug = format!("{flow:?}");
        prop_assert!(!debug.contains("s3cret") && !debug.contains("code-1") && !debug.contains("pw-1"));
    }

    /// A well-formed token body always gives a token whose expiry is
    /// `sent_at + expires_in` (saturating), whatever the clock reads.
    #[test]
    fn token_lifetimes_saturate(t0 in arb_t0(), dt in arb_dt(), lifetime in any::<u64>(), as_string in any::<bool>()) {
        let mut flow = build_one_shot(0);
        let sent = Timestamp::from_unix_millis(t0);
        let Action::Send(_) = flow.start(sent)? else { return Err(TestCaseError::fail("no Send")) };
        let exp = if as_string { json!(lifetime.to_string()) } else { json!(lifetime) };
        let body = serde_json::to_vec(&json!({"access_token": "t", "expires_in": exp})).unwrap();
        let later = sent.saturating_add(Duration::from_millis(dt));
        let action = flow.resume(later, Input::Response(http::Response::new(body)))?;
        let Action::Done(token) = action else { return Err(TestCaseError::fail("not Done")) };
        prop_assert_eq!(token.obtained_at(), sent);
        let want = (u128::from(t0) + u128::from(lifetime) * 1000).min(u128::from(u64::MAX));
        prop_assert_eq!(u128::from(token.expires_at().unwrap().as_unix_millis()), want);
    }
}

// ---------------------------------------------------------------------------
// The ITC session, as a Flow (`fetch`) and by hand.

const USER: &str = "easy-register-test";
const PASSWORD: &str = "Test@123";

fn new_session() -> PasswordSession {
    itc::session(&itc::Config::staging(), USER, Password::new(PASSWORD)).unwrap()
}

fn keycloak_ok(access: &str, expires_in: u64, refresh_expires_in: u64) -> http::Response<Vec<u8>> {
    let body = json!({"access_token": access, "expires_in": expires_in, "refresh_token": format!("r-{access}"),
        "refresh_expires_in": refresh_expires_in, "token_type": "bearer"});
    http::Response::builder()
        .status(200)
        .body(serde_json::to_vec(&body).unwrap())
        .unwrap()
}

fn keycloak_refusal(status: u16, error: &str) -> http::Response<Vec<u8>> {
    let body = json!({"error": error, "error_description": "Token is not active"});
    http::Response::builder()
        .status(status)
        .body(serde_json::to_vec(&body).unwrap())
        .unwrap()
}

/// A session brought into one of several states at `t`.
fn session_in_state(state: u8, t: Timestamp) -> PasswordSession {
    let mut s = new_session();
    let state = state % 6;
    if state == 0 {
        return s;
    }
    let Ok(SessionAction::Send(_)) = s.poll(t) else {
        panic!("a new session sends the password grant")
    };
    match state {
        // Holding a token (fresh at `t`); state 2 lets it expire first.
        1 | 2 => {
            s.handle_response(t, keycloak_ok("a-1", 300, 1800)).unwrap();
            if state == 2 {
                s.unauthorized(t);
            }
        }
        // Backing off after a transport failure.
        3 => s.transport_failed(t).unwrap(),
        // Ended: the password was refused.
        4 => {
            s.handle_response(t, keycloak_refusal(401, "invalid_grant"))
                .unwrap_err();
            assert!(s.has_ended());
        }
        // A request in flight that the caller sent outside the Fetch.
        _ => assert!(s.in_flight().is_some()),
    }
    s
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn session_fetch_keeps_the_flow_contract(state in 0u8..6, t0 in arb_t0(), ops in arb_ops()) {
        let t = Timestamp::from_unix_millis(t0);
        let mut session = session_in_state(state, t);
        let ended = session.has_ended();
        let run = {
            let mut fetch = session.fetch();
            check_flow(&mut fetch, t0, &ops, ended)?
        };
        if let Some((token, at)) = run.done {
            // The token handed out is the session's, and valid when handed out.
            let held = session.tokens().expect("Done without a held token");
            prop_assert_eq!(held.access_token(), &token);
            prop_assert!(held.is_valid(at), "Done with a token that expired at {:?} (now {:?})",
                held.expires_at(), at);
            if let Some(e) = held.expires_at() {
                prop_assert!(e >= held.obtained_at());
            }
        }
        if ended {
            prop_assert!(session.has_ended());
        }
        if state == 5 {
            // The session's own request was in flight: the Fetch sends only
            // once that request counts as lost (the 60 s request timeout).
            let lost_at = t.saturating_add(session.pacing().renewal_timeout);
            if let Some(first) = run.sends.first() {
                prop_assert!(*first >= lost_at, "sent at {:?} while a request was in flight", first);
            }
        }
        // Whatever the Fetch left behind, the session still keeps its own contract.
        prop_assert_eq!(session.next_deadline().is_none(), session.has_ended());
    }
}

#[derive(Clone, Debug)]
enum SessionOp {
    Poll,
    Handle(ArbInput),
    Answer {
        expires_in: u64,
        refresh_expires_in: u64,
    },
    Refuse(u16, &'static str),
    TransportFailed,
    Unauthorized,
}

fn arb_session_op() -> impl Strategy<Value = SessionOp> {
    prop_oneof![
        6 => Just(SessionOp::Poll),
        3 => arb_response().prop_map(SessionOp::Handle),
        3 => (prop_oneof![Just(0u64), 1u64..600, any::<u64>()], prop_oneof![Just(0u64), 1u64..4000])
            .prop_map(|(expires_in, refresh_expires_in)| SessionOp::Answer { expires_in, refresh_expires_in }),
        1 => prop::sample::select(vec![
            (400u16, "invalid_grant"), (401, "invalid_grant"), (400, "invalid_client"), (401, "unauthorized"),
            (500, "server_error"), (503, "temporarily_unavailable"), (429, "slow_down"), (400, "invalid_request"),
        ]).prop_map(|(s, e)| SessionOp::Refuse(s, e)),
        1 => Just(SessionOp::TransportFailed),
        1 => Just(SessionOp::Unauthorized),
    ]
}

fn session_config() -> impl Strategy<Value = (u64, u64, u64, u64, u64)> {
    // renew margin, request timeout, min interval, initial back-off, max back-off (ms);
    // also values `Pacing::validate` refuses (a timeout under 1 s, a zero or
    // inverted back-off), which must leave the session's pacing as it was.
    prop_oneof![
        3 => Just((30_000u64, 60_000u64, 1_000u64, 1_000u64, 300_000u64)),
        1 => (0u64..120_000, 1u64..120_000, 0u64..5_000, 0u64..5_000, 0u64..600_000),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Random interleavings of poll / handle_response / transport_failed /
    /// unauthorized at random times.
    #[test]
    fn session_never_has_two_requests_in_flight(
        t0 in arb_t0(),
        config in session_config(),
        ops in arb_session_ops(),
    ) {
        check_session(t0, config, ops)?;
    }
}

fn arb_session_ops() -> impl Strategy<Value = Vec<(u64, SessionOp)>> {
    prop::collection::vec((arb_dt(), arb_session_op()), 0..40)
}

/// Feeds `ops` to a session and checks it against a model of what is in flight.
fn check_session(
    t0: u64,
    config: (u64, u64, u64, u64, u64),
    ops: Vec<(u64, SessionOp)>,
) -> Result<(), TestCaseError> {
    let mut s = new_session();
    let pacing = Pacing {
        renew_margin: Duration::from_millis(config.0),
        renewal_timeout: Duration::from_millis(config.1),
        min_interval: Duration::from_millis(config.2),
        initial_backoff: Duration::from_millis(config.3),
        max_backoff: Duration::from_millis(config.4),
        ..Pacing::session()
    };
    let valid = pacing.renewal_timeout >= Pacing::MIN_RENEWAL_TIMEOUT
        && !pacing.initial_backoff.is_zero()
        && pacing.max_backoff >= pacing.initial_backoff;
    match s.set_pacing(pacing) {
        Ok(()) => prop_assert!(valid, "{:?} accepted", pacing),
        Err(e) => {
            prop_assert!(!valid, "{:?} refused: {}", pacing, e);
            let typed = matches!(e, Error::Usage(UsageError::InvalidConfig { .. }));
            prop_assert!(typed, "refused with {:?}", e);
            prop_assert_eq!(
                s.pacing(),
                &Pacing::session(),
                "a refused pacing changed the session"
            );
        }
    }
    let timeout = s.pacing().renewal_timeout;
    let mut now = Timestamp::from_unix_millis(t0);
    // The model: the send time of the request in flight, and whether the session ended.
    let mut in_flight: Option<Timestamp> = None;
    let mut ended = false;
    let mut sends = 0u32;
    for (dt, op) in ops {
        now = now.saturating_add(Duration::from_millis(dt));
        let grant_before = s.in_flight();
        match op {
            SessionOp::Poll => {
                if in_flight.is_some_and(|sent| now.saturating_duration_since(sent) >= timeout) {
                    tally("session: request timed out");
                    in_flight = None; // lost: the session counts it as a failure
                }
                let tokens_valid = |s: &PasswordSession| s.tokens().is_some_and(|t| t.is_valid(now));
                let valid_before = s.tokens().is_some_and(|t| t.is_valid(now));
                let result = s.poll(now);
                if ended {
                    // An ended session sends nothing; a still-valid access token serves.
                    let valid = valid_before;
                    match result {
                        Ok(SessionAction::UseToken(_)) => {
                            prop_assert!(valid, "UseToken with an expired token")
                        }
                        Err(Error::Usage(UsageError::Finished)) => {
                            prop_assert!(!valid, "Finished with a valid token")
                        }
                        other => {
                            return Err(TestCaseError::fail(format!(
                                "an ended session answered {other:?}"
                            )))
                        }
                    }
                    continue;
                }
                match result {
                    Ok(SessionAction::UseToken(token)) => {
                        tally("session: UseToken");
                        let token = token.clone();
                        prop_assert!(tokens_valid(&s), "UseToken with an expired token at {:?}", now);
                        prop_assert_eq!(s.tokens().unwrap().access_token(), &token);
                    }
                    Ok(SessionAction::Send(request)) => {
                        tally("session: Send");
                        prop_assert!(in_flight.is_none(), "a second request in flight");
                        prop_assert_eq!(request.as_http().method(), http::Method::POST);
                        in_flight = Some(now);
                        sends += 1;
                    }
                    Ok(SessionAction::Wait(until)) => {
                        tally("session: Wait");
                        prop_assert!(
                            until > now || now == Timestamp::MAX,
                            "Wait({:?}) at {:?}",
                            until,
                            now
                        );
                        prop_assert!(!tokens_valid(&s), "Wait while holding a valid token");
                    }
                    Err(e) => return Err(TestCaseError::fail(format!("poll failed: {e}"))),
                }
            }
            SessionOp::Handle(_) | SessionOp::Answer { .. } | SessionOp::Refuse(..) => {
                let response = match &op {
                    SessionOp::Handle(i) => i.response().unwrap(),
                    SessionOp::Answer {
                        expires_in,
                        refresh_expires_in,
                    } => keycloak_ok(&format!("a-{sends}"), *expires_in, *refresh_expires_in),
                    SessionOp::Refuse(status, code) => keycloak_refusal(*status, code),
                    _ => unreachable!(),
                };
                let result = s.handle_response(now, response);
                if let Err(e) = &result {
                    prop_assert!(!e.to_string().is_empty());
                }
                if ended {
                    prop_assert!(matches!(result, Err(Error::Usage(UsageError::Finished))));
                } else if in_flight.is_none() {
                    tally("session: response without a request");
                    prop_assert!(
                        matches!(result, Err(Error::Usage(UsageError::NoRequestInFlight))),
                        "a response without a request was not refused: {:?}",
                        result
                    );
                } else {
                    in_flight = None;
                    match &result {
                        Ok(()) => {
                            tally("session: response accepted");
                            prop_assert!(!s.has_ended());
                        }
                        Err(Error::Server(_) | Error::Protocol(_)) => {}
                        Err(e) => return Err(TestCaseError::fail(format!("usage error {e:?}"))),
                    }
                    if s.has_ended() {
                        // Only a refused password grant ends a session.
                        prop_assert!(matches!(result, Err(Error::Server(_))));
                        prop_assert_eq!(grant_before, Some(tokendance::oauth2::Grant::Password));
                        prop_assert!(s.tokens().is_none_or(|t| t.refresh_token().is_none()));
                        tally("session: ended");
                        ended = true;
                    }
                }
            }
            SessionOp::TransportFailed => {
                let result = s.transport_failed(now);
                if ended {
                    prop_assert!(matches!(result, Err(Error::Usage(UsageError::Finished))));
                } else if in_flight.is_none() {
                    prop_assert!(matches!(result, Err(Error::Usage(UsageError::NoRequestInFlight))));
                } else {
                    prop_assert!(result.is_ok());
                    in_flight = None;
                }
            }
            SessionOp::Unauthorized => {
                s.unauthorized(now);
                if let Some(t) = s.tokens() {
                    prop_assert!(!t.is_valid(now), "the token is still valid after a 401");
                }
            }
        }
        prop_assert_eq!(s.in_flight().is_some(), in_flight.is_some());
        prop_assert_eq!(s.has_ended(), ended);
        prop_assert_eq!(s.next_deadline().is_none(), ended);
        if let Some(sent) = in_flight {
            prop_assert_eq!(s.next_deadline(), Some(sent.saturating_add(timeout)));
        }
        if let Some(t) = s.tokens() {
            if let Some(e) = t.expires_at() {
                prop_assert!(e >= t.obtained_at(), "expiry before the token was obtained");
            }
        }
    }
    Ok(())
}

/// The generators are not blind: over a few hundred deterministic cases,
/// every outcome the checks above distinguish actually happens.
#[test]
fn strategies_reach_every_outcome() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    let mut runner = TestRunner::deterministic();
    TALLY.with(|t| t.borrow_mut().clear());
    let one_shot = (0u8..4, arb_t0(), arb_ops());
    let fetch = (0u8..6, arb_t0(), arb_ops());
    let session = (arb_t0(), session_config(), arb_session_ops());
    for _ in 0..300 {
        let (which, t0, ops) = one_shot.new_tree(&mut runner).unwrap().current();
        check_flow(&mut build_one_shot(which), t0, &ops, false).unwrap();
        let (state, t0, ops) = fetch.new_tree(&mut runner).unwrap().current();
        let mut s = session_in_state(state, Timestamp::from_unix_millis(t0));
        let ended = s.has_ended();
        check_flow(&mut s.fetch(), t0, &ops, ended).unwrap();
        let (t0, config, ops) = session.new_tree(&mut runner).unwrap().current();
        check_session(t0, config, ops).unwrap();
    }
    let tally = TALLY.with(|t| t.borrow().clone());
    for outcome in [
        "flow: Send",
        "flow: Wait",
        "flow: Done",
        "flow: UnexpectedInput",
        "flow: NotStarted",
        "flow: AlreadyStarted",
        "flow: Aborted",
        "flow: Server",
        "flow: Protocol",
        "flow: call after the end",
        "session: UseToken",
        "session: Send",
        "session: Wait",
        "session: request timed out",
        "session: ended",
        "session: response without a request",
        "session: response accepted",
    ] {
        assert!(
            tally.get(outcome).copied().unwrap_or(0) > 0,
            "{outcome} never happened: {tally:#?}"
        );
    }
}

// ---------------------------------------------------------------------------
// 48 hours of virtual time against a scripted Keycloak.

/// xorshift64*: a deterministic source of "sometimes" for the responder.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// Whether the responder rejects the `n`-th otherwise valid refresh.
fn rejects(n: u64) -> bool {
    let mut r = Rng(n.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    r.next().is_multiple_of(16)
}

const ACCESS_LIFE: u64 = 300;
const REFRESH_LIFE: u64 = 1800;
/// Keycloak's "SSO Session Max" (2 h here): refresh tokens never outlive it.
const SSO_MAX: u64 = 7_200;
const HOURS_48: u64 = 48 * 3600;

#[derive(Default, Debug, PartialEq, Eq)]
struct Counts {
    password: u64,
    /// Password grants because the refresh token's life (the SSO cap) ran out.
    password_refresh_expired: u64,
    /// Password grants because a refresh was refused.
    password_after_refusal: u64,
    refresh_ok: u64,
    refresh_rejected: u64,
}

/// A Keycloak realm: access 300 s, refresh 1800 s (never beyond the SSO
/// session's 10 h), rejects some refreshes with `invalid_grant`.
struct Keycloak {
    issued: u64,
    session_start: Timestamp,
    refresh: Option<(String, Timestamp)>,
    /// Every access token issued, with its expiry.
    access: Vec<(String, Timestamp)>,
    refresh_attempts: u64,
    counts: Counts,
}

impl Keycloak {
    fn new() -> Self {
        Keycloak {
            issued: 0,
            session_start: Timestamp::EPOCH,
            refresh: None,
            access: Vec::new(),
            refresh_attempts: 0,
            counts: Counts::default(),
        }
    }

    fn answer(&mut self, now: Timestamp, request: &http::Request<Vec<u8>>) -> http::Response<Vec<u8>> {
        assert_eq!(
            request.uri(),
            "https://st.auth.itc.gov.mn/auth/realms/Staging/protocol/openid-connect/token"
        );
        let form: std::collections::HashMap<String, String> =
            url::form_urlencoded::parse(request.body()).into_owned().collect();
        assert_eq!(form["client_id"], "vatps");
        match form["grant_type"].as_str() {
            "password" => {
                assert_eq!(
                    (form["username"].as_str(), form["password"].as_str()),
                    (USER, PASSWORD)
                );
                self.counts.password += 1;
                match &self.refresh {
                    Some((_, until)) if now < *until => {
                        panic!("a password grant at {now:?} while the refresh token lives")
                    }
                    Some(_) => self.counts.password_refresh_expired += 1,
                    None if self.issued > 0 => self.counts.password_after_refusal += 1,
                    None => {}
                }
                self.session_start = now;
                self.issue(now)
            }
            "refresh_token" => {
                let valid = self
                    .refresh
                    .as_ref()
                    .is_some_and(|(r, until)| *r == form["refresh_token"] && now < *until);
                assert!(valid, "the session sent a dead refresh token at {now:?}");
                self.refresh_attempts += 1;
                if rejects(self.refresh_attempts) {
                    self.counts.refresh_rejected += 1;
                    self.refresh = None;
                    keycloak_refusal(400, "invalid_grant")
                } else {
                    self.counts.refresh_ok += 1;
                    self.issue(now)
                }
            }
            other => panic!("grant {other}"),
        }
    }

    fn issue(&mut self, now: Timestamp) -> http::Response<Vec<u8>> {
        self.issued += 1;
        let access = format!("access-{}", self.issued);
        let session_left = self
            .session_start
            .saturating_add(Duration::from_secs(SSO_MAX))
            .saturating_duration_since(now)
            .as_secs();
        let refresh_life = REFRESH_LIFE.min(session_left);
        let refresh = format!("r-{access}");
        self.refresh = Some((refresh, now.saturating_add(Duration::from_secs(refresh_life))));
        self.access.push((
            access.clone(),
            now.saturating_add(Duration::from_secs(ACCESS_LIFE)),
        ));
        keycloak_ok(&access, ACCESS_LIFE, refresh_life)
    }

    fn expiry_of(&self, access: &str) -> Option<Timestamp> {
        self.access.iter().find(|(a, _)| a == access).map(|(_, e)| *e)
    }
}

/// The schedule a correct session must follow, derived independently:
/// renew 30 s before expiry (at 270 s of a 300 s token); when the refresh
/// token would be dead by then, the password grant; when a refresh is
/// refused, the password grant as soon as the refusal arrives (`latency`).
fn expected_counts(latency: u64) -> Counts {
    let end = HOURS_48 * 1000;
    let renew_after = (ACCESS_LIFE - 30) * 1000;
    let mut c = Counts {
        password: 1,
        ..Counts::default()
    };
    let mut sent = 0u64; // when the current token was requested (ms since start)
    let mut session_start = 0u64;
    let mut refresh_until = (REFRESH_LIFE * 1000).min(session_start + SSO_MAX * 1000);
    let mut attempts = 0;
    loop {
        let at = sent + renew_after;
        if at > end {
            break;
        }
        if at >= refresh_until {
            c.password += 1;
            c.password_refresh_expired += 1;
            session_start = at;
            sent = at;
        } else {
            attempts += 1;
            if rejects(attempts) {
                c.refresh_rejected += 1;
                let again = at + latency;
                if again > end {
                    break;
                }
                c.password += 1;
                c.password_after_refusal += 1;
                session_start = again;
                sent = again;
            } else {
                c.refresh_ok += 1;
                sent = at;
            }
        }
        let session_left = (session_start + SSO_MAX * 1000).saturating_sub(sent) / 1000 * 1000;
        refresh_until = sent + (REFRESH_LIFE * 1000).min(session_left);
    }
    c
}

/// Drives the session for 48 hours by jumping to `next_deadline()`, to the
/// arrival of a response, or to an application's use of the token.
fn run_48_hours(latency_ms: u64, use_gap_ms: u64) -> (Counts, u64, u64) {
    let t0 = Timestamp::from_unix_secs(1_700_000_000);
    let end = t0.saturating_add(Duration::from_secs(HOURS_48));
    let latency = Duration::from_millis(latency_ms);
    let mut server = Keycloak::new();
    let mut s = new_session();
    let mut now = t0;
    let mut pending: Option<(Timestamp, http::Response<Vec<u8>>)> = None;
    let mut steps = 0u64;
    let mut uses = 0u64;
    let mut rng = Rng(0x5EED);
    let max_steps = 20 * HOURS_48 / 270 + 4 * HOURS_48 * 1000 / use_gap_ms.max(1);
    while now <= end {
        steps += 1;
        assert!(steps <= max_steps, "no termination within {max_steps} steps");
        let mut progressed = false;
        if let Some((at, _)) = &pending {
            if *at <= now {
                let (_, response) = pending.take().unwrap();
                assert!(s.in_flight().is_some());
                // A refused refresh is Ok(()) too: the password grant follows.
                s.handle_response(now, response)
                    .expect("Keycloak answers are usable");
                progressed = true;
            }
        }
        match s.poll(now).unwrap() {
            SessionAction::UseToken(token) => {
                let expiry = server
                    .expiry_of(token.expose_secret())
                    .expect("a token Keycloak issued");
                assert!(now < expiry, "UseToken with an expired token at {now:?}");
                uses += 1;
            }
            SessionAction::Send(request) => {
                assert!(pending.is_none(), "two requests in flight at {now:?}");
                let response = server.answer(now, request.as_http());
                pending = Some((now.saturating_add(latency), response));
                progressed = true;
            }
            SessionAction::Wait(until) => {
                assert!(
                    pending.is_some(),
                    "waiting at {now:?} until {until:?} with nothing in flight"
                );
            }
        }
        let gap = Duration::from_millis(1 + rng.next() % use_gap_ms.max(1));
        let mut next = s.next_deadline().expect("the session never ends here");
        next = next.min(now.saturating_add(gap));
        if let Some((at, _)) = &pending {
            next = next.min(*at);
        }
        if next <= now {
            assert!(
                progressed,
                "next_deadline() {next:?} asks for a poll at {now:?} that does nothing"
            );
        } else {
            now = next;
        }
    }
    (server.counts, steps, uses)
}

#[test]
fn session_through_48_virtual_hours() {
    for (latency, use_gap) in [
        (0u64, 45_000u64),
        (1_500, 45_000),
        (0, 600_000),
        (2_000, 3_600_000),
    ] {
        let (counts, steps, uses) = run_48_hours(latency, use_gap);
        let want = expected_counts(latency);
        assert_eq!(counts, want, "latency {latency} ms, use gap {use_gap} ms");
        // The bounds, without the model: one successful grant per 270 s
        // (plus the first), a few more after refusals, and nothing more.
        let grants = counts.password + counts.refresh_ok;
        let per_270 = HOURS_48 / 270 + 1;
        assert!(grants <= per_270, "{grants} grants in 48 h");
        assert!(grants + counts.refresh_rejected >= per_270, "{counts:?}");
        assert!(counts.refresh_rejected > 0 && counts.refresh_ok > 0, "{counts:?}");
        // Both fallbacks happened, and each is the only reason for a password grant.
        assert!(
            counts.password_refresh_expired > 0 && counts.password_after_refusal > 0,
            "{counts:?}"
        );
        assert_eq!(
            counts.password,
            1 + counts.password_refresh_expired + counts.password_after_refusal
        );
        assert!(counts.password * 4 < counts.refresh_ok, "{counts:?}");
        assert!(uses > 0 && steps > grants);
    }
    // The derivation itself, for zero latency: 640 renewals in 48 h.
    let zero = expected_counts(0);
    assert_eq!(zero.password + zero.refresh_ok, HOURS_48 / 270 + 1);
}

// ---------------------------------------------------------------------------
// Core value types.

fn arb_duration() -> impl Strategy<Value = Duration> {
    prop_oneof![
        (0u64..10_000_000).prop_map(Duration::from_millis),
        (any::<u64>(), 0u32..1_000_000_000).prop_map(|(s, n)| Duration::new(s, n)),
        Just(Duration::MAX),
        Just(Duration::ZERO),
    ]
}

fn arb_ms() -> impl Strategy<Value = u64> {
    prop_oneof![
        any::<u64>(),
        0u64..4_000_000_000_000,
        (u64::MAX - 1_000_000)..=u64::MAX
    ]
}

fn millis_of(d: Duration) -> u128 {
    d.as_millis().min(u128::from(u64::MAX))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    #[test]
    fn timestamp_arithmetic_saturates(a in arb_ms(), b in arb_ms(), d in arb_duration(), secs in any::<u64>()) {
        let ta = Timestamp::from_unix_millis(a);
        let tb = Timestamp::from_unix_millis(b);
        prop_assert_eq!(ta.as_unix_millis(), a);
        prop_assert_eq!(ta.cmp(&tb), a.cmp(&b));
        let max = u128::from(u64::MAX);
        prop_assert_eq!(
            u128::from(Timestamp::from_unix_secs(secs).as_unix_millis()),
            (u128::from(secs) * 1000).min(max)
        );
        prop_assert_eq!(u128::from(ta.saturating_add(d).as_unix_millis()), (u128::from(a) + millis_of(d)).min(max));
        prop_assert_eq!(
            u128::from(ta.saturating_sub(d).as_unix_millis()),
            u128::from(a).saturating_sub(millis_of(d))
        );
        prop_assert_eq!(ta.saturating_duration_since(tb), Duration::from_millis(a.saturating_sub(b)));
        prop_assert!(ta.saturating_add(d) >= ta);
        prop_assert!(ta.saturating_sub(d) <= ta);
        prop_assert_eq!(RetryAfter::Delay(d).deadline(ta), ta.saturating_add(d));
        prop_assert_eq!(RetryAfter::At(tb).deadline(ta), tb);
        prop_assert!(!RetryAfter::Delay(d).to_string().is_empty());
    }

    #[test]
    fn timestamp_from_system_time(ms in 0u64..(1u64 << 50), nanos in 0u32..1_000_000, before in any::<bool>()) {
        let d = Duration::from_millis(ms) + Duration::from_nanos(u64::from(nanos));
        if before {
            if let Some(t) = UNIX_EPOCH.checked_sub(d) {
                prop_assert_eq!(Timestamp::from_system_time(t), Timestamp::EPOCH);
            }
        } else if let Some(t) = UNIX_EPOCH.checked_add(d) {
            prop_assert_eq!(Timestamp::from_system_time(t), Timestamp::from_unix_millis(ms));
        }
        // Never panics at the extremes a SystemTime can hold.
        let _ = Timestamp::from_system_time(SystemTime::now());
    }

    #[test]
    fn renew_at_stays_within_the_token_life(o in arb_ms(), life in arb_ms(), margin in arb_duration()) {
        let obtained = Timestamp::from_unix_millis(o);
        let expires = Timestamp::from_unix_millis(o.saturating_add(life));
        let token = TokenSet::new(AccessToken::new("t"), obtained, Some(expires));
        let r = token.renew_at(margin).unwrap();
        let e = expires.as_unix_millis();
        let half = (e - o) / 2;
        // Never after expiry, never before half-way, never more than `margin` early.
        prop_assert!(r <= expires);
        prop_assert!(r.as_unix_millis() >= o + half, "renew at {:?} before half-life of [{o}, {e}]", r);
        prop_assert!(u128::from(r.as_unix_millis()) >= u128::from(e).saturating_sub(millis_of(margin)));
        // Exactly `margin` early when the margin is within the first half.
        if millis_of(margin) <= u128::from(half) && margin.subsec_nanos() % 1_000_000 == 0 {
            prop_assert_eq!(u128::from(r.as_unix_millis()), u128::from(e) - millis_of(margin));
        }
        // Freshness agrees with validity.
        for now in [obtained, r, expires, Timestamp::from_unix_millis(e.saturating_sub(1))] {
            if token.is_fresh(now, margin) {
                prop_assert!(token.is_valid(now));
            }
            prop_assert_eq!(token.is_valid(now), now < expires);
        }
        let forever = TokenSet::new(AccessToken::new("t"), obtained, None);
        prop_assert_eq!(forever.renew_at(margin), None);
        prop_assert!(forever.is_valid(Timestamp::MAX));
    }

    /// A token whose expiry precedes its obtained time (a restored, skewed
    /// cache) is renewed at its expiry, never later.
    #[test]
    fn renew_at_with_skewed_times(o in arb_ms(), e in arb_ms(), margin in arb_duration()) {
        let token = TokenSet::new(AccessToken::new("t"), Timestamp::from_unix_millis(o), Some(Timestamp::from_unix_millis(e)));
        let r = token.renew_at(margin).unwrap();
        prop_assert!(r.as_unix_millis() <= e);
        if e <= o {
            prop_assert_eq!(r.as_unix_millis(), e);
        }
    }

    #[test]
    fn signature_base64_round_trips_wrapped(
        der in prop::collection::vec(any::<u8>(), 0..400),
        width in prop::sample::select(vec![64usize, 76]),
        crlf in any::<bool>(),
        strip_padding in any::<bool>(),
        trailing_newline in any::<bool>(),
        leading_space in any::<bool>(),
    ) {
        let sig = Signature::from_der(der.clone());
        let one_line = sig.to_base64();
        prop_assert_eq!(one_line.len(), der.len().div_ceil(3) * 4);
        prop_assert!(one_line.bytes().all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b)));
        let mut text = if strip_padding { one_line.trim_end_matches('=').to_owned() } else { one_line.clone() };
        let eol = if crlf { "\r\n" } else { "\n" };
        text = text
            .as_bytes()
            .chunks(width)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect::<Vec<_>>()
            .join(eol);
        if trailing_newline {
            text.push_str(eol);
        }
        if leading_space {
            text.insert(0, ' ');
        }
        let back = Signature::from_base64(&text).unwrap();
        prop_assert_eq!(back.as_der(), &der[..]);
        prop_assert_eq!(back.to_base64(), one_line);
        prop_assert_eq!(back, sig);
    }

    #[test]
    fn signature_base64_rejects_foreign_characters(
        der in prop::collection::vec(any::<u8>(), 1..100),
        bad in prop::sample::select(vec!['!', '-', '_', '*', '.', ':', '"', '\0', 'é', '\u{7f}', '@', '$']),
        at in any::<prop::sample::Index>(),
    ) {
        let mut text: Vec<char> = Signature::from_der(der).to_base64().chars().collect();
        let i = at.index(text.len() + 1);
        text.insert(i, bad);
        let text: String = text.into_iter().collect();
        prop_assert_eq!(
            Signature::from_base64(&text),
            Err(Error::Usage(UsageError::InvalidSignatureEncoding)),
            "accepted {:?}", text
        );
    }

    #[test]
    fn signature_base64_rejects_data_after_padding(
        der in prop::collection::vec(any::<u8>(), 1..60),
        extra in "[A-Za-z0-9+/]{1,4}",
    ) {
        let encoded = Signature::from_der(der).to_base64();
        prop_assume!(encoded.ends_with('='));
        let text = format!("{encoded}{extra}");
        prop_assert!(Signature::from_base64(&text).is_err(), "accepted {:?}", text);
    }

    #[test]
    fn signature_base64_never_panics(text in prop_oneof![".*", "[A-Za-z0-9+/=\r\n \t]{0,64}"]) {
        if let Ok(sig) = Signature::from_base64(&text) {
            let symbols = text.bytes().filter(|b| !b.is_ascii_whitespace() && *b != b'=').count();
            prop_assert!(symbols % 4 != 1, "{:?}", text);
            prop_assert_eq!(sig.as_der().len(), symbols * 6 / 8);
            // What was decoded decodes again from its canonical form.
            prop_assert_eq!(Signature::from_base64(&sig.to_base64()).unwrap(), sig);
        }
    }
}

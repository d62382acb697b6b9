//! Tracing, optional and redacted (feature `tracing`), in the style of
//! str0m's PII test: a subscriber that records every field of every span and
//! event (`common::traced`) is installed, every token flow of the shared
//! table is driven through it (success, refusals that echo each secret the
//! request carried in every encoding the leak oracle knows, proxies' pages,
//! redirects, unusable answers, a lost request), and so are the ITC session,
//! the CRPT token keeper, a fleet keeper and `call::Authorized` with a query,
//! a header and a body that carry canaries. No canary may appear in any
//! field, in any form the oracle finds (`common::leak_oracle`), not even its
//! prefix. And the positive side: each step's events are there with the
//! fields the README promises, so silence fails too.
//!
//! The `leaks` suite, built with this feature, also reads every event its
//! flows emit (its collector installs the same recorder).

mod common;

use std::sync::OnceLock;

use common::flows::{Canaries, Success, TokenFlow, TOKEN_FLOWS};
use common::keycloak;
use common::leak_oracle::{base64, encodings, Oracle, B64_STD};
use common::steps::{KEY_ANSWER, MDLP_CODE_ANSWER};
use common::time::{at, T0};
use common::traced::{Recording, Traced};
use tokendance::call::{Authorized, Reissue, Scheme};
use tokendance::crpt::{KeeperAction, TokenKeeper};
use tokendance::fleet::{FleetKeeper, FleetSettings, FleetSource, MemoryStore};
use tokendance::oauth2::SessionAction;
use tokendance::{drive, gam, itc, Action, ClientSecret, Error, Input, Password, Signature, TokenSet};

// ---------------------------------------------------------------------------
// Canaries.

const CANARIES: Canaries = Canaries {
    password: "CANARY-tr-pw-1a2b",
    client_secret: "CANARY-tr-cs-3c4d",
    code: "CANARY-tr-code-5e6f",
    mdlp_secret: "CANARY-tr-mcs-7a8b",
    mdlp_password: "CANARY-tr-mpw-9c0d",
};
const ACCESS: &str = "CANARY-tr-at-1f2e";
const ACCESS_2: &str = "CANARY-tr-at2-2e3d";
const REFRESH: &str = "CANARY-tr-rt-3d4c";
const ITC_PASSWORD: &str = "CANARY-tr-itc-7e8f";
const SIG_DER: &[u8] = b"CANARY-tr-sig-5b6a";
/// What an API call carries besides its token: never traced.
const QUERY: &str = "CANARY-tr-query-4a4a";
const HEADER: &str = "CANARY-tr-header-5b5b";
const BODY: &str = "CANARY-tr-body-6c6c";

fn all_canaries() -> Vec<String> {
    let c = CANARIES;
    [
        c.password,
        c.client_secret,
        c.code,
        c.mdlp_secret,
        c.mdlp_password,
        ACCESS,
        ACCESS_2,
        REFRESH,
        ITC_PASSWORD,
        QUERY,
        HEADER,
        BODY,
    ]
    .map(str::to_owned)
    .into_iter()
    .chain([String::from_utf8(SIG_DER.to_vec()).unwrap(), sig_b64()])
    .collect()
}

fn oracle() -> &'static Oracle {
    static ORACLE: OnceLock<Oracle> = OnceLock::new();
    ORACLE.get_or_init(|| {
        let canaries = all_canaries();
        let texts: Vec<&str> = canaries.iter().map(String::as_str).collect();
        Oracle::new(&texts, &[SIG_DER])
    })
}

fn sig_b64() -> String {
    base64(SIG_DER, B64_STD, true)
}

/// Fails if any field of anything recorded shows a canary, in any form.
#[track_caller]
fn assert_clean(label: &str, records: &[Traced]) {
    for record in records {
        for text in record.texts() {
            let leak = oracle()
                .find(text)
                .or_else(|| text.contains("CANARY").then(|| "a canary prefix".to_owned()));
            if let Some(leak) = leak {
                panic!("{label}: {leak} in {} {}: {record:?}", record.kind, record.name);
            }
        }
    }
}

// ---------------------------------------------------------------------------
// What the positive side reads.

fn events<'a>(records: &'a [Traced], name: &str) -> Vec<&'a Traced> {
    records
        .iter()
        .filter(|r| r.kind == "event" && r.name == name)
        .collect()
}

#[track_caller]
fn field<'a>(record: &'a Traced, name: &str) -> &'a str {
    record
        .field(name)
        .unwrap_or_else(|| panic!("{} has no field {name}: {record:?}", record.name))
}

/// Every event ran inside a span that names its provider and flow.
#[track_caller]
fn assert_named(label: &str, records: &[Traced], provider: &str) {
    let emitted: Vec<&Traced> = records.iter().filter(|r| r.kind == "event").collect();
    assert!(!emitted.is_empty(), "{label}: no event at all");
    for event in emitted {
        assert_eq!(event.field("provider"), Some(provider), "{label}: {event:?}");
        assert!(event.field("flow").is_some(), "{label}: {event:?}");
        assert!(event.field("at").is_some(), "{label}: {event:?}");
    }
}

// ---------------------------------------------------------------------------
// Driving the flows of the shared table.

fn json(status: u16, body: &str) -> http::Response<Vec<u8>> {
    http::Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(body.as_bytes().to_vec())
        .unwrap()
}

fn response(status: u16, headers: &[(&str, &str)], body: impl Into<Vec<u8>>) -> http::Response<Vec<u8>> {
    let mut builder = http::Response::builder().status(status);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(body.into()).unwrap()
}

/// The valid answer to request `index` of `flow` before its last.
fn intermediate(flow: &TokenFlow) -> http::Response<Vec<u8>> {
    match flow.success {
        Success::Crpt => json(200, KEY_ANSWER),
        Success::Mdlp => json(200, MDLP_CODE_ANSWER),
        Success::OAuth | Success::Astana => unreachable!("{}: one request", flow.name),
    }
}

/// What one run of a flow sent, and how it ended.
struct Run {
    paths: Vec<String>,
    result: Result<TokenSet, Error>,
}

/// Runs `flow` with valid answers, except `answer` (with the
/// secrets a server could echo there) for request `at` (0-based); the
/// transport fails instead when `answer` is `None`.
fn run(flow: &TokenFlow, at_request: usize, answer: Option<http::Response<Vec<u8>>>) -> Run {
    let mut built = (flow.build)(&CANARIES).unwrap();
    let mut answer = Some(answer);
    let mut paths = Vec::new();
    let mut now = T0;
    let mut step = built.start(now);
    let result = loop {
        step = match step {
            Err(e) => break Err(e),
            Ok(Action::Done(token)) => break Ok(token),
            Ok(Action::Send(request)) => {
                paths.push(request.as_http().uri().path().to_owned());
                let input = if paths.len() - 1 == at_request {
                    match answer.take().flatten() {
                        Some(response) => Input::Response(response),
                        None => Input::Failed,
                    }
                } else if paths.len() < flow.requests {
                    Input::Response(intermediate(flow))
                } else {
                    Input::Response(json(200, &flow.success.body(ACCESS)))
                };
                built.resume(now, input)
            }
            Ok(Action::Sign(_)) => built.resume(now, Input::Signature(Signature::from_der(SIG_DER.to_vec()))),
            Ok(Action::Wait(until)) => {
                now = until;
                built.resume(now, Input::Timeout)
            }
            Ok(Action::Store(_)) => panic!("{}: a token flow asked for the store", flow.name),
        };
    };
    Run { paths, result }
}

/// The secrets the server answering request `at` of `flow` has been sent.
fn sent_secrets(flow: &TokenFlow, at_request: usize) -> Vec<String> {
    let mut secrets: Vec<String> = (flow.carries)(&CANARIES).into_iter().map(str::to_owned).collect();
    if flow.signature.is_some() && at_request + 1 == flow.requests {
        secrets.push(sig_b64());
    }
    secrets
}

/// Hostile answers for a server that was sent `secrets`: each secret in
/// every encoding the oracle knows, as an error code and as a message, and
/// the answers no flow can use, some holding a token of their own.
fn hostile_answers(secrets: &[String]) -> Vec<(String, http::Response<Vec<u8>>)> {
    let quote = |s: &str| serde_json::to_string(s).unwrap();
    let mut answers = Vec::new();
    for secret in secrets {
        for (encoding, echoed) in encodings(secret) {
            let message = quote(&format!("bad credentials {echoed}"));
            answers.push((
                format!("message echoing, {encoding}"),
                json(
                    401,
                    &format!(r#"{{"error":"invalid_grant","error_description":{message}}}"#),
                ),
            ));
            answers.push((
                format!("code echoing, {encoding}"),
                json(
                    400,
                    &format!(r#"{{"error":{},"code":{}}}"#, quote(&echoed), quote(&echoed)),
                ),
            ));
        }
    }
    let all = secrets.join(" ");
    let quoted = quote(&all);
    answers.extend([
        (
            "rate limit echoing".to_owned(),
            response(
                429,
                &[("retry-after", "120"), ("content-type", "application/json")],
                format!(r#"{{"error":"slow_down","error_description":{quoted}}}"#),
            ),
        ),
        (
            "HTML page echoing".to_owned(),
            response(502, &[("content-type", "text/html")], format!("<html>{all}</html>")),
        ),
        (
            "redirect with secrets in the query".to_owned(),
            response(
                302,
                &[("location", &format!("https://evil.example/cb?t={ACCESS}&s={}", sig_b64()))],
                Vec::new(),
            ),
        ),
        (
            "200 holding a token with a malformed lifetime".to_owned(),
            json(200, &format!(r#"{{"access_token":"{ACCESS}","expires_in":"soon {ACCESS}","token":17,"life_time":"x"}}"#)),
        ),
        (
            "refusal in a 200 next to a token".to_owned(),
            json(200, &format!(r#"{{"access_token":"{ACCESS}","token":"{ACCESS}","success":false,"error":{quoted},"code":{quoted}}}"#)),
        ),
        (
            "oversized body".to_owned(),
            json(200, &format!(r#"{{"token":"{ACCESS}","pad":"{}"}}"#, "p".repeat(70_000))),
        ),
        ("empty 403".to_owned(), response(403, &[], Vec::new())),
    ]);
    answers
}

/// Every flow of the table, through every hostile answer at every one of
/// its requests and a lost request: nothing recorded shows a canary, and
/// each failure is traced with its kind and status.
#[test]
fn no_trace_of_any_flow_shows_a_secret() {
    let recording = Recording::default();
    let mut runs = 0;
    for flow in TOKEN_FLOWS {
        for at_request in 0..flow.requests {
            for (scenario, answer) in hostile_answers(&sent_secrets(flow, at_request)) {
                let status = answer.status().as_u16();
                recording.recorder.clear();
                let outcome = run(flow, at_request, Some(answer));
                let records = recording.records();
                let label = format!("{} / request {at_request} / {scenario}", flow.name);
                assert_clean(&label, &records);
                assert!(outcome.result.is_err(), "{label}: gave a token");
                let failed = events(&records, "tokendance.failed");
                let [failed] = failed.as_slice() else {
                    panic!("{label}: {} failure events", failed.len())
                };
                assert!(!field(failed, "outcome").is_empty(), "{label}");
                assert_eq!(field(failed, "status"), status.to_string(), "{label}");
                let responses = events(&records, "tokendance.response");
                assert_eq!(responses.len(), at_request + 1, "{label}");
                runs += 1;
            }
            recording.recorder.clear();
            let lost = run(flow, at_request, None);
            let records = recording.records();
            assert_clean(&format!("{}: lost request", flow.name), &records);
            assert!(matches!(
                lost.result,
                Err(Error::Usage(tokendance::UsageError::Aborted))
            ));
            let failed = events(&records, "tokendance.failed");
            assert_eq!(failed.len(), 1, "{}: {records:?}", flow.name);
            assert_eq!(field(failed[0], "outcome"), "aborted");
        }
    }
    assert!(runs > 1_000, "only {runs} runs");
}

/// Each flow's success, step by step: a request per request sent (method,
/// path without the query), a response per answer (status), the signature
/// and the wait asked for, and the token's expiry, all inside the flow's span.
#[test]
fn every_step_of_every_flow_is_traced() {
    let recording = Recording::default();
    let mut expiring = 0;
    for flow in TOKEN_FLOWS {
        recording.recorder.clear();
        let outcome = run(flow, usize::MAX, None);
        let records = recording.records();
        let label = flow.name;
        assert_clean(label, &records);
        let token = outcome.result.unwrap_or_else(|e| panic!("{label}: {e}"));
        let spans: Vec<&Traced> = records
            .iter()
            .filter(|r| r.kind == "span" && r.name == "tokendance.flow")
            .collect();
        assert_eq!(spans.len(), 1, "{label}: {records:?}");
        let provider = field(spans[0], "provider");
        assert_named(label, &records, provider);

        let requests = events(&records, "tokendance.request");
        let paths: Vec<&str> = requests.iter().map(|r| field(r, "path")).collect();
        assert_eq!(paths, outcome.paths, "{label}");
        for request in &requests {
            assert!(
                ["GET", "POST"].contains(&field(request, "method")),
                "{label}: {request:?}"
            );
            assert!(!field(request, "step").is_empty());
        }
        let responses = events(&records, "tokendance.response");
        assert_eq!(responses.len(), flow.requests, "{label}");
        assert!(responses.iter().all(|r| field(r, "status") == "200"), "{label}");
        assert_eq!(
            events(&records, "tokendance.sign").len(),
            usize::from(flow.signature.is_some()),
            "{label}"
        );
        if let Some(sign) = events(&records, "tokendance.sign").first() {
            assert_eq!(field(sign, "kind"), format!("{:?}", flow.signature.unwrap()));
        }
        let waits = events(&records, "tokendance.wait");
        assert_eq!(waits.len(), usize::from(flow.spacing.is_some()), "{label}");
        for wait in waits {
            assert!(field(wait, "until").parse::<u64>().unwrap() > T0.as_unix_millis());
        }
        let outcomes = events(&records, "tokendance.outcome");
        let [done] = outcomes.as_slice() else {
            panic!("{label}: {outcomes:?}")
        };
        assert_eq!(field(done, "outcome"), "done");
        let expires = token.expires_at().map(|t| t.as_unix_millis().to_string());
        assert_eq!(done.field("expires_at").map(str::to_owned), expires, "{label}");
        expiring += usize::from(expires.is_some());
    }
    // Astana-plat's token names no lifetime; every other one does.
    assert!(
        expiring >= TOKEN_FLOWS.len() - 2,
        "only {expiring} tokens traced with an expiry"
    );
}

/// A refusal's event carries the server's code when it echoes nothing, and
/// the scrubber's verdict when it does.
#[test]
fn a_refusal_is_traced_with_its_kind_status_and_scrubbed_code() {
    let recording = Recording::default();
    let flow = common::flows::token_flow("gam");
    let refusal = json(
        401,
        r#"{"error":"invalid_client","error_description":"unknown client"}"#,
    );
    run(flow, 0, Some(refusal));
    let records = recording.records();
    let failed = events(&records, "tokendance.failed");
    assert_eq!(field(failed[0], "outcome"), "invalid_client");
    assert_eq!(field(failed[0], "status"), "401");
    assert_eq!(field(failed[0], "code"), "invalid_client");
    assert_eq!(field(failed[0], "retryable"), "false");
    // The message is never a field.
    assert!(records
        .iter()
        .all(|r| r.texts().all(|t| !t.contains("unknown client"))));

    recording.recorder.clear();
    let echo = json(400, &format!(r#"{{"error":"{}"}}"#, CANARIES.client_secret));
    run(flow, 0, Some(echo));
    let records = recording.records();
    assert_clean("echoed code", &records);
    assert_eq!(
        field(events(&records, "tokendance.failed")[0], "code"),
        tokendance::WITHHELD
    );
}

// ---------------------------------------------------------------------------
// Holders and calls.

fn session() -> tokendance::oauth2::PasswordSession {
    itc::session(&itc::Config::staging(), "user-one", Password::new(ITC_PASSWORD)).unwrap()
}

#[track_caller]
fn session_send(session: &mut tokendance::oauth2::PasswordSession, now: tokendance::Timestamp) {
    match session.poll(now).unwrap() {
        SessionAction::Send(_) => {}
        other => panic!("expected Send, got {other:?}"),
    }
}

/// The ITC session: its grants, their answers, a token's expiry, a
/// refused refresh, a server failure's back-off, a lost request.
#[test]
fn the_session_is_traced_without_its_secrets() {
    let recording = Recording::default();
    let mut s = session();
    session_send(&mut s, T0);
    s.handle_response(T0, keycloak::token(ACCESS, REFRESH)).unwrap();
    let due = at(290);
    session_send(&mut s, due);
    let echo = format!(
        r#"{{"error":"temporarily_unavailable","error_description":"{REFRESH} {ACCESS} {ITC_PASSWORD}"}}"#
    );
    assert!(s.handle_response(due, keycloak::response(503, echo)).is_err());
    // The access token has expired, the refresh token has not.
    let later = at(400);
    session_send(&mut s, later);
    let refused =
        format!(r#"{{"error":"invalid_grant","error_description":"Token is not active {REFRESH}"}}"#);
    s.handle_response(later, keycloak::response(400, refused))
        .unwrap();
    session_send(&mut s, later);
    s.transport_failed(later).unwrap();
    let records = recording.records();
    assert_clean("session", &records);
    assert_named("session", &records, "itc");
    assert!(records
        .iter()
        .any(|r| r.kind == "span" && r.name == "tokendance.session"));

    let steps: Vec<&str> = events(&records, "tokendance.request")
        .iter()
        .map(|r| field(r, "step"))
        .collect();
    assert_eq!(steps, ["password_grant", "refresh", "refresh", "password_grant"]);
    let statuses: Vec<&str> = events(&records, "tokendance.response")
        .iter()
        .map(|r| field(r, "status"))
        .collect();
    assert_eq!(statuses, ["200", "503", "400"]);
    let outcomes: Vec<&str> = events(&records, "tokendance.outcome")
        .iter()
        .map(|r| field(r, "outcome"))
        .collect();
    assert_eq!(outcomes, ["token", "refresh_refused"]);
    let token = events(&records, "tokendance.outcome")[0];
    let expires = s.tokens().unwrap().expires_at().unwrap().as_unix_millis();
    assert_eq!(field(token, "expires_at"), expires.to_string());
    let failed: Vec<&str> = events(&records, "tokendance.failed")
        .iter()
        .map(|r| field(r, "outcome"))
        .collect();
    assert_eq!(failed, ["unavailable", "invalid_grant", "aborted"]);
    let backoffs = events(&records, "tokendance.backoff");
    assert_eq!(backoffs.len(), 2, "the 503 and the lost request");
    let until: u64 = field(backoffs[0], "backoff_until").parse().unwrap();
    assert!(until > due.as_unix_millis());
}

/// The CRPT token keeper: a ticket, a renewal with its expiry, a rejected
/// token, a failed renewal's back-off; the sign-in's own span inside.
#[test]
fn the_crpt_keeper_is_traced() {
    let recording = Recording::default();
    let mut keeper = TokenKeeper::new("conn-1");
    let KeeperAction::Renew(ticket) = keeper.poll(T0) else {
        panic!("expected a renewal")
    };
    let token = run(common::flows::token_flow("true api"), usize::MAX, None)
        .result
        .unwrap();
    let expires = token.expires_at().unwrap().as_unix_millis();
    keeper.renewed(ticket, token).unwrap();
    let used = keeper.usable_token(T0).unwrap().clone();
    keeper.token_rejected(T0, &used);
    let KeeperAction::Renew(ticket) = keeper.poll(at(600)) else {
        panic!("expected a renewal after the rejection")
    };
    keeper.renewal_failed(ticket, at(600), Some(at(660))).unwrap();
    assert!(matches!(keeper.poll(at(601)), KeeperAction::Wait(_)));
    let records = recording.records();
    assert_clean("keeper", &records);
    assert!(records
        .iter()
        .any(|r| r.kind == "span" && r.name == "tokendance.keeper"));
    let keeper_events: Vec<&Traced> = records
        .iter()
        .filter(|r| r.kind == "event" && r.field("provider") == Some("crpt"))
        .collect();
    let outcomes: Vec<&str> = keeper_events
        .iter()
        .filter(|r| r.name == "tokendance.outcome")
        .map(|r| field(r, "outcome"))
        .collect();
    assert_eq!(
        outcomes,
        [
            "renewal_ticket",
            "token",
            "token_rejected",
            "renewal_ticket",
            "renewal_failed"
        ]
    );
    let renewed = keeper_events
        .iter()
        .find(|r| r.field("outcome") == Some("token"))
        .unwrap();
    assert_eq!(field(renewed, "expires_at"), expires.to_string());
    let backoff = events(&records, "tokendance.backoff");
    assert_eq!(
        field(backoff[0], "backoff_until"),
        at(660).as_unix_millis().to_string()
    );
    assert_eq!(events(&records, "tokendance.wait").len(), 1);
}

/// An API request carrying canaries in its query, a header and its body.
fn api_request() -> http::Request<Vec<u8>> {
    http::Request::post(format!(
        "https://gateway-staging.gam.vn/oms/api/v1/orders?key={QUERY}"
    ))
    .header("x-api-key", HEADER)
    .body(format!(r#"{{"note":"{BODY}"}}"#).into_bytes())
    .unwrap()
}

/// A GAM token flow built with the canaries.
fn gam_flow() -> Result<tokendance::TokenRequest, Error> {
    gam::client_credentials(
        &gam::Config::staging(),
        "partner-app",
        ClientSecret::new(CANARIES.client_secret),
        "orders",
    )
}

/// `Authorized` over a `Reissue`: the call's span (method, path without
/// the query), its attempt and its retry after a 401 that echoes the token,
/// the token flows' own spans inside.
#[test]
fn an_authorized_call_is_traced_without_query_headers_or_body() {
    let recording = Recording::default();
    let mut source = Reissue::new(gam_flow);
    let mut tokens = [ACCESS, ACCESS_2].into_iter();
    let mut api_answers = [
        response(
            401,
            &[(
                "www-authenticate",
                &format!(r#"Bearer error="invalid_token", error_description="{ACCESS}""#),
            )],
            Vec::new(),
        ),
        json(200, r#"{"status":"ok"}"#),
    ]
    .into_iter();
    let call = Authorized::new(&mut source, api_request(), Scheme::Bearer).unwrap();
    let answered = drive::drive(
        call,
        || T0,
        |request| {
            Ok::<_, std::convert::Infallible>(if request.uri().path() == "/oauth2/v3/token" {
                json(200, &Success::OAuth.body(tokens.next().unwrap()))
            } else {
                api_answers.next().unwrap()
            })
        },
        drive::no_signer,
        |_| {},
    )
    .unwrap();
    assert_eq!(answered.status(), 200);
    let records = recording.records();
    assert_clean("authorized", &records);
    let span = records
        .iter()
        .find(|r| r.kind == "span" && r.name == "tokendance.call")
        .unwrap();
    assert_eq!(field(span, "method"), "POST");
    assert_eq!(field(span, "path"), "/oms/api/v1/orders");
    assert_eq!(field(span, "scheme"), "bearer");
    let api: Vec<(&str, &str)> = events(&records, "tokendance.request")
        .iter()
        .map(|r| (field(r, "step"), field(r, "path")))
        .collect();
    assert_eq!(
        api,
        [
            ("Awaiting", "/oauth2/v3/token"),
            ("api", "/oms/api/v1/orders"),
            ("Awaiting", "/oauth2/v3/token"),
            ("retry", "/oms/api/v1/orders"),
        ]
    );
    // The token flows ran inside the call's span, each in its own.
    for request in events(&records, "tokendance.request") {
        assert_eq!(request.field("scheme"), Some("bearer"));
    }
    let outcomes: Vec<(&str, &str)> = events(&records, "tokendance.outcome")
        .iter()
        .map(|r| (field(r, "step"), field(r, "outcome")))
        .collect();
    assert_eq!(
        outcomes,
        [
            ("Awaiting", "done"),
            ("api", "token_refused"),
            ("Awaiting", "done"),
            ("retry", "done")
        ]
    );
}

/// A fleet keeper's renewal that fails: the keeper's span, the failure of
/// the token flow inside it, and the back-off it publishes.
#[test]
fn a_fleet_keepers_failed_renewal_is_traced() {
    let recording = Recording::default();
    let keeper = FleetKeeper::new("gam:orders", "pod-1", FleetSettings::default()).unwrap();
    let mut source = FleetSource::new(keeper, |_: Option<&TokenSet>| gam_flow());
    let mut store = MemoryStore::default();
    let echo = format!(
        r#"{{"error":"server_error","error_description":"{}"}}"#,
        CANARIES.client_secret
    );
    let call = Authorized::new(&mut source, api_request(), Scheme::Bearer).unwrap();
    let failed = drive::drive_with_store(
        call,
        || T0,
        |_| Ok::<_, std::convert::Infallible>(json(503, &echo)),
        drive::no_signer,
        |op| Ok(store.apply(op)),
        |until| panic!("the fleet source waited until {until:?} instead of failing"),
    );
    assert!(failed.is_err());
    let records = recording.records();
    assert_clean("fleet", &records);
    assert!(records
        .iter()
        .any(|r| r.kind == "span" && r.name == "tokendance.keeper" && r.field("provider") == Some("fleet")));
    let failure = events(&records, "tokendance.failed");
    assert!(failure
        .iter()
        .any(|r| field(r, "outcome") == "unavailable" && field(r, "status") == "503"));
    let backoffs = events(&records, "tokendance.backoff");
    assert!(!backoffs.is_empty(), "{records:?}");
    assert!(backoffs
        .iter()
        .all(|r| field(r, "backoff_until").parse::<u64>().unwrap() > T0.as_unix_millis()));
    assert!(events(&records, "tokendance.outcome")
        .iter()
        .any(|r| field(r, "outcome") == "renewal_failed" && r.field("provider") == Some("fleet")));
}

/// The SUZ registration, signed: its span, the signature asked for, the
/// request without its `omsId` query, the outcome without an expiry; the
/// registration key and the signature in no field.
#[test]
fn the_suz_registration_is_traced_without_its_key() {
    use tokendance::crpt::{registration, SuzStand};
    let recording = Recording::default();
    let mut flow = registration::register(
        &SuzStand::Demo.endpoint(),
        "cdf12109-10d3-11e6-8b6f-0050569977a1",
        tokendance::RegistrationKey::new(CANARIES.password),
        "Moscow, 1 Leninskie Gory",
        registration::Signing::Detached,
        registration::DEFAULT_API_VERSION,
    )
    .unwrap();
    let Ok(Action::Sign(_)) = tokendance::Flow::start(&mut flow, T0) else {
        panic!("expected the signature first")
    };
    let signature = Input::Signature(Signature::from_der(SIG_DER.to_vec()));
    let Ok(Action::Send(request)) = tokendance::Flow::resume(&mut flow, T0, signature) else {
        panic!("expected the registration")
    };
    assert!(request.as_http().uri().query().is_some());
    let answer = json(
        200,
        r#"{"omsConnection":"00000001-1B59-4000-8000-000000000000","status":"SUCCESS"}"#,
    );
    let Ok(Action::Done(_)) = tokendance::Flow::resume(&mut flow, T0, Input::Response(answer)) else {
        panic!("expected the registration's outcome")
    };
    let records = recording.records();
    assert_clean("registration", &records);
    assert_named("registration", &records, "suz");
    let path = field(events(&records, "tokendance.request")[0], "path");
    assert_eq!(path, request.as_http().uri().path());
    assert_eq!(
        field(events(&records, "tokendance.sign")[0], "purpose"),
        "SuzRegistrationBody"
    );
    let done = events(&records, "tokendance.outcome");
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].field("expires_at"), None);
}

//! A success is what the flow documents and nothing else.
//!
//! * Every provider documents HTTP 200 for success: a token step or an ITC
//!   business call answered with another 2xx and an otherwise valid body is
//!   `ProtocolError::UnexpectedStatus`. GAM envelopes accept 200, 201, 202.
//! * A success body carrying a failure verdict (`"success": false` in any
//!   spelling, a `code` that is not success-like next to the token) is a
//!   refusal. Where `code` is data (MDLP's one-time code, ITC's business
//!   codes) it stays data.
//! * Duplicate keys, at any depth, are `ProtocolError::Malformed` at `$`;
//!   inside error bodies they are never a success.
//! * A `crpt::KeeperSource` whose sign-in targets another connection than
//!   its keeper's fails before any sign-in request is sent.
//!
//! Each test counts its failing cases and reports them together.

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;

use tokendance::call::{Authorized, Scheme};
use tokendance::crpt::{gis_mt, true_api, GisMtStand, KeeperSource, TokenKeeper, TrueApiStand};
use tokendance::{Action, Error, Flow, Input, ProtocolError};

mod common;
use common::holders::suz_ping;
use common::steps::{mdlp_sign_in, signature, steps, Step, Step::*, KEY_ANSWER, MDLP_CODE_ANSWER};
use common::time::T0;
use common::{draw, resp, Tally};

// ------------------------------------------------------------ the steps

/// Every step that issues a token (or the data a token is issued for).
fn token_steps() -> Vec<Step> {
    steps(Step::issues_token)
}

/// The token steps and the ITC business calls.
fn token_steps_and_itc_calls() -> Vec<Step> {
    steps(|s| s.issues_token() || s.is_itc_call())
}

/// The steps where a `code` next to the token is a verdict: the OAuth token
/// answers, the CRPT key and sign-in answers, MDLP's token answer.
fn code_steps() -> Vec<Step> {
    steps(|s| s.issues_token() && !matches!(s, AstanaLogin | MdlpAuth | SuzRegistration))
}

impl Step {
    /// The fields of a valid success body (key, raw JSON value).
    fn success_fields(self) -> Vec<(&'static str, &'static str)> {
        match self {
            ItcToken | GamToken | MonPayToken => vec![
                ("access_token", r#""t-1""#),
                ("expires_in", "3600"),
                ("token_type", r#""Bearer""#),
            ],
            AstanaLogin => vec![("data", r#"{"token":"t-1"}"#)],
            GisMtKey | TrueApiKey => vec![("uuid", r#""u-1""#), ("data", r#""QNRPNPFGJZ""#)],
            GisMtSignIn | TrueApiSignIn => vec![("token", r#""t-1""#)],
            MdlpAuth => vec![("code", r#""b7b1abc9""#)],
            MdlpToken => vec![("token", r#""t-1""#), ("life_time", "30")],
            SuzRegistration => vec![("status", r#""SUCCESS""#), ("omsConnection", r#""CONN-1""#)],
            ItcConsumer => vec![("regNo", r#""AA12345678""#), ("loginName", r#""12345678901""#)],
            ItcProfile | ItcApproveQr => {
                vec![("code", r#""success""#), ("status", "200"), ("msg", r#""ok""#)]
            }
            GamPost | GamGet => vec![
                ("status", r#""200""#),
                ("message", r#""OK""#),
                ("timestamp", r#""2024-05-01T10:00:00Z""#),
                ("data", r#"{"id":7}"#),
            ],
        }
    }

    /// A valid success body with `extra` fields after its own.
    fn body_with(self, extra: &[(&str, &str)]) -> String {
        let fields: Vec<(String, String)> = self
            .success_fields()
            .into_iter()
            .chain(extra.iter().copied())
            .map(|(k, v)| (json_key(k), v.to_owned()))
            .collect();
        object(&fields)
    }
}

fn json_key(key: &str) -> String {
    serde_json::to_string(key).unwrap()
}

/// `{k: v, …}` from already encoded keys and values (which may repeat).
fn object(fields: &[(String, String)]) -> String {
    let inner: Vec<String> = fields.iter().map(|(k, v)| format!("{k}:{v}")).collect();
    format!("{{{}}}", inner.join(","))
}

fn answer(status: u16, body: &str) -> http::Response<Vec<u8>> {
    resp(status, body)
        .header("content-type", "application/json")
        .build()
}

/// `Ok` when `step` takes the answer as a success (the flow goes on, or is
/// done), the error otherwise.
fn feed(step: Step, status: u16, body: &str) -> Result<(), Error> {
    common::steps::feed(step, answer(status, body))
}

// ------------------------------------------------------------ verdicts

fn short(body: &str) -> String {
    if body.chars().count() > 120 {
        format!("{}…", body.chars().take(120).collect::<String>())
    } else {
        body.to_owned()
    }
}

fn must_succeed(got: Result<(), Error>) -> Result<(), String> {
    got.map_err(|err| format!("refused a success: {err:?}"))
}

fn must_be_unexpected_status(got: Result<(), Error>, status: u16) -> Result<(), String> {
    match got {
        Err(Error::Protocol(ProtocolError::UnexpectedStatus { status: s })) if s.as_u16() == status => Ok(()),
        Ok(()) => Err(format!("a success at HTTP {status}")),
        Err(err) => Err(format!("another error: {err:?}")),
    }
}

fn must_be_refusal(got: Result<(), Error>) -> Result<(), String> {
    match got {
        Err(Error::Server(_)) => Ok(()),
        Ok(()) => Err("a success".to_owned()),
        Err(err) => Err(format!("not a refusal: {err:?}")),
    }
}

fn must_be_malformed_body(got: Result<(), Error>) -> Result<(), String> {
    match got {
        Err(Error::Protocol(ProtocolError::Malformed { field, .. })) if field == "$" => Ok(()),
        Ok(()) => Err("a success".to_owned()),
        Err(err) => Err(format!("another error: {err:?}")),
    }
}

/// A verdict on what a step did with an answer.
type Verdict = fn(Result<(), Error>) -> Result<(), String>;

/// Feeds `body` to `step` at HTTP 200 and records `verdict` on what it did.
fn check_200(
    tally: &mut Tally,
    step: Step,
    body: &str,
    verdict: fn(Result<(), Error>) -> Result<(), String>,
) {
    tally.check(format_args!("{step:?} {body}"), verdict(feed(step, 200, body)));
}

// ------------------------------------------------------------ status

#[test]
fn only_200_is_a_success_for_token_steps_and_itc_calls() {
    let mut tally = Tally::new("token steps and ITC calls: only 200 is a success");
    for step in token_steps_and_itc_calls() {
        let body = step.body_with(&[]);
        tally.check(
            format_args!("{step:?} HTTP 200"),
            must_succeed(feed(step, 200, &body)),
        );
        for status in 201..=299 {
            let verdict = must_be_unexpected_status(feed(step, status, &body), status);
            tally.check(format_args!("{step:?} HTTP {status}"), verdict);
        }
    }
    tally.finish();
}

#[test]
fn gam_envelopes_are_a_success_at_200_201_and_202_only() {
    let mut tally = Tally::new("GAM envelopes: 200, 201, 202");
    for step in [GamPost, GamGet] {
        let body = step.body_with(&[]);
        for status in 200..=299 {
            let verdict = if status <= 202 {
                must_succeed(feed(step, status, &body))
            } else {
                must_be_unexpected_status(feed(step, status, &body), status)
            };
            tally.check(format_args!("{step:?} HTTP {status}"), verdict);
        }
    }
    tally.finish();
}

// ------------------------------------------------------------ verdicts in the body

#[test]
fn a_failure_verdict_in_a_success_body_is_a_refusal() {
    let mut tally = Tally::new("\"success\": false in any spelling");
    for step in token_steps_and_itc_calls() {
        for verdict in ["false", r#""false""#, r#""FALSE""#, "0"] {
            let body = step.body_with(&[("success", verdict)]);
            check_200(&mut tally, step, &body, must_be_refusal);
        }
    }
    tally.finish();
}

/// Codes that are not success-like.
const FAILED_CODES: [&str; 14] = [
    r#""invalidToken""#,
    r#""E1""#,
    r#""error""#,
    r#""FAILED""#,
    r#""1""#,
    "1",
    r#""199""#,
    "199",
    r#""300""#,
    "300",
    "500",
    r#""500""#,
    "-1",
    r#""200x""#,
];

/// Codes that are success-like: 0, 200–299 (number or numeric string),
/// `success`, `ok`, in any case.
const SUCCESS_CODES: [&str; 12] = [
    "0",
    r#""0""#,
    "200",
    r#""200""#,
    "250",
    r#""299""#,
    "299",
    r#""success""#,
    r#""SUCCESS""#,
    r#""Success""#,
    r#""ok""#,
    r#""OK""#,
];

/// Each of `codes` next to the token, at every step where it is a verdict.
fn check_codes(tally: &mut Tally, codes: &[&str], verdict: Verdict) {
    for step in code_steps() {
        for code in codes {
            check_200(tally, step, &step.body_with(&[("code", code)]), verdict);
        }
    }
}

#[test]
fn a_code_that_is_not_success_like_next_to_the_token_is_a_refusal() {
    let mut tally = Tally::new("a failed code next to the token");
    check_codes(&mut tally, &FAILED_CODES, must_be_refusal);
    tally.finish();
}

#[test]
fn success_like_codes_and_success_true_are_accepted() {
    let mut tally = Tally::new("success-like codes, \"success\": true");
    check_codes(&mut tally, &SUCCESS_CODES, must_succeed);
    for step in token_steps_and_itc_calls() {
        let body = step.body_with(&[("success", "true")]);
        check_200(&mut tally, step, &body, must_succeed);
    }
    // The brief's own three bodies, on the OAuth steps.
    for step in [ItcToken, GamToken, MonPayToken] {
        for body in [
            r#"{"access_token":"t","code":0}"#,
            r#"{"access_token":"t","code":"success"}"#,
            r#"{"access_token":"t","success":true}"#,
        ] {
            check_200(&mut tally, step, body, must_succeed);
        }
    }
    tally.finish();
}

#[test]
fn where_code_is_data_it_stays_data() {
    let mut tally = Tally::new("MDLP's one-time code and ITC's business codes are data");
    for code in ["invalidToken", "E1", "5", "error", "0"] {
        let body = format!(r#"{{"code":{}}}"#, json_key(code));
        check_200(&mut tally, MdlpAuth, &body, must_succeed);
    }
    for step in [ItcProfile, ItcApproveQr] {
        for code in ["E1", "userNotFound", "alreadyApproved", "inValidQr", "emptyField"] {
            let body = format!(r#"{{"code":{},"status":201,"msg":"m"}}"#, json_key(code));
            check_200(&mut tally, step, &body, must_succeed);
        }
    }
    tally.finish();
}

// ------------------------------------------------------------ duplicate keys

/// `key` with its first character written as a JSON `\u` escape.
fn escaped_key(key: &str) -> String {
    let mut chars = key.chars();
    let first = chars.next().expect("a key");
    format!("\"\\u{:04x}{}\"", u32::from(first), chars.as_str())
}

/// Another value of the kind of `value`, for a repeated key.
fn other_value(value: &str) -> &'static str {
    match value.as_bytes().first() {
        Some(b'"') => r#""u-2""#,
        Some(b'{') => r#"{"token":"u-2"}"#,
        _ => "31",
    }
}

/// Success bodies of `step` with a duplicate key: nested, in an array, a
/// repeated unknown key, the first key repeated escaped (and plain).
fn duplicated_success_bodies(step: Step) -> Vec<String> {
    let fields = step.success_fields();
    let (first, value) = fields[0];
    let encoded: Vec<(String, String)> = fields
        .iter()
        .map(|(k, v)| (json_key(k), (*v).to_owned()))
        .collect();
    let with = |extra: Vec<(String, String)>| {
        let mut all = encoded.clone();
        all.extend(extra);
        object(&all)
    };
    let mut bodies = vec![
        step.body_with(&[("x", r#"{"a":1,"a":2}"#)]),
        step.body_with(&[("x", r#"[{"a":1,"a":2}]"#)]),
        step.body_with(&[("junk", "1"), ("junk", "2")]),
        with(vec![(escaped_key(first), other_value(value).to_owned())]),
        with(vec![(json_key(first), other_value(value).to_owned())]),
    ];
    if step == AstanaLogin {
        bodies.push(r#"{"data":{"token":"A","token":"B"}}"#.to_owned());
        bodies.push(r#"{"data":{"token":5,"token":"B"}}"#.to_owned());
    }
    bodies
}

#[test]
fn duplicate_keys_in_a_success_body_are_malformed_at_every_depth() {
    let mut tally = Tally::new("duplicate keys in success bodies");
    for step in token_steps() {
        for body in duplicated_success_bodies(step) {
            check_200(&mut tally, step, &body, must_be_malformed_body);
        }
    }
    // The brief's escaped duplicate, as written, on the OAuth steps.
    for step in [ItcToken, GamToken, MonPayToken] {
        let body = r#"{"access_token":"t","\u0061ccess_token":"u"}"#;
        check_200(&mut tally, step, body, must_be_malformed_body);
    }
    tally.finish();
}

/// A refusal whose body could not be read (it repeats a key): the status
/// alone speaks (MonPay's documented status table names 400
/// `invalid_request`), no code or message taken from either copy.
fn must_be_unread_refusal(step: Step, got: Result<(), Error>) -> Result<(), String> {
    let table_code = (step == Step::MonPayToken).then_some("invalid_request");
    match got {
        Err(Error::Server(s)) if s.code.as_deref() == table_code && s.message.is_none() => Ok(()),
        Err(Error::Server(s)) => Err(format!("read a repeated-key body: {:?} {:?}", s.code, s.message)),
        Ok(()) => Err("a success".to_owned()),
        Err(err) => Err(format!("not a refusal: {err:?}")),
    }
}

#[test]
fn duplicate_keys_in_an_error_body_are_never_a_success() {
    let mut tally = Tally::new("duplicate keys in error bodies");
    let bodies = [
        r#"{"error":"invalid_grant","error":"x"}"#,
        r#"{"error":"invalid_grant","error_description":"d","x":{"a":1,"a":2}}"#,
        r#"{"statusCode":400,"message":"m","message":"n"}"#,
        r#"{"success":false,"globalErrors":[{"error":"a","error":"b"}]}"#,
        r#"{"error":"e","junk":1,"junk":2}"#,
        r#"{"error":"e","\u0065rror":"f"}"#,
    ];
    for step in token_steps() {
        // A valid success body with its verdict repeated so that the last
        // copy says success: a reader keeping the last key would issue a token.
        let success: Vec<(String, String)> = step
            .success_fields()
            .into_iter()
            .map(|(k, v)| (json_key(k), v.to_owned()))
            .collect();
        let with = |extra: &[(&str, &str)]| {
            let mut fields = success.clone();
            fields.extend(extra.iter().map(|(k, v)| (json_key(k), (*v).to_owned())));
            object(&fields)
        };
        let last_says_success = [
            with(&[("success", "false"), ("success", "true")]),
            with(&[("error", r#""invalid_grant""#), ("error", "null")]),
            with(&[("statusCode", "400"), ("statusCode", "200")]),
        ];
        let all = bodies.iter().map(|b| (*b).to_owned()).chain(last_says_success);
        for body in all {
            tally.check(
                format_args!("{step:?} HTTP 200 {}", short(&body)),
                must_be_malformed_body(feed(step, 200, &body)),
            );
            tally.check(
                format_args!("{step:?} HTTP 400 {}", short(&body)),
                must_be_unread_refusal(step, feed(step, 400, &body)),
            );
        }
    }
    tally.finish();
}

/// A JSON value to nest a duplicate in.
#[derive(Clone, Debug)]
enum Wrap {
    /// `{"w": inner, …}` with some other fields around.
    Object { key: String, before: bool },
    /// `[…, inner, …]`.
    Array { before: bool },
}

/// A body with a duplicate key at a random depth: the step's success body,
/// where either the top level repeats a key or an extra field holds an
/// object with a repeated key nested `wraps` deep.
#[derive(Clone, Debug)]
struct Duplicated {
    /// The top level repeats a key (else an extra field holds the duplicate).
    top_level: bool,
    /// The object holding the duplicate: its fields, then which one repeats.
    fields: Vec<(String, &'static str)>,
    repeat: usize,
    value: &'static str,
    escaped: bool,
    wraps: Vec<Wrap>,
    extra_key: String,
}

const SCALARS: [&str; 9] = ["1", "0", r#""s""#, r#""t-2""#, "null", "true", "{}", "[]", "-3.5"];
const KEYS: [&str; 11] = [
    "a",
    "token",
    "access_token",
    "code",
    "data",
    "error",
    "message",
    "x",
    "uuid",
    "status",
    "success",
];

fn key() -> impl Strategy<Value = String> {
    prop_oneof![3 => select(&KEYS[..]).prop_map(str::to_owned), 1 => "[a-z]{1,3}"]
}

fn duplicated() -> impl Strategy<Value = Duplicated> {
    let wrap = prop_oneof![
        (key(), any::<bool>()).prop_map(|(key, before)| Wrap::Object { key, before }),
        any::<bool>().prop_map(|before| Wrap::Array { before }),
    ];
    (
        any::<bool>(),
        vec((key(), select(&SCALARS[..])), 1..4),
        any::<prop::sample::Index>(),
        select(&SCALARS[..]),
        any::<bool>(),
        vec(wrap, 0..4),
        prop_oneof![
            Just("x".to_owned()),
            Just("extra".to_owned()),
            Just("meta".to_owned()),
            "[a-z]{4,6}"
        ],
    )
        .prop_map(
            |(top_level, fields, repeat, value, escaped, wraps, extra_key)| Duplicated {
                repeat: repeat.index(fields.len()),
                top_level,
                fields,
                value,
                escaped,
                wraps,
                extra_key,
            },
        )
}

impl Duplicated {
    /// The body for `step`.
    fn body(&self, step: Step) -> String {
        let encode = |key: &str| {
            if self.escaped {
                escaped_key(key)
            } else {
                json_key(key)
            }
        };
        if self.top_level {
            // The success fields plus the generated ones, one key repeated
            // (a success field's or a generated one's).
            let mut all: Vec<(String, String)> = step
                .success_fields()
                .into_iter()
                .map(|(k, v)| (json_key(k), v.to_owned()))
                .collect();
            all.extend(self.fields.iter().map(|(k, v)| (json_key(k), (*v).to_owned())));
            let keys: Vec<String> = step
                .success_fields()
                .iter()
                .map(|(k, _)| (*k).to_owned())
                .chain(self.fields.iter().map(|(k, _)| k.clone()))
                .collect();
            let repeated = &keys[self.repeat % keys.len()];
            all.push((encode(repeated), self.value.to_owned()));
            // Duplicate keys that are both success fields make serde refuse
            // anyway; keep the duplicate whatever it is.
            return object(&all);
        }
        let mut inner: Vec<(String, String)> = self
            .fields
            .iter()
            .map(|(k, v)| (json_key(k), (*v).to_owned()))
            .collect();
        inner.push((encode(&self.fields[self.repeat].0), self.value.to_owned()));
        let mut value = object(&inner);
        for wrap in &self.wraps {
            value = match wrap {
                Wrap::Object { key, before } => {
                    let other = (json_key("n"), "1".to_owned());
                    let this = (json_key(key), value);
                    let fields = if *before {
                        vec![other, this]
                    } else {
                        vec![this, other]
                    };
                    // A wrapper whose key is "n" would itself repeat a key: still a duplicate.
                    object(&fields)
                }
                Wrap::Array { before } => {
                    if *before {
                        format!("[1,{value}]")
                    } else {
                        format!("[{value},null]")
                    }
                }
            };
        }
        let extra = self.extra_key.clone();
        let fields: Vec<(String, String)> = step
            .success_fields()
            .into_iter()
            .map(|(k, v)| (json_key(k), v.to_owned()))
            .chain([(json_key(&extra), value)])
            .collect();
        object(&fields)
    }
}

#[test]
fn generated_duplicates_at_any_depth_are_never_a_success() {
    let mut tally = Tally::new("generated duplicate keys at any depth");
    let steps = token_steps();
    for dup in draw(1_000, duplicated()) {
        for &step in &steps {
            let body = dup.body(step);
            // serde_json's `Value` keeps the last of repeated keys: the body
            // is valid JSON apart from its duplicate.
            let verdict = match serde_json::from_str::<serde_json::Value>(&body) {
                Ok(_) => must_be_malformed_body(feed(step, 200, &body)),
                Err(err) => Err(format!("harness: not JSON: {err}")),
            };
            tally.check(format_args!("{step:?} {}", short(&body)), verdict);
        }
    }
    tally.finish();
}

// ------------------------------------------------------------ the keeper's connection

/// Drives `call` with canned answers (key, auth code, token) until it sends
/// the API request or stops; returns the requests sent (`METHOD path`) and
/// how it ended.
fn drive_keeper_call<S: tokendance::call::TokenSource>(
    call: &mut Authorized<S>,
) -> (Vec<String>, Result<(), Error>) {
    let mut sent = Vec::new();
    let mut now = T0;
    let mut step = call.start(now);
    for _ in 0..12 {
        let action = match step {
            Ok(action) => action,
            Err(err) => return (sent, Err(err)),
        };
        step = match action {
            Action::Store(_) => unreachable!("these calls use no store"),
            Action::Send(out) => {
                let request = out.as_http();
                let path = request.uri().path().to_owned();
                sent.push(format!("{} {path}", request.method()));
                let body = if path.ends_with("/key") {
                    KEY_ANSWER
                } else if path.ends_with("/api/v1/auth") {
                    MDLP_CODE_ANSWER
                } else if path.contains("/auth/") || path.contains("/api/v1/token") {
                    r#"{"token":"suz-1","life_time":30}"#
                } else {
                    // The API request itself: the call got its token.
                    return (sent, Ok(()));
                };
                call.resume(now, Input::Response(answer(200, body)))
            }
            Action::Sign(_) => call.resume(now, Input::Signature(signature())),
            Action::Wait(until) => {
                now = until;
                call.resume(now, Input::Timeout)
            }
            Action::Done(_) => return (sent, Ok(())),
        };
    }
    (
        sent,
        Err(Error::Usage(tokendance::UsageError::InvalidConfig {
            reason: "harness: the call did not reach the API request in 12 steps",
        })),
    )
}

/// A keeper for `conn-1` whose source signs in with `make`; `matches` says
/// whether that sign-in is for `conn-1`.
fn judge_keeper<Fl, F>(make: F, matches: bool) -> Result<(), String>
where
    Fl: tokendance::crpt::SignIn,
    F: FnMut() -> Result<Fl, Error>,
{
    let mut keeper = TokenKeeper::new("conn-1");
    let (sent, ended) = {
        let source = KeeperSource::new(&mut keeper, make);
        let mut call = Authorized::new(source, suz_ping(), Scheme::SuzClientToken).unwrap();
        drive_keeper_call(&mut call)
    };
    let holds = keeper.token().is_some();
    if matches {
        return match (ended, holds) {
            (Ok(()), true) => Ok(()),
            (ended, holds) => Err(format!(
                "the matching sign-in failed: {ended:?}, keeper holds a token: {holds}, sent {sent:?}"
            )),
        };
    }
    match (ended, sent.is_empty(), holds) {
        (Err(Error::Usage(_)), true, false) => Ok(()),
        (ended, true, holds) => Err(format!(
            "not a usage error: {ended:?}; keeper holds a token: {holds}"
        )),
        (ended, false, holds) => Err(format!(
            "sent a sign-in request: {sent:?}, then {}; keeper holds a token: {holds}",
            match ended {
                Ok(()) => "the API request went out with that token".to_owned(),
                Err(err) => format!("{err:?}"),
            }
        )),
    }
}

#[test]
fn a_keeper_source_refuses_a_sign_in_for_another_connection() {
    let mut tally = Tally::new("KeeperSource with a sign-in for another connection");
    let gis = GisMtStand::Demo.endpoint();
    let trueapi = TrueApiStand::Demo.endpoint();
    for (conn, matches) in [(Some("conn-OTHER"), false), (None, false), (Some("conn-1"), true)] {
        tally.check(
            format_args!("true_api {conn:?}"),
            judge_keeper(|| true_api::sign_in(&trueapi, conn), matches),
        );
        tally.check(
            format_args!("gis_mt {conn:?}"),
            judge_keeper(|| gis_mt::sign_in(&gis, conn), matches),
        );
        tally.check(
            format_args!("mdlp {conn:?}"),
            judge_keeper(|| mdlp_sign_in(conn), matches),
        );
    }
    tally.finish();
}

//! A caller's or a server's value never changes the request path, and a
//! header built from one carries exactly that value.
//!
//! The rule: a value that becomes one path segment is refused with
//! `Usage(InvalidPathSegment)` exactly when it is empty, a dot segment (one or
//! two "dots", each `.` or `%2e` in any case) or holds a control character
//! (`char::is_control`: C0 with tab, CR and LF, DEL, C1). Any other value is
//! sent as exactly one segment that percent-decodes to exactly its bytes.
//! Query values form-decode to exactly the pairs given. A header value is
//! accepted exactly when it holds no control character and neither starts
//! nor ends with a space, and then it is sent byte for byte.
//!
//! Every API that turns a value into a segment or a header is driven to the
//! request that carries it, and the request is checked with an oracle written
//! without the crate (`tests/common/uri_oracle.rs`, shared with the fuzz
//! harness: the segment rule, a strict percent-decoder and form-decoder;
//! no crate call). Each test counts its failing cases and reports them
//! together.

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;

use tokendance::call::{Authorized, Reissue, Scheme};
use tokendance::crpt::{
    gis_mt, mdlp, registration, true_api, GisMtStand, KeeperSource, MdlpStand, SuzStand, TokenKeeper,
    TrueApiStand, DEMO_REGISTRATION_KEY,
};
use tokendance::{
    astana_plat, gam, itc, monpay, AccessToken, Action, AuthCode, ClientSecret, Endpoint, Error, Flow, Input,
    Outgoing, Password, ProtocolError, RegistrationKey, Signature, Timestamp, TokenSet, UsageError,
};

mod common;
use common::time::T0;
use common::uri_oracle::{decode_segment, form_decode, is_dot_segment, segment_must_be_refused};
use common::Tally;

/// Cases per property: the file stays well under 15 s in a debug build.
const CASES: u32 = 1_000;
/// Cases for the properties that drive a whole sign-in per case.
const FLOW_CASES: u32 = 512;

// ------------------------------------------------------------ the rules

/// Whether a header value must be refused.
fn header_must_be_refused(value: &str) -> bool {
    value.chars().any(char::is_control) || value.starts_with(' ') || value.ends_with(' ')
}

/// Whether query pairs must be refused: never (every value can be form-encoded).
fn query_must_be_refused(_pairs: &[(String, String)]) -> bool {
    false
}

fn is_segment_refusal(err: &Error) -> bool {
    matches!(err, Error::Usage(UsageError::InvalidPathSegment { .. }))
}

/// The connection of a registration outcome. Today `oms_connection` is a
/// `String`; it is to become a type that derefs to `str`: this compiles for both.
fn registered_connection(outcome: &registration::Outcome) -> Option<&str> {
    if let registration::Outcome::Registered { oms_connection } = outcome {
        let connection: &str = oms_connection;
        Some(connection)
    } else {
        None
    }
}

// ------------------------------------------------------------ the oracle

/// A segment the request path must hold.
#[derive(Clone, Copy, Debug)]
enum Seg<'a> {
    /// Written by the crate or the base URL: exactly this text.
    Fixed(&'a str),
    /// A caller's or server's value: one segment decoding to exactly it.
    Value(&'a str),
}

/// `path` holds exactly the segments `want`.
fn check_path(path: &str, want: &[Seg<'_>]) -> Result<(), String> {
    let rest = path
        .strip_prefix('/')
        .ok_or_else(|| format!("the path {path:?} does not start with `/`"))?;
    let got: Vec<&str> = rest.split('/').collect();
    if got.len() != want.len() {
        return Err(format!(
            "{} segments instead of {} in {path:?}",
            got.len(),
            want.len()
        ));
    }
    for (i, (got, want)) in got.iter().zip(want).enumerate() {
        match want {
            Seg::Fixed(fixed) if got == fixed => {}
            Seg::Fixed(fixed) => return Err(format!("segment {i} is {got:?} instead of {fixed:?}")),
            Seg::Value(value) => {
                let decoded = decode_segment(got).map_err(|e| format!("segment {i} {got:?}: {e}"))?;
                if decoded != value.as_bytes() {
                    return Err(format!(
                        "segment {i} {got:?} decodes to {:?}, not {value:?}",
                        String::from_utf8_lossy(&decoded)
                    ));
                }
            }
        }
    }
    Ok(())
}

/// The query of `uri` decodes to exactly `pairs` (no query when there are none).
fn check_query(uri: &http::Uri, pairs: &[(String, String)]) -> Result<(), String> {
    match (uri.query(), pairs.is_empty()) {
        (None, true) => Ok(()),
        (None, false) => Err("no query although pairs were given".to_owned()),
        (Some(query), _) => {
            let got = form_decode(query).map_err(|e| format!("query {query:?}: {e}"))?;
            if got == pairs {
                Ok(())
            } else {
                Err(format!("query {query:?} decodes to {got:?}, not {pairs:?}"))
            }
        }
    }
}

// ------------------------------------------------------------ driving

/// Why a request was not obtained.
#[derive(Debug)]
enum Stop {
    /// The crate's error, from a constructor or a step.
    Error(Error),
    /// The flow did something other than what the harness drives it through.
    Odd(String),
}

impl From<Error> for Stop {
    fn from(err: Error) -> Self {
        Stop::Error(err)
    }
}

fn name<T>(action: &Action<T>) -> &'static str {
    common::kind(action)
}

fn expect_send<T>(step: Result<Action<T>, Error>, what: &str) -> Result<Outgoing, Stop> {
    match step? {
        Action::Send(out) => Ok(out),
        other => Err(Stop::Odd(format!("{what}: {} instead of Send", name(&other)))),
    }
}

fn expect_sign<T>(step: Result<Action<T>, Error>, what: &str) -> Result<(), Stop> {
    match step? {
        Action::Sign(_) => Ok(()),
        other => Err(Stop::Odd(format!("{what}: {} instead of Sign", name(&other)))),
    }
}

fn expect_wait<T>(step: Result<Action<T>, Error>, what: &str) -> Result<Timestamp, Stop> {
    match step? {
        Action::Wait(until) => Ok(until),
        other => Err(Stop::Odd(format!("{what}: {} instead of Wait", name(&other)))),
    }
}

fn json_200(body: &serde_json::Value) -> Input {
    Input::Response(
        http::Response::builder()
            .status(200)
            .header("content-type", "application/json")
            .body(serde_json::to_vec(body).unwrap())
            .unwrap(),
    )
}

fn signature() -> Signature {
    Signature::from_der(vec![0x30, 0x80, 0x01, 0x02])
}

fn fixed_token() -> TokenSet {
    TokenSet::new(AccessToken::new("api-token-1"), T0, None)
}

fn gam_config() -> gam::Config {
    gam::Config::staging()
}

/// `GET {service}api/info/consumer/{regNo}`.
fn itc_consumer(reg_no: &str) -> Result<Outgoing, Stop> {
    let mut call = itc::consumer(&itc::Config::staging(), reg_no, fixed_token())?;
    expect_send(call.start(T0), "consumer")
}

fn itc_consumer_path(reg_no: &str) -> Vec<Seg<'_>> {
    // https://st-service.itc.gov.mn/api/easy-register/
    let mut want = fixed(&["api", "easy-register", "api", "info", "consumer"]);
    want.push(Seg::Value(reg_no));
    want
}

fn fixed<'a>(segments: &[&'a str]) -> Vec<Seg<'a>> {
    segments.iter().map(|s| Seg::Fixed(s)).collect()
}

fn gam_post(path: &[&str]) -> Result<Outgoing, Stop> {
    let body = serde_json::json!({"customerCode": "C-1"});
    let mut call = gam::post::<_, serde_json::Value>(&gam_config(), "SHOP01", path, &body, fixed_token())?;
    expect_send(call.start(T0), "gam post")
}

fn gam_get(path: &[&str], query: &[(&str, &str)]) -> Result<Outgoing, Stop> {
    let mut call = gam::get::<_, serde_json::Value>(&gam_config(), "SHOP01", path, query, fixed_token())?;
    expect_send(call.start(T0), "gam get")
}

fn gam_path<'a>(path: &[&'a str]) -> Vec<Seg<'a>> {
    // https://gateway-staging.gam.vn/oms
    let mut want = fixed(&["oms"]);
    want.extend(path.iter().map(|s| Seg::Value(s)));
    want
}

/// Which challenge sign-in.
#[derive(Clone, Copy, Debug)]
enum Challenge {
    GisMt,
    TrueApi,
}

/// The sign-in POST of a GIS MT or True API sign-in for `conn`.
fn challenge_sign_in(which: Challenge, conn: &str) -> Result<Outgoing, Stop> {
    let mut flow = match which {
        Challenge::GisMt => gis_mt::sign_in(&GisMtStand::Demo.endpoint(), Some(conn))?,
        Challenge::TrueApi => true_api::sign_in(&TrueApiStand::Demo.endpoint(), Some(conn))?,
    };
    expect_send(flow.start(T0), "key request")?;
    let key = serde_json::json!({"uuid": "u", "data": "d"});
    expect_sign(flow.resume(T0, json_200(&key)), "key answer")?;
    expect_send(flow.resume(T0, Input::Signature(signature())), "signature")
}

fn challenge_path(which: Challenge, conn: &str) -> Vec<Seg<'_>> {
    let mut want = match which {
        // https://demo.lp.crpt.tech/api/v3
        Challenge::GisMt => fixed(&["api", "v3", "auth", "cert"]),
        // https://int01.gismt.crpt.tech/api/v3/true-api
        Challenge::TrueApi => fixed(&["api", "v3", "true-api", "auth", "simpleSignIn"]),
    };
    want.push(Seg::Value(conn));
    want
}

fn mdlp_client() -> mdlp::Client {
    mdlp::Client {
        id: "7df0d06f".into(),
        secret: ClientSecret::new("mdlp-secret-1"),
    }
}

/// The token request of an MDLP password sign-in for `conn`.
fn mdlp_token_request(conn: &str) -> Result<Outgoing, Stop> {
    let mut flow = mdlp::sign_in(
        &MdlpStand::Sandbox.endpoint(),
        mdlp_client(),
        "user@example.org",
        mdlp::Auth::Password(Password::new("mdlp-password-1")),
        Some(conn),
    )?;
    expect_send(flow.start(T0), "auth request")?;
    let until = expect_wait(
        flow.resume(T0, json_200(&serde_json::json!({"code": "c-1"}))),
        "auth answer",
    )?;
    expect_send(flow.resume(until, Input::Timeout), "spacing")
}

fn mdlp_path(conn: &str) -> Vec<Seg<'_>> {
    // https://api.sb.mdlp.crpt.ru
    let mut want = fixed(&["api", "v1", "token"]);
    want.push(Seg::Value(conn));
    want
}

fn register(oms_id: &str, key: &str, api_version: &str) -> Result<Outgoing, Stop> {
    let mut flow = registration::register(
        &SuzStand::Demo.endpoint(),
        oms_id,
        RegistrationKey::new(key),
        "Moscow, 1 Leninskie Gory",
        registration::Signing::Unsigned,
        api_version,
    )?;
    expect_send(flow.start(T0), "registration")
}

fn registration_path(api_version: &str) -> Vec<Seg<'_>> {
    // https://intuot.crpt.ru:16443
    vec![
        Seg::Fixed("api"),
        Seg::Value(api_version),
        Seg::Fixed("integration"),
        Seg::Fixed("connection"),
    ]
}

// ------------------------------------------------------------ verdicts

/// The request `built`, to be judged further; `Ok(None)` when it was
/// refused with an error `refused` accepts and `must_refuse` says it must
/// be; the verdict when it was refused otherwise.
fn sent_or_refused(
    built: Result<Outgoing, Stop>,
    must_refuse: bool,
    refused: fn(&Error) -> bool,
) -> Result<Option<Outgoing>, String> {
    match built {
        Err(Stop::Error(err)) if refused(&err) => {
            if must_refuse {
                Ok(None)
            } else {
                Err(format!("refused a value that must be accepted: {err:?}"))
            }
        }
        Err(Stop::Error(err)) => Err(format!("other error: {err:?}")),
        Err(Stop::Odd(what)) => Err(format!("unexpected step: {what}")),
        Ok(out) => Ok(Some(out)),
    }
}

/// The verdict on a request built from the caller segments `values`:
/// refused exactly when the rule says so, otherwise with the path `want`
/// (and the query `query`, when given).
fn judge_segments(
    values: &[&str],
    built: Result<Outgoing, Stop>,
    want: &[Seg<'_>],
    query: Option<&[(String, String)]>,
) -> Result<(), String> {
    let must_refuse =
        values.iter().any(|v| segment_must_be_refused(v)) || query.is_some_and(query_must_be_refused);
    let Some(out) = sent_or_refused(built, must_refuse, is_segment_refusal)? else {
        return Ok(());
    };
    let uri = out.as_http().uri();
    let shape =
        check_path(uri.path(), want).and_then(|()| query.map_or(Ok(()), |pairs| check_query(uri, pairs)));
    match (must_refuse, shape) {
        (true, Ok(())) => Err(format!("accepted a value that must be refused: sent {uri}")),
        (true, Err(why)) => Err(format!(
            "accepted a value that must be refused, and the request changed: {why}; sent {uri}"
        )),
        (false, Ok(())) => Ok(()),
        (false, Err(why)) => Err(format!("wrong request: {why}; sent {uri}")),
    }
}

/// The verdict on the header `name` of a request built from `value`
/// (expected as `prefix` + `value`); a refusal must be `refused`.
fn judge_header(
    value: &str,
    built: Result<Outgoing, Stop>,
    name: &str,
    prefix: &str,
    refused: fn(&Error) -> bool,
) -> Result<(), String> {
    let must_refuse = header_must_be_refused(value);
    let Some(out) = sent_or_refused(built, must_refuse, refused)? else {
        return Ok(());
    };
    let sent: Vec<&[u8]> = out
        .as_http()
        .headers()
        .get_all(name)
        .iter()
        .map(|v| v.as_bytes())
        .collect();
    let want = [prefix.as_bytes(), value.as_bytes()].concat();
    let shown: Vec<String> = sent
        .iter()
        .map(|s| format!("{:?}", String::from_utf8_lossy(s)))
        .collect();
    if must_refuse {
        return Err(format!(
            "accepted a value that must be refused: sent {name}: {shown:?}"
        ));
    }
    // A credential's header is marked sensitive, so that even `http`'s own
    // `Debug` of the request hides it.
    let credential = matches!(name, "authorization" | "clienttoken" | "x-registrationkey");
    let all_sensitive = out
        .as_http()
        .headers()
        .get_all(name)
        .iter()
        .all(|v| v.is_sensitive());
    if credential && !all_sensitive {
        return Err(format!(
            "not sensitive: the credential header {name} is not marked sensitive"
        ));
    }
    if sent.len() == 1 && sent[0] == want.as_slice() {
        Ok(())
    } else {
        Err(format!(
            "wrong header: {name} is {shown:?}, not {:?}",
            String::from_utf8_lossy(&want)
        ))
    }
}

fn is_usage(err: &Error) -> bool {
    matches!(err, Error::Usage(_))
}

fn is_malformed(err: &Error) -> bool {
    matches!(err, Error::Protocol(ProtocolError::Malformed { .. }))
}

// ------------------------------------------------------------ strategies

/// The pieces hostile values are built from.
const PIECES: &[&str] = &[
    ".", "..", "%2e", "%2E", "%", "/", "\\", "?", "#", ";", "=", "&", "+", " ", "\t", "\r", "\n", "\u{7f}",
    "\u{85}", "\u{0}", "é", "Ж", "~", "[", "]", "@", ":", "a", "7",
];

/// The values the review found changing paths.
const REVIEW: &[&str] = &[".\t.", "..\n", "\r..", ".\n", "AA12\r\n345678", "..\t"];

/// Any text: arbitrary Unicode (control characters included), strings of
/// the hostile pieces, the review's values, and plain values.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => vec(any::<char>(), 0..12).prop_map(String::from_iter),
        1 => any::<String>(),
        6 => vec(select(PIECES), 0..6).prop_map(|p| p.concat()),
        1 => select(REVIEW).prop_map(str::to_owned),
        1 => "[A-Za-z0-9._~-]{1,12}",
    ]
}

/// A non-empty value, for headers (an empty header value is another
/// question than the one asked here: no control character, no outer space).
fn header_value() -> impl Strategy<Value = String> {
    const HEADER_PIECES: &[&str] = &[
        " ", "\t", "\r", "\n", "\u{0}", "\u{7f}", "\u{85}", "\u{9f}", "é", "Ж", "a", "Z", "9", "-", ".", "_",
        "=", "+", "/", ":", ";", ",", "\"",
    ];
    prop_oneof![
        3 => vec(any::<char>(), 1..12).prop_map(String::from_iter),
        6 => vec(select(HEADER_PIECES), 1..6).prop_map(|p| p.concat()),
        1 => "[A-Za-z0-9._~+/=-]{1,24}",
    ]
}

fn strs(values: &[String]) -> Vec<&str> {
    values.iter().map(String::as_str).collect()
}

fn pairs_of(pairs: &[(String, String)]) -> Vec<(&str, &str)> {
    pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

// ------------------------------------------------------------ path segments

#[test]
fn itc_consumer_reg_no_stays_one_segment() {
    let mut tally = Tally::new("itc::consumer regNo");
    let judge =
        |reg_no: &str| judge_segments(&[reg_no], itc_consumer(reg_no), &itc_consumer_path(reg_no), None);
    for reg_no in [
        ".\t.",
        "..\n",
        "\r..",
        ".\n",
        "AA12\r\n345678",
        "AA12345678",
        "a/b?c#d é",
    ] {
        tally.check(format_args!("{reg_no:?}"), judge(reg_no));
    }
    tally.sample(2 * CASES, value(), |reg_no| judge(reg_no));
    tally.finish();
}

#[test]
fn gam_post_path_segments_stay_segments() {
    let mut tally = Tally::new("gam::post path");
    let judge = |path: &[&str]| judge_segments(path, gam_post(path), &gam_path(path), None);
    let review = ["api", "v1", ".\t.", ".\t.", "admin"];
    tally.check(format_args!("{review:?}"), judge(&review));
    tally.sample(CASES, vec(value(), 1..5), |path| judge(&strs(path)));
    tally.finish();
}

#[test]
fn gam_get_path_segments_and_query_pairs_stay_what_they_are() {
    let mut tally = Tally::new("gam::get path and query");
    let judge = |path: &[&str], query: &[(String, String)]| {
        judge_segments(
            path,
            gam_get(path, &pairs_of(query)),
            &gam_path(path),
            Some(query),
        )
    };
    let review = ["api", "v1", ".\t.", ".\t.", "admin"];
    let query = vec![("customerCode".to_owned(), "C-1&x=y #z".to_owned())];
    tally.check(format_args!("{review:?}"), judge(&review, &query));
    let strategy = (vec(value(), 1..4), vec((value(), value()), 0..3));
    tally.sample(CASES, strategy, |(path, query)| judge(&strs(path), query));
    tally.finish();
}

#[test]
fn crpt_challenge_connection_stays_one_segment() {
    let mut tally = Tally::new("gis_mt / true_api sign_in connection");
    let judge = |which: Challenge, conn: &str| {
        judge_segments(
            &[conn],
            challenge_sign_in(which, conn),
            &challenge_path(which, conn),
            None,
        )
    };
    for which in [Challenge::GisMt, Challenge::TrueApi] {
        for conn in ["..\t", ".\t.", "conn-1", "a/b?c#d e%Ж"] {
            tally.check(format_args!("{which:?} {conn:?}"), judge(which, conn));
        }
    }
    let which = prop_oneof![Just(Challenge::GisMt), Just(Challenge::TrueApi)];
    tally.sample(CASES, (which, value()), |(which, conn)| judge(*which, conn));
    tally.finish();
}

#[test]
fn mdlp_connection_stays_one_segment() {
    let mut tally = Tally::new("mdlp::sign_in connection");
    let judge = |conn: &str| judge_segments(&[conn], mdlp_token_request(conn), &mdlp_path(conn), None);
    for conn in ["..\t", ".\t.", "conn-1"] {
        tally.check(format_args!("{conn:?}"), judge(conn));
    }
    tally.sample(FLOW_CASES, value(), |conn| judge(conn));
    tally.finish();
}

#[test]
fn registration_api_version_and_oms_id_stay_what_they_are() {
    let mut tally = Tally::new("registration::register api_version and omsId");
    // An empty omsId is refused as a configuration error, not a path
    // question: the generated ones are never empty.
    let oms_id = value().prop_map(|v| if v.is_empty() { "x".to_owned() } else { v });
    let judge = |version: &str, oms: &str| {
        let query = vec![("omsId".to_owned(), oms.to_owned())];
        let built = register(oms, DEMO_REGISTRATION_KEY, version);
        judge_segments(&[version], built, &registration_path(version), Some(&query))
    };
    for (version, oms) in [("v2", "oms-1"), (".\t.", "oms-1"), ("v3", "a&b=c #d+e%")] {
        tally.check(format_args!("{version:?} {oms:?}"), judge(version, oms));
    }
    tally.sample(CASES, (value(), oms_id), |(version, oms)| judge(version, oms));
    tally.finish();
}

// ------------------------------------------------------------ a server's connection

/// A registration answered `{"status":"SUCCESS","omsConnection": X}`: the
/// registration, then a GIS MT sign-in for the connection it yields.
fn judge_answered_connection(conn: &str) -> Result<(), String> {
    let mut flow = registration::register(
        &SuzStand::Demo.endpoint(),
        "oms-1",
        RegistrationKey::new(DEMO_REGISTRATION_KEY),
        "Moscow, 1 Leninskie Gory",
        registration::Signing::Unsigned,
        registration::DEFAULT_API_VERSION,
    )
    .map_err(|e| format!("harness: {e}"))?;
    expect_send(flow.start(T0), "registration").map_err(|e| format!("harness: {e:?}"))?;
    let answer = serde_json::json!({"status": "SUCCESS", "omsConnection": conn});
    let must_refuse = segment_must_be_refused(conn);
    let outcome = match flow.resume(T0, json_200(&answer)) {
        Ok(Action::Done(outcome)) => outcome,
        Ok(other) => return Err(format!("unexpected step: {}", name(&other))),
        Err(Error::Protocol(ProtocolError::Malformed { field, .. })) if field == "omsConnection" => {
            return if must_refuse {
                Ok(())
            } else {
                Err("refused a value that must be accepted: Malformed omsConnection".to_owned())
            };
        }
        // An empty connection reads as a missing one today; either refusal will do.
        Err(Error::Protocol(ProtocolError::MissingField {
            field: "omsConnection",
            ..
        })) if conn.is_empty() => return Ok(()),
        Err(err) => return Err(format!("other error: {err:?}")),
    };
    let Some(got) = registered_connection(&outcome) else {
        return Err(format!("unexpected outcome: {outcome:?}"));
    };
    let sign_in = challenge_sign_in(Challenge::GisMt, got);
    if must_refuse {
        let sent = match sign_in {
            Ok(out) => format!("then a sign-in goes to {}", out.as_http().uri().path()),
            Err(stop) => format!("then the sign-in stops with {stop:?}"),
        };
        return Err(format!(
            "accepted a value that must be refused: Registered {got:?}; {sent}"
        ));
    }
    if got != conn {
        return Err(format!("wrong connection: Registered {got:?}, not {conn:?}"));
    }
    judge_segments(&[got], sign_in, &challenge_path(Challenge::GisMt, got), None)
}

#[test]
fn a_registration_answer_never_routes_a_sign_in_elsewhere() {
    let mut tally = Tally::new("registration answer omsConnection, then gis_mt::sign_in");
    for conn in [".\t.", "..", "%2e%2E", "", "CDF12109-10D3", "a/b?c#d e%Ж"] {
        tally.check(format_args!("{conn:?}"), judge_answered_connection(conn));
    }
    tally.sample(FLOW_CASES, value(), |conn| judge_answered_connection(conn));
    tally.finish();
}

// ------------------------------------------------------------ headers from caller values

fn gam_with_partner(partner: &str) -> Result<Outgoing, Stop> {
    let body = serde_json::json!({});
    let mut call =
        gam::post::<_, serde_json::Value>(&gam_config(), partner, &["api", "v1", "x"], &body, fixed_token())?;
    expect_send(call.start(T0), "gam post")
}

#[test]
fn the_gam_partner_code_is_sent_exactly_or_refused() {
    let mut tally = Tally::new("gam partner code (X-Client-Source)");
    let judge = |partner: &str| {
        judge_header(
            partner,
            gam_with_partner(partner),
            gam::CLIENT_SOURCE,
            "",
            is_usage,
        )
    };
    for partner in ["SHOP01", " SHOP01", "SHOP01 ", "SH\tOP", "SHOP\u{85}", "ШОП 01"] {
        tally.check(format_args!("{partner:?}"), judge(partner));
    }
    tally.sample(CASES, header_value(), |partner| judge(partner));
    tally.finish();
}

#[test]
fn the_registration_key_is_sent_exactly_or_refused() {
    let mut tally = Tally::new("registration key (X-RegistrationKey)");
    let judge = |key: &str| {
        judge_header(
            key,
            register("oms-1", key, "v2"),
            "x-registrationkey",
            "",
            is_usage,
        )
    };
    for key in [DEMO_REGISTRATION_KEY, " key", "key ", "k\te", "key\u{9f}"] {
        tally.check(format_args!("{key:?}"), judge(key));
    }
    tally.sample(CASES, header_value(), |key| judge(key));
    tally.finish();
}

/// The header name and value prefix of a scheme.
fn scheme_header(scheme: Scheme) -> (&'static str, &'static str) {
    match scheme {
        Scheme::Bearer => ("authorization", "Bearer "),
        Scheme::SuzClientToken => ("clienttoken", ""),
        Scheme::MdlpToken => ("authorization", "token "),
        _ => unreachable!("no other scheme is tested"),
    }
}

fn api_request(url: &str) -> http::Request<Vec<u8>> {
    http::Request::get(url).body(Vec::new()).unwrap()
}

fn call_with_token_set(token: &str, scheme: Scheme) -> Result<Outgoing, Stop> {
    let tokens = TokenSet::new(AccessToken::new(token), T0, None);
    let mut call = Authorized::new(
        tokens,
        api_request("https://wallet.example/v2/api/user/info"),
        scheme,
    )?;
    expect_send(call.start(T0), "call")
}

#[test]
fn a_token_the_caller_built_is_sent_exactly_or_refused() {
    let mut tally = Tally::new("TokenSet token in Authorized");
    let judge = |scheme: Scheme, token: &str| {
        let (header, prefix) = scheme_header(scheme);
        judge_header(
            token,
            call_with_token_set(token, scheme),
            header,
            prefix,
            is_usage,
        )
    };
    let schemes = [Scheme::Bearer, Scheme::SuzClientToken, Scheme::MdlpToken];
    for scheme in schemes {
        for token in ["eyJ.a-b_c", " lead", "trail ", "a\tb", "a\u{85}b", "a b"] {
            tally.check(format_args!("{scheme:?} {token:?}"), judge(scheme, token));
        }
    }
    let strategy = (select(schemes.to_vec()), header_value());
    tally.sample(CASES, strategy, |(scheme, token)| judge(*scheme, token));
    tally.finish();
}

// ------------------------------------------------------------ headers from server answers

/// A flow whose answer carries a token that the next API request sends back.
#[derive(Clone, Copy, Debug)]
enum Issuer {
    ItcSession,
    Gam,
    MonPay,
    Astana,
    TrueApiKeeper,
    MdlpKeeper,
}

const ISSUERS: [Issuer; 6] = [
    Issuer::ItcSession,
    Issuer::Gam,
    Issuer::MonPay,
    Issuer::Astana,
    Issuer::TrueApiKeeper,
    Issuer::MdlpKeeper,
];

impl Issuer {
    fn scheme(self) -> Scheme {
        match self {
            Issuer::TrueApiKeeper => Scheme::SuzClientToken,
            Issuer::MdlpKeeper => Scheme::MdlpToken,
            _ => Scheme::Bearer,
        }
    }
}

fn astana_url() -> Endpoint {
    Endpoint::parse("https://astana-plat.example/api/auth/login").unwrap()
}

/// Drives an [`Authorized`] call whose source has no token yet: the token
/// request(s), answered with `token`, then the API request.
fn api_request_after_answer(issuer: Issuer, token: &str) -> Result<Outgoing, Stop> {
    let oauth = serde_json::json!({"access_token": token, "expires_in": 3600, "token_type": "Bearer"});
    let suz = api_request("https://suzgrid.crpt.ru:16443/api/v2/pharma/ping?omsId=oms-1");
    match issuer {
        Issuer::ItcSession => {
            let config = itc::Config::staging();
            let mut session = itc::session(&config, "user", Password::new("itc-password-1"))?;
            let mut call = itc::consumer(&config, "AA12345678", &mut session)?;
            expect_send(call.start(T0), "token request")?;
            expect_send(call.resume(T0, json_200(&oauth)), "token answer")
        }
        Issuer::Gam => {
            let config = gam_config();
            let source = Reissue::new(|| {
                gam::client_credentials(&config, "app", ClientSecret::new("gam-secret-1"), "orders:read")
            });
            let body = serde_json::json!({});
            let mut call =
                gam::post::<_, serde_json::Value>(&config, "SHOP01", &["api", "v1", "x"], &body, source)?;
            expect_send(call.start(T0), "token request")?;
            expect_send(call.resume(T0, json_200(&oauth)), "token answer")
        }
        Issuer::MonPay => {
            let source = Reissue::new(|| {
                monpay::exchange_code(
                    &monpay::Config::test(),
                    "client",
                    ClientSecret::new("monpay-secret-1"),
                    AuthCode::new("monpay-code-1"),
                    "https://shop.example/back",
                )
            });
            let request = api_request("https://z-wallet.monpay.mn/v2/api/user/info");
            let mut call = Authorized::new(source, request, Scheme::Bearer)?;
            expect_send(call.start(T0), "token request")?;
            expect_send(call.resume(T0, json_200(&oauth)), "token answer")
        }
        Issuer::Astana => {
            let url = astana_url();
            let source =
                Reissue::new(|| astana_plat::login_password(&url, "user", Password::new("astana-pw-1")));
            let request = api_request("https://astana-plat.example/api/payments");
            let mut call = Authorized::new(source, request, Scheme::Bearer)?;
            expect_send(call.start(T0), "token request")?;
            let answer = serde_json::json!({
                "statusCode": 200, "message": "Access token created", "data": {"token": token}
            });
            expect_send(call.resume(T0, json_200(&answer)), "token answer")
        }
        Issuer::TrueApiKeeper => {
            let mut keeper = TokenKeeper::new("conn-1");
            let base = TrueApiStand::Demo.endpoint();
            let source = KeeperSource::new(&mut keeper, || true_api::sign_in(&base, Some("conn-1")));
            let mut call = Authorized::new(source, suz, Scheme::SuzClientToken)?;
            expect_send(call.start(T0), "key request")?;
            let key = serde_json::json!({"uuid": "u", "data": "d"});
            expect_sign(call.resume(T0, json_200(&key)), "key answer")?;
            expect_send(call.resume(T0, Input::Signature(signature())), "signature")?;
            expect_send(
                call.resume(T0, json_200(&serde_json::json!({"token": token}))),
                "token answer",
            )
        }
        Issuer::MdlpKeeper => {
            let mut keeper = TokenKeeper::new("conn-1");
            let base = MdlpStand::Sandbox.endpoint();
            let source = KeeperSource::new(&mut keeper, || {
                mdlp::sign_in(
                    &base,
                    mdlp_client(),
                    "user@example.org",
                    mdlp::Auth::Password(Password::new("mdlp-password-1")),
                    Some("conn-1"),
                )
            });
            let request = api_request("https://api.sb.mdlp.crpt.ru/api/v1/documents/outcome");
            let mut call = Authorized::new(source, request, Scheme::MdlpToken)?;
            expect_send(call.start(T0), "auth request")?;
            let until = expect_wait(
                call.resume(T0, json_200(&serde_json::json!({"code": "c-1"}))),
                "auth answer",
            )?;
            expect_send(call.resume(until, Input::Timeout), "spacing")?;
            let answer = serde_json::json!({"token": token, "life_time": 30});
            expect_send(call.resume(until, json_200(&answer)), "token answer")
        }
    }
}

#[test]
fn a_token_from_an_answer_is_sent_exactly_or_refused_when_read() {
    let mut tally = Tally::new("tokens from answers, sent back in a header");
    let judge = |issuer: Issuer, token: &str| {
        let (header, prefix) = scheme_header(issuer.scheme());
        judge_header(
            token,
            api_request_after_answer(issuer, token),
            header,
            prefix,
            is_malformed,
        )
    };
    for issuer in ISSUERS {
        for token in [
            "eyJ.a-b_c",
            " lead",
            "trail ",
            "a\tb",
            "a\u{85}b",
            "a\u{7f}b",
            "a b",
        ] {
            tally.check(format_args!("{issuer:?} {token:?}"), judge(issuer, token));
        }
    }
    let strategy = (select(ISSUERS.to_vec()), header_value());
    tally.sample(FLOW_CASES * 2, strategy, |(issuer, token)| judge(*issuer, token));
    tally.finish();
}

// ------------------------------------------------------------ the oracle itself

#[test]
fn the_oracle_decodes_strictly() {
    assert_eq!(
        decode_segment("a%2Fb%3Fc%23d%20e%25%D0%96").unwrap(),
        "a/b?c#d e%Ж".as_bytes()
    );
    assert_eq!(decode_segment("%2e%2E").unwrap(), b"..");
    for bad in [
        "a/b", "a?b", "a#b", "a\\b", "a;b", "%", "%2", "%zz", "a b", "\u{7f}", "é", "a!b", "a+b",
    ] {
        assert!(decode_segment(bad).is_err(), "{bad:?}");
    }
    assert!(check_path("/a/b%20c", &[Seg::Fixed("a"), Seg::Value("b c")]).is_ok());
    assert!(check_path("/a/b%20c", &[Seg::Fixed("a"), Seg::Value("b")]).is_err());
    assert!(check_path("/a//c", &[Seg::Fixed("a"), Seg::Value("c")]).is_err());
    assert!(check_path("/x/c", &[Seg::Fixed("a"), Seg::Value("c")]).is_err());
    assert_eq!(
        form_decode("a=b+c&%26=%3D%25&e").unwrap(),
        [("a", "b c"), ("&", "=%"), ("e", "")]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .to_vec()
    );
    assert!(form_decode("a=%").is_err());
    assert!(form_decode("a=b c").is_err());
    for dots in [".", "..", "%2e", "%2E", ".%2E", "%2e.", "%2E%2e"] {
        assert!(is_dot_segment(dots), "{dots:?}");
        assert!(segment_must_be_refused(dots), "{dots:?}");
    }
    for other in ["...", "%2e%2e%2e", "%2", "a.", ". .", "%2f"] {
        assert!(!is_dot_segment(other), "{other:?}");
    }
    for control in ["a\tb", "\r", "\n", "\u{0}", "\u{7f}", "\u{85}", "\u{9f}"] {
        assert!(segment_must_be_refused(control), "{control:?}");
        assert!(header_must_be_refused(control), "{control:?}");
    }
    assert!(segment_must_be_refused(""));
    assert!(!segment_must_be_refused("a b"));
    assert!(header_must_be_refused(" a") && header_must_be_refused("a ") && !header_must_be_refused("a b"));
}

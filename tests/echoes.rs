//! The echo suite: a hostile server echoes a secret back, in some encoding,
//! in some place of its answer; nothing the crate prints may show it.
//!
//! Generated, for the whole class: for every flow, every secret the echoed
//! step knows (what it sent, and the tokens it holds), every place of an
//! answer that reaches the step, and every encoding of
//! [`leak_oracle::encodings`], the flow is driven to the step with canary
//! secrets, the step is fed an answer echoing the encoded secret in that one
//! place, and every printed form of everything the crate hands back is
//! collected (the error's `{}`, `{:?}`, `{:#?}`, its `source()` chain,
//! `as_server()` and its `code` and `message`; a success output's `{:?}` and
//! `{:#?}`; the `Debug` of the flow, session, keeper, `Reissue` or
//! `Authorized` holding the result). The independent [`Oracle`] must find no
//! secret in any of them.
//!
//! Every case also checks that it is not vacuous: the encoded secret really
//! is in the answer built, the oracle does see it there, and the step ended
//! in an error or an output (counted).
//!
//! To keep the run short, the secret echoed rotates with the place and the
//! encoding: every (flow, place) pair meets every encoding, every secret of
//! a flow meets every place, and across places every encoding meets every
//! secret. Failures are collected, not raised at the first: each test
//! reports how many of its cases fail, by flow, secret, encoding and place,
//! and the first few in full (flow / place / encoding, the printed text,
//! the oracle's finding). `ECHO_SHOW=<text> cargo test --test echoes --
//! --nocapture` lists every failure whose description holds `<text>`.
//!
//! One test per class, so that a reader sees which class fails:
//! * `error_fields_never_show_an_echoed_secret`: JSON error fields (RFC 6749,
//!   Spring, SUZ lists, Astana `statusCode`, GAM `error_code`, ...) at 400,
//!   401, 403, 429, 500, and at 200 with a failure marker;
//! * `pages_never_show_an_echoed_secret`: plain-text and HTML bodies;
//! * `split_secrets_never_show_when_joined`: the secret cut in two across
//!   the code and the message fields; checked in the joined `Display`
//!   (`{code}: {message}`, whole when the cut is at the secret's own `": "`)
//!   and in `code + message` put back together;
//! * `headers_never_show_an_echoed_secret`: `Content-Type` parameters,
//!   `Location` (path, user info, scheme-relative user info, query,
//!   fragment), `WWW-Authenticate` on API refusals;
//! * `locations_show_scheme_host_and_path_only`: a table of tricky redirect
//!   targets, none of whose user info, query or fragment may be shown;
//! * `success_values_are_printed_scrubbed`: a success answer echoing a
//!   secret (or a token it issues) in `scope`, an ITC consumer or reply, a
//!   GAM envelope, a registration outcome;
//! * `refresh_errors_never_show_the_held_access_token`: the ITC refresh
//!   grant's refusals echoing the access token the session holds.

mod common;

use std::collections::BTreeMap;
use std::fmt::{Debug, Display};
use std::time::Duration;

use common::leak_oracle::{base64, encodings, letters_and_digits, Oracle, B64_STD, LETTERS_AND_DIGITS_MIN};
use common::{resp, Resp};
use serde_json::{json, Value};
use tokendance::call::{Authorized, Reissue, Scheme};
use tokendance::crpt::{self, mdlp, KeeperSource, Snapshot, TokenKeeper};
use tokendance::oauth2::{Grant, PasswordSession, SessionAction};
use tokendance::{
    astana_plat, gam, itc, monpay, AccessToken, Action, AuthCode, ClientSecret, Endpoint, Error, Flow, Input,
    Password, ProtocolError, RegistrationKey, Signature, Timestamp, TokenSet,
};

// ---------------------------------------------------------------------------
// Canaries: long, distinct, with punctuation and a space, so that every
// encoding differs from the plain text. Each holds `": "`, so that a split
// at that point reads whole in `HTTP {status} {code}: {message}`.

const PW: &str = "CANARY-pw s3cr3t: Key~1/+=";
const CS: &str = "CANARY-cs n0nce: Key~2&%";
const CODE: &str = "CANARY-code r4nd: Key~3!$";
const ACCESS: &str = "CANARY-at t0ken: Key~4.*";
const REFRESH: &str = "CANARY-rt r3new: Key~5()";
const ACCESS_2: &str = "CANARY-at2 fr3sh: Key~6'@";
const REFRESH_2: &str = "CANARY-rt2 l4ter: Key~7,;";
const REG_KEY: &str = "CANARY-rk reg1st: Key~8[]";
const MDLP_CS: &str = "CANARY-mdlp-cs cl13nt: Key~9^";
const MDLP_PW: &str = "CANARY-mdlp-pw us3r: Key~10|";
const MDLP_CODE: &str = "CANARY-mdlp-code 0nce: Key~11{}";
/// A DER signature (not UTF-8): the flows send its base64.
const SIG_DER: &[u8] = b"CANARY-sig-der \x30\x82\x01\x0a s1gn3d: Key~12";

const CONN: &str = "11B1ABC9-F4EE-47DB-8A20-F80AC83504E8";

/// The signature as the flows send it (`X-Signature`, JSON bodies).
fn sig_b64() -> String {
    base64(SIG_DER, B64_STD, true)
}

fn t0() -> Timestamp {
    Timestamp::from_unix_secs(1_700_000_000)
}

/// Past the ITC token's renewal time (it lives 300 s, renewed 30 s before).
fn t_refresh() -> Timestamp {
    t0().saturating_add(Duration::from_secs(280))
}

// ---------------------------------------------------------------------------
// Oracle self-tests: each form is found, inside text and inside blobs, and
// texts without a secret are not flagged.

fn text_canaries() -> Vec<String> {
    [
        PW, CS, CODE, ACCESS, REFRESH, ACCESS_2, REFRESH_2, REG_KEY, MDLP_CS, MDLP_PW, MDLP_CODE,
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .chain([sig_b64()])
    .collect()
}

fn canary_oracle() -> Oracle {
    let texts = text_canaries();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    Oracle::new(&refs, &[SIG_DER])
}

#[test]
fn oracle_finds_every_encoding_of_every_canary() {
    let oracle = canary_oracle();
    let mut missed = Vec::new();
    let mut checked = 0;
    for secret in text_canaries() {
        // So that the letters-and-digits forms are planted as themselves.
        assert!(letters_and_digits(&secret).chars().count() >= LETTERS_AND_DIGITS_MIN);
        let one = Oracle::new(&[&secret], &[]);
        for (name, form) in encodings(&secret) {
            assert_ne!(form, "", "{name} of {secret:?} is empty");
            for text in [
                form.clone(),
                // As `Debug` prints a text holding the form (line breaks as
                // `\r\n`), and as `Display` does (control characters as spaces).
                format!("Some({form:?})"),
                form.replace(char::is_control, " "),
                format!("error: {form} was refused"),
                format!("HTTP 401 invalid_grant: {form}"),
                format!("{{\"message\": {}}}", serde_json::to_string(&form).unwrap()),
                // A body holding the form, printed as `Vec<u8>`'s Debug does.
                format!("body: {:?}", format!("password={form}&x=1").into_bytes()),
                format!("{:#?}", Some(form.clone().into_bytes())),
            ] {
                checked += 1;
                for o in [&oracle, &one] {
                    if o.find(&text).is_none() {
                        missed.push(format!("{name} of {secret:?} in {text:?}"));
                    }
                }
            }
        }
    }
    assert!(checked > 500, "{checked}");
    assert!(
        missed.is_empty(),
        "{} missed:\n{}",
        missed.len(),
        missed.join("\n")
    );
}

/// The README's promised views, on hand-written texts (not made by the
/// oracle's own encoders): each shows `s3cr3t:Key~1`, and the near misses
/// after them do not.
#[test]
fn oracle_sees_the_promised_views_of_hand_written_echoes() {
    let oracle = Oracle::new(&["s3cr3t:Key~1"], &[]);
    for echo in [
        "s3cr3t=3AKey=7E1",
        "=73=33=63=72=33=74=3A=4B=65=79=7E=31",
        "=73=33=63=72=33=74=3a=4b=65=79=7e=31",
        "s3cr3t=3AK=\r\ney=7E1",
        "Some(\"s3cr3t=3AK=\\r\\ney=7E1\")",
        "s3cr3t=3AK=  ey=7E1",
        "x=s3cr3t=3AKey=7E1",
        "%u0073%u0033%u0063%u0072%u0033%u0074%u003A%u004B%u0065%u0079%u007E%u0031",
        "s3cr3t%u003aKey%U007E1",
        "73:33:63:72:33:74:3a:4b:65:79:7e:31",
        "73-33-63-72-33-74-3A-4B-65-79-7E-31",
        "s3cr3tKey1",
        "S3CR3T_KEY_1",
        "s 3 c r 3 t : K e y ~ 1",
        "s.3.c.r.3.t.:.K.e.y.~.1",
        "czNjcjN0Ok\r\ntleX4x",
        "czNjcjN0Ok\ntleX4x",
        "Some(\"czNjcjN0Ok\\r\\ntleX4x\")",
        "czNjcjN0Ok  tleX4x",
        // base64, then `\u`, then percent.
        "%5Cu0063%5Cu007a%5Cu004e%5Cu006a%5Cu0063%5Cu006a%5Cu004e%5Cu0030%5Cu004f%5Cu006b%5Cu0074%5Cu006c%5Cu0065%5Cu0058%5Cu0034%5Cu0078",
        // `\u`, then quoted-printable, then percent.
        "%3D5Cu0073%3D5Cu0033%3D5Cu0063%3D5Cu0072%3D5Cu0033%3D5Cu0074%3D5Cu003a%3D5Cu004b%3D5Cu0065%3D5Cu0079%3D5Cu007e%3D5Cu0031",
        // Percent, then quoted-printable: `=25` is `%`.
        "s3cr3t=253AKey~1",
    ] {
        assert!(oracle.find(echo).is_some(), "{echo:?}");
    }
    for near in [
        "s3cr3t=3AKey=7E2",
        "%u0073%u0033%u0063%u0072%u0033%u0074%u003A%u004B%u0065%u0079%u007E%u0032",
        "73:33:63:72:33:74:3a:4b:65:79:7e:32",
        "s3cr3tKey2",
        "s 3 c r 3 t : K e y ~ 2",
        "czNjcjN0Ok\r\ntleX4y",
        "s3cr3t key",
        "a = b, x=CAFE, =3D and =\r\n",
    ] {
        assert_eq!(oracle.find(near), None, "{near:?}");
    }
}

#[test]
fn oracle_finds_a_canary_inside_a_longer_base64_blob() {
    let oracle = canary_oracle();
    let mut secrets: Vec<Vec<u8>> = text_canaries().into_iter().map(String::into_bytes).collect();
    secrets.push(SIG_DER.to_vec());
    for secret in &secrets {
        for before in 0..6 {
            for after in 0..4 {
                let mut blob: Vec<u8> = b"user-one:".iter().copied().cycle().take(before).collect();
                blob.extend_from_slice(secret);
                blob.extend(b"-tail".iter().take(after));
                for alphabet in [B64_STD, common::leak_oracle::B64_URL] {
                    for pad in [true, false] {
                        let encoded = base64(&blob, alphabet, pad);
                        let text = format!("token={encoded}; expired");
                        assert!(
                            oracle.find(&text).is_some(),
                            "{:?} at offset {before} in {text}",
                            String::from_utf8_lossy(secret)
                        );
                    }
                }
                // The byte list `Vec<u8>`'s Debug prints, flat and pretty, at any depth.
                let list = format!("{:?}", blob);
                let pretty = format!("{:#?}", Some(vec![blob.clone()]));
                assert!(oracle.find(&list).is_some(), "{list}");
                assert!(oracle.find(&pretty).is_some(), "{pretty}");
            }
        }
    }
}

#[test]
fn oracle_flags_nothing_without_a_secret() {
    let oracle = canary_oracle();
    let token = TokenSet::new(AccessToken::new(ACCESS), t0(), Some(t_refresh()))
        .with_refresh_token(tokendance::RefreshToken::new(REFRESH), None)
        .with_scope("openid profile email");
    let half = &PW[..PW.len() / 2];
    let innocent = [
        "<withheld: echoes a secret>".to_owned(),
        "HTTP 401 <withheld: echoes a secret>: <withheld: echoes a secret>".to_owned(),
        "HTTP 401 invalid_grant: Invalid user credentials".to_owned(),
        "HTTP 400 invalid_request: Missing form parameter: grant_type".to_owned(),
        "HTTP 200: body is not JSON (content type text/html; charset=utf-8)".to_owned(),
        "HTTP 302: redirect to https://evil.example/cb refused (transports must not follow redirects)"
            .to_owned(),
        "HTTP 403 (forbidden)".to_owned(),
        "HTTP 429 slow_down: too many requests (retry after 5 s)".to_owned(),
        "Password(<redacted>)".to_owned(),
        format!("{token:?}"),
        format!("{token:#?}"),
        format!("{:?}", Signature::from_der(SIG_DER.to_vec())),
        format!("{:?}", b"CANARY-nothing-here".to_vec()),
        base64(
            b"an unrelated blob of bytes, long enough to matter",
            B64_STD,
            true,
        ),
        common::leak_oracle::hex(b"an unrelated blob of bytes", false),
        format!("half a secret: {half}"),
        // A letter or digit changed (punctuation changed is the letters and digits alone).
        format!("one character changed: {}", PW.replace("Key~1", "Key~0")),
        PW.replace(['a', 'e', 'i', 'o', 'u'], ""),
        "de:ad:be:ef:00:11:22:33:44:55".to_owned(),
        "%u0041%u0042%u0043%u0044 =41=42=43=44".to_owned(),
        "CANARY-".to_owned(),
        String::new(),
    ];
    for text in &innocent {
        assert_eq!(oracle.find(text), None, "{text}");
    }
    assert!(oracle.find(&PW.replace('~', "-")).is_some());
}

// ---------------------------------------------------------------------------
// What the crate prints.

#[derive(Default)]
struct Printed {
    items: Vec<(String, String)>,
    errors: usize,
    outputs: usize,
    /// How many times the echo was served to the flow (a case whose echo
    /// never reached the flow proves nothing).
    served: usize,
    error: Option<Error>,
}

impl Printed {
    fn debug<T: Debug + ?Sized>(&mut self, label: &str, value: &T) {
        self.items.push((format!("{label} {{:?}}"), format!("{value:?}")));
        self.items
            .push((format!("{label} {{:#?}}"), format!("{value:#?}")));
    }

    fn display<T: Display + ?Sized>(&mut self, label: &str, value: &T) {
        self.items.push((format!("{label} {{}}"), format!("{value}")));
    }

    fn output<T: Debug + ?Sized>(&mut self, label: &str, value: &T) {
        self.outputs += 1;
        self.debug(label, value);
    }

    fn error(&mut self, e: &Error) {
        self.errors += 1;
        self.display("error", e);
        self.debug("error", e);
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            self.display("error source", s);
            self.debug("error source", s);
            source = s.source();
        }
        if let Some(server) = e.as_server() {
            self.display("as_server()", server);
            self.debug("as_server()", server);
            self.debug("as_server().code", &server.code);
            self.debug("as_server().message", &server.message);
            if let (Some(code), Some(message)) = (&server.code, &server.message) {
                // What a reader puts together from `{code}: {message}`.
                self.items
                    .push(("code + message, joined".to_owned(), format!("{code}{message}")));
            }
        }
        self.error = Some(e.clone());
    }
}

// ---------------------------------------------------------------------------
// A scripted server: the echo for the step under test, valid answers for
// every other request.

fn json_resp(status: u16, value: Value) -> Resp {
    resp(status, serde_json::to_vec(&value).unwrap()).header("content-type", "application/json")
}

fn keycloak_token(access: &str, refresh: &str) -> Resp {
    json_resp(
        200,
        json!({"access_token": access, "expires_in": 300, "refresh_token": refresh,
               "refresh_expires_in": 1800, "token_type": "bearer", "scope": "profile email"}),
    )
}

fn consumer_body() -> Value {
    json!({"regNo": "AA12345678", "loginName": "12345678901", "givenName": "Bat", "familyName": "Dorj"})
}

fn reply_body() -> Value {
    json!({"code": "success", "status": 200, "msg": "OK", "loginName": "12345678901", "email": "bat@example.mn"})
}

fn envelope_body() -> Value {
    json!({"status": "200", "message": "OK", "timestamp": "2024-05-01T10:00:00Z", "data": {"id": 7}})
}

/// Token endpoints, sign-in steps and registration: not the API.
fn is_token_path(path: &str) -> bool {
    path.ends_with("/openid-connect/token")
        || path.ends_with("/oauth2/v3/token")
        || path.ends_with("/v2/oauth/token")
        || path.ends_with("/auth/login")
        || path.ends_with("/key")
        || path.contains("/auth/cert/")
        || path.contains("/auth/simpleSignIn/")
        || path.ends_with("/api/v1/auth")
        || path.contains("/api/v1/token")
        || path.contains("/integration/connection")
}

fn is_api(path: &str) -> bool {
    !is_token_path(path)
}

/// The valid answer to any request of the flows here.
fn valid(path: &str) -> Resp {
    if path.ends_with("/openid-connect/token") {
        keycloak_token(ACCESS_2, REFRESH_2)
    } else if path.ends_with("/oauth2/v3/token") || path.ends_with("/v2/oauth/token") {
        json_resp(
            200,
            json!({"access_token": ACCESS, "expires_in": 3600, "token_type": "Bearer", "scope": "s:a"}),
        )
    } else if path.ends_with("/auth/login") {
        json_resp(
            200,
            json!({"statusCode": 200, "message": "Access token created", "data": {"token": ACCESS}}),
        )
    } else if path.ends_with("/key") {
        json_resp(200, json!({"uuid": "u-1", "data": "QNRPNPFGJZ"}))
    } else if path.contains("/auth/cert/") || path.contains("/auth/simpleSignIn/") {
        json_resp(200, json!({"token": ACCESS}))
    } else if path.ends_with("/api/v1/auth") {
        json_resp(200, json!({"code": MDLP_CODE}))
    } else if path.contains("/api/v1/token") {
        json_resp(200, json!({"token": ACCESS, "life_time": 30}))
    } else if path.contains("/integration/connection") {
        json_resp(200, json!({"status": "SUCCESS", "omsConnection": CONN}))
    } else if path.contains("/api/info/consumer/") {
        json_resp(200, consumer_body())
    } else if path.contains("/rest/v1/") {
        json_resp(200, reply_body())
    } else if path.contains("/oms/") {
        json_resp(200, envelope_body())
    } else {
        json_resp(200, json!({"ok": true}))
    }
}

struct Server<'a> {
    echo: &'a Resp,
    /// Which requests get the echo.
    target: fn(&str) -> bool,
    /// Only the first such request (later ones, a fallback, are answered validly).
    only_first: bool,
    echoed: usize,
}

impl<'a> Server<'a> {
    fn new(echo: &'a Resp, target: fn(&str) -> bool, only_first: bool) -> Self {
        Server {
            echo,
            target,
            only_first,
            echoed: 0,
        }
    }

    fn answer(&mut self, request: &http::Request<Vec<u8>>) -> http::Response<Vec<u8>> {
        let path = request.uri().path();
        if (self.target)(path) && !(self.only_first && self.echoed > 0) {
            self.echoed += 1;
            return self.echo.build();
        }
        valid(path).build()
    }
}

/// Drives `flow` from `now` against `server`, signing with [`SIG_DER`];
/// records its output with `record`, or its error, and how many times the
/// server served the echo.
fn drive<F: Flow>(
    flow: &mut F,
    now: Timestamp,
    server: &mut Server<'_>,
    printed: &mut Printed,
    record: impl FnOnce(&F::Output, &mut Printed),
) {
    let served = server.echoed;
    drive_steps(flow, now, server, printed, record);
    printed.served += server.echoed - served;
}

fn drive_steps<F: Flow>(
    flow: &mut F,
    now: Timestamp,
    server: &mut Server<'_>,
    printed: &mut Printed,
    record: impl FnOnce(&F::Output, &mut Printed),
) {
    let mut now = now;
    let mut step = flow.start(now);
    for _ in 0..32 {
        step = match step {
            Ok(Action::Send(out)) => {
                let answer = server.answer(out.as_http());
                flow.resume(now, Input::Response(answer))
            }
            Ok(Action::Sign(_)) => flow.resume(now, Input::Signature(Signature::from_der(SIG_DER.to_vec()))),
            Ok(Action::Wait(until)) => {
                now = now.max(until);
                flow.resume(now, Input::Timeout)
            }
            Ok(Action::Done(output)) => {
                record(&output, printed);
                return;
            }
            Err(e) => {
                printed.error(&e);
                return;
            }
        };
    }
    panic!("the flow did not end");
}

// ---------------------------------------------------------------------------
// The flows, each driven to its echoed step.

/// What answers the echoed step expects (and so which success places exist).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    /// An OAuth2 token answer issuing these tokens.
    Token {
        access: &'static str,
        refresh: Option<&'static str>,
    },
    Astana,
    Registration,
    /// A CRPT `{"token"}` answer.
    CrptToken,
    /// MDLP's `auth`, answered by a code.
    MdlpAuth,
    /// API calls.
    ApiRaw,
    ItcConsumer,
    ItcReply,
    Gam,
}

impl Kind {
    fn is_api(self) -> bool {
        matches!(
            self,
            Kind::ApiRaw | Kind::ItcConsumer | Kind::ItcReply | Kind::Gam
        )
    }
}

struct FlowSpec {
    name: &'static str,
    kind: Kind,
    /// What the echoed step knows: what it sent, the tokens it holds.
    known: Vec<(&'static str, String)>,
    /// Tokens the step's success answer issues (echoed in success values).
    issued: Vec<(&'static str, String)>,
    oracle: Oracle,
    run: fn(&Resp) -> Printed,
}

fn spec(
    name: &'static str,
    kind: Kind,
    known: &[(&'static str, &str)],
    issued: &[(&'static str, &str)],
    also: &[&str],
    signs: bool,
    run: fn(&Resp) -> Printed,
) -> FlowSpec {
    let own = |list: &[(&'static str, &str)]| -> Vec<(&'static str, String)> {
        list.iter().map(|(n, s)| (*n, (*s).to_owned())).collect()
    };
    let mut all: Vec<&str> = known.iter().chain(issued).map(|(_, s)| *s).collect();
    all.extend_from_slice(also);
    let raw: &[&[u8]] = if signs { &[SIG_DER] } else { &[] };
    FlowSpec {
        name,
        kind,
        known: own(known),
        issued: own(issued),
        oracle: Oracle::new(&all, raw),
        run,
    }
}

fn itc_session() -> PasswordSession {
    itc::session(&itc::Config::staging(), "user-one", Password::new(PW)).unwrap()
}

/// A session holding [`ACCESS`] and [`REFRESH`], obtained at [`t0`].
fn itc_session_with_tokens() -> PasswordSession {
    let mut s = itc_session();
    let SessionAction::Send(_) = s.poll(t0()).unwrap() else {
        panic!("the first poll sends the password grant")
    };
    s.handle_response(t0(), keycloak_token(ACCESS, REFRESH).build())
        .unwrap();
    s
}

fn session_step(s: &mut PasswordSession, now: Timestamp, echo: &Resp, p: &mut Printed) {
    p.served += 1;
    match s.handle_response(now, echo.build()) {
        Ok(()) => {
            // A token kept, or a refused refresh followed by the password grant.
            p.outputs += 1;
            if let Some(tokens) = s.tokens() {
                p.debug("session.tokens()", tokens);
            }
        }
        Err(e) => p.error(&e),
    }
    p.debug("session", s);
}

fn run_itc_password(echo: &Resp) -> Printed {
    let mut p = Printed::default();
    let mut s = itc_session();
    let SessionAction::Send(_) = s.poll(t0()).unwrap() else {
        panic!("the first poll sends the password grant")
    };
    session_step(&mut s, t0(), echo, &mut p);
    p
}

fn run_itc_refresh(echo: &Resp) -> Printed {
    let mut p = Printed::default();
    let mut s = itc_session_with_tokens();
    let SessionAction::Send(_) = s.poll(t_refresh()).unwrap() else {
        panic!("a due token is refreshed")
    };
    assert_eq!(s.in_flight(), Some(Grant::Refresh));
    session_step(&mut s, t_refresh(), echo, &mut p);
    p
}

fn record_reply(reply: &itc::Reply, p: &mut Printed) {
    p.output("itc::Reply", reply);
    p.display("itc::Reply.code", &reply.code);
}

fn profile_call<S: tokendance::call::TokenSource>(source: S) -> Authorized<S, itc::Reply> {
    let query = itc::ProfileQuery::Phone("99112233".to_owned());
    itc::get_profile(&itc::Config::staging(), &query, source).unwrap()
}

fn itc_call_over(s: &mut PasswordSession, now: Timestamp, echo: &Resp, p: &mut Printed) {
    {
        let mut call = profile_call(&mut *s);
        let mut server = Server::new(echo, |path| path.ends_with("/openid-connect/token"), true);
        drive(&mut call, now, &mut server, p, record_reply);
        p.debug("Authorized", &call);
    }
    p.debug("session", s);
}

fn run_itc_password_via_call(echo: &Resp) -> Printed {
    let mut p = Printed::default();
    let mut s = itc_session();
    itc_call_over(&mut s, t0(), echo, &mut p);
    p
}

fn run_itc_refresh_via_call(echo: &Resp) -> Printed {
    let mut p = Printed::default();
    let mut s = itc_session_with_tokens();
    itc_call_over(&mut s, t_refresh(), echo, &mut p);
    p
}

fn one_shot<F: Flow + Debug>(mut flow: F, echo: &Resp, target: fn(&str) -> bool) -> Printed
where
    F::Output: Debug,
{
    let mut p = Printed::default();
    let mut server = Server::new(echo, target, true);
    drive(&mut flow, t0(), &mut server, &mut p, |out, p| {
        p.output("output", out)
    });
    p.debug("flow", &flow);
    p
}

fn astana_url() -> Endpoint {
    Endpoint::parse("https://astana-plat.example/api/auth/login").unwrap()
}

fn run_gam_cc(echo: &Resp) -> Printed {
    let flow = gam::client_credentials(
        &gam::Config::staging(),
        "client-one",
        ClientSecret::new(CS),
        "s:a",
    )
    .unwrap();
    one_shot(flow, echo, |_| true)
}

fn run_monpay(echo: &Resp) -> Printed {
    let flow = monpay::exchange_code(
        &monpay::Config::test(),
        "client-two",
        ClientSecret::new(CS),
        AuthCode::new(CODE),
        "https://shop.example/back",
    )
    .unwrap();
    one_shot(flow, echo, |_| true)
}

fn run_astana_password(echo: &Resp) -> Printed {
    let flow = astana_plat::login_password(&astana_url(), "login-one", Password::new(PW)).unwrap();
    one_shot(flow, echo, |_| true)
}

fn run_astana_certificate(echo: &Resp) -> Printed {
    one_shot(
        astana_plat::login_certificate(&astana_url()).unwrap(),
        echo,
        |_| true,
    )
}

fn registration(signing: crpt::registration::Signing) -> crpt::registration::Registration {
    crpt::registration::register(
        &crpt::SuzStand::Demo.endpoint(),
        "oms-one",
        RegistrationKey::new(REG_KEY),
        "Moscow, 1",
        signing,
        "v2",
    )
    .unwrap()
}

fn run_registration_signed(echo: &Resp) -> Printed {
    one_shot(registration(crpt::registration::Signing::Detached), echo, |_| {
        true
    })
}

fn run_registration_unsigned(echo: &Resp) -> Printed {
    one_shot(registration(crpt::registration::Signing::Unsigned), echo, |_| {
        true
    })
}

fn run_gis_mt(echo: &Resp) -> Printed {
    let flow = crpt::gis_mt::sign_in(&crpt::GisMtStand::Demo.endpoint(), Some(CONN)).unwrap();
    one_shot(flow, echo, |path| {
        path.contains("/auth/cert/") && !path.ends_with("/key")
    })
}

fn run_true_api(echo: &Resp) -> Printed {
    let flow = crpt::true_api::sign_in(&crpt::TrueApiStand::Demo.endpoint(), Some(CONN)).unwrap();
    one_shot(flow, echo, |path| path.contains("/auth/simpleSignIn/"))
}

fn mdlp_flow(password: bool) -> mdlp::MdlpSignIn {
    let client = mdlp::Client {
        id: "client-one".to_owned(),
        secret: ClientSecret::new(MDLP_CS),
    };
    let auth = if password {
        mdlp::Auth::Password(Password::new(MDLP_PW))
    } else {
        mdlp::Auth::SignedCode
    };
    mdlp::sign_in(
        &crpt::MdlpStand::Sandbox.endpoint(),
        client,
        "user-one",
        auth,
        Some(CONN),
    )
    .unwrap()
}

fn run_mdlp_signed_auth(echo: &Resp) -> Printed {
    one_shot(mdlp_flow(false), echo, |path| path.ends_with("/api/v1/auth"))
}

fn run_mdlp_signed_token(echo: &Resp) -> Printed {
    one_shot(mdlp_flow(false), echo, |path| path.contains("/api/v1/token"))
}

fn run_mdlp_password_auth(echo: &Resp) -> Printed {
    one_shot(mdlp_flow(true), echo, |path| path.ends_with("/api/v1/auth"))
}

fn run_mdlp_password_token(echo: &Resp) -> Printed {
    one_shot(mdlp_flow(true), echo, |path| path.contains("/api/v1/token"))
}

fn fixed() -> TokenSet {
    TokenSet::new(AccessToken::new(ACCESS), t0(), None)
}

/// Runs an API call (echo on every API request), then prints the call.
fn api_call<S, T>(mut call: Authorized<S, T>, echo: &Resp, record: fn(&T, &mut Printed)) -> Printed
where
    S: tokendance::call::TokenSource + Debug,
{
    let mut p = Printed::default();
    let mut server = Server::new(echo, is_api, false);
    drive(&mut call, t0(), &mut server, &mut p, record);
    p.debug("Authorized", &call);
    p
}

fn record_raw(response: &http::Response<Vec<u8>>, p: &mut Printed) {
    // The raw response is the caller's own, untouched: only its status is printed here.
    p.output("response status", &response.status());
}

fn record_debug<T: Debug>(output: &T, p: &mut Printed) {
    p.output("output", output);
}

fn raw_request(scheme: Scheme) -> http::Request<Vec<u8>> {
    let uri = match scheme {
        Scheme::SuzClientToken => "https://suzgrid.crpt.ru:16443/api/v2/pharma/ping?omsId=oms-1",
        Scheme::MdlpToken => "https://api.sb.mdlp.crpt.ru/api/v1/documents/outcome",
        _ => "https://wallet.monpay.mn/v2/api/user/info",
    };
    http::Request::post(uri)
        .header("content-type", "application/json")
        .body(br#"{"page":1}"#.to_vec())
        .unwrap()
}

fn run_itc_consumer(echo: &Resp) -> Printed {
    let call = itc::consumer(&itc::Config::staging(), "AA12345678", fixed()).unwrap();
    api_call(call, echo, record_debug)
}

fn run_itc_profile(echo: &Resp) -> Printed {
    api_call(profile_call(fixed()), echo, record_reply)
}

fn run_itc_approve(echo: &Resp) -> Printed {
    let call = itc::approve_qr(&itc::Config::staging(), "12345678901", "QR-DATA-0001", fixed()).unwrap();
    api_call(call, echo, record_reply)
}

fn gam_post<S: tokendance::call::TokenSource>(source: S) -> Authorized<S, gam::Envelope<Value>> {
    let body = json!({"customerCode": "C-1"});
    gam::post(
        &gam::Config::staging(),
        "SHOP01",
        &["api", "v1", "orders"],
        &body,
        source,
    )
    .unwrap()
}

fn run_gam_post(echo: &Resp) -> Printed {
    api_call(gam_post(fixed()), echo, record_debug)
}

fn run_gam_get(echo: &Resp) -> Printed {
    let call = gam::get::<_, Value>(
        &gam::Config::staging(),
        "SHOP01",
        &["api", "v1", "orders", "7"],
        &[("q", "a b")],
        fixed(),
    )
    .unwrap();
    api_call(call, echo, record_debug)
}

fn run_raw_fixed(scheme: Scheme, echo: &Resp) -> Printed {
    api_call(
        Authorized::new(fixed(), raw_request(scheme), scheme).unwrap(),
        echo,
        record_raw,
    )
}

fn run_bearer_fixed(echo: &Resp) -> Printed {
    run_raw_fixed(Scheme::Bearer, echo)
}

fn run_suz_fixed(echo: &Resp) -> Printed {
    run_raw_fixed(Scheme::SuzClientToken, echo)
}

fn run_mdlp_token_fixed(echo: &Resp) -> Printed {
    run_raw_fixed(Scheme::MdlpToken, echo)
}

fn suz_sign_in() -> Result<crpt::ChallengeSignIn, Error> {
    crpt::true_api::sign_in(&crpt::TrueApiStand::Demo.endpoint(), Some(CONN))
}

/// A keeper holding [`ACCESS`]; after a 401 it signs in again (and gets [`ACCESS`]).
fn run_raw_keeper(scheme: Scheme, echo: &Resp) -> Printed {
    let mut keeper = TokenKeeper::new(CONN);
    let snapshot = Snapshot::new(
        CONN,
        1,
        AccessToken::new(ACCESS),
        t0(),
        Some(t0().saturating_add(Duration::from_secs(36_000))),
    );
    assert_eq!(keeper.restore(snapshot), Ok(true));
    let mut p = {
        let source = KeeperSource::new(&mut keeper, suz_sign_in);
        let call = Authorized::new(source, raw_request(scheme), scheme).unwrap();
        api_call(call, echo, record_raw)
    };
    p.debug("TokenKeeper", &keeper);
    p
}

fn run_suz_keeper(echo: &Resp) -> Printed {
    run_raw_keeper(Scheme::SuzClientToken, echo)
}

fn run_mdlp_token_keeper(echo: &Resp) -> Printed {
    run_raw_keeper(Scheme::MdlpToken, echo)
}

/// GAM's client credentials re-run by a `Reissue`: the echo is the token step's.
fn run_gam_reissue(echo: &Resp) -> Printed {
    let source = Reissue::new(|| {
        gam::client_credentials(
            &gam::Config::staging(),
            "client-one",
            ClientSecret::new(CS),
            "s:a",
        )
    });
    let mut call = gam_post(source);
    let mut p = Printed::default();
    let mut server = Server::new(echo, |path| path.ends_with("/oauth2/v3/token"), true);
    drive(&mut call, t0(), &mut server, &mut p, record_debug);
    p.debug("Authorized", &call);
    p.debug("Reissue", call.source());
    p
}

fn flows() -> Vec<FlowSpec> {
    let sig = sig_b64();
    let sig = sig.as_str();
    let itc_first = Kind::Token {
        access: ACCESS,
        refresh: Some(REFRESH),
    };
    let itc_second = Kind::Token {
        access: ACCESS_2,
        refresh: Some(REFRESH_2),
    };
    let one_token = Kind::Token {
        access: ACCESS,
        refresh: None,
    };
    let (pw, cs, code, at, rt) = (
        ("password", PW),
        ("client secret", CS),
        ("auth code", CODE),
        ("access token", ACCESS),
        ("refresh token", REFRESH),
    );
    let (at2, rt2) = (("new access token", ACCESS_2), ("new refresh token", REFRESH_2));
    let (key, signature) = (("registration key", REG_KEY), ("signature (base64)", sig));
    let (mcs, mpw, mcode) = (
        ("MDLP client secret", MDLP_CS),
        ("MDLP password", MDLP_PW),
        ("MDLP code", MDLP_CODE),
    );
    vec![
        spec(
            "itc session password grant",
            itc_first,
            &[pw],
            &[at, rt],
            &[],
            false,
            run_itc_password,
        ),
        spec(
            "itc session refresh grant",
            itc_second,
            &[pw, rt, at],
            &[at2, rt2],
            &[],
            false,
            run_itc_refresh,
        ),
        spec(
            "itc session password grant, in itc::get_profile",
            itc_first,
            &[pw],
            &[at, rt],
            &[],
            false,
            run_itc_password_via_call,
        ),
        spec(
            "itc session refresh grant, in itc::get_profile",
            itc_second,
            &[pw, rt, at],
            &[at2, rt2],
            &[],
            false,
            run_itc_refresh_via_call,
        ),
        spec(
            "gam::client_credentials",
            one_token,
            &[cs],
            &[at],
            &[],
            false,
            run_gam_cc,
        ),
        spec(
            "monpay::exchange_code",
            one_token,
            &[cs, code],
            &[at],
            &[],
            false,
            run_monpay,
        ),
        spec(
            "astana_plat::login_password",
            Kind::Astana,
            &[pw],
            &[at],
            &[],
            false,
            run_astana_password,
        ),
        spec(
            "astana_plat::login_certificate",
            Kind::Astana,
            &[],
            &[at],
            &[],
            false,
            run_astana_certificate,
        ),
        spec(
            "crpt registration, signed",
            Kind::Registration,
            &[key, signature],
            &[],
            &[],
            true,
            run_registration_signed,
        ),
        spec(
            "crpt registration, unsigned",
            Kind::Registration,
            &[key],
            &[],
            &[],
            false,
            run_registration_unsigned,
        ),
        spec(
            "gis_mt sign-in step",
            Kind::CrptToken,
            &[signature],
            &[at],
            &[],
            true,
            run_gis_mt,
        ),
        spec(
            "true_api sign-in step",
            Kind::CrptToken,
            &[signature],
            &[at],
            &[],
            true,
            run_true_api,
        ),
        spec(
            "mdlp SignedCode auth step",
            Kind::MdlpAuth,
            &[mcs],
            &[],
            &[MDLP_CODE, ACCESS],
            true,
            run_mdlp_signed_auth,
        ),
        spec(
            "mdlp SignedCode token step",
            Kind::CrptToken,
            &[mcs, mcode, signature],
            &[at],
            &[],
            true,
            run_mdlp_signed_token,
        ),
        spec(
            "mdlp Password auth step",
            Kind::MdlpAuth,
            &[mcs, mpw],
            &[],
            &[MDLP_CODE, ACCESS],
            false,
            run_mdlp_password_auth,
        ),
        spec(
            "mdlp Password token step",
            Kind::CrptToken,
            &[mcs, mcode, mpw],
            &[at],
            &[],
            false,
            run_mdlp_password_token,
        ),
        spec(
            "itc::consumer, fixed token",
            Kind::ItcConsumer,
            &[at],
            &[],
            &[],
            false,
            run_itc_consumer,
        ),
        spec(
            "itc::get_profile, fixed token",
            Kind::ItcReply,
            &[at],
            &[],
            &[],
            false,
            run_itc_profile,
        ),
        spec(
            "itc::approve_qr, fixed token",
            Kind::ItcReply,
            &[at],
            &[],
            &[],
            false,
            run_itc_approve,
        ),
        spec(
            "gam::post, fixed token",
            Kind::Gam,
            &[at],
            &[],
            &[],
            false,
            run_gam_post,
        ),
        spec(
            "gam::get, fixed token",
            Kind::Gam,
            &[at],
            &[],
            &[],
            false,
            run_gam_get,
        ),
        spec(
            "Authorized Bearer, fixed token",
            Kind::ApiRaw,
            &[at],
            &[],
            &[],
            false,
            run_bearer_fixed,
        ),
        spec(
            "Authorized SuzClientToken, fixed token",
            Kind::ApiRaw,
            &[at],
            &[],
            &[],
            false,
            run_suz_fixed,
        ),
        spec(
            "Authorized MdlpToken, fixed token",
            Kind::ApiRaw,
            &[at],
            &[],
            &[],
            false,
            run_mdlp_token_fixed,
        ),
        spec(
            "Authorized SuzClientToken, KeeperSource",
            Kind::ApiRaw,
            &[at],
            &[],
            &[sig],
            true,
            run_suz_keeper,
        ),
        spec(
            "Authorized MdlpToken, KeeperSource",
            Kind::ApiRaw,
            &[at],
            &[],
            &[sig],
            true,
            run_mdlp_token_keeper,
        ),
        spec(
            "gam::post over Reissue, token step",
            one_token,
            &[cs],
            &[at],
            &[],
            false,
            run_gam_reissue,
        ),
    ]
}

// ---------------------------------------------------------------------------
// Places of an answer where the echo goes.

struct Place {
    name: String,
    build: Box<dyn Fn(&str) -> Resp>,
}

fn place(name: impl Into<String>, build: impl Fn(&str) -> Resp + 'static) -> Place {
    Place {
        name: name.into(),
        build: Box::new(build),
    }
}

const STATUSES: [u16; 6] = [400, 401, 403, 429, 500, 200];

const ERROR_FIELDS: [&str; 17] = [
    "error",
    "error_description",
    "error_message",
    "message",
    "msg",
    "description",
    "code",
    "error_code",
    "detail",
    "title",
    "globalErrors[0].error",
    "globalErrors[0].message",
    "fieldErrors[0].fieldError",
    "violations[0].message",
    "rejectionReason",
    "statusCode+message",
    "error+error_description",
];

/// A JSON body with `echo` in `field` (at 200, with an error marker).
fn error_body(field: &str, echo: &str, status: u16) -> Value {
    let mut body = match field {
        "globalErrors[0].error" => json!({"globalErrors": [{"error": echo}]}),
        "globalErrors[0].message" => json!({"globalErrors": [{"message": echo}]}),
        "fieldErrors[0].fieldError" => json!({"fieldErrors": [{"field": "password", "fieldError": echo}]}),
        "violations[0].message" => json!({"violations": [{"message": echo}]}),
        "rejectionReason" => json!({"status": "REJECTED", "rejectionReason": echo}),
        "statusCode+message" => json!({"statusCode": 400, "message": echo}),
        "error+error_description" => json!({"error": "invalid_grant", "error_description": echo}),
        other => {
            let mut map = serde_json::Map::new();
            map.insert(other.to_owned(), Value::String(echo.to_owned()));
            Value::Object(map)
        }
    };
    if status == 200 && !matches!(field, "rejectionReason" | "statusCode+message") {
        body["success"] = json!(false);
    }
    body
}

fn with_retry_after(status: u16, r: Resp) -> Resp {
    if status == 429 {
        r.header("retry-after", "5")
    } else {
        r
    }
}

fn error_places() -> Vec<Place> {
    let mut places = Vec::new();
    for field in ERROR_FIELDS {
        for status in STATUSES {
            places.push(place(format!("JSON {field} at {status}"), move |e| {
                with_retry_after(status, json_resp(status, error_body(field, e, status)))
            }));
        }
    }
    places
}

fn page_places() -> Vec<Place> {
    let mut places = Vec::new();
    for status in [400, 401, 403, 502] {
        places.push(place(
            format!("plain text, no content type, at {status}"),
            move |e| resp(status, format!("refused: {e}")),
        ));
        places.push(place(format!("text/plain at {status}"), move |e| {
            resp(status, format!("Error {status}\r\n{e}\r\n"))
                .header("content-type", "text/plain; charset=utf-8")
        }));
        places.push(place(format!("HTML <title> at {status}"), move |e| {
            resp(
                status,
                format!("<html><head><title>{e}</title></head><body>refused</body></html>"),
            )
            .header("content-type", "text/html")
        }));
        places.push(place(format!("HTML body text at {status}"), move |e| {
            resp(
                status,
                format!("<html><body><h1>Error</h1><p>Could not sign in {e}.</p></body></html>"),
            )
            .header("content-type", "text/html; charset=utf-8")
        }));
    }
    places
}

fn header_places(kind: Kind) -> Vec<Place> {
    let mut places = vec![
        place("Content-Type parameter on an HTML 200", |e| {
            resp(200, "<html><body>maintenance</body></html>")
                .header("content-type", format!("text/html; x={e}"))
        }),
        place("Content-Type parameter on an HTML 502", |e| {
            resp(502, "<html><body>bad gateway</body></html>")
                .header("content-type", format!("text/html; x={e}"))
        }),
        place("Location path at 302", |e| {
            resp(302, "").header("location", format!("https://evil.example/cb/{e}"))
        }),
        place("Location userinfo (absolute) at 302", |e| {
            resp(302, "").header("location", format!("https://user:{e}@evil.example/cb"))
        }),
        place("Location userinfo (scheme-relative) at 302", |e| {
            resp(302, "").header("location", format!("//user:{e}@evil.example/cb"))
        }),
        place("Location query at 302", |e| {
            resp(302, "").header("location", format!("https://evil.example/cb?token={e}"))
        }),
        place("Location fragment at 307", |e| {
            resp(307, "").header("location", format!("https://evil.example/cb#{e}"))
        }),
    ];
    if kind.is_api() {
        places.push(place("WWW-Authenticate error at 401", |e| {
            resp(401, "").header("www-authenticate", format!("Bearer realm=\"api\", error=\"{e}\""))
        }));
        places.push(place("WWW-Authenticate error_description at 401", |e| {
            resp(401, "").header(
                "www-authenticate",
                format!("Bearer error=\"invalid_token\", error_description=\"{e}\""),
            )
        }));
        places.push(place("WWW-Authenticate error_description at 403", |e| {
            resp(403, "").header(
                "www-authenticate",
                format!("Bearer error=\"insufficient_scope\", error_description=\"{e}\""),
            )
        }));
    }
    places
}

fn with_field(mut body: Value, pointer: &[&str], echo: &str) -> Value {
    let mut at = &mut body;
    for key in &pointer[..pointer.len() - 1] {
        at = &mut at[*key];
    }
    at[pointer[pointer.len() - 1]] = Value::String(echo.to_owned());
    body
}

fn success_places(kind: Kind) -> Vec<Place> {
    let fields =
        |base: fn() -> Value, what: &'static str, fields: &[&'static [&'static str]]| -> Vec<Place> {
            fields
                .iter()
                .map(|pointer| {
                    let pointer: &'static [&'static str] = pointer;
                    place(format!("{what} {}", pointer.join(".")), move |e| {
                        json_resp(200, with_field(base(), pointer, e))
                    })
                })
                .collect()
        };
    match kind {
        Kind::Token { access, refresh } => vec![place("token answer scope", move |e| {
            let mut body =
                json!({"access_token": access, "expires_in": 300, "token_type": "Bearer", "scope": e});
            if let Some(refresh) = refresh {
                body["refresh_token"] = json!(refresh);
                body["refresh_expires_in"] = json!(1800);
            }
            json_resp(200, body)
        })],
        Kind::Astana => vec![
            place("login answer message", |e| {
                json_resp(
                    200,
                    json!({"statusCode": 200, "message": e, "data": {"token": ACCESS}}),
                )
            }),
            place("login answer data.note", |e| {
                json_resp(
                    200,
                    json!({"statusCode": 200, "message": "Access token created", "data": {"token": ACCESS, "note": e}}),
                )
            }),
        ],
        Kind::Registration => vec![
            place("registration omsConnection", |e| {
                json_resp(200, json!({"status": "SUCCESS", "omsConnection": e}))
            }),
            place("registration REJECTED rejectionReason", |e| {
                json_resp(200, json!({"status": "REJECTED", "rejectionReason": e}))
            }),
        ],
        Kind::ItcConsumer => fields(
            consumer_body,
            "consumer",
            &[&["regNo"], &["loginName"], &["givenName"], &["familyName"]],
        ),
        Kind::ItcReply => fields(
            reply_body,
            "reply",
            &[&["msg"], &["loginName"], &["email"], &["code"]],
        ),
        Kind::Gam => fields(
            envelope_body,
            "envelope",
            &[
                &["status"],
                &["message"],
                &["timestamp"],
                &["data"],
                &["data", "note"],
            ],
        ),
        Kind::ApiRaw | Kind::CrptToken | Kind::MdlpAuth => Vec::new(),
    }
}

// ---------------------------------------------------------------------------
// Running a group of cases, collecting every failure.

/// Whether `encoded` really is in the answer: in the body (as is, or as a
/// JSON string holds it) or in a header value.
fn planted(answer: &Resp, encoded: &str) -> bool {
    let body = String::from_utf8_lossy(&answer.body);
    let json = serde_json::to_string(encoded).unwrap();
    body.contains(encoded)
        || body.contains(json.trim_matches('"'))
        || answer.headers.iter().any(|(_, v)| v.contains(encoded))
}

/// Whether every header value of `answer` can be sent (no CR or LF).
fn buildable(answer: &Resp) -> bool {
    answer
        .headers
        .iter()
        .all(|(_, v)| http::HeaderValue::from_bytes(v.as_bytes()).is_ok())
}

#[derive(Default)]
struct Report {
    cases: usize,
    failed: usize,
    /// Cases skipped: the echo cannot be put in a header value.
    unbuildable: usize,
    /// `ECHO_SHOW` is set: keep every failure's description.
    show_all: bool,
    errors: usize,
    outputs: usize,
    failures: Vec<String>,
    by_flow: BTreeMap<String, (usize, usize)>,
    by_place: BTreeMap<String, (usize, usize)>,
    by_encoding: BTreeMap<String, (usize, usize)>,
    by_secret: BTreeMap<String, (usize, usize)>,
}

fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        format!("{}…", text.chars().take(max).collect::<String>())
    }
}

impl Report {
    fn new() -> Self {
        Report {
            show_all: std::env::var("ECHO_SHOW").is_ok(),
            ..Report::default()
        }
    }

    /// Checks one case's printed forms.
    fn check(&mut self, flow: &FlowSpec, place: &str, encoding: &str, secret: &str, printed: &Printed) {
        self.cases += 1;
        self.errors += printed.errors;
        self.outputs += printed.outputs;
        assert_eq!(
            printed.errors + printed.outputs,
            1,
            "{} / {place} / {encoding}: the step must end in one error or one output",
            flow.name
        );
        let hit = if printed.served == 0 {
            // Vacuous: the flow never met the echo, so its printing proves nothing.
            Some("the echo was never served to the flow".to_owned())
        } else {
            printed.items.iter().find_map(|(label, text)| {
                flow.oracle.find(text).map(|finding| {
                    format!(
                        "printed {label}: {:?}\n      oracle: {}",
                        clip(text, 400),
                        clip(&finding, 300)
                    )
                })
            })
        };
        let failed = hit.is_some();
        for (map, key) in [
            (&mut self.by_flow, flow.name.to_owned()),
            (&mut self.by_place, place.to_owned()),
            (&mut self.by_encoding, encoding.to_owned()),
            (&mut self.by_secret, secret.to_owned()),
        ] {
            let entry = map.entry(key).or_default();
            entry.0 += 1;
            entry.1 += usize::from(failed);
        }
        if let Some(what) = hit {
            self.failed += 1;
            if self.failures.len() >= 20 && !self.show_all {
                return;
            }
            self.failures.push(format!(
                "{} / {place} / {encoding} of the {secret}:\n      {what}",
                flow.name
            ));
        }
    }

    fn summary(map: &BTreeMap<String, (usize, usize)>) -> String {
        map.iter()
            .filter(|(_, (_, failed))| *failed > 0)
            .map(|(k, (all, failed))| format!("    {failed:>5} of {all:>5}  {k}"))
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn finish(self, test: &str) {
        eprintln!(
            "{test}: {} cases ({} errors, {} outputs), {} fail; {} skipped (a line break in a header)",
            self.cases, self.errors, self.outputs, self.failed, self.unbuildable
        );
        assert!(self.cases > 0, "{test}: no cases");
        // `ECHO_SHOW=text cargo test --test echoes -- --nocapture` lists every
        // failure whose description holds `text`.
        if let Ok(filter) = std::env::var("ECHO_SHOW") {
            for failure in self.failures.iter().filter(|f| f.contains(&filter)) {
                eprintln!("  {failure}");
            }
        }
        if self.failed == 0 {
            return;
        }
        panic!(
            "{test}: {} of {} cases print an echoed secret (or never served the echo)\n  by flow:\n{}\n  by secret:\n{}\n  by encoding:\n{}\n  by place:\n{}\n  first failures:\n    {}",
            self.failed,
            self.cases,
            Self::summary(&self.by_flow),
            Self::summary(&self.by_secret),
            Self::summary(&self.by_encoding),
            Self::summary(&self.by_place),
            self.failures.iter().take(6).cloned().collect::<Vec<_>>().join("\n    ")
        );
    }
}

/// Every (flow, place, encoding) case: the secret rotates with the place and
/// the encoding among `candidates(flow)`.
fn run_cases(
    test: &str,
    flows: &[FlowSpec],
    places: impl Fn(&FlowSpec) -> Vec<Place>,
    candidates: impl Fn(&FlowSpec) -> Vec<(&'static str, String)>,
) {
    let mut report = Report::new();
    for flow in flows {
        let secrets = candidates(flow);
        if secrets.is_empty() {
            continue;
        }
        let encoded: Vec<Vec<(&'static str, String)>> = secrets.iter().map(|(_, s)| encodings(s)).collect();
        for (p, place) in places(flow).iter().enumerate() {
            for (e, _) in encoded[0].iter().enumerate() {
                let which = (p + e) % secrets.len();
                let (encoding, echo) = &encoded[which][e];
                let answer = (place.build)(echo);
                if !buildable(&answer) {
                    // A header value cannot hold a line break (CRLF-wrapped
                    // base64, a soft line break): no server can send that.
                    assert!(
                        echo.contains(['\r', '\n']),
                        "{encoding} cannot be put in a header"
                    );
                    report.unbuildable += 1;
                    continue;
                }
                assert!(
                    planted(&answer, echo),
                    "{} / {}: {encoding} not planted",
                    flow.name,
                    place.name
                );
                assert!(
                    flow.oracle.find(echo).is_some(),
                    "the oracle misses the {encoding} of {}",
                    secrets[which].0
                );
                let printed = (flow.run)(&answer);
                report.check(flow, &place.name, encoding, secrets[which].0, &printed);
            }
        }
    }
    report.finish(test);
}

fn known(flow: &FlowSpec) -> Vec<(&'static str, String)> {
    flow.known.clone()
}

// ---------------------------------------------------------------------------
// The groups.

#[test]
fn error_fields_never_show_an_echoed_secret() {
    run_cases(
        "error_fields_never_show_an_echoed_secret",
        &flows(),
        |_| error_places(),
        known,
    );
}

#[test]
fn pages_never_show_an_echoed_secret() {
    run_cases(
        "pages_never_show_an_echoed_secret",
        &flows(),
        |_| page_places(),
        known,
    );
}

#[test]
fn headers_never_show_an_echoed_secret() {
    run_cases(
        "headers_never_show_an_echoed_secret",
        &flows(),
        |flow| header_places(flow.kind),
        known,
    );
}

#[test]
fn success_values_are_printed_scrubbed() {
    run_cases(
        "success_values_are_printed_scrubbed",
        &flows(),
        |flow| success_places(flow.kind),
        |flow| flow.known.iter().chain(&flow.issued).cloned().collect(),
    );
}

#[test]
fn refresh_errors_never_show_the_held_access_token() {
    let flows: Vec<FlowSpec> = flows()
        .into_iter()
        .filter(|f| f.name.starts_with("itc session refresh grant"))
        .collect();
    assert_eq!(flows.len(), 2);
    run_cases(
        "refresh_errors_never_show_the_held_access_token",
        &flows,
        |_| {
            let mut places = error_places();
            places.extend(page_places());
            places
        },
        |_| vec![("held access token", ACCESS.to_owned())],
    );
}

/// Split points of `text`: at its own `": "` (so that `{code}: {message}`
/// reads whole), and at a third, a half and two thirds of its characters.
fn split_points(text: &str) -> Vec<(&'static str, String, String)> {
    let mut splits = Vec::new();
    if let Some(at) = text.find(": ") {
        splits.push((
            "split at its \": \"",
            text[..at].to_owned(),
            text[at + 2..].to_owned(),
        ));
    }
    let chars: Vec<char> = text.chars().collect();
    let n = chars.len();
    for (name, at) in [
        ("split at 1/3", n / 3),
        ("split at 1/2", n / 2),
        ("split at 2/3", n * 2 / 3),
    ] {
        let at = at.clamp(1, n.saturating_sub(1).max(1));
        splits.push((name, chars[..at].iter().collect(), chars[at..].iter().collect()));
    }
    splits
}

/// An error body holding two halves: its name, and how it is built.
type Shape = (&'static str, fn(&str, &str) -> Value);

#[test]
fn split_secrets_never_show_when_joined() {
    let test = "split_secrets_never_show_when_joined";
    let mut report = Report::new();
    let shapes: [Shape; 3] = [
        (
            "error + error_description",
            |a, b| json!({"error": a, "error_description": b}),
        ),
        ("code + message", |a, b| json!({"code": a, "message": b})),
        (
            "error_code + error_message",
            |a, b| json!({"error_code": a, "error_message": b}),
        ),
    ];
    for flow in &flows() {
        if flow.known.is_empty() {
            continue;
        }
        let encoded: Vec<Vec<(&'static str, String)>> =
            flow.known.iter().map(|(_, s)| encodings(s)).collect();
        for (s, (shape, body)) in shapes.iter().enumerate() {
            for e in 0..encoded[0].len() {
                // The status rotates too: each shape meets each at a third of the encodings.
                let status = [400, 401, 403][(s + 2 * e) % 3];
                let which = (s + e) % flow.known.len();
                let (encoding, echo) = &encoded[which][e];
                for (split, first, second) in split_points(echo) {
                    let answer = json_resp(status, body(&first, &second));
                    assert!(planted(&answer, &first) && planted(&answer, &second));
                    let printed = (flow.run)(&answer);
                    let place = format!("{shape} at {status}, {split}");
                    report.check(flow, &place, encoding, flow.known[which].0, &printed);
                }
            }
        }
    }
    report.finish(test);
}

// ---------------------------------------------------------------------------
// Redirect targets: scheme, host and path only.

/// Generated `Location` values hiding user info, a query or a fragment.
fn locations() -> Vec<String> {
    let (user, pass) = ("CANARY-user", "CANARY-pass");
    let authorities = [
        format!("https://{user}:{pass}@evil.example/cb"),
        format!("HTTPS://{user}:{pass}@EVIL.EXAMPLE/cb"),
        format!("https://{user}:{pass}@evil.example"),
        format!("https://{user}:{pass}@evil.example:8443/cb"),
        format!("https://{user}:{pass}@[::1]/cb"),
        format!("https://{user}@evil.example/cb"),
        format!("https://{user}:{pass}@good.example@evil.example/cb"),
        format!("https://{user}%3A{pass}@evil.example/cb"),
        format!("//{user}:{pass}@evil.example/cb"),
        format!("///{user}:{pass}@evil.example/cb"),
        format!("\\\\{user}:{pass}@evil.example/cb"),
        format!("/\\{user}:{pass}@evil.example/cb"),
        format!("\\/{user}:{pass}@evil.example/cb"),
        format!("https:\\\\{user}:{pass}@evil.example\\cb"),
        format!("https:/\\{user}:{pass}@evil.example/cb"),
        format!("ht\ttps://{user}:{pass}@evil.example/cb"),
        format!("https:\t//{user}:{pass}@evil.example/cb"),
        format!("https:/\t/{user}:{pass}@evil.example/cb"),
        format!("https://{user}:{pass}\t@evil.example/cb"),
        format!("\t//{user}:{pass}@evil.example/cb"),
        format!(" https://{user}:{pass}@evil.example/cb"),
        format!("https://{user}:{pass}\r\n@evil.example/cb"),
        format!("https://{user}:{pass}\n@evil.example/cb"),
        "https://evil.example/cb".to_owned(),
        "/relative/cb".to_owned(),
        "cb".to_owned(),
        String::new(),
    ];
    let tails = [
        "",
        "?code=CANARY-query",
        "#CANARY-frag",
        "?code=CANARY-query#CANARY-frag",
        "\t?code=CANARY-query",
        "/x?next=https://CANARY-user:CANARY-pass@other.example/#CANARY-frag",
        "?q=1@CANARY-query",
    ];
    let mut all = Vec::new();
    for a in &authorities {
        for t in tails {
            let l = format!("{a}{t}");
            if !l.is_empty() {
                all.push(l);
            }
        }
    }
    all
}

#[test]
fn locations_show_scheme_host_and_path_only() {
    let hidden = Oracle::new(
        &["CANARY-user", "CANARY-pass", "CANARY-query", "CANARY-frag"],
        &[],
    );
    let flows: Vec<FlowSpec> = flows()
        .into_iter()
        .filter(|f| {
            matches!(
                f.name,
                "gam::client_credentials"
                    | "itc session password grant"
                    | "crpt registration, unsigned"
                    | "mdlp Password token step"
                    | "itc::consumer, fixed token"
                    | "Authorized Bearer, fixed token"
                    | "Authorized SuzClientToken, KeeperSource"
            )
        })
        .collect();
    assert_eq!(flows.len(), 7);
    let mut cases = 0;
    let mut unbuildable = Vec::new();
    let mut failures = Vec::new();
    for location in locations() {
        if http::HeaderValue::from_str(&location).is_err() {
            // CR, LF and other controls cannot be put in a header value.
            unbuildable.push(location);
            continue;
        }
        let answer = resp(302, "").header("location", location.clone());
        for flow in &flows {
            cases += 1;
            let printed = (flow.run)(&answer);
            let shown = match &printed.error {
                Some(Error::Protocol(ProtocolError::Redirect { location, .. })) => location.clone(),
                other => panic!(
                    "{}: {location:?}: expected a redirect error, got {other:?}",
                    flow.name
                ),
            };
            let mut problems = Vec::new();
            if let Some(shown) = &shown {
                if shown.contains(['?', '#']) {
                    problems.push("keeps a query or a fragment".to_owned());
                }
                if let Some(hit) = hidden.find(shown) {
                    problems.push(format!("shows {hit}"));
                }
            }
            for (label, text) in &printed.items {
                if let Some(hit) = hidden.find(text) {
                    problems.push(format!("{label} shows {hit}"));
                    break;
                }
            }
            // The plain cases keep scheme, host and path.
            let plain = [
                "https://CANARY-user:CANARY-pass@evil.example/cb",
                "https://evil.example/cb",
            ]
            .iter()
            .any(|p| location.starts_with(p));
            if plain
                && !location.contains("/x?")
                && !location.contains('\t')
                && shown.as_deref() != Some("https://evil.example/cb")
            {
                problems.push("does not show https://evil.example/cb".to_owned());
            }
            if !problems.is_empty() {
                failures.push(format!(
                    "{} / Location {location:?}: shown as {shown:?}: {}",
                    flow.name,
                    problems.join("; ")
                ));
            }
        }
    }
    eprintln!(
        "locations_show_scheme_host_and_path_only: {cases} cases, {} fail; {} Location values cannot be \
         put in a header (CR/LF), e.g. {:?}",
        failures.len(),
        unbuildable.len(),
        unbuildable.first()
    );
    assert!(!unbuildable.is_empty() && unbuildable.iter().all(|l| l.contains(['\r', '\n'])));
    if std::env::var("ECHO_SHOW").is_ok() {
        for failure in &failures {
            eprintln!("  {failure}");
        }
    }
    assert!(cases > 500, "{cases}");
    assert!(
        failures.is_empty(),
        "{} of {cases} redirect errors show user info, a query or a fragment; first:\n  {}",
        failures.len(),
        failures.iter().take(8).cloned().collect::<Vec<_>>().join("\n  ")
    );
}

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

// From `tests/echoes/`, a plain `mod common;` would look for `echoes/common.rs`.
#[path = "../common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::fmt::Debug;

use common::keycloak::token_body;
use common::leak_oracle::{base64, encodings, letters_and_digits, Oracle, B64_STD, LETTERS_AND_DIGITS_MIN};
use common::printings::Printings;
use common::time::{at, T0};
use common::{resp, Resp};
use serde_json::{json, Value};
use tokendance::call::{Authorized, Reissue, Scheme};
use tokendance::crpt::{self, mdlp, KeeperSource, Snapshot, TokenKeeper};
use tokendance::oauth2::{Grant, PasswordSession, SessionAction};
use tokendance::{
    astana_plat, gam, itc, monpay, AccessToken, Action, AuthCode, ClientSecret, Endpoint, Error, Flow, Input,
    Password, ProtocolError, RegistrationKey, Signature, Timestamp, TokenSet,
};

// The files of this crate take the canaries, the printed forms, the scripted
// server and the flow specs below with `use super::*`.
mod api_flows;
mod cases;
mod classes;
mod flows;
mod locations;
mod oracle;
mod places;
mod token_flows;

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

/// Past the ITC token's renewal time (it lives 300 s, renewed 30 s before).
fn t_refresh() -> Timestamp {
    at(280)
}

// ---------------------------------------------------------------------------
// What the crate prints.

#[derive(Default)]
struct Printed {
    seen: Printings,
    errors: usize,
    outputs: usize,
    /// How many times the echo was served to the flow (a case whose echo
    /// never reached the flow proves nothing).
    served: usize,
    error: Option<Error>,
}

impl std::ops::Deref for Printed {
    type Target = Printings;
    fn deref(&self) -> &Printings {
        &self.seen
    }
}

impl std::ops::DerefMut for Printed {
    fn deref_mut(&mut self) -> &mut Printings {
        &mut self.seen
    }
}

impl Printed {
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
    json_resp(200, token_body(access, refresh, 300, 1800))
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
            Ok(Action::Store(_)) => unreachable!("these flows use no store"),
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
// The flows, each driven to its echoed step (`token_flows`, `api_flows`),
// and what the echoed step knows (`flows`).

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

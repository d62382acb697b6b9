//! Authorised API calls (`call::Authorized`, the token sources, the typed ITC
//! and GAM calls), through the public API only: the exact requests of every
//! provider, the credential each scheme attaches, the one retry after a 401
//! with every kind of source, 403 and the other statuses, the flow rules, the
//! typed answers, and both drivers.

// The files of this crate take these imports and the fixtures below with
// `use super::*`.
use std::cell::Cell;
use std::sync::Mutex;
use std::time::Duration;

use http::Method;
use serde::{Deserialize, Serialize};

// From `tests/calls/`, a plain `mod common;` would look for `calls/common.rs`.
#[path = "../common/mod.rs"]
mod common;
use common::time::{at, T0};
use common::{done, failed, resp, send, sign, wait, Header};
use tokendance::call::{Authorized, Reissue, Scheme, TokenSource};
use tokendance::crpt::{true_api, KeeperSource, TokenKeeper, TrueApiStand};
use tokendance::{
    gam, itc, AccessToken, Action, ClientSecret, Error, Expect, Flow, Input, InputKind, Outgoing, Password,
    ProtocolError, Purpose, ServerErrorKind, SignJob, Signature, SignatureKind, Timestamp, TokenSet,
    UsageError,
};

// One file per provider, then one per rule; `itc`, `gam`, `monpay` and `true_api` are
// the crate's own modules, hence the `_calls`.
mod crpt_calls;
mod drivers;
mod flow_rules;
mod gam_calls;
mod itc_calls;
mod limiter;
mod monpay_calls;
mod retry;
mod schemes;
mod sources;
mod statuses;
mod suz_calls;
mod uris;

/// A token that never expires and cannot be renewed.
fn fixed(token: &str) -> TokenSet {
    TokenSet::new(AccessToken::new(token), T0, None)
}

/// A GAM client-credentials flow for `orders:read`, counting how many were made.
fn counted_gam(config: &gam::Config, made: &Cell<u32>) -> Result<tokendance::TokenRequest, Error> {
    made.set(made.get() + 1);
    gam::client_credentials(config, "partner-app", ClientSecret::new("s3cret"), "orders:read")
}

/// A response input.
fn answer(status: u16, body: impl AsRef<[u8]>) -> Input {
    Input::Response(resp(status, body).build())
}

fn json_answer(status: u16, value: serde_json::Value) -> Input {
    answer(status, serde_json::to_vec(&value).unwrap())
}

/// The header value of `name`, as text.
#[track_caller]
fn header<'a>(out: &'a Outgoing, name: &str) -> &'a str {
    out.as_http().headers()[name].to_str().unwrap()
}

/// Asserts that `retry` is `first` byte for byte except for the credential
/// header `name`, which must differ, be present once and be sensitive.
#[track_caller]
fn assert_same_but_credential(first: &Outgoing, retry: &Outgoing, name: &str) {
    let (a, b) = (first.as_http(), retry.as_http());
    assert_eq!(a.method(), b.method());
    assert_eq!(a.uri(), b.uri());
    assert_eq!(a.version(), b.version());
    assert_eq!(a.body(), b.body(), "body bytes");
    let strip = |r: &http::Request<Vec<u8>>| {
        let mut h = r.headers().clone();
        h.remove(name);
        h
    };
    assert_eq!(strip(a), strip(b), "headers other than {name}");
    assert_eq!(b.headers().get_all(name).iter().count(), 1);
    assert_ne!(
        a.headers()[name],
        b.headers()[name],
        "{name} must carry the new token"
    );
    assert!(b.headers()[name].is_sensitive());
}

const ACCEPT: Header<'static> = ("accept", "application/json", false);
const JSON_CT: Header<'static> = ("content-type", "application/json", false);

fn bearer(value: &str) -> (&'static str, String, bool) {
    ("authorization", format!("Bearer {value}"), true)
}

/// `common::assert_request` with owned header values.
#[track_caller]
fn assert_request(out: &Outgoing, method: Method, url: &str, headers: &[(&str, String, bool)], body: &[u8]) {
    let headers: Vec<Header<'_>> = headers.iter().map(|(k, v, s)| (*k, v.as_str(), *s)).collect();
    common::assert_request(out, method, url, &headers, body);
}

fn h(header: Header<'_>) -> (&str, String, bool) {
    (header.0, header.1.to_owned(), header.2)
}

const ITC_SERVICE: &str = "https://st-service.itc.gov.mn/api/easy-register/";

/// A Keycloak token answer.
fn keycloak(access: &str, refresh: &str) -> Input {
    Input::Response(common::keycloak::token(access, refresh))
}

fn gam_token(access: &str) -> Input {
    json_answer(
        200,
        serde_json::json!({"access_token": access, "expires_in": 3600, "token_type": "Bearer"}),
    )
}

const CONSUMER_BODY: &str =
    r#"{"regNo":"AA12345678","loginName":"12345678901","givenName":"Бат","familyName":"Дорж"}"#;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NewOrder<'a> {
    customer_code: &'a str,
    amount: u32,
}

#[derive(Deserialize, PartialEq, Debug)]
#[serde(rename_all = "camelCase")]
struct Order {
    id: u64,
    customer_code: String,
}

/// A hand-written token flow: `Sign(challenge-N)` → `Done(hand-N)`, where N
/// counts the flows made.
struct HandIssue {
    n: u32,
    state: u8,
}

impl Flow for HandIssue {
    type Output = TokenSet;

    fn start(&mut self, _now: Timestamp) -> Result<Action<TokenSet>, Error> {
        if self.state != 0 {
            return Err(Error::Usage(UsageError::AlreadyStarted));
        }
        self.state = 1;
        Ok(Action::Sign(SignJob::new(
            format!("challenge-{}", self.n).into_bytes(),
            SignatureKind::Detached,
            Purpose::MdlpCode,
        )))
    }

    fn resume(&mut self, now: Timestamp, input: Input) -> Result<Action<TokenSet>, Error> {
        match (self.state, input) {
            (1, Input::Signature(sig)) => {
                self.state = 2;
                assert_eq!(sig.as_der(), format!("sig-{}", self.n).as_bytes());
                let expires = now.saturating_add(Duration::from_secs(3600));
                Ok(Action::Done(TokenSet::new(
                    AccessToken::new(format!("hand-{}", self.n)),
                    now,
                    Some(expires),
                )))
            }
            (1, Input::Failed) => {
                self.state = 2;
                Err(Error::Usage(UsageError::Aborted))
            }
            (1, other) => Err(Error::Usage(UsageError::UnexpectedInput {
                expected: Expect::Signature,
                got: other.kind(),
            })),
            _ => Err(Error::Usage(UsageError::Finished)),
        }
    }
}

fn hand_signature(n: u32) -> Input {
    Input::Signature(Signature::from_der(format!("sig-{n}").into_bytes()))
}

/// A hand-written flow for `Reissue`, counting how many were made: the count
/// is its N.
fn counted_hand(made: &Cell<u32>) -> Result<HandIssue, Error> {
    made.set(made.get() + 1);
    Ok(HandIssue {
        n: made.get(),
        state: 0,
    })
}

/// The request of the tests that look only at what comes back.
fn get_x() -> http::Request<Vec<u8>> {
    http::Request::get("https://api.example/x")
        .body(Vec::new())
        .unwrap()
}

/// A bearer call of [`get_x`] with a token from `source`.
fn bearer_call<S: TokenSource>(source: S) -> Authorized<S> {
    Authorized::new(source, get_x(), Scheme::Bearer).unwrap()
}

/// Asserts that the call refuses `input` (of kind `got`) while it expects
/// `expected`.
#[track_caller]
fn assert_wrong_input<F: Flow>(call: &mut F, input: Input, expected: Expect, got: InputKind) {
    assert_eq!(
        failed(call.resume(T0, input)),
        Error::Usage(UsageError::UnexpectedInput { expected, got })
    );
}

/// The ITC session with its password grant answered.
fn itc_session_with_token(access: &str, refresh: &str) -> tokendance::oauth2::PasswordSession {
    let mut session = itc::session(
        &itc::Config::staging(),
        "easy-register-test",
        Password::new("Test@123"),
    )
    .unwrap();
    let tokendance::oauth2::SessionAction::Send(_) = session.poll(T0).unwrap() else {
        panic!("expected the password grant")
    };
    match keycloak(access, refresh) {
        Input::Response(r) => session.handle_response(T0, r).unwrap(),
        _ => unreachable!(),
    }
    session
}

const ITC_TOKEN_URL: &str = "https://st.auth.itc.gov.mn/auth/realms/Staging/protocol/openid-connect/token";

const CONN: &str = "11b1abc9-f4ee-47db-8a20-f80ac83504e8";
const TRUE_API: &str = "https://int01.gismt.crpt.tech/api/v3/true-api";

fn suz_ping() -> http::Request<Vec<u8>> {
    http::Request::get("https://suzgrid.crpt.ru:16443/api/v2/pharma/ping?omsId=oms-1")
        .header("accept", "application/json")
        .body(Vec::new())
        .unwrap()
}

fn sign_in() -> Result<tokendance::crpt::ChallengeSignIn, Error> {
    true_api::sign_in(&TrueApiStand::Demo.endpoint(), Some(CONN))
}

/// Runs the True API sign-in the call is in: key request already returned
/// by the previous step. Returns the call's next step after the token.
fn answer_sign_in<F: Flow>(
    call: &mut F,
    key: Outgoing,
    now: Timestamp,
    token: &str,
) -> Result<Action<F::Output>, Error> {
    assert_eq!(key.as_http().method(), Method::GET);
    assert_eq!(key.as_http().uri().to_string(), format!("{TRUE_API}/auth/key"));
    let job = sign(call.resume(now, answer(200, r#"{"uuid":"u-1","data":"QNRPNPFGJZ"}"#)));
    assert_eq!(
        (job.bytes(), job.kind()),
        (&b"QNRPNPFGJZ"[..], SignatureKind::Attached)
    );
    let exchange = send(call.resume(now, Input::Signature(Signature::from_der(vec![0x30, 0x80]))));
    assert_eq!(exchange.as_http().method(), Method::POST);
    assert_eq!(
        exchange.as_http().uri().to_string(),
        format!("{TRUE_API}/auth/simpleSignIn/{CONN}")
    );
    assert_eq!(exchange.as_http().body(), br#"{"uuid":"u-1","data":"MIA="}"#);
    call.resume(now, json_answer(200, serde_json::json!({"token": token})))
}

const XML_401: &str =
    r#"<?xml version="1.0" encoding="UTF-8"?><error><code>401</code><message>Unauthorized</message></error>"#;

/// A SUZ ping whose client token comes from `keeper`, signing in with [`sign_in`].
fn suz_call(keeper: &Mutex<TokenKeeper>) -> Authorized<impl TokenSource + '_> {
    Authorized::new(
        KeeperSource::new(keeper, sign_in),
        suz_ping(),
        Scheme::SuzClientToken,
    )
    .unwrap()
}

/// The token a shared keeper holds.
fn held_token(keeper: &Mutex<TokenKeeper>) -> String {
    let keeper = keeper.lock().unwrap();
    keeper.token().unwrap().access_token().expose_secret().to_owned()
}

fn xml_401() -> Input {
    Input::Response(
        resp(401, XML_401)
            .header("content-type", "application/xml;charset=UTF-8")
            .build(),
    )
}

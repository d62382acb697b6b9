//! Hostile and broken responses fed to every step of every flow: the ITC
//! password grant and refresh, GAM, MonPay's code exchange and merchant
//! token, Astana-plat by password and by certificate. Each case asserts the exact error family and its key fields,
//! and the harness checks, for every single response fed:
//!
//! * no error's `Display` or `Debug` holds the token of a 2xx body or any
//!   secret the request carried;
//! * a one-shot flow is finished afterwards: every later call returns
//!   `UsageError::Finished` and none emits a `Send`;
//! * a session either ended (and says so on every call) or backs off and then
//!   sends the same grant once more.

use std::time::Duration;

use http::header::{CONTENT_TYPE, LOCATION, RETRY_AFTER};
use http::StatusCode;
use tokendance::astana_plat::LoginError;
use tokendance::oauth2::{PasswordSession, SessionAction};
use tokendance::{
    itc, Action, Error, Flow, Input, Password, ProtocolError, RetryAfter, ServerError, ServerErrorKind,
    Timestamp, TokenSet, UsageError, MAX_BODY, MAX_MESSAGE_CHARS,
};

// The files of this crate take the harness below with `use super::*`.
mod body;
mod errors_in_200;
mod messages;
mod not_json;
mod statuses;
mod token_fields;

// ------------------------------------------------------------ the harness

/// The token every 2xx body carries: it must never appear in an error.
const TOKEN: &str = "SECRET-TOKEN-7f3a";
const ITC_PASSWORD: &str = "itc-pass-Ж&=+ 1";
const HELD_ACCESS: &str = "HELD-ACCESS-1";
const REFRESH: &str = "REFRESH-TOKEN-9c1d";
const GAM_SECRET: &str = "gam-secret-0b7e";
const MONPAY_SECRET: &str = "monpay-secret-44d2";
const MONPAY_CODE: &str = "monpay-code-e91c";
const ASTANA_PASSWORD: &str = "astana-pw-\"\\-5a";
const NEVER_IN_ERRORS: [&str; 7] = [
    TOKEN,
    ITC_PASSWORD,
    REFRESH,
    GAM_SECRET,
    MONPAY_SECRET,
    MONPAY_CODE,
    ASTANA_PASSWORD,
];

common::step_list!(
    ItcPassword,
    ItcRefresh,
    Gam,
    MonPay,
    AstanaPassword,
    AstanaCert,
    MonPayMerchant,
);
use Step::*;

// From `tests/hostile_responses/`, a plain `mod common;` would look for
// `hostile_responses/common.rs`.
#[path = "../common/mod.rs"]
mod common;
use common::flows::{token_flow, BoxedTokenFlow, Canaries, Success};
use common::time::{at, T0, T0_SECS};
use common::{resp, Resp};

const OAUTH: [Step; 5] = [ItcPassword, ItcRefresh, Gam, MonPay, MonPayMerchant];
const ONE_SHOT: [Step; 5] = [Gam, MonPay, AstanaPassword, AstanaCert, MonPayMerchant];

impl Step {
    fn is_astana(self) -> bool {
        matches!(self, AstanaPassword | AstanaCert)
    }

    /// MonPay's token endpoint, with its status table.
    fn is_monpay(self) -> bool {
        matches!(self, MonPay | MonPayMerchant)
    }

    /// The `now` of the step that sends the request.
    fn sent_at(self) -> Timestamp {
        match self {
            ItcRefresh => at(270),
            _ => T0,
        }
    }

    /// A valid success body for this step, with the token [`TOKEN`].
    fn ok_body(self) -> String {
        match self {
            ItcPassword | ItcRefresh => Success::OAuth.body(TOKEN),
            _ => token_flow(self.table_name()).success.body(TOKEN),
        }
    }
}

/// With `Content-Type: application/json`.
fn json(status: u16, body: impl AsRef<[u8]>) -> Resp {
    resp(status, body).header("content-type", "application/json")
}

/// What happened to a session after an error.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum After {
    /// A one-shot flow: finished for good.
    Finished,
    /// The session ended (credentials refused).
    Ended,
    /// The session backed off, then sent the same grant again.
    Retried,
}

#[derive(Debug)]
enum Outcome {
    Token(TokenSet),
    /// The ITC refresh was refused; the password grant went out next.
    Fallback,
    Err(Error, After),
}

impl Step {
    /// The entry of the shared flow table a one-request step drives.
    fn table_name(self) -> &'static str {
        match self {
            Gam => "gam",
            MonPay => "monpay",
            MonPayMerchant => "monpay merchant",
            AstanaPassword => "astana password",
            AstanaCert => "astana certificate",
            ItcPassword | ItcRefresh => unreachable!("not a one-shot flow"),
        }
    }
}

fn one_shot(step: Step) -> BoxedTokenFlow {
    let canaries = Canaries {
        password: ASTANA_PASSWORD,
        client_secret: if step.is_monpay() {
            MONPAY_SECRET
        } else {
            GAM_SECRET
        },
        code: MONPAY_CODE,
        mdlp_secret: "",
        mdlp_password: "",
    };
    (token_flow(step.table_name()).build)(&canaries).unwrap()
}

fn grant_of(out: &tokendance::Outgoing) -> String {
    url::form_urlencoded::parse(out.as_http().body())
        .find(|(k, _)| k == "grant_type")
        .map(|(_, v)| v.into_owned())
        .unwrap()
}

fn refresh_of(out: &tokendance::Outgoing) -> Option<String> {
    url::form_urlencoded::parse(out.as_http().body())
        .find(|(k, _)| k == "refresh_token")
        .map(|(_, v)| v.into_owned())
}

/// An ITC session at the step: for the refresh, after a password grant at
/// `T0` gave `HELD_ACCESS` (300 s) and `REFRESH` (1800 s).
fn itc_session(step: Step) -> PasswordSession {
    let mut session = itc::session(&itc::Config::staging(), "user", Password::new(ITC_PASSWORD)).unwrap();
    let SessionAction::Send(out) = session.poll(T0).unwrap() else {
        panic!("expected the password grant")
    };
    assert_eq!(grant_of(&out), "password");
    if step == ItcRefresh {
        session
            .handle_response(T0, common::keycloak::token(HELD_ACCESS, REFRESH))
            .unwrap();
        let SessionAction::Send(out) = session.poll(step.sent_at()).unwrap() else {
            panic!("expected the refresh")
        };
        assert_eq!(grant_of(&out), "refresh_token");
        assert_eq!(refresh_of(&out).as_deref(), Some(REFRESH));
    }
    session
}

#[track_caller]
fn assert_clean(err: &Error) {
    let shown = format!("{err} / {err:?}");
    for secret in NEVER_IN_ERRORS {
        assert!(!shown.contains(secret), "error shows {secret:?}: {shown}");
    }
    assert!(!err.to_string().is_empty());
}

/// Feeds `r` to `step`, checks the invariants, and says what happened.
fn feed(step: Step, r: &Resp) -> Outcome {
    let now = step.sent_at();
    match step {
        ItcPassword | ItcRefresh => {
            let mut session = itc_session(step);
            match session.handle_response(now, r.build()) {
                Ok(()) => {
                    let tokens = session.tokens().unwrap().clone();
                    if step == ItcRefresh
                        && tokens.access_token().expose_secret() == HELD_ACCESS
                        && tokens.refresh_token().is_none()
                    {
                        let SessionAction::Send(out) = session.poll(now).unwrap() else {
                            panic!("a refused refresh must be followed by the password grant")
                        };
                        assert_eq!(grant_of(&out), "password");
                        return Outcome::Fallback;
                    }
                    assert!(session.poll(now).is_ok());
                    Outcome::Token(tokens)
                }
                Err(err) => {
                    assert_clean(&err);
                    if session.has_ended() {
                        assert_eq!(step, ItcPassword, "a refresh never ends the session");
                        assert_eq!(session.next_deadline(), None);
                        assert_eq!(
                            session
                                .poll(now.saturating_add(Duration::from_secs(86_400)))
                                .unwrap_err(),
                            Error::Usage(UsageError::Finished)
                        );
                        return Outcome::Err(err, After::Ended);
                    }
                    // Backing off: nothing is sent before the deadline...
                    let deadline = session.next_deadline().unwrap();
                    assert!(deadline > now, "{step:?}: back-off deadline not after now");
                    match session.poll(now).unwrap() {
                        SessionAction::Send(_) => panic!("{step:?}: sent again without backing off"),
                        SessionAction::UseToken(t) => {
                            assert_eq!(step, ItcRefresh);
                            assert_eq!(t.expose_secret(), HELD_ACCESS);
                        }
                        SessionAction::Wait(until) => assert_eq!(until, deadline),
                    }
                    // ... then the same grant goes out once.
                    let SessionAction::Send(out) = session.poll(deadline).unwrap() else {
                        panic!("{step:?}: nothing sent after the back-off")
                    };
                    let refresh_alive = deadline < at(1800);
                    if step == ItcRefresh && refresh_alive {
                        assert_eq!(grant_of(&out), "refresh_token");
                        assert_eq!(refresh_of(&out).as_deref(), Some(REFRESH));
                    } else {
                        assert_eq!(grant_of(&out), "password");
                    }
                    assert!(
                        !matches!(session.poll(deadline), Ok(SessionAction::Send(_))),
                        "two requests in flight"
                    );
                    Outcome::Err(err, After::Retried)
                }
            }
        }
        Gam | MonPay | AstanaPassword | AstanaCert | MonPayMerchant => {
            let mut flow = one_shot(step);
            let Action::Send(_) = flow.start(now).unwrap() else {
                panic!("expected Send")
            };
            let result = flow.resume(now, Input::Response(r.build()));
            // Finished for good, whatever happened: no later call sends.
            let ok = json(200, step.ok_body());
            for later in [
                flow.start(now),
                flow.resume(now, Input::Response(ok.build())),
                flow.resume(now, Input::Timeout),
                flow.resume(now, Input::Failed),
            ] {
                assert!(
                    matches!(later, Err(Error::Usage(UsageError::Finished))),
                    "{step:?}: later call gave {:?}",
                    later.map(|a| matches!(a, Action::Send(_)))
                );
            }
            match result {
                Ok(Action::Done(token)) => Outcome::Token(token),
                Ok(_) => panic!("{step:?}: a one-shot flow has one request"),
                Err(err) => {
                    assert_clean(&err);
                    Outcome::Err(err, After::Finished)
                }
            }
        }
    }
}

#[track_caller]
fn token(step: Step, r: &Resp) -> TokenSet {
    match feed(step, r) {
        Outcome::Token(t) => {
            assert_eq!(t.access_token().expose_secret(), TOKEN, "{step:?}");
            assert_eq!(t.obtained_at(), step.sent_at());
            t
        }
        other => panic!("{step:?}: expected a token, got {other:?}"),
    }
}

#[track_caller]
fn error(step: Step, r: &Resp) -> Error {
    match feed(step, r) {
        Outcome::Err(e, _) => e,
        // A refresh refused with a 4xx that is not a rate limit falls back
        // to the password grant at once (`feed` checked it): its refusal is
        // no error of the session's. The password grant's refusal of the
        // same answer, read by the same classifier, stands in for it.
        Outcome::Fallback if step == ItcRefresh && (400..500).contains(&r.status) => {
            let stand_in = error(ItcPassword, r);
            // A rate limit or a timeout must back off, never fall back.
            assert!(
                !stand_in.is_retryable(),
                "{step:?}: fell back to the password grant after a retryable answer: {stand_in:?}"
            );
            stand_in
        }
        other => panic!("{step:?}: expected an error, got {other:?}"),
    }
}

#[track_caller]
fn protocol(step: Step, r: &Resp) -> ProtocolError {
    match error(step, r) {
        Error::Protocol(p) => {
            assert!(!Error::Protocol(p.clone()).is_retryable());
            p
        }
        other => panic!("{step:?}: expected a protocol error, got {other:?}"),
    }
}

#[track_caller]
fn server(step: Step, r: &Resp) -> ServerError {
    match error(step, r) {
        Error::Server(s) => s,
        other => panic!("{step:?}: expected a server error, got {other:?}"),
    }
}

/// The code a refusal without a readable body gets: MonPay's status table, or none.
fn table_code(step: Step, status: u16) -> Option<&'static str> {
    if !step.is_monpay() {
        return None;
    }
    match status {
        400 => Some("invalid_request"),
        401 => Some("unauthorized_client"),
        403 => Some("invalid_grant"),
        415 => Some("unsupported_grant_type"),
        505 => Some("server_error"),
        _ => None,
    }
}

fn status(n: u16) -> StatusCode {
    StatusCode::from_u16(n).unwrap()
}

/// What a 200 body that is not one JSON object with unique keys is refused as.
fn not_one_object() -> ProtocolError {
    ProtocolError::Malformed {
        status: StatusCode::OK,
        field: "$".to_owned(),
        expected: "a JSON object with unique keys",
    }
}

/// `{"access_token": TOKEN, <extra>}` for OAuth steps.
fn oauth_with(extra: &str) -> String {
    format!(r#"{{"access_token":"{TOKEN}",{extra}}}"#)
}

//! Transcripts, in the style of rustls' `tests/unbuffered.rs`: each flow runs
//! against a scripted list of responses, every step is recorded as a line,
//! and the whole sequence is compared with a constant.

use std::cell::{Cell, RefCell};
use std::fmt;

use http::header::CONTENT_TYPE;
use tokendance::drive::{self, DriveError, NoSigner};
use tokendance::oauth2::{PasswordSession, SessionAction};
use tokendance::{
    astana_plat, gam, itc, monpay, AccessToken, Action, AuthCode, ClientSecret, Endpoint, Error, Expect,
    Flow, Input, InputKind, Password, Timestamp, TokenSet, UsageError,
};

// From `tests/transcripts/`, a plain `mod common;` would look for
// `transcripts/common.rs`.
#[path = "../common/mod.rs"]
mod common;
mod fetch;
mod itc_failures;
mod itc_renewal;
mod one_shot;

// Times print as `common::time::rel` prints them, the format every transcript shares.
use common::keycloak::{response, token_body, token_body_without_refresh};
use common::scripted::Scripted;
use common::time::{at, rel};

/// A Keycloak token response (common's builder), with the refresh token
/// and its lifetime when the realm gives one: the transcripts vary both.
fn keycloak(access: &str, expires_in: u64, refresh: Option<(&str, u64)>) -> http::Response<Vec<u8>> {
    let body = match refresh {
        Some((r, r_in)) => token_body(access, r, expires_in, r_in),
        None => token_body_without_refresh(access, expires_in),
    };
    response(200, body.to_string())
}

/// `Send POST /path grant_type=… [refresh_token=…]` for forms, `… authType=N` for JSON.
fn describe(req: &http::Request<Vec<u8>>) -> String {
    let is_form = req
        .headers()
        .get(CONTENT_TYPE)
        .is_some_and(|v| v == "application/x-www-form-urlencoded");
    let summary = if is_form {
        url::form_urlencoded::parse(req.body())
            .filter(|(k, _)| k == "grant_type" || k == "refresh_token")
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    } else {
        let v: serde_json::Value = serde_json::from_slice(req.body()).unwrap();
        format!("authType={}", v["authType"])
    };
    format!("Send {} {} {}", req.method(), req.uri().path(), summary)
}

fn token_line(token: &TokenSet) -> String {
    format!(
        "Done token={} expires_at={} refresh={}",
        token.access_token().expose_secret(),
        token.expires_at().map_or("none".to_owned(), rel),
        token.refresh_token().map_or("none", |r| r.expose_secret()),
    )
}

// ------------------------------------------------------------ the ITC session

/// A session under a recorder.
struct Sim {
    session: PasswordSession,
    log: Vec<String>,
}

impl Sim {
    fn new() -> Self {
        let session = itc::session(
            &itc::Config::staging(),
            itc::STAGING_TEST_USERNAME,
            Password::new(itc::STAGING_TEST_PASSWORD),
        )
        .unwrap();
        Sim {
            session,
            log: Vec::new(),
        }
    }

    fn poll(&mut self, t: u64) -> &mut Self {
        let line = match self.session.poll(at(t)) {
            Ok(SessionAction::UseToken(token)) => format!("UseToken {}", token.expose_secret()),
            Ok(SessionAction::Send(out)) => describe(out.as_http()),
            Ok(SessionAction::Wait(until)) => format!("Wait {}", rel(until)),
            Err(e) => format!("Err {e}"),
        };
        self.log.push(format!("{} poll: {line}", rel(at(t))));
        self
    }

    fn recv(&mut self, t: u64, resp: http::Response<Vec<u8>>) -> &mut Self {
        let status = resp.status().as_u16();
        let line = match self.session.handle_response(at(t), resp) {
            Ok(()) => "ok".to_owned(),
            Err(e) => format!("Err {e}"),
        };
        self.log.push(format!("{} recv {status}: {line}", rel(at(t))));
        self
    }

    fn fail(&mut self, t: u64) -> &mut Self {
        let line = match self.session.transport_failed(at(t)) {
            Ok(()) => "ok".to_owned(),
            Err(e) => format!("Err {e}"),
        };
        self.log.push(format!("{} transport failed: {line}", rel(at(t))));
        self
    }

    fn unauthorized(&mut self, t: u64) -> &mut Self {
        self.session.unauthorized(at(t));
        self.log.push(format!("{} unauthorized", rel(at(t))));
        self
    }

    fn deadline(&mut self) -> &mut Self {
        let d = self.session.next_deadline().map_or("none".to_owned(), rel);
        self.log.push(format!("deadline {d}"));
        self
    }

    /// The session after a first password grant at +0 answered at +1 with
    /// `a1` (300 s) and `r1` (`refresh_expires_in` seconds).
    fn with_token(refresh_expires_in: u64) -> Self {
        let mut sim = Sim::new();
        sim.poll(0)
            .recv(1, keycloak("a1", 300, Some(("r1", refresh_expires_in))));
        assert_eq!(
            sim.log,
            [
                "+0s poll: Send POST /auth/realms/Staging/protocol/openid-connect/token grant_type=password",
                "+1s recv 200: ok",
            ]
        );
        sim.log.clear();
        sim
    }
}

const PASSWORD_GRANT: &str =
    "Send POST /auth/realms/Staging/protocol/openid-connect/token grant_type=password";

fn refresh_grant(token: &str) -> String {
    format!("Send POST /auth/realms/Staging/protocol/openid-connect/token grant_type=refresh_token refresh_token={token}")
}

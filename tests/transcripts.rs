//! Transcripts, in the style of rustls' `tests/unbuffered.rs`: each flow runs
//! against a scripted list of responses, every step is recorded as a line,
//! and the whole sequence is compared with a constant.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;

use http::header::CONTENT_TYPE;
use tokendance::drive::{self, DriveError, NoSigner};
use tokendance::oauth2::{PasswordSession, SessionAction};
use tokendance::{
    astana_plat, gam, itc, monpay, AccessToken, Action, AuthCode, ClientSecret, Endpoint, Error, Expect,
    Flow, Input, InputKind, Password, Timestamp, TokenSet, UsageError,
};

const T0_SECS: u64 = 1_700_000_000;

/// `T0 + s` seconds.
fn at(s: u64) -> Timestamp {
    Timestamp::from_unix_secs(T0_SECS + s)
}

/// A time relative to `T0`, as the transcripts print it.
fn rel(t: Timestamp) -> String {
    if t == Timestamp::MAX {
        return "MAX".to_owned();
    }
    if t == Timestamp::EPOCH {
        return "epoch".to_owned();
    }
    let ms = t.as_unix_millis() as i128 - i128::from(T0_SECS) * 1000;
    if ms % 1000 == 0 {
        format!("+{}s", ms / 1000)
    } else {
        format!("+{ms}ms")
    }
}

fn response(status: u16, body: &str) -> http::Response<Vec<u8>> {
    http::Response::builder()
        .status(status)
        .header(CONTENT_TYPE, "application/json")
        .body(body.as_bytes().to_vec())
        .unwrap()
}

/// A Keycloak token response.
fn keycloak(access: &str, expires_in: u64, refresh: Option<(&str, u64)>) -> http::Response<Vec<u8>> {
    let mut body = serde_json::json!({
        "access_token": access, "expires_in": expires_in, "token_type": "bearer",
        "not-before-policy": 0, "session_state": "5d0e", "scope": "profile email",
    });
    if let Some((r, r_in)) = refresh {
        body["refresh_token"] = r.into();
        body["refresh_expires_in"] = r_in.into();
    }
    response(200, &body.to_string())
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

// ------------------------------------------------------------ one-shot flows

/// What the script answers to a `Send`.
enum Answer {
    At(u64, http::Response<Vec<u8>>),
    FailedAt(u64),
}

/// Runs a one-shot flow started at `T0 + start` against `script`; records
/// every step, then checks that the flow is finished for good.
fn run_one_shot<F: Flow<Output = TokenSet>>(mut flow: F, start: u64, script: Vec<Answer>) -> Vec<String> {
    let mut log = Vec::new();
    let mut script = VecDeque::from(script);
    let mut now = at(start);
    let mut result = flow.start(now);
    loop {
        match result {
            Ok(Action::Send(out)) => {
                log.push(describe(out.as_http()));
                let input = match script.pop_front().expect("script ran out") {
                    Answer::At(t, resp) => {
                        now = at(t);
                        log.push(format!("Recv {} at {}", resp.status().as_u16(), rel(now)));
                        Input::Response(resp)
                    }
                    Answer::FailedAt(t) => {
                        now = at(t);
                        log.push(format!("Failed at {}", rel(now)));
                        Input::Failed
                    }
                };
                result = flow.resume(now, input);
            }
            Ok(Action::Done(token)) => {
                log.push(token_line(&token));
                break;
            }
            Ok(Action::Wait(t)) => panic!("one-shot flows never wait (asked to wait until {})", rel(t)),
            Ok(Action::Sign(_)) => panic!("these flows never sign"),
            Err(e) => {
                log.push(format!("Error {e}"));
                break;
            }
        }
    }
    assert!(script.is_empty(), "{} scripted answers left", script.len());
    // Finished for good: every later call says so, none sends.
    let later = [
        flow.start(now).map(|_| ()),
        flow.resume(now, Input::Response(keycloak("x", 1, None)))
            .map(|_| ()),
        flow.resume(now, Input::Timeout).map(|_| ()),
        flow.resume(now, Input::Failed).map(|_| ()),
    ];
    for r in later {
        assert_eq!(r, Err(Error::Usage(UsageError::Finished)));
    }
    log.push("Later: finished".to_owned());
    log
}

fn gam_flow() -> tokendance::TokenRequest {
    gam::client_credentials(
        &gam::Config::staging(),
        "partner-app",
        ClientSecret::new("s3cret"),
        "iam:user-password:update",
    )
    .unwrap()
}

fn monpay_flow() -> tokendance::TokenRequest {
    monpay::exchange_code(
        &monpay::Config::test(),
        "client",
        ClientSecret::new("secret"),
        AuthCode::new("code-1"),
        "https://shop.example/back",
    )
    .unwrap()
}

fn astana_url() -> Endpoint {
    Endpoint::parse("https://astana-plat.example/api/auth/login").unwrap()
}

#[test]
fn gam_transcript() {
    let log = run_one_shot(
        gam_flow(),
        10,
        vec![Answer::At(
            11,
            response(
                200,
                r#"{"access_token":"gam-1","expires_in":3600,"token_type":"Bearer","scope":"iam:user-password:update"}"#,
            ),
        )],
    );
    assert_eq!(
        log,
        [
            "Send POST /oauth2/v3/token grant_type=client_credentials",
            "Recv 200 at +11s",
            // Expiry counts from the sending step: +10 s + 3600 s.
            "Done token=gam-1 expires_at=+3610s refresh=none",
            "Later: finished",
        ]
    );
}

#[test]
fn gam_refused_transcript() {
    let log = run_one_shot(gam_flow(), 0, vec![Answer::At(1, response(403, ""))]);
    assert_eq!(
        log,
        [
            "Send POST /oauth2/v3/token grant_type=client_credentials",
            "Recv 403 at +1s",
            "Error HTTP 403 (forbidden)",
            "Later: finished",
        ]
    );
}

#[test]
fn gam_transport_failure_transcript() {
    let log = run_one_shot(gam_flow(), 0, vec![Answer::FailedAt(30)]);
    assert_eq!(
        log,
        [
            "Send POST /oauth2/v3/token grant_type=client_credentials",
            "Failed at +30s",
            "Error the flow was aborted because its last action failed",
            "Later: finished",
        ]
    );
}

#[test]
fn monpay_transcript() {
    let log = run_one_shot(
        monpay_flow(),
        0,
        vec![Answer::At(
            0,
            response(
                200,
                r#"{"access_token":"mp-1","token_type":"bearer","refresh_token":"mr-1","expires_in":0}"#,
            ),
        )],
    );
    assert_eq!(
        log,
        [
            "Send POST /v2/oauth/token grant_type=authorization_code",
            "Recv 200 at +0s",
            // MonPay: zero means "no known expiry".
            "Done token=mp-1 expires_at=none refresh=mr-1",
            "Later: finished",
        ]
    );
}

#[test]
fn monpay_bad_code_transcript() {
    let log = run_one_shot(monpay_flow(), 0, vec![Answer::At(0, response(403, ""))]);
    assert_eq!(
        log,
        [
            "Send POST /v2/oauth/token grant_type=authorization_code",
            "Recv 403 at +0s",
            "Error HTTP 403 invalid_grant",
            "Later: finished",
        ]
    );
}

#[test]
fn astana_password_transcript() {
    let flow = astana_plat::login_password(&astana_url(), "demo", Password::new("pw")).unwrap();
    let log = run_one_shot(
        flow,
        0,
        vec![Answer::At(
            2,
            response(
                200,
                r#"{"statusCode":200,"message":"Access token created","data":{"token":"ap-1"}}"#,
            ),
        )],
    );
    assert_eq!(
        log,
        [
            "Send POST /api/auth/login authType=1",
            "Recv 200 at +2s",
            "Done token=ap-1 expires_at=none refresh=none",
            "Later: finished",
        ]
    );
}

#[test]
fn astana_certificate_transcript() {
    let flow = astana_plat::login_certificate(&astana_url()).unwrap();
    let log = run_one_shot(
        flow,
        0,
        vec![Answer::At(
            0,
            response(
                200,
                r#"{"statusCode":200,"message":"Access token created","data":{"token":"ap-2"}}"#,
            ),
        )],
    );
    assert_eq!(
        log,
        [
            "Send POST /api/auth/login authType=2",
            "Recv 200 at +0s",
            "Done token=ap-2 expires_at=none refresh=none",
            "Later: finished",
        ]
    );
}

#[test]
fn astana_refused_in_a_200_transcript() {
    let flow = astana_plat::login_password(&astana_url(), "demo", Password::new("pw")).unwrap();
    let log = run_one_shot(
        flow,
        0,
        vec![Answer::At(
            0,
            response(
                200,
                r#"{"statusCode":400,"message":"User with given credentials not found"}"#,
            ),
        )],
    );
    assert_eq!(
        log,
        [
            "Send POST /api/auth/login authType=1",
            "Recv 200 at +0s",
            "Error HTTP 200: User with given credentials not found",
            "Later: finished",
        ]
    );
}

#[test]
fn one_shot_flow_misuse_leaves_it_usable() {
    let mut flow = gam_flow();
    assert_eq!(
        flow.resume(at(0), Input::Timeout).unwrap_err(),
        Error::Usage(UsageError::NotStarted)
    );
    let Ok(Action::Send(_)) = flow.start(at(0)) else {
        panic!("expected Send")
    };
    assert_eq!(
        flow.resume(at(0), Input::Timeout).unwrap_err(),
        Error::Usage(UsageError::UnexpectedInput {
            expected: Expect::Response,
            got: InputKind::Timeout
        })
    );
    // Still waiting: the real answer is accepted.
    let Ok(Action::Done(token)) = flow.resume(at(0), Input::Response(keycloak("t", 60, None))) else {
        panic!("expected Done")
    };
    assert_eq!(token.access_token().expose_secret(), "t");
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

#[test]
fn itc_session_password_then_refresh() {
    let mut sim = Sim::new();
    sim.deadline()
        .poll(0)
        .deadline()
        .poll(0)
        .recv(1, keycloak("a1", 300, Some(("r1", 1800))))
        .deadline()
        .poll(1)
        .poll(269)
        .deadline()
        .poll(270)
        .poll(270)
        .poll(299)
        .deadline()
        .recv(271, keycloak("a2", 300, Some(("r2", 1800))))
        .deadline()
        .poll(539)
        .poll(540);
    assert_eq!(
        sim.log,
        [
            // Nothing held, nothing sent: attention is due at once.
            "deadline epoch".to_owned(),
            format!("+0s poll: {PASSWORD_GRANT}"),
            // In flight: the request's timeout is the next deadline.
            "deadline +60s".to_owned(),
            // Single flight: no second request, no token yet.
            "+0s poll: Wait +60s".to_owned(),
            "+1s recv 200: ok".to_owned(),
            // Renew 30 s before the expiry at +300 s.
            "deadline +270s".to_owned(),
            // Fresh: the token, and no request.
            "+1s poll: UseToken a1".to_owned(),
            "+269s poll: UseToken a1".to_owned(),
            "deadline +270s".to_owned(),
            format!("+270s poll: {}", refresh_grant("r1")),
            // While the refresh is out the old token is still valid and used.
            "+270s poll: UseToken a1".to_owned(),
            "+299s poll: UseToken a1".to_owned(),
            "deadline +330s".to_owned(),
            "+271s recv 200: ok".to_owned(),
            // The new token counts from the refresh's sending step (+270 s).
            "deadline +540s".to_owned(),
            "+539s poll: UseToken a2".to_owned(),
            format!("+540s poll: {}", refresh_grant("r2")),
        ]
    );
}

#[test]
fn itc_refused_refresh_falls_back_to_the_password_grant() {
    let mut sim = Sim::with_token(1800);
    sim.poll(270)
        .recv(
            271,
            response(
                400,
                r#"{"error":"invalid_grant","error_description":"Token is not active"}"#,
            ),
        )
        .deadline()
        .poll(271)
        .poll(271)
        .recv(272, keycloak("a3", 300, Some(("r3", 1800))))
        .poll(272)
        .deadline();
    assert_eq!(
        sim.log,
        [
            format!("+270s poll: {}", refresh_grant("r1")),
            // A refused refresh is not an error for the caller.
            "+271s recv 400: ok".to_owned(),
            // The dead refresh token is forgotten; renewal is due already.
            "deadline +270s".to_owned(),
            format!("+271s poll: {PASSWORD_GRANT}"),
            // The old access token is still valid until +300 s.
            "+271s poll: UseToken a1".to_owned(),
            "+272s recv 200: ok".to_owned(),
            "+272s poll: UseToken a3".to_owned(),
            "deadline +541s".to_owned(),
        ]
    );
}

#[test]
fn itc_refresh_refused_in_a_200_or_with_401_also_falls_back() {
    for refusal in [
        response(
            200,
            r#"{"error":"invalid_grant","error_description":"Session not active"}"#,
        ),
        response(
            401,
            r#"{"error":"invalid_grant","error_description":"Token is not active"}"#,
        ),
        response(401, ""),
    ] {
        let mut sim = Sim::with_token(1800);
        sim.poll(270).recv(270, refusal).poll(270);
        assert_eq!(
            sim.log[2],
            format!("+270s poll: {PASSWORD_GRANT}"),
            "{:?}",
            sim.log
        );
        assert!(sim.log[1].ends_with(": ok"), "{:?}", sim.log);
    }
}

#[test]
fn itc_refresh_without_refresh_token_keeps_the_old_one() {
    let mut sim = Sim::with_token(1800);
    sim.poll(270)
        .recv(270, keycloak("a2", 300, None))
        .poll(300)
        .deadline()
        .poll(540)
        .recv(540, keycloak("a3", 300, Some(("r3", 1800))))
        .poll(810);
    assert_eq!(
        sim.log,
        [
            format!("+270s poll: {}", refresh_grant("r1")),
            "+270s recv 200: ok".to_owned(),
            "+300s poll: UseToken a2".to_owned(),
            "deadline +540s".to_owned(),
            // The old refresh token is sent again.
            format!("+540s poll: {}", refresh_grant("r1")),
            "+540s recv 200: ok".to_owned(),
            format!("+810s poll: {}", refresh_grant("r3")),
        ]
    );
}

#[test]
fn itc_expired_refresh_token_means_a_password_grant_directly() {
    // The refresh token lives 200 s, the access token 300 s: at renewal time
    // (+270 s) the refresh token is dead, so no refresh is attempted.
    let mut sim = Sim::with_token(200);
    sim.poll(199).poll(270);
    assert_eq!(
        sim.log,
        [
            "+199s poll: UseToken a1".to_owned(),
            format!("+270s poll: {PASSWORD_GRANT}")
        ]
    );

    // A session left alone for a day: both tokens are dead.
    let mut sim = Sim::with_token(1800);
    sim.poll(86_400);
    assert_eq!(sim.log, [format!("+86400s poll: {PASSWORD_GRANT}")]);

    // Keycloak's `refresh_expires_in: 0` (offline token) never expires.
    let mut sim = Sim::with_token(0);
    sim.poll(86_400);
    assert_eq!(sim.log, [format!("+86400s poll: {}", refresh_grant("r1"))]);
}

#[test]
fn itc_refused_password_grant_ends_the_session() {
    let mut sim = Sim::new();
    sim.poll(0)
        .recv(
            1,
            response(
                401,
                r#"{"error":"invalid_grant","error_description":"Invalid user credentials"}"#,
            ),
        )
        .deadline()
        .poll(2)
        .poll(86_400)
        .fail(2)
        .recv(2, keycloak("x", 300, None));
    assert_eq!(
        sim.log,
        [
            format!("+0s poll: {PASSWORD_GRANT}"),
            "+1s recv 401: Err HTTP 401 invalid_grant: Invalid user credentials".to_owned(),
            "deadline none".to_owned(),
            "+2s poll: Err the flow has finished".to_owned(),
            "+86400s poll: Err the flow has finished".to_owned(),
            "+2s transport failed: Err the flow has finished".to_owned(),
            "+2s recv 200: Err the flow has finished".to_owned(),
        ]
    );
    assert!(sim.session.has_ended());
    assert!(sim.session.tokens().is_none());
    assert_eq!(
        sim.session.poll(at(3)).unwrap_err(),
        Error::Usage(UsageError::Finished)
    );
}

#[test]
fn itc_refused_fallback_password_grant_ends_the_session() {
    let mut sim = Sim::with_token(1800);
    sim.poll(270)
        .recv(
            270,
            response(
                400,
                r#"{"error":"invalid_grant","error_description":"Token is not active"}"#,
            ),
        )
        .poll(270)
        .recv(
            270,
            response(
                401,
                r#"{"error":"invalid_grant","error_description":"Invalid user credentials"}"#,
            ),
        )
        .poll(271)
        .poll(300);
    assert_eq!(
        sim.log,
        [
            format!("+270s poll: {}", refresh_grant("r1")),
            "+270s recv 400: ok".to_owned(),
            format!("+270s poll: {PASSWORD_GRANT}"),
            "+270s recv 401: Err HTTP 401 invalid_grant: Invalid user credentials".to_owned(),
            // Nothing is sent again; the still-valid a1 serves until it expires.
            "+271s poll: UseToken a1".to_owned(),
            "+300s poll: Err the flow has finished".to_owned(),
        ]
    );
    assert!(sim.session.has_ended());
}

#[test]
fn itc_transport_failure_backs_off_and_resends_the_same_grant() {
    let mut sim = Sim::new();
    sim.poll(0)
        .fail(5)
        .deadline()
        .poll(5)
        .poll(6)
        .fail(6)
        .deadline()
        .poll(7)
        .poll(8)
        .recv(8, keycloak("a1", 300, Some(("r1", 1800))))
        .poll(8)
        // A transport failure with nothing in flight is refused, not counted.
        .fail(9);
    assert_eq!(
        sim.log,
        [
            format!("+0s poll: {PASSWORD_GRANT}"),
            "+5s transport failed: ok".to_owned(),
            // First back-off: 1 s.
            "deadline +6s".to_owned(),
            "+5s poll: Wait +6s".to_owned(),
            format!("+6s poll: {PASSWORD_GRANT}"),
            "+6s transport failed: ok".to_owned(),
            // Second failure in a row: 2 s.
            "deadline +8s".to_owned(),
            "+7s poll: Wait +8s".to_owned(),
            format!("+8s poll: {PASSWORD_GRANT}"),
            "+8s recv 200: ok".to_owned(),
            "+8s poll: UseToken a1".to_owned(),
            "+9s transport failed: Err no request is in flight".to_owned(),
        ]
    );
}

#[test]
fn itc_failed_refresh_backs_off_and_resends_the_refresh() {
    let mut sim = Sim::with_token(1800);
    sim.poll(270)
        .fail(270)
        .deadline()
        .poll(270)
        .poll(271)
        .recv(272, response(502, "<html>Bad Gateway</html>"))
        .deadline()
        .poll(273)
        .poll(274)
        .recv(274, keycloak("a2", 300, Some(("r2", 1800))))
        .poll(275);
    assert_eq!(
        sim.log,
        [
            format!("+270s poll: {}", refresh_grant("r1")),
            "+270s transport failed: ok".to_owned(),
            "deadline +271s".to_owned(),
            // Backing off, but the access token is valid: use it.
            "+270s poll: UseToken a1".to_owned(),
            format!("+271s poll: {}", refresh_grant("r1")),
            "+272s recv 502: Err HTTP 502 (server unavailable)".to_owned(),
            "deadline +274s".to_owned(),
            "+273s poll: UseToken a1".to_owned(),
            format!("+274s poll: {}", refresh_grant("r1")),
            "+274s recv 200: ok".to_owned(),
            "+275s poll: UseToken a2".to_owned(),
        ]
    );
}

#[test]
fn itc_rate_limit_waits_at_least_retry_after() {
    let limited = http::Response::builder()
        .status(429)
        .header("retry-after", "120")
        .body(Vec::new())
        .unwrap();
    let mut sim = Sim::new();
    sim.poll(0)
        .recv(0, limited)
        .deadline()
        .poll(1)
        .poll(119)
        .poll(120);
    assert_eq!(
        sim.log,
        [
            format!("+0s poll: {PASSWORD_GRANT}"),
            "+0s recv 429: Err HTTP 429 (rate limited) (retry after 120 s)".to_owned(),
            "deadline +120s".to_owned(),
            "+1s poll: Wait +120s".to_owned(),
            "+119s poll: Wait +120s".to_owned(),
            format!("+120s poll: {PASSWORD_GRANT}"),
        ]
    );

    // The HTTP-date form: T0 + 600 s.
    let limited = http::Response::builder()
        .status(429)
        .header("retry-after", "Tue, 14 Nov 2023 22:23:20 GMT")
        .body(br#"{"error":"slow_down"}"#.to_vec())
        .unwrap();
    let mut sim = Sim::new();
    sim.poll(0).recv(0, limited).deadline().poll(599).poll(600);
    assert_eq!(
        sim.log,
        [
            format!("+0s poll: {PASSWORD_GRANT}"),
            format!(
                "+0s recv 429: Err HTTP 429 slow_down (retry after unix ms {})",
                at(600).as_unix_millis()
            ),
            "deadline +600s".to_owned(),
            "+599s poll: Wait +600s".to_owned(),
            format!("+600s poll: {PASSWORD_GRANT}"),
        ]
    );
}

#[test]
fn itc_retry_after_shorter_than_backoff_does_not_shorten_it() {
    // Two failures in a row make the back-off 2 s; a Retry-After of 1 s does
    // not bring the next request earlier.
    let limited = http::Response::builder()
        .status(503)
        .header("retry-after", "1")
        .body(Vec::new())
        .unwrap();
    let mut sim = Sim::new();
    sim.poll(0)
        .fail(0)
        .poll(1)
        .recv(1, limited)
        .deadline()
        .poll(2)
        .poll(3);
    assert_eq!(
        sim.log,
        [
            format!("+0s poll: {PASSWORD_GRANT}"),
            "+0s transport failed: ok".to_owned(),
            format!("+1s poll: {PASSWORD_GRANT}"),
            "+1s recv 503: Err HTTP 503 (server unavailable) (retry after 1 s)".to_owned(),
            "deadline +3s".to_owned(),
            "+2s poll: Wait +3s".to_owned(),
            format!("+3s poll: {PASSWORD_GRANT}"),
        ]
    );
}

#[test]
fn itc_unauthorized_forces_a_renewal() {
    let mut sim = Sim::with_token(1800);
    sim.poll(100)
        .unauthorized(100)
        .deadline()
        .poll(100)
        .poll(100)
        .recv(101, keycloak("a2", 300, Some(("r2", 1800))))
        .poll(101);
    assert_eq!(
        sim.log,
        [
            "+100s poll: UseToken a1".to_owned(),
            "+100s unauthorized".to_owned(),
            // Expired now: renewal was due already.
            // Refused: due at once; the next request once a second has passed since the last.
            "deadline +1s".to_owned(),
            format!("+100s poll: {}", refresh_grant("r1")),
            // The rejected token is not handed out again.
            "+100s poll: Wait +160s".to_owned(),
            "+101s recv 200: ok".to_owned(),
            "+101s poll: UseToken a2".to_owned(),
        ]
    );
}

#[test]
fn itc_unanswered_request_times_out_and_is_sent_again() {
    let mut sim = Sim::new();
    sim.poll(0)
        .poll(59)
        .poll(60)
        // The late answer to the lost request is not taken for a new one.
        .recv(60, keycloak("late", 300, None))
        .poll(61)
        .recv(61, keycloak("a1", 300, None))
        .poll(61);
    assert_eq!(
        sim.log,
        [
            format!("+0s poll: {PASSWORD_GRANT}"),
            "+59s poll: Wait +60s".to_owned(),
            // 60 s without an answer count as a transport failure: 1 s back-off.
            "+60s poll: Wait +61s".to_owned(),
            "+60s recv 200: Err no request is in flight".to_owned(),
            format!("+61s poll: {PASSWORD_GRANT}"),
            "+61s recv 200: ok".to_owned(),
            "+61s poll: UseToken a1".to_owned(),
        ]
    );
}

#[test]
fn itc_min_interval_stops_hot_loops_on_expired_tokens() {
    // A server that issues tokens with `expires_in: 0`.
    let mut sim = Sim::new();
    sim.poll(0)
        .recv(0, keycloak("z1", 0, None))
        .deadline()
        .poll(0)
        .poll(1)
        .recv(1, keycloak("z2", 0, None))
        .poll(1);
    assert_eq!(
        sim.log,
        [
            format!("+0s poll: {PASSWORD_GRANT}"),
            "+0s recv 200: ok".to_owned(),
            "deadline +1s".to_owned(),
            "+0s poll: Wait +1s".to_owned(),
            format!("+1s poll: {PASSWORD_GRANT}"),
            "+1s recv 200: ok".to_owned(),
            "+1s poll: Wait +2s".to_owned(),
        ]
    );
}

// ------------------------------------------------------------ fetch() through the driver

#[derive(Debug)]
struct Down;

impl fmt::Display for Down {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("connection refused")
    }
}

type Driven = Result<AccessToken, DriveError<Down, NoSigner>>;

/// Drives `session.fetch()` from `T0 + start` with closures: the transport
/// answers from `script` (`None` = the transport fails), the sleeper moves
/// the clock.
fn drive_fetch(
    session: &mut PasswordSession,
    start: u64,
    script: Vec<Option<http::Response<Vec<u8>>>>,
) -> (Vec<String>, Driven) {
    let clock = Cell::new(at(start));
    let log = RefCell::new(Vec::new());
    let script = RefCell::new(VecDeque::from(script));
    let result = drive::drive(
        session.fetch(),
        || clock.get(),
        |req| {
            log.borrow_mut()
                .push(format!("{} {}", rel(clock.get()), describe(&req)));
            match script.borrow_mut().pop_front().expect("script ran out") {
                Some(resp) => {
                    log.borrow_mut().push(format!("Recv {}", resp.status().as_u16()));
                    Ok(resp)
                }
                None => {
                    log.borrow_mut().push("Transport error".to_owned());
                    Err(Down)
                }
            }
        },
        drive::no_signer,
        |until| {
            log.borrow_mut()
                .push(format!("{} Wait {}", rel(clock.get()), rel(until)));
            clock.set(until);
        },
    );
    let mut log = log.into_inner();
    match &result {
        Ok(token) => log.push(format!("Done {}", token.expose_secret())),
        Err(e) => log.push(format!("Error {e}")),
    }
    assert!(script.borrow().is_empty(), "scripted answers left");
    (log, result)
}

#[test]
fn fetch_first_token_then_fresh_token_without_a_request() {
    let mut sim = Sim::new();
    let (log, _) = drive_fetch(
        &mut sim.session,
        0,
        vec![Some(keycloak("a1", 300, Some(("r1", 1800))))],
    );
    assert_eq!(
        log,
        [
            format!("+0s {PASSWORD_GRANT}"),
            "Recv 200".to_owned(),
            "Done a1".to_owned()
        ]
    );
    let (log, _) = drive_fetch(&mut sim.session, 100, vec![]);
    assert_eq!(log, ["Done a1"]);
}

#[test]
fn fetch_refused_refresh_falls_back_to_the_password_grant() {
    let mut sim = Sim::with_token(1800);
    let (log, result) = drive_fetch(
        &mut sim.session,
        270,
        vec![
            Some(response(
                400,
                r#"{"error":"invalid_grant","error_description":"Token is not active"}"#,
            )),
            Some(keycloak("a2", 300, Some(("r2", 1800)))),
        ],
    );
    assert_eq!(
        log,
        [
            format!("+270s {}", refresh_grant("r1")),
            "Recv 400".to_owned(),
            format!("+270s {PASSWORD_GRANT}"),
            "Recv 200".to_owned(),
            "Done a2".to_owned(),
        ]
    );
    assert_eq!(result.unwrap().expose_secret(), "a2");
    assert_eq!(
        sim.session
            .tokens()
            .unwrap()
            .refresh_token()
            .unwrap()
            .expose_secret(),
        "r2"
    );
}

#[test]
fn fetch_transport_error_backs_off_then_waits_and_resends() {
    let mut sim = Sim::new();
    let (log, result) = drive_fetch(&mut sim.session, 0, vec![None]);
    assert_eq!(
        log,
        [
            format!("+0s {PASSWORD_GRANT}"),
            "Transport error".to_owned(),
            "Error transport failed: connection refused".to_owned(),
        ]
    );
    assert!(matches!(result, Err(DriveError::Transport(Down))));
    assert!(!sim.session.has_ended());
    assert_eq!(sim.session.next_deadline(), Some(at(1)));

    // The next fetch waits out the back-off, then sends the same grant once.
    let (log, result) = drive_fetch(&mut sim.session, 0, vec![Some(keycloak("a1", 300, None))]);
    assert_eq!(
        log,
        [
            "+0s Wait +1s".to_owned(),
            format!("+1s {PASSWORD_GRANT}"),
            "Recv 200".to_owned(),
            "Done a1".to_owned(),
        ]
    );
    assert_eq!(result.unwrap().expose_secret(), "a1");
}

#[test]
fn fetch_server_failure_is_returned_and_the_session_goes_on() {
    let mut sim = Sim::new();
    let (log, result) = drive_fetch(&mut sim.session, 0, vec![Some(response(503, ""))]);
    assert_eq!(
        log,
        [
            format!("+0s {PASSWORD_GRANT}"),
            "Recv 503".to_owned(),
            "Error HTTP 503 (server unavailable)".to_owned(),
        ]
    );
    let Err(DriveError::Flow(err)) = result else {
        panic!("expected a flow error")
    };
    assert!(err.is_retryable());
    assert!(!sim.session.has_ended());
}

#[test]
fn fetch_refused_password_grant_ends_the_session() {
    let mut sim = Sim::new();
    let (log, _) = drive_fetch(
        &mut sim.session,
        0,
        vec![Some(response(
            401,
            r#"{"error":"invalid_grant","error_description":"Invalid user credentials"}"#,
        ))],
    );
    assert_eq!(
        log,
        [
            format!("+0s {PASSWORD_GRANT}"),
            "Recv 401".to_owned(),
            "Error HTTP 401 invalid_grant: Invalid user credentials".to_owned(),
        ]
    );
    assert!(sim.session.has_ended());
    let (log, result) = drive_fetch(&mut sim.session, 1, vec![]);
    assert_eq!(log, ["Error the flow has finished"]);
    assert!(matches!(
        result,
        Err(DriveError::Flow(Error::Usage(UsageError::Finished)))
    ));
}

#[test]
fn fetch_by_hand_misuse() {
    let mut sim = Sim::new();
    let mut fetch = sim.session.fetch();
    assert_eq!(
        fetch.resume(at(0), Input::Timeout).unwrap_err(),
        Error::Usage(UsageError::NotStarted)
    );
    let Ok(Action::Send(_)) = fetch.start(at(0)) else {
        panic!("expected Send")
    };
    assert_eq!(
        fetch.start(at(0)).unwrap_err(),
        Error::Usage(UsageError::AlreadyStarted)
    );
    assert_eq!(
        fetch.resume(at(0), Input::Timeout).unwrap_err(),
        Error::Usage(UsageError::UnexpectedInput {
            expected: Expect::Response,
            got: InputKind::Timeout
        })
    );
    let Ok(Action::Done(token)) = fetch.resume(at(0), Input::Response(keycloak("a1", 300, None))) else {
        panic!("expected Done")
    };
    assert_eq!(token.expose_secret(), "a1");
    assert_eq!(
        fetch.resume(at(0), Input::Timeout).unwrap_err(),
        Error::Usage(UsageError::Finished)
    );
}

#[test]
fn flows_name_their_state_in_debug() {
    use tokendance::crpt::{true_api, TrueApiStand};
    let mut flow = gam_flow();
    assert!(format!("{flow:?}").contains("state: New"));
    let _ = flow.start(Timestamp::EPOCH).unwrap();
    assert!(format!("{flow:?}").contains("state: Awaiting"));
    let _ = flow.resume(Timestamp::EPOCH, Input::Failed);
    assert!(format!("{flow:?}").contains("state: Finished"));

    let mut sign_in = true_api::sign_in(&TrueApiStand::Demo.endpoint(), None).unwrap();
    assert_eq!(format!("{sign_in:?}"), "ChallengeSignIn(New)");
    let _ = sign_in.start(Timestamp::EPOCH).unwrap();
    assert_eq!(format!("{sign_in:?}"), "ChallengeSignIn(Fetching)");
}

/// A refresh token is used strictly before its expiry: at the very instant
/// it expires, the session goes back to the password grant.
#[test]
fn itc_refresh_token_expiring_at_the_renewal_instant_is_not_used() {
    let mut sim = Sim::with_token(271);
    sim.poll(270);
    assert_eq!(sim.log, [format!("+270s poll: {}", refresh_grant("r1"))]);
    let mut sim = Sim::with_token(270);
    sim.poll(270);
    assert_eq!(sim.log, [format!("+270s poll: {PASSWORD_GRANT}")]);
}

/// The session's Debug names its endpoint, user and phase, never a secret.
#[test]
fn itc_session_debug_shows_its_state_without_secrets() {
    let sim = Sim::with_token(1800);
    let shown = format!("{:?}", sim.session);
    assert!(shown.starts_with("PasswordSession"), "{shown}");
    assert!(
        shown.contains("openid-connect/token") && shown.contains("phase: Idle"),
        "{shown}"
    );
    assert!(
        shown.contains("Password(<redacted>)") && !shown.contains("a1\""),
        "{shown}"
    );
}

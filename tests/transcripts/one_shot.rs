//! The one-shot flows (GAM, MonPay's code exchange and merchant token, Astana Plat): transcripts, misuse and the state their Debug names.

use super::*;

/// What the script answers to a `Send`.
enum Answer {
    At(u64, http::Response<Vec<u8>>),
    FailedAt(u64),
}

/// Runs a one-shot flow started at `T0 + start` against `script`; records
/// every step, then checks that the flow is finished for good.
fn run_one_shot<F: Flow<Output = TokenSet>>(mut flow: F, start: u64, script: Vec<Answer>) -> Vec<String> {
    let mut log = Vec::new();
    let mut script = Scripted::new(script);
    let mut now = at(start);
    let mut result = flow.start(now);
    loop {
        match result {
            Ok(Action::Store(_)) => unreachable!("these flows use no store"),
            Ok(Action::Send(out)) => {
                let request = out.into_http();
                log.push(describe(&request));
                let input = match script.answer(request) {
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
    script.assert_all_used();
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

/// The transcript of `flow` started at `start` s, its one request answered
/// 200 with `body` at `after` s.
fn run_answered_200<F: Flow<Output = TokenSet>>(flow: F, start: u64, after: u64, body: &str) -> Vec<String> {
    run_one_shot(flow, start, vec![Answer::At(after, response(200, body))])
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

fn monpay_merchant_flow(lifetime: std::time::Duration) -> tokendance::TokenRequest {
    monpay::client_credentials(
        &monpay::Config::test(),
        "merchant",
        ClientSecret::new("secret"),
        lifetime,
    )
    .unwrap()
}

fn astana_url() -> Endpoint {
    Endpoint::parse("https://astana-plat.example/api/auth/login").unwrap()
}

#[test]
fn gam_transcript() {
    let log = run_answered_200(
        gam_flow(),
        10,
        11,
        r#"{"access_token":"gam-1","expires_in":3600,"token_type":"Bearer","scope":"iam:user-password:update"}"#,
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
    let log = run_answered_200(
        monpay_flow(),
        0,
        0,
        r#"{"access_token":"mp-1","token_type":"bearer","refresh_token":"mr-1","expires_in":0}"#,
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
fn monpay_merchant_transcript() {
    let default = monpay::DEFAULT_MERCHANT_TOKEN_LIFETIME;
    let log = run_answered_200(
        monpay_merchant_flow(default),
        10,
        12,
        r#"{"access_token":"mm-1","token_type":"bearer"}"#,
    );
    assert_eq!(
        log,
        [
            "Send POST /v2/oauth/token grant_type=client_credentials",
            "Recv 200 at +12s",
            // No `expires_in`: the default hour, from the sending step.
            "Done token=mm-1 expires_at=+3610s refresh=none",
            "Later: finished",
        ]
    );
}

#[test]
fn monpay_merchant_lifetimes_transcript() {
    // (lifetime passed, `expires_in` answered, expiry shown): a stated
    // lifetime wins; zero or none takes the one passed.
    for (lifetime, expires_in, shown) in [
        (600, r#","expires_in":0"#, "+600s"),
        (600, "", "+600s"),
        (600, r#","expires_in":"120""#, "+120s"),
        (7_200, r#","expires_in":null"#, "+7200s"),
    ] {
        let body = format!(r#"{{"access_token":"mm-2"{expires_in}}}"#);
        let flow = monpay_merchant_flow(std::time::Duration::from_secs(lifetime));
        let log = run_answered_200(flow, 0, 0, &body);
        assert_eq!(
            log[2],
            format!("Done token=mm-2 expires_at={shown} refresh=none"),
            "{body}"
        );
    }
}

#[test]
fn monpay_merchant_refused_transcript() {
    let flow = monpay_merchant_flow(monpay::DEFAULT_MERCHANT_TOKEN_LIFETIME);
    let log = run_one_shot(flow, 0, vec![Answer::At(1, response(401, ""))]);
    assert_eq!(
        log,
        [
            "Send POST /v2/oauth/token grant_type=client_credentials",
            "Recv 401 at +1s",
            // MonPay's status table, as for the code exchange.
            "Error HTTP 401 unauthorized_client",
            "Later: finished",
        ]
    );
}

#[test]
fn astana_password_transcript() {
    let flow = astana_plat::login_password(&astana_url(), "demo", Password::new("pw")).unwrap();
    let log = run_answered_200(
        flow,
        0,
        2,
        r#"{"statusCode":200,"message":"Access token created","data":{"token":"ap-1"}}"#,
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
    let log = run_answered_200(
        flow,
        0,
        0,
        r#"{"statusCode":200,"message":"Access token created","data":{"token":"ap-2"}}"#,
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
    let log = run_answered_200(
        flow,
        0,
        0,
        r#"{"statusCode":400,"message":"User with given credentials not found"}"#,
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

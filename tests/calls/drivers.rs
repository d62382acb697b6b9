//! Both drivers, blocking and async, through the retry.

use tokendance::drive;

use super::*;
use common::scripted::Scripted;

fn auth_of(request: &http::Request<Vec<u8>>) -> Option<&str> {
    request
        .headers()
        .get("authorization")
        .map(|v| v.to_str().unwrap())
}

#[test]
fn blocking_driver_runs_an_itc_call_through_the_retry() {
    let mut session = itc::session(
        &itc::Config::staging(),
        "easy-register-test",
        Password::new("Test@123"),
    )
    .unwrap();
    let mut canned = Scripted::from_inputs([
        keycloak("kc-a1", "kc-r1"),
        answer(401, ""),
        keycloak("kc-a2", "kc-r2"),
        answer(200, CONSUMER_BODY),
    ]);
    let now = Cell::new(T0);
    let waits = Cell::new(0);
    let call = itc::consumer(&itc::Config::staging(), "AA12345678", &mut session).unwrap();
    let consumer = drive::drive(
        call,
        || now.get(),
        |request| Ok::<_, std::io::Error>(canned.answer(request)),
        drive::no_signer,
        |until| {
            waits.set(waits.get() + 1);
            now.set(until);
        },
    )
    .unwrap()
    .unwrap();
    assert_eq!(consumer.login_name, "12345678901");
    // The session's one-second pause before the refresh was waited out.
    assert_eq!((waits.get(), now.get()), (1, at(1)));
    let sent = canned.sent();
    assert_eq!(sent.len(), 4);
    assert_eq!(sent[0].uri(), ITC_TOKEN_URL);
    assert_eq!(auth_of(&sent[1]), Some("Bearer kc-a1"));
    assert!(sent[2].body().starts_with(b"grant_type=refresh_token"));
    assert_eq!(auth_of(&sent[3]), Some("Bearer kc-a2"));
    assert_eq!(sent[1].uri(), sent[3].uri());
    assert_eq!(session.tokens().unwrap().access_token().expose_secret(), "kc-a2");
}

#[test]
fn blocking_driver_reports_a_lost_api_request() {
    let mut session = itc_session_with_token("kc-a1", "kc-r1");
    let call = itc::consumer(&itc::Config::staging(), "AA12345678", &mut session).unwrap();
    let err = drive::drive(
        call,
        || at(10),
        |_| Err(std::io::Error::other("connection reset")),
        drive::no_signer,
        |_| {},
    )
    .unwrap_err();
    assert!(matches!(err, drive::DriveError::Transport(_)), "{err:?}");
    // The token was not blamed for a transport failure.
    assert!(session.tokens().unwrap().is_valid(at(10)));
}

#[tokio::test]
async fn async_driver_runs_an_itc_call_through_the_retry() {
    let config = itc::Config::staging();
    let made = Cell::new(0u32);
    let mut session_source = itc_session_with_token("kc-a1", "kc-r1");
    let query = itc::ProfileQuery::Phone("99112233".into());
    let mut canned = Scripted::from_inputs([
        answer(
            200,
            r#"{"code":"invalidToken","status":401,"msg":"Токен хүчингүй"}"#,
        ),
        keycloak("kc-a2", "kc-r2"),
        answer(
            200,
            r#"{"code":"success","status":200,"loginName":"12345678901","email":"bat@example.mn"}"#,
        ),
    ]);
    let call = itc::get_profile(&config, &query, &mut session_source).unwrap();
    let reply = drive::drive_async(
        call,
        || at(10),
        |request| {
            made.set(made.get() + 1);
            let response = canned.answer(request);
            async move { Ok::<_, std::io::Error>(response) }
        },
        drive::no_signer_async,
        |_| async {},
    )
    .await
    .unwrap();
    assert!(reply.is_success());
    assert_eq!(reply.login_name.as_deref(), Some("12345678901"));
    assert_eq!(made.get(), 3);
    let sent = canned.sent();
    assert_eq!(auth_of(&sent[0]), Some("Bearer kc-a1"));
    assert_eq!(
        sent[1].body(),
        b"grant_type=refresh_token&client_id=vatps&refresh_token=kc-r1"
    );
    assert_eq!(auth_of(&sent[2]), Some("Bearer kc-a2"));
    assert_eq!(sent[0].body(), sent[2].body());
    assert_eq!(sent[0].body(), br#"{"phoneNum":"99112233"}"#);
}

#[tokio::test]
async fn async_driver_signs_for_a_keeper_source() {
    let keeper = Mutex::new(TokenKeeper::new(CONN));
    let mut canned = Scripted::from_inputs([
        answer(200, r#"{"uuid":"u-1","data":"QNRPNPFGJZ"}"#),
        answer(200, r#"{"token":"suz-1"}"#),
        xml_401(),
        answer(200, r#"{"uuid":"u-2","data":"SECOND"}"#),
        answer(200, r#"{"token":"suz-2"}"#),
        answer(200, r#"{"orderId":"o-1"}"#),
    ]);
    let signed = Cell::new(0u32);
    let call = suz_call(&keeper);
    // The keeper keeps a second between sign-ins: the clock moves when told to wait.
    let clock = Cell::new(T0);
    let response = drive::drive_async(
        call,
        || clock.get(),
        |request| {
            let response = canned.answer(request);
            async move { Ok::<_, std::io::Error>(response) }
        },
        |job: SignJob| {
            signed.set(signed.get() + 1);
            assert_eq!(job.kind(), SignatureKind::Attached);
            async move { Ok::<_, std::io::Error>(Signature::from_der(job.bytes().to_vec())) }
        },
        |until| {
            clock.set(until);
            async {}
        },
    )
    .await
    .unwrap();
    assert_eq!(response.body(), br#"{"orderId":"o-1"}"#);
    assert_eq!(signed.get(), 2);
    let sent = canned.sent();
    assert_eq!(sent.len(), 6);
    assert_eq!(sent[2].headers()["clienttoken"], "suz-1");
    assert_eq!(sent[5].headers()["clienttoken"], "suz-2");
    assert_eq!(sent[4].body(), br#"{"uuid":"u-2","data":"U0VDT05E"}"#);
    assert_eq!(held_token(&keeper), "suz-2");
}

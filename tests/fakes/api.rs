//! The API fakes, through the crate's own calls.

use super::T0;
use std::convert::Infallible;
use tokendance::call::{Authorized, Reissue, Scheme};
use tokendance::fake::{self, Fake, Gam, Keycloak};
use tokendance::{drive, gam, itc, ClientSecret, Endpoint, Error, Password, ServerErrorKind};

fn itc_config() -> itc::Config {
    itc::Config::new(
        Endpoint::parse("https://itc.test/auth/realms/Staging").unwrap(),
        Endpoint::parse("https://itc.test/api/easy-register/").unwrap(),
    )
}

/// A session for the guide's staging test account.
fn demo_session(config: &itc::Config) -> tokendance::oauth2::PasswordSession {
    itc::session(
        config,
        itc::STAGING_TEST_USERNAME,
        Password::new(itc::STAGING_TEST_PASSWORD),
    )
    .unwrap()
}

/// Runs a call against `server` on a clock that starts at T0 and moves
/// only when the call waits, counting the requests it sent.
fn run<F: tokendance::Flow>(server: &mut impl Fake, call: F) -> (Result<F::Output, Error>, usize) {
    let now = std::cell::Cell::new(T0);
    let mut sent = 0;
    let outcome = drive::drive(
        call,
        || now.get(),
        |request| {
            sent += 1;
            Ok::<_, Infallible>(server.handle(now.get(), &request))
        },
        drive::no_signer,
        |until| now.set(until),
    );
    let outcome = outcome.map_err(|e| match e {
        drive::DriveError::Flow(e) => e,
        other => panic!("{other}"),
    });
    (outcome, sent)
}

#[test]
fn easy_register_answers_as_the_guide_says() {
    let mut server = Keycloak::itc_staging();
    let config = itc_config();
    let mut session = demo_session(&config);
    let (found, sent) = run(
        &mut server,
        itc::consumer(&config, fake::ITC_TEST_REG_NO, &mut session).unwrap(),
    );
    let found = found.unwrap().expect("the guide's test citizen");
    assert_eq!((found.login_name.as_str(), sent), (fake::ITC_TEST_LOGIN_NAME, 2));
    let (cyrillic, _) = run(
        &mut server,
        itc::consumer(&config, fake::ITC_CYRILLIC_REG_NO, &mut session).unwrap(),
    );
    assert!(cyrillic.unwrap().is_some());
    let (missing, _) = run(
        &mut server,
        itc::consumer(&config, "ZZ00000000", &mut session).unwrap(),
    );
    assert_eq!(missing.unwrap(), None);

    let query = itc::ProfileQuery::Phone(fake::ITC_TEST_PHONE.into());
    let (profile, _) = run(
        &mut server,
        itc::get_profile(&config, &query, &mut session).unwrap(),
    );
    let profile = profile.unwrap();
    assert_eq!((profile.code, profile.status), (itc::Code::Success, Some(200)));
    assert_eq!(profile.email.as_deref(), Some(fake::ITC_TEST_EMAIL));
    let query = itc::ProfileQuery::Phone("88000000".into());
    let (unknown, _) = run(
        &mut server,
        itc::get_profile(&config, &query, &mut session).unwrap(),
    );
    assert_eq!(unknown.unwrap().code, itc::Code::UserNotFound);

    let approve = |qr: &str, session: &mut tokendance::oauth2::PasswordSession, server: &mut Keycloak| {
        let call = itc::approve_qr(&config, fake::ITC_TEST_LOGIN_NAME, qr, session).unwrap();
        run(server, call).0.unwrap().code
    };
    assert_eq!(
        approve(fake::ITC_DEMO_QR_DATA, &mut session, &mut server),
        itc::Code::Success
    );
    assert!(server.service.is_approved(fake::ITC_DEMO_QR_DATA));
    assert_eq!(
        approve(fake::ITC_DEMO_QR_DATA, &mut session, &mut server),
        itc::Code::AlreadyApproved
    );
    let b2b = format!("{}{}", fake::ITC_B2B_QR_PREFIX, &fake::ITC_DEMO_QR_DATA[3..]);
    assert_eq!(
        approve(&b2b, &mut session, &mut server),
        itc::Code::B2bNotAccepted
    );
    assert_eq!(
        approve("not a receipt", &mut session, &mut server),
        itc::Code::InvalidQr
    );

    // A raw getProfile with neither field: emptyField, 100.
    let request = http::Request::post("https://itc.test/api/easy-register/rest/v1/getProfile")
        .header("content-type", "application/json")
        .body(b"{}".to_vec())
        .unwrap();
    let (raw, _) = run(
        &mut server,
        Authorized::new(&mut session, request, Scheme::Bearer).unwrap(),
    );
    let reply = itc::Reply::from_response(&raw.unwrap()).unwrap();
    assert_eq!((reply.code, reply.status), (itc::Code::EmptyField, Some(100)));

    // Revoked tokens: 401, renewed, retried once.
    server.expire_access_tokens();
    let before = server.service.counts();
    let (again, sent) = run(
        &mut server,
        itc::consumer(&config, fake::ITC_TEST_REG_NO, &mut session).unwrap(),
    );
    assert!(again.unwrap().is_some());
    assert_eq!(sent, 3);
    assert_eq!(server.service.counts().unauthorized, before.unauthorized + 1);
}

#[test]
fn easy_register_profiles_counts_and_rights() {
    let mut server = Keycloak::itc_staging();
    let config = itc_config();
    let mut session = demo_session(&config);
    assert!(!server.service.is_approved(fake::ITC_DEMO_QR_DATA));
    let mut profile = |query: itc::ProfileQuery, server: &mut Keycloak| {
        let call = itc::get_profile(&config, &query, &mut session).unwrap();
        let reply = run(server, call).0.unwrap();
        (reply.code, reply.status)
    };
    // No e-mail; two citizens on one phone; by customer number.
    assert_eq!(
        profile(itc::ProfileQuery::Phone("88112233".into()), &mut server).0,
        itc::Code::EmailNotFound
    );
    assert_eq!(
        profile(itc::ProfileQuery::Phone("95000000".into()), &mut server).0,
        itc::Code::UserDuplicate
    );
    assert_eq!(
        profile(
            itc::ProfileQuery::CustomerNo(fake::ITC_TEST_LOGIN_NAME.into()),
            &mut server
        )
        .0,
        itc::Code::Success
    );
    assert_eq!(
        profile(itc::ProfileQuery::Phone("12".into()), &mut server).0,
        itc::Code::InvalidData
    );
    let counts = server.service.counts();
    assert_eq!(
        (counts.answered, counts.unauthorized, counts.forbidden),
        (4, 0, 0)
    );
    // Both fields in one raw body: invalidData.
    let request = http::Request::post("https://itc.test/api/easy-register/rest/v1/getProfile")
        .body(br#"{"phoneNum":"99112233","customerNo":"12345678901"}"#.to_vec())
        .unwrap();
    let mut session2 = demo_session(&config);
    let (raw, _) = run(
        &mut server,
        Authorized::new(&mut session2, request, Scheme::Bearer).unwrap(),
    );
    assert_eq!(
        itc::Reply::from_response(&raw.unwrap()).unwrap().code,
        itc::Code::InvalidData
    );
    // An account without the right: 403, counted, never retried.
    server.deny_service(itc::STAGING_TEST_USERNAME);
    let mut session3 = demo_session(&config);
    let (denied, sent) = run(
        &mut server,
        itc::consumer(&config, fake::ITC_TEST_REG_NO, &mut session3).unwrap(),
    );
    assert_eq!(
        denied.unwrap_err().as_server().map(|e| e.kind),
        Some(ServerErrorKind::Forbidden)
    );
    assert_eq!((sent, server.service.counts().forbidden), (2, 1));
    assert!(format!("{:?}", server.service).starts_with("EasyRegister"));
}

/// GAM at `https://gam.test`, its business paths under `/oms`.
fn gam_test_config() -> gam::Config {
    gam::Config::new(
        Endpoint::parse("https://gam.test").unwrap(),
        Endpoint::parse("https://gam.test/oms").unwrap(),
    )
}

/// Tokens for the fake's demo client, re-issued by client credentials.
fn demo_client_source(
    config: &gam::Config,
) -> Reissue<impl FnMut() -> Result<tokendance::TokenRequest, Error> + '_, tokendance::TokenRequest> {
    Reissue::new(move || {
        gam::client_credentials(
            config,
            fake::DEMO_CLIENT_ID,
            ClientSecret::new(fake::DEMO_CLIENT_SECRET),
            "orders:read",
        )
    })
}

#[test]
fn gam_partner_codes_are_per_client() {
    let mut server = Gam::new();
    server.add_client(fake::DEMO_CLIENT_ID, fake::DEMO_CLIENT_SECRET, &["orders:read"]);
    server.set_partner_code(fake::DEMO_CLIENT_ID, "SHOP-7");
    let config = gam_test_config();
    let mut source = demo_client_source(&config);
    let body = serde_json::json!({});
    let ok = gam::post::<_, serde_json::Value>(&config, "SHOP-7", &["api"], &body, &mut source);
    assert!(run(&mut server, ok.unwrap()).0.is_ok());
    let old =
        gam::post::<_, serde_json::Value>(&config, fake::DEMO_PARTNER_CODE, &["api"], &body, &mut source);
    assert!(run(&mut server, old.unwrap()).0.is_err());
    let counts = server.counts();
    assert_eq!(
        (counts.tokens_issued, counts.answered, counts.forbidden),
        (2, 1, 2)
    );
    assert!(format!("{server:?}").starts_with("Gam"));
}

#[test]
fn gam_business_calls_check_token_and_partner_code() {
    let mut server = Gam::new();
    server.add_client(fake::DEMO_CLIENT_ID, fake::DEMO_CLIENT_SECRET, &["orders:read"]);
    let config = gam_test_config();
    let mut source = demo_client_source(&config);
    let body = serde_json::json!({"customerCode": "C-1"});
    let call = gam::post::<_, serde_json::Value>(
        &config,
        fake::DEMO_PARTNER_CODE,
        &["api", "v1", "orders"],
        &body,
        &mut source,
    );
    let (envelope, sent) = run(&mut server, call.unwrap());
    let envelope = envelope.unwrap();
    assert_eq!((envelope.status.as_str(), sent), ("200", 2));
    assert_eq!(envelope.data.unwrap()["echo"]["customerCode"], "C-1");

    let unknown = serde_json::json!({"customerCode": fake::GAM_UNKNOWN_CUSTOMER});
    let call =
        gam::post::<_, serde_json::Value>(&config, fake::DEMO_PARTNER_CODE, &["api"], &unknown, &mut source);
    let err = run(&mut server, call.unwrap()).0.unwrap_err();
    assert_eq!(err.as_server().and_then(|s| s.code.as_deref()), Some("CUS_404"));

    server.expire_tokens();
    let call =
        gam::post::<_, serde_json::Value>(&config, fake::DEMO_PARTNER_CODE, &["api"], &body, &mut source);
    let (renewed, sent) = run(&mut server, call.unwrap());
    assert!(renewed.is_ok());
    assert_eq!(sent, 3);

    let call = gam::post::<_, serde_json::Value>(&config, "NOT-OURS", &["api"], &body, &mut source);
    let (refused, sent) = run(&mut server, call.unwrap());
    let refusal = refused.unwrap_err();
    assert_eq!(
        refusal.as_server().map(|s| s.kind),
        Some(ServerErrorKind::Forbidden)
    );
    assert_eq!(sent, 3);
    assert_eq!(server.counts().forbidden, 3);
}

#[test]
fn monpay_merchant_calls_renew_only_a_stale_token() {
    use tokendance::{fake::MonPay, monpay};
    let mut wallet = MonPay::new("merchant", "s3cret", "https://shop.test/back");
    let config = monpay::Config::new(Endpoint::parse("https://wallet.test").unwrap());
    let mut tokens = Reissue::new(|| {
        monpay::client_credentials(
            &config,
            "merchant",
            ClientSecret::new("s3cret"),
            monpay::DEFAULT_MERCHANT_TOKEN_LIFETIME,
        )
    });
    let invoice = || {
        http::Request::post("https://wallet.test/v2/api/oauth/invoice")
            .body(br#"{"amount":100}"#.to_vec())
            .unwrap()
    };
    // The grant, then the call.
    let (done, sent) = run(&mut wallet, monpay::call(&mut tokens, invoice()).unwrap());
    assert_eq!((done.unwrap().status().as_u16(), sent), (200, 2));
    // Revoked: the 401 UNAUTHORIZED renews it, and the call is sent once more.
    wallet.expire_tokens();
    let (done, sent) = run(&mut wallet, monpay::call(&mut tokens, invoice()).unwrap());
    assert_eq!((done.unwrap().status().as_u16(), sent), (200, 3));
    // A merchant token has no right to a user's info: one request, Forbidden.
    let userinfo = http::Request::get("https://wallet.test/v2/api/oauth/userinfo")
        .body(Vec::new())
        .unwrap();
    let (err, sent) = run(&mut wallet, monpay::call(&mut tokens, userinfo).unwrap());
    let err = err.unwrap_err();
    let refusal = err.as_server().unwrap();
    assert_eq!((refusal.kind, sent), (ServerErrorKind::Forbidden, 1));
    assert_eq!(refusal.code.as_deref(), Some(monpay::INSUFFICIENT_ACCESS));
    let counts = wallet.counts();
    assert_eq!(
        (
            counts.merchant_tokens_issued,
            counts.unauthorized,
            counts.insufficient_access
        ),
        (2, 1, 1)
    );
}

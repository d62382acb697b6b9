//! The fakes behave as each provider's documentation says: these tests pin
//! every documented answer, since users test their own code against them.

use std::time::Duration;

use tokendance::fake::{AstanaPlat, CertificateCase, Fake, Fakes, Gam, Keycloak, MonPay};
use tokendance::{AccessToken, Timestamp};

const T0: Timestamp = Timestamp::from_unix_secs(1_000_000);
const TOKEN_PATH: &str = "https://realm.test/auth/realms/Staging/protocol/openid-connect/token";

fn form(url: &str, pairs: &[(&str, &str)]) -> http::Request<Vec<u8>> {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
        .into_bytes();
    http::Request::builder()
        .method("POST")
        .uri(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .unwrap()
}

fn json_post(url: &str, body: &str) -> http::Request<Vec<u8>> {
    http::Request::builder()
        .method("POST")
        .uri(url)
        .header("content-type", "application/json")
        .body(body.as_bytes().to_vec())
        .unwrap()
}

/// Status and the parsed JSON body.
fn answer(
    fake: &mut impl Fake,
    now: Timestamp,
    request: &http::Request<Vec<u8>>,
) -> (u16, serde_json::Value) {
    let response = fake.handle(now, request);
    let body = serde_json::from_slice(response.body()).unwrap_or(serde_json::Value::Null);
    (response.status().as_u16(), body)
}

fn oauth_error(status: u16, code: &str, description: &str) -> (u16, serde_json::Value) {
    (
        status,
        serde_json::json!({"error": code, "error_description": description}),
    )
}

fn password_grant(user: &str, password: &str) -> http::Request<Vec<u8>> {
    form(
        TOKEN_PATH,
        &[
            ("grant_type", "password"),
            ("client_id", "vatps"),
            ("username", user),
            ("password", password),
        ],
    )
}

fn refresh_grant(refresh_token: &str) -> http::Request<Vec<u8>> {
    form(
        TOKEN_PATH,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", "vatps"),
            ("refresh_token", refresh_token),
        ],
    )
}

fn text(body: &serde_json::Value, field: &str) -> String {
    body[field].as_str().unwrap_or_default().to_owned()
}

#[test]
fn keycloak_password_grant_success_has_keycloak_fields() {
    let mut realm = Keycloak::itc_staging();
    let (status, body) = answer(&mut realm, T0, &password_grant("easy-register-test", "Test@123"));
    assert_eq!(status, 200);
    assert_eq!(body["expires_in"], 300);
    assert_eq!(body["refresh_expires_in"], 1800);
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["not-before-policy"], 0);
    assert!(body["session_state"].is_string());
    let access = AccessToken::new(text(&body, "access_token"));
    assert!(realm.accepts(T0.saturating_add(Duration::from_secs(299)), &access));
    assert!(!realm.accepts(T0.saturating_add(Duration::from_secs(300)), &access));
    assert_eq!(realm.grants().password, 1);
}

#[test]
fn keycloak_refusals_match_keycloak() {
    let mut realm = Keycloak::itc_staging();
    realm.add_user("off", "pw");
    realm.disable_user("off");
    assert_eq!(
        answer(&mut realm, T0, &password_grant("easy-register-test", "wrong")),
        oauth_error(401, "invalid_grant", "Invalid user credentials")
    );
    assert_eq!(
        answer(&mut realm, T0, &password_grant("nobody", "Test@123")),
        oauth_error(401, "invalid_grant", "Invalid user credentials")
    );
    assert_eq!(
        answer(&mut realm, T0, &password_grant("off", "pw")),
        oauth_error(400, "invalid_grant", "Account disabled")
    );
    let other_client = form(TOKEN_PATH, &[("grant_type", "password"), ("client_id", "other")]);
    assert_eq!(
        answer(&mut realm, T0, &other_client),
        oauth_error(
            401,
            "invalid_client",
            "Invalid client or Invalid client credentials"
        )
    );
    let no_grant = form(TOKEN_PATH, &[("client_id", "vatps")]);
    assert_eq!(
        answer(&mut realm, T0, &no_grant),
        oauth_error(400, "invalid_request", "Missing form parameter: grant_type")
    );
    let other_grant = form(
        TOKEN_PATH,
        &[("grant_type", "client_credentials"), ("client_id", "vatps")],
    );
    assert_eq!(
        answer(&mut realm, T0, &other_grant),
        oauth_error(400, "unsupported_grant_type", "Unsupported grant_type")
    );
    let json = json_post(TOKEN_PATH, r#"{"grant_type":"password"}"#);
    assert_eq!(answer(&mut realm, T0, &json).0, 415);
    assert_eq!(realm.grants().refused, 7);
    assert_eq!(realm.grants().password, 0);
}

#[test]
fn keycloak_refresh_expiry_sessions_and_rotation() {
    let mut realm = Keycloak::itc_staging();
    let (_, body) = answer(&mut realm, T0, &password_grant("easy-register-test", "Test@123"));
    let first = text(&body, "refresh_token");

    // Refresh keeps the session's refresh deadline.
    let t1 = T0.saturating_add(Duration::from_secs(600));
    let (status, body) = answer(&mut realm, t1, &refresh_grant(&first));
    assert_eq!(status, 200);
    assert_eq!(body["refresh_expires_in"], 1200);
    let second = text(&body, "refresh_token");
    assert_ne!(second, first);
    // Without revocation the old refresh token still works.
    assert_eq!(answer(&mut realm, t1, &refresh_grant(&first)).0, 200);

    let expired = T0.saturating_add(Duration::from_secs(1800));
    assert_eq!(
        answer(&mut realm, expired, &refresh_grant(&second)),
        oauth_error(400, "invalid_grant", "Token is not active")
    );
    assert_eq!(
        answer(&mut realm, t1, &refresh_grant("made-up")),
        oauth_error(400, "invalid_grant", "Invalid refresh token")
    );
    assert_eq!(
        answer(
            &mut realm,
            t1,
            &form(
                TOKEN_PATH,
                &[("grant_type", "refresh_token"), ("client_id", "vatps")]
            )
        ),
        oauth_error(400, "invalid_request", "Missing form parameter: refresh_token")
    );

    realm.end_sessions();
    assert_eq!(
        answer(&mut realm, t1, &refresh_grant(&second)),
        oauth_error(400, "invalid_grant", "Session not active")
    );
}

#[test]
fn keycloak_revocation_and_omitted_refresh_tokens() {
    let mut realm = Keycloak::itc_staging();
    realm.revoke_refresh_tokens = true;
    let (_, body) = answer(&mut realm, T0, &password_grant("easy-register-test", "Test@123"));
    let first = text(&body, "refresh_token");
    assert_eq!(answer(&mut realm, T0, &refresh_grant(&first)).0, 200);
    assert_eq!(
        answer(&mut realm, T0, &refresh_grant(&first)),
        oauth_error(400, "invalid_grant", "Invalid refresh token")
    );

    let mut realm = Keycloak::itc_staging();
    realm.omit_refresh_token_on_refresh = true;
    realm.token_type = "Bearer";
    let (_, body) = answer(&mut realm, T0, &password_grant("easy-register-test", "Test@123"));
    let first = text(&body, "refresh_token");
    let (status, body) = answer(&mut realm, T0, &refresh_grant(&first));
    assert_eq!(status, 200);
    assert_eq!(body["token_type"], "Bearer");
    assert!(body.get("refresh_token").is_none());
    // The old one stays valid, as Keycloak does without rotation.
    assert_eq!(answer(&mut realm, T0, &refresh_grant(&first)).0, 200);
}

const GAM_TOKEN: &str = "https://iam.test/oauth2/v3/token";

fn gam_request(id: &str, secret: &str, scope: &str) -> http::Request<Vec<u8>> {
    form(
        GAM_TOKEN,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", secret),
            ("scope", scope),
        ],
    )
}

#[test]
fn gam_issues_scoped_tokens_and_refuses_in_rfc_6749_shape() {
    let mut gam = Gam::new();
    gam.add_client("shop", "s3cret", &["a:read", "b:write"]);
    let (status, body) = answer(&mut gam, T0, &gam_request("shop", "s3cret", "a:read b:write"));
    assert_eq!(status, 200);
    assert_eq!(
        (body["expires_in"].as_u64(), body["token_type"].as_str()),
        (Some(3600), Some("Bearer"))
    );
    assert_eq!(body["scope"], "a:read b:write");
    let token = AccessToken::new(text(&body, "access_token"));
    assert!(gam.accepts(T0.saturating_add(Duration::from_secs(3599)), &token));
    assert!(!gam.accepts(T0.saturating_add(Duration::from_secs(3600)), &token));

    assert_eq!(
        answer(&mut gam, T0, &gam_request("shop", "wrong", "a:read")).1["error"],
        "invalid_client"
    );
    assert_eq!(
        answer(&mut gam, T0, &gam_request("shop", "wrong", "a:read")).0,
        401
    );
    assert_eq!(
        answer(&mut gam, T0, &gam_request("shop", "s3cret", "")).1["error"],
        "invalid_scope"
    );
    assert_eq!(
        answer(&mut gam, T0, &gam_request("shop", "s3cret", "c:admin")).1["error"],
        "invalid_scope"
    );
    let no_secret = form(
        GAM_TOKEN,
        &[("grant_type", "client_credentials"), ("client_id", "shop")],
    );
    assert_eq!(answer(&mut gam, T0, &no_secret).1["error"], "invalid_request");
    let password = form(GAM_TOKEN, &[("grant_type", "password")]);
    assert_eq!(
        answer(&mut gam, T0, &password).1["error"],
        "unsupported_grant_type"
    );
    let repeated = form(
        GAM_TOKEN,
        &[
            ("grant_type", "client_credentials"),
            ("grant_type", "client_credentials"),
        ],
    );
    assert_eq!(
        answer(&mut gam, T0, &repeated),
        oauth_error(400, "invalid_request", "a parameter is repeated")
    );
}

const MONPAY_TOKEN: &str = "https://wallet.test/v2/oauth/token";

fn exchange(code: &str, redirect: &str, secret: &str, grant: &str) -> http::Request<Vec<u8>> {
    form(
        MONPAY_TOKEN,
        &[
            ("redirect_uri", redirect),
            ("client_id", "app"),
            ("client_secret", secret),
            ("code", code),
            ("grant_type", grant),
        ],
    )
}

#[test]
fn monpay_follows_its_status_table() {
    let mut wallet = MonPay::new("app", "secret", "https://shop.test/back");
    let code = wallet.issue_code(T0);
    let code = code.expose_secret();
    let back = "https://shop.test/back";
    let error = |r: (u16, serde_json::Value)| (r.0, text(&r.1, "error"));

    assert_eq!(
        error(answer(
            &mut wallet,
            T0,
            &exchange(code, back, "wrong", "authorization_code")
        )),
        (401, "unauthorized_client".into())
    );
    assert_eq!(
        error(answer(
            &mut wallet,
            T0,
            &exchange(code, back, "secret", "password")
        )),
        (415, "unsupported_grant_type".into())
    );
    assert_eq!(
        error(answer(
            &mut wallet,
            T0,
            &exchange(code, "https://other.test", "secret", "authorization_code")
        )),
        (400, "invalid_request".into())
    );
    assert_eq!(
        error(answer(
            &mut wallet,
            T0,
            &exchange("", back, "secret", "authorization_code")
        )),
        (400, "invalid_request".into())
    );
    assert_eq!(
        error(answer(
            &mut wallet,
            T0,
            &exchange("made-up", back, "secret", "authorization_code")
        )),
        (403, "invalid_grant".into())
    );

    let (status, body) = answer(
        &mut wallet,
        T0,
        &exchange(code, back, "secret", "authorization_code"),
    );
    assert_eq!(status, 200);
    assert_eq!(body["expires_in"], 0);
    assert!(body["refresh_token"].is_string());
    let token = AccessToken::new(text(&body, "access_token"));
    assert!(
        wallet.accepts(Timestamp::MAX, &token),
        "MonPay tokens never expire"
    );
    // A code works once.
    assert_eq!(
        error(answer(
            &mut wallet,
            T0,
            &exchange(code, back, "secret", "authorization_code")
        )),
        (403, "invalid_grant".into())
    );

    // And only within its lifetime.
    let late = wallet.issue_code(T0);
    let after = T0.saturating_add(wallet.code_lifetime);
    assert_eq!(
        error(answer(
            &mut wallet,
            after,
            &exchange(late.expose_secret(), back, "secret", "authorization_code")
        )),
        (403, "invalid_grant".into())
    );

    wallet.failing = true;
    let fresh = wallet.issue_code(T0);
    assert_eq!(
        error(answer(
            &mut wallet,
            T0,
            &exchange(fresh.expose_secret(), back, "secret", "authorization_code")
        )),
        (505, "server_error".into())
    );
}

const LOGIN: &str = "https://astana.test/api/auth/login";

fn envelope(status: u16, message: &str) -> (u16, serde_json::Value) {
    (
        status,
        serde_json::json!({"statusCode": status, "message": message}),
    )
}

#[test]
fn astana_plat_answers_every_documented_message() {
    let mut server = AstanaPlat::new();
    server.add_user("demo", "pw");
    let (status, body) = answer(
        &mut server,
        T0,
        &json_post(LOGIN, r#"{"authType":1,"login":"demo","password":"pw"}"#),
    );
    assert_eq!(
        (status, text(&body, "message")),
        (200, "Access token created".to_owned())
    );
    assert_eq!(body["statusCode"], 200);
    assert!(server.accepts(
        Timestamp::MAX,
        &AccessToken::new(body["data"]["token"].as_str().unwrap())
    ));

    let wrong = json_post(LOGIN, r#"{"authType":1,"login":"demo","password":"no"}"#);
    assert_eq!(
        answer(&mut server, T0, &wrong),
        envelope(400, "User with given credentials not found")
    );
    for invalid in [
        r#"{"authType":1,"login":"demo"}"#,
        r#"{"authType":3}"#,
        "not json",
        r#"{"authType":1,"login":1,"password":2}"#,
    ] {
        assert_eq!(
            answer(&mut server, T0, &json_post(LOGIN, invalid)),
            envelope(422, "Incorrect credentials"),
            "{invalid}"
        );
    }

    let cert = json_post(LOGIN, r#"{"authType":2}"#);
    assert_eq!(answer(&mut server, T0, &cert).0, 200);
    for (case, message) in [
        (
            CertificateCase::UnknownUser,
            "User with given credentials not found",
        ),
        (CertificateCase::CaNotFound, "Endpoint not found"),
        (CertificateCase::CaFailed, "Error. Try later"),
        (CertificateCase::CaOtherStatus, "Unknown error. Try later"),
        (
            CertificateCase::CaMalformed,
            "Incorrect response body. Try again.",
        ),
        (
            CertificateCase::Outdated,
            "Certificate is outdated. Please get fresh one.",
        ),
    ] {
        server.certificate = case;
        assert_eq!(answer(&mut server, T0, &cert), envelope(400, message), "{case:?}");
    }

    server.errors_in_http_200 = true;
    let (status, body) = answer(&mut server, T0, &cert);
    assert_eq!((status, body["statusCode"].as_u64()), (200, Some(400)));

    server.errors_in_http_200 = false;
    server.failing = true;
    assert_eq!(
        answer(&mut server, T0, &cert),
        envelope(500, "Error on server. try later")
    );
}

#[test]
fn the_router_sends_each_prefix_to_its_fake() {
    let mut fakes = Fakes::new();
    let itc = form(
        "http://127.0.0.1/itc/auth/realms/Staging/protocol/openid-connect/token",
        &[
            ("grant_type", "password"),
            ("client_id", "vatps"),
            ("username", "easy-register-test"),
            ("password", "Test@123"),
        ],
    );
    assert_eq!(answer(&mut fakes, T0, &itc).0, 200);
    assert_eq!(fakes.itc.grants().password, 1);
    let gam = form(
        "http://127.0.0.1/gam/oauth2/v3/token",
        &[("grant_type", "client_credentials")],
    );
    assert_eq!(answer(&mut fakes, T0, &gam).1["error"], "invalid_request");
    let astana = json_post(
        "http://127.0.0.1/astana-plat/login",
        r#"{"authType":1,"login":"demo","password":"demo-password"}"#,
    );
    assert_eq!(answer(&mut fakes, T0, &astana).0, 200);
    let nowhere = json_post("http://127.0.0.1/elsewhere/token", "{}");
    assert_eq!(fakes.handle(T0, &nowhere).status(), 404);
}

#[test]
fn fakes_debug_never_shows_credentials() {
    let mut fakes = Fakes::new();
    let code = fakes.monpay.issue_code(T0);
    let printed = format!("{fakes:?}");
    for secret in ["Test@123", "demo-secret", "demo-password", code.expose_secret()] {
        assert!(!printed.contains(secret), "{secret} in {printed}");
    }
}

// ------------------------------------------------------------ the API fakes, through the crate's own calls

mod api {
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
    fn demo_session(config: &itc::Config) -> itc::Session {
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

        let approve = |qr: &str, session: &mut itc::Session, server: &mut Keycloak| {
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

    #[test]
    fn gam_partner_codes_are_per_client() {
        let mut server = Gam::new();
        server.add_client(fake::DEMO_CLIENT_ID, fake::DEMO_CLIENT_SECRET, &["orders:read"]);
        server.set_partner_code(fake::DEMO_CLIENT_ID, "SHOP-7");
        let config = gam::Config::new(
            Endpoint::parse("https://gam.test").unwrap(),
            Endpoint::parse("https://gam.test/oms").unwrap(),
        );
        let mut source = Reissue::new(|| {
            gam::client_credentials(
                &config,
                fake::DEMO_CLIENT_ID,
                ClientSecret::new(fake::DEMO_CLIENT_SECRET),
                "orders:read",
            )
        });
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
        let config = gam::Config::new(
            Endpoint::parse("https://gam.test").unwrap(),
            Endpoint::parse("https://gam.test/oms").unwrap(),
        );
        let mut source = Reissue::new(|| {
            gam::client_credentials(
                &config,
                fake::DEMO_CLIENT_ID,
                ClientSecret::new(fake::DEMO_CLIENT_SECRET),
                "orders:read",
            )
        });
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
        let call = gam::post::<_, serde_json::Value>(
            &config,
            fake::DEMO_PARTNER_CODE,
            &["api"],
            &unknown,
            &mut source,
        );
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
}

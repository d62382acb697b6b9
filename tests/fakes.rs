//! The fakes behave as each provider's documentation says: these tests pin
//! every documented answer, since users test their own code against them.
#![cfg(feature = "fake")]

use std::time::Duration;

use tokendance::fake::{self, AstanaPlat, CertificateCase, Crpt, Fake, Fakes, Gam, Keycloak, MonPay};
use tokendance::{AccessToken, SignatureKind, Timestamp};

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
    assert_eq!((realm.grants().password, realm.grants().refresh), (1, 2));

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

#[test]
fn keycloak_forgets_sessions_a_day_after_their_refresh_deadline() {
    let mut realm = Keycloak::itc_staging();
    let (_, body) = answer(&mut realm, T0, &password_grant("easy-register-test", "Test@123"));
    let refresh = text(&body, "refresh_token");
    // Kept a day past the deadline, so its token is "not active" until then ...
    let forgotten = T0.saturating_add(realm.refresh_lifetime + Duration::from_secs(86_400));
    let last_moment = forgotten.saturating_sub(Duration::from_millis(1));
    assert_eq!(
        answer(&mut realm, last_moment, &refresh_grant(&refresh)),
        oauth_error(400, "invalid_grant", "Token is not active")
    );
    // ... and unknown from that instant on.
    assert_eq!(
        answer(&mut realm, forgotten, &refresh_grant(&refresh)),
        oauth_error(400, "invalid_grant", "Invalid refresh token")
    );
}

const SERVICE: &str = "https://service.test/api/easy-register";

/// An access token of the staging test account, issued at T0.
fn itc_token(realm: &mut Keycloak) -> String {
    let (_, body) = answer(realm, T0, &password_grant("easy-register-test", "Test@123"));
    text(&body, "access_token")
}

/// A call to the Easy Register service, with or without a Bearer token.
fn service_call(method: &str, path: &str, token: Option<&str>, body: &str) -> http::Request<Vec<u8>> {
    let mut request = http::Request::builder()
        .method(method)
        .uri(format!("{SERVICE}{path}"))
        .header("content-type", "application/json");
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    request.body(body.as_bytes().to_vec()).unwrap()
}

const GET_PROFILE: &str = "/rest/v1/getProfile";
const APPROVE_QR: &str = "/rest/v1/approveQr";
const CONSUMER: &str = "/api/info/consumer/AA12345678";

#[test]
fn easy_register_refuses_tokens_with_401_or_in_the_body() {
    let mut realm = Keycloak::itc_staging();
    let profile = r#"{"phoneNum":"99112233"}"#;
    let refused = realm.handle(T0, &service_call("POST", GET_PROFILE, None, profile));
    assert_eq!(refused.status(), 401);
    assert_eq!(
        refused.headers()["www-authenticate"],
        r#"Bearer error="invalid_token""#
    );
    assert!(refused.body().is_empty());

    // With the switch on, getProfile and approveQr say invalidToken in a 200
    // body; the consumer lookup still answers 401.
    realm.service.invalid_token_in_body = true;
    let (status, body) = answer(
        &mut realm,
        T0,
        &service_call("POST", GET_PROFILE, Some("made-up"), profile),
    );
    assert_eq!((status, text(&body, "code")), (200, "invalidToken".to_owned()));
    assert_eq!(body["status"], 401);
    let approve = r#"{"customerNo":"12345678901","qrData":"20260101000003800000"}"#;
    let (status, body) = answer(&mut realm, T0, &service_call("POST", APPROVE_QR, None, approve));
    assert_eq!((status, text(&body, "code")), (200, "invalidToken".to_owned()));
    let consumer = realm.handle(T0, &service_call("GET", CONSUMER, None, ""));
    assert_eq!(consumer.status(), 401);
    assert_eq!(realm.service.counts().unauthorized, 4);
    assert_eq!(realm.service.counts().answered, 0);
}

#[test]
fn easy_register_answers_a_wrong_method_with_405_and_allow() {
    let mut realm = Keycloak::itc_staging();
    let token = itc_token(&mut realm);
    for (method, path, allow) in [
        ("GET", GET_PROFILE, "POST"),
        ("PUT", APPROVE_QR, "POST"),
        ("POST", CONSUMER, "GET"),
    ] {
        let response = realm.handle(T0, &service_call(method, path, Some(&token), "{}"));
        assert_eq!(response.status(), 405, "{method} {path}");
        assert_eq!(response.headers()["allow"], allow, "{method} {path}");
    }
    // Authorised, so answered (not refused) calls.
    assert_eq!(realm.service.counts().answered, 3);
}

#[test]
fn easy_register_service_right_can_be_given_back() {
    let mut realm = Keycloak::itc_staging();
    realm.add_user("other", "pw");
    let token = itc_token(&mut realm);
    let lookup = service_call("GET", CONSUMER, Some(&token), "");
    realm.deny_service("easy-register-test");
    assert_eq!(realm.handle(T0, &lookup).status(), 403);
    // Giving the right to another user changes nothing for this one.
    realm.allow_service("other");
    assert_eq!(realm.handle(T0, &lookup).status(), 403);
    realm.allow_service("easy-register-test");
    assert_eq!(realm.handle(T0, &lookup).status(), 200);
    let counts = realm.service.counts();
    assert_eq!((counts.forbidden, counts.answered), (2, 1));
}

#[test]
fn easy_register_reads_blank_fields_as_missing() {
    let mut realm = Keycloak::itc_staging();
    let token = itc_token(&mut realm);
    let mut code = |path: &str, body: &str| {
        let (status, body) = answer(&mut realm, T0, &service_call("POST", path, Some(&token), body));
        assert_eq!(status, 200, "{body}");
        text(&body, "code")
    };
    assert_eq!(code(GET_PROFILE, r#"{"phoneNum":"  "}"#), "emptyField");
    // A blank phone beside a customer number is not "both fields".
    assert_eq!(
        code(GET_PROFILE, r#"{"phoneNum":" ","customerNo":" 12345678901 "}"#),
        "success"
    );
    assert_eq!(
        code(APPROVE_QR, r#"{"customerNo":"12345678901","qrData":""}"#),
        "emptyField"
    );
}

#[test]
fn easy_register_approves_qr_data_of_20_to_1000_digits_for_its_customer() {
    let mut realm = Keycloak::itc_staging();
    let token = itc_token(&mut realm);
    let mut approve = |customer: &str, qr: &str| {
        let body = serde_json::json!({"customerNo": customer, "qrData": qr}).to_string();
        answer(
            &mut realm,
            T0,
            &service_call("POST", APPROVE_QR, Some(&token), &body),
        )
        .1
    };
    let citizen = "12345678901";
    let digits = |n: usize| "1".repeat(n);
    // Long enough but not all digits, or all digits but too short or too long.
    for qr in [format!("{}x", digits(20)), digits(19), digits(1001)] {
        assert_eq!(text(&approve(citizen, &qr), "code"), "inValidQr", "{qr}");
    }
    assert_eq!(text(&approve(citizen, &digits(1000)), "code"), "success");
    // The reply names the customer the receipt was approved for.
    let approved = approve(citizen, &digits(20));
    assert_eq!(
        (text(&approved, "code"), text(&approved, "loginName")),
        ("success".to_owned(), citizen.to_owned())
    );
    assert_eq!(text(&approved, "email"), "bat.dorj@example.mn");
    assert_eq!(
        approve("00000000000", &digits(21)),
        serde_json::json!({"code": "userNotFound", "status": 201, "msg": "Хэрэглэгч олдсонгүй"})
    );
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

#[test]
fn monpay_drops_codes_at_expiry_and_accepts_only_its_tokens() {
    let mut wallet = MonPay::new("app", "secret", "https://shop.test/back");
    let code = wallet.issue_code(T0);
    let _expires_first = wallet.issue_code(T0);
    let _expires_later = wallet.issue_code(T0.saturating_add(Duration::from_secs(1)));
    let back = "https://shop.test/back";
    let (_, body) = answer(
        &mut wallet,
        T0,
        &exchange(code.expose_secret(), back, "secret", "authorization_code"),
    );
    let token = AccessToken::new(text(&body, "access_token"));
    assert!(wallet.accepts(T0, &token));
    assert!(!wallet.accepts(T0, &AccessToken::new("monpay-access-999999")));
    // Other paths: 404, empty body, still JSON's content type.
    let elsewhere = form("https://wallet.test/v2/oauth/authorize", &[]);
    let expiry = T0.saturating_add(wallet.code_lifetime);
    let response = wallet.handle(expiry, &elsewhere);
    assert_eq!(response.status(), 404);
    assert_eq!(response.headers()["content-type"], "application/json");
    // At its expiry a code is gone; the one issued a second later is kept.
    // Debug counts them and never shows the secret.
    assert_eq!(
        format!("{wallet:?}"),
        r#"MonPay { client_id: "app", redirect_uri: "https://shop.test/back", codes: 1, tokens: 1, failing: false, .. }"#
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
fn astana_plat_takes_json_posts_only_and_accepts_only_its_tokens() {
    let mut server = AstanaPlat::new();
    server.add_user("demo", "pw");
    let body = br#"{"authType":1,"login":"demo","password":"pw"}"#;
    // A login that is not a JSON POST is unreadable to the service: 422.
    let get = http::Request::get(LOGIN)
        .header("content-type", "application/json")
        .body(body.to_vec())
        .unwrap();
    let plain = http::Request::post(LOGIN)
        .header("content-type", "text/plain")
        .body(body.to_vec())
        .unwrap();
    for request in [get, plain] {
        assert_eq!(
            answer(&mut server, T0, &request),
            envelope(422, "Incorrect credentials")
        );
    }
    let (status, body) = answer(
        &mut server,
        T0,
        &json_post(LOGIN, std::str::from_utf8(body).unwrap()),
    );
    assert_eq!(status, 200);
    let token = AccessToken::new(body["data"]["token"].as_str().unwrap());
    assert!(server.accepts(T0, &token));
    assert!(!server.accepts(T0, &AccessToken::new("astana-access-999999")));
    assert_eq!(
        format!("{server:?}"),
        "AstanaPlat { users: 1, tokens: 1, certificate: Valid, failing: false, errors_in_http_200: false, .. }"
    );
}

const CRPT: &str = "https://crpt.test";

/// A SUZ registration with the demo key, the body signed (detached) or not.
fn registration(query: &str, body: &str, signed: bool) -> http::Request<Vec<u8>> {
    let mut request = http::Request::post(format!("{CRPT}/api/v3/integration/connection{query}"))
        .header("content-type", "application/json")
        .header("x-registrationkey", tokendance::crpt::DEMO_REGISTRATION_KEY);
    if signed {
        let signature = fake::sign_as(body.as_bytes(), SignatureKind::Detached);
        request = request.header("x-signature", signature.to_base64());
    }
    request.body(body.as_bytes().to_vec()).unwrap()
}

#[test]
fn crpt_registration_needs_a_non_empty_oms_id() {
    let mut crpt = Crpt::new();
    let body = r#"{"address":"Moscow, 1 Leninskie Gory"}"#;
    let rejected = (
        200,
        serde_json::json!({"status": "REJECTED", "rejectionReason": "omsId is required"}),
    );
    for query in ["", "?omsId=", "?other=1", "?other=1&omsId="] {
        assert_eq!(
            answer(&mut crpt, T0, &registration(query, body, true)),
            rejected,
            "{query}"
        );
    }
    let (_, accepted) = answer(&mut crpt, T0, &registration("?omsId=42", body, true));
    assert_eq!(accepted["status"], "SUCCESS", "{accepted}");
}

#[test]
fn crpt_mdlp_auth_gives_codes_only_to_users_it_can_check() {
    let mut crpt = Crpt::new();
    crpt.set_mdlp_client("client", "secret");
    crpt.add_mdlp_user("user@example.org", "pw");
    let unknown = (
        400,
        serde_json::json!({
            "timestamp": "2026-01-01T00:00:00.000+0000",
            "status": 400,
            "error": "Bad Request",
            "message": "Unknown user or auth_type",
        }),
    );
    let mut now = T0;
    let mut auth = |user: &str, auth_type: &str| {
        // A second apart, as MDLP wants its calls.
        now = now.saturating_add(Duration::from_secs(1));
        let body = serde_json::json!({
            "client_id": "client",
            "client_secret": "secret",
            "user_id": user,
            "auth_type": auth_type,
        });
        answer(
            &mut crpt,
            now,
            &json_post(&format!("{CRPT}/api/v1/auth"), &body.to_string()),
        )
    };
    // A signed code needs a certificate to check it against; a password
    // login, a registered user.
    assert_eq!(auth("", "SIGNED_CODE"), unknown);
    assert_eq!(auth("nobody@example.org", "PASSWORD"), unknown);
    assert!(auth("0123456789abcdef", "SIGNED_CODE").1["code"].is_string());
    assert!(auth("user@example.org", "PASSWORD").1["code"].is_string());
}

/// A challenge sign-in at T0: fetch the challenge at `key_url`, sign its
/// data with the fake signer, post it to `sign_in_url`.
fn challenge_sign_in(crpt: &mut Crpt, key_url: &str, sign_in_url: &str) -> (u16, serde_json::Value) {
    let challenge = http::Request::get(key_url).body(Vec::new()).unwrap();
    let (_, challenge_body) = answer(crpt, T0, &challenge);
    let signed = fake::sign_as(text(&challenge_body, "data").as_bytes(), SignatureKind::Attached);
    let sign_in = serde_json::json!({"uuid": challenge_body["uuid"], "data": signed.to_base64()});
    answer(crpt, T0, &json_post(sign_in_url, &sign_in.to_string()))
}

#[test]
fn crpt_debug_counts_what_it_holds_and_drops_expired_tokens() {
    let mut crpt = Crpt::new();
    let body = r#"{"address":"Moscow, 1 Leninskie Gory"}"#;
    let (_, registered) = answer(&mut crpt, T0, &registration("?omsId=42", body, true));
    let connection = text(&registered, "omsConnection");
    let sign_in = format!("{CRPT}/auth/simpleSignIn/{connection}");
    let (status, token) = challenge_sign_in(&mut crpt, &format!("{CRPT}/auth/key"), &sign_in);
    assert_eq!(status, 200, "{token}");
    assert_eq!(
        format!("{crpt:?}"),
        "Crpt { connections: 1, live_tokens: 1, tokens_issued: 1, failure: None, pharma: false, .. }"
    );
    // Any request at the token's expiry drops it; the count of issued ones stays.
    let expiry = T0.saturating_add(crpt.challenge_token_lifetime);
    let challenge = http::Request::get(format!("{CRPT}/auth/key"))
        .body(Vec::new())
        .unwrap();
    assert_eq!(answer(&mut crpt, expiry, &challenge).0, 200);
    assert_eq!(
        format!("{crpt:?}"),
        "Crpt { connections: 1, live_tokens: 0, tokens_issued: 1, failure: None, pharma: false, .. }"
    );
}

#[test]
fn crpt_true_api_sign_in_without_a_connection_issues_a_token() {
    let mut crpt = Crpt::new();
    let (status, body) = challenge_sign_in(
        &mut crpt,
        &format!("{CRPT}/api/v3/true-api/auth/key"),
        &format!("{CRPT}/api/v3/true-api/auth/simpleSignIn"),
    );
    assert_eq!(status, 200, "{body}");
    // True API's token belongs to no connection.
    assert!(crpt.accepts(T0, "", &AccessToken::new(text(&body, "token"))));
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
    let code = fakes.monpay.issue_code(T0);
    let monpay = form(
        "http://127.0.0.1/monpay/v2/oauth/token",
        &[
            ("redirect_uri", fake::DEMO_REDIRECT_URI),
            ("client_id", fake::DEMO_CLIENT_ID),
            ("client_secret", fake::DEMO_CLIENT_SECRET),
            ("code", code.expose_secret()),
            ("grant_type", "authorization_code"),
        ],
    );
    let (status, body) = answer(&mut fakes, T0, &monpay);
    assert_eq!(status, 200);
    assert!(fakes
        .monpay
        .accepts(T0, &AccessToken::new(text(&body, "access_token"))));
    // CRPT's challenge: only the CRPT fake hands out a uuid to sign.
    let crpt = http::Request::get("http://127.0.0.1/crpt/auth/key")
        .body(Vec::new())
        .unwrap();
    let (status, body) = answer(&mut fakes, T0, &crpt);
    assert_eq!(status, 200);
    assert!(body["uuid"].is_string() && body["data"].is_string(), "{body}");
    let nowhere = json_post("http://127.0.0.1/elsewhere/token", "{}");
    let page = fakes.handle(T0, &nowhere);
    assert_eq!(page.status(), 404);
    // An HTML page says so, as a web server's 404 does.
    assert_eq!(page.headers()["content-type"], "text/html");
}

#[test]
fn fakes_debug_counts_live_tokens_and_drops_expired_ones() {
    let mut gam = Gam::new();
    gam.add_client("shop", "s3cret", &["a:read"]);
    for _ in 0..2 {
        assert_eq!(
            answer(&mut gam, T0, &gam_request("shop", "s3cret", "a:read")).0,
            200
        );
    }
    assert!(format!("{gam:?}").contains("tokens: 2"), "{gam:?}");
    // Any request at the end of the lifetime prunes them: a token is valid
    // strictly before `issued + lifetime`.
    let expiry = T0.saturating_add(gam.token_lifetime);
    let _ = gam.handle(expiry, &gam_request("shop", "wrong", "a:read"));
    assert!(format!("{gam:?}").contains("tokens: 0"), "{gam:?}");

    let mut realm = Keycloak::itc_staging();
    let _ = answer(&mut realm, T0, &password_grant("easy-register-test", "Test@123"));
    assert!(
        format!("{realm:?}").contains("access_tokens: 1 tokens"),
        "{realm:?}"
    );
    let expiry = T0.saturating_add(realm.access_lifetime);
    let _ = realm.handle(expiry, &refresh_grant("made-up"));
    assert!(
        format!("{realm:?}").contains("access_tokens: 0 tokens"),
        "{realm:?}"
    );
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

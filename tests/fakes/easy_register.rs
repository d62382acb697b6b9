//! Easy Register behind `fake::Keycloak`: token checks, methods, rights, blank fields, QR approval.

use super::*;

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

//! `fake::AstanaPlat`: every documented message, JSON posts only, its own tokens.

use super::*;

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

//! `fake::Fakes`: each prefix routed to its fake, and a Debug that counts live tokens and hides credentials.

use super::*;

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

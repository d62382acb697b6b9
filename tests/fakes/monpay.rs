//! `fake::MonPay`: its status table, code expiry and its own tokens.

use super::*;

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

/// The status and `error` of `wallet`'s answer to `request` at `now`.
fn refusal(wallet: &mut MonPay, now: Timestamp, request: &http::Request<Vec<u8>>) -> (u16, String) {
    let (status, body) = answer(wallet, now, request);
    (status, text(&body, "error"))
}

#[test]
fn monpay_follows_its_status_table() {
    let mut wallet = MonPay::new("app", "secret", "https://shop.test/back");
    let code = wallet.issue_code(T0);
    let code = code.expose_secret();
    let back = "https://shop.test/back";

    assert_eq!(
        refusal(
            &mut wallet,
            T0,
            &exchange(code, back, "wrong", "authorization_code")
        ),
        (401, "unauthorized_client".into())
    );
    assert_eq!(
        refusal(&mut wallet, T0, &exchange(code, back, "secret", "password")),
        (415, "unsupported_grant_type".into())
    );
    assert_eq!(
        refusal(
            &mut wallet,
            T0,
            &exchange(code, "https://other.test", "secret", "authorization_code")
        ),
        (400, "invalid_request".into())
    );
    assert_eq!(
        refusal(
            &mut wallet,
            T0,
            &exchange("", back, "secret", "authorization_code")
        ),
        (400, "invalid_request".into())
    );
    assert_eq!(
        refusal(
            &mut wallet,
            T0,
            &exchange("made-up", back, "secret", "authorization_code")
        ),
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
        refusal(
            &mut wallet,
            T0,
            &exchange(code, back, "secret", "authorization_code")
        ),
        (403, "invalid_grant".into())
    );

    // And only within its lifetime.
    let late = wallet.issue_code(T0);
    let after = T0.saturating_add(wallet.code_lifetime);
    assert_eq!(
        refusal(
            &mut wallet,
            after,
            &exchange(late.expose_secret(), back, "secret", "authorization_code")
        ),
        (403, "invalid_grant".into())
    );

    wallet.failing = true;
    let fresh = wallet.issue_code(T0);
    assert_eq!(
        refusal(
            &mut wallet,
            T0,
            &exchange(fresh.expose_secret(), back, "secret", "authorization_code")
        ),
        (505, "server_error".into())
    );
}

#[test]
fn monpay_drops_codes_at_expiry_and_accepts_only_its_tokens() {
    let mut wallet = MonPay::new("app", "secret", "https://shop.test/back");
    let code = wallet.issue_code(T0);
    let _expires_first = wallet.issue_code(T0);
    let _expires_later = wallet.issue_code(at(1));
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

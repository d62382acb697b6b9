//! `fake::MonPay`: its status table, code expiry, its own tokens, the
//! merchant grant and the API's two 401s.

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
        "MonPay { client_id: \"app\", redirect_uri: \"https://shop.test/back\", codes: 1, tokens: 1, \
         failing: false, counts: MonPayCounts { merchant_tokens_issued: 0, answered: 0, unauthorized: 0, \
         insufficient_access: 0 }, .. }"
    );
}

fn merchant_grant(id: &str, secret: &str) -> http::Request<Vec<u8>> {
    form(
        MONPAY_TOKEN,
        &[
            ("client_id", id),
            ("client_secret", secret),
            ("grant_type", "client_credentials"),
        ],
    )
}

fn api_call(path: &str, token: Option<&str>) -> http::Request<Vec<u8>> {
    let mut request = json_post(&format!("https://wallet.test{path}"), r#"{"amount":100}"#);
    if let Some(token) = token {
        let value = format!("Bearer {token}").parse().unwrap();
        request.headers_mut().insert("authorization", value);
    }
    request
}

#[test]
fn monpay_merchant_grant_answers_without_expires_in() {
    let mut wallet = MonPay::new("app", "secret", "https://shop.test/back");
    let (status, body) = answer(&mut wallet, T0, &merchant_grant("app", "secret"));
    assert_eq!(status, 200);
    assert!(body.get("expires_in").is_none(), "{body}");
    assert_eq!(body["token_type"], "bearer");
    let token = AccessToken::new(text(&body, "access_token"));
    assert!(
        wallet.accepts(Timestamp::MAX, &token),
        "no lifetime: never expires here"
    );
    assert_eq!(
        refusal(&mut wallet, T0, &merchant_grant("app", "wrong")),
        (401, "unauthorized_client".into())
    );
    assert_eq!(
        refusal(&mut wallet, T0, &merchant_grant("", "secret")),
        (400, "invalid_request".into())
    );
    // A lifetime when asked for one, enforced.
    wallet.merchant_expires_in = Some(120);
    let (_, body) = answer(&mut wallet, T0, &merchant_grant("app", "secret"));
    assert_eq!(body["expires_in"], 120);
    let token = AccessToken::new(text(&body, "access_token"));
    assert!(wallet.accepts(at(119), &token));
    assert!(!wallet.accepts(at(120), &token));
    assert_eq!(wallet.counts().merchant_tokens_issued, 2);
}

#[test]
fn monpay_api_answers_its_two_401s() {
    let mut wallet = MonPay::new("app", "secret", "https://shop.test/back");
    let (_, body) = answer(&mut wallet, T0, &merchant_grant("app", "secret"));
    let merchant = text(&body, "access_token");
    let code = wallet.issue_code(T0);
    let back = "https://shop.test/back";
    let exchange = exchange(code.expose_secret(), back, "secret", "authorization_code");
    let (_, body) = answer(&mut wallet, T0, &exchange);
    let user = text(&body, "access_token");

    let invoice = "/v2/api/oauth/invoice";
    let userinfo = "/v2/api/oauth/userinfo";
    let (status, body) = answer(&mut wallet, T0, &api_call(invoice, Some(&merchant)));
    assert_eq!((status, text(&body, "code")), (200, "SUCCESS".into()));
    assert_eq!(body["result"]["echo"]["amount"], 100);
    assert_eq!(body["result"]["path"], invoice);
    let (status, body) = answer(&mut wallet, T0, &api_call(userinfo, Some(&user)));
    assert_eq!((status, body["result"]["name"].as_str()), (200, Some("Бат")));
    // A token of the wrong kind lacks the right.
    for (path, token) in [(invoice, &user), (userinfo, &merchant)] {
        let (status, body) = answer(&mut wallet, T0, &api_call(path, Some(token)));
        assert_eq!(status, 401, "{path}");
        assert_eq!(
            (text(&body, "code"), body["intCode"].as_u64()),
            ("INSUFFICIENT_ACCESS".into(), Some(6))
        );
        assert!(!text(&body, "info").is_empty());
    }
    // No token, or one not (or no longer) issued here: stale.
    wallet.expire_tokens();
    for token in [None, Some("made-up"), Some(merchant.as_str())] {
        let (status, body) = answer(&mut wallet, T0, &api_call(invoice, token));
        assert_eq!(status, 401, "{token:?}");
        assert_eq!(
            (text(&body, "code"), body["intCode"].as_u64()),
            ("UNAUTHORIZED".into(), Some(1))
        );
    }
    let (status, _) = answer(&mut wallet, T0, &api_call("/v2/api/other", Some(&merchant)));
    assert_eq!(status, 404);
    assert_eq!(
        wallet.counts(),
        fake::MonPayCounts {
            merchant_tokens_issued: 1,
            answered: 2,
            unauthorized: 3,
            insufficient_access: 2,
        }
    );
}

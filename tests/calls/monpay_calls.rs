//! MonPay: the merchant token through a `Reissue`, and which 401 renews it.

use super::*;
use tokendance::monpay;

const INVOICE: &str = "https://z-wallet.monpay.mn/v2/api/oauth/invoice";
const TOKEN_URL: &str = "https://z-wallet.monpay.mn/v2/oauth/token";

/// A merchant token flow with the default lifetime, counting how many were made.
fn counted_merchant(made: &Cell<u32>) -> Result<tokendance::TokenRequest, Error> {
    made.set(made.get() + 1);
    monpay::client_credentials(
        &monpay::Config::test(),
        "merchant",
        ClientSecret::new("s3cret"),
        monpay::DEFAULT_MERCHANT_TOKEN_LIFETIME,
    )
}

/// The merchant token answer, as the wallet often sends it: no `expires_in`.
fn merchant_token(access: &str) -> Input {
    json_answer(
        200,
        serde_json::json!({"access_token": access, "token_type": "bearer"}),
    )
}

fn invoice() -> http::Request<Vec<u8>> {
    http::Request::post(INVOICE)
        .header("content-type", "application/json")
        .body(br#"{"amount":100,"receiver":"shop"}"#.to_vec())
        .unwrap()
}

fn stale() -> Input {
    json_answer(
        401,
        serde_json::json!({"code": "UNAUTHORIZED", "intCode": 1, "info": "Token expired"}),
    )
}

fn insufficient() -> Input {
    json_answer(
        401,
        serde_json::json!({"code": "INSUFFICIENT_ACCESS", "intCode": 6, "info": "No access to invoices"}),
    )
}

/// Asserts that `out` is the merchant grant.
#[track_caller]
fn assert_grant(out: &Outgoing) {
    assert_request(
        out,
        Method::POST,
        TOKEN_URL,
        &[
            h(ACCEPT),
            h(("content-type", "application/x-www-form-urlencoded", false)),
        ],
        b"client_id=merchant&client_secret=s3cret&grant_type=client_credentials",
    );
}

#[test]
fn monpay_stale_401_renews_the_merchant_token_and_retries_once() {
    let made = Cell::new(0);
    let mut tokens = Reissue::new(|| counted_merchant(&made));
    let mut call = monpay::call(&mut tokens, invoice()).unwrap();
    assert_grant(&send(call.start(T0)));
    let first = send(call.resume(T0, merchant_token("m-1")));
    assert_request(
        &first,
        Method::POST,
        INVOICE,
        &[h(JSON_CT), bearer("m-1")],
        br#"{"amount":100,"receiver":"shop"}"#,
    );
    // The stale token's 401: a new grant, then the same request once more.
    assert_grant(&send(call.resume(T0, stale())));
    assert!(call.token_refused());
    let retry = send(call.resume(T0, merchant_token("m-2")));
    assert_eq!(header(&retry, "authorization"), "Bearer m-2");
    assert_same_but_credential(&first, &retry, "authorization");
    let response = done(call.resume(T0, answer(200, r#"{"code":"SUCCESS","intCode":0}"#)));
    assert_eq!(response.status(), 200);
    assert!(call.retried());
    assert_eq!(made.get(), 2);
}

#[test]
fn monpay_insufficient_access_is_forbidden_without_renewal() {
    // By the code, by `intCode` alone, or both: the same verdict.
    for body in [
        serde_json::json!({"code": "INSUFFICIENT_ACCESS", "intCode": 6, "info": "No access to invoices"}),
        serde_json::json!({"code": "INSUFFICIENT_ACCESS", "info": "No access to invoices"}),
        serde_json::json!({"intCode": 6, "info": "No access to invoices"}),
        serde_json::json!({"intCode": "6", "info": "No access to invoices"}),
    ] {
        let made = Cell::new(0);
        let mut tokens = Reissue::new(|| counted_merchant(&made));
        let mut call = monpay::call(&mut tokens, invoice()).unwrap();
        let _grant = send(call.start(T0));
        let _api = send(call.resume(T0, merchant_token("m-1")));
        // No grant is sent: the call ends on this answer.
        let err = failed(call.resume(T0, json_answer(401, body.clone())));
        let refusal = err.as_server().unwrap();
        assert_eq!(
            (refusal.status.as_u16(), refusal.kind),
            (401, ServerErrorKind::Forbidden),
            "{body}"
        );
        let code = body["code"].as_str();
        assert_eq!(refusal.code.as_deref(), code, "{body}");
        assert_eq!(refusal.message.as_deref(), Some("No access to invoices"));
        assert!(!call.token_refused() && !call.retried(), "{body}");
        assert_eq!(made.get(), 1, "{body}: no renewal");
        // The token was not dropped: it still serves other calls.
        assert_eq!(done(tokens.poll_token(T0)).expose_secret(), "m-1");
    }
    let err = {
        let mut call = monpay::call(fixed("m-1"), invoice()).unwrap();
        let _ = send(call.start(T0));
        failed(call.resume(T0, insufficient()))
    };
    assert_eq!(
        err.to_string(),
        "HTTP 401 INSUFFICIENT_ACCESS: No access to invoices"
    );
}

#[test]
fn monpay_forbidden_keeps_the_servers_words_scrubbed_of_the_token() {
    let mut call = monpay::call(fixed("merchant-token-77f1"), invoice()).unwrap();
    let _ = send(call.start(T0));
    let err = failed(call.resume(
        T0,
        json_answer(
            401,
            serde_json::json!({"code": "INSUFFICIENT_ACCESS", "intCode": 6,
                               "info": "token merchant-token-77f1 has no right"}),
        ),
    ));
    let refusal = err.as_server().unwrap();
    assert_eq!(refusal.kind, ServerErrorKind::Forbidden);
    assert_eq!(refusal.code.as_deref(), Some("INSUFFICIENT_ACCESS"));
    assert_eq!(refusal.message.as_deref(), Some(tokendance::WITHHELD));
    for shown in [err.to_string(), format!("{err:?}")] {
        assert!(!shown.contains("merchant-token-77f1"), "{shown}");
    }
}

#[test]
fn monpay_second_stale_401_is_unauthorized() {
    let made = Cell::new(0);
    let mut tokens = Reissue::new(|| counted_merchant(&made));
    let mut call = monpay::call(&mut tokens, invoice()).unwrap();
    let _grant = send(call.start(T0));
    let _first = send(call.resume(T0, merchant_token("m-1")));
    assert_grant(&send(call.resume(T0, stale())));
    let _retry = send(call.resume(T0, merchant_token("m-2")));
    let err = failed(call.resume(T0, stale()));
    let refusal = err.as_server().unwrap();
    assert_eq!(
        (refusal.status.as_u16(), refusal.kind),
        (401, ServerErrorKind::Unauthorized)
    );
    assert_eq!(refusal.code.as_deref(), Some("UNAUTHORIZED"));
    assert_eq!(refusal.message.as_deref(), Some("Token expired"));
    assert_eq!(made.get(), 2, "one renewal only");
    // A retry refused for lack of the right is Forbidden, as on the first try.
    let mut call = monpay::call(&mut tokens, invoice()).unwrap();
    let _first = send(call.start(T0));
    let _grant = send(call.resume(T0, stale()));
    let _retry = send(call.resume(T0, merchant_token("m-3")));
    let err = failed(call.resume(T0, insufficient()));
    assert_eq!(err.as_server().unwrap().kind, ServerErrorKind::Forbidden);
}

#[test]
fn monpay_other_401s_and_403s() {
    // Any 401 that does not name the missing right is a stale token: renewed.
    let oversized = format!(
        r#"{{"code":"INSUFFICIENT_ACCESS","intCode":6,"info":"{}"}}"#,
        "x".repeat(tokendance::MAX_BODY)
    );
    for body in [
        String::new(),
        "<html>401</html>".to_owned(),
        r#"{"code":"UNAUTHORIZED"}"#.to_owned(),
        r#"{"code":"UNAUTHORIZED","intCode":6}"#.to_owned(),
        r#"{"intCode":1}"#.to_owned(),
        r#"{"intCode":6.5}"#.to_owned(),
        // Over the size bound: not read, so not known to be the right's 401.
        oversized,
    ] {
        let mut call = monpay::call(Reissue::new(|| counted_merchant(&Cell::new(0))), invoice()).unwrap();
        let _grant = send(call.start(T0));
        let _first = send(call.resume(T0, merchant_token("m-1")));
        let renewal = send(call.resume(T0, answer(401, &body)));
        assert_grant(&renewal);
        assert!(call.token_refused(), "{body:.40}");
    }
    // A 403 is Forbidden, whatever its body, and never retried.
    let mut call = monpay::call(fixed("m-1"), invoice()).unwrap();
    let _ = send(call.start(T0));
    let err = failed(call.resume(T0, answer(403, "")));
    assert_eq!(err.as_server().unwrap().kind, ServerErrorKind::Forbidden);
    // Other answers are the caller's, untouched (an INSUFFICIENT_ACCESS in a 200 too).
    let mut call = monpay::call(fixed("m-1"), invoice()).unwrap();
    let _ = send(call.start(T0));
    let body = r#"{"code":"INSUFFICIENT_ACCESS","intCode":6}"#;
    let response = done(call.resume(T0, answer(200, body)));
    assert_eq!(response.body(), body.as_bytes());
    // An http URI is refused, as for any call.
    let plain = http::Request::get("http://z-wallet.monpay.mn/v2/api/oauth/invoice/1")
        .body(Vec::new())
        .unwrap();
    assert!(matches!(
        monpay::call(fixed("m-1"), plain.clone()),
        Err(Error::Usage(UsageError::InsecureUrl { .. }))
    ));
    // The opt-in takes it, with the same rule.
    let mut call = monpay::call_insecure_http(fixed("m-1"), plain).unwrap();
    assert_eq!(send(call.start(T0)).as_http().uri().scheme_str(), Some("http"));
    let err = failed(call.resume(T0, insufficient()));
    assert_eq!(err.as_server().unwrap().kind, ServerErrorKind::Forbidden);
}

#[test]
fn monpay_merchant_token_is_renewed_before_its_assumed_lifetime_ends() {
    let made = Cell::new(0);
    let mut tokens = Reissue::new(|| counted_merchant(&made));
    let _grant = send(tokens.poll_token(T0));
    assert_eq!(
        done(tokens.resume_token(T0, merchant_token("m-1"))).expose_secret(),
        "m-1"
    );
    let expires = tokens.token().unwrap().expires_at().unwrap();
    assert_eq!(
        expires,
        T0.saturating_add(monpay::DEFAULT_MERCHANT_TOKEN_LIFETIME)
    );
    let renew_at = tokens
        .token()
        .unwrap()
        .renew_at(tokens.pacing().renew_margin)
        .unwrap();
    assert!(renew_at < expires);
    // Held until the renewal is due, then re-issued without any 401.
    let just_before = Timestamp::from_unix_millis(renew_at.as_unix_millis() - 1);
    assert_eq!(done(tokens.poll_token(just_before)).expose_secret(), "m-1");
    assert_grant(&send(tokens.poll_token(renew_at)));
    assert_eq!(made.get(), 2);
}

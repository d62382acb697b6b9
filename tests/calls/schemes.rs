//! The credential each scheme attaches (SUZ, MDLP, MonPay, Astana-plat), and a token no header can carry.

use super::*;

/// A SUZ request as a caller builds it: own headers, a query, a body.
fn suz_request() -> http::Request<Vec<u8>> {
    http::Request::post("https://suzgrid.crpt.ru:16443/api/v2/pharma/orders?omsId=oms-1&x=%20y")
        .header("content-type", "application/json")
        .header("x-request-id", "req-42")
        .header("ClientToken", "stale-static-token")
        .header("authorization", "Basic dXNlcjpwdw==")
        .body(br#"{"products":[{"gtin":"04600000000001","quantity":2}]}"#.to_vec())
        .unwrap()
}

#[test]
fn suz_client_token_is_attached_through_authorized_new() {
    let mut call = Authorized::new(fixed("58f908f1-832a"), suz_request(), Scheme::SuzClientToken).unwrap();
    let out = send(call.start(T0));
    // The user's clientToken (any case) is replaced; their other headers,
    // Authorization included, the query and the body are kept.
    assert_request(
        &out,
        Method::POST,
        "https://suzgrid.crpt.ru:16443/api/v2/pharma/orders?omsId=oms-1&x=%20y",
        &[
            h(JSON_CT),
            h(("x-request-id", "req-42", false)),
            h(("authorization", "Basic dXNlcjpwdw==", false)),
            h(("clienttoken", "58f908f1-832a", true)),
        ],
        br#"{"products":[{"gtin":"04600000000001","quantity":2}]}"#,
    );
    let response = done(call.resume(T0, answer(200, r#"{"omsId":"oms-1","orderId":"o-1"}"#)));
    assert_eq!(response.body(), br#"{"omsId":"oms-1","orderId":"o-1"}"#);
}

#[test]
fn mdlp_token_scheme_replaces_an_existing_authorization() {
    let request = http::Request::get("https://api.sb.mdlp.crpt.ru/api/v1/reestr/med_products/public/filter")
        .header("authorization", "Bearer old-1")
        .header("authorization", "token old-2")
        .header("accept", "application/json")
        .header("x-trace", "abc")
        .body(Vec::new())
        .unwrap();
    let mut call = Authorized::new(fixed("7c9e6679-7425"), request, Scheme::MdlpToken).unwrap();
    let out = send(call.start(T0));
    assert_request(
        &out,
        Method::GET,
        "https://api.sb.mdlp.crpt.ru/api/v1/reestr/med_products/public/filter",
        &[
            h(ACCEPT),
            h(("x-trace", "abc", false)),
            h(("authorization", "token 7c9e6679-7425", true)),
        ],
        b"",
    );
}

#[test]
fn monpay_and_astana_plat_take_a_fixed_bearer_token() {
    // MonPay: a token from the code exchange, which nothing can renew.
    let request = http::Request::get("https://wallet.monpay.mn/v2/api/user/info")
        .header("authorization", "Bearer expired-one")
        .body(Vec::new())
        .unwrap();
    let mut call = Authorized::new(fixed("mp-token-1"), request, Scheme::Bearer).unwrap();
    let out = send(call.start(T0));
    assert_request(
        &out,
        Method::GET,
        "https://wallet.monpay.mn/v2/api/user/info",
        &[bearer("mp-token-1")],
        b"",
    );
    let response = done(call.resume(T0, answer(200, r#"{"userId":1}"#)));
    assert_eq!(response.status(), 200);

    // Astana-plat: a JSON POST, version and body kept.
    let body = "{\"amount\":1500,\"comment\":\"Сәлем\"}".as_bytes().to_vec();
    let request = http::Request::post("https://pay.astana-plat.example/api/v1/payments")
        .version(http::Version::HTTP_11)
        .header("content-type", "application/json; charset=utf-8")
        .body(body.clone())
        .unwrap();
    let mut call = Authorized::new(fixed("ap-token-9"), request, Scheme::Bearer).unwrap();
    let out = send(call.start(T0));
    assert_request(
        &out,
        Method::POST,
        "https://pay.astana-plat.example/api/v1/payments",
        &[
            h(("content-type", "application/json; charset=utf-8", false)),
            bearer("ap-token-9"),
        ],
        &body,
    );
}

#[test]
fn scheme_header_values() {
    let token = AccessToken::new("abc.DEF-123_~+/=");
    let cases = [
        (Scheme::Bearer, "authorization", "Bearer abc.DEF-123_~+/="),
        (Scheme::SuzClientToken, "clienttoken", "abc.DEF-123_~+/="),
        (Scheme::MdlpToken, "authorization", "token abc.DEF-123_~+/="),
    ];
    for (scheme, name, value) in cases {
        let (n, v) = scheme.header(&token).unwrap();
        assert_eq!((n.as_str(), v.to_str().unwrap()), (name, value), "{scheme:?}");
        assert!(v.is_sensitive(), "{scheme:?}");
        assert!(!format!("{v:?}").contains("abc"), "{scheme:?}: {v:?}");
    }
    // A token a header cannot carry is a usage error, for every scheme.
    for scheme in [Scheme::Bearer, Scheme::SuzClientToken, Scheme::MdlpToken] {
        for bad in ["a\nb", "a\rb", "\0", "a\u{7f}b"] {
            let err = scheme.header(&AccessToken::new(bad)).unwrap_err();
            assert!(
                matches!(err, Error::Usage(UsageError::InvalidConfig { .. })),
                "{scheme:?} {bad:?}: {err:?}"
            );
        }
    }
}

#[test]
fn a_token_no_header_can_carry_ends_the_call_without_sending() {
    let request = http::Request::get("https://api.example/x")
        .body(Vec::new())
        .unwrap();
    let mut call = Authorized::new(fixed("line\r\nX-Injected: 1"), request, Scheme::Bearer).unwrap();
    let err = failed(call.start(T0));
    assert!(
        matches!(err, Error::Usage(UsageError::InvalidConfig { .. })),
        "{err:?}"
    );
    assert_eq!(failed(call.start(T0)), Error::Usage(UsageError::Finished));
    assert_eq!(
        failed(call.resume(T0, answer(200, "{}"))),
        Error::Usage(UsageError::Finished)
    );
}

//! Authorised API calls (`call::Authorized`, the token sources, the typed ITC
//! and GAM calls), through the public API only: the exact requests of every
//! provider, the credential each scheme attaches, the one retry after a 401
//! with every kind of source, 403 and the other statuses, the flow rules, the
//! typed answers, and both drivers.

use std::cell::Cell;
use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use http::Method;
use serde::{Deserialize, Serialize};

mod common;
use common::{done, failed, resp, send, sign, wait, Header};
use tokendance::call::{Authorized, Reissue, Scheme, TokenSource};
use tokendance::crpt::{true_api, KeeperSource, TokenKeeper, TrueApiStand};
use tokendance::{
    drive, gam, itc, AccessToken, Action, ClientSecret, Endpoint, Error, Expect, Flow, Input, InputKind,
    Outgoing, Password, ProtocolError, Purpose, ServerErrorKind, SignJob, Signature, SignatureKind,
    Timestamp, TokenSet, UsageError,
};

const T0: Timestamp = Timestamp::from_unix_secs(1_700_000_000);

fn secs(n: u64) -> Timestamp {
    T0.saturating_add(Duration::from_secs(n))
}

/// A token that never expires and cannot be renewed.
fn fixed(token: &str) -> TokenSet {
    TokenSet::new(AccessToken::new(token), T0, None)
}

/// A GAM client-credentials flow for `orders:read`, counting how many were made.
fn counted_gam(config: &gam::Config, made: &Cell<u32>) -> Result<tokendance::TokenRequest, Error> {
    made.set(made.get() + 1);
    gam::client_credentials(config, "partner-app", ClientSecret::new("s3cret"), "orders:read")
}

/// A response input.
fn answer(status: u16, body: impl AsRef<[u8]>) -> Input {
    Input::Response(resp(status, body).build())
}

fn json_answer(status: u16, value: serde_json::Value) -> Input {
    answer(status, serde_json::to_vec(&value).unwrap())
}

/// The header value of `name`, as text.
#[track_caller]
fn header<'a>(out: &'a Outgoing, name: &str) -> &'a str {
    out.as_http().headers()[name].to_str().unwrap()
}

/// Asserts that `retry` is `first` byte for byte except for the credential
/// header `name`, which must differ, be present once and be sensitive.
#[track_caller]
fn assert_same_but_credential(first: &Outgoing, retry: &Outgoing, name: &str) {
    let (a, b) = (first.as_http(), retry.as_http());
    assert_eq!(a.method(), b.method());
    assert_eq!(a.uri(), b.uri());
    assert_eq!(a.version(), b.version());
    assert_eq!(a.body(), b.body(), "body bytes");
    let strip = |r: &http::Request<Vec<u8>>| {
        let mut h = r.headers().clone();
        h.remove(name);
        h
    };
    assert_eq!(strip(a), strip(b), "headers other than {name}");
    assert_eq!(b.headers().get_all(name).iter().count(), 1);
    assert_ne!(
        a.headers()[name],
        b.headers()[name],
        "{name} must carry the new token"
    );
    assert!(b.headers()[name].is_sensitive());
}

const ACCEPT: Header<'static> = ("accept", "application/json", false);
const JSON_CT: Header<'static> = ("content-type", "application/json", false);

fn bearer(value: &str) -> (&'static str, String, bool) {
    ("authorization", format!("Bearer {value}"), true)
}

/// `common::assert_request` with owned header values.
#[track_caller]
fn assert_request(out: &Outgoing, method: Method, url: &str, headers: &[(&str, String, bool)], body: &[u8]) {
    let headers: Vec<Header<'_>> = headers.iter().map(|(k, v, s)| (*k, v.as_str(), *s)).collect();
    common::assert_request(out, method, url, &headers, body);
}

fn h(header: Header<'_>) -> (&str, String, bool) {
    (header.0, header.1.to_owned(), header.2)
}

const ITC_SERVICE: &str = "https://st-service.itc.gov.mn/api/easy-register/";

/// A Keycloak token answer.
fn keycloak(access: &str, refresh: &str) -> Input {
    json_answer(
        200,
        serde_json::json!({"access_token": access, "expires_in": 300, "refresh_token": refresh,
            "refresh_expires_in": 1800, "token_type": "bearer", "not-before-policy": 0,
            "session_state": "s-1", "scope": "profile email"}),
    )
}

fn gam_token(access: &str) -> Input {
    json_answer(
        200,
        serde_json::json!({"access_token": access, "expires_in": 3600, "token_type": "Bearer"}),
    )
}

const CONSUMER_BODY: &str =
    r#"{"regNo":"AA12345678","loginName":"12345678901","givenName":"Бат","familyName":"Дорж"}"#;

// ====================================================================
// Exact requests per provider.

#[test]
fn itc_consumer_is_a_bearer_get() {
    let mut call = itc::consumer(&itc::Config::staging(), "AA12345678", fixed("eyJ.itc-1")).unwrap();
    let out = send(call.start(T0));
    assert_request(
        &out,
        Method::GET,
        &format!("{ITC_SERVICE}api/info/consumer/AA12345678"),
        &[h(ACCEPT), bearer("eyJ.itc-1")],
        b"",
    );
    let consumer = done(call.resume(T0, answer(200, CONSUMER_BODY))).expect("found");
    assert_eq!(consumer.reg_no, "AA12345678");
    assert_eq!(consumer.login_name, "12345678901");
    assert_eq!(consumer.given_name.as_deref(), Some("Бат"));
    assert_eq!(consumer.family_name.as_deref(), Some("Дорж"));
    assert!(!call.retried());

    // Production goes to the production service.
    let mut call = itc::consumer(&itc::Config::production(), "AA12345678", fixed("t")).unwrap();
    assert_eq!(
        send(call.start(T0)).as_http().uri(),
        "https://service.itc.gov.mn/api/easy-register/api/info/consumer/AA12345678"
    );
}

#[test]
fn itc_get_profile_posts_exact_json_bodies() {
    let cases: [(itc::ProfileQuery, &[u8]); 4] = [
        (
            itc::ProfileQuery::Phone("99112233".into()),
            br#"{"phoneNum":"99112233"}"#,
        ),
        (
            itc::ProfileQuery::CustomerNo("12345678901".into()),
            br#"{"customerNo":"12345678901"}"#,
        ),
        // JSON escaping, and UTF-8 written as it is.
        (
            itc::ProfileQuery::Phone("+976 \"99\"\\1".into()),
            br#"{"phoneNum":"+976 \"99\"\\1"}"#,
        ),
        (
            itc::ProfileQuery::CustomerNo("ЖБ12".into()),
            "{\"customerNo\":\"ЖБ12\"}".as_bytes(),
        ),
    ];
    for (query, body) in cases {
        let mut call = itc::get_profile(&itc::Config::staging(), &query, fixed("eyJ.p")).unwrap();
        let out = send(call.start(T0));
        assert_request(
            &out,
            Method::POST,
            &format!("{ITC_SERVICE}rest/v1/getProfile"),
            &[h(ACCEPT), h(JSON_CT), bearer("eyJ.p")],
            body,
        );
    }
    // Empty or blank values are refused before anything is sent.
    for query in [
        itc::ProfileQuery::Phone(String::new()),
        itc::ProfileQuery::CustomerNo("  ".into()),
    ] {
        let err = itc::get_profile(&itc::Config::staging(), &query, fixed("t")).unwrap_err();
        assert!(
            matches!(err, Error::Usage(UsageError::InvalidConfig { .. })),
            "{err:?}"
        );
    }
}

#[test]
fn itc_approve_qr_posts_an_exact_json_body() {
    let qr = "8371926450183746509128374650918273465091827346509182734650";
    let mut call = itc::approve_qr(&itc::Config::production(), "12345678901", qr, fixed("eyJ.q")).unwrap();
    let out = send(call.start(T0));
    assert_request(
        &out,
        Method::POST,
        "https://service.itc.gov.mn/api/easy-register/rest/v1/approveQr",
        &[h(ACCEPT), h(JSON_CT), bearer("eyJ.q")],
        format!(r#"{{"customerNo":"12345678901","qrData":"{qr}"}}"#).as_bytes(),
    );
    let reply = done(call.resume(
        T0,
        answer(
            200,
            r#"{"code":"alreadyApproved","status":201,"msg":"Баримт баталгаажсан"}"#,
        ),
    ));
    assert_eq!(reply.code, itc::Code::AlreadyApproved);
    assert!(!reply.is_success());

    // QR data with characters JSON must escape.
    let mut call = itc::approve_qr(&itc::Config::staging(), "1", "a\"b\\c\nd", fixed("t")).unwrap();
    assert_eq!(
        send(call.start(T0)).as_http().body(),
        br#"{"customerNo":"1","qrData":"a\"b\\c\nd"}"#
    );
    for (customer, qr) in [("", "q"), ("c", ""), (" ", "q"), ("c", "\t")] {
        let err = itc::approve_qr(&itc::Config::staging(), customer, qr, fixed("t")).unwrap_err();
        assert!(
            matches!(err, Error::Usage(UsageError::InvalidConfig { .. })),
            "{err:?}"
        );
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NewOrder<'a> {
    customer_code: &'a str,
    amount: u32,
}

#[derive(Deserialize, PartialEq, Debug)]
#[serde(rename_all = "camelCase")]
struct Order {
    id: u64,
    customer_code: String,
}

#[test]
fn gam_post_sends_json_with_client_source_and_bearer() {
    let body = NewOrder {
        customer_code: "C-1 \"Đức\"",
        amount: 7,
    };
    let mut call = gam::post::<_, Order>(
        &gam::Config::staging(),
        "SHOP01",
        &["api", "v1", "orders"],
        &body,
        fixed("eyJ.gam"),
    )
    .unwrap();
    let out = send(call.start(T0));
    assert_request(
        &out,
        Method::POST,
        "https://gateway-staging.gam.vn/oms/api/v1/orders",
        &[
            h(ACCEPT),
            h(JSON_CT),
            bearer("eyJ.gam"),
            h(("x-client-source", "SHOP01", false)),
        ],
        r#"{"customerCode":"C-1 \"Đức\"","amount":7}"#.as_bytes(),
    );
    assert_eq!(gam::CLIENT_SOURCE, "x-client-source");

    let mut call = gam::post::<_, Order>(
        &gam::Config::production(),
        "SHOP01",
        &["api", "v1", "orders"],
        &body,
        fixed("t"),
    )
    .unwrap();
    assert_eq!(
        send(call.start(T0)).as_http().uri(),
        "https://gateway.gam.vn/oms/api/v1/orders"
    );
}

#[test]
fn gam_get_encodes_path_segments_and_query_pairs() {
    let mut call = gam::get::<_, serde_json::Value>(
        &gam::Config::staging(),
        "SHOP-02",
        &["api", "v1", "customers", "C 1/é?#%"],
        &[("q", "a b&c=d+e"), ("page", "2"), ("name", "Đức")],
        fixed("eyJ.get"),
    )
    .unwrap();
    let out = send(call.start(T0));
    assert_request(
        &out,
        Method::GET,
        "https://gateway-staging.gam.vn/oms/api/v1/customers/C%201%2F%C3%A9%3F%23%25\
         ?q=a+b%26c%3Dd%2Be&page=2&name=%C4%90%E1%BB%A9c",
        &[
            h(ACCEPT),
            h(JSON_CT),
            bearer("eyJ.get"),
            h(("x-client-source", "SHOP-02", false)),
        ],
        b"",
    );
    // No query pairs: no `?`.
    let mut call = gam::get::<_, serde_json::Value>(
        &gam::Config::staging(),
        "SHOP-02",
        &["api", "v1", "ping"],
        &[],
        fixed("t"),
    )
    .unwrap();
    assert_eq!(
        send(call.start(T0)).as_http().uri().to_string(),
        "https://gateway-staging.gam.vn/oms/api/v1/ping"
    );
    // Dot and empty segments are refused, as for ITC.
    for bad in ["..", ".", ""] {
        let err =
            gam::get::<_, serde_json::Value>(&gam::Config::staging(), "SHOP", &["api", bad], &[], fixed("t"))
                .unwrap_err();
        assert!(
            matches!(err, Error::Usage(UsageError::InvalidPathSegment { .. })),
            "{bad:?}: {err:?}"
        );
    }
}

#[test]
fn gam_refuses_a_partner_code_that_is_no_header_value() {
    for partner in ["", "SHOP\n01", "SHOP\r\nX-Evil: 1"] {
        let err = gam::post::<_, serde_json::Value>(
            &gam::Config::staging(),
            partner,
            &["api"],
            &serde_json::json!({}),
            fixed("t"),
        )
        .unwrap_err();
        assert!(
            matches!(err, Error::Usage(UsageError::InvalidConfig { .. })),
            "{partner:?}: {err:?}"
        );
    }
}

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

// ====================================================================
// regNo: one percent-encoded path segment.

#[test]
fn reg_no_is_percent_encoded_as_one_path_segment() {
    let base = "/api/easy-register/api/info/consumer/";
    let cases = [
        ("АА12345678", "%D0%90%D0%9012345678"),
        ("AA/12", "AA%2F12"),
        ("AA?x=1", "AA%3Fx%3D1"),
        ("a;b", "a%3Bb"),
        ("[x]|^", "%5Bx%5D%7C%5E"),
        ("AA#frag", "AA%23frag"),
        ("100%", "100%25"),
        ("%2F", "%252F"),
        ("AA 12", "AA%2012"),
        ("../admin?x#y", "..%2Fadmin%3Fx%23y"),
        ("...", "..."),
        ("ӨҮ 12/3", "%D3%A8%D2%AE%2012%2F3"),
    ];
    for (reg_no, encoded) in cases {
        let mut call = itc::consumer(&itc::Config::staging(), reg_no, fixed("t")).unwrap();
        let out = send(call.start(T0));
        let uri = out.as_http().uri();
        assert_eq!(uri.path(), format!("{base}{encoded}"), "{reg_no:?}");
        assert_eq!(uri.query(), None, "{reg_no:?}");
        assert_eq!(uri.host(), Some("st-service.itc.gov.mn"));
        // Exactly one segment after `consumer`.
        assert_eq!(uri.path().split('/').count(), 7, "{reg_no:?}");
    }
    for reg_no in [
        ".",
        "..",
        "",
        "%2e",
        "%2E%2e",
        ".%2E",
        ".\t.",
        "..\n",
        "AA12\r\n345678",
    ] {
        let err = itc::consumer(&itc::Config::staging(), reg_no, fixed("t")).unwrap_err();
        assert!(
            matches!(err, Error::Usage(UsageError::InvalidPathSegment { .. })),
            "{reg_no:?}: {err:?}"
        );
    }
}

// ====================================================================
// Request URIs.

#[test]
fn plain_http_is_refused_without_naming_the_query() {
    for uri in [
        "http://api.example/v1/x?api_key=QUERY-SECRET-1&b=2",
        "http://api.example:8080/v1/x?api_key=QUERY-SECRET-1",
        "HTTP://api.example/v1/x?api_key=QUERY-SECRET-1",
    ] {
        let request = http::Request::get(uri).body(Vec::new()).unwrap();
        let err = Authorized::new(fixed("t"), request, Scheme::Bearer).unwrap_err();
        let Error::Usage(UsageError::InsecureUrl { url }) = &err else {
            panic!("{uri}: {err:?}")
        };
        assert!(url.starts_with("http://api.example"), "{url}");
        assert!(url.ends_with("/v1/x"), "{url}");
        for text in [err.to_string(), format!("{err:?}"), url.clone()] {
            assert!(!text.contains("QUERY-SECRET"), "{text}");
            assert!(!text.contains("api_key"), "{text}");
            assert!(!text.contains("USERINFO-SECRET"), "{text}");
        }
    }
}

#[test]
fn credentials_in_the_uri_are_refused_without_being_named() {
    for uri in [
        "http://user:USERINFO-SECRET@api.example:8080/v1/x?api_key=QUERY-SECRET-1",
        "https://user:USERINFO-SECRET@api.example/v1/x",
    ] {
        for insecure in [false, true] {
            let request = http::Request::get(uri).body(Vec::new()).unwrap();
            let err = if insecure {
                Authorized::new_insecure_http(fixed("t"), request, Scheme::Bearer).unwrap_err()
            } else {
                Authorized::new(fixed("t"), request, Scheme::Bearer).unwrap_err()
            };
            assert!(
                matches!(err, Error::Usage(UsageError::InvalidUrl { .. })),
                "{uri}: {err:?}"
            );
            for text in [err.to_string(), format!("{err:?}")] {
                assert!(
                    !text.contains("USERINFO-SECRET") && !text.contains("QUERY-SECRET"),
                    "{text}"
                );
            }
        }
    }
}

#[test]
fn plain_http_needs_the_insecure_constructor() {
    let request = || {
        http::Request::get("http://127.0.0.1:8080/api/info?x=1")
            .body(Vec::new())
            .unwrap()
    };
    assert!(Authorized::new(fixed("t"), request(), Scheme::Bearer).is_err());
    let mut call = Authorized::new_insecure_http(fixed("loop-1"), request(), Scheme::Bearer).unwrap();
    let out = send(call.start(T0));
    assert_request(
        &out,
        Method::GET,
        "http://127.0.0.1:8080/api/info?x=1",
        &[bearer("loop-1")],
        b"",
    );
    // https stays accepted by the insecure constructor.
    let https = http::Request::get("https://api.example/x")
        .body(Vec::new())
        .unwrap();
    assert!(Authorized::new_insecure_http(fixed("t"), https, Scheme::Bearer).is_ok());
}

#[test]
fn relative_and_foreign_uris_are_refused() {
    for uri in [
        "/api/info",
        "api/info",
        "*",
        "ftp://files.example/x",
        "ws://api.example/x",
        // A scheme and a port but an empty host.
        "https://:443/x",
        "http://:8080/x",
    ] {
        let Ok(request) = http::Request::get(uri).body(Vec::new()) else {
            continue; // not even an http::Uri
        };
        for insecure in [false, true] {
            let result = if insecure {
                Authorized::new_insecure_http(fixed("t"), request.clone_parts(), Scheme::Bearer)
            } else {
                Authorized::new(fixed("t"), request.clone_parts(), Scheme::Bearer)
            };
            let err = result.unwrap_err();
            assert!(
                matches!(err, Error::Usage(UsageError::InvalidUrl { .. })),
                "{uri} (insecure {insecure}): {err:?}"
            );
        }
    }
}

/// `http::Request` is not `Clone`.
trait CloneParts {
    fn clone_parts(&self) -> Self;
}

impl CloneParts for http::Request<Vec<u8>> {
    fn clone_parts(&self) -> Self {
        let mut copy = http::Request::new(self.body().clone());
        *copy.method_mut() = self.method().clone();
        *copy.uri_mut() = self.uri().clone();
        *copy.headers_mut() = self.headers().clone();
        *copy.version_mut() = self.version();
        copy
    }
}

// ====================================================================
// The retry: 401 → the source drops the token → a new one → sent once more.

/// A hand-written token flow: `Sign(challenge-N)` → `Done(hand-N)`, where N
/// counts the flows made.
struct HandIssue {
    n: u32,
    state: u8,
}

impl Flow for HandIssue {
    type Output = TokenSet;

    fn start(&mut self, _now: Timestamp) -> Result<Action<TokenSet>, Error> {
        if self.state != 0 {
            return Err(Error::Usage(UsageError::AlreadyStarted));
        }
        self.state = 1;
        Ok(Action::Sign(SignJob::new(
            format!("challenge-{}", self.n).into_bytes(),
            SignatureKind::Detached,
            Purpose::MdlpCode,
        )))
    }

    fn resume(&mut self, now: Timestamp, input: Input) -> Result<Action<TokenSet>, Error> {
        match (self.state, input) {
            (1, Input::Signature(sig)) => {
                self.state = 2;
                assert_eq!(sig.as_der(), format!("sig-{}", self.n).as_bytes());
                let expires = now.saturating_add(Duration::from_secs(3600));
                Ok(Action::Done(TokenSet::new(
                    AccessToken::new(format!("hand-{}", self.n)),
                    now,
                    Some(expires),
                )))
            }
            (1, Input::Failed) => {
                self.state = 2;
                Err(Error::Usage(UsageError::Aborted))
            }
            (1, other) => Err(Error::Usage(UsageError::UnexpectedInput {
                expected: Expect::Signature,
                got: other.kind(),
            })),
            _ => Err(Error::Usage(UsageError::Finished)),
        }
    }
}

fn hand_signature(n: u32) -> Input {
    Input::Signature(Signature::from_der(format!("sig-{n}").into_bytes()))
}

#[test]
fn reissue_over_a_hand_written_flow_retries_once_with_the_new_token() {
    let made = Cell::new(0u32);
    let mut source = Reissue::new(|| {
        made.set(made.get() + 1);
        Ok(HandIssue {
            n: made.get(),
            state: 0,
        })
    });
    let request = http::Request::put("https://api.example/v2/items/7?lang=mn")
        .header("content-type", "text/plain")
        .header("if-match", "\"v3\"")
        .body(b"new body bytes \x00\xff".to_vec())
        .unwrap();
    {
        let mut call = Authorized::new(&mut source, request, Scheme::Bearer).unwrap();
        let job = sign(call.start(T0));
        assert_eq!(job.bytes(), b"challenge-1");
        let first = send(call.resume(T0, hand_signature(1)));
        assert_request(
            &first,
            Method::PUT,
            "https://api.example/v2/items/7?lang=mn",
            &[
                h(("content-type", "text/plain", false)),
                h(("if-match", "\"v3\"", false)),
                bearer("hand-1"),
            ],
            b"new body bytes \x00\xff",
        );
        assert!(!call.retried());
        // 401: the token is dropped, a new flow runs, the request goes again.
        let job = sign(call.resume(secs(1), answer(401, "")));
        assert_eq!(job.bytes(), b"challenge-2");
        assert!(call.token_refused() && !call.retried());
        let retry = send(call.resume(secs(1), hand_signature(2)));
        assert_same_but_credential(&first, &retry, "authorization");
        assert_eq!(header(&retry, "authorization"), "Bearer hand-2");
        let response = done(call.resume(secs(1), answer(204, "")));
        assert_eq!(response.status(), 204);
        assert_eq!(
            failed(call.resume(secs(1), answer(200, ""))),
            Error::Usage(UsageError::Finished)
        );
    }
    assert_eq!(made.get(), 2);
    assert_eq!(source.token().unwrap().access_token().expose_secret(), "hand-2");

    // The next call reuses the token without running a flow...
    let request = http::Request::get("https://api.example/v2/items")
        .body(Vec::new())
        .unwrap();
    let mut call = Authorized::new(&mut source, request, Scheme::Bearer).unwrap();
    assert_eq!(
        header(&send(call.start(secs(2))), "authorization"),
        "Bearer hand-2"
    );
    drop(call);
    assert_eq!(made.get(), 2);
    // ...until 30 s before its expiry (obtained at +1 s, lives one hour).
    let request = http::Request::get("https://api.example/v2/items")
        .body(Vec::new())
        .unwrap();
    let mut call = Authorized::new(&mut source, request, Scheme::Bearer).unwrap();
    let job = sign(call.start(secs(1 + 3600 - 30)));
    assert_eq!(job.bytes(), b"challenge-3");
}

#[test]
fn reissue_over_gam_client_credentials_retries_once() {
    let config = gam::Config::staging();
    let made = Cell::new(0u32);
    let mut source = Reissue::new(|| {
        made.set(made.get() + 1);
        gam::client_credentials(
            &config,
            "partner-app",
            ClientSecret::new("s3cret"),
            "orders:write",
        )
    });
    let order = NewOrder {
        customer_code: "C-1",
        amount: 3,
    };
    {
        let mut call =
            gam::post::<_, Order>(&config, "SHOP01", &["api", "v1", "orders"], &order, &mut source).unwrap();
        let token_request = send(call.start(T0));
        assert_request(
            &token_request,
            Method::POST,
            "https://iam-staging.gam.vn/oauth2/v3/token",
            &[
                h(ACCEPT),
                h(("content-type", "application/x-www-form-urlencoded", false)),
            ],
            b"grant_type=client_credentials&client_id=partner-app&client_secret=s3cret&scope=orders%3Awrite",
        );
        let first = send(call.resume(T0, gam_token("gam-1")));
        assert_request(
            &first,
            Method::POST,
            "https://gateway-staging.gam.vn/oms/api/v1/orders",
            &[
                h(ACCEPT),
                h(JSON_CT),
                bearer("gam-1"),
                h(("x-client-source", "SHOP01", false)),
            ],
            br#"{"customerCode":"C-1","amount":3}"#,
        );
        let again = send(call.resume(T0, answer(401, "")));
        assert_eq!(again.as_http().uri(), token_request.as_http().uri());
        assert_eq!(again.as_http().body(), token_request.as_http().body());
        let retry = send(call.resume(T0, gam_token("gam-2")));
        assert_same_but_credential(&first, &retry, "authorization");
        assert_eq!(header(&retry, "authorization"), "Bearer gam-2");
        let envelope = done(call.resume(
            T0,
            answer(
                200,
                r#"{"status":"200","message":"OK","timestamp":"2024-05-01T10:00:00Z","data":{"id":9,"customerCode":"C-1"}}"#,
            ),
        ));
        assert_eq!(
            envelope.data,
            Some(Order {
                id: 9,
                customer_code: "C-1".into()
            })
        );
    }
    assert_eq!(made.get(), 2);
}

/// GAM's empty 403 is also what an expired or revoked token gets: the token
/// is dropped and the request re-issued once; a second empty 403 ends the
/// call with "authentication failed", and nothing more is sent.
#[test]
fn gam_empty_403_renews_the_token_once() {
    let config = gam::Config::staging();
    let made = Cell::new(0u32);
    let mut source = Reissue::new(|| counted_gam(&config, &made));
    let empty_403 = || Input::Response(resp(403, "").header("content-length", "0").build());
    let ok = r#"{"status":"200","message":"OK","data":{"id":1}}"#;
    // Revoked early: renewed, re-sent, answered.
    {
        let mut call =
            gam::get::<_, serde_json::Value>(&config, "SHOP01", &["api", "v1", "orders"], &[], &mut source)
                .unwrap();
        let _ = send(call.start(T0));
        let first = send(call.resume(T0, gam_token("gam-1")));
        let _ = send(call.resume(T0, empty_403()));
        let retry = send(call.resume(T0, gam_token("gam-2")));
        assert_same_but_credential(&first, &retry, "authorization");
        assert_eq!(header(&retry, "authorization"), "Bearer gam-2");
        let envelope = done(call.resume(T0, answer(200, ok)));
        assert_eq!(envelope.status, "200");
        assert!(call.retried());
    }
    assert_eq!(made.get(), 2);
    // Refused again with the new token (a wrong partner code): Forbidden.
    {
        let mut call =
            gam::get::<_, serde_json::Value>(&config, "WRONG", &["api", "v1", "orders"], &[], &mut source)
                .unwrap();
        let _ = send(call.start(T0));
        let _ = send(call.resume(T0, empty_403()));
        let _ = send(call.resume(T0, gam_token("gam-3")));
        let err = failed(call.resume(T0, empty_403()));
        assert_eq!(err.to_string(), "HTTP 403: authentication failed");
        assert_eq!(err.as_server().map(|s| s.kind), Some(ServerErrorKind::Forbidden));
        assert!(matches!(
            call.resume(T0, empty_403()),
            Err(Error::Usage(UsageError::Finished))
        ));
    }
    assert_eq!(made.get(), 3);
    // A 403 with a body is never retried.
    {
        let mut call =
            gam::get::<_, serde_json::Value>(&config, "SHOP01", &["api", "v1", "orders"], &[], &mut source)
                .unwrap();
        let _ = send(call.start(T0));
        let err = failed(call.resume(
            T0,
            answer(403, r#"{"status":"403","message":"Partner suspended"}"#),
        ));
        assert_eq!(err.as_server().map(|s| s.kind), Some(ServerErrorKind::Forbidden));
        assert!(!call.retried());
    }
    assert_eq!(made.get(), 3);
}

#[test]
fn a_second_401_is_unauthorized_and_nothing_more_is_sent() {
    let config = gam::Config::staging();
    let made = Cell::new(0u32);
    let mut source = Reissue::new(|| counted_gam(&config, &made));
    let request = http::Request::get("https://gateway-staging.gam.vn/oms/api/v1/orders/9")
        .body(Vec::new())
        .unwrap();
    let mut call = Authorized::new(&mut source, request, Scheme::Bearer).unwrap();
    let _ = send(call.start(T0));
    let _ = send(call.resume(T0, gam_token("gam-1")));
    let _ = send(
        call.resume(
            T0,
            Input::Response(
                resp(401, "")
                    .header(
                        "www-authenticate",
                        r#"Bearer error="invalid_token", error_description="first""#,
                    )
                    .build(),
            ),
        ),
    );
    let _ = send(call.resume(T0, gam_token("gam-2")));
    let err = failed(call.resume(
        T0,
        Input::Response(
            resp(401, "")
                .header(
                    "www-authenticate",
                    r#"Bearer realm="oms", error="invalid_token", error_description="The access token expired""#,
                )
                .build(),
        ),
    ));
    let refusal = err.as_server().expect("a server refusal");
    assert_eq!(refusal.status, 401);
    assert_eq!(refusal.kind, ServerErrorKind::Unauthorized);
    assert_eq!(refusal.code.as_deref(), Some("invalid_token"));
    assert_eq!(refusal.message.as_deref(), Some("The access token expired"));
    assert!(!err.is_retryable());
    // No third request, ever.
    assert_eq!(
        failed(call.resume(T0, answer(200, ""))),
        Error::Usage(UsageError::Finished)
    );
    assert_eq!(
        failed(call.resume(T0, Input::Timeout)),
        Error::Usage(UsageError::Finished)
    );
    assert_eq!(failed(call.start(T0)), Error::Usage(UsageError::Finished));
    drop(call);
    assert_eq!(made.get(), 2);
}

#[test]
fn the_401_body_words_win_over_the_challenge() {
    let request = || {
        http::Request::get("https://api.example/x")
            .body(Vec::new())
            .unwrap()
    };
    let challenge = r#"Bearer error="invalid_token", error_description="from the header""#;
    let cases = [
        // (body, expected code, expected message)
        (
            r#"{"error":"token_expired","error_description":"from the body"}"#,
            Some("token_expired"),
            Some("from the body"),
        ),
        // A body message without a code: the code comes from the header.
        (
            r#"{"message":"from the body"}"#,
            Some("invalid_token"),
            Some("from the body"),
        ),
        ("", Some("invalid_token"), Some("from the header")),
        (
            "<html><body>401 Authorization Required</body></html>",
            Some("invalid_token"),
            Some("from the header"),
        ),
    ];
    for (body, code, message) in cases {
        let mut call = Authorized::new(fixed("fixed-1"), request(), Scheme::Bearer).unwrap();
        let _ = send(call.start(T0));
        let err = failed(call.resume(
            T0,
            Input::Response(resp(401, body).header("www-authenticate", challenge).build()),
        ));
        let refusal = err.as_server().unwrap_or_else(|| panic!("{body}: {err:?}"));
        assert_eq!(refusal.kind, ServerErrorKind::Unauthorized, "{body}");
        assert_eq!(refusal.code.as_deref(), code, "{body}");
        assert_eq!(refusal.message.as_deref(), message, "{body}");
    }
    // No challenge and no body: the kind alone.
    let mut call = Authorized::new(fixed("fixed-1"), request(), Scheme::Bearer).unwrap();
    let _ = send(call.start(T0));
    let err = failed(call.resume(T0, answer(401, "")));
    assert_eq!(err.to_string(), "HTTP 401 (unauthorized)");
}

#[test]
fn a_fixed_token_refused_with_401_returns_the_refusal() {
    let request = http::Request::get("https://wallet.monpay.mn/v2/api/user/info")
        .body(Vec::new())
        .unwrap();
    let mut token = fixed("mp-1");
    {
        let mut call = Authorized::new(&mut token, request, Scheme::Bearer).unwrap();
        let _ = send(call.start(T0));
        let err = failed(
            call.resume(
                secs(5),
                Input::Response(
                    resp(
                        401,
                        r#"{"error":"invalid_token","error_description":"Token revoked"}"#,
                    )
                    .header("content-type", "application/json")
                    .build(),
                ),
            ),
        );
        let refusal = err
            .as_server()
            .unwrap_or_else(|| panic!("not TokenUnavailable: {err:?}"));
        assert_eq!(
            (refusal.status.as_u16(), refusal.kind),
            (401, ServerErrorKind::Unauthorized)
        );
        assert_eq!(refusal.code.as_deref(), Some("invalid_token"));
        assert_eq!(refusal.message.as_deref(), Some("Token revoked"));
        assert!(
            call.token_refused(),
            "the 401 was taken as a refusal of the token"
        );
        assert!(
            !call.retried(),
            "a fixed token cannot be renewed: nothing was re-sent"
        );
        assert_eq!(failed(call.start(T0)), Error::Usage(UsageError::Finished));
    }
    // The refused token is no longer handed out.
    assert!(!token.is_valid(secs(5)));
    assert_eq!(
        token.poll_token(secs(5)).map(|_| ()).unwrap_err(),
        Error::Usage(UsageError::TokenUnavailable)
    );
}

#[test]
fn an_expired_fixed_token_is_unavailable_without_sending() {
    let expired = TokenSet::new(AccessToken::new("mp-old"), T0, Some(secs(60)));
    let request = http::Request::get("https://wallet.monpay.mn/v2/api/user/info")
        .body(Vec::new())
        .unwrap();
    let mut call = Authorized::new(expired, request, Scheme::Bearer).unwrap();
    assert_eq!(
        failed(call.start(secs(60))),
        Error::Usage(UsageError::TokenUnavailable)
    );
    assert_eq!(failed(call.start(secs(60))), Error::Usage(UsageError::Finished));
    // Still valid one millisecond earlier.
    let fresh = TokenSet::new(AccessToken::new("mp-old"), T0, Some(secs(60)));
    let request = http::Request::get("https://wallet.monpay.mn/v2/api/user/info")
        .body(Vec::new())
        .unwrap();
    let mut call = Authorized::new(fresh, request, Scheme::Bearer).unwrap();
    let just_before = Timestamp::from_unix_millis(secs(60).as_unix_millis() - 1);
    assert_eq!(
        header(&send(call.start(just_before)), "authorization"),
        "Bearer mp-old"
    );
}

#[test]
fn an_oversized_401_still_counts_as_401() {
    let big = format!("{{\"message\":\"{}\"}}", "x".repeat(tokendance::MAX_BODY + 10));
    let made = Cell::new(0u32);
    let mut call = Authorized::new(
        Reissue::new(|| {
            made.set(made.get() + 1);
            Ok(HandIssue {
                n: made.get(),
                state: 0,
            })
        }),
        http::Request::get("https://api.example/x")
            .body(Vec::new())
            .unwrap(),
        Scheme::Bearer,
    )
    .unwrap();
    let _ = sign(call.start(T0));
    let _ = send(call.resume(T0, hand_signature(1)));
    let _ = sign(call.resume(T0, answer(401, &big)));
    let _ = send(call.resume(T0, hand_signature(2)));
    let err = failed(call.resume(T0, answer(401, &big)));
    let refusal = err.as_server().expect("still a 401 refusal");
    assert_eq!(refusal.kind, ServerErrorKind::Unauthorized);
    assert_eq!((refusal.code.as_ref(), refusal.message.as_ref()), (None, None));
}

/// The ITC session with its password grant answered.
fn itc_session_with_token(access: &str, refresh: &str) -> itc::Session {
    let mut session = itc::session(
        &itc::Config::staging(),
        "easy-register-test",
        Password::new("Test@123"),
    )
    .unwrap();
    let tokendance::oauth2::SessionAction::Send(_) = session.poll(T0).unwrap() else {
        panic!("expected the password grant")
    };
    match keycloak(access, refresh) {
        Input::Response(r) => session.handle_response(T0, r).unwrap(),
        _ => unreachable!(),
    }
    session
}

const ITC_TOKEN_URL: &str = "https://st.auth.itc.gov.mn/auth/realms/Staging/protocol/openid-connect/token";

#[test]
fn itc_session_grants_then_refreshes_after_a_401() {
    let mut session = itc::session(
        &itc::Config::staging(),
        "easy-register-test",
        Password::new("Test@123"),
    )
    .unwrap();
    {
        let mut call = itc::consumer(&itc::Config::staging(), "AA12345678", &mut session).unwrap();
        // No token yet: the password grant is the call's first request.
        let grant = send(call.start(T0));
        assert_eq!(grant.as_http().uri(), ITC_TOKEN_URL);
        assert_eq!(
            grant.as_http().body(),
            b"grant_type=password&client_id=vatps&username=easy-register-test&password=Test%40123"
        );
        let first = send(call.resume(T0, keycloak("kc-a1", "kc-r1")));
        assert_eq!(header(&first, "authorization"), "Bearer kc-a1");
        // The 401 comes back in the same second: the session keeps its one
        // second between token requests.
        assert_eq!(wait(call.resume(T0, answer(401, ""))), secs(1));
        // A response while it waits is the wrong input, and changes nothing.
        let err = failed(call.resume(T0, answer(200, CONSUMER_BODY)));
        assert_eq!(
            err,
            Error::Usage(UsageError::UnexpectedInput {
                expected: Expect::Timeout,
                got: InputKind::Response
            })
        );
        let refresh = send(call.resume(secs(1), Input::Timeout));
        assert_eq!(refresh.as_http().uri(), ITC_TOKEN_URL);
        assert_eq!(
            refresh.as_http().body(),
            b"grant_type=refresh_token&client_id=vatps&refresh_token=kc-r1"
        );
        let retry = send(call.resume(secs(1), keycloak("kc-a2", "kc-r2")));
        assert_same_but_credential(&first, &retry, "authorization");
        assert_eq!(header(&retry, "authorization"), "Bearer kc-a2");
        let consumer = done(call.resume(secs(1), answer(200, CONSUMER_BODY)));
        assert_eq!(consumer.unwrap().login_name, "12345678901");
    }
    assert_eq!(session.tokens().unwrap().access_token().expose_secret(), "kc-a2");
}

#[test]
fn itc_session_falls_back_to_the_password_grant_when_the_refresh_is_refused() {
    let mut session = itc_session_with_token("kc-a1", "kc-r1");
    let query = itc::ProfileQuery::CustomerNo("12345678901".into());
    let mut call = itc::get_profile(&itc::Config::staging(), &query, &mut session).unwrap();
    let first = send(call.start(secs(10)));
    assert_eq!(header(&first, "authorization"), "Bearer kc-a1");
    let refresh = send(call.resume(secs(10), answer(401, r#"{"error":"HTTP 401 Unauthorized"}"#)));
    assert!(refresh.as_http().body().starts_with(b"grant_type=refresh_token"));
    let grant = send(call.resume(
        secs(10),
        json_answer(
            400,
            serde_json::json!({"error": "invalid_grant", "error_description": "Token is not active"}),
        ),
    ));
    assert!(grant.as_http().body().starts_with(b"grant_type=password"));
    let retry = send(call.resume(secs(10), keycloak("kc-a3", "kc-r3")));
    assert_same_but_credential(&first, &retry, "authorization");
    assert_eq!(header(&retry, "authorization"), "Bearer kc-a3");
    let reply = done(call.resume(
        secs(10),
        answer(
            200,
            r#"{"code":"success","status":200,"msg":"Амжилттай","loginName":"12345678901","email":"bat@example.mn"}"#,
        ),
    ));
    assert!(reply.is_success());
    assert_eq!(reply.email.as_deref(), Some("bat@example.mn"));
}

#[test]
fn itc_invalid_token_at_200_triggers_exactly_one_retry() {
    let mut session = itc_session_with_token("kc-a1", "kc-r1");
    let query = itc::ProfileQuery::Phone("99112233".into());
    let invalid = r#"{"code":"invalidToken","status":401,"msg":"Токен хүчингүй"}"#;
    {
        let mut call = itc::get_profile(&itc::Config::staging(), &query, &mut session).unwrap();
        let first = send(call.start(secs(10)));
        let refresh = send(call.resume(secs(10), answer(200, invalid)));
        assert!(refresh.as_http().body().starts_with(b"grant_type=refresh_token"));
        let retry = send(call.resume(secs(10), keycloak("kc-a2", "kc-r2")));
        assert_same_but_credential(&first, &retry, "authorization");
        // The second invalidToken is the refusal, at HTTP 200.
        let err = failed(call.resume(secs(10), answer(200, invalid)));
        let refusal = err.as_server().unwrap_or_else(|| panic!("{err:?}"));
        assert_eq!(refusal.status, 200);
        assert_eq!(refusal.kind, ServerErrorKind::Unauthorized);
        assert_eq!(refusal.code.as_deref(), Some("invalidToken"));
        assert_eq!(refusal.message.as_deref(), Some("Токен хүчингүй"));
        assert_eq!(
            failed(call.resume(secs(10), Input::Timeout)),
            Error::Usage(UsageError::Finished)
        );
    }
    // Approve and consumer calls treat it the same way.
    let mut call = itc::approve_qr(&itc::Config::staging(), "12345678901", "qr", &mut session).unwrap();
    let _ = send(call.start(secs(20)));
    let refresh = send(call.resume(secs(20), answer(200, invalid)));
    assert!(refresh.as_http().body().starts_with(b"grant_type=refresh_token"));
    drop(call);
    let mut call = itc::consumer(&itc::Config::staging(), "AA12345678", fixed("t")).unwrap();
    let _ = send(call.start(T0));
    let err = failed(call.resume(T0, answer(200, r#"{"code":"invalidToken"}"#)));
    assert_eq!(
        err.as_server().map(|s| s.kind),
        Some(ServerErrorKind::Unauthorized)
    );
    // Only the exact code: other codes at 200 are answers, not refusals.
    for code in ["InvalidToken", "invalidtoken", "invalidToken ", "userNotFound"] {
        let mut call = itc::get_profile(&itc::Config::staging(), &query, fixed("t")).unwrap();
        let _ = send(call.start(T0));
        let reply = done(call.resume(T0, json_answer(200, serde_json::json!({"code": code}))));
        assert_eq!(reply.code.as_str(), code);
    }
}

const CONN: &str = "11b1abc9-f4ee-47db-8a20-f80ac83504e8";
const TRUE_API: &str = "https://int01.gismt.crpt.tech/api/v3/true-api";

fn suz_ping() -> http::Request<Vec<u8>> {
    http::Request::get("https://suzgrid.crpt.ru:16443/api/v2/pharma/ping?omsId=oms-1")
        .header("accept", "application/json")
        .body(Vec::new())
        .unwrap()
}

fn sign_in() -> Result<tokendance::crpt::ChallengeSignIn, Error> {
    true_api::sign_in(&TrueApiStand::Demo.endpoint(), Some(CONN))
}

/// Runs the True API sign-in the call is in: key request already returned
/// by the previous step. Returns the call's next step after the token.
fn answer_sign_in<F: Flow>(
    call: &mut F,
    key: Outgoing,
    now: Timestamp,
    token: &str,
) -> Result<Action<F::Output>, Error> {
    assert_eq!(key.as_http().method(), Method::GET);
    assert_eq!(key.as_http().uri().to_string(), format!("{TRUE_API}/auth/key"));
    let job = sign(call.resume(now, answer(200, r#"{"uuid":"u-1","data":"QNRPNPFGJZ"}"#)));
    assert_eq!(
        (job.bytes(), job.kind()),
        (&b"QNRPNPFGJZ"[..], SignatureKind::Attached)
    );
    let exchange = send(call.resume(now, Input::Signature(Signature::from_der(vec![0x30, 0x80]))));
    assert_eq!(exchange.as_http().method(), Method::POST);
    assert_eq!(
        exchange.as_http().uri().to_string(),
        format!("{TRUE_API}/auth/simpleSignIn/{CONN}")
    );
    assert_eq!(exchange.as_http().body(), br#"{"uuid":"u-1","data":"MIA="}"#);
    call.resume(now, json_answer(200, serde_json::json!({"token": token})))
}

const XML_401: &str =
    r#"<?xml version="1.0" encoding="UTF-8"?><error><code>401</code><message>Unauthorized</message></error>"#;

fn xml_401() -> Input {
    Input::Response(
        resp(401, XML_401)
            .header("content-type", "application/xml;charset=UTF-8")
            .build(),
    )
}

#[test]
fn keeper_source_over_a_mutable_keeper_signs_in_again_after_a_401() {
    let mut keeper = TokenKeeper::new(CONN);
    {
        let source = KeeperSource::new(&mut keeper, sign_in);
        let mut call = Authorized::new(source, suz_ping(), Scheme::SuzClientToken).unwrap();
        let key = send(call.start(T0));
        let first = send(answer_sign_in(&mut call, key, T0, "suz-1"));
        assert_request(
            &first,
            Method::GET,
            "https://suzgrid.crpt.ru:16443/api/v2/pharma/ping?omsId=oms-1",
            &[h(ACCEPT), h(("clienttoken", "suz-1", true))],
            b"",
        );
        // An XML 401 (revoked by a sign-in elsewhere) still counts as 401.
        let key = send(call.resume(secs(1), xml_401()));
        let retry = send(answer_sign_in(&mut call, key, secs(1), "suz-2"));
        assert_same_but_credential(&first, &retry, "clienttoken");
        assert_eq!(header(&retry, "clienttoken"), "suz-2");
        let response = done(call.resume(secs(1), answer(200, r#"{"omsId":"oms-1"}"#)));
        assert_eq!(response.status(), 200);
    }
    let held = keeper.token().expect("the keeper holds the new token");
    assert_eq!(held.access_token().expose_secret(), "suz-2");
    assert_eq!(held.expires_at(), Some(secs(1 + 10 * 3600)));
    assert!(!keeper.renewing());
}

#[test]
fn keeper_source_over_a_shared_keeper_renews_once_for_all_callers() {
    let keeper = Mutex::new(TokenKeeper::new(CONN));
    let mut a = Authorized::new(
        KeeperSource::new(&keeper, sign_in),
        suz_ping(),
        Scheme::SuzClientToken,
    )
    .unwrap();
    let mut b = Authorized::new(KeeperSource::new(&keeper, sign_in), suz_ping(), Scheme::MdlpToken).unwrap();
    let key = send(a.start(T0));
    // While A renews (the lock is not held meanwhile), B waits for it.
    let until = wait(b.start(T0));
    assert_eq!(until, secs(300));
    assert_eq!(wait(b.resume(T0, Input::Timeout)), secs(300));
    let first = send(answer_sign_in(&mut a, key, T0, "suz-1"));
    assert_eq!(header(&first, "clienttoken"), "suz-1");
    // B now gets the token without a sign-in of its own.
    let b_first = send(b.resume(T0, Input::Timeout));
    assert_eq!(header(&b_first, "authorization"), "token suz-1");

    // A is refused: it signs in again; B's late 401 for suz-1 then uses suz-2.
    let key = send(a.resume(secs(2), xml_401()));
    let a_retry = send(answer_sign_in(&mut a, key, secs(2), "suz-2"));
    assert_eq!(header(&a_retry, "clienttoken"), "suz-2");
    let b_retry = send(b.resume(secs(3), answer(401, "")));
    assert_same_but_credential(&b_first, &b_retry, "authorization");
    assert_eq!(header(&b_retry, "authorization"), "token suz-2");
    let _ = done(a.resume(secs(3), answer(200, "{}")));
    let _ = done(b.resume(secs(3), answer(200, "{}")));
    assert_eq!(
        keeper
            .lock()
            .unwrap()
            .token()
            .unwrap()
            .access_token()
            .expose_secret(),
        "suz-2"
    );
}

#[test]
fn keeper_source_reports_a_failed_sign_in_to_the_keeper() {
    let keeper = Mutex::new(TokenKeeper::new(CONN));
    let mut call = Authorized::new(
        KeeperSource::new(&keeper, sign_in),
        suz_ping(),
        Scheme::SuzClientToken,
    )
    .unwrap();
    let _key = send(call.start(T0));
    assert!(keeper.lock().unwrap().renewing());
    let err = failed(call.resume(
        T0,
        json_answer(
            403,
            serde_json::json!({"code": 403, "error_message": "Certificate not found"}),
        ),
    ));
    assert_eq!(err.as_server().map(|s| s.kind), Some(ServerErrorKind::Forbidden));
    // The ticket was handed back: the keeper backs off instead of waiting for it.
    assert!(!keeper.lock().unwrap().renewing());
    let mut next = Authorized::new(
        KeeperSource::new(&keeper, sign_in),
        suz_ping(),
        Scheme::SuzClientToken,
    )
    .unwrap();
    assert_eq!(wait(next.start(T0)), secs(1));
    let key = send(next.resume(secs(1), Input::Timeout));
    assert!(key.as_http().uri().path().ends_with("/auth/key"));
}

// ====================================================================
// 403: never retried.

#[test]
fn a_403_is_forbidden_and_never_retried() {
    let made = Cell::new(0u32);
    let mut source = Reissue::new(|| {
        made.set(made.get() + 1);
        Ok(HandIssue {
            n: made.get(),
            state: 0,
        })
    });
    {
        let request = http::Request::get("https://api.example/x")
            .body(Vec::new())
            .unwrap();
        let mut call = Authorized::new(&mut source, request, Scheme::Bearer).unwrap();
        let _ = sign(call.start(T0));
        let _ = send(call.resume(T0, hand_signature(1)));
        let err = failed(call.resume(
            T0,
            json_answer(
                403,
                serde_json::json!({"error": "invalid_grant", "error_description": "No right to this service"}),
            ),
        ));
        let refusal = err.as_server().unwrap();
        assert_eq!(
            (refusal.status.as_u16(), refusal.kind),
            (403, ServerErrorKind::Forbidden)
        );
        assert_eq!(refusal.code.as_deref(), Some("invalid_grant"));
        assert_eq!(refusal.message.as_deref(), Some("No right to this service"));
        assert!(!call.retried());
        assert_eq!(
            failed(call.resume(T0, hand_signature(2))),
            Error::Usage(UsageError::Finished)
        );
    }
    // The token was not dropped.
    assert_eq!(made.get(), 1);
    assert!(source.token().unwrap().is_valid(T0));

    // ITC: the account has no right to this service.
    let mut call = itc::consumer(&itc::Config::staging(), "AA12345678", fixed("t")).unwrap();
    let _ = send(call.start(T0));
    let err = failed(call.resume(T0, answer(403, r#"{"msg":"Хандах эрхгүй"}"#)));
    let refusal = err.as_server().unwrap();
    assert_eq!(refusal.kind, ServerErrorKind::Forbidden);
    assert_eq!(refusal.message.as_deref(), Some("Хандах эрхгүй"));
    // A raw 403 with no body: the kind alone.
    let mut call = Authorized::new(
        fixed("t"),
        http::Request::get("https://api.example/x")
            .body(Vec::new())
            .unwrap(),
        Scheme::Bearer,
    )
    .unwrap();
    let _ = send(call.start(T0));
    let err = failed(call.resume(T0, answer(403, "")));
    assert_eq!(err.to_string(), "HTTP 403 (forbidden)");
}

#[test]
fn gam_empty_403_means_authentication_failed() {
    let mut call = gam::post::<_, serde_json::Value>(
        &gam::Config::staging(),
        "SHOP01",
        &["api", "v1", "authenticated"],
        &serde_json::json!({"customerCode": "C-1"}),
        fixed("gam-1"),
    )
    .unwrap();
    let _ = send(call.start(T0));
    let err = failed(call.resume(
        T0,
        Input::Response(resp(403, "").header("content-length", "0").build()),
    ));
    let refusal = err.as_server().unwrap();
    assert_eq!(
        (refusal.status.as_u16(), refusal.kind),
        (403, ServerErrorKind::Forbidden)
    );
    assert_eq!(refusal.message.as_deref(), Some("authentication failed"));
    assert_eq!(refusal.code, None);
    assert_eq!(err.to_string(), "HTTP 403: authentication failed");
    assert!(!call.retried());

    // A 403 with its own words keeps them.
    let mut call =
        gam::get::<_, serde_json::Value>(&gam::Config::staging(), "SHOP01", &["api"], &[], fixed("gam-1"))
            .unwrap();
    let _ = send(call.start(T0));
    let err = failed(call.resume(
        T0,
        answer(
            403,
            r#"{"status":"403","message":"Partner suspended","error_code":"P_403"}"#,
        ),
    ));
    let refusal = err.as_server().unwrap();
    assert_eq!(refusal.kind, ServerErrorKind::Forbidden);
    assert_eq!(refusal.code.as_deref(), Some("P_403"));
    assert_eq!(refusal.message.as_deref(), Some("Partner suspended"));
}

// ====================================================================
// Other statuses.

#[test]
fn other_statuses_pass_through_the_raw_call_untouched() {
    let cases: [(u16, &[u8], &str); 5] = [
        (
            500,
            b"<html><h1>500 Internal Server Error</h1></html>",
            "text/html",
        ),
        (404, br#"{"error":"not_found"}"#, "application/json"),
        (
            200,
            br#"{"error":"looks like an error but is the caller's"}"#,
            "application/json",
        ),
        (429, b"slow down", "text/plain"),
        (202, b"", "text/plain"),
    ];
    for (status, body, content_type) in cases {
        let mut call = Authorized::new(
            fixed("t"),
            http::Request::get("https://api.example/x")
                .body(Vec::new())
                .unwrap(),
            Scheme::Bearer,
        )
        .unwrap();
        let _ = send(call.start(T0));
        let response = resp(status, body)
            .header("content-type", content_type)
            .header("x-served-by", "node-3")
            .build();
        let got = done(call.resume(T0, Input::Response(response)));
        assert_eq!(got.status(), status);
        assert_eq!(got.body().as_slice(), body);
        assert_eq!(got.headers()["content-type"], content_type);
        assert_eq!(got.headers()["x-served-by"], "node-3");
        assert!(!call.retried());
    }
    // The raw call does not bound what it hands back.
    let big = vec![b'z'; tokendance::MAX_BODY * 2];
    let mut call = Authorized::new(
        fixed("t"),
        http::Request::get("https://api.example/x")
            .body(Vec::new())
            .unwrap(),
        Scheme::Bearer,
    )
    .unwrap();
    let _ = send(call.start(T0));
    assert_eq!(done(call.resume(T0, answer(200, &big))).body().len(), big.len());
}

#[test]
fn a_redirect_is_refused_without_its_query() {
    for status in [301, 302, 303, 307, 308] {
        let mut call = Authorized::new(
            fixed("t"),
            http::Request::get("https://api.example/x")
                .body(Vec::new())
                .unwrap(),
            Scheme::Bearer,
        )
        .unwrap();
        let _ = send(call.start(T0));
        let err = failed(
            call.resume(
                T0,
                Input::Response(
                    resp(status, "")
                        .header("location", "https://evil.example/steal?token=LEAKED#frag")
                        .build(),
                ),
            ),
        );
        assert_eq!(
            err,
            Error::Protocol(ProtocolError::Redirect {
                status: http::StatusCode::from_u16(status).unwrap(),
                location: Some("https://evil.example/steal".into()),
            })
        );
        assert!(!err.to_string().contains("LEAKED"));
        assert_eq!(
            failed(call.resume(T0, answer(200, ""))),
            Error::Usage(UsageError::Finished)
        );
    }
    // Typed calls too.
    let mut call = itc::consumer(&itc::Config::staging(), "AA12345678", fixed("t")).unwrap();
    let _ = send(call.start(T0));
    let err = failed(call.resume(T0, answer(302, "")));
    assert!(
        matches!(err, Error::Protocol(ProtocolError::Redirect { .. })),
        "{err:?}"
    );
    let mut call =
        gam::get::<_, serde_json::Value>(&gam::Config::staging(), "S", &["api"], &[], fixed("t")).unwrap();
    let _ = send(call.start(T0));
    let err = failed(call.resume(T0, answer(307, "")));
    assert!(
        matches!(err, Error::Protocol(ProtocolError::Redirect { .. })),
        "{err:?}"
    );
}

// ====================================================================
// Flow rules.

fn raw_call() -> Authorized<TokenSet> {
    Authorized::new(
        fixed("t-1"),
        http::Request::get("https://api.example/x")
            .body(Vec::new())
            .unwrap(),
        Scheme::Bearer,
    )
    .unwrap()
}

#[test]
fn wrong_input_while_awaiting_the_api_leaves_the_call_unchanged() {
    let mut call = raw_call();
    let first = send(call.start(T0));
    for (input, got) in [
        (Input::Timeout, InputKind::Timeout),
        (
            Input::Signature(Signature::from_der(vec![1, 2])),
            InputKind::Signature,
        ),
    ] {
        assert_eq!(
            failed(call.resume(T0, input)),
            Error::Usage(UsageError::UnexpectedInput {
                expected: Expect::Response,
                got
            })
        );
    }
    assert_eq!(failed(call.start(T0)), Error::Usage(UsageError::AlreadyStarted));
    // Still waiting for the same answer, which is then read as usual.
    let response = done(call.resume(T0, answer(200, "ok")));
    assert_eq!(response.body(), b"ok");
    assert_eq!(header(&first, "authorization"), "Bearer t-1");

    // And a 401 after a wrong input is still a 401.
    let mut call = raw_call();
    let _ = send(call.start(T0));
    let _ = failed(call.resume(T0, Input::Timeout));
    let err = failed(call.resume(T0, answer(401, "")));
    assert_eq!(
        err.as_server().map(|s| s.kind),
        Some(ServerErrorKind::Unauthorized)
    );
}

#[test]
fn wrong_input_while_getting_a_token_leaves_the_call_unchanged() {
    // Expecting a response (the GAM token request).
    let config = gam::Config::staging();
    let source = Reissue::new(|| gam::client_credentials(&config, "app", ClientSecret::new("s"), "scope:a"));
    let mut call = Authorized::new(
        source,
        http::Request::get("https://gateway-staging.gam.vn/oms/api/x")
            .body(Vec::new())
            .unwrap(),
        Scheme::Bearer,
    )
    .unwrap();
    let _ = send(call.start(T0));
    for input in [Input::Timeout, Input::Signature(Signature::from_der(vec![1]))] {
        let got = input.kind();
        assert_eq!(
            failed(call.resume(T0, input)),
            Error::Usage(UsageError::UnexpectedInput {
                expected: Expect::Response,
                got
            })
        );
    }
    assert_eq!(failed(call.start(T0)), Error::Usage(UsageError::AlreadyStarted));
    let api = send(call.resume(T0, gam_token("g-1")));
    assert_eq!(header(&api, "authorization"), "Bearer g-1");

    // Expecting a signature (a hand-written flow).
    let mut call = Authorized::new(
        Reissue::new(|| Ok(HandIssue { n: 1, state: 0 })),
        http::Request::get("https://api.example/x")
            .body(Vec::new())
            .unwrap(),
        Scheme::Bearer,
    )
    .unwrap();
    let _ = sign(call.start(T0));
    for input in [answer(200, ""), Input::Timeout] {
        let got = input.kind();
        assert_eq!(
            failed(call.resume(T0, input)),
            Error::Usage(UsageError::UnexpectedInput {
                expected: Expect::Signature,
                got
            })
        );
    }
    let api = send(call.resume(T0, hand_signature(1)));
    assert_eq!(header(&api, "authorization"), "Bearer hand-1");
}

#[test]
fn failed_input_aborts_then_finishes() {
    // While the API request is out.
    let mut call = raw_call();
    let _ = send(call.start(T0));
    assert_eq!(
        failed(call.resume(T0, Input::Failed)),
        Error::Usage(UsageError::Aborted)
    );
    assert_eq!(
        failed(call.resume(T0, answer(200, ""))),
        Error::Usage(UsageError::Finished)
    );
    assert_eq!(failed(call.start(T0)), Error::Usage(UsageError::Finished));

    // While a token request is out (the ITC session backs off).
    let mut session = itc::session(&itc::Config::staging(), "u", Password::new("p")).unwrap();
    {
        let mut call = itc::consumer(&itc::Config::staging(), "AA12345678", &mut session).unwrap();
        let _ = send(call.start(T0));
        assert_eq!(
            failed(call.resume(T0, Input::Failed)),
            Error::Usage(UsageError::Aborted)
        );
        assert_eq!(
            failed(call.resume(T0, keycloak("a", "r"))),
            Error::Usage(UsageError::Finished)
        );
    }
    assert_eq!(session.in_flight(), None);
    assert!(!session.has_ended());

    // While a signer is at work.
    let mut call = Authorized::new(
        Reissue::new(|| Ok(HandIssue { n: 1, state: 0 })),
        http::Request::get("https://api.example/x")
            .body(Vec::new())
            .unwrap(),
        Scheme::Bearer,
    )
    .unwrap();
    let _ = sign(call.start(T0));
    assert_eq!(
        failed(call.resume(T0, Input::Failed)),
        Error::Usage(UsageError::Aborted)
    );
    assert_eq!(
        failed(call.resume(T0, hand_signature(1))),
        Error::Usage(UsageError::Finished)
    );

    // During the retry's sign-in, the keeper gets its ticket back.
    let keeper = Mutex::new(TokenKeeper::new(CONN));
    let mut call = Authorized::new(
        KeeperSource::new(&keeper, sign_in),
        suz_ping(),
        Scheme::SuzClientToken,
    )
    .unwrap();
    let key = send(call.start(T0));
    let _ = send(answer_sign_in(&mut call, key, T0, "suz-1"));
    // Two seconds on: the keeper keeps a second between sign-ins.
    let later = T0.saturating_add(std::time::Duration::from_secs(2));
    let _key = send(call.resume(later, answer(401, "")));
    assert!(keeper.lock().unwrap().renewing());
    assert_eq!(
        failed(call.resume(T0, Input::Failed)),
        Error::Usage(UsageError::Aborted)
    );
    assert!(!keeper.lock().unwrap().renewing());
    assert_eq!(
        failed(call.resume(T0, Input::Timeout)),
        Error::Usage(UsageError::Finished)
    );
}

#[test]
fn start_and_resume_out_of_order() {
    let mut call = raw_call();
    assert_eq!(
        failed(call.resume(T0, answer(200, ""))),
        Error::Usage(UsageError::NotStarted)
    );
    assert_eq!(
        failed(call.resume(T0, Input::Failed)),
        Error::Usage(UsageError::NotStarted)
    );
    // Still startable.
    let out = send(call.start(T0));
    assert_eq!(header(&out, "authorization"), "Bearer t-1");
    assert_eq!(failed(call.start(T0)), Error::Usage(UsageError::AlreadyStarted));
    let _ = done(call.resume(T0, answer(200, "")));
    assert_eq!(failed(call.start(T0)), Error::Usage(UsageError::Finished));
    assert_eq!(
        failed(call.resume(T0, answer(200, ""))),
        Error::Usage(UsageError::Finished)
    );
}

// ====================================================================
// Typed ITC answers.

/// The documented codes, spelled as the seed prints them.
fn codes() -> [(&'static str, itc::Code); 10] {
    [
        ("userNotFound", itc::Code::UserNotFound),
        ("invalidToken", itc::Code::InvalidToken),
        ("emptyField", itc::Code::EmptyField),
        ("emailNotFound", itc::Code::EmailNotFound),
        ("success", itc::Code::Success),
        ("invalidData", itc::Code::InvalidData),
        ("userDuplicate", itc::Code::UserDuplicate),
        ("alreadyApproved", itc::Code::AlreadyApproved),
        ("b2bNotAccepted", itc::Code::B2bNotAccepted),
        ("inValidQr", itc::Code::InvalidQr),
    ]
}

#[test]
fn every_documented_code_parses_and_round_trips() {
    let mut distinct = std::collections::HashSet::new();
    for (text, variant) in codes() {
        let code = itc::Code::parse(text);
        assert_eq!(code, variant, "{text}");
        assert!(!matches!(code, itc::Code::Other(_)), "{text}");
        assert_eq!(code.as_str(), text);
        assert_eq!(variant.as_str(), text);
        assert_eq!(code.to_string(), text);
        let reply = itc::Reply::from_response(&resp(200, format!(r#"{{"code":"{text}"}}"#)).build()).unwrap();
        assert_eq!(reply.code, variant, "{text}");
        assert_eq!(reply.is_success(), text == "success");
        distinct.insert(code);
    }
    assert_eq!(distinct.len(), 10);
}

#[test]
fn unknown_and_miscased_codes_are_other() {
    for text in [
        "quotaExceeded",
        "InvalidQr",
        "invalidQr",
        "INVALIDQR",
        "Success",
        "SUCCESS",
        "success ",
        "userNotFound\u{200b}",
        "Хэрэглэгч",
    ] {
        let code = itc::Code::parse(text);
        assert_eq!(code, itc::Code::Other(text.into()), "{text:?}");
        assert_eq!(code.as_str(), text);
        let reply = itc::Reply::from_response(
            &resp(
                200,
                serde_json::to_vec(&serde_json::json!({"code": text})).unwrap(),
            )
            .build(),
        )
        .unwrap();
        assert_eq!(reply.code, itc::Code::Other(text.into()));
        assert!(!reply.is_success());
    }
}

#[test]
fn reply_keeps_body_status_apart_and_msg_verbatim() {
    let msg = "Хэрэглэгч  олдсонгүй! (phoneNum=99112233) «тест»";
    let body = serde_json::json!({"code": "userNotFound", "status": 201, "msg": msg});
    let reply = itc::Reply::from_response(&resp(200, serde_json::to_vec(&body).unwrap()).build()).unwrap();
    assert_eq!(reply.code, itc::Code::UserNotFound);
    assert_eq!(reply.status, Some(201));
    assert_eq!(reply.msg.as_deref(), Some(msg));
    assert_eq!((reply.login_name, reply.email), (None, None));

    // The body's status may be any of the documented values, or a string,
    // at HTTP 200: it is the body's, never an HTTP refusal.
    for (status, want) in [
        (serde_json::json!(100), 100),
        (serde_json::json!(401), 401),
        (serde_json::json!(500), 500),
        (serde_json::json!("201"), 201),
    ] {
        let body = serde_json::json!({"code": "invalidData", "status": status});
        let reply =
            itc::Reply::from_response(&resp(200, serde_json::to_vec(&body).unwrap()).build()).unwrap();
        assert_eq!(reply.status, Some(want));
        assert_eq!(reply.code, itc::Code::InvalidData);
    }
    let full = itc::Reply::from_response(
        &resp(
            200,
            r#"{"code":"success","status":200,"msg":"ok","loginName":"12345678901","email":"a@b.mn"}"#,
        )
        .build(),
    )
    .unwrap();
    assert_eq!(full.login_name.as_deref(), Some("12345678901"));
    assert_eq!(full.email.as_deref(), Some("a@b.mn"));
}

#[test]
fn reply_without_a_usable_code_is_an_error() {
    for body in [
        r#"{"status":200,"msg":"ok"}"#,
        r#"{"code":"","status":200}"#,
        r#"{"code":null}"#,
        "{}",
    ] {
        let err = itc::Reply::from_response(&resp(200, body).build()).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Protocol(ProtocolError::MissingField { field: "code", .. })
            ),
            "{body}: {err:?}"
        );
    }
    for body in [r#"{"code":5}"#, r#"{"code":{"x":1}}"#, r#"{"code":["success"]}"#] {
        let err = itc::Reply::from_response(&resp(200, body).build()).unwrap_err();
        assert!(
            matches!(&err, Error::Protocol(ProtocolError::Malformed { field, .. }) if field == "code"),
            "{body}: {err:?}"
        );
    }
    // Not JSON at all (a geo-block page at 200).
    let err = itc::Reply::from_response(
        &resp(200, "<html>blocked</html>")
            .header("content-type", "text/html")
            .build(),
    )
    .unwrap_err();
    assert!(
        matches!(err, Error::Protocol(ProtocolError::NotJson { .. })),
        "{err:?}"
    );
    // A non-2xx is the server's refusal.
    let err = itc::Reply::from_response(&resp(500, r#"{"msg":"Алдаа"}"#).build()).unwrap_err();
    let refusal = err.as_server().unwrap();
    assert_eq!(refusal.kind, ServerErrorKind::Unavailable);
    assert_eq!(refusal.message.as_deref(), Some("Алдаа"));
}

#[test]
fn consumer_answers() {
    let read = |status: u16, body: &str| itc::Consumer::from_response(&resp(status, body).build());
    // 404 with an empty or JSON body: not found.
    assert_eq!(read(404, "").unwrap(), None);
    assert_eq!(read(404, " \r\n").unwrap(), None);
    assert_eq!(read(404, r#"{"message":"Not Found"}"#).unwrap(), None);
    // A 404 page (a proxy, a wrong service URL) is not "no such citizen".
    for page in ["<html>404</html>", "Not Found", "404 page not found\n"] {
        let err = read(404, page).unwrap_err();
        assert_eq!(
            err.as_server().map(|s| (s.status.as_u16(), s.kind)),
            Some((404, ServerErrorKind::NotFound)),
            "{page}"
        );
    }
    let found = read(200, r#"{"regNo":"AA12345678","loginName":"12345678901"}"#)
        .unwrap()
        .unwrap();
    assert_eq!((found.given_name, found.family_name), (None, None));
    // 200 without loginName (or regNo) is an error.
    for body in [
        r#"{"regNo":"AA12345678","givenName":"Бат"}"#,
        r#"{"regNo":"AA12345678","loginName":""}"#,
        r#"{"regNo":"AA12345678","loginName":null}"#,
    ] {
        let err = read(200, body).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Protocol(ProtocolError::MissingField {
                    field: "loginName",
                    ..
                })
            ),
            "{body}: {err:?}"
        );
    }
    let err = read(200, r#"{"loginName":"12345678901"}"#).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Protocol(ProtocolError::MissingField { field: "regNo", .. })
        ),
        "{err:?}"
    );
    let err = read(200, r#"{"regNo":"AA12345678","loginName":12345678901}"#).unwrap_err();
    assert!(
        matches!(err, Error::Protocol(ProtocolError::Malformed { .. })),
        "{err:?}"
    );
    // Other statuses are refusals.
    let err = read(500, "").unwrap_err();
    assert_eq!(
        err.as_server().map(|s| s.kind),
        Some(ServerErrorKind::Unavailable)
    );

    // Through the call: 404 is Done(None), not an error.
    let mut call = itc::consumer(&itc::Config::staging(), "AA00000000", fixed("t")).unwrap();
    let _ = send(call.start(T0));
    assert_eq!(done(call.resume(T0, answer(404, ""))), None);
}

#[test]
fn profile_query_from_fields() {
    use itc::ProfileQuery;
    assert_eq!(
        ProfileQuery::from_fields(Some("99112233"), None).unwrap(),
        ProfileQuery::Phone("99112233".into())
    );
    assert_eq!(
        ProfileQuery::from_fields(None, Some("12345678901")).unwrap(),
        ProfileQuery::CustomerNo("12345678901".into())
    );
    // A blank field counts as absent.
    assert_eq!(
        ProfileQuery::from_fields(Some("  "), Some("12345678901")).unwrap(),
        ProfileQuery::CustomerNo("12345678901".into())
    );
    assert_eq!(
        ProfileQuery::from_fields(Some("99112233"), Some("")).unwrap(),
        ProfileQuery::Phone("99112233".into())
    );
    for (phone, customer) in [
        (None, None),
        (Some(""), None),
        (None, Some(" \t")),
        (Some(""), Some("")),
        (Some("99112233"), Some("12345678901")),
    ] {
        let err = ProfileQuery::from_fields(phone, customer).unwrap_err();
        assert!(
            matches!(err, Error::Usage(UsageError::InvalidConfig { .. })),
            "{phone:?} {customer:?}: {err:?}"
        );
    }
}

// ====================================================================
// The GAM envelope.

fn envelope<T: serde::de::DeserializeOwned>(status: u16, body: &str) -> Result<gam::Envelope<T>, Error> {
    gam::Envelope::from_response(&resp(status, body).build())
}

#[test]
fn gam_envelope_status_as_string_or_number() {
    for body in [
        r#"{"status":"200","message":"OK","timestamp":"2024-05-01T10:00:00Z","data":{"id":7,"customerCode":"C-7"}}"#,
        r#"{"status":200,"message":"OK","timestamp":"2024-05-01T10:00:00Z","data":{"id":7,"customerCode":"C-7"}}"#,
    ] {
        let e: gam::Envelope<Order> = envelope(200, body).unwrap();
        assert_eq!(e.status, "200");
        assert_eq!(e.message.as_deref(), Some("OK"));
        assert_eq!(e.timestamp.as_deref(), Some("2024-05-01T10:00:00Z"));
        assert_eq!(
            e.data,
            Some(Order {
                id: 7,
                customer_code: "C-7".into()
            })
        );
    }
    let e: gam::Envelope<Order> = envelope(201, r#"{"status":"201","data":null}"#).unwrap();
    assert_eq!((e.status.as_str(), e.data, e.message), ("201", None, None));
    let e: gam::Envelope<Vec<u32>> = envelope(200, r#"{"status":"200","data":[1,2,3]}"#).unwrap();
    assert_eq!(e.data, Some(vec![1, 2, 3]));
    let e: gam::Envelope<Order> = envelope(200, r#"{"status":"200"}"#).unwrap();
    assert_eq!(e.data, None);
}

#[test]
fn gam_data_of_the_wrong_shape_names_the_field_only() {
    for data in [
        r#"{"id":"SECRET-ORDER-77","customerCode":"Бат-Эрдэнэ"}"#,
        r#"["SECRET-ORDER-77"]"#,
        r#""SECRET-ORDER-77""#,
        r#"{"customerCode":"SECRET-ORDER-77"}"#,
    ] {
        let body = format!(r#"{{"status":"200","message":"OK","data":{data}}}"#);
        let err = envelope::<Order>(200, &body).unwrap_err();
        let Error::Protocol(ProtocolError::Malformed { field, status, .. }) = &err else {
            panic!("{data}: {err:?}")
        };
        assert_eq!((field.as_str(), status.as_u16()), ("data", 200));
        for text in [err.to_string(), format!("{err:?}")] {
            assert!(!text.contains("SECRET-ORDER"), "{text}");
            assert!(!text.contains("Бат"), "{text}");
        }
    }
}

#[test]
fn gam_error_envelopes_are_refusals_at_any_status() {
    for (status, body) in [
        (
            200,
            r#"{"status":"400","message":"Customer not found","error_code":"CUS_404","timestamp":"t"}"#,
        ),
        (
            200,
            r#"{"status":"200","message":"Customer not found","error_code":"CUS_404"}"#,
        ),
        (
            400,
            r#"{"status":400,"message":"Customer not found","error_code":"CUS_404","timestamp":"t"}"#,
        ),
        (
            422,
            r#"{"status":"422","message":"Customer not found","error_code":"CUS_404"}"#,
        ),
    ] {
        let err = envelope::<serde_json::Value>(status, body).unwrap_err();
        let refusal = err.as_server().unwrap_or_else(|| panic!("{body}: {err:?}"));
        assert_eq!(refusal.status, status, "{body}");
        assert_eq!(refusal.code.as_deref(), Some("CUS_404"), "{body}");
        assert_eq!(refusal.message.as_deref(), Some("Customer not found"), "{body}");
    }
    // Through the call, with the token scrubbed from the message.
    let mut call = gam::post::<_, serde_json::Value>(
        &gam::Config::staging(),
        "SHOP01",
        &["api", "v1", "orders"],
        &serde_json::json!({}),
        fixed("gam-secret-token"),
    )
    .unwrap();
    let _ = send(call.start(T0));
    let err = failed(call.resume(
        T0,
        answer(
            200,
            r#"{"status":"401","message":"bad token gam-secret-token","error_code":"AUTH_1"}"#,
        ),
    ));
    let refusal = err.as_server().unwrap();
    assert_eq!(refusal.code.as_deref(), Some("AUTH_1"));
    assert_eq!(refusal.message.as_deref(), Some(tokendance::WITHHELD));
}

#[test]
fn gam_envelope_without_status_is_an_error() {
    let err = envelope::<serde_json::Value>(200, r#"{"data":{"id":1},"timestamp":"t"}"#).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Protocol(ProtocolError::MissingField { field: "status", .. })
        ),
        "{err:?}"
    );
    assert!(envelope::<serde_json::Value>(200, r#"{"status":null,"data":{}}"#).is_err());
    assert!(envelope::<serde_json::Value>(200, r#"{"message":"OK","data":{}}"#).is_err());
    let err = envelope::<serde_json::Value>(200, "<html>gateway</html>").unwrap_err();
    assert!(
        matches!(err, Error::Protocol(ProtocolError::NotJson { .. })),
        "{err:?}"
    );
}

// ====================================================================
// Both drivers, with the retry.

/// A canned transport: answers in order, requests recorded.
struct Canned {
    answers: VecDeque<http::Response<Vec<u8>>>,
    sent: Vec<http::Request<Vec<u8>>>,
}

impl Canned {
    fn new(answers: impl IntoIterator<Item = Input>) -> Self {
        Canned {
            answers: answers
                .into_iter()
                .map(|input| match input {
                    Input::Response(r) => r,
                    _ => unreachable!(),
                })
                .collect(),
            sent: Vec::new(),
        }
    }

    fn answer(&mut self, request: http::Request<Vec<u8>>) -> http::Response<Vec<u8>> {
        self.sent.push(request);
        self.answers.pop_front().expect("no more canned answers")
    }
}

fn auth_of(request: &http::Request<Vec<u8>>) -> Option<&str> {
    request
        .headers()
        .get("authorization")
        .map(|v| v.to_str().unwrap())
}

#[test]
fn blocking_driver_runs_an_itc_call_through_the_retry() {
    let mut session = itc::session(
        &itc::Config::staging(),
        "easy-register-test",
        Password::new("Test@123"),
    )
    .unwrap();
    let mut canned = Canned::new([
        keycloak("kc-a1", "kc-r1"),
        answer(401, ""),
        keycloak("kc-a2", "kc-r2"),
        answer(200, CONSUMER_BODY),
    ]);
    let now = Cell::new(T0);
    let waits = Cell::new(0);
    let call = itc::consumer(&itc::Config::staging(), "AA12345678", &mut session).unwrap();
    let consumer = drive::drive(
        call,
        || now.get(),
        |request| Ok::<_, std::io::Error>(canned.answer(request)),
        drive::no_signer,
        |until| {
            waits.set(waits.get() + 1);
            now.set(until);
        },
    )
    .unwrap()
    .unwrap();
    assert_eq!(consumer.login_name, "12345678901");
    // The session's one-second pause before the refresh was waited out.
    assert_eq!((waits.get(), now.get()), (1, secs(1)));
    let sent = &canned.sent;
    assert_eq!(sent.len(), 4);
    assert_eq!(sent[0].uri(), ITC_TOKEN_URL);
    assert_eq!(auth_of(&sent[1]), Some("Bearer kc-a1"));
    assert!(sent[2].body().starts_with(b"grant_type=refresh_token"));
    assert_eq!(auth_of(&sent[3]), Some("Bearer kc-a2"));
    assert_eq!(sent[1].uri(), sent[3].uri());
    assert_eq!(session.tokens().unwrap().access_token().expose_secret(), "kc-a2");
}

#[test]
fn blocking_driver_reports_a_lost_api_request() {
    let mut session = itc_session_with_token("kc-a1", "kc-r1");
    let call = itc::consumer(&itc::Config::staging(), "AA12345678", &mut session).unwrap();
    let err = drive::drive(
        call,
        || secs(10),
        |_| Err(std::io::Error::other("connection reset")),
        drive::no_signer,
        |_| {},
    )
    .unwrap_err();
    assert!(matches!(err, drive::DriveError::Transport(_)), "{err:?}");
    // The token was not blamed for a transport failure.
    assert!(session.tokens().unwrap().is_valid(secs(10)));
}

#[tokio::test]
async fn async_driver_runs_an_itc_call_through_the_retry() {
    let config = itc::Config::staging();
    let made = Cell::new(0u32);
    let mut session_source = itc_session_with_token("kc-a1", "kc-r1");
    let query = itc::ProfileQuery::Phone("99112233".into());
    let mut canned = Canned::new([
        answer(
            200,
            r#"{"code":"invalidToken","status":401,"msg":"Токен хүчингүй"}"#,
        ),
        keycloak("kc-a2", "kc-r2"),
        answer(
            200,
            r#"{"code":"success","status":200,"loginName":"12345678901","email":"bat@example.mn"}"#,
        ),
    ]);
    let call = itc::get_profile(&config, &query, &mut session_source).unwrap();
    let reply = drive::drive_async(
        call,
        || secs(10),
        |request| {
            made.set(made.get() + 1);
            let response = canned.answer(request);
            async move { Ok::<_, std::io::Error>(response) }
        },
        drive::no_signer_async,
        |_| async {},
    )
    .await
    .unwrap();
    assert!(reply.is_success());
    assert_eq!(reply.login_name.as_deref(), Some("12345678901"));
    assert_eq!(made.get(), 3);
    let sent = &canned.sent;
    assert_eq!(auth_of(&sent[0]), Some("Bearer kc-a1"));
    assert_eq!(
        sent[1].body(),
        b"grant_type=refresh_token&client_id=vatps&refresh_token=kc-r1"
    );
    assert_eq!(auth_of(&sent[2]), Some("Bearer kc-a2"));
    assert_eq!(sent[0].body(), sent[2].body());
    assert_eq!(sent[0].body(), br#"{"phoneNum":"99112233"}"#);
}

#[tokio::test]
async fn async_driver_signs_for_a_keeper_source() {
    let keeper = Mutex::new(TokenKeeper::new(CONN));
    let mut canned = Canned::new([
        answer(200, r#"{"uuid":"u-1","data":"QNRPNPFGJZ"}"#),
        answer(200, r#"{"token":"suz-1"}"#),
        xml_401(),
        answer(200, r#"{"uuid":"u-2","data":"SECOND"}"#),
        answer(200, r#"{"token":"suz-2"}"#),
        answer(200, r#"{"orderId":"o-1"}"#),
    ]);
    let signed = Cell::new(0u32);
    let call = Authorized::new(
        KeeperSource::new(&keeper, sign_in),
        suz_ping(),
        Scheme::SuzClientToken,
    )
    .unwrap();
    // The keeper keeps a second between sign-ins: the clock moves when told to wait.
    let clock = Cell::new(T0);
    let response = drive::drive_async(
        call,
        || clock.get(),
        |request| {
            let response = canned.answer(request);
            async move { Ok::<_, std::io::Error>(response) }
        },
        |job: SignJob| {
            signed.set(signed.get() + 1);
            assert_eq!(job.kind(), SignatureKind::Attached);
            async move { Ok::<_, std::io::Error>(Signature::from_der(job.bytes().to_vec())) }
        },
        |until| {
            clock.set(until);
            async {}
        },
    )
    .await
    .unwrap();
    assert_eq!(response.body(), br#"{"orderId":"o-1"}"#);
    assert_eq!(signed.get(), 2);
    let sent = &canned.sent;
    assert_eq!(sent.len(), 6);
    assert_eq!(sent[2].headers()["clienttoken"], "suz-1");
    assert_eq!(sent[5].headers()["clienttoken"], "suz-2");
    assert_eq!(sent[4].body(), br#"{"uuid":"u-2","data":"U0VDT05E"}"#);
    assert_eq!(
        keeper
            .lock()
            .unwrap()
            .token()
            .unwrap()
            .access_token()
            .expose_secret(),
        "suz-2"
    );
}

// ====================================================================
// Endpoint-configured services (a local fake behind plain http).

#[test]
fn itc_config_new_accepts_a_loopback_service() {
    let config = itc::Config::new(
        Endpoint::parse_insecure_http("http://127.0.0.1:9000/auth/realms/Staging").unwrap(),
        Endpoint::parse_insecure_http("http://127.0.0.1:9001/api/easy-register").unwrap(),
    );
    let mut call = itc::consumer(&config, "AA12345678", fixed("t")).unwrap();
    assert_eq!(
        send(call.start(T0)).as_http().uri(),
        "http://127.0.0.1:9001/api/easy-register/api/info/consumer/AA12345678"
    );
}

// ====================================================================
// What the call and its sources show and keep.

/// `Debug` names the state and the target, never the token.
#[test]
fn debug_shows_state_and_target_but_no_token() {
    let request = http::Request::get("https://api.example/v1/items?key=q")
        .body(Vec::new())
        .unwrap();
    let mut call = Authorized::new(fixed("dbg-token-1"), request, Scheme::Bearer).unwrap();
    let shown = format!("{call:?}");
    assert!(shown.contains("Authorized") && shown.contains("New"), "{shown}");
    assert!(shown.contains("/v1/items") && shown.contains("Bearer"), "{shown}");
    let _ = send(call.start(T0));
    let shown = format!("{call:?}");
    assert!(shown.contains("AwaitingApi"), "{shown}");
    assert!(
        !shown.contains("dbg-token-1") && !shown.contains("key=q"),
        "{shown}"
    );

    let config = gam::Config::staging();
    let mut source = Reissue::new(|| {
        gam::client_credentials(&config, "partner-app", ClientSecret::new("s3cret"), "orders:read")
    });
    assert!(format!("{source:?}").contains("renewing: false"));
    let _ = send(source.poll_token(T0));
    let shown = format!("{source:?}");
    assert!(
        shown.contains("Reissue") && shown.contains("renewing: true"),
        "{shown}"
    );

    let mut keeper = TokenKeeper::new("conn-dbg");
    let mut source = KeeperSource::new(&mut keeper, || {
        true_api::sign_in(&TrueApiStand::Demo.endpoint(), Some("conn-dbg"))
    });
    assert!(format!("{source:?}").contains("renewing: false"));
    let _ = send(source.poll_token(T0));
    let shown = format!("{source:?}");
    assert!(
        shown.contains("KeeperSource") && shown.contains("renewing: true"),
        "{shown}"
    );
}

/// A boxed source forwards every call, the refusal included.
#[test]
fn a_boxed_source_forwards_the_refusal() {
    let mut boxed: Box<dyn TokenSource> = Box::new(fixed("boxed-1"));
    assert_eq!(done(boxed.poll_token(T0)).expose_secret(), "boxed-1");
    boxed.token_rejected(T0, &AccessToken::new("another"));
    assert_eq!(done(boxed.poll_token(T0)).expose_secret(), "boxed-1");
    boxed.token_rejected(T0, &AccessToken::new("boxed-1"));
    assert_eq!(
        failed(boxed.poll_token(T0)),
        Error::Usage(UsageError::TokenUnavailable)
    );
}

/// `Reissue::with_token` starts from the given token: no flow runs while it is fresh.
#[test]
fn reissue_with_a_token_uses_it_without_running_a_flow() {
    let made = Cell::new(0u32);
    let config = gam::Config::staging();
    let token = TokenSet::new(AccessToken::new("restored-1"), T0, Some(secs(3_600)));
    let mut source = Reissue::with_token(
        || {
            made.set(made.get() + 1);
            gam::client_credentials(&config, "partner-app", ClientSecret::new("s3cret"), "orders:read")
        },
        token,
    );
    assert_eq!(
        source.token().map(|t| t.access_token().expose_secret()),
        Some("restored-1")
    );
    assert_eq!(done(source.poll_token(secs(60))).expose_secret(), "restored-1");
    assert_eq!(made.get(), 0);
    // 30 s before expiry it is renewed.
    let _ = send(source.poll_token(secs(3_600 - 30)));
    assert_eq!(made.get(), 1);
}

/// A `null` data is no data, whatever the caller's type.
#[test]
fn gam_null_data_is_none() {
    let read = |body: &str| gam::Envelope::<serde_json::Value>::from_response(&resp(200, body).build());
    assert_eq!(read(r#"{"status":"200","data":null}"#).unwrap().data, None);
    assert_eq!(read(r#"{"status":"200"}"#).unwrap().data, None);
    assert_eq!(
        read(r#"{"status":"200","data":0}"#).unwrap().data,
        Some(serde_json::json!(0))
    );
}

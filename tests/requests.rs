//! Exact requests, in the style of oauth2-rs' `mock_http_client` tests: for
//! every request of every flow, the method, the full URL, the complete header
//! map and the body bytes, through the public API only.

use std::time::Duration;

use http::Method;

mod common;
use common::time::{at, T0};
use common::{keycloak, kind};
use tokendance::oauth2::SessionAction;
use tokendance::{
    astana_plat, gam, itc, monpay, Action, AuthCode, ClientSecret, Endpoint, Error, Flow, Input, Outgoing,
    Password, UsageError,
};

const FORM: &[(&str, &str)] = &[
    ("accept", "application/json"),
    ("content-type", "application/x-www-form-urlencoded"),
];
const JSON: &[(&str, &str)] = &[
    ("accept", "application/json"),
    ("content-type", "application/json"),
];

/// The password of the brief: every character form encoding must escape.
const HOSTILE_PASSWORD: &str = "p&a=s s+%Ж";
/// Its `application/x-www-form-urlencoded` form, worked out by hand:
/// `&`→%26, `=`→%3D, space→`+`, `+`→%2B, `%`→%25, `Ж` (U+0416, D0 96)→%D0%96.
const HOSTILE_PASSWORD_FORM: &str = "p%26a%3Ds+s%2B%25%D0%96";

/// [`common::assert_request`] for requests that carry no sensitive header
/// (every token request here sends its secrets in the body).
#[track_caller]
fn assert_request(out: &Outgoing, method: Method, url: &str, headers: &[(&str, &str)], body: &[u8]) {
    let headers: Vec<common::Header<'_>> = headers.iter().map(|(k, v)| (*k, *v, false)).collect();
    common::assert_request(out, method, url, &headers, body);
}

/// The first request of a one-shot flow.
fn first_send<F: Flow>(flow: &mut F) -> Outgoing {
    match flow.start(T0).expect("start") {
        Action::Send(out) => out,
        other => panic!("expected Send, got {}", kind(&other)),
    }
}

/// The first request of an ITC session (the password grant).
fn itc_password_request(config: &itc::Config, username: &str, password: &str) -> Outgoing {
    let mut session = itc::session(config, username, Password::new(password)).unwrap();
    match session.poll(T0).unwrap() {
        SessionAction::Send(out) => out,
        other => panic!("expected Send, got {other:?}"),
    }
}

/// The refresh request of an ITC session whose password grant returned `refresh_token`.
fn itc_refresh_request(config: &itc::Config, refresh_token: &str) -> Outgoing {
    let mut session = itc::session(config, "u", Password::new("p")).unwrap();
    let SessionAction::Send(_) = session.poll(T0).unwrap() else {
        panic!("expected the password grant")
    };
    session
        .handle_response(T0, keycloak::token("a1", refresh_token))
        .unwrap();
    // Renewal is due 30 s before the 300 s lifetime ends.
    let due = at(270);
    match session.poll(due).unwrap() {
        SessionAction::Send(out) => out,
        other => panic!("expected the refresh at +270 s, got {other:?}"),
    }
}

const ITC_STAGING_TOKEN_URL: &str =
    "https://st.auth.itc.gov.mn/auth/realms/Staging/protocol/openid-connect/token";
const ITC_PRODUCTION_TOKEN_URL: &str =
    "https://auth.itc.gov.mn/auth/realms/ITC/protocol/openid-connect/token";

// ---------------------------------------------------------------- ITC

#[test]
fn itc_password_grant_staging_with_the_guides_test_account() {
    let out = itc_password_request(
        &itc::Config::staging(),
        itc::STAGING_TEST_USERNAME,
        itc::STAGING_TEST_PASSWORD,
    );
    assert_request(
        &out,
        Method::POST,
        ITC_STAGING_TOKEN_URL,
        FORM,
        b"grant_type=password&client_id=vatps&username=easy-register-test&password=Test%40123",
    );
}

#[test]
fn itc_password_grant_production_form_encodes_hostile_values() {
    let out = itc_password_request(&itc::Config::production(), "Батболд Б.", HOSTILE_PASSWORD);
    let want = format!(
        "grant_type=password&client_id=vatps\
         &username=%D0%91%D0%B0%D1%82%D0%B1%D0%BE%D0%BB%D0%B4+%D0%91.\
         &password={HOSTILE_PASSWORD_FORM}"
    );
    assert_request(
        &out,
        Method::POST,
        ITC_PRODUCTION_TOKEN_URL,
        FORM,
        want.as_bytes(),
    );
}

#[test]
fn itc_password_grant_encodes_every_reserved_ascii_character() {
    // Only ASCII alphanumerics and `*-._` stay as they are in a form value.
    let out = itc_password_request(&itc::Config::staging(), "a*b-c.d_e", "!\"#$'()/:;<>?@[\\]^`{|}~,");
    assert_request(
        &out,
        Method::POST,
        ITC_STAGING_TOKEN_URL,
        FORM,
        b"grant_type=password&client_id=vatps&username=a*b-c.d_e\
          &password=%21%22%23%24%27%28%29%2F%3A%3B%3C%3E%3F%40%5B%5C%5D%5E%60%7B%7C%7D%7E%2C",
    );
}

#[test]
fn itc_refresh_grant_staging_and_production() {
    // A refresh token with the characters JWTs and opaque tokens may carry.
    let out = itc_refresh_request(&itc::Config::staging(), "eyJ.r-1_x+y/z=");
    assert_request(
        &out,
        Method::POST,
        ITC_STAGING_TOKEN_URL,
        FORM,
        b"grant_type=refresh_token&client_id=vatps&refresh_token=eyJ.r-1_x%2By%2Fz%3D",
    );
    let out = itc_refresh_request(&itc::Config::production(), "r&1 %");
    assert_request(
        &out,
        Method::POST,
        ITC_PRODUCTION_TOKEN_URL,
        FORM,
        b"grant_type=refresh_token&client_id=vatps&refresh_token=r%261+%25",
    );
}

#[test]
fn itc_session_config_reports_url_and_client() {
    let session = itc::session(&itc::Config::staging(), "u", Password::new("p")).unwrap();
    assert_eq!(session.config().token_url(), ITC_STAGING_TOKEN_URL);
    assert_eq!(session.config().client_id(), itc::CLIENT_ID);
    assert_eq!(itc::CLIENT_ID, "vatps");
    assert_eq!(
        itc::Config::staging().service().as_str(),
        "https://st-service.itc.gov.mn/api/easy-register/"
    );
    assert_eq!(
        itc::Config::production().service().as_str(),
        "https://service.itc.gov.mn/api/easy-register/"
    );
    assert_eq!(
        itc::Config::production().realm().as_str(),
        "https://auth.itc.gov.mn/auth/realms/ITC"
    );
}

#[test]
fn itc_custom_realm_with_and_without_trailing_slash() {
    let service = Endpoint::parse("https://svc.example.mn/api/easy-register/").unwrap();
    for realm in [
        "https://kc.example.mn:8443/auth/realms/Production",
        "https://kc.example.mn:8443/auth/realms/Production/",
    ] {
        let config = itc::Config::new(Endpoint::parse(realm).unwrap(), service.clone());
        let out = itc_password_request(&config, "u", "p");
        assert_request(
            &out,
            Method::POST,
            "https://kc.example.mn:8443/auth/realms/Production/protocol/openid-connect/token",
            FORM,
            b"grant_type=password&client_id=vatps&username=u&password=p",
        );
    }
    // The default port is dropped by URL normalisation, never doubled.
    let config = itc::Config::new(
        Endpoint::parse("https://kc.example.mn:443/auth/realms/X").unwrap(),
        service,
    );
    let out = itc_password_request(&config, "u", "p");
    assert_eq!(
        out.as_http().uri().to_string(),
        "https://kc.example.mn/auth/realms/X/protocol/openid-connect/token"
    );
}

#[test]
fn itc_plain_http_only_with_the_explicit_opt_in() {
    let err = Endpoint::parse("http://127.0.0.1:8080/auth/realms/Local").unwrap_err();
    assert_eq!(
        err,
        Error::Usage(UsageError::InsecureUrl {
            url: "http://127.0.0.1:8080/auth/realms/Local".to_owned()
        })
    );
    // Upper-case schemes are normalised, not a way around the check.
    assert!(matches!(
        Endpoint::parse("HTTP://127.0.0.1:8080/x"),
        Err(Error::Usage(UsageError::InsecureUrl { .. }))
    ));
    let realm = Endpoint::parse_insecure_http("http://127.0.0.1:8080/auth/realms/Local").unwrap();
    let service = Endpoint::parse_insecure_http("http://127.0.0.1:8080/api/").unwrap();
    let out = itc_password_request(&itc::Config::new(realm, service), "u", "p");
    assert_request(
        &out,
        Method::POST,
        "http://127.0.0.1:8080/auth/realms/Local/protocol/openid-connect/token",
        FORM,
        b"grant_type=password&client_id=vatps&username=u&password=p",
    );
}

#[test]
fn outgoing_debug_never_shows_the_body() {
    let out = itc_password_request(&itc::Config::staging(), "u", "SuperSecret-pw");
    let debug = format!("{out:?}");
    assert!(!debug.contains("SuperSecret"), "{debug}");
    assert_eq!(
        debug,
        format!(
            "POST {ITC_STAGING_TOKEN_URL} (application/x-www-form-urlencoded, {} bytes)",
            out.as_http().body().len()
        )
    );
}

// ---------------------------------------------------------------- GAM

const GAM_SCOPE: &str = "iam:user-password:update gamp:erp.customer-reconciliation.write-direct";
const GAM_SCOPE_FORM: &str = "iam%3Auser-password%3Aupdate+gamp%3Aerp.customer-reconciliation.write-direct";

#[test]
fn gam_client_credentials_staging_and_production() {
    for (config, url) in [
        (
            gam::Config::staging(),
            "https://iam-staging.gam.vn/oauth2/v3/token",
        ),
        (gam::Config::production(), "https://iam.gam.vn/oauth2/v3/token"),
    ] {
        let mut flow =
            gam::client_credentials(&config, "partner-app", ClientSecret::new("s3cret"), GAM_SCOPE).unwrap();
        let out = first_send(&mut flow);
        let want = format!(
            "grant_type=client_credentials&client_id=partner-app&client_secret=s3cret&scope={GAM_SCOPE_FORM}"
        );
        assert_request(&out, Method::POST, url, FORM, want.as_bytes());
    }
    assert_eq!(
        gam::Config::staging().resource_server().as_str(),
        "https://gateway-staging.gam.vn/oms"
    );
    assert_eq!(
        gam::Config::production().resource_server().as_str(),
        "https://gateway.gam.vn/oms"
    );
}

#[test]
fn gam_form_encodes_hostile_client_values() {
    let mut flow = gam::client_credentials(
        &gam::Config::staging(),
        "id+with space&more",
        ClientSecret::new(HOSTILE_PASSWORD),
        "a:b c=d",
    )
    .unwrap();
    let out = first_send(&mut flow);
    let want = format!(
        "grant_type=client_credentials&client_id=id%2Bwith+space%26more\
         &client_secret={HOSTILE_PASSWORD_FORM}&scope=a%3Ab+c%3Dd"
    );
    assert_request(
        &out,
        Method::POST,
        "https://iam-staging.gam.vn/oauth2/v3/token",
        FORM,
        want.as_bytes(),
    );
}

#[test]
fn gam_custom_endpoint() {
    let config = gam::Config::new(
        Endpoint::parse("https://proxy.example/gam/").unwrap(),
        Endpoint::parse("https://proxy.example/oms").unwrap(),
    );
    let mut flow = gam::client_credentials(&config, "c", ClientSecret::new("s"), "x").unwrap();
    let out = first_send(&mut flow);
    assert_request(
        &out,
        Method::POST,
        "https://proxy.example/gam/oauth2/v3/token",
        FORM,
        b"grant_type=client_credentials&client_id=c&client_secret=s&scope=x",
    );
}

#[test]
fn gam_refuses_bad_config() {
    let config = gam::Config::staging();
    for scope in ["", "   ", "\t\n"] {
        let err = gam::client_credentials(&config, "c", ClientSecret::new("s"), scope).unwrap_err();
        assert_eq!(
            err,
            Error::Usage(UsageError::InvalidConfig {
                reason: "GAM requires a scope"
            }),
            "scope {scope:?}"
        );
    }
    let err = gam::client_credentials(&config, "", ClientSecret::new("s"), "x").unwrap_err();
    assert_invalid_config(err, "empty client id");
}

// ---------------------------------------------------------------- MonPay

const MONPAY_TEST_TOKEN_URL: &str = "https://z-wallet.monpay.mn/v2/oauth/token";

/// MonPay's presets, a base of the caller's, and the token URL of each.
fn monpay_configs() -> [(monpay::Config, &'static str); 3] {
    [
        (monpay::Config::test(), MONPAY_TEST_TOKEN_URL),
        (
            monpay::Config::production(),
            "https://wallet.monpay.mn/v2/oauth/token",
        ),
        (
            monpay::Config::new(Endpoint::parse("https://proxy.example/monpay").unwrap()),
            "https://proxy.example/monpay/v2/oauth/token",
        ),
    ]
}

/// A form POST to `url` with exactly `body`.
#[track_caller]
fn assert_form_post(out: &Outgoing, url: &str, body: &[u8]) {
    assert_request(out, Method::POST, url, FORM, body);
}

/// A usage error for a configuration the flow refuses.
#[track_caller]
fn assert_invalid_config(err: Error, reason: &'static str) {
    assert_eq!(err, Error::Usage(UsageError::InvalidConfig { reason }));
}

#[test]
fn monpay_exchange_code_test_and_production() {
    for (config, url) in monpay_configs() {
        let mut flow = monpay::exchange_code(
            &config,
            "client-1",
            ClientSecret::new("secret"),
            AuthCode::new("code-1"),
            "https://shop.example/back",
        )
        .unwrap();
        let out = first_send(&mut flow);
        assert_form_post(
            &out,
            url,
            b"redirect_uri=https%3A%2F%2Fshop.example%2Fback&client_id=client-1\
              &client_secret=secret&code=code-1&grant_type=authorization_code",
        );
    }
}

#[test]
fn monpay_form_encodes_hostile_values() {
    let mut flow = monpay::exchange_code(
        &monpay::Config::test(),
        "клиент 1",
        ClientSecret::new(HOSTILE_PASSWORD),
        AuthCode::new("c+o&d=e %"),
        "https://shop.example/back?x=1&y=a b#frag",
    )
    .unwrap();
    let out = first_send(&mut flow);
    let want = format!(
        "redirect_uri=https%3A%2F%2Fshop.example%2Fback%3Fx%3D1%26y%3Da+b%23frag\
         &client_id=%D0%BA%D0%BB%D0%B8%D0%B5%D0%BD%D1%82+1\
         &client_secret={HOSTILE_PASSWORD_FORM}\
         &code=c%2Bo%26d%3De+%25&grant_type=authorization_code"
    );
    assert_form_post(&out, MONPAY_TEST_TOKEN_URL, want.as_bytes());
}

#[test]
fn monpay_custom_endpoint() {
    let config = monpay::Config::new(Endpoint::parse("https://proxy.example/monpay").unwrap());
    assert_eq!(config.base().as_str(), "https://proxy.example/monpay");
    let mut flow = monpay::exchange_code(
        &config,
        "c",
        ClientSecret::new("s"),
        AuthCode::new("k"),
        "https://a.example/",
    )
    .unwrap();
    let out = first_send(&mut flow);
    assert_request(
        &out,
        Method::POST,
        "https://proxy.example/monpay/v2/oauth/token",
        FORM,
        b"redirect_uri=https%3A%2F%2Fa.example%2F&client_id=c&client_secret=s&code=k\
          &grant_type=authorization_code",
    );
}

#[test]
fn monpay_refuses_relative_redirect_uri() {
    for redirect in ["/back", "back", "shop.example/back", ""] {
        let err = monpay::exchange_code(
            &monpay::Config::test(),
            "c",
            ClientSecret::new("s"),
            AuthCode::new("k"),
            redirect,
        )
        .unwrap_err();
        assert_eq!(
            err,
            Error::Usage(UsageError::InvalidConfig {
                reason: "redirect_uri must be an absolute URL"
            }),
            "redirect_uri {redirect:?}"
        );
    }
}

/// A merchant token request with the default lifetime.
fn monpay_merchant(
    config: &monpay::Config,
    id: &str,
    secret: &str,
) -> Result<tokendance::TokenRequest, Error> {
    monpay::client_credentials(
        config,
        id,
        ClientSecret::new(secret),
        monpay::DEFAULT_MERCHANT_TOKEN_LIFETIME,
    )
}

#[test]
fn monpay_merchant_token_test_and_production() {
    for (config, url) in monpay_configs() {
        let mut flow = monpay_merchant(&config, "merchant-1", "secret").unwrap();
        let out = first_send(&mut flow);
        assert_form_post(
            &out,
            url,
            b"client_id=merchant-1&client_secret=secret&grant_type=client_credentials",
        );
    }
}

#[test]
fn monpay_merchant_form_encodes_hostile_values() {
    let mut flow = monpay_merchant(&monpay::Config::test(), "мерчант 1&x=y", HOSTILE_PASSWORD).unwrap();
    let out = first_send(&mut flow);
    let want = format!(
        "client_id=%D0%BC%D0%B5%D1%80%D1%87%D0%B0%D0%BD%D1%82+1%26x%3Dy\
         &client_secret={HOSTILE_PASSWORD_FORM}&grant_type=client_credentials"
    );
    assert_form_post(&out, MONPAY_TEST_TOKEN_URL, want.as_bytes());
}

#[test]
fn monpay_merchant_refuses_bad_config() {
    let config = monpay::Config::test();
    assert_invalid_config(monpay_merchant(&config, "", "s").unwrap_err(), "empty client id");
    let zero = monpay::client_credentials(&config, "m", ClientSecret::new("s"), Duration::ZERO);
    assert_invalid_config(
        zero.unwrap_err(),
        "the assumed merchant token lifetime must not be zero",
    );
    // Any other lifetime is taken, down to a millisecond.
    assert!(
        monpay::client_credentials(&config, "m", ClientSecret::new("s"), Duration::from_millis(1)).is_ok()
    );
    assert_eq!(monpay::DEFAULT_MERCHANT_TOKEN_LIFETIME, Duration::from_secs(3600));
}

// ---------------------------------------------------------------- Astana-plat

const ASTANA_URL: &str = "https://astana-plat.example/api/auth/login";

#[test]
fn astana_password_login() {
    let url = Endpoint::parse(ASTANA_URL).unwrap();
    let mut flow = astana_plat::login_password(&url, "user-1", Password::new("pw")).unwrap();
    let out = first_send(&mut flow);
    assert_request(
        &out,
        Method::POST,
        ASTANA_URL,
        JSON,
        br#"{"authType":1,"login":"user-1","password":"pw"}"#,
    );
}

#[test]
fn astana_password_login_escapes_json() {
    let url = Endpoint::parse(ASTANA_URL).unwrap();
    let mut flow =
        astana_plat::login_password(&url, "Айгүл \"A\"", Password::new("pa\"ss\\wo/rd\n\t\u{1}&+%")).unwrap();
    let out = first_send(&mut flow);
    // serde_json escapes `"`, `\` and control characters, and leaves `/`,
    // non-ASCII and form-significant characters as they are.
    let want = "{\"authType\":1,\"login\":\"Айгүл \\\"A\\\"\",\
                \"password\":\"pa\\\"ss\\\\wo/rd\\n\\t\\u0001&+%\"}";
    assert_request(&out, Method::POST, ASTANA_URL, JSON, want.as_bytes());
    // The body is valid JSON that decodes back to the exact values.
    let v: serde_json::Value = serde_json::from_slice(out.as_http().body()).unwrap();
    assert_eq!(v["login"], "Айгүл \"A\"");
    assert_eq!(v["password"], "pa\"ss\\wo/rd\n\t\u{1}&+%");
}

#[test]
fn astana_certificate_login() {
    let url = Endpoint::parse(ASTANA_URL).unwrap();
    let mut flow = astana_plat::login_certificate(&url).unwrap();
    let out = first_send(&mut flow);
    assert_request(&out, Method::POST, ASTANA_URL, JSON, br#"{"authType":2}"#);
}

#[test]
fn astana_url_is_used_exactly_and_http_needs_the_opt_in() {
    // A trailing slash is kept: the user's URL is the token URL.
    let url = Endpoint::parse("https://astana-plat.example/login/").unwrap();
    let mut flow = astana_plat::login_certificate(&url).unwrap();
    let out = first_send(&mut flow);
    assert_request(
        &out,
        Method::POST,
        "https://astana-plat.example/login/",
        JSON,
        br#"{"authType":2}"#,
    );

    assert!(matches!(
        Endpoint::parse("http://10.0.0.1/api/auth/login"),
        Err(Error::Usage(UsageError::InsecureUrl { .. }))
    ));
    let url = Endpoint::parse_insecure_http("http://10.0.0.1/api/auth/login").unwrap();
    let mut flow = astana_plat::login_password(&url, "u", Password::new("p")).unwrap();
    let out = first_send(&mut flow);
    assert_request(
        &out,
        Method::POST,
        "http://10.0.0.1/api/auth/login",
        JSON,
        br#"{"authType":1,"login":"u","password":"p"}"#,
    );
}

#[test]
fn endpoints_refuse_queries_credentials_and_other_schemes() {
    for bad in [
        "https://h.example/token?x=1",
        "https://h.example/token#f",
        "https://user:pw@h.example/token",
        "ftp://h.example/token",
        "file:///etc/passwd",
        "/relative/path",
    ] {
        assert!(
            matches!(
                Endpoint::parse(bad),
                Err(Error::Usage(UsageError::InvalidUrl { .. }))
            ),
            "{bad}"
        );
        assert!(
            matches!(
                Endpoint::parse_insecure_http(bad),
                Err(Error::Usage(UsageError::InvalidUrl { .. }))
            ),
            "{bad}"
        );
    }
}

#[test]
fn a_one_shot_flow_sends_its_request_once() {
    let mut flow =
        gam::client_credentials(&gam::Config::staging(), "c", ClientSecret::new("s"), "x").unwrap();
    let _first = first_send(&mut flow);
    assert_eq!(
        flow.start(T0).unwrap_err(),
        Error::Usage(UsageError::AlreadyStarted)
    );
    // Still waiting for the response: the request can be answered.
    let done = flow
        .resume(
            T0,
            Input::Response(http::Response::new(br#"{"access_token":"t"}"#.to_vec())),
        )
        .unwrap();
    assert!(matches!(done, Action::Done(_)));
}

//! Exact CRPT requests, in the style of `tests/requests.rs`: for every request
//! of every CRPT flow the method, the full URL, the complete header map (with
//! which values are marked sensitive) and the body bytes; for every signing
//! step the exact bytes, the signature kind and the purpose. Public API only.

use http::Method;

mod common;
use common::time::{at, T0};
use common::{assert_request, kind, send, sign, Header};
use tokendance::crpt::{
    self, gis_mt, mdlp, registration, true_api, GisMtStand, MdlpStand, SuzStand, TrueApiStand,
    DEMO_REGISTRATION_KEY, MDLP_NON_RESIDENT_PRODUCTION_HTTP, MDLP_NON_RESIDENT_SANDBOX_HTTP,
};
use tokendance::{
    AccessToken, Action, ClientSecret, Endpoint, Error, Flow, Input, Password, Purpose, RegistrationKey,
    SignJob, Signature, SignatureKind, Timestamp, UsageError,
};

const OMS_ID: &str = "cdf12109-10d3-11e6-8b6f-0050569977a1";
const CONN: &str = "11b1abc9-f4ee-47db-8a20-f80ac83504e8";
/// A connection id holding every character that could change a path.
const HOSTILE_CONN: &str = "a/b?c#d e%Ж";
/// Its one-segment percent-encoding, worked out by hand: `/`→%2F, `?`→%3F,
/// `#`→%23, space→%20, `%`→%25, `Ж` (U+0416, D0 96)→%D0%96.
const HOSTILE_CONN_SEGMENT: &str = "a%2Fb%3Fc%23d%20e%25%D0%96";

const JSON_UTF8: &str = "application/json;charset=UTF-8";

const ACCEPT: Header<'static> = ("accept", "application/json", false);
const CT_UTF8: Header<'static> = ("content-type", JSON_UTF8, false);
const CT_JSON: Header<'static> = ("content-type", "application/json", false);

#[track_caller]
fn assert_job(job: &SignJob, bytes: &[u8], kind: SignatureKind, purpose: Purpose) {
    assert_eq!(
        String::from_utf8_lossy(job.bytes()),
        String::from_utf8_lossy(bytes),
        "signed bytes as text"
    );
    assert_eq!(job.bytes(), bytes, "signed bytes");
    assert_eq!(job.kind(), kind);
    assert_eq!(job.purpose(), purpose);
}

fn json_response(body: &str) -> Input {
    Input::Response(
        http::Response::builder()
            .status(200)
            .header("content-type", "application/json")
            .body(body.as_bytes().to_vec())
            .unwrap(),
    )
}

/// How many stands a test walks: every one natively; under miri (about a
/// second per flow) the first, since what miri checks does not depend on the
/// host.
fn stands_checked() -> usize {
    if cfg!(miri) {
        1
    } else {
        usize::MAX
    }
}

/// A signature of 200 bytes (all byte values), so its base64 is long enough
/// to wrap, holds `+` and `/`, and ends in padding.
fn big_der() -> Vec<u8> {
    (0..=255u8).cycle().skip(3).take(200).collect()
}

/// Standard padded base64 written here independently of the crate.
fn b64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in bytes.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(char::from(A[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `text` broken with `sep` every `width` characters, with a trailing break
/// (as MIME encoders and CryptoPro's plugin write it).
fn wrap(text: &str, width: usize, sep: &str) -> String {
    let mut out = String::new();
    for chunk in text.as_bytes().chunks(width) {
        out.push_str(std::str::from_utf8(chunk).unwrap());
        out.push_str(sep);
    }
    out
}

// ------------------------------------------------------------ registration

fn register(signing: registration::Signing, version: &str, address: &str) -> registration::Registration {
    registration::register(
        &SuzStand::Demo.endpoint(),
        OMS_ID,
        RegistrationKey::new(DEMO_REGISTRATION_KEY),
        address,
        signing,
        version,
    )
    .unwrap()
}

#[test]
fn registration_signed_v2_signs_and_sends_the_same_bytes() {
    let address = "Москва, ул. \"Льва Толстого\", 16 \\ корп. 2";
    let body = serde_json::to_vec(&serde_json::json!({ "address": address })).unwrap();
    // serde_json writes Cyrillic as UTF-8 and escapes `"` and `\`.
    assert_eq!(
        body,
        "{\"address\":\"Москва, ул. \\\"Льва Толстого\\\", 16 \\\\ корп. 2\"}".as_bytes()
    );
    let mut flow = register(
        registration::Signing::Detached,
        registration::DEFAULT_API_VERSION,
        address,
    );
    let job = sign(flow.start(T0));
    assert_job(&job, &body, SignatureKind::Detached, Purpose::SuzRegistrationBody);
    let der = big_der();
    let out = send(flow.resume(T0, Input::Signature(Signature::from_der(der.clone()))));
    let b64_sig = b64(&der);
    assert!(b64_sig.contains('+') && b64_sig.contains('/') && b64_sig.ends_with('='));
    assert_request(
        &out,
        Method::POST,
        &format!("https://intuot.crpt.ru:16443/api/v2/integration/connection?omsId={OMS_ID}"),
        &[
            ACCEPT,
            CT_UTF8,
            ("x-registrationkey", DEMO_REGISTRATION_KEY, true),
            ("x-signature", &b64_sig, true),
        ],
        &body,
    );
    // Byte for byte what was signed.
    assert_eq!(out.as_http().body().as_slice(), job.bytes());
}

/// A signed registration to the demo stand's v3 path, carrying `body`.
#[track_caller]
fn assert_signed_v3_registration(out: &tokendance::Outgoing, signature: &str, body: &[u8]) {
    assert_request(
        out,
        Method::POST,
        &format!("https://intuot.crpt.ru:16443/api/v3/integration/connection?omsId={OMS_ID}"),
        &[
            ACCEPT,
            CT_UTF8,
            ("x-registrationkey", DEMO_REGISTRATION_KEY, true),
            ("x-signature", signature, true),
        ],
        body,
    );
}

/// SUZ v3's registration with a `name`: the body is address then name,
/// escaped as JSON, signed and sent byte for byte the same, always to v3;
/// an empty name or address is refused before anything is signed.
#[test]
fn registration_with_a_name_goes_to_v3_signed_as_sent() {
    let named = |address: &str, name: &str| {
        registration::register_named(
            &SuzStand::Demo.endpoint(),
            OMS_ID,
            RegistrationKey::new(DEMO_REGISTRATION_KEY),
            address,
            name,
            registration::Signing::Detached,
        )
    };
    let address = "Москва, ул. \"Льва Толстого\", 16";
    for name in ["Склад №2", "a", "quote \" and \\ backslash", "line\nbreak"] {
        let body = serde_json::to_vec(&serde_json::json!({ "address": address, "name": name })).unwrap();
        let mut flow = named(address, name).unwrap();
        let job = sign(flow.start(T0));
        assert_job(&job, &body, SignatureKind::Detached, Purpose::SuzRegistrationBody);
        let der = big_der();
        let out = send(flow.resume(T0, Input::Signature(Signature::from_der(der.clone()))));
        assert_signed_v3_registration(&out, &b64(&der), &body);
        assert_eq!(out.as_http().body().as_slice(), job.bytes());
    }
    for (address, name) in [("addr", ""), ("", "name")] {
        let r = named(address, name);
        assert!(
            matches!(r, Err(Error::Usage(UsageError::InvalidConfig { .. }))),
            "{address:?} {name:?}"
        );
    }
}

#[test]
fn registration_v3_and_unsigned() {
    let mut flow = register(registration::Signing::Detached, "v3", "addr 1");
    let job = sign(flow.start(T0));
    assert_job(
        &job,
        br#"{"address":"addr 1"}"#,
        SignatureKind::Detached,
        Purpose::SuzRegistrationBody,
    );
    let out = send(flow.resume(T0, Input::Signature(Signature::from_der(vec![1, 2]))));
    assert_signed_v3_registration(&out, "AQI=", br#"{"address":"addr 1"}"#);

    for (version, path) in [("v2", "api/v2"), ("v3", "api/v3")] {
        let mut flow = registration::register(
            &SuzStand::Production.endpoint(),
            OMS_ID,
            RegistrationKey::new("rk-1"),
            "addr 2",
            registration::Signing::Unsigned,
            version,
        )
        .unwrap();
        // Pharma: no signature step, no X-Signature header.
        let out = send(flow.start(T0));
        assert_request(
            &out,
            Method::POST,
            &format!("https://suzgrid.crpt.ru:16443/{path}/integration/connection?omsId={OMS_ID}"),
            &[ACCEPT, CT_UTF8, ("x-registrationkey", "rk-1", true)],
            br#"{"address":"addr 2"}"#,
        );
    }
}

#[test]
fn registration_oms_id_is_encoded_in_the_query() {
    let mut flow = registration::register(
        &SuzStand::Demo.endpoint(),
        "a b&omsId=x#y/Ж",
        RegistrationKey::new("rk"),
        "addr",
        registration::Signing::Unsigned,
        "v2",
    )
    .unwrap();
    let out = send(flow.start(T0));
    let uri = out.as_http().uri();
    assert_eq!(uri.path(), "/api/v2/integration/connection");
    assert_eq!(uri.query(), Some("omsId=a+b%26omsId%3Dx%23y%2F%D0%96"));
    // One pair, which decodes back to the value given.
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(uri.query().unwrap().as_bytes())
        .into_owned()
        .collect();
    assert_eq!(pairs, [("omsId".to_owned(), "a b&omsId=x#y/Ж".to_owned())]);
}

#[test]
fn registration_refuses_bad_configuration() {
    let base = SuzStand::Demo.endpoint();
    let build = |oms_id: &str, key: &str, address: &str, version: &str| {
        registration::register(
            &base,
            oms_id,
            RegistrationKey::new(key),
            address,
            registration::Signing::Detached,
            version,
        )
        .map(|_| ())
    };
    assert!(matches!(
        build("", "rk", "addr", "v2"),
        Err(Error::Usage(UsageError::InvalidConfig { .. }))
    ));
    assert!(matches!(
        build(OMS_ID, "rk", "", "v2"),
        Err(Error::Usage(UsageError::InvalidConfig { .. }))
    ));
    // A key that cannot be a header value is refused before anything is sent.
    assert!(matches!(
        build(OMS_ID, "rk\r\nx-evil: 1", "addr", "v2"),
        Err(Error::Usage(UsageError::InvalidConfig { .. }))
    ));
    for version in ["..", ".", "", "%2e%2E"] {
        assert!(
            matches!(
                build(OMS_ID, "rk", "addr", version),
                Err(Error::Usage(UsageError::InvalidPathSegment { .. }))
            ),
            "{version:?}"
        );
    }
    assert!(build(OMS_ID, "rk", "addr", "v3").is_ok());
}

// ------------------------------------------------------------ challenge sign-ins

struct ChallengeCase {
    build: fn(&Endpoint, Option<&str>) -> Result<crpt::ChallengeSignIn, Error>,
    base: Endpoint,
    key_url: &'static str,
    sign_in_url: &'static str,
    purpose: Purpose,
}

fn challenge_cases() -> Vec<ChallengeCase> {
    vec![
        ChallengeCase {
            build: gis_mt::sign_in,
            base: GisMtStand::Production.endpoint(),
            key_url: "https://ismpr.crpt.ru/api/v3/auth/cert/key",
            sign_in_url: "https://ismpr.crpt.ru/api/v3/auth/cert",
            purpose: Purpose::GisMtChallenge,
        },
        ChallengeCase {
            build: gis_mt::sign_in,
            base: GisMtStand::Demo.endpoint(),
            key_url: "https://demo.lp.crpt.tech/api/v3/auth/cert/key",
            sign_in_url: "https://demo.lp.crpt.tech/api/v3/auth/cert",
            purpose: Purpose::GisMtChallenge,
        },
        ChallengeCase {
            build: true_api::sign_in,
            base: TrueApiStand::Demo.endpoint(),
            key_url: "https://int01.gismt.crpt.tech/api/v3/true-api/auth/key",
            sign_in_url: "https://int01.gismt.crpt.tech/api/v3/true-api/auth/simpleSignIn",
            purpose: Purpose::TrueApiChallenge,
        },
        ChallengeCase {
            build: true_api::sign_in,
            base: TrueApiStand::ProductionTobacco.endpoint(),
            key_url: "https://ismotp.crptech.ru/api/v3/true-api/auth/key",
            sign_in_url: "https://ismotp.crptech.ru/api/v3/true-api/auth/simpleSignIn",
            purpose: Purpose::TrueApiChallenge,
        },
        ChallengeCase {
            build: true_api::sign_in,
            base: TrueApiStand::Production.endpoint(),
            key_url: "https://markirovka.crpt.ru/api/v3/true-api/auth/key",
            sign_in_url: "https://markirovka.crpt.ru/api/v3/true-api/auth/simpleSignIn",
            purpose: Purpose::TrueApiChallenge,
        },
    ]
}

#[test]
fn challenge_key_and_sign_in_requests_on_every_stand() {
    let challenge = "QNRPNPFGJZ-Ж\"x";
    let answer = serde_json::json!({"uuid": "u-1", "data": challenge}).to_string();
    for case in challenge_cases().into_iter().take(stands_checked()) {
        for (conn, suffix) in [
            (Some(CONN), format!("/{CONN}")),
            (None, String::new()),
            (Some(HOSTILE_CONN), format!("/{HOSTILE_CONN_SEGMENT}")),
        ] {
            let mut flow = (case.build)(&case.base, conn).unwrap();
            let key = send(flow.start(T0));
            assert_request(&key, Method::GET, case.key_url, &[ACCEPT], b"");
            let job = sign(flow.resume(T0, json_response(&answer)));
            // The exact UTF-8 bytes of `data`, JSON escapes resolved.
            assert_job(&job, challenge.as_bytes(), SignatureKind::Attached, case.purpose);
            let der = big_der();
            let out = send(flow.resume(T0, Input::Signature(Signature::from_der(der.clone()))));
            let body = format!(r#"{{"uuid":"u-1","data":"{}"}}"#, b64(&der));
            assert_request(
                &out,
                Method::POST,
                &format!("{}{suffix}", case.sign_in_url),
                &[ACCEPT, CT_UTF8],
                body.as_bytes(),
            );
            if conn == Some(HOSTILE_CONN) {
                // One segment: nothing became a path separator, query or fragment.
                let uri = out.as_http().uri();
                assert_eq!(uri.query(), None);
                let last = uri.path().rsplit('/').next().unwrap();
                assert_eq!(last, HOSTILE_CONN_SEGMENT);
            }
        }
    }
}

#[test]
fn challenge_refuses_dot_and_empty_connections() {
    for case in challenge_cases() {
        for conn in ["..", ".", "", "%2E%2e", ".%2e"] {
            let r = (case.build)(&case.base, Some(conn));
            assert!(
                matches!(r, Err(Error::Usage(UsageError::InvalidPathSegment { .. }))),
                "{conn:?}: {:?}",
                r.map(|_| ())
            );
        }
        // A dot inside a value is just a character.
        assert!((case.build)(&case.base, Some("a..b")).is_ok());
    }
}

#[test]
fn challenge_on_a_user_endpoint_with_a_trailing_slash() {
    let base = Endpoint::parse("https://gismt.example/api/v3/true-api/").unwrap();
    let mut flow = true_api::sign_in(&base, Some(CONN)).unwrap();
    let key = send(flow.start(T0));
    assert_eq!(
        key.as_http().uri().to_string(),
        "https://gismt.example/api/v3/true-api/auth/key"
    );
    let _job = sign(flow.resume(T0, json_response(r#"{"uuid":"u","data":"d"}"#)));
    let out = send(flow.resume(T0, Input::Signature(Signature::from_der(vec![0x30]))));
    assert_eq!(
        out.as_http().uri().to_string(),
        format!("https://gismt.example/api/v3/true-api/auth/simpleSignIn/{CONN}")
    );
}

/// True API's sign-in for a chosen company: the body ends with its INN, on
/// every stand, with and without a connection; an INN that is not 10 or 12
/// ASCII digits is refused before anything is sent.
#[test]
fn true_api_sign_in_for_an_inn_sends_it_last() {
    for stand in TrueApiStand::ALL.iter().take(stands_checked()) {
        let base = stand.endpoint();
        for (conn, suffix) in [(Some(CONN), format!("/{CONN}")), (None, String::new())] {
            for inn in ["7707083893", "500100732259"] {
                let mut flow = true_api::sign_in_for(&base, conn, inn).unwrap();
                let key = send(flow.start(T0));
                assert_eq!(key.as_http().uri().to_string(), format!("{base}/auth/key"));
                let _job = sign(flow.resume(T0, json_response(r#"{"uuid":"u-1","data":"d"}"#)));
                let der = big_der();
                let out = send(flow.resume(T0, Input::Signature(Signature::from_der(der.clone()))));
                let body = format!(r#"{{"uuid":"u-1","data":"{}","inn":"{inn}"}}"#, b64(&der));
                assert_request(
                    &out,
                    Method::POST,
                    &format!("{base}/auth/simpleSignIn{suffix}"),
                    &[ACCEPT, CT_UTF8],
                    body.as_bytes(),
                );
            }
        }
    }
    let base = TrueApiStand::Demo.endpoint();
    let lengths = (0..=14).filter(|n| !matches!(n, 10 | 12)).map(|n| "7".repeat(n));
    let bad = [
        "770708389x",
        "77070838 3",
        "７７０７０８３８９３",
        "-707083893",
        "+707083893",
        "770708389\n",
    ];
    for inn in lengths.chain(bad.iter().map(|s| (*s).to_owned())) {
        let r = true_api::sign_in_for(&base, Some(CONN), &inn);
        assert!(
            matches!(r, Err(Error::Usage(UsageError::InvalidConfig { .. }))),
            "{inn:?}: {:?}",
            r.map(|_| ())
        );
    }
}

// ------------------------------------------------------------ MDLP

const CLIENT_ID: &str = "7df0d06f-1c0b-4a5b-9c2f-1b2a3c4d5e6f";
/// A secret JSON must escape.
const CLIENT_SECRET: &str = "s\"e\\c/r Ж";
const CLIENT_SECRET_JSON: &str = r#"s\"e\\c/r Ж"#;

fn client() -> mdlp::Client {
    mdlp::Client {
        id: CLIENT_ID.to_owned(),
        secret: ClientSecret::new(CLIENT_SECRET),
    }
}

#[test]
fn mdlp_signed_code_requests() {
    for (conn, suffix) in [
        (Some(CONN), format!("/{CONN}")),
        (None, String::new()),
        (Some(HOSTILE_CONN), format!("/{HOSTILE_CONN_SEGMENT}")),
    ] {
        let mut flow = mdlp::sign_in(
            &MdlpStand::Production.endpoint(),
            client(),
            "0A1B2C3D4E5F",
            mdlp::Auth::SignedCode,
            conn,
        )
        .unwrap();
        let auth = send(flow.start(T0));
        let auth_body = format!(
            r#"{{"client_id":"{CLIENT_ID}","client_secret":"{CLIENT_SECRET_JSON}","user_id":"0A1B2C3D4E5F","auth_type":"SIGNED_CODE"}}"#
        );
        assert_request(
            &auth,
            Method::POST,
            "https://api.mdlp.crpt.ru/api/v1/auth",
            &[ACCEPT, CT_JSON],
            auth_body.as_bytes(),
        );
        let job = sign(flow.resume(T0, json_response(r#"{"code":"b7b1abc9-Ж"}"#)));
        assert_job(
            &job,
            "b7b1abc9-Ж".as_bytes(),
            SignatureKind::Detached,
            Purpose::MdlpCode,
        );
        // The signer took two seconds: no wait.
        let later = at(2);
        let der = big_der();
        let out = send(flow.resume(later, Input::Signature(Signature::from_der(der.clone()))));
        let body = format!(r#"{{"code":"b7b1abc9-Ж","signature":"{}"}}"#, b64(&der));
        assert_request(
            &out,
            Method::POST,
            &format!("https://api.mdlp.crpt.ru/api/v1/token{suffix}"),
            &[ACCEPT, CT_JSON],
            body.as_bytes(),
        );
    }
}

#[test]
fn mdlp_password_requests() {
    let password = "p\"a&s s+Ж";
    for (conn, suffix) in [(Some(CONN), format!("/{CONN}")), (None, String::new())] {
        let mut flow = mdlp::sign_in(
            &MdlpStand::NonResidentSandbox.endpoint(),
            client(),
            "user@example.org",
            mdlp::Auth::Password(Password::new(password)),
            conn,
        )
        .unwrap();
        let auth = send(flow.start(T0));
        let auth_body = format!(
            r#"{{"client_id":"{CLIENT_ID}","client_secret":"{CLIENT_SECRET_JSON}","user_id":"user@example.org","auth_type":"PASSWORD"}}"#
        );
        assert_request(
            &auth,
            Method::POST,
            "https://nrz.api.sb.mdlp.crpt.ru/api/v1/auth",
            &[ACCEPT, CT_JSON],
            auth_body.as_bytes(),
        );
        // No signing step: the flow waits for the spacing, then sends.
        let action = flow.resume(T0, json_response(r#"{"code":"c-1"}"#)).unwrap();
        let Action::Wait(until) = action else {
            panic!("expected Wait, got {}", kind(&action))
        };
        assert_eq!(until, T0.saturating_add(mdlp::SPACING));
        let out = send(flow.resume(until, Input::Timeout));
        assert_request(
            &out,
            Method::POST,
            &format!("https://nrz.api.sb.mdlp.crpt.ru/api/v1/token{suffix}"),
            &[ACCEPT, CT_JSON],
            r#"{"code":"c-1","password":"p\"a&s s+Ж"}"#.as_bytes(),
        );
    }
}

#[test]
fn mdlp_refuses_bad_configuration() {
    let base = MdlpStand::Sandbox.endpoint();
    let r = mdlp::sign_in(&base, client(), "", mdlp::Auth::SignedCode, None);
    assert!(matches!(r, Err(Error::Usage(UsageError::InvalidConfig { .. }))));
    let mut no_id = client();
    no_id.id.clear();
    let r = mdlp::sign_in(&base, no_id, "u", mdlp::Auth::SignedCode, None);
    assert!(matches!(r, Err(Error::Usage(UsageError::InvalidConfig { .. }))));
    for conn in ["..", ".", "", "%2e."] {
        let r = mdlp::sign_in(&base, client(), "u", mdlp::Auth::SignedCode, Some(conn));
        assert!(
            matches!(r, Err(Error::Usage(UsageError::InvalidPathSegment { .. }))),
            "{conn:?}"
        );
    }
}

// ------------------------------------------------------------ stands and endpoints

#[test]
fn every_stand_preset_is_the_documented_url() {
    let cases: Vec<(Endpoint, &str)> = vec![
        (SuzStand::Demo.endpoint(), "https://intuot.crpt.ru:16443/"),
        (SuzStand::Production.endpoint(), "https://suzgrid.crpt.ru:16443/"),
        (
            SuzStand::IntegratorSandbox.endpoint(),
            "https://suz-integrator.sandbox.crptech.ru/",
        ),
        (MdlpStand::Production.endpoint(), "https://api.mdlp.crpt.ru/"),
        (MdlpStand::Sandbox.endpoint(), "https://api.sb.mdlp.crpt.ru/"),
        (
            MdlpStand::NonResidentProduction.endpoint(),
            "https://nrz.api.mdlp.crpt.ru/",
        ),
        (
            MdlpStand::NonResidentSandbox.endpoint(),
            "https://nrz.api.sb.mdlp.crpt.ru/",
        ),
        (GisMtStand::Production.endpoint(), "https://ismpr.crpt.ru/api/v3"),
        (GisMtStand::Demo.endpoint(), "https://demo.lp.crpt.tech/api/v3"),
        (
            TrueApiStand::Demo.endpoint(),
            "https://int01.gismt.crpt.tech/api/v3/true-api",
        ),
        (
            TrueApiStand::ProductionTobacco.endpoint(),
            "https://ismotp.crptech.ru/api/v3/true-api",
        ),
        (
            TrueApiStand::Production.endpoint(),
            "https://markirovka.crpt.ru/api/v3/true-api",
        ),
        (
            TrueApiStand::Sandbox.endpoint(),
            "https://markirovka.sandbox.crptech.ru/api/v3/true-api",
        ),
    ];
    // Every stand of every enum is in the table, each once.
    let all: Vec<Endpoint> = (SuzStand::ALL.iter().map(|s| s.endpoint()))
        .chain(MdlpStand::ALL.iter().map(|s| s.endpoint()))
        .chain(GisMtStand::ALL.iter().map(|s| s.endpoint()))
        .chain(TrueApiStand::ALL.iter().map(|s| s.endpoint()))
        .collect();
    assert_eq!(all.len(), cases.len());
    for endpoint in &all {
        assert_eq!(
            cases.iter().filter(|(e, _)| e == endpoint).count(),
            1,
            "{endpoint}"
        );
    }
    for (endpoint, url) in cases {
        assert_eq!(endpoint.as_str(), url);
        assert_eq!(endpoint.to_string(), url);
        // Each preset is also what a user parsing the documented text gets.
        assert_eq!(Endpoint::parse(url.trim_end_matches('/')).unwrap(), endpoint);
    }
    assert_eq!(DEMO_REGISTRATION_KEY, "4344d884-7f21-456c-981e-cd68e92391e8");
}

#[test]
fn every_mdlp_stand_builds_its_auth_and_token_urls() {
    for (stand, host) in [
        (MdlpStand::Production, "api.mdlp.crpt.ru"),
        (MdlpStand::Sandbox, "api.sb.mdlp.crpt.ru"),
        (MdlpStand::NonResidentProduction, "nrz.api.mdlp.crpt.ru"),
        (MdlpStand::NonResidentSandbox, "nrz.api.sb.mdlp.crpt.ru"),
    ] {
        let mut flow = mdlp::sign_in(
            &stand.endpoint(),
            client(),
            "u",
            mdlp::Auth::Password(Password::new("pw")),
            Some(CONN),
        )
        .unwrap();
        let auth = send(flow.start(T0));
        assert_eq!(
            auth.as_http().uri().to_string(),
            format!("https://{host}/api/v1/auth")
        );
        let late = at(5);
        // The spacing counts from the answer, however late it came.
        let action = flow.resume(late, json_response(r#"{"code":"c"}"#)).unwrap();
        let Action::Wait(until) = action else {
            panic!("expected Wait, got {}", kind(&action))
        };
        assert_eq!(until, late.saturating_add(mdlp::SPACING));
        let out = send(flow.resume(until, Input::Timeout));
        assert_eq!(
            out.as_http().uri().to_string(),
            format!("https://{host}/api/v1/token/{CONN}")
        );
    }
}

#[test]
fn plain_http_mdlp_stands_need_the_explicit_opt_in() {
    assert_eq!(MDLP_NON_RESIDENT_PRODUCTION_HTTP, "http://api.mdlp.crpt.ru");
    assert_eq!(MDLP_NON_RESIDENT_SANDBOX_HTTP, "http://api.sb.mdlp.crpt.ru");
    for url in [MDLP_NON_RESIDENT_PRODUCTION_HTTP, MDLP_NON_RESIDENT_SANDBOX_HTTP] {
        let e = Endpoint::parse(url).unwrap_err();
        assert!(matches!(e, Error::Usage(UsageError::InsecureUrl { .. })), "{e:?}");
        let endpoint = Endpoint::parse_insecure_http(url).unwrap();
        let mut flow = mdlp::sign_in(
            &endpoint,
            client(),
            "u@example.org",
            mdlp::Auth::Password(Password::new("pw")),
            None,
        )
        .unwrap();
        let auth = send(flow.start(T0));
        assert_eq!(auth.as_http().uri().to_string(), format!("{url}/api/v1/auth"));
    }
}

// ------------------------------------------------------------ header helpers

#[test]
fn token_header_helpers() {
    let token = AccessToken::new("58f908f1-832a-4ad0-93f4-bdafbf8eb55a");
    let (name, value) = tokendance::call::Scheme::SuzClientToken.header(&token).unwrap();
    assert_eq!(name.as_str(), "clienttoken");
    assert_eq!(value.to_str().unwrap(), "58f908f1-832a-4ad0-93f4-bdafbf8eb55a");
    assert!(value.is_sensitive());
    assert!(!format!("{value:?}").contains("58f908f1"));

    let jwt = AccessToken::new("eyJhbGciOi.eyJzdWIi.c2ln");
    let (name, value) = tokendance::call::Scheme::MdlpToken.header(&jwt).unwrap();
    assert_eq!(name, http::header::AUTHORIZATION);
    assert_eq!(value.to_str().unwrap(), "token eyJhbGciOi.eyJzdWIi.c2ln");
    assert!(value.is_sensitive());

    // They fit straight into a request.
    let mut req = http::Request::new(());
    let (n, v) = tokendance::call::Scheme::SuzClientToken.header(&token).unwrap();
    req.headers_mut().insert(n, v);
    assert_eq!(
        req.headers()["clientToken"],
        "58f908f1-832a-4ad0-93f4-bdafbf8eb55a"
    );

    // A token that cannot be a header value is a usage error, not a panic.
    for bad in ["a\r\nx: y", "a\nb", "\u{0}"] {
        let t = AccessToken::new(bad);
        assert!(matches!(
            tokendance::call::Scheme::SuzClientToken.header(&t),
            Err(Error::Usage(UsageError::InvalidConfig { .. }))
        ));
        assert!(matches!(
            tokendance::call::Scheme::MdlpToken.header(&t),
            Err(Error::Usage(UsageError::InvalidConfig { .. }))
        ));
    }
}

// ------------------------------------------------------------ signatures

#[test]
fn wrapped_base64_signatures_are_sent_on_one_line() {
    let der: Vec<u8> = (0..=255u8).cycle().take(5 * 1024 + 7).collect();
    let one_line = b64(&der);
    for (width, sep) in [(64, "\r\n"), (76, "\r\n"), (64, "\n"), (76, "\n")] {
        let wrapped = wrap(&one_line, width, sep);
        assert!(wrapped.contains(sep));
        let signature = Signature::from_base64(&wrapped).unwrap();
        assert_eq!(signature.as_der(), der.as_slice());
        assert_eq!(signature.to_base64(), one_line);

        // X-Signature: one line.
        let mut flow = register(registration::Signing::Detached, "v2", "addr");
        let _ = sign(flow.start(T0));
        let out = send(flow.resume(T0, Input::Signature(signature.clone())));
        assert_eq!(out.as_http().headers()["x-signature"], one_line.as_str());

        // Challenge body: one line.
        let mut flow = gis_mt::sign_in(&GisMtStand::Demo.endpoint(), Some(CONN)).unwrap();
        let _ = send(flow.start(T0));
        let _ = sign(flow.resume(T0, json_response(r#"{"uuid":"u","data":"d"}"#)));
        let out = send(flow.resume(T0, Input::Signature(signature.clone())));
        let body = String::from_utf8(out.as_http().body().clone()).unwrap();
        assert_eq!(body, format!(r#"{{"uuid":"u","data":"{one_line}"}}"#));
        assert!(!body.contains('\n') && !body.contains("\\r") && !body.contains("\\n"));

        // MDLP body: one line.
        let mut flow = mdlp::sign_in(
            &MdlpStand::Sandbox.endpoint(),
            client(),
            "u",
            mdlp::Auth::SignedCode,
            None,
        )
        .unwrap();
        let _ = send(flow.start(T0));
        let _ = sign(flow.resume(T0, json_response(r#"{"code":"c"}"#)));
        let late = at(1);
        let out = send(flow.resume(late, Input::Signature(signature)));
        let body = String::from_utf8(out.as_http().body().clone()).unwrap();
        assert_eq!(body, format!(r#"{{"code":"c","signature":"{one_line}"}}"#));
    }
    // Unpadded input is accepted and sent padded.
    assert_eq!(Signature::from_base64("AQI").unwrap().to_base64(), "AQI=");
}

#[test]
fn invalid_base64_is_a_typed_error() {
    for bad in [
        "not base64!",
        "A",
        "AB=C",
        "AB===",
        "QUJD\r\n-_",
        "QUJD\u{416}",
        "====",
    ] {
        assert_eq!(
            Signature::from_base64(bad),
            Err(Error::Usage(UsageError::InvalidSignatureEncoding)),
            "{bad:?}"
        );
    }
}

/// MDLP's `Auth` shows which proof it is, never the password.
#[test]
fn mdlp_auth_debug_names_the_proof_only() {
    use tokendance::crpt::mdlp;
    assert_eq!(format!("{:?}", mdlp::Auth::SignedCode), "SignedCode");
    assert_eq!(
        format!("{:?}", mdlp::Auth::Password(Password::new("pw-4412"))),
        "Password(Password(<redacted>))"
    );
}

/// The CRPT flows' Debug names their state as they go, and nothing else.
#[test]
fn crpt_flow_debug_names_the_state() {
    use tokendance::crpt::{mdlp, registration, MdlpStand, SuzStand};
    let mut flow = registration::register(
        &SuzStand::Demo.endpoint(),
        "cdf12109-10d3-11e6-8b6f-0050569977a1",
        tokendance::RegistrationKey::new("reg-key-77"),
        "Moscow",
        registration::Signing::Detached,
        registration::DEFAULT_API_VERSION,
    )
    .unwrap();
    assert_eq!(format!("{flow:?}"), "Registration(New)");
    let _ = sign(flow.start(T0));
    assert_eq!(format!("{flow:?}"), "Registration(Signing)");

    let client = mdlp::Client {
        id: "7df0d06f".into(),
        secret: ClientSecret::new("mdlp-secret-9"),
    };
    let mut flow = mdlp::sign_in(
        &MdlpStand::Sandbox.endpoint(),
        client,
        "user@example.org",
        mdlp::Auth::SignedCode,
        None,
    )
    .unwrap();
    assert_eq!(format!("{flow:?}"), "MdlpSignIn(New)");
    let _ = send(flow.start(T0));
    assert_eq!(format!("{flow:?}"), "MdlpSignIn(Authenticating)");
}

/// The answer to `/auth` at `answered`, the signature at `signed`: the flow
/// sends the token request at once when the spacing has passed, and
/// otherwise waits until [`mdlp::SPACING`] after the earlier of the two
/// (so at most the spacing from `signed`), however the clock moved in
/// between (back by up to three days, to or from the edges of time); woken
/// early it waits for the same instant, woken then it sends (before the
/// end of time).
#[test]
fn mdlp_spacing_is_bounded_from_the_signature_whatever_the_clock_did() {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};
    let day_ms = 86_400_000u64;
    let instant = prop_oneof![
        (0u64..=4_000_000_000_000).prop_map(Timestamp::from_unix_millis),
        Just(Timestamp::MAX),
        Just(Timestamp::from_unix_millis(0)),
    ];
    let step = prop_oneof![
        Just(0i64),
        // Back from the end of time by exactly the spacing (found by a run:
        // MAX − 1 s + 1 s is MAX, an instant the flow may send at).
        Just(-(mdlp::SPACING.as_millis() as i64)),
        -(3 * day_ms as i64)..=3 * day_ms as i64,
        -2_000i64..=2_000,
    ];
    // Under miri each case costs seconds: a handful there, the class natively.
    let cases = if cfg!(miri) { 6 } else { 500 };
    let mut runner = TestRunner::new(Config {
        failure_persistence: None,
        ..Config::with_cases(cases)
    });
    runner
        .run(&(instant, step), |(answered, step)| {
            let signed = if step < 0 {
                answered.saturating_sub(std::time::Duration::from_millis(step.unsigned_abs()))
            } else {
                answered.saturating_add(std::time::Duration::from_millis(step as u64))
            };
            let mut flow = mdlp::sign_in(
                &MdlpStand::Production.endpoint(),
                client(),
                "0A1B2C3D4E5F",
                mdlp::Auth::SignedCode,
                Some(CONN),
            )
            .unwrap();
            send(flow.start(answered));
            sign(flow.resume(answered, json_response(r#"{"code":"c"}"#)));
            let der = Input::Signature(Signature::from_der(vec![0x30, 0x00]));
            let spaced = signed.saturating_duration_since(answered) >= mdlp::SPACING;
            match flow.resume(signed, der).unwrap() {
                Action::Send(_) => prop_assert!(spaced, "sent {step} ms after the answer"),
                Action::Wait(until) => {
                    prop_assert!(!spaced, "waits although {step} ms passed");
                    // The spacing runs from the answer, or from the signature
                    // when the clock went back past the answer.
                    let expected = answered.min(signed).saturating_add(mdlp::SPACING);
                    prop_assert_eq!(until, expected, "from the signature at {:?}", signed);
                    prop_assert!(until <= signed.saturating_add(mdlp::SPACING));
                    if until > signed {
                        // Woken a millisecond early, it waits for the same instant.
                        let early = until
                            .saturating_sub(std::time::Duration::from_millis(1))
                            .max(signed);
                        let again = flow.resume(early, Input::Timeout).unwrap();
                        prop_assert!(
                            matches!(again, Action::Wait(u) if u == until),
                            "woken early: {}",
                            kind(&again)
                        );
                    }
                    // At the end of time no instant comes a whole spacing
                    // after the start: the flow keeps spacing (documented
                    // on `space`). The start is the answer, or the signature
                    // when the clock went back: from MAX − 1 s, MAX is one.
                    let start = answered.min(signed).as_unix_millis();
                    let reachable = start.checked_add(mdlp::SPACING.as_millis() as u64).is_some();
                    let out = flow.resume(until, Input::Timeout).unwrap();
                    match out {
                        Action::Send(_) => prop_assert!(reachable, "sent at {until:?}"),
                        Action::Wait(again) => {
                            prop_assert!(!reachable && again == Timestamp::MAX && until == Timestamp::MAX)
                        }
                        other => prop_assert!(false, "woken at {until:?}: {}", kind(&other)),
                    }
                }
                other => prop_assert!(false, "after the signature: {}", kind(&other)),
            }
            Ok(())
        })
        .unwrap();
}

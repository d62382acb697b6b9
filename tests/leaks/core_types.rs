//! The core types on their own: secrets without Display or serde, redaction, endpoints, the detectors.

use super::*;

/// Whether a type implements a trait, decided at compile time without
/// specialization: an inherent associated const (only present when the bound
/// holds) shadows the blanket trait's const.
macro_rules! implements {
    ($t:ty: $($bound:tt)+) => {{
        #[allow(dead_code)]
        trait Fallback {
            const IMPLEMENTS: bool = false;
        }
        impl<T: ?Sized> Fallback for T {}
        struct Probe<T: ?Sized>(std::marker::PhantomData<T>);
        #[allow(dead_code)]
        impl<T: ?Sized + $($bound)+> Probe<T> {
            const IMPLEMENTS: bool = true;
        }
        <Probe<$t>>::IMPLEMENTS
    }};
}

#[test]
fn secrets_have_no_display_and_no_serde() {
    let probes = [
        ("String: Display (control)", implements!(String: Display), true),
        ("Password: Debug (control)", implements!(Password: Debug), true),
        ("Password: Display", implements!(Password: Display), false),
        ("ClientSecret: Display", implements!(ClientSecret: Display), false),
        ("AccessToken: Display", implements!(AccessToken: Display), false),
        ("RefreshToken: Display", implements!(RefreshToken: Display), false),
        ("AuthCode: Display", implements!(AuthCode: Display), false),
        (
            "RegistrationKey: Display",
            implements!(RegistrationKey: Display),
            false,
        ),
        ("Signature: Display", implements!(Signature: Display), false),
        ("TokenSet: Display", implements!(TokenSet: Display), false),
        (
            "String: Serialize (control)",
            implements!(String: serde::Serialize),
            true,
        ),
        (
            "Password: Serialize",
            implements!(Password: serde::Serialize),
            false,
        ),
        (
            "AccessToken: Serialize",
            implements!(AccessToken: serde::Serialize),
            false,
        ),
        (
            "RefreshToken: Serialize",
            implements!(RefreshToken: serde::Serialize),
            false,
        ),
        (
            "ClientSecret: Serialize",
            implements!(ClientSecret: serde::Serialize),
            false,
        ),
        (
            "TokenSet: Serialize",
            implements!(TokenSet: serde::Serialize),
            false,
        ),
        (
            "Signature: Serialize",
            implements!(Signature: serde::Serialize),
            false,
        ),
        (
            "Password: Deserialize",
            implements!(Password: for<'de> serde::Deserialize<'de>),
            false,
        ),
        (
            "AccessToken: Deserialize",
            implements!(AccessToken: for<'de> serde::Deserialize<'de>),
            false,
        ),
    ];
    for (name, got, want) in probes {
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn core_types_redact_and_expose() {
    let mut seen = Seen::default();
    let p = Password::new(PW);
    let cs = ClientSecret::new(CLIENT_SECRET);
    let at = AccessToken::new(ACCESS);
    let rt = RefreshToken::new(REFRESH);
    let code = AuthCode::new(AUTH_CODE);
    let rk = RegistrationKey::new(REG_KEY);
    assert_eq!(p.expose_secret(), PW);
    assert_eq!(cs.expose_secret(), CLIENT_SECRET);
    assert_eq!(at.expose_secret(), ACCESS);
    assert_eq!(rt.expose_secret(), REFRESH);
    assert_eq!(code.expose_secret(), AUTH_CODE);
    assert_eq!(rk.expose_secret(), REG_KEY);
    assert_eq!(format!("{p:?}"), "Password(<redacted>)");
    assert_eq!(format!("{rk:?}"), "RegistrationKey(<redacted>)");
    seen.debug("password", &p);
    seen.debug("client secret", &cs);
    seen.debug("access token", &at);
    seen.debug("refresh token", &rt);
    seen.debug("auth code", &code);
    seen.debug("registration key", &rk);
    seen.debug(
        "secrets in containers",
        &(Some(p.clone()), vec![cs.clone()], [at.clone()]),
    );

    let t0 = T0;
    let token = TokenSet::new(at.clone(), t0, Some(t0.saturating_add(Duration::from_secs(300))))
        .with_refresh_token(rt.clone(), None)
        .with_scope("openid");
    seen.token("token set", &token);
    assert_eq!(token.refresh_token().unwrap().expose_secret(), REFRESH);
    seen.debug("action done", &Action::Done(token.clone()));
    seen.debug("action done access", &Action::Done(at.clone()));
    seen.debug("action wait", &Action::<TokenSet>::Wait(t0));

    let sig = Signature::from_der(SIG_DER.to_vec());
    assert_eq!(sig.as_der(), SIG_DER);
    assert_eq!(Signature::from_base64(&sig.to_base64()).unwrap(), sig);
    seen.debug("signature", &sig);
    seen.debug("signature input", &Input::Signature(sig.clone()));
    let job = SignJob::new(
        JOB_BYTES.to_vec(),
        SignatureKind::Attached,
        Purpose::GisMtChallenge,
    );
    assert_eq!(job.bytes(), JOB_BYTES);
    seen.debug("sign job", &job);
    seen.debug("action sign", &Action::<TokenSet>::Sign(job.clone()));
    let bad = Signature::from_base64(&format!("{PW}!")).unwrap_err();
    seen.error("bad base64", &bad);

    // Configuration and endpoints (no secrets in them, but printed in logs).
    let endpoint = Endpoint::parse("https://astana-plat.example/api/auth/login").unwrap();
    seen.both("endpoint", &endpoint);
    seen.debug("itc config", &itc::Config::production());
    seen.debug("gam config", &gam::Config::production());
    seen.debug("monpay config", &monpay::Config::production());
    let refusal = astana_login_refusal();
    seen.debug("astana login error", &astana_plat::LoginError::of(&refusal));

    // Response input: status and length only.
    let input = Input::Response(json(200, serde_json::json!({"access_token": ACCESS})));
    seen.debug("response input", &input);

    // Drive errors wrapping flow errors and the caller's own errors.
    let de: drive::DriveError<std::io::Error, drive::NoSigner> = drive::DriveError::Signer(drive::NoSigner);
    seen.both("drive signer error", &de);
    let de: drive::DriveError<std::io::Error, drive::NoSigner> = drive::DriveError::Flow(bad.clone());
    seen.both("drive flow error", &de);

    seen.assert_clean(30);
}

/// An Astana refusal echoing the password, as the flow reports it.
fn astana_login_refusal() -> tokendance::ServerError {
    let url = Endpoint::parse("https://astana-plat.example/api/auth/login").unwrap();
    let mut flow = astana_plat::login_password(&url, "login-one", Password::new(PW)).unwrap();
    let _ = flow.start(T0).unwrap();
    let answer = json(
        200,
        serde_json::json!({"statusCode": 400, "message": format!("User {PW} with given credentials not found")}),
    );
    let err = flow.resume(T0, Input::Response(answer)).unwrap_err();
    err.as_server().unwrap().clone()
}

#[test]
fn endpoint_errors_never_print_url_credentials() {
    let mut seen = Seen::default();
    let urls = [
        format!("http://user:{PW}@auth.example/realm"),
        format!("https://user:{PW}@auth.example/realm"),
        format!("http://{PW}@auth.example/realm"),
        format!("https://auth.example/realm?client_secret={CLIENT_SECRET}"),
        format!("http://auth.example/realm?client_secret={CLIENT_SECRET}"),
        format!("http://auth.example/realm#{ACCESS}"),
        format!("https://auth.example/realm#access_token={ACCESS}"),
        format!("ftp://user:{PW}@auth.example/"),
        format!("not a url {PW}"),
    ];
    for url in &urls {
        let e = Endpoint::parse(url).unwrap_err();
        seen.error(&format!("parse {url}"), &e);
    }
    for url in &urls[..3] {
        let e = Endpoint::parse_insecure_http(url).unwrap_err();
        seen.error(&format!("parse_insecure_http {url}"), &e);
    }
    // A plain http URL is still named in the error, so the caller knows which.
    let e = Endpoint::parse(&format!("http://user:{PW}@auth.example/realm")).unwrap_err();
    assert!(matches!(e, Error::Usage(UsageError::InsecureUrl { .. })), "{e:?}");
    assert!(e.to_string().contains("auth.example/realm"), "{e}");
    seen.assert_clean(urls.len() * 4);
}

/// Self-test of the detectors: each encoding of a canary is found, so a
/// clean report above means something.
#[test]
fn detectors_find_every_form() {
    for canary in all_canaries() {
        let text = std::str::from_utf8(&canary).unwrap();
        for (form, encoded) in encodings(text) {
            let hidden = format!("prefix {encoded} suffix");
            assert!(find_encoded_leak(&hidden).is_some(), "{form} of {text:?}");
            // As `Debug` prints it (line breaks as `\r\n`), and as `Display`
            // does (control characters as spaces), behind a `=`.
            for printed in [
                format!("message: {encoded:?}"),
                format!("x={}", encoded.replace(char::is_control, " ")),
            ] {
                assert!(
                    find_encoded_leak(&printed).is_some(),
                    "{form} of {text:?} in {printed:?}"
                );
            }
            // An encoded form inside a body printed as a byte list.
            let list = format!("{:?}", format!("password={encoded}&x=1").into_bytes());
            assert!(
                find_encoded_leak(&list).is_some(),
                "byte list of the {form} of {text:?}"
            );
        }
        // A secret base64-encoded inside a longer blob, at each alignment.
        for shift in 0..3 {
            let mut blob = b"user-one:".to_vec();
            blob.extend(std::iter::repeat_n(b'z', shift));
            blob.extend_from_slice(&canary);
            blob.extend_from_slice(b":tail");
            for (alphabet, pad) in [(B64_STD, true), (B64_STD, false), (B64_URL, false)] {
                let encoded = base64(&blob, alphabet, pad);
                let without_prefix = encoded.replace("CANARY", "");
                assert!(find_encoded_leak(&without_prefix).is_some(), "blob shift {shift}");
            }
        }
        let debug_list = format!("{:?}", canary);
        assert!(find_encoded_leak(&debug_list.replace("CANARY", "")).is_some());
        let pretty_list = format!("{:#?}", canary);
        assert!(find_encoded_leak(&pretty_list).is_some());
        let hex_list = format!("{:x?}", canary);
        assert!(find_encoded_leak(&hex_list).is_some(), "{hex_list}");
    }
    assert!(find_leak("nothing to see, CANAR").is_none());
    assert!(find_leak("CANARY").is_some());
}

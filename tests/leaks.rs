//! Canary leak test, in the style of str0m's `tests/pii.rs`.
//!
//! Every flow is built with distinct canary secrets and run, through success
//! and error paths, against a scripted server that echoes those canaries back:
//! in the tokens it issues, in `error`/`error_description`/`message`, in a
//! redirect's query, in an HTML page, in a 200 body that fails to parse, in an
//! echo of the raw request body. The `{:?}`, `{:#?}` and `{}` (where it exists)
//! of every public value the flows hand out is collected, and no canary may
//! appear in any of them: not plainly, not percent-encoded (form style with
//! `+`, or `%XX` for every reserved byte, or for every byte, in either hex
//! case), not base64-encoded (standard and URL-safe, padded or not, at any of
//! the three byte alignments inside a longer blob), not hex, and not as the
//! decimal byte list `67, 65, 78, ...` that `Vec<u8>`'s `Debug` prints. The
//! detector is the shared oracle of `tests/common/leak_oracle.rs`, which
//! also sees case changes, HTML entities, escapes and invisible characters.
//!
//! What the crate promises, and so what is asserted, is about **its own
//! types**. The raw `http::Request` handed to the transport must carry the
//! secrets in its body (that is the point of sending it), and `http`'s own
//! `Debug` prints a request body as a decimal byte list. So for the raw
//! request only the method, URI and header map are checked; the body is
//! checked the other way round (it *must* contain the secret, which also
//! proves the canaries were really planted and the detectors see them).

mod common;

use std::fmt::{Debug, Display};
use std::time::Duration;

use common::leak_oracle::{base64, encodings, Oracle, B64_STD, B64_URL};
use tokendance::oauth2::{PasswordSession, SessionAction};
use tokendance::{
    astana_plat, drive, gam, itc, monpay, AccessToken, Action, AuthCode, ClientSecret, Endpoint, Error, Flow,
    Input, Password, Purpose, RefreshToken, RegistrationKey, SignJob, Signature, SignatureKind, Timestamp,
    TokenRequest, TokenSet, UsageError,
};

// ---------------------------------------------------------------------------
// Canaries.

const PW: &str = "CANARY-pw-7f3a";
/// A password that changes under every encoding (space, `&`, `/`, `+`, `=`, non-ASCII).
const PW_SPECIAL: &str = "CANARY pw&7f3a/+=\u{e9}x";
const CLIENT_SECRET: &str = "CANARY-cs-91b2";
const CLIENT_SECRET_SPECIAL: &str = "CANARY cs+91b2&y=%";
const AUTH_CODE: &str = "CANARY-code-c0de";
const ACCESS: &str = "CANARY-at-5e11";
const REFRESH: &str = "CANARY-rt-0b7d";
const ACCESS_2: &str = "CANARY-at2-6a6a";
const REFRESH_2: &str = "CANARY-rt2-1c1c";
const REG_KEY: &str = "CANARY-rk-4411";
const SIG_DER: &[u8] = b"CANARY-sig-der-99";
const JOB_BYTES: &[u8] = b"CANARY-job-bytes-55";
/// The MDLP client secret and password (CRPT).
const MDLP_SECRET: &str = "CANARY-mdlp-cs-3c3c";
const MDLP_PW: &str = "CANARY-mdlp-pw-4d4d";

fn all_canaries() -> Vec<Vec<u8>> {
    [
        PW,
        PW_SPECIAL,
        CLIENT_SECRET,
        CLIENT_SECRET_SPECIAL,
        AUTH_CODE,
        ACCESS,
        REFRESH,
        ACCESS_2,
        REFRESH_2,
        REG_KEY,
        MDLP_SECRET,
        MDLP_PW,
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .chain([SIG_DER.to_vec(), JOB_BYTES.to_vec()])
    .collect()
}

// ---------------------------------------------------------------------------
// Finding a canary in any form: the shared oracle (tests/common/leak_oracle.rs).

/// The oracle over every canary, built once (it remembers the texts it judged).
fn oracle() -> &'static Oracle {
    static ORACLE: std::sync::OnceLock<Oracle> = std::sync::OnceLock::new();
    ORACLE.get_or_init(|| {
        let canaries = all_canaries();
        let texts: Vec<&str> = canaries
            .iter()
            .map(|c| std::str::from_utf8(c).expect("the canaries are text"))
            .collect();
        Oracle::new(&texts, &[])
    })
}

fn find_leak(text: &str) -> Option<String> {
    if let Some(leak) = find_encoded_leak(text) {
        return Some(leak);
    }
    // Every canary starts with this; even a truncated secret must not remain.
    if text.contains("CANARY") {
        return Some("a canary prefix leaked".to_owned());
    }
    None
}

/// A canary in any of its encoded forms (without the prefix shortcut).
fn find_encoded_leak(text: &str) -> Option<String> {
    oracle().find(text)
}

// ---------------------------------------------------------------------------
// The collector.

#[derive(Default)]
struct Seen {
    items: Vec<(String, String)>,
}

impl Seen {
    fn debug<T: Debug + ?Sized>(&mut self, label: &str, value: &T) {
        self.items.push((format!("{label} {{:?}}"), format!("{value:?}")));
        self.items
            .push((format!("{label} {{:#?}}"), format!("{value:#?}")));
    }

    fn display<T: Display + ?Sized>(&mut self, label: &str, value: &T) {
        self.items.push((format!("{label} {{}}"), format!("{value}")));
    }

    fn both<T: Debug + Display + ?Sized>(&mut self, label: &str, value: &T) {
        self.debug(label, value);
        self.display(label, value);
    }

    fn error(&mut self, label: &str, e: &Error) {
        self.both(label, e);
        assert!(!e.to_string().is_empty(), "{label}: empty Display");
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            self.display(&format!("{label} source"), s);
            self.debug(&format!("{label} source"), s);
            source = s.source();
        }
        if let Some(server) = e.as_server() {
            self.both(&format!("{label} as_server"), server);
            self.debug(&format!("{label} code"), &server.code);
            self.debug(&format!("{label} message"), &server.message);
            self.debug(&format!("{label} kind"), &server.kind);
        }
        if let Some(r) = e.retry_after() {
            self.both(&format!("{label} retry_after"), &r);
        }
        self.debug(&format!("{label} status"), &e.status());
    }

    fn token(&mut self, label: &str, t: &TokenSet) {
        self.debug(label, t);
        self.debug(&format!("{label} access_token"), t.access_token());
        self.debug(&format!("{label} refresh_token"), &t.refresh_token());
        self.debug(&format!("{label} scope"), &t.scope());
    }

    fn outgoing(&mut self, label: &str, out: &tokendance::Outgoing) {
        self.debug(label, out);
        let raw = out.as_http();
        // The crate's promise covers the request line and headers of the raw
        // request too (credential headers are marked sensitive); its body is
        // for the wire only (see the module docs).
        self.debug(&format!("{label} raw headers"), raw.headers());
        self.display(&format!("{label} raw uri"), raw.uri());
        self.debug(&format!("{label} raw method"), raw.method());
        self.debug(&format!("{label} raw version"), &raw.version());
    }

    fn assert_clean(&self, min_items: usize) {
        assert!(
            self.items.len() >= min_items,
            "only {} formatted values were collected",
            self.items.len()
        );
        for (label, text) in &self.items {
            if let Some(leak) = find_leak(text) {
                panic!("{leak}\n  in {label}:\n  {text}");
            }
        }
    }
}

// ---------------------------------------------------------------------------
// The scripted server.

fn now0() -> Timestamp {
    Timestamp::from_unix_secs(1_700_000_000)
}

fn response(status: u16, headers: &[(&str, &str)], body: impl Into<Vec<u8>>) -> http::Response<Vec<u8>> {
    let mut b = http::Response::builder().status(status);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(body.into()).unwrap()
}

fn json(status: u16, value: serde_json::Value) -> http::Response<Vec<u8>> {
    response(
        status,
        &[("content-type", "application/json")],
        serde_json::to_vec(&value).unwrap(),
    )
}

/// A description of one answer, with the secrets the request carried and
/// the raw request body available for echoing.
struct Echo<'a> {
    secrets: &'a [&'a str],
    raw_body: &'a str,
}

impl Echo<'_> {
    fn all(&self) -> String {
        self.secrets.join(" | ")
    }
}

/// Every answer the scripted server gives to a one-request flow, named.
fn scripted_answers(e: &Echo<'_>, astana: bool) -> Vec<(&'static str, http::Response<Vec<u8>>)> {
    use serde_json::json;
    let all = e.all();
    let first = e.secrets.first().copied().unwrap_or("nothing");
    let form: String = e
        .secrets
        .iter()
        .map(|s| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>())
        .collect::<Vec<_>>()
        .join(" ");
    let success = if astana {
        json(
            200,
            json!({"statusCode": 200, "message": "Access token created", "data": {"token": ACCESS}}),
        )
    } else {
        json(
            200,
            json!({"access_token": ACCESS, "expires_in": 300, "refresh_token": REFRESH,
                   "refresh_expires_in": 1800, "token_type": "Bearer", "scope": "openid profile",
                   "session_state": REFRESH_2, "id_token": ACCESS_2}),
        )
    };
    // A message whose echoed secret straddles the 512-character bound.
    let straddle = |cut: usize| format!("{}{first}", "x".repeat(tokendance::MAX_MESSAGE_CHARS - cut));
    let mut answers = vec![
        ("success", success),
        (
            "RFC 6749 refusal echoing every secret",
            json(
                401,
                json!({"error": format!("invalid_grant {all}"),
                       "error_description": format!("bad credentials {all}; form {form}; body {}", e.raw_body)}),
            ),
        ),
        (
            "refusal in a 200 echoing secrets, with a token",
            json(
                200,
                json!({"access_token": ACCESS, "error": "server_error",
                       "error_message": format!("could not issue for {all}"), "code": first}),
            ),
        ),
        (
            "Astana refusal echoing",
            json(
                200,
                json!({"statusCode": 422, "message": format!("Incorrect credentials {all}")}),
            ),
        ),
        (
            "Spring refusal echoing the raw body",
            json(
                400,
                json!({"status": 400, "error": "Bad Request", "message": e.raw_body, "path": "/token"}),
            ),
        ),
        (
            "error list echoing",
            json(
                400,
                json!({"globalErrors": [format!("rejected {all}")],
                       "fieldErrors": [{"field": "password", "message": form}],
                       "violations": [{"message": first}]}),
            ),
        ),
        (
            "GAM processing error echoing",
            json(
                200,
                json!({"status": "500", "message": format!("{all}"), "error_code": first}),
            ),
        ),
        (
            "message with control characters around the secret",
            json(
                400,
                json!({"error": "invalid_request", "error_description": format!("\n{first}\t\r{first}\u{7}")}),
            ),
        ),
        (
            "rate limit with Retry-After and echo",
            response(
                429,
                &[("retry-after", "120"), ("content-type", "application/json")],
                serde_json::to_vec(&json!({"error": "slow_down", "error_description": all})).unwrap(),
            ),
        ),
        (
            "HTML 502 page echoing",
            response(
                502,
                &[("content-type", "text/html")],
                format!("<html>{all} {}</html>", e.raw_body),
            ),
        ),
        (
            "HTML 200 page holding a token",
            response(
                200,
                &[("content-type", "text/html")],
                format!("<html>token={ACCESS} {all}</html>"),
            ),
        ),
        (
            "200 truncated JSON holding the token",
            response(
                200,
                &[],
                format!("{{\"access_token\":\"{ACCESS}\",\"refresh_token\":\"{REFRESH}\""),
            ),
        ),
        (
            "200 with a duplicate key holding the token",
            response(
                200,
                &[],
                format!("{{\"access_token\":\"{ACCESS}\",\"access_token\":\"{ACCESS_2}\"}}"),
            ),
        ),
        (
            "200 top-level array holding the token",
            json(200, json!([ACCESS, REFRESH, {"data": {"token": ACCESS}}])),
        ),
        (
            "200 token with a malformed lifetime",
            json(
                200,
                json!({"access_token": ACCESS, "expires_in": format!("soon {ACCESS}"),
                              "data": {"token": 12345, "text": ACCESS}}),
            ),
        ),
        (
            "200 token with a wrong token type",
            json(
                200,
                json!({"access_token": ACCESS, "token_type": format!("mac {ACCESS}"),
                              "data": format!("{ACCESS}")}),
            ),
        ),
        (
            "200 token of the wrong type",
            json(
                200,
                json!({"access_token": {"token": ACCESS}, "data": [ACCESS], "refresh_token": 17}),
            ),
        ),
        (
            "200 refresh token of the wrong type",
            json(
                200,
                json!({"access_token": ACCESS, "refresh_token": [REFRESH], "scope": 5}),
            ),
        ),
        (
            "redirect with secrets in query and fragment",
            response(
                302,
                &[(
                    "location",
                    &format!("https://evil.example/cb?code={AUTH_CODE}&t={ACCESS}#{REFRESH}"),
                )],
                format!("moved {all}"),
            ),
        ),
        (
            "oversized body",
            response(
                200,
                &[],
                format!(
                    "{{\"access_token\":\"{ACCESS}\",\"pad\":\"{}\"}}",
                    "p".repeat(70_000)
                ),
            ),
        ),
        ("empty 403", response(403, &[], Vec::new())),
    ];
    for cut in [1, 3, 6, 9, first.len() - 1] {
        answers.push((
            "refusal whose echo straddles the message bound",
            json(
                400,
                json!({"error": "invalid_grant", "error_description": straddle(cut)}),
            ),
        ));
        answers.push((
            "refusal whose code straddles the code bound",
            json(
                400,
                json!({"error": format!("{}{first}", "c".repeat(100 - cut.min(99)))}),
            ),
        ));
    }
    answers
}

// ---------------------------------------------------------------------------
// Running one-request flows.

struct OneShot {
    name: &'static str,
    build: fn() -> TokenRequest,
    /// Secrets the request carries (to be echoed, and to be found in its body).
    secrets: &'static [&'static str],
    astana: bool,
}

fn one_shots() -> Vec<OneShot> {
    fn astana_url() -> Endpoint {
        Endpoint::parse("https://astana-plat.example/api/auth/login").unwrap()
    }
    vec![
        OneShot {
            name: "gam",
            build: || {
                gam::client_credentials(
                    &gam::Config::staging(),
                    "client-one",
                    ClientSecret::new(CLIENT_SECRET),
                    "s:a s:b",
                )
                .unwrap()
            },
            secrets: &[CLIENT_SECRET],
            astana: false,
        },
        OneShot {
            name: "gam (secret needing encoding)",
            build: || {
                gam::client_credentials(
                    &gam::Config::production(),
                    "client-one",
                    ClientSecret::new(CLIENT_SECRET_SPECIAL),
                    "s:a",
                )
                .unwrap()
            },
            secrets: &[CLIENT_SECRET_SPECIAL],
            astana: false,
        },
        OneShot {
            name: "monpay",
            build: || {
                monpay::exchange_code(
                    &monpay::Config::test(),
                    "client-two",
                    ClientSecret::new(CLIENT_SECRET),
                    AuthCode::new(AUTH_CODE),
                    "https://shop.example/back",
                )
                .unwrap()
            },
            secrets: &[CLIENT_SECRET, AUTH_CODE],
            astana: false,
        },
        OneShot {
            name: "monpay (secret needing encoding)",
            build: || {
                monpay::exchange_code(
                    &monpay::Config::production(),
                    "client-two",
                    ClientSecret::new(CLIENT_SECRET_SPECIAL),
                    AuthCode::new(AUTH_CODE),
                    "https://shop.example/back?x=1",
                )
                .unwrap()
            },
            secrets: &[CLIENT_SECRET_SPECIAL, AUTH_CODE],
            astana: false,
        },
        OneShot {
            name: "astana password",
            build: || astana_plat::login_password(&astana_url(), "login-one", Password::new(PW)).unwrap(),
            secrets: &[PW],
            astana: true,
        },
        OneShot {
            name: "astana password (needing encoding)",
            build: || {
                astana_plat::login_password(&astana_url(), "login-one", Password::new(PW_SPECIAL)).unwrap()
            },
            secrets: &[PW_SPECIAL],
            astana: true,
        },
        OneShot {
            name: "astana certificate",
            build: || astana_plat::login_certificate(&astana_url()).unwrap(),
            secrets: &[],
            astana: true,
        },
    ]
}

/// The request body must carry every secret (form-encoded or JSON): this
/// proves the canaries were planted, and that the detector would see them.
fn assert_body_carries(name: &str, body: &[u8], secrets: &[&str]) {
    let text = String::from_utf8_lossy(body);
    for secret in secrets {
        let form: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
        let json = serde_json::to_string(secret).unwrap();
        assert!(
            text.contains(&form) || text.contains(&json),
            "{name}: the request body does not carry {secret:?}: {text}"
        );
        // And the detector finds it in the body's `Vec<u8>` Debug form, which is
        // what `http::Request`'s Debug prints: exactly why `Outgoing` hides it.
        assert!(
            find_leak(&format!("{body:?}")).is_some(),
            "{name}: detector missed the body"
        );
    }
}

fn run_one_shot(
    seen: &mut Seen,
    shot: &OneShot,
    scenario: &str,
    answer: http::Response<Vec<u8>>,
) -> Result<TokenSet, Error> {
    let label = format!("{} / {scenario}", shot.name);
    let mut flow = (shot.build)();
    seen.debug(&format!("{label}: flow before start"), &flow);

    // resume before start
    let e = flow.resume(now0(), Input::Timeout).unwrap_err();
    assert_eq!(e, Error::Usage(UsageError::NotStarted));
    seen.error(&format!("{label}: resume before start"), &e);

    let action = flow.start(now0()).unwrap();
    seen.debug(&format!("{label}: first action"), &action);
    let Action::Send(out) = action else {
        panic!("{label}: expected Send")
    };
    seen.outgoing(&format!("{label}: request"), &out);
    assert_body_carries(&label, out.as_http().body(), shot.secrets);
    seen.debug(&format!("{label}: flow awaiting"), &flow);

    // Wrong inputs leave the flow unchanged; their errors name kinds only.
    let sig = Input::Signature(Signature::from_der(SIG_DER.to_vec()));
    seen.debug(&format!("{label}: signature input"), &sig);
    let e = flow.resume(now0(), sig).unwrap_err();
    seen.error(&format!("{label}: signature input"), &e);
    let e = flow.start(now0()).unwrap_err();
    assert_eq!(e, Error::Usage(UsageError::AlreadyStarted));
    seen.error(&format!("{label}: second start"), &e);

    let input = Input::Response(answer);
    seen.debug(&format!("{label}: response input"), &input);
    let result = match flow.resume(now0(), input) {
        Ok(Action::Done(token)) => {
            seen.token(&format!("{label}: token"), &token);
            Ok(token)
        }
        Ok(other) => panic!("{label}: unexpected action {other:?}"),
        Err(e) => {
            seen.error(&format!("{label}: error"), &e);
            Err(e)
        }
    };
    seen.debug(&format!("{label}: flow finished"), &flow);
    let e = flow.resume(now0(), Input::Timeout).unwrap_err();
    assert_eq!(e, Error::Usage(UsageError::Finished));
    seen.error(&format!("{label}: after the end"), &e);
    result
}

#[test]
fn one_request_flows_never_print_a_canary() {
    let mut seen = Seen::default();
    for shot in one_shots() {
        let raw_body = {
            let mut f = (shot.build)();
            let Ok(Action::Send(out)) = f.start(now0()) else {
                panic!()
            };
            String::from_utf8(out.into_http().into_body()).unwrap()
        };
        let echo = Echo {
            secrets: shot.secrets,
            raw_body: &raw_body,
        };
        let mut successes = 0;
        for (scenario, answer) in scripted_answers(&echo, shot.astana) {
            match run_one_shot(&mut seen, &shot, scenario, answer) {
                Ok(token) => {
                    successes += 1;
                    assert_eq!(scenario, "success", "{}: {scenario} gave a token", shot.name);
                    // The canary really was planted, and is reachable on purpose.
                    assert_eq!(token.access_token().expose_secret(), ACCESS);
                }
                Err(e) => {
                    assert_ne!(scenario, "success", "{}: {e}", shot.name);
                    if let Some(s) = e.as_server() {
                        // Straddling echoes are cut, never left half-printed.
                        for text in s.message.iter().chain(&s.code) {
                            assert!(
                                !text.contains("xC") && !text.contains("cC"),
                                "{}: {text}",
                                shot.name
                            );
                        }
                    }
                }
            }
        }
        assert_eq!(successes, 1, "{}", shot.name);

        // The transport failed: Aborted.
        let mut flow = (shot.build)();
        let _ = flow.start(now0()).unwrap();
        let e = flow.resume(now0(), Input::Failed).unwrap_err();
        assert_eq!(e, Error::Usage(UsageError::Aborted));
        seen.error(&format!("{}: aborted", shot.name), &e);
        seen.debug(&format!("{}: aborted flow", shot.name), &flow);

        // Through the blocking driver: success, refusal and transport error.
        let flow = (shot.build)();
        let answer = scripted_answers(&echo, shot.astana).swap_remove(1).1;
        let r = drive::drive(
            flow,
            now0,
            |req| {
                seen.debug("driver raw headers", req.headers());
                Ok::<_, std::io::Error>(answer.clone())
            },
            drive::no_signer,
            |_| {},
        );
        let err = r.unwrap_err();
        seen.both(&format!("{}: drive error", shot.name), &err);
        let flow = (shot.build)();
        let err = drive::drive(
            flow,
            now0,
            |_| Err(std::io::Error::other("connection reset")),
            drive::no_signer,
            |_| {},
        )
        .unwrap_err();
        assert!(matches!(err, drive::DriveError::Transport(_)));
        seen.both(&format!("{}: drive transport error", shot.name), &err);
    }
    seen.assert_clean(500);
}

// ---------------------------------------------------------------------------
// The ITC session.

fn keycloak_token(access: &str, refresh: &str) -> http::Response<Vec<u8>> {
    json(
        200,
        serde_json::json!({"access_token": access, "expires_in": 300, "refresh_token": refresh,
            "refresh_expires_in": 1800, "token_type": "bearer", "not-before-policy": 0,
            "session_state": REFRESH_2, "scope": "profile email"}),
    )
}

fn poll_send(seen: &mut Seen, label: &str, s: &mut PasswordSession, now: Timestamp) -> tokendance::Outgoing {
    let action = s.poll(now).unwrap();
    seen.debug(label, &action);
    match action {
        SessionAction::Send(out) => {
            seen.outgoing(label, &out);
            out
        }
        other => panic!("{label}: expected Send, got {other:?}"),
    }
}

fn itc_session(password: &str) -> PasswordSession {
    itc::session(&itc::Config::staging(), "user-one", Password::new(password)).unwrap()
}

#[test]
fn itc_session_never_prints_a_canary() {
    let mut seen = Seen::default();
    for pw in [PW, PW_SPECIAL] {
        let mut s = itc_session(pw);
        seen.debug("session new", &s);
        seen.debug("session config", s.config());
        let t0 = now0();
        let out = poll_send(&mut seen, "password grant", &mut s, t0);
        assert_body_carries("password grant", out.as_http().body(), &[pw]);
        let raw = String::from_utf8(out.into_http().into_body()).unwrap();

        // A refused password grant echoing the password ends the session.
        let mut refused = itc_session(pw);
        let _ = poll_send(&mut seen, "refused grant", &mut refused, t0);
        let e = refused
            .handle_response(
                t0,
                json(
                    401,
                    serde_json::json!({"error": "invalid_grant",
                        "error_description": format!("Invalid user credentials for {pw} in {raw}")}),
                ),
            )
            .unwrap_err();
        seen.error("refused password grant", &e);
        assert!(refused.has_ended());
        seen.debug("ended session", &refused);
        seen.error("poll after end", &refused.poll(t0).unwrap_err());

        // A 5xx echoing the password: backing off.
        let mut failing = itc_session(pw);
        let _ = poll_send(&mut seen, "failing grant", &mut failing, t0);
        let e = failing
            .handle_response(
                t0,
                response(503, &[("retry-after", "7")], format!("<h1>{pw} {raw}</h1>")),
            )
            .unwrap_err();
        seen.error("5xx", &e);
        seen.debug("backing off", &failing);
        seen.debug("backing off poll", &failing.poll(t0).unwrap());
        seen.error(
            "no request in flight",
            &failing
                .handle_response(t0, keycloak_token(ACCESS, REFRESH))
                .unwrap_err(),
        );

        // A 200 that holds the token but fails to parse.
        let mut malformed = itc_session(pw);
        let _ = poll_send(&mut seen, "malformed grant", &mut malformed, t0);
        let e = malformed
            .handle_response(
                t0,
                json(
                    200,
                    serde_json::json!({"access_token": ACCESS, "refresh_token": REFRESH, "expires_in": -1}),
                ),
            )
            .unwrap_err();
        seen.error("malformed 200", &e);
        seen.debug("after malformed", &malformed);

        // Success, use, refresh, refused refresh echoing the refresh token,
        // password grant again.
        s.handle_response(t0, keycloak_token(ACCESS, REFRESH)).unwrap();
        seen.debug("session with tokens", &s);
        seen.token("session tokens", s.tokens().unwrap());
        let use_now = s.poll(t0).unwrap();
        seen.debug("use token", &use_now);
        let SessionAction::UseToken(tok) = use_now else {
            panic!()
        };
        assert_eq!(tok.expose_secret(), ACCESS);
        let t1 = t0.saturating_add(Duration::from_secs(280));
        let out = poll_send(&mut seen, "refresh", &mut s, t1);
        assert_body_carries("refresh", out.as_http().body(), &[REFRESH]);
        let raw_refresh = String::from_utf8(out.into_http().into_body()).unwrap();
        seen.debug("refresh in flight", &s);
        seen.debug("poll while in flight", &s.poll(t1).unwrap());
        s.handle_response(
            t1,
            json(
                400,
                serde_json::json!({"error": "invalid_grant",
                    "error_description": format!("Token is not active: {REFRESH} / {raw_refresh}")}),
            ),
        )
        .unwrap();
        seen.debug("refresh refused", &s);
        let out = poll_send(&mut seen, "password grant again", &mut s, t1);
        assert_body_carries("password grant again", out.as_http().body(), &[pw]);
        // A refresh answered with 5xx echoing the refresh token.
        s.handle_response(t1, keycloak_token(ACCESS_2, REFRESH_2))
            .unwrap();
        let t2 = t1.saturating_add(Duration::from_secs(280));
        let _ = poll_send(&mut seen, "second refresh", &mut s, t2);
        let e = s
            .handle_response(
                t2,
                json(500, serde_json::json!({"error": "server_error", "error_description": format!("{REFRESH_2} {pw}")})),
            )
            .unwrap_err();
        seen.error("refresh 5xx", &e);
        s.unauthorized(t2);
        seen.debug("after unauthorized", &s);

        // The session as a Flow, by hand and through the driver.
        let t3 = t2.saturating_add(Duration::from_secs(3600));
        {
            let mut fetch = s.fetch();
            seen.debug("fetch new", &fetch);
            let a = fetch.start(t3).unwrap();
            seen.debug("fetch first action", &a);
            let Action::Send(out) = a else { panic!("{a:?}") };
            seen.outgoing("fetch request", &out);
            seen.debug("fetch awaiting", &fetch);
            let e = fetch
                .resume(t3, Input::Signature(Signature::from_der(SIG_DER.to_vec())))
                .unwrap_err();
            seen.error("fetch wrong input", &e);
            let a = fetch
                .resume(t3, Input::Response(keycloak_token(ACCESS, REFRESH)))
                .unwrap();
            seen.debug("fetch done", &a);
            let Action::Done(token) = a else { panic!() };
            assert_eq!(token.expose_secret(), ACCESS);
            seen.debug("fetch finished", &fetch);
            seen.error("fetch after end", &fetch.resume(t3, Input::Timeout).unwrap_err());
        }
        let t4 = t3.saturating_add(Duration::from_secs(3600));
        let e = drive::drive(
            s.fetch(),
            || t4,
            |_| {
                Ok::<_, std::io::Error>(json(
                    401,
                    serde_json::json!({"error": "invalid_grant", "error_description": format!("{pw} {REFRESH}")}),
                ))
            },
            drive::no_signer,
            |_| {},
        )
        .unwrap_err();
        seen.both("fetch drive error", &e);
        seen.debug("session at the end", &s);
    }
    seen.assert_clean(150);
}

// ---------------------------------------------------------------------------
// The core types on their own.

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

    let t0 = now0();
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
    let _ = flow.start(now0()).unwrap();
    let answer = json(
        200,
        serde_json::json!({"statusCode": 400, "message": format!("User {PW} with given credentials not found")}),
    );
    let err = flow.resume(now0(), Input::Response(answer)).unwrap_err();
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

// ---------------------------------------------------------------------------
// CRPT: registration, GIS MT, True API, MDLP and the token keeper.

/// The CRPT flows, each with the secrets its requests carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CrptShot {
    Registration,
    GisMt,
    TrueApi,
    MdlpSigned,
    MdlpPassword,
}

const CRPT_SHOTS: [CrptShot; 5] = [
    CrptShot::Registration,
    CrptShot::GisMt,
    CrptShot::TrueApi,
    CrptShot::MdlpSigned,
    CrptShot::MdlpPassword,
];

const CRPT_CONN: &str = "11B1ABC9-F4EE-47DB-8A20-F80AC83504E8";

/// The base64 of [`SIG_DER`], as the flows send it.
fn sig_b64() -> String {
    base64(SIG_DER, B64_STD, true)
}

/// A CRPT flow, type-erased, with its output printed through `Seen`.
type CrptFlow = Box<dyn FnMut(&mut Seen, &str, Timestamp, Option<Input>) -> Result<Action<()>, Error>>;

fn erase_crpt<F>(mut flow: F) -> CrptFlow
where
    F: Flow + Debug + 'static,
    F::Output: Debug + 'static,
{
    Box::new(move |seen, label, now, input| {
        let result = match input {
            None => flow.start(now),
            Some(input) => flow.resume(now, input),
        };
        seen.debug(&format!("{label}: flow"), &flow);
        let action = result?;
        seen.debug(&format!("{label}: action"), &action);
        Ok(match action {
            Action::Send(o) => Action::Send(o),
            Action::Sign(j) => Action::Sign(j),
            Action::Wait(t) => Action::Wait(t),
            Action::Done(v) => {
                if let Some(token) = (&v as &dyn std::any::Any).downcast_ref::<TokenSet>() {
                    seen.token(&format!("{label}: token"), token);
                    assert_eq!(token.access_token().expose_secret(), ACCESS, "{label}");
                }
                seen.debug(&format!("{label}: output"), &v);
                Action::Done(())
            }
        })
    })
}

impl CrptShot {
    fn build(self) -> CrptFlow {
        use tokendance::crpt::{self, mdlp};
        let client = || mdlp::Client {
            id: "client-one".to_owned(),
            secret: ClientSecret::new(MDLP_SECRET),
        };
        match self {
            CrptShot::Registration => erase_crpt(
                crpt::registration::register(
                    &crpt::SuzStand::Demo.endpoint(),
                    "oms-one",
                    RegistrationKey::new(REG_KEY),
                    "Moscow, 1",
                    crpt::registration::Signing::Detached,
                    "v2",
                )
                .unwrap(),
            ),
            CrptShot::GisMt => erase_crpt(
                crpt::gis_mt::sign_in(&crpt::GisMtStand::Demo.endpoint(), Some(CRPT_CONN)).unwrap(),
            ),
            CrptShot::TrueApi => erase_crpt(
                crpt::true_api::sign_in(&crpt::TrueApiStand::Demo.endpoint(), Some(CRPT_CONN)).unwrap(),
            ),
            CrptShot::MdlpSigned => erase_crpt(
                mdlp::sign_in(
                    &crpt::MdlpStand::Sandbox.endpoint(),
                    client(),
                    "user-one",
                    mdlp::Auth::SignedCode,
                    Some(CRPT_CONN),
                )
                .unwrap(),
            ),
            CrptShot::MdlpPassword => erase_crpt(
                mdlp::sign_in(
                    &crpt::MdlpStand::NonResidentSandbox.endpoint(),
                    client(),
                    "user@example.org",
                    mdlp::Auth::Password(Password::new(MDLP_PW)),
                    None,
                )
                .unwrap(),
            ),
        }
    }

    /// How many requests the flow sends.
    fn sends(self) -> usize {
        match self {
            CrptShot::Registration => 1,
            _ => 2,
        }
    }

    /// The valid answer to request `i`, the last one carrying [`ACCESS`].
    fn valid(self, i: usize) -> http::Response<Vec<u8>> {
        use serde_json::json;
        match (self, i) {
            (CrptShot::Registration, _) => {
                json(200, json!({"status": "SUCCESS", "omsConnection": CRPT_CONN}))
            }
            (CrptShot::GisMt | CrptShot::TrueApi, 0) => {
                json(200, json!({"uuid": "u-1", "data": "QNRPNPFGJZ"}))
            }
            (CrptShot::MdlpSigned | CrptShot::MdlpPassword, 0) => json(200, json!({"code": "code-1"})),
            (CrptShot::GisMt | CrptShot::TrueApi, _) => json(200, json!({"token": ACCESS})),
            (_, _) => json(200, json!({"token": ACCESS, "life_time": 30})),
        }
    }

    /// The secrets request `i` carries (echoed back by the hostile server).
    fn carried(self, i: usize) -> Vec<String> {
        match (self, i) {
            (CrptShot::Registration, _) => vec![REG_KEY.to_owned(), sig_b64()],
            (CrptShot::GisMt | CrptShot::TrueApi, 0) => vec![],
            (CrptShot::GisMt | CrptShot::TrueApi, _) => vec![sig_b64()],
            (CrptShot::MdlpSigned, 0) => vec![MDLP_SECRET.to_owned()],
            (CrptShot::MdlpSigned, _) => vec![MDLP_SECRET.to_owned(), sig_b64()],
            (CrptShot::MdlpPassword, _) => vec![MDLP_SECRET.to_owned(), MDLP_PW.to_owned()],
        }
    }
}

/// Hostile answers to a CRPT request carrying `carried`, whose raw body was `raw`.
fn crpt_answers(carried: &[String], raw: &str) -> Vec<(&'static str, http::Response<Vec<u8>>)> {
    use serde_json::json;
    let all = carried.join(" | ");
    let first = carried.first().cloned().unwrap_or_else(|| "nothing".to_owned());
    let form: String = carried
        .iter()
        .map(|s| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>())
        .collect::<Vec<_>>()
        .join(" ");
    vec![
        (
            "error_message in a 200 with a token",
            json(
                200,
                json!({"token": ACCESS, "error_message": format!("rejected {all}")}),
            ),
        ),
        (
            "code/error_message/description",
            json(
                400,
                json!({"code": first, "error_message": format!("x {all}"), "description": format!("{form} {raw}")}),
            ),
        ),
        (
            "numeric code and description",
            json(401, json!({"code": 4, "description": all})),
        ),
        (
            "SUZ global and field errors",
            json(
                400,
                json!({"success": false, "globalErrors": [format!("bad {all}")], "fieldErrors": [{"message": form}]}),
            ),
        ),
        (
            "MDLP Spring echoing the raw body",
            json(
                400,
                json!({"timestamp": "t", "status": 400, "error": "Bad Request", "message": raw, "path": "/api/v1/token"}),
            ),
        ),
        (
            "error_description in a 200",
            json(200, json!({"error_description": format!("expired {all}")})),
        ),
        (
            "violations in a 200",
            json(200, json!({"success": false, "violations": [{"message": first}]})),
        ),
        (
            "REJECTED echoing the secrets",
            json(
                200,
                json!({"status": "REJECTED", "rejectionReason": format!("Unknown registration key {all}")}),
            ),
        ),
        (
            "XML 401 echoing",
            response(
                401,
                &[("content-type", "application/xml")],
                format!("<error>{all} {raw}</error>"),
            ),
        ),
        (
            "nginx 502 echoing",
            response(
                502,
                &[("content-type", "text/html")],
                format!("<html>{all} {raw}</html>"),
            ),
        ),
        (
            "429 echoing",
            response(
                429,
                &[("retry-after", "5"), ("content-type", "application/json")],
                serde_json::to_vec(&json!({"error_message": all})).unwrap(),
            ),
        ),
        (
            "200 HTML holding a token",
            response(
                200,
                &[("content-type", "text/html")],
                format!("<html>token={ACCESS}</html>"),
            ),
        ),
        (
            "200 truncated JSON holding the token",
            response(200, &[], format!("{{\"token\":\"{ACCESS}\",\"life_time\":30")),
        ),
        (
            "200 duplicate token",
            response(
                200,
                &[],
                format!("{{\"token\":\"{ACCESS}\",\"token\":\"{ACCESS_2}\"}}"),
            ),
        ),
        (
            "200 fields of the wrong type holding the token",
            json(
                200,
                json!({"token": {"token": ACCESS}, "uuid": [ACCESS], "data": {"text": ACCESS},
                       "code": [ACCESS], "status": {"s": ACCESS}, "omsConnection": [ACCESS], "life_time": 30}),
            ),
        ),
        (
            "200 token with a malformed life_time",
            json(
                200,
                json!({"token": ACCESS, "life_time": format!("soon {ACCESS}")}),
            ),
        ),
        (
            "SUCCESS without a connection, holding the token",
            json(200, json!({"status": "SUCCESS", "token": ACCESS})),
        ),
        (
            "redirect with the token in the query",
            response(
                302,
                &[(
                    "location",
                    &format!("https://evil.example/x?token={ACCESS}#{ACCESS_2}"),
                )],
                format!("moved {all}"),
            ),
        ),
        (
            "oversized body holding the token",
            response(
                200,
                &[],
                format!("{{\"token\":\"{ACCESS}\",\"pad\":\"{}\"}}", "p".repeat(70_000)),
            ),
        ),
        ("empty 406", response(406, &[], Vec::new())),
    ]
}

/// Runs `shot` with valid answers, except `answer` for request `step`.
fn run_crpt(
    seen: &mut Seen,
    shot: CrptShot,
    step: usize,
    scenario: &str,
    answer: Option<http::Response<Vec<u8>>>,
) -> Option<String> {
    let label = format!("{shot:?} / request {step} / {scenario}");
    let mut flow = shot.build();
    let mut now = now0();
    let mut sends = 0;
    let mut raw = None;
    let mut answer = answer;
    let mut action = flow(seen, &label, now, None);
    loop {
        match action {
            Ok(Action::Send(out)) => {
                seen.outgoing(&format!("{label}: request"), &out);
                let body = String::from_utf8(out.as_http().body().clone()).unwrap();
                if sends == step {
                    raw = Some(body);
                }
                let response = match (sends == step, answer.take()) {
                    (true, Some(a)) => a,
                    (_, a) => {
                        answer = a;
                        shot.valid(sends)
                    }
                };
                sends += 1;
                let input = Input::Response(response);
                seen.debug(&format!("{label}: response input"), &input);
                action = flow(seen, &label, now, Some(input));
            }
            Ok(Action::Sign(job)) => {
                seen.debug(&format!("{label}: sign job"), &job);
                let input = Input::Signature(Signature::from_der(SIG_DER.to_vec()));
                seen.debug(&format!("{label}: signature input"), &input);
                action = flow(seen, &label, now, Some(input));
            }
            Ok(Action::Wait(until)) => {
                now = until;
                action = flow(seen, &label, now, Some(Input::Timeout));
            }
            Ok(Action::Done(())) => break,
            Err(e) => {
                seen.error(&format!("{label}: error"), &e);
                break;
            }
        }
    }
    let after = flow(seen, &label, now, Some(Input::Timeout)).unwrap_err();
    assert_eq!(after, Error::Usage(UsageError::Finished), "{label}");
    assert!(sends <= shot.sends(), "{label}");
    raw
}

#[test]
fn crpt_flows_never_print_a_canary() {
    let mut seen = Seen::default();
    for shot in CRPT_SHOTS {
        // The valid run: every request carries what it should.
        let mut raws = Vec::new();
        for step in 0..shot.sends() {
            raws.push(run_crpt(&mut seen, shot, step, "valid", None).expect("the step was reached"));
        }
        for (step, raw) in raws.iter().enumerate() {
            let carried: Vec<String> = shot.carried(step);
            // Bodies carry the body secrets (the key and X-Signature ride in
            // sensitive headers; the signature's base64 is checked as text, as
            // `assert_body_carries` looks for it in a byte list too).
            let in_body: &[&str] = match (shot, step) {
                (CrptShot::MdlpSigned | CrptShot::MdlpPassword, 0) => &[MDLP_SECRET],
                (CrptShot::MdlpPassword, _) => &[MDLP_PW],
                _ => &[],
            };
            assert_body_carries(&format!("{shot:?} {step}"), raw.as_bytes(), in_body);
            if shot != CrptShot::Registration && carried.contains(&sig_b64()) {
                assert!(raw.contains(&format!("\"{}\"", sig_b64())), "{shot:?}: {raw}");
                assert!(find_leak(raw).is_some());
            }
            for (scenario, answer) in crpt_answers(&carried, raw) {
                run_crpt(&mut seen, shot, step, scenario, Some(answer));
            }
        }
        // The signer or the transport failed.
        let mut flow = shot.build();
        let _ = flow(&mut seen, "aborted", now0(), None).unwrap();
        let e = flow(&mut seen, "aborted", now0(), Some(Input::Failed)).unwrap_err();
        assert_eq!(e, Error::Usage(UsageError::Aborted));
        seen.error(&format!("{shot:?}: aborted"), &e);
    }
    // Registration headers: present, and sensitive (so `HeaderMap`'s Debug hides them).
    {
        use tokendance::crpt;
        let mut flow = crpt::registration::register(
            &crpt::SuzStand::Production.endpoint(),
            "oms-one",
            RegistrationKey::new(REG_KEY),
            "Moscow, 1",
            crpt::registration::Signing::Detached,
            "v3",
        )
        .unwrap();
        let Action::Sign(job) = flow.start(now0()).unwrap() else {
            panic!()
        };
        let Action::Send(out) = flow
            .resume(now0(), Input::Signature(Signature::from_der(SIG_DER.to_vec())))
            .unwrap()
        else {
            panic!()
        };
        let headers = out.as_http().headers();
        assert_eq!(headers["x-registrationkey"], REG_KEY);
        assert_eq!(headers["x-signature"], sig_b64().as_str());
        assert!(headers["x-registrationkey"].is_sensitive() && headers["x-signature"].is_sensitive());
        seen.debug("registration job", &job);
        seen.outgoing("registration request", &out);
    }
    seen.assert_clean(2_000);
}

#[test]
fn crpt_types_redact() {
    use tokendance::crpt::{self, mdlp, KeeperAction, Snapshot, TokenKeeper};
    let mut seen = Seen::default();
    let now = now0();
    seen.debug(
        "mdlp auth password",
        &mdlp::Auth::Password(Password::new(MDLP_PW)),
    );
    seen.debug("mdlp auth signed", &mdlp::Auth::SignedCode);
    let client = mdlp::Client {
        id: "client-one".to_owned(),
        secret: ClientSecret::new(MDLP_SECRET),
    };
    seen.debug("mdlp client", &client);
    seen.debug("registration key", &RegistrationKey::new(REG_KEY));
    // Wrapped base64 from a signer, and its errors.
    let b64 = sig_b64();
    let wrapped = format!("{}\r\n{}\r\n", &b64[..8], &b64[8..]);
    let sig = Signature::from_base64(&wrapped).unwrap();
    assert_eq!(sig.as_der(), SIG_DER);
    seen.debug("signature from base64", &sig);
    let e = Signature::from_base64(&format!("{b64}!{MDLP_PW}")).unwrap_err();
    seen.error("bad signature base64", &e);
    for purpose in [
        Purpose::GisMtChallenge,
        Purpose::TrueApiChallenge,
        Purpose::MdlpCode,
        Purpose::SuzRegistrationBody,
    ] {
        for kind in [SignatureKind::Attached, SignatureKind::Detached] {
            seen.debug("crpt sign job", &SignJob::new(JOB_BYTES.to_vec(), kind, purpose));
        }
    }
    // Header helpers.
    let at = AccessToken::new(ACCESS);
    let (name, value) = crpt::suz_client_token(&at).unwrap();
    assert!(value.is_sensitive());
    seen.debug("clientToken header", &(name, value));
    let (name, value) = crpt::mdlp_authorization(&at).unwrap();
    assert!(value.is_sensitive());
    seen.debug("authorization header", &(name, value));
    let e = crpt::suz_client_token(&AccessToken::new(format!("{ACCESS}\n"))).unwrap_err();
    seen.error("bad token header", &e);
    // Outcomes.
    seen.debug(
        "outcome registered",
        &crpt::registration::Outcome::Registered {
            oms_connection: CRPT_CONN.into(),
        },
    );

    // The keeper in every state.
    let mut k = TokenKeeper::new(CRPT_CONN);
    seen.debug("keeper new", &k);
    let KeeperAction::Renew(ticket) = k.poll(now) else {
        panic!()
    };
    seen.debug("ticket", &ticket);
    seen.debug("keeper renewing", &k);
    seen.debug("keeper wait", &k.poll(now));
    let life = Duration::from_secs(36_000);
    k.renewed(
        ticket,
        TokenSet::new(at.clone(), now, Some(now.saturating_add(life))),
    )
    .unwrap();
    seen.debug("keeper with token", &k);
    let a = k.poll(now);
    let KeeperAction::UseToken(t) = &a else { panic!() };
    assert_eq!(t.expose_secret(), ACCESS);
    seen.debug("use token", &a);
    seen.token("keeper token", k.token().unwrap());
    let snap = k.snapshot().unwrap();
    assert_eq!(snap.token().expose_secret(), ACCESS);
    seen.debug("snapshot", &snap);
    seen.debug("snapshot token", snap.token());
    let later = now.saturating_add(Duration::from_secs(35_800));
    let KeeperAction::Renew(stale) = k.poll(later) else {
        panic!()
    };
    // The first renewal is lost after 300 s: it counts as failed (a second's
    // back-off), then the next ticket goes out.
    let voided = later.saturating_add(Duration::from_secs(301));
    let _ = k.poll(voided);
    let lost = voided.saturating_add(Duration::from_secs(1));
    let KeeperAction::Renew(current) = k.poll(lost) else {
        panic!()
    };
    let e = k
        .renewed(stale, TokenSet::new(AccessToken::new(ACCESS_2), later, None))
        .unwrap_err();
    seen.error("stale ticket", &e);
    k.renewal_failed(current, lost, Some(lost.saturating_add(Duration::from_secs(5))))
        .unwrap();
    seen.debug("keeper backing off", &k);
    seen.debug("keeper backing off poll", &k.poll(lost));
    let newer = Snapshot::new(
        CRPT_CONN,
        u64::MAX,
        AccessToken::new(ACCESS_2),
        lost,
        Some(lost.saturating_add(life)),
    );
    seen.debug("newer snapshot", &newer);
    assert_eq!(k.restore(newer), Ok(true));
    seen.debug("keeper restored", &k);
    k.token_rejected(lost, &AccessToken::new(ACCESS_2));
    seen.debug("keeper rejected", &k);
    let foreign = Snapshot::new("other", 9, AccessToken::new(REFRESH), lost, None);
    let e = k.restore(foreign).unwrap_err();
    seen.error("foreign snapshot", &e);
    seen.assert_clean(60);
}

/// Tokens the fake issues are not canaries, so they are looked for by value.
#[cfg(feature = "fake")]
#[test]
fn crpt_fake_tokens_never_printed() {
    use tokendance::crpt::{self, mdlp, KeeperAction, TokenKeeper};
    use tokendance::fake::{self, Fake};
    let mut server = fake::Crpt::new();
    server.set_mdlp_client("client-one", "mdlp-secret");
    let now = now0();
    let mut texts: Vec<String> = Vec::new();
    let mut tokens: Vec<String> = Vec::new();
    let flows: Vec<Box<dyn Flow<Output = TokenSet>>> = vec![
        Box::new(crpt::true_api::sign_in(&crpt::TrueApiStand::Demo.endpoint(), Some(CRPT_CONN)).unwrap()),
        Box::new(crpt::gis_mt::sign_in(&crpt::GisMtStand::Demo.endpoint(), Some(CRPT_CONN)).unwrap()),
        Box::new(
            mdlp::sign_in(
                &crpt::MdlpStand::Sandbox.endpoint(),
                mdlp::Client {
                    id: "client-one".to_owned(),
                    secret: ClientSecret::new("mdlp-secret"),
                },
                "user-one",
                mdlp::Auth::SignedCode,
                Some(CRPT_CONN),
            )
            .unwrap(),
        ),
    ];
    let mut keeper = TokenKeeper::new(CRPT_CONN);
    let mut t = now;
    for mut flow in flows {
        let mut action = flow.start(t).unwrap();
        let token = loop {
            texts.push(format!("{action:?}"));
            action = match action {
                Action::Send(out) => {
                    let response = server.handle(t, &out.into_http());
                    let input = Input::Response(response);
                    texts.push(format!("{input:?}"));
                    flow.resume(t, input).unwrap()
                }
                Action::Sign(job) => flow.resume(t, Input::Signature(fake::sign(&job))).unwrap(),
                Action::Wait(until) => {
                    t = until;
                    flow.resume(t, Input::Timeout).unwrap()
                }
                Action::Done(token) => break token,
            };
        };
        texts.push(format!("{token:?} {token:#?}"));
        tokens.push(token.access_token().expose_secret().to_owned());
        assert!(server.accepts(t, CRPT_CONN, token.access_token()));
        // Through the keeper.
        if let Some(held) = keeper.token().map(|h| h.access_token().clone()) {
            keeper.token_rejected(t, &held);
        }
        let KeeperAction::Renew(ticket) = keeper.poll(t) else {
            panic!()
        };
        keeper.renewed(ticket, token).unwrap();
        texts.push(format!("{:?}", keeper.poll(t)));
        texts.push(format!("{keeper:?} {:?}", keeper.snapshot()));
        texts.push(format!("{server:?}"));
        t = t.saturating_add(Duration::from_secs(2));
    }
    assert_eq!(tokens.len(), 3);
    for text in &texts {
        for token in &tokens {
            assert!(!text.contains(token.as_str()), "{token} in {text}");
        }
    }
}

// ---------------------------------------------------------------------------
// Authorised API calls: every call kind, with every token source, against an
// API that echoes the token it was sent (and token endpoints that echo what
// they were sent).

/// The API calls, each with its own answer type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ApiCall {
    Raw(tokendance::call::Scheme),
    ItcConsumer,
    ItcProfile,
    ItcApprove,
    GamPost,
    GamGet,
}

/// A GAM `data` type, so that data of another shape is refused.
#[derive(serde::Deserialize, Debug)]
#[allow(dead_code)] // read through Debug only
struct GamOrder {
    id: u64,
}

impl ApiCall {
    /// The success answer of the call's API, with no secret in it.
    fn success(self) -> http::Response<Vec<u8>> {
        use serde_json::json;
        match self {
            ApiCall::Raw(_) => json(200, json!({"ok": true})),
            ApiCall::ItcConsumer => json(
                200,
                json!({"regNo": "AA12345678", "loginName": "12345678901", "givenName": "Бат", "familyName": "Дорж"}),
            ),
            ApiCall::ItcProfile | ApiCall::ItcApprove => json(
                200,
                json!({"code": "success", "status": 200, "msg": "Амжилттай", "loginName": "12345678901",
                       "email": "bat@example.mn"}),
            ),
            ApiCall::GamPost | ApiCall::GamGet => json(
                200,
                json!({"status": "200", "message": "OK", "timestamp": "2024-05-01T10:00:00Z", "data": {"id": 7}}),
            ),
        }
    }
}

/// Every answer the API gives to a request that carried the token `t`.
fn api_answers(t: &str, success: http::Response<Vec<u8>>) -> Vec<(&'static str, http::Response<Vec<u8>>)> {
    use serde_json::json;
    let challenge =
        format!("Bearer realm=\"oms\", error=\"invalid_token\", error_description=\"expired {t}\"");
    vec![
        ("success", success),
        (
            "401 JSON and challenge echoing",
            response(
                401,
                &[
                    ("www-authenticate", &challenge),
                    ("content-type", "application/json"),
                ],
                serde_json::to_vec(
                    &json!({"error": format!("bad {t}"), "error_description": format!("token {t} expired"),
                    "message": t}),
                )
                .unwrap(),
            ),
        ),
        (
            "401 challenge only, echoing",
            response(
                401,
                &[(
                    "www-authenticate",
                    &format!("Bearer realm=\"{t}\", error=\"{t}\", error_description=\"{t} revoked\""),
                )],
                Vec::new(),
            ),
        ),
        (
            "401 XML echoing",
            response(
                401,
                &[
                    ("content-type", "application/xml"),
                    ("www-authenticate", &challenge),
                ],
                format!("<error><token>{t}</token></error>"),
            ),
        ),
        (
            "401 oversized echoing",
            response(401, &[], format!("{{\"message\":\"{t}{}\"}}", "x".repeat(70_000))),
        ),
        (
            "ITC invalidToken at 200 echoing",
            json(
                200,
                json!({"code": "invalidToken", "status": 401, "msg": format!("Токен {t} хүчингүй")}),
            ),
        ),
        (
            "403 echoing",
            json(403, json!({"error": t, "msg": format!("no right for {t}")})),
        ),
        ("403 empty", response(403, &[("content-length", "0")], Vec::new())),
        (
            "302 with the token in the target",
            response(
                302,
                &[("location", &format!("https://evil.example/x?token={t}#{t}"))],
                format!("moved {t}"),
            ),
        ),
        (
            "GAM error envelope echoing",
            json(
                200,
                json!({"status": "401", "message": format!("bad token {t}"), "error_code": t}),
            ),
        ),
        (
            "GAM error envelope at 400 echoing",
            json(
                400,
                json!({"status": 400, "message": format!("bad token {t}"), "error_code": format!("E_{t}")}),
            ),
        ),
        (
            "data of the wrong shape holding the token",
            json(
                200,
                json!({"status": "200", "data": {"id": t}, "regNo": [t], "loginName": {"token": t}, "code": [t]}),
            ),
        ),
        (
            "500 echoing",
            json(
                500,
                json!({"error": "server_error", "error_description": format!("{t} broke"), "msg": t}),
            ),
        ),
        (
            "429 echoing",
            response(
                429,
                &[("retry-after", "5"), ("content-type", "application/json")],
                serde_json::to_vec(&json!({"message": t})).unwrap(),
            ),
        ),
        (
            "502 HTML echoing",
            response(502, &[("content-type", "text/html")], format!("<html>{t}</html>")),
        ),
        (
            "200 HTML echoing",
            response(200, &[("content-type", "text/html")], format!("<html>{t}</html>")),
        ),
    ]
}

/// The first answers of a retry: 401s of every shape (indices of [`api_answers`]).
const FIRST_REFUSALS: [usize; 4] = [1, 2, 3, 4];
/// ITC also refuses a token with `"code": "invalidToken"` at HTTP 200.
const ITC_FIRST_REFUSALS: [usize; 5] = [1, 2, 3, 4, 5];

/// The credential an API request carries, without its scheme word.
fn carried_token(request: &http::Request<Vec<u8>>) -> String {
    let value = request
        .headers()
        .get("authorization")
        .or_else(|| request.headers().get("clienttoken"))
        .expect("the API request carries a credential");
    assert!(value.is_sensitive(), "the credential header is marked sensitive");
    let value = value.to_str().unwrap();
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("token "))
        .unwrap_or(value);
    token.to_owned()
}

/// A scripted server for the API and the token endpoints.
struct ApiServer {
    /// The tokens the token endpoints issue, in order (access, refresh).
    tokens: Vec<(&'static str, &'static str)>,
    issued: usize,
    /// Which token issuance to refuse (echoing the request body).
    refuse_issue: Option<usize>,
    /// The answer (an index of [`api_answers`]) to each API request.
    plan: Vec<usize>,
    api_calls: usize,
    success: http::Response<Vec<u8>>,
}

impl ApiServer {
    fn new(plan: Vec<usize>, success: http::Response<Vec<u8>>) -> Self {
        ApiServer {
            tokens: vec![(ACCESS, REFRESH), (ACCESS_2, REFRESH_2), (ACCESS_2, REFRESH_2)],
            issued: 0,
            refuse_issue: None,
            plan,
            api_calls: 0,
            success,
        }
    }

    fn answer(&mut self, label: &str, request: &http::Request<Vec<u8>>) -> http::Response<Vec<u8>> {
        use serde_json::json;
        let path = request.uri().path().to_owned();
        let raw = String::from_utf8_lossy(request.body()).into_owned();
        if path.ends_with("/auth/key") {
            return json(200, json!({"uuid": "u-1", "data": "QNRPNPFGJZ"}));
        }
        let sign_in = path.contains("/auth/simpleSignIn/");
        if sign_in || path.ends_with("/openid-connect/token") || path.ends_with("/oauth2/v3/token") {
            let i = self.issued;
            self.issued += 1;
            if self.refuse_issue == Some(i) {
                return json(
                    401,
                    json!({"error": "invalid_grant", "error_description": format!("refused: {raw}"),
                           "message": raw}),
                );
            }
            let (access, refresh) = self.tokens[i];
            return if sign_in {
                json(200, json!({"token": access}))
            } else {
                json(
                    200,
                    json!({"access_token": access, "expires_in": 300, "refresh_token": refresh,
                           "refresh_expires_in": 1800, "token_type": "Bearer"}),
                )
            };
        }
        // The API: the token really is on the wire.
        let token = carried_token(request);
        assert!(token == ACCESS || token == ACCESS_2, "{label}: {token}");
        let i = self.plan[self.api_calls];
        self.api_calls += 1;
        api_answers(&token, self.success.clone()).swap_remove(i).1
    }
}

/// Runs `call` against `server`, printing everything it hands out.
fn run_api_call<F: Flow + Debug>(
    seen: &mut Seen,
    label: &str,
    mut call: F,
    server: &mut ApiServer,
    record: fn(&mut Seen, &str, &F::Output),
) -> Result<(), Error> {
    let mut now = now0();
    seen.debug(&format!("{label}: call new"), &call);
    let mut step = call.start(now);
    let result = loop {
        seen.debug(&format!("{label}: call"), &call);
        step = match step {
            Ok(Action::Send(out)) => {
                seen.outgoing(&format!("{label}: request"), &out);
                let input = Input::Response(server.answer(label, out.as_http()));
                seen.debug(&format!("{label}: response input"), &input);
                call.resume(now, input)
            }
            Ok(Action::Sign(job)) => {
                seen.debug(&format!("{label}: sign job"), &job);
                let input = Input::Signature(Signature::from_der(SIG_DER.to_vec()));
                seen.debug(&format!("{label}: signature input"), &input);
                call.resume(now, input)
            }
            Ok(Action::Wait(until)) => {
                seen.debug(&format!("{label}: wait"), &until);
                now = until;
                call.resume(now, Input::Timeout)
            }
            Ok(Action::Done(output)) => {
                record(seen, &format!("{label}: output"), &output);
                break Ok(());
            }
            Err(e) => {
                seen.error(&format!("{label}: error"), &e);
                break Err(e);
            }
        };
    };
    seen.debug(&format!("{label}: call at the end"), &call);
    let Err(e) = call.resume(now, Input::Timeout) else {
        panic!("{label}: the call went on after its end")
    };
    assert_eq!(e, Error::Usage(UsageError::Finished), "{label}");
    assert!(server.api_calls <= 2, "{label}: at most one retry");
    result
}

fn record_raw(seen: &mut Seen, label: &str, response: &http::Response<Vec<u8>>) {
    // The raw response is the caller's own; its head is printed.
    seen.debug(&format!("{label} status"), &response.status());
    seen.debug(&format!("{label} headers"), response.headers());
}

fn record_debug<T: Debug>(seen: &mut Seen, label: &str, output: &T) {
    seen.debug(label, output);
}

fn record_reply(seen: &mut Seen, label: &str, reply: &itc::Reply) {
    seen.debug(label, reply);
    seen.both(&format!("{label} code"), &reply.code);
}

/// Builds `kind` over `source` and runs it.
fn run_api_kind<S>(
    seen: &mut Seen,
    label: &str,
    kind: ApiCall,
    source: S,
    server: &mut ApiServer,
) -> Result<(), Error>
where
    S: tokendance::call::TokenSource + Debug,
{
    use tokendance::call::{Authorized, Scheme};
    let label = format!("{label} / {kind:?}");
    let itc_config = itc::Config::staging();
    let gam_config = gam::Config::staging();
    match kind {
        ApiCall::Raw(scheme) => {
            let uri = match scheme {
                Scheme::SuzClientToken => "https://suzgrid.crpt.ru:16443/api/v2/pharma/ping?omsId=oms-1",
                Scheme::MdlpToken => "https://api.sb.mdlp.crpt.ru/api/v1/documents/outcome",
                _ => "https://wallet.monpay.mn/v2/api/user/info",
            };
            let request = http::Request::post(uri)
                .header("content-type", "application/json")
                .body(br#"{"page":1}"#.to_vec())
                .unwrap();
            let call = Authorized::new(source, request, scheme).unwrap();
            run_api_call(seen, &label, call, server, record_raw)
        }
        ApiCall::ItcConsumer => {
            let call = itc::consumer(&itc_config, "АА12345678", source).unwrap();
            run_api_call(seen, &label, call, server, record_debug)
        }
        ApiCall::ItcProfile => {
            let query = itc::ProfileQuery::Phone("99112233".to_owned());
            let call = itc::get_profile(&itc_config, &query, source).unwrap();
            run_api_call(seen, &label, call, server, record_reply)
        }
        ApiCall::ItcApprove => {
            let call = itc::approve_qr(&itc_config, "12345678901", "QR-DATA-0001", source).unwrap();
            run_api_call(seen, &label, call, server, record_reply)
        }
        ApiCall::GamPost => {
            let body = serde_json::json!({"customerCode": "C-1"});
            let call =
                gam::post::<_, GamOrder>(&gam_config, "SHOP01", &["api", "v1", "orders"], &body, source)
                    .unwrap();
            run_api_call(seen, &label, call, server, record_debug)
        }
        ApiCall::GamGet => {
            let call = gam::get::<_, GamOrder>(
                &gam_config,
                "SHOP01",
                &["api", "v1", "orders", "7"],
                &[("q", "a b")],
                source,
            )
            .unwrap();
            run_api_call(seen, &label, call, server, record_debug)
        }
    }
}

const ALL_API_CALLS: [ApiCall; 8] = [
    ApiCall::Raw(tokendance::call::Scheme::Bearer),
    ApiCall::Raw(tokendance::call::Scheme::SuzClientToken),
    ApiCall::Raw(tokendance::call::Scheme::MdlpToken),
    ApiCall::ItcConsumer,
    ApiCall::ItcProfile,
    ApiCall::ItcApprove,
    ApiCall::GamPost,
    ApiCall::GamGet,
];

fn gam_reissue(
    secret: &'static str,
) -> tokendance::call::Reissue<impl FnMut() -> Result<TokenRequest, Error>, TokenRequest> {
    tokendance::call::Reissue::new(move || {
        gam::client_credentials(
            &gam::Config::staging(),
            "client-one",
            ClientSecret::new(secret),
            "s:a",
        )
    })
}

fn suz_sign_in() -> Result<tokendance::crpt::ChallengeSignIn, Error> {
    tokendance::crpt::true_api::sign_in(&tokendance::crpt::TrueApiStand::Demo.endpoint(), Some(CRPT_CONN))
}

#[test]
fn api_calls_with_a_fixed_token_never_print_a_canary() {
    let mut seen = Seen::default();
    for kind in ALL_API_CALLS {
        let names: Vec<&str> = api_answers(ACCESS, kind.success())
            .iter()
            .map(|(n, _)| *n)
            .collect();
        for (scenario, name) in names.into_iter().enumerate() {
            let mut server = ApiServer::new(vec![scenario], kind.success());
            let token = TokenSet::new(AccessToken::new(ACCESS), now0(), None);
            let label = format!("fixed / {name}");
            let result = run_api_kind(&mut seen, &label, kind, token, &mut server);
            // The raw call hands back whatever is neither a 401, a 403 nor a
            // redirect; typed calls accept their success answer only.
            let refused = ["401", "403", "302"].iter().any(|p| name.starts_with(p));
            let want_ok = name == "success" || (matches!(kind, ApiCall::Raw(_)) && !refused);
            assert_eq!(result.is_ok(), want_ok, "{kind:?} / {name}: {result:?}");
            assert_eq!(server.api_calls, 1, "a fixed token is never retried");
        }
    }
    seen.assert_clean(3_000);
}

#[test]
fn api_calls_retrying_with_renewable_sources_never_print_a_canary() {
    use std::sync::Mutex;
    use tokendance::call::Scheme;
    use tokendance::crpt::{KeeperSource, TokenKeeper};
    let mut seen = Seen::default();
    let scenarios = api_answers(ACCESS, ApiCall::GamPost.success()).len();
    let mut retried_to_success = 0;
    for scenario in 0..scenarios {
        let plan = vec![FIRST_REFUSALS[scenario % FIRST_REFUSALS.len()], scenario];
        let itc_plan = vec![ITC_FIRST_REFUSALS[scenario % ITC_FIRST_REFUSALS.len()], scenario];
        // GAM client credentials re-run by a Reissue.
        for secret in [CLIENT_SECRET, CLIENT_SECRET_SPECIAL] {
            for kind in [ApiCall::GamPost, ApiCall::GamGet, ApiCall::Raw(Scheme::Bearer)] {
                let mut server = ApiServer::new(plan.clone(), kind.success());
                let result = run_api_kind(&mut seen, "reissue", kind, gam_reissue(secret), &mut server);
                assert_eq!(server.issued, 2, "{kind:?} {scenario}: one new token");
                assert_eq!(server.api_calls, 2, "{kind:?} {scenario}: retried once");
                if scenario == 0 {
                    result.unwrap();
                    retried_to_success += 1;
                }
            }
        }
        // The ITC session: password grant, then the refresh after the 401.
        for pw in [PW, PW_SPECIAL] {
            for kind in [ApiCall::ItcConsumer, ApiCall::ItcProfile, ApiCall::ItcApprove] {
                let mut session = itc_session(pw);
                let mut server = ApiServer::new(itc_plan.clone(), kind.success());
                let result = run_api_kind(&mut seen, "itc session", kind, &mut session, &mut server);
                assert_eq!(server.api_calls, 2, "{kind:?} {scenario}: retried once");
                seen.debug("itc session after the call", &session);
                if scenario == 0 {
                    result.unwrap();
                    retried_to_success += 1;
                    assert_eq!(session.tokens().unwrap().access_token().expose_secret(), ACCESS_2);
                }
            }
        }
        // The SUZ keeper, shared or not, signing in again after the 401.
        for scheme in [Scheme::SuzClientToken, Scheme::MdlpToken] {
            let kind = ApiCall::Raw(scheme);
            let keeper = Mutex::new(TokenKeeper::new(CRPT_CONN));
            let mut server = ApiServer::new(plan.clone(), kind.success());
            let source = KeeperSource::new(&keeper, suz_sign_in);
            let result = run_api_kind(&mut seen, "shared keeper", kind, source, &mut server);
            seen.debug("shared keeper after the call", &keeper);
            assert_eq!(server.issued, 2);
            let mut keeper = TokenKeeper::new(CRPT_CONN);
            let mut server = ApiServer::new(plan.clone(), kind.success());
            let source = KeeperSource::new(&mut keeper, suz_sign_in);
            let other = run_api_kind(&mut seen, "own keeper", kind, source, &mut server);
            seen.debug("own keeper after the call", &keeper);
            assert_eq!(result.is_ok(), other.is_ok());
            if scenario == 0 {
                result.unwrap();
                retried_to_success += 1;
                assert_eq!(keeper.token().unwrap().access_token().expose_secret(), ACCESS_2);
            }
        }
    }
    assert_eq!(retried_to_success, 6 + 6 + 2);
    seen.assert_clean(10_000);
}

#[test]
fn api_calls_whose_renewal_is_refused_never_print_a_canary() {
    use std::sync::Mutex;
    use tokendance::call::Scheme;
    use tokendance::crpt::{KeeperSource, TokenKeeper};
    let mut seen = Seen::default();
    for refuse in [0, 1] {
        for (i, first) in ITC_FIRST_REFUSALS.into_iter().enumerate() {
            let plan = vec![FIRST_REFUSALS[i % FIRST_REFUSALS.len()], 0];
            let itc_plan = vec![first, 0];
            for secret in [CLIENT_SECRET, CLIENT_SECRET_SPECIAL] {
                let mut server = ApiServer::new(plan.clone(), ApiCall::GamPost.success());
                server.refuse_issue = Some(refuse);
                let err = run_api_kind(
                    &mut seen,
                    "reissue refused",
                    ApiCall::GamPost,
                    gam_reissue(secret),
                    &mut server,
                )
                .unwrap_err();
                assert_eq!(err.as_server().map(|s| s.status.as_u16()), Some(401));
            }
            for pw in [PW, PW_SPECIAL] {
                let mut session = itc_session(pw);
                let mut server = ApiServer::new(itc_plan.clone(), ApiCall::ItcProfile.success());
                server.refuse_issue = Some(refuse);
                // A refused password grant ends the session; a refused
                // refresh is followed by the password grant.
                let result = run_api_kind(
                    &mut seen,
                    "itc refused",
                    ApiCall::ItcProfile,
                    &mut session,
                    &mut server,
                );
                assert_eq!(result.is_err(), refuse == 0, "{first}: {result:?}");
                assert_eq!(session.has_ended(), refuse == 0);
                seen.debug("itc session after a refusal", &session);
            }
            let keeper = Mutex::new(TokenKeeper::new(CRPT_CONN));
            let mut server = ApiServer::new(plan.clone(), ApiCall::GamPost.success());
            server.refuse_issue = Some(refuse);
            let source = KeeperSource::new(&keeper, suz_sign_in);
            let err = run_api_kind(
                &mut seen,
                "keeper refused",
                ApiCall::Raw(Scheme::SuzClientToken),
                source,
                &mut server,
            )
            .unwrap_err();
            assert_eq!(err.as_server().map(|s| s.status.as_u16()), Some(401));
            seen.debug("keeper after a refused sign-in", &keeper);
        }
    }
    seen.assert_clean(1_000);
}

#[test]
fn api_call_types_and_errors_never_print_a_canary() {
    use tokendance::call::{Authorized, Scheme};
    let mut seen = Seen::default();
    let token = AccessToken::new(ACCESS);
    // The credential headers, in every scheme.
    for scheme in [Scheme::Bearer, Scheme::SuzClientToken, Scheme::MdlpToken] {
        seen.debug("scheme", &scheme);
        let (name, value) = scheme.header(&token).unwrap();
        assert!(
            value.as_bytes().ends_with(ACCESS.as_bytes()),
            "the token is in the value"
        );
        assert!(value.is_sensitive());
        seen.debug("scheme header", &(name, value));
        let e = scheme
            .header(&AccessToken::new(format!("{ACCESS}\r\nX: 1")))
            .unwrap_err();
        seen.error("scheme header refused", &e);
    }
    // A request whose query carries a key: the call names its path only.
    let request = || {
        http::Request::get(format!("https://api.example/v1/items?api_key={ACCESS_2}&x=1"))
            .body(Vec::new())
            .unwrap()
    };
    let fixed = || TokenSet::new(AccessToken::new(ACCESS), now0(), None);
    let mut call = Authorized::new(fixed(), request(), Scheme::Bearer).unwrap();
    seen.debug("call with a key in its query", &call);
    let _ = call.start(now0()).unwrap();
    seen.debug("call with a key in its query, sent", &call);
    // Plain http, with the key in the query and user info.
    for uri in [
        format!("http://api.example/v1/items?api_key={ACCESS_2}"),
        format!("http://user:{PW}@api.example/v1/items?api_key={ACCESS_2}#{REFRESH}"),
    ] {
        let request = http::Request::get(uri).body(Vec::new()).unwrap();
        let e = Authorized::new(fixed(), request, Scheme::Bearer).unwrap_err();
        assert!(matches!(
            e,
            Error::Usage(UsageError::InsecureUrl { .. } | UsageError::InvalidUrl { .. })
        ));
        seen.error("insecure api url", &e);
    }
    // Usage errors of the calls.
    let e = itc::consumer(&itc::Config::staging(), "..", fixed()).unwrap_err();
    seen.error("dot segment", &e);
    let e = gam::post::<_, serde_json::Value>(&gam::Config::staging(), "", &["a"], &1, fixed()).unwrap_err();
    seen.error("empty partner code", &e);
    let e = itc::ProfileQuery::from_fields(None, None).unwrap_err();
    seen.error("profile query", &e);
    let expired = TokenSet::new(AccessToken::new(ACCESS), now0(), Some(now0()));
    let mut call = Authorized::new(expired, request(), Scheme::Bearer).unwrap();
    let e = call.start(now0()).unwrap_err();
    assert_eq!(e, Error::Usage(UsageError::TokenUnavailable));
    seen.error("token unavailable", &e);
    seen.debug("call after token unavailable", &call);
    let mut call = Authorized::new(fixed(), request(), Scheme::Bearer).unwrap();
    let _ = call.start(now0()).unwrap();
    let e = call
        .resume(now0(), Input::Signature(Signature::from_der(SIG_DER.to_vec())))
        .unwrap_err();
    seen.error("unexpected input", &e);
    let e = call.resume(now0(), Input::Failed).unwrap_err();
    seen.error("aborted", &e);
    seen.debug("aborted call", &call);
    // The typed answers on their own.
    for code in ["success", "inValidQr", "quotaExceeded"] {
        let c = itc::Code::parse(code);
        seen.both("code", &c);
    }
    let reply = itc::Reply::from_response(&ApiCall::ItcProfile.success()).unwrap();
    seen.debug("reply", &reply);
    let consumer = itc::Consumer::from_response(&ApiCall::ItcConsumer.success()).unwrap();
    seen.debug("consumer", &consumer);
    let envelope: gam::Envelope<serde_json::Value> =
        gam::Envelope::from_response(&ApiCall::GamPost.success()).unwrap();
    seen.debug("envelope", &envelope);
    // A GAM success envelope whose message echoes the token sent: scrubbed.
    let mut call =
        gam::get::<_, serde_json::Value>(&gam::Config::staging(), "S", &["a"], &[], fixed()).unwrap();
    let _ = call.start(now0()).unwrap();
    let answer = json(
        200,
        serde_json::json!({
            "status": format!("200 {ACCESS}"),
            "message": format!("hello {ACCESS}"),
            "timestamp": format!("now {ACCESS}"),
            "data": {"echo": ACCESS},
        }),
    );
    let Action::Done(envelope) = call.resume(now0(), Input::Response(answer)).unwrap() else {
        panic!()
    };
    // The texts are the caller's as sent; printed, they are withheld.
    assert_eq!(
        envelope.message.as_deref(),
        Some(format!("hello {ACCESS}").as_str())
    );
    assert_eq!(envelope.status, format!("200 {ACCESS}").as_str());
    for text in [
        Some(&envelope.status),
        envelope.message.as_ref(),
        envelope.timestamp.as_ref(),
    ] {
        let text = text.unwrap();
        assert!(text.echoes_secret());
        assert_eq!(
            (format!("{text:?}"), text.to_string()),
            (tokendance::WITHHELD.to_owned(), tokendance::WITHHELD.to_owned())
        );
    }
    // The payload is the caller's, untouched; the envelope's Debug does not show it.
    assert_eq!(envelope.data.as_ref().map(|d| d["echo"] == ACCESS), Some(true));
    assert!(
        format!("{envelope:?}").ends_with("data: Some(<not shown>) }"),
        "{envelope:?}"
    );
    seen.debug("envelope echoing the token", &envelope);
    // Through the blocking driver: the second refusal, and a lost request.
    let mut session = itc_session(PW);
    let mut server = ApiServer::new(vec![1, 1], ApiCall::ItcConsumer.success());
    let call = itc::consumer(&itc::Config::staging(), "AA12345678", &mut session).unwrap();
    let clock = std::cell::Cell::new(now0());
    let e = drive::drive(
        call,
        || clock.get(),
        |req| {
            seen.debug("driver raw headers", req.headers());
            Ok::<_, std::io::Error>(server.answer("driver", &req))
        },
        drive::no_signer,
        |t| clock.set(t),
    )
    .unwrap_err();
    assert!(matches!(&e, drive::DriveError::Flow(Error::Server(_))), "{e:?}");
    seen.both("driver second 401", &e);
    let e = drive::drive(
        itc::consumer(&itc::Config::staging(), "AA12345678", &mut session).unwrap(),
        || clock.get(),
        |_| Err(std::io::Error::other("connection reset")),
        drive::no_signer,
        |t| clock.set(t),
    )
    .unwrap_err();
    seen.both("driver transport error", &e);
    seen.debug("session after the driver", &session);
    seen.assert_clean(100);
}

/// The crate promises that "a server message echoing a secret the request
/// carried is scrubbed" (lib docs, Security), and the GAM envelope's message
/// is; ITC's getProfile/approveQr `msg` (and an unknown `code`) at HTTP 200
/// are kept as sent, token included.
#[test]
fn itc_reply_text_echoing_the_token_is_scrubbed() {
    let mut seen = Seen::default();
    for body in [
        serde_json::json!({"code": "userNotFound", "status": 201, "msg": format!("token {ACCESS} is fine but no user")}),
        serde_json::json!({"code": format!("err-{ACCESS}"), "status": 500}),
    ] {
        let fixed = TokenSet::new(AccessToken::new(ACCESS), now0(), None);
        let query = itc::ProfileQuery::Phone("99112233".to_owned());
        let mut call = itc::get_profile(&itc::Config::staging(), &query, fixed).unwrap();
        let Action::Send(out) = call.start(now0()).unwrap() else {
            panic!()
        };
        assert_eq!(carried_token(out.as_http()), ACCESS);
        let Action::Done(reply) = call.resume(now0(), Input::Response(json(200, body))).unwrap() else {
            panic!()
        };
        seen.debug("itc reply echoing the token", &reply);
        seen.both("itc reply code echoing the token", &reply.code);
    }
    seen.assert_clean(4);
}

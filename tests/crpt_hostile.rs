//! Hostile and broken responses fed to every CRPT step that parses server
//! bytes: the registration answer, the challenge key answer and the
//! challenge sign-in answer (GIS MT and True API), the MDLP `auth` answer and
//! the MDLP `token` answer (signed code and password). For every response fed
//! the harness checks that:
//!
//! * no error's `Display` or `Debug` holds the token of a 2xx body or any
//!   secret the request carried;
//! * after an error the flow is finished for good: every later call returns
//!   `UsageError::Finished`, and none emits a `Send` or a `Sign`.
#![cfg(feature = "fake")]

use std::time::Duration;

use tokendance::crpt::{gis_mt, mdlp, registration, true_api, GisMtStand, MdlpStand, SuzStand, TrueApiStand};
use tokendance::fake::{self, Crpt, CrptFailure, Fake};
use tokendance::{
    Action, ClientSecret, Error, Flow, Input, Password, ProtocolError, RegistrationKey, RetryAfter,
    ServerErrorKind, Signature, SignatureKind, Timestamp, TokenSet, UsageError, MAX_BODY, MAX_MESSAGE_CHARS,
};

const T0: Timestamp = Timestamp::from_unix_secs(1_700_000_000);
const CONN: &str = "11B1ABC9-F4EE-47DB-8A20-F80AC83504E8";
/// The token every 2xx body carries: it must never appear in an error.
const TOKEN: &str = "SECRET-TOKEN-7f3a";
const REG_KEY: &str = "reg-key-4411-secret";
const MDLP_SECRET: &str = "mdlp-client-secret-91b2";
const MDLP_PASSWORD: &str = "mdlp-password-5e11";
/// The signature the harness signs with; its base64 is echoed by hostile servers.
const SIG_DER: &[u8] = b"signature-der-bytes-0b7d";
const SIG_B64: &str = "c2lnbmF0dXJlLWRlci1ieXRlcy0wYjdk";
const NEVER_IN_ERRORS: [&str; 5] = [TOKEN, REG_KEY, MDLP_SECRET, MDLP_PASSWORD, SIG_B64];

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Step {
    Registration,
    GisMtKey,
    GisMtSignIn,
    TrueApiKey,
    TrueApiSignIn,
    MdlpAuthSigned,
    MdlpAuthPassword,
    MdlpTokenSigned,
    MdlpTokenPassword,
}
use Step::*;

mod common;
use common::{resp, Resp};

const ALL: [Step; 9] = [
    Registration,
    GisMtKey,
    GisMtSignIn,
    TrueApiKey,
    TrueApiSignIn,
    MdlpAuthSigned,
    MdlpAuthPassword,
    MdlpTokenSigned,
    MdlpTokenPassword,
];
const TOKEN_STEPS: [Step; 4] = [GisMtSignIn, TrueApiSignIn, MdlpTokenSigned, MdlpTokenPassword];
const CHALLENGE_KEYS: [Step; 2] = [GisMtKey, TrueApiKey];

impl Step {
    /// A valid answer for this step.
    fn ok_body(self) -> String {
        match self {
            Registration => r#"{"status":"SUCCESS","omsConnection":"CDF12109"}"#.to_owned(),
            GisMtKey | TrueApiKey => r#"{"uuid":"u-1","data":"QNRPNPFGJZ"}"#.to_owned(),
            GisMtSignIn | TrueApiSignIn => format!(r#"{{"token":"{TOKEN}"}}"#),
            MdlpAuthSigned | MdlpAuthPassword => r#"{"code":"c0de-1"}"#.to_owned(),
            MdlpTokenSigned | MdlpTokenPassword => format!(r#"{{"token":"{TOKEN}","life_time":30}}"#),
        }
    }

    /// How many requests the flow sends before the one this step answers.
    fn sends_before(self) -> usize {
        match self {
            GisMtSignIn | TrueApiSignIn | MdlpTokenSigned | MdlpTokenPassword => 1,
            _ => 0,
        }
    }

    fn flow(self) -> Box<dyn Probe> {
        let client = || mdlp::Client {
            id: "client-1".to_owned(),
            secret: ClientSecret::new(MDLP_SECRET),
        };
        match self {
            Registration => Box::new(Wrap(
                registration::register(
                    &SuzStand::Demo.endpoint(),
                    "oms-1",
                    RegistrationKey::new(REG_KEY),
                    "addr",
                    registration::Signing::Detached,
                    "v2",
                )
                .unwrap(),
            )),
            GisMtKey | GisMtSignIn => Box::new(Wrap(
                gis_mt::sign_in(&GisMtStand::Demo.endpoint(), Some(CONN)).unwrap(),
            )),
            TrueApiKey | TrueApiSignIn => Box::new(Wrap(
                true_api::sign_in(&TrueApiStand::Demo.endpoint(), Some(CONN)).unwrap(),
            )),
            MdlpAuthSigned | MdlpTokenSigned => Box::new(Wrap(
                mdlp::sign_in(
                    &MdlpStand::Sandbox.endpoint(),
                    client(),
                    "user-1",
                    mdlp::Auth::SignedCode,
                    Some(CONN),
                )
                .unwrap(),
            )),
            MdlpAuthPassword | MdlpTokenPassword => Box::new(Wrap(
                mdlp::sign_in(
                    &MdlpStand::NonResidentSandbox.endpoint(),
                    client(),
                    "user@example.org",
                    mdlp::Auth::Password(Password::new(MDLP_PASSWORD)),
                    Some(CONN),
                )
                .unwrap(),
            )),
        }
    }
}

/// What a flow did, type-erased.
#[derive(Debug, PartialEq)]
enum Act {
    Send,
    Sign,
    Wait(Timestamp),
    /// The token (or outcome) and its expiry, as text.
    Done(String, Option<Timestamp>),
}

trait Probe {
    fn start(&mut self, now: Timestamp) -> Result<Act, Error>;
    fn resume(&mut self, now: Timestamp, input: Input) -> Result<Act, Error>;
}

struct Wrap<F>(F);

trait Show {
    fn show(&self) -> (String, Option<Timestamp>);
}

impl Show for TokenSet {
    fn show(&self) -> (String, Option<Timestamp>) {
        (self.access_token().expose_secret().to_owned(), self.expires_at())
    }
}

impl Show for registration::Outcome {
    fn show(&self) -> (String, Option<Timestamp>) {
        (format!("{self:?}"), None)
    }
}

fn act<T: Show>(a: Result<Action<T>, Error>) -> Result<Act, Error> {
    a.map(|a| match a {
        Action::Send(_) => Act::Send,
        Action::Sign(_) => Act::Sign,
        Action::Wait(t) => Act::Wait(t),
        Action::Done(v) => {
            let (s, e) = v.show();
            Act::Done(s, e)
        }
    })
}

impl<F: Flow> Probe for Wrap<F>
where
    F::Output: Show,
{
    fn start(&mut self, now: Timestamp) -> Result<Act, Error> {
        act(self.0.start(now))
    }
    fn resume(&mut self, now: Timestamp, input: Input) -> Result<Act, Error> {
        act(self.0.resume(now, input))
    }
}

fn json(status: u16, body: impl AsRef<[u8]>) -> Resp {
    resp(status, body).header("content-type", "application/json;charset=UTF-8")
}

/// The instant the step's request goes out (the MDLP token call waits a second).
fn sent_at(step: Step) -> Timestamp {
    match step {
        MdlpTokenSigned | MdlpTokenPassword => T0.saturating_add(Duration::from_secs(1)),
        _ => T0,
    }
}

/// The flow of `step`, brought to the point where its request is out, with
/// valid answers to every earlier step.
fn at_step(step: Step) -> Box<dyn Probe> {
    let mut flow = step.flow();
    let mut action = flow.start(T0).unwrap();
    let mut sends = 0;
    let mut now = T0;
    loop {
        match action {
            Act::Send if sends == step.sends_before() => return flow,
            Act::Send => {
                sends += 1;
                let earlier = match step {
                    GisMtSignIn => GisMtKey,
                    TrueApiSignIn => TrueApiKey,
                    MdlpTokenSigned => MdlpAuthSigned,
                    MdlpTokenPassword => MdlpAuthPassword,
                    _ => unreachable!(),
                };
                action = flow
                    .resume(now, Input::Response(json(200, earlier.ok_body()).build()))
                    .unwrap();
            }
            Act::Sign => {
                action = flow
                    .resume(now, Input::Signature(Signature::from_der(SIG_DER.to_vec())))
                    .unwrap();
            }
            Act::Wait(until) => {
                now = until;
                action = flow.resume(now, Input::Timeout).unwrap();
            }
            Act::Done(..) => panic!("{step:?}: done before the step"),
        }
    }
}

#[track_caller]
fn assert_clean(step: Step, err: &Error) {
    let shown = format!("{err} / {err:?} / {err:#?}");
    for secret in NEVER_IN_ERRORS {
        assert!(
            !shown.contains(secret),
            "{step:?}: error shows {secret:?}: {shown}"
        );
    }
    assert!(!err.to_string().is_empty());
}

/// Feeds `r` to `step`; on error checks the flow is finished for good.
fn feed(step: Step, r: &Resp) -> Result<Act, Error> {
    let mut flow = at_step(step);
    let now = sent_at(step);
    let result = flow.resume(now, Input::Response(r.build()));
    if let Err(err) = &result {
        assert_clean(step, err);
        let later_times = [now, now.saturating_add(Duration::from_secs(3600))];
        for t in later_times {
            for later in [
                flow.start(t),
                flow.resume(t, Input::Response(json(200, step.ok_body()).build())),
                flow.resume(t, Input::Signature(Signature::from_der(SIG_DER.to_vec()))),
                flow.resume(t, Input::Timeout),
                flow.resume(t, Input::Failed),
            ] {
                assert_eq!(
                    later,
                    Err(Error::Usage(UsageError::Finished)),
                    "{step:?}: a later call did something"
                );
            }
        }
    }
    result
}

#[track_caller]
fn error(step: Step, r: &Resp) -> Error {
    match feed(step, r) {
        Err(e) => e,
        Ok(a) => panic!("{step:?}: expected an error for {r:?}, got {a:?}"),
    }
}

/// Asserts a server refusal with this status, kind, code and message.
#[track_caller]
fn refusal(step: Step, r: &Resp, kind: ServerErrorKind, code: Option<&str>, message: Option<&str>) -> Error {
    let e = error(step, r);
    let s = e
        .as_server()
        .unwrap_or_else(|| panic!("{step:?}: expected a server refusal for {r:?}, got {e:?}"));
    assert_eq!(s.status.as_u16(), r.status, "{step:?}");
    assert_eq!(s.kind, kind, "{step:?}: {r:?}");
    assert_eq!(s.code.as_deref(), code, "{step:?}: {r:?}");
    assert_eq!(s.message.as_deref(), message, "{step:?}: {r:?}");
    e
}

#[track_caller]
fn protocol(step: Step, r: &Resp) -> ProtocolError {
    match error(step, r) {
        Error::Protocol(p) => p,
        other => panic!("{step:?}: expected a protocol error for {r:?}, got {other:?}"),
    }
}

// ------------------------------------------------------------ the good path, as a control

#[test]
fn valid_answers_succeed_at_every_step() {
    for step in ALL {
        let got = feed(step, &json(200, step.ok_body())).unwrap();
        let want = match step {
            Registration => Act::Done(
                format!(
                    "{:?}",
                    registration::Outcome::Registered {
                        oms_connection: "CDF12109".into()
                    }
                ),
                None,
            ),
            GisMtKey | TrueApiKey | MdlpAuthSigned => Act::Sign,
            MdlpAuthPassword => Act::Wait(T0.saturating_add(mdlp::SPACING)),
            GisMtSignIn | TrueApiSignIn => Act::Done(
                TOKEN.to_owned(),
                Some(T0.saturating_add(Duration::from_secs(36_000))),
            ),
            MdlpTokenSigned | MdlpTokenPassword => Act::Done(
                TOKEN.to_owned(),
                Some(sent_at(step).saturating_add(Duration::from_secs(1_800))),
            ),
        };
        assert_eq!(got, want, "{step:?}");
    }
}

#[test]
fn content_type_variants_and_a_bom_are_accepted() {
    for step in ALL {
        let body = step.ok_body();
        let mut bom = b"\xEF\xBB\xBF".to_vec();
        bom.extend_from_slice(body.as_bytes());
        for r in [
            resp(200, &body).header("content-type", "application/json;charset=UTF-8"),
            resp(200, &body).header("content-type", "application/json; charset=UTF-8"),
            resp(200, &body).header("content-type", "application/json"),
            resp(200, &body).header("content-type", "text/plain"),
            resp(200, &body),
            resp(200, &bom).header("content-type", "application/json"),
        ] {
            assert!(feed(step, &r).is_ok(), "{step:?}: {r:?}");
        }
    }
}

// ------------------------------------------------------------ §2.D error shapes

#[test]
fn every_error_shape_keeps_the_servers_words_at_every_step() {
    use ServerErrorKind::*;
    let shapes: Vec<(&str, Option<&str>, Option<&str>)> = vec![
        (
            r#"{"error_message":"Ошибка авторизации"}"#,
            None,
            Some("Ошибка авторизации"),
        ),
        (
            r#"{"code":4,"error_message":"Сертификат не найден","description":"certificate not found"}"#,
            Some("4"),
            Some("Сертификат не найден"),
        ),
        (
            r#"{"code":"AUTH_FAILED","error_message":"bad signature","description":"details"}"#,
            Some("AUTH_FAILED"),
            Some("bad signature"),
        ),
        (
            r#"{"code":"E-17","description":"Неверный uuid"}"#,
            Some("E-17"),
            Some("Неверный uuid"),
        ),
        (
            r#"{"code":17,"description":"Неверный uuid"}"#,
            Some("17"),
            Some("Неверный uuid"),
        ),
        (
            r#"{"success":false,"globalErrors":[{"error":"Неверный omsId","errorCode":1001}],"fieldErrors":[]}"#,
            Some("1001"),
            Some("Неверный omsId"),
        ),
        (
            r#"{"success":false,"globalErrors":["omsId is wrong"],"fieldErrors":[{"fieldName":"address","errorMessage":"must not be empty"}]}"#,
            None,
            Some("omsId is wrong"),
        ),
        (
            r#"{"success":false,"globalErrors":[],"fieldErrors":[{"fieldName":"address","message":"must not be empty"}]}"#,
            None,
            Some("address: must not be empty"),
        ),
        (
            r#"{"timestamp":"2026-01-01T00:00:00.000+0000","status":400,"error":"Bad Request","message":"Invalid auth request","path":"/api/v1/auth"}"#,
            Some("Bad Request"),
            Some("Invalid auth request"),
        ),
        (
            r#"{"error_description":"Signature expired"}"#,
            None,
            Some("Signature expired"),
        ),
        (
            r#"{"success":false,"violations":[{"fieldName":"uuid","message":"must not be null"}]}"#,
            None,
            Some("uuid: must not be null"),
        ),
    ];
    for step in ALL {
        for (body, code, message) in &shapes {
            for (status, kind) in [
                (400, Rejected),
                (401, Unauthorized),
                (403, Forbidden),
                (500, Unavailable),
            ] {
                refusal(step, &json(status, body), kind, *code, *message);
            }
        }
    }
}

#[test]
fn error_shapes_in_a_200_are_failures_never_successes() {
    use ServerErrorKind::Rejected;
    let shapes: Vec<(&str, Option<&str>, Option<&str>)> = vec![
        (r#"{"error_message":"Ошибка"}"#, None, Some("Ошибка")),
        (
            r#"{"code":4,"error_message":"Сертификат не найден","description":"d"}"#,
            Some("4"),
            Some("Сертификат не найден"),
        ),
        (
            r#"{"success":false,"globalErrors":["omsId is wrong"]}"#,
            None,
            Some("omsId is wrong"),
        ),
        (
            r#"{"timestamp":"t","status":400,"error":"Bad Request","message":"Invalid","path":"/api/v1/token"}"#,
            Some("Bad Request"),
            Some("Invalid"),
        ),
        (
            r#"{"success":false,"violations":[{"message":"must not be null"}]}"#,
            None,
            Some("must not be null"),
        ),
        (
            r#"{"error_description":"Signature expired"}"#,
            None,
            Some("Signature expired"),
        ),
    ];
    for step in ALL {
        for (body, code, message) in &shapes {
            refusal(step, &json(200, body), Rejected, *code, *message);
        }
        // The same, with the success field present too: the error wins.
        let with_token = r#"{"token":"t","uuid":"u","data":"d","code":"c","status":"SUCCESS","omsConnection":"X","life_time":30,"error_message":"refused anyway"}"#;
        refusal(
            step,
            &json(200, with_token),
            Rejected,
            Some("c"),
            Some("refused anyway"),
        );
    }
    // `{"code","description"}` with no success field: a refusal wherever
    // `code` is not itself the success field (MDLP auth answers `{"code"}`).
    for step in ALL
        .into_iter()
        .filter(|s| !matches!(s, MdlpAuthSigned | MdlpAuthPassword))
    {
        refusal(
            step,
            &json(200, r#"{"code":"E-17","description":"Неверный uuid"}"#),
            Rejected,
            Some("E-17"),
            Some("Неверный uuid"),
        );
    }
}

#[test]
fn mdlp_auth_with_a_numeric_code_in_a_200_is_an_error() {
    for step in [MdlpAuthSigned, MdlpAuthPassword] {
        // Never signed, never spaced: an error.
        let e = error(
            step,
            &json(200, r#"{"code":17,"description":"Неверный client_id"}"#),
        );
        assert!(!e.is_retryable(), "{step:?}");
    }
}

// ------------------------------------------------------------ not JSON

#[test]
fn xml_html_and_empty_refusals() {
    use ServerErrorKind::*;
    for step in ALL {
        refusal(
            step,
            &resp(
                401,
                "<error><code>invalid_token</code><message>Unauthorized</message></error>",
            )
            .header("content-type", "application/xml"),
            Unauthorized,
            None,
            None,
        );
        for (status, kind) in [
            (404, NotFound),
            (502, Unavailable),
            (503, Unavailable),
            (504, Unavailable),
        ] {
            let page = format!(
                "<html><head><title>{status}</title></head><body><center><h1>{status}</h1></center><hr><center>nginx</center></body></html>"
            );
            // The page's title is the message.
            let title = status.to_string();
            let e = refusal(
                step,
                &resp(status, page).header("content-type", "text/html"),
                kind,
                None,
                Some(&title),
            );
            assert_eq!(e.is_retryable(), kind == Unavailable);
        }
        let e = refusal(step, &resp(406, ""), Rejected, None, None);
        assert_eq!(e.to_string(), "HTTP 406 (rejected)");
        refusal(step, &json(406, ""), Rejected, None, None);
    }
}

#[test]
fn a_200_that_is_not_a_json_object_is_a_protocol_error() {
    for step in ALL {
        let p = protocol(
            step,
            &resp(200, "<html>ok</html>").header("content-type", "text/html"),
        );
        assert!(
            matches!(&p, ProtocolError::NotJson { content_type: Some(ct), .. } if ct == "text/html"),
            "{step:?}: {p:?}"
        );
        assert!(matches!(
            protocol(step, &resp(200, "")),
            ProtocolError::NotJson {
                content_type: None,
                ..
            }
        ));
        let truncated = &step.ok_body()[..step.ok_body().len() - 1];
        assert!(matches!(
            protocol(step, &json(200, truncated)),
            ProtocolError::NotJson { .. }
        ));
        for body in [r#"["token"]"#, "42", r#""text""#, "null"] {
            assert!(
                matches!(protocol(step, &json(200, body)), ProtocolError::Malformed { ref field, .. } if field == "$"),
                "{step:?}: {body}"
            );
        }
    }
    // A duplicate key is never resolved either way.
    for step in TOKEN_STEPS {
        let dup = format!(r#"{{"token":"{TOKEN}","token":"other","life_time":30}}"#);
        assert!(matches!(
            protocol(step, &json(200, dup)),
            ProtocolError::Malformed { .. }
        ));
    }
}

// ------------------------------------------------------------ missing and mistyped fields

#[test]
fn a_200_without_a_token_is_never_a_success() {
    for step in TOKEN_STEPS {
        for body in [
            "{}".to_owned(),
            r#"{"token":null,"life_time":30}"#.to_owned(),
            r#"{"token":"","life_time":30}"#.to_owned(),
            r#"{"life_time":30,"tokenType":"Bearer"}"#.to_owned(),
        ] {
            let p = protocol(step, &json(200, &body));
            let missing_token = matches!(p, ProtocolError::MissingField { field: "token", .. });
            let missing_life = matches!(
                p,
                ProtocolError::MissingField {
                    field: "life_time",
                    ..
                }
            );
            assert!(
                missing_token || (missing_life && body == "{}"),
                "{step:?}: {body}: {p:?}"
            );
        }
        for body in [
            r#"{"token":5,"life_time":30}"#,
            r#"{"token":{"value":"x"},"life_time":30}"#,
            r#"{"token":["x"],"life_time":30}"#,
            r#"{"token":true,"life_time":30}"#,
        ] {
            let p = protocol(step, &json(200, body));
            assert!(
                matches!(&p, ProtocolError::Malformed { field, .. } if field == "token"),
                "{step:?}: {body}: {p:?}"
            );
        }
    }
}

#[test]
fn mdlp_life_time_forms() {
    for step in [MdlpTokenSigned, MdlpTokenPassword] {
        let at = sent_at(step);
        let expires = |body: &str| match feed(step, &json(200, body)) {
            Ok(Act::Done(token, expires)) => {
                assert_eq!(token, TOKEN);
                expires
            }
            other => panic!("{step:?}: {body}: {other:?}"),
        };
        let minutes = |m: u64| Some(at.saturating_add(Duration::from_secs(m * 60)));
        assert_eq!(
            expires(&format!(r#"{{"token":"{TOKEN}","life_time":30}}"#)),
            minutes(30)
        );
        assert_eq!(
            expires(&format!(r#"{{"token":"{TOKEN}","life_time":"30"}}"#)),
            minutes(30)
        );
        assert_eq!(
            expires(&format!(r#"{{"token":"{TOKEN}","life_time":" 45 "}}"#)),
            minutes(45)
        );
        assert_eq!(
            expires(&format!(r#"{{"token":"{TOKEN}","life_time":1.9}}"#)),
            minutes(1)
        );
        assert_eq!(
            expires(&format!(r#"{{"token":"{TOKEN}","life_time":0}}"#)),
            Some(at)
        );
        // Huge values saturate, never panic.
        for huge in [
            "18446744073709551615",
            "\"99999999999999999999999999\"",
            "1e300",
            "307445734561825861",
        ] {
            assert_eq!(
                expires(&format!(r#"{{"token":"{TOKEN}","life_time":{huge}}}"#)),
                Some(Timestamp::MAX),
                "{huge}"
            );
        }
        for bad in [
            "-5",
            "\"-5\"",
            "\"soon\"",
            "true",
            "[30]",
            "{\"m\":30}",
            "-0.5",
            "\"\"",
        ] {
            let p = protocol(
                step,
                &json(200, format!(r#"{{"token":"{TOKEN}","life_time":{bad}}}"#)),
            );
            assert!(
                matches!(&p, ProtocolError::Malformed { field, .. } if field == "life_time"),
                "{step:?}: {bad}: {p:?}"
            );
        }
        for absent in [
            format!(r#"{{"token":"{TOKEN}"}}"#),
            format!(r#"{{"token":"{TOKEN}","life_time":null}}"#),
        ] {
            let p = protocol(step, &json(200, &absent));
            assert!(
                matches!(
                    p,
                    ProtocolError::MissingField {
                        field: "life_time",
                        ..
                    }
                ),
                "{step:?}: {p:?}"
            );
        }
    }
}

#[test]
fn challenge_uuid_and_data_missing_or_not_strings() {
    for step in CHALLENGE_KEYS {
        let missing = [
            (r#"{"data":"d"}"#, "uuid"),
            (r#"{"uuid":null,"data":"d"}"#, "uuid"),
            (r#"{"uuid":"","data":"d"}"#, "uuid"),
            (r#"{"uuid":"u"}"#, "data"),
            (r#"{"uuid":"u","data":null}"#, "data"),
            (r#"{"uuid":"u","data":""}"#, "data"),
            ("{}", "uuid"),
        ];
        for (body, field) in missing {
            let p = protocol(step, &json(200, body));
            assert!(
                matches!(p, ProtocolError::MissingField { field: f, .. } if f == field),
                "{step:?}: {body}: {p:?}"
            );
        }
        let mistyped = [
            (r#"{"uuid":5,"data":"d"}"#, "uuid"),
            (r#"{"uuid":["u"],"data":"d"}"#, "uuid"),
            (r#"{"uuid":"u","data":{"x":1}}"#, "data"),
            (r#"{"uuid":"u","data":12345}"#, "data"),
            (r#"{"uuid":"u","data":false}"#, "data"),
        ];
        for (body, field) in mistyped {
            let p = protocol(step, &json(200, body));
            assert!(
                matches!(&p, ProtocolError::Malformed { field: f, .. } if f == field),
                "{step:?}: {body}: {p:?}"
            );
        }
    }
    for step in [MdlpAuthSigned, MdlpAuthPassword] {
        assert!(matches!(
            protocol(step, &json(200, "{}")),
            ProtocolError::MissingField { field: "code", .. }
        ));
        assert!(matches!(
            protocol(step, &json(200, r#"{"code":""}"#)),
            ProtocolError::MissingField { field: "code", .. }
        ));
        assert!(matches!(
            protocol(step, &json(200, r#"{"code":["c"]}"#)),
            ProtocolError::Malformed { .. }
        ));
    }
}

#[test]
fn registration_answers() {
    let ok = |body: &str| match feed(Registration, &json(200, body)) {
        Ok(Act::Done(outcome, None)) => outcome,
        other => panic!("{body}: {other:?}"),
    };
    assert_eq!(
        ok(r#"{"status":"REJECTED","rejectionReason":"Неверный ключ"}"#),
        format!(
            "{:?}",
            registration::Outcome::Rejected {
                reason: Some("Неверный ключ".into())
            }
        )
    );
    for no_reason in [
        r#"{"status":"REJECTED"}"#,
        r#"{"status":"REJECTED","rejectionReason":null}"#,
        r#"{"status":"REJECTED","rejectionReason":""}"#,
    ] {
        assert_eq!(
            ok(no_reason),
            format!("{:?}", registration::Outcome::Rejected { reason: None })
        );
    }
    // A reason echoing the key or the signature is withheld when printed, and bounded.
    let echo = format!(r#"{{"status":"REJECTED","rejectionReason":"unknown key {REG_KEY} sig {SIG_B64}"}}"#);
    assert_eq!(
        ok(&echo),
        format!("Rejected {{ reason: Some({}) }}", tokendance::WITHHELD)
    );
    let long = format!(
        r#"{{"status":"REJECTED","rejectionReason":"{}"}}"#,
        "Ж".repeat(5_000)
    );
    assert_eq!(
        ok(&long),
        format!(
            "{:?}",
            registration::Outcome::Rejected {
                reason: Some("Ж".repeat(MAX_MESSAGE_CHARS).into())
            }
        )
    );
    // SUCCESS without an omsConnection: a protocol error, never `Registered`.
    for body in [
        r#"{"status":"SUCCESS"}"#,
        r#"{"status":"SUCCESS","omsConnection":null}"#,
        r#"{"status":"SUCCESS","omsConnection":""}"#,
    ] {
        assert!(
            matches!(
                protocol(Registration, &json(200, body)),
                ProtocolError::MissingField {
                    field: "omsConnection",
                    ..
                }
            ),
            "{body}"
        );
    }
    assert!(matches!(
        protocol(Registration, &json(200, r#"{"status":"SUCCESS","omsConnection":42}"#)),
        ProtocolError::Malformed { ref field, .. } if field == "omsConnection"
    ));
    // Unknown or mistyped status.
    for body in [
        r#"{"status":"PENDING","omsConnection":"X"}"#,
        r#"{"status":"success","omsConnection":"X"}"#,
        r#"{"status":"SUCCESS ","omsConnection":"X"}"#,
    ] {
        assert!(
            matches!(protocol(Registration, &json(200, body)), ProtocolError::Malformed { ref field, .. } if field == "status"),
            "{body}"
        );
    }
    assert!(matches!(
        protocol(Registration, &json(200, r#"{"omsConnection":"X"}"#)),
        ProtocolError::MissingField { field: "status", .. }
    ));
    assert!(matches!(
        protocol(Registration, &json(200, r#"{"status":true,"omsConnection":"X"}"#)),
        ProtocolError::Malformed { .. }
    ));
    assert!(matches!(
        protocol(Registration, &json(200, r#"{"status":"REJECTED","rejectionReason":5}"#)),
        ProtocolError::Malformed { ref field, .. } if field == "rejectionReason"
    ));
    // A numeric failure status in a 200 is a refusal.
    refusal(
        Registration,
        &json(200, r#"{"status":500,"message":"Internal error"}"#),
        ServerErrorKind::Rejected,
        None,
        Some("Internal error"),
    );
}

// ------------------------------------------------------------ rate limits, size, redirects

#[test]
fn rate_limits_are_their_own_retryable_kind() {
    for step in ALL {
        let e = refusal(
            step,
            &json(429, r#"{"error_message":"Too many requests"}"#).header("retry-after", "5"),
            ServerErrorKind::RateLimited,
            None,
            Some("Too many requests"),
        );
        assert!(e.is_retryable());
        assert_eq!(e.retry_after(), Some(RetryAfter::Delay(Duration::from_secs(5))));
        let e = refusal(
            step,
            &resp(429, "").header("retry-after", "Sun, 06 Nov 2033 08:49:37 GMT"),
            ServerErrorKind::RateLimited,
            None,
            None,
        );
        assert_eq!(
            e.retry_after(),
            Some(RetryAfter::At(Timestamp::from_unix_secs(2_014_879_777)))
        );
        let e = refusal(
            step,
            &resp(429, "<html>slow down</html>"),
            ServerErrorKind::RateLimited,
            None,
            None,
        );
        assert!(e.is_retryable());
        assert_eq!(e.retry_after(), None);
        // A nonsense Retry-After is ignored, not a panic.
        let e = error(step, &resp(429, "").header("retry-after", "-1"));
        assert_eq!(e.retry_after(), None);
    }
}

#[test]
fn oversize_bodies_are_refused_unparsed() {
    for step in ALL {
        for status in [200, 400, 502] {
            let body = format!(
                r#"{{"token":"{TOKEN}","life_time":30,"pad":"{}"}}"#,
                "p".repeat(MAX_BODY)
            );
            let p = protocol(step, &json(status, &body));
            assert_eq!(
                p,
                ProtocolError::BodyTooLarge {
                    status: http::StatusCode::from_u16(status).unwrap(),
                    limit: MAX_BODY,
                    len: body.len()
                }
            );
        }
        // Exactly at the bound is parsed.
        let mut body = step.ok_body();
        body.pop();
        let pad = MAX_BODY - body.len() - r#","pad":""}"#.len();
        let body = format!(r#"{body},"pad":"{}"}}"#, " ".repeat(pad));
        assert_eq!(body.len(), MAX_BODY);
        assert!(feed(step, &json(200, &body)).is_ok(), "{step:?}");
    }
}

#[test]
fn long_messages_are_bounded() {
    for step in ALL {
        let long = "Ж".repeat(MAX_MESSAGE_CHARS * 2);
        let e = error(step, &json(400, format!(r#"{{"error_message":"{long}"}}"#)));
        let m = e.as_server().unwrap().message.as_deref().unwrap();
        assert_eq!(m.chars().count(), MAX_MESSAGE_CHARS);
        let e = error(
            step,
            &json(
                400,
                format!(
                    r#"{{"code":"{}","error_message":"x\u0000y\nz"}}"#,
                    "c".repeat(300)
                ),
            ),
        );
        let s = e.as_server().unwrap();
        assert_eq!(s.code.as_deref().map(str::len), Some(100));
        assert_eq!(s.message.as_deref(), Some("x y z"));
    }
}

#[test]
fn redirects_are_refused() {
    for step in ALL {
        for status in [301, 302, 303, 307, 308] {
            let p = protocol(
                step,
                &resp(status, format!(r#"{{"token":"{TOKEN}"}}"#)).header(
                    "location",
                    format!("https://user:pw@evil.example/steal?token={TOKEN}&code=c#frag"),
                ),
            );
            assert_eq!(
                p,
                ProtocolError::Redirect {
                    status: http::StatusCode::from_u16(status).unwrap(),
                    location: Some("https://evil.example/steal".to_owned()),
                },
                "{step:?}"
            );
        }
        let p = protocol(step, &resp(302, ""));
        assert!(matches!(p, ProtocolError::Redirect { location: None, .. }));
    }
}

// ------------------------------------------------------------ echoed secrets

#[test]
fn refusals_echoing_what_the_request_carried_are_scrubbed() {
    for step in ALL {
        // What this step's request carried, and so what it can scrub.
        let carried: &[&str] = match step {
            Registration => &[REG_KEY, SIG_B64],
            GisMtSignIn | TrueApiSignIn => &[SIG_B64],
            MdlpAuthSigned => &[MDLP_SECRET],
            MdlpAuthPassword | MdlpTokenPassword => &[MDLP_SECRET, MDLP_PASSWORD],
            MdlpTokenSigned => &[MDLP_SECRET, SIG_B64],
            GisMtKey | TrueApiKey => &[],
        };
        let echo = carried.join(" ");
        let form: String = carried
            .iter()
            .map(|s| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>())
            .collect::<Vec<_>>()
            .join(" ");
        for body in [
            serde_json::json!({"error_message": format!("rejected {echo}")}),
            serde_json::json!({"code": "E", "description": format!("bad {echo} / {form}")}),
            serde_json::json!({"error": "Bad Request", "message": echo, "status": 400}),
            serde_json::json!({"success": false, "globalErrors": [echo]}),
            serde_json::json!({"code": echo, "error_message": "x"}),
        ] {
            for status in [200, 400, 403] {
                let code_is_success = body.get("description").is_some() && body.get("code").is_some();
                if status == 200 && code_is_success && matches!(step, MdlpAuthSigned | MdlpAuthPassword) {
                    // MDLP's `auth` answers `{"code"}`: that body is a success there.
                    continue;
                }
                // `assert_clean` in `feed` checks every secret is gone.
                let e = error(step, &json(status, body.to_string()));
                let s = e.as_server().unwrap();
                let words = format!("{:?} {:?}", s.code, s.message);
                if !carried.is_empty() {
                    assert!(words.contains(tokendance::WITHHELD), "{step:?}: {words}");
                }
            }
        }
    }
}

// ------------------------------------------------------------ the fake's failure modes

/// Runs the flow of `step` against the fake with `fake::sign`, switching the
/// fake to `failure` for the step's own request.
fn against_fake(step: Step, failure: CrptFailure) -> Error {
    let mut crpt = Crpt::new();
    crpt.set_mdlp_client("client-1", MDLP_SECRET);
    crpt.add_mdlp_user("user@example.org", MDLP_PASSWORD);
    let mut flow: Erased = match step {
        Registration => erase(step.flow_registration()),
        _ => erase_token(step),
    };
    let mut now = T0;
    let mut sends = 0;
    let mut action = flow(now, None);
    loop {
        match action {
            Ok(Action::Send(out)) => {
                if sends == step.sends_before() {
                    crpt.failure = Some(failure);
                }
                sends += 1;
                let response = crpt.handle(now, &out.into_http());
                action = flow(now, Some(Input::Response(response)));
            }
            Ok(Action::Sign(job)) => {
                assert_eq!(
                    job.kind(),
                    if matches!(step, GisMtKey | GisMtSignIn | TrueApiKey | TrueApiSignIn) {
                        SignatureKind::Attached
                    } else {
                        SignatureKind::Detached
                    }
                );
                action = flow(now, Some(Input::Signature(fake::sign(&job))));
            }
            Ok(Action::Wait(until)) => {
                now = until;
                action = flow(now, Some(Input::Timeout));
            }
            Ok(Action::Done(d)) => panic!("{step:?} with {failure:?}: done: {d}"),
            Err(e) => {
                assert_clean(step, &e);
                assert_eq!(sends, step.sends_before() + 1, "{step:?}");
                // Finished for good.
                for _ in 0..3 {
                    assert_eq!(
                        flow(now, Some(Input::Timeout)).unwrap_err(),
                        Error::Usage(UsageError::Finished)
                    );
                }
                assert_eq!(crpt.tokens_issued(), 0);
                return e;
            }
        }
    }
}

impl Step {
    fn flow_registration(self) -> registration::Registration {
        registration::register(
            &SuzStand::Demo.endpoint(),
            "oms-1",
            RegistrationKey::new(tokendance::crpt::DEMO_REGISTRATION_KEY),
            "addr",
            registration::Signing::Detached,
            "v2",
        )
        .unwrap()
    }
}

type Erased = Box<dyn FnMut(Timestamp, Option<Input>) -> Result<Action<String>, Error>>;

/// A flow as one closure: `None` starts it, `Some(input)` resumes it.
fn erase<F: Flow + 'static>(mut flow: F) -> Erased
where
    F::Output: std::fmt::Debug,
{
    Box::new(move |now, input| {
        let a = match input {
            None => flow.start(now),
            Some(input) => flow.resume(now, input),
        }?;
        Ok(match a {
            Action::Send(o) => Action::Send(o),
            Action::Sign(j) => Action::Sign(j),
            Action::Wait(t) => Action::Wait(t),
            Action::Done(v) => Action::Done(format!("{v:?}")),
        })
    })
}

fn erase_token(step: Step) -> Erased {
    let client = || mdlp::Client {
        id: "client-1".to_owned(),
        secret: ClientSecret::new(MDLP_SECRET),
    };
    match step {
        GisMtKey | GisMtSignIn => erase(gis_mt::sign_in(&GisMtStand::Demo.endpoint(), Some(CONN)).unwrap()),
        TrueApiKey | TrueApiSignIn => {
            erase(true_api::sign_in(&TrueApiStand::Demo.endpoint(), Some(CONN)).unwrap())
        }
        MdlpAuthSigned | MdlpTokenSigned => erase(
            mdlp::sign_in(
                &MdlpStand::Sandbox.endpoint(),
                client(),
                "user-1",
                mdlp::Auth::SignedCode,
                Some(CONN),
            )
            .unwrap(),
        ),
        MdlpAuthPassword | MdlpTokenPassword => erase(
            mdlp::sign_in(
                &MdlpStand::NonResidentSandbox.endpoint(),
                client(),
                "user@example.org",
                mdlp::Auth::Password(Password::new(MDLP_PASSWORD)),
                Some(CONN),
            )
            .unwrap(),
        ),
        Registration => unreachable!(),
    }
}

/// A failure mode and what it becomes: status, kind, code, message.
type FailureCase<'a> = (
    CrptFailure,
    u16,
    ServerErrorKind,
    Option<&'a str>,
    Option<&'a str>,
);

#[test]
fn every_failure_mode_of_the_fake_at_every_step() {
    use ServerErrorKind::*;
    let cases: [FailureCase<'_>; 8] = [
        (
            CrptFailure::NginxNotFound,
            404,
            NotFound,
            None,
            Some("404 Not Found"),
        ),
        (
            CrptFailure::BadGateway,
            502,
            Unavailable,
            None,
            Some("502 Bad Gateway"),
        ),
        (CrptFailure::XmlUnauthorized, 401, Unauthorized, None, None),
        (CrptFailure::EmptyNotAcceptable, 406, Rejected, None, None),
        (
            CrptFailure::ErrorIn200,
            200,
            Rejected,
            Some("4"),
            Some("Сертификат не найден"),
        ),
        (
            CrptFailure::RateLimited,
            429,
            RateLimited,
            None,
            Some("Too many requests"),
        ),
        (
            CrptFailure::SpringError,
            400,
            Rejected,
            Some("Bad Request"),
            Some("Invalid auth request"),
        ),
        (
            CrptFailure::SuzGlobalErrors,
            400,
            Rejected,
            Some("1001"),
            Some("Неверный omsId"),
        ),
    ];
    for step in ALL {
        for (failure, status, kind, code, message) in cases {
            let e = against_fake(step, failure);
            let s = e
                .as_server()
                .unwrap_or_else(|| panic!("{step:?} {failure:?}: {e:?}"));
            assert_eq!(
                (s.status.as_u16(), s.kind, s.code.as_deref(), s.message.as_deref()),
                (status, kind, code, message),
                "{step:?} {failure:?}"
            );
            assert_eq!(e.is_retryable(), matches!(kind, RateLimited | Unavailable));
            if failure == CrptFailure::RateLimited {
                assert_eq!(e.retry_after(), Some(RetryAfter::Delay(Duration::from_secs(5))));
            }
        }
    }
}

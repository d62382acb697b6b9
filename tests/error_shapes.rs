//! Every error shape the providers (and the proxies and frameworks in front
//! of them) answer with keeps the server's own words: each body is fed to the
//! refusal step of every flow that reads such an answer, and the refusal must
//! be `Error::Server` with exactly the code and message the table gives.
//!
//! Steps: the token steps of the ITC password grant, GAM client credentials,
//! MonPay's code exchange and the Astana-plat login; the CRPT challenge's key
//! and sign-in steps (GIS MT and True API); MDLP's auth and token steps; the
//! SUZ registration; and the typed API calls `itc::get_profile` and
//! `gam::post` (a plain `call::Authorized` hands a 4xx other than 401/403
//! back untouched, so the typed calls are where an API refusal is read).
//!
//! Each test counts its failing cases (shape × status × step, or generated
//! words × step) and reports them together.

use proptest::prelude::*;

use tokendance::crpt::{gis_mt, mdlp, registration, true_api, GisMtStand, MdlpStand, SuzStand, TrueApiStand};
use tokendance::{
    astana_plat, gam, itc, monpay, AccessToken, Action, AuthCode, ClientSecret, Endpoint, Error, Flow, Input,
    Password, RegistrationKey, Signature, Timestamp, TokenSet, MAX_MESSAGE_CHARS,
};

mod common;
use common::{draw, resp, Resp, Tally};

const T0: Timestamp = Timestamp::from_unix_secs(1_700_000_000);

/// Secrets the requests carry, long and odd enough never to occur in a
/// generated message (a refusal echoing one would be scrubbed).
const ITC_PASSWORD: &str = "itc-pw-Qz8#kL2v";
const GAM_SECRET: &str = "gam-secret-Vb7$wR1x";
const MONPAY_SECRET: &str = "monpay-secret-Hn4!tY6u";
const MONPAY_CODE: &str = "monpay-code-Jc3%pE9m";
const ASTANA_PASSWORD: &str = "astana-pw-Wd5^sG0q";
const MDLP_SECRET: &str = "mdlp-secret-Kf2&zN8r";
const MDLP_PASSWORD: &str = "mdlp-pw-Lp6*xB4t";
const REGISTRATION_KEY: &str = "4344d884-7f21-456c-981e-cd68e92391e8";
const API_TOKEN: &str = "api-token-Mg1@cV7y";

/// Cases per generated property.
const GENERATED: u32 = 256;

// ------------------------------------------------------------ the steps

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Step {
    ItcToken,
    GamToken,
    MonPayToken,
    AstanaLogin,
    GisMtKey,
    GisMtSignIn,
    TrueApiKey,
    TrueApiSignIn,
    MdlpAuth,
    MdlpToken,
    SuzRegistration,
    ItcProfile,
    GamPost,
}
use Step::*;

const STEPS: [Step; 13] = [
    ItcToken,
    GamToken,
    MonPayToken,
    AstanaLogin,
    GisMtKey,
    GisMtSignIn,
    TrueApiKey,
    TrueApiSignIn,
    MdlpAuth,
    MdlpToken,
    SuzRegistration,
    ItcProfile,
    GamPost,
];

impl Step {
    /// An API call: a 403 there is the call's `Forbidden`, whose message is checked.
    fn is_api_call(self) -> bool {
        matches!(self, ItcProfile | GamPost)
    }
}

#[track_caller]
fn expect_send<T>(step: Result<Action<T>, Error>, what: &str) {
    match step {
        Ok(Action::Send(_)) => {}
        Ok(other) => panic!("harness: {what}: {} instead of Send", common::kind(&other)),
        Err(err) => panic!("harness: {what}: {err}"),
    }
}

fn json_200(body: &str) -> Input {
    Input::Response(
        http::Response::builder()
            .status(200)
            .header("content-type", "application/json")
            .body(body.as_bytes().to_vec())
            .unwrap(),
    )
}

fn signature() -> Signature {
    Signature::from_der(vec![0x30, 0x80, 0x01, 0x02])
}

fn api_token() -> TokenSet {
    TokenSet::new(AccessToken::new(API_TOKEN), T0, None)
}

fn mdlp_flow() -> mdlp::MdlpSignIn {
    mdlp::sign_in(
        &MdlpStand::Sandbox.endpoint(),
        mdlp::Client {
            id: "7df0d06f".into(),
            secret: ClientSecret::new(MDLP_SECRET),
        },
        "user@example.org",
        mdlp::Auth::Password(Password::new(MDLP_PASSWORD)),
        Some("conn-1"),
    )
    .unwrap()
}

/// Feeds `r` to `step` (driven there with valid answers): `Ok` if the step
/// went on as after a success, the error otherwise.
fn feed(step: Step, r: &Resp) -> Result<(), Error> {
    let response = Input::Response(r.build());
    match step {
        ItcToken => {
            let mut session =
                itc::session(&itc::Config::staging(), "user", Password::new(ITC_PASSWORD)).unwrap();
            let tokendance::oauth2::SessionAction::Send(_) = session.poll(T0).unwrap() else {
                panic!("harness: expected the password grant")
            };
            session.handle_response(T0, r.build())
        }
        GamToken | MonPayToken | AstanaLogin => {
            let mut flow = match step {
                GamToken => gam::client_credentials(
                    &gam::Config::staging(),
                    "partner-app",
                    ClientSecret::new(GAM_SECRET),
                    "iam:user-password:update",
                ),
                MonPayToken => monpay::exchange_code(
                    &monpay::Config::test(),
                    "client",
                    ClientSecret::new(MONPAY_SECRET),
                    AuthCode::new(MONPAY_CODE),
                    "https://shop.example/back",
                ),
                _ => astana_plat::login_password(
                    &Endpoint::parse("https://astana-plat.example/api/auth/login").unwrap(),
                    "user",
                    Password::new(ASTANA_PASSWORD),
                ),
            }
            .unwrap();
            expect_send(flow.start(T0), "token request");
            flow.resume(T0, response).map(drop)
        }
        GisMtKey | GisMtSignIn | TrueApiKey | TrueApiSignIn => {
            let mut flow = match step {
                GisMtKey | GisMtSignIn => gis_mt::sign_in(&GisMtStand::Demo.endpoint(), Some("conn-1")),
                _ => true_api::sign_in(&TrueApiStand::Demo.endpoint(), Some("conn-1")),
            }
            .unwrap();
            expect_send(flow.start(T0), "key request");
            if matches!(step, GisMtKey | TrueApiKey) {
                return flow.resume(T0, response).map(drop);
            }
            match flow.resume(T0, json_200(r#"{"uuid":"u-1","data":"QNRPNPFGJZ"}"#)) {
                Ok(Action::Sign(_)) => {}
                other => panic!("harness: key answer gave {:?}", other.map(|a| common::kind(&a))),
            }
            expect_send(flow.resume(T0, Input::Signature(signature())), "signature");
            flow.resume(T0, response).map(drop)
        }
        MdlpAuth => {
            let mut flow = mdlp_flow();
            expect_send(flow.start(T0), "auth request");
            flow.resume(T0, response).map(drop)
        }
        MdlpToken => {
            let mut flow = mdlp_flow();
            expect_send(flow.start(T0), "auth request");
            let until = match flow.resume(T0, json_200(r#"{"code":"b7b1abc9"}"#)) {
                Ok(Action::Wait(until)) => until,
                other => panic!("harness: auth answer gave {:?}", other.map(|a| common::kind(&a))),
            };
            expect_send(flow.resume(until, Input::Timeout), "spacing");
            flow.resume(until, response).map(drop)
        }
        SuzRegistration => {
            let mut flow = registration::register(
                &SuzStand::Demo.endpoint(),
                "cdf12109-10d3-11e6-8b6f-0050569977a1",
                RegistrationKey::new(REGISTRATION_KEY),
                "Moscow, 1 Leninskie Gory",
                registration::Signing::Unsigned,
                registration::DEFAULT_API_VERSION,
            )
            .unwrap();
            expect_send(flow.start(T0), "registration");
            flow.resume(T0, response).map(drop)
        }
        ItcProfile => {
            let query = itc::ProfileQuery::Phone("99112233".into());
            let mut call = itc::get_profile(&itc::Config::staging(), &query, api_token()).unwrap();
            expect_send(call.start(T0), "getProfile");
            call.resume(T0, response).map(drop)
        }
        GamPost => {
            let body = serde_json::json!({"customerCode": "C-1"});
            let mut call = gam::post::<_, serde_json::Value>(
                &gam::Config::staging(),
                "SHOP01",
                &["api", "v1", "authenticated"],
                &body,
                api_token(),
            )
            .unwrap();
            expect_send(call.start(T0), "gam post");
            call.resume(T0, response).map(drop)
        }
    }
}

// ------------------------------------------------------------ expectations

/// The code a step reports for a body whose own code is `code`: MonPay
/// fills a missing code from its documented status table.
fn expected_code(step: Step, status: u16, code: Option<&str>) -> Option<String> {
    let table = match (step, status) {
        (MonPayToken, 400) => Some("invalid_request"),
        (MonPayToken, 401) => Some("unauthorized_client"),
        (MonPayToken, 403) => Some("invalid_grant"),
        (MonPayToken, 415) => Some("unsupported_grant_type"),
        (MonPayToken, 505) => Some("server_error"),
        _ => None,
    };
    code.or(table).map(str::to_owned)
}

/// The verdict on what `step` did with a body whose refusal should read
/// `code` / `message`.
fn judge(
    step: Step,
    status: u16,
    got: Result<(), Error>,
    code: Option<&str>,
    message: &str,
) -> Result<(), String> {
    let refusal = match got {
        Ok(()) => return Err("a success: the step went on".to_owned()),
        Err(Error::Server(refusal)) => refusal,
        Err(other) => return Err(format!("not a refusal: {other:?}")),
    };
    let want_code = expected_code(step, status, code);
    // API calls type a 403 as `Forbidden`: there only the message is checked.
    let code_ok = (step.is_api_call() && status == 403) || refusal.code == want_code;
    let message_ok = refusal.message.as_deref() == Some(message);
    let shown = |m: &Option<String>| match m {
        Some(m) if m.chars().count() > 80 => format!("{:?}…", m.chars().take(80).collect::<String>()),
        other => format!("{other:?}"),
    };
    let trimmed = |got: &Option<String>| got.as_deref().map(str::trim).map(str::to_owned);
    let only_untrimmed = (code_ok || trimmed(&refusal.code) == want_code)
        && (message_ok || trimmed(&refusal.message).as_deref() == Some(message));
    match (code_ok, message_ok) {
        (true, true) => Ok(()),
        _ if only_untrimmed => Err(format!(
            "kept untrimmed: {:?} / {}, not {want_code:?} / {}",
            refusal.code,
            shown(&refusal.message),
            shown(&Some(message.to_owned()))
        )),
        (false, true) => Err(format!("wrong code: {:?}, not {want_code:?}", refusal.code)),
        (true, false) => Err(format!(
            "wrong message: {}, not {}",
            shown(&refusal.message),
            shown(&Some(message.to_owned()))
        )),
        (false, false) => Err(format!(
            "wrong code and message: {:?} / {}, not {want_code:?} / {}",
            refusal.code,
            shown(&refusal.message),
            shown(&Some(message.to_owned()))
        )),
    }
}

/// A response with an optional content type.
fn body_at(status: u16, content_type: Option<&str>, body: &str) -> Resp {
    let r = resp(status, body);
    match content_type {
        Some(ct) => r.header("content-type", ct),
        None => r,
    }
}

/// Feeds the body at each status to each step and records the verdicts.
fn check_shape(
    tally: &mut Tally,
    steps: &[Step],
    statuses: &[u16],
    content_type: Option<&str>,
    body: &str,
    code: Option<&str>,
    message: &str,
) {
    for &status in statuses {
        let r = body_at(status, content_type, body);
        for &step in steps {
            let verdict = judge(step, status, feed(step, &r), code, message);
            tally.check(format_args!("{step:?} HTTP {status}"), verdict);
        }
    }
}

const JSON: Option<&str> = Some("application/json");

// ------------------------------------------------------------ the table

#[test]
fn rfc6749_error_and_description() {
    let mut tally = Tally::new("1. RFC 6749 error + error_description");
    let body = r#"{"error":"invalid_grant","error_description":"Token is not active"}"#;
    check_shape(
        &mut tally,
        &STEPS,
        &[400],
        JSON,
        body,
        Some("invalid_grant"),
        "Token is not active",
    );
    tally.finish();
}

#[test]
fn suz_global_errors_with_their_error_codes() {
    let mut tally = Tally::new("2. SUZ globalErrors with errorCode");
    let body = r#"{"success":false,"globalErrors":[{"error":"Неверный omsId","errorCode":1140}]}"#;
    check_shape(
        &mut tally,
        &STEPS,
        &[400, 200],
        JSON,
        body,
        Some("1140"),
        "Неверный omsId",
    );
    let body = r#"{"success":false,"globalErrors":[{"message":"bad order","errorCode":"E-7"}]}"#;
    check_shape(
        &mut tally,
        &STEPS,
        &[400, 200],
        JSON,
        body,
        Some("E-7"),
        "bad order",
    );
    tally.finish();
}

#[test]
fn suz_field_errors_name_the_field() {
    let mut tally = Tally::new("3. SUZ fieldErrors");
    let body = r#"{"success":false,"fieldErrors":[{"fieldName":"address","fieldError":"must not be blank","errorCode":2001}]}"#;
    check_shape(
        &mut tally,
        &STEPS,
        &[400],
        JSON,
        body,
        Some("2001"),
        "address: must not be blank",
    );
    tally.finish();
}

#[test]
fn rfc9457_problem_details() {
    let mut tally = Tally::new("4. RFC 9457 problem+json");
    let body = r#"{"type":"https://example.com/probs/out-of-credit","title":"You do not have enough credit.","status":403,"detail":"Your current balance is 30, but that costs 50.","instance":"/account/12345/msgs/abc"}"#;
    check_shape(
        &mut tally,
        &STEPS,
        &[403],
        Some("application/problem+json"),
        body,
        None,
        "Your current balance is 30, but that costs 50.",
    );
    tally.finish();
}

#[test]
fn a_title_alone() {
    let mut tally = Tally::new("5. title only");
    check_shape(
        &mut tally,
        &STEPS,
        &[404],
        JSON,
        r#"{"title":"Not Found","status":404}"#,
        None,
        "Not Found",
    );
    tally.finish();
}

#[test]
fn drf_and_fastapi_detail_text() {
    let mut tally = Tally::new("6. DRF / FastAPI detail string");
    let body = r#"{"detail":"Authentication credentials were not provided."}"#;
    check_shape(
        &mut tally,
        &STEPS,
        &[401, 400],
        JSON,
        body,
        None,
        "Authentication credentials were not provided.",
    );
    tally.finish();
}

#[test]
fn fastapi_validation_errors() {
    let mut tally = Tally::new("7. FastAPI 422 detail list");
    let body =
        r#"{"detail":[{"loc":["body","username"],"msg":"field required","type":"value_error.missing"}]}"#;
    check_shape(
        &mut tally,
        &STEPS,
        &[422],
        JSON,
        body,
        Some("value_error.missing"),
        "body.username: field required",
    );
    tally.finish();
}

/// The message a plain-text body should give: control characters as
/// spaces, trimmed, at most [`MAX_MESSAGE_CHARS`] characters.
fn plain_message(text: &str) -> String {
    let printable: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    printable.trim().chars().take(MAX_MESSAGE_CHARS).collect()
}

#[test]
fn plain_text_refusals() {
    let mut tally = Tally::new("8. plain text");
    check_shape(
        &mut tally,
        &STEPS,
        &[400],
        None,
        "Bad request",
        None,
        "Bad request",
    );
    check_shape(
        &mut tally,
        &STEPS,
        &[403],
        Some("text/plain"),
        "Access denied\n",
        None,
        "Access denied",
    );
    // 5,000 characters, a tab after every 49 letters: cut at the bound, tabs as spaces.
    let long: String = (0..5_000)
        .map(|i| {
            if i % 50 == 49 {
                '\t'
            } else {
                char::from(b'a' + (i % 26) as u8)
            }
        })
        .collect();
    let want = plain_message(&long);
    assert_eq!(want.chars().count(), MAX_MESSAGE_CHARS);
    check_shape(&mut tally, &STEPS, &[400], None, &long, None, &want);
    tally.finish();
}

#[test]
fn an_html_error_page_gives_its_title() {
    let mut tally = Tally::new("9. HTML page (nginx 502)");
    let page = "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>";
    check_shape(
        &mut tally,
        &STEPS,
        &[502],
        Some("text/html"),
        page,
        None,
        "502 Bad Gateway",
    );
    tally.finish();
}

#[test]
fn mdlp_auth_refusal_in_a_200() {
    let mut tally = Tally::new("10. MDLP auth 200 code + description");
    let body = r#"{"code": 5, "description": "Пользователь не найден"}"#;
    check_shape(
        &mut tally,
        &[MdlpAuth],
        &[200],
        JSON,
        body,
        Some("5"),
        "Пользователь не найден",
    );
    tally.finish();
}

#[test]
fn spring_boot_error_attributes() {
    let mut tally = Tally::new("11. Spring error attributes");
    let body = r#"{"timestamp":"2024-01-01T00:00:00Z","status":400,"error":"Bad Request","message":"Invalid code","path":"/api/v1/token"}"#;
    check_shape(
        &mut tally,
        &STEPS,
        &[400],
        JSON,
        body,
        Some("Bad Request"),
        "Invalid code",
    );
    tally.finish();
}

#[test]
fn gam_error_envelope() {
    let mut tally = Tally::new("12. GAM error envelope");
    let body = r#"{"status":"400","message":"Customer not found","error_code":"CUS_404","timestamp":"t"}"#;
    check_shape(
        &mut tally,
        &STEPS,
        &[400],
        JSON,
        body,
        Some("CUS_404"),
        "Customer not found",
    );
    tally.finish();
}

#[test]
fn astana_status_code_and_message() {
    let mut tally = Tally::new("13. Astana-plat statusCode + message");
    let body = r#"{"statusCode":400,"message":"User with given credentials not found"}"#;
    check_shape(
        &mut tally,
        &STEPS,
        &[400],
        JSON,
        body,
        None,
        "User with given credentials not found",
    );
    tally.finish();
}

// ------------------------------------------------------------ generated words

/// Printable text (no control character) of at most `max` characters that
/// is not blank, sometimes padded with ASCII spaces (which the refusal
/// trims away). Its other ends are never whitespace, so "trimmed" means the
/// same whatever a trim counts as whitespace.
fn words(max: usize) -> impl Strategy<Value = String> {
    let core = proptest::string::string_regex(&format!("\\PC{{1,{}}}", max - 2))
        .unwrap()
        .prop_filter("not blank at either end", |s| {
            let first = s.chars().next().is_some_and(|c| !c.is_whitespace());
            let last = s.chars().next_back().is_some_and(|c| !c.is_whitespace());
            first && last
        });
    // One value in four is padded on one side or both.
    (core, 0..12u8).prop_map(|(core, pad)| match pad {
        0 => format!(" {core}"),
        1 => format!("{core} "),
        2 => format!(" {core} "),
        _ => core,
    })
}

/// A generated body: status, content type, body, and the code and message
/// its refusal must carry.
struct Generated {
    statuses: &'static [u16],
    content_type: Option<&'static str>,
    body: String,
    code: Option<String>,
    message: String,
}

/// Draws `GENERATED` (code, message) pairs, builds each body with `build`,
/// and feeds it to `steps`.
fn check_generated<S>(name: &'static str, steps: &[Step], strategy: S, build: impl Fn(&S::Value) -> Generated)
where
    S: Strategy,
    S::Value: std::fmt::Debug,
{
    let mut tally = Tally::new(name);
    for (i, value) in draw(GENERATED, strategy).into_iter().enumerate() {
        let generated = build(&value);
        // Every step reads refusals with the one classifier, and the fixed
        // rows above feed every shape to every step; generated words go to
        // two steps each, in turn, so each step still meets dozens of them.
        let turn = [steps[i % steps.len()], steps[(i + steps.len() / 2) % steps.len()]];
        for &status in generated.statuses {
            let r = body_at(status, generated.content_type, &generated.body);
            for &step in &turn {
                let verdict = judge(
                    step,
                    status,
                    feed(step, &r),
                    generated.code.as_deref(),
                    &generated.message,
                );
                tally.check(format_args!("{step:?} HTTP {status} {value:?}"), verdict);
            }
        }
    }
    tally.finish();
}

fn json_str(text: &str) -> String {
    serde_json::to_string(text).unwrap()
}

fn code_and_message() -> impl Strategy<Value = (String, String)> {
    (words(100), words(MAX_MESSAGE_CHARS))
}

#[test]
fn generated_rfc6749_words_come_back() {
    check_generated(
        "1. RFC 6749, generated",
        &STEPS,
        code_and_message(),
        |(code, message)| Generated {
            statuses: &[400],
            content_type: JSON,
            body: format!(
                r#"{{"error":{},"error_description":{}}}"#,
                json_str(code),
                json_str(message)
            ),
            code: Some(code.trim().to_owned()),
            message: message.trim().to_owned(),
        },
    );
}

#[test]
fn generated_suz_global_error_words_come_back() {
    check_generated(
        "2. SUZ globalErrors, generated",
        &STEPS,
        code_and_message(),
        |(code, message)| Generated {
            statuses: &[400, 200],
            content_type: JSON,
            body: format!(
                r#"{{"success":false,"globalErrors":[{{"error":{},"errorCode":{}}}]}}"#,
                json_str(message),
                json_str(code)
            ),
            code: Some(code.trim().to_owned()),
            message: message.trim().to_owned(),
        },
    );
}

#[test]
fn generated_suz_global_error_messages_come_back() {
    check_generated(
        "2. SUZ globalErrors message, generated",
        &STEPS,
        code_and_message(),
        |(code, message)| Generated {
            statuses: &[400, 200],
            content_type: JSON,
            body: format!(
                r#"{{"success":false,"globalErrors":[{{"message":{},"errorCode":{}}}]}}"#,
                json_str(message),
                json_str(code)
            ),
            code: Some(code.trim().to_owned()),
            message: message.trim().to_owned(),
        },
    );
}

#[test]
fn generated_suz_field_error_words_come_back() {
    let prefix = "address: ";
    let strategy = (words(100), words(MAX_MESSAGE_CHARS - prefix.len()));
    check_generated(
        "3. SUZ fieldErrors, generated",
        &STEPS,
        strategy,
        |(code, message)| Generated {
            statuses: &[400],
            content_type: JSON,
            body: format!(
                r#"{{"success":false,"fieldErrors":[{{"fieldName":"address","fieldError":{},"errorCode":{}}}]}}"#,
                json_str(message),
                json_str(code)
            ),
            code: Some(code.trim().to_owned()),
            message: format!("{prefix}{}", message.trim()),
        },
    );
}

#[test]
fn generated_problem_details_come_back() {
    check_generated(
        "4. problem+json detail, generated",
        &STEPS,
        words(MAX_MESSAGE_CHARS),
        |message| Generated {
            statuses: &[403],
            content_type: Some("application/problem+json"),
            body: format!(
                r#"{{"type":"https://example.com/probs/out-of-credit","title":"You do not have enough credit.","status":403,"detail":{},"instance":"/account/12345/msgs/abc"}}"#,
                json_str(message)
            ),
            code: None,
            message: message.trim().to_owned(),
        },
    );
}

#[test]
fn generated_titles_come_back() {
    check_generated(
        "5. title only, generated",
        &STEPS,
        words(MAX_MESSAGE_CHARS),
        |message| Generated {
            statuses: &[404],
            content_type: JSON,
            body: format!(r#"{{"title":{},"status":404}}"#, json_str(message)),
            code: None,
            message: message.trim().to_owned(),
        },
    );
}

#[test]
fn generated_detail_texts_come_back() {
    check_generated(
        "6. detail string, generated",
        &STEPS,
        words(MAX_MESSAGE_CHARS),
        |message| Generated {
            statuses: &[401, 400],
            content_type: JSON,
            body: format!(r#"{{"detail":{}}}"#, json_str(message)),
            code: None,
            message: message.trim().to_owned(),
        },
    );
}

#[test]
fn generated_fastapi_validation_errors_come_back() {
    let prefix = "body.username: ";
    let strategy = (words(100), words(MAX_MESSAGE_CHARS - prefix.len()));
    check_generated(
        "7. FastAPI detail list, generated",
        &STEPS,
        strategy,
        |(code, message)| Generated {
            statuses: &[422],
            content_type: JSON,
            body: format!(
                r#"{{"detail":[{{"loc":["body","username"],"msg":{},"type":{}}}]}}"#,
                json_str(message),
                json_str(code)
            ),
            code: Some(code.trim().to_owned()),
            message: format!("{prefix}{}", message.trim()),
        },
    );
}

#[test]
fn generated_plain_texts_come_back() {
    // Text that is not JSON, HTML or XML in disguise.
    let text = words(MAX_MESSAGE_CHARS).prop_filter("plain text", |t| {
        let t = t.trim();
        !t.starts_with(['{', '[', '<', '"']) && serde_json::from_str::<serde_json::Value>(t).is_err()
    });
    check_generated("8. plain text, generated", &STEPS, text, |message| Generated {
        statuses: &[400],
        content_type: None,
        body: message.clone(),
        code: None,
        message: message.trim().to_owned(),
    });
}

#[test]
fn generated_html_titles_come_back() {
    let title = words(MAX_MESSAGE_CHARS).prop_filter("no markup", |t| !t.contains(['<', '>', '&']));
    check_generated("9. HTML title, generated", &STEPS, title, |message| Generated {
        statuses: &[502],
        content_type: Some("text/html"),
        body: format!("<html><head><title>{message}</title></head><body><h1>{message}</h1></body></html>"),
        code: None,
        message: message.trim().to_owned(),
    });
}

#[test]
fn generated_mdlp_auth_refusals_come_back() {
    let strategy = (any::<u32>(), words(MAX_MESSAGE_CHARS));
    check_generated(
        "10. MDLP auth code + description, generated",
        &[MdlpAuth],
        strategy,
        |(code, message)| Generated {
            statuses: &[200],
            content_type: JSON,
            body: format!(r#"{{"code":{code},"description":{}}}"#, json_str(message)),
            code: Some(code.to_string()),
            message: message.trim().to_owned(),
        },
    );
}

#[test]
fn generated_spring_errors_come_back() {
    check_generated(
        "11. Spring, generated",
        &STEPS,
        code_and_message(),
        |(code, message)| Generated {
            statuses: &[400],
            content_type: JSON,
            body: format!(
                r#"{{"timestamp":"2024-01-01T00:00:00Z","status":400,"error":{},"message":{},"path":"/api/v1/token"}}"#,
                json_str(code),
                json_str(message)
            ),
            code: Some(code.trim().to_owned()),
            message: message.trim().to_owned(),
        },
    );
}

#[test]
fn generated_gam_error_envelopes_come_back() {
    check_generated(
        "12. GAM envelope, generated",
        &STEPS,
        code_and_message(),
        |(code, message)| Generated {
            statuses: &[400],
            content_type: JSON,
            body: format!(
                r#"{{"status":"400","message":{},"error_code":{},"timestamp":"t"}}"#,
                json_str(message),
                json_str(code)
            ),
            code: Some(code.trim().to_owned()),
            message: message.trim().to_owned(),
        },
    );
}

#[test]
fn generated_astana_messages_come_back() {
    check_generated(
        "13. Astana-plat, generated",
        &STEPS,
        words(MAX_MESSAGE_CHARS),
        |message| Generated {
            statuses: &[400],
            content_type: JSON,
            body: format!(r#"{{"statusCode":400,"message":{}}}"#, json_str(message)),
            code: None,
            message: message.trim().to_owned(),
        },
    );
}

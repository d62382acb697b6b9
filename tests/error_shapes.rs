//! Every error shape the providers (and the proxies and frameworks in front
//! of them) answer with keeps the server's own words: each body is fed to the
//! refusal step of every flow that reads such an answer, and the refusal must
//! be `Error::Server` with exactly the code and message the table gives.
//!
//! Steps (driven by `common::steps`): the token steps of the ITC password
//! grant, GAM client credentials, MonPay's code exchange and the
//! Astana-plat login; the CRPT challenge's key and sign-in steps (GIS MT
//! and True API); MDLP's auth and token steps; the SUZ registration; and
//! the typed API calls `itc::get_profile` and `gam::post` (a plain
//! `call::Authorized` hands a 4xx other than 401/403 back untouched, so the
//! typed calls are where an API refusal is read).
//!
//! Each shape counts its failing cases (shape × status × step, or generated
//! words × step) and reports them together.

use proptest::prelude::*;

use tokendance::{Error, MAX_MESSAGE_CHARS};

mod common;
use common::steps::{feed, steps, Step, Step::*};
use common::{draw, resp, Resp, Tally};

/// Cases per generated property.
const GENERATED: u32 = 256;

/// The steps every body goes to: the token steps, `itc::get_profile` and
/// `gam::post`.
fn all_steps() -> Vec<Step> {
    // Not `ItcConsumer`: its 404 with a JSON body means "no such citizen"
    // (`Ok(None)`), and the rows use 404; its other refusals go through
    // the same reader as `ItcProfile`'s.
    steps(|s| s.issues_token() || (s.is_api_call() && s != ItcConsumer))
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
fn check_shape(tally: &mut Tally, shape: &Fixed) {
    for &status in shape.statuses {
        let r = body_at(status, shape.content_type, &shape.body);
        for &step in &shape.steps {
            let verdict = judge(step, status, feed(step, r.build()), shape.code, &shape.message);
            tally.check(format_args!("{step:?} HTTP {status}"), verdict);
        }
    }
}

const JSON: Option<&str> = Some("application/json");

// ------------------------------------------------------------ the table

/// A fixed body of a shape: the steps it goes to, the statuses it comes
/// with, its content type, and the code and message its refusal must carry.
struct Fixed {
    steps: Vec<Step>,
    statuses: &'static [u16],
    content_type: Option<&'static str>,
    body: String,
    code: Option<&'static str>,
    message: String,
}

/// `body` to every step.
fn fixed(
    statuses: &'static [u16],
    content_type: Option<&'static str>,
    body: impl Into<String>,
    code: Option<&'static str>,
    message: impl Into<String>,
) -> Fixed {
    Fixed {
        steps: all_steps(),
        statuses,
        content_type,
        body: body.into(),
        code,
        message: message.into(),
    }
}

impl Fixed {
    /// Only to `steps`.
    fn to(mut self, steps: &[Step]) -> Self {
        self.steps = steps.to_vec();
        self
    }
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

/// Every shape, numbered, with its bodies.
fn shapes() -> Vec<(&'static str, Vec<Fixed>)> {
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
    let cut = plain_message(&long);
    assert_eq!(cut.chars().count(), MAX_MESSAGE_CHARS);
    vec![
        (
            "1. RFC 6749 error + error_description",
            vec![fixed(
                &[400],
                JSON,
                r#"{"error":"invalid_grant","error_description":"Token is not active"}"#,
                Some("invalid_grant"),
                "Token is not active",
            )],
        ),
        (
            "2. SUZ globalErrors with errorCode",
            vec![
                fixed(
                    &[400, 200],
                    JSON,
                    r#"{"success":false,"globalErrors":[{"error":"Неверный omsId","errorCode":1140}]}"#,
                    Some("1140"),
                    "Неверный omsId",
                ),
                fixed(
                    &[400, 200],
                    JSON,
                    r#"{"success":false,"globalErrors":[{"message":"bad order","errorCode":"E-7"}]}"#,
                    Some("E-7"),
                    "bad order",
                ),
            ],
        ),
        (
            "3. SUZ fieldErrors",
            vec![fixed(
                &[400],
                JSON,
                r#"{"success":false,"fieldErrors":[{"fieldName":"address","fieldError":"must not be blank","errorCode":2001}]}"#,
                Some("2001"),
                "address: must not be blank",
            )],
        ),
        (
            "4. RFC 9457 problem+json",
            vec![fixed(
                &[403],
                Some("application/problem+json"),
                r#"{"type":"https://example.com/probs/out-of-credit","title":"You do not have enough credit.","status":403,"detail":"Your current balance is 30, but that costs 50.","instance":"/account/12345/msgs/abc"}"#,
                None,
                "Your current balance is 30, but that costs 50.",
            )],
        ),
        (
            "5. title only",
            vec![fixed(&[404], JSON, r#"{"title":"Not Found","status":404}"#, None, "Not Found")],
        ),
        (
            "6. DRF / FastAPI detail string",
            vec![fixed(
                &[401, 400],
                JSON,
                r#"{"detail":"Authentication credentials were not provided."}"#,
                None,
                "Authentication credentials were not provided.",
            )],
        ),
        (
            "7. FastAPI 422 detail list",
            vec![fixed(
                &[422],
                JSON,
                r#"{"detail":[{"loc":["body","username"],"msg":"field required","type":"value_error.missing"}]}"#,
                Some("value_error.missing"),
                "body.username: field required",
            )],
        ),
        (
            "8. plain text",
            vec![
                fixed(&[400], None, "Bad request", None, "Bad request"),
                fixed(&[403], Some("text/plain"), "Access denied\n", None, "Access denied"),
                fixed(&[400], None, long, None, cut),
            ],
        ),
        (
            "9. HTML page (nginx 502)",
            vec![fixed(
                &[502],
                Some("text/html"),
                "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>",
                None,
                "502 Bad Gateway",
            )],
        ),
        (
            "10. MDLP auth 200 code + description",
            vec![fixed(
                &[200],
                JSON,
                r#"{"code": 5, "description": "Пользователь не найден"}"#,
                Some("5"),
                "Пользователь не найден",
            )
            .to(&[MdlpAuth])],
        ),
        (
            "11. Spring error attributes",
            vec![fixed(
                &[400],
                JSON,
                r#"{"timestamp":"2024-01-01T00:00:00Z","status":400,"error":"Bad Request","message":"Invalid code","path":"/api/v1/token"}"#,
                Some("Bad Request"),
                "Invalid code",
            )],
        ),
        (
            "12. GAM error envelope",
            vec![fixed(
                &[400],
                JSON,
                r#"{"status":"400","message":"Customer not found","error_code":"CUS_404","timestamp":"t"}"#,
                Some("CUS_404"),
                "Customer not found",
            )],
        ),
        (
            "13. Astana-plat statusCode + message",
            vec![fixed(
                &[400],
                JSON,
                r#"{"statusCode":400,"message":"User with given credentials not found"}"#,
                None,
                "User with given credentials not found",
            )],
        ),
        (
            "14. code + error_message",
            vec![fixed(
                &[401, 400],
                JSON,
                r#"{"code":"AUTH_FAILED","error_message":"Wrong password"}"#,
                Some("AUTH_FAILED"),
                "Wrong password",
            )],
        ),
        (
            "15. violations with a field and a code",
            vec![fixed(
                &[400],
                JSON,
                r#"{"violations":[{"field":"username","message":"must not be blank","code":"NotBlank"}]}"#,
                Some("NotBlank"),
                "username: must not be blank",
            )],
        ),
        (
            "16. msg alone",
            vec![fixed(&[400, 500], JSON, r#"{"msg":"Нэвтрэх нэр буруу"}"#, None, "Нэвтрэх нэр буруу")],
        ),
        (
            "17. description alone",
            vec![fixed(&[401, 400], JSON, r#"{"description":"Invalid client"}"#, None, "Invalid client")],
        ),
        (
            "18. code + message",
            vec![
                fixed(
                    &[400],
                    JSON,
                    r#"{"code":"E42","message":"quota exceeded"}"#,
                    Some("E42"),
                    "quota exceeded",
                ),
                // In a 200 too, but for MDLP's auth step and ITC's business
                // replies, where a string `code` is the answer itself (the
                // one-time code; `userNotFound`).
                fixed(
                    &[200],
                    JSON,
                    r#"{"code":"E42","message":"quota exceeded"}"#,
                    Some("E42"),
                    "quota exceeded",
                )
                .to(&all_steps()
                    .into_iter()
                    .filter(|s| !matches!(s, MdlpAuth | ItcProfile | ItcApproveQr))
                    .collect::<Vec<_>>()),
            ],
        ),
    ]
}

/// Every shape at its statuses to every step, one tally per shape.
#[test]
fn every_shape_keeps_the_servers_words() {
    let tallies = shapes().into_iter().map(|(name, bodies)| {
        let mut tally = Tally::new(name);
        for body in &bodies {
            check_shape(&mut tally, body);
        }
        tally
    });
    common::finish_all(tallies);
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

/// Draws `GENERATED` values, builds each body with `build`, and feeds it to
/// `steps`.
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
                    feed(step, r.build()),
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

/// Generated (code, message) pairs in a JSON body, which `body` writes from
/// their JSON strings (code first), to every step: the refusal carries
/// both trimmed, the message after `prefix` (a field's name).
fn check_coded(name: &'static str, statuses: &'static [u16], prefix: &str, body: fn(&str, &str) -> String) {
    let strategy = (words(100), words(MAX_MESSAGE_CHARS - prefix.len()));
    check_generated(name, &all_steps(), strategy, |(code, message)| Generated {
        statuses,
        content_type: JSON,
        body: body(&json_str(code), &json_str(message)),
        code: Some(code.trim().to_owned()),
        message: format!("{prefix}{}", message.trim()),
    });
}

/// Generated messages drawn from `text`, in a body `body` writes from the
/// message as drawn, to every step: the refusal carries it trimmed, and no
/// code.
fn check_worded(
    name: &'static str,
    statuses: &'static [u16],
    content_type: Option<&'static str>,
    text: impl Strategy<Value = String>,
    body: fn(&str) -> String,
) {
    check_generated(name, &all_steps(), text, |message| Generated {
        statuses,
        content_type,
        body: body(message),
        code: None,
        message: message.trim().to_owned(),
    });
}

/// What a refusal keeps of a server's word, modelled here: every control
/// character a space, whitespace trimmed from both ends, then at most
/// `max` characters.
fn kept(text: &str, max: usize) -> String {
    let spaced: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    spaced.trim().chars().take(max).collect()
}

/// Text of any length up to `max`, with control characters (C0, DEL, C1,
/// tabs and line breaks) among printable ones.
fn wild_words(max: usize) -> impl Strategy<Value = String> {
    let c = prop_oneof![
        6 => proptest::char::any().prop_filter("printable", |c| !c.is_control()),
        2 => proptest::char::range('\u{0}', '\u{1f}'),
        1 => Just('\u{7f}'),
        1 => proptest::char::range('\u{80}', '\u{9f}'),
        1 => Just(' '),
    ];
    proptest::collection::vec(c, 1..=max).prop_map(|cs| cs.into_iter().collect())
}

/// The bounds and the control-character rule: codes and messages past
/// their bounds (100 and `MAX_MESSAGE_CHARS` characters) and holding
/// control characters come back as [`kept`] says.
#[test]
fn generated_words_are_bounded_and_printable() {
    let strategy = (wild_words(160), wild_words(MAX_MESSAGE_CHARS + 200))
        .prop_filter("words left after trimming", |(code, message)| {
            !kept(code, 100).is_empty() && !kept(message, MAX_MESSAGE_CHARS).is_empty()
        });
    check_generated(
        "1b. RFC 6749, any length, controls",
        &all_steps(),
        strategy,
        |(code, message)| Generated {
            statuses: &[400],
            content_type: JSON,
            body: format!(
                r#"{{"error":{},"error_description":{}}}"#,
                json_str(code),
                json_str(message)
            ),
            code: Some(kept(code, 100)),
            message: kept(message, MAX_MESSAGE_CHARS),
        },
    );
}

#[test]
fn generated_rfc6749_words_come_back() {
    check_coded("1. RFC 6749, generated", &[400], "", |code, message| {
        format!(r#"{{"error":{code},"error_description":{message}}}"#)
    });
}

#[test]
fn generated_suz_global_error_words_come_back() {
    check_coded(
        "2. SUZ globalErrors, generated",
        &[400, 200],
        "",
        |code, message| {
            format!(r#"{{"success":false,"globalErrors":[{{"error":{message},"errorCode":{code}}}]}}"#)
        },
    );
}

#[test]
fn generated_suz_global_error_messages_come_back() {
    check_coded(
        "2. SUZ globalErrors message, generated",
        &[400, 200],
        "",
        |code, message| {
            format!(r#"{{"success":false,"globalErrors":[{{"message":{message},"errorCode":{code}}}]}}"#)
        },
    );
}

#[test]
fn generated_suz_field_error_words_come_back() {
    check_coded(
        "3. SUZ fieldErrors, generated",
        &[400],
        "address: ",
        |code, message| {
            format!(
                r#"{{"success":false,"fieldErrors":[{{"fieldName":"address","fieldError":{message},"errorCode":{code}}}]}}"#
            )
        },
    );
}

#[test]
fn generated_problem_details_come_back() {
    let problem = Some("application/problem+json");
    check_worded(
        "4. problem+json detail, generated",
        &[403],
        problem,
        words(MAX_MESSAGE_CHARS),
        |m| {
            format!(
                r#"{{"type":"https://example.com/probs/out-of-credit","title":"You do not have enough credit.","status":403,"detail":{},"instance":"/account/12345/msgs/abc"}}"#,
                json_str(m)
            )
        },
    );
}

#[test]
fn generated_titles_come_back() {
    check_worded(
        "5. title only, generated",
        &[404],
        JSON,
        words(MAX_MESSAGE_CHARS),
        |m| format!(r#"{{"title":{},"status":404}}"#, json_str(m)),
    );
}

#[test]
fn generated_detail_texts_come_back() {
    check_worded(
        "6. detail string, generated",
        &[401, 400],
        JSON,
        words(MAX_MESSAGE_CHARS),
        |m| format!(r#"{{"detail":{}}}"#, json_str(m)),
    );
}

#[test]
fn generated_fastapi_validation_errors_come_back() {
    check_coded(
        "7. FastAPI detail list, generated",
        &[422],
        "body.username: ",
        |code, message| {
            format!(r#"{{"detail":[{{"loc":["body","username"],"msg":{message},"type":{code}}}]}}"#)
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
    check_worded("8. plain text, generated", &[400], None, text, str::to_owned);
}

#[test]
fn generated_html_titles_come_back() {
    let title = words(MAX_MESSAGE_CHARS).prop_filter("no markup", |t| !t.contains(['<', '>', '&']));
    check_worded(
        "9. HTML title, generated",
        &[502],
        Some("text/html"),
        title,
        |m| format!("<html><head><title>{m}</title></head><body><h1>{m}</h1></body></html>"),
    );
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
    check_coded("11. Spring, generated", &[400], "", |code, message| {
        format!(
            r#"{{"timestamp":"2024-01-01T00:00:00Z","status":400,"error":{code},"message":{message},"path":"/api/v1/token"}}"#
        )
    });
}

#[test]
fn generated_gam_error_envelopes_come_back() {
    check_coded("12. GAM envelope, generated", &[400], "", |code, message| {
        format!(r#"{{"status":"400","message":{message},"error_code":{code},"timestamp":"t"}}"#)
    });
}

#[test]
fn generated_astana_messages_come_back() {
    check_worded(
        "13. Astana-plat, generated",
        &[400],
        JSON,
        words(MAX_MESSAGE_CHARS),
        |m| format!(r#"{{"statusCode":400,"message":{}}}"#, json_str(m)),
    );
}

//! One-request flows (GAM, MonPay, Astana-plat) against a server that echoes their secrets.

use super::*;
use common::flows::{one_request_flows, BoxedTokenFlow, Canaries, Success, TokenFlow};

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
fn scripted_answers(e: &Echo<'_>, shape: Success) -> Vec<(&'static str, http::Response<Vec<u8>>)> {
    use serde_json::json;
    let all = e.all();
    let first = e.secrets.first().copied().unwrap_or("nothing");
    let form: String = e
        .secrets
        .iter()
        .map(|s| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>())
        .collect::<Vec<_>>()
        .join(" ");
    let success = match shape {
        // Every token-like field a Keycloak answer has, each a canary.
        Success::OAuth => {
            let mut body = token_body(ACCESS, REFRESH, 300, 1800);
            body["session_state"] = REFRESH_2.into();
            body["id_token"] = ACCESS_2.into();
            body["scope"] = "openid profile".into();
            json(200, body)
        }
        other => json(200, serde_json::from_str(&other.body(ACCESS)).unwrap()),
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

/// A one-request flow of the shared table, built with one set of canaries.
struct OneShot {
    name: String,
    flow: &'static TokenFlow,
    canaries: Canaries,
    /// Secrets the request carries (to be echoed, and to be found in its body).
    secrets: Vec<&'static str>,
    shape: Success,
}

impl OneShot {
    fn build(&self) -> BoxedTokenFlow {
        (self.flow.build)(&self.canaries).unwrap()
    }
}

/// Every one-request flow, with plain canaries and with canaries that need
/// encoding in a form or JSON body.
fn one_shots() -> Vec<OneShot> {
    let plain = Canaries {
        password: PW,
        client_secret: CLIENT_SECRET,
        code: AUTH_CODE,
        mdlp_secret: MDLP_SECRET,
        mdlp_password: MDLP_PW,
    };
    let special = Canaries {
        password: PW_SPECIAL,
        client_secret: CLIENT_SECRET_SPECIAL,
        ..plain
    };
    let mut shots = Vec::new();
    for flow in one_request_flows() {
        for (canaries, variant) in [(plain, ""), (special, " (secrets needing encoding)")] {
            let secrets = (flow.carries)(&canaries);
            if !variant.is_empty() && secrets == (flow.carries)(&plain) {
                // Nothing of this flow's needs encoding.
                continue;
            }
            shots.push(OneShot {
                name: format!("{}{variant}", flow.name),
                flow,
                canaries,
                secrets,
                shape: flow.success,
            });
        }
    }
    shots
}

fn run_one_shot(
    seen: &mut Seen,
    shot: &OneShot,
    scenario: &str,
    answer: http::Response<Vec<u8>>,
) -> Result<TokenSet, Error> {
    let label = format!("{} / {scenario}", shot.name);
    let mut flow = shot.build();
    seen.debug(&format!("{label}: flow before start"), &flow);

    // resume before start
    let e = flow.resume(T0, Input::Timeout).unwrap_err();
    assert_eq!(e, Error::Usage(UsageError::NotStarted));
    seen.error(&format!("{label}: resume before start"), &e);

    let action = flow.start(T0).unwrap();
    seen.debug(&format!("{label}: first action"), &action);
    let Action::Send(out) = action else {
        panic!("{label}: expected Send")
    };
    seen.outgoing(&format!("{label}: request"), &out);
    assert_body_carries(&label, out.as_http().body(), &shot.secrets);
    seen.debug(&format!("{label}: flow awaiting"), &flow);

    // Wrong inputs leave the flow unchanged; their errors name kinds only.
    let sig = Input::Signature(Signature::from_der(SIG_DER.to_vec()));
    seen.debug(&format!("{label}: signature input"), &sig);
    let e = flow.resume(T0, sig).unwrap_err();
    seen.error(&format!("{label}: signature input"), &e);
    let e = flow.start(T0).unwrap_err();
    assert_eq!(e, Error::Usage(UsageError::AlreadyStarted));
    seen.error(&format!("{label}: second start"), &e);

    let input = Input::Response(answer);
    seen.debug(&format!("{label}: response input"), &input);
    let result = match flow.resume(T0, input) {
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
    let e = flow.resume(T0, Input::Timeout).unwrap_err();
    assert_eq!(e, Error::Usage(UsageError::Finished));
    seen.error(&format!("{label}: after the end"), &e);
    result
}

#[test]
fn one_request_flows_never_print_a_canary() {
    let mut seen = Seen::default();
    for shot in one_shots() {
        let raw_body = {
            let mut f = shot.build();
            let Ok(Action::Send(out)) = f.start(T0) else {
                panic!()
            };
            String::from_utf8(out.into_http().into_body()).unwrap()
        };
        let echo = Echo {
            secrets: &shot.secrets,
            raw_body: &raw_body,
        };
        let mut successes = 0;
        for (scenario, answer) in scripted_answers(&echo, shot.shape) {
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
        let mut flow = shot.build();
        let _ = flow.start(T0).unwrap();
        let e = flow.resume(T0, Input::Failed).unwrap_err();
        assert_eq!(e, Error::Usage(UsageError::Aborted));
        seen.error(&format!("{}: aborted", shot.name), &e);
        seen.debug(&format!("{}: aborted flow", shot.name), &flow);

        // Through the blocking driver: success, refusal and transport error.
        let flow = shot.build();
        let answer = scripted_answers(&echo, shot.shape).swap_remove(1).1;
        let r = drive::drive(
            flow,
            || T0,
            |req| {
                seen.debug("driver raw headers", req.headers());
                Ok::<_, std::io::Error>(answer.clone())
            },
            drive::no_signer,
            |_| {},
        );
        let err = r.unwrap_err();
        seen.both(&format!("{}: drive error", shot.name), &err);
        let flow = shot.build();
        let err = drive::drive(
            flow,
            || T0,
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

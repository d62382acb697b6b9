//! What errors show: bounded messages, scrubbed echoes, never the token; a session survives misuse.

use super::*;

#[test]
fn display_shows_status_code_and_message() {
    let body = r#"{"error":"invalid_client","error_description":"Invalid client credentials"}"#;
    for step in ALL {
        let err = error(step, &json(401, body));
        assert_eq!(err.status(), Some(StatusCode::UNAUTHORIZED));
        assert_eq!(
            err.to_string(),
            "HTTP 401 invalid_client: Invalid client credentials",
            "{step:?}"
        );
        let s = err.as_server().unwrap();
        assert_eq!(s.kind, ServerErrorKind::InvalidClient);
        // Numeric codes are kept as text.
        let s = server(step, &json(400, r#"{"code":1002,"message":"bad"}"#));
        assert_eq!(s.to_string(), "HTTP 400 1002: bad");
        // A code alone.
        let s = server(step, &json(400, r#"{"error":"invalid_scope"}"#));
        assert_eq!(s.to_string(), "HTTP 400 invalid_scope");
        assert_eq!(s.kind, ServerErrorKind::InvalidScope);
    }
}

#[test]
fn messages_are_bounded_and_control_characters_removed() {
    for step in ALL {
        let long = "Ж".repeat(5_000);
        let s = server(
            step,
            &json(
                400,
                format!(
                    r#"{{"error":"{}","error_description":"{long}"}}"#,
                    "c".repeat(300)
                ),
            ),
        );
        assert_eq!(s.message.as_ref().unwrap().chars().count(), MAX_MESSAGE_CHARS);
        assert_eq!(s.code.as_ref().unwrap().chars().count(), 100);
        let s = server(
            step,
            &json(
                400,
                r#"{"error":"x","error_description":"line1\nline2\u001b[31m\r"}"#,
            ),
        );
        assert_eq!(s.message.as_deref(), Some("line1 line2 [31m"));
    }
}

#[test]
fn echoed_secrets_are_scrubbed() {
    let echo = |secret: &str| {
        let encoded: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
        serde_json::json!({
            // Not `invalid_grant`: that would make the ITC refresh fall back silently.
            "error": "invalid_request",
            "error_description": format!("bad value {secret} (sent as {encoded})"),
        })
        .to_string()
    };
    let cases = [
        (ItcPassword, ITC_PASSWORD),
        (ItcRefresh, REFRESH),
        (Gam, GAM_SECRET),
        (MonPay, MONPAY_SECRET),
        (MonPay, MONPAY_CODE),
        (MonPayMerchant, MONPAY_SECRET),
        (AstanaPassword, ASTANA_PASSWORD),
    ];
    for (step, secret) in cases {
        // On a 400 and inside a 200; the harness checks Display and Debug.
        for code in [400u16, 200] {
            if (step, code) == (ItcRefresh, 400) {
                // Falls back to the password grant: the refusal is never shown.
                assert!(matches!(feed(step, &json(code, echo(secret))), Outcome::Fallback));
                continue;
            }
            let err = error(step, &json(code, echo(secret)));
            assert_eq!(
                err.as_server().unwrap().message.as_deref(),
                Some(tokendance::WITHHELD),
                "{step:?}"
            );
        }
    }
    // A secret that straddles the message bound leaves no prefix behind.
    for (step, secret) in cases {
        let pad = "x".repeat(MAX_MESSAGE_CHARS - 5);
        let body =
            serde_json::json!({"error": "server_error", "error_description": format!("{pad}{secret}")});
        let s = server(step, &json(500, body.to_string()));
        let message = s.message.unwrap();
        assert!(!message.contains(&secret[..5]), "{step:?}: {message}");
    }
}

#[test]
fn errors_of_2xx_bodies_never_hold_the_token() {
    // Every way a 2xx body holding the token can fail; `feed` checks Display
    // and Debug of each error for the token.
    for step in ALL {
        let bodies = [
            format!(r#"{{"access_token":"{TOKEN}","token_type":"mac"}}"#),
            format!(r#"{{"access_token":"{TOKEN}","expires_in":"{TOKEN}"}}"#),
            format!(r#"{{"access_token":"{TOKEN}","error":"server_error"}}"#),
            format!(r#"{{"access_token":"{TOKEN}","statusCode":500}}"#),
            format!(r#"{{"data":{{"token":"{TOKEN}"}},"statusCode":401}}"#),
            format!(r#"{{"data":"{TOKEN}"}}"#),
            format!(r#"[{{"access_token":"{TOKEN}"}}]"#),
            format!(r#"{{"access_token":"{TOKEN}","access_token":"{TOKEN}"}}"#),
            format!(r#"{{"access_token":"{TOKEN}"#),
        ];
        let mut errors = 0;
        for body in &bodies {
            match feed(step, &json(200, body)) {
                Outcome::Err(..) => errors += 1,
                Outcome::Token(_) | Outcome::Fallback => {}
            }
        }
        assert!(errors >= 6, "{step:?}: only {errors} errors");
    }
}

#[test]
fn a_session_survives_unusable_answers_and_misuse() {
    let mut session = itc_session(ItcPassword);
    // A response with nothing in flight is refused and changes nothing.
    session
        .handle_response(T0, json(200, ItcPassword.ok_body()).build())
        .unwrap();
    let err = session
        .handle_response(T0, json(200, ItcPassword.ok_body()).build())
        .unwrap_err();
    assert_eq!(err, Error::Usage(UsageError::NoRequestInFlight));
    let SessionAction::UseToken(t) = session.poll(T0).unwrap() else {
        panic!("expected the token")
    };
    assert_eq!(t.expose_secret(), TOKEN);
}

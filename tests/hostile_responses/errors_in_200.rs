//! Refusals inside a 200 body, and error fields that say nothing.

use super::*;

// ------------------------------------------------------------ errors inside a 200

#[test]
fn oauth_error_body_in_a_200() {
    let body = format!(
        r#"{{"error":"invalid_grant","error_description":"Token is not active","access_token":"{TOKEN}"}}"#
    );
    for step in ALL {
        match (step, feed(step, &json(200, &body))) {
            (ItcRefresh, Outcome::Fallback) => {}
            (_, Outcome::Err(Error::Server(s), after)) => {
                assert_eq!(
                    (s.status, s.kind, s.code.as_deref(), s.message.as_deref()),
                    (
                        StatusCode::OK,
                        ServerErrorKind::InvalidGrant,
                        Some("invalid_grant"),
                        Some("Token is not active")
                    ),
                    "{step:?}"
                );
                assert_eq!(s.to_string(), "HTTP 200 invalid_grant: Token is not active");
                if step == ItcPassword {
                    assert_eq!(after, After::Ended);
                }
            }
            (step, other) => panic!("{step:?}: {other:?}"),
        }
    }
}

#[test]
fn astana_error_body_in_a_200() {
    let body = r#"{"statusCode":400,"message":"User with given credentials not found"}"#;
    for step in ALL {
        let Outcome::Err(Error::Server(s), after) = feed(step, &json(200, body)) else {
            panic!("{step:?}")
        };
        assert_eq!(s.status, StatusCode::OK);
        assert_eq!(s.code, None);
        assert_eq!(
            s.message.as_deref(),
            Some("User with given credentials not found")
        );
        assert_eq!(s.to_string(), "HTTP 200: User with given credentials not found");
        assert_eq!(LoginError::of(&s), LoginError::UserNotFound);
        if step.is_astana() {
            assert_eq!(s.kind, ServerErrorKind::InvalidGrant, "{step:?}");
        } else {
            // OAuth flows do not read Astana's messages.
            assert_eq!(s.kind, ServerErrorKind::Rejected, "{step:?}");
        }
        if matches!(step, ItcPassword | ItcRefresh) {
            assert_eq!(after, After::Retried, "{step:?}");
        }
    }
    // `statusCode` as a string is a marker too.
    for step in ALL {
        let s = server(
            step,
            &json(
                200,
                r#"{"statusCode":"500","message":"Error on server. try later"}"#,
            ),
        );
        assert_eq!(s.message.as_deref(), Some("Error on server. try later"));
    }
}

#[test]
fn other_failure_markers_in_a_200() {
    let cases: [(&str, Option<&str>, Option<&str>, ServerErrorKind); 5] = [
        (
            r#"{"status":"400","message":"Invalid client","error_code":"GAM-401","timestamp":1}"#,
            Some("GAM-401"),
            Some("Invalid client"),
            ServerErrorKind::Rejected,
        ),
        (
            r#"{"success":false,"message":"denied"}"#,
            None,
            Some("denied"),
            ServerErrorKind::Rejected,
        ),
        (
            r#"{"error":"temporarily_unavailable"}"#,
            Some("temporarily_unavailable"),
            None,
            ServerErrorKind::Unavailable,
        ),
        (
            r#"{"error_message":"Something broke"}"#,
            None,
            Some("Something broke"),
            ServerErrorKind::Rejected,
        ),
        (
            r#"{"violations":[{"field":"x","message":"must not be blank"}]}"#,
            None,
            Some("x: must not be blank"),
            ServerErrorKind::Rejected,
        ),
    ];
    for step in ALL {
        for (body, code, message, kind) in cases {
            let s = server(step, &json(200, body));
            assert_eq!(
                (s.status, s.code.as_deref(), s.message.as_deref()),
                (StatusCode::OK, code, message),
                "{step:?} {body}"
            );
            if !step.is_astana() {
                assert_eq!(s.kind, kind, "{step:?} {body}");
            }
        }
    }
    // An empty `error` is no marker.
    for step in OAUTH {
        token(
            step,
            &json(200, oauth_with(r#""error":"","error_description":null"#)),
        );
    }
}

// ------------------------------------------------------------ empty error fields

/// Error fields that say nothing (`null`, `false`, `""`, `[]`) do not make a
/// token answer a refusal: some servers send every field of their envelope.
#[test]
fn empty_error_fields_do_not_refuse_a_token() {
    for step in OAUTH {
        for empty in ["null", "false", r#""""#, r#""  ""#, "[]"] {
            let body = oauth_with(&format!(
                r#""expires_in":3600,"error":{empty},"error_code":{empty},"error_message":{empty},"violations":{empty}"#
            ));
            token(step, &json(200, body));
        }
    }
}

/// Each failure marker alone turns a 2xx answer that carries a token into a
/// refusal: none needs another beside it.
#[test]
fn each_failure_marker_alone_refuses_a_token() {
    let markers = [
        r#""error":"temporarily_unavailable""#,
        r#""error_message":"Неверный код""#,
        r#""error_code":"E-1""#,
        r#""globalErrors":["bad omsId"]"#,
        r#""fieldErrors":[{"message":"omsId is required"}]"#,
        r#""violations":[{"message":"bad"}]"#,
        r#""success":false"#,
        r#""statusCode":500"#,
        r#""status":401"#,
    ];
    for step in OAUTH {
        for marker in markers {
            let body = oauth_with(&format!(r#""expires_in":3600,{marker}"#));
            let s = server(step, &json(200, body));
            assert_eq!(s.status, StatusCode::OK, "{step:?} {marker}");
        }
    }
}

/// Tokens with DEL anywhere, or twice, are refused; spaces and escaped
/// letters are not control characters.
#[test]
fn header_safety_counts_every_del_and_only_control_characters() {
    for step in OAUTH {
        for bad in ["a\u{7f}b\u{7f}c", "\u{7f}\u{7f}", "ab\u{7f}"] {
            let body = format!(
                r#"{{"access_token":{},"expires_in":3600}}"#,
                serde_json::to_string(bad).unwrap()
            );
            assert!(
                matches!(error(step, &json(200, body)), Error::Protocol(_)),
                "{step:?} {bad:?}"
            );
        }
        // Escaped (so copied, fully scanned) with a space: accepted.
        let body = r#"{"access_token":"to ken\u00e9","expires_in":3600}"#;
        assert!(
            matches!(feed(step, &json(200, body)), Outcome::Token(_)),
            "{step:?}"
        );
    }
}

//! The token answer's fields: expires_in, access_token (and what a header cannot carry), token_type.

use super::*;

// ------------------------------------------------------------ expires_in

#[test]
fn expires_in_values() {
    let never = Some(Timestamp::MAX);
    for step in OAUTH {
        let sent = step.sent_at();
        let after = |s: u64| Some(sent.saturating_add(Duration::from_secs(s)));
        // No lifetime stated: none known, or the merchant token's default hour.
        let unstated = if step == MonPayMerchant { after(3600) } else { None };
        let cases: [(&str, Option<Timestamp>); 14] = [
            ("18446744073709551615", never),                    // u64::MAX
            ("18446744073709551616", never),                    // 2^64
            ("340282366920938463463374607431768211456", never), // 2^128
            ("1e30", never),
            ("\"18446744073709551616\"", never),
            ("\"3600\"", after(3600)),
            ("\" 3600 \"", after(3600)),
            ("3600.9", after(3600)),
            ("3600", after(3600)),
            ("\"3600.5\"", after(3600)),
            ("1", after(1)),
            ("null", unstated),
            // Zero: already expired (RFC 6749), but MonPay means "none stated".
            ("0", if step.is_monpay() { unstated } else { after(0) }),
            ("1e2", after(100)),
        ];
        for (value, want) in cases {
            let t = token(step, &json(200, oauth_with(&format!(r#""expires_in":{value}"#))));
            assert_eq!(t.expires_at(), want, "{step:?} expires_in {value}");
        }
        let t = token(step, &json(200, oauth_with("\"token_type\":\"Bearer\"")));
        assert_eq!(t.expires_at(), unstated, "{step:?} without expires_in");
    }
}

#[test]
fn expires_in_values_that_are_refused() {
    for step in OAUTH {
        for value in [
            "-5",
            "-0.5",
            "\"abc\"",
            "\"1e400\"",
            "\"-5\"",
            "true",
            "{}",
            "[3600]",
            "\"\"",
        ] {
            let p = protocol(step, &json(200, oauth_with(&format!(r#""expires_in":{value}"#))));
            assert_eq!(
                p,
                ProtocolError::Malformed {
                    status: StatusCode::OK,
                    field: "expires_in".to_owned(),
                    expected: "a non-negative number or numeric string"
                },
                "{step:?} expires_in {value}"
            );
            assert_eq!(
                p.to_string(),
                "HTTP 200: field `expires_in`: expected a non-negative number or numeric string"
            );
        }
    }
}

#[test]
fn expires_in_beyond_f64_is_refused_without_panicking() {
    // 1e400 is valid JSON grammar but no f64 holds it: serde_json refuses
    // the whole document.
    for step in OAUTH {
        let p = protocol(step, &json(200, oauth_with(r#""expires_in":1e400"#)));
        assert_eq!(
            p,
            ProtocolError::NotJson {
                status: StatusCode::OK,
                content_type: Some("application/json".to_owned())
            },
            "{step:?}"
        );
    }
}

#[test]
fn refresh_expires_in_values() {
    let t = token(
        ItcPassword,
        &json(
            200,
            oauth_with(
                r#""expires_in":300,"refresh_token":"rr-1","refresh_expires_in":18446744073709551616"#,
            ),
        ),
    );
    assert_eq!(t.refresh_expires_at(), Some(Timestamp::MAX));
    assert_eq!(t.refresh_token().unwrap().expose_secret(), "rr-1");
    // Keycloak's 0: an offline token that does not expire.
    let t = token(
        ItcPassword,
        &json(
            200,
            oauth_with(r#""expires_in":300,"refresh_token":"rr-1","refresh_expires_in":0"#),
        ),
    );
    assert_eq!(t.refresh_expires_at(), None);
    for step in [ItcPassword, ItcRefresh] {
        let p = protocol(
            step,
            &json(
                200,
                oauth_with(r#""expires_in":300,"refresh_token":"rr-1","refresh_expires_in":-5"#),
            ),
        );
        assert_eq!(
            p,
            ProtocolError::Malformed {
                status: StatusCode::OK,
                field: "refresh_expires_in".to_owned(),
                expected: "a non-negative number or numeric string"
            }
        );
        let p = protocol(step, &json(200, oauth_with(r#""refresh_token":42"#)));
        assert_eq!(
            p,
            ProtocolError::Malformed {
                status: StatusCode::OK,
                field: "refresh_token".to_owned(),
                expected: "a string"
            }
        );
    }
}

// ------------------------------------------------------------ access_token, token_type

#[test]
fn access_token_of_the_wrong_type_or_empty() {
    for step in OAUTH {
        for body in [
            r#"{"access_token":12345,"expires_in":60}"#,
            r#"{"access_token":{"value":"x"},"expires_in":60}"#,
            r#"{"access_token":["x"],"expires_in":60}"#,
            r#"{"access_token":true}"#,
        ] {
            assert_eq!(
                protocol(step, &json(200, body)),
                ProtocolError::Malformed {
                    status: StatusCode::OK,
                    field: "access_token".to_owned(),
                    expected: "a string"
                },
                "{step:?} {body}"
            );
        }
        for body in [
            r#"{"access_token":null,"expires_in":60}"#,
            r#"{"access_token":"","expires_in":60}"#,
            r#"{"expires_in":60,"token_type":"Bearer"}"#,
            r#"{}"#,
        ] {
            let p = protocol(step, &json(200, body));
            assert_eq!(
                p,
                ProtocolError::MissingField {
                    status: StatusCode::OK,
                    field: "access_token"
                },
                "{step:?} {body}"
            );
            assert_eq!(
                p.to_string(),
                "HTTP 200: required field `access_token` is missing"
            );
        }
        // A missing token next to error words is the server's refusal.
        let s = server(step, &json(200, r#"{"code":"E42","message":"quota"}"#));
        assert_eq!(
            (s.code.as_deref(), s.message.as_deref()),
            (Some("E42"), Some("quota"))
        );
    }
}

#[test]
fn astana_token_of_the_wrong_shape() {
    for step in [AstanaPassword, AstanaCert] {
        // Absent. Astana puts `message` on every answer, success included: with
        // an explicit success `statusCode` it is no refusal.
        for body in [
            r#"{"statusCode":200,"message":"Access token created"}"#.to_owned(),
            r#"{"statusCode":200,"message":"Access token created","data":null}"#.to_owned(),
            r#"{"statusCode":200,"message":"Access token created","data":{}}"#.to_owned(),
            r#"{"statusCode":"200","message":"Access token created","data":{"token":null}}"#.to_owned(),
            format!(
                r#"{{"statusCode":200,"message":"Access token created","data":{{"access_token":"{TOKEN}"}}}}"#
            ),
            format!(r#"{{"statusCode":200,"access_token":"{TOKEN}"}}"#),
            r#"{"data":{}}"#.to_owned(),
        ] {
            let p = protocol(step, &json(200, &body));
            assert_eq!(
                p,
                ProtocolError::MissingField {
                    status: StatusCode::OK,
                    field: "data.token"
                },
                "{step:?} {body}"
            );
            assert_eq!(p.to_string(), "HTTP 200: required field `data.token` is missing");
        }
        // No token, no success status, only words: the server's refusal.
        let s = server(step, &json(200, r#"{"message":"Forbidden resource"}"#));
        assert_eq!(
            (s.status, s.code.as_deref(), s.message.as_deref()),
            (StatusCode::OK, None, Some("Forbidden resource"))
        );
        // `data` of the wrong shape.
        for body in [
            format!(r#"{{"statusCode":200,"data":"{TOKEN}"}}"#),
            format!(r#"{{"statusCode":200,"data":["{TOKEN}"]}}"#),
            r#"{"statusCode":200,"data":42}"#.to_owned(),
            r#"{"statusCode":200,"data":{"token":""}}"#.to_owned(),
        ] {
            assert_eq!(
                protocol(step, &json(200, &body)),
                ProtocolError::Malformed {
                    status: StatusCode::OK,
                    field: "data".to_owned(),
                    expected: "an object with a string `token`"
                },
                "{step:?} {body}"
            );
        }
        // `data.token` present but not a string.
        for body in [
            r#"{"statusCode":200,"message":"Access token created","data":{"token":12345}}"#,
            r#"{"statusCode":200,"data":{"token":{"value":"x"}}}"#,
            r#"{"statusCode":200,"data":{"token":["x"]}}"#,
            r#"{"statusCode":200,"data":{"token":true}}"#,
        ] {
            let p = protocol(step, &json(200, body));
            assert_eq!(
                p,
                ProtocolError::Malformed {
                    status: StatusCode::OK,
                    field: "data.token".to_owned(),
                    expected: "a string"
                },
                "{step:?} {body}"
            );
            assert_eq!(p.to_string(), "HTTP 200: field `data.token`: expected a string");
        }
    }
}

#[test]
fn token_type_variants() {
    for step in OAUTH {
        for tt in [
            r#""token_type":"bearer""#,
            r#""token_type":"BEARER""#,
            r#""token_type":"Bearer""#,
            r#""x":1"#,
            r#""token_type":null"#,
        ] {
            token(step, &json(200, oauth_with(tt)));
        }
        let p = protocol(step, &json(200, oauth_with(r#""token_type":"mac""#)));
        assert_eq!(
            p,
            ProtocolError::Malformed {
                status: StatusCode::OK,
                field: "token_type".to_owned(),
                expected: "\"Bearer\" (in any case)"
            },
            "{step:?}"
        );
        assert_eq!(
            p.to_string(),
            "HTTP 200: field `token_type`: expected \"Bearer\" (in any case)"
        );
        assert_eq!(
            protocol(step, &json(200, oauth_with(r#""token_type":7"#))),
            ProtocolError::Malformed {
                status: StatusCode::OK,
                field: "token_type".to_owned(),
                expected: "a string"
            }
        );
    }
    // Astana reads `data.token`; a stray `token_type` does not matter.
    for step in [AstanaPassword, AstanaCert] {
        let body = format!(r#"{{"statusCode":200,"token_type":"mac","data":{{"token":"{TOKEN}"}}}}"#);
        let t = token(step, &json(200, body));
        assert_eq!(t.expires_at(), None);
    }
}

// ------------------------------------------------------------ tokens a header cannot carry

/// Found by the `authorized_ops` fuzz target: a token with a line break was
/// accepted, and attaching it to an API request then failed as a usage
/// error. A token goes back in a header, so control characters make the token
/// response malformed, naming the field, never echoing the token.
#[test]
fn a_token_with_control_characters_is_malformed() {
    for step in ALL {
        for bad in [
            "Zq9\nXw",
            "Zq9\rXw",
            "Zq9\u{0}Xw",
            "Zq9\u{7f}Xw",
            "Zq9\tXw",
            "Zq9\u{85}Xw",
            " Zq9Xw",
            "Zq9Xw ",
        ] {
            let escaped = serde_json::to_string(bad).unwrap();
            let body = if step.is_astana() {
                format!(r#"{{"statusCode":200,"data":{{"token":{escaped}}}}}"#)
            } else {
                format!(r#"{{"access_token":{escaped},"expires_in":3600}}"#)
            };
            let p = protocol(step, &json(200, body));
            let field = if step.is_astana() {
                "data.token"
            } else {
                "access_token"
            };
            assert!(
                matches!(&p, ProtocolError::Malformed { field: f, .. } if f == field),
                "{step:?} {bad:?}: {p:?}"
            );
            assert!(
                !p.to_string().contains("Zq9") && !format!("{p:?}").contains("Zq9"),
                "{p}"
            );
        }
        // An inner space and non-ASCII letters reach the server as they are: accepted.
        let fine = if step.is_astana() {
            r#"{"statusCode":200,"data":{"token":"tok en-Ж"}}"#.to_owned()
        } else {
            r#"{"access_token":"tok en-Ж","expires_in":3600}"#.to_owned()
        };
        assert!(
            matches!(feed(step, &json(200, fine)), Outcome::Token(_)),
            "{step:?}"
        );
    }
}

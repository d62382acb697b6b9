//! Answers that are not JSON, and 200s with fields missing or mistyped.

use super::*;

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

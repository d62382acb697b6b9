//! The good path at every step, as a control, and the §2.D error shapes fed to every step.

use super::*;

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
            GisMtSignIn | TrueApiSignIn => Act::Done(TOKEN.to_owned(), Some(at(36_000))),
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

/// Some SUZ stands name the token `uuidToken` (field practice): at every
/// token step it is read as the token when alone, or when `token` is null
/// or says the same; two different tokens are refused as malformed, and a
/// refusal that echoes a `uuidToken` never shows it.
#[test]
fn uuid_token_is_the_token_unless_it_disagrees() {
    let other = "OTHER-TOKEN-51c2";
    for step in TOKEN_STEPS {
        let with = |fields: &str| {
            let extra = if matches!(step, MdlpTokenSigned | MdlpTokenPassword) {
                r#","life_time":30"#
            } else {
                ""
            };
            json(200, format!("{{{fields}{extra}}}"))
        };
        let want = feed(step, &json(200, step.ok_body())).unwrap();
        for same in [
            format!(r#""uuidToken":"{TOKEN}""#),
            format!(r#""token":"{TOKEN}","uuidToken":"{TOKEN}""#),
            format!(r#""token":null,"uuidToken":"{TOKEN}""#),
            format!(r#""uuidToken":null,"token":"{TOKEN}""#),
        ] {
            assert_eq!(feed(step, &with(&same)).unwrap(), want, "{step:?}: {same}");
        }
        for differ in [
            format!(r#""token":"{TOKEN}","uuidToken":"{other}""#),
            format!(r#""uuidToken":"{other}","token":"{TOKEN}""#),
        ] {
            let err = error(step, &with(&differ));
            let shown = format!("{err} {err:?}");
            assert!(
                matches!(&err, Error::Protocol(ProtocolError::Malformed { field, .. }) if field == "uuidToken"),
                "{step:?}: {differ}: {err:?}"
            );
            assert!(!shown.contains(other), "{step:?}: shows {other}: {shown}");
        }
        // Not a token fit for a header: refused like a bad `token`.
        let err = error(step, &with(r#""uuidToken":"a\r\nb""#));
        assert!(
            matches!(err, Error::Protocol(ProtocolError::Malformed { .. })),
            "{step:?}: {err:?}"
        );
        // A refusal echoing a uuidToken never shows it.
        let refused = json(
            401,
            format!(r#"{{"uuidToken":"{other}","error":"nope {other}"}}"#),
        );
        let err = error(step, &refused);
        assert!(!format!("{err} {err:?}").contains(other), "{step:?}: {err:?}");
    }
}

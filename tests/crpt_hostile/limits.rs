//! Rate limits, oversize bodies, long messages, redirects, and refusals echoing the request's secrets.

use super::*;

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

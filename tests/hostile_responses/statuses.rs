//! Statuses: redirects, MonPay's table, Astana's messages, Retry-After and retryability.

use super::*;

// ------------------------------------------------------------ redirects

#[test]
fn redirects_are_refused_and_the_location_query_is_dropped() {
    for step in ALL {
        for code in [301u16, 302, 303, 307, 308] {
            let r = resp(code, step.ok_body()).header(
                "location",
                format!("https://evil.example/steal?code={MONPAY_CODE}&token={TOKEN}#frag"),
            );
            let p = protocol(step, &r);
            assert_eq!(
                p,
                ProtocolError::Redirect {
                    status: status(code),
                    location: Some("https://evil.example/steal".to_owned())
                },
                "{step:?} {code}"
            );
            assert_eq!(
                p.to_string(),
                format!(
                    "HTTP {code}: redirect to https://evil.example/steal refused \
                     (transports must not follow redirects)"
                )
            );
        }
        let p = protocol(step, &resp(302, "").header("location", "/login#state=x"));
        assert_eq!(
            p,
            ProtocolError::Redirect {
                status: StatusCode::FOUND,
                location: Some("/login".to_owned())
            }
        );
        let p = protocol(step, &resp(307, ""));
        assert_eq!(
            p,
            ProtocolError::Redirect {
                status: StatusCode::TEMPORARY_REDIRECT,
                location: None
            }
        );
        assert!(p.to_string().contains("redirect to nowhere"));
    }
    // The header name is case-insensitive; `LOCATION` is the same header.
    let r = resp(301, "").header(LOCATION.as_str(), "https://a.example/x?y");
    assert_eq!(
        protocol(Gam, &r),
        ProtocolError::Redirect {
            status: StatusCode::MOVED_PERMANENTLY,
            location: Some("https://a.example/x".to_owned())
        }
    );
}

// ------------------------------------------------------------ MonPay's table

#[test]
fn monpay_status_table_without_an_error_body() {
    let table = [
        (400u16, "invalid_request", ServerErrorKind::InvalidRequest, false),
        (401, "unauthorized_client", ServerErrorKind::InvalidClient, false),
        (403, "invalid_grant", ServerErrorKind::InvalidGrant, false),
        (
            415,
            "unsupported_grant_type",
            ServerErrorKind::UnsupportedGrantType,
            false,
        ),
        (505, "server_error", ServerErrorKind::Unavailable, true),
    ];
    for (code, name, kind, retryable) in table {
        for r in [
            resp(code, ""),
            resp(code, "<html><body>Error</body></html>").header("content-type", "text/html"),
            resp(code, "not json at all"),
            json(code, "{}"),
            json(code, r#"{"message":"see docs"}"#),
        ] {
            // The code exchange and the merchant token share the endpoint.
            for step in [MonPay, MonPayMerchant] {
                let err = error(step, &r);
                assert_eq!(err.is_retryable(), retryable, "{code}");
                let s = err.as_server().unwrap();
                assert_eq!(
                    (s.status.as_u16(), s.kind, s.code.as_deref()),
                    (code, kind, Some(name)),
                    "{step:?} {code} {r:?}"
                );
                assert!(s.to_string().starts_with(&format!("HTTP {code} {name}")), "{s}");
            }
        }
    }
    // The body's own code wins over the table.
    let s = server(
        MonPay,
        &json(
            403,
            r#"{"error":"invalid_request","error_description":"no code"}"#,
        ),
    );
    assert_eq!(
        (s.kind, s.code.as_deref()),
        (ServerErrorKind::InvalidRequest, Some("invalid_request"))
    );
    // Statuses outside the table keep the generic reading.
    let s = server(MonPay, &resp(500, ""));
    assert_eq!((s.kind, s.code.as_deref()), (ServerErrorKind::Unavailable, None));
    let s = server(MonPay, &resp(404, ""));
    assert_eq!((s.kind, s.code.as_deref()), (ServerErrorKind::NotFound, None));
    // The table is MonPay's alone.
    let s = server(Gam, &resp(415, ""));
    assert_eq!((s.kind, s.code.as_deref()), (ServerErrorKind::Rejected, None));
}

// ------------------------------------------------------------ Astana's messages

#[test]
fn astana_documented_messages() {
    let table = [
        (
            422u16,
            "Incorrect credentials",
            LoginError::IncorrectCredentials,
            ServerErrorKind::InvalidGrant,
        ),
        (
            400,
            "User with given credentials not found",
            LoginError::UserNotFound,
            ServerErrorKind::InvalidGrant,
        ),
        (
            400,
            "Endpoint not found",
            LoginError::CaEndpointNotFound,
            ServerErrorKind::Rejected,
        ),
        (
            400,
            "Error. Try later",
            LoginError::CaFailed,
            ServerErrorKind::Unavailable,
        ),
        (
            400,
            "Unknown error. Try later",
            LoginError::CaUnknownError,
            ServerErrorKind::Unavailable,
        ),
        (
            400,
            "Incorrect response body. Try again.",
            LoginError::CaIncorrectResponse,
            ServerErrorKind::Unavailable,
        ),
        (
            400,
            "Certificate is outdated. Please get fresh one.",
            LoginError::CertificateOutdated,
            ServerErrorKind::InvalidGrant,
        ),
        (
            500,
            "Error on server. try later",
            LoginError::ServerError,
            ServerErrorKind::Unavailable,
        ),
    ];
    for step in [AstanaPassword, AstanaCert] {
        for (code, message, login_error, kind) in table {
            let body = format!(r#"{{"statusCode":{code},"message":"{message}"}}"#);
            // At the documented status, and inside a 200.
            for http_status in [code, 200] {
                let err = error(step, &json(http_status, &body));
                let s = err.as_server().unwrap();
                assert_eq!(s.status.as_u16(), http_status);
                assert_eq!(LoginError::of(s), login_error, "{message}");
                assert_eq!(s.kind, kind, "{message}");
                assert_eq!(s.code, None);
                assert_eq!(s.message.as_deref(), Some(message));
                assert_eq!(err.is_retryable(), kind == ServerErrorKind::Unavailable);
                assert_eq!(s.to_string(), format!("HTTP {http_status}: {message}"));
            }
        }
        // Compared without case, surrounding spaces or a final period.
        let s = server(
            step,
            &json(422, r#"{"statusCode":422,"message":"  incorrect CREDENTIALS. "}"#),
        );
        assert_eq!(LoginError::of(&s), LoginError::IncorrectCredentials);
        // Anything else keeps the status's reading.
        let s = server(
            step,
            &json(400, r#"{"statusCode":400,"message":"Something new"}"#),
        );
        assert_eq!(
            (LoginError::of(&s), s.kind),
            (LoginError::Other, ServerErrorKind::Rejected)
        );
        let s = server(step, &resp(400, ""));
        assert_eq!(
            (LoginError::of(&s), s.kind),
            (LoginError::Other, ServerErrorKind::Rejected)
        );
    }
}

// ------------------------------------------------------------ Retry-After, retryability

#[test]
fn retry_after_is_kept() {
    let date = "Tue, 14 Nov 2023 22:23:20 GMT"; // T0 + 600 s
    for step in ALL {
        let s = server(step, &resp(429, "").header(RETRY_AFTER.as_str(), "120"));
        assert_eq!(s.kind, ServerErrorKind::RateLimited);
        assert_eq!(s.retry_after, Some(RetryAfter::Delay(Duration::from_secs(120))));
        assert_eq!(s.to_string(), "HTTP 429 (rate limited) (retry after 120 s)");
        let err = Error::Server(s);
        assert!(err.is_retryable());
        assert_eq!(
            err.retry_after(),
            Some(RetryAfter::Delay(Duration::from_secs(120)))
        );

        let s = server(
            step,
            &json(503, r#"{"error":"temporarily_unavailable"}"#).header("retry-after", date),
        );
        assert_eq!(s.retry_after, Some(RetryAfter::At(at(600))));
        assert_eq!(s.kind, ServerErrorKind::Unavailable);
        assert!(s.is_retryable());
        assert_eq!(
            s.to_string(),
            format!(
                "HTTP 503 temporarily_unavailable (retry after unix ms {})",
                (T0_SECS + 600) * 1000
            )
        );

        // Unparseable values are dropped, the refusal is kept.
        let s = server(step, &resp(429, "").header("retry-after", "soon"));
        assert_eq!((s.kind, s.retry_after), (ServerErrorKind::RateLimited, None));
    }
}

#[test]
fn a_session_waits_out_retry_after() {
    for step in [ItcPassword, ItcRefresh] {
        let mut session = itc_session(step);
        let now = step.sent_at();
        let err = session
            .handle_response(now, resp(429, "").header("retry-after", "120").build())
            .unwrap_err();
        assert_eq!(
            err.retry_after(),
            Some(RetryAfter::Delay(Duration::from_secs(120)))
        );
        assert_eq!(
            session.next_deadline(),
            Some(now.saturating_add(Duration::from_secs(120)))
        );
        let before = now.saturating_add(Duration::from_secs(119));
        assert!(!matches!(session.poll(before).unwrap(), SessionAction::Send(_)));
    }
}

#[test]
fn retryability() {
    let cases = [
        (resp(429, ""), true),
        (resp(500, ""), true),
        (resp(503, "<html/>"), true),
        (resp(408, ""), true),
        (json(200, r#"{"error":"server_error"}"#), true),
        (json(400, r#"{"error":"slow_down"}"#), true),
        (resp(400, ""), false),
        (resp(401, ""), false),
        (resp(403, ""), false),
        (resp(404, ""), false),
        (json(400, r#"{"error":"invalid_client"}"#), false),
        (json(200, r#"{"error":"invalid_scope"}"#), false),
        (resp(200, "<html/>"), false),
        (resp(302, ""), false),
    ];
    for step in ONE_SHOT {
        for (r, retryable) in &cases {
            let err = error(step, r);
            // Astana reads its own messages only; none here.
            assert_eq!(err.is_retryable(), *retryable, "{step:?} {r:?}");
        }
    }
    let usage = Error::Usage(UsageError::Finished);
    assert!(!usage.is_retryable());
    assert_eq!(usage.status(), None);
}

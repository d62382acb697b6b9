//! 403 (never retried) and the other statuses, redirects included.

use super::*;

#[test]
fn a_403_is_forbidden_and_never_retried() {
    let made = Cell::new(0u32);
    let mut source = Reissue::new(|| counted_hand(&made));
    {
        let mut call = bearer_call(&mut source);
        let _ = sign(call.start(T0));
        let _ = send(call.resume(T0, hand_signature(1)));
        let err = failed(call.resume(
            T0,
            json_answer(
                403,
                serde_json::json!({"error": "invalid_grant", "error_description": "No right to this service"}),
            ),
        ));
        let refusal = err.as_server().unwrap();
        assert_eq!(
            (refusal.status.as_u16(), refusal.kind),
            (403, ServerErrorKind::Forbidden)
        );
        assert_eq!(refusal.code.as_deref(), Some("invalid_grant"));
        assert_eq!(refusal.message.as_deref(), Some("No right to this service"));
        assert!(!call.retried());
        assert_eq!(
            failed(call.resume(T0, hand_signature(2))),
            Error::Usage(UsageError::Finished)
        );
    }
    // The token was not dropped.
    assert_eq!(made.get(), 1);
    assert!(source.token().unwrap().is_valid(T0));

    // ITC: the account has no right to this service.
    let mut call = itc::consumer(&itc::Config::staging(), "AA12345678", fixed("t")).unwrap();
    let _ = send(call.start(T0));
    let err = failed(call.resume(T0, answer(403, r#"{"msg":"Хандах эрхгүй"}"#)));
    let refusal = err.as_server().unwrap();
    assert_eq!(refusal.kind, ServerErrorKind::Forbidden);
    assert_eq!(refusal.message.as_deref(), Some("Хандах эрхгүй"));
    // A raw 403 with no body: the kind alone.
    let mut call = bearer_call(fixed("t"));
    let _ = send(call.start(T0));
    let err = failed(call.resume(T0, answer(403, "")));
    assert_eq!(err.to_string(), "HTTP 403 (forbidden)");
}

// Other statuses.

#[test]
fn other_statuses_pass_through_the_raw_call_untouched() {
    let cases: [(u16, &[u8], &str); 5] = [
        (
            500,
            b"<html><h1>500 Internal Server Error</h1></html>",
            "text/html",
        ),
        (404, br#"{"error":"not_found"}"#, "application/json"),
        (
            200,
            br#"{"error":"looks like an error but is the caller's"}"#,
            "application/json",
        ),
        (429, b"slow down", "text/plain"),
        (202, b"", "text/plain"),
    ];
    for (status, body, content_type) in cases {
        let mut call = bearer_call(fixed("t"));
        let _ = send(call.start(T0));
        let response = resp(status, body)
            .header("content-type", content_type)
            .header("x-served-by", "node-3")
            .build();
        let got = done(call.resume(T0, Input::Response(response)));
        assert_eq!(got.status(), status);
        assert_eq!(got.body().as_slice(), body);
        assert_eq!(got.headers()["content-type"], content_type);
        assert_eq!(got.headers()["x-served-by"], "node-3");
        assert!(!call.retried());
    }
    // The raw call does not bound what it hands back.
    let big = vec![b'z'; tokendance::MAX_BODY * 2];
    let mut call = bearer_call(fixed("t"));
    let _ = send(call.start(T0));
    assert_eq!(done(call.resume(T0, answer(200, &big))).body().len(), big.len());
}

#[test]
fn a_redirect_is_refused_without_its_query() {
    for status in [301, 302, 303, 307, 308] {
        let mut call = bearer_call(fixed("t"));
        let _ = send(call.start(T0));
        let err = failed(
            call.resume(
                T0,
                Input::Response(
                    resp(status, "")
                        .header("location", "https://evil.example/steal?token=LEAKED#frag")
                        .build(),
                ),
            ),
        );
        assert_eq!(
            err,
            Error::Protocol(ProtocolError::Redirect {
                status: http::StatusCode::from_u16(status).unwrap(),
                location: Some("https://evil.example/steal".into()),
            })
        );
        assert!(!err.to_string().contains("LEAKED"));
        assert_eq!(
            failed(call.resume(T0, answer(200, ""))),
            Error::Usage(UsageError::Finished)
        );
    }
    // Typed calls too.
    let mut call = itc::consumer(&itc::Config::staging(), "AA12345678", fixed("t")).unwrap();
    let _ = send(call.start(T0));
    let err = failed(call.resume(T0, answer(302, "")));
    assert!(
        matches!(err, Error::Protocol(ProtocolError::Redirect { .. })),
        "{err:?}"
    );
    let mut call =
        gam::get::<_, serde_json::Value>(&gam::Config::staging(), "S", &["api"], &[], fixed("t")).unwrap();
    let _ = send(call.start(T0));
    let err = failed(call.resume(T0, answer(307, "")));
    assert!(
        matches!(err, Error::Protocol(ProtocolError::Redirect { .. })),
        "{err:?}"
    );
}

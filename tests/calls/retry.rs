//! The one retry after a 401 (or GAM's empty 403), with every kind of token source.

use super::*;

// 401 → the source drops the token → a new one → sent once more.

#[test]
fn reissue_over_a_hand_written_flow_retries_once_with_the_new_token() {
    let made = Cell::new(0u32);
    let mut source = Reissue::new(|| counted_hand(&made));
    let request = http::Request::put("https://api.example/v2/items/7?lang=mn")
        .header("content-type", "text/plain")
        .header("if-match", "\"v3\"")
        .body(b"new body bytes \x00\xff".to_vec())
        .unwrap();
    {
        let mut call = Authorized::new(&mut source, request, Scheme::Bearer).unwrap();
        let job = sign(call.start(T0));
        assert_eq!(job.bytes(), b"challenge-1");
        let first = send(call.resume(T0, hand_signature(1)));
        assert_request(
            &first,
            Method::PUT,
            "https://api.example/v2/items/7?lang=mn",
            &[
                h(("content-type", "text/plain", false)),
                h(("if-match", "\"v3\"", false)),
                bearer("hand-1"),
            ],
            b"new body bytes \x00\xff",
        );
        assert!(!call.retried());
        // 401: the token is dropped, a new flow runs, the request goes again.
        let job = sign(call.resume(at(1), answer(401, "")));
        assert_eq!(job.bytes(), b"challenge-2");
        assert!(call.token_refused() && !call.retried());
        let retry = send(call.resume(at(1), hand_signature(2)));
        assert_same_but_credential(&first, &retry, "authorization");
        assert_eq!(header(&retry, "authorization"), "Bearer hand-2");
        let response = done(call.resume(at(1), answer(204, "")));
        assert_eq!(response.status(), 204);
        assert_eq!(
            failed(call.resume(at(1), answer(200, ""))),
            Error::Usage(UsageError::Finished)
        );
    }
    assert_eq!(made.get(), 2);
    assert_eq!(source.token().unwrap().access_token().expose_secret(), "hand-2");

    // The next call reuses the token without running a flow...
    let request = http::Request::get("https://api.example/v2/items")
        .body(Vec::new())
        .unwrap();
    let mut call = Authorized::new(&mut source, request, Scheme::Bearer).unwrap();
    assert_eq!(header(&send(call.start(at(2))), "authorization"), "Bearer hand-2");
    drop(call);
    assert_eq!(made.get(), 2);
    // ...until 30 s before its expiry (obtained at +1 s, lives one hour).
    let request = http::Request::get("https://api.example/v2/items")
        .body(Vec::new())
        .unwrap();
    let mut call = Authorized::new(&mut source, request, Scheme::Bearer).unwrap();
    let job = sign(call.start(at(1 + 3600 - 30)));
    assert_eq!(job.bytes(), b"challenge-3");
}

#[test]
fn reissue_over_gam_client_credentials_retries_once() {
    let config = gam::Config::staging();
    let made = Cell::new(0u32);
    let mut source = Reissue::new(|| {
        made.set(made.get() + 1);
        gam::client_credentials(
            &config,
            "partner-app",
            ClientSecret::new("s3cret"),
            "orders:write",
        )
    });
    let order = NewOrder {
        customer_code: "C-1",
        amount: 3,
    };
    {
        let mut call =
            gam::post::<_, Order>(&config, "SHOP01", &["api", "v1", "orders"], &order, &mut source).unwrap();
        let token_request = send(call.start(T0));
        assert_request(
            &token_request,
            Method::POST,
            "https://iam-staging.gam.vn/oauth2/v3/token",
            &[
                h(ACCEPT),
                h(("content-type", "application/x-www-form-urlencoded", false)),
            ],
            b"grant_type=client_credentials&client_id=partner-app&client_secret=s3cret&scope=orders%3Awrite",
        );
        let first = send(call.resume(T0, gam_token("gam-1")));
        assert_request(
            &first,
            Method::POST,
            "https://gateway-staging.gam.vn/oms/api/v1/orders",
            &[
                h(ACCEPT),
                h(JSON_CT),
                bearer("gam-1"),
                h(("x-client-source", "SHOP01", false)),
            ],
            br#"{"customerCode":"C-1","amount":3}"#,
        );
        let again = send(call.resume(T0, answer(401, "")));
        assert_eq!(again.as_http().uri(), token_request.as_http().uri());
        assert_eq!(again.as_http().body(), token_request.as_http().body());
        let retry = send(call.resume(T0, gam_token("gam-2")));
        assert_same_but_credential(&first, &retry, "authorization");
        assert_eq!(header(&retry, "authorization"), "Bearer gam-2");
        let envelope = done(call.resume(
            T0,
            answer(
                200,
                r#"{"status":"200","message":"OK","timestamp":"2024-05-01T10:00:00Z","data":{"id":9,"customerCode":"C-1"}}"#,
            ),
        ));
        assert_eq!(
            envelope.data,
            Some(Order {
                id: 9,
                customer_code: "C-1".into()
            })
        );
    }
    assert_eq!(made.get(), 2);
}

/// GAM's empty 403 is also what an expired or revoked token gets: the token
/// is dropped and the request re-issued once; a second empty 403 ends the
/// call with "authentication failed", and nothing more is sent.
#[test]
fn gam_empty_403_renews_the_token_once() {
    let config = gam::Config::staging();
    let made = Cell::new(0u32);
    let mut source = Reissue::new(|| counted_gam(&config, &made));
    let empty_403 = || Input::Response(resp(403, "").header("content-length", "0").build());
    let ok = r#"{"status":"200","message":"OK","data":{"id":1}}"#;
    // Revoked early: renewed, re-sent, answered.
    {
        let mut call =
            gam::get::<_, serde_json::Value>(&config, "SHOP01", &["api", "v1", "orders"], &[], &mut source)
                .unwrap();
        let _ = send(call.start(T0));
        let first = send(call.resume(T0, gam_token("gam-1")));
        let _ = send(call.resume(T0, empty_403()));
        let retry = send(call.resume(T0, gam_token("gam-2")));
        assert_same_but_credential(&first, &retry, "authorization");
        assert_eq!(header(&retry, "authorization"), "Bearer gam-2");
        let envelope = done(call.resume(T0, answer(200, ok)));
        assert_eq!(envelope.status, "200");
        assert!(call.retried());
    }
    assert_eq!(made.get(), 2);
    // Refused again with the new token (a wrong partner code): Forbidden.
    {
        let mut call =
            gam::get::<_, serde_json::Value>(&config, "WRONG", &["api", "v1", "orders"], &[], &mut source)
                .unwrap();
        let _ = send(call.start(T0));
        let _ = send(call.resume(T0, empty_403()));
        let _ = send(call.resume(T0, gam_token("gam-3")));
        let err = failed(call.resume(T0, empty_403()));
        assert_eq!(err.to_string(), "HTTP 403: authentication failed");
        assert_eq!(err.as_server().map(|s| s.kind), Some(ServerErrorKind::Forbidden));
        assert!(matches!(
            call.resume(T0, empty_403()),
            Err(Error::Usage(UsageError::Finished))
        ));
    }
    assert_eq!(made.get(), 3);
    // A 403 with a body is never retried.
    {
        let mut call =
            gam::get::<_, serde_json::Value>(&config, "SHOP01", &["api", "v1", "orders"], &[], &mut source)
                .unwrap();
        let _ = send(call.start(T0));
        let err = failed(call.resume(
            T0,
            answer(403, r#"{"status":"403","message":"Partner suspended"}"#),
        ));
        assert_eq!(err.as_server().map(|s| s.kind), Some(ServerErrorKind::Forbidden));
        assert!(!call.retried());
    }
    assert_eq!(made.get(), 3);
}

#[test]
fn a_second_401_is_unauthorized_and_nothing_more_is_sent() {
    let config = gam::Config::staging();
    let made = Cell::new(0u32);
    let mut source = Reissue::new(|| counted_gam(&config, &made));
    let request = http::Request::get("https://gateway-staging.gam.vn/oms/api/v1/orders/9")
        .body(Vec::new())
        .unwrap();
    let mut call = Authorized::new(&mut source, request, Scheme::Bearer).unwrap();
    let _ = send(call.start(T0));
    let _ = send(call.resume(T0, gam_token("gam-1")));
    let _ = send(
        call.resume(
            T0,
            Input::Response(
                resp(401, "")
                    .header(
                        "www-authenticate",
                        r#"Bearer error="invalid_token", error_description="first""#,
                    )
                    .build(),
            ),
        ),
    );
    let _ = send(call.resume(T0, gam_token("gam-2")));
    let err = failed(call.resume(
        T0,
        Input::Response(
            resp(401, "")
                .header(
                    "www-authenticate",
                    r#"Bearer realm="oms", error="invalid_token", error_description="The access token expired""#,
                )
                .build(),
        ),
    ));
    let refusal = err.as_server().expect("a server refusal");
    assert_eq!(refusal.status, 401);
    assert_eq!(refusal.kind, ServerErrorKind::Unauthorized);
    assert_eq!(refusal.code.as_deref(), Some("invalid_token"));
    assert_eq!(refusal.message.as_deref(), Some("The access token expired"));
    assert!(!err.is_retryable());
    // No third request, ever.
    assert_eq!(
        failed(call.resume(T0, answer(200, ""))),
        Error::Usage(UsageError::Finished)
    );
    assert_eq!(
        failed(call.resume(T0, Input::Timeout)),
        Error::Usage(UsageError::Finished)
    );
    assert_eq!(failed(call.start(T0)), Error::Usage(UsageError::Finished));
    drop(call);
    assert_eq!(made.get(), 2);
}

#[test]
fn the_401_body_words_win_over_the_challenge() {
    let challenge = r#"Bearer error="invalid_token", error_description="from the header""#;
    let cases = [
        // (body, expected code, expected message)
        (
            r#"{"error":"token_expired","error_description":"from the body"}"#,
            Some("token_expired"),
            Some("from the body"),
        ),
        // A body message without a code: the code comes from the header.
        (
            r#"{"message":"from the body"}"#,
            Some("invalid_token"),
            Some("from the body"),
        ),
        ("", Some("invalid_token"), Some("from the header")),
        (
            "<html><body>401 Authorization Required</body></html>",
            Some("invalid_token"),
            Some("from the header"),
        ),
    ];
    for (body, code, message) in cases {
        let mut call = bearer_call(fixed("fixed-1"));
        let _ = send(call.start(T0));
        let err = failed(call.resume(
            T0,
            Input::Response(resp(401, body).header("www-authenticate", challenge).build()),
        ));
        let refusal = err.as_server().unwrap_or_else(|| panic!("{body}: {err:?}"));
        assert_eq!(refusal.kind, ServerErrorKind::Unauthorized, "{body}");
        assert_eq!(refusal.code.as_deref(), code, "{body}");
        assert_eq!(refusal.message.as_deref(), message, "{body}");
    }
    // No challenge and no body: the kind alone.
    let mut call = bearer_call(fixed("fixed-1"));
    let _ = send(call.start(T0));
    let err = failed(call.resume(T0, answer(401, "")));
    assert_eq!(err.to_string(), "HTTP 401 (unauthorized)");
}

#[test]
fn a_fixed_token_refused_with_401_returns_the_refusal() {
    let request = http::Request::get("https://wallet.monpay.mn/v2/api/user/info")
        .body(Vec::new())
        .unwrap();
    let mut token = fixed("mp-1");
    {
        let mut call = Authorized::new(&mut token, request, Scheme::Bearer).unwrap();
        let _ = send(call.start(T0));
        let err = failed(
            call.resume(
                at(5),
                Input::Response(
                    resp(
                        401,
                        r#"{"error":"invalid_token","error_description":"Token revoked"}"#,
                    )
                    .header("content-type", "application/json")
                    .build(),
                ),
            ),
        );
        let refusal = err
            .as_server()
            .unwrap_or_else(|| panic!("not TokenUnavailable: {err:?}"));
        assert_eq!(
            (refusal.status.as_u16(), refusal.kind),
            (401, ServerErrorKind::Unauthorized)
        );
        assert_eq!(refusal.code.as_deref(), Some("invalid_token"));
        assert_eq!(refusal.message.as_deref(), Some("Token revoked"));
        assert!(
            call.token_refused(),
            "the 401 was taken as a refusal of the token"
        );
        assert!(
            !call.retried(),
            "a fixed token cannot be renewed: nothing was re-sent"
        );
        assert_eq!(failed(call.start(T0)), Error::Usage(UsageError::Finished));
    }
    // The refused token is no longer handed out.
    assert!(!token.is_valid(at(5)));
    assert_eq!(
        token.poll_token(at(5)).map(|_| ()).unwrap_err(),
        Error::Usage(UsageError::TokenUnavailable)
    );
}

#[test]
fn an_expired_fixed_token_is_unavailable_without_sending() {
    let expired = TokenSet::new(AccessToken::new("mp-old"), T0, Some(at(60)));
    let request = http::Request::get("https://wallet.monpay.mn/v2/api/user/info")
        .body(Vec::new())
        .unwrap();
    let mut call = Authorized::new(expired, request, Scheme::Bearer).unwrap();
    assert_eq!(
        failed(call.start(at(60))),
        Error::Usage(UsageError::TokenUnavailable)
    );
    assert_eq!(failed(call.start(at(60))), Error::Usage(UsageError::Finished));
    // Still valid one millisecond earlier.
    let fresh = TokenSet::new(AccessToken::new("mp-old"), T0, Some(at(60)));
    let request = http::Request::get("https://wallet.monpay.mn/v2/api/user/info")
        .body(Vec::new())
        .unwrap();
    let mut call = Authorized::new(fresh, request, Scheme::Bearer).unwrap();
    let just_before = Timestamp::from_unix_millis(at(60).as_unix_millis() - 1);
    assert_eq!(
        header(&send(call.start(just_before)), "authorization"),
        "Bearer mp-old"
    );
}

#[test]
fn an_oversized_401_still_counts_as_401() {
    let big = format!("{{\"message\":\"{}\"}}", "x".repeat(tokendance::MAX_BODY + 10));
    let made = Cell::new(0u32);
    let mut call = bearer_call(Reissue::new(|| counted_hand(&made)));
    let _ = sign(call.start(T0));
    let _ = send(call.resume(T0, hand_signature(1)));
    let _ = sign(call.resume(T0, answer(401, &big)));
    let _ = send(call.resume(T0, hand_signature(2)));
    let err = failed(call.resume(T0, answer(401, &big)));
    let refusal = err.as_server().expect("still a 401 refusal");
    assert_eq!(refusal.kind, ServerErrorKind::Unauthorized);
    assert_eq!((refusal.code.as_ref(), refusal.message.as_ref()), (None, None));
}

#[test]
fn itc_session_grants_then_refreshes_after_a_401() {
    let mut session = itc::session(
        &itc::Config::staging(),
        "easy-register-test",
        Password::new("Test@123"),
    )
    .unwrap();
    {
        let mut call = itc::consumer(&itc::Config::staging(), "AA12345678", &mut session).unwrap();
        // No token yet: the password grant is the call's first request.
        let grant = send(call.start(T0));
        assert_eq!(grant.as_http().uri(), ITC_TOKEN_URL);
        assert_eq!(
            grant.as_http().body(),
            b"grant_type=password&client_id=vatps&username=easy-register-test&password=Test%40123"
        );
        let first = send(call.resume(T0, keycloak("kc-a1", "kc-r1")));
        assert_eq!(header(&first, "authorization"), "Bearer kc-a1");
        // The 401 comes back in the same second: the session keeps its one
        // second between token requests.
        assert_eq!(wait(call.resume(T0, answer(401, ""))), at(1));
        // A response while it waits is the wrong input, and changes nothing.
        let err = failed(call.resume(T0, answer(200, CONSUMER_BODY)));
        assert_eq!(
            err,
            Error::Usage(UsageError::UnexpectedInput {
                expected: Expect::Timeout,
                got: InputKind::Response
            })
        );
        let refresh = send(call.resume(at(1), Input::Timeout));
        assert_eq!(refresh.as_http().uri(), ITC_TOKEN_URL);
        assert_eq!(
            refresh.as_http().body(),
            b"grant_type=refresh_token&client_id=vatps&refresh_token=kc-r1"
        );
        let retry = send(call.resume(at(1), keycloak("kc-a2", "kc-r2")));
        assert_same_but_credential(&first, &retry, "authorization");
        assert_eq!(header(&retry, "authorization"), "Bearer kc-a2");
        let consumer = done(call.resume(at(1), answer(200, CONSUMER_BODY)));
        assert_eq!(consumer.unwrap().login_name, "12345678901");
    }
    assert_eq!(session.tokens().unwrap().access_token().expose_secret(), "kc-a2");
}

#[test]
fn itc_session_falls_back_to_the_password_grant_when_the_refresh_is_refused() {
    let mut session = itc_session_with_token("kc-a1", "kc-r1");
    let query = itc::ProfileQuery::CustomerNo("12345678901".into());
    let mut call = itc::get_profile(&itc::Config::staging(), &query, &mut session).unwrap();
    let first = send(call.start(at(10)));
    assert_eq!(header(&first, "authorization"), "Bearer kc-a1");
    let refresh = send(call.resume(at(10), answer(401, r#"{"error":"HTTP 401 Unauthorized"}"#)));
    assert!(refresh.as_http().body().starts_with(b"grant_type=refresh_token"));
    let grant = send(call.resume(
        at(10),
        json_answer(
            400,
            serde_json::json!({"error": "invalid_grant", "error_description": "Token is not active"}),
        ),
    ));
    assert!(grant.as_http().body().starts_with(b"grant_type=password"));
    let retry = send(call.resume(at(10), keycloak("kc-a3", "kc-r3")));
    assert_same_but_credential(&first, &retry, "authorization");
    assert_eq!(header(&retry, "authorization"), "Bearer kc-a3");
    let reply = done(call.resume(
        at(10),
        answer(
            200,
            r#"{"code":"success","status":200,"msg":"Амжилттай","loginName":"12345678901","email":"bat@example.mn"}"#,
        ),
    ));
    assert!(reply.is_success());
    assert_eq!(reply.email.as_deref(), Some("bat@example.mn"));
}

#[test]
fn itc_invalid_token_at_200_triggers_exactly_one_retry() {
    let mut session = itc_session_with_token("kc-a1", "kc-r1");
    let query = itc::ProfileQuery::Phone("99112233".into());
    let invalid = r#"{"code":"invalidToken","status":401,"msg":"Токен хүчингүй"}"#;
    {
        let mut call = itc::get_profile(&itc::Config::staging(), &query, &mut session).unwrap();
        let first = send(call.start(at(10)));
        let refresh = send(call.resume(at(10), answer(200, invalid)));
        assert!(refresh.as_http().body().starts_with(b"grant_type=refresh_token"));
        let retry = send(call.resume(at(10), keycloak("kc-a2", "kc-r2")));
        assert_same_but_credential(&first, &retry, "authorization");
        // The second invalidToken is the refusal, at HTTP 200.
        let err = failed(call.resume(at(10), answer(200, invalid)));
        let refusal = err.as_server().unwrap_or_else(|| panic!("{err:?}"));
        assert_eq!(refusal.status, 200);
        assert_eq!(refusal.kind, ServerErrorKind::Unauthorized);
        assert_eq!(refusal.code.as_deref(), Some("invalidToken"));
        assert_eq!(refusal.message.as_deref(), Some("Токен хүчингүй"));
        assert_eq!(
            failed(call.resume(at(10), Input::Timeout)),
            Error::Usage(UsageError::Finished)
        );
    }
    // Approve and consumer calls treat it the same way.
    let mut call = itc::approve_qr(&itc::Config::staging(), "12345678901", "qr", &mut session).unwrap();
    let _ = send(call.start(at(20)));
    let refresh = send(call.resume(at(20), answer(200, invalid)));
    assert!(refresh.as_http().body().starts_with(b"grant_type=refresh_token"));
    drop(call);
    let mut call = itc::consumer(&itc::Config::staging(), "AA12345678", fixed("t")).unwrap();
    let _ = send(call.start(T0));
    let err = failed(call.resume(T0, answer(200, r#"{"code":"invalidToken"}"#)));
    assert_eq!(
        err.as_server().map(|s| s.kind),
        Some(ServerErrorKind::Unauthorized)
    );
    // Only the exact code: other codes at 200 are answers, not refusals.
    for code in ["InvalidToken", "invalidtoken", "invalidToken ", "userNotFound"] {
        let mut call = itc::get_profile(&itc::Config::staging(), &query, fixed("t")).unwrap();
        let _ = send(call.start(T0));
        let reply = done(call.resume(T0, json_answer(200, serde_json::json!({"code": code}))));
        assert_eq!(reply.code.as_str(), code);
    }
}

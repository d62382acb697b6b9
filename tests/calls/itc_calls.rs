//! ITC: the exact requests, regNo as one path segment, the typed answers and a configured service.

use tokendance::Endpoint;

use super::*;

#[test]
fn itc_consumer_is_a_bearer_get() {
    let mut call = itc::consumer(&itc::Config::staging(), "AA12345678", fixed("eyJ.itc-1")).unwrap();
    let out = send(call.start(T0));
    assert_request(
        &out,
        Method::GET,
        &format!("{ITC_SERVICE}api/info/consumer/AA12345678"),
        &[h(ACCEPT), bearer("eyJ.itc-1")],
        b"",
    );
    let consumer = done(call.resume(T0, answer(200, CONSUMER_BODY))).expect("found");
    assert_eq!(consumer.reg_no, "AA12345678");
    assert_eq!(consumer.login_name, "12345678901");
    assert_eq!(consumer.given_name.as_deref(), Some("Бат"));
    assert_eq!(consumer.family_name.as_deref(), Some("Дорж"));
    assert!(!call.retried());

    // Production goes to the production service.
    let mut call = itc::consumer(&itc::Config::production(), "AA12345678", fixed("t")).unwrap();
    assert_eq!(
        send(call.start(T0)).as_http().uri(),
        "https://service.itc.gov.mn/api/easy-register/api/info/consumer/AA12345678"
    );
}

#[test]
fn itc_get_profile_posts_exact_json_bodies() {
    let cases: [(itc::ProfileQuery, &[u8]); 4] = [
        (
            itc::ProfileQuery::Phone("99112233".into()),
            br#"{"phoneNum":"99112233"}"#,
        ),
        (
            itc::ProfileQuery::CustomerNo("12345678901".into()),
            br#"{"customerNo":"12345678901"}"#,
        ),
        // JSON escaping, and UTF-8 written as it is.
        (
            itc::ProfileQuery::Phone("+976 \"99\"\\1".into()),
            br#"{"phoneNum":"+976 \"99\"\\1"}"#,
        ),
        (
            itc::ProfileQuery::CustomerNo("ЖБ12".into()),
            "{\"customerNo\":\"ЖБ12\"}".as_bytes(),
        ),
    ];
    for (query, body) in cases {
        let mut call = itc::get_profile(&itc::Config::staging(), &query, fixed("eyJ.p")).unwrap();
        let out = send(call.start(T0));
        assert_request(
            &out,
            Method::POST,
            &format!("{ITC_SERVICE}rest/v1/getProfile"),
            &[h(ACCEPT), h(JSON_CT), bearer("eyJ.p")],
            body,
        );
    }
    // Empty or blank values are refused before anything is sent.
    for query in [
        itc::ProfileQuery::Phone(String::new()),
        itc::ProfileQuery::CustomerNo("  ".into()),
    ] {
        let err = itc::get_profile(&itc::Config::staging(), &query, fixed("t")).unwrap_err();
        assert!(
            matches!(err, Error::Usage(UsageError::InvalidConfig { .. })),
            "{err:?}"
        );
    }
}

#[test]
fn itc_approve_qr_posts_an_exact_json_body() {
    let qr = "8371926450183746509128374650918273465091827346509182734650";
    let mut call = itc::approve_qr(&itc::Config::production(), "12345678901", qr, fixed("eyJ.q")).unwrap();
    let out = send(call.start(T0));
    assert_request(
        &out,
        Method::POST,
        "https://service.itc.gov.mn/api/easy-register/rest/v1/approveQr",
        &[h(ACCEPT), h(JSON_CT), bearer("eyJ.q")],
        format!(r#"{{"customerNo":"12345678901","qrData":"{qr}"}}"#).as_bytes(),
    );
    let reply = done(call.resume(
        T0,
        answer(
            200,
            r#"{"code":"alreadyApproved","status":201,"msg":"Баримт баталгаажсан"}"#,
        ),
    ));
    assert_eq!(reply.code, itc::Code::AlreadyApproved);
    assert!(!reply.is_success());

    // QR data with characters JSON must escape.
    let mut call = itc::approve_qr(&itc::Config::staging(), "1", "a\"b\\c\nd", fixed("t")).unwrap();
    assert_eq!(
        send(call.start(T0)).as_http().body(),
        br#"{"customerNo":"1","qrData":"a\"b\\c\nd"}"#
    );
    for (customer, qr) in [("", "q"), ("c", ""), (" ", "q"), ("c", "\t")] {
        let err = itc::approve_qr(&itc::Config::staging(), customer, qr, fixed("t")).unwrap_err();
        assert!(
            matches!(err, Error::Usage(UsageError::InvalidConfig { .. })),
            "{err:?}"
        );
    }
}

// regNo: one percent-encoded path segment.

#[test]
fn reg_no_is_percent_encoded_as_one_path_segment() {
    let base = "/api/easy-register/api/info/consumer/";
    let cases = [
        ("АА12345678", "%D0%90%D0%9012345678"),
        ("AA/12", "AA%2F12"),
        ("AA?x=1", "AA%3Fx%3D1"),
        ("a;b", "a%3Bb"),
        ("[x]|^", "%5Bx%5D%7C%5E"),
        ("AA#frag", "AA%23frag"),
        ("100%", "100%25"),
        ("%2F", "%252F"),
        ("AA 12", "AA%2012"),
        ("../admin?x#y", "..%2Fadmin%3Fx%23y"),
        ("...", "..."),
        ("ӨҮ 12/3", "%D3%A8%D2%AE%2012%2F3"),
    ];
    for (reg_no, encoded) in cases {
        let mut call = itc::consumer(&itc::Config::staging(), reg_no, fixed("t")).unwrap();
        let out = send(call.start(T0));
        let uri = out.as_http().uri();
        assert_eq!(uri.path(), format!("{base}{encoded}"), "{reg_no:?}");
        assert_eq!(uri.query(), None, "{reg_no:?}");
        assert_eq!(uri.host(), Some("st-service.itc.gov.mn"));
        // Exactly one segment after `consumer`.
        assert_eq!(uri.path().split('/').count(), 7, "{reg_no:?}");
    }
    for reg_no in [
        ".",
        "..",
        "",
        "%2e",
        "%2E%2e",
        ".%2E",
        ".\t.",
        "..\n",
        "AA12\r\n345678",
    ] {
        let err = itc::consumer(&itc::Config::staging(), reg_no, fixed("t")).unwrap_err();
        assert!(
            matches!(err, Error::Usage(UsageError::InvalidPathSegment { .. })),
            "{reg_no:?}: {err:?}"
        );
    }
}

// Typed ITC answers.

/// The documented codes, spelled as the seed prints them.
fn codes() -> [(&'static str, itc::Code); 10] {
    [
        ("userNotFound", itc::Code::UserNotFound),
        ("invalidToken", itc::Code::InvalidToken),
        ("emptyField", itc::Code::EmptyField),
        ("emailNotFound", itc::Code::EmailNotFound),
        ("success", itc::Code::Success),
        ("invalidData", itc::Code::InvalidData),
        ("userDuplicate", itc::Code::UserDuplicate),
        ("alreadyApproved", itc::Code::AlreadyApproved),
        ("b2bNotAccepted", itc::Code::B2bNotAccepted),
        ("inValidQr", itc::Code::InvalidQr),
    ]
}

#[test]
fn every_documented_code_parses_and_round_trips() {
    let mut distinct = std::collections::HashSet::new();
    for (text, variant) in codes() {
        let code = itc::Code::parse(text);
        assert_eq!(code, variant, "{text}");
        assert!(!matches!(code, itc::Code::Other(_)), "{text}");
        assert_eq!(code.as_str(), text);
        assert_eq!(variant.as_str(), text);
        assert_eq!(code.to_string(), text);
        let reply = itc::Reply::from_response(&resp(200, format!(r#"{{"code":"{text}"}}"#)).build()).unwrap();
        assert_eq!(reply.code, variant, "{text}");
        assert_eq!(reply.is_success(), text == "success");
        distinct.insert(code);
    }
    assert_eq!(distinct.len(), 10);
}

#[test]
fn unknown_and_miscased_codes_are_other() {
    for text in [
        "quotaExceeded",
        "InvalidQr",
        "invalidQr",
        "INVALIDQR",
        "Success",
        "SUCCESS",
        "success ",
        "userNotFound\u{200b}",
        "Хэрэглэгч",
    ] {
        let code = itc::Code::parse(text);
        assert_eq!(code, itc::Code::Other(text.into()), "{text:?}");
        assert_eq!(code.as_str(), text);
        let reply = itc::Reply::from_response(
            &resp(
                200,
                serde_json::to_vec(&serde_json::json!({"code": text})).unwrap(),
            )
            .build(),
        )
        .unwrap();
        assert_eq!(reply.code, itc::Code::Other(text.into()));
        assert!(!reply.is_success());
    }
}

#[test]
fn reply_keeps_body_status_apart_and_msg_verbatim() {
    let msg = "Хэрэглэгч  олдсонгүй! (phoneNum=99112233) «тест»";
    let body = serde_json::json!({"code": "userNotFound", "status": 201, "msg": msg});
    let reply = itc::Reply::from_response(&resp(200, serde_json::to_vec(&body).unwrap()).build()).unwrap();
    assert_eq!(reply.code, itc::Code::UserNotFound);
    assert_eq!(reply.status, Some(201));
    assert_eq!(reply.msg.as_deref(), Some(msg));
    assert_eq!((reply.login_name, reply.email), (None, None));

    // The body's status may be any of the documented values, or a string,
    // at HTTP 200: it is the body's, never an HTTP refusal.
    for (status, want) in [
        (serde_json::json!(100), 100),
        (serde_json::json!(401), 401),
        (serde_json::json!(500), 500),
        (serde_json::json!("201"), 201),
    ] {
        let body = serde_json::json!({"code": "invalidData", "status": status});
        let reply =
            itc::Reply::from_response(&resp(200, serde_json::to_vec(&body).unwrap()).build()).unwrap();
        assert_eq!(reply.status, Some(want));
        assert_eq!(reply.code, itc::Code::InvalidData);
    }
    let full = itc::Reply::from_response(
        &resp(
            200,
            r#"{"code":"success","status":200,"msg":"ok","loginName":"12345678901","email":"a@b.mn"}"#,
        )
        .build(),
    )
    .unwrap();
    assert_eq!(full.login_name.as_deref(), Some("12345678901"));
    assert_eq!(full.email.as_deref(), Some("a@b.mn"));
}

#[test]
fn reply_without_a_usable_code_is_an_error() {
    for body in [
        r#"{"status":200,"msg":"ok"}"#,
        r#"{"code":"","status":200}"#,
        r#"{"code":null}"#,
        "{}",
    ] {
        let err = itc::Reply::from_response(&resp(200, body).build()).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Protocol(ProtocolError::MissingField { field: "code", .. })
            ),
            "{body}: {err:?}"
        );
    }
    for body in [r#"{"code":5}"#, r#"{"code":{"x":1}}"#, r#"{"code":["success"]}"#] {
        let err = itc::Reply::from_response(&resp(200, body).build()).unwrap_err();
        assert!(
            matches!(&err, Error::Protocol(ProtocolError::Malformed { field, .. }) if field == "code"),
            "{body}: {err:?}"
        );
    }
    // Not JSON at all (a geo-block page at 200).
    let err = itc::Reply::from_response(
        &resp(200, "<html>blocked</html>")
            .header("content-type", "text/html")
            .build(),
    )
    .unwrap_err();
    assert!(
        matches!(err, Error::Protocol(ProtocolError::NotJson { .. })),
        "{err:?}"
    );
    // A non-2xx is the server's refusal.
    let err = itc::Reply::from_response(&resp(500, r#"{"msg":"Алдаа"}"#).build()).unwrap_err();
    let refusal = err.as_server().unwrap();
    assert_eq!(refusal.kind, ServerErrorKind::Unavailable);
    assert_eq!(refusal.message.as_deref(), Some("Алдаа"));
}

#[test]
fn consumer_answers() {
    let read = |status: u16, body: &str| itc::Consumer::from_response(&resp(status, body).build());
    // 404 with an empty or JSON body: not found.
    assert_eq!(read(404, "").unwrap(), None);
    assert_eq!(read(404, " \r\n").unwrap(), None);
    assert_eq!(read(404, r#"{"message":"Not Found"}"#).unwrap(), None);
    // A 404 page (a proxy, a wrong service URL) is not "no such citizen".
    for page in ["<html>404</html>", "Not Found", "404 page not found\n"] {
        let err = read(404, page).unwrap_err();
        assert_eq!(
            err.as_server().map(|s| (s.status.as_u16(), s.kind)),
            Some((404, ServerErrorKind::NotFound)),
            "{page}"
        );
    }
    let found = read(200, r#"{"regNo":"AA12345678","loginName":"12345678901"}"#)
        .unwrap()
        .unwrap();
    assert_eq!((found.given_name, found.family_name), (None, None));
    // 200 without loginName (or regNo) is an error.
    for body in [
        r#"{"regNo":"AA12345678","givenName":"Бат"}"#,
        r#"{"regNo":"AA12345678","loginName":""}"#,
        r#"{"regNo":"AA12345678","loginName":null}"#,
    ] {
        let err = read(200, body).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Protocol(ProtocolError::MissingField {
                    field: "loginName",
                    ..
                })
            ),
            "{body}: {err:?}"
        );
    }
    let err = read(200, r#"{"loginName":"12345678901"}"#).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Protocol(ProtocolError::MissingField { field: "regNo", .. })
        ),
        "{err:?}"
    );
    let err = read(200, r#"{"regNo":"AA12345678","loginName":12345678901}"#).unwrap_err();
    assert!(
        matches!(err, Error::Protocol(ProtocolError::Malformed { .. })),
        "{err:?}"
    );
    // Other statuses are refusals.
    let err = read(500, "").unwrap_err();
    assert_eq!(
        err.as_server().map(|s| s.kind),
        Some(ServerErrorKind::Unavailable)
    );

    // Through the call: 404 is Done(None), not an error.
    let mut call = itc::consumer(&itc::Config::staging(), "AA00000000", fixed("t")).unwrap();
    let _ = send(call.start(T0));
    assert_eq!(done(call.resume(T0, answer(404, ""))), None);
}

#[test]
fn profile_query_from_fields() {
    use itc::ProfileQuery;
    assert_eq!(
        ProfileQuery::from_fields(Some("99112233"), None).unwrap(),
        ProfileQuery::Phone("99112233".into())
    );
    assert_eq!(
        ProfileQuery::from_fields(None, Some("12345678901")).unwrap(),
        ProfileQuery::CustomerNo("12345678901".into())
    );
    // A blank field counts as absent.
    assert_eq!(
        ProfileQuery::from_fields(Some("  "), Some("12345678901")).unwrap(),
        ProfileQuery::CustomerNo("12345678901".into())
    );
    assert_eq!(
        ProfileQuery::from_fields(Some("99112233"), Some("")).unwrap(),
        ProfileQuery::Phone("99112233".into())
    );
    for (phone, customer) in [
        (None, None),
        (Some(""), None),
        (None, Some(" \t")),
        (Some(""), Some("")),
        (Some("99112233"), Some("12345678901")),
    ] {
        let err = ProfileQuery::from_fields(phone, customer).unwrap_err();
        assert!(
            matches!(err, Error::Usage(UsageError::InvalidConfig { .. })),
            "{phone:?} {customer:?}: {err:?}"
        );
    }
}

// An endpoint-configured service (a local fake behind plain http).

#[test]
fn itc_config_new_accepts_a_loopback_service() {
    let config = itc::Config::new(
        Endpoint::parse_insecure_http("http://127.0.0.1:9000/auth/realms/Staging").unwrap(),
        Endpoint::parse_insecure_http("http://127.0.0.1:9001/api/easy-register").unwrap(),
    );
    let mut call = itc::consumer(&config, "AA12345678", fixed("t")).unwrap();
    assert_eq!(
        send(call.start(T0)).as_http().uri(),
        "http://127.0.0.1:9001/api/easy-register/api/info/consumer/AA12345678"
    );
}

//! The bodies every parse target's seeds carry: hostile ones, and the
//! documented answers (PROTOCOLS.md) with near misses.

use crate::harness::response::{HTML, JSON, LOCATION, RETRY_AFTER, VARIANT, XML};

/// Bodies every parse target gets: what proxies, gateways and broken
/// servers send instead of the documented answer.
pub(super) fn hostile_bodies() -> Vec<(&'static str, u16, u8, Vec<u8>)> {
    let b = |s: &str| s.as_bytes().to_vec();
    let deep = format!("{{\"a\":{}1{}}}", "[".repeat(300), "]".repeat(300));
    let long_message = format!(
        r#"{{"error":"invalid_request","error_description":"{}"}}"#,
        "x".repeat(5_000)
    );
    let mut too_large = vec![b' '; tokendance::MAX_BODY];
    too_large.extend_from_slice(br#"{"access_token":"t"}"#);
    vec![
        ("empty_200", 200, JSON, Vec::new()),
        ("empty_403", 403, 0, Vec::new()),
        (
            "html_502",
            502,
            HTML,
            b("<html><body><h1>502 Bad Gateway</h1><hr>nginx</body></html>"),
        ),
        (
            "html_200",
            200,
            HTML,
            b("<!DOCTYPE html><html><body>Sign in</body></html>"),
        ),
        (
            "xml_401",
            401,
            XML,
            b(r#"<?xml version="1.0"?><error><code>401</code></error>"#),
        ),
        ("truncated_json", 200, JSON, b(r#"{"access_token":"eyJhbGciOi"#)),
        ("array", 200, JSON, b(r#"[{"access_token":"t"}]"#)),
        ("null", 200, JSON, b("null")),
        ("bare_string", 200, JSON, b(r#""t""#)),
        (
            "huge_numbers",
            200,
            JSON,
            b(
                r#"{"access_token":"t","token":"t","expires_in":184467440737095516160,"life_time":99999999999999999999999,"refresh_expires_in":-1,"statusCode":1e308}"#,
            ),
        ),
        (
            "float_overflow",
            200,
            JSON,
            b(r#"{"access_token":"t","expires_in":1e400}"#),
        ),
        ("deep_nesting", 200, JSON, deep.into_bytes()),
        (
            "duplicate_keys",
            200,
            JSON,
            b(r#"{"access_token":"a","access_token":"b","token":"c","token":"d"}"#),
        ),
        (
            "bom",
            200,
            JSON,
            b("\u{feff}{\"access_token\":\"t\",\"token\":\"t\"}"),
        ),
        (
            "lone_surrogate",
            200,
            JSON,
            b(r#"{"access_token":"\ud800","token":"\udfff"}"#),
        ),
        ("redirect", 302, JSON | LOCATION, Vec::new()),
        (
            "rate_limited",
            429,
            JSON | RETRY_AFTER,
            b(r#"{"error":"slow_down"}"#),
        ),
        (
            "unavailable_http_date",
            503,
            HTML | RETRY_AFTER | 1 << 4, // Retry-After: an HTTP date
            b("<html>maintenance</html>"),
        ),
        (
            "error_in_200",
            200,
            JSON,
            b(r#"{"error":"invalid_grant","error_description":"Token is not active"}"#),
        ),
        (
            "success_false",
            200,
            JSON,
            b(r#"{"success":false,"message":"denied","token":"t","access_token":"t"}"#),
        ),
        (
            "secret_echo",
            400,
            JSON,
            b(
                r#"{"error":"invalid_request","error_description":"bad open sesame 42, open+sesame+42, open%20sesame%2042, client secret 7, auth code 99, reg key 5150, mdlp pass 1, mdlp secret 3"}"#,
            ),
        ),
        (
            "control_characters",
            400,
            JSON,
            b(r#"{"error":"x\u0000y","message":"a\u001b[31mred\r\nb"}"#),
        ),
        ("long_message", 400, JSON, long_message.into_bytes()),
        (
            "not_utf8",
            200,
            JSON,
            vec![b'{', b'"', 0xff, 0xfe, b'"', b':', b'1', b'}'],
        ),
        ("too_large", 200, JSON, too_large),
    ]
}

/// The documented answers (PROTOCOLS.md) and near misses, per parse target.
pub(super) fn documented_bodies(target: &str) -> Vec<(&'static str, u16, u8, &'static str)> {
    let oauth: Vec<(&'static str, u16, u8, &'static str)> = vec![
        (
            "keycloak_ok",
            200,
            JSON,
            r#"{"access_token":"eyJhbGciOiJSUzI1NiJ9.e30.sig","expires_in":300,"refresh_expires_in":1800,"refresh_token":"eyJhbGciOiJIUzI1NiJ9.e30.r","token_type":"bearer","not-before-policy":0,"session_state":"3f1c","scope":"profile email"}"#,
        ),
        (
            "gam_ok",
            200,
            JSON,
            r#"{"access_token":"eyJ","expires_in":3600,"token_type":"Bearer","scope":"iam:user-password:update"}"#,
        ),
        (
            "monpay_ok",
            200,
            JSON,
            r#"{"access_token":"mp-1","token_type":"Bearer","refresh_token":"r","expires_in":0}"#,
        ),
        (
            "string_expires_in",
            201,
            0,
            r#"{"access_token":"t","expires_in":" 300 ","token_type":"BEARER"}"#,
        ),
        // The same at 200: a token answer's only success status since (the
        // 201 above is now refused), so that a seed still reaches the
        // parsing of a string `expires_in`.
        (
            "string_expires_in_200",
            200,
            0,
            r#"{"access_token":"t","expires_in":" 300 ","token_type":"BEARER"}"#,
        ),
        (
            "offline_refresh",
            200,
            JSON,
            r#"{"access_token":"t","expires_in":300,"refresh_token":"r","refresh_expires_in":0}"#,
        ),
        (
            "wrong_token_type",
            200,
            JSON,
            r#"{"access_token":"t","token_type":"mac"}"#,
        ),
        (
            "access_token_number",
            200,
            JSON,
            r#"{"access_token":12345,"expires_in":300}"#,
        ),
        (
            "keycloak_invalid_grant",
            401,
            JSON,
            r#"{"error":"invalid_grant","error_description":"Invalid user credentials"}"#,
        ),
        (
            "keycloak_not_active",
            400,
            JSON,
            r#"{"error":"invalid_grant","error_description":"Token is not active"}"#,
        ),
        (
            "gam_processing_error",
            200,
            JSON,
            r#"{"status":"400","message":"ERROR_MESSAGE","error_code":"E01","timestamp":"2024-01-01T00:00:00Z"}"#,
        ),
        ("monpay_505", 505, 0, ""),
        ("monpay_415", 415, JSON, r#"{"error":"unsupported_grant_type"}"#),
    ];
    let astana = vec![
        (
            "ok",
            200,
            JSON,
            r#"{"statusCode":200,"message":"Access token created","data":{"token":"abc.def"}}"#,
        ),
        (
            "incorrect_credentials",
            422,
            JSON,
            r#"{"statusCode":422,"message":"Incorrect credentials"}"#,
        ),
        (
            "not_found",
            400,
            JSON,
            r#"{"statusCode":400,"message":"User with given credentials not found"}"#,
        ),
        (
            "ca_endpoint",
            400,
            JSON,
            r#"{"statusCode":400,"message":"Endpoint not found"}"#,
        ),
        (
            "ca_failed",
            400,
            JSON,
            r#"{"statusCode":400,"message":"Error. Try later"}"#,
        ),
        (
            "outdated",
            400,
            JSON,
            r#"{"statusCode":400,"message":"Certificate is outdated. Please get fresh one."}"#,
        ),
        (
            "server",
            500,
            JSON,
            r#"{"statusCode":500,"message":"Error on server. try later"}"#,
        ),
        (
            "astana_error_in_200",
            200,
            JSON,
            r#"{"statusCode":400,"message":"User with given credentials not found"}"#,
        ),
        (
            "token_number",
            200,
            JSON,
            r#"{"statusCode":200,"message":"Access token created","data":{"token":7}}"#,
        ),
        ("data_string", 200, JSON, r#"{"statusCode":200,"data":"abc"}"#),
    ];
    let crpt_errors = vec![
        (
            "crpt_error_200",
            200,
            JSON,
            r#"{"code":"403","error_message":"Access denied","description":"certificate not found"}"#,
        ),
        (
            "crpt_error_403",
            403,
            JSON,
            r#"{"error_message":"Signature is detached"}"#,
        ),
        (
            "suz_global_errors",
            400,
            JSON,
            r#"{"success":false,"globalErrors":[{"error":"bad omsId"}]}"#,
        ),
    ];
    let mut bodies: Vec<(&'static str, u16, u8, &'static str)> = match target {
        "token_response" | "itc_response" | "gam_response" | "monpay_response" => oauth,
        "astana_password_response" | "astana_certificate_response" => astana,
        "crpt_key_response" => vec![
            (
                "key_ok",
                200,
                JSON,
                r#"{"uuid":"f4e4c1b0-9c61-4c2a-8a5e-3d1b2c4e5f60","data":"QNRPNPFGJZSEVNRYDHRFOWMCDGJWXJ"}"#,
            ),
            (
                "key_ok_true_api",
                200,
                JSON | VARIANT,
                r#"{"uuid":"u-1","data":"QNRPNPFGJZ"}"#,
            ),
            (
                "uuid_with_quotes",
                200,
                JSON,
                r#"{"uuid":"a\"b\\c\u2028","data":"x"}"#,
            ),
            ("uuid_number", 200, JSON, r#"{"uuid":12,"data":"QNRP"}"#),
            ("data_empty", 200, JSON, r#"{"uuid":"u","data":""}"#),
        ],
        "crpt_sign_in_response" => vec![
            (
                "token_ok",
                200,
                JSON,
                r#"{"token":"58f908f1-832a-4ad0-93f4-bdafbf8eb55a"}"#,
            ),
            (
                "token_ok_true_api",
                200,
                JSON | VARIANT,
                r#"{"token":"58f908f1"}"#,
            ),
            ("token_number", 200, JSON, r#"{"token":58}"#),
            ("token_empty", 200, JSON, r#"{"token":""}"#),
        ],
        "mdlp_auth_response" => vec![
            (
                "code_ok",
                200,
                JSON,
                r#"{"code":"b7b1abc9-f4ee-47db-8a20-f80ac83504e8"}"#,
            ),
            ("code_ok_password", 200, JSON | VARIANT, r#"{"code":"b7b1abc9"}"#),
            ("code_number", 200, JSON, r#"{"code":404}"#),
            ("code_with_escapes", 200, JSON, r#"{"code":"a\"b\n\u0000"}"#),
        ],
        "mdlp_token_response" => vec![
            ("token_ok", 200, JSON, r#"{"token":"58f908f1","life_time":30}"#),
            (
                "token_ok_password",
                200,
                JSON | VARIANT,
                r#"{"token":"58f908f1","life_time":"30"}"#,
            ),
            ("life_time_missing", 200, JSON, r#"{"token":"t"}"#),
            (
                "life_time_huge",
                200,
                JSON,
                r#"{"token":"t","life_time":18446744073709551615}"#,
            ),
            (
                "life_time_negative",
                200,
                JSON,
                r#"{"token":"t","life_time":-30}"#,
            ),
            (
                "life_time_fraction",
                200,
                JSON,
                r#"{"token":"t","life_time":0.5}"#,
            ),
        ],
        "suz_registration_response" => vec![
            (
                "success",
                200,
                JSON,
                r#"{"status":"SUCCESS","omsConnection":"CDF12109-10D3-11E6-8B6F-0050569977A1"}"#,
            ),
            (
                "success_unsigned",
                200,
                JSON | VARIANT,
                r#"{"status":"SUCCESS","omsConnection":"c"}"#,
            ),
            (
                "rejected",
                200,
                JSON,
                r#"{"status":"REJECTED","rejectionReason":"duplicate address"}"#,
            ),
            ("rejected_no_reason", 200, JSON, r#"{"status":"REJECTED"}"#),
            ("success_without_connection", 200, JSON, r#"{"status":"SUCCESS"}"#),
            ("unknown_status", 200, JSON, r#"{"status":"PENDING"}"#),
            (
                "status_number",
                200,
                JSON,
                r#"{"status":500,"message":"internal"}"#,
            ),
        ],
        _ => Vec::new(),
    };
    if target.starts_with("crpt_") || target.starts_with("mdlp_") || target.starts_with("suz_") {
        bodies.extend(crpt_errors);
    }
    match target {
        "itc_consumer_response" => bodies.extend([
            (
                "found",
                200,
                JSON,
                r#"{"regNo":"АА12345678","loginName":"12345678901","givenName":"Бат","familyName":"Дорж"}"#,
            ),
            ("not_found", 404, 0, ""),
            ("no_login", 200, JSON, r#"{"regNo":"АА12345678"}"#),
            (
                "expired",
                401,
                JSON,
                r#"{"error":"invalid_token","error_description":"Token expired"}"#,
            ),
            ("no_right", 403, 0, ""),
        ]),
        "itc_reply_response" => bodies.extend([
            (
                "profile_ok",
                200,
                JSON,
                r#"{"code":"success","status":200,"msg":"Амжилттай","loginName":"12345678901","email":"bat@example.mn"}"#,
            ),
            ("user_not_found", 200, JSON, r#"{"code":"userNotFound","status":201,"msg":"Хэрэглэгч олдсонгүй"}"#),
            ("invalid_token_200", 200, JSON, r#"{"code":"invalidToken","status":401}"#),
            ("approved", 200, JSON | VARIANT, r#"{"code":"alreadyApproved","status":201}"#),
            ("invalid_qr", 200, JSON | VARIANT, r#"{"code":"inValidQr","status":100}"#),
            ("unknown_code", 200, JSON | VARIANT, r#"{"code":"quotaExceeded","status":"500"}"#),
            ("no_code", 200, JSON, r#"{"status":200}"#),
        ]),
        "suz_call_response" => bodies.extend([
            (
                "order_created",
                200,
                JSON | VARIANT,
                r#"{"omsId":"oms-1","orderId":"b024ae09-ef7c-449e-b461-05d8eb116c79","expectedCompleteTimestamp":0}"#,
            ),
            ("order_unsigned", 200, JSON, r#"{"omsId":"oms-1","orderId":"o-1"}"#),
            (
                "gtin_unknown",
                400,
                JSON | VARIANT,
                r#"{"success":false,"globalErrors":[{"error":"GTIN not found","errorCode":1140}]}"#,
            ),
            (
                "refused_at_200",
                200,
                JSON,
                r#"{"success":false,"globalErrors":[{"error":"omsId unknown","errorCode":1001}]}"#,
            ),
            (
                "field_errors",
                400,
                JSON | VARIANT,
                r#"{"success":false,"fieldErrors":[{"fieldName":"products","errorCode":1100,"fieldError":"must not be empty"}]}"#,
            ),
            (
                "token_code",
                400,
                JSON,
                r#"{"success":false,"globalErrors":[{"error":"Token is not valid","errorCode":1133}]}"#,
            ),
            (
                "token_401",
                401,
                JSON | VARIANT,
                r#"{"success":false,"globalErrors":[{"error":"clientToken is not valid","errorCode":401}]}"#,
            ),
            (
                "signature_echoed",
                400,
                JSON | VARIANT,
                r#"{"success":false,"globalErrors":[{"error":"signature MIIBCgKCAQEAx3N1ei1zaWduYXR1cmUtOP8A does not verify for api token 11","errorCode":1501}]}"#,
            ),
            ("codes_list", 200, JSON, r#"[{"code":"0104600000000000215'2x"}]"#),
        ]),
        "gam_envelope_response" => bodies.extend([
            (
                "ok",
                200,
                JSON,
                r#"{"status":"200","message":"Success","timestamp":"2024-05-01T10:00:00Z","data":{"id":7}}"#,
            ),
            ("ok_number_status", 200, JSON, r#"{"status":200,"data":"..."}"#),
            (
                "processing_error",
                200,
                JSON,
                r#"{"status":"400","message":"Customer not found","error_code":"CUS_404","timestamp":"..."}"#,
            ),
            ("auth_failed", 403, JSON, ""),
            ("no_status", 200, JSON, r#"{"data":{"id":1}}"#),
        ]),
        _ => {}
    }
    if target == "itc_response" {
        bodies.push((
            "refresh_ok",
            200,
            JSON | VARIANT,
            r#"{"access_token":"a-2","expires_in":300,"token_type":"bearer"}"#,
        ));
        bodies.push((
            "refresh_refused",
            400,
            JSON | VARIANT,
            r#"{"error":"invalid_grant","error_description":"Token is not active"}"#,
        ));
        bodies.push(("refresh_unavailable", 503, HTML | VARIANT, "<html>down</html>"));
    }
    bodies
}

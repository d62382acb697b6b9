//! GAM: the exact requests, the partner code, the empty 403 and the envelope.

use super::*;

#[test]
fn gam_post_sends_json_with_client_source_and_bearer() {
    let body = NewOrder {
        customer_code: "C-1 \"Đức\"",
        amount: 7,
    };
    let mut call = gam::post::<_, Order>(
        &gam::Config::staging(),
        "SHOP01",
        &["api", "v1", "orders"],
        &body,
        fixed("eyJ.gam"),
    )
    .unwrap();
    let out = send(call.start(T0));
    assert_request(
        &out,
        Method::POST,
        "https://gateway-staging.gam.vn/oms/api/v1/orders",
        &[
            h(ACCEPT),
            h(JSON_CT),
            bearer("eyJ.gam"),
            h(("x-client-source", "SHOP01", false)),
        ],
        r#"{"customerCode":"C-1 \"Đức\"","amount":7}"#.as_bytes(),
    );
    assert_eq!(gam::CLIENT_SOURCE, "x-client-source");

    let mut call = gam::post::<_, Order>(
        &gam::Config::production(),
        "SHOP01",
        &["api", "v1", "orders"],
        &body,
        fixed("t"),
    )
    .unwrap();
    assert_eq!(
        send(call.start(T0)).as_http().uri(),
        "https://gateway.gam.vn/oms/api/v1/orders"
    );
}

#[test]
fn gam_get_encodes_path_segments_and_query_pairs() {
    let mut call = gam::get::<_, serde_json::Value>(
        &gam::Config::staging(),
        "SHOP-02",
        &["api", "v1", "customers", "C 1/é?#%"],
        &[("q", "a b&c=d+e"), ("page", "2"), ("name", "Đức")],
        fixed("eyJ.get"),
    )
    .unwrap();
    let out = send(call.start(T0));
    assert_request(
        &out,
        Method::GET,
        "https://gateway-staging.gam.vn/oms/api/v1/customers/C%201%2F%C3%A9%3F%23%25\
         ?q=a+b%26c%3Dd%2Be&page=2&name=%C4%90%E1%BB%A9c",
        &[
            h(ACCEPT),
            h(JSON_CT),
            bearer("eyJ.get"),
            h(("x-client-source", "SHOP-02", false)),
        ],
        b"",
    );
    // No query pairs: no `?`.
    let mut call = gam::get::<_, serde_json::Value>(
        &gam::Config::staging(),
        "SHOP-02",
        &["api", "v1", "ping"],
        &[],
        fixed("t"),
    )
    .unwrap();
    assert_eq!(
        send(call.start(T0)).as_http().uri().to_string(),
        "https://gateway-staging.gam.vn/oms/api/v1/ping"
    );
    // Dot and empty segments are refused, as for ITC.
    for bad in ["..", ".", ""] {
        let err =
            gam::get::<_, serde_json::Value>(&gam::Config::staging(), "SHOP", &["api", bad], &[], fixed("t"))
                .unwrap_err();
        assert!(
            matches!(err, Error::Usage(UsageError::InvalidPathSegment { .. })),
            "{bad:?}: {err:?}"
        );
    }
}

#[test]
fn gam_refuses_a_partner_code_that_is_no_header_value() {
    for partner in ["", "SHOP\n01", "SHOP\r\nX-Evil: 1"] {
        let err = gam::post::<_, serde_json::Value>(
            &gam::Config::staging(),
            partner,
            &["api"],
            &serde_json::json!({}),
            fixed("t"),
        )
        .unwrap_err();
        assert!(
            matches!(err, Error::Usage(UsageError::InvalidConfig { .. })),
            "{partner:?}: {err:?}"
        );
    }
}

#[test]
fn gam_empty_403_means_authentication_failed() {
    let mut call = gam::post::<_, serde_json::Value>(
        &gam::Config::staging(),
        "SHOP01",
        &["api", "v1", "authenticated"],
        &serde_json::json!({"customerCode": "C-1"}),
        fixed("gam-1"),
    )
    .unwrap();
    let _ = send(call.start(T0));
    let err = failed(call.resume(
        T0,
        Input::Response(resp(403, "").header("content-length", "0").build()),
    ));
    let refusal = err.as_server().unwrap();
    assert_eq!(
        (refusal.status.as_u16(), refusal.kind),
        (403, ServerErrorKind::Forbidden)
    );
    assert_eq!(refusal.message.as_deref(), Some("authentication failed"));
    assert_eq!(refusal.code, None);
    assert_eq!(err.to_string(), "HTTP 403: authentication failed");
    assert!(!call.retried());

    // A 403 with its own words keeps them.
    let mut call =
        gam::get::<_, serde_json::Value>(&gam::Config::staging(), "SHOP01", &["api"], &[], fixed("gam-1"))
            .unwrap();
    let _ = send(call.start(T0));
    let err = failed(call.resume(
        T0,
        answer(
            403,
            r#"{"status":"403","message":"Partner suspended","error_code":"P_403"}"#,
        ),
    ));
    let refusal = err.as_server().unwrap();
    assert_eq!(refusal.kind, ServerErrorKind::Forbidden);
    assert_eq!(refusal.code.as_deref(), Some("P_403"));
    assert_eq!(refusal.message.as_deref(), Some("Partner suspended"));
}

// The GAM envelope.

fn envelope<T: serde::de::DeserializeOwned>(status: u16, body: &str) -> Result<gam::Envelope<T>, Error> {
    gam::Envelope::from_response(&resp(status, body).build())
}

#[test]
fn gam_envelope_status_as_string_or_number() {
    for body in [
        r#"{"status":"200","message":"OK","timestamp":"2024-05-01T10:00:00Z","data":{"id":7,"customerCode":"C-7"}}"#,
        r#"{"status":200,"message":"OK","timestamp":"2024-05-01T10:00:00Z","data":{"id":7,"customerCode":"C-7"}}"#,
    ] {
        let e: gam::Envelope<Order> = envelope(200, body).unwrap();
        assert_eq!(e.status, "200");
        assert_eq!(e.message.as_deref(), Some("OK"));
        assert_eq!(e.timestamp.as_deref(), Some("2024-05-01T10:00:00Z"));
        assert_eq!(
            e.data,
            Some(Order {
                id: 7,
                customer_code: "C-7".into()
            })
        );
    }
    let e: gam::Envelope<Order> = envelope(201, r#"{"status":"201","data":null}"#).unwrap();
    assert_eq!((e.status.as_str(), e.data, e.message), ("201", None, None));
    let e: gam::Envelope<Vec<u32>> = envelope(200, r#"{"status":"200","data":[1,2,3]}"#).unwrap();
    assert_eq!(e.data, Some(vec![1, 2, 3]));
    let e: gam::Envelope<Order> = envelope(200, r#"{"status":"200"}"#).unwrap();
    assert_eq!(e.data, None);
}

#[test]
fn gam_data_of_the_wrong_shape_names_the_field_only() {
    for data in [
        r#"{"id":"SECRET-ORDER-77","customerCode":"Бат-Эрдэнэ"}"#,
        r#"["SECRET-ORDER-77"]"#,
        r#""SECRET-ORDER-77""#,
        r#"{"customerCode":"SECRET-ORDER-77"}"#,
    ] {
        let body = format!(r#"{{"status":"200","message":"OK","data":{data}}}"#);
        let err = envelope::<Order>(200, &body).unwrap_err();
        let Error::Protocol(ProtocolError::Malformed { field, status, .. }) = &err else {
            panic!("{data}: {err:?}")
        };
        assert_eq!((field.as_str(), status.as_u16()), ("data", 200));
        for text in [err.to_string(), format!("{err:?}")] {
            assert!(!text.contains("SECRET-ORDER"), "{text}");
            assert!(!text.contains("Бат"), "{text}");
        }
    }
}

#[test]
fn gam_error_envelopes_are_refusals_at_any_status() {
    for (status, body) in [
        (
            200,
            r#"{"status":"400","message":"Customer not found","error_code":"CUS_404","timestamp":"t"}"#,
        ),
        (
            200,
            r#"{"status":"200","message":"Customer not found","error_code":"CUS_404"}"#,
        ),
        (
            400,
            r#"{"status":400,"message":"Customer not found","error_code":"CUS_404","timestamp":"t"}"#,
        ),
        (
            422,
            r#"{"status":"422","message":"Customer not found","error_code":"CUS_404"}"#,
        ),
    ] {
        let err = envelope::<serde_json::Value>(status, body).unwrap_err();
        let refusal = err.as_server().unwrap_or_else(|| panic!("{body}: {err:?}"));
        assert_eq!(refusal.status, status, "{body}");
        assert_eq!(refusal.code.as_deref(), Some("CUS_404"), "{body}");
        assert_eq!(refusal.message.as_deref(), Some("Customer not found"), "{body}");
    }
    // Through the call, with the token scrubbed from the message.
    let mut call = gam::post::<_, serde_json::Value>(
        &gam::Config::staging(),
        "SHOP01",
        &["api", "v1", "orders"],
        &serde_json::json!({}),
        fixed("gam-secret-token"),
    )
    .unwrap();
    let _ = send(call.start(T0));
    let err = failed(call.resume(
        T0,
        answer(
            200,
            r#"{"status":"401","message":"bad token gam-secret-token","error_code":"AUTH_1"}"#,
        ),
    ));
    let refusal = err.as_server().unwrap();
    assert_eq!(refusal.code.as_deref(), Some("AUTH_1"));
    assert_eq!(refusal.message.as_deref(), Some(tokendance::WITHHELD));
}

#[test]
fn gam_envelope_without_status_is_an_error() {
    let err = envelope::<serde_json::Value>(200, r#"{"data":{"id":1},"timestamp":"t"}"#).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Protocol(ProtocolError::MissingField { field: "status", .. })
        ),
        "{err:?}"
    );
    assert!(envelope::<serde_json::Value>(200, r#"{"status":null,"data":{}}"#).is_err());
    assert!(envelope::<serde_json::Value>(200, r#"{"message":"OK","data":{}}"#).is_err());
    let err = envelope::<serde_json::Value>(200, "<html>gateway</html>").unwrap_err();
    assert!(
        matches!(err, Error::Protocol(ProtocolError::NotJson { .. })),
        "{err:?}"
    );
}

/// A `null` data is no data, whatever the caller's type.
#[test]
fn gam_null_data_is_none() {
    let read = |body: &str| gam::Envelope::<serde_json::Value>::from_response(&resp(200, body).build());
    assert_eq!(read(r#"{"status":"200","data":null}"#).unwrap().data, None);
    assert_eq!(read(r#"{"status":"200"}"#).unwrap().data, None);
    assert_eq!(
        read(r#"{"status":"200","data":0}"#).unwrap().data,
        Some(serde_json::json!(0))
    );
}

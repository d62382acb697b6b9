//! The body's size and encoding: the size limit, BOM, duplicate keys, nesting, UTF-8, content type.

use super::*;

// ------------------------------------------------------------ size

/// A valid success body padded with spaces to exactly `len` bytes.
fn padded(step: Step, len: usize) -> String {
    let body = step.ok_body();
    let inner = &body[..body.len() - 1];
    format!("{inner}{}}}", " ".repeat(len - body.len()))
}

#[test]
fn body_of_max_body_plus_one_is_refused_unparsed() {
    for step in ALL {
        let body = padded(step, MAX_BODY + 1);
        assert_eq!(body.len(), MAX_BODY + 1);
        for code in [200u16, 400, 502] {
            let p = protocol(step, &json(code, &body));
            assert_eq!(
                p,
                ProtocolError::BodyTooLarge {
                    status: status(code),
                    limit: MAX_BODY,
                    len: MAX_BODY + 1
                },
                "{step:?} {code}"
            );
            assert_eq!(
                p.to_string(),
                format!(
                    "HTTP {code}: body of {} bytes exceeds the limit of {MAX_BODY} bytes",
                    MAX_BODY + 1
                )
            );
        }
    }
}

#[test]
fn body_of_exactly_max_body_is_parsed() {
    for step in ALL {
        let body = padded(step, MAX_BODY);
        assert_eq!(body.len(), MAX_BODY);
        token(step, &json(200, &body));
    }
}

// ------------------------------------------------------------ encoding

#[test]
fn utf8_bom_is_skipped() {
    for step in ALL {
        let mut body = b"\xEF\xBB\xBF".to_vec();
        body.extend_from_slice(step.ok_body().as_bytes());
        token(step, &json(200, &body));
        // Only one BOM.
        let mut twice = b"\xEF\xBB\xBF".to_vec();
        twice.extend_from_slice(&body);
        assert!(matches!(
            protocol(step, &json(200, &twice)),
            ProtocolError::NotJson { .. }
        ));
        // An error body with a BOM keeps its code.
        let mut refusal = b"\xEF\xBB\xBF".to_vec();
        refusal.extend_from_slice(br#"{"error":"invalid_client","error_description":"Bad client"}"#);
        let err = error(step, &json(400, &refusal));
        assert_eq!(err.as_server().unwrap().code.as_deref(), Some("invalid_client"));
    }
}

#[test]
fn duplicate_top_level_keys_are_refused() {
    for step in ALL {
        let body = if step.is_astana() {
            format!(r#"{{"data":{{"token":"{TOKEN}"}},"data":{{"token":"other"}}}}"#)
        } else {
            format!(r#"{{"access_token":"{TOKEN}","access_token":"other","expires_in":60}}"#)
        };
        assert_eq!(protocol(step, &json(200, &body)), not_one_object(), "{step:?}");
    }
    // Unknown keys too, at any depth.
    for step in ALL {
        let body = step.ok_body();
        for prefix in [
            r#""x":1,"x":2"#,
            r#""x":{"a":1,"a":2}"#,
            r#""x":[{"a":1,"\u0061":2}]"#,
        ] {
            let p = protocol(step, &json(200, format!("{{{prefix},{}", &body[1..])));
            assert!(
                matches!(&p, ProtocolError::Malformed { field, .. } if field == "$"),
                "{step:?} {prefix}: {p:?}"
            );
        }
    }
}

fn nested_arrays(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

fn nested_objects(depth: usize) -> String {
    format!("{}1{}", r#"{"a":"#.repeat(depth), "}".repeat(depth))
}

/// Every object is read for repeated keys, so nesting is bounded by
/// serde_json's recursion limit (128 levels, the body's own object
/// included): below it, an unknown field is skipped; at it and beyond, the
/// body is refused, never a stack overflow.
#[test]
fn deep_nesting_in_an_unknown_field_is_skipped_without_recursion() {
    for step in ALL {
        let body = step.ok_body();
        for deep in [nested_arrays(100), nested_objects(100)] {
            token(step, &json(200, format!(r#"{{"unknown":{deep},{}"#, &body[1..])));
        }
        // The edge, exactly: counting the body's own object, 127 levels are
        // read and 128 (serde_json's recursion limit) refused, in arrays,
        // objects and both mixed.
        for depth in 120..=135 {
            let mixed = format!("{}1{}", r#"[{"a":"#.repeat(depth / 2), "}]".repeat(depth / 2));
            let mixed = if depth % 2 == 1 {
                format!("[{mixed}]")
            } else {
                mixed
            };
            for (shape, deep) in [
                ("arrays", nested_arrays(depth)),
                ("objects", nested_objects(depth)),
                ("mixed", mixed),
            ] {
                let doc = json(200, format!(r#"{{"unknown":{deep},{}"#, &body[1..]));
                match feed(step, &doc) {
                    Outcome::Token(_) => {
                        assert!(depth < 127, "{step:?} {shape} {depth}: read past the limit")
                    }
                    Outcome::Err(Error::Protocol(_), _) => {
                        assert!(depth >= 127, "{step:?} {shape} {depth}: refused within the limit")
                    }
                    other => panic!("{step:?} {shape} {depth}: {other:?}"),
                }
            }
        }
        for (depth, deep) in [
            (10_000, nested_arrays(10_000)),
            // As deep as fits in the body limit.
            (32_000, nested_arrays(32_000)),
            (10_000, nested_objects(10_000)),
        ] {
            let doc = format!(r#"{{"unknown":{deep},{}"#, &body[1..]);
            assert!(doc.len() <= MAX_BODY, "{depth}");
            protocol(step, &json(200, &doc));
        }
    }
}

#[test]
fn deep_nesting_in_a_known_field_is_refused_without_overflow() {
    for step in ALL {
        // `data` and `error_description` are parsed into values; serde_json's
        // recursion limit refuses the document instead of overflowing.
        for field in ["data", "error_description", "violations"] {
            let doc = format!(r#"{{"{field}":{}}}"#, nested_arrays(10_000));
            assert_eq!(
                protocol(step, &json(200, &doc)),
                ProtocolError::NotJson {
                    status: StatusCode::OK,
                    content_type: Some("application/json".to_owned())
                },
                "{step:?} {field}"
            );
            let s = server(step, &json(400, &doc));
            assert_eq!(
                (s.status, s.code.as_deref()),
                (StatusCode::BAD_REQUEST, table_code(step, 400))
            );
        }
    }
}

#[test]
fn invalid_utf8() {
    for step in ALL {
        // In the token itself.
        let body = if step.is_astana() {
            b"{\"data\":{\"token\":\"ab\xff\xfe\"}}".to_vec()
        } else {
            b"{\"access_token\":\"ab\xff\xfe\",\"expires_in\":60}".to_vec()
        };
        assert_eq!(
            protocol(step, &json(200, &body)),
            ProtocolError::NotJson {
                status: StatusCode::OK,
                content_type: Some("application/json".to_owned())
            },
            "{step:?}"
        );
        // Outside any string.
        let mut bare = step.ok_body().into_bytes();
        bare.insert(1, 0xC0);
        assert!(matches!(
            protocol(step, &json(200, &bare)),
            ProtocolError::NotJson { .. }
        ));
        // In an error body: the status alone speaks (the body's code is lost).
        let s = server(
            step,
            &json(
                400,
                b"{\"error\":\"invalid_grant\",\"error_description\":\"\xff\"}",
            ),
        );
        assert_eq!(
            (s.status, s.code.as_deref()),
            (StatusCode::BAD_REQUEST, table_code(step, 400)),
            "{step:?}"
        );
    }
}

#[test]
fn content_type_is_not_trusted() {
    for step in ALL {
        for ct in [
            Some("application/json;charset=UTF-8"),
            Some("application/json; charset=UTF-8"),
            Some("text/html"),
            Some("text/plain"),
            Some("application/x-www-form-urlencoded"),
            None,
        ] {
            let mut r = resp(200, step.ok_body());
            if let Some(ct) = ct {
                r = r.header(CONTENT_TYPE.as_str(), ct);
            }
            token(step, &r);
        }
        // When the body is not JSON, the content type is reported as sent.
        for ct in [
            "application/json;charset=UTF-8",
            "application/json; charset=UTF-8",
        ] {
            let p = protocol(step, &resp(200, "<html/>").header("content-type", ct));
            assert_eq!(
                p,
                ProtocolError::NotJson {
                    status: StatusCode::OK,
                    content_type: Some(ct.to_owned())
                }
            );
        }
        let long = "x".repeat(300);
        let ProtocolError::NotJson {
            content_type: Some(shown),
            ..
        } = protocol(step, &resp(200, "<html/>").header("content-type", long))
        else {
            panic!("expected NotJson")
        };
        assert_eq!(shown.chars().count(), 100);
    }
}

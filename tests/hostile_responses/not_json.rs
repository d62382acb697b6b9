//! Bodies that are not JSON (HTML, XML, empty, truncated) or not one JSON object.

use super::*;

#[test]
fn html_page_with_200_is_not_json() {
    let page = resp(200, "<!DOCTYPE html><html><body>Access denied</body></html>")
        .header("content-type", "text/html; charset=utf-8");
    for step in ALL {
        let p = protocol(step, &page);
        assert_eq!(
            p,
            ProtocolError::NotJson {
                status: StatusCode::OK,
                content_type: Some("text/html; charset=utf-8".to_owned())
            },
            "{step:?}"
        );
        assert_eq!(
            p.to_string(),
            "HTTP 200: body is not JSON (content type text/html; charset=utf-8)"
        );
    }
}

#[test]
fn html_page_with_502_is_a_retryable_refusal() {
    let page = resp(
        502,
        "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
    )
    .header("content-type", "text/html");
    for step in ALL {
        let Outcome::Err(err, after) = feed(step, &page) else {
            panic!("{step:?}")
        };
        assert!(err.is_retryable(), "{step:?}");
        assert_eq!(err.status(), Some(StatusCode::BAD_GATEWAY));
        let s = err.as_server().unwrap();
        // The page's title is the message.
        assert_eq!(
            (s.kind, s.code.as_deref(), s.message.as_deref(), s.retry_after),
            (ServerErrorKind::Unavailable, None, Some("502 Bad Gateway"), None),
            "{step:?}"
        );
        assert_eq!(s.to_string(), "HTTP 502: 502 Bad Gateway");
        if matches!(step, ItcPassword | ItcRefresh) {
            assert_eq!(after, After::Retried, "{step:?}");
        }
    }
}

#[test]
fn xml_on_401() {
    let xml = resp(
        401,
        r#"<?xml version="1.0"?><error><code>invalid_grant</code><message>nope</message></error>"#,
    )
    .header("content-type", "application/xml");
    for step in ALL {
        match (step, feed(step, &xml)) {
            // A refresh refused with 401: the password grant goes next.
            (ItcRefresh, Outcome::Fallback) => {}
            (MonPay | MonPayMerchant, Outcome::Err(Error::Server(s), _)) => {
                assert_eq!(s.kind, ServerErrorKind::InvalidClient);
                assert_eq!(s.code.as_deref(), Some("unauthorized_client"));
                assert_eq!(s.to_string(), "HTTP 401 unauthorized_client");
            }
            (_, Outcome::Err(Error::Server(s), after)) => {
                assert_eq!(s.status, StatusCode::UNAUTHORIZED);
                assert_eq!(
                    (s.kind, s.code.as_deref(), s.message.as_deref()),
                    (ServerErrorKind::Unauthorized, None, None),
                    "{step:?}"
                );
                assert_eq!(s.to_string(), "HTTP 401 (unauthorized)");
                assert!(!s.is_retryable());
                if step == ItcPassword {
                    // No OAuth error code: a proxy's page, not a refused password.
                    assert_eq!(after, After::Retried);
                }
            }
            (step, other) => panic!("{step:?}: {other:?}"),
        }
    }
}

#[test]
fn empty_body_with_200_is_not_json() {
    for step in ALL {
        assert_eq!(
            protocol(step, &resp(200, "")),
            ProtocolError::NotJson {
                status: StatusCode::OK,
                content_type: None
            },
            "{step:?}"
        );
        let p = protocol(step, &json(200, "   \r\n"));
        assert_eq!(
            p,
            ProtocolError::NotJson {
                status: StatusCode::OK,
                content_type: Some("application/json".to_owned())
            }
        );
    }
    assert_eq!(
        protocol(Gam, &resp(200, "")).to_string(),
        "HTTP 200: body is not JSON (content type none)"
    );
}

/// An empty body at `status` (a 4xx) fed to `step`: the error and what came
/// after it; `None` for the ITC refresh, which falls back to the password grant.
#[track_caller]
fn empty_4xx(step: Step, status: u16) -> Option<(Error, After)> {
    let outcome = feed(step, &resp(status, ""));
    if step == ItcRefresh {
        // Any non-retryable 4xx to a refresh: the password grant at once.
        assert!(matches!(outcome, Outcome::Fallback), "{outcome:?}");
        return None;
    }
    let Outcome::Err(err, after) = outcome else {
        panic!("{step:?}")
    };
    Some((err, after))
}

#[test]
fn empty_body_with_403() {
    for step in ALL {
        let Some((err, after)) = empty_4xx(step, 403) else {
            continue;
        };
        let s = err.as_server().unwrap();
        assert_eq!(s.status, StatusCode::FORBIDDEN);
        assert!(!err.is_retryable());
        if step.is_monpay() {
            // MonPay's table: 403 is a bad or used code.
            assert_eq!(s.kind, ServerErrorKind::InvalidGrant);
            assert_eq!(s.code.as_deref(), Some("invalid_grant"));
            assert_eq!(s.to_string(), "HTTP 403 invalid_grant");
        } else {
            assert_eq!(
                (s.kind, s.code.as_deref()),
                (ServerErrorKind::Forbidden, None),
                "{step:?}"
            );
            assert_eq!(s.to_string(), "HTTP 403 (forbidden)");
        }
        match step {
            // An empty 403 names no OAuth error: it backs off, never ends.
            ItcPassword => assert_eq!(after, After::Retried),
            _ => assert_eq!(after, After::Finished),
        }
    }
}

#[test]
fn empty_body_with_406() {
    for step in ALL {
        let Some((err, after)) = empty_4xx(step, 406) else {
            continue;
        };
        let s = err.as_server().unwrap();
        assert_eq!(
            (s.status, s.kind, s.code.as_deref(), s.message.as_deref()),
            (StatusCode::NOT_ACCEPTABLE, ServerErrorKind::Rejected, None, None),
            "{step:?}"
        );
        assert_eq!(s.to_string(), "HTTP 406 (rejected)");
        assert!(!err.is_retryable());
        if step == ItcPassword {
            assert_eq!(after, After::Retried, "{step:?}");
        }
    }
}

#[test]
fn truncated_json() {
    for step in ALL {
        let body = step.ok_body();
        let cut = &body[..body.find(TOKEN).unwrap() + 8];
        assert_eq!(
            protocol(step, &json(200, cut)),
            ProtocolError::NotJson {
                status: StatusCode::OK,
                content_type: Some("application/json".to_owned())
            },
            "{step:?}"
        );
        // The same cut error body on a 400: the status speaks.
        let s = server(step, &json(400, r#"{"error":"invalid_req"#));
        assert_eq!(
            (s.status, s.code.as_deref()),
            (StatusCode::BAD_REQUEST, table_code(step, 400)),
            "{step:?}"
        );
    }
}

#[test]
fn top_level_values_that_are_not_objects() {
    for step in ALL {
        for body in [
            format!("[{}]", step.ok_body()),
            format!("\"{TOKEN}\""),
            "42".to_owned(),
            "null".to_owned(),
            "true".to_owned(),
        ] {
            assert_eq!(
                protocol(step, &json(200, &body)),
                not_one_object(),
                "{step:?} {body}"
            );
        }
    }
}

//! `fake::Gam`: scoped tokens and RFC 6749 refusals.

use super::*;

#[test]
fn gam_issues_scoped_tokens_and_refuses_in_rfc_6749_shape() {
    let mut gam = Gam::new();
    gam.add_client("shop", "s3cret", &["a:read", "b:write"]);
    let (status, body) = answer(&mut gam, T0, &gam_request("shop", "s3cret", "a:read b:write"));
    assert_eq!(status, 200);
    assert_eq!(
        (body["expires_in"].as_u64(), body["token_type"].as_str()),
        (Some(3600), Some("Bearer"))
    );
    assert_eq!(body["scope"], "a:read b:write");
    let token = AccessToken::new(text(&body, "access_token"));
    assert!(gam.accepts(at(3599), &token));
    assert!(!gam.accepts(at(3600), &token));

    assert_eq!(
        answer(&mut gam, T0, &gam_request("shop", "wrong", "a:read")).1["error"],
        "invalid_client"
    );
    assert_eq!(
        answer(&mut gam, T0, &gam_request("shop", "wrong", "a:read")).0,
        401
    );
    assert_eq!(
        answer(&mut gam, T0, &gam_request("shop", "s3cret", "")).1["error"],
        "invalid_scope"
    );
    assert_eq!(
        answer(&mut gam, T0, &gam_request("shop", "s3cret", "c:admin")).1["error"],
        "invalid_scope"
    );
    let no_secret = form(
        GAM_TOKEN,
        &[("grant_type", "client_credentials"), ("client_id", "shop")],
    );
    assert_eq!(answer(&mut gam, T0, &no_secret).1["error"], "invalid_request");
    let password = form(GAM_TOKEN, &[("grant_type", "password")]);
    assert_eq!(
        answer(&mut gam, T0, &password).1["error"],
        "unsupported_grant_type"
    );
    let repeated = form(
        GAM_TOKEN,
        &[
            ("grant_type", "client_credentials"),
            ("grant_type", "client_credentials"),
        ],
    );
    assert_eq!(
        answer(&mut gam, T0, &repeated),
        oauth_error(400, "invalid_request", "a parameter is repeated")
    );
}

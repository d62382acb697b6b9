//! `fake::Keycloak`'s token endpoint: grants, refusals, refresh expiry, sessions, rotation and revocation.

use super::*;

#[test]
fn keycloak_password_grant_success_has_keycloak_fields() {
    let mut realm = Keycloak::itc_staging();
    let (status, body) = answer(&mut realm, T0, &password_grant("easy-register-test", "Test@123"));
    assert_eq!(status, 200);
    assert_eq!(body["expires_in"], 300);
    assert_eq!(body["refresh_expires_in"], 1800);
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["not-before-policy"], 0);
    assert!(body["session_state"].is_string());
    let access = AccessToken::new(text(&body, "access_token"));
    assert!(realm.accepts(at(299), &access));
    assert!(!realm.accepts(at(300), &access));
    assert_eq!(realm.grants().password, 1);
}

#[test]
fn keycloak_refusals_match_keycloak() {
    let mut realm = Keycloak::itc_staging();
    realm.add_user("off", "pw");
    realm.disable_user("off");
    assert_eq!(
        answer(&mut realm, T0, &password_grant("easy-register-test", "wrong")),
        oauth_error(401, "invalid_grant", "Invalid user credentials")
    );
    assert_eq!(
        answer(&mut realm, T0, &password_grant("nobody", "Test@123")),
        oauth_error(401, "invalid_grant", "Invalid user credentials")
    );
    assert_eq!(
        answer(&mut realm, T0, &password_grant("off", "pw")),
        oauth_error(400, "invalid_grant", "Account disabled")
    );
    let other_client = form(TOKEN_PATH, &[("grant_type", "password"), ("client_id", "other")]);
    assert_eq!(
        answer(&mut realm, T0, &other_client),
        oauth_error(
            401,
            "invalid_client",
            "Invalid client or Invalid client credentials"
        )
    );
    let no_grant = form(TOKEN_PATH, &[("client_id", "vatps")]);
    assert_eq!(
        answer(&mut realm, T0, &no_grant),
        oauth_error(400, "invalid_request", "Missing form parameter: grant_type")
    );
    let other_grant = form(
        TOKEN_PATH,
        &[("grant_type", "client_credentials"), ("client_id", "vatps")],
    );
    assert_eq!(
        answer(&mut realm, T0, &other_grant),
        oauth_error(400, "unsupported_grant_type", "Unsupported grant_type")
    );
    let json = json_post(TOKEN_PATH, r#"{"grant_type":"password"}"#);
    assert_eq!(answer(&mut realm, T0, &json).0, 415);
    assert_eq!(realm.grants().refused, 7);
    assert_eq!(realm.grants().password, 0);
}

#[test]
fn keycloak_refresh_expiry_sessions_and_rotation() {
    let mut realm = Keycloak::itc_staging();
    let (_, body) = answer(&mut realm, T0, &password_grant("easy-register-test", "Test@123"));
    let first = text(&body, "refresh_token");

    // Refresh keeps the session's refresh deadline.
    let t1 = at(600);
    let (status, body) = answer(&mut realm, t1, &refresh_grant(&first));
    assert_eq!(status, 200);
    assert_eq!(body["refresh_expires_in"], 1200);
    let second = text(&body, "refresh_token");
    assert_ne!(second, first);
    // Without revocation the old refresh token still works.
    assert_eq!(answer(&mut realm, t1, &refresh_grant(&first)).0, 200);
    assert_eq!((realm.grants().password, realm.grants().refresh), (1, 2));

    let expired = at(1800);
    assert_eq!(
        answer(&mut realm, expired, &refresh_grant(&second)),
        oauth_error(400, "invalid_grant", "Token is not active")
    );
    assert_eq!(
        answer(&mut realm, t1, &refresh_grant("made-up")),
        oauth_error(400, "invalid_grant", "Invalid refresh token")
    );
    assert_eq!(
        answer(
            &mut realm,
            t1,
            &form(
                TOKEN_PATH,
                &[("grant_type", "refresh_token"), ("client_id", "vatps")]
            )
        ),
        oauth_error(400, "invalid_request", "Missing form parameter: refresh_token")
    );

    realm.end_sessions();
    assert_eq!(
        answer(&mut realm, t1, &refresh_grant(&second)),
        oauth_error(400, "invalid_grant", "Session not active")
    );
}

#[test]
fn keycloak_revocation_and_omitted_refresh_tokens() {
    let mut realm = Keycloak::itc_staging();
    realm.revoke_refresh_tokens = true;
    let (_, body) = answer(&mut realm, T0, &password_grant("easy-register-test", "Test@123"));
    let first = text(&body, "refresh_token");
    assert_eq!(answer(&mut realm, T0, &refresh_grant(&first)).0, 200);
    assert_eq!(
        answer(&mut realm, T0, &refresh_grant(&first)),
        oauth_error(400, "invalid_grant", "Invalid refresh token")
    );

    let mut realm = Keycloak::itc_staging();
    realm.omit_refresh_token_on_refresh = true;
    realm.token_type = "Bearer";
    let (_, body) = answer(&mut realm, T0, &password_grant("easy-register-test", "Test@123"));
    let first = text(&body, "refresh_token");
    let (status, body) = answer(&mut realm, T0, &refresh_grant(&first));
    assert_eq!(status, 200);
    assert_eq!(body["token_type"], "Bearer");
    assert!(body.get("refresh_token").is_none());
    // The old one stays valid, as Keycloak does without rotation.
    assert_eq!(answer(&mut realm, T0, &refresh_grant(&first)).0, 200);
}

#[test]
fn keycloak_forgets_sessions_a_day_after_their_refresh_deadline() {
    let mut realm = Keycloak::itc_staging();
    let (_, body) = answer(&mut realm, T0, &password_grant("easy-register-test", "Test@123"));
    let refresh = text(&body, "refresh_token");
    // Kept a day past the deadline, so its token is "not active" until then ...
    let forgotten = T0.saturating_add(realm.refresh_lifetime + Duration::from_secs(86_400));
    let last_moment = forgotten.saturating_sub(Duration::from_millis(1));
    assert_eq!(
        answer(&mut realm, last_moment, &refresh_grant(&refresh)),
        oauth_error(400, "invalid_grant", "Token is not active")
    );
    // ... and unknown from that instant on.
    assert_eq!(
        answer(&mut realm, forgotten, &refresh_grant(&refresh)),
        oauth_error(400, "invalid_grant", "Invalid refresh token")
    );
}

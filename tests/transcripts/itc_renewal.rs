//! The ITC session renewing: password grant, refresh, and the fallbacks to the password grant.

use super::*;

#[test]
fn itc_session_password_then_refresh() {
    let mut sim = Sim::new();
    sim.deadline()
        .poll(0)
        .deadline()
        .poll(0)
        .recv(1, keycloak("a1", 300, Some(("r1", 1800))))
        .deadline()
        .poll(1)
        .poll(269)
        .deadline()
        .poll(270)
        .poll(270)
        .poll(299)
        .deadline()
        .recv(271, keycloak("a2", 300, Some(("r2", 1800))))
        .deadline()
        .poll(539)
        .poll(540);
    assert_eq!(
        sim.log,
        [
            // Nothing held, nothing sent: attention is due at once.
            "deadline epoch".to_owned(),
            format!("+0s poll: {PASSWORD_GRANT}"),
            // In flight: the request's timeout is the next deadline.
            "deadline +60s".to_owned(),
            // Single flight: no second request, no token yet.
            "+0s poll: Wait +60s".to_owned(),
            "+1s recv 200: ok".to_owned(),
            // Renew 30 s before the expiry at +300 s.
            "deadline +270s".to_owned(),
            // Fresh: the token, and no request.
            "+1s poll: UseToken a1".to_owned(),
            "+269s poll: UseToken a1".to_owned(),
            "deadline +270s".to_owned(),
            format!("+270s poll: {}", refresh_grant("r1")),
            // While the refresh is out the old token is still valid and used.
            "+270s poll: UseToken a1".to_owned(),
            "+299s poll: UseToken a1".to_owned(),
            "deadline +330s".to_owned(),
            "+271s recv 200: ok".to_owned(),
            // The new token counts from the refresh's sending step (+270 s).
            "deadline +540s".to_owned(),
            "+539s poll: UseToken a2".to_owned(),
            format!("+540s poll: {}", refresh_grant("r2")),
        ]
    );
}

#[test]
fn itc_refused_refresh_falls_back_to_the_password_grant() {
    let mut sim = Sim::with_token(1800);
    sim.poll(270)
        .recv(
            271,
            response(
                400,
                r#"{"error":"invalid_grant","error_description":"Token is not active"}"#,
            ),
        )
        .deadline()
        .poll(271)
        .poll(271)
        .recv(272, keycloak("a3", 300, Some(("r3", 1800))))
        .poll(272)
        .deadline();
    assert_eq!(
        sim.log,
        [
            format!("+270s poll: {}", refresh_grant("r1")),
            // A refused refresh is not an error for the caller.
            "+271s recv 400: ok".to_owned(),
            // The dead refresh token is forgotten; renewal is due already.
            "deadline +270s".to_owned(),
            format!("+271s poll: {PASSWORD_GRANT}"),
            // The old access token is still valid until +300 s.
            "+271s poll: UseToken a1".to_owned(),
            "+272s recv 200: ok".to_owned(),
            "+272s poll: UseToken a3".to_owned(),
            "deadline +541s".to_owned(),
        ]
    );
}

#[test]
fn itc_refresh_refused_in_a_200_or_with_401_also_falls_back() {
    for refusal in [
        response(
            200,
            r#"{"error":"invalid_grant","error_description":"Session not active"}"#,
        ),
        response(
            401,
            r#"{"error":"invalid_grant","error_description":"Token is not active"}"#,
        ),
        response(401, ""),
    ] {
        let mut sim = Sim::with_token(1800);
        sim.poll(270).recv(270, refusal).poll(270);
        assert_eq!(
            sim.log[2],
            format!("+270s poll: {PASSWORD_GRANT}"),
            "{:?}",
            sim.log
        );
        assert!(sim.log[1].ends_with(": ok"), "{:?}", sim.log);
    }
}

#[test]
fn itc_refresh_without_refresh_token_keeps_the_old_one() {
    let mut sim = Sim::with_token(1800);
    sim.poll(270)
        .recv(270, keycloak("a2", 300, None))
        .poll(300)
        .deadline()
        .poll(540)
        .recv(540, keycloak("a3", 300, Some(("r3", 1800))))
        .poll(810);
    assert_eq!(
        sim.log,
        [
            format!("+270s poll: {}", refresh_grant("r1")),
            "+270s recv 200: ok".to_owned(),
            "+300s poll: UseToken a2".to_owned(),
            "deadline +540s".to_owned(),
            // The old refresh token is sent again.
            format!("+540s poll: {}", refresh_grant("r1")),
            "+540s recv 200: ok".to_owned(),
            format!("+810s poll: {}", refresh_grant("r3")),
        ]
    );
}

#[test]
fn itc_expired_refresh_token_means_a_password_grant_directly() {
    // The refresh token lives 200 s, the access token 300 s: at renewal time
    // (+270 s) the refresh token is dead, so no refresh is attempted.
    let mut sim = Sim::with_token(200);
    sim.poll(199).poll(270);
    assert_eq!(
        sim.log,
        [
            "+199s poll: UseToken a1".to_owned(),
            format!("+270s poll: {PASSWORD_GRANT}")
        ]
    );

    // A session left alone for a day: both tokens are dead.
    let mut sim = Sim::with_token(1800);
    sim.poll(86_400);
    assert_eq!(sim.log, [format!("+86400s poll: {PASSWORD_GRANT}")]);

    // Keycloak's `refresh_expires_in: 0` (offline token) never expires.
    let mut sim = Sim::with_token(0);
    sim.poll(86_400);
    assert_eq!(sim.log, [format!("+86400s poll: {}", refresh_grant("r1"))]);
}

/// A refresh token is used strictly before its expiry: at the very instant
/// it expires, the session goes back to the password grant.
#[test]
fn itc_refresh_token_expiring_at_the_renewal_instant_is_not_used() {
    let mut sim = Sim::with_token(271);
    sim.poll(270);
    assert_eq!(sim.log, [format!("+270s poll: {}", refresh_grant("r1"))]);
    let mut sim = Sim::with_token(270);
    sim.poll(270);
    assert_eq!(sim.log, [format!("+270s poll: {PASSWORD_GRANT}")]);
}

/// The session's Debug names its endpoint, user and phase, never a secret.
#[test]
fn itc_session_debug_shows_its_state_without_secrets() {
    let sim = Sim::with_token(1800);
    let shown = format!("{:?}", sim.session);
    assert!(shown.starts_with("PasswordSession"), "{shown}");
    assert!(
        shown.contains("openid-connect/token") && shown.contains("phase: Idle"),
        "{shown}"
    );
    assert!(
        shown.contains("Password(<redacted>)") && !shown.contains("a1\""),
        "{shown}"
    );
}

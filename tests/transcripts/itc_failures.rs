//! ITC session failures: refusals, transport, back-off, `Retry-After`, 401s, timeouts, hot loops.

use super::*;

#[test]
fn itc_refused_password_grant_ends_the_session() {
    let mut sim = Sim::new();
    sim.poll(0)
        .recv(
            1,
            response(
                401,
                r#"{"error":"invalid_grant","error_description":"Invalid user credentials"}"#,
            ),
        )
        .deadline()
        .poll(2)
        .poll(86_400)
        .fail(2)
        .recv(2, keycloak("x", 300, None));
    assert_eq!(
        sim.log,
        [
            format!("+0s poll: {PASSWORD_GRANT}"),
            "+1s recv 401: Err HTTP 401 invalid_grant: Invalid user credentials".to_owned(),
            "deadline none".to_owned(),
            "+2s poll: Err the flow has finished".to_owned(),
            "+86400s poll: Err the flow has finished".to_owned(),
            "+2s transport failed: Err the flow has finished".to_owned(),
            "+2s recv 200: Err the flow has finished".to_owned(),
        ]
    );
    assert!(sim.session.has_ended());
    assert!(sim.session.tokens().is_none());
    assert_eq!(
        sim.session.poll(at(3)).unwrap_err(),
        Error::Usage(UsageError::Finished)
    );
}

#[test]
fn itc_refused_fallback_password_grant_ends_the_session() {
    let mut sim = Sim::with_token(1800);
    sim.poll(270)
        .recv(
            270,
            response(
                400,
                r#"{"error":"invalid_grant","error_description":"Token is not active"}"#,
            ),
        )
        .poll(270)
        .recv(
            270,
            response(
                401,
                r#"{"error":"invalid_grant","error_description":"Invalid user credentials"}"#,
            ),
        )
        .poll(271)
        .poll(300);
    assert_eq!(
        sim.log,
        [
            format!("+270s poll: {}", refresh_grant("r1")),
            "+270s recv 400: ok".to_owned(),
            format!("+270s poll: {PASSWORD_GRANT}"),
            "+270s recv 401: Err HTTP 401 invalid_grant: Invalid user credentials".to_owned(),
            // Nothing is sent again; the still-valid a1 serves until it expires.
            "+271s poll: UseToken a1".to_owned(),
            "+300s poll: Err the flow has finished".to_owned(),
        ]
    );
    assert!(sim.session.has_ended());
}

#[test]
fn itc_transport_failure_backs_off_and_resends_the_same_grant() {
    let mut sim = Sim::new();
    sim.poll(0)
        .fail(5)
        .deadline()
        .poll(5)
        .poll(6)
        .fail(6)
        .deadline()
        .poll(7)
        .poll(8)
        .recv(8, keycloak("a1", 300, Some(("r1", 1800))))
        .poll(8)
        // A transport failure with nothing in flight is refused, not counted.
        .fail(9);
    assert_eq!(
        sim.log,
        [
            format!("+0s poll: {PASSWORD_GRANT}"),
            "+5s transport failed: ok".to_owned(),
            // First back-off: 1 s.
            "deadline +6s".to_owned(),
            "+5s poll: Wait +6s".to_owned(),
            format!("+6s poll: {PASSWORD_GRANT}"),
            "+6s transport failed: ok".to_owned(),
            // Second failure in a row: 2 s.
            "deadline +8s".to_owned(),
            "+7s poll: Wait +8s".to_owned(),
            format!("+8s poll: {PASSWORD_GRANT}"),
            "+8s recv 200: ok".to_owned(),
            "+8s poll: UseToken a1".to_owned(),
            "+9s transport failed: Err no request is in flight".to_owned(),
        ]
    );
}

#[test]
fn itc_failed_refresh_backs_off_and_resends_the_refresh() {
    let mut sim = Sim::with_token(1800);
    sim.poll(270)
        .fail(270)
        .deadline()
        .poll(270)
        .poll(271)
        .recv(272, response(502, "<html>Bad Gateway</html>"))
        .deadline()
        .poll(273)
        .poll(274)
        .recv(274, keycloak("a2", 300, Some(("r2", 1800))))
        .poll(275);
    assert_eq!(
        sim.log,
        [
            format!("+270s poll: {}", refresh_grant("r1")),
            "+270s transport failed: ok".to_owned(),
            "deadline +271s".to_owned(),
            // Backing off, but the access token is valid: use it.
            "+270s poll: UseToken a1".to_owned(),
            format!("+271s poll: {}", refresh_grant("r1")),
            "+272s recv 502: Err HTTP 502 (server unavailable)".to_owned(),
            "deadline +274s".to_owned(),
            "+273s poll: UseToken a1".to_owned(),
            format!("+274s poll: {}", refresh_grant("r1")),
            "+274s recv 200: ok".to_owned(),
            "+275s poll: UseToken a2".to_owned(),
        ]
    );
}

#[test]
fn itc_rate_limit_waits_at_least_retry_after() {
    let limited = http::Response::builder()
        .status(429)
        .header("retry-after", "120")
        .body(Vec::new())
        .unwrap();
    let mut sim = Sim::new();
    sim.poll(0)
        .recv(0, limited)
        .deadline()
        .poll(1)
        .poll(119)
        .poll(120);
    assert_eq!(
        sim.log,
        [
            format!("+0s poll: {PASSWORD_GRANT}"),
            "+0s recv 429: Err HTTP 429 (rate limited) (retry after 120 s)".to_owned(),
            "deadline +120s".to_owned(),
            "+1s poll: Wait +120s".to_owned(),
            "+119s poll: Wait +120s".to_owned(),
            format!("+120s poll: {PASSWORD_GRANT}"),
        ]
    );

    // The HTTP-date form: T0 + 600 s.
    let limited = http::Response::builder()
        .status(429)
        .header("retry-after", "Tue, 14 Nov 2023 22:23:20 GMT")
        .body(br#"{"error":"slow_down"}"#.to_vec())
        .unwrap();
    let mut sim = Sim::new();
    sim.poll(0).recv(0, limited).deadline().poll(599).poll(600);
    assert_eq!(
        sim.log,
        [
            format!("+0s poll: {PASSWORD_GRANT}"),
            format!(
                "+0s recv 429: Err HTTP 429 slow_down (retry after unix ms {})",
                at(600).as_unix_millis()
            ),
            "deadline +600s".to_owned(),
            "+599s poll: Wait +600s".to_owned(),
            format!("+600s poll: {PASSWORD_GRANT}"),
        ]
    );
}

#[test]
fn itc_retry_after_shorter_than_backoff_does_not_shorten_it() {
    // Two failures in a row make the back-off 2 s; a Retry-After of 1 s does
    // not bring the next request earlier.
    let limited = http::Response::builder()
        .status(503)
        .header("retry-after", "1")
        .body(Vec::new())
        .unwrap();
    let mut sim = Sim::new();
    sim.poll(0)
        .fail(0)
        .poll(1)
        .recv(1, limited)
        .deadline()
        .poll(2)
        .poll(3);
    assert_eq!(
        sim.log,
        [
            format!("+0s poll: {PASSWORD_GRANT}"),
            "+0s transport failed: ok".to_owned(),
            format!("+1s poll: {PASSWORD_GRANT}"),
            "+1s recv 503: Err HTTP 503 (server unavailable) (retry after 1 s)".to_owned(),
            "deadline +3s".to_owned(),
            "+2s poll: Wait +3s".to_owned(),
            format!("+3s poll: {PASSWORD_GRANT}"),
        ]
    );
}

#[test]
fn itc_unauthorized_forces_a_renewal() {
    let mut sim = Sim::with_token(1800);
    sim.poll(100)
        .unauthorized(100)
        .deadline()
        .poll(100)
        .poll(100)
        .recv(101, keycloak("a2", 300, Some(("r2", 1800))))
        .poll(101);
    assert_eq!(
        sim.log,
        [
            "+100s poll: UseToken a1".to_owned(),
            "+100s unauthorized".to_owned(),
            // Expired now: renewal was due already.
            // Refused: due at once; the next request once a second has passed since the last.
            "deadline +1s".to_owned(),
            format!("+100s poll: {}", refresh_grant("r1")),
            // The rejected token is not handed out again.
            "+100s poll: Wait +160s".to_owned(),
            "+101s recv 200: ok".to_owned(),
            "+101s poll: UseToken a2".to_owned(),
        ]
    );
}

#[test]
fn itc_unanswered_request_times_out_and_is_sent_again() {
    let mut sim = Sim::new();
    sim.poll(0)
        .poll(59)
        .poll(60)
        // The late answer to the lost request is not taken for a new one.
        .recv(60, keycloak("late", 300, None))
        .poll(61)
        .recv(61, keycloak("a1", 300, None))
        .poll(61);
    assert_eq!(
        sim.log,
        [
            format!("+0s poll: {PASSWORD_GRANT}"),
            "+59s poll: Wait +60s".to_owned(),
            // 60 s without an answer count as a transport failure: 1 s back-off.
            "+60s poll: Wait +61s".to_owned(),
            "+60s recv 200: Err no request is in flight".to_owned(),
            format!("+61s poll: {PASSWORD_GRANT}"),
            "+61s recv 200: ok".to_owned(),
            "+61s poll: UseToken a1".to_owned(),
        ]
    );
}

#[test]
fn itc_min_interval_stops_hot_loops_on_expired_tokens() {
    // A server that issues tokens with `expires_in: 0`.
    let mut sim = Sim::new();
    sim.poll(0)
        .recv(0, keycloak("z1", 0, None))
        .deadline()
        .poll(0)
        .poll(1)
        .recv(1, keycloak("z2", 0, None))
        .poll(1);
    assert_eq!(
        sim.log,
        [
            format!("+0s poll: {PASSWORD_GRANT}"),
            "+0s recv 200: ok".to_owned(),
            "deadline +1s".to_owned(),
            "+0s poll: Wait +1s".to_owned(),
            format!("+1s poll: {PASSWORD_GRANT}"),
            "+1s recv 200: ok".to_owned(),
            "+1s poll: Wait +2s".to_owned(),
        ]
    );
}

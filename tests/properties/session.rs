//! The ITC session under arbitrary operations: as a flow (`fetch`), by hand, one request in flight.

use super::*;

fn keycloak_ok(access: &str, expires_in: u64, refresh_expires_in: u64) -> http::Response<Vec<u8>> {
    let body = keycloak::token_body(access, &format!("r-{access}"), expires_in, refresh_expires_in);
    keycloak::response(200, body.to_string())
}

fn keycloak_refusal(status: u16, error: &str) -> http::Response<Vec<u8>> {
    let body = json!({"error": error, "error_description": "Token is not active"});
    http::Response::builder()
        .status(status)
        .body(serde_json::to_vec(&body).unwrap())
        .unwrap()
}

/// A session brought into one of several states at `t`.
fn session_in_state(state: u8, t: Timestamp) -> PasswordSession {
    let mut s = new_session();
    let state = state % 6;
    if state == 0 {
        return s;
    }
    let Ok(SessionAction::Send(_)) = s.poll(t) else {
        panic!("a new session sends the password grant")
    };
    match state {
        // Holding a token (fresh at `t`); state 2 lets it expire first.
        1 | 2 => {
            s.handle_response(t, keycloak_ok("a-1", 300, 1800)).unwrap();
            if state == 2 {
                s.unauthorized(t);
            }
        }
        // Backing off after a transport failure.
        3 => s.transport_failed(t).unwrap(),
        // Ended: the password was refused.
        4 => {
            s.handle_response(t, keycloak_refusal(401, "invalid_grant"))
                .unwrap_err();
            assert!(s.has_ended());
        }
        // A request in flight that the caller sent outside the Fetch.
        _ => assert!(s.in_flight().is_some()),
    }
    s
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn session_fetch_keeps_the_flow_contract(state in 0u8..6, t0 in arb_t0(), ops in arb_ops()) {
        let t = Timestamp::from_unix_millis(t0);
        let mut session = session_in_state(state, t);
        let ended = session.has_ended();
        let run = {
            let mut fetch = session.fetch();
            check_flow(&mut fetch, t0, &ops, ended)?
        };
        if let Some((token, at)) = run.done {
            // The token handed out is the session's, and valid when handed out.
            let held = session.tokens().expect("Done without a held token");
            prop_assert_eq!(held.access_token(), &token);
            prop_assert!(held.is_valid(at), "Done with a token that expired at {:?} (now {:?})",
                held.expires_at(), at);
            if let Some(e) = held.expires_at() {
                prop_assert!(e >= held.obtained_at());
            }
        }
        if ended {
            prop_assert!(session.has_ended());
        }
        if state == 5 {
            // The session's own request was in flight: the Fetch sends only
            // once that request counts as lost (the 60 s request timeout).
            let lost_at = t.saturating_add(session.pacing().renewal_timeout);
            if let Some(first) = run.sends.first() {
                prop_assert!(*first >= lost_at, "sent at {:?} while a request was in flight", first);
            }
        }
        // Whatever the Fetch left behind, the session still keeps its own contract.
        prop_assert_eq!(session.next_deadline().is_none(), session.has_ended());
    }
}

#[derive(Clone, Debug)]
enum SessionOp {
    Poll,
    Handle(ArbInput),
    Answer {
        expires_in: u64,
        refresh_expires_in: u64,
    },
    Refuse(u16, &'static str),
    TransportFailed,
    Unauthorized,
}

fn arb_session_op() -> impl Strategy<Value = SessionOp> {
    prop_oneof![
        6 => Just(SessionOp::Poll),
        3 => arb_response().prop_map(SessionOp::Handle),
        3 => (prop_oneof![Just(0u64), 1u64..600, any::<u64>()], prop_oneof![Just(0u64), 1u64..4000])
            .prop_map(|(expires_in, refresh_expires_in)| SessionOp::Answer { expires_in, refresh_expires_in }),
        1 => prop::sample::select(vec![
            (400u16, "invalid_grant"), (401, "invalid_grant"), (400, "invalid_client"), (401, "unauthorized"),
            (500, "server_error"), (503, "temporarily_unavailable"), (429, "slow_down"), (400, "invalid_request"),
        ]).prop_map(|(s, e)| SessionOp::Refuse(s, e)),
        1 => Just(SessionOp::TransportFailed),
        1 => Just(SessionOp::Unauthorized),
    ]
}

fn session_config() -> impl Strategy<Value = (u64, u64, u64, u64, u64)> {
    // renew margin, request timeout, min interval, initial back-off, max back-off (ms);
    // also values `Pacing::validate` refuses (a timeout under 1 s, a zero or
    // inverted back-off), which must leave the session's pacing as it was.
    prop_oneof![
        3 => Just((30_000u64, 60_000u64, 1_000u64, 1_000u64, 300_000u64)),
        1 => (0u64..120_000, 1u64..120_000, 0u64..5_000, 0u64..5_000, 0u64..600_000),
    ]
}

proptest! {
    #![proptest_config(config(512))]

    /// Random interleavings of poll / handle_response / transport_failed /
    /// unauthorized at random times.
    #[test]
    fn session_never_has_two_requests_in_flight(
        t0 in arb_t0(),
        config in session_config(),
        ops in arb_session_ops(),
    ) {
        check_session(t0, config, ops)?;
    }
}

fn arb_session_ops() -> impl Strategy<Value = Vec<(u64, SessionOp)>> {
    prop::collection::vec((arb_dt(), arb_session_op()), 0..40)
}

/// Feeds `ops` to a session and checks it against a model of what is in flight.
fn check_session(
    t0: u64,
    config: (u64, u64, u64, u64, u64),
    ops: Vec<(u64, SessionOp)>,
) -> Result<(), TestCaseError> {
    let mut s = new_session();
    let pacing = Pacing {
        renew_margin: Duration::from_millis(config.0),
        renewal_timeout: Duration::from_millis(config.1),
        min_interval: Duration::from_millis(config.2),
        initial_backoff: Duration::from_millis(config.3),
        max_backoff: Duration::from_millis(config.4),
        ..Pacing::session()
    };
    let valid = pacing.renewal_timeout >= Pacing::MIN_RENEWAL_TIMEOUT
        && !pacing.initial_backoff.is_zero()
        && pacing.max_backoff >= pacing.initial_backoff;
    match s.set_pacing(pacing) {
        Ok(()) => prop_assert!(valid, "{:?} accepted", pacing),
        Err(e) => {
            prop_assert!(!valid, "{:?} refused: {}", pacing, e);
            let typed = matches!(e, Error::Usage(UsageError::InvalidConfig { .. }));
            prop_assert!(typed, "refused with {:?}", e);
            prop_assert_eq!(
                s.pacing(),
                &Pacing::session(),
                "a refused pacing changed the session"
            );
        }
    }
    let timeout = s.pacing().renewal_timeout;
    let mut now = Timestamp::from_unix_millis(t0);
    // The model: the send time of the request in flight, and whether the session ended.
    let mut in_flight: Option<Timestamp> = None;
    let mut ended = false;
    let mut sends = 0u32;
    for (dt, op) in ops {
        now = now.saturating_add(Duration::from_millis(dt));
        let grant_before = s.in_flight();
        match op {
            SessionOp::Poll => {
                if in_flight.is_some_and(|sent| now.saturating_duration_since(sent) >= timeout) {
                    tally("session: request timed out");
                    in_flight = None; // lost: the session counts it as a failure
                }
                let tokens_valid = |s: &PasswordSession| s.tokens().is_some_and(|t| t.is_valid(now));
                let valid_before = s.tokens().is_some_and(|t| t.is_valid(now));
                let result = s.poll(now);
                if ended {
                    // An ended session sends nothing; a still-valid access token serves.
                    let valid = valid_before;
                    match result {
                        Ok(SessionAction::UseToken(_)) => {
                            prop_assert!(valid, "UseToken with an expired token")
                        }
                        Err(Error::Usage(UsageError::Finished)) => {
                            prop_assert!(!valid, "Finished with a valid token")
                        }
                        other => {
                            return Err(TestCaseError::fail(format!(
                                "an ended session answered {other:?}"
                            )))
                        }
                    }
                    continue;
                }
                match result {
                    Ok(SessionAction::UseToken(token)) => {
                        tally("session: UseToken");
                        let token = token.clone();
                        prop_assert!(tokens_valid(&s), "UseToken with an expired token at {:?}", now);
                        prop_assert_eq!(s.tokens().unwrap().access_token(), &token);
                    }
                    Ok(SessionAction::Send(request)) => {
                        tally("session: Send");
                        prop_assert!(in_flight.is_none(), "a second request in flight");
                        prop_assert_eq!(request.as_http().method(), http::Method::POST);
                        in_flight = Some(now);
                        sends += 1;
                    }
                    Ok(SessionAction::Wait(until)) => {
                        tally("session: Wait");
                        prop_assert!(
                            until > now || now == Timestamp::MAX,
                            "Wait({:?}) at {:?}",
                            until,
                            now
                        );
                        prop_assert!(!tokens_valid(&s), "Wait while holding a valid token");
                    }
                    Err(e) => return Err(TestCaseError::fail(format!("poll failed: {e}"))),
                }
            }
            SessionOp::Handle(_) | SessionOp::Answer { .. } | SessionOp::Refuse(..) => {
                let response = match &op {
                    SessionOp::Handle(i) => i.response().unwrap(),
                    SessionOp::Answer {
                        expires_in,
                        refresh_expires_in,
                    } => keycloak_ok(&format!("a-{sends}"), *expires_in, *refresh_expires_in),
                    SessionOp::Refuse(status, code) => keycloak_refusal(*status, code),
                    _ => unreachable!(),
                };
                let result = s.handle_response(now, response);
                if let Err(e) = &result {
                    prop_assert!(!e.to_string().is_empty());
                }
                if ended {
                    prop_assert!(matches!(result, Err(Error::Usage(UsageError::Finished))));
                } else if in_flight.is_none() {
                    tally("session: response without a request");
                    prop_assert!(
                        matches!(result, Err(Error::Usage(UsageError::NoRequestInFlight))),
                        "a response without a request was not refused: {:?}",
                        result
                    );
                } else {
                    in_flight = None;
                    match &result {
                        Ok(()) => {
                            tally("session: response accepted");
                            prop_assert!(!s.has_ended());
                        }
                        Err(Error::Server(_) | Error::Protocol(_)) => {}
                        Err(e) => return Err(TestCaseError::fail(format!("usage error {e:?}"))),
                    }
                    if s.has_ended() {
                        // Only a refused password grant ends a session.
                        prop_assert!(matches!(result, Err(Error::Server(_))));
                        prop_assert_eq!(grant_before, Some(tokendance::oauth2::Grant::Password));
                        prop_assert!(s.tokens().is_none_or(|t| t.refresh_token().is_none()));
                        tally("session: ended");
                        ended = true;
                    }
                }
            }
            SessionOp::TransportFailed => {
                let result = s.transport_failed(now);
                if ended {
                    prop_assert!(matches!(result, Err(Error::Usage(UsageError::Finished))));
                } else if in_flight.is_none() {
                    prop_assert!(matches!(result, Err(Error::Usage(UsageError::NoRequestInFlight))));
                } else {
                    prop_assert!(result.is_ok());
                    in_flight = None;
                }
            }
            SessionOp::Unauthorized => {
                s.unauthorized(now);
                if let Some(t) = s.tokens() {
                    prop_assert!(!t.is_valid(now), "the token is still valid after a 401");
                }
            }
        }
        prop_assert_eq!(s.in_flight().is_some(), in_flight.is_some());
        prop_assert_eq!(s.has_ended(), ended);
        prop_assert_eq!(s.next_deadline().is_none(), ended);
        if let Some(sent) = in_flight {
            prop_assert_eq!(s.next_deadline(), Some(sent.saturating_add(timeout)));
        }
        if let Some(t) = s.tokens() {
            if let Some(e) = t.expires_at() {
                prop_assert!(e >= t.obtained_at(), "expiry before the token was obtained");
            }
        }
    }
    Ok(())
}

/// The generators are not blind: over a few hundred deterministic cases,
/// every outcome the checks above distinguish actually happens.
#[test]
fn strategies_reach_every_outcome() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    let mut runner = TestRunner::deterministic();
    TALLY.with(|t| t.borrow_mut().clear());
    let one_shot = (0u8..4, arb_t0(), arb_ops());
    let fetch = (0u8..6, arb_t0(), arb_ops());
    let session = (arb_t0(), session_config(), arb_session_ops());
    for _ in 0..300 {
        let (which, t0, ops) = one_shot.new_tree(&mut runner).unwrap().current();
        check_flow(&mut build_one_shot(which), t0, &ops, false).unwrap();
        let (state, t0, ops) = fetch.new_tree(&mut runner).unwrap().current();
        let mut s = session_in_state(state, Timestamp::from_unix_millis(t0));
        let ended = s.has_ended();
        check_flow(&mut s.fetch(), t0, &ops, ended).unwrap();
        let (t0, config, ops) = session.new_tree(&mut runner).unwrap().current();
        check_session(t0, config, ops).unwrap();
    }
    let tally = TALLY.with(|t| t.borrow().clone());
    for outcome in [
        "flow: Send",
        "flow: Wait",
        "flow: Done",
        "flow: UnexpectedInput",
        "flow: NotStarted",
        "flow: AlreadyStarted",
        "flow: Aborted",
        "flow: Server",
        "flow: Protocol",
        "flow: call after the end",
        "session: UseToken",
        "session: Send",
        "session: Wait",
        "session: request timed out",
        "session: ended",
        "session: response without a request",
        "session: response accepted",
    ] {
        assert!(
            tally.get(outcome).copied().unwrap_or(0) > 0,
            "{outcome} never happened: {tally:#?}"
        );
    }
}

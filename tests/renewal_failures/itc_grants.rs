//! ITC: what follows each answer to the refresh and to the password grant (fallback, back-off, end).

use super::*;

/// A 4xx that says nothing of being retryable (not 408 or 429), with a body
/// that is no OAuth refusal: plain text, HTML, JSON without `error`.
fn non_oauth_refusal() -> impl Strategy<Value = Hostile> {
    let named = select(vec![
        Hostile::answer(400, PLAIN),
        Hostile::answer(401, WAF),
        Hostile::answer(403, WAF),
        Hostile::answer(404, PAGE_404),
        Hostile::answer(400, JSON_EMPTY),
        Hostile::answer(401, JSON_EMPTY),
    ]);
    let statuses = prop_oneof![
        2 => select(vec![400u16, 401, 403, 404]),
        3 => (400u16..500).prop_filter("retryable", |s| ![408, 429].contains(s)),
    ];
    let sampled = answers(statuses, 0..BODIES.len());
    prop_oneof![1 => named, 3 => sampled]
}

/// A non-OAuth refusal of the refresh: the very next request (at the same
/// instant) is the password grant, not the same refresh again.
#[test]
fn a_non_oauth_refusal_of_the_refresh_is_followed_by_the_password_grant() {
    let mut tally = Tally::new("a_non_oauth_refusal_of_the_refresh_is_followed_by_the_password_grant");
    let rows = (non_oauth_refusal(), 270_000u64..299_000);
    tally.sample(300, rows, |(hostile, offset_ms)| {
        let (mut session, mut server) = itc_granted()?;
        let old = session.tokens().unwrap().access_token().clone();
        let t = at_ms(*offset_ms);
        let refresh = match session.poll(t) {
            Ok(SessionAction::Send(request)) => request,
            other => return Err(format!("setup: no refresh at {t:?}: {other:?}")),
        };
        if form_field(refresh.as_http().body(), "grant_type").as_deref() != Some("refresh_token") {
            return Err("setup: the renewal is not a refresh".into());
        }
        let _ = session.handle_response(t, hostile.response().unwrap());
        let next = match session.poll(t) {
            Ok(SessionAction::Send(request)) => request,
            Ok(SessionAction::UseToken(_)) => {
                return Err("fallback: the session keeps the token and backs off".into())
            }
            other => return Err(format!("fallback: {other:?}")),
        };
        let grant = form_field(next.as_http().body(), "grant_type");
        if grant.as_deref() != Some("password") || session.in_flight() != Some(Grant::Password) {
            return Err(format!("fallback: the next request is {grant:?}"));
        }
        let answer = server.real(t, next);
        session
            .handle_response(t, answer)
            .map_err(|e| format!("password grant: {e}"))?;
        match session.poll(t) {
            Ok(SessionAction::UseToken(token)) if *token != old => Ok(()),
            other => Err(format!("password grant: then {other:?}")),
        }
    });
    tally.finish();
}

/// A rate limit, a timeout or a server failure of the refresh keeps the
/// refresh token: once the back-off ends (at `next_deadline()`), the same
/// grant goes again, never the password grant.
#[test]
fn a_retryable_failure_of_the_refresh_sends_the_refresh_again_after_the_back_off() {
    let mut tally =
        Tally::new("a_retryable_failure_of_the_refresh_sends_the_refresh_again_after_the_back_off");
    let retryable = prop_oneof![
        answers(prop_oneof![Just(408u16), Just(429), 500u16..600], 0..BODIES.len()),
        (400u16..600, BODIES.len()..BODIES.len() + RETRYABLE_OAUTH.len())
            .prop_map(|(status, body)| Hostile::answer(status, body)),
        Just(Hostile::Dropped),
    ];
    tally.sample(200, (retryable, 270_000u64..290_000), |(hostile, offset_ms)| {
        let (mut session, _server) = itc_granted()?;
        let t = at_ms(*offset_ms);
        let Ok(SessionAction::Send(_refresh)) = session.poll(t) else {
            return Err("setup: no refresh".into());
        };
        match hostile.response() {
            Some(response) => {
                let _ = session.handle_response(t, response);
            }
            None => session.transport_failed(t).map_err(|e| format!("setup: {e}"))?,
        }
        let Some(deadline) = session.next_deadline() else {
            return Err("deadline: none".into());
        };
        if deadline <= t {
            return Err(format!(
                "backoff: next_deadline {deadline:?} is not after the failure"
            ));
        }
        match session.poll(deadline) {
            Ok(SessionAction::Send(request)) => {
                let grant = form_field(request.as_http().body(), "grant_type");
                (grant.as_deref() == Some("refresh_token"))
                    .then_some(())
                    .ok_or_else(|| format!("grant: after the back-off the session sent {grant:?}"))
            }
            other => Err(format!("deadline: at next_deadline the session gave {other:?}")),
        }
    });
    tally.finish();
}

/// A typed OAuth refusal of the refresh, at every status a server or a
/// proxy puts it on: a 4xx that is not a rate limit, or `invalid_grant` on
/// a 2xx, sends the password grant at once; a rate limit or a server
/// failure keeps the refresh token, and the refresh goes again at
/// `next_deadline()`; any other code on a 2xx backs off the same way.
#[test]
fn a_typed_refusal_of_the_refresh_falls_back_or_backs_off_by_its_status() {
    let mut tally = Tally::new("a_typed_refusal_of_the_refresh_falls_back_or_backs_off_by_its_status");
    let t = at_ms(280_000);
    for code in TYPED_REFUSALS {
        for status in [
            200u16, 400, 401, 403, 404, 408, 409, 422, 429, 500, 502, 503, 504, 599,
        ] {
            let falls_back =
                ((400..500).contains(&status) && status != 429) || (status == 200 && code == "invalid_grant");
            let result = (|| {
                let (mut session, _server) = itc_granted()?;
                match session.poll(t) {
                    Ok(SessionAction::Send(refresh))
                        if form_field(refresh.as_http().body(), "grant_type").as_deref()
                            == Some("refresh_token") => {}
                    other => {
                        return Err(format!(
                            "setup: no refresh: {:?}",
                            other.map(|a| session_kind(&a))
                        ))
                    }
                }
                let response = Hostile::Typed { status, code }.response().unwrap();
                // A fallback is no error of the session's: its next request is.
                match (falls_back, session.handle_response(t, response)) {
                    (true, Ok(())) | (false, Err(Error::Server(_))) => {}
                    (_, handled) => return Err(format!("handled: {handled:?}")),
                }
                let (at, expected) = if falls_back {
                    (t, "password")
                } else {
                    match session.poll(t) {
                        Ok(SessionAction::UseToken(_)) => {}
                        other => return Err(format!("back-off: {:?}", other.map(|a| session_kind(&a)))),
                    }
                    let deadline = session.next_deadline().unwrap_or(Timestamp::MAX);
                    if deadline <= t {
                        return Err(format!("back-off: deadline {deadline:?} not after the failure"));
                    }
                    (deadline, "refresh_token")
                };
                match session.poll(at) {
                    Ok(SessionAction::Send(next)) => {
                        let grant = form_field(next.as_http().body(), "grant_type");
                        (grant.as_deref() == Some(expected))
                            .then_some(())
                            .ok_or_else(|| format!("expected {expected}, sent {grant:?}"))
                    }
                    other => Err(format!(
                        "expected {expected}: {:?}",
                        other.map(|a| session_kind(&a))
                    )),
                }
            })();
            tally.check(format_args!("{status} {code}"), result);
        }
    }
    tally.finish();
}

/// Bodies of refusals that do not name the credentials: [`BODIES`] and the
/// OAuth codes that say "later".
fn untyped_answer() -> impl Strategy<Value = Hostile> {
    let named = select(vec![
        Hostile::answer(401, WAF),
        Hostile::answer(403, WAF),
        Hostile::answer(404, PAGE_404),
        Hostile::answer(401, JSON_EMPTY),
        Hostile::answer(403, JSON_NO_ERROR),
        Hostile::answer(400, PLAIN),
    ]);
    let statuses = prop_oneof![
        3 => select(vec![401u16, 403, 404]),
        2 => 400u16..600,
    ];
    let sampled = answers(statuses, 0..BODIES.len() + RETRYABLE_OAUTH.len());
    prop_oneof![1 => named, 3 => sampled]
}

/// A proxy's or firewall's page (401, 403, 404 and the rest), or JSON
/// without an OAuth refusal, to the password grant: the session backs off,
/// does not end, and a later good answer gives it a token. Through
/// `poll`/`handle_response` or through an `Authorized` call.
#[test]
fn a_proxy_refusal_of_the_password_grant_backs_off_and_the_session_goes_on() {
    let mut tally = Tally::new("a_proxy_refusal_of_the_password_grant_backs_off_and_the_session_goes_on");
    tally.sample(
        300,
        (untyped_answer(), any::<bool>()),
        |(hostile, through_call)| {
            let mut session = itc_session();
            let mut server = Itc::new();
            let err = if *through_call {
                server.hostile = Some(hostile.clone());
                let mut now = T0;
                match itc_call(&mut session, &mut now, &mut server, Via::Consumer) {
                    Err(err) => err,
                    Ok(_) => return Err("setup: the call succeeded".into()),
                }
            } else {
                let Ok(SessionAction::Send(_)) = session.poll(T0) else {
                    return Err("setup: no password grant".into());
                };
                match session.handle_response(T0, hostile.response().unwrap()) {
                    Err(err) => err,
                    Ok(()) => return Err("setup: the refusal was accepted".into()),
                }
            };
            hostile.check_error(&err)?;
            if session.has_ended() {
                return Err(format!("ended: {err}"));
            }
            let until = match session.poll(T0) {
                Ok(SessionAction::Wait(until)) if until > T0 => until,
                other => return Err(format!("backoff: right after the refusal, poll gave {other:?}")),
            };
            if session.next_deadline() != Some(until) {
                return Err(format!(
                    "deadline: {:?}, the wait {until:?}",
                    session.next_deadline()
                ));
            }
            let request = match session.poll(until) {
                Ok(SessionAction::Send(request)) => request,
                other => return Err(format!("retry: at the end of the back-off, poll gave {other:?}")),
            };
            let answer = server.real(until, request);
            session
                .handle_response(until, answer)
                .map_err(|e| format!("retry: {e}"))?;
            match session.poll(until) {
                Ok(SessionAction::UseToken(_)) => Ok(()),
                other => Err(format!("retry: then {other:?}")),
            }
        },
    );
    tally.finish();
}

/// A typed OAuth refusal of the password grant ends the session: every
/// code at 400, 401 and 403, and the fake realm's own refusals (a wrong
/// password, an unknown client).
#[test]
fn a_typed_oauth_refusal_of_the_password_grant_ends_the_session() {
    let mut tally = Tally::new("a_typed_oauth_refusal_of_the_password_grant_ends_the_session");
    let ended = |session: &mut tokendance::oauth2::PasswordSession,
                 err: Result<(), Error>,
                 code: &str|
     -> Result<(), String> {
        match err {
            Err(Error::Server(refusal)) if refusal.code.as_deref() == Some(code) => {}
            other => return Err(format!("error: {other:?}")),
        }
        if !session.has_ended() || session.tokens().is_some() || session.next_deadline().is_some() {
            return Err(format!(
                "ended: has_ended {}, next_deadline {:?}",
                session.has_ended(),
                session.next_deadline()
            ));
        }
        match session.poll(at(3600)) {
            Err(Error::Usage(UsageError::Finished)) => Ok(()),
            other => Err(format!("ended: a later poll gave {other:?}")),
        }
    };
    for code in TYPED_REFUSALS {
        for status in [400u16, 401, 403] {
            let mut session = itc_session();
            let result = match session.poll(T0) {
                Ok(SessionAction::Send(_)) => {
                    let response = Hostile::Typed { status, code }.response().unwrap();
                    let err = session.handle_response(T0, response);
                    ended(&mut session, err, code)
                }
                other => Err(format!("setup: {other:?}")),
            };
            tally.check(format_args!("{status} {code}"), result);
        }
    }
    // The fake realm: a wrong password (401 invalid_grant).
    let mut session =
        itc::session(&itc_config(), itc::STAGING_TEST_USERNAME, Password::new("wrong")).unwrap();
    let mut realm = fake::Keycloak::itc_staging();
    let Ok(SessionAction::Send(request)) = session.poll(T0) else {
        panic!("no password grant")
    };
    let answer = realm.handle(T0, &request.into_http());
    assert_eq!(answer.status(), 401);
    let err = session.handle_response(T0, answer);
    tally.check("fake: wrong password", ended(&mut session, err, "invalid_grant"));
    // A realm that does not know the client `vatps` (401 invalid_client).
    let mut session = itc_session();
    let mut realm = fake::Keycloak::new("another-client");
    realm.add_user(itc::STAGING_TEST_USERNAME, itc::STAGING_TEST_PASSWORD);
    let Ok(SessionAction::Send(request)) = session.poll(T0) else {
        panic!("no password grant")
    };
    let answer = realm.handle(T0, &request.into_http());
    let err = session.handle_response(T0, answer);
    tally.check("fake: unknown client", ended(&mut session, err, "invalid_client"));
    tally.finish();
}

/// A typed OAuth code at a rate limit or a server failure says the server is
/// in trouble, not that the credentials are wrong: the session backs off and
/// sends the password grant again afterwards.
#[test]
fn a_typed_oauth_code_at_a_rate_limit_or_server_failure_backs_off() {
    let mut tally = Tally::new("a_typed_oauth_code_at_a_rate_limit_or_server_failure_backs_off");
    for code in TYPED_REFUSALS {
        for status in [429u16, 500, 502, 503, 504, 599] {
            let mut session = itc_session();
            let result = match session.poll(T0) {
                Ok(SessionAction::Send(_)) => {
                    let response = Hostile::Typed { status, code }.response().unwrap();
                    let refused = matches!(session.handle_response(T0, response), Err(Error::Server(_)));
                    let later = session.next_deadline().unwrap_or(Timestamp::MAX);
                    let ended = session.has_ended();
                    let at_once = session.poll(T0).map(|a| session_kind(&a));
                    let then = session.poll(later).map(|a| session_kind(&a));
                    match (refused, ended, at_once, then) {
                        (true, false, Ok("Wait"), Ok("Send")) => Ok(()),
                        (refused, ended, at_once, then) => Err(format!(
                            "refused {refused}, ended {ended}, at once {at_once:?}, at {later:?} {then:?}"
                        )),
                    }
                }
                other => Err(format!("setup: {other:?}")),
            };
            tally.check(format_args!("{status} {code}"), result);
        }
    }
    tally.finish();
}

//! ITC: a refresh failing before expiry leaves the call its valid token; a typed refusal ends the session.

use super::*;

#[derive(Debug)]
struct WindowCase {
    hostile: Hostile,
    /// When the call is made, after `T0 + 270 s` (the token still valid).
    offset_ms: u64,
    /// How long after expiry the last call is made.
    late_ms: u64,
    via: Via,
}

fn window_cases() -> impl Strategy<Value = WindowCase> {
    (
        prop_oneof![
            2 => select(named_failures()),
            4 => any_answer(BODIES.len() + RETRYABLE_OAUTH.len()),
            1 => Just(Hostile::Dropped),
        ],
        prop_oneof![Just(270_000u64), 270_000u64..299_000],
        0u64..5_000,
        select(vec![Via::Consumer, Via::Profile, Via::Fetch]),
    )
        .prop_map(|(hostile, offset_ms, late_ms, via)| WindowCase {
            hostile,
            offset_ms,
            late_ms,
            via,
        })
}

/// The refresh, due 30 s before expiry, fails: the call succeeds with the
/// still-valid token, the session backs off (holding the token, sending
/// nothing); after expiry, the failure reaches the call; once the realm
/// answers again, so does the session.
#[test]
fn a_failed_refresh_leaves_the_call_its_valid_token() {
    let mut tally = Tally::new("a_failed_refresh_leaves_the_call_its_valid_token");
    let check = |case: &WindowCase| {
        let (mut session, mut server, old) = itc_with_token();
        server.hostile = Some(case.hostile.clone());
        let t = at_ms(case.offset_ms);
        let mut now = t;
        let fetched = match itc_call(&mut session, &mut now, &mut server, case.via) {
            Ok(fetched) => fetched,
            Err(err) => {
                return Err(format!(
                    "reached: the call failed with {err} while the token had {:?} left",
                    at(300).saturating_duration_since(t)
                ))
            }
        };
        let used: Vec<String> = match fetched {
            Some(token) => vec![token.expose_secret().to_owned()],
            None => server.service_tokens.clone(),
        };
        if used != [old.expose_secret()] {
            return Err(format!("token: the call used {used:?}"));
        }
        let expected: &[&str] = if case.hostile.refuses_refresh() {
            &["refresh_token", "password"]
        } else {
            &["refresh_token"]
        };
        if server.grants != expected {
            return Err(format!("grants: {:?}, expected {expected:?}", server.grants));
        }
        if now != t {
            return Err(format!(
                "waited: the call waited {:?}",
                now.saturating_duration_since(t)
            ));
        }
        // Backing off: the token is used, nothing is sent.
        for later in [0, 1, 500] {
            match session.poll(t.saturating_add(Duration::from_millis(later))) {
                Ok(SessionAction::UseToken(token)) if *token == old => {}
                other => {
                    return Err(format!(
                        "backoff: {later} ms after the failure, poll gave {other:?}"
                    ))
                }
            }
        }
        if session.next_deadline().is_none_or(|d| d <= t) {
            return Err(format!("backoff: next_deadline {:?}", session.next_deadline()));
        }
        // After expiry, the failure is the call's.
        server.clear_logs();
        let mut now = at(300).saturating_add(Duration::from_millis(case.late_ms));
        match itc_call(&mut session, &mut now, &mut server, case.via) {
            Err(err) => case.hostile.check_error(&err)?,
            Ok(_) => {
                return Err("expired: the call succeeded with an expired token and a failing realm".into())
            }
        }
        if !server.service_tokens.is_empty() {
            return Err(format!(
                "expired: the service was called with {:?}",
                server.service_tokens
            ));
        }
        if session.has_ended() {
            return Err("ended: an untyped failure ended the session".into());
        }
        // The realm answers again: a new token.
        server.hostile = None;
        let mut now = now.saturating_add(Duration::from_secs(600));
        itc_call(&mut session, &mut now, &mut server, case.via).map_err(|e| format!("recovery: {e}"))?;
        match session.tokens() {
            Some(tokens) if *tokens.access_token() != old => Ok(()),
            _ => Err("recovery: no new token".into()),
        }
    };
    // The review's answers, each through the three ways, then sampled ones.
    for hostile in named_failures() {
        for via in [Via::Consumer, Via::Profile, Via::Fetch] {
            let case = WindowCase {
                hostile: hostile.clone(),
                offset_ms: 270_000,
                late_ms: 0,
                via,
            };
            tally.check(format_args!("{case:?}"), check(&case));
        }
    }
    tally.sample(300, window_cases(), check);
    tally.finish();
}

/// The refresh, due 30 s before expiry, is refused with a typed OAuth code
/// at a 4xx, and so is the password grant it falls back to: the session
/// ends, yet every call until expiry gets the still-valid token without a
/// request; after expiry a call is `Usage(Finished)` and sends nothing.
#[test]
fn a_typed_refusal_in_the_window_ends_the_session_and_the_token_serves_until_expiry() {
    let mut tally =
        Tally::new("a_typed_refusal_in_the_window_ends_the_session_and_the_token_serves_until_expiry");
    for code in TYPED_REFUSALS {
        for status in [400u16, 401, 403] {
            for via in [Via::Consumer, Via::Profile, Via::Fetch] {
                let result = (|| {
                    let (mut session, mut server, old) = itc_with_token();
                    server.hostile = Some(Hostile::Typed { status, code });
                    let t = at_ms(275_000);
                    let mut now = t;
                    // The token a call used: handed out (fetch) or sent to the service.
                    let used = |fetched: Option<AccessToken>, server: &Itc| -> Vec<String> {
                        match fetched {
                            Some(token) => vec![token.expose_secret().to_owned()],
                            None => server.service_tokens.clone(),
                        }
                    };
                    match itc_call(&mut session, &mut now, &mut server, via) {
                        Ok(fetched) if used(fetched.clone(), &server) == [old.expose_secret()] => {}
                        Ok(fetched) => {
                            return Err(format!("token: the call used {:?}", used(fetched, &server)))
                        }
                        Err(err) => return Err(format!("reached: the call failed with {err}")),
                    }
                    if server.grants != ["refresh_token", "password"] {
                        return Err(format!("grants: {:?}", server.grants));
                    }
                    if !session.has_ended() {
                        return Err("ended: the refused password grant left the session running".into());
                    }
                    // Until expiry: the token, and no request.
                    for ms in [275_000u64, 280_000, 299_999] {
                        server.clear_logs();
                        let mut now = at_ms(ms);
                        let fetched = itc_call(&mut session, &mut now, &mut server, via)
                            .map_err(|e| format!("serving: at {ms} ms the call failed with {e}"))?;
                        if used(fetched, &server) != [old.expose_secret()] {
                            return Err(format!("serving: at {ms} ms another token was used"));
                        }
                        if !server.grants.is_empty() {
                            return Err(format!(
                                "serving: at {ms} ms the session sent {:?}",
                                server.grants
                            ));
                        }
                    }
                    // After expiry: finished, nothing sent.
                    server.clear_logs();
                    let mut now = at(300);
                    match itc_call(&mut session, &mut now, &mut server, via) {
                        Err(Error::Usage(UsageError::Finished)) => {}
                        other => return Err(format!("expired: {:?}", other.map(|_| "a success"))),
                    }
                    if !server.grants.is_empty() || !server.service_tokens.is_empty() {
                        return Err(format!(
                            "expired: sent {:?}, served {:?}",
                            server.grants, server.service_tokens
                        ));
                    }
                    Ok(())
                })();
                tally.check(format_args!("{status} {code} {via:?}"), result);
            }
        }
    }
    tally.finish();
}

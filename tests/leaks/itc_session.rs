//! The ITC password session: grants, refusals, refreshes and its Flow, against echoing answers.

use super::*;

/// Common's Keycloak answer, its `session_state` a canary too.
fn keycloak_token(access: &str, refresh: &str) -> http::Response<Vec<u8>> {
    let mut body = token_body(access, refresh, 300, 1800);
    body["session_state"] = REFRESH_2.into();
    json(200, body)
}

fn poll_send(seen: &mut Seen, label: &str, s: &mut PasswordSession, now: Timestamp) -> tokendance::Outgoing {
    let action = s.poll(now).unwrap();
    seen.debug(label, &action);
    match action {
        SessionAction::Send(out) => {
            seen.outgoing(label, &out);
            out
        }
        other => panic!("{label}: expected Send, got {other:?}"),
    }
}

#[test]
fn itc_session_never_prints_a_canary() {
    let mut seen = Seen::default();
    for pw in [PW, PW_SPECIAL] {
        let mut s = itc_session(pw);
        seen.debug("session new", &s);
        seen.debug("session config", s.config());
        let t0 = T0;
        let out = poll_send(&mut seen, "password grant", &mut s, t0);
        assert_body_carries("password grant", out.as_http().body(), &[pw]);
        let raw = String::from_utf8(out.into_http().into_body()).unwrap();

        // A refused password grant echoing the password ends the session.
        let mut refused = itc_session(pw);
        let _ = poll_send(&mut seen, "refused grant", &mut refused, t0);
        let e = refused
            .handle_response(
                t0,
                json(
                    401,
                    serde_json::json!({"error": "invalid_grant",
                        "error_description": format!("Invalid user credentials for {pw} in {raw}")}),
                ),
            )
            .unwrap_err();
        seen.error("refused password grant", &e);
        assert!(refused.has_ended());
        seen.debug("ended session", &refused);
        seen.error("poll after end", &refused.poll(t0).unwrap_err());

        // A 5xx echoing the password: backing off.
        let mut failing = itc_session(pw);
        let _ = poll_send(&mut seen, "failing grant", &mut failing, t0);
        let e = failing
            .handle_response(
                t0,
                response(503, &[("retry-after", "7")], format!("<h1>{pw} {raw}</h1>")),
            )
            .unwrap_err();
        seen.error("5xx", &e);
        seen.debug("backing off", &failing);
        seen.debug("backing off poll", &failing.poll(t0).unwrap());
        seen.error(
            "no request in flight",
            &failing
                .handle_response(t0, keycloak_token(ACCESS, REFRESH))
                .unwrap_err(),
        );

        // A 200 that holds the token but fails to parse.
        let mut malformed = itc_session(pw);
        let _ = poll_send(&mut seen, "malformed grant", &mut malformed, t0);
        let e = malformed
            .handle_response(
                t0,
                json(
                    200,
                    serde_json::json!({"access_token": ACCESS, "refresh_token": REFRESH, "expires_in": -1}),
                ),
            )
            .unwrap_err();
        seen.error("malformed 200", &e);
        seen.debug("after malformed", &malformed);

        // Success, use, refresh, refused refresh echoing the refresh token,
        // password grant again.
        s.handle_response(t0, keycloak_token(ACCESS, REFRESH)).unwrap();
        seen.debug("session with tokens", &s);
        seen.token("session tokens", s.tokens().unwrap());
        let use_now = s.poll(t0).unwrap();
        seen.debug("use token", &use_now);
        let SessionAction::UseToken(tok) = use_now else {
            panic!()
        };
        assert_eq!(tok.expose_secret(), ACCESS);
        let t1 = t0.saturating_add(Duration::from_secs(280));
        let out = poll_send(&mut seen, "refresh", &mut s, t1);
        assert_body_carries("refresh", out.as_http().body(), &[REFRESH]);
        let raw_refresh = String::from_utf8(out.into_http().into_body()).unwrap();
        seen.debug("refresh in flight", &s);
        seen.debug("poll while in flight", &s.poll(t1).unwrap());
        s.handle_response(
            t1,
            json(
                400,
                serde_json::json!({"error": "invalid_grant",
                    "error_description": format!("Token is not active: {REFRESH} / {raw_refresh}")}),
            ),
        )
        .unwrap();
        seen.debug("refresh refused", &s);
        let out = poll_send(&mut seen, "password grant again", &mut s, t1);
        assert_body_carries("password grant again", out.as_http().body(), &[pw]);
        // A refresh answered with 5xx echoing the refresh token.
        s.handle_response(t1, keycloak_token(ACCESS_2, REFRESH_2))
            .unwrap();
        let t2 = t1.saturating_add(Duration::from_secs(280));
        let _ = poll_send(&mut seen, "second refresh", &mut s, t2);
        let e = s
            .handle_response(
                t2,
                json(500, serde_json::json!({"error": "server_error", "error_description": format!("{REFRESH_2} {pw}")})),
            )
            .unwrap_err();
        seen.error("refresh 5xx", &e);
        s.unauthorized(t2);
        seen.debug("after unauthorized", &s);

        // The session as a Flow, by hand and through the driver.
        let t3 = t2.saturating_add(Duration::from_secs(3600));
        {
            let mut fetch = s.fetch();
            seen.debug("fetch new", &fetch);
            let a = fetch.start(t3).unwrap();
            seen.debug("fetch first action", &a);
            let Action::Send(out) = a else { panic!("{a:?}") };
            seen.outgoing("fetch request", &out);
            seen.debug("fetch awaiting", &fetch);
            let e = fetch
                .resume(t3, Input::Signature(Signature::from_der(SIG_DER.to_vec())))
                .unwrap_err();
            seen.error("fetch wrong input", &e);
            let a = fetch
                .resume(t3, Input::Response(keycloak_token(ACCESS, REFRESH)))
                .unwrap();
            seen.debug("fetch done", &a);
            let Action::Done(token) = a else { panic!() };
            assert_eq!(token.expose_secret(), ACCESS);
            seen.debug("fetch finished", &fetch);
            seen.error("fetch after end", &fetch.resume(t3, Input::Timeout).unwrap_err());
        }
        let t4 = t3.saturating_add(Duration::from_secs(3600));
        let e = drive::drive(
            s.fetch(),
            || t4,
            |_| {
                Ok::<_, std::io::Error>(json(
                    401,
                    serde_json::json!({"error": "invalid_grant", "error_description": format!("{pw} {REFRESH}")}),
                ))
            },
            drive::no_signer,
            |_| {},
        )
        .unwrap_err();
        seen.both("fetch drive error", &e);
        seen.debug("session at the end", &s);
    }
    seen.assert_clean(150);
}

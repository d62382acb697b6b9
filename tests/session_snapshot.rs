//! `PasswordSession::snapshot` / `restore` across a simulated restart on a
//! fake ITC realm: the restored session hands out the saved access token,
//! renews with the saved refresh token (never a password grant while it
//! works), and falls back to the password grant once it has expired; what
//! restore does with newer tokens and with another session's snapshot; and
//! that neither a snapshot nor a refused one prints a token.
#![cfg(feature = "fake")]

mod common;

use common::holders::{itc_config, itc_session};
use common::leak_oracle::Oracle;
use tokendance::fake::{Fake, Keycloak};
use tokendance::oauth2::{PasswordSession, SessionAction, SessionSnapshot, SnapshotError};
use tokendance::{drive, itc, Error, Outgoing, Password, Timestamp, UsageError};

const T0: u64 = 1_700_000_000;

fn at(secs: u64) -> Timestamp {
    Timestamp::from_unix_secs(T0 + secs)
}

/// Runs the session's next renewal (or token) against the realm at `now`.
fn fetch(session: &mut PasswordSession, realm: &mut Keycloak, now: Timestamp) -> tokendance::AccessToken {
    drive::drive(
        session.fetch(),
        || now,
        |req| Ok::<_, std::convert::Infallible>(realm.handle(now, &req)),
        drive::no_signer,
        |_| {},
    )
    .unwrap()
}

/// A process that signs in once, saves its session, and exits: the
/// realm and the saved bytes are what survive it.
fn first_process() -> (Keycloak, Vec<u8>, SessionSnapshot) {
    let mut realm = Keycloak::itc_staging();
    let mut session = itc_session();
    fetch(&mut session, &mut realm, at(0));
    assert_eq!(realm.grants().password, 1);
    let snapshot = session.snapshot().expect("a token is held");
    let bytes = snapshot.to_json();
    drop(session);
    (realm, bytes, snapshot)
}

/// A new process's session, restored from the saved bytes.
fn restarted(bytes: &[u8]) -> PasswordSession {
    let mut session = itc_session();
    assert_eq!(
        session.restore(SessionSnapshot::from_json(bytes).unwrap()),
        Ok(true)
    );
    session
}

/// The body of a token request, as text.
fn body_of(request: &Outgoing) -> String {
    String::from_utf8(request.as_http().body().clone()).unwrap()
}

fn form_field<'a>(body: &'a str, name: &str) -> Option<&'a str> {
    body.split('&')
        .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
}

#[test]
fn a_restored_session_refreshes_with_the_saved_refresh_token() {
    let (mut realm, bytes, saved) = first_process();
    let mut session = restarted(&bytes);

    // Fresh: the saved access token, no request.
    match session.poll(at(10)).unwrap() {
        SessionAction::UseToken(token) => assert_eq!(token, saved.tokens().access_token()),
        other => panic!("expected the restored token, got {other:?}"),
    }
    // Due (300 s tokens, renewed 30 s early): a refresh grant carrying the
    // saved refresh token, not a password grant.
    let SessionAction::Send(request) = session.poll(at(275)).unwrap() else {
        panic!("a due token is renewed")
    };
    let body = body_of(&request);
    assert_eq!(form_field(&body, "grant_type"), Some("refresh_token"), "{body}");
    let saved_refresh = saved.tokens().refresh_token().unwrap().expose_secret();
    assert_eq!(form_field(&body, "refresh_token"), Some(saved_refresh));
    assert_eq!(form_field(&body, "password"), None);
    let answer = realm.handle(at(275), &request.into_http());
    session.handle_response(at(275), answer).unwrap();
    assert_eq!((realm.grants().password, realm.grants().refresh), (1, 1));
    let SessionAction::UseToken(token) = session.poll(at(276)).unwrap() else {
        panic!("the refresh gave a token")
    };
    assert!(realm.accepts(at(276), token));
    assert_ne!(token, saved.tokens().access_token());
}

#[test]
fn a_snapshot_whose_refresh_token_expired_leads_to_the_password_grant() {
    let (mut realm, bytes, _) = first_process();
    let mut session = restarted(&bytes);
    // Restarted after the refresh token's 1800 s: it is adopted, and the
    // next poll goes straight to the password grant.
    let later = at(1_801);
    let SessionAction::Send(request) = session.poll(later).unwrap() else {
        panic!("nothing valid is held")
    };
    let body = body_of(&request);
    assert_eq!(form_field(&body, "grant_type"), Some("password"), "{body}");
    session
        .handle_response(later, realm.handle(later, &request.into_http()))
        .unwrap();
    assert_eq!((realm.grants().password, realm.grants().refresh), (2, 0));
}

#[test]
fn an_access_token_expired_but_refresh_valid_is_refreshed_at_once() {
    let (mut realm, bytes, saved) = first_process();
    let mut session = restarted(&bytes);
    let now = at(600);
    let token = fetch(&mut session, &mut realm, now);
    assert_ne!(&token, saved.tokens().access_token());
    assert_eq!((realm.grants().password, realm.grants().refresh), (1, 1));
}

#[test]
fn a_session_with_newer_tokens_keeps_them() {
    let (mut realm, bytes, saved) = first_process();
    let mut session = itc_session();
    // This process signed in on its own, later than the snapshot.
    let own = fetch(&mut session, &mut realm, at(5));
    assert_eq!(
        session.restore(SessionSnapshot::from_json(&bytes).unwrap()),
        Ok(false)
    );
    assert_eq!(session.tokens().unwrap().access_token(), &own);
    // A snapshot taken after it wins.
    let newer = session.snapshot().unwrap();
    let mut older = itc_session();
    older.restore(saved).unwrap();
    assert_eq!(older.restore(newer), Ok(true));
    assert_eq!(older.tokens().unwrap().access_token(), &own);
}

#[test]
fn a_refused_access_token_is_saved_as_expired_and_renewed_by_refresh() {
    let (mut realm, bytes, saved) = first_process();
    let mut session = restarted(&bytes);
    session.unauthorized(at(10));
    let resaved = session.snapshot().unwrap();
    assert_eq!(
        resaved.tokens().expires_at(),
        Some(resaved.tokens().obtained_at())
    );
    let mut next = itc_session();
    next.restore(resaved).unwrap();
    let SessionAction::Send(request) = next.poll(at(11)).unwrap() else {
        panic!("a refused token is renewed at once")
    };
    let body = body_of(&request);
    assert_eq!(form_field(&body, "grant_type"), Some("refresh_token"));
    next.handle_response(at(11), realm.handle(at(11), &request.into_http()))
        .unwrap();
    assert_ne!(
        next.tokens().unwrap().access_token(),
        saved.tokens().access_token()
    );
}

#[test]
fn a_snapshot_of_another_session_is_refused() {
    let (_, bytes, _) = first_process();
    let others = [
        itc::session(
            &itc_config(),
            "another-user",
            Password::new(itc::STAGING_TEST_PASSWORD),
        )
        .unwrap(),
        itc::session(
            &itc::Config::staging(),
            itc::STAGING_TEST_USERNAME,
            Password::new("x"),
        )
        .unwrap(),
    ];
    for mut other in others {
        let err = other
            .restore(SessionSnapshot::from_json(&bytes).unwrap())
            .unwrap_err();
        assert!(
            matches!(err, Error::Usage(UsageError::InvalidConfig { .. })),
            "{err:?}"
        );
        assert!(other.tokens().is_none());
    }
}

#[test]
fn neither_a_snapshot_nor_a_refused_one_prints_a_token() {
    let (_, bytes, saved) = first_process();
    let tokens = saved.tokens();
    let access = tokens.access_token().expose_secret().to_owned();
    let refresh = tokens.refresh_token().unwrap().expose_secret().to_owned();
    let oracle = Oracle::new(&[&access, &refresh, itc::STAGING_TEST_PASSWORD], &[]);
    let mut printed = vec![format!("{saved:?}"), format!("{saved:#?}")];
    let mut session = itc_session();
    session.restore(saved.clone()).unwrap();
    printed.push(format!("{session:?}"));
    // Broken snapshots, each with a token where the reader looks for something else.
    let text = String::from_utf8(bytes).unwrap();
    let broken = [
        text.replacen("\"format\":1", &format!("\"format\":\"{access}\""), 1),
        text.replacen(
            "\"obtained_at_ms\":",
            &format!("\"obtained_at_ms\":\"{refresh}\",\"x\":"),
            1,
        ),
        text.replacen(&format!("\"{access}\""), &format!("\"{access}\\n\""), 1),
        text.replacen(&format!("\"{refresh}\""), &format!("[\"{refresh}\"]"), 1),
        text.replacen("\"format\":1", "\"format\":7", 1),
        format!("{text}{access}"),
    ];
    for bad in &broken {
        let err = SessionSnapshot::from_json(bad.as_bytes()).unwrap_err();
        printed.push(format!("{err}"));
        printed.push(format!("{err:?}"));
        // Serialised as a caller's error report would carry it.
        printed.push(serde_json::json!({ "error": err.to_string() }).to_string());
    }
    assert!(printed.iter().any(|p| p.contains("easy-register-test")));
    for text in &printed {
        assert_eq!(oracle.find(text), None, "{text}");
    }
    // The oracle can see a token where there is one.
    assert!(oracle
        .find(&format!("{:?}", saved.tokens().access_token().expose_secret()))
        .is_some());
    assert_eq!(
        SessionSnapshot::from_json(broken[4].as_bytes()),
        Err(SnapshotError::Format(7))
    );
}

#[test]
fn restore_while_a_request_is_out_keeps_the_single_flight() {
    let (mut realm, bytes, _) = first_process();
    let mut session = itc_session();
    let SessionAction::Send(request) = session.poll(at(1)).unwrap() else {
        panic!("no token: a password grant")
    };
    session
        .restore(SessionSnapshot::from_json(&bytes).unwrap())
        .unwrap();
    // The restored token serves; no second request goes out.
    assert!(matches!(session.poll(at(2)).unwrap(), SessionAction::UseToken(_)));
    // The answer to the request out is newer: it replaces the restored token.
    session
        .handle_response(at(2), realm.handle(at(1), &request.into_http()))
        .unwrap();
    assert!(realm.accepts(at(3), session.tokens().unwrap().access_token()));
    assert_eq!(realm.grants().password, 2);
}

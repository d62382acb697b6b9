//! `PasswordSession::fetch` through the driver, and by hand.

use super::*;

#[derive(Debug)]
struct Down;

impl fmt::Display for Down {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("connection refused")
    }
}

type Driven = Result<AccessToken, DriveError<Down, NoSigner>>;

/// Drives `session.fetch()` from `T0 + start` with closures: the transport
/// answers from `script` (`None` = the transport fails), the sleeper moves
/// the clock.
fn drive_fetch(
    session: &mut PasswordSession,
    start: u64,
    script: Vec<Option<http::Response<Vec<u8>>>>,
) -> (Vec<String>, Driven) {
    let clock = Cell::new(at(start));
    let log = RefCell::new(Vec::new());
    let script = RefCell::new(Scripted::new(script));
    let result = drive::drive(
        session.fetch(),
        || clock.get(),
        |req| {
            log.borrow_mut()
                .push(format!("{} {}", rel(clock.get()), describe(&req)));
            match script.borrow_mut().answer(req) {
                Some(resp) => {
                    log.borrow_mut().push(format!("Recv {}", resp.status().as_u16()));
                    Ok(resp)
                }
                None => {
                    log.borrow_mut().push("Transport error".to_owned());
                    Err(Down)
                }
            }
        },
        drive::no_signer,
        |until| {
            log.borrow_mut()
                .push(format!("{} Wait {}", rel(clock.get()), rel(until)));
            clock.set(until);
        },
    );
    let mut log = log.into_inner();
    match &result {
        Ok(token) => log.push(format!("Done {}", token.expose_secret())),
        Err(e) => log.push(format!("Error {e}")),
    }
    script.borrow().assert_all_used();
    (log, result)
}

#[test]
fn fetch_first_token_then_fresh_token_without_a_request() {
    let mut sim = Sim::new();
    let (log, _) = drive_fetch(
        &mut sim.session,
        0,
        vec![Some(keycloak("a1", 300, Some(("r1", 1800))))],
    );
    assert_eq!(
        log,
        [
            format!("+0s {PASSWORD_GRANT}"),
            "Recv 200".to_owned(),
            "Done a1".to_owned()
        ]
    );
    let (log, _) = drive_fetch(&mut sim.session, 100, vec![]);
    assert_eq!(log, ["Done a1"]);
}

#[test]
fn fetch_refused_refresh_falls_back_to_the_password_grant() {
    let mut sim = Sim::with_token(1800);
    let (log, result) = drive_fetch(
        &mut sim.session,
        270,
        vec![
            Some(response(
                400,
                r#"{"error":"invalid_grant","error_description":"Token is not active"}"#,
            )),
            Some(keycloak("a2", 300, Some(("r2", 1800)))),
        ],
    );
    assert_eq!(
        log,
        [
            format!("+270s {}", refresh_grant("r1")),
            "Recv 400".to_owned(),
            format!("+270s {PASSWORD_GRANT}"),
            "Recv 200".to_owned(),
            "Done a2".to_owned(),
        ]
    );
    assert_eq!(result.unwrap().expose_secret(), "a2");
    assert_eq!(
        sim.session
            .tokens()
            .unwrap()
            .refresh_token()
            .unwrap()
            .expose_secret(),
        "r2"
    );
}

#[test]
fn fetch_transport_error_backs_off_then_waits_and_resends() {
    let mut sim = Sim::new();
    let (log, result) = drive_fetch(&mut sim.session, 0, vec![None]);
    assert_eq!(
        log,
        [
            format!("+0s {PASSWORD_GRANT}"),
            "Transport error".to_owned(),
            "Error transport failed: connection refused".to_owned(),
        ]
    );
    assert!(matches!(result, Err(DriveError::Transport(Down))));
    assert!(!sim.session.has_ended());
    assert_eq!(sim.session.next_deadline(), Some(at(1)));

    // The next fetch waits out the back-off, then sends the same grant once.
    let (log, result) = drive_fetch(&mut sim.session, 0, vec![Some(keycloak("a1", 300, None))]);
    assert_eq!(
        log,
        [
            "+0s Wait +1s".to_owned(),
            format!("+1s {PASSWORD_GRANT}"),
            "Recv 200".to_owned(),
            "Done a1".to_owned(),
        ]
    );
    assert_eq!(result.unwrap().expose_secret(), "a1");
}

#[test]
fn fetch_server_failure_is_returned_and_the_session_goes_on() {
    let mut sim = Sim::new();
    let (log, result) = drive_fetch(&mut sim.session, 0, vec![Some(response(503, ""))]);
    assert_eq!(
        log,
        [
            format!("+0s {PASSWORD_GRANT}"),
            "Recv 503".to_owned(),
            "Error HTTP 503 (server unavailable)".to_owned(),
        ]
    );
    let Err(DriveError::Flow(err)) = result else {
        panic!("expected a flow error")
    };
    assert!(err.is_retryable());
    assert!(!sim.session.has_ended());
}

#[test]
fn fetch_refused_password_grant_ends_the_session() {
    let mut sim = Sim::new();
    let (log, _) = drive_fetch(
        &mut sim.session,
        0,
        vec![Some(response(
            401,
            r#"{"error":"invalid_grant","error_description":"Invalid user credentials"}"#,
        ))],
    );
    assert_eq!(
        log,
        [
            format!("+0s {PASSWORD_GRANT}"),
            "Recv 401".to_owned(),
            "Error HTTP 401 invalid_grant: Invalid user credentials".to_owned(),
        ]
    );
    assert!(sim.session.has_ended());
    let (log, result) = drive_fetch(&mut sim.session, 1, vec![]);
    assert_eq!(log, ["Error the flow has finished"]);
    assert!(matches!(
        result,
        Err(DriveError::Flow(Error::Usage(UsageError::Finished)))
    ));
}

#[test]
fn fetch_by_hand_misuse() {
    let mut sim = Sim::new();
    let mut fetch = sim.session.fetch();
    assert_eq!(
        fetch.resume(at(0), Input::Timeout).unwrap_err(),
        Error::Usage(UsageError::NotStarted)
    );
    let Ok(Action::Send(_)) = fetch.start(at(0)) else {
        panic!("expected Send")
    };
    assert_eq!(
        fetch.start(at(0)).unwrap_err(),
        Error::Usage(UsageError::AlreadyStarted)
    );
    assert_eq!(
        fetch.resume(at(0), Input::Timeout).unwrap_err(),
        Error::Usage(UsageError::UnexpectedInput {
            expected: Expect::Response,
            got: InputKind::Timeout
        })
    );
    let Ok(Action::Done(token)) = fetch.resume(at(0), Input::Response(keycloak("a1", 300, None))) else {
        panic!("expected Done")
    };
    assert_eq!(token.expose_secret(), "a1");
    assert_eq!(
        fetch.resume(at(0), Input::Timeout).unwrap_err(),
        Error::Usage(UsageError::Finished)
    );
}

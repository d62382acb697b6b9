//! Flow rules: wrong, failed and out-of-order inputs.

use super::*;

fn raw_call() -> Authorized<TokenSet> {
    bearer_call(fixed("t-1"))
}

#[test]
fn wrong_input_while_awaiting_the_api_leaves_the_call_unchanged() {
    let mut call = raw_call();
    let first = send(call.start(T0));
    for (input, got) in [
        (Input::Timeout, InputKind::Timeout),
        (
            Input::Signature(Signature::from_der(vec![1, 2])),
            InputKind::Signature,
        ),
    ] {
        assert_wrong_input(&mut call, input, Expect::Response, got);
    }
    assert_eq!(failed(call.start(T0)), Error::Usage(UsageError::AlreadyStarted));
    // Still waiting for the same answer, which is then read as usual.
    let response = done(call.resume(T0, answer(200, "ok")));
    assert_eq!(response.body(), b"ok");
    assert_eq!(header(&first, "authorization"), "Bearer t-1");

    // And a 401 after a wrong input is still a 401.
    let mut call = raw_call();
    let _ = send(call.start(T0));
    let _ = failed(call.resume(T0, Input::Timeout));
    let err = failed(call.resume(T0, answer(401, "")));
    assert_eq!(
        err.as_server().map(|s| s.kind),
        Some(ServerErrorKind::Unauthorized)
    );
}

#[test]
fn wrong_input_while_getting_a_token_leaves_the_call_unchanged() {
    // Expecting a response (the GAM token request).
    let config = gam::Config::staging();
    let source = Reissue::new(|| gam::client_credentials(&config, "app", ClientSecret::new("s"), "scope:a"));
    let mut call = Authorized::new(
        source,
        http::Request::get("https://gateway-staging.gam.vn/oms/api/x")
            .body(Vec::new())
            .unwrap(),
        Scheme::Bearer,
    )
    .unwrap();
    let _ = send(call.start(T0));
    for input in [Input::Timeout, Input::Signature(Signature::from_der(vec![1]))] {
        let got = input.kind();
        assert_wrong_input(&mut call, input, Expect::Response, got);
    }
    assert_eq!(failed(call.start(T0)), Error::Usage(UsageError::AlreadyStarted));
    let api = send(call.resume(T0, gam_token("g-1")));
    assert_eq!(header(&api, "authorization"), "Bearer g-1");

    // Expecting a signature (a hand-written flow).
    let mut call = bearer_call(Reissue::new(|| Ok(HandIssue { n: 1, state: 0 })));
    let _ = sign(call.start(T0));
    for input in [answer(200, ""), Input::Timeout] {
        let got = input.kind();
        assert_wrong_input(&mut call, input, Expect::Signature, got);
    }
    let api = send(call.resume(T0, hand_signature(1)));
    assert_eq!(header(&api, "authorization"), "Bearer hand-1");
}

#[test]
fn failed_input_aborts_then_finishes() {
    // While the API request is out.
    let mut call = raw_call();
    let _ = send(call.start(T0));
    assert_eq!(
        failed(call.resume(T0, Input::Failed)),
        Error::Usage(UsageError::Aborted)
    );
    assert_eq!(
        failed(call.resume(T0, answer(200, ""))),
        Error::Usage(UsageError::Finished)
    );
    assert_eq!(failed(call.start(T0)), Error::Usage(UsageError::Finished));

    // While a token request is out (the ITC session backs off).
    let mut session = itc::session(&itc::Config::staging(), "u", Password::new("p")).unwrap();
    {
        let mut call = itc::consumer(&itc::Config::staging(), "AA12345678", &mut session).unwrap();
        let _ = send(call.start(T0));
        assert_eq!(
            failed(call.resume(T0, Input::Failed)),
            Error::Usage(UsageError::Aborted)
        );
        assert_eq!(
            failed(call.resume(T0, keycloak("a", "r"))),
            Error::Usage(UsageError::Finished)
        );
    }
    assert_eq!(session.in_flight(), None);
    assert!(!session.has_ended());

    // While a signer is at work.
    let mut call = bearer_call(Reissue::new(|| Ok(HandIssue { n: 1, state: 0 })));
    let _ = sign(call.start(T0));
    assert_eq!(
        failed(call.resume(T0, Input::Failed)),
        Error::Usage(UsageError::Aborted)
    );
    assert_eq!(
        failed(call.resume(T0, hand_signature(1))),
        Error::Usage(UsageError::Finished)
    );

    // During the retry's sign-in, the keeper gets its ticket back.
    let keeper = Mutex::new(TokenKeeper::new(CONN));
    let mut call = suz_call(&keeper);
    let key = send(call.start(T0));
    let _ = send(answer_sign_in(&mut call, key, T0, "suz-1"));
    // Two seconds on: the keeper keeps a second between sign-ins.
    let later = at(2);
    let _key = send(call.resume(later, answer(401, "")));
    assert!(keeper.lock().unwrap().renewing());
    assert_eq!(
        failed(call.resume(T0, Input::Failed)),
        Error::Usage(UsageError::Aborted)
    );
    assert!(!keeper.lock().unwrap().renewing());
    assert_eq!(
        failed(call.resume(T0, Input::Timeout)),
        Error::Usage(UsageError::Finished)
    );
}

#[test]
fn start_and_resume_out_of_order() {
    let mut call = raw_call();
    assert_eq!(
        failed(call.resume(T0, answer(200, ""))),
        Error::Usage(UsageError::NotStarted)
    );
    assert_eq!(
        failed(call.resume(T0, Input::Failed)),
        Error::Usage(UsageError::NotStarted)
    );
    // Still startable.
    let out = send(call.start(T0));
    assert_eq!(header(&out, "authorization"), "Bearer t-1");
    assert_eq!(failed(call.start(T0)), Error::Usage(UsageError::AlreadyStarted));
    let _ = done(call.resume(T0, answer(200, "")));
    assert_eq!(failed(call.start(T0)), Error::Usage(UsageError::Finished));
    assert_eq!(
        failed(call.resume(T0, answer(200, ""))),
        Error::Usage(UsageError::Finished)
    );
}

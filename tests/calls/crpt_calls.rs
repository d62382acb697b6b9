//! CRPT True API: the keeper source signs in again after a 401, once for all its callers.

use super::*;

#[test]
fn keeper_source_over_a_mutable_keeper_signs_in_again_after_a_401() {
    let mut keeper = TokenKeeper::new(CONN);
    {
        let source = KeeperSource::new(&mut keeper, sign_in);
        let mut call = Authorized::new(source, suz_ping(), Scheme::SuzClientToken).unwrap();
        let key = send(call.start(T0));
        let first = send(answer_sign_in(&mut call, key, T0, "suz-1"));
        assert_request(
            &first,
            Method::GET,
            "https://suzgrid.crpt.ru:16443/api/v2/pharma/ping?omsId=oms-1",
            &[h(ACCEPT), h(("clienttoken", "suz-1", true))],
            b"",
        );
        // An XML 401 (revoked by a sign-in elsewhere) still counts as 401.
        let key = send(call.resume(at(1), xml_401()));
        let retry = send(answer_sign_in(&mut call, key, at(1), "suz-2"));
        assert_same_but_credential(&first, &retry, "clienttoken");
        assert_eq!(header(&retry, "clienttoken"), "suz-2");
        let response = done(call.resume(at(1), answer(200, r#"{"omsId":"oms-1"}"#)));
        assert_eq!(response.status(), 200);
    }
    let held = keeper.token().expect("the keeper holds the new token");
    assert_eq!(held.access_token().expose_secret(), "suz-2");
    assert_eq!(held.expires_at(), Some(at(1 + 10 * 3600)));
    assert!(!keeper.renewing());
}

#[test]
fn keeper_source_over_a_shared_keeper_renews_once_for_all_callers() {
    let keeper = Mutex::new(TokenKeeper::new(CONN));
    let mut a = suz_call(&keeper);
    let mut b = Authorized::new(KeeperSource::new(&keeper, sign_in), suz_ping(), Scheme::MdlpToken).unwrap();
    let key = send(a.start(T0));
    // While A renews (the lock is not held meanwhile), B waits for it.
    let until = wait(b.start(T0));
    assert_eq!(until, at(300));
    assert_eq!(wait(b.resume(T0, Input::Timeout)), at(300));
    let first = send(answer_sign_in(&mut a, key, T0, "suz-1"));
    assert_eq!(header(&first, "clienttoken"), "suz-1");
    // B now gets the token without a sign-in of its own.
    let b_first = send(b.resume(T0, Input::Timeout));
    assert_eq!(header(&b_first, "authorization"), "token suz-1");

    // A is refused: it signs in again; B's late 401 for suz-1 then uses suz-2.
    let key = send(a.resume(at(2), xml_401()));
    let a_retry = send(answer_sign_in(&mut a, key, at(2), "suz-2"));
    assert_eq!(header(&a_retry, "clienttoken"), "suz-2");
    let b_retry = send(b.resume(at(3), answer(401, "")));
    assert_same_but_credential(&b_first, &b_retry, "authorization");
    assert_eq!(header(&b_retry, "authorization"), "token suz-2");
    let _ = done(a.resume(at(3), answer(200, "{}")));
    let _ = done(b.resume(at(3), answer(200, "{}")));
    assert_eq!(held_token(&keeper), "suz-2");
}

#[test]
fn keeper_source_reports_a_failed_sign_in_to_the_keeper() {
    let keeper = Mutex::new(TokenKeeper::new(CONN));
    let mut call = suz_call(&keeper);
    let _key = send(call.start(T0));
    assert!(keeper.lock().unwrap().renewing());
    let err = failed(call.resume(
        T0,
        json_answer(
            403,
            serde_json::json!({"code": 403, "error_message": "Certificate not found"}),
        ),
    ));
    assert_eq!(err.as_server().map(|s| s.kind), Some(ServerErrorKind::Forbidden));
    // The ticket was handed back: the keeper backs off instead of waiting for it.
    assert!(!keeper.lock().unwrap().renewing());
    let mut next = suz_call(&keeper);
    assert_eq!(wait(next.start(T0)), at(1));
    let key = send(next.resume(at(1), Input::Timeout));
    assert!(key.as_http().uri().path().ends_with("/auth/key"));
}

//! MDLP sign-ins: the signed code's wait, the password, wrong kinds and passwords, 429s, early wake-ups.

use super::*;

#[test]
fn mdlp_signed_code_waits_when_the_signer_is_quick() {
    let mut crpt = server();
    let mut sim = Sim::new(&mut crpt, T0).net(ms(100)).signer(ms(200), fake::sign);
    let token = sim.token(mdlp_signed(Some(CONN)));
    assert_eq!(
        sim.log,
        [
            "Start at +0s",
            "Send POST https://api.sb.mdlp.crpt.ru/api/v1/auth {\"client_id\":\"7df0d06f-mdlp-client\",\"client_secret\":\"mdlp-secret\",\"user_id\":\"0A1B2C3D\",\"auth_type\":\"SIGNED_CODE\"}",
            "Recv 200 {\"code\":\"00000001-4414-4000-8000-000000000000\"} at +0.100s",
            "Sign Detached MdlpCode 00000001-4414-4000-8000-000000000000",
            "Signed at +0.300s",
            // One second after the auth answer arrived.
            "Wait until +1.100s",
            "Send POST https://api.sb.mdlp.crpt.ru/api/v1/token/11B1ABC9-F4EE-47DB-8A20-F80AC83504E8 {\"code\":\"00000001-4414-4000-8000-000000000000\",\"signature\":\"RkFLRS1DTVMtREVUQUNIRUQ6Kz8N57lPkZ0=\"}",
            "Recv 200 {\"life_time\":30,\"token\":\"00000002-c152-4000-8000-000000000000\"} at +1.200s",
            // life_time minutes from sending the token request.
            "Done token=00000002-c152-4000-8000-000000000000 obtained_at=+1.100s expires_at=+1801.100s",
        ]
    );
    assert!(crpt.accepts(at_ms(1_200), CONN, token.access_token()));
    assert!(!crpt.accepts(at_ms(1_801_100), CONN, token.access_token()));
}

#[test]
fn mdlp_signed_code_does_not_wait_after_a_slow_signer() {
    for (signer_ms, waits) in [(1_500, false), (1_000, false), (999, true), (0, true)] {
        let mut crpt = server();
        crpt.mdlp_life_time_minutes = 7;
        let mut sim = Sim::new(&mut crpt, T0)
            .net(ms(100))
            .signer(ms(signer_ms), fake::sign);
        let token = sim.token(mdlp_signed(None));
        let waited = sim.log.iter().any(|l| l.starts_with("Wait"));
        assert_eq!(waited, waits, "signer {signer_ms} ms: {:#?}", sim.log);
        // The token request goes out at max(signed, answer + 1 s).
        let sent = 100 + signer_ms.max(1_000);
        assert_eq!(token.obtained_at(), at_ms(sent));
        assert_eq!(token.expires_at(), Some(at_ms(sent + 7 * 60_000)));
        if signer_ms == 1_500 {
            assert_eq!(
                &sim.log[3..],
                [
                    "Sign Detached MdlpCode 00000001-4414-4000-8000-000000000000",
                    "Signed at +1.600s",
                    "Send POST https://api.sb.mdlp.crpt.ru/api/v1/token {\"code\":\"00000001-4414-4000-8000-000000000000\",\"signature\":\"RkFLRS1DTVMtREVUQUNIRUQ6Kz8N57lPkZ0=\"}",
                    "Recv 200 {\"life_time\":7,\"token\":\"00000002-c152-4000-8000-000000000000\"} at +1.700s",
                    "Done token=00000002-c152-4000-8000-000000000000 obtained_at=+1.600s expires_at=+421.600s",
                ]
            );
        }
        if signer_ms == 999 {
            assert!(
                sim.log.contains(&"Wait until +1.100s".to_owned()),
                "{:#?}",
                sim.log
            );
        }
    }
}

#[test]
fn mdlp_password_transcript() {
    let mut crpt = server();
    let mut sim = Sim::new(&mut crpt, T0).net(ms(300));
    let token = sim.token(mdlp_password(Some(CONN)));
    assert_eq!(
        sim.log,
        [
            "Start at +0s",
            "Send POST https://nrz.api.sb.mdlp.crpt.ru/api/v1/auth {\"client_id\":\"7df0d06f-mdlp-client\",\"client_secret\":\"mdlp-secret\",\"user_id\":\"nrz@example.org\",\"auth_type\":\"PASSWORD\"}",
            "Recv 200 {\"code\":\"00000001-4414-4000-8000-000000000000\"} at +0.300s",
            "Wait until +1.300s",
            "Send POST https://nrz.api.sb.mdlp.crpt.ru/api/v1/token/11B1ABC9-F4EE-47DB-8A20-F80AC83504E8 {\"code\":\"00000001-4414-4000-8000-000000000000\",\"password\":\"nrz-password\"}",
            "Recv 200 {\"life_time\":30,\"token\":\"00000002-c152-4000-8000-000000000000\"} at +1.600s",
            "Done token=00000002-c152-4000-8000-000000000000 obtained_at=+1.300s expires_at=+1801.300s",
        ]
    );
    assert!(crpt.accepts(at_ms(1_600), CONN, token.access_token()));
    // A new MDLP sign-in for the connection revokes it.
    let mut sim = Sim::new(&mut crpt, at_ms(10_000));
    let second = sim.token(mdlp_signed(Some(CONN)));
    assert!(!crpt.accepts(at_ms(12_000), CONN, token.access_token()));
    assert!(crpt.accepts(at_ms(12_000), CONN, second.access_token()));
}

#[test]
fn mdlp_wrong_signature_kind_and_wrong_password() {
    let mut crpt = server();
    let mut sim = Sim::new(&mut crpt, T0).signer(ms(0), attached_signer);
    let e = sim.run(mdlp_signed(Some(CONN)), token_line).unwrap_err();
    let s = e.as_server().unwrap();
    assert_eq!((s.status.as_u16(), s.kind), (403, ServerErrorKind::Forbidden));
    assert_eq!(s.code.as_deref(), Some("Forbidden"));
    assert_eq!(
        s.message.as_deref(),
        Some("A detached signature of the code (or the password) does not verify")
    );
    sim.now = at_ms(10_000);
    let wrong = mdlp::sign_in(
        &MdlpStand::NonResidentSandbox.endpoint(),
        mdlp::Client {
            id: MDLP_ID.to_owned(),
            secret: ClientSecret::new(MDLP_SECRET),
        },
        MDLP_EMAIL,
        mdlp::Auth::Password(Password::new("not-the-password")),
        Some(CONN),
    )
    .unwrap();
    let e = sim.run(wrong, token_line).unwrap_err();
    assert_eq!(e.as_server().unwrap().kind, ServerErrorKind::Forbidden);
    sim.now = at_ms(20_000);
    let bad_client = mdlp::sign_in(
        &MdlpStand::Sandbox.endpoint(),
        mdlp::Client {
            id: MDLP_ID.to_owned(),
            secret: ClientSecret::new("wrong"),
        },
        "u",
        mdlp::Auth::SignedCode,
        None,
    )
    .unwrap();
    let e = sim.run(bad_client, token_line).unwrap_err();
    let s = e.as_server().unwrap();
    assert_eq!((s.status.as_u16(), s.kind), (401, ServerErrorKind::Unauthorized));
    assert_eq!(
        sim.log
            .iter()
            .filter(|l| l.starts_with("Error"))
            .collect::<Vec<_>>(),
        [
            "Error [Forbidden] HTTP 403 Forbidden: A detached signature of the code (or the password) does not verify",
            "Error [Forbidden] HTTP 403 Forbidden: A detached signature of the code (or the password) does not verify",
            "Error [Unauthorized] HTTP 401 Unauthorized: Bad client credentials",
        ]
    );
    assert_eq!(crpt.tokens_issued(), 0);
}

#[test]
fn mdlp_calls_closer_than_a_second_get_429() {
    let mut crpt = server();
    let mut sim = Sim::new(&mut crpt, T0).net(ms(100)).signer(ms(1_200), fake::sign);
    let first = sim.token(mdlp_signed(Some(CONN)));
    // The next sign-in starts as soon as the first ends: its `auth` comes
    // 100 ms after the previous `token` call.
    let e = sim.run(mdlp_signed(Some(CONN)), token_line).unwrap_err();
    let s = e.as_server().unwrap();
    assert_eq!(s.status, 429);
    assert_eq!(s.kind, ServerErrorKind::RateLimited);
    assert!(e.is_retryable());
    assert_eq!(e.retry_after(), Some(RetryAfter::Delay(Duration::from_secs(5))));
    assert_eq!(
        e.retry_after().unwrap().deadline(sim.now),
        sim.now.saturating_add(Duration::from_secs(5))
    );
    assert_eq!(
        &sim.log[8..],
        [
            "Start at +1.400s",
            "Send POST https://api.sb.mdlp.crpt.ru/api/v1/auth {\"client_id\":\"7df0d06f-mdlp-client\",\"client_secret\":\"mdlp-secret\",\"user_id\":\"0A1B2C3D\",\"auth_type\":\"SIGNED_CODE\"}",
            "Recv 429 Retry-After: 5 {\"error_message\":\"Too many requests\"} at +1.500s",
            "Error [RateLimited] HTTP 429: Too many requests (retry after 5 s)",
        ]
    );
    // The failed attempt did not revoke anything; waiting as told works.
    let now = sim.now;
    assert!(crpt.accepts(now, CONN, first.access_token()));
    let retry_at = e.retry_after().unwrap().deadline(now);
    let mut sim = Sim::new(&mut crpt, retry_at).signer(ms(0), fake::sign);
    let second = sim.token(mdlp_signed(Some(CONN)));
    assert!(crpt.accepts(retry_at.saturating_add(ms(1_000)), CONN, second.access_token()));
    assert!(!crpt.accepts(retry_at.saturating_add(ms(1_000)), CONN, first.access_token()));
}

#[test]
fn an_early_wake_up_waits_again() {
    // Resumed before the deadline, the flow asks for the rest of the wait
    // instead of sending a call MDLP would answer with 429.
    let mut crpt = server();
    let mut flow = mdlp_password(Some(CONN));
    let Action::Send(auth) = flow.start(T0).unwrap() else {
        panic!("auth first")
    };
    let answer = crpt.handle(T0, &auth.into_http());
    let Action::Wait(until) = flow.resume(T0, Input::Response(answer)).unwrap() else {
        panic!("a wait after auth")
    };
    assert_eq!(until, T0.saturating_add(ms(1_000)));
    for early in [0, 400, 999] {
        let Action::Wait(again) = flow.resume(T0.saturating_add(ms(early)), Input::Timeout).unwrap() else {
            panic!("woken at +{early} ms, the flow must wait again")
        };
        assert_eq!(again, until);
    }
    let Action::Send(token) = flow.resume(until, Input::Timeout).unwrap() else {
        panic!("the token call at the deadline")
    };
    let answer = crpt.handle(until, &token.into_http());
    assert!(matches!(
        flow.resume(until, Input::Response(answer)).unwrap(),
        Action::Done(_)
    ));
    assert_eq!(crpt.tokens_issued(), 1);
}

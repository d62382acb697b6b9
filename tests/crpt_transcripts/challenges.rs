//! Challenge sign-ins (GIS MT, True API): transcripts, revocation, forbidden signatures, single-use uuids.

use super::*;

#[test]
fn gis_mt_transcript_with_and_without_connection() {
    let mut crpt = server();
    let mut sim = Sim::new(&mut crpt, T0).net(ms(250)).signer(ms(2_000), fake::sign);
    let with = sim.token(gis_mt::sign_in(&GisMtStand::Demo.endpoint(), Some(CONN)).unwrap());
    let without = sim.token(gis_mt::sign_in(&GisMtStand::Production.endpoint(), None).unwrap());
    assert_eq!(
        sim.log,
        [
            "Start at +0s",
            "Send GET https://demo.lp.crpt.tech/api/v3/auth/cert/key ",
            "Recv 200 {\"data\":\"QNRPNPFGJZ-000002\",\"uuid\":\"00000001-9f9e-4000-8000-000000000000\"} at +0.250s",
            "Sign Attached GisMtChallenge QNRPNPFGJZ-000002",
            "Signed at +2.250s",
            "Send POST https://demo.lp.crpt.tech/api/v3/auth/cert/11B1ABC9-F4EE-47DB-8A20-F80AC83504E8 {\"uuid\":\"00000001-9f9e-4000-8000-000000000000\",\"data\":\"RkFLRS1DTVMtQVRUQUNIRUQ6UU5SUE5QRkdKWi0wMDAwMDI=\"}",
            "Recv 200 {\"token\":\"00000003-c152-4000-8000-000000000000\"} at +2.500s",
            "Done token=00000003-c152-4000-8000-000000000000 obtained_at=+2.250s expires_at=+36002.250s",
            "Start at +2.500s",
            "Send GET https://ismpr.crpt.ru/api/v3/auth/cert/key ",
            "Recv 200 {\"data\":\"QNRPNPFGJZ-000005\",\"uuid\":\"00000004-9f9e-4000-8000-000000000000\"} at +2.750s",
            "Sign Attached GisMtChallenge QNRPNPFGJZ-000005",
            "Signed at +4.750s",
            "Send POST https://ismpr.crpt.ru/api/v3/auth/cert {\"uuid\":\"00000004-9f9e-4000-8000-000000000000\",\"data\":\"RkFLRS1DTVMtQVRUQUNIRUQ6UU5SUE5QRkdKWi0wMDAwMDU=\"}",
            "Recv 200 {\"token\":\"00000006-c152-4000-8000-000000000000\"} at +5s",
            "Done token=00000006-c152-4000-8000-000000000000 obtained_at=+4.750s expires_at=+36004.750s",
        ]
    );
    assert!(crpt.accepts(at_ms(5_000), CONN, with.access_token()));
    // Without a connection the token is GIS MT's own (the fake files it under "").
    assert!(crpt.accepts(at_ms(5_000), "", without.access_token()));
    assert!(!crpt.accepts(at_ms(5_000), CONN, without.access_token()));
}

#[test]
fn true_api_transcript_and_revocation() {
    let mut crpt = server();
    let other = "22C2ABC9-0000-47DB-8A20-F80AC83504E8";
    let mut sim = Sim::new(&mut crpt, T0).net(ms(50)).signer(ms(100), fake::sign);
    let first = sim.token(true_api::sign_in(&TrueApiStand::Production.endpoint(), Some(CONN)).unwrap());
    let other_token =
        sim.token(true_api::sign_in(&TrueApiStand::ProductionTobacco.endpoint(), Some(other)).unwrap());
    let t = sim.now;
    assert!(sim.server.accepts(t, CONN, first.access_token()));
    // Asking again for the same connection revokes the first token...
    let second = sim.token(true_api::sign_in(&TrueApiStand::Production.endpoint(), Some(CONN)).unwrap());
    let t = sim.now;
    assert!(!sim.server.accepts(t, CONN, first.access_token()));
    assert!(sim.server.accepts(t, CONN, second.access_token()));
    // ...but not the token of another connection.
    assert!(sim.server.accepts(t, other, other_token.access_token()));
    // A GIS MT sign-in for the connection revokes the True API token too.
    let third = sim.token(gis_mt::sign_in(&GisMtStand::Production.endpoint(), Some(CONN)).unwrap());
    let t = sim.now;
    assert!(!sim.server.accepts(t, CONN, second.access_token()));
    assert!(sim.server.accepts(t, CONN, third.access_token()));
    assert_eq!(sim.server.tokens_issued(), 4);
    let done: Vec<&String> = sim.log.iter().filter(|l| l.starts_with("Done")).collect();
    assert_eq!(
        done,
        [
            "Done token=00000003-c152-4000-8000-000000000000 obtained_at=+0.150s expires_at=+36000.150s",
            "Done token=00000006-c152-4000-8000-000000000000 obtained_at=+0.350s expires_at=+36000.350s",
            "Done token=00000009-c152-4000-8000-000000000000 obtained_at=+0.550s expires_at=+36000.550s",
            "Done token=0000000c-c152-4000-8000-000000000000 obtained_at=+0.750s expires_at=+36000.750s",
        ]
    );
    assert_eq!(
        &sim.log[..7],
        [
            "Start at +0s",
            "Send GET https://markirovka.crpt.ru/api/v3/true-api/auth/key ",
            "Recv 200 {\"data\":\"QNRPNPFGJZ-000002\",\"uuid\":\"00000001-9f9e-4000-8000-000000000000\"} at +0.050s",
            "Sign Attached TrueApiChallenge QNRPNPFGJZ-000002",
            "Signed at +0.150s",
            "Send POST https://markirovka.crpt.ru/api/v3/true-api/auth/simpleSignIn/11B1ABC9-F4EE-47DB-8A20-F80AC83504E8 {\"uuid\":\"00000001-9f9e-4000-8000-000000000000\",\"data\":\"RkFLRS1DTVMtQVRUQUNIRUQ6UU5SUE5QRkdKWi0wMDAwMDI=\"}",
            "Recv 200 {\"token\":\"00000003-c152-4000-8000-000000000000\"} at +0.200s",
        ]
    );
}

#[test]
fn challenge_with_a_detached_signature_is_forbidden() {
    let mut crpt = server();
    let mut sim = Sim::new(&mut crpt, T0).signer(ms(10), detached_signer);
    let gis = sim
        .run(
            gis_mt::sign_in(&GisMtStand::Demo.endpoint(), Some(CONN)).unwrap(),
            token_line,
        )
        .unwrap_err();
    let trueapi = sim
        .run(
            true_api::sign_in(&TrueApiStand::Demo.endpoint(), Some(CONN)).unwrap(),
            token_line,
        )
        .unwrap_err();
    for e in [&gis, &trueapi] {
        let s = e.as_server().expect("a server refusal");
        assert_eq!(s.status, 403);
        assert_eq!(s.kind, ServerErrorKind::Forbidden);
        assert_eq!(s.code.as_deref(), Some("403"));
        assert_eq!(s.message.as_deref(), Some("Ошибка проверки подписи"));
        assert!(!e.is_retryable());
    }
    assert_eq!(
        sim.log,
        [
            "Start at +0s",
            "Send GET https://demo.lp.crpt.tech/api/v3/auth/cert/key ",
            "Recv 200 {\"data\":\"QNRPNPFGJZ-000002\",\"uuid\":\"00000001-9f9e-4000-8000-000000000000\"} at +0s",
            "Sign Attached GisMtChallenge QNRPNPFGJZ-000002",
            "Signed at +0.010s",
            "Send POST https://demo.lp.crpt.tech/api/v3/auth/cert/11B1ABC9-F4EE-47DB-8A20-F80AC83504E8 {\"uuid\":\"00000001-9f9e-4000-8000-000000000000\",\"data\":\"RkFLRS1DTVMtREVUQUNIRUQ6ZcRJ/foN0cI=\"}",
            "Recv 403 {\"code\":403,\"description\":\"an ATTACHED signature of data is required\",\"error_message\":\"Ошибка проверки подписи\"} at +0.010s",
            "Error [Forbidden] HTTP 403 403: Ошибка проверки подписи",
            "Start at +0.010s",
            "Send GET https://int01.gismt.crpt.tech/api/v3/true-api/auth/key ",
            "Recv 200 {\"data\":\"QNRPNPFGJZ-000004\",\"uuid\":\"00000003-9f9e-4000-8000-000000000000\"} at +0.010s",
            "Sign Attached TrueApiChallenge QNRPNPFGJZ-000004",
            "Signed at +0.020s",
            "Send POST https://int01.gismt.crpt.tech/api/v3/true-api/auth/simpleSignIn/11B1ABC9-F4EE-47DB-8A20-F80AC83504E8 {\"uuid\":\"00000003-9f9e-4000-8000-000000000000\",\"data\":\"RkFLRS1DTVMtREVUQUNIRUQ6ZcRD/foNx5A=\"}",
            "Recv 403 {\"code\":403,\"description\":\"an ATTACHED signature of data is required\",\"error_message\":\"Ошибка проверки подписи\"} at +0.020s",
            "Error [Forbidden] HTTP 403 403: Ошибка проверки подписи",
        ]
    );
    assert_eq!(crpt.tokens_issued(), 0);
}

#[test]
fn challenge_over_other_content_is_forbidden_and_uuids_are_single_use() {
    let mut crpt = server();
    // An attached signature, but of other bytes.
    let mut sim = Sim::new(&mut crpt, T0).signer(ms(0), |_| {
        fake::sign_as(b"QNRPNPFGJZ-999999", SignatureKind::Attached)
    });
    let e = sim
        .run(
            true_api::sign_in(&TrueApiStand::Demo.endpoint(), Some(CONN)).unwrap(),
            token_line,
        )
        .unwrap_err();
    assert_eq!(e.as_server().unwrap().kind, ServerErrorKind::Forbidden);

    // Replaying a used uuid by hand: 401 from the fake.
    let mut flow = true_api::sign_in(&TrueApiStand::Demo.endpoint(), Some(CONN)).unwrap();
    let Action::Send(key) = flow.start(T0).unwrap() else {
        panic!()
    };
    let challenge = crpt.handle(T0, &key.into_http());
    let body: serde_json::Value = serde_json::from_slice(challenge.body()).unwrap();
    let Action::Sign(job) = flow.resume(T0, Input::Response(challenge)).unwrap() else {
        panic!()
    };
    assert_eq!(job.bytes(), body["data"].as_str().unwrap().as_bytes());
    let Action::Send(sign_in) = flow.resume(T0, Input::Signature(fake::sign(&job))).unwrap() else {
        panic!()
    };
    let sign_in = sign_in.into_http();
    let first = crpt.handle(T0, &sign_in);
    assert_eq!(first.status(), 200);
    let replay = crpt.handle(T0, &sign_in);
    assert_eq!(replay.status(), 401);
    let Action::Done(token) = flow.resume(T0, Input::Response(first)).unwrap() else {
        panic!()
    };
    assert!(crpt.accepts(T0, CONN, token.access_token()));
}

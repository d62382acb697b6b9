//! SUZ registration: registered then signed in, and every refusal.

use super::*;

#[test]
fn registration_then_sign_in_transcript() {
    let mut crpt = server();
    let mut sim = Sim::new(&mut crpt, T0).net(ms(100)).signer(ms(700), fake::sign);
    let outcome = sim.register(registration::Signing::Detached);
    let registration::Outcome::Registered { oms_connection } = outcome else {
        panic!("{outcome:?}")
    };
    let token =
        sim.token(true_api::sign_in(&TrueApiStand::Demo.endpoint(), Some(oms_connection.as_str())).unwrap());
    assert_eq!(
        sim.log,
        [
            "Start at +0s",
            "Sign Detached SuzRegistrationBody {\"address\":\"Moscow, 1\"}",
            "Signed at +0.700s",
            "Send POST https://intuot.crpt.ru:16443/api/v2/integration/connection?omsId=cdf12109-10d3-11e6-8b6f-0050569977a1 +X-Signature {\"address\":\"Moscow, 1\"}",
            "Recv 200 {\"omsConnection\":\"00000001-1B59-4000-8000-000000000000\",\"status\":\"SUCCESS\"} at +0.800s",
            "Done Registered { oms_connection: \"00000001-1B59-4000-8000-000000000000\" }",
            "Start at +0.800s",
            "Send GET https://int01.gismt.crpt.tech/api/v3/true-api/auth/key ",
            "Recv 200 {\"data\":\"QNRPNPFGJZ-000003\",\"uuid\":\"00000002-9f9e-4000-8000-000000000000\"} at +0.900s",
            "Sign Attached TrueApiChallenge QNRPNPFGJZ-000003",
            "Signed at +1.600s",
            "Send POST https://int01.gismt.crpt.tech/api/v3/true-api/auth/simpleSignIn/00000001-1B59-4000-8000-000000000000 {\"uuid\":\"00000002-9f9e-4000-8000-000000000000\",\"data\":\"RkFLRS1DTVMtQVRUQUNIRUQ6UU5SUE5QRkdKWi0wMDAwMDM=\"}",
            "Recv 200 {\"token\":\"00000004-c152-4000-8000-000000000000\"} at +1.700s",
            // 10 hours from sending the sign-in, not from its answer.
            "Done token=00000004-c152-4000-8000-000000000000 obtained_at=+1.600s expires_at=+36001.600s",
        ]
    );
    let t = token.access_token();
    assert!(crpt.accepts(at_ms(1_700), &oms_connection, t));
    // The fake (the server) counts from its own handling instant, +1.6 s too.
    assert!(crpt.accepts(at_ms(36_001_599), &oms_connection, t));
    assert!(!crpt.accepts(at_ms(36_001_600), &oms_connection, t));
    assert_eq!(token.expires_at(), Some(at_ms(36_001_600)));
    assert!(token.is_valid(at_ms(36_001_599)) && !token.is_valid(at_ms(36_001_600)));
    assert_eq!(crpt.tokens_issued(), 1);
}

#[test]
fn registration_refusals_transcript() {
    let mut crpt = server();
    let mut sim = Sim::new(&mut crpt, T0);
    // Pharma: no signature and none needed.
    sim.server.pharma = true;
    let pharma = sim.register(registration::Signing::Unsigned);
    assert!(matches!(pharma, registration::Outcome::Registered { .. }));
    sim.server.pharma = false;
    // Unsigned, but the participant is not pharma.
    let unsigned = sim.register(registration::Signing::Unsigned);
    // An ATTACHED X-Signature is refused.
    sim.signer = attached_signer;
    let attached = sim.register(registration::Signing::Detached);
    // A detached signature over other bytes is refused.
    sim.signer = |_job| fake::sign_as(br#"{"address":"elsewhere"}"#, SignatureKind::Detached);
    let other_bytes = sim.register(registration::Signing::Detached);
    sim.signer = fake::sign;
    let unknown_key = sim
        .run(
            registration(registration::Signing::Detached, "not-a-key"),
            outcome_line,
        )
        .unwrap();
    let rejected = |reason: &str| registration::Outcome::Rejected {
        reason: Some(reason.into()),
    };
    assert_eq!(
        unsigned,
        rejected("The signature does not verify over the request body")
    );
    assert_eq!(attached, unsigned);
    assert_eq!(other_bytes, unsigned);
    assert_eq!(unknown_key, rejected("Unknown registration key"));
    // Both signed registrations refused for their signature read the same.
    let refused_signature = [
        "Start at +0s",
        "Sign Detached SuzRegistrationBody {\"address\":\"Moscow, 1\"}",
        "Signed at +0s",
        "Send POST https://intuot.crpt.ru:16443/api/v2/integration/connection?omsId=cdf12109-10d3-11e6-8b6f-0050569977a1 +X-Signature {\"address\":\"Moscow, 1\"}",
        "Recv 200 {\"rejectionReason\":\"The signature does not verify over the request body\",\"status\":\"REJECTED\"} at +0s",
        "Done Rejected { reason: Some(\"The signature does not verify over the request body\") }",
    ];
    let unsigned_then_refused = [
        "Start at +0s",
        "Send POST https://intuot.crpt.ru:16443/api/v2/integration/connection?omsId=cdf12109-10d3-11e6-8b6f-0050569977a1 {\"address\":\"Moscow, 1\"}",
        "Recv 200 {\"omsConnection\":\"00000001-1B59-4000-8000-000000000000\",\"status\":\"SUCCESS\"} at +0s",
        "Done Registered { oms_connection: \"00000001-1B59-4000-8000-000000000000\" }",
        "Start at +0s",
        "Send POST https://intuot.crpt.ru:16443/api/v2/integration/connection?omsId=cdf12109-10d3-11e6-8b6f-0050569977a1 {\"address\":\"Moscow, 1\"}",
        "Recv 200 {\"rejectionReason\":\"The signature does not verify over the request body\",\"status\":\"REJECTED\"} at +0s",
        "Done Rejected { reason: Some(\"The signature does not verify over the request body\") }",
    ];
    let unknown_key_log = [
        "Start at +0s",
        "Sign Detached SuzRegistrationBody {\"address\":\"Moscow, 1\"}",
        "Signed at +0s",
        "Send POST https://intuot.crpt.ru:16443/api/v2/integration/connection?omsId=cdf12109-10d3-11e6-8b6f-0050569977a1 +X-Signature {\"address\":\"Moscow, 1\"}",
        "Recv 200 {\"rejectionReason\":\"Unknown registration key\",\"status\":\"REJECTED\"} at +0s",
        "Done Rejected { reason: Some(\"Unknown registration key\") }",
    ];
    assert_eq!(
        sim.log,
        [
            &unsigned_then_refused[..],
            &refused_signature,
            &refused_signature,
            &unknown_key_log
        ]
        .concat()
    );
}

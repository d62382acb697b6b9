//! SUZ business calls (`crpt::suz`): the body signed DETACHED and sent as
//! `X-Signature` with the one retry after a refused token, SUZ's refusals
//! typed in every shape, the stand's own "token not valid" codes, and the
//! misuse rules of a signed call.

use super::*;
use tokendance::crpt::{suz, Signing};

const ORDER_URL: &str = "https://suzgrid.crpt.ru:16443/api/v2/lp/orders?omsId=oms-1";
const ORDER_BODY: &str = r#"{"products":[{"gtin":"04600000000000","quantity":10}],"comment":"Склад \"2\""}"#;

fn order() -> http::Request<Vec<u8>> {
    http::Request::post(ORDER_URL)
        .header("content-type", "application/json;charset=UTF-8")
        .body(ORDER_BODY.as_bytes().to_vec())
        .unwrap()
}

/// A detached signature from "the signer" (any DER will do here: SUZ's
/// check of it is the fake's and the GOST test's business).
fn signature(n: u8) -> Signature {
    Signature::from_der(vec![0x30, 0x80, n, 0xfb, 0xff])
}

/// A SUZ refusal of `code` with `error`, at `status`.
fn suz_refusal(status: u16, code: u32, error: &str) -> Input {
    json_answer(
        status,
        serde_json::json!({"success": false, "globalErrors": [{"error": error, "errorCode": code}]}),
    )
}

#[test]
fn a_signed_call_signs_the_exact_body_and_sends_it_as_x_signature() {
    let mut call = suz::Calls::new()
        .call(fixed("suz-1"), order(), Signing::Detached)
        .unwrap();
    // The signature comes first: a signer that fails costs no token.
    let job = sign(call.start(T0));
    assert_eq!(
        (job.kind(), job.purpose(), job.bytes()),
        (
            SignatureKind::Detached,
            Purpose::SuzRequestBody,
            ORDER_BODY.as_bytes()
        )
    );
    let sent = send(call.resume(T0, Input::Signature(signature(1))));
    assert_request(
        &sent,
        Method::POST,
        ORDER_URL,
        &[
            h(("content-type", "application/json;charset=UTF-8", false)),
            h(("clienttoken", "suz-1", true)),
            h(("x-signature", "MIAB+/8=", true)),
        ],
        ORDER_BODY.as_bytes(),
    );
    let answer = done(call.resume(T0, answer(200, r#"{"omsId":"oms-1","orderId":"o-1"}"#)));
    assert_eq!(answer.body(), br#"{"omsId":"oms-1","orderId":"o-1"}"#);
}

#[test]
fn the_retry_after_a_401_sends_the_same_body_and_signature_with_the_new_token() {
    let keeper = Mutex::new(TokenKeeper::new(CONN));
    let mut call = suz::Calls::new()
        .call(KeeperSource::new(&keeper, sign_in), order(), Signing::Detached)
        .unwrap();
    let _job = sign(call.start(T0));
    let key = send(call.resume(T0, Input::Signature(signature(7))));
    let first = send(answer_sign_in(&mut call, key, T0, "suz-1"));
    // Revoked by a sign-in elsewhere: signed in again, and the same bytes go
    // out without a second signature.
    let key = send(call.resume(at(1), suz_refusal(401, 401, "clientToken is not valid")));
    let retry = send(answer_sign_in(&mut call, key, at(1), "suz-2"));
    assert_same_but_credential(&first, &retry, "clienttoken");
    assert_eq!(header(&retry, "x-signature"), signature(7).to_base64());
    assert!(retry.as_http().headers()["x-signature"].is_sensitive());
    let _ = done(call.resume(at(1), answer(200, "{}")));
    assert_eq!(held_token(&keeper), "suz-2");
}

#[test]
fn a_stands_own_token_code_renews_only_when_named() {
    let stale = || suz_refusal(400, 1133, "Token is not valid");
    // Named: renewed and re-issued once, like a 401.
    let keeper = Mutex::new(TokenKeeper::new(CONN));
    let mut call = suz::Calls::new()
        .renew_on_code("1133")
        .call(KeeperSource::new(&keeper, sign_in), order(), Signing::Unsigned)
        .unwrap();
    let key = send(call.start(T0));
    let first = send(answer_sign_in(&mut call, key, T0, "suz-1"));
    let key = send(call.resume(at(1), stale()));
    let retry = send(answer_sign_in(&mut call, key, at(1), "suz-2"));
    assert_same_but_credential(&first, &retry, "clienttoken");
    // A second stale answer is a refused token, with SUZ's words.
    let err = failed(call.resume(at(1), stale()));
    let refusal = err.as_server().expect("a server error");
    assert_eq!(refusal.kind, ServerErrorKind::Unauthorized);
    assert_eq!(
        (refusal.code.as_deref(), refusal.message.as_deref()),
        (Some("1133"), Some("Token is not valid"))
    );

    // Not named (or another code): SUZ's refusal, and no sign-in.
    for calls in [suz::Calls::new(), suz::Calls::new().renew_on_code("113")] {
        let mut call = calls.call(fixed("suz-1"), order(), Signing::Unsigned).unwrap();
        let _ = send(call.start(T0));
        let err = failed(call.resume(T0, stale()));
        assert!(!call.token_refused());
        let refusal = err.as_server().expect("a server error");
        assert_eq!(
            (refusal.status.as_u16(), refusal.code.as_deref()),
            (400, Some("1133"))
        );
    }
}

#[test]
fn suz_refusals_are_typed_in_every_shape() {
    let cases: Vec<(Input, u16, Option<&str>, Option<&str>)> = vec![
        (
            suz_refusal(400, 1140, "GTIN not found"),
            400,
            Some("1140"),
            Some("GTIN not found"),
        ),
        // A refusal at 200 is still a refusal.
        (
            suz_refusal(200, 1001, "omsId unknown"),
            200,
            Some("1001"),
            Some("omsId unknown"),
        ),
        (
            json_answer(
                400,
                serde_json::json!({"success": false, "fieldErrors": [{"fieldName": "products", "errorCode": 1100, "fieldError": "must not be empty"}]}),
            ),
            400,
            Some("1100"),
            None,
        ),
        (
            answer(
                502,
                "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
            ),
            502,
            None,
            Some("502 Bad Gateway"),
        ),
        (answer(500, ""), 500, None, None),
    ];
    for (input, status, code, message) in cases {
        let mut call = suz::Calls::new()
            .call(fixed("suz-1"), order(), Signing::Unsigned)
            .unwrap();
        let _ = send(call.start(T0));
        let err = failed(call.resume(T0, input));
        let refusal = err
            .as_server()
            .unwrap_or_else(|| panic!("not a server error: {err:?}"));
        assert_eq!(refusal.status.as_u16(), status, "{refusal:?}");
        assert_eq!(refusal.code.as_deref(), code, "{refusal:?}");
        if message.is_some() {
            assert_eq!(refusal.message.as_deref(), message, "{refusal:?}");
        }
    }
}

#[test]
fn suz_successes_are_the_callers_untouched_whatever_their_shape() {
    let big = format!(
        r#"{{"omsId":"oms-1","codes":[{}]}}"#,
        vec![r#""010460000000000021abc""#; 4000].join(",")
    );
    assert!(big.len() > tokendance::MAX_BODY);
    let bodies = [
        big.as_str(),
        r#"{"omsId":"oms-1","orderId":"o-1"}"#,
        r#"[{"orderId":"o-1"}]"#,
        "0104600000000000215'2x",
        r#"{"a":1,"a":2}"#,
        "",
    ];
    for body in bodies {
        let mut call = suz::Calls::new()
            .call(fixed("suz-1"), order(), Signing::Unsigned)
            .unwrap();
        let _ = send(call.start(T0));
        let response = done(call.resume(T0, answer(200, body)));
        assert_eq!(response.body(), body.as_bytes());
    }
}

#[test]
fn the_signature_and_the_token_are_never_printed() {
    let sig = signature(9);
    let b64 = sig.to_base64();
    let hex: String = sig.as_der().iter().map(|b| format!("{b:02x}")).collect();
    let echoes = [
        format!("signature {b64} does not verify for token suz-secret-1"),
        format!("signature {hex} does not verify"),
    ];
    for echo in echoes {
        for status in [400, 401, 403] {
            let mut call = suz::Calls::new()
                .call(fixed("suz-secret-1"), order(), Signing::Detached)
                .unwrap();
            let _ = sign(call.start(T0));
            let _ = send(call.resume(T0, Input::Signature(sig.clone())));
            let shown_call = format!("{call:?}");
            let err = failed(call.resume(T0, suz_refusal(status, 1501, &echo)));
            for printed in [err.to_string(), format!("{err:?}"), shown_call] {
                assert!(!printed.contains(&b64), "{printed}");
                assert!(!printed.contains(&hex), "{printed}");
                assert!(!printed.contains("suz-secret-1"), "{printed}");
            }
        }
    }
    // The scrubber is what keeps them out: an echo without them is shown.
    let mut call = suz::Calls::new()
        .call(fixed("suz-secret-1"), order(), Signing::Detached)
        .unwrap();
    let _ = sign(call.start(T0));
    let _ = send(call.resume(T0, Input::Signature(sig)));
    let err = failed(call.resume(T0, suz_refusal(400, 1501, "signature does not verify")));
    assert!(err.to_string().contains("signature does not verify"), "{err}");
}

#[test]
fn a_signed_call_refuses_misuse() {
    let usage = |result: Result<_, Error>| match result {
        Err(Error::Usage(e)) => e,
        Err(other) => panic!("not a usage error: {other:?}"),
        Ok(_) => panic!("accepted"),
    };
    // Nothing to sign.
    let empty = http::Request::post(ORDER_URL).body(Vec::new()).unwrap();
    assert!(matches!(
        usage(
            suz::Calls::new()
                .call(fixed("t"), empty, Signing::Detached)
                .map(|_| ())
        ),
        UsageError::InvalidConfig { .. }
    ));
    // The signature cannot take the token's header.
    let call = Authorized::new(fixed("t"), order(), Scheme::SuzClientToken).unwrap();
    let same = call.with_body_signature(
        http::HeaderName::from_static("clienttoken"),
        SignatureKind::Detached,
        Purpose::SuzRequestBody,
    );
    assert!(matches!(
        usage(same.map(|_| ())),
        UsageError::InvalidConfig { .. }
    ));
    // Plain http only when allowed.
    let plain = || {
        http::Request::post("http://127.0.0.1:1/api/v2/lp/orders?omsId=o")
            .body(b"{}".to_vec())
            .unwrap()
    };
    assert!(matches!(
        usage(
            suz::Calls::new()
                .call(fixed("t"), plain(), Signing::Detached)
                .map(|_| ())
        ),
        UsageError::InsecureUrl { .. }
    ));
    assert!(suz::Calls::new()
        .insecure_http()
        .call(fixed("t"), plain(), Signing::Detached)
        .is_ok());

    // While the signer works, only a signature (or its failure) is taken.
    let mut call = suz::Calls::new()
        .call(fixed("t"), order(), Signing::Detached)
        .unwrap();
    let _ = sign(call.start(T0));
    assert_wrong_input(
        &mut call,
        answer(200, "{}"),
        Expect::Signature,
        InputKind::Response,
    );
    let err = failed(call.resume(T0, Input::Failed));
    assert!(matches!(err, Error::Usage(UsageError::Aborted)), "{err:?}");
    assert!(matches!(
        call.resume(T0, Input::Signature(signature(1))),
        Err(Error::Usage(UsageError::Finished))
    ));
}

//! SUZ business calls and MDLP's limits per method: an order signed over its
//! body with the token the keeper signs in for, the same order after its
//! token was revoked, and MDLP calls of one method through one limiter.

use std::sync::{Arc, Mutex};

use super::*;
use tokendance::call::{Authorized, Limiter, Scheme};
use tokendance::crpt::{suz, KeeperSource, Signing, TokenKeeper};

const ORDER: &str = r#"{"products":[{"gtin":"04600000000000","quantity":10}]}"#;

fn order() -> http::Request<Vec<u8>> {
    http::Request::post(format!(
        "https://intuot.crpt.ru:16443/api/v2/lp/orders?omsId={OMS_ID}"
    ))
    .header("content-type", "application/json")
    .body(ORDER.as_bytes().to_vec())
    .unwrap()
}

fn sign_in() -> Result<tokendance::crpt::ChallengeSignIn, Error> {
    true_api::sign_in(&TrueApiStand::Demo.endpoint(), Some(CONN))
}

fn status_line(response: &http::Response<Vec<u8>>) -> String {
    format!(
        "{} {}",
        response.status().as_u16(),
        String::from_utf8_lossy(response.body())
    )
}

#[test]
fn suz_order_signed_then_resent_after_a_revocation_transcript() {
    let mut crpt = server();
    let mut keeper = TokenKeeper::new(CONN);
    let mut sim = Sim::new(&mut crpt, T0).net(ms(100)).signer(ms(300), fake::sign);
    let mut place_order = |sim: &mut Sim<'_>| {
        let source = KeeperSource::new(&mut keeper, sign_in);
        let call = suz::Calls::new()
            .call(source, order(), Signing::Detached)
            .unwrap();
        sim.run(call, status_line).unwrap();
    };
    place_order(&mut sim);
    // A sign-in elsewhere revokes the keeper's token; the next order is refused
    // with 401, signed in again and re-sent with the signature it had.
    sim.now = sim.now.saturating_add(ms(2_000));
    sim.token(sign_in().unwrap());
    place_order(&mut sim);
    let orders = sim.server.orders().to_vec();
    let log: Vec<&str> = sim.log.iter().map(String::as_str).collect();
    let order_url = format!("https://intuot.crpt.ru:16443/api/v2/lp/orders?omsId={OMS_ID}");
    let key_url = "https://int01.gismt.crpt.tech/api/v3/true-api/auth/key";
    let sign_in_url = format!("https://int01.gismt.crpt.tech/api/v3/true-api/auth/simpleSignIn/{CONN}");
    let send_order = format!("Send POST {order_url} +X-Signature {ORDER}");
    let answer = |n: usize| {
        format!(
            "{{\"expectedCompleteTimestamp\":0,\"omsId\":\"{OMS_ID}\",\"orderId\":\"{}\"}}",
            orders[n]
        )
    };
    let created = |n: usize, at: &str| format!("Recv 200 {} at {at}", answer(n));
    let done = |n: usize| format!("Done 200 {}", answer(n));
    assert_eq!(orders.len(), 2);
    let expected: Vec<String> = vec![
        "Start at +0s".into(),
        format!("Sign Detached SuzRequestBody {ORDER}"),
        "Signed at +0.300s".into(),
        format!("Send GET {key_url} "),
        "Recv 200 {\"data\":\"QNRPNPFGJZ-000002\",\"uuid\":\"00000001-9f9e-4000-8000-000000000000\"} at +0.400s".into(),
        "Sign Attached TrueApiChallenge QNRPNPFGJZ-000002".into(),
        "Signed at +0.700s".into(),
        format!("Send POST {sign_in_url} {{\"uuid\":\"00000001-9f9e-4000-8000-000000000000\",\"data\":\"RkFLRS1DTVMtQVRUQUNIRUQ6UU5SUE5QRkdKWi0wMDAwMDI=\"}}"),
        "Recv 200 {\"token\":\"00000003-c152-4000-8000-000000000000\"} at +0.800s".into(),
        send_order.clone(),
        created(0, "+0.900s"),
        done(0),
    ];
    assert_eq!(
        log[..expected.len()],
        expected.iter().map(String::as_str).collect::<Vec<_>>()[..]
    );
    // The second order: one body signature, a 401, the sign-in, the same bytes again.
    let second = &log[log.iter().rposition(|l| l.starts_with("Start")).unwrap()..];
    // Each line's first two words: what happened, without the ids.
    let steps: Vec<String> = second
        .iter()
        .skip(1)
        .filter(|l| !l.starts_with("Signed"))
        .map(|l| l.split(' ').take(2).collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(
        steps,
        [
            "Sign Detached",
            "Send POST",
            "Recv 401",
            "Send GET",
            "Recv 200",
            "Sign Attached",
            "Send POST",
            "Recv 200",
            "Send POST",
            "Recv 200",
            "Done 200"
        ]
    );
    let resent: Vec<&&str> = second
        .iter()
        .filter(|l| l.starts_with("Send POST https://intuot"))
        .collect();
    assert_eq!(resent.len(), 2);
    assert!(resent.iter().all(|l| **l == send_order), "{resent:?}");
    assert_eq!(*second.last().unwrap(), done(1));
}

#[test]
fn mdlp_calls_of_one_method_wait_their_turn_transcript() {
    let mut crpt = server();
    let mut sim = Sim::new(&mut crpt, T0).net(ms(100));
    let token = sim.token(true_api::sign_in(&TrueApiStand::Demo.endpoint(), Some(CONN)).unwrap());
    let limiter = Arc::new(Mutex::new(Limiter::mdlp()));
    let url = "https://api.sb.mdlp.crpt.ru/api/v1/documents/outcome";
    sim.log.clear();
    for _ in 0..2 {
        let request = http::Request::get(url).body(Vec::new()).unwrap();
        let call = Authorized::new(token.clone(), request, Scheme::MdlpToken)
            .unwrap()
            .paced_by(Arc::clone(&limiter));
        sim.run(call, status_line).unwrap();
    }
    assert_eq!(
        sim.log,
        [
            "Start at +0.200s",
            "Send GET https://api.sb.mdlp.crpt.ru/api/v1/documents/outcome ",
            "Recv 200 {\"documents\":[],\"total\":0} at +0.300s",
            "Done 200 {\"documents\":[],\"total\":0}",
            "Start at +0.300s",
            // One second after the first call went out, not after its answer.
            "Wait until +1.200s",
            "Send GET https://api.sb.mdlp.crpt.ru/api/v1/documents/outcome ",
            "Recv 200 {\"documents\":[],\"total\":0} at +1.300s",
            "Done 200 {\"documents\":[],\"total\":0}",
        ]
    );
    assert_eq!(sim.server.mdlp_too_soon_calls(), 0);
}

//! The parse targets (`*_response`): each drives its flow to the step with
//! canned answers, then feeds it one response built from the input.

use std::fmt::Debug;
use std::time::Duration;

use tokendance::call::Authorized;
use tokendance::crpt::{self, mdlp};
use tokendance::oauth2::{self, Grant};
use tokendance::{Action, Flow, Input, Timestamp, TokenSet};

use super::checked::{Checked, Phase, Spec};
use super::checks::{check_refusal, check_token, Outcome};
use super::flows::{
    astana_flow, challenge_flow, gam_envelope_call, gam_flow, itc_consumer_call, itc_reply_call, mdlp_flow,
    monpay_flow, registration_flow, signature, suz_call, suz_signature, SUZ_ORDER,
};
use super::response::{ok_json, parse_input};
use super::session::SessionChecker;
use super::{Report, MDLP_PASSWORD, T0};

pub(super) fn token_response(data: &[u8], report: &mut Report) {
    let (response, _) = parse_input(data);
    match oauth2::parse_token_response(&response, T0) {
        Ok(token) => {
            assert!(response.status().is_success(), "a token from a non-2xx answer");
            check_token(&token, Some(T0));
            report.accepted += 1;
        }
        Err(err) => check_refusal(&err, &[], report),
    }
}

/// A one-request flow: `start`, then the fuzzed answer, then nothing more.
fn one_shot_response<F: Flow + Debug>(flow: (F, Spec), data: &[u8], report: &mut Report)
where
    F::Output: Outcome,
{
    let (response, _) = parse_input(data);
    let mut checked = Checked::from(flow);
    assert!(matches!(checked.start(T0, report), Some(Action::Send(_))));
    let later = T0.saturating_add(Duration::from_secs(1));
    let _ = checked.resume(later, Input::Response(response), report);
    assert_eq!(
        checked.phase,
        Phase::Finished,
        "a one-shot flow goes on after its answer"
    );
    assert!(checked.resume(later, Input::Timeout, report).is_none());
}

/// `gam_response`: the one token request of GAM.
pub(super) fn gam_response(data: &[u8], report: &mut Report) {
    one_shot_response(gam_flow(), data, report);
}

/// `monpay_response`: the one token request of MonPay.
pub(super) fn monpay_response(data: &[u8], report: &mut Report) {
    one_shot_response(monpay_flow(), data, report);
}

/// `astana_password_response`: the Astana-plat login, `authType` 1.
pub(super) fn astana_password_response(data: &[u8], report: &mut Report) {
    one_shot_response(astana_flow(true), data, report);
}

/// `astana_certificate_response`: the Astana-plat login, `authType` 2.
pub(super) fn astana_certificate_response(data: &[u8], report: &mut Report) {
    one_shot_response(astana_flow(false), data, report);
}

/// `itc_consumer_response`: the answer to `itc::consumer`.
pub(super) fn itc_consumer_response(data: &[u8], report: &mut Report) {
    api_response(itc_consumer_call(), data, report);
}

/// `itc_reply_response`: the answer to `itc::get_profile` (variant:
/// `itc::approve_qr`).
pub(super) fn itc_reply_response(data: &[u8], report: &mut Report) {
    let (response, approve) = parse_input(data);
    api_response_to(itc_reply_call(approve), response, report);
}

/// `gam_envelope_response`: the answer to a `gam::post` business call.
pub(super) fn gam_envelope_response(data: &[u8], report: &mut Report) {
    api_response(gam_envelope_call(), data, report);
}

/// `suz_call_response`: the answer to a SUZ order (`crpt::suz`), its body
/// signed (variant) or not. Whatever SUZ answers, only a 2xx is handed out.
pub(super) fn suz_call_response(data: &[u8], report: &mut Report) {
    let (response, signed) = parse_input(data);
    let status = response.status();
    let mut checked = Checked::from(suz_call(signed));
    let mut action = checked.start(T0, report);
    if signed {
        let Some(Action::Sign(job)) = action else {
            panic!("a signed SUZ call did not ask for its signature first");
        };
        assert_eq!(job.bytes(), SUZ_ORDER.as_bytes(), "the signer must get the body");
        action = checked.resume(T0, Input::Signature(suz_signature()), report);
    }
    let Some(Action::Send(request)) = action else {
        panic!("a SUZ call with a token did not send");
    };
    let headers = request.as_http().headers();
    assert!(
        headers["clienttoken"].is_sensitive(),
        "the token is not marked sensitive"
    );
    match headers.get("x-signature") {
        Some(sent) if signed => {
            assert_eq!(sent.as_bytes(), suz_signature().to_base64().as_bytes());
            assert!(sent.is_sensitive(), "the signature is not marked sensitive");
        }
        None if !signed => {}
        sent => panic!("X-Signature {sent:?} on a call signed: {signed}"),
    }
    if answer_ends_the_call(&mut checked, response, report) {
        assert!(status.is_success(), "SUZ's {status} was handed out as an answer");
    }
}

/// Feeds an authorised call its API's answer, which must end it; whether
/// the call handed out an answer.
fn answer_ends_the_call<F: Flow + Debug>(
    checked: &mut Checked<F>,
    response: http::Response<Vec<u8>>,
    report: &mut Report,
) -> bool
where
    F::Output: Outcome,
{
    let later = T0.saturating_add(Duration::from_secs(1));
    let outcome = checked.resume(later, Input::Response(response), report);
    assert_eq!(
        checked.phase,
        Phase::Finished,
        "the call goes on after its answer"
    );
    let done = matches!(outcome, Some(Action::Done(_)));
    assert!(checked.resume(later, Input::Timeout, report).is_none());
    done
}

/// An authorised call with a fixed token: `start` sends the request, then
/// the fuzzed answer ends it (a 401 cannot be retried without a new token).
fn api_response<T>(call: (Authorized<TokenSet, T>, Spec), data: &[u8], report: &mut Report)
where
    T: Outcome,
{
    let (response, _) = parse_input(data);
    api_response_to(call, response, report);
}

fn api_response_to<T>(
    call: (Authorized<TokenSet, T>, Spec),
    response: http::Response<Vec<u8>>,
    report: &mut Report,
) where
    T: Outcome,
{
    let status = response.status();
    let mut checked = Checked::from(call);
    let Some(Action::Send(request)) = checked.start(T0, report) else {
        panic!("an authorised call with a token did not send");
    };
    let header = request
        .as_http()
        .headers()
        .get("authorization")
        .expect("a credential");
    assert!(header.is_sensitive(), "the credential is not marked sensitive");
    if answer_ends_the_call(&mut checked, response, report) {
        assert!(
            status != 401 && status != 403 && !status.is_redirection(),
            "{status} was accepted"
        );
    }
}

pub(super) fn itc_response(data: &[u8], report: &mut Report) {
    let (response, refresh) = parse_input(data);
    let mut s = SessionChecker::new();
    assert!(s.poll(T0, report), "a new session sends");
    let mut now = T0;
    if refresh {
        let answer = ok_json(
            r#"{"access_token":"a-1","expires_in":300,"refresh_token":"r-1","refresh_expires_in":1800}"#,
        );
        s.handle(now, answer, report);
        now = T0.saturating_add(Duration::from_secs(300));
        assert!(s.poll(now, report), "a due token is refreshed");
        assert_eq!(s.session.in_flight(), Some(Grant::Refresh));
    }
    s.handle(now, response, report);
    s.poll(now, report);
}

pub(super) fn crpt_key_response(data: &[u8], report: &mut Report) {
    let (response, true_api) = parse_input(data);
    let mut checked = Checked::from(challenge_flow(true_api));
    assert!(matches!(checked.start(T0, report), Some(Action::Send(_))));
    let Some(Action::Sign(job)) = checked.resume(T0, Input::Response(response), report) else {
        return;
    };
    report.accepted += 1;
    let Some(Action::Send(request)) = checked.resume(T0, Input::Signature(signature()), report) else {
        panic!("a signature did not lead to the sign-in request");
    };
    // The server's uuid goes back as JSON, whatever characters it holds.
    let body: serde_json::Value =
        serde_json::from_slice(request.as_http().body()).expect("the sign-in body is JSON");
    assert_eq!(body["data"], signature().to_base64());
    assert!(body["uuid"].as_str().is_some_and(|u| !u.is_empty()));
    assert!(!job.bytes().is_empty());
}

pub(super) fn crpt_sign_in_response(data: &[u8], report: &mut Report) {
    let (response, true_api) = parse_input(data);
    let mut checked = Checked::from(challenge_flow(true_api));
    assert!(matches!(checked.start(T0, report), Some(Action::Send(_))));
    let key = ok_json(r#"{"uuid":"u-1","data":"QNRPNPFGJZ"}"#);
    assert!(matches!(
        checked.resume(T0, Input::Response(key), report),
        Some(Action::Sign(_))
    ));
    let t1 = T0.saturating_add(Duration::from_secs(2));
    assert!(matches!(
        checked.resume(t1, Input::Signature(signature()), report),
        Some(Action::Send(_))
    ));
    let done = checked.resume(
        t1.saturating_add(Duration::from_secs(1)),
        Input::Response(response),
        report,
    );
    if let Some(Action::Done(token)) = done {
        assert_eq!(
            token.expires_at(),
            Some(t1.saturating_add(crpt::CHALLENGE_TOKEN_LIFETIME))
        );
    }
}

pub(super) fn mdlp_auth_response(data: &[u8], report: &mut Report) {
    let (response, password) = parse_input(data);
    let mut checked = Checked::from(mdlp_flow(password));
    assert!(matches!(checked.start(T0, report), Some(Action::Send(_))));
    let code = match checked.resume(T0, Input::Response(response), report) {
        None => return,
        Some(Action::Sign(job)) => {
            report.accepted += 1;
            assert!(!password, "a password sign-in asked for a signature");
            let code = job.bytes().to_vec();
            let Some(Action::Wait(until)) = checked.resume(T0, Input::Signature(signature()), report) else {
                panic!("a quick signature did not wait for the spacing");
            };
            assert_eq!(until, T0.saturating_add(mdlp::SPACING));
            code
        }
        Some(Action::Wait(until)) => {
            report.accepted += 1;
            assert!(password, "a signed-code sign-in skipped the signature");
            assert_eq!(until, T0.saturating_add(mdlp::SPACING));
            Vec::new()
        }
        Some(other) => panic!("MDLP auth answer gave {other:?}"),
    };
    let later = T0.saturating_add(mdlp::SPACING);
    let Some(Action::Send(request)) = checked.resume(later, Input::Timeout, report) else {
        panic!("the spacing wait did not lead to the token request");
    };
    let body: serde_json::Value =
        serde_json::from_slice(request.as_http().body()).expect("the token body is JSON");
    let sent_code = body["code"].as_str().expect("the token body has the code");
    assert!(!sent_code.is_empty());
    if password {
        assert_eq!(body["password"], MDLP_PASSWORD);
    } else {
        assert_eq!(
            sent_code.as_bytes(),
            &code[..],
            "the signed code is not the code sent"
        );
        assert_eq!(body["signature"], signature().to_base64());
    }
}

pub(super) fn mdlp_token_response(data: &[u8], report: &mut Report) {
    let (response, password) = parse_input(data);
    let mut checked = Checked::from(mdlp_flow(password));
    assert!(matches!(checked.start(T0, report), Some(Action::Send(_))));
    let auth = ok_json(r#"{"code":"b7b1abc9-aa"}"#);
    let t1 = T0.saturating_add(Duration::from_secs(5));
    let next = checked.resume(t1, Input::Response(auth), report);
    if !password {
        assert!(matches!(next, Some(Action::Sign(_))));
        // A slow signer: the spacing has passed, the request goes at once.
        let t2 = t1.saturating_add(Duration::from_secs(3));
        assert!(matches!(
            checked.resume(t2, Input::Signature(signature()), report),
            Some(Action::Send(_))
        ));
    } else {
        assert!(matches!(next, Some(Action::Wait(_))));
        assert!(matches!(
            checked.resume(t1.saturating_add(mdlp::SPACING), Input::Timeout, report),
            Some(Action::Send(_))
        ));
    }
    let sent_at = checked.last_send_at.expect("the token request was sent");
    if let Some(Action::Done(token)) = checked.resume(sent_at, Input::Response(response), report) {
        // `life_time` is in minutes: the lifetime is whole minutes unless it saturated.
        let expires = token.expires_at().expect("MDLP tokens have a lifetime");
        let lifetime = expires.saturating_duration_since(sent_at).as_millis();
        assert!(
            expires == Timestamp::MAX || lifetime % 60_000 == 0,
            "life_time is not in minutes"
        );
    }
}

pub(super) fn suz_registration_response(data: &[u8], report: &mut Report) {
    let (response, unsigned) = parse_input(data);
    let mut checked = Checked::from(registration_flow(unsigned));
    let first = checked.start(T0, report);
    if unsigned {
        assert!(matches!(first, Some(Action::Send(_))));
    } else {
        let Some(Action::Sign(job)) = first else {
            panic!("a signed registration starts with a sign job");
        };
        let Some(Action::Send(request)) = checked.resume(T0, Input::Signature(signature()), report) else {
            panic!("the signature did not lead to the request");
        };
        assert_eq!(
            request.as_http().body(),
            job.bytes(),
            "sent bytes differ from signed bytes"
        );
    }
    let _ = checked.resume(T0, Input::Response(response), report);
    assert_eq!(checked.phase, Phase::Finished);
}

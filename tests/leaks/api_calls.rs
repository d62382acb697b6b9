//! Authorised API calls with fixed and renewable sources, their types and errors.

use super::api_server::{
    api_answers, carried_token, gam_reissue, monpay_reissue, run_api_kind, suz_sign_in, ApiCall, ApiServer,
    ALL_API_CALLS, FIRST_REFUSALS, INSUFFICIENT_ACCESS, ITC_FIRST_REFUSALS,
};
use super::*;

#[test]
fn api_calls_with_a_fixed_token_never_print_a_canary() {
    let mut seen = Seen::default();
    for kind in ALL_API_CALLS {
        let names: Vec<&str> = api_answers(ACCESS, kind.success())
            .iter()
            .map(|(n, _)| *n)
            .collect();
        for (scenario, name) in names.into_iter().enumerate() {
            let mut server = ApiServer::new(vec![scenario], kind.success());
            let token = TokenSet::new(AccessToken::new(ACCESS), T0, None);
            let label = format!("fixed / {name}");
            let status = api_answers(ACCESS, kind.success())[scenario].1.status();
            let result = run_api_kind(&mut seen, &label, kind, token, &mut server);
            // The raw call hands back whatever is neither a 401, a 403 nor a
            // redirect; typed calls accept their success answer only; a SUZ
            // call hands back 2xx answers that are not refusals.
            let refused = ["401", "403", "302"].iter().any(|p| name.starts_with(p));
            if kind == ApiCall::SuzSigned {
                assert!(name != "success" || result.is_ok(), "{name}: {result:?}");
                assert!(
                    result.is_err() || status.is_success(),
                    "{name}: {status} handed out"
                );
            } else {
                let raw = matches!(kind, ApiCall::Raw(_) | ApiCall::MonPay);
                let want_ok = name == "success" || (raw && !refused);
                assert_eq!(result.is_ok(), want_ok, "{kind:?} / {name}: {result:?}");
            }
            assert_eq!(server.api_calls(), 1, "a fixed token is never retried");
        }
    }
    seen.assert_clean(3_000);
}

#[test]
fn api_calls_retrying_with_renewable_sources_never_print_a_canary() {
    use std::sync::Mutex;
    use tokendance::call::{Scheme, SharedSource};
    use tokendance::crpt::{KeeperSource, TokenKeeper};
    let mut seen = Seen::default();
    let scenarios = api_answers(ACCESS, ApiCall::GamPost.success()).len();
    let mut retried_to_success = 0;
    for scenario in 0..scenarios {
        let plan = vec![FIRST_REFUSALS[scenario % FIRST_REFUSALS.len()], scenario];
        let itc_plan = vec![ITC_FIRST_REFUSALS[scenario % ITC_FIRST_REFUSALS.len()], scenario];
        // GAM client credentials re-run by a Reissue.
        for secret in [CLIENT_SECRET, CLIENT_SECRET_SPECIAL] {
            for kind in [ApiCall::GamPost, ApiCall::GamGet, ApiCall::Raw(Scheme::Bearer)] {
                let mut server = ApiServer::new(plan.clone(), kind.success());
                let result = run_api_kind(&mut seen, "reissue", kind, gam_reissue(secret), &mut server);
                assert_eq!(server.issued(), 2, "{kind:?} {scenario}: one new token");
                assert_eq!(server.api_calls(), 2, "{kind:?} {scenario}: retried once");
                // The same, shared through a SharedSource.
                let shared = Mutex::new(gam_reissue(secret));
                let mut server = ApiServer::new(plan.clone(), kind.success());
                let again = run_api_kind(
                    &mut seen,
                    "shared reissue",
                    kind,
                    SharedSource::new(&shared),
                    &mut server,
                );
                seen.debug("shared reissue after the call", &shared);
                assert_eq!((server.issued(), server.api_calls()), (2, 2));
                assert_eq!(again.is_ok(), result.is_ok(), "{kind:?} {scenario}");
                if scenario == 0 {
                    result.unwrap();
                    retried_to_success += 1;
                }
            }
        }
        // The ITC session: password grant, then the refresh after the 401.
        for pw in [PW, PW_SPECIAL] {
            for kind in [ApiCall::ItcConsumer, ApiCall::ItcProfile, ApiCall::ItcApprove] {
                let mut session = itc_session(pw);
                let mut server = ApiServer::new(itc_plan.clone(), kind.success());
                let result = run_api_kind(&mut seen, "itc session", kind, &mut session, &mut server);
                assert_eq!(server.api_calls(), 2, "{kind:?} {scenario}: retried once");
                seen.debug("itc session after the call", &session);
                let shared = Mutex::new(itc_session(pw));
                let mut server = ApiServer::new(itc_plan.clone(), kind.success());
                let again = run_api_kind(
                    &mut seen,
                    "shared itc session",
                    kind,
                    SharedSource::new(&shared),
                    &mut server,
                );
                seen.debug("shared itc session after the call", &shared);
                assert_eq!(server.api_calls(), 2, "{kind:?} {scenario}: retried once");
                assert_eq!(again.is_ok(), result.is_ok(), "{kind:?} {scenario}");
                if scenario == 0 {
                    result.unwrap();
                    retried_to_success += 1;
                    assert_eq!(session.tokens().unwrap().access_token().expose_secret(), ACCESS_2);
                }
            }
        }
        // The SUZ keeper, shared or not, signing in again after the 401.
        for kind in [
            ApiCall::Raw(Scheme::SuzClientToken),
            ApiCall::Raw(Scheme::MdlpToken),
            ApiCall::SuzSigned,
        ] {
            let keeper = Mutex::new(TokenKeeper::new(CRPT_CONN));
            let mut server = ApiServer::new(plan.clone(), kind.success());
            let source = KeeperSource::new(&keeper, suz_sign_in);
            let result = run_api_kind(&mut seen, "shared keeper", kind, source, &mut server);
            seen.debug("shared keeper after the call", &keeper);
            assert_eq!(server.issued(), 2);
            let mut keeper = TokenKeeper::new(CRPT_CONN);
            let mut server = ApiServer::new(plan.clone(), kind.success());
            let source = KeeperSource::new(&mut keeper, suz_sign_in);
            let other = run_api_kind(&mut seen, "own keeper", kind, source, &mut server);
            seen.debug("own keeper after the call", &keeper);
            assert_eq!(result.is_ok(), other.is_ok());
            if scenario == 0 {
                result.unwrap();
                retried_to_success += 1;
                assert_eq!(keeper.token().unwrap().access_token().expose_secret(), ACCESS_2);
            }
        }
    }
    assert_eq!(retried_to_success, 6 + 6 + 3);
    seen.assert_clean(10_000);
}

/// MonPay's merchant token through a Reissue: a stale 401 of any shape
/// renews it (the grant carrying the client secret, which a refused grant
/// echoes) and retries once; its 401 for a token without the right, echoing
/// the token, is Forbidden, with neither a renewal nor a retry.
#[test]
fn monpay_calls_never_print_a_canary() {
    let mut seen = Seen::default();
    let names: Vec<&str> = api_answers(ACCESS, ApiCall::MonPay.success())
        .iter()
        .map(|(n, _)| *n)
        .collect();
    assert!(INSUFFICIENT_ACCESS
        .iter()
        .all(|&i| names[i].contains("INSUFFICIENT_ACCESS") || names[i].contains("intCode 6")));
    for secret in [CLIENT_SECRET, CLIENT_SECRET_SPECIAL] {
        for (scenario, name) in names.iter().enumerate() {
            let plan = vec![FIRST_REFUSALS[scenario % FIRST_REFUSALS.len()], scenario];
            let mut server = ApiServer::new(plan, ApiCall::MonPay.success());
            let label = format!("monpay reissue / {name}");
            let result = run_api_kind(
                &mut seen,
                &label,
                ApiCall::MonPay,
                monpay_reissue(secret),
                &mut server,
            );
            assert_eq!(
                (server.issued(), server.api_calls()),
                (2, 2),
                "{name}: renewed, retried once"
            );
            if INSUFFICIENT_ACCESS.contains(&scenario) {
                let refusal = result.unwrap_err();
                assert_eq!(
                    refusal.as_server().unwrap().kind,
                    tokendance::ServerErrorKind::Forbidden,
                    "{name}"
                );
            }
        }
        for first in INSUFFICIENT_ACCESS {
            let mut server = ApiServer::new(vec![first], ApiCall::MonPay.success());
            let err = run_api_kind(
                &mut seen,
                "monpay forbidden",
                ApiCall::MonPay,
                monpay_reissue(secret),
                &mut server,
            )
            .unwrap_err();
            assert_eq!(
                err.as_server().unwrap().kind,
                tokendance::ServerErrorKind::Forbidden
            );
            assert_eq!(
                (server.issued(), server.api_calls()),
                (1, 1),
                "no renewal, no retry"
            );
        }
        // The renewal refused, echoing the grant's body (the client secret).
        let mut server = ApiServer::new(vec![FIRST_REFUSALS[0]], ApiCall::MonPay.success());
        server.refuse_issue = Some(1);
        let err = run_api_kind(
            &mut seen,
            "monpay renewal refused",
            ApiCall::MonPay,
            monpay_reissue(secret),
            &mut server,
        )
        .unwrap_err();
        assert_eq!(err.as_server().map(|s| s.status.as_u16()), Some(401));
    }
    seen.assert_clean(1_000);
}

#[test]
fn api_calls_whose_renewal_is_refused_never_print_a_canary() {
    use std::sync::Mutex;
    use tokendance::call::Scheme;
    use tokendance::crpt::{KeeperSource, TokenKeeper};
    let mut seen = Seen::default();
    for refuse in [0, 1] {
        for (i, first) in ITC_FIRST_REFUSALS.into_iter().enumerate() {
            let plan = vec![FIRST_REFUSALS[i % FIRST_REFUSALS.len()], 0];
            let itc_plan = vec![first, 0];
            for secret in [CLIENT_SECRET, CLIENT_SECRET_SPECIAL] {
                let mut server = ApiServer::new(plan.clone(), ApiCall::GamPost.success());
                server.refuse_issue = Some(refuse);
                let err = run_api_kind(
                    &mut seen,
                    "reissue refused",
                    ApiCall::GamPost,
                    gam_reissue(secret),
                    &mut server,
                )
                .unwrap_err();
                assert_eq!(err.as_server().map(|s| s.status.as_u16()), Some(401));
            }
            for pw in [PW, PW_SPECIAL] {
                let mut session = itc_session(pw);
                let mut server = ApiServer::new(itc_plan.clone(), ApiCall::ItcProfile.success());
                server.refuse_issue = Some(refuse);
                // A refused password grant ends the session; a refused
                // refresh is followed by the password grant.
                let result = run_api_kind(
                    &mut seen,
                    "itc refused",
                    ApiCall::ItcProfile,
                    &mut session,
                    &mut server,
                );
                assert_eq!(result.is_err(), refuse == 0, "{first}: {result:?}");
                assert_eq!(session.has_ended(), refuse == 0);
                seen.debug("itc session after a refusal", &session);
            }
            let keeper = Mutex::new(TokenKeeper::new(CRPT_CONN));
            let mut server = ApiServer::new(plan.clone(), ApiCall::GamPost.success());
            server.refuse_issue = Some(refuse);
            let source = KeeperSource::new(&keeper, suz_sign_in);
            let err = run_api_kind(
                &mut seen,
                "keeper refused",
                ApiCall::Raw(Scheme::SuzClientToken),
                source,
                &mut server,
            )
            .unwrap_err();
            assert_eq!(err.as_server().map(|s| s.status.as_u16()), Some(401));
            seen.debug("keeper after a refused sign-in", &keeper);
        }
    }
    seen.assert_clean(1_000);
}

#[test]
fn api_call_types_and_errors_never_print_a_canary() {
    use tokendance::call::{Authorized, Scheme};
    let mut seen = Seen::default();
    let token = AccessToken::new(ACCESS);
    // The credential headers, in every scheme.
    for scheme in [Scheme::Bearer, Scheme::SuzClientToken, Scheme::MdlpToken] {
        seen.debug("scheme", &scheme);
        let (name, value) = scheme.header(&token).unwrap();
        assert!(
            value.as_bytes().ends_with(ACCESS.as_bytes()),
            "the token is in the value"
        );
        assert!(value.is_sensitive());
        seen.debug("scheme header", &(name, value));
        let e = scheme
            .header(&AccessToken::new(format!("{ACCESS}\r\nX: 1")))
            .unwrap_err();
        seen.error("scheme header refused", &e);
    }
    // A request whose query carries a key: the call names its path only.
    let request = || {
        http::Request::get(format!("https://api.example/v1/items?api_key={ACCESS_2}&x=1"))
            .body(Vec::new())
            .unwrap()
    };
    let fixed = || TokenSet::new(AccessToken::new(ACCESS), T0, None);
    let mut call = Authorized::new(fixed(), request(), Scheme::Bearer).unwrap();
    seen.debug("call with a key in its query", &call);
    let _ = call.start(T0).unwrap();
    seen.debug("call with a key in its query, sent", &call);
    // Plain http, with the key in the query and user info.
    for uri in [
        format!("http://api.example/v1/items?api_key={ACCESS_2}"),
        format!("http://user:{PW}@api.example/v1/items?api_key={ACCESS_2}#{REFRESH}"),
    ] {
        let request = http::Request::get(uri).body(Vec::new()).unwrap();
        let e = Authorized::new(fixed(), request, Scheme::Bearer).unwrap_err();
        assert!(matches!(
            e,
            Error::Usage(UsageError::InsecureUrl { .. } | UsageError::InvalidUrl { .. })
        ));
        seen.error("insecure api url", &e);
    }
    // Usage errors of the calls.
    let e = itc::consumer(&itc::Config::staging(), "..", fixed()).unwrap_err();
    seen.error("dot segment", &e);
    let e = gam::post::<_, serde_json::Value>(&gam::Config::staging(), "", &["a"], &1, fixed()).unwrap_err();
    seen.error("empty partner code", &e);
    let e = itc::ProfileQuery::from_fields(None, None).unwrap_err();
    seen.error("profile query", &e);
    let expired = TokenSet::new(AccessToken::new(ACCESS), T0, Some(T0));
    let mut call = Authorized::new(expired, request(), Scheme::Bearer).unwrap();
    let e = call.start(T0).unwrap_err();
    assert_eq!(e, Error::Usage(UsageError::TokenUnavailable));
    seen.error("token unavailable", &e);
    seen.debug("call after token unavailable", &call);
    let mut call = Authorized::new(fixed(), request(), Scheme::Bearer).unwrap();
    let _ = call.start(T0).unwrap();
    let e = call
        .resume(T0, Input::Signature(Signature::from_der(SIG_DER.to_vec())))
        .unwrap_err();
    seen.error("unexpected input", &e);
    let e = call.resume(T0, Input::Failed).unwrap_err();
    seen.error("aborted", &e);
    seen.debug("aborted call", &call);
    // The typed answers on their own.
    for code in ["success", "inValidQr", "quotaExceeded"] {
        let c = itc::Code::parse(code);
        seen.both("code", &c);
    }
    let reply = itc::Reply::from_response(&ApiCall::ItcProfile.success()).unwrap();
    seen.debug("reply", &reply);
    let consumer = itc::Consumer::from_response(&ApiCall::ItcConsumer.success()).unwrap();
    seen.debug("consumer", &consumer);
    let envelope: gam::Envelope<serde_json::Value> =
        gam::Envelope::from_response(&ApiCall::GamPost.success()).unwrap();
    seen.debug("envelope", &envelope);
    // A GAM success envelope whose message echoes the token sent: scrubbed.
    let mut call =
        gam::get::<_, serde_json::Value>(&gam::Config::staging(), "S", &["a"], &[], fixed()).unwrap();
    let _ = call.start(T0).unwrap();
    let answer = json(
        200,
        serde_json::json!({
            "status": format!("200 {ACCESS}"),
            "message": format!("hello {ACCESS}"),
            "timestamp": format!("now {ACCESS}"),
            "data": {"echo": ACCESS},
        }),
    );
    let Action::Done(envelope) = call.resume(T0, Input::Response(answer)).unwrap() else {
        panic!()
    };
    // The texts are the caller's as sent; printed, they are withheld.
    assert_eq!(
        envelope.message.as_deref(),
        Some(format!("hello {ACCESS}").as_str())
    );
    assert_eq!(envelope.status, format!("200 {ACCESS}").as_str());
    for text in [
        Some(&envelope.status),
        envelope.message.as_ref(),
        envelope.timestamp.as_ref(),
    ] {
        let text = text.unwrap();
        assert!(text.echoes_secret());
        assert_eq!(
            (format!("{text:?}"), text.to_string()),
            (tokendance::WITHHELD.to_owned(), tokendance::WITHHELD.to_owned())
        );
    }
    // The payload is the caller's, untouched; the envelope's Debug does not show it.
    assert_eq!(envelope.data.as_ref().map(|d| d["echo"] == ACCESS), Some(true));
    assert!(
        format!("{envelope:?}").ends_with("data: Some(<not shown>) }"),
        "{envelope:?}"
    );
    seen.debug("envelope echoing the token", &envelope);
    // Through the blocking driver: the second refusal, and a lost request.
    let mut session = itc_session(PW);
    let mut server = ApiServer::new(vec![1, 1], ApiCall::ItcConsumer.success());
    let call = itc::consumer(&itc::Config::staging(), "AA12345678", &mut session).unwrap();
    let clock = std::cell::Cell::new(T0);
    let e = drive::drive(
        call,
        || clock.get(),
        |req| {
            seen.debug("driver raw headers", req.headers());
            Ok::<_, std::io::Error>(server.answer("driver", &req))
        },
        drive::no_signer,
        |t| clock.set(t),
    )
    .unwrap_err();
    assert!(matches!(&e, drive::DriveError::Flow(Error::Server(_))), "{e:?}");
    seen.both("driver second 401", &e);
    let e = drive::drive(
        itc::consumer(&itc::Config::staging(), "AA12345678", &mut session).unwrap(),
        || clock.get(),
        |_| Err(std::io::Error::other("connection reset")),
        drive::no_signer,
        |t| clock.set(t),
    )
    .unwrap_err();
    seen.both("driver transport error", &e);
    seen.debug("session after the driver", &session);
    seen.assert_clean(100);
}

/// The crate promises that "a server message echoing a secret the request
/// carried is scrubbed" (lib docs, Security), and the GAM envelope's message
/// is; ITC's getProfile/approveQr `msg` (and an unknown `code`) at HTTP 200
/// are kept as sent, token included.
#[test]
fn itc_reply_text_echoing_the_token_is_scrubbed() {
    let mut seen = Seen::default();
    for body in [
        serde_json::json!({"code": "userNotFound", "status": 201, "msg": format!("token {ACCESS} is fine but no user")}),
        serde_json::json!({"code": format!("err-{ACCESS}"), "status": 500}),
    ] {
        let fixed = TokenSet::new(AccessToken::new(ACCESS), T0, None);
        let query = itc::ProfileQuery::Phone("99112233".to_owned());
        let mut call = itc::get_profile(&itc::Config::staging(), &query, fixed).unwrap();
        let Action::Send(out) = call.start(T0).unwrap() else {
            panic!()
        };
        assert_eq!(carried_token(out.as_http()), ACCESS);
        let Action::Done(reply) = call.resume(T0, Input::Response(json(200, body))).unwrap() else {
            panic!()
        };
        seen.debug("itc reply echoing the token", &reply);
        seen.both("itc reply code echoing the token", &reply.code);
    }
    seen.assert_clean(4);
}

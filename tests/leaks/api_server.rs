//! The API calls of the leak tests and the scripted server they run against.

use super::*;

// Every call kind, with every token source, against an API that echoes the
// token it was sent (and token endpoints that echo what they were sent).

/// The API calls, each with its own answer type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ApiCall {
    Raw(tokendance::call::Scheme),
    ItcConsumer,
    ItcProfile,
    ItcApprove,
    GamPost,
    GamGet,
    /// A SUZ order through `crpt::suz`, its body signed (`X-Signature`).
    SuzSigned,
    /// `monpay::call`, MonPay's two 401s.
    MonPay,
}

/// A GAM `data` type, so that data of another shape is refused.
#[derive(serde::Deserialize, Debug)]
#[allow(dead_code)] // read through Debug only
struct GamOrder {
    id: u64,
}

impl ApiCall {
    /// The success answer of the call's API, with no secret in it.
    pub(super) fn success(self) -> http::Response<Vec<u8>> {
        use serde_json::json;
        match self {
            ApiCall::Raw(_) | ApiCall::SuzSigned => json(200, json!({"ok": true})),
            ApiCall::MonPay => json(200, json!({"code": "SUCCESS", "intCode": 0, "info": "Success"})),
            ApiCall::ItcConsumer => json(
                200,
                json!({"regNo": "AA12345678", "loginName": "12345678901", "givenName": "Бат", "familyName": "Дорж"}),
            ),
            ApiCall::ItcProfile | ApiCall::ItcApprove => json(
                200,
                json!({"code": "success", "status": 200, "msg": "Амжилттай", "loginName": "12345678901",
                       "email": "bat@example.mn"}),
            ),
            ApiCall::GamPost | ApiCall::GamGet => json(
                200,
                json!({"status": "200", "message": "OK", "timestamp": "2024-05-01T10:00:00Z", "data": {"id": 7}}),
            ),
        }
    }
}

/// Every answer the API gives to a request that carried the token `t`.
pub(super) fn api_answers(
    t: &str,
    success: http::Response<Vec<u8>>,
) -> Vec<(&'static str, http::Response<Vec<u8>>)> {
    use serde_json::json;
    let challenge =
        format!("Bearer realm=\"oms\", error=\"invalid_token\", error_description=\"expired {t}\"");
    vec![
        ("success", success),
        (
            "401 JSON and challenge echoing",
            response(
                401,
                &[
                    ("www-authenticate", &challenge),
                    ("content-type", "application/json"),
                ],
                serde_json::to_vec(
                    &json!({"error": format!("bad {t}"), "error_description": format!("token {t} expired"),
                    "message": t}),
                )
                .unwrap(),
            ),
        ),
        (
            "401 challenge only, echoing",
            response(
                401,
                &[(
                    "www-authenticate",
                    &format!("Bearer realm=\"{t}\", error=\"{t}\", error_description=\"{t} revoked\""),
                )],
                Vec::new(),
            ),
        ),
        (
            "401 XML echoing",
            response(
                401,
                &[
                    ("content-type", "application/xml"),
                    ("www-authenticate", &challenge),
                ],
                format!("<error><token>{t}</token></error>"),
            ),
        ),
        (
            "401 oversized echoing",
            response(401, &[], format!("{{\"message\":\"{t}{}\"}}", "x".repeat(70_000))),
        ),
        (
            "ITC invalidToken at 200 echoing",
            json(
                200,
                json!({"code": "invalidToken", "status": 401, "msg": format!("Токен {t} хүчингүй")}),
            ),
        ),
        (
            "403 echoing",
            json(403, json!({"error": t, "msg": format!("no right for {t}")})),
        ),
        ("403 empty", response(403, &[("content-length", "0")], Vec::new())),
        (
            "302 with the token in the target",
            response(
                302,
                &[("location", &format!("https://evil.example/x?token={t}#{t}"))],
                format!("moved {t}"),
            ),
        ),
        (
            "GAM error envelope echoing",
            json(
                200,
                json!({"status": "401", "message": format!("bad token {t}"), "error_code": t}),
            ),
        ),
        (
            "GAM error envelope at 400 echoing",
            json(
                400,
                json!({"status": 400, "message": format!("bad token {t}"), "error_code": format!("E_{t}")}),
            ),
        ),
        (
            "data of the wrong shape holding the token",
            json(
                200,
                json!({"status": "200", "data": {"id": t}, "regNo": [t], "loginName": {"token": t}, "code": [t]}),
            ),
        ),
        (
            "500 echoing",
            json(
                500,
                json!({"error": "server_error", "error_description": format!("{t} broke"), "msg": t}),
            ),
        ),
        (
            "429 echoing",
            response(
                429,
                &[("retry-after", "5"), ("content-type", "application/json")],
                serde_json::to_vec(&json!({"message": t})).unwrap(),
            ),
        ),
        (
            "502 HTML echoing",
            response(502, &[("content-type", "text/html")], format!("<html>{t}</html>")),
        ),
        (
            "200 HTML echoing",
            response(200, &[("content-type", "text/html")], format!("<html>{t}</html>")),
        ),
        (
            "401 INSUFFICIENT_ACCESS echoing",
            json(
                401,
                json!({"code": "INSUFFICIENT_ACCESS", "intCode": 6, "info": format!("token {t} lacks the right")}),
            ),
        ),
        (
            "401 intCode 6 echoing",
            json(401, json!({"intCode": 6, "info": t})),
        ),
    ]
}

/// The first answers of a retry: 401s of every shape (indices of [`api_answers`]).
pub(super) const FIRST_REFUSALS: [usize; 4] = [1, 2, 3, 4];
/// ITC also refuses a token with `"code": "invalidToken"` at HTTP 200.
pub(super) const ITC_FIRST_REFUSALS: [usize; 5] = [1, 2, 3, 4, 5];

/// The credential an API request carries, without its scheme word.
pub(super) fn carried_token(request: &http::Request<Vec<u8>>) -> String {
    let value = request
        .headers()
        .get("authorization")
        .or_else(|| request.headers().get("clienttoken"))
        .expect("the API request carries a credential");
    assert!(value.is_sensitive(), "the credential header is marked sensitive");
    let value = value.to_str().unwrap();
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("token "))
        .unwrap_or(value);
    token.to_owned()
}

/// A scripted server for the API and the token endpoints: two scripts
/// (common's `Scripted`), one for the token endpoints and one for the API,
/// since what it answers depends on which one a request is for and on the
/// token the API request carried.
pub(super) struct ApiServer {
    /// The tokens the token endpoints issue, in order (access, refresh).
    tokens: Scripted<(&'static str, &'static str)>,
    /// Which token issuance to refuse (echoing the request body).
    pub(super) refuse_issue: Option<usize>,
    /// The answer (an index of [`api_answers`]) to each API request.
    plan: Scripted<usize>,
    success: http::Response<Vec<u8>>,
}

impl ApiServer {
    pub(super) fn new(plan: Vec<usize>, success: http::Response<Vec<u8>>) -> Self {
        ApiServer {
            tokens: Scripted::new([(ACCESS, REFRESH), (ACCESS_2, REFRESH_2), (ACCESS_2, REFRESH_2)]),
            refuse_issue: None,
            plan: Scripted::new(plan),
            success,
        }
    }

    /// How many tokens the token endpoints were asked for.
    pub(super) fn issued(&self) -> usize {
        self.tokens.sent().len()
    }

    /// How many API requests came.
    pub(super) fn api_calls(&self) -> usize {
        self.plan.sent().len()
    }

    pub(super) fn answer(
        &mut self,
        label: &str,
        request: &http::Request<Vec<u8>>,
    ) -> http::Response<Vec<u8>> {
        use serde_json::json;
        let path = request.uri().path().to_owned();
        let raw = String::from_utf8_lossy(request.body()).into_owned();
        if path.ends_with("/auth/key") {
            return json(200, json!({"uuid": "u-1", "data": "QNRPNPFGJZ"}));
        }
        let sign_in = path.contains("/auth/simpleSignIn/");
        let token_endpoint = ["/openid-connect/token", "/oauth2/v3/token", "/v2/oauth/token"];
        if sign_in || token_endpoint.iter().any(|end| path.ends_with(end)) {
            let i = self.issued();
            let (access, refresh) = self.tokens.answer(request.clone());
            if self.refuse_issue == Some(i) {
                return json(
                    401,
                    json!({"error": "invalid_grant", "error_description": format!("refused: {raw}"),
                           "message": raw}),
                );
            }
            return if sign_in {
                json(200, json!({"token": access}))
            } else {
                json(200, token_body(access, refresh, 300, 1800))
            };
        }
        // The API: the token really is on the wire.
        let token = carried_token(request);
        assert!(token == ACCESS || token == ACCESS_2, "{label}: {token}");
        let i = self.plan.answer(request.clone());
        api_answers(&token, self.success.clone()).swap_remove(i).1
    }
}

/// Runs `call` against `server`, printing everything it hands out.
fn run_api_call<F: Flow + Debug>(
    seen: &mut Seen,
    label: &str,
    mut call: F,
    server: &mut ApiServer,
    record: fn(&mut Seen, &str, &F::Output),
) -> Result<(), Error> {
    let mut now = T0;
    seen.debug(&format!("{label}: call new"), &call);
    let mut step = call.start(now);
    let result = loop {
        seen.debug(&format!("{label}: call"), &call);
        step = match step {
            Ok(Action::Store(_)) => unreachable!("these calls use no store"),
            Ok(Action::Send(out)) => {
                seen.outgoing(&format!("{label}: request"), &out);
                let input = Input::Response(server.answer(label, out.as_http()));
                seen.debug(&format!("{label}: response input"), &input);
                call.resume(now, input)
            }
            Ok(Action::Sign(job)) => {
                seen.debug(&format!("{label}: sign job"), &job);
                let input = Input::Signature(Signature::from_der(SIG_DER.to_vec()));
                seen.debug(&format!("{label}: signature input"), &input);
                call.resume(now, input)
            }
            Ok(Action::Wait(until)) => {
                seen.debug(&format!("{label}: wait"), &until);
                now = until;
                call.resume(now, Input::Timeout)
            }
            Ok(Action::Done(output)) => {
                record(seen, &format!("{label}: output"), &output);
                break Ok(());
            }
            Err(e) => {
                seen.error(&format!("{label}: error"), &e);
                break Err(e);
            }
        };
    };
    seen.debug(&format!("{label}: call at the end"), &call);
    let Err(e) = call.resume(now, Input::Timeout) else {
        panic!("{label}: the call went on after its end")
    };
    assert_eq!(e, Error::Usage(UsageError::Finished), "{label}");
    assert!(server.api_calls() <= 2, "{label}: at most one retry");
    result
}

fn record_raw(seen: &mut Seen, label: &str, response: &http::Response<Vec<u8>>) {
    // The raw response is the caller's own; its head is printed.
    seen.debug(&format!("{label} status"), &response.status());
    seen.debug(&format!("{label} headers"), response.headers());
}

fn record_debug<T: Debug>(seen: &mut Seen, label: &str, output: &T) {
    seen.debug(label, output);
}

fn record_reply(seen: &mut Seen, label: &str, reply: &itc::Reply) {
    seen.debug(label, reply);
    seen.both(&format!("{label} code"), &reply.code);
}

/// Builds `kind` over `source` and runs it.
pub(super) fn run_api_kind<S>(
    seen: &mut Seen,
    label: &str,
    kind: ApiCall,
    source: S,
    server: &mut ApiServer,
) -> Result<(), Error>
where
    S: tokendance::call::TokenSource + Debug,
{
    use tokendance::call::{Authorized, Scheme};
    let label = format!("{label} / {kind:?}");
    let itc_config = itc::Config::staging();
    let gam_config = gam::Config::staging();
    match kind {
        ApiCall::Raw(scheme) => {
            let uri = match scheme {
                Scheme::SuzClientToken => "https://suzgrid.crpt.ru:16443/api/v2/pharma/ping?omsId=oms-1",
                Scheme::MdlpToken => "https://api.sb.mdlp.crpt.ru/api/v1/documents/outcome",
                _ => "https://wallet.monpay.mn/v2/api/user/info",
            };
            let request = http::Request::post(uri)
                .header("content-type", "application/json")
                .body(br#"{"page":1}"#.to_vec())
                .unwrap();
            let call = Authorized::new(source, request, scheme).unwrap();
            run_api_call(seen, &label, call, server, record_raw)
        }
        ApiCall::MonPay => {
            let request = http::Request::post("https://z-wallet.monpay.mn/v2/api/oauth/invoice")
                .header("content-type", "application/json")
                .body(br#"{"amount":100}"#.to_vec())
                .unwrap();
            let call = monpay::call(source, request).unwrap();
            run_api_call(seen, &label, call, server, record_raw)
        }
        ApiCall::ItcConsumer => {
            let call = itc::consumer(&itc_config, "АА12345678", source).unwrap();
            run_api_call(seen, &label, call, server, record_debug)
        }
        ApiCall::ItcProfile => {
            let query = itc::ProfileQuery::Phone("99112233".to_owned());
            let call = itc::get_profile(&itc_config, &query, source).unwrap();
            run_api_call(seen, &label, call, server, record_reply)
        }
        ApiCall::ItcApprove => {
            let call = itc::approve_qr(&itc_config, "12345678901", "QR-DATA-0001", source).unwrap();
            run_api_call(seen, &label, call, server, record_reply)
        }
        ApiCall::GamPost => {
            let body = serde_json::json!({"customerCode": "C-1"});
            let call =
                gam::post::<_, GamOrder>(&gam_config, "SHOP01", &["api", "v1", "orders"], &body, source)
                    .unwrap();
            run_api_call(seen, &label, call, server, record_debug)
        }
        ApiCall::GamGet => {
            let call = gam::get::<_, GamOrder>(
                &gam_config,
                "SHOP01",
                &["api", "v1", "orders", "7"],
                &[("q", "a b")],
                source,
            )
            .unwrap();
            run_api_call(seen, &label, call, server, record_debug)
        }
        ApiCall::SuzSigned => {
            let request = http::Request::post("https://suzgrid.crpt.ru:16443/api/v2/lp/orders?omsId=oms-1")
                .header("content-type", "application/json")
                .body(br#"{"products":[{"gtin":"04600000000000","quantity":1}]}"#.to_vec())
                .unwrap();
            let call = tokendance::crpt::suz::Calls::new()
                .call(source, request, tokendance::crpt::Signing::Detached)
                .unwrap();
            run_api_call(seen, &label, call, server, record_raw)
        }
    }
}

pub(super) const ALL_API_CALLS: [ApiCall; 10] = [
    ApiCall::Raw(tokendance::call::Scheme::Bearer),
    ApiCall::Raw(tokendance::call::Scheme::SuzClientToken),
    ApiCall::Raw(tokendance::call::Scheme::MdlpToken),
    ApiCall::ItcConsumer,
    ApiCall::ItcProfile,
    ApiCall::ItcApprove,
    ApiCall::GamPost,
    ApiCall::GamGet,
    ApiCall::SuzSigned,
    ApiCall::MonPay,
];

/// The indices in [`api_answers`] of MonPay's 401 for a token without the right.
pub(super) const INSUFFICIENT_ACCESS: [usize; 2] = [16, 17];

/// A merchant token re-run by a Reissue, with the client secret `secret`.
pub(super) fn monpay_reissue(
    secret: &'static str,
) -> tokendance::call::Reissue<impl FnMut() -> Result<TokenRequest, Error>, TokenRequest> {
    tokendance::call::Reissue::new(move || {
        monpay::client_credentials(
            &monpay::Config::test(),
            "merchant",
            ClientSecret::new(secret),
            monpay::DEFAULT_MERCHANT_TOKEN_LIFETIME,
        )
    })
}

pub(super) fn gam_reissue(
    secret: &'static str,
) -> tokendance::call::Reissue<impl FnMut() -> Result<TokenRequest, Error>, TokenRequest> {
    tokendance::call::Reissue::new(move || {
        gam::client_credentials(
            &gam::Config::staging(),
            "client-one",
            ClientSecret::new(secret),
            "s:a",
        )
    })
}

pub(super) fn suz_sign_in() -> Result<tokendance::crpt::ChallengeSignIn, Error> {
    tokendance::crpt::true_api::sign_in(&tokendance::crpt::TrueApiStand::Demo.endpoint(), Some(CRPT_CONN))
}

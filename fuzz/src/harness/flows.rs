//! The flows and calls under test, built with the harness's secrets, each
//! with the [`Spec`] of what it may do.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokendance::call::{Authorized, Limiter, Reissue};
use tokendance::crpt::{self, registration, suz, Signing};
use tokendance::{gam, itc, AccessToken, Error, Pacing, RegistrationKey, Signature, SignatureKind, TokenSet};

use super::checked::{spec, Spec, WaitRule};
use super::flow_table::{token_flow, BoxedTokenFlow, Canaries, TokenFlow};
use super::pacing::holder_bound;
use super::{
    API_TOKEN, AUTH_CODE, CLIENT_SECRET, MDLP_PASSWORD, MDLP_SECRET, PASSWORD, REGISTRATION_KEY,
    SUZ_SIGNATURE, T0,
};

pub(super) const HOST_ITC: &str = "st.auth.itc.gov.mn";
const HOST_GAM: &str = "iam-staging.gam.vn";
const HOST_SUZ: &str = "intuot.crpt.ru";

/// The harness's secrets, as the shared flow table takes them.
const CANARIES: Canaries = Canaries {
    password: PASSWORD,
    client_secret: CLIENT_SECRET,
    code: AUTH_CODE,
    mdlp_secret: MDLP_SECRET,
    mdlp_password: MDLP_PASSWORD,
};

/// The table's flow `name`, built with the harness's secrets, and what it may do.
fn table_flow(name: &str) -> (BoxedTokenFlow, Spec) {
    table_entry_flow(token_flow(name))
}

/// `entry`'s flow, built with the harness's secrets, and what it may do.
pub(super) fn table_entry_flow(entry: &TokenFlow) -> (BoxedTokenFlow, Spec) {
    let flow = (entry.build)(&CANARIES).expect("valid flow");
    let mut spec = spec(
        entry.host,
        entry.requests,
        entry.signature,
        &(entry.carries)(&CANARIES),
    );
    if let Some(spacing) = entry.spacing {
        spec.wait = WaitRule::AfterAnswer(spacing);
    }
    (flow, spec)
}

pub(super) fn gam_flow() -> (BoxedTokenFlow, Spec) {
    table_flow("gam")
}

pub(super) fn monpay_flow() -> (BoxedTokenFlow, Spec) {
    table_flow("monpay")
}

pub(super) fn astana_flow(password: bool) -> (BoxedTokenFlow, Spec) {
    table_flow(if password {
        "astana password"
    } else {
        "astana certificate"
    })
}

pub(super) fn challenge_flow(true_api: bool) -> (BoxedTokenFlow, Spec) {
    table_flow(if true_api { "true api" } else { "gis mt" })
}

pub(super) fn mdlp_flow(password: bool) -> (BoxedTokenFlow, Spec) {
    table_flow(if password {
        "mdlp password"
    } else {
        "mdlp signed code"
    })
}

pub(super) fn registration_flow(unsigned: bool) -> (registration::Registration, Spec) {
    let flow = registration::register(
        &crpt::SuzStand::Demo.endpoint(),
        "cdf12109-10d3-11e6-8b6f-0050569977a1",
        RegistrationKey::new(REGISTRATION_KEY),
        "Moscow, 1 Leninskie Gory",
        if unsigned {
            registration::Signing::Unsigned
        } else {
            registration::Signing::Detached
        },
        registration::DEFAULT_API_VERSION,
    )
    .expect("valid registration");
    (
        flow,
        spec(HOST_SUZ, 1, Some(SignatureKind::Detached), &[REGISTRATION_KEY]),
    )
}

const HOST_ITC_SERVICE: &str = "st-service.itc.gov.mn";
const HOST_GAM_API: &str = "gateway-staging.gam.vn";

/// A token no one can renew: a 401 ends the call with that 401.
pub(super) fn api_token() -> TokenSet {
    TokenSet::new(AccessToken::new(API_TOKEN), T0, None)
}

pub(super) fn itc_consumer_call() -> (Authorized<TokenSet, Option<itc::Consumer>>, Spec) {
    let call = itc::consumer(&itc::Config::staging(), "АА12345678", api_token()).expect("valid call");
    (call, spec(HOST_ITC_SERVICE, 1, None, &[API_TOKEN]))
}

pub(super) fn itc_reply_call(approve: bool) -> (Authorized<TokenSet, itc::Reply>, Spec) {
    let config = itc::Config::staging();
    let call = if approve {
        itc::approve_qr(&config, "12345678901", "qr payload", api_token())
    } else {
        itc::get_profile(&config, &itc::ProfileQuery::Phone("99112233".into()), api_token())
    };
    (
        call.expect("valid call"),
        spec(HOST_ITC_SERVICE, 1, None, &[API_TOKEN]),
    )
}

type GamEnvelopeCall<S> = Authorized<S, gam::Envelope<serde_json::Value>>;

pub(super) fn gam_envelope_call() -> (GamEnvelopeCall<TokenSet>, Spec) {
    let body = serde_json::json!({"customerCode": "C-1"});
    let call = gam::post(
        &gam::Config::staging(),
        "SHOP01",
        &["api", "v1", "authenticated"],
        &body,
        api_token(),
    )
    .expect("valid call");
    (call, spec(HOST_GAM_API, 1, None, &[API_TOKEN]))
}

/// The spacing of the limiter `authorized_call` is paced by.
const CALL_SPACING: Duration = Duration::from_secs(1);

type GamSource = Reissue<Box<dyn FnMut() -> Result<BoxedTokenFlow, Error>>, BoxedTokenFlow>;

/// A GAM call whose token comes from a client-credentials flow, run again
/// after a 401: token request, call, token request, call; paced by a
/// limiter of one call a second, so a retry soon after the first attempt
/// waits its turn.
pub(super) fn authorized_call() -> (GamEnvelopeCall<GamSource>, Spec) {
    let make: Box<dyn FnMut() -> Result<BoxedTokenFlow, Error>> = Box::new(|| Ok(gam_flow().0));
    let call = gam::get(
        &gam::Config::staging(),
        "SHOP01",
        &["api", "v1", "orders"],
        &[("from", "2024-05-01")],
        Reissue::new(make),
    )
    .expect("valid call")
    .paced_by(Arc::new(Mutex::new(Limiter::new(CALL_SPACING))));
    // No secret list: the API's answers may say anything (the API never saw
    // the client secret, so its words are not an echo to scrub); `gam_ops`
    // checks the token request's scrubbing.
    let mut spec = spec(HOST_GAM, 4, None, &[]);
    spec.api_host = Some(HOST_GAM_API);
    // Reissue backs off after a failed token request, within its pacing,
    // and hands out the token it holds while that is valid; the limiter
    // holds a request back at most its spacing.
    spec.wait = WaitRule::Within(holder_bound(&Pacing::reissue()).max(CALL_SPACING));
    spec.failed_may_go_on = true;
    (call, spec)
}

const HOST_SUZ_API: &str = "suzgrid.crpt.ru";

/// The body of the SUZ order `suz_call` creates.
pub(super) const SUZ_ORDER: &str = r#"{"products":[{"gtin":"04600000000000","quantity":10}]}"#;

/// A SUZ order created through `crpt::suz` with a fixed token, its body
/// signed when `signed`; SUZ's code 1133 counts as a refused token.
pub(super) fn suz_call(signed: bool) -> (Authorized<TokenSet>, Spec) {
    let request = http::Request::post("https://suzgrid.crpt.ru:16443/api/v2/lp/orders?omsId=oms-1")
        .header("content-type", "application/json")
        .body(SUZ_ORDER.as_bytes().to_vec())
        .expect("a request");
    let signing = if signed {
        Signing::Detached
    } else {
        Signing::Unsigned
    };
    let call = suz::Calls::new()
        .renew_on_code("1133")
        .call(api_token(), request, signing)
        .expect("valid call");
    // An unsigned call never sent the signature: it is no secret of that call.
    let (kind, secrets) = if signed {
        (Some(SignatureKind::Detached), &[API_TOKEN, SUZ_SIGNATURE][..])
    } else {
        (None, &[API_TOKEN][..])
    };
    (call, spec(HOST_SUZ_API, 1, kind, secrets))
}

/// The signature a SUZ call gets.
pub(super) fn suz_signature() -> Signature {
    Signature::from_base64(SUZ_SIGNATURE).expect("base64")
}

/// The signature every sign job gets.
pub(super) fn signature() -> Signature {
    Signature::from_der(vec![0x30, 0x80, 0x06, 0x09])
}

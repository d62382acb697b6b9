//! The flows and calls under test, built with the harness's secrets, each
//! with the [`Spec`] of what it may do.

use tokendance::call::{Authorized, Reissue};
use tokendance::crpt::{self, mdlp, registration, GisMtStand, TrueApiStand};
use tokendance::{
    astana_plat, gam, itc, monpay, AccessToken, AuthCode, ClientSecret, Endpoint, Error, Pacing, Password,
    RegistrationKey, Signature, SignatureKind, TokenSet,
};

use super::checked::{spec, Spec, WaitRule};
use super::pacing::holder_bound;
use super::{
    API_TOKEN, AUTH_CODE, CLIENT_SECRET, MDLP_PASSWORD, MDLP_SECRET, PASSWORD, REGISTRATION_KEY, T0,
};

pub(super) const HOST_ITC: &str = "st.auth.itc.gov.mn";
const HOST_GAM: &str = "iam-staging.gam.vn";
const HOST_MONPAY: &str = "z-wallet.monpay.mn";
const HOST_ASTANA: &str = "astana-plat.example";
const HOST_GIS_MT: &str = "demo.lp.crpt.tech";
const HOST_TRUE_API: &str = "int01.gismt.crpt.tech";
const HOST_MDLP: &str = "api.sb.mdlp.crpt.ru";
const HOST_SUZ: &str = "intuot.crpt.ru";

pub(super) fn gam_flow() -> (tokendance::TokenRequest, Spec) {
    let flow = gam::client_credentials(
        &gam::Config::staging(),
        "partner-app",
        ClientSecret::new(CLIENT_SECRET),
        "iam:user-password:update",
    )
    .expect("valid GAM flow");
    (flow, spec(HOST_GAM, 1, None, &[CLIENT_SECRET]))
}

pub(super) fn monpay_flow() -> (tokendance::TokenRequest, Spec) {
    let flow = monpay::exchange_code(
        &monpay::Config::test(),
        "client",
        ClientSecret::new(CLIENT_SECRET),
        AuthCode::new(AUTH_CODE),
        "https://shop.example/back",
    )
    .expect("valid MonPay flow");
    (flow, spec(HOST_MONPAY, 1, None, &[CLIENT_SECRET, AUTH_CODE]))
}

pub(super) fn astana_flow(password: bool) -> (tokendance::TokenRequest, Spec) {
    let url = Endpoint::parse("https://astana-plat.example/api/auth/login").expect("valid URL");
    if password {
        let flow = astana_plat::login_password(&url, "user", Password::new(PASSWORD)).expect("valid flow");
        (flow, spec(HOST_ASTANA, 1, None, &[PASSWORD]))
    } else {
        let flow = astana_plat::login_certificate(&url).expect("valid flow");
        (flow, spec(HOST_ASTANA, 1, None, &[]))
    }
}

pub(super) fn challenge_flow(true_api: bool) -> (crpt::ChallengeSignIn, Spec) {
    let attached = Some(SignatureKind::Attached);
    if true_api {
        let flow =
            crpt::true_api::sign_in(&TrueApiStand::Demo.endpoint(), Some("conn-1")).expect("valid flow");
        (flow, spec(HOST_TRUE_API, 2, attached, &[]))
    } else {
        let flow = crpt::gis_mt::sign_in(&GisMtStand::Demo.endpoint(), Some("conn-1")).expect("valid flow");
        (flow, spec(HOST_GIS_MT, 2, attached, &[]))
    }
}

pub(super) fn mdlp_flow(password: bool) -> (mdlp::MdlpSignIn, Spec) {
    let client = mdlp::Client {
        id: "7df0d06f".into(),
        secret: ClientSecret::new(MDLP_SECRET),
    };
    let (auth, secrets): (_, &'static [&'static str]) = if password {
        (
            mdlp::Auth::Password(Password::new(MDLP_PASSWORD)),
            &[MDLP_SECRET, MDLP_PASSWORD],
        )
    } else {
        (mdlp::Auth::SignedCode, &[MDLP_SECRET])
    };
    let flow = mdlp::sign_in(
        &crpt::MdlpStand::Sandbox.endpoint(),
        client,
        "user@example.org",
        auth,
        Some("conn-1"),
    )
    .expect("valid MDLP flow");
    let mut spec = spec(HOST_MDLP, 2, Some(SignatureKind::Detached), secrets);
    spec.wait = WaitRule::AfterAnswer(mdlp::SPACING);
    (flow, spec)
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

type GamSource =
    Reissue<Box<dyn FnMut() -> Result<tokendance::TokenRequest, Error>>, tokendance::TokenRequest>;

/// A GAM call whose token comes from a client-credentials flow, run again
/// after a 401: token request, call, token request, call.
pub(super) fn authorized_call() -> (GamEnvelopeCall<GamSource>, Spec) {
    let make: Box<dyn FnMut() -> Result<tokendance::TokenRequest, Error>> = Box::new(|| Ok(gam_flow().0));
    let call = gam::get(
        &gam::Config::staging(),
        "SHOP01",
        &["api", "v1", "orders"],
        &[("from", "2024-05-01")],
        Reissue::new(make),
    )
    .expect("valid call");
    // No secret list: the API's answers may say anything (the API never saw
    // the client secret, so its words are not an echo to scrub); `gam_ops`
    // checks the token request's scrubbing.
    let mut spec = spec(HOST_GAM, 4, None, &[]);
    spec.api_host = Some(HOST_GAM_API);
    // Reissue backs off after a failed token request, within its pacing,
    // and hands out the token it holds while that is valid.
    spec.wait = WaitRule::Within(holder_bound(&Pacing::reissue()));
    spec.failed_may_go_on = true;
    (call, spec)
}

/// The signature every sign job gets.
pub(super) fn signature() -> Signature {
    Signature::from_der(vec![0x30, 0x80, 0x06, 0x09])
}

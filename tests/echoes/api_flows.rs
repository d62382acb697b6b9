//! The API calls over fixed, keeper and `Reissue` sources, each driven to its echoed step.

use super::token_flows::{profile_call, record_reply};
use super::*;

fn fixed() -> TokenSet {
    TokenSet::new(AccessToken::new(ACCESS), T0, None)
}

/// Runs an API call (echo on every API request), then prints the call.
fn api_call<S, T>(mut call: Authorized<S, T>, echo: &Resp, record: fn(&T, &mut Printed)) -> Printed
where
    S: tokendance::call::TokenSource + Debug,
{
    let mut p = Printed::default();
    let mut server = Server::new(echo, is_api, false);
    drive(&mut call, T0, &mut server, &mut p, record);
    p.debug("Authorized", &call);
    p
}

fn record_raw(response: &http::Response<Vec<u8>>, p: &mut Printed) {
    // The raw response is the caller's own, untouched: only its status is printed here.
    p.output("response status", &response.status());
}

fn record_debug<T: Debug>(output: &T, p: &mut Printed) {
    p.output("output", output);
}

fn raw_request(scheme: Scheme) -> http::Request<Vec<u8>> {
    let uri = match scheme {
        Scheme::SuzClientToken => "https://suzgrid.crpt.ru:16443/api/v2/pharma/ping?omsId=oms-1",
        Scheme::MdlpToken => "https://api.sb.mdlp.crpt.ru/api/v1/documents/outcome",
        _ => "https://wallet.monpay.mn/v2/api/user/info",
    };
    http::Request::post(uri)
        .header("content-type", "application/json")
        .body(br#"{"page":1}"#.to_vec())
        .unwrap()
}

pub(super) fn run_itc_consumer(echo: &Resp) -> Printed {
    let call = itc::consumer(&itc::Config::staging(), "AA12345678", fixed()).unwrap();
    api_call(call, echo, record_debug)
}

pub(super) fn run_itc_profile(echo: &Resp) -> Printed {
    api_call(profile_call(fixed()), echo, record_reply)
}

pub(super) fn run_itc_approve(echo: &Resp) -> Printed {
    let call = itc::approve_qr(&itc::Config::staging(), "12345678901", "QR-DATA-0001", fixed()).unwrap();
    api_call(call, echo, record_reply)
}

fn gam_post<S: tokendance::call::TokenSource>(source: S) -> Authorized<S, gam::Envelope<Value>> {
    let body = json!({"customerCode": "C-1"});
    gam::post(
        &gam::Config::staging(),
        "SHOP01",
        &["api", "v1", "orders"],
        &body,
        source,
    )
    .unwrap()
}

pub(super) fn run_gam_post(echo: &Resp) -> Printed {
    api_call(gam_post(fixed()), echo, record_debug)
}

pub(super) fn run_gam_get(echo: &Resp) -> Printed {
    let call = gam::get::<_, Value>(
        &gam::Config::staging(),
        "SHOP01",
        &["api", "v1", "orders", "7"],
        &[("q", "a b")],
        fixed(),
    )
    .unwrap();
    api_call(call, echo, record_debug)
}

fn run_raw_fixed(scheme: Scheme, echo: &Resp) -> Printed {
    api_call(
        Authorized::new(fixed(), raw_request(scheme), scheme).unwrap(),
        echo,
        record_raw,
    )
}

pub(super) fn run_bearer_fixed(echo: &Resp) -> Printed {
    run_raw_fixed(Scheme::Bearer, echo)
}

pub(super) fn run_suz_fixed(echo: &Resp) -> Printed {
    run_raw_fixed(Scheme::SuzClientToken, echo)
}

pub(super) fn run_mdlp_token_fixed(echo: &Resp) -> Printed {
    run_raw_fixed(Scheme::MdlpToken, echo)
}

fn suz_sign_in() -> Result<crpt::ChallengeSignIn, Error> {
    crpt::true_api::sign_in(&crpt::TrueApiStand::Demo.endpoint(), Some(CONN))
}

/// A keeper holding [`ACCESS`]; after a 401 it signs in again (and gets [`ACCESS`]).
fn run_raw_keeper(scheme: Scheme, echo: &Resp) -> Printed {
    let mut keeper = TokenKeeper::new(CONN);
    let snapshot = Snapshot::new(CONN, 1, AccessToken::new(ACCESS), T0, Some(at(36_000)));
    assert_eq!(keeper.restore(snapshot), Ok(true));
    let mut p = {
        let source = KeeperSource::new(&mut keeper, suz_sign_in);
        let call = Authorized::new(source, raw_request(scheme), scheme).unwrap();
        api_call(call, echo, record_raw)
    };
    p.debug("TokenKeeper", &keeper);
    p
}

pub(super) fn run_suz_keeper(echo: &Resp) -> Printed {
    run_raw_keeper(Scheme::SuzClientToken, echo)
}

pub(super) fn run_mdlp_token_keeper(echo: &Resp) -> Printed {
    run_raw_keeper(Scheme::MdlpToken, echo)
}

/// GAM's client credentials re-run by a `Reissue`: the echo is the token step's.
pub(super) fn run_gam_reissue(echo: &Resp) -> Printed {
    let source = Reissue::new(|| {
        gam::client_credentials(
            &gam::Config::staging(),
            "client-one",
            ClientSecret::new(CS),
            "s:a",
        )
    });
    let mut call = gam_post(source);
    let mut p = Printed::default();
    let mut server = Server::new(echo, |path| path.ends_with("/oauth2/v3/token"), true);
    drive(&mut call, T0, &mut server, &mut p, record_debug);
    p.debug("Authorized", &call);
    p.debug("Reissue", call.source());
    p
}

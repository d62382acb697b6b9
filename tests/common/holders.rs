//! The token holders the renewal suites drive, set up once: the ITC session
//! on a test realm and its service, a True API sign-in for one connection
//! and the SUZ ping its token authorises, and `Reissue` over GAM client
//! credentials.

use tokendance::call::Reissue;
use tokendance::crpt::{true_api, ChallengeSignIn, TrueApiStand};
use tokendance::{gam, itc, ClientSecret, Endpoint, Error, Password, TokenRequest};

/// The CRPT connection the keepers hold a token for.
pub const CONN: &str = "11b1abc9-f4ee-47db-8a20-f80ac83504e8";

/// The citizen `itc::consumer` asks for.
pub const REG_NO: &str = "AA12345678";

/// An ITC realm and service on hosts of their own.
pub fn itc_config() -> itc::Config {
    itc::Config::new(
        Endpoint::parse("https://realm.test/auth/realms/Staging").unwrap(),
        Endpoint::parse("https://service.test/api/easy-register/").unwrap(),
    )
}

/// A session of the staging test user on [`itc_config`].
pub fn itc_session() -> tokendance::oauth2::PasswordSession {
    itc::session(
        &itc_config(),
        itc::STAGING_TEST_USERNAME,
        Password::new(itc::STAGING_TEST_PASSWORD),
    )
    .unwrap()
}

/// A True API sign-in for [`CONN`].
pub fn sign_in() -> Result<ChallengeSignIn, Error> {
    true_api::sign_in(&TrueApiStand::Demo.endpoint(), Some(CONN))
}

/// A SUZ ping, the API request a keeper's token authorises.
pub fn suz_ping() -> http::Request<Vec<u8>> {
    http::Request::get("https://suzgrid.crpt.ru:16443/api/v2/pharma/ping?omsId=oms-1")
        .body(Vec::new())
        .unwrap()
}

/// How `Reissue` makes its GAM token request.
pub type MakeGam = Box<dyn FnMut() -> Result<TokenRequest, Error>>;

/// `Reissue` over client credentials of the client `shop` at `config`.
pub fn reissue(config: gam::Config) -> Reissue<MakeGam, TokenRequest> {
    let make: MakeGam = Box::new(move || {
        gam::client_credentials(&config, "shop", ClientSecret::new("s3cret"), "orders:read")
    });
    Reissue::new(make)
}

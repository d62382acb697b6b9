//! Mongolia's tax authority, "Easy Register" (ITC, ebarimt): a Keycloak realm
//! issues tokens with the password grant for the public client `vatps`.
//!
//! Transcript of a [`PasswordSession`](crate::oauth2::PasswordSession) over a day: `Send(POST …/protocol/openid-connect/token
//! grant_type=password)` → token; 30 s before expiry `Send(grant_type=refresh_token)`
//! → token; when Keycloak answers the refresh with `invalid_grant` ("Token is
//! not active"), the next request is the password grant again.
//!
//! ```
//! use tokendance::{itc, Password, Timestamp};
//! use tokendance::oauth2::SessionAction;
//!
//! let mut session = itc::session(&itc::Config::staging(),
//!     itc::STAGING_TEST_USERNAME, Password::new(itc::STAGING_TEST_PASSWORD))?;
//! let now = Timestamp::from_unix_secs(1_700_000_000);
//! let SessionAction::Send(request) = session.poll(now)? else { unreachable!() };
//! assert_eq!(request.as_http().uri(),
//!     "https://st.auth.itc.gov.mn/auth/realms/Staging/protocol/openid-connect/token");
//! // ... send it, then:
//! let response = http::Response::builder().status(200).body(
//!     br#"{"access_token":"eyJ...","expires_in":300,"refresh_token":"eyJ...",
//!          "refresh_expires_in":1800,"token_type":"bearer"}"#.to_vec()).unwrap();
//! session.handle_response(now, response)?;
//! assert!(matches!(session.poll(now)?, SessionAction::UseToken(_)));
//! # Ok::<(), tokendance::Error>(())
//! ```

mod calls;
mod reply;
mod session;

pub use calls::{approve_qr, consumer, get_profile, ProfileQuery};
pub use reply::{Code, Consumer, Reply};
pub use session::session;

use crate::endpoint::Endpoint;

/// The Keycloak client id every Easy Register integrator uses.
pub const CLIENT_ID: &str = "vatps";

/// The public staging account printed in the ITC guide.
pub const STAGING_TEST_USERNAME: &str = "easy-register-test";
/// The public staging account's password, printed in the ITC guide.
pub const STAGING_TEST_PASSWORD: &str = "Test@123";

/// Where the realm (tokens) and the service (business calls) live.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    realm: Endpoint,
    service: Endpoint,
}

impl Config {
    /// The staging stand (`st.auth.itc.gov.mn`, realm `Staging`).
    pub fn staging() -> Self {
        Config {
            realm: Endpoint::preset("https://st.auth.itc.gov.mn/auth/realms/Staging"),
            service: Endpoint::preset("https://st-service.itc.gov.mn/api/easy-register/"),
        }
    }

    /// Production, with the realm the guide prints (`ITC`). Some integrators
    /// are given a realm named `Production`: use [`Config::new`] then.
    pub fn production() -> Self {
        Config {
            realm: Endpoint::preset("https://auth.itc.gov.mn/auth/realms/ITC"),
            service: Endpoint::preset("https://service.itc.gov.mn/api/easy-register/"),
        }
    }

    /// Any realm and service URLs (another realm name, a proxy, a local fake).
    pub fn new(realm: Endpoint, service: Endpoint) -> Self {
        Config { realm, service }
    }

    /// The Keycloak realm URL (`…/auth/realms/{realm}`).
    pub fn realm(&self) -> &Endpoint {
        &self.realm
    }

    /// The Easy Register service base URL.
    pub fn service(&self) -> &Endpoint {
        &self.service
    }
}

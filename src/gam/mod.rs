//! Vietnam's GAM Open API: OAuth2 client credentials with a required scope.
//!
//! Transcript: `Send(POST {AUTHORIZATION_SERVER}/oauth2/v3/token
//! grant_type=client_credentials&client_id&client_secret&scope)` →
//! `Done(token)` (expiry from `expires_in`, seconds).
//!
//! ```
//! use tokendance::{gam, ClientSecret, Flow, Action, Input, Timestamp};
//!
//! let mut flow = gam::client_credentials(&gam::Config::staging(), "partner-app",
//!     ClientSecret::new("s3cret"), "iam:user-password:update")?;
//! let now = Timestamp::from_unix_secs(1_000);
//! let Action::Send(request) = flow.start(now)? else { unreachable!() };
//! assert_eq!(request.as_http().uri(), "https://iam-staging.gam.vn/oauth2/v3/token");
//! let response = http::Response::new(
//!     br#"{"access_token":"eyJ...","expires_in":3600,"token_type":"Bearer"}"#.to_vec());
//! let Action::Done(token) = flow.resume(now, Input::Response(response))? else { unreachable!() };
//! assert_eq!(token.expires_at(), Some(Timestamp::from_unix_secs(4_600)));
//! # Ok::<(), tokendance::Error>(())
//! ```

mod api;
mod client_credentials;

pub use api::{get, post, Envelope, CLIENT_SOURCE};
pub use client_credentials::client_credentials;

use crate::endpoint::{Endpoint, Target};
use crate::error::Error;

/// The authorization server (tokens) and the resource server (business calls).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    authorization_server: Endpoint,
    resource_server: Endpoint,
    /// `{authorization_server}/oauth2/v3/token`, parsed once.
    token_target: Target,
}

impl Config {
    /// The staging stand (`iam-staging.gam.vn`, `gateway-staging.gam.vn/oms`).
    pub fn staging() -> Self {
        Self::new(
            Endpoint::preset("https://iam-staging.gam.vn"),
            Endpoint::preset("https://gateway-staging.gam.vn/oms"),
        )
    }

    /// Production (`iam.gam.vn`, `gateway.gam.vn/oms`).
    pub fn production() -> Self {
        Self::new(
            Endpoint::preset("https://iam.gam.vn"),
            Endpoint::preset("https://gateway.gam.vn/oms"),
        )
    }

    /// Any servers (a proxy, a local fake).
    pub fn new(authorization_server: Endpoint, resource_server: Endpoint) -> Self {
        Config {
            token_target: Target::new(&authorization_server, &["oauth2", "v3", "token"]),
            authorization_server,
            resource_server,
        }
    }

    /// The authorization server.
    pub fn authorization_server(&self) -> &Endpoint {
        &self.authorization_server
    }

    /// The resource server.
    pub fn resource_server(&self) -> &Endpoint {
        &self.resource_server
    }

    /// The token endpoint's request target.
    pub(crate) fn token_uri(&self) -> Result<http::Uri, Error> {
        self.token_target.uri()
    }
}

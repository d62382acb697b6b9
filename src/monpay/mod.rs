//! MonPay mini apps (Mongolia): the OAuth2 authorization-code exchange.
//!
//! Transcript: `Send(POST {base}/v2/oauth/token redirect_uri&client_id&client_secret&code&grant_type=authorization_code)`
//! → `Done(token)`. MonPay tokens currently never expire: a missing or zero
//! `expires_in` gives `expires_at() == None`.
//!
//! | status | `error` | [`ServerErrorKind`](crate::ServerErrorKind) |
//! |---|---|---|
//! | 400 | `invalid_request` | `InvalidRequest` |
//! | 401 | `unauthorized_client` | `InvalidClient` |
//! | 403 | `invalid_grant` | `InvalidGrant` (bad or used code) |
//! | 415 | `unsupported_grant_type` | `UnsupportedGrantType` |
//! | 505 | `server_error` | `Unavailable` |
//!
//! When the body carries no `error`, the code is taken from this table.

mod authorization_code;

pub use authorization_code::exchange_code;

use crate::endpoint::{Endpoint, Target};
use crate::error::Error;

/// Where the MonPay wallet API lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    base: Endpoint,
    /// `{base}/v2/oauth/token`, parsed once.
    token_target: Target,
}

impl Config {
    /// The test wallet printed in the guide (`z-wallet.monpay.mn`).
    pub fn test() -> Self {
        Self::new(Endpoint::preset("https://z-wallet.monpay.mn"))
    }

    /// The production wallet (`wallet.monpay.mn`).
    pub fn production() -> Self {
        Self::new(Endpoint::preset("https://wallet.monpay.mn"))
    }

    /// Any base URL (a proxy, a local fake).
    pub fn new(base: Endpoint) -> Self {
        Config {
            token_target: Target::new(&base, &["v2", "oauth", "token"]),
            base,
        }
    }

    /// The base URL.
    pub fn base(&self) -> &Endpoint {
        &self.base
    }

    /// The token endpoint's request target.
    pub(crate) fn token_uri(&self) -> Result<http::Uri, Error> {
        self.token_target.uri()
    }
}

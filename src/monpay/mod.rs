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

use crate::endpoint::Endpoint;

/// Where the MonPay wallet API lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    base: Endpoint,
}

impl Config {
    /// The test wallet printed in the guide (`z-wallet.monpay.mn`).
    pub fn test() -> Self {
        Config {
            base: Endpoint::preset("https://z-wallet.monpay.mn"),
        }
    }

    /// The production wallet (`wallet.monpay.mn`).
    pub fn production() -> Self {
        Config {
            base: Endpoint::preset("https://wallet.monpay.mn"),
        }
    }

    /// Any base URL (a proxy, a local fake).
    pub fn new(base: Endpoint) -> Self {
        Config { base }
    }

    /// The base URL.
    pub fn base(&self) -> &Endpoint {
        &self.base
    }
}

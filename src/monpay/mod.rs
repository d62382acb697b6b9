//! MonPay mini apps (Mongolia): the OAuth2 authorization-code exchange, the
//! merchant token, and API calls with MonPay's 401 rule.
//!
//! | flow | transcript | a missing or zero `expires_in` |
//! |---|---|---|
//! | [`exchange_code`] (the guide) | `Send(POST {base}/v2/oauth/token redirect_uri&client_id&client_secret&code&grant_type=authorization_code)` → `Done(token)` | `expires_at() == None`: user tokens currently never expire |
//! | [`client_credentials`] (field practice: a maintained Go client's `FetchToken`) | `Send(POST {base}/v2/oauth/token client_id&client_secret&grant_type=client_credentials)` → `Done(token)` | the lifetime you pass, e.g. [`DEFAULT_MERCHANT_TOKEN_LIFETIME`] (1 h), from the sending step |
//!
//! [`call`] spends a token on an API request: a 401 `UNAUTHORIZED` renews
//! the token and re-issues the request once; a 401 `INSUFFICIENT_ACCESS`
//! (`intCode` 6) is `Forbidden`, never retried (field practice).
//!
//! Both token requests share the endpoint and its status table:
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
mod call;
mod client_credentials;

pub use authorization_code::exchange_code;
pub use call::{call, call_insecure_http, INSUFFICIENT_ACCESS};
pub use client_credentials::{client_credentials, DEFAULT_MERCHANT_TOKEN_LIFETIME};

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

//! RFC 6749 §5.1 token responses, read leniently.

use crate::error::Error;
use crate::response::{classify, fields, Classified};
use crate::secret::{AccessToken, RefreshToken};
use std::time::Duration;

use crate::time::{secs, Timestamp};
use crate::token::TokenSet;

/// What an `expires_in` of zero means for a provider.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum ZeroLifetime {
    /// The token is already expired (RFC 6749 reading).
    Expired,
    /// The server does not know a lifetime (MonPay: tokens never expire).
    Unknown,
    /// No lifetime given (zero or no `expires_in`): the token is taken to
    /// live this long, so that it is renewed before the server drops it
    /// unannounced (MonPay's merchant token, which often comes without one).
    Assumed(Duration),
}

/// Parses a token response (RFC 6749 §5.1) for a request sent at `sent_at`.
///
/// Exposed for fuzzing and for callers with their own transport loops. It
/// accepts any 2xx with `access_token`; `expires_in` and `refresh_expires_in`
/// as numbers or numeric strings; `token_type` absent or `Bearer` in any case;
/// and refuses error bodies at any status.
///
/// ```
/// use tokendance::{oauth2::parse_token_response, Timestamp};
/// let resp = http::Response::builder()
///     .status(200)
///     .body(br#"{"access_token":"t","expires_in":"300","token_type":"bearer"}"#.to_vec())
///     .unwrap();
/// let token = parse_token_response(&resp, Timestamp::from_unix_secs(10)).unwrap();
/// assert_eq!(token.expires_at(), Some(Timestamp::from_unix_secs(310)));
///
/// let refused = http::Response::builder()
///     .status(200)
///     .body(br#"{"error":"invalid_grant","error_description":"Token is not active"}"#.to_vec())
///     .unwrap();
/// let err = parse_token_response(&refused, Timestamp::from_unix_secs(10)).unwrap_err();
/// assert_eq!(err.to_string(), "HTTP 200 invalid_grant: Token is not active");
/// ```
pub fn parse_token_response(
    response: &http::Response<Vec<u8>>,
    sent_at: Timestamp,
) -> Result<TokenSet, Error> {
    token_from_response(response, &[], sent_at, ZeroLifetime::Expired)
}

fields! {
    /// A token answer's fields (RFC 6749 §5.1, Keycloak's refresh lifetime).
    pub(crate) struct TokenFields {
        access_token,
        token_type,
        expires_in,
        refresh_token,
        refresh_expires_in,
        scope,
    }
    secrets: access_token, refresh_token;
}

/// The token in a response to a request that carried `scrub`.
pub(crate) fn token_from_response(
    response: &http::Response<Vec<u8>>,
    scrub: &[&str],
    sent_at: Timestamp,
    zero: ZeroLifetime,
) -> Result<TokenSet, Error> {
    token_from_reply(&classify(response, scrub)?, sent_at, zero)
}

/// The token in a classified reply.
fn token_from_reply(
    reply: &Classified<'_, TokenFields<'_>>,
    sent_at: Timestamp,
    zero: ZeroLifetime,
) -> Result<TokenSet, Error> {
    let body = reply.success()?;
    let access = reply.required_token(&body.access_token, "access_token")?;
    if let Some(kind) = reply.optional_str(&body.token_type, "token_type")? {
        if !kind.eq_ignore_ascii_case("bearer") {
            return Err(reply.malformed("token_type", "\"Bearer\" (in any case)"));
        }
    }
    let lifetime = reply.optional_count(&body.expires_in, "expires_in")?;
    let expires_at = match (lifetime, zero) {
        (Some(0) | None, ZeroLifetime::Assumed(assumed)) => Some(sent_at.saturating_add(assumed)),
        (Some(0), ZeroLifetime::Unknown) | (None, _) => None,
        (Some(n), _) => Some(sent_at.saturating_add(secs(n))),
    };
    let mut token = TokenSet::new(AccessToken::new(access), sent_at, expires_at);
    if let Some(refresh) = reply.optional_str(&body.refresh_token, "refresh_token")? {
        let refresh_expires_at = match reply.optional_count(&body.refresh_expires_in, "refresh_expires_in")? {
            // Keycloak sends 0 for offline tokens that do not expire.
            Some(0) | None => None,
            Some(n) => Some(sent_at.saturating_add(secs(n))),
        };
        token = token.with_refresh_token(RefreshToken::new(refresh), refresh_expires_at);
    }
    if let Some(scope) = reply.optional_str(&body.scope, "scope")? {
        token = token.with_scope(scope);
    }
    Ok(token)
}

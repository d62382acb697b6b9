//! The client-credentials token request.

use crate::error::{Error, UsageError};
use crate::flow::Outgoing;
use crate::oauth2::{token_from_response, ZeroLifetime};
use crate::secret::ClientSecret;
use crate::token_request::{keep_refusal, TokenRequest};
use crate::trace::Name;

use super::Config;

/// A client-credentials token request for `scope` (space-separated, required).
///
/// The client secret goes in the form body, as GAM's guide shows. A server
/// may grant less than it was asked (RFC 6749 §3.3): when the scope matters,
/// check [`TokenSet::scope`](crate::TokenSet::scope) of the token.
pub fn client_credentials(
    config: &Config,
    client_id: &str,
    client_secret: ClientSecret,
    scope: &str,
) -> Result<TokenRequest, Error> {
    if scope.trim().is_empty() {
        return Err(Error::Usage(UsageError::InvalidConfig {
            reason: "GAM requires a scope",
        }));
    }
    if client_id.is_empty() {
        return Err(Error::Usage(UsageError::InvalidConfig {
            reason: "empty client id",
        }));
    }
    let request = Outgoing::post_form_to(
        config.token_uri()?,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_secret", client_secret.expose_secret()),
            ("scope", scope),
        ],
    );
    Ok(TokenRequest::new(
        Name::new("gam", "client_credentials"),
        request,
        [client_secret.into_exposed()],
        |response, scrub, sent_at| token_from_response(response, scrub, sent_at, ZeroLifetime::Expired),
        keep_refusal,
    ))
}

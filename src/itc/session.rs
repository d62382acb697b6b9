//! The Easy Register token session: password grant, refresh, fallback.

use crate::error::Error;
use crate::oauth2::{PasswordSession, SessionConfig};
use crate::secret::Password;
use crate::trace::Name;

use super::{Config, CLIENT_ID};

/// A session for an Easy Register account on the realm of `config`: the
/// shared [`PasswordSession`], on the ITC realm and client.
///
/// The token endpoint is `{realm}/protocol/openid-connect/token`, the client
/// `vatps`, renewal 30 s before expiry (as public ITC clients do).
pub fn session(
    config: &Config,
    username: impl Into<String>,
    password: Password,
) -> Result<PasswordSession, Error> {
    let token_url = config.realm().join(&["protocol", "openid-connect", "token"])?;
    Ok(PasswordSession::new(
        SessionConfig::new(Name::new("itc", "session"), token_url, CLIENT_ID)?,
        username,
        password,
    ))
}

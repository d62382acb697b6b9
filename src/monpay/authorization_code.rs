//! Exchanging an authorization code for a token.

use crate::error::{Error, ServerError, ServerErrorKind, UsageError};
use crate::flow::Outgoing;
use crate::oauth2::ZeroLifetime;
use crate::secret::{AuthCode, ClientSecret};
use crate::token_request::TokenRequest;
use crate::trace::Name;

use super::Config;

/// Exchanges `code` (from the mini app's authorization step) for a token.
///
/// `redirect_uri` must be the absolute URL registered with MonPay. The client
/// secret goes in the form body, as MonPay's samples show.
///
/// ```
/// use tokendance::{monpay, AuthCode, ClientSecret, Flow, Action, Input, Timestamp, ServerErrorKind};
///
/// let mut flow = monpay::exchange_code(&monpay::Config::test(), "client",
///     ClientSecret::new("secret"), AuthCode::new("code-1"), "https://shop.example/back")?;
/// let now = Timestamp::from_unix_secs(5);
/// let _send = flow.start(now)?;
/// let refused = http::Response::builder().status(403).body(Vec::new()).unwrap();
/// let err = flow.resume(now, Input::Response(refused)).unwrap_err();
/// assert_eq!(err.as_server().unwrap().kind, ServerErrorKind::InvalidGrant);
/// # Ok::<(), tokendance::Error>(())
/// ```
pub fn exchange_code(
    config: &Config,
    client_id: &str,
    client_secret: ClientSecret,
    code: AuthCode,
    redirect_uri: &str,
) -> Result<TokenRequest, Error> {
    check_client_id(client_id)?;
    if url::Url::parse(redirect_uri).is_err() {
        return Err(Error::Usage(UsageError::InvalidConfig {
            reason: "redirect_uri must be an absolute URL",
        }));
    }
    let request = Outgoing::post_form_to(
        config.token_uri()?,
        &[
            ("redirect_uri", redirect_uri),
            ("client_id", client_id),
            ("client_secret", client_secret.expose_secret()),
            ("code", code.expose_secret()),
            ("grant_type", "authorization_code"),
        ],
    );
    Ok(TokenRequest::oauth(
        Name::new("monpay", "exchange_code"),
        request,
        [client_secret.into_exposed(), code.into_exposed()],
        ZeroLifetime::Unknown,
        apply_status_table,
    ))
}

/// Refuses an empty client id (MonPay would answer `invalid_request`).
pub(super) fn check_client_id(client_id: &str) -> Result<(), Error> {
    if client_id.is_empty() {
        return Err(Error::Usage(UsageError::InvalidConfig {
            reason: "empty client id",
        }));
    }
    Ok(())
}

/// MonPay's documented status table, for refusals whose body names no code.
pub(super) fn apply_status_table(refusal: &mut ServerError) {
    if refusal.code.is_some() {
        return;
    }
    let (code, kind) = match refusal.status.as_u16() {
        400 => ("invalid_request", ServerErrorKind::InvalidRequest),
        401 => ("unauthorized_client", ServerErrorKind::InvalidClient),
        403 => ("invalid_grant", ServerErrorKind::InvalidGrant),
        415 => ("unsupported_grant_type", ServerErrorKind::UnsupportedGrantType),
        505 => ("server_error", ServerErrorKind::Unavailable),
        _ => return,
    };
    refusal.code = Some(code.to_owned());
    refusal.kind = kind;
}

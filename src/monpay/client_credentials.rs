//! The merchant token: a client-credentials grant at the wallet's token
//! endpoint, for the invoice and deeplink APIs.
//!
//! MonPay's mini-app guide documents only the authorization-code exchange;
//! this grant is field practice (a maintained Go client's `FetchToken`
//! sends exactly these three fields to the same endpoint).

use std::time::Duration;

use crate::error::{Error, UsageError};
use crate::flow::Outgoing;
use crate::oauth2::ZeroLifetime;
use crate::secret::ClientSecret;
use crate::token_request::TokenRequest;
use crate::trace::Name;

use super::authorization_code::{apply_status_table, check_client_id};
use super::Config;

/// The lifetime [`client_credentials`] gives a merchant token whose answer
/// states none (no `expires_in`, or 0): one hour.
///
/// This is tokendance's choice, not MonPay's word: the answer often carries
/// no lifetime, and a token taken to live forever would be kept until an API
/// call is refused with it. With a lifetime, a
/// [`call::Reissue`](crate::call::Reissue) renews it ahead of time (its
/// renewal margin before the hour ends); a 401 still renews it at once.
pub const DEFAULT_MERCHANT_TOKEN_LIFETIME: Duration = Duration::from_secs(3600);

/// A merchant token request: `POST {wallet}/v2/oauth/token` with
/// `client_id`, `client_secret` and `grant_type=client_credentials` in the
/// form body, as the authorization-code exchange sends its client.
///
/// When the answer states no lifetime (no `expires_in`, or 0), the token is
/// taken to live `assumed_lifetime` from the moment the request was sent:
/// pass [`DEFAULT_MERCHANT_TOKEN_LIFETIME`] or your own. A lifetime the
/// answer states wins. A zero `assumed_lifetime` (a token expired on
/// arrival) or an empty client id is a usage error. Refusals without an
/// `error` get the codes of MonPay's status table (module docs).
///
/// Re-run it through [`call::Reissue`](crate::call::Reissue) to keep a
/// merchant token, and spend it with [`monpay::call`](super::call):
///
/// ```
/// use tokendance::call::Reissue;
/// use tokendance::{monpay, Action, ClientSecret, Flow, Input, Timestamp};
///
/// let config = monpay::Config::test();
/// let mut tokens = Reissue::new(|| {
///     monpay::client_credentials(&config, "merchant-1", ClientSecret::new("s3cret"),
///         monpay::DEFAULT_MERCHANT_TOKEN_LIFETIME)
/// });
/// let request = http::Request::get("https://z-wallet.monpay.mn/v2/api/oauth/invoice/7")
///     .body(Vec::new()).unwrap();
/// let now = Timestamp::from_unix_secs(1_000);
/// let mut call = monpay::call(&mut tokens, request)?;
/// // No token yet: the source sends the grant first.
/// let Action::Send(grant) = call.start(now)? else { unreachable!() };
/// assert_eq!(grant.as_http().body(),
///     b"client_id=merchant-1&client_secret=s3cret&grant_type=client_credentials");
/// let answer = http::Response::new(br#"{"access_token":"m-1","token_type":"bearer"}"#.to_vec());
/// let Action::Send(api) = call.resume(now, Input::Response(answer))? else { unreachable!() };
/// assert_eq!(api.as_http().headers()["authorization"], "Bearer m-1");
/// let invoice = http::Response::new(br#"{"code":0,"result":{"id":7}}"#.to_vec());
/// let Action::Done(response) = call.resume(now, Input::Response(invoice))? else { unreachable!() };
/// assert_eq!(response.status(), 200);
/// // The answer had no `expires_in`: the default lifetime applies.
/// let token = tokens.token().unwrap();
/// assert_eq!(token.expires_at(), Some(Timestamp::from_unix_secs(1_000 + 3_600)));
/// # Ok::<(), tokendance::Error>(())
/// ```
pub fn client_credentials(
    config: &Config,
    client_id: &str,
    client_secret: ClientSecret,
    assumed_lifetime: Duration,
) -> Result<TokenRequest, Error> {
    check_client_id(client_id)?;
    if assumed_lifetime.is_zero() {
        return Err(Error::Usage(UsageError::InvalidConfig {
            reason: "the assumed merchant token lifetime must not be zero",
        }));
    }
    let request = Outgoing::post_form_to(
        config.token_uri()?,
        &[
            ("client_id", client_id),
            ("client_secret", client_secret.expose_secret()),
            ("grant_type", "client_credentials"),
        ],
    );
    Ok(TokenRequest::oauth(
        Name::new("monpay", "client_credentials"),
        request,
        [client_secret.into_exposed()],
        ZeroLifetime::Assumed(assumed_lifetime),
        apply_status_table,
    ))
}

//! True API's unified sign-in: `GET {base}/auth/key`, an ATTACHED signature
//! of `data`, `POST {base}/auth/simpleSignIn/{omsConnection}`.

use super::challenge::Inn;
use super::ChallengeSignIn;
use crate::endpoint::Endpoint;
use crate::error::Error;
use crate::sign::Purpose;
use crate::trace::Name;

/// A True API sign-in on `base` (see [`TrueApiStand`](super::TrueApiStand)).
///
/// With `oms_connection` the token is a SUZ `clientToken` for that
/// connection (asking again revokes the previous one); without it, a token
/// for True API itself. The token lives 10 hours.
pub fn sign_in(base: &Endpoint, oms_connection: Option<&str>) -> Result<ChallengeSignIn, Error> {
    simple_sign_in(base, oms_connection, None)
}

/// [`sign_in`] for one company: a certificate that acts for several
/// participants names the one whose token it wants, by its INN (10 digits
/// for a company, 12 for a person; anything else is
/// [`UsageError::InvalidConfig`](crate::UsageError::InvalidConfig)). The
/// sign-in body then ends with `"inn":"…"`. From field practice (a large
/// 1C/.NET integration sends it), not from the guide this crate follows.
///
/// ```
/// use tokendance::crpt::{true_api, TrueApiStand};
/// let base = TrueApiStand::Demo.endpoint();
/// assert!(true_api::sign_in_for(&base, None, "7707083893").is_ok());
/// assert!(true_api::sign_in_for(&base, None, "77070838").is_err());
/// # Ok::<(), tokendance::Error>(())
/// ```
pub fn sign_in_for(
    base: &Endpoint,
    oms_connection: Option<&str>,
    inn: &str,
) -> Result<ChallengeSignIn, Error> {
    simple_sign_in(base, oms_connection, Some(Inn::parse(inn)?))
}

fn simple_sign_in(
    base: &Endpoint,
    oms_connection: Option<&str>,
    inn: Option<Inn>,
) -> Result<ChallengeSignIn, Error> {
    ChallengeSignIn::new(
        Name::new("true_api", if inn.is_some() { "sign_in_for" } else { "sign_in" }),
        base,
        &["auth", "key"],
        &["auth", "simpleSignIn"],
        oms_connection,
        Purpose::TrueApiChallenge,
        inn,
    )
}

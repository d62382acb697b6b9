//! True API's unified sign-in: `GET {base}/auth/key`, an ATTACHED signature
//! of `data`, `POST {base}/auth/simpleSignIn/{omsConnection}`.

use super::ChallengeSignIn;
use crate::endpoint::Endpoint;
use crate::error::Error;
use crate::sign::Purpose;

/// A True API sign-in on `base` (see [`TrueApiStand`](super::TrueApiStand)).
///
/// With `oms_connection` the token is a SUZ `clientToken` for that
/// connection (asking again revokes the previous one); without it, a token
/// for True API itself. The token lives 10 hours.
pub fn sign_in(base: &Endpoint, oms_connection: Option<&str>) -> Result<ChallengeSignIn, Error> {
    ChallengeSignIn::new(
        base,
        &["auth", "key"],
        &["auth", "simpleSignIn"],
        oms_connection,
        Purpose::TrueApiChallenge,
    )
}

//! GIS MT's unified sign-in: `GET {base}/auth/cert/key`, an ATTACHED
//! signature of `data`, `POST {base}/auth/cert/{omsConnection}`.

use super::ChallengeSignIn;
use crate::endpoint::Endpoint;
use crate::error::Error;
use crate::sign::Purpose;
use crate::trace::Name;

/// A GIS MT sign-in on `base` (see [`GisMtStand`](super::GisMtStand)).
///
/// With `oms_connection` the token is a SUZ `clientToken` for that
/// connection (asking again revokes the previous one); without it, a token
/// for GIS MT itself. The token lives 10 hours.
///
/// ```
/// use tokendance::crpt::{gis_mt, GisMtStand};
/// use tokendance::{Action, Flow, Timestamp};
/// let mut flow = gis_mt::sign_in(&GisMtStand::Demo.endpoint(), Some("conn-1"))?;
/// let Action::Send(key) = flow.start(Timestamp::EPOCH)? else { unreachable!() };
/// assert_eq!(key.as_http().uri(), "https://demo.lp.crpt.tech/api/v3/auth/cert/key");
/// # Ok::<(), tokendance::Error>(())
/// ```
pub fn sign_in(base: &Endpoint, oms_connection: Option<&str>) -> Result<ChallengeSignIn, Error> {
    ChallengeSignIn::new(
        Name::new("gis_mt", "sign_in"),
        base,
        &["auth", "cert", "key"],
        &["auth", "cert"],
        oms_connection,
        Purpose::GisMtChallenge,
        None,
    )
}

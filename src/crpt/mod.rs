//! Russia's CRPT "Chestny ZNAK" marking system: tokens for the SUZ order
//! station (`clientToken`) through MDLP, GIS MT or True API, and the
//! registration of an installation that yields its `omsConnection`.
//!
//! | flow | transcript | signature |
//! |---|---|---|
//! | [`registration::register`] | `Sign(Detached, body)` → `Send(POST {suz}/api/v2/integration/connection?omsId=…)` → `Done(Registered \| Rejected)` | detached, over the exact body bytes (none for pharma) |
//! | [`gis_mt::sign_in`] | `Send(GET {base}/auth/cert/key)` → `Sign(Attached, data)` → `Send(POST {base}/auth/cert/{omsConnection})` → `Done(token, 10 h)` | attached, over `data` |
//! | [`true_api::sign_in`] | `Send(GET {base}/auth/key)` → `Sign(Attached, data)` → `Send(POST {base}/auth/simpleSignIn/{omsConnection})` → `Done(token, 10 h)` | attached, over `data` |
//! | [`mdlp::sign_in`] | `Send(POST {base}/api/v1/auth)` → `Sign(Detached, code)` → `Wait(1 s after the answer)` → `Send(POST {base}/api/v1/token/{omsConnection})` → `Done(token, life_time min)` | detached, over `code` (or a password) |
//! | [`suz::Calls::call`] (a business call) | `Sign(Detached, body)` (when signed) → token steps → `Send(your request + clientToken + X-Signature)` → `Done(response)`, SUZ's refusals typed | detached, over the exact body bytes |
//!
//! The signer is yours (CryptoPro, a hardware token, a remote HSM, OpenSSL
//! with the GOST engine): a flow hands out a [`SignJob`](crate::SignJob) with
//! the exact bytes and the kind of CMS signature the server checks, and waits
//! for the [`Signature`](crate::Signature) as it waits for a response. The
//! servers punish a mix-up (a detached signature on a login gets HTTP 403);
//! the flows send whatever you sign, so check `job.kind()`.
//!
//! One token lives per `omsConnection`: asking again **revokes** the previous
//! one, so never run two sign-ins for one connection at once.
//!
//! ```
//! use tokendance::crpt::{true_api, TrueApiStand};
//! use tokendance::{Action, Flow, Input, Signature, SignatureKind, Timestamp};
//!
//! let mut flow = true_api::sign_in(&TrueApiStand::Demo.endpoint(), Some("11b1abc9-f4ee-47db-8a20-f80ac83504e8"))?;
//! let now = Timestamp::from_unix_secs(1_700_000_000);
//! let Action::Send(key) = flow.start(now)? else { unreachable!() };
//! assert_eq!(key.as_http().uri(), "https://int01.gismt.crpt.tech/api/v3/true-api/auth/key");
//! let challenge = http::Response::new(br#"{"uuid":"u-1","data":"QNRPNPFGJZ"}"#.to_vec());
//! let Action::Sign(job) = flow.resume(now, Input::Response(challenge))? else { unreachable!() };
//! assert_eq!((job.bytes(), job.kind()), (&b"QNRPNPFGJZ"[..], SignatureKind::Attached));
//! let signature = Signature::from_der(vec![0x30, 0x80]); // from your signer
//! let Action::Send(sign_in) = flow.resume(now, Input::Signature(signature))? else { unreachable!() };
//! assert_eq!(sign_in.as_http().body(), br#"{"uuid":"u-1","data":"MIA="}"#);
//! let answer = http::Response::new(br#"{"token":"58f908f1-832a-4ad0-93f4-bdafbf8eb55a"}"#.to_vec());
//! let Action::Done(token) = flow.resume(now, Input::Response(answer))? else { unreachable!() };
//! assert_eq!(token.expires_at(), Some(Timestamp::from_unix_secs(1_700_000_000 + 10 * 3600)));
//! # Ok::<(), tokendance::Error>(())
//! ```

mod challenge;
pub mod gis_mt;
mod json;
mod keeper;
mod keeper_source;
pub mod mdlp;
pub mod registration;
pub mod suz;
pub mod true_api;

pub use challenge::ChallengeSignIn;
pub use keeper::{KeeperAction, RenewalTicket, Snapshot, TokenKeeper};
pub use keeper_source::{KeeperHandle, KeeperSource, SignIn};
pub use registration::Signing;

use crate::endpoint::Endpoint;
use crate::error::Error;
use crate::secret::AccessToken;

/// GIS MT stands (`{base}` of [`gis_mt::sign_in`]).
///
/// New stands may be added in a minor release, so the enum is
/// `#[non_exhaustive]`; [`ALL`](Self::ALL) lists today's.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[non_exhaustive]
pub enum GisMtStand {
    /// `https://ismpr.crpt.ru/api/v3`.
    Production,
    /// `https://demo.lp.crpt.tech/api/v3`.
    Demo,
}

impl GisMtStand {
    /// Every stand.
    pub const ALL: &[Self] = &[GisMtStand::Production, GisMtStand::Demo];

    /// The stand's base URL.
    pub fn endpoint(self) -> Endpoint {
        Endpoint::preset(match self {
            GisMtStand::Production => "https://ismpr.crpt.ru/api/v3",
            GisMtStand::Demo => "https://demo.lp.crpt.tech/api/v3",
        })
    }
}

/// True API stands (`{base}` of [`true_api::sign_in`]).
///
/// New stands may be added in a minor release, so the enum is
/// `#[non_exhaustive]`; [`ALL`](Self::ALL) lists today's.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[non_exhaustive]
pub enum TrueApiStand {
    /// `https://int01.gismt.crpt.tech/api/v3/true-api`.
    Demo,
    /// Production for tobacco and alternative tobacco: `https://ismotp.crptech.ru/api/v3/true-api`.
    ProductionTobacco,
    /// Production for the other product groups: `https://markirovka.crpt.ru/api/v3/true-api`.
    Production,
    /// The sandbox, `https://markirovka.sandbox.crptech.ru/api/v3/true-api`.
    /// From field practice (integrators test against it), not from the
    /// guides this crate was built from.
    Sandbox,
}

impl TrueApiStand {
    /// Every stand.
    pub const ALL: &[Self] = &[
        TrueApiStand::Demo,
        TrueApiStand::ProductionTobacco,
        TrueApiStand::Production,
        TrueApiStand::Sandbox,
    ];

    /// The stand's base URL.
    pub fn endpoint(self) -> Endpoint {
        Endpoint::preset(match self {
            TrueApiStand::Demo => "https://int01.gismt.crpt.tech/api/v3/true-api",
            TrueApiStand::ProductionTobacco => "https://ismotp.crptech.ru/api/v3/true-api",
            TrueApiStand::Production => "https://markirovka.crpt.ru/api/v3/true-api",
            TrueApiStand::Sandbox => "https://markirovka.sandbox.crptech.ru/api/v3/true-api",
        })
    }
}

/// MDLP stands (`{endpoint}` of [`mdlp::sign_in`]), all over https.
///
/// The non-resident stands also answer on plain http
/// ([`MDLP_NON_RESIDENT_PRODUCTION_HTTP`], [`MDLP_NON_RESIDENT_SANDBOX_HTTP`]),
/// which CRPT is switching off; use them only through
/// [`Endpoint::parse_insecure_http`].
///
/// New stands may be added in a minor release, so the enum is
/// `#[non_exhaustive]`; [`ALL`](Self::ALL) lists today's.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[non_exhaustive]
pub enum MdlpStand {
    /// Residents, production: `https://api.mdlp.crpt.ru`.
    Production,
    /// Residents, sandbox: `https://api.sb.mdlp.crpt.ru`.
    Sandbox,
    /// Non-residents, production: `https://nrz.api.mdlp.crpt.ru`.
    NonResidentProduction,
    /// Non-residents, sandbox: `https://nrz.api.sb.mdlp.crpt.ru`.
    NonResidentSandbox,
}

impl MdlpStand {
    /// Every stand.
    pub const ALL: &[Self] = &[
        MdlpStand::Production,
        MdlpStand::Sandbox,
        MdlpStand::NonResidentProduction,
        MdlpStand::NonResidentSandbox,
    ];

    /// The stand's base URL.
    pub fn endpoint(self) -> Endpoint {
        Endpoint::preset(match self {
            MdlpStand::Production => "https://api.mdlp.crpt.ru",
            MdlpStand::Sandbox => "https://api.sb.mdlp.crpt.ru",
            MdlpStand::NonResidentProduction => "https://nrz.api.mdlp.crpt.ru",
            MdlpStand::NonResidentSandbox => "https://nrz.api.sb.mdlp.crpt.ru",
        })
    }
}

/// The plain-http address of the non-resident production stand (being switched off).
///
/// # Security warning
/// Over plain http the client secret, the password and the token travel in
/// clear text. Use only with [`Endpoint::parse_insecure_http`] and only when
/// the https stand is out of reach.
pub const MDLP_NON_RESIDENT_PRODUCTION_HTTP: &str = "http://api.mdlp.crpt.ru";
/// The plain-http address of the non-resident sandbox (being switched off).
/// The same warning as [`MDLP_NON_RESIDENT_PRODUCTION_HTTP`] applies.
pub const MDLP_NON_RESIDENT_SANDBOX_HTTP: &str = "http://api.sb.mdlp.crpt.ru";

/// Stands of the SUZ installation registration ([`registration::register`]).
///
/// New stands may be added in a minor release, so the enum is
/// `#[non_exhaustive]`; [`ALL`](Self::ALL) lists today's.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[non_exhaustive]
pub enum SuzStand {
    /// The demo stand, `https://intuot.crpt.ru:16443` (see [`DEMO_REGISTRATION_KEY`]).
    Demo,
    /// Production, `https://suzgrid.crpt.ru:16443`.
    Production,
    /// The integrators' sandbox, `https://suz-integrator.sandbox.crptech.ru`.
    /// From field practice, not from the guides this crate was built from;
    /// its registration key is not published here.
    IntegratorSandbox,
}

impl SuzStand {
    /// Every stand.
    pub const ALL: &[Self] = &[SuzStand::Demo, SuzStand::Production, SuzStand::IntegratorSandbox];

    /// The stand's base URL.
    pub fn endpoint(self) -> Endpoint {
        Endpoint::preset(match self {
            SuzStand::Demo => "https://intuot.crpt.ru:16443",
            SuzStand::Production => "https://suzgrid.crpt.ru:16443",
            SuzStand::IntegratorSandbox => "https://suz-integrator.sandbox.crptech.ru",
        })
    }
}

/// The registration key every participant may use on the demo stand.
pub const DEMO_REGISTRATION_KEY: &str = "4344d884-7f21-456c-981e-cd68e92391e8";

/// How long GIS MT and True API tokens live.
pub const CHALLENGE_TOKEN_LIFETIME: std::time::Duration = std::time::Duration::from_secs(10 * 3600);

crate::response::fields! {
    /// A CRPT token answer: GIS MT's and True API's `token`, MDLP's with its
    /// `life_time` in minutes. Some SUZ stands answer `uuidToken` instead of
    /// `token` (field practice: a maintained SUZ client reads either).
    struct TokenAnswer {
        token,
        uuidToken,
        life_time,
    }
    secrets: token, uuidToken;
}

/// What a CRPT answer that names its token twice, differently, is refused
/// as: which one to use cannot be told.
const ONE_TOKEN: &str = "one token: `token` and `uuidToken` name different ones";

/// A classified CRPT token answer.
type TokenReply<'a> = crate::response::Classified<'a, TokenAnswer<'a>>;

/// The `token` of a CRPT answer, living `lifetime` from `sent_at`. An answer
/// without a token is a refusal when it carries error words, otherwise a
/// protocol error naming `token`: never a success.
fn token_from(
    reply: &TokenReply<'_>,
    sent_at: crate::Timestamp,
    lifetime: std::time::Duration,
) -> Result<crate::TokenSet, Error> {
    let body = reply.success()?;
    let given = |value: &Option<crate::response::FieldValue<'_>>| {
        !matches!(value, None | Some(crate::response::FieldValue::Null))
    };
    let token = match (given(&body.token), given(&body.uuidToken)) {
        (false, true) => reply.required_token(&body.uuidToken, "uuidToken")?,
        (true, true) => {
            let token = reply.required_token(&body.token, "token")?;
            if reply.required_token(&body.uuidToken, "uuidToken")? != token {
                return Err(reply.malformed("uuidToken", ONE_TOKEN));
            }
            token
        }
        _ => reply.required_token(&body.token, "token")?,
    };
    Ok(crate::TokenSet::new(
        AccessToken::new(token),
        sent_at,
        Some(sent_at.saturating_add(lifetime)),
    ))
}

/// Reads a CRPT answer with `read`. The secrets the request carried are
/// listed (which copies them) only when the answer is refused, to scrub the
/// refusal: the success path builds no scrub list. `signature` is the DER
/// of the signature the request carried (its base64 is among `secrets`).
fn read_answer<T>(
    response: &http::Response<Vec<u8>>,
    read: impl Fn(&TokenReply<'_>) -> Result<T, Error>,
    secrets: impl FnOnce() -> Vec<String>,
    signature: &[u8],
) -> Result<T, Error> {
    use crate::response::{classify, classify_with, Secrets};
    classify(response, &[])
        .and_then(|reply| read(&reply))
        .or_else(|_| {
            let secrets = secrets();
            let scrub: Vec<&str> = secrets.iter().map(String::as_str).collect();
            classify_with(response, Secrets::new(&scrub).with_bytes(signature)).and_then(|reply| read(&reply))
        })
}

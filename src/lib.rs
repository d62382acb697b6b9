//! # tokendance
//!
//! Sans-IO flows that get and keep access tokens for government and payment
//! APIs: Mongolia's tax "Easy Register" ([`itc`]), Russia's CRPT marking
//! system ([`crpt`]: SUZ registration, MDLP, GIS MT, True API, with your
//! signer as a step), Vietnam's GAM open API ([`gam`]), MonPay mini apps
//! ([`monpay`]) and Astana-plat ([`astana_plat`]).
//!
//! ## What sans-IO means here
//!
//! A flow is a state machine. It never opens a socket, reads a clock, sleeps,
//! spawns or draws randomness. It tells you what it needs next as an
//! [`Action`] — send this HTTP request, sign these bytes, wait until this
//! time, or done — and you resume it with the answer as an [`Input`]. Time is
//! always an argument ([`Timestamp`], Unix milliseconds). Your transport
//! (ureq, reqwest, hyper, an embedded stack) and your signer stay yours.
//!
//! ## The run loop
//!
//! ```
//! use tokendance::{gam, Action, ClientSecret, Flow, Input, Timestamp};
//! # fn transport(req: http::Request<Vec<u8>>) -> http::Response<Vec<u8>> {
//! #     http::Response::new(br#"{"access_token":"eyJ...","expires_in":3600}"#.to_vec())
//! # }
//! # fn sign(bytes: &[u8]) -> tokendance::Signature { unreachable!() }
//! # fn sleep_until(t: Timestamp) {}
//! # fn now() -> Timestamp { Timestamp::from_unix_secs(1_700_000_000) }
//! # let mut store = tokendance::fleet::MemoryStore::default();
//! let mut flow = gam::client_credentials(&gam::Config::staging(), "client-id",
//!     ClientSecret::new("secret"), "iam:user-password:update")?;
//! let mut action = flow.start(now())?;
//! let token = loop {
//!     action = match action {
//!         // Send once; do not follow redirects.
//!         Action::Send(request) => {
//!             let response = transport(request.into_http());
//!             flow.resume(now(), Input::Response(response))?
//!         }
//!         Action::Sign(job) => {
//!             let signature = sign(job.bytes()); // attached or detached: job.kind()
//!             flow.resume(now(), Input::Signature(signature))?
//!         }
//!         Action::Wait(until) => {
//!             sleep_until(until);
//!             flow.resume(now(), Input::Timeout)?
//!         }
//!         // Only a fleet source asks: carry it out on the shared token store.
//!         Action::Store(op) => flow.resume(now(), Input::Store(Ok(store.apply(&op))))?,
//!         Action::Done(token) => break token,
//!     };
//! };
//! assert!(token.expires_at().is_some());
//! # Ok::<(), tokendance::Error>(())
//! ```
//!
//! The same loop is written once in [`drive::drive`] (blocking) and
//! [`drive::drive_async`] (any executor): pass your closures.
//!
// Linked only where the module exists, as `fake` below.
#![cfg_attr(
    any(feature = "ureq", feature = "reqwest"),
    doc = "With the `ureq` or `reqwest` feature, [`transport`] turns a ureq agent or a reqwest client"
)]
#![cfg_attr(
    not(any(feature = "ureq", feature = "reqwest")),
    doc = "With the `ureq` or `reqwest` feature, the `transport` module turns a ureq agent or a reqwest client"
)]
//! into the `send` closure the drivers take: no redirect followed, statuses
//! as responses, bodies read up to the bound the flows enforce, your
//! timeouts, errors that never repeat the request.
//!
//! Long-lived tokens live in keepers polled with the current time: the ITC
//! Keycloak session is an [`oauth2::PasswordSession`], which answers "use
//! this token" without a request or an allocation while the token is fresh
//! and emits exactly one request when it is due; a SUZ token lives in a
//! [`crpt::TokenKeeper`], which hands exactly one caller the right to renew
//! (a second CRPT token request revokes the first). A session's tokens
//! survive a restart as an [`oauth2::SessionSnapshot`], and one session is
//! shared between threads or tasks through [`call::SharedSource`].
//!
//! Tokens are spent on API requests through [`call::Authorized`], a flow that
//! takes a token from a [`call::TokenSource`] (the session, a keeper, a
//! re-run token flow, a fixed token), attaches it as the provider wants
//! (`Bearer`, SUZ `clientToken`, MDLP `token`), renews it and re-issues the
//! request once after a 401, and types 403 as forbidden. The ITC business
//! calls ([`itc::consumer`], [`itc::get_profile`], [`itc::approve_qr`]) and
//! GAM's ([`gam::post`], [`gam::get`]) build on it with typed answers.
//!
//! ## Errors
//!
//! One [`Error`] with these families: [`Error::Server`] (the server refused:
//! status, its own code and message, `Retry-After`), [`Error::Protocol`] (it
//! answered something unusable: not JSON, too large, redirect, missing or
//! mistyped field), [`Error::Usage`] (the caller misused the API) and, for
//! [`fleet`] sources only, [`Error::Store`] (the shared token store failed
//! and no valid token was held).
//!
//! | call | can return | flow usable afterwards? |
//! |---|---|---|
//! | `Flow::start` | `Usage(AlreadyStarted / Finished)` | unchanged |
//! | `Flow::resume` with the wrong input | `Usage(UnexpectedInput)` | yes, unchanged |
//! | `Flow::resume` with a response | `Server`, `Protocol` | no: finished, never sends again |
//! | `Flow::resume` with `Input::Failed` | `Usage(Aborted)` | no |
//! | any call after `Done` or a fatal error | `Usage(Finished)` | no |
//! | `PasswordSession::handle_response` | `Server`, `Protocol` | yes (backing off), unless the password grant was refused |
//! | `TokenKeeper::renewed` / `renewal_failed` with a stale ticket | `Usage(StaleTicket)` | yes; the stale result was dropped |
//! | constructors | `Usage(InsecureUrl / InvalidUrl / InvalidConfig / InvalidPathSegment)` | nothing was built |
//! | [`call::Authorized`] `resume` | `Server(Unauthorized)` on a second 401, `Server(Forbidden)` on 403, the token source's errors | no |
//!
//! ## Security
//!
//! The README's Security section states each promise and its limits; in
//! short:
//!
//! * **No redirects**: a 3xx is an error, its target shown as scheme, host
//!   and path only; configure your transport not to follow redirects.
//! * **https only**: plain `http` needs [`Endpoint::parse_insecure_http`].
//! * **A value never changes the path**: path segments are percent-encoded
//!   by the crate; empty values, dot segments and control characters are
//!   refused; header values are sent byte for byte or refused.
//! * **Single flight, whatever the clock does**: a flow or session never has
//!   two requests out, a keeper never two renewals, even when time goes back
//!   or saturates; tuning is one validated [`Pacing`].
//! * **Bounded waits**: a server's `Retry-After` is honoured up to
//!   [`Pacing::max_server_wait`]; `retry_now()` ends a back-off.
//! * **A valid token keeps serving while renewal fails.**
//! * **Secrets never printed**: secrets are newtypes whose `Debug` redacts;
//!   every server text the crate prints passes one scrubber that withholds
//!   it ([`WITHHELD`]) when any decoded view of it holds a secret the
//!   exchange knew; success values are [`ServerText`], raw to you.
//! * **Bounded input**: bodies over [`MAX_BODY`] bytes are refused unparsed;
//!   a repeated key at any depth is refused.
//!
//! ## Tracing
//!
//! With the `tracing` feature, every flow, session, keeper and
//! [`call::Authorized`] call has a span (target `tokendance`), and each
//! step an event: the request's method and path (never its query, headers
//! or body), the answer's status, the outcome (a refusal's kind and its
//! code as the scrubber left it, never the message), a token's expiry, a
//! wait or back-off, each instant the `now` you passed. No secret is ever a
//! field. The README's Tracing section lists the spans, events and fields.
//! Without the feature: no dependency and no code.
//!
//! ## Testing your code
//!
// Linked only where the module exists: docs built without the feature
// (the default) would otherwise carry a broken link.
#![cfg_attr(
    feature = "fake",
    doc = "With the `fake` feature, [`fake`] offers pure `http::Request → http::Response`"
)]
#![cfg_attr(
    not(feature = "fake"),
    doc = "With the `fake` feature, the `fake` module offers pure `http::Request → http::Response`"
)]
//! fakes of every provider, with clocks you pass in.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]
#![warn(unreachable_pub)]
#![forbid(unsafe_code)]

pub mod astana_plat;
mod base64;
pub mod call;
pub mod crpt;
pub mod drive;
mod endpoint;
mod error;
#[cfg(feature = "fake")]
#[cfg_attr(docsrs, doc(cfg(feature = "fake")))]
pub mod fake;
pub mod fleet;
mod flow;
mod form;
pub mod gam;
pub mod itc;
mod machine;
pub mod monpay;
pub mod oauth2;
mod pacing;
mod response;
mod scrub;
mod secret;
mod sign;
mod time;
mod token;
mod token_request;
mod trace;
#[cfg(any(feature = "ureq", feature = "reqwest"))]
#[cfg_attr(docsrs, doc(cfg(any(feature = "ureq", feature = "reqwest"))))]
pub mod transport;

// The API takes and gives `http` and `url` types: re-exported so that a
// user's own version of either crate cannot mismatch ours.
/// The `http` crate this one speaks (requests, responses, headers).
///
/// ```
/// // Built from the re-export, a request is the type every flow takes.
/// let request: tokendance::http::Request<Vec<u8>> =
///     tokendance::http::Request::get("https://suz.example/api/v2/lp/ping").body(Vec::new()).unwrap();
/// let call = tokendance::call::Authorized::new(
///     tokendance::TokenSet::new(tokendance::AccessToken::new("t"), tokendance::Timestamp::EPOCH, None),
///     request, tokendance::call::Scheme::SuzClientToken);
/// assert!(call.is_ok());
/// ```
pub use http;
/// The `url` crate this one parses base URLs with.
pub use url;

pub use endpoint::Endpoint;
pub use error::{
    Error, Expect, InputKind, ProtocolError, RetryAfter, ServerError, ServerErrorKind, UsageError,
    MAX_MESSAGE_CHARS,
};
pub use flow::{Action, Flow, Input, Outgoing};
pub use pacing::Pacing;
pub use response::MAX_BODY;
pub use scrub::{ServerText, MIN_SECRET_CHARS, WITHHELD};
pub use secret::{AccessToken, AuthCode, ClientSecret, Password, RefreshToken, RegistrationKey};
pub use sign::{Purpose, SignJob, Signature, SignatureKind};
pub use time::Timestamp;
pub use token::TokenSet;
pub use token_request::TokenRequest;

/// Proptest settings for unit tests: `native_cases` cases natively; under
/// miri (interpreted, about 1000 times slower, and isolated from proptest's
/// regression files) four, without persistence.
#[cfg(test)]
pub(crate) fn proptest_config(native_cases: u32) -> proptest::prelude::ProptestConfig {
    use proptest::prelude::ProptestConfig;
    if cfg!(miri) {
        ProptestConfig {
            cases: 4,
            failure_persistence: None,
            ..ProptestConfig::default()
        }
    } else {
        ProptestConfig::with_cases(native_cases)
    }
}

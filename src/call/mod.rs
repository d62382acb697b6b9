//! Calling the providers' APIs with a token: attach the right credential,
//! recover from one 401, and type the refusals.
//!
//! An [`Authorized`] call is a [`Flow`](crate::Flow) like the token flows: it asks its
//! [`TokenSource`] for a token (which may mean sending a token request,
//! signing, or waiting), sends your request with the credential attached,
//! and reads the answer:
//!
//! | answer | what happens |
//! |---|---|
//! | 401 (any body: JSON, CRPT's XML, none; `WWW-Authenticate: Bearer error="invalid_token"`) | the source drops that token and gets another; the request is sent **once** more. A second 401 is [`ServerErrorKind::Unauthorized`](crate::ServerErrorKind::Unauthorized) |
//! | 403 | [`ServerErrorKind::Forbidden`](crate::ServerErrorKind::Forbidden) (ITC: the account has no right to this service), never retried; except GAM's empty 403, its "authentication failed", which is treated as a refused token (see [`gam::post`](crate::gam::post)); MonPay's 401 `INSUFFICIENT_ACCESS` is forbidden too (see [`monpay::call`](crate::monpay::call)) |
//! | 3xx | [`ProtocolError::Redirect`](crate::ProtocolError::Redirect): a followed redirect would replay the token |
//! | anything else | `Done(response)` untouched, or parsed by the typed calls ([`itc`](crate::itc), [`gam`](crate::gam)) |
//!
//! Token sources: the ITC [`PasswordSession`](crate::oauth2::PasswordSession),
//! a SUZ [`KeeperSource`](crate::crpt::KeeperSource) around the
//! [`TokenKeeper`](crate::crpt::TokenKeeper), a [`Reissue`] that re-runs a
//! token flow (GAM client credentials, an Astana-plat login), or a plain
//! [`TokenSet`](crate::TokenSet) that cannot be renewed (MonPay, whose
//! guide documents no refresh).
//!
//! ## Sharing one token between callers
//! A source is driven through `&mut`. For many threads or tasks on one
//! token, put the session or the [`Reissue`] in a `Mutex` and give each
//! call a [`SharedSource`] over `&Mutex<_>` or `Arc<Mutex<_>>` (any
//! [`Handle`]; the SUZ [`KeeperSource`](crate::crpt::KeeperSource) takes
//! the same handles): one caller renews, the others use the still-valid
//! token or wait, and only the renewing caller's answer is taken.
//!
//! ## Time
//! Getting a token may ask you to wait: the ITC session keeps one second
//! between token requests, so a 401 right after a token request is answered
//! with `Wait(now + 1 s)` before the renewal is sent. Drive the call with a
//! clock that moves (the drivers read yours on every step).
//!
//! ## Cost of re-issuing
//! To be able to send the request a second time after a 401, the call keeps
//! your request and sends a copy: **one copy of the body per call**. The
//! retry, when it happens, moves the kept request out instead of copying it
//! again.
//!
//! ```
//! use tokendance::call::{Authorized, Scheme};
//! use tokendance::{AccessToken, Action, Flow, Input, Timestamp, TokenSet};
//!
//! let now = Timestamp::from_unix_secs(1_000);
//! let token = TokenSet::new(AccessToken::new("t-1"), now, None);
//! let request = http::Request::get("https://wallet.example/v2/api/user/info").body(Vec::new()).unwrap();
//! let mut call = Authorized::new(token, request, Scheme::Bearer)?;
//! let Action::Send(sent) = call.start(now)? else { unreachable!() };
//! assert_eq!(sent.as_http().headers()["authorization"], "Bearer t-1");
//! assert!(sent.as_http().headers()["authorization"].is_sensitive());
//! let answer = http::Response::new(br#"{"name":"Bat"}"#.to_vec());
//! let Action::Done(response) = call.resume(now, Input::Response(answer))? else { unreachable!() };
//! assert_eq!(response.body(), br#"{"name":"Bat"}"#);
//! # Ok::<(), tokendance::Error>(())
//! ```

mod authorized;
mod handle;
mod limiter;
mod shared;
mod source;

pub use authorized::{Authorized, Scheme};
pub use handle::Handle;
pub use limiter::Limiter;
pub use shared::{Shareable, SharedSource};
pub use source::{Reissue, TokenSource};
pub(crate) use source::{RenewalStep, TokenStep};

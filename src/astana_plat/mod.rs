//! Astana-plat (Kazakhstan) login: by login and password (`authType` 1) or by
//! certificate (`authType` 2).
//!
//! The guide gives bodies and answers but no URL: pass the token URL you were
//! given as an [`Endpoint`](crate::Endpoint). Transcript:
//! `Send(POST {url} {"authType":1,"login":…,"password":…})` → `Done(token)`.
//! The guide gives no lifetime, so `expires_at()` is `None`.
//!
//! In certificate mode the certificate (issued by Astana-plat's own CA) is
//! presented by **your transport** as a TLS client certificate (for example
//! `reqwest::Identity`, or rustls' `with_client_auth_cert`): the flow only
//! sends `{"authType":2}`.
//!
//! Refusals come as `{"statusCode": N, "message": "…"}`, sometimes inside an
//! HTTP 200, which is still an error. [`LoginError::of`] maps the eight
//! documented messages to a typed kind.
//!
//! ```
//! use tokendance::{astana_plat::{self, LoginError}, Endpoint, Password, Flow, Input, Timestamp};
//!
//! let url = Endpoint::parse("https://astana-plat.example/api/auth/login")?;
//! let mut flow = astana_plat::login_password(&url, "user", Password::new("pw"))?;
//! let now = Timestamp::from_unix_secs(1);
//! let _send = flow.start(now)?;
//! let answer = http::Response::new(
//!     br#"{"statusCode":400,"message":"User with given credentials not found"}"#.to_vec());
//! let err = flow.resume(now, Input::Response(answer)).unwrap_err();
//! assert_eq!(LoginError::of(err.as_server().unwrap()), LoginError::UserNotFound);
//! # Ok::<(), tokendance::Error>(())
//! ```

mod login;

pub use login::{login_certificate, login_password, LoginError};

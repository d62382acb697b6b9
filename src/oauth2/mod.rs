//! Shared OAuth2 (RFC 6749) mechanics: token requests, token responses, and
//! the long-lived password-grant session. No provider names live here: the
//! provider modules configure these pieces with their URLs and quirks.

mod response;
mod session;

pub use response::parse_token_response;
pub(crate) use response::{token_from_reply, ZeroLifetime};
pub use session::{Fetch, Grant, PasswordSession, SessionAction, SessionConfig};

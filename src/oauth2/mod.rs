//! Shared OAuth2 (RFC 6749) mechanics: token requests, token responses, and
//! the long-lived password-grant session. No provider names live here: the
//! provider modules configure these pieces with their URLs and quirks.

mod renewal;
mod response;
mod session;
mod snapshot;

pub use renewal::Renewal;
pub use response::parse_token_response;
#[cfg(test)]
pub(crate) use response::TokenFields;
pub(crate) use response::{token_from_response, ZeroLifetime};
pub use session::{Fetch, Grant, PasswordSession, SessionAction, SessionConfig};
pub use snapshot::{SessionSnapshot, SnapshotError, MAX_SNAPSHOT_BYTES, SNAPSHOT_FORMAT};

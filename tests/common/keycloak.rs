//! Keycloak's token answers (ITC's realm), built in one place.
//!
//! The suites used to write these bodies by hand, each with its own subset
//! of fields. One builder means every suite feeds the session what a real
//! realm sends, with every field Keycloak adds (`not-before-policy`,
//! `session_state`, `scope`), so a parser that tripped on one of them would
//! fail everywhere at once. A suite that needs a field to hold something of
//! its own (a canary) sets it on the [`token_body`] it gets; bodies whose odd
//! shape is the point of a test stay written out in that test.

use serde_json::{json, Value};

/// The access lifetime ITC's staging realm gives, in seconds.
pub const EXPIRES_IN: u64 = 300;
/// The refresh lifetime ITC's staging realm gives, in seconds.
pub const REFRESH_EXPIRES_IN: u64 = 1800;

/// A token answer as Keycloak writes it, for a grant that returns a
/// refresh token (password, refresh).
pub fn token_body(access: &str, refresh: &str, expires_in: u64, refresh_expires_in: u64) -> Value {
    let mut body = token_body_without_refresh(access, expires_in);
    body["refresh_token"] = refresh.into();
    body["refresh_expires_in"] = refresh_expires_in.into();
    body
}

/// A token answer without a refresh token, as Keycloak answers a client
/// that may not refresh.
pub fn token_body_without_refresh(access: &str, expires_in: u64) -> Value {
    json!({
        "access_token": access,
        "expires_in": expires_in,
        "token_type": "Bearer",
        "not-before-policy": 0,
        "session_state": "5d0e1c7a-3b8f-4c2e-9a61-0f4b2d8e7c15",
        "scope": "profile email",
    })
}

/// An answer with `status` and a JSON `body`, labelled as JSON as Keycloak
/// labels every answer of its token endpoint.
pub fn response(status: u16, body: impl AsRef<[u8]>) -> http::Response<Vec<u8>> {
    http::Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(body.as_ref().to_vec())
        .unwrap()
}

/// The usual answer to a grant: `access` for [`EXPIRES_IN`] seconds and
/// `refresh` for [`REFRESH_EXPIRES_IN`], at 200.
pub fn token(access: &str, refresh: &str) -> http::Response<Vec<u8>> {
    response(
        200,
        token_body(access, refresh, EXPIRES_IN, REFRESH_EXPIRES_IN).to_string(),
    )
}

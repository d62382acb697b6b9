//! The crate's one error type and its families.
//!
//! | family | meaning | typical cause | what to do |
//! |---|---|---|---|
//! | [`Error::Server`] | the server understood and refused | wrong password, bad code, 429, 5xx | read [`ServerError::kind`]; retry only if [`Error::is_retryable`] |
//! | [`Error::Protocol`] | the server answered something unusable | HTML page from a proxy, redirect, missing field, oversized body | usually a misconfigured URL or a proxy; not fixed by retrying at once |
//! | [`Error::Usage`] | the caller misused the API | input in the wrong order, call after the end, `http://` without opt-in | fix the calling code |
//! | [`Error::Store`] | the token store shared by a fleet failed (only [`fleet`](crate::fleet) sources) | store down, timed out, foreign data | retry later: the source backs off |
//!
//! Errors never carry the body of a successful (2xx) response, so they cannot
//! leak a token; the server's own error code and message are kept, bounded in
//! length, with any secret the flow sent replaced by `<redacted>`.

use std::fmt;
use std::time::Duration;

use http::StatusCode;

use crate::time::Timestamp;

/// Everything that can go wrong inside a flow: the server refused, it sent
/// something unusable, or the caller misused the API. See the [crate
/// docs](crate#errors) for which call returns what.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server understood the request and refused it; its own words are kept.
    #[error(transparent)]
    Server(#[from] ServerError),
    /// The server answered something the flow cannot use.
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
    /// The caller used the API in a way it does not allow.
    #[error(transparent)]
    Usage(#[from] UsageError),
    /// The token store a [`fleet`](crate::fleet) source shares its token
    /// through failed, and no valid token was held to go on with.
    #[error(transparent)]
    Store(#[from] crate::fleet::StoreError),
}

impl Error {
    /// Whether repeating the same request later may succeed (rate limits,
    /// server failures). Never true for refused credentials or caller mistakes.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Server(e) => e.is_retryable(),
            Error::Store(_) => true,
            Error::Protocol(_) | Error::Usage(_) => false,
        }
    }

    /// The server's `Retry-After`, when it sent one.
    pub fn retry_after(&self) -> Option<RetryAfter> {
        match self {
            Error::Server(e) => e.retry_after,
            _ => None,
        }
    }

    /// The HTTP status of the response that caused the error, if any.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Server(e) => Some(e.status),
            Error::Protocol(e) => Some(e.status()),
            Error::Usage(_) | Error::Store(_) => None,
        }
    }

    /// The server's refusal, when this is one.
    pub fn as_server(&self) -> Option<&ServerError> {
        match self {
            Error::Server(e) => Some(e),
            _ => None,
        }
    }
}

/// A refusal from the server: HTTP status, the server's own code and message.
///
/// `Display` reads `HTTP 401 invalid_grant: Invalid user credentials`.
#[derive(Clone, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub struct ServerError {
    /// The HTTP status of the response (the refusal may arrive with 200).
    pub status: StatusCode,
    /// What kind of refusal this is, derived from the code and the status.
    pub kind: ServerErrorKind,
    /// The server's own error code (`error`, `error_code` or `code`), as text.
    pub code: Option<String>,
    /// The server's own message (`error_description`, `error_message`,
    /// `description`, `message`, ...), at most [`MAX_MESSAGE_CHARS`] characters.
    pub message: Option<String>,
    /// The server's `Retry-After`, when present.
    pub retry_after: Option<RetryAfter>,
}

/// The longest server message kept in a [`ServerError`], in characters.
pub const MAX_MESSAGE_CHARS: usize = 512;

impl ServerError {
    /// Whether repeating the request later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self.kind,
            ServerErrorKind::RateLimited | ServerErrorKind::Unavailable
        )
    }

    pub(crate) fn new(status: StatusCode, kind: ServerErrorKind) -> Self {
        ServerError {
            status,
            kind,
            code: None,
            message: None,
            retry_after: None,
        }
    }
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP {}", self.status.as_u16())?;
        match (&self.code, &self.message) {
            (Some(c), Some(m)) => write!(f, " {c}: {m}")?,
            (Some(c), None) => write!(f, " {c}")?,
            (None, Some(m)) => write!(f, ": {m}")?,
            (None, None) => write!(f, " ({})", self.kind.describe())?,
        }
        if let Some(r) = self.retry_after {
            write!(f, " (retry after {r})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ServerError {}

/// The kind of a server refusal.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[non_exhaustive]
pub enum ServerErrorKind {
    /// The grant was refused: wrong user credentials, an expired or revoked
    /// refresh token, a bad or used authorization code (`invalid_grant`).
    /// Get new credentials or start the flow anew.
    InvalidGrant,
    /// The client id or secret was refused (`invalid_client`, `unauthorized_client`).
    InvalidClient,
    /// The request was malformed in the server's eyes (`invalid_request`).
    InvalidRequest,
    /// The requested scope was refused (`invalid_scope`).
    InvalidScope,
    /// The grant type is not accepted (`unsupported_grant_type`).
    UnsupportedGrantType,
    /// HTTP 401 without a more precise code.
    Unauthorized,
    /// HTTP 403: the account has no right to this service. Do not retry.
    Forbidden,
    /// HTTP 404.
    NotFound,
    /// HTTP 429: wait (see `retry_after`) and retry.
    RateLimited,
    /// The server failed (5xx, `server_error`, `temporarily_unavailable`): retry later.
    Unavailable,
    /// Any other refusal; read `code` and `message`.
    Rejected,
}

impl ServerErrorKind {
    fn describe(self) -> &'static str {
        match self {
            ServerErrorKind::InvalidGrant => "grant refused",
            ServerErrorKind::InvalidClient => "client refused",
            ServerErrorKind::InvalidRequest => "invalid request",
            ServerErrorKind::InvalidScope => "scope refused",
            ServerErrorKind::UnsupportedGrantType => "grant type not supported",
            ServerErrorKind::Unauthorized => "unauthorized",
            ServerErrorKind::Forbidden => "forbidden",
            ServerErrorKind::NotFound => "not found",
            ServerErrorKind::RateLimited => "rate limited",
            ServerErrorKind::Unavailable => "server unavailable",
            ServerErrorKind::Rejected => "rejected",
        }
    }
}

/// A server's `Retry-After`: a delay, or an absolute time (HTTP-date).
///
/// Exhaustive on purpose: RFC 9110 §10.2.3 allows exactly these two forms,
/// so a `match` over both is complete for good.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum RetryAfter {
    /// Wait this long after the response arrived.
    Delay(Duration),
    /// Wait until this instant.
    At(Timestamp),
}

impl RetryAfter {
    /// The instant before which a retry is pointless, for a response received at `received`.
    pub fn deadline(self, received: Timestamp) -> Timestamp {
        match self {
            RetryAfter::Delay(d) => received.saturating_add(d),
            RetryAfter::At(t) => t,
        }
    }
}

impl fmt::Display for RetryAfter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RetryAfter::Delay(d) => write!(f, "{} s", d.as_secs()),
            RetryAfter::At(t) => write!(f, "unix ms {}", t.as_unix_millis()),
        }
    }
}

/// The server sent something the flow cannot use.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// The body is not JSON (an HTML page from a proxy or geo-block, XML, empty).
    #[error("HTTP {}: body is not JSON (content type {})", status.as_u16(), content_type.as_deref().unwrap_or("none"))]
    NotJson {
        /// The response status.
        status: StatusCode,
        /// The `Content-Type` the server announced, if any (at most 100 characters).
        content_type: Option<String>,
    },
    /// The body is longer than the bound; it was not parsed.
    #[error("HTTP {}: body of {len} bytes exceeds the limit of {limit} bytes", status.as_u16())]
    BodyTooLarge {
        /// The response status.
        status: StatusCode,
        /// The bound, [`MAX_BODY`](crate::MAX_BODY) bytes.
        limit: usize,
        /// The body's length.
        len: usize,
    },
    /// The server redirected. Transports must not follow redirects: a
    /// redirected token request would replay credentials to another address.
    #[error("HTTP {}: redirect to {} refused (transports must not follow redirects)", status.as_u16(), location.as_deref().unwrap_or("nowhere"))]
    Redirect {
        /// The response status.
        status: StatusCode,
        /// The target, without its query or fragment (which may hold codes).
        location: Option<String>,
    },
    /// A field is present but of the wrong type or out of range.
    #[error("HTTP {}: field `{field}`: expected {expected}", status.as_u16())]
    Malformed {
        /// The response status.
        status: StatusCode,
        /// The JSON path of the field (`expires_in`, `data.token`, `$` for the body).
        field: String,
        /// What was expected there.
        expected: &'static str,
    },
    /// A required field is absent and the body holds no error either.
    #[error("HTTP {}: required field `{field}` is missing", status.as_u16())]
    MissingField {
        /// The response status.
        status: StatusCode,
        /// The JSON path of the missing field.
        field: &'static str,
    },
    /// A status the step does not expect, with no error body to explain it.
    #[error("HTTP {}: unexpected status", status.as_u16())]
    UnexpectedStatus {
        /// The response status.
        status: StatusCode,
    },
}

impl ProtocolError {
    /// The status of the offending response.
    pub fn status(&self) -> StatusCode {
        match self {
            ProtocolError::NotJson { status, .. }
            | ProtocolError::BodyTooLarge { status, .. }
            | ProtocolError::Redirect { status, .. }
            | ProtocolError::Malformed { status, .. }
            | ProtocolError::MissingField { status, .. }
            | ProtocolError::UnexpectedStatus { status } => *status,
        }
    }
}

/// The caller used the API in a way it does not allow.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UsageError {
    /// The input does not answer the action the flow asked for. The flow's
    /// state is unchanged: resume it with the expected input.
    #[error("expected {expected:?} but got {got:?}")]
    UnexpectedInput {
        /// What the flow is waiting for.
        expected: Expect,
        /// What it was given.
        got: InputKind,
    },
    /// `resume` was called before `start`.
    #[error("the flow has not been started")]
    NotStarted,
    /// `start` was called twice.
    #[error("the flow was already started")]
    AlreadyStarted,
    /// The flow has finished (with a result or a fatal error) and will never
    /// send another request. Start a new flow.
    #[error("the flow has finished")]
    Finished,
    /// The caller reported that the last action could not be carried out;
    /// a one-shot flow ends there.
    #[error("the flow was aborted because its last action failed")]
    Aborted,
    /// A response was handed to a session that has no request in flight.
    #[error("no request is in flight")]
    NoRequestInFlight,
    /// A plain `http://` URL without the explicit insecure opt-in.
    #[error("refusing plain http for {url}: use https, or the explicitly insecure opt-in for local tests")]
    InsecureUrl {
        /// The refused URL.
        url: String,
    },
    /// A URL that cannot be used as an endpoint.
    #[error("invalid URL: {reason}")]
    InvalidUrl {
        /// Why it was refused.
        reason: &'static str,
    },
    /// A value that would change the request path if used as a path segment
    /// (empty, `.` or `..`).
    #[error("invalid path segment: {reason}")]
    InvalidPathSegment {
        /// Why it was refused.
        reason: &'static str,
    },
    /// A configuration value was refused.
    #[error("invalid configuration: {reason}")]
    InvalidConfig {
        /// Why it was refused.
        reason: &'static str,
    },
    /// A renewal was reported with a ticket that is no longer current (its
    /// renewal timed out and another was issued) or that another keeper
    /// issued: its result was dropped.
    #[error("the renewal ticket is no longer current")]
    StaleTicket,
    /// A token source holds no usable token and cannot obtain one: a fixed
    /// [`TokenSet`](crate::TokenSet) that expired or was refused. Obtain a
    /// new token (for MonPay: a new authorization code).
    #[error("no usable token, and this token source cannot obtain one")]
    TokenUnavailable,
    /// A store answer that does not answer the operation it names (`Swapped`
    /// for a read, `Found` for a swap): nothing was changed.
    #[error("the store answer does not fit the operation")]
    UnexpectedStoreAnswer,
    /// A signature given as base64 is not valid base64.
    #[error("the signature is not valid base64")]
    InvalidSignatureEncoding,
}

/// What a flow waits for; part of [`UsageError::UnexpectedInput`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Expect {
    /// An HTTP response (after `Action::Send`).
    Response,
    /// A signature (after `Action::Sign`).
    Signature,
    /// The end of a wait (after `Action::Wait`).
    Timeout,
    /// A store's answer (after `Action::Store`).
    Store,
}

/// The kind of an [`Input`](crate::Input); part of [`UsageError::UnexpectedInput`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum InputKind {
    /// `Input::Response`.
    Response,
    /// `Input::Signature`.
    Signature,
    /// `Input::Timeout`.
    Timeout,
    /// `Input::Store`.
    Store,
    /// `Input::Failed`.
    Failed,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_protocol_error_names_its_status() {
        let s = StatusCode::BAD_GATEWAY;
        let errors = [
            ProtocolError::NotJson {
                status: s,
                content_type: None,
            },
            ProtocolError::BodyTooLarge {
                status: s,
                limit: 1,
                len: 2,
            },
            ProtocolError::Redirect {
                status: s,
                location: None,
            },
            ProtocolError::Malformed {
                status: s,
                field: "f".into(),
                expected: "e",
            },
            ProtocolError::MissingField {
                status: s,
                field: "f",
            },
            ProtocolError::UnexpectedStatus { status: s },
        ];
        for e in errors {
            assert_eq!(e.status(), s, "{e:?}");
            assert_eq!(Error::Protocol(e.clone()).status(), Some(s));
            assert!(e.to_string().starts_with("HTTP 502"), "{e}");
        }
    }
}

//! The [ureq](https://docs.rs/ureq/3) 3 adapter (feature `ureq`): a blocking
//! transport for [`drive::drive`](crate::drive::drive) and
//! [`drive::drive_with_store`](crate::drive::drive_with_store).
//!
//! ```no_run
//! use std::time::{Duration, SystemTime};
//! use tokendance::{drive, gam, transport, ClientSecret, Timestamp};
//!
//! let agent = transport::ureq::agent(Duration::from_secs(30));
//! let flow = gam::client_credentials(&gam::Config::staging(), "client-id",
//!     ClientSecret::new("secret"), "iam:user-password:update")?;
//! let now = || Timestamp::from_system_time(SystemTime::now());
//! let token = drive::drive(flow, now, transport::ureq::send(&agent), drive::no_signer,
//!     |until| std::thread::sleep(until.saturating_duration_since(now())))?;
//! println!("expires at {:?}", token.expires_at());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Any agent works: [`send`] configures every request it sends to follow no
//! redirect and to return 4xx and 5xx as responses (ureq's per-request
//! configuration, which starts from the agent's), so an agent you built to
//! follow redirects for other uses follows none here. Everything else
//! (timeouts, proxy, TLS, the connection pool) is the agent's.

use std::fmt;
use std::io::{self, Read};
use std::time::Duration;

/// An agent as the flows want one: every exchange, from DNS to the last byte
/// of the body, bounded by `timeout` (ureq's `timeout_global`; ureq's default
/// is no timeout at all), no redirects followed, statuses as responses.
///
/// For other timeouts (connect, per read...) build your own agent with
/// `ureq::Agent::config_builder()`; [`send`] takes any.
pub fn agent(timeout: Duration) -> ::ureq::Agent {
    ::ureq::Agent::config_builder()
        .max_redirects(0)
        .http_status_as_error(false)
        .timeout_global(Some(timeout))
        .build()
        .new_agent()
}

/// The `send` closure of [`drive::drive`](crate::drive::drive) over `agent`
/// (a clone of it: agents share their pool).
///
/// Each request is sent once, following no redirect, with 4xx and 5xx as
/// responses; at most [`MAX_BODY`](crate::MAX_BODY)` + 1` bytes of the body
/// are read, so a longer body reaches the flow one byte too long and is
/// refused as [`BodyTooLarge`](crate::ProtocolError::BodyTooLarge).
pub fn send(
    agent: &::ureq::Agent,
) -> impl Fn(http::Request<Vec<u8>>) -> Result<http::Response<Vec<u8>>, Error> + Send + Sync + 'static {
    send_with_limit(agent, crate::MAX_BODY)
}

/// [`send`] with another body bound: at most `limit + 1` bytes are read, and
/// a body longer than `limit` arrives cut at `limit + 1` bytes (so
/// `body.len() > limit` says it was cut). For API calls whose answers may
/// exceed [`MAX_BODY`](crate::MAX_BODY); a token flow refuses any body over
/// `MAX_BODY` whatever the limit.
pub fn send_with_limit(
    agent: &::ureq::Agent,
    limit: usize,
) -> impl Fn(http::Request<Vec<u8>>) -> Result<http::Response<Vec<u8>>, Error> + Send + Sync + 'static {
    let agent = agent.clone();
    move |request| exchange(&agent, request, limit)
}

fn exchange(
    agent: &::ureq::Agent,
    request: http::Request<Vec<u8>>,
    limit: usize,
) -> Result<http::Response<Vec<u8>>, Error> {
    let request = agent
        .configure_request(request)
        .max_redirects(0)
        .http_status_as_error(false)
        .build();
    let (parts, body) = agent.run(request).map_err(Error::new)?.into_parts();
    let bound = u64::try_from(super::read_bound(limit)).unwrap_or(u64::MAX);
    let mut bytes = Vec::new();
    body.into_reader()
        .take(bound)
        .read_to_end(&mut bytes)
        // ureq's reader wraps its own errors (a timeout) in io::Error.
        .map_err(|e| Error::new(::ureq::Error::from(e)))?;
    Ok(http::Response::from_parts(parts, bytes))
}

/// Why the ureq adapter produced no response.
///
/// `Display` and `Debug` say what failed ([`kind`](Error::kind), and for
/// [`ErrorKind::Other`] the name of ureq's variant) and never repeat the
/// request: ureq's own error can print the URL (`BadUri`,
/// `RequireHttpsOnly`), whose query may hold a secret, so it is kept inside,
/// out of `Display`, `Debug` and `source()`, and handed out only by
/// [`into_client_error`](Error::into_client_error).
pub struct Error {
    kind: ErrorKind,
    variant: String,
    client: ::ureq::Error,
}

/// What failed in the ureq adapter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A timeout the agent was configured with elapsed (ureq says which).
    Timeout(::ureq::Timeout),
    /// The host name did not resolve.
    HostNotFound,
    /// I/O on the connection failed (refused, reset, closed early...).
    Io(io::ErrorKind),
    /// No connection could be made, ureq gave no reason.
    ConnectionFailed,
    /// The answer was not HTTP/1.1 that ureq could read (framing, a head
    /// over ureq's size limit).
    Protocol,
    /// ureq refused the request before sending it (its URI or a header);
    /// the crate's flows never build such a request.
    InvalidRequest,
    /// Anything else, TLS among it (ureq's `Tls`, `Rustls` and
    /// `NativeTls` variants exist only with its TLS features): `Display`
    /// names ureq's variant.
    Other,
}

impl Error {
    fn new(client: ::ureq::Error) -> Self {
        use ::ureq::Error as E;
        let kind = match &client {
            E::Timeout(which) => ErrorKind::Timeout(*which),
            E::HostNotFound => ErrorKind::HostNotFound,
            E::Io(e) => ErrorKind::Io(e.kind()),
            E::ConnectionFailed => ErrorKind::ConnectionFailed,
            E::Protocol(_) | E::LargeResponseHeader(..) => ErrorKind::Protocol,
            E::Http(_) | E::BadUri(_) | E::RequireHttpsOnly(_) => ErrorKind::InvalidRequest,
            _ => ErrorKind::Other,
        };
        let variant = super::variant_name(&format!("{client:?}"));
        Error {
            kind,
            variant,
            client,
        }
    }

    /// What failed.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// ureq's own error. Its `Display` and `Debug` may print the request's
    /// URL, query included: show them only where the URL is no secret.
    pub fn into_client_error(self) -> ::ureq::Error {
        self.client
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            ErrorKind::Timeout(which) => write!(f, "ureq: the {which} timeout elapsed"),
            ErrorKind::HostNotFound => f.write_str("ureq: host not found"),
            ErrorKind::Io(kind) => write!(f, "ureq: I/O failed: {kind}"),
            ErrorKind::ConnectionFailed => f.write_str("ureq: no connection could be made"),
            ErrorKind::Protocol => f.write_str("ureq: the answer was not readable HTTP/1.1"),
            ErrorKind::InvalidRequest => f.write_str("ureq: the request was refused before sending"),
            ErrorKind::Other => write!(
                f,
                "ureq: {} (details withheld: they may repeat the URL)",
                self.variant
            ),
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.kind)
            .field("variant", &self.variant)
            .finish_non_exhaustive()
    }
}

impl std::error::Error for Error {}

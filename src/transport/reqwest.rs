//! The [reqwest](https://docs.rs/reqwest/0.12) 0.12 adapter (feature
//! `reqwest`): an async transport for
//! [`drive::drive_async`](crate::drive::drive_async) and
//! [`drive::drive_with_store_async`](crate::drive::drive_with_store_async),
//! on whatever runtime reqwest runs on (tokio).
//!
//! ```no_run
//! use std::time::{Duration, SystemTime};
//! use tokendance::{drive, gam, transport, ClientSecret, Timestamp};
//!
//! fn now() -> Timestamp {
//!     Timestamp::from_system_time(SystemTime::now())
//! }
//!
//! async fn sleep_until(until: Timestamp) {
//!     tokio::time::sleep(until.saturating_duration_since(now())).await
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! let client = transport::reqwest::client(Duration::from_secs(30))?;
//! let flow = gam::client_credentials(&gam::Config::staging(), "client-id",
//!     ClientSecret::new("secret"), "iam:user-password:update")?;
//! // The future is Send: it may run inside tokio::spawn.
//! let token = tokio::spawn(drive::drive_async(flow, now, transport::reqwest::send(&client),
//!     drive::no_signer_async, sleep_until)).await??;
//! println!("expires at {:?}", token.expires_at());
//! # Ok(())
//! # }
//! ```
//!
//! **Redirects.** reqwest sets its redirect policy per client, not per
//! request, so the adapter cannot turn it off for a client built to follow
//! redirects. [`client`] and [`client_with`] build clients that follow none
//! (a 3xx reaches the flow, which refuses it); use them. [`send`] takes any
//! client and checks what it can: an answer that does not come from the URL
//! the request was sent to (the client followed a redirect) is refused with
//! [`ErrorKind::RedirectFollowed`], so no flow ever reads it. The redirected
//! request has gone out by then: reqwest drops the body on 301 to 303, keeps
//! it on 307 and 308, and drops `Authorization` when the host changes.

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// A client as the flows want one: no redirects followed, every exchange
/// (from connecting to the end of the body) bounded by `timeout`
/// (reqwest's `ClientBuilder::timeout`; reqwest's default is none).
pub fn client(timeout: Duration) -> Result<::reqwest::Client, Error> {
    client_with(::reqwest::Client::builder().timeout(timeout))
}

/// Builds `builder` (your timeouts, proxy, TLS...) with redirects off: a
/// redirect policy set on `builder` is replaced by `Policy::none()`.
pub fn client_with(builder: ::reqwest::ClientBuilder) -> Result<::reqwest::Client, Error> {
    builder
        .redirect(::reqwest::redirect::Policy::none())
        .build()
        .map_err(Error::new)
}

/// The `send` closure of [`drive::drive_async`](crate::drive::drive_async)
/// over `client` (a clone of it: clients share their pool). Its futures are
/// `Send` and `'static`.
///
/// Each request is sent once, with 4xx and 5xx as responses; an answer a
/// client followed a redirect to is refused (see the [module](self) docs);
/// at most [`MAX_BODY`](crate::MAX_BODY)` + 1` bytes of the body are read, so
/// a longer body reaches the flow one byte too long and is refused as
/// [`BodyTooLarge`](crate::ProtocolError::BodyTooLarge).
pub fn send(
    client: &::reqwest::Client,
) -> impl Fn(http::Request<Vec<u8>>) -> Exchange + Send + Sync + 'static {
    send_with_limit(client, crate::MAX_BODY)
}

/// [`send`] with another body bound: at most `limit + 1` bytes are read, and
/// a body longer than `limit` arrives cut at `limit + 1` bytes (so
/// `body.len() > limit` says it was cut). For API calls whose answers may
/// exceed [`MAX_BODY`](crate::MAX_BODY); a token flow refuses any body over
/// `MAX_BODY` whatever the limit.
pub fn send_with_limit(
    client: &::reqwest::Client,
    limit: usize,
) -> impl Fn(http::Request<Vec<u8>>) -> Exchange + Send + Sync + 'static {
    let client = client.clone();
    move |request| Exchange(Box::pin(exchange(client.clone(), request, limit)))
}

/// One request on its way: the future a [`send`] closure returns (`Send`,
/// `'static`), resolving to the response or the adapter's [`Error`].
#[must_use = "futures do nothing unless polled"]
pub struct Exchange(Pin<Box<dyn Future<Output = Answer> + Send>>);

/// What an [`Exchange`] resolves to.
type Answer = Result<http::Response<Vec<u8>>, Error>;

impl Future for Exchange {
    type Output = Answer;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.get_mut().0.as_mut().poll(cx)
    }
}

impl fmt::Debug for Exchange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Exchange").finish_non_exhaustive()
    }
}

async fn exchange(
    client: ::reqwest::Client,
    request: http::Request<Vec<u8>>,
    limit: usize,
) -> Result<http::Response<Vec<u8>>, Error> {
    let request = ::reqwest::Request::try_from(request).map_err(Error::new)?;
    let sent_to = request.url().clone();
    let mut response = client.execute(request).await.map_err(Error::new)?;
    if *response.url() != sent_to {
        return Err(Error::of_kind(ErrorKind::RedirectFollowed));
    }
    let mut answer = http::Response::new(Vec::new());
    *answer.status_mut() = response.status();
    *answer.version_mut() = response.version();
    *answer.headers_mut() = std::mem::take(response.headers_mut());
    let bound = super::read_bound(limit);
    let mut body = Vec::new();
    while body.len() < bound {
        match response.chunk().await.map_err(Error::new)? {
            Some(chunk) => body.extend_from_slice(&chunk),
            None => break,
        }
    }
    body.truncate(bound);
    *answer.body_mut() = body;
    Ok(answer)
}

/// Why the reqwest adapter produced no response (or no client).
///
/// `Display` and `Debug` say what failed ([`kind`](Error::kind), and the
/// I/O error's kind when one lies beneath) and never repeat the request:
/// reqwest's own error prints the URL, query included, which may hold a
/// secret, so it is kept inside, out of `Display`, `Debug` and `source()`,
/// and handed out only by [`into_client_error`](Error::into_client_error).
pub struct Error {
    kind: ErrorKind,
    io: Option<io::ErrorKind>,
    client: Option<::reqwest::Error>,
}

/// What failed in the reqwest adapter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A timeout the client was built with elapsed.
    Timeout,
    /// No connection could be made (refused, unreachable, TLS handshake...).
    Connect,
    /// The client followed a redirect (it was not built by [`client`] or
    /// [`client_with`]): its answer is refused.
    RedirectFollowed,
    /// reqwest could not build the request or the client (a URI or header
    /// it refuses, a TLS backend that would not start).
    InvalidRequest,
    /// Reading the answer's body failed.
    Body,
    /// Sending the request or reading the answer's head failed.
    Request,
    /// Anything else.
    Other,
}

impl Error {
    fn new(client: ::reqwest::Error) -> Self {
        let kind = if client.is_timeout() {
            ErrorKind::Timeout
        } else if client.is_connect() {
            ErrorKind::Connect
        } else if client.is_builder() {
            ErrorKind::InvalidRequest
        } else if client.is_body() || client.is_decode() {
            ErrorKind::Body
        } else if client.is_request() {
            ErrorKind::Request
        } else {
            ErrorKind::Other
        };
        // The deepest I/O error says the most (refused, reset...).
        let mut io = None;
        let mut cause = std::error::Error::source(&client);
        while let Some(e) = cause {
            if let Some(e) = e.downcast_ref::<io::Error>() {
                io = Some(e.kind());
            }
            cause = e.source();
        }
        Error {
            kind,
            io,
            client: Some(client),
        }
    }

    fn of_kind(kind: ErrorKind) -> Self {
        Error {
            kind,
            io: None,
            client: None,
        }
    }

    /// What failed.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// reqwest's own error, when reqwest failed (not for
    /// [`ErrorKind::RedirectFollowed`]). Its `Display` and `Debug` print the
    /// request's URL, query included: show them only where the URL is no
    /// secret, or strip it first (`reqwest::Error::without_url`).
    pub fn into_client_error(self) -> Option<::reqwest::Error> {
        self.client
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.kind {
            ErrorKind::Timeout => "reqwest: timed out",
            ErrorKind::Connect => "reqwest: no connection could be made",
            ErrorKind::RedirectFollowed => {
                "reqwest: the client followed a redirect (build it with transport::reqwest::client)"
            }
            ErrorKind::InvalidRequest => "reqwest: the request or client could not be built",
            ErrorKind::Body => "reqwest: reading the answer's body failed",
            ErrorKind::Request => "reqwest: the request failed",
            ErrorKind::Other => "reqwest: failed",
        })?;
        match self.io {
            Some(io) => write!(f, " ({io})"),
            None => Ok(()),
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.kind)
            .field("io", &self.io)
            .finish_non_exhaustive()
    }
}

impl std::error::Error for Error {}

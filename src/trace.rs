//! Tracing, optional and redacted: the one place that emits spans and
//! events (feature `tracing`).
//!
//! The shared mechanics call one function per event (a request sent, an
//! answer's status, a token's expiry, a failure's kind, a back-off), so
//! every flow, present and future, is traced without code of its own; a
//! flow names itself once, with the [`Name`] its machine or holder is built
//! with. Without the feature every function here is an empty inline
//! function and [`Run`] a zero-sized value: no dependency, no cost.
//!
//! What may be emitted is decided here, once: names the crate gave
//! (provider, flow, step, outcome kind), the method and the path of a
//! request (never its query, headers or body), a status, the server's code
//! as the scrubber left it (the code of an [`Error`], which is withheld
//! when it echoes a secret), and instants the caller passed in as `now`
//! (Unix milliseconds; the crate never reads a clock). Never a password,
//! secret, token, signature, bytes to sign, body, header value, query or
//! server message.

use crate::error::Error;
use crate::flow::Outgoing;
use crate::time::Timestamp;

/// The name a flow, session or holder is traced under: the provider's
/// module and the flow's function, e.g. `gam` / `client_credentials`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Name {
    pub(crate) provider: &'static str,
    pub(crate) flow: &'static str,
}

impl Name {
    pub(crate) const fn new(provider: &'static str, flow: &'static str) -> Self {
        Name { provider, flow }
    }
}

/// What a traced value ends with, when a flow is done: a token's expiry.
pub(crate) trait Finished {
    /// When the token handed out expires (`None`: never, or no token).
    fn expires_at(&self) -> Option<Timestamp> {
        None
    }
}

impl Finished for crate::token::TokenSet {
    fn expires_at(&self) -> Option<Timestamp> {
        crate::token::TokenSet::expires_at(self)
    }
}

/// The span of one flow, session, keeper or call: made when it is built
/// (sans-IO has no run on a stack to scope it), entered by each step.
#[cfg(feature = "tracing")]
#[derive(Clone, Debug)]
pub(crate) struct Run(tracing::Span);

/// Without the feature: nothing.
#[cfg(not(feature = "tracing"))]
#[derive(Clone, Copy, Debug)]
pub(crate) struct Run;

/// The span entered while a step runs.
#[cfg(feature = "tracing")]
pub(crate) type Entered = tracing::span::EnteredSpan;
/// Without the feature: nothing (a value of its own, not `()`, so that
/// `let _entered = run.enter();` reads the same in both builds).
#[cfg(not(feature = "tracing"))]
pub(crate) struct Entered;

impl Run {
    /// The span of a one-shot flow (`tokendance.flow`).
    #[inline(always)]
    pub(crate) fn flow(name: Name) -> Self {
        #[cfg(feature = "tracing")]
        {
            Run(tracing::info_span!(target: "tokendance", "tokendance.flow",
                provider = name.provider, flow = name.flow))
        }
        #[cfg(not(feature = "tracing"))]
        {
            let _ = name;
            Run
        }
    }

    /// The span of a long-lived holder (`tokendance.session`,
    /// `tokendance.keeper`).
    #[inline(always)]
    pub(crate) fn holder(kind: Holder, name: Name) -> Self {
        #[cfg(feature = "tracing")]
        {
            let span = match kind {
                Holder::Session => tracing::info_span!(target: "tokendance", "tokendance.session",
                    provider = name.provider, flow = name.flow),
                Holder::Keeper => tracing::info_span!(target: "tokendance", "tokendance.keeper",
                    provider = name.provider, flow = name.flow),
            };
            Run(span)
        }
        #[cfg(not(feature = "tracing"))]
        {
            let _ = (kind, name);
            Run
        }
    }

    /// The span of an API call (`tokendance.call`): its method and path,
    /// without the query.
    #[inline(always)]
    pub(crate) fn call(request: &http::Request<Vec<u8>>, scheme: &'static str) -> Self {
        #[cfg(feature = "tracing")]
        {
            Run(tracing::info_span!(target: "tokendance", "tokendance.call",
                provider = "call", flow = "authorized", scheme,
                method = %request.method(), path = request.uri().path()))
        }
        #[cfg(not(feature = "tracing"))]
        {
            let _ = (request, scheme);
            Run
        }
    }

    /// Enters the span until the value returned is dropped.
    #[inline(always)]
    pub(crate) fn enter(&self) -> Entered {
        #[cfg(feature = "tracing")]
        {
            self.0.clone().entered()
        }
        #[cfg(not(feature = "tracing"))]
        Entered
    }
}

/// The kinds of long-lived holders, each its own span name.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Holder {
    Session,
    Keeper,
}

/// `tokendance.request`: a request goes out (method, path without the query).
#[inline(always)]
pub(crate) fn request(step: &'static str, request: &Outgoing, now: Timestamp) {
    #[cfg(feature = "tracing")]
    {
        let http = request.as_http();
        tracing::debug!(name: "tokendance.request", target: "tokendance",
            step, method = %http.method(), path = http.uri().path(),
            issues_token = request.issues_token(), at = now.as_unix_millis(), "request");
    }
    #[cfg(not(feature = "tracing"))]
    let _ = (step, request, now);
}

/// `tokendance.response`: an answer arrived (its status only).
#[inline(always)]
pub(crate) fn response(step: &'static str, response: &http::Response<Vec<u8>>, now: Timestamp) {
    #[cfg(feature = "tracing")]
    tracing::debug!(name: "tokendance.response", target: "tokendance",
        step, status = response.status().as_u16(), at = now.as_unix_millis(), "response");
    #[cfg(not(feature = "tracing"))]
    let _ = (step, response, now);
}

/// `tokendance.sign`: the caller is asked for a signature (kind and purpose).
#[inline(always)]
pub(crate) fn sign(step: &'static str, job: &crate::sign::SignJob, now: Timestamp) {
    #[cfg(feature = "tracing")]
    tracing::debug!(name: "tokendance.sign", target: "tokendance",
        step, kind = ?job.kind(), purpose = ?job.purpose(), at = now.as_unix_millis(), "sign");
    #[cfg(not(feature = "tracing"))]
    let _ = (step, job, now);
}

/// `tokendance.wait`: nothing to do until `until`.
#[inline(always)]
pub(crate) fn wait(step: &'static str, until: Timestamp, now: Timestamp) {
    #[cfg(feature = "tracing")]
    tracing::debug!(name: "tokendance.wait", target: "tokendance",
        step, until = until.as_unix_millis(), at = now.as_unix_millis(), "wait");
    #[cfg(not(feature = "tracing"))]
    let _ = (step, until, now);
}

/// `tokendance.outcome`: a step succeeded with `outcome` (`token`, `done`,
/// `refresh_refused`, `token_refused`, ...); a token's expiry when there is
/// one.
#[inline(always)]
pub(crate) fn outcome(
    step: &'static str,
    outcome: &'static str,
    expires_at: Option<Timestamp>,
    now: Timestamp,
) {
    #[cfg(feature = "tracing")]
    tracing::info!(name: "tokendance.outcome", target: "tokendance",
        step, outcome, expires_at = expires_at.map(Timestamp::as_unix_millis),
        at = now.as_unix_millis(), "outcome");
    #[cfg(not(feature = "tracing"))]
    let _ = (step, outcome, expires_at, now);
}

/// `tokendance.failed`: a step failed: the error's kind, status and the
/// server's code as the scrubber left it; never its message.
#[inline(always)]
pub(crate) fn failed(step: &'static str, error: &Error, now: Timestamp) {
    #[cfg(feature = "tracing")]
    {
        let (outcome, code) = outcome_of(error);
        tracing::warn!(name: "tokendance.failed", target: "tokendance",
            step, outcome, status = error.status().map(|s| s.as_u16()),
            code, retryable = error.is_retryable(), at = now.as_unix_millis(), "failed");
    }
    #[cfg(not(feature = "tracing"))]
    let _ = (step, error, now);
}

/// `tokendance.backoff`: a failure in a row, and the instant the holder
/// waits until.
#[inline(always)]
pub(crate) fn backoff(failures: u32, until: Timestamp, now: Timestamp) {
    #[cfg(feature = "tracing")]
    tracing::warn!(name: "tokendance.backoff", target: "tokendance",
        failures, backoff_until = until.as_unix_millis(), at = now.as_unix_millis(), "backoff");
    #[cfg(not(feature = "tracing"))]
    let _ = (failures, until, now);
}

/// The error's kind as one name, and the server's code (already scrubbed:
/// [`WITHHELD`](crate::WITHHELD) when it echoes a secret).
#[cfg(feature = "tracing")]
fn outcome_of(error: &Error) -> (&'static str, Option<&str>) {
    use crate::error::{ProtocolError, ServerErrorKind, UsageError};
    match error {
        Error::Server(refusal) => {
            let kind = match refusal.kind {
                ServerErrorKind::InvalidGrant => "invalid_grant",
                ServerErrorKind::InvalidClient => "invalid_client",
                ServerErrorKind::InvalidRequest => "invalid_request",
                ServerErrorKind::InvalidScope => "invalid_scope",
                ServerErrorKind::UnsupportedGrantType => "unsupported_grant_type",
                ServerErrorKind::Unauthorized => "unauthorized",
                ServerErrorKind::Forbidden => "forbidden",
                ServerErrorKind::NotFound => "not_found",
                ServerErrorKind::RateLimited => "rate_limited",
                ServerErrorKind::Unavailable => "unavailable",
                ServerErrorKind::Rejected => "rejected",
            };
            (kind, refusal.code.as_deref())
        }
        Error::Protocol(problem) => (
            match problem {
                ProtocolError::NotJson { .. } => "not_json",
                ProtocolError::BodyTooLarge { .. } => "body_too_large",
                ProtocolError::Redirect { .. } => "redirect",
                ProtocolError::Malformed { .. } => "malformed",
                ProtocolError::MissingField { .. } => "missing_field",
                ProtocolError::UnexpectedStatus { .. } => "unexpected_status",
            },
            None,
        ),
        Error::Usage(UsageError::Aborted) => ("aborted", None),
        Error::Usage(_) => ("usage", None),
        Error::Store(_) => ("store", None),
    }
}

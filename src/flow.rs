//! The vocabulary every flow speaks: what it needs next ([`Action`]), what it
//! is resumed with ([`Input`]), and the [`Flow`] trait that ties them.

use std::fmt;

use http::header::{HeaderValue, ACCEPT, CONTENT_TYPE};
use http::Method;
use url::Url;

use crate::error::{Error, Expect, InputKind, UsageError};
use crate::fleet::{StoreAnswer, StoreError, StoreOp};
use crate::form::{is_plain_form_value, push_form_encoded};
use crate::sign::{SignJob, Signature};
use crate::time::Timestamp;

/// What a flow needs from the caller next.
///
/// Carry it out and resume the flow with the matching [`Input`]:
///
/// | action | do | resume with |
/// |---|---|---|
/// | `Send(req)` | send `req` once, without following redirects | `Input::Response`, or `Input::Failed` if it never got an answer |
/// | `Sign(job)` | sign `job.bytes()` with a signature of `job.kind()` | `Input::Signature`, or `Input::Failed` |
/// | `Wait(t)` | let time pass until `t` | `Input::Timeout` |
/// | `Store(op)` | carry out a token-store operation (only [`fleet`](crate::fleet) sources ask) | `Input::Store` with the store's answer or error |
/// | `Done(v)` | nothing: the flow is finished | (nothing) |
// The request is moved out once per exchange; boxing it would cost an
// allocation per round trip for no gain.
#[allow(clippy::large_enum_variant)]
#[must_use = "an Action must be carried out and its answer fed back with `resume`"]
#[derive(Debug)]
pub enum Action<T> {
    /// Perform this HTTP request once and resume with [`Input::Response`].
    Send(Outgoing),
    /// Sign these exact bytes and resume with [`Input::Signature`].
    Sign(SignJob),
    /// Let time pass until this instant, then resume with [`Input::Timeout`].
    Wait(Timestamp),
    /// Carry out this operation on the token store and resume with
    /// [`Input::Store`]. Only a source that shares its
    /// token through a store asks ([`fleet::FleetSource`](crate::fleet::FleetSource)).
    Store(StoreOp),
    /// The flow is finished; later calls return [`UsageError::Finished`].
    Done(T),
}

impl<T> Action<T> {
    /// `Ok(output)` for `Done`, otherwise the same action for a flow of
    /// another output type (how composed flows pass their parts' steps on).
    // Moved once per step, as `Action` itself is: boxing would allocate.
    #[allow(clippy::result_large_err)]
    pub(crate) fn done_or_pass<U>(self) -> Result<T, Action<U>> {
        match self {
            Action::Done(output) => Ok(output),
            Action::Send(request) => Err(Action::Send(request)),
            Action::Sign(job) => Err(Action::Sign(job)),
            Action::Wait(until) => Err(Action::Wait(until)),
            Action::Store(op) => Err(Action::Store(op)),
        }
    }
}

/// The caller's answer to the previous [`Action`].
pub enum Input {
    /// The response to `Action::Send`, status, headers and whole body.
    Response(http::Response<Vec<u8>>),
    /// The signature asked for by `Action::Sign`.
    Signature(Signature),
    /// The instant of `Action::Wait` has passed.
    Timeout,
    /// What the store did with the operation of `Action::Store`, or why it
    /// could not (the source keeps a valid token and backs off).
    Store(Result<StoreAnswer, StoreError>),
    /// The previous action could not be carried out: the transport failed
    /// before a response arrived, the signer failed, or the store failed.
    /// One-shot flows end
    /// with [`UsageError::Aborted`] (a request may have reached the server, so
    /// only the caller can decide to start again); sessions back off.
    Failed,
}

impl Input {
    /// The kind of this input, as named in [`UsageError::UnexpectedInput`].
    pub fn kind(&self) -> InputKind {
        match self {
            Input::Response(_) => InputKind::Response,
            Input::Signature(_) => InputKind::Signature,
            Input::Timeout => InputKind::Timeout,
            Input::Store(_) => InputKind::Store,
            Input::Failed => InputKind::Failed,
        }
    }
}

impl fmt::Debug for Input {
    // Never the response body: it may hold a token.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Input::Response(r) => write!(f, "Response({}, {} bytes)", r.status().as_u16(), r.body().len()),
            Input::Signature(s) => write!(f, "{s:?}"),
            Input::Timeout => f.write_str("Timeout"),
            Input::Store(Ok(answer)) => write!(f, "Store({answer:?})"),
            Input::Store(Err(e)) => write!(f, "Store(Err({e:?}))"),
            Input::Failed => f.write_str("Failed"),
        }
    }
}

/// A strictly alternating exchange: started once, then resumed with the
/// answer to each [`Action`] until it returns `Action::Done` or an error.
///
/// Misuse never panics: input of the wrong kind returns
/// [`UsageError::UnexpectedInput`] and leaves the flow as it was; any call
/// after `Done` or after an error that ended the flow returns
/// [`UsageError::Finished`], so a failed flow can never send another request.
pub trait Flow {
    /// What the flow produces.
    type Output;

    /// Begins the flow at `now`; returns its first action.
    fn start(&mut self, now: Timestamp) -> Result<Action<Self::Output>, Error>;

    /// Answers the last action at `now`; returns the next one.
    fn resume(&mut self, now: Timestamp, input: Input) -> Result<Action<Self::Output>, Error>;
}

impl<F: Flow + ?Sized> Flow for &mut F {
    type Output = F::Output;
    fn start(&mut self, now: Timestamp) -> Result<Action<Self::Output>, Error> {
        (**self).start(now)
    }
    fn resume(&mut self, now: Timestamp, input: Input) -> Result<Action<Self::Output>, Error> {
        (**self).resume(now, input)
    }
}

/// Boxed flows are flows, so flows of different types can share a loop or a
/// collection (`Vec<Box<dyn Flow<Output = TokenSet>>>`).
impl<F: Flow + ?Sized> Flow for Box<F> {
    type Output = F::Output;
    fn start(&mut self, now: Timestamp) -> Result<Action<Self::Output>, Error> {
        (**self).start(now)
    }
    fn resume(&mut self, now: Timestamp, input: Input) -> Result<Action<Self::Output>, Error> {
        (**self).resume(now, input)
    }
}

/// The error for input that does not answer what the flow waits for.
pub(crate) fn unexpected(expected: Expect, input: &Input) -> Error {
    Error::Usage(UsageError::UnexpectedInput {
        expected,
        got: input.kind(),
    })
}

/// The request target for `url`. Endpoints are validated `http(s)` URLs, so
/// this fails only for URLs `http` cannot hold. Taken by value: the URL's
/// own string becomes the target's bytes, without a copy.
pub(crate) fn target(url: Url) -> Result<http::Uri, Error> {
    http::Uri::try_from(String::from(url)).map_err(|_| {
        Error::Usage(UsageError::InvalidUrl {
            reason: "not a valid HTTP URI",
        })
    })
}

/// A header value that carries a credential, marked sensitive so that even
/// `http`'s own `Debug` prints `Sensitive`.
pub(crate) fn sensitive_value(text: &str) -> Result<HeaderValue, Error> {
    let mut value = header_value(text)?;
    value.set_sensitive(true);
    Ok(value)
}

/// A header value that reaches the server byte for byte: no control
/// character (tab included) and no space at either end, which HTTP parsers
/// strip. Anything else is a usage error, never silently changed.
pub(crate) fn header_value(text: &str) -> Result<HeaderValue, Error> {
    let refused = || {
        Error::Usage(UsageError::InvalidConfig {
            reason: "a header value holds a control character or starts or ends with a space",
        })
    };
    if !is_header_safe(text) {
        return Err(refused());
    }
    HeaderValue::from_str(text).map_err(|_| refused())
}

/// Whether `text` can be sent as a header value exactly as it is: no
/// control character (C0, DEL, C1) and no space at either end.
pub(crate) fn is_header_safe(text: &str) -> bool {
    let bytes = text.as_bytes();
    // Folded without an early exit, so the scan vectorises (tokens are long).
    let (ascii_control, non_ascii) = bytes.iter().fold((false, false), |(control, wide), &b| {
        (control | (b < 0x20) | (b == 0x7f), wide | (b >= 0x80))
    });
    let wide_control = non_ascii && text.chars().any(char::is_control);
    !(ascii_control || wide_control || has_edge_space(text))
}

/// Whether `text` starts or ends with a space, which HTTP parsers strip
/// from a header value.
pub(crate) fn has_edge_space(text: &str) -> bool {
    text.starts_with(' ') || text.ends_with(' ')
}

/// The body types requests declare in `Content-Type`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum MediaType {
    /// `application/x-www-form-urlencoded`.
    Form,
    /// `application/json`.
    Json,
    /// `application/json;charset=UTF-8`, as CRPT's guides write it.
    JsonUtf8,
}

impl MediaType {
    /// The header value, built at compile time: `HeaderValue::from_static`
    /// called at run time checks every byte of its argument, on every request.
    fn header_value(self) -> HeaderValue {
        match self {
            MediaType::Form => const { HeaderValue::from_static("application/x-www-form-urlencoded") },
            MediaType::Json => const { HeaderValue::from_static("application/json") },
            MediaType::JsonUtf8 => const { HeaderValue::from_static("application/json;charset=UTF-8") },
        }
    }
}

/// An HTTP request a flow wants sent.
///
/// Its `Debug` shows the method, URL, content type and body length only:
/// `http::Request`'s own `Debug` prints the body as a list of bytes, which
/// would print a password. Credential headers are marked sensitive, so even
/// the raw request's `Debug` hides them.
///
/// Send it as it is, once, and do not follow redirects.
#[derive(Clone)]
pub struct Outgoing {
    request: http::Request<Vec<u8>>,
    /// Whether the server may issue a token in answer (and so revoke the
    /// one before): a fleet holder confirms its lease before sending it.
    issues_token: bool,
}

impl Outgoing {
    /// The request, to inspect.
    pub fn as_http(&self) -> &http::Request<Vec<u8>> {
        &self.request
    }

    /// The request, to send.
    pub fn into_http(self) -> http::Request<Vec<u8>> {
        self.request
    }

    /// Whether the server may issue a token in answer to this request, and
    /// so revoke the one it issued before (CRPT does). True for every
    /// request of a token flow but the challenges that only fetch data to
    /// sign (CRPT's `auth/key`, MDLP's `auth`); a
    /// [`FleetSource`](crate::fleet::FleetSource) confirms its lease before
    /// sending one.
    pub fn issues_token(&self) -> bool {
        self.issues_token
    }

    /// Marks a request whose answer never carries a token (a challenge).
    pub(crate) fn not_issuing(mut self) -> Self {
        self.issues_token = false;
        self
    }

    /// A request built elsewhere (an API call with its credential attached).
    pub(crate) fn from_http(request: http::Request<Vec<u8>>) -> Self {
        Outgoing {
            request,
            issues_token: true,
        }
    }

    /// A request with `Accept: application/json`.
    fn new(method: Method, uri: http::Uri, body: Vec<u8>, media_type: Option<MediaType>) -> Self {
        let mut req = http::Request::new(body);
        *req.method_mut() = method;
        *req.uri_mut() = uri;
        let headers = req.headers_mut();
        headers.insert(ACCEPT, const { HeaderValue::from_static("application/json") });
        if let Some(media_type) = media_type {
            headers.insert(CONTENT_TYPE, media_type.header_value());
        }
        Outgoing::from_http(req)
    }

    /// `POST uri` with a form body (the URI parsed once, by the caller).
    pub(crate) fn post_form_to(uri: http::Uri, pairs: &[(&'static str, &str)]) -> Self {
        // Sized for the common case (few reserved characters) so the body is
        // written without growing.
        let estimate = pairs.iter().map(|(k, v)| k.len() + v.len() + 2).sum::<usize>();
        let mut body = Vec::with_capacity(estimate + estimate / 8);
        for (i, (key, value)) in pairs.iter().enumerate() {
            if i > 0 {
                body.push(b'&');
            }
            // Keys are the crate's own names, none of which needs escaping.
            debug_assert!(is_plain_form_value(key), "{key}");
            body.extend_from_slice(key.as_bytes());
            body.push(b'=');
            push_form_encoded(&mut body, value);
        }
        Self::new(Method::POST, uri, body, Some(MediaType::Form))
    }

    /// `POST url` with JSON bytes, serialised once by the caller.
    pub(crate) fn post_json(url: Url, body: Vec<u8>, media_type: MediaType) -> Result<Self, Error> {
        Ok(Self::new(Method::POST, target(url)?, body, Some(media_type)))
    }

    /// `GET url`, without a body.
    pub(crate) fn get(url: Url) -> Result<Self, Error> {
        Ok(Self::new(Method::GET, target(url)?, Vec::new(), None))
    }

    /// Adds a header that carries a credential (a key, a signature, a token):
    /// its value is marked sensitive, so even the raw request's `Debug` hides it.
    /// A value that cannot be a header (control characters) is a usage error.
    pub(crate) fn with_secret_header(mut self, name: &'static str, value: &str) -> Result<Self, Error> {
        self.request.headers_mut().insert(name, sensitive_value(value)?);
        Ok(self)
    }
}

impl fmt::Debug for Outgoing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let content_type = self
            .request
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("no body type");
        write!(
            f,
            "{} {} ({}, {} bytes)",
            self.request.method(),
            self.request.uri(),
            content_type,
            self.request.body().len()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_debug_shows_the_kind_and_size_only() {
        let response = http::Response::builder()
            .status(201)
            .body(b"token".to_vec())
            .unwrap();
        assert_eq!(
            format!("{:?}", Input::Response(response)),
            "Response(201, 5 bytes)"
        );
        assert_eq!(format!("{:?}", Input::Timeout), "Timeout");
        assert_eq!(format!("{:?}", Input::Failed), "Failed");
        let signature = Input::Signature(Signature::from_der(vec![1, 2, 3]));
        assert_eq!(format!("{signature:?}"), "Signature(<redacted>, 3 bytes)");
    }
}

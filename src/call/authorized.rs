//! [`Authorized`]: one API request with a token, re-issued once after a 401.

use std::borrow::Cow;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use http::header::{HeaderName, HeaderValue, AUTHORIZATION, WWW_AUTHENTICATE};
use http::StatusCode;

use crate::error::{Error, ServerError, ServerErrorKind, UsageError};
use crate::flow::{is_header_safe, sensitive_value, Action, Flow, Input, Outgoing};
use crate::machine::Gate;
use crate::response::{classify_with, NoFields, Secrets};
use crate::secret::AccessToken;
use crate::sign::{Purpose, SignJob, Signature, SignatureKind};
use crate::time::Timestamp;
use crate::trace::{self, Run};

use super::{Limiter, TokenSource};

/// How a provider's API wants its token.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[non_exhaustive]
pub enum Scheme {
    /// `Authorization: Bearer {token}`: ITC Easy Register, GAM, MonPay, Astana-plat.
    Bearer,
    /// `clientToken: {token}`: the SUZ order station.
    SuzClientToken,
    /// `Authorization: token {token}` (lower-case `token`): MDLP's own API.
    MdlpToken,
}

impl Scheme {
    /// The scheme's name in traces.
    fn trace_name(self) -> &'static str {
        match self {
            Scheme::Bearer => "bearer",
            Scheme::SuzClientToken => "suz_client_token",
            Scheme::MdlpToken => "mdlp_token",
        }
    }

    /// The header carrying `token` in this scheme, its value marked sensitive.
    /// A token that would not reach the server as it is (a control
    /// character, a space at either end) is a usage error.
    ///
    /// ```
    /// use tokendance::{call::Scheme, AccessToken};
    /// let (name, value) = Scheme::MdlpToken.header(&AccessToken::new("58f908f1"))?;
    /// assert_eq!((name.as_str(), value.to_str().unwrap()), ("authorization", "token 58f908f1"));
    /// assert!(value.is_sensitive());
    /// # Ok::<(), tokendance::Error>(())
    /// ```
    pub fn header(self, token: &AccessToken) -> Result<(HeaderName, HeaderValue), Error> {
        let token = token.expose_secret();
        // Checked alone: behind `Bearer ` a space at its start would not be at an edge.
        if !is_header_safe(token) {
            return Err(Error::Usage(UsageError::InvalidConfig {
                reason: "a token holds a control character or starts or ends with a space",
            }));
        }
        let value = match self {
            Scheme::Bearer => sensitive_value(&format!("Bearer {token}"))?,
            Scheme::SuzClientToken => sensitive_value(token)?,
            Scheme::MdlpToken => sensitive_value(&format!("token {token}"))?,
        };
        Ok((self.header_name(), value))
    }

    /// The header this scheme's credential travels in.
    fn header_name(self) -> HeaderName {
        match self {
            Scheme::Bearer | Scheme::MdlpToken => AUTHORIZATION,
            Scheme::SuzClientToken => HeaderName::from_static("clienttoken"),
        }
    }
}

/// Reads the final response of a call into its output; the secrets are
/// the token and the body's signature, to scrub from what an error keeps.
type Parse<T> = fn(http::Response<Vec<u8>>, Secrets<'_>) -> Result<T, Error>;

/// Whether a response says the token was refused (always true for 401).
type Refused = Box<dyn Fn(&http::Response<Vec<u8>>) -> bool + Send + Sync>;

/// The signature a call sends over its request body.
#[derive(Clone, Debug)]
struct BodySigning {
    header: HeaderName,
    kind: SignatureKind,
    purpose: Purpose,
}

/// The body's signature once the signer gave it: the header as sent and the
/// signature (its base64 and DER are scrubbed from errors).
#[derive(Clone)]
struct BodySignature {
    base64: String,
    signature: Signature,
}

/// Whether a response says the token lacks the right (always true for 403).
type Forbidden = fn(&http::Response<Vec<u8>>) -> bool;

/// One API request sent with a token from a [`TokenSource`], as a [`Flow`].
///
/// Transcript with a fresh token: `Send(your request + credential)` →
/// `Done(response)`. With an expired one: `Send(request)` → 401 →
/// (the source drops the token) `Send(token request)` → `Send(request)` →
/// `Done(response)`. See the [module docs](super) for every status.
///
/// `T` is what the call produces: the raw response, or a typed answer for
/// the calls [`itc`](crate::itc) and [`gam`](crate::gam) build.
///
/// | call | errors | call usable afterwards? |
/// |---|---|---|
/// | `resume` with the wrong input | `Usage(UnexpectedInput)` | yes, unchanged |
/// | `resume` with the API's answer | `Server(Unauthorized)` on a second 401, `Server(Forbidden)` on 403, `Protocol(Redirect)`, parse errors of typed calls | no |
/// | any step of getting a token | whatever the source returns | no |
/// | `resume` with `Input::Failed` | `Usage(Aborted)` | no |
pub struct Authorized<S, T = http::Response<Vec<u8>>> {
    source: S,
    /// The request without its credential, kept to re-issue it after a 401.
    request: Option<http::Request<Vec<u8>>>,
    scheme: Scheme,
    parse: Parse<T>,
    refused: Refused,
    forbidden: Forbidden,
    forbidden_means: Option<&'static str>,
    /// The signature the body must carry, if any ([`Self::with_body_signature`]).
    signing: Option<BodySigning>,
    /// That signature, once given: sent on the first attempt and the retry.
    signature: Option<BodySignature>,
    /// The limiter that spaces this call from others of its API method.
    limiter: Option<Arc<Mutex<Limiter>>>,
    /// The misuse rules: started once, input of the kind awaited.
    gate: Gate,
    state: State,
    /// The first 401, returned if the source cannot renew.
    first_refusal: Option<ServerError>,
    /// The call's span (nothing without the `tracing` feature).
    run: Run,
}

/// Whose step the call is at, once started (before and after, the gate says
/// the rest).
#[derive(Clone, PartialEq, Eq, Debug)]
enum State {
    /// The signer has the body.
    Signing,
    /// The source is getting a token (for the retry after a refusal, if `retry`).
    Token { retry: bool },
    /// The request waits for its method's turn ([`Limiter`]), with this token.
    Paced { retry: bool, token: AccessToken },
    /// The request went out with this token.
    Api { retry: bool, token: AccessToken },
}

impl<S: TokenSource> Authorized<S> {
    /// A call of `request` with a token from `source`, attached as `scheme`
    /// says; it produces the API's response.
    ///
    /// The request must have an absolute `https` URI (plain `http` only
    /// through [`new_insecure_http`](Self::new_insecure_http)): the token
    /// must not travel in clear text. Any header named like the credential
    /// is replaced.
    pub fn new(source: S, request: http::Request<Vec<u8>>, scheme: Scheme) -> Result<Self, Error> {
        check_uri(request.uri(), false)?;
        Ok(Self::with_parse(source, request, scheme, |response, _| {
            Ok(response)
        }))
    }

    /// As [`new`](Self::new), but a plain `http` URI is accepted too.
    ///
    /// # Security warning
    /// Over plain http the token travels in clear text: use this for
    /// loopback tests only.
    pub fn new_insecure_http(
        source: S,
        request: http::Request<Vec<u8>>,
        scheme: Scheme,
    ) -> Result<Self, Error> {
        check_uri(request.uri(), true)?;
        Ok(Self::with_parse(source, request, scheme, |response, _| {
            Ok(response)
        }))
    }
}

/// An attempt's step name in traces: the first, or the retry after a 401.
fn attempt(retry: bool) -> &'static str {
    if retry {
        "retry"
    } else {
        "api"
    }
}

/// Refuses relative URIs, and plain `http` unless allowed.
fn check_uri(uri: &http::Uri, allow_http: bool) -> Result<(), Error> {
    if uri.authority().is_some_and(|a| a.as_str().contains('@')) {
        return Err(Error::Usage(UsageError::InvalidUrl {
            reason: "credentials in the URL are refused",
        }));
    }
    // `http::Uri` always has an authority with a scheme, but its host may be empty.
    let has_host = uri.host().is_some_and(|host| !host.is_empty());
    match uri.scheme_str() {
        Some("https") | Some("http") if !has_host => Err(Error::Usage(UsageError::InvalidUrl {
            reason: "an API request needs a host",
        })),
        Some("https") => Ok(()),
        Some("http") if allow_http => Ok(()),
        Some("http") => Err(Error::Usage(UsageError::InsecureUrl {
            // Without the query, which may hold a credential.
            url: format!(
                "http://{}{}",
                uri.authority().map_or("", |a| a.as_str()),
                uri.path()
            ),
        })),
        _ => Err(Error::Usage(UsageError::InvalidUrl {
            reason: "an API request needs an absolute https URI",
        })),
    }
}

impl<S: TokenSource, T> Authorized<S, T> {
    /// A call whose final response is read by `parse` (crate-internal typed calls).
    pub(crate) fn with_parse(
        source: S,
        request: http::Request<Vec<u8>>,
        scheme: Scheme,
        parse: Parse<T>,
    ) -> Self {
        Authorized {
            run: Run::call(&request, scheme.trace_name()),
            source,
            request: Some(request),
            scheme,
            parse,
            refused: Box::new(|response| response.status() == StatusCode::UNAUTHORIZED),
            forbidden: |response| response.status() == StatusCode::FORBIDDEN,
            forbidden_means: None,
            signing: None,
            signature: None,
            limiter: None,
            gate: Gate::New,
            state: State::Token { retry: false },
            first_refusal: None,
        }
    }

    /// Also treat `refused` responses as a refused token (ITC answers some
    /// with 200 and `"code": "invalidToken"`).
    pub(crate) fn refused_when(
        mut self,
        refused: impl Fn(&http::Response<Vec<u8>>) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.refused = Box::new(refused);
        self
    }

    /// Signs the request body before the call sends it: the call's first
    /// action is [`Action::Sign`] with a [`SignJob`] of `kind` over exactly
    /// the body's bytes, for `purpose`; the signature goes out in base64 as
    /// the `header` (marked sensitive), on the first attempt and on the
    /// retry after a 401, which sends the same bytes. The signature is
    /// scrubbed, as the token is, from any error the call returns.
    ///
    /// An empty body, or a call already started, is a usage error.
    ///
    /// ```
    /// use tokendance::call::{Authorized, Scheme};
    /// use tokendance::{AccessToken, Action, Flow, Input, Purpose, Signature, SignatureKind, Timestamp, TokenSet};
    ///
    /// let now = Timestamp::from_unix_secs(1_000);
    /// let token = TokenSet::new(AccessToken::new("t-1"), now, None);
    /// let request = http::Request::post("https://suz.example/api/v2/lp/orders?omsId=o-1")
    ///     .body(br#"{"products":[]}"#.to_vec()).unwrap();
    /// let mut call = Authorized::new(token, request, Scheme::SuzClientToken)?
    ///     .with_body_signature(http::HeaderName::from_static("x-signature"),
    ///         SignatureKind::Detached, Purpose::SuzRequestBody)?;
    /// let Action::Sign(job) = call.start(now)? else { unreachable!() };
    /// assert_eq!(job.bytes(), br#"{"products":[]}"#);
    /// let Action::Send(sent) = call.resume(now, Input::Signature(Signature::from_der(vec![1, 2])))?
    ///     else { unreachable!() };
    /// assert_eq!(sent.as_http().headers()["x-signature"], "AQI=");
    /// assert_eq!(sent.as_http().body(), job.bytes());
    /// # Ok::<(), tokendance::Error>(())
    /// ```
    pub fn with_body_signature(
        mut self,
        header: HeaderName,
        kind: SignatureKind,
        purpose: Purpose,
    ) -> Result<Self, Error> {
        self.gate.admit_start()?;
        if self.request.as_ref().is_none_or(|r| r.body().is_empty()) {
            return Err(Error::Usage(UsageError::InvalidConfig {
                reason: "a signed call needs a body to sign",
            }));
        }
        if header == self.scheme.header_name() {
            return Err(Error::Usage(UsageError::InvalidConfig {
                reason: "the signature cannot travel in the token's header",
            }));
        }
        self.signing = Some(BodySigning {
            header,
            kind,
            purpose,
        });
        Ok(self)
    }

    /// Spaces this call from the other calls of its API method that share
    /// `limiter`: when its turn has not come, the call answers
    /// `Wait(until)` (after getting its token, before sending), and sends on
    /// the `Timeout`. The retry after a 401 takes its turn too.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use tokendance::call::{Authorized, Limiter, Scheme};
    /// use tokendance::{AccessToken, Action, Flow, Input, Timestamp, TokenSet};
    ///
    /// let limiter = Arc::new(Mutex::new(Limiter::mdlp()));
    /// let now = Timestamp::from_unix_millis(5_000);
    /// let token = TokenSet::new(AccessToken::new("t-1"), now, None);
    /// let outcome = || http::Request::get("https://api.mdlp.crpt.ru/api/v1/documents/outcome").body(Vec::new()).unwrap();
    /// let mut first = Authorized::new(token.clone(), outcome(), Scheme::MdlpToken)?.paced_by(Arc::clone(&limiter));
    /// let mut second = Authorized::new(token, outcome(), Scheme::MdlpToken)?.paced_by(limiter);
    /// assert!(matches!(first.start(now)?, Action::Send(_)));
    /// let Action::Wait(until) = second.start(now)? else { unreachable!() };
    /// assert_eq!(until, Timestamp::from_unix_millis(6_000));
    /// assert!(matches!(second.resume(until, Input::Timeout)?, Action::Send(_)));
    /// # Ok::<(), tokendance::Error>(())
    /// ```
    pub fn paced_by(mut self, limiter: Arc<Mutex<Limiter>>) -> Self {
        self.limiter = Some(limiter);
        self
    }

    /// Reads the final response with `parse` instead (SUZ: refusals typed).
    pub(crate) fn parsed_by(mut self, parse: Parse<T>) -> Self {
        self.parse = parse;
        self
    }

    /// Treat `forbidden` responses (instead of 403 alone) as a token without
    /// the right, never retried (MonPay answers it with 401 and
    /// `INSUFFICIENT_ACCESS`).
    pub(crate) fn forbidden_when(mut self, forbidden: Forbidden) -> Self {
        self.forbidden = forbidden;
        self
    }

    /// The message of a 403 without one of its own (GAM: "authentication failed").
    pub(crate) fn forbidden_means(mut self, message: &'static str) -> Self {
        self.forbidden_means = Some(message);
        self
    }

    /// The token source, to inspect (its token, its state).
    pub fn source(&self) -> &S {
        &self.source
    }

    /// Whether the API refused the first token (HTTP 401, or what the
    /// provider answers instead). The call then renews it and re-issues the
    /// request once, unless the source cannot renew.
    pub fn token_refused(&self) -> bool {
        self.first_refusal.is_some()
    }

    /// Whether the request was re-issued with a new token.
    pub fn retried(&self) -> bool {
        // The first attempt sends a copy; only the retry takes the kept request.
        self.request.is_none()
    }

    /// Turns the source's answer into the call's next action.
    fn token_step(
        &mut self,
        now: Timestamp,
        retry: bool,
        step: Result<Action<AccessToken>, Error>,
    ) -> Result<Action<T>, Error> {
        let action = match step {
            Ok(action) => action,
            // A source that cannot renew after a 401: the 401 is the answer.
            Err(Error::Usage(UsageError::TokenUnavailable)) => {
                let refusal = self.first_refusal.clone();
                return Err(refusal.map_or(Error::Usage(UsageError::TokenUnavailable), Error::Server));
            }
            Err(err) => return Err(err),
        };
        match action.done_or_pass() {
            Ok(token) => self.send(now, retry, token),
            Err(next) => {
                self.state = State::Token { retry };
                Ok(next)
            }
        }
    }

    fn send(&mut self, now: Timestamp, retry: bool, token: AccessToken) -> Result<Action<T>, Error> {
        let (name, value) = self.scheme.header(&token)?;
        if let (Some(limiter), Some(request)) = (&self.limiter, &self.request) {
            // The lock is held for this check only, never while a request is out.
            let admitted = limiter
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .admit(request, now);
            if let Err(until) = admitted {
                trace::wait("paced", until, now);
                self.state = State::Paced { retry, token };
                return Ok(Action::Wait(until));
            }
        }
        // The first attempt sends a copy; the retry sends the kept request itself.
        let mut request = match (retry, &self.request) {
            (false, Some(kept)) => clone_request(kept),
            _ => self.request.take().ok_or(Error::Usage(UsageError::Finished))?,
        };
        request.headers_mut().insert(name, value);
        if let (Some(signing), Some(signature)) = (&self.signing, &self.signature) {
            request
                .headers_mut()
                .insert(signing.header.clone(), sensitive_value(&signature.base64)?);
        }
        self.state = State::Api { retry, token };
        let request = Outgoing::from_http(request);
        trace::request(attempt(retry), &request, now);
        Ok(Action::Send(request))
    }

    /// The signer's answer: keep the signature, then get the token.
    fn signed(&mut self, now: Timestamp, input: Input) -> Result<Action<T>, Error> {
        let Input::Signature(signature) = input else {
            // The signer failed (the gate lets only that through besides a signature).
            return Err(Error::Usage(UsageError::Aborted));
        };
        self.signature = Some(BodySignature {
            base64: signature.to_base64(),
            signature,
        });
        let step = self.source.poll_token(now);
        self.token_step(now, false, step)
    }

    /// Reads the API's answer.
    fn answer(
        &mut self,
        now: Timestamp,
        retry: bool,
        token: AccessToken,
        response: http::Response<Vec<u8>>,
    ) -> Result<Action<T>, Error> {
        let signature = self.signature.as_ref();
        let scrub = [token.expose_secret(), signature.map_or("", |s| s.base64.as_str())];
        let secrets = Secrets::new(&scrub).with_bytes(signature.map_or(&[][..], |s| s.signature.as_der()));
        let refused = (self.refused)(&response);
        let forbidden = (self.forbidden)(&response);
        if refused && !retry {
            let kind = if forbidden {
                ServerErrorKind::Forbidden
            } else {
                ServerErrorKind::Unauthorized
            };
            self.first_refusal = Some(self.refusal(&response, secrets, kind));
            trace::outcome("api", "token_refused", None, now);
            self.source.token_rejected(now, &token);
            let step = self.source.poll_token(now);
            return self.token_step(now, true, step);
        }
        if forbidden {
            return Err(Error::Server(self.refusal(
                &response,
                secrets,
                ServerErrorKind::Forbidden,
            )));
        }
        if refused {
            return Err(Error::Server(self.refusal(
                &response,
                secrets,
                ServerErrorKind::Unauthorized,
            )));
        }
        if response.status().is_redirection() {
            // A followed redirect would replay the token; the classifier
            // reports it with the target's query and user info removed.
            classify_with::<NoFields<'_>>(&response, secrets)?;
        }
        // Other answers are the caller's: no size bound here (an API may
        // legitimately answer megabytes); typed calls bound what they parse.
        (self.parse)(response, secrets).map(Action::Done)
    }
}

impl<S, T> Authorized<S, T> {
    /// A typed 401 or 403: the body's own words if any, else
    /// `WWW-Authenticate`'s `error` and `error_description` (RFC 6750), else
    /// what this provider's 403 means.
    fn refusal(
        &self,
        response: &http::Response<Vec<u8>>,
        secrets: Secrets<'_>,
        kind: ServerErrorKind,
    ) -> ServerError {
        let mut refusal = challenged(response, secrets);
        refusal.kind = kind;
        if kind == ServerErrorKind::Forbidden && refusal.code.is_none() && refusal.message.is_none() {
            refusal.message = self.forbidden_means.map(str::to_owned);
        }
        refusal
    }
}

/// The refusal in a response, completed from its `WWW-Authenticate` challenge.
fn challenged(response: &http::Response<Vec<u8>>, secrets: Secrets<'_>) -> ServerError {
    let Ok(reply) = classify_with::<NoFields<'_>>(response, secrets) else {
        // An oversized 401 is still a 401; its body is not read.
        return ServerError::new(response.status(), ServerErrorKind::Unauthorized);
    };
    let (mut code, mut message) = reply.refusal_words();
    if code.is_none() {
        // The first challenge that names an error (a server may send several).
        let challenge = response
            .headers()
            .get_all(WWW_AUTHENTICATE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| auth_param(c, "error").is_some());
        if let Some(challenge) = challenge {
            code = auth_param(challenge, "error").map(Cow::Borrowed);
            if message.is_none() {
                message = auth_param(challenge, "error_description").map(Cow::Borrowed);
            }
        }
    }
    // Scrubbed once all words are in: a token may be echoed in the challenge.
    reply.scrubbed_refusal(code, message)
}

/// The value of `name` in a challenge such as
/// `Bearer realm="x", error="invalid_token", error_description="expired"`.
/// Quoted values end at the next quote (escapes are not unfolded: the value
/// is only shown).
fn auth_param<'a>(challenge: &'a str, name: &str) -> Option<&'a str> {
    // The parameters follow the scheme and a space.
    let mut rest = challenge
        .trim_start()
        .split_once(' ')
        .map_or("", |(_, params)| params);
    loop {
        // Each turn consumes at least one `=`, so the loop ends.
        let (key, after) = rest.trim_start_matches([' ', ',', '\t']).split_once('=')?;
        let after = after.trim_start();
        let (value, tail) = match after.strip_prefix('"') {
            Some(quoted) => quoted.split_once('"').unwrap_or((quoted, "")),
            None => after.split_once(',').unwrap_or((after, "")),
        };
        if key.trim().eq_ignore_ascii_case(name) {
            return Some(value.trim());
        }
        rest = tail;
    }
}

fn clone_request(request: &http::Request<Vec<u8>>) -> http::Request<Vec<u8>> {
    let mut copy = http::Request::new(request.body().clone());
    *copy.method_mut() = request.method().clone();
    *copy.uri_mut() = request.uri().clone();
    *copy.version_mut() = request.version();
    *copy.headers_mut() = request.headers().clone();
    copy
}

impl<S: TokenSource, T> Flow for Authorized<S, T> {
    type Output = T;

    fn start(&mut self, now: Timestamp) -> Result<Action<T>, Error> {
        self.gate.admit_start()?;
        let _entered = self.run.enter();
        let step = match (&self.signing, &self.request) {
            // Signed before the token is fetched: a signer that fails (a
            // PIN refused) then costs no sign-in.
            (Some(signing), Some(request)) => {
                self.state = State::Signing;
                Ok(Action::Sign(SignJob::new(
                    request.body().clone(),
                    signing.kind,
                    signing.purpose,
                )))
            }
            _ => {
                let step = self.source.poll_token(now);
                self.token_step(now, false, step)
            }
        };
        self.gate.track(step)
    }

    fn resume(&mut self, now: Timestamp, input: Input) -> Result<Action<T>, Error> {
        self.gate.admit(&input)?;
        let _entered = self.run.enter();
        // The gate let the input through: the step ends in a new state or
        // finishes the call.
        let step = match std::mem::replace(&mut self.state, State::Token { retry: false }) {
            State::Signing => self.signed(now, input),
            State::Paced { retry, token } => match input {
                Input::Timeout => self.send(now, retry, token),
                _ => Err(Error::Usage(UsageError::Aborted)),
            },
            // `Failed` goes to the source too: its request is what failed.
            State::Token { retry } => {
                let step = self.source.resume_token(now, input);
                self.token_step(now, retry, step)
            }
            State::Api { retry, token } => match input {
                Input::Response(response) => {
                    let step = attempt(retry);
                    trace::response(step, &response, now);
                    let answered = self.answer(now, retry, token, response);
                    match &answered {
                        Ok(Action::Done(_)) => trace::outcome(step, "done", None, now),
                        Err(e) => trace::failed(step, e, now),
                        Ok(_) => {}
                    }
                    answered
                }
                _ => {
                    let aborted = Error::Usage(UsageError::Aborted);
                    trace::failed(attempt(retry), &aborted, now);
                    Err(aborted)
                }
            },
        };
        self.gate.track(step)
    }
}

impl<S: fmt::Debug, T> fmt::Debug for Authorized<S, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match (self.gate, &self.state) {
            (Gate::New, _) => "New",
            (Gate::Finished, _) => "Finished",
            (Gate::Waiting(_), State::Signing) => "Signing",
            (Gate::Waiting(_), State::Token { .. }) => "GettingToken",
            (Gate::Waiting(_), State::Paced { .. }) => "Paced",
            (Gate::Waiting(_), State::Api { .. }) => "AwaitingApi",
        };
        let target = self
            .request
            .as_ref()
            .map(|r| (r.method().clone(), r.uri().path().to_owned()));
        f.debug_struct("Authorized")
            .field("scheme", &self.scheme)
            .field("request", &target)
            .field("source", &self.source)
            .field("state", &state)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::auth_param;

    #[test]
    fn challenge_parameters() {
        let c = r#"Bearer realm="oms", error="invalid_token", error_description="The access token expired""#;
        assert_eq!(auth_param(c, "error"), Some("invalid_token"));
        assert_eq!(
            auth_param(c, "error_description"),
            Some("The access token expired")
        );
        assert_eq!(auth_param(c, "realm"), Some("oms"));
        assert_eq!(
            auth_param("Bearer error=invalid_token, x=1", "error"),
            Some("invalid_token")
        );
        assert_eq!(auth_param("Bearer myerror=1", "error"), None);
        assert_eq!(auth_param("Bearer error", "error"), None);
        assert_eq!(
            auth_param("Bearer error=\"unterminated", "error"),
            Some("unterminated")
        );
        assert_eq!(auth_param("Bearer a=\"x, error=y\", error=z", "error"), Some("z"));
        assert_eq!(auth_param("", "error"), None);
    }
}

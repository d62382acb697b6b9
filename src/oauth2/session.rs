//! [`PasswordSession`]: get and keep a token with the password grant and
//! refresh tokens (a Keycloak realm such as ITC Easy Register's).

use std::fmt;

use url::Url;

use crate::call::{Shareable, TokenSource, TokenStep};
use crate::error::{Error, ServerError, ServerErrorKind, UsageError};
use crate::flow::{Action, Flow, Input, Outgoing};
use crate::machine::Gate;
use crate::pacing::{within, Backoff, Pacing};
use crate::response::oauth_kind;
use crate::secret::{AccessToken, Password};
use crate::time::Timestamp;
use crate::token::TokenSet;
use crate::trace::{self, Holder, Name, Run};

use super::{token_from_response, ZeroLifetime};

/// Where a [`PasswordSession`] gets its tokens: the token endpoint and the
/// client id.
#[derive(Clone, Debug)]
pub struct SessionConfig {
    token_url: Url,
    /// `token_url` parsed once: cloning it per request costs no parse.
    token_uri: http::Uri,
    client_id: String,
    /// What sessions on it are traced as.
    name: Name,
}

impl SessionConfig {
    /// A public client `client_id` (no secret) on the token endpoint
    /// `token_url`, its sessions traced as `name`.
    pub(crate) fn new(name: Name, token_url: Url, client_id: impl Into<String>) -> Result<Self, Error> {
        Ok(SessionConfig {
            token_uri: crate::flow::target(token_url.clone())?,
            token_url,
            client_id: client_id.into(),
            name,
        })
    }

    /// The token endpoint.
    pub fn token_url(&self) -> &str {
        self.token_url.as_str()
    }

    /// The client id sent with every request.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }
}

/// What a [`PasswordSession`] wants from its caller now.
// The request is moved out once per exchange; boxing it would cost an
// allocation per round trip for no gain.
#[allow(clippy::large_enum_variant)]
#[must_use = "a SessionAction tells the caller what to do next"]
#[derive(Debug)]
pub enum SessionAction<'a> {
    /// The token is fresh: use it. (No request, no allocation.)
    UseToken(&'a AccessToken),
    /// Send this request and hand its response to
    /// [`handle_response`](PasswordSession::handle_response) (or call
    /// [`transport_failed`](PasswordSession::transport_failed)).
    Send(Outgoing),
    /// No usable token and nothing to send until this instant (a request is
    /// in flight, or the session is backing off): poll again then, or as
    /// soon as a response has been handed in.
    Wait(Timestamp),
}

/// A long-lived session that owns the credentials and the current tokens.
///
/// * It starts with the password grant, then refreshes
///   [`renew_margin`](Pacing::renew_margin) before the access token expires.
/// * When a refresh is refused (a 4xx that is not a rate limit, or an
///   `invalid_grant` at a status that is not a server failure: Keycloak's
///   "Token is not active", a proxy's plain-text 400) or the refresh token
///   has expired, its next request is the password grant, at once. A rate
///   limit or a server failure, whatever code it names, backs off and sends
///   the refresh again.
/// * When a refresh response carries no refresh token, the old one is kept.
/// * It never has two requests in flight: while one is out, [`poll`](Self::poll)
///   returns the still-valid token or `Wait`.
/// * Transport failures, lost answers and other refusals back off
///   exponentially, or as `Retry-After` says within
///   [`max_server_wait`](Pacing::max_server_wait); only a typed OAuth
///   refusal of the password grant (`invalid_grant`, `invalid_client`, ...)
///   ends the session. A proxy's HTML 401, 403 or 404 backs off.
/// * While the access token is valid, a failed renewal never reaches a
///   caller of [`fetch`](Self::fetch) or of an [`Authorized`](crate::call::Authorized)
///   call: they get the token, and the session backs off.
///
/// Drive it by hand with [`poll`](Self::poll) / [`handle_response`](Self::handle_response),
/// or as a [`Flow`] with [`fetch`](Self::fetch) and the drivers. Share one
/// between threads or tasks in a `Mutex` through a
/// [`SharedSource`](crate::call::SharedSource) each. Save its tokens with
/// [`snapshot`](Self::snapshot) and [`restore`](Self::restore) them after a
/// restart, so that the restarted process refreshes instead of sending the
/// password again.
///
/// | call | errors | session usable afterwards? |
/// |---|---|---|
/// | `poll` | `Usage(Finished)` once ended and the access token expired | no |
/// | `handle_response` | `Server`/`Protocol` | yes, backing off, unless the password grant was refused with an OAuth error code: then it has ended |
/// | `handle_response` | `Usage(NoRequestInFlight)` | yes, the response was ignored |
pub struct PasswordSession {
    config: SessionConfig,
    pacing: Pacing,
    username: String,
    password: Password,
    tokens: Option<TokenSet>,
    phase: Phase,
    last_sent: Option<Timestamp>,
    backoff: Backoff,
    /// How many requests the session has sent: names the one in flight, so
    /// a shared caller's answer is taken only for the request it sent.
    sent: u64,
    /// The session's span (nothing without the `tracing` feature).
    run: Run,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Phase {
    Idle,
    InFlight {
        grant: Grant,
        sent_at: Timestamp,
        request: u64,
    },
    Backoff,
    Ended,
}

/// Which grant a request uses.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub enum Grant {
    /// `grant_type=password`.
    Password,
    /// `grant_type=refresh_token`.
    Refresh,
}

impl Grant {
    /// The step's name in traces.
    fn step(self) -> &'static str {
        match self {
            Grant::Password => "password_grant",
            Grant::Refresh => "refresh",
        }
    }
}

/// What `poll` decided, before borrowing the token.
enum Decision {
    Use,
    Wait(Timestamp),
    Send(Grant),
}

impl PasswordSession {
    /// A session for `username`/`password` on a configured token endpoint,
    /// paced by [`Pacing::session`].
    pub fn new(config: SessionConfig, username: impl Into<String>, password: Password) -> Self {
        PasswordSession {
            run: Run::holder(Holder::Session, config.name),
            config,
            pacing: Pacing::session(),
            username: username.into(),
            password,
            tokens: None,
            phase: Phase::Idle,
            last_sent: None,
            backoff: Backoff::default(),
            sent: 0,
        }
    }

    /// The token endpoint and client id.
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// The user the session signs in as.
    pub fn username(&self) -> &str {
        &self.username
    }

    crate::pacing::pacing_accessors!("How the session paces itself.");

    /// Adopts `tokens` (read from a store, say) as the session's own.
    pub(crate) fn adopt(&mut self, tokens: TokenSet) {
        self.tokens = Some(tokens);
    }

    /// The current tokens, fresh or not.
    pub fn tokens(&self) -> Option<&TokenSet> {
        self.tokens.as_ref()
    }

    /// Whether a request is in flight.
    pub fn in_flight(&self) -> Option<Grant> {
        match self.phase {
            Phase::InFlight { grant, .. } => Some(grant),
            _ => None,
        }
    }

    /// Whether the session has ended (credentials refused); it will never
    /// send again. An access token still valid keeps serving until it
    /// expires; then [`poll`](Self::poll) is [`UsageError::Finished`].
    pub fn has_ended(&self) -> bool {
        self.phase == Phase::Ended
    }

    /// Ends a back-off now (an operator pressed "retry now"): the next poll
    /// sends, once [`min_interval`](Pacing::min_interval) has passed since
    /// the last request. Failures in a row start counting again. A request
    /// in flight, or an ended session, is left as it is.
    pub fn retry_now(&mut self) {
        self.backoff.succeed();
        if self.phase == Phase::Backoff {
            self.phase = Phase::Idle;
        }
    }

    /// What to do at `now`: use the token, send a request, or wait.
    ///
    /// Returns the token without allocating when it is fresh.
    pub fn poll(&mut self, now: Timestamp) -> Result<SessionAction<'_>, Error> {
        let _entered = self.run.enter();
        if self.phase == Phase::Ended {
            return match self.valid_token(now) {
                Some(token) => Ok(SessionAction::UseToken(token)),
                None => Err(Error::Usage(UsageError::Finished)),
            };
        }
        match self.decide(now) {
            Decision::Use => match &self.tokens {
                Some(tokens) => Ok(SessionAction::UseToken(tokens.access_token())),
                // `decide` answers Use only while a token is held.
                None => Ok(SessionAction::Wait(now)),
            },
            Decision::Wait(until) => {
                trace::wait("poll", until, now);
                Ok(SessionAction::Wait(until))
            }
            Decision::Send(grant) => {
                let request = self.request(now, grant);
                trace::request(grant.step(), &request, now);
                Ok(SessionAction::Send(request))
            }
        }
    }

    /// A clock stepped back: every instant kept happened "now" at the
    /// latest, so no wait computed from them outlasts its bound.
    fn reanchor(&mut self, now: Timestamp) {
        if let Phase::InFlight { sent_at, .. } = &mut self.phase {
            *sent_at = (*sent_at).min(now);
        }
        self.last_sent = self.last_sent.map(|t| t.min(now));
        self.backoff.reanchor(now);
    }

    fn decide(&mut self, now: Timestamp) -> Decision {
        self.reanchor(now);
        let valid = self.valid_token(now).is_some();
        let hold_or_wait = |until| {
            if valid {
                Decision::Use
            } else {
                Decision::Wait(until)
            }
        };
        match self.phase {
            Phase::Ended => return Decision::Wait(Timestamp::MAX),
            Phase::InFlight { sent_at, .. } => {
                if within(sent_at, now, self.pacing.renewal_timeout) {
                    return hold_or_wait(sent_at.saturating_add(self.pacing.renewal_timeout));
                }
                // The answer never came: count it as a failed transport.
                self.back_off(now, None);
            }
            Phase::Backoff | Phase::Idle => {}
        }
        if let Some(until) = self.backoff.until(now, &self.pacing) {
            return hold_or_wait(until);
        }
        self.phase = Phase::Idle;
        match self.tokens.as_ref().map(|t| t.renew_at(self.pacing.renew_margin)) {
            // A token that never expires (and was not refused) is never renewed.
            Some(None) => return Decision::Use,
            Some(Some(at)) if now < at => return Decision::Use,
            _ => {}
        }
        if let Some(last) = self.last_sent {
            if within(last, now, self.pacing.min_interval) {
                return hold_or_wait(last.saturating_add(self.pacing.min_interval));
            }
        }
        let refresh_usable = self
            .tokens
            .as_ref()
            .is_some_and(|t| t.refresh_token().is_some() && t.refresh_expires_at().is_none_or(|e| now < e));
        Decision::Send(if refresh_usable {
            Grant::Refresh
        } else {
            Grant::Password
        })
    }

    /// The access token, if it is still valid at `now`.
    fn valid_token(&self, now: Timestamp) -> Option<&AccessToken> {
        self.tokens.as_ref()?.valid_access(now)
    }

    /// When the held token should be renewed; `None` if no token is held,
    /// `Timestamp::MAX` if it never expires.
    fn renew_at(&self) -> Option<Timestamp> {
        self.tokens
            .as_ref()
            .map(|t| t.renew_at(self.pacing.renew_margin).unwrap_or(Timestamp::MAX))
    }

    fn request(&mut self, now: Timestamp, grant: Grant) -> Outgoing {
        let client_id = self.config.client_id.as_str();
        let refresh = self.tokens.as_ref().and_then(TokenSet::refresh_token);
        let uri = self.config.token_uri.clone();
        let request = match (grant, refresh) {
            (Grant::Refresh, Some(refresh)) => Outgoing::post_form_to(
                uri,
                &[
                    ("grant_type", "refresh_token"),
                    ("client_id", client_id),
                    ("refresh_token", refresh.expose_secret()),
                ],
            ),
            _ => Outgoing::post_form_to(
                uri,
                &[
                    ("grant_type", "password"),
                    ("client_id", client_id),
                    ("username", &self.username),
                    ("password", self.password.expose_secret()),
                ],
            ),
        };
        self.sent = self.sent.wrapping_add(1);
        self.phase = Phase::InFlight {
            grant,
            sent_at: now,
            request: self.sent,
        };
        self.last_sent = Some(now);
        request
    }

    /// Hands in the response to the request in flight.
    ///
    /// `Ok(())` means the session holds a fresh token, or that a refused
    /// refresh will be followed by a password grant at the next poll. An
    /// error is the server's refusal or an unusable answer; see the table in
    /// the type docs for whether the session goes on.
    pub fn handle_response(
        &mut self,
        now: Timestamp,
        response: http::Response<Vec<u8>>,
    ) -> Result<(), Error> {
        let _entered = self.run.enter();
        self.reanchor(now);
        let (grant, sent_at) = match self.phase {
            Phase::InFlight { grant, sent_at, .. } => (grant, sent_at),
            Phase::Ended => return Err(Error::Usage(UsageError::Finished)),
            _ => return Err(Error::Usage(UsageError::NoRequestInFlight)),
        };
        let step = grant.step();
        trace::response(step, &response, now);
        // Everything the session sent and every token it holds: a refusal
        // of the refresh may quote the access token as well.
        let refresh = self.tokens.as_ref().and_then(TokenSet::refresh_token);
        let access = self.tokens.as_ref().map(TokenSet::access_token);
        let scrub = [
            self.password.expose_secret(),
            refresh.map_or("", |r| r.expose_secret()),
            access.map_or("", |a| a.expose_secret()),
        ];
        let parsed = token_from_response(&response, &scrub, sent_at, ZeroLifetime::Expired);
        match parsed {
            Ok(mut fresh) => {
                if let Some(old) = &self.tokens {
                    fresh.keep_refresh_from(old);
                }
                trace::outcome(step, "token", fresh.expires_at(), now);
                self.tokens = Some(fresh);
                self.phase = Phase::Idle;
                self.backoff.succeed();
                Ok(())
            }
            Err(Error::Server(refusal)) if grant == Grant::Refresh && refresh_refused(&refusal) => {
                // The refresh token is dead (or this server will not take
                // it): the password grant goes next, at once.
                trace::failed(step, &Error::Server(refusal), now);
                trace::outcome(step, "refresh_refused", None, now);
                if let Some(tokens) = &mut self.tokens {
                    tokens.forget_refresh();
                }
                self.phase = Phase::Idle;
                self.last_sent = None;
                Ok(())
            }
            Err(Error::Server(refusal)) if grant == Grant::Password && credentials_refused(&refusal) => {
                // The credentials are refused: nothing is sent again. An
                // access token still valid keeps serving until it expires;
                // the refresh token is dropped.
                let refusal = Error::Server(refusal);
                trace::failed(step, &refusal, now);
                trace::outcome(step, "ended", None, now);
                self.phase = Phase::Ended;
                if let Some(tokens) = &mut self.tokens {
                    tokens.forget_refresh();
                }
                Err(refusal)
            }
            Err(err) => {
                trace::failed(step, &err, now);
                self.back_off(now, err.retry_after());
                Err(err)
            }
        }
    }

    /// The request in flight got no response (connection refused, timeout,
    /// TLS failure). The session backs off and will send again; nothing is
    /// lost or doubled.
    pub fn transport_failed(&mut self, now: Timestamp) -> Result<(), Error> {
        let _entered = self.run.enter();
        self.reanchor(now);
        match self.phase {
            Phase::InFlight { grant, .. } => {
                trace::failed(grant.step(), &Error::Usage(UsageError::Aborted), now);
                self.back_off(now, None);
                Ok(())
            }
            Phase::Ended => Err(Error::Usage(UsageError::Finished)),
            _ => Err(Error::Usage(UsageError::NoRequestInFlight)),
        }
    }

    /// The resource server answered 401 to the current access token: it is
    /// treated as expired, so the next poll renews it. (A 403 means the
    /// account lacks a right: do not call this for 403.)
    pub fn unauthorized(&mut self, _now: Timestamp) {
        if let Some(tokens) = &mut self.tokens {
            tokens.refuse();
        }
    }

    /// When the session next needs attention: the renewal time, the end of a
    /// back-off or of the minimum interval, or the in-flight request's
    /// timeout. `None` once the session has ended.
    pub fn next_deadline(&self) -> Option<Timestamp> {
        match self.phase {
            Phase::Ended => None,
            Phase::InFlight { sent_at, .. } => Some(sent_at.saturating_add(self.pacing.renewal_timeout)),
            Phase::Backoff | Phase::Idle => {
                let earliest = self
                    .last_sent
                    .map_or(Timestamp::EPOCH, |t| t.saturating_add(self.pacing.min_interval));
                let then = match self.phase {
                    Phase::Backoff => self.backoff.pending(&self.pacing).unwrap_or(Timestamp::EPOCH),
                    _ => self.renew_at().unwrap_or(Timestamp::EPOCH),
                };
                Some(then.max(earliest))
            }
        }
    }

    fn back_off(&mut self, now: Timestamp, server: Option<crate::error::RetryAfter>) {
        self.backoff.fail(now, &self.pacing, server);
        self.phase = Phase::Backoff;
    }

    /// This session as a [`Flow`] that ends with a usable access token, for
    /// the drivers. It sends at most the requests the session decides on
    /// (a refresh, and the password grant if the refresh is refused). While
    /// the access token is valid, a failed renewal ends the flow with it.
    pub fn fetch(&mut self) -> Fetch<'_> {
        Fetch {
            session: self,
            gate: Gate::New,
        }
    }
}

/// A rate limit or a server failure, whatever code the body names
/// (`invalid_grant` on a 503 says the server is in trouble): the request
/// is sent again after the back-off.
fn server_in_trouble(refusal: &ServerError) -> bool {
    refusal.is_retryable() || refusal.status.is_server_error()
}

/// Refusals of a refresh after which the refresh token is not tried again:
/// a 4xx or an `invalid_grant` (at a 200 too), unless the server is in
/// trouble. A proxy's plain 400 is no reason to send the same refresh
/// again for an hour.
fn refresh_refused(refusal: &ServerError) -> bool {
    !server_in_trouble(refusal)
        && (refusal.status.is_client_error() || refusal.kind == ServerErrorKind::InvalidGrant)
}

/// Refusals of the password grant that end the session: those that name an
/// OAuth error retrying cannot fix, unless the server is in trouble. A
/// proxy's or firewall's page (401, 403, 404 without an OAuth `error`) says
/// nothing about the credentials.
fn credentials_refused(refusal: &ServerError) -> bool {
    if server_in_trouble(refusal) {
        return false;
    }
    let kind = refusal.code.as_deref().and_then(oauth_kind);
    matches!(
        kind,
        Some(
            ServerErrorKind::InvalidGrant
                | ServerErrorKind::InvalidClient
                | ServerErrorKind::InvalidRequest
                | ServerErrorKind::InvalidScope
                | ServerErrorKind::UnsupportedGrantType
                | ServerErrorKind::Forbidden
        )
    )
}

impl fmt::Debug for PasswordSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordSession")
            .field("token_url", &self.config.token_url.as_str())
            .field("username", &self.username)
            .field("password", &self.password)
            .field("tokens", &self.tokens)
            .field("phase", &self.phase)
            .field("failures", &self.backoff.failures())
            .finish()
    }
}

/// The ITC Keycloak session as a token source: a fresh token at once,
/// otherwise the refresh or password grant it decides on. While the access
/// token is valid, a failed renewal (refusal, unusable answer, lost
/// request) hands out that token and the session backs off; without one,
/// the failure is the call's (a lost request is [`UsageError::Aborted`]).
impl TokenSource for PasswordSession {
    fn poll_token(&mut self, now: Timestamp) -> Result<Action<AccessToken>, Error> {
        Ok(match self.poll(now)? {
            SessionAction::UseToken(token) => Action::Done(token.clone()),
            SessionAction::Send(request) => Action::Send(request),
            SessionAction::Wait(until) => Action::Wait(until),
        })
    }

    fn resume_token(&mut self, now: Timestamp, input: Input) -> Result<Action<AccessToken>, Error> {
        let failure = match input {
            Input::Response(response) => self.handle_response(now, response).err(),
            Input::Failed => {
                if self.in_flight().is_some() {
                    self.transport_failed(now)?;
                }
                Some(Error::Usage(UsageError::Aborted))
            }
            Input::Timeout | Input::Signature(_) | Input::Store(_) => None,
        };
        match (failure, self.valid_token(now)) {
            (None, _) => self.poll_token(now),
            (Some(_), Some(token)) => Ok(Action::Done(token.clone())),
            (Some(err), None) => Err(err),
        }
    }

    fn token_rejected(&mut self, _now: Timestamp, token: &AccessToken) {
        if let Some(held) = &mut self.tokens {
            held.refuse_if_mine(token);
        }
    }
}

/// Shared by many callers through a [`SharedSource`](crate::call::SharedSource):
/// the session's own single flight (one request out, the others get the
/// token or `Wait`) decides who sends; the claim is the number of the
/// request sent, so only its sender's answer is handed in.
impl Shareable for PasswordSession {
    fn poll_claim(&mut self, now: Timestamp) -> (TokenStep, Option<u64>) {
        let step = self.poll_token(now);
        let claim = self.claim_of(&step);
        (step, claim)
    }

    fn resume_claim(&mut self, now: Timestamp, claim: u64, input: Input) -> (TokenStep, Option<u64>) {
        if self.request_in_flight() != Some(claim) {
            // Not the request out (it timed out, or another was sent since):
            // its answer is not the session's to take.
            return self.poll_claim(now);
        }
        let step = self.resume_token(now, input);
        let claim = self.claim_of(&step);
        (step, claim)
    }

    fn release(&mut self, claim: u64) {
        if let Phase::InFlight { sent_at, request, .. } = self.phase {
            if request == claim {
                self.back_off(sent_at, None);
            }
        }
    }
}

impl PasswordSession {
    /// The number of the request in flight, if one is.
    fn request_in_flight(&self) -> Option<u64> {
        match self.phase {
            Phase::InFlight { request, .. } => Some(request),
            _ => None,
        }
    }

    /// The claim a step gives its caller: the request it was told to send.
    fn claim_of(&self, step: &TokenStep) -> Option<u64> {
        match step {
            Ok(Action::Send(_)) => self.request_in_flight(),
            _ => None,
        }
    }
}

/// A [`PasswordSession`] driven as a [`Flow`]: see [`PasswordSession::fetch`].
///
/// Transcript when the token is fresh: `start` → `Done(token)`. When it is
/// due: `Send(refresh)` → (refused) `Send(password grant)` → `Done(token)`.
/// While backing off: `Wait(until)` → `Timeout` → `Send(...)`.
#[derive(Debug)]
pub struct Fetch<'s> {
    session: &'s mut PasswordSession,
    gate: Gate,
}

impl Flow for Fetch<'_> {
    type Output = AccessToken;

    fn start(&mut self, now: Timestamp) -> Result<Action<AccessToken>, Error> {
        self.gate.admit_start()?;
        let step = self.session.poll_token(now);
        self.gate.track(step)
    }

    fn resume(&mut self, now: Timestamp, input: Input) -> Result<Action<AccessToken>, Error> {
        self.gate.admit(&input)?;
        let step = self.session.resume_token(now, input);
        self.gate.track(step)
    }
}

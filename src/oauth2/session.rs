//! [`PasswordSession`]: get and keep a token with the password grant and
//! refresh tokens (a Keycloak realm such as ITC Easy Register's).

use std::fmt;
use std::time::Duration;

use url::Url;

use crate::error::{Error, Expect, ServerErrorKind, UsageError};
use crate::flow::{unexpected, Action, Flow, Input, Outgoing};
use crate::response::classify;
use crate::secret::{AccessToken, Password};
use crate::time::Timestamp;
use crate::token::TokenSet;

use super::{token_from_reply, ZeroLifetime};

/// How a [`PasswordSession`] talks to its token endpoint and paces itself.
#[derive(Clone, Debug)]
pub struct SessionConfig {
    token_url: Url,
    /// `token_url` parsed once: cloning it per request costs no parse.
    token_uri: http::Uri,
    client_id: String,
    /// Renew this long before the access token expires (at most half its life).
    pub renew_margin: Duration,
    /// A request without an answer after this long counts as lost.
    pub request_timeout: Duration,
    /// The shortest time between two token requests (stops hot loops against
    /// a server that issues already-expired tokens).
    pub min_interval: Duration,
    /// The first back-off after a failure; it doubles with each failure in a row.
    pub initial_backoff: Duration,
    /// The longest back-off (a server's `Retry-After` may ask for longer).
    pub max_backoff: Duration,
}

impl SessionConfig {
    /// A public client `client_id` (no secret) on the token endpoint `token_url`,
    /// with a 30 s renewal margin, 60 s request timeout, 1 s minimum interval
    /// and a 1 s → 5 min back-off.
    pub(crate) fn new(token_url: Url, client_id: impl Into<String>) -> Result<Self, Error> {
        Ok(SessionConfig {
            token_uri: crate::flow::target(token_url.clone())?,
            token_url,
            client_id: client_id.into(),
            renew_margin: Duration::from_secs(30),
            request_timeout: Duration::from_secs(60),
            min_interval: Duration::from_secs(1),
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(300),
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
/// * It starts with the password grant, then refreshes `renew_margin` before
///   the access token expires.
/// * When a refresh is refused (`invalid_grant`, e.g. Keycloak's "Token is not
///   active") or the refresh token has expired, its next request is the
///   password grant.
/// * When a refresh response carries no refresh token, the old one is kept.
/// * It never has two requests in flight: while one is out, [`poll`](Self::poll)
///   returns the still-valid token or `Wait`.
/// * Transport failures and retryable refusals back off exponentially (or as
///   `Retry-After` says); refused credentials end the session.
///
/// Drive it by hand with [`poll`](Self::poll) / [`handle_response`](Self::handle_response),
/// or as a [`Flow`] with [`fetch`](Self::fetch) and the drivers.
///
/// | call | errors | session usable afterwards? |
/// |---|---|---|
/// | `poll` | `Usage(Finished)` once ended | no |
/// | `handle_response` | `Server`/`Protocol` | yes, backing off, unless the password grant was refused (`InvalidGrant`, `InvalidClient`, `Unauthorized`, `Forbidden`, ...): then it has ended |
/// | `handle_response` | `Usage(NoRequestInFlight)` | yes, the response was ignored |
pub struct PasswordSession {
    config: SessionConfig,
    username: String,
    password: Password,
    tokens: Option<TokenSet>,
    phase: Phase,
    last_sent: Option<Timestamp>,
    failures: u32,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Phase {
    Idle,
    InFlight { grant: Grant, sent_at: Timestamp },
    Backoff { until: Timestamp },
    Ended,
}

/// Which grant a request uses.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Grant {
    /// `grant_type=password`.
    Password,
    /// `grant_type=refresh_token`.
    Refresh,
}

/// What `poll` decided, before borrowing the token.
enum Decision {
    Use,
    Wait(Timestamp),
    Send(Grant),
}

impl PasswordSession {
    /// A session for `username`/`password` on a configured token endpoint.
    pub fn new(config: SessionConfig, username: impl Into<String>, password: Password) -> Self {
        PasswordSession {
            config,
            username: username.into(),
            password,
            tokens: None,
            phase: Phase::Idle,
            last_sent: None,
            failures: 0,
        }
    }

    /// The configuration (its pacing fields may be changed through
    /// [`config_mut`](Self::config_mut)).
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// The configuration, to adjust margins and back-off.
    pub fn config_mut(&mut self) -> &mut SessionConfig {
        &mut self.config
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

    /// Whether the session has ended (credentials refused); it will never send again.
    pub fn has_ended(&self) -> bool {
        self.phase == Phase::Ended
    }

    /// What to do at `now`: use the token, send a request, or wait.
    ///
    /// Returns the token without allocating when it is fresh.
    pub fn poll(&mut self, now: Timestamp) -> Result<SessionAction<'_>, Error> {
        if self.phase == Phase::Ended {
            return Err(Error::Usage(UsageError::Finished));
        }
        match self.decide(now) {
            Decision::Use => match &self.tokens {
                Some(tokens) => Ok(SessionAction::UseToken(tokens.access_token())),
                // `decide` answers Use only while a token is held.
                None => Ok(SessionAction::Wait(now)),
            },
            Decision::Wait(until) => Ok(SessionAction::Wait(until)),
            Decision::Send(grant) => Ok(SessionAction::Send(self.request(now, grant))),
        }
    }

    fn decide(&mut self, now: Timestamp) -> Decision {
        let valid = self.tokens.as_ref().is_some_and(|t| t.is_valid(now));
        match self.phase {
            Phase::Ended => return Decision::Wait(Timestamp::MAX),
            Phase::InFlight { sent_at, .. } => {
                let deadline = sent_at.saturating_add(self.config.request_timeout);
                if now < deadline {
                    return if valid {
                        Decision::Use
                    } else {
                        Decision::Wait(deadline)
                    };
                }
                // The answer never came: count it as a failed transport.
                self.back_off(now, None);
                return self.decide(now);
            }
            Phase::Backoff { until } if now < until => {
                return if valid {
                    Decision::Use
                } else {
                    Decision::Wait(until)
                };
            }
            Phase::Backoff { .. } | Phase::Idle => self.phase = Phase::Idle,
        }
        if let Some(renew_at) = self.renew_at() {
            if now < renew_at {
                return Decision::Use;
            }
        }
        if let Some(earliest) = self.last_sent.map(|t| t.saturating_add(self.config.min_interval)) {
            if now < earliest {
                return if valid {
                    Decision::Use
                } else {
                    Decision::Wait(earliest)
                };
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

    /// When the held token should be renewed; `None` if no token is held,
    /// `Timestamp::MAX` if it never expires.
    fn renew_at(&self) -> Option<Timestamp> {
        self.tokens
            .as_ref()
            .map(|t| t.renew_at(self.config.renew_margin).unwrap_or(Timestamp::MAX))
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
        self.phase = Phase::InFlight { grant, sent_at: now };
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
        let (grant, sent_at) = match self.phase {
            Phase::InFlight { grant, sent_at } => (grant, sent_at),
            Phase::Ended => return Err(Error::Usage(UsageError::Finished)),
            _ => return Err(Error::Usage(UsageError::NoRequestInFlight)),
        };
        // Everything the session sent and every token it holds: a refusal
        // of the refresh may quote the access token as well.
        let refresh = self.tokens.as_ref().and_then(TokenSet::refresh_token);
        let access = self.tokens.as_ref().map(TokenSet::access_token);
        let scrub = [
            self.password.expose_secret(),
            refresh.map_or("", |r| r.expose_secret()),
            access.map_or("", |a| a.expose_secret()),
        ];
        let parsed = classify(&response, &scrub)
            .and_then(|reply| token_from_reply(&reply, sent_at, ZeroLifetime::Expired));
        match parsed {
            Ok(mut fresh) => {
                if let Some(old) = &self.tokens {
                    fresh.keep_refresh_from(old);
                }
                self.tokens = Some(fresh);
                self.phase = Phase::Idle;
                self.failures = 0;
                Ok(())
            }
            Err(Error::Server(refusal))
                if grant == Grant::Refresh
                    && matches!(
                        refusal.kind,
                        ServerErrorKind::InvalidGrant | ServerErrorKind::Unauthorized
                    ) =>
            {
                // The refresh token is dead; the password grant goes next, at once.
                if let Some(tokens) = &mut self.tokens {
                    tokens.forget_refresh();
                }
                self.phase = Phase::Idle;
                self.last_sent = None;
                Ok(())
            }
            Err(Error::Server(refusal)) if grant == Grant::Password && credentials_refused(refusal.kind) => {
                self.phase = Phase::Ended;
                self.tokens = None;
                Err(Error::Server(refusal))
            }
            Err(err) => {
                self.back_off(now, err.retry_after().map(|r| r.deadline(now)));
                Err(err)
            }
        }
    }

    /// The request in flight got no response (connection refused, timeout,
    /// TLS failure). The session backs off and will send again; nothing is
    /// lost or doubled.
    pub fn transport_failed(&mut self, now: Timestamp) -> Result<(), Error> {
        match self.phase {
            Phase::InFlight { .. } => {
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
    pub fn unauthorized(&mut self, now: Timestamp) {
        if let Some(tokens) = &mut self.tokens {
            tokens.expire_access(now);
        }
    }

    /// When the session next needs attention: the renewal time, the end of a
    /// back-off or of the minimum interval, or the in-flight request's
    /// timeout. `None` once the session has ended.
    pub fn next_deadline(&self) -> Option<Timestamp> {
        match self.phase {
            Phase::Ended => None,
            Phase::InFlight { sent_at, .. } => Some(sent_at.saturating_add(self.config.request_timeout)),
            Phase::Backoff { until } => Some(until),
            Phase::Idle => {
                let earliest = self
                    .last_sent
                    .map_or(Timestamp::EPOCH, |t| t.saturating_add(self.config.min_interval));
                Some(self.renew_at().unwrap_or(Timestamp::EPOCH).max(earliest))
            }
        }
    }

    fn back_off(&mut self, now: Timestamp, server_deadline: Option<Timestamp>) {
        let factor = 1u32.checked_shl(self.failures.min(20)).unwrap_or(u32::MAX);
        let delay = self
            .config
            .initial_backoff
            .saturating_mul(factor)
            .min(self.config.max_backoff);
        let until = now
            .saturating_add(delay)
            .max(server_deadline.unwrap_or(Timestamp::EPOCH));
        self.failures = self.failures.saturating_add(1);
        self.phase = Phase::Backoff { until };
    }

    /// This session as a [`Flow`] that ends with a usable access token, for
    /// the drivers. It sends at most the requests the session decides on
    /// (a refresh, and the password grant if the refresh is refused).
    pub fn fetch(&mut self) -> Fetch<'_> {
        Fetch {
            session: self,
            state: FetchState::New,
        }
    }
}

/// Refusals of the password grant that retrying cannot fix.
fn credentials_refused(kind: ServerErrorKind) -> bool {
    matches!(
        kind,
        ServerErrorKind::InvalidGrant
            | ServerErrorKind::InvalidClient
            | ServerErrorKind::Unauthorized
            | ServerErrorKind::Forbidden
            | ServerErrorKind::NotFound
            | ServerErrorKind::InvalidRequest
            | ServerErrorKind::InvalidScope
            | ServerErrorKind::UnsupportedGrantType
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
            .finish()
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
    state: FetchState,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum FetchState {
    New,
    Expecting(Expect),
    Finished,
}

impl Fetch<'_> {
    fn step(&mut self, now: Timestamp) -> Result<Action<AccessToken>, Error> {
        self.state = FetchState::Finished;
        let action = match self.session.poll(now)? {
            SessionAction::UseToken(token) => return Ok(Action::Done(token.clone())),
            SessionAction::Send(request) => Action::Send(request),
            SessionAction::Wait(until) => Action::Wait(until),
        };
        self.state = FetchState::Expecting(match action {
            Action::Send(_) => Expect::Response,
            _ => Expect::Timeout,
        });
        Ok(action)
    }
}

impl Flow for Fetch<'_> {
    type Output = AccessToken;

    fn start(&mut self, now: Timestamp) -> Result<Action<AccessToken>, Error> {
        match self.state {
            FetchState::New => self.step(now),
            FetchState::Expecting(_) => Err(Error::Usage(UsageError::AlreadyStarted)),
            FetchState::Finished => Err(Error::Usage(UsageError::Finished)),
        }
    }

    fn resume(&mut self, now: Timestamp, input: Input) -> Result<Action<AccessToken>, Error> {
        let expect = match self.state {
            FetchState::New => return Err(Error::Usage(UsageError::NotStarted)),
            FetchState::Finished => return Err(Error::Usage(UsageError::Finished)),
            FetchState::Expecting(expect) => expect,
        };
        match (expect, input) {
            (Expect::Response, Input::Response(response)) => {
                self.state = FetchState::Finished;
                self.session.handle_response(now, response)?;
                self.step(now)
            }
            (Expect::Timeout, Input::Timeout) => self.step(now),
            (_, Input::Failed) => {
                self.state = FetchState::Finished;
                if expect == Expect::Response {
                    self.session.transport_failed(now)?;
                }
                Err(Error::Usage(UsageError::Aborted))
            }
            (expect, other) => Err(unexpected(expect, &other)),
        }
    }
}

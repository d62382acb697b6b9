//! Where an [`Authorized`](super::Authorized) call gets its token.

use std::fmt;
use std::time::Duration;

use crate::error::{Error, UsageError};
use crate::flow::{Action, Flow, Input};
use crate::oauth2::{PasswordSession, SessionAction};
use crate::secret::AccessToken;
use crate::time::Timestamp;
use crate::token::TokenSet;

/// Something that holds an access token and, when it has none usable, knows
/// how to get one, sans-IO.
///
/// Getting a token speaks the [`Flow`] vocabulary: `poll_token` answers
/// `Done(token)` at once when the held token is good, or the first action of
/// a renewal (`Send` a token request, `Sign`, `Wait`), whose answers go to
/// `resume_token` until it says `Done`. The caller (an
/// [`Authorized`](super::Authorized) call) checks that each input answers the
/// action it was given, so a source only acts on it.
///
/// Implemented by the ITC [`PasswordSession`], the SUZ
/// [`KeeperSource`](crate::crpt::KeeperSource), [`Reissue`] (re-runs a token
/// flow) and a plain [`TokenSet`] (a token that cannot be renewed). Write
/// your own to plug in a token store.
pub trait TokenSource {
    /// The token to use at `now`, or the first action of getting one.
    fn poll_token(&mut self, now: Timestamp) -> Result<Action<AccessToken>, Error>;

    /// Answers the last action `poll_token` or `resume_token` returned.
    fn resume_token(&mut self, now: Timestamp, input: Input) -> Result<Action<AccessToken>, Error>;

    /// The API refused `token` with HTTP 401. If it is still the token held,
    /// the source must not hand it out again. (A token already replaced is
    /// left alone: the 401 was for an older one.)
    fn token_rejected(&mut self, now: Timestamp, token: &AccessToken);
}

impl<S: TokenSource + ?Sized> TokenSource for &mut S {
    fn poll_token(&mut self, now: Timestamp) -> Result<Action<AccessToken>, Error> {
        (**self).poll_token(now)
    }
    fn resume_token(&mut self, now: Timestamp, input: Input) -> Result<Action<AccessToken>, Error> {
        (**self).resume_token(now, input)
    }
    fn token_rejected(&mut self, now: Timestamp, token: &AccessToken) {
        (**self).token_rejected(now, token)
    }
}

impl<S: TokenSource + ?Sized> TokenSource for Box<S> {
    fn poll_token(&mut self, now: Timestamp) -> Result<Action<AccessToken>, Error> {
        (**self).poll_token(now)
    }
    fn resume_token(&mut self, now: Timestamp, input: Input) -> Result<Action<AccessToken>, Error> {
        (**self).resume_token(now, input)
    }
    fn token_rejected(&mut self, now: Timestamp, token: &AccessToken) {
        (**self).token_rejected(now, token)
    }
}

/// A token obtained once, that nothing can renew (a MonPay token, a token
/// restored from a file). Once it has expired or been refused,
/// [`poll_token`](TokenSource::poll_token) returns
/// [`UsageError::TokenUnavailable`].
impl TokenSource for TokenSet {
    fn poll_token(&mut self, now: Timestamp) -> Result<Action<AccessToken>, Error> {
        if self.is_valid(now) {
            Ok(Action::Done(self.access_token().clone()))
        } else {
            Err(Error::Usage(UsageError::TokenUnavailable))
        }
    }

    fn resume_token(&mut self, now: Timestamp, _input: Input) -> Result<Action<AccessToken>, Error> {
        // A fixed token never asks for anything, so nothing can be answered.
        self.poll_token(now)
    }

    fn token_rejected(&mut self, now: Timestamp, token: &AccessToken) {
        if self.access_token() == token {
            self.expire_access(now);
        }
    }
}

/// The ITC Keycloak session: a fresh token at once, otherwise the refresh or
/// password grant it decides on. A lost request (`Input::Failed`) makes the
/// session back off and ends the call with [`UsageError::Aborted`].
impl TokenSource for PasswordSession {
    fn poll_token(&mut self, now: Timestamp) -> Result<Action<AccessToken>, Error> {
        Ok(match self.poll(now)? {
            SessionAction::UseToken(token) => Action::Done(token.clone()),
            SessionAction::Send(request) => Action::Send(request),
            SessionAction::Wait(until) => Action::Wait(until),
        })
    }

    fn resume_token(&mut self, now: Timestamp, input: Input) -> Result<Action<AccessToken>, Error> {
        match input {
            Input::Response(response) => self.handle_response(now, response)?,
            Input::Failed => {
                if self.in_flight().is_some() {
                    self.transport_failed(now)?;
                }
                return Err(Error::Usage(UsageError::Aborted));
            }
            Input::Timeout | Input::Signature(_) => {}
        }
        self.poll_token(now)
    }

    fn token_rejected(&mut self, now: Timestamp, token: &AccessToken) {
        if self.tokens().is_some_and(|held| held.access_token() == token) {
            self.unauthorized(now);
        }
    }
}

/// A token that is renewed by running a token flow again: GAM's client
/// credentials, an Astana-plat login, a CRPT sign-in used by one caller.
///
/// `make` builds a new flow each time a token is needed (it owns or clones
/// the credentials). The token is reused until `renew_margin` before it
/// expires (at most half its life), or until the API refuses it.
///
/// ```
/// use tokendance::call::{Reissue, TokenSource};
/// use tokendance::{gam, Action, ClientSecret, Timestamp};
///
/// let config = gam::Config::staging();
/// let mut source = Reissue::new(move || {
///     gam::client_credentials(&config, "partner-app", ClientSecret::new("s3cret"), "orders:read")
/// });
/// let now = Timestamp::from_unix_secs(1_000);
/// let Action::Send(request) = source.poll_token(now)? else { unreachable!() };
/// assert_eq!(request.as_http().uri().path(), "/oauth2/v3/token");
/// # Ok::<(), tokendance::Error>(())
/// ```
pub struct Reissue<F, Fl> {
    make: F,
    token: Option<TokenSet>,
    running: Option<Fl>,
    /// Renew this long before the token expires (at most half its life).
    pub renew_margin: Duration,
}

impl<F, Fl> Reissue<F, Fl>
where
    F: FnMut() -> Result<Fl, Error>,
    Fl: Flow<Output = TokenSet>,
{
    /// A source with no token yet, renewing 30 s before expiry.
    pub fn new(make: F) -> Self {
        Reissue {
            make,
            token: None,
            running: None,
            renew_margin: Duration::from_secs(30),
        }
    }

    /// A source that starts with `token` (restored from a store, say).
    pub fn with_token(make: F, token: TokenSet) -> Self {
        Reissue {
            token: Some(token),
            ..Self::new(make)
        }
    }

    /// The token held, fresh or not.
    pub fn token(&self) -> Option<&TokenSet> {
        self.token.as_ref()
    }

    /// Keeps a finished flow's token, or passes its next action on.
    fn settle(&mut self, step: Result<Action<TokenSet>, Error>) -> Result<Action<AccessToken>, Error> {
        match step.map(Action::done_or_pass) {
            Ok(Ok(token)) => {
                self.running = None;
                let access = token.access_token().clone();
                self.token = Some(token);
                Ok(Action::Done(access))
            }
            Ok(Err(next)) => Ok(next),
            Err(err) => {
                self.running = None;
                Err(err)
            }
        }
    }
}

impl<F, Fl> TokenSource for Reissue<F, Fl>
where
    F: FnMut() -> Result<Fl, Error>,
    Fl: Flow<Output = TokenSet>,
{
    fn poll_token(&mut self, now: Timestamp) -> Result<Action<AccessToken>, Error> {
        let due = self
            .token
            .as_ref()
            .is_none_or(|t| t.renew_at(self.renew_margin).is_some_and(|at| now >= at));
        if let (false, Some(token)) = (due, &self.token) {
            return Ok(Action::Done(token.access_token().clone()));
        }
        // A flow left half-way by an abandoned call is dropped: a new one starts.
        let mut flow = (self.make)()?;
        let step = flow.start(now);
        self.running = Some(flow);
        self.settle(step)
    }

    fn resume_token(&mut self, now: Timestamp, input: Input) -> Result<Action<AccessToken>, Error> {
        match self.running.as_mut() {
            Some(flow) => {
                let step = flow.resume(now, input);
                self.settle(step)
            }
            None => self.poll_token(now),
        }
    }

    fn token_rejected(&mut self, now: Timestamp, token: &AccessToken) {
        if let Some(held) = self.token.as_mut().filter(|held| held.access_token() == token) {
            held.expire_access(now);
        }
    }
}

impl<F, Fl> fmt::Debug for Reissue<F, Fl> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reissue")
            .field("token", &self.token)
            .field("renewing", &self.running.is_some())
            .field("renew_margin", &self.renew_margin)
            .finish()
    }
}

//! Where an [`Authorized`](super::Authorized) call gets its token.

use std::fmt;

use crate::call::Shareable;
use crate::error::{Error, UsageError};
use crate::flow::{Action, Flow, Input};
use crate::pacing::{within, Backoff, Pacing};
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
/// Implemented by the ITC [`PasswordSession`](crate::oauth2::PasswordSession), the SUZ
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

/// A step of a renewal flow, as a source gets it back.
pub(crate) type RenewalStep = Result<Action<TokenSet>, Error>;

/// A step of a source, as a call gets it back.
pub(crate) type TokenStep = Result<Action<AccessToken>, Error>;

/// A source behind a pointer is a source: a call can borrow one, or own a
/// boxed one of any type.
macro_rules! forward_token_source {
    ($($pointer:ty),*) => {$(
        impl<S: TokenSource + ?Sized> TokenSource for $pointer {
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
    )*};
}

forward_token_source!(&mut S, Box<S>);

/// A token obtained once, that nothing can renew (a MonPay token, a token
/// restored from a file). Once it has expired or been refused,
/// [`poll_token`](TokenSource::poll_token) returns
/// [`UsageError::TokenUnavailable`].
impl TokenSource for TokenSet {
    fn poll_token(&mut self, now: Timestamp) -> Result<Action<AccessToken>, Error> {
        match self.valid_access(now) {
            Some(token) => Ok(Action::Done(token.clone())),
            None => Err(Error::Usage(UsageError::TokenUnavailable)),
        }
    }

    fn resume_token(&mut self, now: Timestamp, _input: Input) -> Result<Action<AccessToken>, Error> {
        // A fixed token never asks for anything, so nothing can be answered.
        self.poll_token(now)
    }

    fn token_rejected(&mut self, _now: Timestamp, token: &AccessToken) {
        self.refuse_if_mine(token);
    }
}

/// A token that is renewed by running a token flow again: GAM's client
/// credentials, an Astana-plat login, a CRPT sign-in used by one caller.
///
/// `make` builds a new flow each time a token is needed (it owns or clones
/// the credentials). The token is reused until
/// [`renew_margin`](Pacing::renew_margin) before it expires (at most half
/// its life), or until the API refuses it. A failed flow backs off
/// ([`Pacing::reissue`]: 1 s doubling to 5 min, a server's `Retry-After`
/// within 10 min); while the token held is valid, the failure never reaches
/// the call, which gets that token; without one, the call gets the error,
/// and later calls `Wait` until the back-off ends.
///
/// One owner drives it through `&mut`: a flow its call left half-way is
/// dropped when it polls again. To share one between threads or tasks, put
/// it in a `Mutex` and give each call a [`SharedSource`](super::SharedSource):
/// then a flow one caller started is left to it (the others get the token
/// or `Wait`) until [`renewal_timeout`](Pacing::renewal_timeout).
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
    running: Option<Running<Fl>>,
    pacing: Pacing,
    backoff: Backoff,
    last_start: Option<Timestamp>,
    /// How many flows were started: names the one running, so that only
    /// the shared caller that started it answers it.
    runs: u64,
}

/// The token flow under way: which run it is and when it started.
struct Running<Fl> {
    flow: Fl,
    run: u64,
    since: Timestamp,
}

impl<F, Fl> Reissue<F, Fl>
where
    F: FnMut() -> Result<Fl, Error>,
    Fl: Flow<Output = TokenSet>,
{
    /// A source with no token yet, paced by [`Pacing::reissue`].
    pub fn new(make: F) -> Self {
        Reissue {
            make,
            token: None,
            running: None,
            pacing: Pacing::reissue(),
            backoff: Backoff::default(),
            last_start: None,
            runs: 0,
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

    crate::pacing::pacing_accessors!("How the source paces its flows.");

    /// Ends a back-off now (an operator pressed "retry now"): the next
    /// poll runs the flow again.
    pub fn retry_now(&mut self) {
        self.backoff.succeed();
    }

    /// The token held, if it is valid at `now`.
    fn valid(&self, now: Timestamp) -> Option<AccessToken> {
        self.token.as_ref()?.valid_access(now).cloned()
    }

    /// Keeps a finished flow's token, or passes its next action on; a
    /// failure backs off and, while the held token is valid, hands it out.
    fn renewal_step(&mut self, now: Timestamp, step: RenewalStep) -> TokenStep {
        match step.map(Action::done_or_pass) {
            Ok(Ok(token)) => {
                self.running = None;
                self.backoff.succeed();
                let access = token.access_token().clone();
                self.token = Some(token);
                Ok(Action::Done(access))
            }
            Ok(Err(next)) => Ok(next),
            Err(err) => {
                self.running = None;
                self.backoff.fail(now, &self.pacing, err.retry_after());
                match self.valid(now) {
                    Some(token) => Ok(Action::Done(token)),
                    None => Err(err),
                }
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
        // One caller owns this source: a flow left half-way by an abandoned
        // call is dropped, and a new one starts.
        self.running = None;
        self.poll_claim(now).0
    }

    fn resume_token(&mut self, now: Timestamp, input: Input) -> Result<Action<AccessToken>, Error> {
        match self.running.as_mut() {
            Some(running) => {
                let step = running.flow.resume(now, input);
                self.renewal_step(now, step)
            }
            None => self.poll_token(now),
        }
    }

    fn token_rejected(&mut self, _now: Timestamp, token: &AccessToken) {
        if let Some(held) = &mut self.token {
            held.refuse_if_mine(token);
        }
    }
}

/// Shared by many callers through a [`SharedSource`](super::SharedSource):
/// a flow one caller started is left to it until
/// [`renewal_timeout`](Pacing::renewal_timeout) (the others get the token
/// or `Wait`); then it counts as failed and another may start.
impl<F, Fl> Shareable for Reissue<F, Fl>
where
    F: FnMut() -> Result<Fl, Error>,
    Fl: Flow<Output = TokenSet>,
{
    fn poll_claim(&mut self, now: Timestamp) -> (TokenStep, Option<u64>) {
        let due = self
            .token
            .as_ref()
            .is_none_or(|t| t.renew_at(self.pacing.renew_margin).is_some_and(|at| now >= at));
        let valid = self.valid(now);
        let hold_or_wait = |until| match &valid {
            Some(token) => (Ok(Action::Done(token.clone())), None),
            None => (Ok(Action::Wait(until)), None),
        };
        if !due {
            return hold_or_wait(now);
        }
        // A clock stepped back: every instant kept happened "now" at the latest.
        self.last_start = self.last_start.map(|t| t.min(now));
        if let Some(running) = &mut self.running {
            running.since = running.since.min(now);
            if within(running.since, now, self.pacing.renewal_timeout) {
                return hold_or_wait(running.since.saturating_add(self.pacing.renewal_timeout));
            }
            // Its caller never came back: it counts as failed.
            self.running = None;
            self.backoff.fail(now, &self.pacing, None);
        }
        if let Some(until) = self.backoff.next_start(now, &self.pacing, self.last_start) {
            return hold_or_wait(until);
        }
        let mut flow = match (self.make)() {
            Ok(flow) => flow,
            Err(err) => return (Err(err), None),
        };
        let step = flow.start(now);
        self.runs = self.runs.wrapping_add(1);
        self.running = Some(Running {
            flow,
            run: self.runs,
            since: now,
        });
        self.last_start = Some(now);
        let step = self.renewal_step(now, step);
        (step, self.running.as_ref().map(|r| r.run))
    }

    fn resume_claim(&mut self, now: Timestamp, claim: u64, input: Input) -> (TokenStep, Option<u64>) {
        match self.running.as_mut() {
            Some(running) if running.run == claim => {
                let step = running.flow.resume(now, input);
                let step = self.renewal_step(now, step);
                (step, self.running.as_ref().map(|r| r.run))
            }
            // Not the flow running (it timed out, or another started since).
            _ => self.poll_claim(now),
        }
    }

    fn release(&mut self, claim: u64) {
        if let Some(running) = self.running.take_if(|r| r.run == claim) {
            self.backoff.fail(running.since, &self.pacing, None);
        }
    }
}

impl<F, Fl> fmt::Debug for Reissue<F, Fl> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reissue")
            .field("token", &self.token)
            .field("renewing", &self.running.is_some())
            .field("failures", &self.backoff.failures())
            .finish_non_exhaustive()
    }
}

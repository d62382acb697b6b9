//! [`KeeperSource`]: a [`TokenKeeper`] as the token source of API calls.

use std::fmt;

use crate::call::{Handle, RenewalStep, TokenSource, TokenStep};
use crate::error::{Error, UsageError};
use crate::flow::{Action, Flow, Input};
use crate::secret::AccessToken;
use crate::time::Timestamp;
use crate::token::TokenSet;

use super::{KeeperAction, RenewalTicket, TokenKeeper};

/// How a [`KeeperSource`] reaches its keeper: a [`Handle`] to a
/// [`TokenKeeper`], that is `&mut TokenKeeper` for one caller, or
/// `&Mutex<TokenKeeper>` / `Arc<Mutex<TokenKeeper>>` for many callers
/// sharing one connection's token. The lock is held only inside each step,
/// never while a request or a signature is out. Implemented for every such
/// handle; the name stays for the bounds that used it.
pub trait KeeperHandle: Handle<Target = TokenKeeper> {}

impl<H: Handle<Target = TokenKeeper>> KeeperHandle for H {}

/// A sign-in that says which `omsConnection` its token is for, so that a
/// [`KeeperSource`] can refuse to fill one connection's keeper with a token
/// of another. Implemented by the GIS MT, True API and MDLP sign-ins.
pub trait SignIn: Flow<Output = TokenSet> {
    /// The connection the token will be for; `None` for a token of GIS MT,
    /// True API or MDLP itself.
    fn oms_connection(&self) -> Option<&str>;
}

/// A [`TokenKeeper`] plus the sign-in that renews its token, as the
/// [`TokenSource`] of [`Authorized`](crate::call::Authorized) calls to SUZ
/// (`clientToken`) or MDLP (`Authorization: token`).
///
/// When the keeper hands this caller the renewal ticket, `sign_in` builds a
/// sign-in flow (GIS MT, True API or MDLP for the keeper's connection) whose
/// steps, the signature included, become the call's steps; its token or its
/// failure is reported to the keeper. Other callers meanwhile keep using the
/// still-valid token or wait.
///
/// * A sign-in for another connection than the keeper's (or for none) is
///   refused with [`UsageError::InvalidConfig`] before it sends anything.
/// * While the keeper holds a valid token, a failed sign-in never reaches
///   the call: it gets that token, and the keeper backs off.
/// * A source dropped in the middle of a sign-in (its call abandoned)
///   reports the renewal abandoned, so other callers need not wait for the
///   renewal timeout.
///
/// ```
/// use std::sync::Mutex;
/// use tokendance::call::{Authorized, Scheme};
/// use tokendance::crpt::{true_api, KeeperSource, TokenKeeper, TrueApiStand};
/// use tokendance::{Action, Flow, SignatureKind, Timestamp};
///
/// let keeper = Mutex::new(TokenKeeper::new("conn-1"));
/// let source = KeeperSource::new(&keeper, || true_api::sign_in(&TrueApiStand::Demo.endpoint(), Some("conn-1")));
/// let request = http::Request::get("https://suzgrid.crpt.ru:16443/api/v2/pharma/ping?omsId=oms-1")
///     .body(Vec::new()).unwrap();
/// let mut call = Authorized::new(source, request, Scheme::SuzClientToken)?;
/// // No token yet: the call's first step is the sign-in's challenge request.
/// let Action::Send(key) = call.start(Timestamp::from_unix_secs(1_000))? else { unreachable!() };
/// assert!(key.as_http().uri().path().ends_with("/auth/key"));
/// # Ok::<(), tokendance::Error>(())
/// ```
pub struct KeeperSource<K: KeeperHandle, F, Fl> {
    keeper: K,
    sign_in: F,
    renewal: Option<(RenewalTicket, Fl)>,
}

enum Decision {
    Use(AccessToken),
    Renew(RenewalTicket),
    Wait(Timestamp),
}

impl<K, F, Fl> KeeperSource<K, F, Fl>
where
    K: KeeperHandle,
    F: FnMut() -> Result<Fl, Error>,
    Fl: SignIn,
{
    /// A source over `keeper` that renews with the flows `sign_in` builds.
    pub fn new(keeper: K, sign_in: F) -> Self {
        KeeperSource {
            keeper,
            sign_in,
            renewal: None,
        }
    }

    /// Reports the renewal's outcome to the keeper and passes its next action on.
    fn renewal_step(&mut self, now: Timestamp, step: RenewalStep) -> TokenStep {
        match step.map(Action::done_or_pass) {
            Ok(Ok(token)) => {
                let access = token.access_token().clone();
                if let Some((ticket, _)) = self.renewal.take() {
                    self.keeper.with(|k| k.renewed(ticket, token))?;
                }
                Ok(Action::Done(access))
            }
            Ok(Err(next)) => Ok(next),
            Err(err) => {
                let retry_at = err.retry_after().map(|r| r.deadline(now));
                let renewal = self.renewal.take();
                // A stale ticket here means the keeper gave up on us; the error stands.
                let still_valid = self.keeper.with(|k| {
                    if let Some((ticket, _)) = renewal {
                        let _ = k.renewal_failed(ticket, now, retry_at);
                    }
                    k.usable_token(now).cloned()
                });
                match still_valid {
                    Some(token) => Ok(Action::Done(token)),
                    None => Err(err),
                }
            }
        }
    }
}

/// The refusal of a sign-in that would fill the keeper with a token of
/// another connection.
fn other_connection() -> Error {
    Error::Usage(UsageError::InvalidConfig {
        reason: "the sign-in is for another omsConnection than the keeper's",
    })
}

impl<K, F, Fl> TokenSource for KeeperSource<K, F, Fl>
where
    K: KeeperHandle,
    F: FnMut() -> Result<Fl, Error>,
    Fl: SignIn,
{
    fn poll_token(&mut self, now: Timestamp) -> Result<Action<AccessToken>, Error> {
        if let Some((ticket, _)) = self.renewal.take() {
            // A renewal left half-way by an abandoned call: free the ticket.
            let _ = self.keeper.with(|k| k.renewal_failed(ticket, now, None));
        }
        let decision = self.keeper.with(|k| match k.poll(now) {
            KeeperAction::UseToken(token) => Decision::Use(token.clone()),
            KeeperAction::Renew(ticket) => Decision::Renew(ticket),
            KeeperAction::Wait(until) => Decision::Wait(until),
        });
        match decision {
            Decision::Use(token) => Ok(Action::Done(token)),
            Decision::Wait(until) => Ok(Action::Wait(until)),
            Decision::Renew(ticket) => {
                let made = (self.sign_in)().and_then(|flow| {
                    let ours = self
                        .keeper
                        .with(|k| flow.oms_connection() == Some(k.oms_connection()));
                    if ours {
                        Ok(flow)
                    } else {
                        Err(other_connection())
                    }
                });
                let mut flow = match made {
                    Ok(flow) => flow,
                    Err(err) => {
                        let _ = self.keeper.with(|k| k.renewal_failed(ticket, now, None));
                        return Err(err);
                    }
                };
                let step = flow.start(now);
                self.renewal = Some((ticket, flow));
                self.renewal_step(now, step)
            }
        }
    }

    fn resume_token(&mut self, now: Timestamp, input: Input) -> Result<Action<AccessToken>, Error> {
        match (self.renewal.as_mut(), input) {
            (Some((_, flow)), input) => {
                let step = flow.resume(now, input);
                self.renewal_step(now, step)
            }
            // Waiting for another caller's renewal, and the wait failed.
            (None, Input::Failed) => Err(Error::Usage(UsageError::Aborted)),
            (None, _) => self.poll_token(now),
        }
    }

    fn token_rejected(&mut self, now: Timestamp, token: &AccessToken) {
        self.keeper.with(|k| k.token_rejected(now, token));
    }
}

/// A renewal left half-way (the call that drove it was dropped) is
/// reported, so the ticket does not stay out until the renewal timeout.
impl<K: KeeperHandle, F, Fl> Drop for KeeperSource<K, F, Fl> {
    fn drop(&mut self) {
        if let Some((ticket, _)) = self.renewal.take() {
            let _ = self.keeper.with(|k| k.renewal_abandoned(ticket));
        }
    }
}

impl<K: KeeperHandle, F, Fl> fmt::Debug for KeeperSource<K, F, Fl> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeeperSource")
            .field("renewing", &self.renewal.is_some())
            .finish_non_exhaustive()
    }
}

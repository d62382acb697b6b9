//! A [`FleetKeeper`] as a [`TokenSource`]: the store operations and the
//! renewal flow spoken as one flow's actions.

use std::fmt;

use super::keeper::{Fence, FleetAction, FleetKeeper, FleetTicket};
use super::store::StoreError;
use crate::call::{RenewalStep, TokenSource, TokenStep};
use crate::error::Error;
use crate::flow::{Action, Flow, Input, Outgoing};
use crate::secret::AccessToken;
use crate::time::Timestamp;
use crate::token::TokenSet;

/// A token shared by a fleet of processes, renewed by running a token flow
/// (a CRPT sign-in, a GAM client-credentials grant, any flow whose output
/// is a [`TokenSet`]; for ITC, [`PasswordSession::into_renewal`](crate::oauth2::PasswordSession::into_renewal),
/// which refreshes the shared refresh token) only in the process that
/// holds the fleet's lease.
///
/// As a [`TokenSource`], it plugs into [`Authorized`](crate::call::Authorized)
/// calls like the single-process sources. Its actions are the flow's
/// (`Send`, `Sign`, `Wait`) and the keeper's store operations
/// ([`Action::Store`]); drive it with
/// [`drive_with_store`](crate::drive::drive_with_store) or answer
/// `Store` with [`Input::Store`] yourself. Before every request that may
/// issue a token ([`Outgoing::issues_token`]) it confirms the lease in the
/// store (the fence); a lost lease drops the flow unsent.
///
/// While a valid token is held, failures (the flow's, the store's) never
/// reach the call: it gets that token and the keeper backs off. Without
/// one, the call gets the error: the flow's, or [`Error::Store`].
///
/// ```
/// use std::cell::RefCell;
/// use tokendance::call::{Authorized, Scheme};
/// use tokendance::fleet::{FleetKeeper, FleetSettings, FleetSource, MemoryStore};
/// use tokendance::{drive, gam, ClientSecret, Timestamp};
///
/// let config = gam::Config::staging();
/// let keeper = FleetKeeper::new("gam:partner-app", "worker-1", FleetSettings::default())?;
/// let mut source = FleetSource::new(keeper, move |_held| {
///     gam::client_credentials(&config, "partner-app", ClientSecret::new("s3cret"), "orders:read")
/// });
/// let store = RefCell::new(MemoryStore::default());
/// let send = |req: http::Request<Vec<u8>>| {
///     Ok::<_, std::io::Error>(if req.uri().path() == "/oauth2/v3/token" {
///         http::Response::new(br#"{"access_token":"eyJ.t","expires_in":3600}"#.to_vec())
///     } else {
///         assert_eq!(req.headers()["authorization"], "Bearer eyJ.t");
///         http::Response::new(b"{}".to_vec())
///     })
/// };
/// let request = http::Request::get("https://api-staging.gam.vn/oms/v1/orders").body(Vec::new()).unwrap();
/// let call = Authorized::new(&mut source, request, Scheme::Bearer)?;
/// let now = || Timestamp::from_unix_secs(1_000);
/// drive::drive_with_store(call, now, send, drive::no_signer, |op| Ok(store.borrow_mut().apply(op)), |_| {})
///     .unwrap();
/// // The token is in the store for every other process of the fleet.
/// assert!(store.borrow().get("gam:partner-app").and_then(|r| r.token).is_some());
/// # Ok::<(), tokendance::Error>(())
/// ```
pub struct FleetSource<F, Fl> {
    keeper: FleetKeeper,
    make: F,
    state: State<Fl>,
}

enum State<Fl> {
    /// Nothing out, or a wait handed out.
    Idle,
    /// A store operation of the keeper's is out; then poll again, or end
    /// with the renewal's error once its release is written.
    Store { id: u64, then: Option<Error> },
    /// This process holds the lease and runs the renewal flow; `fence` is
    /// the issuing request held back while the lease is confirmed.
    Renewing {
        ticket: FleetTicket,
        flow: Fl,
        fence: Option<(u64, Outgoing)>,
    },
}

impl<F, Fl> FleetSource<F, Fl>
where
    F: FnMut(Option<&TokenSet>) -> Result<Fl, Error>,
    Fl: Flow<Output = TokenSet>,
{
    /// A source around `keeper`, renewing with the flows `make` builds from
    /// the token held, if any (an ITC renewal refreshes its refresh token;
    /// other flows ignore it).
    pub fn new(keeper: FleetKeeper, make: F) -> Self {
        FleetSource {
            keeper,
            make,
            state: State::Idle,
        }
    }

    /// The keeper: its token, its record, its settings.
    pub fn keeper(&self) -> &FleetKeeper {
        &self.keeper
    }

    /// The keeper, to change (`token_rejected` from elsewhere, say).
    pub fn keeper_mut(&mut self) -> &mut FleetKeeper {
        &mut self.keeper
    }

    /// The keeper's next step, as the call's.
    fn next(&mut self, now: Timestamp) -> TokenStep {
        self.state = State::Idle;
        match self.keeper.poll(now) {
            FleetAction::UseToken(token) => Ok(Action::Done(token.clone())),
            FleetAction::Wait(until) => Ok(Action::Wait(until)),
            FleetAction::Store(op) => {
                self.state = State::Store {
                    id: op.id(),
                    then: None,
                };
                Ok(Action::Store(op))
            }
            FleetAction::Renew(ticket) => match (self.make)(self.keeper.token()) {
                Ok(mut flow) => {
                    let step = flow.start(now);
                    self.flow_step(now, ticket, flow, step)
                }
                Err(err) => {
                    self.keeper.renewal_abandoned(ticket)?;
                    Err(err)
                }
            },
        }
    }

    /// Passes the renewal flow's step on; a token request waits for the
    /// fence, a token is handed to the keeper, a failure releases the lease.
    fn flow_step(&mut self, now: Timestamp, ticket: FleetTicket, flow: Fl, step: RenewalStep) -> TokenStep {
        match step {
            Ok(Action::Send(request)) if request.issues_token() => self.fence(now, ticket, flow, request),
            Ok(action) => match action.done_or_pass() {
                Ok(token) => {
                    self.keeper.renewed(ticket, now, token)?;
                    self.next(now)
                }
                Err(next) => {
                    self.state = State::Renewing {
                        ticket,
                        flow,
                        fence: None,
                    };
                    Ok(next)
                }
            },
            Err(err) => {
                let retry_at = err.retry_after().map(|r| r.deadline(now));
                self.keeper.renewal_failed(ticket, now, retry_at)?;
                match self.keeper.poll(now) {
                    FleetAction::Store(release) => {
                        self.state = State::Store {
                            id: release.id(),
                            then: Some(err),
                        };
                        Ok(Action::Store(release))
                    }
                    _ => self.token_or(now, err),
                }
            }
        }
    }

    fn fence(&mut self, now: Timestamp, ticket: FleetTicket, flow: Fl, request: Outgoing) -> TokenStep {
        match self.keeper.fence(&ticket, now)? {
            Fence::Check(read) => {
                self.state = State::Renewing {
                    ticket,
                    flow,
                    fence: Some((read.id(), request)),
                };
                Ok(Action::Store(read))
            }
            Fence::Proceed => {
                self.state = State::Renewing {
                    ticket,
                    flow,
                    fence: None,
                };
                Ok(Action::Send(request))
            }
            // The lease is gone: the request is never sent.
            Fence::Lost => self.next(now),
        }
    }

    /// The valid token, if one is held; else `err`.
    fn token_or(&mut self, now: Timestamp, err: Error) -> TokenStep {
        self.state = State::Idle;
        match self.keeper.usable_token(now) {
            Some(token) => Ok(Action::Done(token.clone())),
            None => Err(err),
        }
    }
}

/// What a store answered, from the input that answers `Action::Store`.
fn stored(input: Input) -> Result<super::StoreAnswer, StoreError> {
    match input {
        Input::Store(result) => result,
        _ => Err(StoreError::Unavailable(
            "the store operation was not carried out".to_owned(),
        )),
    }
}

impl<F, Fl> TokenSource for FleetSource<F, Fl>
where
    F: FnMut(Option<&TokenSet>) -> Result<Fl, Error>,
    Fl: Flow<Output = TokenSet>,
{
    fn poll_token(&mut self, now: Timestamp) -> TokenStep {
        // A call dropped half-way left a renewal: give the lease back.
        if let State::Renewing { ticket, .. } = std::mem::replace(&mut self.state, State::Idle) {
            let _ = self.keeper.renewal_abandoned(ticket);
        }
        self.next(now)
    }

    fn resume_token(&mut self, now: Timestamp, input: Input) -> TokenStep {
        match std::mem::replace(&mut self.state, State::Idle) {
            State::Idle => self.next(now),
            State::Store { id, then } => {
                let result = stored(input);
                let failure = result.as_ref().err().cloned();
                // An answer after the keeper gave up on the operation is
                // refused and changes nothing: the keeper's next step is the same.
                let _ = self.keeper.store_answered(now, id, result);
                match (then, failure) {
                    (Some(err), _) => self.token_or(now, err),
                    (None, Some(failure)) => self.token_or(now, Error::Store(failure)),
                    (None, None) => self.next(now),
                }
            }
            State::Renewing {
                ticket,
                flow,
                fence: Some((id, request)),
            } => {
                let _ = self.keeper.store_answered(now, id, stored(input));
                self.fence(now, ticket, flow, request)
            }
            State::Renewing {
                ticket,
                mut flow,
                fence: None,
            } => {
                let step = flow.resume(now, input);
                self.flow_step(now, ticket, flow, step)
            }
        }
    }

    fn token_rejected(&mut self, now: Timestamp, token: &AccessToken) {
        self.keeper.token_rejected(now, token);
    }
}

impl<F, Fl> fmt::Debug for FleetSource<F, Fl> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            State::Idle => "Idle",
            State::Store { .. } => "Store",
            State::Renewing { fence: Some(_), .. } => "Fencing",
            State::Renewing { .. } => "Renewing",
        };
        f.debug_struct("FleetSource")
            .field("keeper", &self.keeper)
            .field("state", &state)
            .finish_non_exhaustive()
    }
}

//! [`TokenRequest`]: the one-request flow shared by every provider whose
//! token comes back from a single call (GAM, MonPay, Astana-plat).

use std::fmt;

use crate::error::{Error, Expect, ServerError, UsageError};
use crate::flow::{unexpected, Action, Flow, Input, Outgoing};
use crate::response::{classify, Reply};
use crate::time::Timestamp;
use crate::token::TokenSet;

/// Reads the token out of a classified reply, for a request sent at `sent_at`.
pub(crate) type ParseToken = fn(&Reply<'_>, Timestamp) -> Result<TokenSet, Error>;

/// Gives a provider's refusals their documented kinds (status tables, messages).
pub(crate) type RefineRefusal = fn(&mut ServerError);

/// The most secrets one request carries (client secret, code, password, ...).
const MAX_SECRETS: usize = 3;

/// A flow of exactly one request that yields a [`TokenSet`].
///
/// Transcript: `start` → `Send(request)`; `resume(Response)` → `Done(token)`
/// or an error. Either way the flow is then finished: every later call
/// returns [`UsageError::Finished`], so it can never send a second request.
/// Built by the provider modules ([`gam`](crate::gam),
/// [`monpay`](crate::monpay), [`astana_plat`](crate::astana_plat)).
pub struct TokenRequest {
    state: State,
    /// Secrets the request carries, scrubbed from any server message.
    secrets: Vec<String>,
    parse: ParseToken,
    refine: RefineRefusal,
}

// The request is moved out once per exchange; boxing it would cost an
// allocation per round trip for no gain.
#[allow(clippy::large_enum_variant)]
enum State {
    Ready(Outgoing),
    Awaiting { sent_at: Timestamp },
    Finished,
}

impl TokenRequest {
    pub(crate) fn new(
        request: Outgoing,
        secrets: Vec<String>,
        parse: ParseToken,
        refine: RefineRefusal,
    ) -> Self {
        debug_assert!(secrets.len() <= MAX_SECRETS);
        TokenRequest {
            state: State::Ready(request),
            secrets,
            parse,
            refine,
        }
    }

    fn finish(&self, response: &http::Response<Vec<u8>>, sent_at: Timestamp) -> Result<TokenSet, Error> {
        let mut scrub = [""; MAX_SECRETS];
        for (slot, secret) in scrub.iter_mut().zip(&self.secrets) {
            *slot = secret;
        }
        let reply = classify(response, &scrub[..self.secrets.len().min(MAX_SECRETS)])?;
        (self.parse)(&reply, sent_at).map_err(|e| match e {
            Error::Server(mut refusal) => {
                (self.refine)(&mut refusal);
                Error::Server(refusal)
            }
            other => other,
        })
    }
}

impl Flow for TokenRequest {
    type Output = TokenSet;

    fn start(&mut self, now: Timestamp) -> Result<Action<TokenSet>, Error> {
        match std::mem::replace(&mut self.state, State::Awaiting { sent_at: now }) {
            State::Ready(request) => Ok(Action::Send(request)),
            other => {
                let err = match other {
                    State::Finished => UsageError::Finished,
                    _ => UsageError::AlreadyStarted,
                };
                self.state = other;
                Err(Error::Usage(err))
            }
        }
    }

    fn resume(&mut self, _now: Timestamp, input: Input) -> Result<Action<TokenSet>, Error> {
        let sent_at = match self.state {
            State::Ready(_) => return Err(Error::Usage(UsageError::NotStarted)),
            State::Finished => return Err(Error::Usage(UsageError::Finished)),
            State::Awaiting { sent_at } => sent_at,
        };
        match input {
            Input::Response(response) => {
                self.state = State::Finished;
                self.finish(&response, sent_at).map(Action::Done)
            }
            Input::Failed => {
                self.state = State::Finished;
                Err(Error::Usage(UsageError::Aborted))
            }
            other => Err(unexpected(Expect::Response, &other)),
        }
    }
}

impl fmt::Debug for TokenRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            State::Ready(req) => format!("Ready({req:?})"),
            State::Awaiting { sent_at } => format!("Awaiting {{ sent_at: {} }}", sent_at.as_unix_millis()),
            State::Finished => "Finished".to_owned(),
        };
        write!(f, "TokenRequest {{ state: {state}, secrets: <redacted> }}")
    }
}

/// Leaves a refusal's kind as the classifier found it.
pub(crate) fn keep_refusal(_: &mut ServerError) {}

//! Keeping one SUZ token per `omsConnection`: reuse it, renew it once.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, RetryAfter, UsageError};
use crate::pacing::{within, Backoff, Pacing};
use crate::secret::AccessToken;
use crate::time::Timestamp;
use crate::token::TokenSet;
use crate::trace::{self, Holder, Name, Run};

/// Keeps the token of one `omsConnection`, sans-IO, as
/// [`PasswordSession`](crate::oauth2::PasswordSession) keeps an ITC token.
///
/// CRPT issues one live token per connection and **revokes** the previous
/// one when asked again, so the keeper makes sure only one renewal is ever
/// out: however many callers [`poll`](Self::poll) at once, exactly one gets
/// [`KeeperAction::Renew`] with a [`RenewalTicket`]; the others keep using the
/// still-valid token or are told to wait. The ticket holder runs a sign-in
/// (GIS MT, True API or MDLP, with its signer) and reports back with
/// [`renewed`](Self::renewed) or [`renewal_failed`](Self::renewal_failed).
///
/// **Which token is live** is decided by a version, never by comparing
/// clocks: every token the keeper installs gets the next version above
/// every version it has seen, and [`snapshot`](Self::snapshot) carries it.
/// A renewal's token always replaces the token held; a token the API
/// refused ([`token_rejected`](Self::token_rejected)) is never handed out
/// again, nor adopted again from a snapshot. To share one token between
/// processes, store the snapshot where they all can read it and
/// [`restore`](Self::restore) it in each: a higher version wins, or an equal
/// one with another token when the held one was refused. This keeper makes
/// renewal exclusive inside one process; two processes can still both
/// renew, each revoking the other's token, until one of them adopts the
/// other's snapshot.
///
/// Time is the caller's and may jump: waits are measured from instants
/// already seen, so neither a clock stepped back nor `Timestamp::MAX` ever
/// hands out a second ticket while one is out within
/// [`renewal_timeout`](Pacing::renewal_timeout), and every `Wait` is at most
/// that long (or the back-off's bound) from the `now` it answers.
///
/// ```
/// use tokendance::crpt::{KeeperAction, TokenKeeper};
/// use tokendance::{AccessToken, Timestamp, TokenSet};
/// use std::time::Duration;
///
/// let mut keeper = TokenKeeper::new("conn-1");
/// let t0 = Timestamp::from_unix_secs(1_000);
/// let KeeperAction::Renew(ticket) = keeper.poll(t0) else { unreachable!() };
/// // A second caller, while the renewal is out, is told to wait:
/// assert!(matches!(keeper.poll(t0), KeeperAction::Wait(_)));
/// // ... run a sign-in for conn-1 with the ticket holder's signer, then:
/// let token = TokenSet::new(AccessToken::new("58f908f1"), t0, Some(t0.saturating_add(Duration::from_secs(36_000))));
/// keeper.renewed(ticket, token)?;
/// assert!(matches!(keeper.poll(t0), KeeperAction::UseToken(_)));
/// # Ok::<(), tokendance::Error>(())
/// ```
pub struct TokenKeeper {
    oms_connection: String,
    pacing: Pacing,
    /// Names this keeper in its tickets: unique in the process, so a ticket
    /// of one keeper is refused by another of the same connection.
    id: u64,
    held: Option<Held>,
    /// The highest version installed or restored so far: the next renewal
    /// gets the one above it.
    version: u64,
    /// The last tokens the API refused (at most [`REMEMBERED_REFUSALS`]):
    /// never adopted again.
    refused: Vec<AccessToken>,
    renewal: Renewal,
    backoff: Backoff,
    last_start: Option<Timestamp>,
    last_ticket: u64,
    /// The keeper's span (nothing without the `tracing` feature).
    run: Run,
}

/// What CRPT keepers are traced as.
const NAME: Name = Name::new("crpt", "token_keeper");

/// The token held and its version.
#[derive(Clone, PartialEq, Eq)]
struct Held {
    token: TokenSet,
    version: u64,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Renewal {
    Idle,
    Out { ticket: u64, since: Timestamp },
}

/// How many refused tokens a keeper remembers, to refuse them again if a
/// stale store offers them.
const REMEMBERED_REFUSALS: usize = 8;

/// Keeper identities: a counter, not a clock or randomness.
static NEXT_KEEPER: AtomicU64 = AtomicU64::new(1);

/// What a caller of [`TokenKeeper::poll`] should do.
#[must_use = "a KeeperAction says whether to use the token, renew it or wait"]
#[derive(Debug)]
pub enum KeeperAction<'a> {
    /// The token is good: use it (no request, no allocation).
    UseToken(&'a AccessToken),
    /// You are the one caller to renew: run a sign-in for this connection and
    /// hand the result to [`TokenKeeper::renewed`] or [`TokenKeeper::renewal_failed`].
    Renew(RenewalTicket),
    /// No usable token and someone else is renewing (or the keeper is backing
    /// off after a failure): poll again at this instant, or once told the
    /// renewal ended.
    Wait(Timestamp),
}

/// The right to run the one renewal of a connection. Not `Clone`: whoever
/// holds it reports back, once.
#[must_use = "report the renewal with `renewed` or `renewal_failed`"]
#[derive(Debug, PartialEq, Eq)]
pub struct RenewalTicket {
    id: u64,
    /// Which keeper issued it.
    keeper: u64,
}

/// A token, its expiry and its version, to share through a store of your
/// choice (write every field; rebuild it with [`Snapshot::new`]).
///
/// `Debug` redacts the token; read it with `token().expose_secret()` to
/// write it out.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Snapshot {
    oms_connection: String,
    version: u64,
    token: AccessToken,
    obtained_at: Timestamp,
    expires_at: Option<Timestamp>,
}

impl Snapshot {
    /// A snapshot read back from a store.
    pub fn new(
        oms_connection: impl Into<String>,
        version: u64,
        token: AccessToken,
        obtained_at: Timestamp,
        expires_at: Option<Timestamp>,
    ) -> Self {
        Snapshot {
            oms_connection: oms_connection.into(),
            version,
            token,
            obtained_at,
            expires_at,
        }
    }

    /// The connection the token belongs to.
    pub fn oms_connection(&self) -> &str {
        &self.oms_connection
    }

    /// Which token this is: higher is newer, whatever the clocks said.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The token.
    pub fn token(&self) -> &AccessToken {
        &self.token
    }

    /// When the request that obtained it was sent (on the clock of the
    /// process that sent it).
    pub fn obtained_at(&self) -> Timestamp {
        self.obtained_at
    }

    /// When it expires, if known.
    pub fn expires_at(&self) -> Option<Timestamp> {
        self.expires_at
    }
}

impl TokenKeeper {
    /// A keeper for `oms_connection` with no token yet, paced by
    /// [`Pacing::keeper`] (renew 5 minutes before expiry, a sign-in lost
    /// after 5 minutes, back off 1 s → 5 min).
    pub fn new(oms_connection: impl Into<String>) -> Self {
        TokenKeeper {
            oms_connection: oms_connection.into(),
            pacing: Pacing::keeper(),
            id: NEXT_KEEPER.fetch_add(1, Ordering::Relaxed),
            held: None,
            version: 0,
            refused: Vec::new(),
            renewal: Renewal::Idle,
            backoff: Backoff::default(),
            last_start: None,
            last_ticket: 0,
            run: Run::holder(Holder::Keeper, NAME),
        }
    }

    /// A keeper paced by `pacing`, if it [validates](Pacing::validate).
    pub fn with_pacing(oms_connection: impl Into<String>, pacing: Pacing) -> Result<Self, Error> {
        let mut keeper = Self::new(oms_connection);
        keeper.set_pacing(pacing)?;
        Ok(keeper)
    }

    crate::pacing::pacing_accessors!("How the keeper paces renewals.");

    /// The connection this keeper is for.
    pub fn oms_connection(&self) -> &str {
        &self.oms_connection
    }

    /// The token held, fresh or not (refused ones too).
    pub fn token(&self) -> Option<&TokenSet> {
        self.held.as_ref().map(|h| &h.token)
    }

    /// The token to hand out at `now`: held, not refused, not expired.
    pub fn usable_token(&self, now: Timestamp) -> Option<&AccessToken> {
        self.held.as_ref()?.token.valid_access(now)
    }

    /// Whether a renewal ticket is out.
    pub fn renewing(&self) -> bool {
        matches!(self.renewal, Renewal::Out { .. })
    }

    /// Ends a back-off now (an operator pressed "retry now"): the next poll
    /// issues a ticket, once [`min_interval`](Pacing::min_interval) has
    /// passed since the last one. A renewal that is out stays out.
    pub fn retry_now(&mut self) {
        self.backoff.succeed();
    }

    /// What to do at `now`: use the token, renew it (exactly one caller), or wait.
    pub fn poll(&mut self, now: Timestamp) -> KeeperAction<'_> {
        let _entered = self.run.enter();
        self.reanchor(now);
        let due = self.held.as_ref().is_none_or(|h| {
            h.token.is_refused()
                || h.token
                    .renew_at(self.pacing.renew_margin)
                    .is_some_and(|at| now >= at)
        });
        if !due {
            return self.use_or_wait(now, now);
        }
        if let Renewal::Out { since, .. } = self.renewal {
            if within(since, now, self.pacing.renewal_timeout) {
                return self.use_or_wait(now, since.saturating_add(self.pacing.renewal_timeout));
            }
            // Never reported back: it counts as failed; its ticket is void.
            self.renewal = Renewal::Idle;
            self.backoff.fail(now, &self.pacing, None);
        }
        if let Some(until) = self.backoff.next_start(now, &self.pacing, self.last_start) {
            return self.use_or_wait(now, until);
        }
        self.last_ticket += 1;
        trace::outcome("poll", "renewal_ticket", None, now);
        self.last_start = Some(now);
        self.renewal = Renewal::Out {
            ticket: self.last_ticket,
            since: now,
        };
        KeeperAction::Renew(RenewalTicket {
            id: self.last_ticket,
            keeper: self.id,
        })
    }

    /// A clock stepped back: every instant kept happened "now" at the
    /// latest, so no wait computed from them outlasts its bound.
    fn reanchor(&mut self, now: Timestamp) {
        if let Renewal::Out { ticket, since } = self.renewal {
            self.renewal = Renewal::Out {
                ticket,
                since: since.min(now),
            };
        }
        self.last_start = self.last_start.map(|t| t.min(now));
        self.backoff.reanchor(now);
    }

    fn use_or_wait(&self, now: Timestamp, until: Timestamp) -> KeeperAction<'_> {
        match self.usable_token(now) {
            Some(token) => KeeperAction::UseToken(token),
            None => {
                trace::wait("poll", until.max(now), now);
                KeeperAction::Wait(until.max(now))
            }
        }
    }

    /// The renewal of `ticket` obtained `token`, which becomes the live
    /// token with the next version. A ticket that is no longer current (its
    /// renewal timed out and another was issued), or another keeper's, is
    /// refused, and its token, which the newer renewal revokes, is not kept.
    pub fn renewed(&mut self, ticket: RenewalTicket, token: TokenSet) -> Result<(), Error> {
        self.check(&ticket)?;
        let _entered = self.run.enter();
        // The keeper is given no `now` here: the instant is the sign-in's sending.
        trace::outcome("renewed", "token", token.expires_at(), token.obtained_at());
        self.version = self.version.saturating_add(1);
        self.held = Some(Held {
            token,
            version: self.version,
        });
        self.renewal = Renewal::Idle;
        self.backoff.succeed();
        Ok(())
    }

    /// The renewal of `ticket` failed at `now` (transport, signer or server).
    /// The keeper backs off, at least until `retry_at` when the server said,
    /// within [`max_server_wait`](Pacing::max_server_wait).
    pub fn renewal_failed(
        &mut self,
        ticket: RenewalTicket,
        now: Timestamp,
        retry_at: Option<Timestamp>,
    ) -> Result<(), Error> {
        self.check(&ticket)?;
        let _entered = self.run.enter();
        self.reanchor(now);
        trace::outcome("renewal_failed", "renewal_failed", None, now);
        self.backoff.fail(now, &self.pacing, retry_at.map(RetryAfter::At));
        self.renewal = Renewal::Idle;
        Ok(())
    }

    /// The holder of `ticket` gave up without a result (its call was
    /// dropped): reported as failed when the renewal started, so others
    /// need not wait for [`renewal_timeout`](Pacing::renewal_timeout).
    pub fn renewal_abandoned(&mut self, ticket: RenewalTicket) -> Result<(), Error> {
        self.check(&ticket)?;
        let _entered = self.run.enter();
        if let Renewal::Out { since, .. } = self.renewal {
            trace::outcome("renewal_abandoned", "renewal_abandoned", None, since);
            self.backoff.fail(since, &self.pacing, None);
        }
        self.renewal = Renewal::Idle;
        Ok(())
    }

    fn check(&self, ticket: &RenewalTicket) -> Result<(), Error> {
        match self.renewal {
            Renewal::Out { ticket: current, .. } if current == ticket.id && ticket.keeper == self.id => {
                Ok(())
            }
            _ => Err(Error::Usage(UsageError::StaleTicket)),
        }
    }

    /// SUZ answered 401 to `token`: it was revoked (another process asked
    /// for a new one) or expired early. If it is the token held, it is never
    /// handed out again and the next poll renews; a late 401 for a token
    /// already replaced changes nothing.
    pub fn token_rejected(&mut self, now: Timestamp, token: &AccessToken) {
        if self.held.as_mut().is_some_and(|h| h.token.refuse_if_mine(token)) {
            let _entered = self.run.enter();
            trace::outcome("token_rejected", "token_rejected", None, now);
            if self.refused.len() == REMEMBERED_REFUSALS {
                self.refused.remove(0);
            }
            self.refused.push(token.clone());
        }
    }

    /// When the keeper next needs a poll: the renewal time of the token, the
    /// end of a back-off, or the timeout of the renewal that is out.
    pub fn next_deadline(&self) -> Timestamp {
        match self.renewal {
            Renewal::Out { since, .. } => since.saturating_add(self.pacing.renewal_timeout),
            Renewal::Idle => {
                let renew = match &self.held {
                    Some(h) if !h.token.is_refused() => h
                        .token
                        .renew_at(self.pacing.renew_margin)
                        .unwrap_or(Timestamp::MAX),
                    _ => Timestamp::EPOCH,
                };
                let paused = self.backoff.pending(&self.pacing).unwrap_or(Timestamp::EPOCH);
                let spaced = self
                    .last_start
                    .map_or(Timestamp::EPOCH, |t| t.saturating_add(self.pacing.min_interval));
                renew.max(paused).max(spaced)
            }
        }
    }

    /// The token to share with other processes, if one is held that the
    /// API has not refused.
    pub fn snapshot(&self) -> Option<Snapshot> {
        self.held
            .as_ref()
            .filter(|h| !h.token.is_refused())
            .map(|h| Snapshot {
                oms_connection: self.oms_connection.clone(),
                version: h.version,
                token: h.token.access_token().clone(),
                obtained_at: h.token.obtained_at(),
                expires_at: h.token.expires_at(),
            })
    }

    /// Adopts a token another process obtained if it is newer by version
    /// (or as new, with another token, when the held one was refused), and
    /// never a token the API refused. Returns whether it was adopted. A
    /// snapshot of another connection is a usage error.
    pub fn restore(&mut self, snapshot: Snapshot) -> Result<bool, Error> {
        if snapshot.oms_connection != self.oms_connection {
            return Err(Error::Usage(UsageError::InvalidConfig {
                reason: "the snapshot belongs to another omsConnection",
            }));
        }
        if self.refused.contains(&snapshot.token) {
            return Ok(false);
        }
        let newer = match &self.held {
            None => true,
            Some(held) => {
                snapshot.version > held.version
                    || (snapshot.version == held.version
                        && held.token.is_refused()
                        && *held.token.access_token() != snapshot.token)
            }
        };
        if newer {
            self.version = self.version.max(snapshot.version);
            self.held = Some(Held {
                token: TokenSet::new(snapshot.token, snapshot.obtained_at, snapshot.expires_at),
                version: snapshot.version,
            });
        }
        Ok(newer)
    }
}

impl fmt::Debug for TokenKeeper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenKeeper")
            .field("oms_connection", &self.oms_connection)
            .field("token", &self.held.as_ref().map(|h| &h.token))
            .field("version", &self.held.as_ref().map(|h| h.version))
            .field(
                "refused",
                &self.held.as_ref().is_some_and(|h| h.token.is_refused()),
            )
            .field("renewal", &self.renewal)
            .field("failures", &self.backoff.failures())
            .finish_non_exhaustive()
    }
}

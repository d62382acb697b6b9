//! Keeping one SUZ token per `omsConnection`: reuse it, renew it once.

use std::fmt;
use std::time::Duration;

use crate::error::{Error, UsageError};
use crate::secret::AccessToken;
use crate::time::Timestamp;
use crate::token::TokenSet;

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
/// To share one token between processes, store [`snapshot`](Self::snapshot)
/// wherever they all can read it (a file, Redis, a database row) and
/// [`restore`](Self::restore) it in each; the newest token wins. Making the
/// renewal itself exclusive across processes is the store's job (a lock or a
/// compare-and-set lease).
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
    /// Renew this long before the token expires (at most half its life).
    pub renew_margin: Duration,
    /// A renewal not reported back within this long is taken as lost and a
    /// new ticket may be issued. Keep your transport and signer timeouts
    /// shorter, or two sign-ins could overlap.
    pub renewal_timeout: Duration,
    /// The first pause after a failed renewal; it doubles with each failure in a row.
    pub initial_backoff: Duration,
    /// The longest pause after failures.
    pub max_backoff: Duration,
    token: Option<TokenSet>,
    renewal: Renewal,
    last_ticket: u64,
    failures: u32,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Renewal {
    Idle,
    Out { ticket: u64, since: Timestamp },
    Backoff { until: Timestamp },
}

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
    /// Which keeper issued it (a digest of its connection), so a ticket of
    /// one connection's keeper is refused by another's.
    keeper: u64,
}

/// A token and its expiry, to share through a store of your choice.
///
/// `Debug` redacts the token; read it with `token().expose_secret()` to
/// write it out, and rebuild it with [`Snapshot::new`].
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Snapshot {
    oms_connection: String,
    token: AccessToken,
    obtained_at: Timestamp,
    expires_at: Option<Timestamp>,
}

impl Snapshot {
    /// A snapshot read back from a store.
    pub fn new(
        oms_connection: impl Into<String>,
        token: AccessToken,
        obtained_at: Timestamp,
        expires_at: Option<Timestamp>,
    ) -> Self {
        Snapshot {
            oms_connection: oms_connection.into(),
            token,
            obtained_at,
            expires_at,
        }
    }

    /// The connection the token belongs to.
    pub fn oms_connection(&self) -> &str {
        &self.oms_connection
    }

    /// The token.
    pub fn token(&self) -> &AccessToken {
        &self.token
    }

    /// When the request that obtained it was sent.
    pub fn obtained_at(&self) -> Timestamp {
        self.obtained_at
    }

    /// When it expires, if known.
    pub fn expires_at(&self) -> Option<Timestamp> {
        self.expires_at
    }
}

impl TokenKeeper {
    /// A keeper for `oms_connection` with no token yet: renew 5 minutes before
    /// expiry, take a renewal as lost after 5 minutes, back off 1 s → 5 min.
    pub fn new(oms_connection: impl Into<String>) -> Self {
        TokenKeeper {
            oms_connection: oms_connection.into(),
            renew_margin: Duration::from_secs(300),
            renewal_timeout: Duration::from_secs(300),
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(300),
            token: None,
            renewal: Renewal::Idle,
            last_ticket: 0,
            failures: 0,
        }
    }

    /// The connection this keeper is for.
    pub fn oms_connection(&self) -> &str {
        &self.oms_connection
    }

    /// The token held, fresh or not.
    pub fn token(&self) -> Option<&TokenSet> {
        self.token.as_ref()
    }

    /// Whether a renewal ticket is out.
    pub fn renewing(&self) -> bool {
        matches!(self.renewal, Renewal::Out { .. })
    }

    /// What to do at `now`: use the token, renew it (exactly one caller), or wait.
    pub fn poll(&mut self, now: Timestamp) -> KeeperAction<'_> {
        let valid = self.token.as_ref().is_some_and(|t| t.is_valid(now));
        let due = self
            .token
            .as_ref()
            .is_none_or(|t| t.renew_at(self.renew_margin).is_some_and(|at| now >= at));
        let wait_until = match self.renewal {
            Renewal::Out { since, .. } => {
                let lost_at = since.saturating_add(self.renewal_timeout);
                (now < lost_at).then_some(lost_at)
            }
            Renewal::Backoff { until } => (now < until).then_some(until),
            Renewal::Idle => None,
        };
        match (due, wait_until) {
            (false, _) => self.use_token(now),
            (true, Some(_)) if valid => self.use_token(now),
            (true, Some(until)) => KeeperAction::Wait(until),
            (true, None) => {
                // A renewal past its timeout counts as failed; its ticket is void.
                self.last_ticket += 1;
                self.renewal = Renewal::Out {
                    ticket: self.last_ticket,
                    since: now,
                };
                KeeperAction::Renew(RenewalTicket {
                    id: self.last_ticket,
                    keeper: self.identity(),
                })
            }
        }
    }

    fn use_token(&self, now: Timestamp) -> KeeperAction<'_> {
        match &self.token {
            Some(token) => KeeperAction::UseToken(token.access_token()),
            // `due` is true without a token, so this is not reached.
            None => KeeperAction::Wait(now),
        }
    }

    /// The renewal of `ticket` obtained `token`. A ticket that is no longer
    /// current (its renewal timed out and another was issued), or another
    /// keeper's, is refused, and its token, which the newer renewal revokes,
    /// is not kept. If a newer token was [restored](Self::restore) meanwhile,
    /// the newer one stays: the newest token is the live one.
    pub fn renewed(&mut self, ticket: RenewalTicket, token: TokenSet) -> Result<(), Error> {
        self.check(&ticket)?;
        let held_is_newer = self
            .token
            .as_ref()
            .is_some_and(|held| held.obtained_at() > token.obtained_at());
        if !held_is_newer {
            self.token = Some(token);
        }
        self.renewal = Renewal::Idle;
        self.failures = 0;
        Ok(())
    }

    /// The renewal of `ticket` failed at `now` (transport, signer or server).
    /// The keeper backs off, at least until `retry_at` when the server said
    /// (see [`Error::retry_after`](crate::Error::retry_after)).
    pub fn renewal_failed(
        &mut self,
        ticket: RenewalTicket,
        now: Timestamp,
        retry_at: Option<Timestamp>,
    ) -> Result<(), Error> {
        self.check(&ticket)?;
        let factor = 1u32.checked_shl(self.failures.min(20)).unwrap_or(u32::MAX);
        let pause = self.initial_backoff.saturating_mul(factor).min(self.max_backoff);
        let until = now
            .saturating_add(pause)
            .max(retry_at.unwrap_or(Timestamp::EPOCH));
        self.failures = self.failures.saturating_add(1);
        self.renewal = Renewal::Backoff { until };
        Ok(())
    }

    fn check(&self, ticket: &RenewalTicket) -> Result<(), Error> {
        match self.renewal {
            Renewal::Out { ticket: current, .. }
                if current == ticket.id && ticket.keeper == self.identity() =>
            {
                Ok(())
            }
            _ => Err(Error::Usage(UsageError::StaleTicket)),
        }
    }

    /// A digest of the connection, naming this keeper in its tickets.
    fn identity(&self) -> u64 {
        self.oms_connection.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        })
    }

    /// SUZ answered 401 to `token`: it was revoked (another process asked
    /// for a new one) or expired early. If it is the token held, the next
    /// poll renews it; a late 401 for a token already replaced changes nothing.
    pub fn token_rejected(&mut self, now: Timestamp, token: &AccessToken) {
        if let Some(held) = self.token.as_mut().filter(|held| held.access_token() == token) {
            held.expire_access(now);
        }
    }

    /// When the keeper next needs a poll: the renewal time of the token, the
    /// end of a back-off, or the timeout of the renewal that is out.
    pub fn next_deadline(&self) -> Timestamp {
        match self.renewal {
            Renewal::Out { since, .. } => since.saturating_add(self.renewal_timeout),
            Renewal::Backoff { until } => until,
            Renewal::Idle => self.token.as_ref().map_or(Timestamp::EPOCH, |t| {
                t.renew_at(self.renew_margin).unwrap_or(Timestamp::MAX)
            }),
        }
    }

    /// The token to share with other processes, if one is held.
    pub fn snapshot(&self) -> Option<Snapshot> {
        self.token.as_ref().map(|t| Snapshot {
            oms_connection: self.oms_connection.clone(),
            token: t.access_token().clone(),
            obtained_at: t.obtained_at(),
            expires_at: t.expires_at(),
        })
    }

    /// Adopts a token another process obtained, if it is newer than the one
    /// held (a newer token revoked the older one). Returns whether it was
    /// adopted. A snapshot of another connection is a usage error.
    pub fn restore(&mut self, snapshot: Snapshot) -> Result<bool, Error> {
        if snapshot.oms_connection != self.oms_connection {
            return Err(Error::Usage(UsageError::InvalidConfig {
                reason: "the snapshot belongs to another omsConnection",
            }));
        }
        if self
            .token
            .as_ref()
            .is_some_and(|held| held.obtained_at() >= snapshot.obtained_at)
        {
            return Ok(false);
        }
        self.token = Some(TokenSet::new(
            snapshot.token,
            snapshot.obtained_at,
            snapshot.expires_at,
        ));
        Ok(true)
    }
}

impl fmt::Debug for TokenKeeper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenKeeper")
            .field("oms_connection", &self.oms_connection)
            .field("token", &self.token)
            .field("renewal", &self.renewal)
            .finish_non_exhaustive()
    }
}

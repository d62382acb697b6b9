//! One process's side of the fleet protocol.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::record::{check_name, Lease, Record, SharedToken};
use super::store::{StoreAnswer, StoreError, StoreOp, StoreOpKind};
use crate::error::{Error, RetryAfter, UsageError};
use crate::pacing::{within, Backoff, Pacing};
use crate::secret::AccessToken;
use crate::time::Timestamp;
use crate::token::TokenSet;
use crate::trace::{self, Holder, Name, Run};

/// What fleet keepers are traced as.
const NAME: Name = Name::new("fleet", "fleet_keeper");

/// How a [`FleetKeeper`] paces renewals and judges other processes' leases.
///
/// ```
/// use std::time::Duration;
/// use tokendance::fleet::FleetSettings;
/// let settings = FleetSettings { skew: Duration::from_secs(600), ..FleetSettings::default() };
/// assert!(settings.validate().is_ok());
/// let no_room = FleetSettings { fence_margin: Duration::from_secs(600), ..FleetSettings::default() };
/// assert!(no_room.validate().is_err());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct FleetSettings {
    /// Renewal margin, back-off and spacing, as for a single process.
    /// [`renewal_timeout`](Pacing::renewal_timeout) is the length of a
    /// lease: a holder that neither publishes nor releases within it is
    /// replaced.
    pub pacing: Pacing,
    /// The largest difference between two processes' clocks this keeper
    /// tolerates: another's lease counts as live until its end plus this.
    /// Leases never overlap while every two clocks differ by at most this.
    pub skew: Duration,
    /// The holder sends the request that issues (and so revokes) a token
    /// only with at least this much of its lease left: the time that
    /// request may take to reach the server.
    pub fence_margin: Duration,
    /// A store operation not answered within this long counts as failed.
    pub store_timeout: Duration,
    /// Without a usable token, a record another process is renewing is
    /// read again this often (with one, at the end of that lease).
    pub recheck: Duration,
}

impl Default for FleetSettings {
    /// [`Pacing::keeper`] (renew 5 min ahead, 5 min leases), 60 s of skew,
    /// a 30 s fence margin, 10 s store timeout, 1 s recheck.
    fn default() -> Self {
        FleetSettings {
            pacing: Pacing::keeper(),
            skew: Duration::from_secs(60),
            fence_margin: Duration::from_secs(30),
            store_timeout: Duration::from_secs(10),
            recheck: Duration::from_secs(1),
        }
    }
}

impl FleetSettings {
    /// Refuses settings that break the guarantees: an invalid
    /// [`Pacing`], a fence margin that leaves no lease to work in, a store
    /// timeout or recheck under [`Pacing::MIN_BACKOFF`], any duration over
    /// [`Pacing::MAX_DURATION`].
    pub fn validate(&self) -> Result<(), Error> {
        self.pacing.validate()?;
        let refuse = |reason| Err(Error::Usage(UsageError::InvalidConfig { reason }));
        if self.fence_margin >= self.pacing.renewal_timeout {
            return refuse("the fence margin must be shorter than the lease (renewal_timeout)");
        }
        if self.store_timeout < Pacing::MIN_BACKOFF || self.recheck < Pacing::MIN_BACKOFF {
            return refuse("store_timeout and recheck must be at least 1 ms");
        }
        let longest = [self.skew, self.fence_margin, self.store_timeout, self.recheck];
        if longest.iter().any(|d| *d > Pacing::MAX_DURATION) {
            return refuse("a fleet duration is over a day");
        }
        Ok(())
    }
}

/// What a caller of [`FleetKeeper::poll`] should do.
#[must_use = "a FleetAction says whether to use the token, ask the store, renew or wait"]
#[derive(Debug)]
pub enum FleetAction<'a> {
    /// The token is good: use it. No store round trip, no allocation.
    UseToken(&'a AccessToken),
    /// Carry out this store operation and answer it with
    /// [`FleetKeeper::store_answered`]; then poll again.
    Store(StoreOp),
    /// This process holds the fleet's lease: run a sign-in (or refresh),
    /// call [`FleetKeeper::fence`] right before the request that issues the
    /// token, and report with [`FleetKeeper::renewed`] or
    /// [`FleetKeeper::renewal_failed`].
    Renew(FleetTicket),
    /// No usable token yet: poll again at this instant (or once a store
    /// answer or a renewal is reported).
    Wait(Timestamp),
}

/// What [`FleetKeeper::fence`] found.
#[must_use = "send the token request only on Proceed"]
#[derive(Debug, PartialEq, Eq)]
pub enum Fence {
    /// Read the record (this operation), answer it, then call `fence` again.
    Check(StoreOp),
    /// The lease is still this process's, with enough time left: send the
    /// request that issues the token now.
    Proceed,
    /// The lease is lost or about to end: do not send it. The ticket is
    /// void; poll again.
    Lost,
}

/// The fleet's right to renew, held by this process. Not `Clone`: whoever
/// holds it reports back, once.
#[must_use = "report the renewal with `renewed` or `renewal_failed`"]
#[derive(Debug, PartialEq, Eq)]
pub struct FleetTicket {
    id: u64,
    keeper: u64,
}

/// Shares one token per key among processes through a store, sans-IO.
///
/// Each process keeps its own `FleetKeeper` for the key, with a holder id
/// unique in the fleet (say host and process id: the core draws no
/// randomness). The keeper asks for store operations as
/// [`FleetAction::Store`] and takes their results in
/// [`store_answered`](Self::store_answered), as flows ask for HTTP requests:
///
/// * a fresh token is served from memory, with no store round trip;
/// * a due token (or none, or one the API refused) makes the keeper read the
///   record: another process may have renewed. If the token there is still
///   due and nobody holds a live lease, it takes the lease by
///   compare-and-set and hands out [`FleetAction::Renew`]; other callers
///   keep the still-valid token or wait;
/// * right before the request that makes the server issue (and so revoke)
///   a token, the holder calls [`fence`](Self::fence): the lease must still
///   be its own in the store with [`fence_margin`](FleetSettings::fence_margin)
///   left on its clock;
/// * the new token is published with the next version, never over a record
///   that moved on: a holder paused past its lease finds the version taken
///   and keeps out;
/// * a 401 for a token ([`token_rejected`](Self::token_rejected)) makes the
///   next claim mark the record rejected at the version that published it,
///   so the fleet renews once, not once per process;
/// * failures back off fleet-wide through the record; store errors make the
///   keeper keep serving a valid token and back off, never renew blindly.
///
/// **Clocks.** Versions decide what is newer. Lease ends are written on the
/// holder's clock and read by others with [`skew`](FleetSettings::skew)
/// added, so leases never overlap while any two clocks differ by at most
/// that much. The holder's own clock ends its lease without margin.
///
/// ```
/// use std::time::Duration;
/// use tokendance::fleet::{Fence, FleetAction, FleetKeeper, FleetSettings, MemoryStore};
/// use tokendance::{AccessToken, Timestamp, TokenSet};
///
/// let mut store = MemoryStore::default();
/// let mut a = FleetKeeper::new("crpt:suz:conn-1", "pod-a", FleetSettings::default())?;
/// let mut b = FleetKeeper::new("crpt:suz:conn-1", "pod-b", FleetSettings::default())?;
/// let now = Timestamp::from_unix_secs(1_000);
/// // Drives a keeper's store operations until it says something else.
/// let mut settle = |k: &mut FleetKeeper, store: &mut MemoryStore| loop {
///     match k.poll(now) {
///         FleetAction::Store(op) => { let answer = store.apply(&op); k.store_answered(now, op.id(), Ok(answer)).unwrap(); }
///         FleetAction::Renew(ticket) => break Some(ticket),
///         _ => break None,
///     }
/// };
/// let ticket = settle(&mut a, &mut store).expect("a holds the lease");
/// assert!(settle(&mut b, &mut store).is_none(), "b waits: a is renewing");
/// // a runs the sign-in; right before the request that issues the token:
/// let Fence::Check(read) = a.fence(&ticket, now)? else { unreachable!() };
/// let answer = store.apply(&read);
/// a.store_answered(now, read.id(), Ok(answer))?;
/// assert_eq!(a.fence(&ticket, now)?, Fence::Proceed);
/// let token = TokenSet::new(AccessToken::new("t-1"), now, Some(now.saturating_add(Duration::from_secs(36_000))));
/// a.renewed(ticket, now, token)?;
/// assert!(settle(&mut a, &mut store).is_none()); // published
/// let later = now.saturating_add(Duration::from_secs(2));
/// let FleetAction::Store(read) = b.poll(later) else { unreachable!() };
/// let answer = store.apply(&read);
/// b.store_answered(later, read.id(), Ok(answer))?;
/// assert!(matches!(b.poll(later), FleetAction::UseToken(t) if t.expose_secret() == "t-1"));
/// # Ok::<(), tokendance::Error>(())
/// ```
pub struct FleetKeeper {
    /// The keeper's span (nothing without the `tracing` feature).
    run: Run,
    key: String,
    holder: String,
    settings: FleetSettings,
    /// Names this keeper in its tickets.
    id: u64,
    /// The record as last read or written.
    seen: Option<Record>,
    held: Option<Held>,
    /// Published versions whose token the API refused (the last few): never
    /// adopted again, whatever a stale record says.
    refused: Vec<u64>,
    op: Option<Out>,
    renewal: Option<Renewal>,
    /// A write to make before anything else: a publish or a release.
    pending: Option<Write>,
    /// Claim the lease at the next poll: decided on the record just read.
    claim: bool,
    /// No read before this (another's lease, the fleet's back-off).
    next_read: Option<Timestamp>,
    store_backoff: Backoff,
    renew_backoff: Backoff,
    last_start: Option<Timestamp>,
    counter: u64,
}

/// The token in use and where it came from.
#[derive(Clone)]
struct Held {
    token: TokenSet,
    origin: Origin,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Origin {
    /// Read from the record, published at this version.
    Published(u64),
    /// Obtained by this process's renewal under the lease taken at this
    /// version, not published yet.
    Own { claimed: u64 },
}

/// A store operation out.
struct Out {
    id: u64,
    since: Timestamp,
    purpose: Purpose,
}

enum Purpose {
    Read,
    Fence,
    Write(Box<Write>),
}

#[derive(Clone)]
struct Write {
    kind: WriteKind,
    expected: Option<u64>,
    record: Record,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum WriteKind {
    Claim,
    Publish,
    Release,
}

struct Renewal {
    ticket: u64,
    lease: Lease,
    /// The record as the claim wrote it.
    claimed: Record,
    handed: bool,
    fence: FenceState,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum FenceState {
    Unchecked,
    Checking,
    Confirmed,
    Lost,
}

/// How many refused versions a keeper remembers.
const REMEMBERED_REFUSALS: usize = 8;

/// Keeper identities: a counter, not a clock or randomness.
static NEXT_KEEPER: AtomicU64 = AtomicU64::new(1);

impl FleetKeeper {
    /// A keeper for the record `key` in a fleet where this process is
    /// `holder`. Both are printable ASCII of at most
    /// [`MAX_NAME_BYTES`](super::MAX_NAME_BYTES) bytes (they go in store
    /// keys and logs, never secrets); `settings` must validate.
    pub fn new(
        key: impl Into<String>,
        holder: impl Into<String>,
        settings: FleetSettings,
    ) -> Result<Self, Error> {
        let (key, holder) = (key.into(), holder.into());
        let bad_name = |reason| Error::Usage(UsageError::InvalidConfig { reason });
        check_name(&key, "")
            .map_err(|_| bad_name("the fleet key must be 1 to 256 bytes of printable ASCII"))?;
        check_name(&holder, "")
            .map_err(|_| bad_name("the holder id must be 1 to 256 bytes of printable ASCII"))?;
        settings.validate()?;
        Ok(FleetKeeper {
            run: Run::holder(Holder::Keeper, NAME),
            key,
            holder,
            settings,
            id: NEXT_KEEPER.fetch_add(1, Ordering::Relaxed),
            seen: None,
            held: None,
            refused: Vec::new(),
            op: None,
            renewal: None,
            pending: None,
            claim: false,
            next_read: None,
            store_backoff: Backoff::default(),
            renew_backoff: Backoff::default(),
            last_start: None,
            counter: 0,
        })
    }

    /// The record key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// This process's holder id.
    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// The settings in force.
    pub fn settings(&self) -> &FleetSettings {
        &self.settings
    }

    /// The token in use, fresh or not (refused ones too).
    pub fn token(&self) -> Option<&TokenSet> {
        self.held.as_ref().map(|h| &h.token)
    }

    /// The record as this keeper last read or wrote it.
    pub fn record(&self) -> Option<&Record> {
        self.seen.as_ref()
    }

    /// The token to hand out at `now`: held, not refused, not expired.
    pub fn usable_token(&self, now: Timestamp) -> Option<&AccessToken> {
        self.held.as_ref()?.token.valid_access(now)
    }

    /// Whether this process holds the lease (a ticket is out).
    pub fn renewing(&self) -> bool {
        self.renewal.is_some()
    }

    /// What to do at `now`: use the token, carry out a store operation,
    /// renew (exactly one process of the fleet at a time), or wait.
    pub fn poll(&mut self, now: Timestamp) -> FleetAction<'_> {
        let _entered = self.run.enter();
        self.reanchor(now);
        if let Some(out) = &self.op {
            if within(out.since, now, self.settings.store_timeout) {
                let until = out.since.saturating_add(self.settings.store_timeout);
                return self.serve(now, until);
            }
            self.op_failed(now);
        }
        if let Some(renewal) = &mut self.renewal {
            let until = renewal.lease.until;
            if now < until {
                if !renewal.handed {
                    renewal.handed = true;
                    return FleetAction::Renew(FleetTicket {
                        id: renewal.ticket,
                        keeper: self.id,
                    });
                }
                return self.serve(now, until);
            }
            // Its holder never reported within the lease: the ticket is void.
            self.renewal = None;
            self.renew_backoff.fail(now, &self.settings.pacing, None);
        }
        if let Some(until) = self.store_backoff.until(now, &self.settings.pacing) {
            return self.serve(now, until);
        }
        if let Some(write) = self.pending.take() {
            return self.send(now, Purpose::Write(Box::new(write)));
        }
        if std::mem::take(&mut self.claim) {
            let claim = self.claim_of(now, self.seen.as_ref());
            return self.send(now, Purpose::Write(Box::new(claim)));
        }
        if !self.due(now) {
            return self.serve(now, now);
        }
        if let Some(until) = self.next_read.filter(|&t| now < t) {
            return self.serve(now, until);
        }
        self.send(now, Purpose::Read)
    }

    /// Answers the store operation `id` with what the store did (or why it
    /// could not). An answer to an operation no longer out (it timed out)
    /// is refused with [`UsageError::StaleTicket`], and one that does not
    /// fit the operation (`Swapped` for a read) with
    /// [`UsageError::UnexpectedStoreAnswer`]; neither changes anything.
    pub fn store_answered(
        &mut self,
        now: Timestamp,
        id: u64,
        result: Result<StoreAnswer, StoreError>,
    ) -> Result<(), Error> {
        let _entered = self.run.enter();
        let Some(out) = self.op.take_if(|out| out.id == id) else {
            return Err(Error::Usage(UsageError::StaleTicket));
        };
        self.reanchor(now);
        let answer = match result {
            Ok(answer) => answer,
            Err(_) => {
                self.op = Some(out);
                self.op_failed(now);
                return Ok(());
            }
        };
        match (out.purpose, answer) {
            (Purpose::Read, StoreAnswer::Found(bytes)) => match self.parse(bytes) {
                Ok(record) => {
                    self.store_backoff.succeed();
                    self.observe(now, record);
                }
                Err(_) => self.store_backoff.fail(now, &self.settings.pacing, None),
            },
            (Purpose::Fence, StoreAnswer::Found(bytes)) => {
                let mine = self.parse(bytes).ok().flatten().is_some_and(|record| {
                    let lease = self.renewal.as_ref().map(|r| &r.lease);
                    record.lease.as_ref() == lease && record.version == lease.map_or(0, |l| l.version)
                });
                if let Some(renewal) = &mut self.renewal {
                    renewal.fence = if mine {
                        FenceState::Confirmed
                    } else {
                        FenceState::Lost
                    };
                }
            }
            (Purpose::Write(write), StoreAnswer::Swapped) => {
                self.store_backoff.succeed();
                self.written(*write);
            }
            (Purpose::Write(_), StoreAnswer::Conflict) => {
                // Someone wrote first: read what they wrote, at once.
                self.store_backoff.succeed();
                self.next_read = None;
            }
            (purpose, _) => {
                self.op = Some(Out {
                    id: out.id,
                    since: out.since,
                    purpose,
                });
                return Err(Error::Usage(UsageError::UnexpectedStoreAnswer));
            }
        }
        Ok(())
    }

    /// Right before the request that makes the server issue a token: is the
    /// lease still this process's? First [`Fence::Check`] (read the record),
    /// then, once answered, [`Fence::Proceed`] or [`Fence::Lost`]. Each
    /// `Proceed` is for one request: call `fence` again before another.
    pub fn fence(&mut self, ticket: &FleetTicket, now: Timestamp) -> Result<Fence, Error> {
        self.check(ticket)?;
        let Some((until, state)) = self.renewal.as_ref().map(|r| (r.lease.until, r.fence)) else {
            return Err(Error::Usage(UsageError::StaleTicket));
        };
        let fence_out = self
            .op
            .as_ref()
            .filter(|out| matches!(out.purpose, Purpose::Fence))
            .map(|out| out.id);
        let room = now.saturating_add(self.settings.fence_margin) <= until;
        match state {
            _ if !room => self.fence_lost(now),
            FenceState::Lost => self.fence_lost(now),
            FenceState::Confirmed => {
                self.set_fence(FenceState::Unchecked);
                Ok(Fence::Proceed)
            }
            FenceState::Checking if fence_out.is_some() => {
                Ok(Fence::Check(self.op_for(fence_out.unwrap_or_default(), None)))
            }
            FenceState::Checking | FenceState::Unchecked => {
                self.set_fence(FenceState::Checking);
                Ok(Fence::Check(self.start(now, Purpose::Fence)))
            }
        }
    }

    fn set_fence(&mut self, state: FenceState) {
        if let Some(renewal) = &mut self.renewal {
            renewal.fence = state;
        }
    }

    /// The ticket is void: its lease ends too soon or is someone else's.
    fn fence_lost(&mut self, now: Timestamp) -> Result<Fence, Error> {
        self.renewal = None;
        if self
            .op
            .as_ref()
            .is_some_and(|out| matches!(out.purpose, Purpose::Fence))
        {
            self.op = None;
        }
        self.renew_backoff.fail(now, &self.settings.pacing, None);
        Ok(Fence::Lost)
    }

    /// The renewal of `ticket` obtained `token` at `now`: it is used at
    /// once, and published with the next version at the next poll (if the
    /// record moved on meanwhile, it is not).
    pub fn renewed(&mut self, ticket: FleetTicket, now: Timestamp, token: TokenSet) -> Result<(), Error> {
        let renewal = self.take_renewal(&ticket)?;
        let _entered = self.run.enter();
        trace::outcome("renewed", "token", token.expires_at(), now);
        self.reanchor(now);
        let claimed = renewal.claimed;
        self.held = Some(Held {
            token: token.clone(),
            origin: Origin::Own {
                claimed: claimed.version,
            },
        });
        self.pending = Some(publish(&claimed, token));
        self.renew_backoff.succeed();
        Ok(())
    }

    /// The renewal of `ticket` failed at `now`; the server may have said
    /// when to retry. The lease is released with the fleet's back-off.
    pub fn renewal_failed(
        &mut self,
        ticket: FleetTicket,
        now: Timestamp,
        retry_at: Option<Timestamp>,
    ) -> Result<(), Error> {
        let renewal = self.take_renewal(&ticket)?;
        let _entered = self.run.enter();
        trace::outcome("renewal_failed", "renewal_failed", None, now);
        self.reanchor(now);
        let pacing = &self.settings.pacing;
        self.renew_backoff.fail(now, pacing, retry_at.map(RetryAfter::At));
        let mut fleet = Backoff::with_failures(renewal.claimed.failures);
        fleet.fail(now, pacing, retry_at.map(RetryAfter::At));
        let mut record = next_version(&renewal.claimed);
        record.lease = None;
        record.failures = renewal.claimed.failures.saturating_add(1);
        record.backoff_until = fleet.pending(pacing);
        self.pending = Some(Write {
            kind: WriteKind::Release,
            expected: Some(renewal.claimed.version),
            record,
        });
        Ok(())
    }

    /// The holder of `ticket` gave up without a result: the lease is
    /// released, with no failure counted.
    pub fn renewal_abandoned(&mut self, ticket: FleetTicket) -> Result<(), Error> {
        let renewal = self.take_renewal(&ticket)?;
        let mut record = next_version(&renewal.claimed);
        record.lease = None;
        self.pending = Some(Write {
            kind: WriteKind::Release,
            expected: Some(renewal.claimed.version),
            record,
        });
        Ok(())
    }

    /// The API answered 401 to `token`. If it is the token in use, it is
    /// never handed out again, the record is read at the next poll, and the
    /// claim that follows marks it rejected for the whole fleet.
    pub fn token_rejected(&mut self, _now: Timestamp, token: &AccessToken) {
        let Some(held) = &mut self.held else { return };
        if held.token.refuse_if_mine(token) {
            if let Origin::Published(version) = held.origin {
                self.remember_refused(version);
            }
            self.next_read = None;
        }
    }

    /// When the keeper next needs a poll: a store operation's timeout, the
    /// end of a lease, of a back-off or of a wait for another's lease, or
    /// the renewal time of the token.
    pub fn next_deadline(&self) -> Timestamp {
        if let Some(out) = &self.op {
            return out.since.saturating_add(self.settings.store_timeout);
        }
        if let Some(renewal) = &self.renewal {
            return renewal.lease.until;
        }
        let pacing = &self.settings.pacing;
        let paused = self.store_backoff.pending(pacing).unwrap_or(Timestamp::EPOCH);
        if self.pending.is_some() || self.claim {
            return paused;
        }
        let renew = match &self.held {
            Some(h) if !h.token.is_refused() => {
                h.token.renew_at(pacing.renew_margin).unwrap_or(Timestamp::MAX)
            }
            _ => Timestamp::EPOCH,
        };
        renew.max(paused).max(self.next_read.unwrap_or(Timestamp::EPOCH))
    }

    fn check(&self, ticket: &FleetTicket) -> Result<(), Error> {
        match &self.renewal {
            Some(r) if r.ticket == ticket.id && ticket.keeper == self.id => Ok(()),
            _ => Err(Error::Usage(UsageError::StaleTicket)),
        }
    }

    fn take_renewal(&mut self, ticket: &FleetTicket) -> Result<Renewal, Error> {
        self.check(ticket)?;
        if self
            .op
            .as_ref()
            .is_some_and(|out| matches!(out.purpose, Purpose::Fence))
        {
            self.op = None;
        }
        self.renewal.take().ok_or(Error::Usage(UsageError::StaleTicket))
    }

    /// A clock stepped back: every instant kept happened "now" at the latest.
    fn reanchor(&mut self, now: Timestamp) {
        if let Some(out) = &mut self.op {
            out.since = out.since.min(now);
        }
        self.last_start = self.last_start.map(|t| t.min(now));
        self.store_backoff.reanchor(now);
        self.renew_backoff.reanchor(now);
    }

    fn serve(&self, now: Timestamp, until: Timestamp) -> FleetAction<'_> {
        match self.usable_token(now) {
            Some(token) => FleetAction::UseToken(token),
            None => FleetAction::Wait(until.max(now)),
        }
    }

    fn due(&self, now: Timestamp) -> bool {
        self.held.as_ref().is_none_or(|h| {
            h.token.is_refused()
                || h.token
                    .renew_at(self.settings.pacing.renew_margin)
                    .is_some_and(|at| now >= at)
        })
    }

    fn op_for(&self, id: u64, write: Option<&Write>) -> StoreOp {
        StoreOp {
            id,
            key: self.key.clone(),
            kind: match write {
                None => StoreOpKind::Read,
                Some(w) => StoreOpKind::Swap {
                    expected: w.expected,
                    version: w.record.version,
                    bytes: w.record.to_json(),
                },
            },
        }
    }

    fn send(&mut self, now: Timestamp, purpose: Purpose) -> FleetAction<'_> {
        FleetAction::Store(self.start(now, purpose))
    }

    /// Puts an operation out and returns it.
    fn start(&mut self, now: Timestamp, purpose: Purpose) -> StoreOp {
        self.counter += 1;
        let write = match &purpose {
            Purpose::Write(write) => Some(&**write),
            _ => None,
        };
        let op = self.op_for(self.counter, write);
        if write.is_some_and(|w| w.kind == WriteKind::Claim) {
            self.last_start = Some(now);
        }
        self.op = Some(Out {
            id: self.counter,
            since: now,
            purpose,
        });
        op
    }

    /// The operation out failed (an error, or no answer in time): back off;
    /// a write is tried again (a publish or release) or dropped (a claim,
    /// decided again on the next read); a fence check is lost.
    fn op_failed(&mut self, now: Timestamp) {
        let Some(out) = self.op.take() else { return };
        self.store_backoff.fail(now, &self.settings.pacing, None);
        match out.purpose {
            Purpose::Read => {}
            Purpose::Fence => {
                if let Some(renewal) = &mut self.renewal {
                    renewal.fence = FenceState::Lost;
                }
            }
            Purpose::Write(write) => {
                if write.kind != WriteKind::Claim {
                    self.pending = Some(*write);
                }
            }
        }
    }

    fn parse(&self, bytes: Option<Vec<u8>>) -> Result<Option<Record>, StoreError> {
        let Some(bytes) = bytes else { return Ok(None) };
        let record = Record::from_json(&bytes).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        if record.key != self.key {
            return Err(StoreError::Corrupt("a record of another key".to_owned()));
        }
        Ok(Some(record))
    }

    fn remember_refused(&mut self, version: u64) {
        if !self.refused.contains(&version) {
            if self.refused.len() == REMEMBERED_REFUSALS {
                self.refused.remove(0);
            }
            self.refused.push(version);
        }
    }

    /// A write went through.
    fn written(&mut self, write: Write) {
        let record = write.record;
        match write.kind {
            WriteKind::Claim => {
                let lease = record.lease.clone();
                if let Some(lease) = lease {
                    self.counter += 1;
                    self.renewal = Some(Renewal {
                        ticket: self.counter,
                        lease,
                        claimed: record.clone(),
                        handed: false,
                        fence: FenceState::Unchecked,
                    });
                }
            }
            WriteKind::Publish => {
                if let Some(held) = &mut self.held {
                    if matches!(held.origin, Origin::Own { .. }) {
                        held.origin = Origin::Published(record.version);
                    }
                }
            }
            WriteKind::Release => {}
        }
        self.next_read = None;
        self.seen = Some(record);
    }

    /// A record read: adopt its token if newer, then decide whether to
    /// claim the lease, publish a token of our own, or wait.
    fn observe(&mut self, now: Timestamp, record: Option<Record>) {
        if let Some(record) = &record {
            self.adopt(record);
        }
        let base = record.as_ref();
        self.seen = record.clone();
        let others_lease = base
            .and_then(|r| r.lease.as_ref())
            .filter(|l| l.holder != self.holder && now < l.until.saturating_add(self.settings.skew));
        // Our own token, never published (its publish found the record moved
        // on): publish it over the record unless someone else is renewing.
        if let Some(Held {
            token,
            origin: Origin::Own { .. },
        }) = &self.held
        {
            if !token.is_refused() && others_lease.is_none() {
                let base = base.cloned().unwrap_or_else(|| Record::empty(self.key.clone()));
                self.pending = Some(publish(&base, token.clone()));
                return;
            }
        }
        if !self.due(now) {
            return;
        }
        if let Some(lease) = others_lease {
            let end = lease.until.saturating_add(self.settings.skew);
            let recheck = now.saturating_add(self.settings.recheck);
            self.next_read = Some(if self.usable_token(now).is_some() {
                end
            } else {
                end.min(recheck)
            });
            return;
        }
        let pacing = self.settings.pacing;
        let fleet_pause = base.and_then(|r| r.backoff_until).filter(|&until| now < until);
        let own_pause = self.renew_backoff.next_start(now, &pacing, self.last_start);
        if let Some(until) = fleet_pause.max(own_pause) {
            self.next_read = Some(until);
            return;
        }
        self.claim = true;
    }

    fn adopt(&mut self, record: &Record) {
        let Some(shared) = &record.token else { return };
        let version = shared.published_version;
        if record.rejected_version == Some(version) {
            self.remember_refused(version);
            if let Some(held) = &mut self.held {
                if held.origin == Origin::Published(version) {
                    held.token.refuse_if_mine(&shared.token.access_token().clone());
                }
            }
        }
        if self.refused.contains(&version) {
            return;
        }
        let newer = match self.held.as_ref().map(|h| h.origin) {
            None => true,
            Some(Origin::Published(held)) => version > held,
            Some(Origin::Own { claimed }) => version > claimed,
        };
        if newer {
            self.held = Some(Held {
                token: shared.token.clone(),
                origin: Origin::Published(version),
            });
        }
    }

    fn claim_of(&self, now: Timestamp, base: Option<&Record>) -> Write {
        let base = base.cloned().unwrap_or_else(|| Record::empty(self.key.clone()));
        let mut record = next_version(&base);
        if let Some(shared) = &base.token {
            if self.refused.contains(&shared.published_version) {
                record.rejected_version = Some(shared.published_version);
            }
        }
        record.lease = Some(Lease {
            holder: self.holder.clone(),
            until: now.saturating_add(self.settings.pacing.renewal_timeout),
            version: record.version,
        });
        Write {
            kind: WriteKind::Claim,
            expected: (base.version > 0).then_some(base.version),
            record,
        }
    }
}

/// `base` one version on (what every write starts from).
fn next_version(base: &Record) -> Record {
    Record {
        version: base.version.saturating_add(1),
        ..base.clone()
    }
}

/// Publishes `token` over `base`: a new token, no lease, no back-off.
fn publish(base: &Record, token: TokenSet) -> Write {
    let mut record = next_version(base);
    record.token = Some(SharedToken {
        token,
        published_version: record.version,
    });
    record.rejected_version = None;
    record.lease = None;
    record.failures = 0;
    record.backoff_until = None;
    Write {
        kind: WriteKind::Publish,
        expected: (base.version > 0).then_some(base.version),
        record,
    }
}

impl fmt::Debug for FleetKeeper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FleetKeeper")
            .field("key", &self.key)
            .field("holder", &self.holder)
            .field("token", &self.held.as_ref().map(|h| &h.token))
            .field("origin", &self.held.as_ref().map(|h| h.origin))
            .field("version", &self.seen.as_ref().map(|r| r.version))
            .field("renewing", &self.renewal.is_some())
            .field("store_failures", &self.store_backoff.failures())
            .finish_non_exhaustive()
    }
}

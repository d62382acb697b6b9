//! A `crpt::TokenKeeper` with an independent model of it beside it, written
//! from the keeper's docs: which token is live (by version, never by
//! clock), which ticket is current, and bounds on the back-off and on the
//! spacing of tickets. Every operation is run on both and checked; a broken
//! rule comes back as `Err` with what happened.
//!
//! The rules: one ticket out (a second only once the first is lost, its age
//! measured from the instants seen); tickets spaced by `min_interval`, never
//! during a back-off, and one issued when nothing holds it back; only the
//! live token handed out, never one the API refused, and snapshots carry
//! it; restores follow the version rule; old tickets and tickets of another
//! keeper of the same connection are stale and change nothing; every wait
//! within the holder's bound of the `now` it answers. A clock stepped back
//! re-anchors every instant kept, as the keeper does; durations are compared
//! in whole milliseconds, as instants are.
//!
//! Shared by `tests/crpt_keeper.rs` and the fuzz harness (which includes this
//! file and `pacing.rs` beside it by path), so it uses only `std` and
//! `tokendance`.

use std::time::Duration;

use tokendance::crpt::{KeeperAction, RenewalTicket, Snapshot, TokenKeeper};
use tokendance::{AccessToken, Error, Pacing, Timestamp, TokenSet, UsageError};

use super::pacing::{self, holder_bound, least_pause_ms, longest_pause, millis, plus_ms, renew_at};

/// How many refused tokens the keeper remembers.
const REMEMBERED_REFUSALS: usize = 8;

/// The model's token.
#[derive(Clone, Debug)]
pub struct Live {
    pub name: String,
    pub obtained: Timestamp,
    pub expires: Option<Timestamp>,
    pub version: u64,
    pub refused: bool,
}

/// The model's renewal out.
#[derive(Clone, Copy, Debug)]
pub struct Out {
    /// Tickets are numbered 1, 2, ... per keeper.
    pub number: u64,
    /// When it started, as the keeper measures: the earliest `now` seen
    /// since, at a poll or a report with a time.
    pub since: Timestamp,
}

/// A back-off: when it started (re-anchored the same way) and bounds on
/// its length, in milliseconds.
#[derive(Clone, Copy, Debug)]
pub struct Pause {
    pub since: Timestamp,
    pub low: u64,
    pub high: u64,
}

/// What a poll answered, without the borrow.
#[derive(Debug)]
pub enum Polled {
    Use(String),
    Renew(RenewalTicket),
    Wait(Timestamp),
}

/// What a refused report or a refused pacing must leave as it was.
pub type Fingerprint = (Option<TokenSet>, Option<Snapshot>, bool, Timestamp, Pacing);

pub fn fingerprint(k: &TokenKeeper) -> Fingerprint {
    (
        k.token().cloned(),
        k.snapshot(),
        k.renewing(),
        k.next_deadline(),
        *k.pacing(),
    )
}

/// `Err(why())` unless `ok`.
fn ensure(ok: bool, why: impl FnOnce() -> String) -> Result<(), String> {
    if ok {
        Ok(())
    } else {
        Err(why())
    }
}

/// A ticket of a fresh keeper of `connection`, numbered `number` (at least 1).
pub fn foreign_ticket(connection: &str, number: u64) -> RenewalTicket {
    let pacing = Pacing {
        min_interval: Duration::ZERO,
        ..Pacing::keeper()
    };
    let mut other = TokenKeeper::with_pacing(connection, pacing).expect("a valid pacing");
    let mut ticket = None;
    for _ in 0..number.max(1) {
        if let Some(t) = ticket.take() {
            // An expired token is due at once: the next poll issues the next ticket.
            let expired = TokenSet::new(
                AccessToken::new("foreign"),
                Timestamp::EPOCH,
                Some(Timestamp::EPOCH),
            );
            other.renewed(t, expired).expect("its own ticket");
        }
        match other.poll(Timestamp::EPOCH) {
            KeeperAction::Renew(t) => ticket = Some(t),
            other => panic!("a fresh keeper did not renew: {other:?}"),
        }
    }
    ticket.expect("a ticket")
}

/// A keeper of one connection and the model of it.
pub struct ModelledKeeper {
    pub keeper: TokenKeeper,
    pub connection: &'static str,
    pub pacing: Pacing,
    pub held: Option<Live>,
    /// The highest version installed or adopted.
    pub version: u64,
    /// The last tokens refused, oldest first (as many as the keeper remembers).
    pub refused: Vec<String>,
    pub out: Option<Out>,
    /// Tickets issued so far (the number of the last one).
    pub issued: u64,
    /// When the last ticket went out, re-anchored as `Out::since` is.
    pub last_start: Option<Timestamp>,
    /// The back-off in force.
    pub pause: Option<Pause>,
}

impl ModelledKeeper {
    /// A keeper of `connection` with the keeper's preset pacing.
    pub fn new(connection: &'static str) -> Self {
        ModelledKeeper {
            keeper: TokenKeeper::new(connection),
            connection,
            pacing: Pacing::keeper(),
            held: None,
            version: 0,
            refused: Vec::new(),
            out: None,
            issued: 0,
            last_start: None,
            pause: None,
        }
    }

    /// Whether the held token is due for renewal at `now`: none is held, it
    /// was refused, or it is `renew_margin` before its expiry (not before
    /// half its life); a token that never expires is never due.
    pub fn due(&self, now: Timestamp) -> bool {
        match &self.held {
            None => true,
            Some(live) if live.refused => true,
            Some(live) => live
                .expires
                .is_some_and(|e| now >= renew_at(live.obtained, e, self.pacing.renew_margin)),
        }
    }

    /// The token to hand out at `now`: the live one, unrefused and valid.
    pub fn usable(&self, now: Timestamp) -> Option<&str> {
        self.held
            .as_ref()
            .filter(|l| !l.refused && l.expires.is_none_or(|e| now < e))
            .map(|l| l.name.as_str())
    }

    fn longest_pause_ms(&self) -> u64 {
        millis(longest_pause(&self.pacing))
    }

    /// Whether the pause is certainly over at `now` (measured from its
    /// start, as the keeper measures: a pause starting at `MAX` holds there;
    /// never longer than the current pacing allows, which may have changed
    /// since the failure).
    pub fn pause_over(&self, now: Timestamp) -> bool {
        let longest = self.longest_pause_ms();
        self.pause
            .is_none_or(|p| millis(now.saturating_duration_since(p.since)) >= p.high.min(longest))
    }

    /// Whether the pause certainly still holds at `now`.
    pub fn pause_holds(&self, now: Timestamp) -> bool {
        let longest = self.longest_pause_ms();
        self.pause
            .is_some_and(|p| millis(now.saturating_duration_since(p.since)) < p.low.min(longest))
    }

    /// Whether `min_interval` has passed since the last ticket at `now`.
    pub fn spaced(&self, now: Timestamp) -> bool {
        self.last_start.is_none_or(|last| {
            millis(now.saturating_duration_since(last)) >= millis(self.pacing.min_interval)
        })
    }

    /// A failure at `at`, the server asking to retry at `retry_at`: the
    /// pause it starts.
    fn failed_at(&mut self, at: Timestamp, retry_at: Option<Timestamp>) {
        self.pause = Some(Pause {
            since: at,
            low: least_pause_ms(at, &self.pacing, retry_at),
            high: self.longest_pause_ms(),
        });
    }

    /// A clock stepped back: every instant the keeper keeps happened "now"
    /// at the latest.
    fn reanchor(&mut self, now: Timestamp) {
        if let Some(last) = self.last_start.as_mut() {
            *last = (*last).min(now);
        }
        if let Some(pause) = self.pause.as_mut() {
            pause.since = pause.since.min(now);
        }
        if let Some(out) = self.out.as_mut() {
            out.since = out.since.min(now);
        }
    }

    fn is_current(&self, number: u64) -> bool {
        self.out.is_some_and(|o| o.number == number)
    }

    /// Polls at `now`: what the keeper answered, and whether the renewal
    /// out was lost at this poll (its ticket void, counted as a failure).
    pub fn poll(&mut self, now: Timestamp) -> Result<(Polled, bool), String> {
        let had = self.out;
        // What the keeper learns at a poll before it decides: the clock as
        // it is now, and whether the renewal out was lost.
        self.reanchor(now);
        let mut lost = false;
        if let Some(out) = self.out.filter(|_| self.due(now)) {
            if millis(now.saturating_duration_since(out.since)) >= millis(self.pacing.renewal_timeout) {
                self.out = None;
                self.failed_at(now, None);
                lost = true;
            }
        }
        let must_renew = self.out.is_none() && self.due(now) && self.pause_over(now) && self.spaced(now);
        let polled = match self.keeper.poll(now) {
            KeeperAction::UseToken(t) => Polled::Use(t.expose_secret().to_owned()),
            KeeperAction::Renew(t) => Polled::Renew(t),
            KeeperAction::Wait(until) => Polled::Wait(until),
        };
        match &polled {
            Polled::Renew(_) => {
                ensure(self.out.is_none(), || {
                    format!(
                        "a second ticket at {now:?} while ticket {had:?} is out (timeout {:?})",
                        self.pacing.renewal_timeout
                    )
                })?;
                ensure(self.due(now), || {
                    format!("a ticket at {now:?} while the token is not due")
                })?;
                ensure(self.spaced(now), || {
                    format!(
                        "a ticket at {now:?} within min_interval of the last, at {:?}",
                        self.last_start
                    )
                })?;
                ensure(!self.pause_holds(now), || {
                    format!("a ticket at {now:?} during a back-off {:?}", self.pause)
                })?;
                self.issued += 1;
                self.out = Some(Out {
                    number: self.issued,
                    since: now,
                });
                self.last_start = Some(now);
            }
            Polled::Use(name) => {
                ensure(!must_renew, || {
                    format!("no ticket at {now:?} though nothing holds one back")
                })?;
                ensure(Some(name.as_str()) == self.usable(now), || {
                    format!("handed out {name:?} at {now:?}, not {:?}", self.usable(now))
                })?;
            }
            Polled::Wait(until) => {
                ensure(!must_renew, || {
                    format!("no ticket at {now:?} though nothing holds one back")
                })?;
                ensure(self.usable(now).is_none(), || {
                    format!("waited at {now:?} while {:?} is usable", self.usable(now))
                })?;
                let bound = plus_ms(now, millis(holder_bound(&self.pacing)));
                ensure(now <= *until && *until <= bound, || {
                    format!("Wait({until:?}) at {now:?}: not within [now, {bound:?}]")
                })?;
            }
        }
        Ok((polled, lost))
    }

    /// A report on a ticket that is not the current one: refused as stale,
    /// and the keeper as it was.
    fn stale(&self, result: Result<(), Error>, before: Fingerprint, what: &str) -> Result<(), String> {
        ensure(
            matches!(result, Err(Error::Usage(UsageError::StaleTicket))),
            || format!("{what} gave {result:?}, not StaleTicket"),
        )?;
        ensure(fingerprint(&self.keeper) == before, || {
            format!("{what} changed the keeper")
        })
    }

    /// Reports `token` on the ticket numbered `number`: whether it was the
    /// current one (and its token now the live one, with the next version).
    pub fn renewed(&mut self, ticket: RenewalTicket, number: u64, token: TokenSet) -> Result<bool, String> {
        let before = fingerprint(&self.keeper);
        let result = self.keeper.renewed(ticket, token.clone());
        if !self.is_current(number) {
            return self.stale(result, before, "a stale renewal").map(|()| false);
        }
        ensure(result.is_ok(), || {
            format!("the current ticket was refused: {result:?}")
        })?;
        // A renewal's token is the live one, whatever the clocks said.
        self.version = self.version.saturating_add(1);
        self.held = Some(Live {
            name: token.access_token().expose_secret().to_owned(),
            obtained: token.obtained_at(),
            expires: token.expires_at(),
            version: self.version,
            refused: false,
        });
        self.out = None;
        self.pause = None;
        Ok(true)
    }

    /// Reports the ticket numbered `number` failed at `now`: whether it was
    /// the current one (and a back-off started).
    pub fn failed(
        &mut self,
        now: Timestamp,
        ticket: RenewalTicket,
        number: u64,
        retry_at: Option<Timestamp>,
    ) -> Result<bool, String> {
        let before = fingerprint(&self.keeper);
        let result = self.keeper.renewal_failed(ticket, now, retry_at);
        if !self.is_current(number) {
            return self.stale(result, before, "a stale failure").map(|()| false);
        }
        ensure(result.is_ok(), || {
            format!("the current ticket was refused: {result:?}")
        })?;
        self.out = None;
        self.reanchor(now);
        self.failed_at(now, retry_at);
        Ok(true)
    }

    /// Reports the ticket numbered `number` abandoned: whether it was the
    /// current one (then counted as failed when it started).
    pub fn abandoned(&mut self, ticket: RenewalTicket, number: u64) -> Result<bool, String> {
        let before = fingerprint(&self.keeper);
        let result = self.keeper.renewal_abandoned(ticket);
        let Some(out) = self.out.filter(|o| o.number == number) else {
            return self.stale(result, before, "a stale abandon").map(|()| false);
        };
        ensure(result.is_ok(), || {
            format!("the current ticket was refused: {result:?}")
        })?;
        self.out = None;
        self.failed_at(out.since, None);
        Ok(true)
    }

    /// A ticket of another keeper of the same connection, numbered `number`
    /// (as this keeper's current one, or not), reported here at `now`: `how`
    /// 0 renewed, 1 failed, 2 abandoned. It is stale.
    pub fn foreign(&mut self, now: Timestamp, number: u64, how: u8) -> Result<(), String> {
        let ticket = foreign_ticket(self.connection, number);
        let before = fingerprint(&self.keeper);
        let token = TokenSet::new(AccessToken::new("foreign"), now, None);
        let result = match how % 3 {
            0 => self.keeper.renewed(ticket, token),
            1 => self.keeper.renewal_failed(ticket, now, None),
            _ => self.keeper.renewal_abandoned(ticket),
        };
        self.stale(result, before, "a foreign ticket")
    }

    /// The API refused the token `name` (a 401) at `now`: if it is the one
    /// held, it is refused from now on and never adopted again.
    pub fn rejected(&mut self, now: Timestamp, name: &str) -> Result<(), String> {
        self.keeper.token_rejected(now, &AccessToken::new(name));
        let Some(live) = self.held.as_mut().filter(|l| l.name == name) else {
            return Ok(());
        };
        live.refused = true;
        if self.refused.len() == REMEMBERED_REFUSALS {
            self.refused.remove(0);
        }
        self.refused.push(name.to_owned());
        ensure(self.keeper.usable_token(now).is_none(), || {
            "a rejected token is still usable".to_owned()
        })?;
        ensure(self.keeper.snapshot().is_none(), || {
            "a rejected token is shared".to_owned()
        })
    }

    /// The restore rule: adopted when nothing is held, or the version is
    /// higher, or equal with another token while the held one was refused;
    /// never a token refused.
    pub fn adopts(&self, name: &str, version: u64) -> bool {
        if self.refused.iter().any(|r| r == name) {
            return false;
        }
        match &self.held {
            None => true,
            Some(h) => version > h.version || (version == h.version && h.refused && h.name != name),
        }
    }

    /// Restores a snapshot of `connection` with `version` and `token`:
    /// `None` for another connection's (refused, nothing changed), else
    /// whether it was adopted (by the rule of [`ModelledKeeper::adopts`]).
    pub fn restore(
        &mut self,
        connection: &str,
        version: u64,
        token: &TokenSet,
    ) -> Result<Option<bool>, String> {
        let name = token.access_token().expose_secret().to_owned();
        let before = fingerprint(&self.keeper);
        let result = self.keeper.restore(Snapshot::new(
            connection,
            version,
            token.access_token().clone(),
            token.obtained_at(),
            token.expires_at(),
        ));
        if connection != self.connection {
            ensure(
                matches!(result, Err(Error::Usage(UsageError::InvalidConfig { .. }))),
                || format!("another connection's snapshot gave {result:?}"),
            )?;
            ensure(fingerprint(&self.keeper) == before, || {
                "another connection's snapshot changed the keeper".to_owned()
            })?;
            return Ok(None);
        }
        let adopts = self.adopts(&name, version);
        ensure(result == Ok(adopts), || {
            format!(
                "restore of {name:?} v{version} gave {result:?} against {:?} (refused {:?})",
                self.held, self.refused
            )
        })?;
        if adopts {
            self.version = self.version.max(version);
            self.held = Some(Live {
                name,
                obtained: token.obtained_at(),
                expires: token.expires_at(),
                version,
                refused: false,
            });
        } else {
            ensure(fingerprint(&self.keeper) == before, || {
                "a snapshot not adopted changed the keeper".to_owned()
            })?;
        }
        Ok(Some(adopts))
    }

    /// Sets `pacing`: taken whole when valid (by [`pacing::is_valid`]), else
    /// refused as `InvalidConfig` with nothing changed; also when a keeper is
    /// built with it. Whether it was valid.
    pub fn set_pacing(&mut self, pacing: Pacing) -> Result<bool, String> {
        let valid = pacing::is_valid(&pacing);
        let built = TokenKeeper::with_pacing(self.connection, pacing);
        ensure(built.is_ok() == valid, || {
            format!("TokenKeeper::with_pacing({pacing:?}) gave {built:?}; valid: {valid}")
        })?;
        let before = fingerprint(&self.keeper);
        match self.keeper.set_pacing(pacing) {
            Ok(()) => {
                ensure(valid, || format!("accepted {pacing:?}"))?;
                self.pacing = pacing;
            }
            Err(err) => {
                ensure(!valid, || format!("refused {pacing:?}: {err}"))?;
                ensure(
                    matches!(err, Error::Usage(UsageError::InvalidConfig { .. })),
                    || format!("refused {pacing:?} with {err:?}"),
                )?;
                ensure(fingerprint(&self.keeper) == before, || {
                    "a refused pacing changed the keeper".to_owned()
                })?;
            }
        }
        Ok(valid)
    }

    /// `retry_now`: the back-off ends.
    pub fn retry_now(&mut self) {
        self.keeper.retry_now();
        self.pause = None;
    }

    /// The keeper's state is the model's at `now`.
    pub fn check(&self, now: Timestamp) -> Result<(), String> {
        let k = &self.keeper;
        ensure(*k.pacing() == self.pacing, || {
            format!("the pacing: {:?}, not {:?}", k.pacing(), self.pacing)
        })?;
        ensure(k.renewing() == self.out.is_some(), || {
            format!(
                "renewing at {now:?}: {}, the model's renewal out: {:?}",
                k.renewing(),
                self.out
            )
        })?;
        if let Some(out) = self.out {
            let timeout = out.since.saturating_add(self.pacing.renewal_timeout);
            ensure(k.next_deadline() == timeout, || {
                format!(
                    "the renewal's timeout: next_deadline {:?}, not {timeout:?}",
                    k.next_deadline()
                )
            })?;
        }
        let held = k.token().map(|t| {
            (
                t.access_token().expose_secret().to_owned(),
                t.obtained_at(),
                t.expires_at(),
            )
        });
        let want = self
            .held
            .as_ref()
            .map(|l| (l.name.clone(), l.obtained, l.expires));
        ensure(held == want, || format!("the token held: {held:?}, not {want:?}"))?;
        let usable = k.usable_token(now).map(AccessToken::expose_secret);
        ensure(usable == self.usable(now), || {
            format!(
                "the usable token at {now:?}: {usable:?}, not {:?}",
                self.usable(now)
            )
        })?;
        let shared = k.snapshot().map(|s| {
            (
                s.oms_connection().to_owned(),
                s.version(),
                s.token().expose_secret().to_owned(),
                s.obtained_at(),
                s.expires_at(),
            )
        });
        let want = self.held.as_ref().filter(|l| !l.refused).map(|l| {
            (
                self.connection.to_owned(),
                l.version,
                l.name.clone(),
                l.obtained,
                l.expires,
            )
        });
        ensure(shared == want, || {
            format!("the snapshot (a refused token is not shared): {shared:?}, not {want:?}")
        })
    }
}

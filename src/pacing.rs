//! How token holders pace their renewals: when to renew, when a renewal
//! counts as lost, how far apart renewals start, how to back off after a
//! failure, and how long a server may make them wait. One [`Pacing`] for the
//! ITC session, the CRPT keeper and [`Reissue`](crate::call::Reissue),
//! validated once; one [`Backoff`] that all of them keep.
//!
//! Time is the caller's and may jump. Every wait is measured as a duration
//! from an instant already seen, so that `Timestamp::MAX` saturates into
//! "wait" rather than into "go again", and every deadline is clamped to the
//! current `now` plus its bound, so that a clock stepped back never turns a
//! five-minute back-off into a wait of years.

use std::time::Duration;

use crate::error::{Error, RetryAfter, UsageError};
use crate::time::Timestamp;

/// How a token holder paces its renewals.
///
/// Set with `set_pacing` on a [`PasswordSession`](crate::oauth2::PasswordSession),
/// a [`TokenKeeper`](crate::crpt::TokenKeeper) or a
/// [`Reissue`](crate::call::Reissue), which validate it
/// ([`validate`](Self::validate)).
///
/// ```
/// use std::time::Duration;
/// use tokendance::Pacing;
/// let pacing = Pacing { max_server_wait: Duration::from_secs(60), ..Pacing::session() };
/// assert!(pacing.validate().is_ok());
/// let never_lost = Pacing { renewal_timeout: Duration::ZERO, ..Pacing::session() };
/// assert!(never_lost.validate().is_err());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Pacing {
    /// Renew this long before the token expires (at most half its life,
    /// so a short-lived token is not renewed in a loop).
    pub renew_margin: Duration,
    /// A renewal (a token request, a sign-in) not answered within this long
    /// counts as lost, and another may start. Keep your transport's and
    /// signer's timeouts shorter, or two renewals could overlap. At least
    /// [`Pacing::MIN_RENEWAL_TIMEOUT`].
    pub renewal_timeout: Duration,
    /// The shortest time between the starts of two renewals (stops hot
    /// loops against a server that issues already-expired tokens).
    pub min_interval: Duration,
    /// The first pause after a failure; it doubles with each failure in a
    /// row. At least [`Pacing::MIN_BACKOFF`].
    pub initial_backoff: Duration,
    /// The longest pause of the holder's own.
    pub max_backoff: Duration,
    /// The longest wait a server may ask for with `Retry-After` (as seconds
    /// or as a date); a longer one is cut to this. Zero ignores the server's
    /// waits, keeping the holder's own back-off.
    pub max_server_wait: Duration,
}

impl Pacing {
    /// The shortest accepted [`renewal_timeout`](Self::renewal_timeout):
    /// below it, every poll would declare the renewal out lost and start
    /// another.
    pub const MIN_RENEWAL_TIMEOUT: Duration = Duration::from_secs(1);

    /// The shortest accepted [`initial_backoff`](Self::initial_backoff):
    /// instants are whole milliseconds, so a shorter pause would be none,
    /// and a failure would be retried at the instant it happened.
    pub const MIN_BACKOFF: Duration = Duration::from_millis(1);

    /// The longest accepted duration of any field: a day.
    pub const MAX_DURATION: Duration = Duration::from_secs(24 * 3600);

    /// The ITC session's: renew 30 s before expiry, a request lost after
    /// 60 s, 1 s between requests, back off 1 s → 5 min, servers may ask
    /// for up to 10 min.
    pub const fn session() -> Self {
        Pacing {
            renew_margin: Duration::from_secs(30),
            renewal_timeout: Duration::from_secs(60),
            min_interval: Duration::from_secs(1),
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(300),
            max_server_wait: Duration::from_secs(600),
        }
    }

    /// The CRPT keeper's: renew 5 min before expiry, a sign-in lost after
    /// 5 min, 1 s between sign-ins, back off 1 s → 5 min, servers may ask
    /// for up to 10 min.
    pub const fn keeper() -> Self {
        Pacing {
            renew_margin: Duration::from_secs(300),
            renewal_timeout: Duration::from_secs(300),
            ..Pacing::session()
        }
    }

    /// [`Reissue`](crate::call::Reissue)'s: as the session's, but no
    /// minimum interval (each call may re-run its token flow).
    pub const fn reissue() -> Self {
        Pacing {
            min_interval: Duration::ZERO,
            ..Pacing::session()
        }
    }

    /// Refuses values that would break single flight or the bounds on
    /// waiting: a renewal timeout under [`MIN_RENEWAL_TIMEOUT`](Self::MIN_RENEWAL_TIMEOUT),
    /// a first back-off under [`MIN_BACKOFF`](Self::MIN_BACKOFF), a longest
    /// back-off below the first, any duration over
    /// [`MAX_DURATION`](Self::MAX_DURATION).
    pub fn validate(&self) -> Result<(), Error> {
        let invalid = |reason| Err(Error::Usage(UsageError::InvalidConfig { reason }));
        let all = [
            self.renew_margin,
            self.renewal_timeout,
            self.min_interval,
            self.initial_backoff,
            self.max_backoff,
            self.max_server_wait,
        ];
        if all.iter().any(|d| *d > Self::MAX_DURATION) {
            return invalid("a pacing duration is longer than a day");
        }
        if self.renewal_timeout < Self::MIN_RENEWAL_TIMEOUT {
            return invalid("the renewal timeout is under a second: every poll would start a renewal");
        }
        if self.initial_backoff < Self::MIN_BACKOFF {
            return invalid("the first back-off is under a millisecond: failures would be retried in a loop");
        }
        if self.max_backoff < self.initial_backoff {
            return invalid("the longest back-off is shorter than the first");
        }
        Ok(())
    }
}

impl Pacing {
    /// The longest pause a holder may take: its own or a server's.
    fn longest_pause(&self) -> Duration {
        self.max_backoff.max(self.max_server_wait)
    }
}

impl Default for Pacing {
    fn default() -> Self {
        Pacing::session()
    }
}

/// `pacing()` and `set_pacing()` for a type that keeps its [`Pacing`] in a
/// `pacing` field; `$doc` says what it paces. A new pacing is validated
/// before it replaces the old one.
macro_rules! pacing_accessors {
    ($doc:literal) => {
        #[doc = $doc]
        pub fn pacing(&self) -> &$crate::Pacing {
            &self.pacing
        }

        /// Changes the pacing; refused (and nothing changed) if it does not
        /// [validate](crate::Pacing::validate).
        pub fn set_pacing(&mut self, pacing: $crate::Pacing) -> Result<(), $crate::Error> {
            pacing.validate()?;
            self.pacing = pacing;
            Ok(())
        }
    };
}
pub(crate) use pacing_accessors;

/// Failures in a row and the pause they earned, kept as its start and
/// length (not its end), so that a pause that starts at `Timestamp::MAX`
/// is still a pause.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub(crate) struct Backoff {
    failures: u32,
    pause: Option<(Timestamp, Duration)>,
}

impl Backoff {
    /// A failure at `now`: pause `initial_backoff · 2^failures` (at most
    /// `max_backoff`), or until the server's `Retry-After` if later (at most
    /// `max_server_wait` from now).
    pub(crate) fn fail(&mut self, now: Timestamp, pacing: &Pacing, server: Option<RetryAfter>) {
        let factor = 1u32.checked_shl(self.failures.min(20)).unwrap_or(u32::MAX);
        let own = pacing
            .initial_backoff
            .saturating_mul(factor)
            .min(pacing.max_backoff);
        let asked = server.map_or(Duration::ZERO, |r| {
            r.deadline(now)
                .saturating_duration_since(now)
                .min(pacing.max_server_wait)
        });
        self.failures = self.failures.saturating_add(1);
        let pause = own.max(asked);
        self.pause = Some((now, pause));
        crate::trace::backoff(self.failures, now.saturating_add(pause), now);
    }

    /// A back-off that has already seen `failures` in a row (a fleet
    /// record's count), with no pause in force yet.
    pub(crate) fn with_failures(failures: u32) -> Self {
        Backoff {
            failures,
            pause: None,
        }
    }

    /// A success: the next failure starts from the first pause again.
    pub(crate) fn succeed(&mut self) {
        *self = Backoff::default();
    }

    /// A clock stepped back: the pause started at `now` at the latest.
    pub(crate) fn reanchor(&mut self, now: Timestamp) {
        if let Some((since, _)) = &mut self.pause {
            *since = (*since).min(now);
        }
    }

    /// The end of the pause in force at `now`, if any: at most the longest
    /// pause `pacing` allows (it may have changed since the failure).
    pub(crate) fn until(&mut self, now: Timestamp, pacing: &Pacing) -> Option<Timestamp> {
        self.reanchor(now);
        let (since, pause) = self.pause?;
        let pause = pause.min(pacing.longest_pause());
        within(since, now, pause).then(|| since.saturating_add(pause))
    }

    /// When a renewal may start, if not at `now`: the end of the pause in
    /// force, else of the shortest interval since the last start.
    pub(crate) fn next_start(
        &mut self,
        now: Timestamp,
        pacing: &Pacing,
        last_start: Option<Timestamp>,
    ) -> Option<Timestamp> {
        self.until(now, pacing).or_else(|| {
            let last = last_start.filter(|&last| within(last, now, pacing.min_interval))?;
            Some(last.saturating_add(pacing.min_interval))
        })
    }

    /// The end of the last pause, passed or not, as `pacing` bounds it.
    pub(crate) fn pending(&self, pacing: &Pacing) -> Option<Timestamp> {
        self.pause
            .map(|(since, pause)| since.saturating_add(pause.min(pacing.longest_pause())))
    }

    /// Failures in a row so far.
    pub(crate) fn failures(&self) -> u32 {
        self.failures
    }
}

/// Whether less than `wait` has passed since `since`, as of `now`. A clock
/// that went back counts as no time passed; `since == now == MAX` as no
/// time passed either, so saturation never ends a wait early. In whole
/// milliseconds, as instants are: a wait ends exactly at the instant
/// `since.saturating_add(wait)` reports.
pub(crate) fn within(since: Timestamp, now: Timestamp, wait: Duration) -> bool {
    now.saturating_duration_since(since).as_millis() < wait.as_millis()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> Timestamp {
        Timestamp::from_unix_secs(secs)
    }

    #[test]
    fn the_presets_are_valid() {
        for pacing in [
            Pacing::session(),
            Pacing::keeper(),
            Pacing::reissue(),
            Pacing::default(),
        ] {
            assert_eq!(pacing.validate(), Ok(()), "{pacing:?}");
        }
    }

    #[test]
    fn a_back_off_under_a_millisecond_is_refused() {
        for initial_backoff in [
            Duration::ZERO,
            Duration::from_nanos(1),
            Duration::from_micros(999),
        ] {
            let pacing = Pacing {
                initial_backoff,
                min_interval: Duration::ZERO,
                ..Pacing::session()
            };
            assert!(pacing.validate().is_err(), "{initial_backoff:?}");
        }
        let least = Pacing {
            initial_backoff: Pacing::MIN_BACKOFF,
            min_interval: Duration::ZERO,
            ..Pacing::session()
        };
        assert_eq!(least.validate(), Ok(()));
        // The least pause holds at the instant of the failure.
        let mut b = Backoff::default();
        b.fail(at(100), &least, None);
        assert!(b.until(at(100), &least).is_some());
    }

    /// A renewal waits for the pause in force, then for the shortest
    /// interval since the last start, whichever applies first; neither once
    /// both have passed.
    #[test]
    fn a_start_waits_for_the_pause_then_the_interval() {
        let pacing = Pacing {
            min_interval: Duration::from_secs(10),
            ..Pacing::session()
        };
        let mut b = Backoff::default();
        assert_eq!(b.next_start(at(100), &pacing, None), None);
        assert_eq!(b.next_start(at(100), &pacing, Some(at(95))), Some(at(105)));
        assert_eq!(b.next_start(at(105), &pacing, Some(at(95))), None);
        // The pause (1 s) ends before the interval: the interval still holds.
        b.fail(at(100), &pacing, None);
        assert_eq!(b.next_start(at(100), &pacing, Some(at(100))), Some(at(101)));
        assert_eq!(b.next_start(at(101), &pacing, Some(at(100))), Some(at(110)));
        // A server's longer wait comes first.
        b.fail(at(101), &pacing, Some(RetryAfter::Delay(Duration::from_secs(60))));
        assert_eq!(b.next_start(at(101), &pacing, Some(at(100))), Some(at(161)));
        assert_eq!(b.next_start(at(161), &pacing, Some(at(100))), None);
    }

    #[test]
    fn backoff_doubles_and_honours_the_server_within_its_bound() {
        let pacing = Pacing::session();
        let mut b = Backoff::default();
        let mut end = |server| {
            b.fail(at(100), &pacing, server);
            b.pending(&pacing)
        };
        assert_eq!(end(None), Some(at(101)));
        assert_eq!(end(None), Some(at(102)));
        assert_eq!(
            end(Some(RetryAfter::Delay(Duration::from_secs(30)))),
            Some(at(130))
        );
        assert_eq!(
            end(Some(RetryAfter::Delay(Duration::from_secs(u64::MAX)))),
            Some(at(700))
        );
        assert_eq!(end(Some(RetryAfter::At(Timestamp::MAX))), Some(at(700)));
        assert_eq!(b.failures(), 5);
        b.succeed();
        b.fail(at(100), &pacing, None);
        assert_eq!(b.pending(&pacing), Some(at(101)));
    }

    #[test]
    fn a_pause_restarts_when_the_clock_steps_back_and_holds_at_the_end_of_time() {
        let pacing = Pacing::session();
        let mut b = Backoff::default();
        b.fail(at(10_000), &pacing, None);
        // An hour back: the pause lasts its length from the new now.
        assert_eq!(b.until(at(6_400), &pacing), Some(at(6_401)));
        assert_eq!(b.until(at(6_401), &pacing), None);
        b.fail(Timestamp::MAX, &pacing, None);
        assert_eq!(b.until(Timestamp::MAX, &pacing), Some(Timestamp::MAX));
    }

    #[test]
    fn saturated_instants_never_end_a_wait() {
        assert!(within(Timestamp::MAX, Timestamp::MAX, Duration::from_secs(1)));
        assert!(within(at(10), at(5), Duration::from_secs(1)));
        assert!(!within(at(10), at(11), Duration::from_secs(1)));
        // Less than a millisecond is no wait: instants are whole milliseconds.
        assert!(!within(at(10), at(10), Duration::from_nanos(999_999)));
    }
}

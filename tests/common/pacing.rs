//! The pacing rules, written here from `Pacing`'s docs and independent of
//! the crate's own checks: which pacings are valid, when a token is due,
//! and how long a holder may pause or wait. Durations are compared in whole
//! milliseconds, as instants move.
//!
//! Shared by the suites and the fuzz harness (`fuzz/src/harness/mod.rs`
//! includes this file by path), so it uses only `std` and `tokendance`.

use std::time::Duration;

use tokendance::{Pacing, Timestamp};

/// The six fields of `p`, in the order [`from_fields`] takes them.
pub fn fields(p: &Pacing) -> [Duration; 6] {
    [
        p.renew_margin,
        p.renewal_timeout,
        p.min_interval,
        p.initial_backoff,
        p.max_backoff,
        p.max_server_wait,
    ]
}

/// The pacing with these six fields (in the order of [`fields`]).
pub fn from_fields(f: [Duration; 6]) -> Pacing {
    Pacing {
        renew_margin: f[0],
        renewal_timeout: f[1],
        min_interval: f[2],
        initial_backoff: f[3],
        max_backoff: f[4],
        max_server_wait: f[5],
    }
}

/// `pacing` with the field `field % 6` (in the order of [`fields`]) set to `d`.
pub fn with_field(pacing: Pacing, field: usize, d: Duration) -> Pacing {
    let mut f = fields(&pacing);
    f[field % 6] = d;
    from_fields(f)
}

/// The rule for a pacing: a renewal timeout of at least a second, a first
/// back-off that is not zero and not above the longest, and nothing longer
/// than a day.
pub fn is_valid(p: &Pacing) -> bool {
    let day = Duration::from_secs(86_400);
    fields(p).iter().all(|d| *d <= day)
        && p.renewal_timeout >= Duration::from_secs(1)
        && p.initial_backoff >= Duration::from_millis(1)
        && p.max_backoff >= p.initial_backoff
}

/// Whole milliseconds of `d` (what a `Timestamp` can move by).
pub fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// `t` moved `ms` milliseconds on, saturating at `Timestamp::MAX`.
pub fn plus_ms(t: Timestamp, ms: u64) -> Timestamp {
    Timestamp::from_unix_millis(t.as_unix_millis().saturating_add(ms))
}

/// The longest pause a holder paced by `pacing` takes, whoever asks for it.
pub fn longest_pause(pacing: &Pacing) -> Duration {
    pacing.max_backoff.max(pacing.max_server_wait)
}

/// The longest wait a token holder paced by `pacing` may ask for, from the
/// `now` it answers: a renewal out until its timeout, the minimum interval,
/// its own back-off or a server's, each within its bound.
pub fn holder_bound(pacing: &Pacing) -> Duration {
    pacing
        .renewal_timeout
        .max(pacing.min_interval)
        .max(longest_pause(pacing))
}

/// When a token obtained at `obtained` and expiring at `expires` is due for
/// renewal with `margin`: `margin` before expiry, not before half its life.
pub fn renew_at(obtained: Timestamp, expires: Timestamp, margin: Duration) -> Timestamp {
    let e = expires.as_unix_millis();
    let half = e.saturating_sub(obtained.as_unix_millis()) / 2;
    Timestamp::from_unix_millis(e - millis(margin).min(half))
}

/// The least a back-off started at `at` lasts, in milliseconds: the first
/// pause, or the server's wait (asked as the instant `server`) cut to
/// `max_server_wait` if longer; never less than a millisecond, the least
/// step of a clock: a failure is never retried at its own instant.
pub fn least_pause_ms(at: Timestamp, pacing: &Pacing, server: Option<Timestamp>) -> u64 {
    let asked = server.map_or(0, |r| {
        r.as_unix_millis()
            .saturating_sub(at.as_unix_millis())
            .min(millis(pacing.max_server_wait))
    });
    millis(pacing.initial_backoff).max(1).max(asked)
}

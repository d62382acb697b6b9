//! Caller-supplied time.
//!
//! The crate never reads a clock: every call that depends on time takes a
//! [`Timestamp`] argument. A Unix-milliseconds newtype (rather than
//! `std::time::Instant`) can be stored next to a cached token across process
//! restarts, exists on embedded targets, and is trivial to generate in property
//! tests.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch, supplied by the caller.
///
/// All arithmetic saturates: a server that announces a lifetime of
/// `u64::MAX` seconds yields `Timestamp::MAX`, never a panic.
///
/// ```
/// use std::time::Duration;
/// use tokendance::Timestamp;
///
/// let t = Timestamp::from_unix_secs(1_700_000_000);
/// assert_eq!(t.saturating_add(Duration::from_secs(1)).as_unix_millis(), 1_700_000_001_000);
/// assert_eq!(Timestamp::MAX.saturating_add(Duration::from_secs(5)), Timestamp::MAX);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default)]
pub struct Timestamp(u64);

impl Timestamp {
    /// The Unix epoch.
    pub const EPOCH: Timestamp = Timestamp(0);
    /// The latest representable instant; "never" for practical purposes.
    pub const MAX: Timestamp = Timestamp(u64::MAX);

    /// A timestamp from milliseconds since the Unix epoch.
    pub const fn from_unix_millis(ms: u64) -> Self {
        Timestamp(ms)
    }

    /// A timestamp from whole seconds since the Unix epoch (saturating).
    pub const fn from_unix_secs(secs: u64) -> Self {
        Timestamp(secs.saturating_mul(1000))
    }

    /// Converts a `SystemTime` the caller read. Times before the epoch become
    /// the epoch. This is a conversion only: the crate never asks for the time.
    pub fn from_system_time(t: SystemTime) -> Self {
        match t.duration_since(UNIX_EPOCH) {
            Ok(d) => Timestamp(duration_millis(d)),
            Err(_) => Timestamp::EPOCH,
        }
    }

    /// Milliseconds since the Unix epoch.
    pub const fn as_unix_millis(self) -> u64 {
        self.0
    }

    /// `self + d`, saturating at [`Timestamp::MAX`].
    pub fn saturating_add(self, d: Duration) -> Self {
        Timestamp(self.0.saturating_add(duration_millis(d)))
    }

    /// `self - d`, saturating at the epoch.
    pub fn saturating_sub(self, d: Duration) -> Self {
        Timestamp(self.0.saturating_sub(duration_millis(d)))
    }

    /// How long after `earlier` this instant is; zero if it is not later.
    pub fn saturating_duration_since(self, earlier: Timestamp) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }
}

/// A duration in whole milliseconds, saturating at `u64::MAX`.
fn duration_millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Seconds as a `Duration`; never overflows (`Duration` holds `u64` seconds).
pub(crate) fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

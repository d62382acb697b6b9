//! The one instant the suites run at, and the helpers that count from it.
//!
//! Every suite used to define its own `T0` (and its own `at`/`secs`); they
//! all meant "some ordinary instant", so one value here keeps a failure in
//! one suite comparable with another's, and a transcript's `+270s` means the
//! same everywhere. A suite that needs another instant on purpose names it
//! itself and says why.

use std::time::Duration;

use tokendance::Timestamp;

/// [`T0`] in Unix seconds, for the tests that compute with raw numbers
/// (a `Retry-After` date, an `exp` claim, milliseconds in a header).
pub const T0_SECS: u64 = 1_700_000_000;

/// The instant the suites start at: 2023-11-14T22:13:20Z, an ordinary
/// date far from both ends of the range a `Timestamp` can hold.
pub const T0: Timestamp = Timestamp::from_unix_secs(T0_SECS);

/// `secs` seconds after [`T0`].
pub fn at(secs: u64) -> Timestamp {
    T0.saturating_add(Duration::from_secs(secs))
}

/// `ms` milliseconds after [`T0`], for the runs whose latencies are shorter
/// than a second.
pub fn at_ms(ms: u64) -> Timestamp {
    T0.saturating_add(Duration::from_millis(ms))
}

/// `n` seconds, as a `Duration`: short enough to read in a table of cases.
pub fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// `n` milliseconds, as a `Duration`.
pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// An instant as the transcripts print it: relative to [`T0`], in seconds,
/// with milliseconds only when there are some (`+270s`, `+0.040s`, `-1s`),
/// and the two ends of the range by name (`MAX`, `epoch`), so that one
/// format reads the same in every suite that records a run.
pub fn rel(t: Timestamp) -> String {
    if t == Timestamp::MAX {
        return "MAX".to_owned();
    }
    if t == Timestamp::EPOCH {
        return "epoch".to_owned();
    }
    let ms = i128::from(t.as_unix_millis()) - i128::from(T0_SECS) * 1000;
    let sign = if ms < 0 { "-" } else { "+" };
    let ms = ms.abs();
    if ms % 1000 == 0 {
        format!("{sign}{}s", ms / 1000)
    } else {
        format!("{sign}{}.{:03}s", ms / 1000, ms % 1000)
    }
}

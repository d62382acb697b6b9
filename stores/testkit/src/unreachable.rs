//! A store that cannot be reached, and errors that must not show a secret.

use std::fmt::Debug;
use std::time::{Duration, Instant};

use tokendance::fleet::StoreError;

/// How soon a store nobody listens on must say so.
const AT_ONCE: Duration = Duration::from_secs(1);

/// Asserts that `text` (an error's text, a store's `Debug`) does not show
/// `secret`; `what` names it in the failure.
pub fn assert_hides(secret: &str, what: &str, text: &str) {
    assert!(!text.contains(secret), "{what} shows the secret: {text}");
}

/// Runs `attempt` against a store nobody listens on: it must fail with
/// [`StoreError::Unavailable`] in under a second, and neither the error's
/// text nor its `Debug` may show `secret` (the password in its URL).
pub fn assert_unavailable_at_once<T: Debug>(secret: &str, attempt: impl FnOnce() -> Result<T, StoreError>) {
    let started = Instant::now();
    let got = attempt();
    let took = started.elapsed();
    assert!(took < AT_ONCE, "took {took:?}");
    let Err(error) = got else { panic!("{got:?}") };
    assert!(matches!(error, StoreError::Unavailable(_)), "{error:?}");
    assert_hides(secret, "the error", &format!("{error} {error:?}"));
}

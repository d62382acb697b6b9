//! [`Handle`]: how a source reaches the state it shares (a keeper, a
//! session, a `Reissue`), written once for every shared source.

use std::sync::{Arc, Mutex, PoisonError};

/// How a shared source reaches what it drives: `&mut T` for one caller, or
/// `&Mutex<T>` / `Arc<Mutex<T>>` for many callers (threads or tasks) sharing
/// one `T`. The sources lock only inside each step, never while a request
/// or a signature is out, so a plain [`std::sync::Mutex`] serves async
/// tasks too.
///
/// A poisoned lock (another thread panicked while holding it, in code of
/// its own) is taken over: the crate's state machines never panic while
/// locked, so what it guards is consistent.
///
/// ```
/// use std::sync::Mutex;
/// use tokendance::call::Handle;
///
/// let shared = Mutex::new(1);
/// let mut handle = &shared;
/// handle.with(|n| *n += 1);
/// assert_eq!(*shared.lock().unwrap(), 2);
/// ```
pub trait Handle {
    /// What the handle reaches.
    type Target;

    /// Runs `f` on the target (under the lock, for a mutex).
    fn with<R>(&mut self, f: impl FnOnce(&mut Self::Target) -> R) -> R;
}

impl<T> Handle for &mut T {
    type Target = T;
    fn with<R>(&mut self, f: impl FnOnce(&mut T) -> R) -> R {
        f(self)
    }
}

impl<T> Handle for &Mutex<T> {
    type Target = T;
    fn with<R>(&mut self, f: impl FnOnce(&mut T) -> R) -> R {
        f(&mut self.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl<T> Handle for Arc<Mutex<T>> {
    type Target = T;
    fn with<R>(&mut self, f: impl FnOnce(&mut T) -> R) -> R {
        f(&mut self.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

//! [`SharedSource`]: one [`PasswordSession`](crate::oauth2::PasswordSession)
//! or [`Reissue`](super::Reissue) as the token source of many callers.

use std::fmt;

use crate::call::{Handle, TokenSource, TokenStep};
use crate::error::{Error, UsageError};
use crate::flow::{Action, Input};
use crate::secret::AccessToken;
use crate::time::Timestamp;

/// What a [`SharedSource`] can share: a token source that numbers the
/// renewals it starts. Implemented by
/// [`PasswordSession`](crate::oauth2::PasswordSession) and
/// [`Reissue`](super::Reissue); sealed (name it in bounds, e.g.
/// `H: Handle, H::Target: Shareable`; the crate implements it).
///
/// The [`SharedSource`] calls these methods; you need not. A renewal a
/// caller starts is numbered (its *claim*); only the holder of the current
/// claim may answer it. The numbers are the shared state's own, so a claim
/// that outlived its renewal (timed out, replaced) is refused.
pub trait Shareable: TokenSource + sealed::Sealed {
    /// As [`TokenSource::poll_token`], never dropping a renewal another
    /// caller has out; also the claim when this step started a renewal.
    fn poll_claim(&mut self, now: Timestamp) -> (TokenStep, Option<u64>);

    /// Answers the renewal of `claim` with `input`, and the claim if the
    /// renewal goes on. A claim that is no longer current has its input
    /// dropped unread: the answer is a fresh poll.
    fn resume_claim(&mut self, now: Timestamp, claim: u64, input: Input) -> (TokenStep, Option<u64>);

    /// The holder of `claim` gave up (its call was dropped): the renewal
    /// counts as failed when it started, so others need not wait for the
    /// renewal timeout. A claim no longer current changes nothing.
    fn release(&mut self, claim: u64);
}

pub(crate) mod sealed {
    /// Only the crate's sources are [`Shareable`](super::Shareable).
    pub trait Sealed {}

    impl Sealed for crate::oauth2::PasswordSession {}
    impl<F, Fl> Sealed for crate::call::Reissue<F, Fl> {}
}

/// A token source shared by many callers, threads or async tasks: a
/// [`PasswordSession`](crate::oauth2::PasswordSession) or a
/// [`Reissue`](super::Reissue) behind a [`Handle`] (`&Mutex<_>` or
/// `Arc<Mutex<_>>`; `&mut _` works too, for one caller). Build one per
/// call; they all drive the one session.
///
/// * **Single flight**: when the token is due, exactly one caller's poll
///   starts the renewal (a refresh, a password grant, a token flow); the
///   others keep using the still-valid token or get `Wait` until the
///   renewal's timeout at the latest ([`renewal_timeout`](crate::Pacing::renewal_timeout)
///   from when it started), and poll again when it ends.
/// * **Only the sender answers**: the renewal's response (or signature, or
///   failure) is handed to the session only by the source whose request it
///   answers. Input given to any other source, or to one whose renewal was
///   given up meanwhile (timed out, replaced), is dropped unread, and that
///   source polls again.
/// * **The lock is held only inside each step**, never while a request is
///   out; a poisoned lock is taken over ([`Handle`]).
/// * **A source dropped mid-renewal releases it**: its `Drop` reports the
///   renewal failed as of when it started (the session backs off from
///   then, a second at first), so the others do not wait for the renewal
///   timeout.
///
/// ```
/// use std::sync::Mutex;
/// use tokendance::call::{SharedSource, TokenSource};
/// use tokendance::{itc, Action, Password, Timestamp};
///
/// let session = Mutex::new(itc::session(&itc::Config::staging(), "user", Password::new("pw"))?);
/// let now = Timestamp::from_unix_secs(1_000);
/// let (mut first, mut second) = (SharedSource::new(&session), SharedSource::new(&session));
/// // No token yet: the first caller sends the password grant ...
/// assert!(matches!(first.poll_token(now)?, Action::Send(_)));
/// // ... and the second is told to wait, not to send another.
/// assert!(matches!(second.poll_token(now)?, Action::Wait(_)));
/// # Ok::<(), tokendance::Error>(())
/// ```
pub struct SharedSource<H: Handle>
where
    H::Target: Shareable,
{
    handle: H,
    claim: Option<u64>,
}

impl<H: Handle> SharedSource<H>
where
    H::Target: Shareable,
{
    /// A source over `handle`.
    pub fn new(handle: H) -> Self {
        SharedSource { handle, claim: None }
    }

    /// Whether this source holds the renewal under way (it sent the
    /// request that is out).
    pub fn is_renewing(&self) -> bool {
        self.claim.is_some()
    }
}

impl<H: Handle> TokenSource for SharedSource<H>
where
    H::Target: Shareable,
{
    fn poll_token(&mut self, now: Timestamp) -> Result<Action<AccessToken>, Error> {
        // A renewal this source left half-way (its call started over) is released first.
        let stale = self.claim.take();
        let (step, claim) = self.handle.with(|shared| {
            if let Some(claim) = stale {
                shared.release(claim);
            }
            shared.poll_claim(now)
        });
        self.claim = claim;
        step
    }

    fn resume_token(&mut self, now: Timestamp, input: Input) -> Result<Action<AccessToken>, Error> {
        match self.claim.take() {
            Some(claim) => {
                let (step, claim) = self.handle.with(|shared| shared.resume_claim(now, claim, input));
                self.claim = claim;
                step
            }
            // Waiting for another caller's renewal, and the wait failed.
            None if matches!(input, Input::Failed) => Err(Error::Usage(UsageError::Aborted)),
            // Nothing of ours is out: whatever came in is not ours to hand on.
            None => self.poll_token(now),
        }
    }

    fn token_rejected(&mut self, now: Timestamp, token: &AccessToken) {
        self.handle.with(|shared| shared.token_rejected(now, token));
    }
}

impl<H: Handle> Drop for SharedSource<H>
where
    H::Target: Shareable,
{
    fn drop(&mut self) {
        if let Some(claim) = self.claim.take() {
            self.handle.with(|shared| shared.release(claim));
        }
    }
}

impl<H: Handle> fmt::Debug for SharedSource<H>
where
    H::Target: Shareable,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedSource")
            .field("renewing", &self.claim.is_some())
            .finish_non_exhaustive()
    }
}

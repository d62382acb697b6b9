//! Drivers: the run loop, written once, over the caller's closures.
//!
//! A driver is a convenience, not the API: it is the loop from the crate docs
//! with the caller's transport, signer, clock and sleeper plugged in. It has
//! no runtime dependency; the async driver's future is `Send` exactly when the
//! caller's closures and their futures are.

use std::fmt;
use std::future::Future;

use crate::error::Error;
use crate::fleet::{StoreAnswer, StoreError, StoreOp};
use crate::flow::{Action, Flow, Input};
use crate::sign::{SignJob, Signature};
use crate::time::Timestamp;

/// Why a driven flow did not produce its output.
///
/// Non-exhaustive: a driver that learns a new kind of step (a store's, a
/// signer's) may fail in a new way.
#[derive(Debug)]
#[non_exhaustive]
pub enum DriveError<TE, SE> {
    /// The flow failed (the server refused, answered garbage, or misuse).
    Flow(Error),
    /// The caller's transport failed; the flow was told (`Input::Failed`).
    Transport(TE),
    /// The caller's signer failed; the flow was told (`Input::Failed`).
    Signer(SE),
}

impl<TE: fmt::Display, SE: fmt::Display> fmt::Display for DriveError<TE, SE> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DriveError::Flow(e) => write!(f, "{e}"),
            DriveError::Transport(e) => write!(f, "transport failed: {e}"),
            DriveError::Signer(e) => write!(f, "signer failed: {e}"),
        }
    }
}

impl<TE, SE> std::error::Error for DriveError<TE, SE>
where
    TE: std::error::Error + 'static,
    SE: std::error::Error + 'static,
{
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DriveError::Flow(e) => Some(e),
            DriveError::Transport(e) => Some(e),
            DriveError::Signer(e) => Some(e),
        }
    }
}

impl<TE, SE> From<Error> for DriveError<TE, SE> {
    fn from(e: Error) -> Self {
        DriveError::Flow(e)
    }
}

/// The signer error of flows that never sign.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("this flow was not given a signer")]
pub struct NoSigner;

/// A signer for flows that never ask for a signature (every OAuth flow).
pub fn no_signer(_job: &SignJob) -> Result<Signature, NoSigner> {
    Err(NoSigner)
}

/// The async twin of [`no_signer`].
pub async fn no_signer_async(_job: SignJob) -> Result<Signature, NoSigner> {
    Err(NoSigner)
}

/// Runs `flow` to the end with blocking closures.
///
/// * `clock` reads the current time (e.g. `Timestamp::from_system_time(SystemTime::now())`);
/// * `send` performs one HTTP request, **without following redirects**;
/// * `sign` signs a [`SignJob`] (use [`no_signer`] for flows that never sign);
/// * `wait_until` sleeps until the given time.
///
/// ```
/// use tokendance::{drive, gam, ClientSecret, Timestamp};
///
/// let mut flow = gam::client_credentials(&gam::Config::staging(), "my-client",
///     ClientSecret::new("s3cret"), "iam:user-password:update")?;
/// // A canned transport standing in for ureq, reqwest, hyper...
/// let send = |req: http::Request<Vec<u8>>| {
///     assert_eq!(req.uri().path(), "/oauth2/v3/token");
///     Ok::<_, std::io::Error>(http::Response::new(
///         br#"{"access_token":"eyJ...","expires_in":3600,"token_type":"Bearer"}"#.to_vec()))
/// };
/// let token = drive::drive(&mut flow, || Timestamp::from_unix_secs(100), send,
///     drive::no_signer, |_| {}).unwrap();
/// assert_eq!(token.expires_at(), Some(Timestamp::from_unix_secs(3700)));
/// # Ok::<(), tokendance::Error>(())
/// ```
pub fn drive<F, TE, SE>(
    flow: F,
    clock: impl FnMut() -> Timestamp,
    send: impl FnMut(http::Request<Vec<u8>>) -> Result<http::Response<Vec<u8>>, TE>,
    sign: impl FnMut(&SignJob) -> Result<Signature, SE>,
    wait_until: impl FnMut(Timestamp),
) -> Result<F::Output, DriveError<TE, SE>>
where
    F: Flow,
{
    drive_with_store(flow, clock, send, sign, no_store, wait_until)
}

/// The store of flows driven without one: every operation fails, and a
/// [`fleet`](crate::fleet) source without a valid token returns the error.
pub fn no_store(_op: &StoreOp) -> Result<StoreAnswer, StoreError> {
    Err(StoreError::Unavailable(
        "the driver was given no store (use drive_with_store)".to_owned(),
    ))
}

/// [`drive`] with a token store for [`fleet`](crate::fleet) sources:
/// `store` carries out one [`StoreOp`] (read, or compare-and-set) and says
/// what the store did. Its errors go to the flow, which keeps a valid token
/// and backs off, or fails with [`Error::Store`].
pub fn drive_with_store<F, TE, SE>(
    mut flow: F,
    mut clock: impl FnMut() -> Timestamp,
    mut send: impl FnMut(http::Request<Vec<u8>>) -> Result<http::Response<Vec<u8>>, TE>,
    mut sign: impl FnMut(&SignJob) -> Result<Signature, SE>,
    mut store: impl FnMut(&StoreOp) -> Result<StoreAnswer, StoreError>,
    mut wait_until: impl FnMut(Timestamp),
) -> Result<F::Output, DriveError<TE, SE>>
where
    F: Flow,
{
    let mut action = flow.start(clock())?;
    loop {
        let outcome = match action {
            Action::Done(output) => return Ok(output),
            Action::Send(request) => Outcome::Sent(send(request.into_http())),
            Action::Sign(job) => Outcome::Signed(sign(&job)),
            Action::Store(op) => Outcome::Stored(store(&op)),
            Action::Wait(until) => {
                wait_until(until);
                Outcome::Waited
            }
        };
        action = step(&mut flow, clock(), outcome)?;
    }
}

/// Runs `flow` to the end with async closures, on any executor.
///
/// The same contract as [`drive`]. There is no runtime dependency and no
/// boxing: the returned future is `Send` exactly when `F` and the caller's
/// closures and futures are, so it fits tokio's multi-threaded runtime as
/// well as single-threaded and embedded executors.
pub async fn drive_async<F, TE, SE, TF, SF, WF>(
    flow: F,
    clock: impl FnMut() -> Timestamp,
    send: impl FnMut(http::Request<Vec<u8>>) -> TF,
    sign: impl FnMut(SignJob) -> SF,
    wait_until: impl FnMut(Timestamp) -> WF,
) -> Result<F::Output, DriveError<TE, SE>>
where
    F: Flow,
    TF: Future<Output = Result<http::Response<Vec<u8>>, TE>>,
    SF: Future<Output = Result<Signature, SE>>,
    WF: Future<Output = ()>,
{
    let store = |op: StoreOp| async move { no_store(&op) };
    drive_with_store_async(flow, clock, send, sign, store, wait_until).await
}

/// [`drive_async`] with a token store for [`fleet`](crate::fleet) sources
/// (see [`drive_with_store`]).
pub async fn drive_with_store_async<F, TE, SE, TF, SF, OF, WF>(
    mut flow: F,
    mut clock: impl FnMut() -> Timestamp,
    mut send: impl FnMut(http::Request<Vec<u8>>) -> TF,
    mut sign: impl FnMut(SignJob) -> SF,
    mut store: impl FnMut(StoreOp) -> OF,
    mut wait_until: impl FnMut(Timestamp) -> WF,
) -> Result<F::Output, DriveError<TE, SE>>
where
    F: Flow,
    TF: Future<Output = Result<http::Response<Vec<u8>>, TE>>,
    SF: Future<Output = Result<Signature, SE>>,
    OF: Future<Output = Result<StoreAnswer, StoreError>>,
    WF: Future<Output = ()>,
{
    let mut action = flow.start(clock())?;
    loop {
        let outcome = match action {
            Action::Done(output) => return Ok(output),
            Action::Send(request) => Outcome::Sent(send(request.into_http()).await),
            Action::Sign(job) => Outcome::Signed(sign(job).await),
            Action::Store(op) => Outcome::Stored(store(op).await),
            Action::Wait(until) => {
                wait_until(until).await;
                Outcome::Waited
            }
        };
        action = step(&mut flow, clock(), outcome)?;
    }
}

/// Tells the flow its last action failed, then reports the caller's error.
/// What carrying out an action came to, in either driver.
enum Outcome<TE, SE> {
    Sent(Result<http::Response<Vec<u8>>, TE>),
    Signed(Result<Signature, SE>),
    Stored(Result<StoreAnswer, StoreError>),
    Waited,
}

/// The one step both drivers share: the outcome fed back to the flow, or,
/// when the transport or signer failed, `Input::Failed` fed back and their
/// error returned.
fn step<F: Flow, TE, SE>(
    flow: &mut F,
    now: Timestamp,
    outcome: Outcome<TE, SE>,
) -> Result<Action<F::Output>, DriveError<TE, SE>> {
    let input = match outcome {
        Outcome::Sent(Ok(response)) => Input::Response(response),
        Outcome::Signed(Ok(signature)) => Input::Signature(signature),
        Outcome::Waited => Input::Timeout,
        // A store error is the flow's to weigh (a fleet source keeps a
        // valid token), not the driver's to end on.
        Outcome::Stored(result) => Input::Store(result),
        Outcome::Sent(Err(e)) => return Err(abort(flow, now, DriveError::Transport(e))),
        Outcome::Signed(Err(e)) => return Err(abort(flow, now, DriveError::Signer(e))),
    };
    Ok(flow.resume(now, input)?)
}

fn abort<F: Flow, TE, SE>(flow: &mut F, now: Timestamp, err: DriveError<TE, SE>) -> DriveError<TE, SE> {
    // The flow answers `Aborted` (or backs off); the caller's error says more.
    let _ = flow.resume(now, Input::Failed);
    err
}

//! The drivers (`drive::drive`, `drive::drive_async`): every arm of the loop,
//! what the flow is told when the caller's transport or signer fails, the
//! clock and sleeper plumbing, the same results on a tokio current-thread
//! runtime, and a compile-time proof that the async driver's future is
//! `Send` exactly when the caller's pieces are.

use std::cell::Cell;
use std::fmt;
use std::rc::Rc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

mod common;
use common::keycloak;
use tokendance::drive::{self, DriveError, NoSigner};
use tokendance::oauth2::PasswordSession;
use tokendance::{
    gam, itc, Action, ClientSecret, Error, Expect, Flow, Input, InputKind, Password, Purpose,
    ServerErrorKind, SignJob, Signature, SignatureKind, Timestamp, TokenRequest, TokenSet, UsageError,
};

fn t(secs: u64) -> Timestamp {
    Timestamp::from_unix_secs(secs)
}

/// The log of a flow that started at 1000 and got a signature, a timeout
/// and a response, one clock reading apart.
fn every_step_once() -> Vec<Seen> {
    vec![
        Seen::Start(t(1000)),
        Seen::Resume(t(1001), InputKind::Signature),
        Seen::Resume(t(1002), InputKind::Timeout),
        Seen::Resume(t(1003), InputKind::Response),
    ]
}

fn gam_flow() -> TokenRequest {
    gam::client_credentials(
        &gam::Config::staging(),
        "client",
        ClientSecret::new("s3cret"),
        "a:b",
    )
    .unwrap()
}

fn token_response() -> http::Response<Vec<u8>> {
    http::Response::new(br#"{"access_token":"tok","expires_in":3600,"token_type":"Bearer"}"#.to_vec())
}

/// A transport error of the caller's own.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Down(&'static str);

impl fmt::Display for Down {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "down: {}", self.0)
    }
}

impl std::error::Error for Down {}

/// A signer error of the caller's own.
#[derive(Debug, Clone, PartialEq, Eq)]
struct TokenLocked;

impl fmt::Display for TokenLocked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the hardware token is locked")
    }
}

impl std::error::Error for TokenLocked {}

// ---------------------------------------------------------------------------
// A scripted flow that exercises every arm: Sign, then Wait, then a real
// request (borrowed from a GAM flow, since `Outgoing` is built by the crate),
// then Done. It records every input it is given.

const WAIT_UNTIL: Timestamp = Timestamp::from_unix_millis(1_700_000_123_456);
const CHALLENGE: &[u8] = b"challenge-bytes";

#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen {
    Start(Timestamp),
    Resume(Timestamp, InputKind),
}

struct ScriptedFlow {
    inner: TokenRequest,
    step: u8,
    log: Vec<Seen>,
    signature: Option<Signature>,
}

impl ScriptedFlow {
    fn new() -> Self {
        ScriptedFlow {
            inner: gam_flow(),
            step: 0,
            log: Vec::new(),
            signature: None,
        }
    }
}

impl Flow for ScriptedFlow {
    type Output = (TokenSet, Signature);

    fn start(&mut self, now: Timestamp) -> Result<Action<Self::Output>, Error> {
        self.log.push(Seen::Start(now));
        if self.step != 0 {
            return Err(Error::Usage(UsageError::AlreadyStarted));
        }
        self.step = 1;
        Ok(Action::Sign(SignJob::new(
            CHALLENGE.to_vec(),
            SignatureKind::Attached,
            Purpose::TrueApiChallenge,
        )))
    }

    fn resume(&mut self, now: Timestamp, input: Input) -> Result<Action<Self::Output>, Error> {
        self.log.push(Seen::Resume(now, input.kind()));
        let unexpected = |expected, input: &Input| {
            Error::Usage(UsageError::UnexpectedInput {
                expected,
                got: input.kind(),
            })
        };
        match (self.step, input) {
            (9, _) => Err(Error::Usage(UsageError::Finished)),
            (_, Input::Failed) => {
                self.step = 9;
                Err(Error::Usage(UsageError::Aborted))
            }
            (1, Input::Signature(sig)) => {
                self.signature = Some(sig);
                self.step = 2;
                Ok(Action::Wait(WAIT_UNTIL))
            }
            (1, other) => Err(unexpected(Expect::Signature, &other)),
            (2, Input::Timeout) => {
                self.step = 3;
                match self.inner.start(now)? {
                    Action::Send(request) => Ok(Action::Send(request)),
                    _ => unreachable!("a TokenRequest starts with its request"),
                }
            }
            (2, other) => Err(unexpected(Expect::Timeout, &other)),
            (3, input) => match self.inner.resume(now, input)? {
                Action::Done(token) => {
                    self.step = 9;
                    Ok(Action::Done((token, self.signature.take().unwrap())))
                }
                _ => unreachable!("a TokenRequest sends once"),
            },
            _ => unreachable!(),
        }
    }
}

/// A clock that advances one second per reading, and counts its readings.
fn ticking_clock(start: u64) -> (impl FnMut() -> Timestamp, Rc<Cell<u32>>) {
    let reads = Rc::new(Cell::new(0u32));
    let r = reads.clone();
    let clock = move || {
        let n = r.get();
        r.set(n + 1);
        t(start + u64::from(n))
    };
    (clock, reads)
}

#[test]
fn blocking_driver_runs_every_arm() {
    let mut flow = ScriptedFlow::new();
    let (clock, reads) = ticking_clock(1000);
    let mut waited = Vec::new();
    let mut signed = Vec::new();
    let mut sent = 0;
    let (token, signature) = drive::drive(
        &mut flow,
        clock,
        |req| {
            sent += 1;
            assert_eq!(req.uri(), "https://iam-staging.gam.vn/oauth2/v3/token");
            Ok::<_, Down>(token_response())
        },
        |job: &SignJob| {
            signed.push((job.bytes().to_vec(), job.kind(), job.purpose()));
            Ok::<_, TokenLocked>(Signature::from_der(vec![0x30, 0x03, 1, 2, 3]))
        },
        |until| waited.push(until),
    )
    .unwrap();
    assert_eq!(sent, 1);
    assert_eq!(
        signed,
        vec![(
            CHALLENGE.to_vec(),
            SignatureKind::Attached,
            Purpose::TrueApiChallenge
        )]
    );
    assert_eq!(waited, vec![WAIT_UNTIL], "wait_until gets the flow's instant");
    assert_eq!(signature.as_der(), &[0x30, 0x03, 1, 2, 3]);
    // The clock is read once per call into the flow, and each call gets a fresh reading.
    assert_eq!(reads.get(), 4);
    assert_eq!(flow.log, every_step_once());
    // The token's life is counted from the `now` the request was emitted at.
    assert_eq!(token.obtained_at(), t(1002));
    assert_eq!(token.expires_at(), Some(t(1002 + 3600)));
    // The flow is finished.
    assert_eq!(
        flow.resume(t(2000), Input::Timeout).unwrap_err(),
        Error::Usage(UsageError::Finished)
    );
}

#[test]
fn signer_error_is_reported_and_the_flow_is_told() {
    let mut flow = ScriptedFlow::new();
    let (clock, reads) = ticking_clock(50);
    let mut sent = 0;
    let err = drive::drive(
        &mut flow,
        clock,
        |_| {
            sent += 1;
            Ok::<_, Down>(token_response())
        },
        |_: &SignJob| Err::<Signature, _>(TokenLocked),
        |_| panic!("no wait after a failed signature"),
    )
    .unwrap_err();
    assert!(matches!(err, DriveError::Signer(TokenLocked)), "{err:?}");
    assert_eq!(err.to_string(), "signer failed: the hardware token is locked");
    assert_eq!(sent, 0);
    assert_eq!(
        flow.log,
        vec![Seen::Start(t(50)), Seen::Resume(t(51), InputKind::Failed)]
    );
    assert_eq!(reads.get(), 2);
    // The source chain reaches the caller's error.
    let source = std::error::Error::source(&err).unwrap();
    assert_eq!(source.to_string(), "the hardware token is locked");
}

#[test]
fn no_signer_refuses_and_ends_the_flow() {
    let job = SignJob::new(b"x".to_vec(), SignatureKind::Detached, Purpose::MdlpCode);
    assert_eq!(drive::no_signer(&job), Err(NoSigner));
    assert_eq!(NoSigner.to_string(), "this flow was not given a signer");
    let mut flow = ScriptedFlow::new();
    let err = drive::drive(
        &mut flow,
        || t(7),
        |_| Ok::<_, Down>(token_response()),
        drive::no_signer,
        |_| {},
    )
    .unwrap_err();
    assert!(matches!(err, DriveError::Signer(NoSigner)), "{err:?}");
    assert_eq!(flow.log.last(), Some(&Seen::Resume(t(7), InputKind::Failed)));

    // The async twin, polled to completion without any runtime.
    let r = block_on_ready(drive::no_signer_async(job));
    assert_eq!(r, Err(NoSigner));

    // A flow that never signs does not mind having no signer.
    let token = drive::drive(
        gam_flow(),
        || t(7),
        |_| Ok::<_, Down>(token_response()),
        drive::no_signer,
        |_| {},
    )
    .unwrap();
    assert_eq!(token.access_token().expose_secret(), "tok");
}

#[test]
fn transport_error_ends_a_one_shot_flow_for_good() {
    let mut flow = gam_flow();
    let mut attempts = 0;
    let err = drive::drive(
        &mut flow,
        || t(10),
        |_| {
            attempts += 1;
            Err::<http::Response<Vec<u8>>, _>(Down("connection reset"))
        },
        drive::no_signer,
        |_| {},
    )
    .unwrap_err();
    assert_eq!(attempts, 1);
    assert!(
        matches!(&err, DriveError::Transport(Down("connection reset"))),
        "{err:?}"
    );
    assert_eq!(err.to_string(), "transport failed: down: connection reset");
    // The flow was told (Input::Failed): it is finished and never sends again.
    assert_eq!(flow.start(t(11)).unwrap_err(), Error::Usage(UsageError::Finished));
    assert_eq!(
        flow.resume(t(11), Input::Response(token_response())).unwrap_err(),
        Error::Usage(UsageError::Finished)
    );
    // Driving it again fails at once, without calling the transport.
    let err = drive::drive(
        &mut flow,
        || t(12),
        |_| -> Result<_, Down> { panic!("a finished flow must not send") },
        drive::no_signer,
        |_| {},
    )
    .unwrap_err();
    assert!(
        matches!(err, DriveError::Flow(Error::Usage(UsageError::Finished))),
        "{err:?}"
    );
}

#[test]
fn server_refusal_is_a_flow_error() {
    let err = drive::drive(
        gam_flow(),
        || t(10),
        |_| Ok::<_, Down>(http::Response::builder().status(403).body(Vec::new()).unwrap()),
        drive::no_signer,
        |_| {},
    )
    .unwrap_err();
    let DriveError::Flow(e) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(e.as_server().unwrap().kind, ServerErrorKind::Forbidden);
    assert_eq!(err.to_string(), e.to_string());
    assert!(std::error::Error::source(&err).is_some());
}

fn itc_session() -> PasswordSession {
    itc::session(&itc::Config::staging(), "user", Password::new("pw")).unwrap()
}

#[test]
fn transport_error_makes_a_session_back_off() {
    let mut session = itc_session();
    let err = drive::drive(
        session.fetch(),
        || t(100),
        |_| Err::<http::Response<Vec<u8>>, _>(Down("timeout")),
        drive::no_signer,
        |_| {},
    )
    .unwrap_err();
    assert!(matches!(err, DriveError::Transport(Down("timeout"))));
    // The session was told: nothing in flight, backing off.
    assert_eq!(session.in_flight(), None);
    assert!(!session.has_ended());
    assert_eq!(session.next_deadline(), Some(t(101)), "a 1 s first back-off");
    // Driving again inside the back-off waits until its end, then sends once.
    let now = Cell::new(t(100));
    let mut waits = Vec::new();
    let mut sends = 0;
    let token = drive::drive(
        session.fetch(),
        || now.get(),
        |_| {
            sends += 1;
            Ok::<_, Down>(keycloak::token("kc", "r"))
        },
        drive::no_signer,
        |until| {
            waits.push(until);
            now.set(until);
        },
    )
    .unwrap();
    assert_eq!(waits, vec![t(101)]);
    assert_eq!(sends, 1);
    assert_eq!(token.expose_secret(), "kc");
    // A fresh token: the next fetch sends nothing.
    let token = drive::drive(
        session.fetch(),
        || t(200),
        |_| -> Result<_, Down> { panic!("no request while the token is fresh") },
        drive::no_signer,
        |_| panic!("no wait"),
    )
    .unwrap();
    assert_eq!(token.expose_secret(), "kc");
}

// ---------------------------------------------------------------------------
// The async driver.

/// Polls a future that never really waits (every future in this file is
/// ready at once), without any runtime.
fn block_on_ready<F: std::future::Future>(fut: F) -> F::Output {
    let mut fut = std::pin::pin!(fut);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match fut.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(v) => v,
        std::task::Poll::Pending => panic!("the future was not ready"),
    }
}

#[tokio::test]
async fn async_driver_gives_the_same_results() {
    // Every arm, with real awaits on the runtime's timer-free yield.
    let mut flow = ScriptedFlow::new();
    let (clock, reads) = ticking_clock(1000);
    let waited = Rc::new(Cell::new(None));
    let w = waited.clone();
    let (token, signature) = drive::drive_async(
        &mut flow,
        clock,
        |req: http::Request<Vec<u8>>| async move {
            tokio::task::yield_now().await;
            assert_eq!(req.uri().path(), "/oauth2/v3/token");
            Ok::<_, Down>(token_response())
        },
        |job: SignJob| async move {
            tokio::task::yield_now().await;
            assert_eq!(job.bytes(), CHALLENGE);
            Ok::<_, TokenLocked>(Signature::from_der(vec![0x30, 0x03, 1, 2, 3]))
        },
        move |until| {
            w.set(Some(until));
            tokio::task::yield_now()
        },
    )
    .await
    .unwrap();
    assert_eq!(waited.get(), Some(WAIT_UNTIL));
    assert_eq!(signature.as_der(), &[0x30, 0x03, 1, 2, 3]);
    assert_eq!(reads.get(), 4);
    assert_eq!(token.obtained_at(), t(1002));
    assert_eq!(token.expires_at(), Some(t(1002 + 3600)));
    assert_eq!(flow.log, every_step_once());

    // Signer failure.
    let mut flow = ScriptedFlow::new();
    let err = drive::drive_async(
        &mut flow,
        || t(5),
        |_| async { Ok::<_, Down>(token_response()) },
        |_| async { Err::<Signature, _>(TokenLocked) },
        |_| async {},
    )
    .await
    .unwrap_err();
    assert!(matches!(err, DriveError::Signer(TokenLocked)));
    assert_eq!(flow.log.last(), Some(&Seen::Resume(t(5), InputKind::Failed)));

    // no_signer_async on a flow that signs.
    let mut flow = ScriptedFlow::new();
    let err = drive::drive_async(
        &mut flow,
        || t(5),
        |_| async { Ok::<_, Down>(token_response()) },
        drive::no_signer_async,
        |_| async {},
    )
    .await
    .unwrap_err();
    assert!(matches!(err, DriveError::Signer(NoSigner)));

    // Transport failure: the one-shot flow is finished.
    let mut flow = gam_flow();
    let err = drive::drive_async(
        &mut flow,
        || t(5),
        |_| async { Err::<http::Response<Vec<u8>>, _>(Down("refused")) },
        drive::no_signer_async,
        |_| async {},
    )
    .await
    .unwrap_err();
    assert!(matches!(err, DriveError::Transport(Down("refused"))));
    assert_eq!(flow.start(t(6)).unwrap_err(), Error::Usage(UsageError::Finished));

    // Transport failure on a session: it backs off, nothing left in flight.
    let mut session = itc_session();
    let err = drive::drive_async(
        session.fetch(),
        || t(100),
        |_| async { Err::<http::Response<Vec<u8>>, _>(Down("refused")) },
        drive::no_signer_async,
        |_| async {},
    )
    .await
    .unwrap_err();
    assert!(matches!(err, DriveError::Transport(_)));
    assert_eq!(session.in_flight(), None);
    assert_eq!(session.next_deadline(), Some(t(101)));

    // A server refusal.
    let err = drive::drive_async(
        gam_flow(),
        || t(5),
        |_| async { Ok::<_, Down>(http::Response::builder().status(401).body(Vec::new()).unwrap()) },
        drive::no_signer_async,
        |_| async {},
    )
    .await
    .unwrap_err();
    let DriveError::Flow(e) = err else { panic!() };
    assert_eq!(e.status(), Some(http::StatusCode::UNAUTHORIZED));
}

#[test]
fn async_driver_needs_no_runtime() {
    let token = block_on_ready(drive::drive_async(
        gam_flow(),
        || t(1),
        |_| async { Ok::<_, Down>(token_response()) },
        drive::no_signer_async,
        |_| async {},
    ))
    .unwrap();
    assert_eq!(token.expires_at(), Some(t(3601)));
}

// ---------------------------------------------------------------------------
// `Send`-ness of the async driver's future.

fn assert_send<T: Send>(_: &T) {}

/// Compile-time proof: with `Send` closures and futures (and a `Send` flow),
/// the driver's future is `Send`, so it can be spawned on a multi-threaded
/// runtime. If the driver held anything `!Send` across an await (an `Rc`, a
/// `RefCell` borrow, a boxed `dyn Future` without `+ Send`), this would stop
/// compiling.
#[test]
fn async_driver_future_is_send_with_send_parts() {
    let calls = Arc::new(AtomicU32::new(0));
    let log = Arc::new(Mutex::new(Vec::new()));
    let c = calls.clone();
    let l = log.clone();
    let mut session = itc_session();
    let fut = drive::drive_async(
        session.fetch(),
        || t(1),
        move |req: http::Request<Vec<u8>>| {
            let c = c.clone();
            async move {
                c.fetch_add(1, Ordering::SeqCst);
                drop(req);
                Ok::<_, Down>(keycloak::token("kc", "r"))
            }
        },
        drive::no_signer_async,
        move |until| {
            l.lock().unwrap().push(until);
            async {}
        },
    );
    assert_send(&fut);
    let token = block_on_ready(fut).unwrap();
    assert_eq!(token.expose_secret(), "kc");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert!(log.lock().unwrap().is_empty());

    // The same for a one-shot flow moved into the driver.
    let fut = drive::drive_async(
        gam_flow(),
        || t(1),
        |_| async { Ok::<_, Down>(token_response()) },
        |_| async { Err::<Signature, _>(TokenLocked) },
        |_| async {},
    );
    assert_send(&fut);
    assert!(block_on_ready(fut).is_ok());
}

/// The negative half. Without `trybuild` a "does not compile" test cannot
/// be written, so this shows the other side of "exactly when": a transport
/// whose future holds an `Rc` across an `.await` makes the driver's future
/// `!Send` (`assert_send(&fut)` would be rejected here with "`Rc<Cell<u32>>`
/// cannot be sent between threads safely"), yet the driver accepts it,
/// because it puts no `Send` bound on anything, and it runs on a
/// current-thread runtime, on a `LocalSet`, or with no runtime at all. A
/// driver with `+ Send` bounds would refuse this code.
#[tokio::test]
async fn async_driver_accepts_non_send_parts() {
    let counter = Rc::new(Cell::new(0u32));
    let c = counter.clone();
    let fut = drive::drive_async(
        gam_flow(),
        || t(1),
        move |_req| {
            let c = c.clone();
            async move {
                tokio::task::yield_now().await; // the Rc lives across this await
                c.set(c.get() + 1);
                Ok::<_, Down>(token_response())
            }
        },
        drive::no_signer_async,
        |_| async {},
    );
    // assert_send(&fut); // does not compile: the future is !Send.
    let local = tokio::task::LocalSet::new();
    let token = local.run_until(fut).await.unwrap();
    assert_eq!(token.access_token().expose_secret(), "tok");
    assert_eq!(counter.get(), 1);

    // And spawned as a local task, which also needs no `Send`.
    let c = counter.clone();
    let handle = local.spawn_local(drive::drive_async(
        gam_flow(),
        || t(1),
        move |_req| {
            let c = c.clone();
            async move {
                c.set(c.get() + 1);
                Ok::<_, Down>(token_response())
            }
        },
        drive::no_signer_async,
        |_| async {},
    ));
    let token = local.run_until(handle).await.unwrap().unwrap();
    assert_eq!(token.expires_at(), Some(t(3601)));
    assert_eq!(counter.get(), 2);
}

//! `call::SharedSource`: one ITC `PasswordSession` or one `Reissue` shared
//! by many callers through `&Mutex` / `Arc<Mutex>`, on real threads and on
//! tokio tasks. The oracle counts the token requests the servers see:
//! exactly one renewal when the token is due, however many callers. Each
//! token request is held out until every other caller has gone past its
//! poll, so a second renewal, if the sources allowed one, would be sent.
//! Also: only the sender's answer is taken, a source dropped mid-renewal
//! releases it, and a poisoned lock is taken over.
#![cfg(feature = "fake")]

mod common;

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::holders::{itc_config, itc_session};
use common::keycloak;
use tokendance::call::{Authorized, Handle, Reissue, Scheme, Shareable, SharedSource, TokenSource};
use tokendance::fake::{self, Fake, Keycloak};
use tokendance::oauth2::PasswordSession;
use tokendance::{drive, gam, itc, Action, ClientSecret, Input, Pacing, Timestamp, TokenRequest};

/// Callers sharing one session.
const CALLERS: usize = 8;

const T0: u64 = 1_700_000_000;

fn at(secs: u64) -> Timestamp {
    Timestamp::from_unix_secs(T0 + secs)
}

/// Spins (sleeping a millisecond at a time) until `done`, for at most two
/// seconds: long enough for every caller to reach its poll, short enough
/// that a test whose callers never get there fails quickly.
fn wait_for(done: impl Fn() -> bool) {
    let give_up = Instant::now() + Duration::from_secs(2);
    while !done() && Instant::now() < give_up {
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Counts a caller's waits: the first one in `waiters`; more than a few
/// thousand (the clock stands still) means it would wait forever.
fn note_wait(waited: &mut u32, waiters: &AtomicUsize) {
    if *waited == 0 {
        waiters.fetch_add(1, Ordering::SeqCst);
    }
    *waited += 1;
    assert!(*waited < 5_000, "a caller waits forever");
}

fn is_token_request(request: &http::Request<Vec<u8>>) -> bool {
    let path = request.uri().path();
    path.ends_with("/openid-connect/token") || path.ends_with("/oauth2/v3/token")
}

/// What the callers did, counted as they did it.
#[derive(Default)]
struct Seen {
    token_requests: AtomicUsize,
    api_calls: AtomicUsize,
    /// Callers told to wait at least once.
    waiters: AtomicUsize,
}

impl Seen {
    fn token_requests(&self) -> usize {
        self.token_requests.load(Ordering::SeqCst)
    }

    /// Counts a token request, and how many so far. More than one per
    /// caller means callers renew in turn, each dropping the others'
    /// answers: the run is stopped there rather than left to spin.
    fn count_token_request(&self) -> usize {
        let n = self.token_requests.fetch_add(1, Ordering::SeqCst) + 1;
        assert!(n <= CALLERS, "{n} token requests from {CALLERS} callers");
        n
    }
}

/// A session of the staging user that signed in at `at(0)` (300 s access
/// token, 1800 s refresh token, renewed 30 s before expiry).
fn signed_in(realm: &mut Keycloak) -> PasswordSession {
    let mut session = itc_session();
    let now = at(0);
    drive::drive(
        session.fetch(),
        || now,
        |req| Ok::<_, Infallible>(realm.handle(now, &req)),
        drive::no_signer,
        |_| {},
    )
    .unwrap();
    assert_eq!(realm.grants().password, 1);
    session
}

/// A session that signed in at `at(0)`, then `CALLERS` threads, each
/// looking a citizen up at `now` through its own `SharedSource` over it. A
/// token request is held until the other callers have gone past their
/// poll: `others_done` says when. The realm must have seen exactly one
/// refresh, and no second password grant.
fn lookups_on_threads(now: Timestamp, others_done: impl Fn(&Seen) -> bool + Sync) -> Seen {
    let mut realm = Keycloak::itc_staging();
    let session = &Mutex::new(signed_in(&mut realm));
    let realm = &Mutex::new(realm);
    let seen = Seen::default();
    let timeout = session.lock().unwrap().pacing().renewal_timeout;
    std::thread::scope(|scope| {
        for _ in 0..CALLERS {
            scope.spawn(|| {
                let call =
                    itc::consumer(&itc_config(), fake::ITC_TEST_REG_NO, SharedSource::new(session)).unwrap();
                let mut waited = 0;
                let found = drive::drive(
                    call,
                    || now,
                    |req| {
                        if is_token_request(&req) {
                            seen.count_token_request();
                            wait_for(|| others_done(&seen));
                        } else {
                            seen.api_calls.fetch_add(1, Ordering::SeqCst);
                        }
                        Ok::<_, Infallible>(realm.lock().unwrap().handle(now, &req))
                    },
                    drive::no_signer,
                    |until| {
                        // Told to wait: bounded by the renewal timeout, then poll again.
                        assert!(until > now && until <= now.saturating_add(timeout), "{until:?}");
                        note_wait(&mut waited, &seen.waiters);
                        std::thread::sleep(Duration::from_millis(1));
                    },
                )
                .unwrap();
                assert!(found.is_some());
            });
        }
    });
    assert_eq!(seen.token_requests(), 1);
    let grants = realm.lock().unwrap().grants();
    assert_eq!((grants.password, grants.refresh), (1, 1));
    seen
}

#[test]
fn threads_sharing_a_due_session_send_one_refresh_and_keep_using_the_valid_token() {
    // Due (renewed from 270 s) but valid until 300 s.
    let seen = lookups_on_threads(at(275), |seen| {
        seen.api_calls.load(Ordering::SeqCst) >= CALLERS - 1
    });
    assert_eq!(seen.api_calls.load(Ordering::SeqCst), CALLERS);
    assert_eq!(seen.waiters.load(Ordering::SeqCst), 0, "a valid token was held");
}

#[test]
fn threads_sharing_an_expired_session_wait_for_the_one_refresh() {
    // The access token expired at 300 s; the refresh token lives to 1800 s.
    let seen = lookups_on_threads(at(400), |seen| seen.waiters.load(Ordering::SeqCst) >= CALLERS - 1);
    assert_eq!(seen.waiters.load(Ordering::SeqCst), CALLERS - 1);
}

/// A `Reissue` over GAM client credentials, its flow built from owned parts
/// so that threads can share it.
type GamReissue = Reissue<Box<dyn FnMut() -> Result<TokenRequest, tokendance::Error> + Send>, TokenRequest>;

fn gam_reissue() -> GamReissue {
    Reissue::new(Box::new(|| {
        gam::client_credentials(
            &gam::Config::staging(),
            "shop",
            ClientSecret::new("s3cret"),
            "orders:read",
        )
    }))
}

fn gam_ping() -> http::Request<Vec<u8>> {
    http::Request::get("https://api.gam.test/api/v1/ping")
        .body(Vec::new())
        .unwrap()
}

#[test]
fn threads_sharing_a_reissue_run_its_token_flow_once() {
    let reissue = Arc::new(Mutex::new(gam_reissue()));
    let seen = Seen::default();
    let now = at(0);
    std::thread::scope(|scope| {
        for _ in 0..CALLERS {
            let reissue = Arc::clone(&reissue);
            let seen = &seen;
            scope.spawn(move || {
                let call = Authorized::new(SharedSource::new(reissue), gam_ping(), Scheme::Bearer).unwrap();
                let mut waited = 0;
                let response = drive::drive(
                    call,
                    || now,
                    |req| {
                        if !is_token_request(&req) {
                            assert_eq!(req.headers()["authorization"], "Bearer gam-1");
                            seen.api_calls.fetch_add(1, Ordering::SeqCst);
                            return Ok::<_, Infallible>(http::Response::new(b"{}".to_vec()));
                        }
                        let n = seen.count_token_request();
                        wait_for(|| seen.waiters.load(Ordering::SeqCst) >= CALLERS - 1);
                        let body = format!(r#"{{"access_token":"gam-{n}","expires_in":3600}}"#);
                        Ok(http::Response::new(body.into_bytes()))
                    },
                    drive::no_signer,
                    |until| {
                        assert!(
                            until > now && until <= now.saturating_add(Pacing::reissue().renewal_timeout)
                        );
                        note_wait(&mut waited, &seen.waiters);
                        std::thread::sleep(Duration::from_millis(1));
                    },
                )
                .unwrap();
                assert_eq!(response.body(), b"{}");
            });
        }
    });
    assert_eq!(seen.token_requests(), 1);
    assert_eq!(seen.api_calls.load(Ordering::SeqCst), CALLERS);
}

#[tokio::test]
async fn tokio_tasks_sharing_a_session_send_one_refresh() {
    let mut realm = Keycloak::itc_staging();
    let session = Arc::new(Mutex::new(signed_in(&mut realm)));
    let realm = Arc::new(Mutex::new(realm));
    let seen = Arc::new(Seen::default());
    let now = at(400);
    let tasks: Vec<_> = (0..CALLERS)
        .map(|_| {
            let (session, realm, seen) = (Arc::clone(&session), Arc::clone(&realm), Arc::clone(&seen));
            tokio::spawn(async move {
                let call =
                    itc::consumer(&itc_config(), fake::ITC_TEST_REG_NO, SharedSource::new(session)).unwrap();
                let mut waited = 0;
                let sleeper = Arc::clone(&seen);
                drive::drive_async(
                    call,
                    || now,
                    |req| {
                        let (realm, seen) = (Arc::clone(&realm), Arc::clone(&seen));
                        async move {
                            if is_token_request(&req) {
                                seen.count_token_request();
                                // Let every other task reach its poll first.
                                for _ in 0..10_000 {
                                    if seen.waiters.load(Ordering::SeqCst) >= CALLERS - 1 {
                                        break;
                                    }
                                    tokio::task::yield_now().await;
                                }
                            }
                            let response = realm.lock().unwrap().handle(now, &req);
                            Ok::<_, Infallible>(response)
                        }
                    },
                    drive::no_signer_async,
                    |until| {
                        assert!(until > now && until <= now.saturating_add(Duration::from_secs(60)));
                        note_wait(&mut waited, &sleeper.waiters);
                        tokio::task::yield_now()
                    },
                )
                .await
                .unwrap()
            })
        })
        .collect();
    for task in tasks {
        assert!(task.await.unwrap().is_some());
    }
    assert_eq!(seen.token_requests(), 1);
    assert_eq!(seen.waiters.load(Ordering::SeqCst), CALLERS - 1);
    let grants = realm.lock().unwrap().grants();
    assert_eq!((grants.password, grants.refresh), (1, 1));
}

/// The first source's request, the second's poll at the same instant.
fn claimed_then_waiting<H>(
    first: &mut SharedSource<H>,
    second: &mut SharedSource<H>,
    now: Timestamp,
) -> Timestamp
where
    H: Handle,
    H::Target: Shareable,
{
    assert!(matches!(first.poll_token(now).unwrap(), Action::Send(_)));
    assert!(first.is_renewing());
    let Action::Wait(until) = second.poll_token(now).unwrap() else {
        panic!("one renewal at a time")
    };
    assert!(!second.is_renewing());
    until
}

#[test]
fn a_source_dropped_mid_renewal_releases_it() {
    let session = Mutex::new(itc_session());
    let timeout = Pacing::session().renewal_timeout;
    let (mut first, mut second) = (SharedSource::new(&session), SharedSource::new(&session));
    let until = claimed_then_waiting(&mut first, &mut second, at(0));
    assert_eq!(until, at(0).saturating_add(timeout));
    drop(first);
    // Released: counted as failed when it was sent, so the second caller
    // waits the first back-off (1 s), not the renewal timeout (60 s) ...
    let Action::Wait(until) = second.poll_token(at(0)).unwrap() else {
        panic!("backing off")
    };
    assert_eq!(until, at(1));
    // ... and then sends.
    assert!(matches!(second.poll_token(at(1)).unwrap(), Action::Send(_)));

    let reissue = Mutex::new(gam_reissue());
    let (mut first, mut second) = (SharedSource::new(&reissue), SharedSource::new(&reissue));
    let until = claimed_then_waiting(&mut first, &mut second, at(0));
    assert_eq!(until, at(0).saturating_add(Pacing::reissue().renewal_timeout));
    drop(first);
    let Action::Wait(until) = second.poll_token(at(0)).unwrap() else {
        panic!("backing off")
    };
    assert_eq!(until, at(1));
    assert!(matches!(second.poll_token(at(1)).unwrap(), Action::Send(_)));
}

#[test]
fn only_the_sender_hands_its_answer_to_the_session() {
    let session = Mutex::new(itc_session());
    let (mut first, mut second) = (SharedSource::new(&session), SharedSource::new(&session));
    claimed_then_waiting(&mut first, &mut second, at(0));
    // A caller that sent nothing cannot feed an answer: it is dropped unread.
    let forged = keycloak::token("forged-access", "forged-refresh");
    assert!(matches!(
        second.resume_token(at(0), Input::Response(forged)).unwrap(),
        Action::Wait(_)
    ));
    assert!(session.lock().unwrap().tokens().is_none());
    assert!(session.lock().unwrap().in_flight().is_some());

    // The first request is lost (60 s); the second caller sends another.
    let lost = at(61);
    assert!(matches!(second.poll_token(lost).unwrap(), Action::Wait(_)));
    assert!(matches!(second.poll_token(at(62)).unwrap(), Action::Send(_)));
    // The first request's late answer is not taken for the second's.
    let late = keycloak::token("late-access", "late-refresh");
    assert!(matches!(
        first.resume_token(at(62), Input::Response(late)).unwrap(),
        Action::Wait(_)
    ));
    assert!(session.lock().unwrap().tokens().is_none());
    // The second's is.
    let Action::Done(token) = second
        .resume_token(at(62), Input::Response(keycloak::token("kc-a2", "kc-r2")))
        .unwrap()
    else {
        panic!("the sender's answer is the session's")
    };
    assert_eq!(token.expose_secret(), "kc-a2");
    let Action::Done(token) = first.poll_token(at(63)).unwrap() else {
        panic!("everyone uses it")
    };
    assert_eq!(token.expose_secret(), "kc-a2");
}

#[test]
fn a_stale_reissue_answer_is_not_taken() {
    let reissue = Mutex::new(gam_reissue());
    let (mut first, mut second) = (SharedSource::new(&reissue), SharedSource::new(&reissue));
    claimed_then_waiting(&mut first, &mut second, at(0));
    let answer = |token: &str| {
        http::Response::new(format!(r#"{{"access_token":"{token}","expires_in":3600}}"#).into_bytes())
    };
    assert!(matches!(
        second
            .resume_token(at(0), Input::Response(answer("forged")))
            .unwrap(),
        Action::Wait(_)
    ));
    assert!(reissue.lock().unwrap().token().is_none());
    // Lost after the renewal timeout: the second caller runs the flow again.
    let lost = at(0).saturating_add(Pacing::reissue().renewal_timeout);
    assert!(matches!(second.poll_token(lost).unwrap(), Action::Wait(_)));
    let retry = lost.saturating_add(Duration::from_secs(1));
    assert!(matches!(second.poll_token(retry).unwrap(), Action::Send(_)));
    assert!(matches!(
        first
            .resume_token(retry, Input::Response(answer("late")))
            .unwrap(),
        Action::Wait(_)
    ));
    assert!(reissue.lock().unwrap().token().is_none());
    let Action::Done(token) = second
        .resume_token(retry, Input::Response(answer("gam-2")))
        .unwrap()
    else {
        panic!("the sender's answer is taken")
    };
    assert_eq!(token.expose_secret(), "gam-2");
}

#[test]
fn a_poisoned_lock_is_taken_over() {
    let session = Arc::new(Mutex::new(itc_session()));
    let poisoner = Arc::clone(&session);
    let _ = std::thread::spawn(move || {
        let _held = poisoner.lock().unwrap();
        panic!("a caller's own code panicked while holding the lock");
    })
    .join();
    assert!(session.is_poisoned());
    let mut source = SharedSource::new(Arc::clone(&session));
    assert!(matches!(source.poll_token(at(0)).unwrap(), Action::Send(_)));
    let Action::Done(token) = source
        .resume_token(at(0), Input::Response(keycloak::token("kc-a1", "kc-r1")))
        .unwrap()
    else {
        panic!("the answer is taken")
    };
    assert_eq!(token.expose_secret(), "kc-a1");
}

#[test]
fn a_shared_source_prints_no_token() {
    let session = Mutex::new(itc_session());
    let mut source = SharedSource::new(&session);
    let _ = source.poll_token(at(0)).unwrap();
    let printed = format!("{source:?}");
    assert_eq!(printed, "SharedSource { renewing: true, .. }");
    let _ = source
        .resume_token(at(0), Input::Response(keycloak::token("kc-a1", "kc-r1")))
        .unwrap();
    assert!(!format!("{source:?}").contains("kc-"));
}

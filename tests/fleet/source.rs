//! `FleetSource`: the keeper and a renewal flow as one token source, driven
//! through `Authorized` calls and the drivers against the fakes.

use std::cell::RefCell;
use std::convert::Infallible;
use std::time::Duration;

use tokendance::call::TokenSource;
use tokendance::crpt::{true_api, TrueApiStand};
use tokendance::fake::{self, Crpt, Fake, Gam};
use tokendance::fleet::{
    FleetKeeper, FleetSettings, FleetSource, MemoryStore, StoreAnswer, StoreError, StoreOp, StoreOpKind,
};
use tokendance::{drive, gam, Action, ClientSecret, Endpoint, Error, Input, Timestamp, TokenSet};

const T0: Timestamp = Timestamp::from_unix_secs(1_700_000_000);
const CONN: &str = "11B1ABC9-F4EE-47DB-8A20-F80AC83504E8";

fn gam_config() -> gam::Config {
    gam::Config::new(
        Endpoint::parse("https://iam.fake").unwrap(),
        Endpoint::parse("https://gateway.fake/oms").unwrap(),
    )
}

fn gam_server() -> Gam {
    let mut server = Gam::new();
    server.add_client("shop", "s3cret", &["orders:read"]);
    server.set_partner_code("shop", "SHOP01");
    server
}

type GamFlow = tokendance::TokenRequest;

fn gam_source(
    holder: &str,
    secret: &'static str,
) -> FleetSource<impl FnMut(Option<&TokenSet>) -> Result<GamFlow, Error>, GamFlow> {
    let keeper = FleetKeeper::new("gam:shop", holder, FleetSettings::default()).unwrap();
    let config = gam_config();
    FleetSource::new(keeper, move |_| {
        gam::client_credentials(&config, "shop", ClientSecret::new(secret), "orders:read")
    })
}

/// One business call of `source`, driven against `server` and `store`.
fn call<S: TokenSource>(
    source: S,
    server: &RefCell<Gam>,
    store: &RefCell<MemoryStore>,
    now: Timestamp,
) -> Result<(), drive::DriveError<Infallible, drive::NoSigner>> {
    call_with(source, server, now, |op| Ok(store.borrow_mut().apply(op)))
}

/// One business call, with whatever store `store` is.
fn call_with<S: TokenSource>(
    source: S,
    server: &RefCell<Gam>,
    now: Timestamp,
    store: impl FnMut(&StoreOp) -> Result<StoreAnswer, StoreError>,
) -> Result<(), drive::DriveError<Infallible, drive::NoSigner>> {
    let call =
        gam::get::<_, serde_json::Value>(&gam_config(), "SHOP01", &["api", "v1", "orders"], &[], source)
            .unwrap();
    drive::drive_with_store(
        call,
        || now,
        |req| Ok(server.borrow_mut().handle(now, &req)),
        drive::no_signer,
        store,
        |_| {},
    )
    .map(|_| ())
}

/// Two processes, one store: the first call gets a token and publishes it;
/// the second process's call uses it without a token request of its own.
#[test]
fn two_processes_share_one_token_through_authorized_calls() {
    let (server, store) = (RefCell::new(gam_server()), RefCell::new(MemoryStore::default()));
    let (mut a, mut b) = (gam_source("a", "s3cret"), gam_source("b", "s3cret"));
    call(&mut a, &server, &store, T0).unwrap();
    call(&mut b, &server, &store, T0.saturating_add(Duration::from_secs(1))).unwrap();
    call(&mut a, &server, &store, T0.saturating_add(Duration::from_secs(2))).unwrap();
    let counts = server.borrow().counts();
    assert_eq!((counts.tokens_issued, counts.answered), (1, 3));
    let record = store.borrow().get("gam:shop").unwrap();
    assert_eq!(record.version, 2, "claimed, then published");
    assert!(record.lease.is_none());
    assert_eq!(
        b.keeper().token().map(TokenSet::access_token),
        record.token.as_ref().map(|t| t.token.access_token())
    );
}

/// A CRPT sign-in through the source: the challenge goes out unfenced, the
/// sign-in only after the lease is confirmed in the store, and the token is
/// published before the call gets it.
#[test]
fn the_fence_comes_right_before_the_request_that_issues_the_token() {
    let mut crpt = Crpt::new();
    let mut store = MemoryStore::default();
    let keeper = FleetKeeper::new(format!("crpt:{CONN}"), "pod-a", FleetSettings::default()).unwrap();
    let mut source = FleetSource::new(keeper, |_| {
        true_api::sign_in(&TrueApiStand::Demo.endpoint(), Some(CONN))
    });
    let mut seen = Vec::new();
    let mut step = source.poll_token(T0);
    let token = loop {
        step = match step.unwrap() {
            Action::Done(token) => break token,
            Action::Store(op) => {
                seen.push(match op.kind() {
                    StoreOpKind::Read => "read".to_owned(),
                    StoreOpKind::Swap { version, .. } => format!("swap to {version}"),
                });
                let answer = store.apply(&op);
                source.resume_token(T0, Input::Store(Ok(answer)))
            }
            Action::Send(out) => {
                let request = out.into_http();
                seen.push(format!("{} {}", request.method(), request.uri().path()));
                source.resume_token(T0, Input::Response(crpt.handle(T0, &request)))
            }
            Action::Sign(job) => {
                seen.push("sign".to_owned());
                source.resume_token(T0, Input::Signature(fake::sign(&job)))
            }
            Action::Wait(until) => panic!("a wait until {until:?}"),
        };
    };
    assert_eq!(
        seen,
        [
            "read",
            "swap to 1",
            "GET /api/v3/true-api/auth/key",
            "sign",
            "read",
            "POST /api/v3/true-api/auth/simpleSignIn/11B1ABC9-F4EE-47DB-8A20-F80AC83504E8",
            "swap to 2",
        ]
    );
    assert!(crpt.accepts(T0, CONN, &token));
    assert_eq!(crpt.tokens_issued(), 1);
}

/// The store down: a valid token (due for renewal) is still used; without
/// one, the call fails with the store's typed error.
#[test]
fn a_store_that_is_down_never_stops_a_valid_token() {
    let (server, store) = (RefCell::new(gam_server()), RefCell::new(MemoryStore::default()));
    let mut a = gam_source("a", "s3cret");
    call(&mut a, &server, &store, T0).unwrap();
    // GAM's tokens live an hour; renewal is due 5 minutes before.
    let due = T0.saturating_add(Duration::from_secs(3_600 - 200));
    let down = |_: &StoreOp| Err(StoreError::Unavailable("connection refused".into()));
    call_with(&mut a, &server, due, down).expect("the held token, though the store is down");
    assert_eq!(
        server.borrow().counts().tokens_issued,
        1,
        "no renewal without the store"
    );
    let mut fresh = gam_source("c", "s3cret");
    match call_with(&mut fresh, &server, due, down) {
        Err(drive::DriveError::Flow(Error::Store(StoreError::Unavailable(why)))) => {
            assert_eq!(why, "connection refused")
        }
        other => panic!("{other:?}"),
    }
}

/// A renewal that fails releases the lease with the fleet's back-off in the
/// record, and the call gets the server's refusal.
#[test]
fn a_failed_renewal_releases_the_lease_with_a_back_off() {
    let (server, store) = (RefCell::new(gam_server()), RefCell::new(MemoryStore::default()));
    let mut wrong = gam_source("a", "wrong");
    match call(&mut wrong, &server, &store, T0) {
        Err(drive::DriveError::Flow(Error::Server(refusal))) => assert_eq!(refusal.status, 401),
        other => panic!("{other:?}"),
    }
    let record = store.borrow().get("gam:shop").unwrap();
    assert!(record.lease.is_none(), "{record:?}");
    assert_eq!(record.failures, 1);
    assert!(record.backoff_until.is_some_and(|until| until > T0));
    // Another process sees the back-off and does not try at once.
    let mut b = gam_source("b", "s3cret");
    let step = b.poll_token(T0);
    let Ok(Action::Store(read)) = step else {
        panic!("{step:?}")
    };
    let answer = store.borrow_mut().apply(&read);
    assert!(matches!(b.resume_token(T0, Input::Store(Ok(answer))), Ok(Action::Wait(until)) if until > T0));
    assert_eq!(server.borrow().counts().tokens_issued, 0);
}

/// `drive` without a store: a fleet source fails with a typed error that
/// says which driver to use, and sends nothing.
#[test]
fn drive_without_a_store_says_so() {
    let server = RefCell::new(gam_server());
    let mut a = gam_source("a", "s3cret");
    let flow =
        gam::get::<_, serde_json::Value>(&gam_config(), "SHOP01", &["api", "v1", "orders"], &[], &mut a)
            .unwrap();
    let result = drive::drive(
        flow,
        || T0,
        |req| Ok::<_, Infallible>(server.borrow_mut().handle(T0, &req)),
        drive::no_signer,
        |_| {},
    );
    match result {
        Err(drive::DriveError::Flow(Error::Store(e))) => {
            assert!(e.to_string().contains("drive_with_store"), "{e}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(server.borrow().counts().tokens_issued, 0);
}

/// ITC: two processes share the Keycloak tokens; when they are due, the
/// fleet refreshes once with the shared refresh token (rotation: a second
/// refresh with the old one would be refused), and both use the result.
#[test]
fn an_itc_fleet_refreshes_once_with_the_shared_refresh_token() {
    use tokendance::fake::Keycloak;
    use tokendance::{itc, Password};
    let realm = RefCell::new(Keycloak::itc_staging());
    let store = RefCell::new(MemoryStore::default());
    let config = itc::Config::new(
        Endpoint::parse("https://realm.fake/auth/realms/Staging").unwrap(),
        Endpoint::parse("https://service.fake/api/easy-register/").unwrap(),
    );
    let settings = FleetSettings {
        pacing: tokendance::Pacing {
            renew_margin: Duration::from_secs(30),
            ..tokendance::Pacing::session()
        },
        ..FleetSettings::default()
    };
    let source = |holder: &str| {
        let keeper = FleetKeeper::new("itc:easy-register-test", holder, settings).unwrap();
        let config = config.clone();
        FleetSource::new(keeper, move |held: Option<&TokenSet>| {
            let session = itc::session(
                &config,
                itc::STAGING_TEST_USERNAME,
                Password::new(itc::STAGING_TEST_PASSWORD),
            )?;
            Ok(session.into_renewal(held.cloned()))
        })
    };
    let (mut a, mut b) = (source("a"), source("b"));
    let token_of = |s: &mut dyn TokenSource, now: Timestamp| {
        let mut step = s.poll_token(now);
        loop {
            step = match step.unwrap() {
                Action::Done(token) => return token,
                Action::Store(op) => {
                    let answer = store.borrow_mut().apply(&op);
                    s.resume_token(now, Input::Store(Ok(answer)))
                }
                Action::Send(out) => {
                    let response = realm.borrow_mut().handle(now, &out.into_http());
                    s.resume_token(now, Input::Response(response))
                }
                other => panic!("{other:?}"),
            }
        }
    };
    let first = token_of(&mut a, T0);
    assert_eq!(token_of(&mut b, T0), first);
    // Keycloak's tokens live 300 s: at 280 s both are due.
    let later = T0.saturating_add(Duration::from_secs(280));
    let renewed = token_of(&mut b, later);
    assert_ne!(renewed, first);
    assert_eq!(
        token_of(&mut a, later.saturating_add(Duration::from_secs(1))),
        renewed
    );
    let grants = realm.borrow().grants();
    assert_eq!((grants.password, grants.refresh, grants.refused), (1, 1, 0));
    assert!(realm.borrow().accepts(later, &renewed));
}

type Step = Result<Action<tokendance::AccessToken>, Error>;

/// One step of `source` answered from `server` and `store` at T0; the
/// source's `Debug` state after it.
fn step_debug<S: TokenSource + std::fmt::Debug>(
    source: &mut S,
    step: Step,
    server: &mut Gam,
    store: &mut MemoryStore,
) -> (Step, String) {
    let next = match step.unwrap() {
        Action::Store(op) => source.resume_token(T0, Input::Store(Ok(store.apply(&op)))),
        Action::Send(out) => source.resume_token(T0, Input::Response(server.handle(T0, &out.into_http()))),
        other => panic!("{other:?}"),
    };
    let debug = format!("{source:?}");
    (next, debug)
}

/// The source's `Debug` says where it is (store, fence, renewal) and never
/// shows the token; a call dropped mid-renewal gives the lease back.
#[test]
fn the_source_debug_tracks_its_state_and_a_dropped_renewal_releases_the_lease() {
    let (mut server, mut store) = (gam_server(), MemoryStore::default());
    let mut a = gam_source("a", "s3cret");
    assert!(format!("{a:?}").contains("Idle"));
    let mut step = a.poll_token(T0);
    let mut states = vec![format!("{a:?}")];
    while !states.last().is_some_and(|s| s.contains("\"Renewing\"")) {
        let (next, debug) = step_debug(&mut a, step, &mut server, &mut store);
        step = next;
        states.push(debug);
    }
    let kinds = |name: &str| {
        states
            .iter()
            .filter(|s| s.contains(&format!("state: \"{name}\"")))
            .count()
    };
    // read and claim; the fence's read; the token request let through.
    assert_eq!(
        (kinds("Store"), kinds("Fencing"), kinds("Renewing")),
        (2, 1, 1),
        "{states:?}"
    );
    assert!(matches!(step, Ok(Action::Send(_))), "{step:?}");
    assert!(a.keeper().renewing());
    // The call is dropped with the token request unsent: the next poll
    // releases the lease first.
    drop(step);
    let Ok(Action::Store(release)) = a.poll_token(T0) else {
        panic!("no release")
    };
    assert!(matches!(release.kind(), StoreOpKind::Swap { version: 2, .. }));
    assert!(!a.keeper().renewing());
    assert_eq!(store.apply(&release), StoreAnswer::Swapped);
    assert!(store.get("gam:shop").unwrap().lease.is_none());
    // The next claim waits out the spacing between renewals.
    let mut step = a.resume_token(T0, Input::Store(Ok(StoreAnswer::Swapped)));
    while let Ok(Action::Store(op)) = step {
        step = a.resume_token(T0, Input::Store(Ok(store.apply(&op))));
    }
    assert!(matches!(step, Ok(Action::Wait(until)) if until > T0), "{step:?}");
    assert_eq!(server.counts().tokens_issued, 0);
}

/// A renewal flow that cannot be built fails the call with its error and
/// releases the lease, with no failure counted.
#[test]
fn a_renewal_flow_that_cannot_be_built_releases_the_lease() {
    let keeper = FleetKeeper::new("gam:shop", "a", FleetSettings::default()).unwrap();
    let mut source = FleetSource::new(keeper, |_: Option<&TokenSet>| -> Result<GamFlow, Error> {
        Err(Error::Usage(tokendance::UsageError::InvalidConfig {
            reason: "no client",
        }))
    });
    let store = RefCell::new(MemoryStore::default());
    let server = RefCell::new(gam_server());
    match call(&mut source, &server, &store, T0) {
        Err(drive::DriveError::Flow(Error::Usage(tokendance::UsageError::InvalidConfig { reason }))) => {
            assert_eq!(reason, "no client")
        }
        other => panic!("{other:?}"),
    }
    assert!(!source.keeper().renewing());
    let Ok(Action::Store(release)) = source.poll_token(T0) else {
        panic!("no release")
    };
    assert_eq!(store.borrow_mut().apply(&release), StoreAnswer::Swapped);
    let record = store.borrow().get("gam:shop").unwrap();
    assert!(record.lease.is_none());
    assert_eq!(record.failures, 0);
}

/// A store operation answered with anything but a store result counts as
/// not carried out; a 401 reported through the source drops the token.
#[test]
fn a_store_step_answered_otherwise_fails_and_a_401_drops_the_token() {
    let (server, store) = (RefCell::new(gam_server()), RefCell::new(MemoryStore::default()));
    let mut fresh = gam_source("b", "s3cret");
    let Ok(Action::Store(_)) = fresh.poll_token(T0) else {
        panic!("no read")
    };
    match fresh.resume_token(T0, Input::Response(http::Response::new(Vec::new()))) {
        Err(Error::Store(StoreError::Unavailable(why))) => assert!(why.contains("not carried out"), "{why}"),
        other => panic!("{other:?}"),
    }
    let mut a = gam_source("a", "s3cret");
    call(&mut a, &server, &store, T0).unwrap();
    let token = a.keeper().usable_token(T0).cloned().expect("a token");
    TokenSource::token_rejected(&mut a, T0, &token);
    assert!(a.keeper().usable_token(T0).is_none());
    a.keeper_mut().token_rejected(T0, &token);
    assert!(a.keeper().token().is_some_and(TokenSet::is_refused));
}

//! End to end over real HTTP on 127.0.0.1: the fakes behind the loopback
//! server, the flows driven by the blocking driver over the crate's `ureq`
//! adapter (`tokendance::transport::ureq`), exactly as the
//! tour and an integrator do. What only a real transport shows: headers and
//! bodies survive the wire, a 3xx reaches the flow instead of being followed,
//! an oversized body is refused, a dead server is a transport error.

#[path = "../examples/support/mod.rs"]
mod support;

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokendance::drive::{self, DriveError, NoSigner};
use tokendance::fake::{self, Fake, Fakes};
use tokendance::{
    astana_plat, gam, itc, monpay, transport, ClientSecret, Endpoint, Error, Flow, Password, ProtocolError,
    ServerErrorKind, Timestamp,
};

use support::{LoopbackServer, VirtualClock};

type UreqError = transport::ureq::Error;

/// The adapter's agent, as the tour builds it.
fn agent() -> ureq::Agent {
    transport::ureq::agent(Duration::from_secs(30))
}

const START: Timestamp = Timestamp::from_unix_secs(1_767_225_600);

struct World {
    server: LoopbackServer,
    fakes: Arc<Mutex<Fakes>>,
    clock: VirtualClock,
    agent: ureq::Agent,
}

impl World {
    fn new() -> Self {
        let fakes = Arc::new(Mutex::new(Fakes::new()));
        let clock = VirtualClock::starting_at(START);
        let server = {
            let (fakes, clock) = (Arc::clone(&fakes), clock.clone());
            LoopbackServer::start(Arc::new(move |request: http::Request<Vec<u8>>| {
                let mut fakes = fakes.lock().unwrap_or_else(PoisonError::into_inner);
                fakes.handle(clock.now(), &request)
            }))
            .expect("a loopback port")
        };
        World {
            server,
            fakes,
            clock,
            agent: agent(),
        }
    }

    fn endpoint(&self, path: &str) -> Endpoint {
        Endpoint::parse_insecure_http(&format!("{}{path}", self.server.base_url())).expect("a local URL")
    }

    fn drive<F: Flow>(&self, flow: F) -> Result<F::Output, DriveError<UreqError, NoSigner>> {
        drive::drive(
            flow,
            || self.clock.now(),
            transport::ureq::send(&self.agent),
            drive::no_signer,
            |until| self.clock.advance_to(until),
        )
    }

    fn itc_config(&self) -> itc::Config {
        itc::Config::new(
            self.endpoint("/itc/auth/realms/Staging"),
            self.endpoint("/itc/api/easy-register/"),
        )
    }

    /// The staging test user's session, with `password`.
    fn itc_session(&self, password: &str) -> tokendance::oauth2::PasswordSession {
        itc::session(
            &self.itc_config(),
            itc::STAGING_TEST_USERNAME,
            Password::new(password),
        )
        .unwrap()
    }
}

fn server_kind<T>(result: &Result<T, DriveError<UreqError, NoSigner>>) -> Option<ServerErrorKind> {
    match result {
        Err(DriveError::Flow(Error::Server(e))) => Some(e.kind),
        _ => None,
    }
}

#[test]
fn itc_session_refreshes_and_falls_back_over_http() {
    let world = World::new();
    let mut session = world.itc_session(itc::STAGING_TEST_PASSWORD);
    let first = world.drive(session.fetch()).unwrap();
    assert!(world.fakes.lock().unwrap().itc.accepts(world.clock.now(), &first));

    world.clock.advance(Duration::from_secs(275));
    let refreshed = world.drive(session.fetch()).unwrap();
    assert_ne!(refreshed, first);

    world.fakes.lock().unwrap().itc.end_sessions();
    world.clock.advance(Duration::from_secs(275));
    let after_fallback = world.drive(session.fetch()).unwrap();
    let fakes = world.fakes.lock().unwrap();
    assert!(fakes.itc.accepts(world.clock.now(), &after_fallback));
    let grants = fakes.itc.grants();
    assert_eq!((grants.password, grants.refresh, grants.refused), (2, 1, 1));
}

#[test]
fn wrong_password_is_invalid_grant_over_http() {
    let world = World::new();
    let mut session = world.itc_session("nope");
    let result = world.drive(session.fetch());
    assert_eq!(server_kind(&result), Some(ServerErrorKind::InvalidGrant));
    assert!(session.has_ended());
}

#[test]
fn gam_monpay_and_astana_plat_over_http() {
    let world = World::new();
    let gam_config = gam::Config::new(world.endpoint("/gam"), world.endpoint("/gam/oms"));
    let token = world
        .drive(
            gam::client_credentials(
                &gam_config,
                fake::DEMO_CLIENT_ID,
                ClientSecret::new(fake::DEMO_CLIENT_SECRET),
                fake::DEMO_GAM_SCOPE,
            )
            .unwrap(),
        )
        .unwrap();
    assert_eq!(
        token.expires_at(),
        Some(START.saturating_add(Duration::from_secs(3600)))
    );
    assert_eq!(token.scope(), Some(fake::DEMO_GAM_SCOPE));

    let monpay_config = monpay::Config::new(world.endpoint("/monpay"));
    let code = world.fakes.lock().unwrap().monpay.issue_code(world.clock.now());
    let exchange = |code| {
        monpay::exchange_code(
            &monpay_config,
            fake::DEMO_CLIENT_ID,
            ClientSecret::new(fake::DEMO_CLIENT_SECRET),
            code,
            fake::DEMO_REDIRECT_URI,
        )
        .unwrap()
    };
    let token = world.drive(exchange(code.clone())).unwrap();
    assert_eq!(token.expires_at(), None);
    let again = world.drive(exchange(code));
    assert_eq!(server_kind(&again), Some(ServerErrorKind::InvalidGrant));

    let url = world.endpoint("/astana-plat/api/auth/login");
    let token = world
        .drive(
            astana_plat::login_password(&url, fake::DEMO_LOGIN, Password::new(fake::DEMO_PASSWORD)).unwrap(),
        )
        .unwrap();
    assert!(world
        .fakes
        .lock()
        .unwrap()
        .astana_plat
        .accepts(world.clock.now(), token.access_token()));
}

/// A server that answers every request with `response`.
fn fixed(response: fn() -> http::Response<Vec<u8>>) -> LoopbackServer {
    LoopbackServer::start(Arc::new(move |_| response())).expect("a loopback port")
}

fn gam_against(server: &LoopbackServer) -> tokendance::TokenRequest {
    let base = Endpoint::parse_insecure_http(&server.base_url()).unwrap();
    gam::client_credentials(
        &gam::Config::new(base.clone(), base),
        "id",
        ClientSecret::new("s"),
        "x",
    )
    .unwrap()
}

/// A GAM token request driven over the ureq adapter against `server`.
fn drive_gam_against(
    server: &LoopbackServer,
) -> Result<tokendance::TokenSet, DriveError<UreqError, NoSigner>> {
    drive::drive(
        gam_against(server),
        || START,
        transport::ureq::send(&agent()),
        drive::no_signer,
        |_| {},
    )
}

#[test]
fn a_redirect_reaches_the_flow_and_is_refused() {
    let server = fixed(|| {
        http::Response::builder()
            .status(307)
            .header("location", "http://evil.example/steal?code=1")
            .body(Vec::new())
            .unwrap()
    });
    let result = drive_gam_against(&server);
    match result {
        Err(DriveError::Flow(Error::Protocol(ProtocolError::Redirect { status, location }))) => {
            assert_eq!(status, 307);
            assert_eq!(location.as_deref(), Some("http://evil.example/steal"));
        }
        other => panic!("expected a refused redirect, got {other:?}"),
    }
}

#[test]
fn an_oversized_body_is_refused_unparsed() {
    let server = fixed(|| http::Response::new(vec![b'x'; tokendance::MAX_BODY * 2]));
    let result = drive_gam_against(&server);
    assert!(
        matches!(
            result,
            Err(DriveError::Flow(Error::Protocol(
                ProtocolError::BodyTooLarge { .. }
            )))
        ),
        "{result:?}"
    );
}

#[test]
fn a_dead_server_is_a_transport_error() {
    let server = fixed(|| http::Response::new(Vec::new()));
    let flow = gam_against(&server);
    drop(server);
    let result = drive::drive(
        flow,
        || START,
        transport::ureq::send(&agent()),
        drive::no_signer,
        |_| {},
    );
    assert!(matches!(result, Err(DriveError::Transport(_))), "{result:?}");
}

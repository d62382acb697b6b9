//! The transport adapters (`tokendance::transport`, features `ureq` and
//! `reqwest`) against servers on 127.0.0.1, each promise of the module docs
//! checked on the wire for both clients:
//!
//! * a 302 comes back as a response and is not followed, also with a
//!   client the caller built to follow redirects (ureq: forced off per
//!   request; reqwest: the followed answer is refused, never handed on);
//! * 4xx and 5xx come back as responses with their bodies;
//! * a body over `MAX_BODY` is cut at `MAX_BODY + 1` bytes and the driven
//!   flow ends with its typed `BodyTooLarge`; `send_with_limit` reads more;
//! * the caller's timeout applies: a server that never answers is a
//!   transport error, not a hang;
//! * no error's `Display` or `Debug` (the adapter's, and the driver's around
//!   it) repeats a canary sent in the query, the `Authorization` header or
//!   the body, while the client's own error, kept inside, does repeat the
//!   URL (so the withholding is what keeps it out);
//! * a real flow (GAM client credentials, against the crate's fake) runs
//!   through each adapter and its driver, the async one inside
//!   `tokio::spawn` (so its future is `Send`).

#[path = "../examples/support/mod.rs"]
mod support;

use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokendance::drive::{self, DriveError, NoSigner};
use tokendance::fake::{self, Fake, Fakes};
use tokendance::transport::{reqwest as rq, ureq as uq};
use tokendance::{
    gam, ClientSecret, Endpoint, Error, ProtocolError, Timestamp, TokenRequest, TokenSet, MAX_BODY,
};

use support::LoopbackServer;

const START: Timestamp = Timestamp::from_unix_secs(1_767_225_600);

/// Sent in a query, an `Authorization` header and a body: never printed.
const CANARY_QUERY: &str = "canary-query-7f3a9c";
const CANARY_HEADER: &str = "canary-header-5be21d";
const CANARY_BODY: &str = "canary-body-04e6b8";

/// Long enough for a loopback exchange on a loaded machine, short enough
/// that the tests that wait for it stay quick.
const SHORT: Duration = Duration::from_millis(300);
const LONG: Duration = Duration::from_secs(30);

fn serve(
    handler: impl Fn(http::Request<Vec<u8>>) -> http::Response<Vec<u8>> + Send + Sync + 'static,
) -> LoopbackServer {
    LoopbackServer::start(Arc::new(handler)).expect("a loopback port")
}

fn get(url: &str) -> http::Request<Vec<u8>> {
    http::Request::get(url).body(Vec::new()).unwrap()
}

fn answer(status: u16, body: &[u8]) -> http::Response<Vec<u8>> {
    http::Response::builder()
        .status(status)
        .body(body.to_vec())
        .unwrap()
}

/// `/start…` answers 302 to `/target`; `/target` answers 200 and counts.
struct Redirecting {
    server: LoopbackServer,
    followed: Arc<AtomicUsize>,
}

impl Redirecting {
    fn start() -> Self {
        let followed = Arc::new(AtomicUsize::new(0));
        let count = Arc::clone(&followed);
        let server = serve(move |request| match request.uri().path() {
            // `/start` and what a flow appends to it (`/start/oauth2/v3/token`).
            path if path.starts_with("/start") => http::Response::builder()
                .status(302)
                .header("location", "/target")
                .body(b"moved".to_vec())
                .unwrap(),
            _ => {
                count.fetch_add(1, Ordering::SeqCst);
                answer(200, b"followed")
            }
        });
        Redirecting { server, followed }
    }

    fn start_url(&self) -> String {
        format!("{}/start", self.server.base_url())
    }

    fn followed(&self) -> usize {
        self.followed.load(Ordering::SeqCst)
    }
}

/// `/404`, `/500`: those statuses with a body naming them.
fn failing() -> LoopbackServer {
    serve(|request| match request.uri().path() {
        "/404" => answer(404, b"no such thing"),
        _ => answer(500, b"boom"),
    })
}

/// Every request answered 200 with `len` bytes `x`.
fn sized(len: usize) -> LoopbackServer {
    serve(move |_| answer(200, &vec![b'x'; len]))
}

/// A port that completes TCP connections (the kernel's backlog) and never
/// answers: kept open as long as the listener lives.
fn silent() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let url = format!("http://{}", listener.local_addr().unwrap());
    (listener, url)
}

/// A port nothing listens on (bound, then released).
fn dead() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    url
}

/// The crate's fakes behind a loopback server, on a clock fixed at `START`.
fn fakes() -> (LoopbackServer, Arc<Mutex<Fakes>>) {
    let fakes = Arc::new(Mutex::new(Fakes::new()));
    let shared = Arc::clone(&fakes);
    let server = serve(move |request| {
        let mut fakes = shared.lock().unwrap_or_else(PoisonError::into_inner);
        fakes.handle(START, &request)
    });
    (server, fakes)
}

fn local(base: &str, path: &str) -> Endpoint {
    Endpoint::parse_insecure_http(&format!("{base}{path}")).expect("a loopback URL")
}

/// GAM client credentials with the fakes' demo client, GAM's IAM at
/// `{base}{prefix}` (the fakes' GAM: `/gam`; a server that answers
/// anything: ``).
fn gam(base: &str, prefix: &str) -> TokenRequest {
    gam::client_credentials(
        &gam::Config::new(local(base, prefix), local(base, "/gam/oms")),
        fake::DEMO_CLIENT_ID,
        ClientSecret::new(fake::DEMO_CLIENT_SECRET),
        fake::DEMO_GAM_SCOPE,
    )
    .unwrap()
}

/// A flow driven by the blocking driver over the ureq adapter with `send`.
fn drive_ureq(
    flow: TokenRequest,
    send: impl FnMut(http::Request<Vec<u8>>) -> Result<http::Response<Vec<u8>>, uq::Error>,
) -> Result<TokenSet, DriveError<uq::Error, NoSigner>> {
    drive::drive(flow, || START, send, drive::no_signer, |_| {})
}

/// A flow driven by the async driver over the reqwest adapter with `client`.
async fn drive_reqwest(
    flow: TokenRequest,
    client: &reqwest::Client,
) -> Result<TokenSet, DriveError<rq::Error, NoSigner>> {
    drive::drive_async(
        flow,
        || START,
        rq::send(client),
        drive::no_signer_async,
        |_| async {},
    )
    .await
}

/// A request carrying the three canaries, to `base`.
fn canary_request(base: &str) -> http::Request<Vec<u8>> {
    http::Request::post(format!("{base}/oauth2/v3/token?secret={CANARY_QUERY}"))
        .header("authorization", format!("Bearer {CANARY_HEADER}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("client_secret={CANARY_BODY}").into_bytes())
        .unwrap()
}

/// Panics if `text` holds a canary.
fn assert_no_canary(what: &str, text: &str) {
    for canary in [CANARY_QUERY, CANARY_HEADER, CANARY_BODY] {
        assert!(!text.contains(canary), "{what} printed {canary}: {text}");
    }
}

/// Checks an adapter error's `Display` and `Debug`, alone and inside the
/// driver's error, for canaries.
fn assert_silent<E: std::fmt::Display + std::fmt::Debug>(what: &str, e: E) {
    assert_no_canary(what, &format!("{e}"));
    assert_no_canary(what, &format!("{e:?}"));
    let driven: DriveError<E, NoSigner> = DriveError::Transport(e);
    assert_no_canary(what, &format!("{driven}"));
    assert_no_canary(what, &format!("{driven:?}"));
}

fn assert_too_large<T: std::fmt::Debug, TE: std::fmt::Debug>(result: Result<T, DriveError<TE, NoSigner>>) {
    match result {
        Err(DriveError::Flow(Error::Protocol(ProtocolError::BodyTooLarge { limit, len, .. }))) => {
            assert_eq!((limit, len), (MAX_BODY, MAX_BODY + 1));
        }
        other => panic!("expected BodyTooLarge, got {other:?}"),
    }
}

/// What a caller's `?`, `Box<dyn Error + Send + Sync>` and `tokio::spawn`
/// need of the adapters' types.
#[test]
fn the_adapters_types_are_send_sync_and_static() {
    fn send_sync<T: Send + Sync + 'static>() {}
    fn send<T: Send + 'static>() {}
    send_sync::<uq::Error>();
    send_sync::<rq::Error>();
    send_sync::<DriveError<uq::Error, NoSigner>>();
    send_sync::<DriveError<rq::Error, NoSigner>>();
    send::<rq::Exchange>();
    let as_std: Box<dyn std::error::Error + Send + Sync> = Box::new(DriveError::<uq::Error, NoSigner>::Flow(
        Error::Usage(tokendance::UsageError::Finished),
    ));
    assert!(!as_std.to_string().is_empty());
}

// ---------------------------------------------------------------------------
// ureq

/// An agent configured the other way round: following redirects and
/// turning 4xx and 5xx into errors (ureq's defaults).
fn careless_agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .max_redirects(10)
        .http_status_as_error(true)
        .timeout_global(Some(LONG))
        .build()
        .new_agent()
}

#[test]
fn ureq_returns_a_redirect_unfollowed_even_from_an_agent_that_follows() {
    let server = Redirecting::start();
    for agent in [uq::agent(LONG), careless_agent()] {
        let response = uq::send(&agent)(get(&server.start_url())).unwrap();
        assert_eq!(response.status(), 302);
        assert_eq!(response.headers()["location"], "/target");
        assert_eq!(response.body(), b"moved");
    }
    assert_eq!(server.followed(), 0);

    // Driven, the flow refuses it as a redirect.
    let result = drive_ureq(gam(&server.start_url(), ""), uq::send(&careless_agent()));
    assert!(
        matches!(
            result,
            Err(DriveError::Flow(Error::Protocol(ProtocolError::Redirect { .. })))
        ),
        "{result:?}"
    );
    assert_eq!(server.followed(), 0);
}

#[test]
fn ureq_returns_error_statuses_with_their_bodies() {
    let server = failing();
    for agent in [uq::agent(LONG), careless_agent()] {
        let send = uq::send(&agent);
        let not_found = send(get(&format!("{}/404", server.base_url()))).unwrap();
        assert_eq!(
            (not_found.status().as_u16(), not_found.body().as_slice()),
            (404, &b"no such thing"[..])
        );
        let broken = send(get(&format!("{}/500", server.base_url()))).unwrap();
        assert_eq!(
            (broken.status().as_u16(), broken.body().as_slice()),
            (500, &b"boom"[..])
        );
    }
}

#[test]
fn ureq_cuts_an_oversized_body_and_the_flow_refuses_it() {
    let agent = uq::agent(LONG);
    let huge = sized(MAX_BODY * 3);
    let cut = uq::send(&agent)(get(&huge.base_url())).unwrap();
    assert_eq!(cut.body().len(), MAX_BODY + 1);
    assert!(cut.body().iter().all(|&b| b == b'x'));
    let whole = uq::send_with_limit(&agent, MAX_BODY * 4)(get(&huge.base_url())).unwrap();
    assert_eq!(whole.body().len(), MAX_BODY * 3);

    let exact = sized(MAX_BODY);
    assert_eq!(
        uq::send(&agent)(get(&exact.base_url())).unwrap().body().len(),
        MAX_BODY
    );

    assert_too_large(drive_ureq(gam(&huge.base_url(), ""), uq::send(&agent)));
}

#[test]
fn ureq_applies_the_callers_timeout() {
    let (_listener, url) = silent();
    let error = uq::send(&uq::agent(SHORT))(get(&url)).unwrap_err();
    assert!(matches!(error.kind(), uq::ErrorKind::Timeout(_)), "{error:?}");

    // A caller's own agent and its own timeout (for the answer's head).
    let agent = ureq::Agent::config_builder()
        .timeout_recv_response(Some(SHORT))
        .build()
        .new_agent();
    let result = drive_ureq(gam(&url, ""), uq::send(&agent));
    match result {
        Err(DriveError::Transport(e)) => assert!(matches!(e.kind(), uq::ErrorKind::Timeout(_)), "{e:?}"),
        other => panic!("expected a transport timeout, got {other:?}"),
    }
}

#[test]
fn ureq_errors_repeat_no_secret() {
    let (_listener, silent_url) = silent();
    let plain = serve(|_| answer(200, b"plain http"));
    let tls_to_plain = plain.base_url().replace("http://", "https://");
    let agent = uq::agent(SHORT);
    let send = uq::send(&agent);

    let refused = send(canary_request(&dead())).unwrap_err();
    assert!(
        matches!(
            refused.kind(),
            uq::ErrorKind::Io(_) | uq::ErrorKind::ConnectionFailed
        ),
        "{refused:?}"
    );
    let timed_out = send(canary_request(&silent_url)).unwrap_err();
    assert!(
        matches!(timed_out.kind(), uq::ErrorKind::Timeout(_)),
        "{timed_out:?}"
    );
    let tls = send(canary_request(&tls_to_plain)).unwrap_err();
    // A URI without scheme or host: ureq's own error repeats it.
    let relative = || {
        let mut request = canary_request("");
        *request.uri_mut() = format!("/oauth2/v3/token?secret={CANARY_QUERY}").parse().unwrap();
        request
    };
    let bad_uri = send(relative()).unwrap_err();
    assert_eq!(bad_uri.kind(), uq::ErrorKind::InvalidRequest);

    for (what, e) in [
        ("refused", refused),
        ("timeout", timed_out),
        ("tls", tls),
        ("bad uri", bad_uri),
    ] {
        assert_silent(what, e);
    }
    let client = send(relative()).unwrap_err().into_client_error();
    assert!(
        format!("{client}").contains(CANARY_QUERY),
        "ureq's own error should repeat the URI (what the adapter withholds): {client}"
    );
}

#[test]
fn ureq_drives_gam_client_credentials_against_the_fake() {
    let (server, fakes) = fakes();
    let token = drive_ureq(gam(&server.base_url(), "/gam"), uq::send(&uq::agent(LONG))).unwrap();
    assert_eq!(
        token.expires_at(),
        Some(START.saturating_add(Duration::from_secs(3600)))
    );
    assert!(fakes.lock().unwrap().gam.accepts(START, token.access_token()));
}

// ---------------------------------------------------------------------------
// reqwest

#[tokio::test(flavor = "current_thread")]
async fn reqwest_returns_a_redirect_unfollowed_and_refuses_a_followed_one() {
    let server = Redirecting::start();
    // Built by the adapter, even from a builder asking for redirects.
    let limited =
        rq::client_with(reqwest::Client::builder().redirect(reqwest::redirect::Policy::limited(5))).unwrap();
    for client in [rq::client(LONG).unwrap(), limited] {
        let response = rq::send(&client)(get(&server.start_url())).await.unwrap();
        assert_eq!(response.status(), 302);
        assert_eq!(response.headers()["location"], "/target");
        assert_eq!(response.body(), b"moved");
    }
    assert_eq!(server.followed(), 0);

    // A client of the caller's that follows redirects: reqwest has followed
    // it before the adapter sees the answer, which is refused.
    let follows = reqwest::Client::new();
    let error = rq::send(&follows)(get(&server.start_url())).await.unwrap_err();
    assert_eq!(error.kind(), rq::ErrorKind::RedirectFollowed);
    assert_eq!(server.followed(), 1);
    let result = drive_reqwest(gam(&server.start_url(), ""), &follows).await;
    match result {
        Err(DriveError::Transport(e)) => assert_eq!(e.kind(), rq::ErrorKind::RedirectFollowed),
        other => panic!("expected the followed redirect refused, got {other:?}"),
    }
}

#[tokio::test(flavor = "current_thread")]
async fn reqwest_returns_error_statuses_with_their_bodies() {
    let server = failing();
    let send = rq::send(&rq::client(LONG).unwrap());
    let not_found = send(get(&format!("{}/404", server.base_url()))).await.unwrap();
    assert_eq!(
        (not_found.status().as_u16(), not_found.body().as_slice()),
        (404, &b"no such thing"[..])
    );
    let broken = send(get(&format!("{}/500", server.base_url()))).await.unwrap();
    assert_eq!(
        (broken.status().as_u16(), broken.body().as_slice()),
        (500, &b"boom"[..])
    );
}

#[tokio::test(flavor = "current_thread")]
async fn reqwest_cuts_an_oversized_body_and_the_flow_refuses_it() {
    let client = rq::client(LONG).unwrap();
    let huge = sized(MAX_BODY * 3);
    let cut = rq::send(&client)(get(&huge.base_url())).await.unwrap();
    assert_eq!(cut.body().len(), MAX_BODY + 1);
    assert!(cut.body().iter().all(|&b| b == b'x'));
    let whole = rq::send_with_limit(&client, MAX_BODY * 4)(get(&huge.base_url()))
        .await
        .unwrap();
    assert_eq!(whole.body().len(), MAX_BODY * 3);

    let exact = sized(MAX_BODY);
    assert_eq!(
        rq::send(&client)(get(&exact.base_url()))
            .await
            .unwrap()
            .body()
            .len(),
        MAX_BODY
    );

    let driven = drive_reqwest(gam(&huge.base_url(), ""), &client).await;
    assert_too_large(driven);
}

#[tokio::test(flavor = "current_thread")]
async fn reqwest_applies_the_callers_timeout() {
    let (_listener, url) = silent();
    let error = rq::send(&rq::client(SHORT).unwrap())(get(&url))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), rq::ErrorKind::Timeout, "{error:?}");

    // The caller's builder and its own timeout (reading).
    let client = rq::client_with(reqwest::Client::builder().read_timeout(SHORT)).unwrap();
    let result = drive_reqwest(gam(&url, ""), &client).await;
    match result {
        Err(DriveError::Transport(e)) => assert_eq!(e.kind(), rq::ErrorKind::Timeout, "{e:?}"),
        other => panic!("expected a transport timeout, got {other:?}"),
    }
}

#[tokio::test(flavor = "current_thread")]
async fn reqwest_errors_repeat_no_secret() {
    let (_listener, silent_url) = silent();
    let plain = serve(|_| answer(200, b"plain http"));
    let tls_to_plain = plain.base_url().replace("http://", "https://");
    let send = rq::send(&rq::client(SHORT).unwrap());

    let refused = send(canary_request(&dead())).await.unwrap_err();
    assert_eq!(refused.kind(), rq::ErrorKind::Connect, "{refused:?}");
    let timed_out = send(canary_request(&silent_url)).await.unwrap_err();
    assert_eq!(timed_out.kind(), rq::ErrorKind::Timeout, "{timed_out:?}");
    // reqwest without a TLS feature refuses https; its own error names the URL.
    let tls = send(canary_request(&tls_to_plain)).await.unwrap_err();
    let client = send(canary_request(&dead()))
        .await
        .unwrap_err()
        .into_client_error()
        .unwrap();

    for (what, e) in [("refused", refused), ("timeout", timed_out), ("https", tls)] {
        assert_silent(what, e);
    }
    assert!(
        format!("{client}").contains(CANARY_QUERY),
        "reqwest's own error should repeat the URL (what the adapter withholds): {client}"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn reqwest_drives_gam_client_credentials_against_the_fake_inside_spawn() {
    let (server, fakes) = fakes();
    let client = rq::client(LONG).unwrap();
    // tokio::spawn takes only Send futures: the driver's over the adapter is one.
    let task = tokio::spawn(drive::drive_async(
        gam(&server.base_url(), "/gam"),
        || START,
        rq::send(&client),
        drive::no_signer_async,
        |_| async {},
    ));
    let token = task.await.unwrap().unwrap();
    assert_eq!(
        token.expires_at(),
        Some(START.saturating_add(Duration::from_secs(3600)))
    );
    assert!(fakes.lock().unwrap().gam.accepts(START, token.access_token()));
}

//! Interop: the flows against REAL OAuth2 servers written by others, run as
//! Node child processes on 127.0.0.1 (issue #6). Where `tests/loopback.rs`
//! checks the crate against its own fakes, this suite checks it against code
//! the crate's authors did not write:
//!
//! | peer | script | grants driven through the crate |
//! |---|---|---|
//! | `oauth2-mock-server` 8, shaped into a Keycloak realm | `keycloak-mock-peer.mjs` | ITC password, refresh, fallback, wrong password |
//! | `@node-oauth/oauth2-server` 5 + express | `node-oauth-peer.mjs` | ITC password + rotating refresh, GAM client credentials, MonPay code |
//! | `oidc-provider` 9 | `oidc-provider-peer.mjs` | GAM client credentials, code via login + consent, MonPay exchange, refresh, ITC via a custom password grant |
//!
//! `tests/interop/setup.sh` installs the pinned peers (once, into
//! `target/interop-node/` or `$TOKENDANCE_INTEROP_DIR`); every test starts its
//! own peer on a free port and kills it by process id when it ends, passed or
//! failed. A failed install or start FAILS the test, naming the peer: it is
//! never skipped. The peers read the wall clock, so the flows do too, and
//! expiry-dependent steps use lifetimes of a few seconds set on the peers.

use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use tokendance::drive::{self, DriveError, NoSigner};
use tokendance::oauth2::{self, Grant, SessionAction};
use tokendance::{
    gam, itc, monpay, transport, AuthCode, ClientSecret, Endpoint, Error, Password, ServerError,
    ServerErrorKind, Timestamp, TokenSet, UsageError,
};

// ---------------------------------------------------------------------------
// Peers: install once, start per test, kill on drop.

const ITC_USER: &str = "easy-register-test";
const ITC_PASSWORD: &str = "Test@123";
const GAM_CLIENT: &str = "gam-partner";
const GAM_SECRET: &str = "gam-secret";
const GAM_SCOPE: &str = "iam:user-password:update gamp:erp.customer-reconciliation.write-direct";
const MONPAY_CLIENT: &str = "monpay-miniapp";
const MONPAY_SECRET: &str = "monpay-secret";
const MONPAY_REDIRECT: &str = "https://miniapp.example/callback";
const REALM_PATH: &str = "/auth/realms/Staging";

/// How long a peer may take to print its port.
const START_TIMEOUT: Duration = Duration::from_secs(30);

fn interop_folder() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("interop")
}

/// Runs `tests/interop/setup.sh` once per test process; returns the install
/// folder, or panics with the script's own explanation (which names the peer).
fn install_dir() -> PathBuf {
    static INSTALL: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let result = INSTALL.get_or_init(|| {
        let script = interop_folder().join("setup.sh");
        let output = Command::new("bash")
            .arg(&script)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
        let stderr = String::from_utf8_lossy(&output.stderr);
        if !output.status.success() {
            return Err(format!(
                "{} failed ({}):\n{stderr}",
                script.display(),
                output.status
            ));
        }
        let stdout = String::from_utf8_lossy(&output.stdout);
        match stdout.lines().last().map(str::trim) {
            Some(dir) if !dir.is_empty() => Ok(PathBuf::from(dir)),
            _ => Err(format!(
                "{} printed no install folder:\n{stderr}",
                script.display()
            )),
        }
    });
    match result {
        Ok(dir) => dir.clone(),
        Err(why) => panic!("interop peers are not installed: {why}"),
    }
}

/// A peer server running as a Node child process; killed (by its process
/// id) and reaped when dropped, so a failing test never leaves it behind.
struct Peer {
    name: &'static str,
    child: Child,
    addr: SocketAddr,
    stderr: Arc<Mutex<String>>,
}

impl Peer {
    /// Starts `script` (in `tests/interop/`) on a free loopback port and
    /// waits, bounded, until it prints its port and accepts connections.
    fn start(name: &'static str, script: &str) -> Peer {
        let dir = install_dir();
        let script_path = interop_folder().join(script);
        let mut child = Command::new("node")
            .arg(&script_path)
            .arg("0")
            .env("TOKENDANCE_INTEROP_DIR", &dir)
            // The script exits when its stdin closes: it dies with this process.
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "interop peer {name}: cannot start node {}: {e}",
                    script_path.display()
                )
            });
        let stderr = Arc::new(Mutex::new(String::new()));
        if let Some(mut pipe) = child.stderr.take() {
            let sink = Arc::clone(&stderr);
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n @ 1..) = pipe.read(&mut buf) {
                    let mut all = sink.lock().unwrap_or_else(PoisonError::into_inner);
                    all.push_str(&String::from_utf8_lossy(&buf[..n]));
                    if all.len() > 16_384 {
                        let cut = all.len() - 8_192;
                        let cut = (cut..all.len()).find(|&i| all.is_char_boundary(i)).unwrap_or(0);
                        all.drain(..cut);
                    }
                }
            });
        }
        let (tx, rx) = mpsc::channel();
        if let Some(pipe) = child.stdout.take() {
            std::thread::spawn(move || {
                let mut lines = BufReader::new(pipe).lines();
                let _ = tx.send(lines.next());
                // Keep draining so the peer never blocks on a full pipe.
                for _ in lines {}
            });
        }
        let mut peer = Peer {
            name,
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            stderr,
        };
        let port = match rx.recv_timeout(START_TIMEOUT) {
            Ok(Some(Ok(line))) => match line.trim().parse::<u16>() {
                Ok(port) if port != 0 => port,
                _ => peer.fail(&format!("its first line is not a port: {line:?}")),
            },
            Ok(_) => {
                let status = peer.child.wait().map(|s| s.to_string()).unwrap_or_default();
                peer.fail(&format!("it exited before printing its port ({status})"))
            }
            Err(_) => peer.fail(&format!("no port printed within {START_TIMEOUT:?}")),
        };
        peer.addr = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect_timeout(&peer.addr, Duration::from_millis(500)).is_err() {
            if Instant::now() > deadline {
                peer.fail(&format!("port {port} announced but not answering"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        peer
    }

    fn fail(&self, why: &str) -> ! {
        // Give the stderr reader a moment to collect a crash message.
        std::thread::sleep(Duration::from_millis(200));
        let stderr = self.stderr.lock().unwrap_or_else(PoisonError::into_inner);
        panic!(
            "interop peer {} (pid {}) failed to start: {why}\n--- its stderr ---\n{stderr}",
            self.name,
            self.child.id()
        );
    }

    /// `http://127.0.0.1:{port}`: the issuer of oidc-provider.
    fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn endpoint(&self, path: &str) -> Endpoint {
        Endpoint::parse_insecure_http(&format!("{}{path}", self.base())).expect("a loopback URL")
    }

    /// ITC's configuration with the realm on this peer.
    fn itc_config(&self) -> itc::Config {
        itc::Config::new(self.endpoint(REALM_PATH), self.endpoint("/api/easy-register/"))
    }

    fn send(&self, request: http::Request<Vec<u8>>) -> http::Response<Vec<u8>> {
        let what = format!("{} {}", request.method(), request.uri());
        transport::ureq::send(&agent())(request)
            .unwrap_or_else(|e| panic!("{}: {what} failed: {e}{}", self.name, self.stderr_tail()))
    }

    fn get(&self, path: &str) -> http::Response<Vec<u8>> {
        self.send(
            http::Request::get(format!("{}{path}", self.base()))
                .body(Vec::new())
                .unwrap(),
        )
    }

    fn post_form(&self, path: &str, form: &[(&str, &str)]) -> http::Response<Vec<u8>> {
        self.send(form_request(&format!("{}{path}", self.base()), form, None))
    }

    fn json(&self, response: http::Response<Vec<u8>>) -> serde_json::Value {
        serde_json::from_slice(response.body()).unwrap_or_else(|e| {
            panic!(
                "{}: not JSON ({e}): {}",
                self.name,
                String::from_utf8_lossy(response.body())
            )
        })
    }

    /// `(served, refused)` by grant type, counted by the peer's test route.
    fn grants(&self, grant: &str) -> (u64, u64) {
        let stats = self.json(self.get("/__test/stats"));
        let count = |outcome: &str| stats[grant][outcome].as_u64().unwrap_or(0);
        (count("ok"), count("refused"))
    }

    /// Whether the peer itself holds `token` as a live access token.
    fn accepts(&self, token: &tokendance::AccessToken) -> bool {
        let answer = self.json(self.post_form("/__test/accepts", &[("token", token.expose_secret())]));
        answer["active"].as_bool().expect("a boolean `active`")
    }

    fn stderr_tail(&self) -> String {
        let stderr = self.stderr.lock().unwrap_or_else(PoisonError::into_inner);
        if stderr.is_empty() {
            String::new()
        } else {
            format!("\n--- {} stderr ---\n{stderr}", self.name)
        }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------
// Transports, clocks and small helpers.

fn now() -> Timestamp {
    Timestamp::from_system_time(SystemTime::now())
}

/// Sleeps until `t` (plus a little, so that "now >= t" holds after rounding).
fn sleep_until(t: Timestamp) {
    std::thread::sleep(t.saturating_duration_since(now()) + Duration::from_millis(20));
}

type DriveResult<T> = Result<T, DriveError<transport::ureq::Error, NoSigner>>;

/// The crate's ureq adapter's agent: no redirects, statuses as responses.
fn agent() -> ureq::Agent {
    transport::ureq::agent(Duration::from_secs(30))
}

/// The blocking driver over the ureq adapter, the wall clock and real sleeps.
fn drive<F: tokendance::Flow>(flow: F) -> DriveResult<F::Output> {
    drive::drive(
        flow,
        now,
        transport::ureq::send(&agent()),
        drive::no_signer,
        sleep_until,
    )
}

/// The server's refusal inside a driver error, or a panic describing what came instead.
fn refusal<T, TE: std::fmt::Debug>(result: Result<T, DriveError<TE, NoSigner>>) -> ServerError {
    match result {
        Err(DriveError::Flow(Error::Server(e))) => e,
        Err(other) => panic!("expected a server refusal, got {other:?}"),
        Ok(_) => panic!("expected a server refusal, got a token"),
    }
}

fn assert_refusal(e: &ServerError, status: u16, kind: ServerErrorKind, code: &str) {
    assert_eq!(
        (e.status.as_u16(), e.kind, e.code.as_deref()),
        (status, kind, Some(code)),
        "refusal {e}"
    );
}

/// `actual` is within `tolerance` of `expected`.
fn assert_near(actual: Option<Timestamp>, expected: Timestamp, tolerance: Duration, what: &str) {
    let actual = actual.unwrap_or_else(|| panic!("{what}: no time given"));
    let gap = if actual > expected {
        actual.saturating_duration_since(expected)
    } else {
        expected.saturating_duration_since(actual)
    };
    assert!(
        gap <= tolerance,
        "{what}: {actual:?} is {gap:?} away from {expected:?}"
    );
}

fn form_request(url: &str, form: &[(&str, &str)], cookie: Option<String>) -> http::Request<Vec<u8>> {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let mut request =
        http::Request::post(url).header(http::header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(cookie) = cookie.filter(|c| !c.is_empty()) {
        request = request.header(http::header::COOKIE, cookie);
    }
    request.body(body.into_bytes()).unwrap()
}

/// Polls the session by hand, sends its request and, instead of handing the
/// response back, reports the transport as failed: the server acted on the
/// request (a refresh token rotated) but the session never saw the answer.
fn lose_one_response(peer: &Peer, session: &mut tokendance::oauth2::PasswordSession) -> http::StatusCode {
    let request = match session.poll(now()).expect("a live session") {
        SessionAction::Send(request) => request.into_http(),
        other => panic!("{}: expected a request to send, got {other:?}", peer.name),
    };
    assert_eq!(
        session.in_flight(),
        Some(Grant::Refresh),
        "{}: a refresh is due",
        peer.name
    );
    let status = peer.send(request).status();
    session.transport_failed(now()).expect("a request was in flight");
    assert_eq!(session.in_flight(), None);
    status
}

// ---------------------------------------------------------------------------
// oauth2-mock-server as ITC's Keycloak realm.

const KEYCLOAK: (&str, &str) = ("oauth2-mock-server (Keycloak realm)", "keycloak-mock-peer.mjs");

/// Password grant, cached use, refresh before expiry and, after the realm
/// lost its refresh tokens ("Token is not active"), the fallback to the
/// password grant: each step as the realm counted it.
#[test]
fn keycloak_mock_itc_session_refreshes_and_falls_back() {
    let realm = Peer::start(KEYCLOAK.0, KEYCLOAK.1);
    let mut session = itc::session(&realm.itc_config(), ITC_USER, Password::new(ITC_PASSWORD)).unwrap();

    let sent = now();
    let first = drive(session.fetch()).expect("password grant");
    assert!(realm.accepts(&first), "the realm issued this token");
    let tokens = session.tokens().expect("tokens held");
    // Keycloak's shape: expires_in 2, refresh_expires_in 600, lower-case `bearer`.
    assert_near(
        tokens.expires_at(),
        sent.saturating_add(Duration::from_secs(2)),
        Duration::from_secs(1),
        "expires_at",
    );
    assert_near(
        tokens.refresh_expires_at(),
        sent.saturating_add(Duration::from_secs(600)),
        Duration::from_secs(1),
        "refresh_expires_at",
    );
    assert_eq!(tokens.scope(), Some("profile email"));
    assert_eq!(realm.grants("password"), (1, 0));

    // Fresh: no request at all.
    let again = drive(session.fetch()).unwrap();
    assert_eq!(again, first);
    assert_eq!(realm.grants("password"), (1, 0));
    assert_eq!(realm.grants("refresh_token"), (0, 0));

    // Due (half of a 2 s life): a refresh, not a password grant.
    let due = session.next_deadline().expect("a renewal time");
    assert_near(
        Some(due),
        sent.saturating_add(Duration::from_secs(1)),
        Duration::from_millis(500),
        "renewal time",
    );
    sleep_until(due);
    let refreshed = drive(session.fetch()).expect("refresh");
    assert_ne!(refreshed, first);
    assert!(realm.accepts(&refreshed));
    assert_eq!(realm.grants("refresh_token"), (1, 0));
    assert_eq!(realm.grants("password"), (1, 0));

    // The realm forgets every refresh token: the next refresh is refused
    // (400 invalid_grant "Token is not active"), the password grant follows.
    realm.post_form("/__test/forget", &[]);
    sleep_until(session.next_deadline().unwrap());
    let request = match session.poll(now()).unwrap() {
        SessionAction::Send(request) => request.into_http(),
        other => panic!("expected a refresh request, got {other:?}"),
    };
    assert_eq!(session.in_flight(), Some(Grant::Refresh));
    let response = realm.send(request);
    assert_eq!(response.status(), 400);
    assert!(String::from_utf8_lossy(response.body()).contains("Token is not active"));
    session
        .handle_response(now(), response)
        .expect("a refused refresh is not an error");
    assert!(!session.has_ended());
    assert!(
        session.tokens().unwrap().refresh_token().is_none(),
        "the dead refresh token is dropped"
    );
    let recovered = drive(session.fetch()).expect("password grant after the refused refresh");
    assert!(realm.accepts(&recovered));
    assert_eq!(realm.grants("refresh_token"), (1, 1));
    assert_eq!(realm.grants("password"), (2, 0));
    assert!(session.tokens().unwrap().refresh_token().is_some());
}

/// The async driver over reqwest on tokio's current-thread runtime: the
/// realm ends the session ("Session not active") and the session recovers by
/// the password grant within one `fetch`.
#[tokio::test(flavor = "current_thread")]
async fn keycloak_mock_ended_session_falls_back_over_reqwest() {
    let realm = Peer::start(KEYCLOAK.0, KEYCLOAK.1);
    let client = transport::reqwest::client(Duration::from_secs(30)).expect("a reqwest client");
    let mut session = itc::session(&realm.itc_config(), ITC_USER, Password::new(ITC_PASSWORD)).unwrap();

    let first = fetch_async(&client, &mut session).await.expect("password grant");
    assert!(realm.accepts(&first));

    realm.post_form("/__test/end-sessions", &[]);
    let due = session.next_deadline().unwrap();
    tokio::time::sleep(due.saturating_duration_since(now()) + Duration::from_millis(20)).await;
    let second = fetch_async(&client, &mut session)
        .await
        .expect("password grant after the refusal");
    assert_ne!(second, first);
    assert!(realm.accepts(&second));
    assert_eq!(realm.grants("refresh_token"), (0, 1), "one refresh, refused");
    assert_eq!(realm.grants("password"), (2, 0));
}

async fn fetch_async(
    client: &reqwest::Client,
    session: &mut tokendance::oauth2::PasswordSession,
) -> Result<tokendance::AccessToken, DriveError<transport::reqwest::Error, NoSigner>> {
    drive::drive_async(
        session.fetch(),
        now,
        transport::reqwest::send(client),
        drive::no_signer_async,
        |until| tokio::time::sleep(until.saturating_duration_since(now()) + Duration::from_millis(20)),
    )
    .await
}

/// Keycloak answers a wrong password with 401 invalid_grant "Invalid user
/// credentials": the session ends and never sends again.
#[test]
fn keycloak_mock_wrong_password_ends_the_session() {
    let realm = Peer::start(KEYCLOAK.0, KEYCLOAK.1);
    let mut session = itc::session(&realm.itc_config(), ITC_USER, Password::new("not-it")).unwrap();
    let e = refusal(drive(session.fetch()));
    assert_refusal(&e, 401, ServerErrorKind::InvalidGrant, "invalid_grant");
    assert_eq!(e.to_string(), "HTTP 401 invalid_grant: Invalid user credentials");
    assert!(session.has_ended());
    assert!(matches!(
        session.poll(now()),
        Err(Error::Usage(UsageError::Finished))
    ));
    assert_eq!(realm.grants("password"), (0, 1));
    assert_eq!(realm.grants("refresh_token"), (0, 0));
}

/// `refresh_expires_in` is honoured: a refresh token the realm said has
/// lapsed is not sent; the renewal is a password grant.
#[test]
fn keycloak_mock_lapsed_refresh_token_is_not_sent() {
    let realm = Peer::start(KEYCLOAK.0, KEYCLOAK.1);
    // This user's realm settings: access 4 s, refresh 1 s.
    let mut session = itc::session(&realm.itc_config(), "short-refresh", Password::new("Short@123")).unwrap();
    let first = drive(session.fetch()).unwrap();
    sleep_until(session.next_deadline().unwrap());
    let second = drive(session.fetch()).unwrap();
    assert_ne!(second, first);
    assert!(realm.accepts(&second));
    assert_eq!(realm.grants("refresh_token"), (0, 0));
    assert_eq!(realm.grants("password"), (2, 0));
}

// ---------------------------------------------------------------------------
// @node-oauth/oauth2-server with an in-memory model.

const NODE_OAUTH: (&str, &str) = ("@node-oauth/oauth2-server", "node-oauth-peer.mjs");

/// ITC's session against a server that rotates refresh tokens: the refresh
/// brings a new refresh token; when a refresh's answer is lost, the session
/// reuses the revoked one, is refused, and recovers by the password grant.
#[test]
fn node_oauth_itc_session_with_rotating_refresh_tokens() {
    let server = Peer::start(NODE_OAUTH.0, NODE_OAUTH.1);
    let mut session = itc::session(&server.itc_config(), ITC_USER, Password::new(ITC_PASSWORD)).unwrap();
    let first = drive(session.fetch()).expect("password grant for the public client vatps");
    assert!(server.accepts(&first));
    let refresh_1 = session
        .tokens()
        .unwrap()
        .refresh_token()
        .cloned()
        .expect("a refresh token");
    // The server sends `"scope": ""` for a grant without scopes: no scope.
    assert_eq!(session.tokens().unwrap().scope(), None);

    sleep_until(session.next_deadline().unwrap());
    let second = drive(session.fetch()).expect("refresh");
    assert_ne!(second, first);
    assert!(server.accepts(&second));
    let refresh_2 = session.tokens().unwrap().refresh_token().cloned().unwrap();
    assert_ne!(refresh_2, refresh_1, "rotated");
    assert_eq!(server.grants("refresh_token"), (1, 0));

    // The server rotates refresh_2 away, but its answer never arrives.
    sleep_until(session.next_deadline().unwrap());
    assert_eq!(lose_one_response(&server, &mut session), 200);
    assert_eq!(server.grants("refresh_token"), (2, 0));

    // After the back-off: refresh_2 again (refused), then the password grant.
    sleep_until(session.next_deadline().unwrap());
    let third = drive(session.fetch()).expect("recovered by the password grant");
    assert!(server.accepts(&third));
    assert_eq!(server.grants("refresh_token"), (2, 1));
    assert_eq!(server.grants("password"), (2, 0));
    assert!(!session.has_ended());
}

#[test]
fn node_oauth_wrong_password_ends_the_session() {
    let server = Peer::start(NODE_OAUTH.0, NODE_OAUTH.1);
    let mut session = itc::session(&server.itc_config(), ITC_USER, Password::new("wrong")).unwrap();
    let e = refusal(drive(session.fetch()));
    assert_refusal(&e, 400, ServerErrorKind::InvalidGrant, "invalid_grant");
    assert_eq!(
        e.message.as_deref(),
        Some("Invalid grant: user credentials are invalid")
    );
    assert!(session.has_ended());
    assert_eq!(server.grants("password"), (0, 1));
}

fn gam_flow(peer: &Peer, client: &str, secret: &str, scope: &str) -> tokendance::TokenRequest {
    let config = gam::Config::new(peer.endpoint(""), peer.endpoint("/oms"));
    gam::client_credentials(&config, client, ClientSecret::new(secret), scope).unwrap()
}

fn assert_gam_token(token: &TokenSet, sent: Timestamp) {
    assert_eq!(token.scope(), Some(GAM_SCOPE));
    assert_near(
        token.expires_at(),
        sent.saturating_add(Duration::from_secs(3600)),
        Duration::from_secs(2),
        "GAM expiry",
    );
    assert!(token.refresh_token().is_none());
}

/// GAM's client credentials at `{base}/oauth2/v3/token`, and the typed
/// refusals for a wrong secret, an unknown client and a scope not granted.
#[test]
fn node_oauth_gam_client_credentials_and_refusals() {
    let server = Peer::start(NODE_OAUTH.0, NODE_OAUTH.1);
    let sent = now();
    let token = drive(gam_flow(&server, GAM_CLIENT, GAM_SECRET, GAM_SCOPE)).expect("client credentials");
    assert_gam_token(&token, sent);
    assert!(server.accepts(token.access_token()));

    let e = refusal(drive(gam_flow(&server, GAM_CLIENT, "wrong", GAM_SCOPE)));
    assert_refusal(&e, 400, ServerErrorKind::InvalidClient, "invalid_client");
    let e = refusal(drive(gam_flow(&server, "nobody", GAM_SECRET, GAM_SCOPE)));
    assert_refusal(&e, 400, ServerErrorKind::InvalidClient, "invalid_client");
    let e = refusal(drive(gam_flow(
        &server,
        GAM_CLIENT,
        GAM_SECRET,
        "admin:everything",
    )));
    assert_refusal(&e, 400, ServerErrorKind::InvalidScope, "invalid_scope");
    assert_eq!(server.grants("client_credentials"), (1, 3));
}

fn monpay_flow(peer: &Peer, secret: &str, code: &str, redirect: &str) -> tokendance::TokenRequest {
    monpay::exchange_code(
        &monpay::Config::new(peer.endpoint("")),
        MONPAY_CLIENT,
        ClientSecret::new(secret),
        AuthCode::new(code),
        redirect,
    )
    .unwrap()
}

/// MonPay's code exchange at `{base}/v2/oauth/token` with a code the model
/// holds; a used code, a wrong redirect and a wrong secret are refused.
#[test]
fn node_oauth_monpay_code_exchange() {
    let server = Peer::start(NODE_OAUTH.0, NODE_OAUTH.1);
    let new_code = || {
        let answer = server.json(server.post_form("/__test/code", &[]));
        answer["code"].as_str().expect("a code").to_owned()
    };
    let code = new_code();
    let sent = now();
    let token = drive(monpay_flow(&server, MONPAY_SECRET, &code, MONPAY_REDIRECT)).expect("code exchange");
    assert!(server.accepts(token.access_token()));
    assert_near(
        token.expires_at(),
        sent.saturating_add(Duration::from_secs(3600)),
        Duration::from_secs(2),
        "expiry",
    );
    assert!(token.refresh_token().is_some());
    assert_eq!(token.scope(), Some("profile"));

    let e = refusal(drive(monpay_flow(&server, MONPAY_SECRET, &code, MONPAY_REDIRECT)));
    assert_refusal(&e, 400, ServerErrorKind::InvalidGrant, "invalid_grant");
    let e = refusal(drive(monpay_flow(
        &server,
        MONPAY_SECRET,
        &new_code(),
        "https://evil.example/cb",
    )));
    assert_refusal(&e, 400, ServerErrorKind::InvalidRequest, "invalid_request");
    let e = refusal(drive(monpay_flow(&server, "wrong", &new_code(), MONPAY_REDIRECT)));
    assert_refusal(&e, 400, ServerErrorKind::InvalidClient, "invalid_client");
    assert_eq!(server.grants("authorization_code"), (1, 3));
}

// ---------------------------------------------------------------------------
// oidc-provider.

const OIDC: (&str, &str) = ("oidc-provider", "oidc-provider-peer.mjs");

/// GAM's client credentials against a certified OpenID provider (client
/// authentication `client_secret_post`, as the crate sends it).
#[test]
fn oidc_provider_gam_client_credentials_and_refusals() {
    let op = Peer::start(OIDC.0, OIDC.1);
    let sent = now();
    let token = drive(gam_flow(&op, GAM_CLIENT, GAM_SECRET, GAM_SCOPE)).expect("client credentials");
    assert_gam_token(&token, sent);

    let e = refusal(drive(gam_flow(&op, GAM_CLIENT, "wrong", GAM_SCOPE)));
    assert_refusal(&e, 401, ServerErrorKind::InvalidClient, "invalid_client");
    let e = refusal(drive(gam_flow(&op, "nobody", GAM_SECRET, GAM_SCOPE)));
    assert_refusal(&e, 401, ServerErrorKind::InvalidClient, "invalid_client");
    // A scope the provider knows but this client may not have: refused.
    let e = refusal(drive(gam_flow(&op, GAM_CLIENT, GAM_SECRET, "openid")));
    assert_refusal(&e, 400, ServerErrorKind::InvalidScope, "invalid_scope");
    // Scopes the provider does not know are dropped, not refused: the token
    // says what was granted, and the crate hands that on (the caller checks).
    let narrowed = drive(gam_flow(
        &op,
        GAM_CLIENT,
        GAM_SECRET,
        "iam:user-password:update admin:everything",
    ))
    .expect("a narrowed grant");
    assert_eq!(narrowed.scope(), Some("iam:user-password:update"));
    let nothing = drive(gam_flow(&op, GAM_CLIENT, GAM_SECRET, "admin:everything")).expect("an empty grant");
    assert_eq!(
        nothing.scope(),
        None,
        "the provider granted no scope and says none"
    );
}

/// A cookie jar kept by hand (ureq without its cookie feature): cookies by
/// name and path, sent to requests whose path they match.
#[derive(Default)]
struct Jar(Vec<(String, String, String)>);

impl Jar {
    fn store(&mut self, response: &http::Response<Vec<u8>>) {
        for header in response.headers().get_all(http::header::SET_COOKIE) {
            let header = header.to_str().expect("an ASCII Set-Cookie");
            let mut parts = header.split(';').map(str::trim);
            let Some((name, value)) = parts.next().and_then(|p| p.split_once('=')) else {
                continue;
            };
            let mut path = "/".to_owned();
            let mut expired = value.is_empty();
            for attribute in parts {
                let (key, val) = attribute.split_once('=').unwrap_or((attribute, ""));
                match key.to_ascii_lowercase().as_str() {
                    "path" => path = val.to_owned(),
                    "expires" => expired |= val.contains("1970"),
                    "max-age" => expired |= val.trim() == "0",
                    _ => {}
                }
            }
            self.0.retain(|(n, p, _)| !(n == name && *p == path));
            if !expired {
                self.0.push((name.to_owned(), path, value.to_owned()));
            }
        }
    }

    fn header_for(&self, path: &str) -> String {
        let matches = |cookie_path: &str| {
            path == cookie_path
                || (path.starts_with(cookie_path)
                    && (cookie_path.ends_with('/') || path[cookie_path.len()..].starts_with('/')))
        };
        self.0
            .iter()
            .filter(|(_, p, _)| matches(p))
            .map(|(n, _, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// What the authorization endpoint finally redirected the browser to.
struct Authorized {
    code: String,
    state: Option<String>,
    iss: Option<String>,
    prompts: Vec<String>,
}

/// Plays the browser: authorization request, login and consent pages of the
/// provider's development interactions, until the redirect to the client.
fn authorize_in_browser(op: &Peer, query: &[(&str, &str)]) -> Authorized {
    let base = url::Url::parse(&op.base()).unwrap();
    let mut jar = Jar::default();
    let mut prompts = Vec::new();
    let mut url = base.join("/auth").unwrap();
    url.query_pairs_mut().extend_pairs(query);
    let mut request = http::Request::get(url.as_str()).body(Vec::new()).unwrap();
    for _hop in 0..12 {
        let path = request.uri().path().to_owned();
        let cookie = jar.header_for(&path);
        if !cookie.is_empty() {
            request
                .headers_mut()
                .insert(http::header::COOKIE, cookie.parse().unwrap());
        }
        let response = op.send(request);
        jar.store(&response);
        let status = response.status();
        if status.is_redirection() {
            let location = response.headers()[http::header::LOCATION].to_str().unwrap();
            let next = base.join(location).unwrap();
            if next.as_str().starts_with(MONPAY_REDIRECT) {
                let pairs: Vec<(String, String)> = next.query_pairs().into_owned().collect();
                let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
                if let Some(error) = get("error") {
                    panic!("authorization refused: {error} {:?}", get("error_description"));
                }
                return Authorized {
                    code: get("code").expect("a code in the redirect"),
                    state: get("state"),
                    iss: get("iss"),
                    prompts,
                };
            }
            request = http::Request::get(next.as_str()).body(Vec::new()).unwrap();
            continue;
        }
        let html = String::from_utf8_lossy(response.body()).into_owned();
        assert_eq!(status, 200, "interaction page {path}: {html}");
        let prompt = ["login", "consent"]
            .into_iter()
            .find(|p| html.contains(&format!(r#"name="prompt" value="{p}""#)))
            .unwrap_or_else(|| panic!("neither a login nor a consent form at {path}: {html}"));
        prompts.push(prompt.to_owned());
        let action = html
            .split("action=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("a form action");
        let target = base.join(action).unwrap();
        let form: &[(&str, &str)] = match prompt {
            "login" => &[("prompt", "login"), ("login", "monpay-user"), ("password", "any")],
            _ => &[("prompt", "consent")],
        };
        request = form_request(target.as_str(), form, Some(jar.header_for(target.path())));
    }
    panic!("no redirect to the client after 12 hops");
}

/// The full authorization-code round trip by plain HTTP (login and consent
/// with a cookie jar; RFC 9207 `iss` in the redirect), MonPay's exchange at
/// `/v2/oauth/token` (the provider's token route), a used code refused, and
/// the refresh token the exchange returned used once.
#[test]
fn oidc_provider_code_round_trip_and_monpay_exchange() {
    let op = Peer::start(OIDC.0, OIDC.1);
    let authorized = authorize_in_browser(
        &op,
        &[
            ("client_id", MONPAY_CLIENT),
            ("response_type", "code"),
            ("redirect_uri", MONPAY_REDIRECT),
            ("scope", "openid offline_access"),
            ("prompt", "consent"),
            ("state", "state-42"),
        ],
    );
    assert_eq!(authorized.prompts, ["login", "consent"]);
    assert_eq!(authorized.state.as_deref(), Some("state-42"));
    assert_eq!(
        authorized.iss.as_deref(),
        Some(op.base().as_str()),
        "RFC 9207 iss"
    );

    let sent = now();
    let token = drive(monpay_flow(&op, MONPAY_SECRET, &authorized.code, MONPAY_REDIRECT)).expect("exchange");
    assert_near(
        token.expires_at(),
        sent.saturating_add(Duration::from_secs(3600)),
        Duration::from_secs(2),
        "expiry",
    );
    assert_eq!(token.scope(), Some("openid offline_access"));
    let refresh = token
        .refresh_token()
        .expect("offline_access brings a refresh token");

    // Refresh (MonPay's own refresh call is undocumented: plain RFC 6749 here).
    let response = op.post_form(
        "/v2/oauth/token",
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.expose_secret()),
            ("client_id", MONPAY_CLIENT),
            ("client_secret", MONPAY_SECRET),
        ],
    );
    let renewed = oauth2::parse_token_response(&response, now()).expect("refreshed");
    assert_ne!(renewed.access_token(), token.access_token());
    assert_ne!(renewed.refresh_token(), token.refresh_token(), "rotated");

    // Replaying the code is refused and (RFC 6749 4.1.2) the provider revokes
    // what the code granted: the rotated refresh token is dead too.
    let e = refusal(drive(monpay_flow(
        &op,
        MONPAY_SECRET,
        &authorized.code,
        MONPAY_REDIRECT,
    )));
    assert_refusal(&e, 400, ServerErrorKind::InvalidGrant, "invalid_grant");
    let after_replay = op.post_form(
        "/v2/oauth/token",
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", renewed.refresh_token().unwrap().expose_secret()),
            ("client_id", MONPAY_CLIENT),
            ("client_secret", MONPAY_SECRET),
        ],
    );
    let e = oauth2::parse_token_response(&after_replay, now()).expect_err("grant revoked");
    assert_eq!(e.as_server().map(|e| e.kind), Some(ServerErrorKind::InvalidGrant));
}

/// A code the provider never issued, and a wrong client secret.
#[test]
fn oidc_provider_monpay_refusals() {
    let op = Peer::start(OIDC.0, OIDC.1);
    let e = refusal(drive(monpay_flow(
        &op,
        MONPAY_SECRET,
        "never-issued",
        MONPAY_REDIRECT,
    )));
    assert_refusal(&e, 400, ServerErrorKind::InvalidGrant, "invalid_grant");
    let e = refusal(drive(monpay_flow(&op, "wrong", "never-issued", MONPAY_REDIRECT)));
    assert_refusal(&e, 401, ServerErrorKind::InvalidClient, "invalid_client");
}

/// ITC's session against oidc-provider's refresh grant (password as a custom
/// grant): a rotating refresh, then a lost answer makes the session reuse a
/// consumed refresh token; the provider revokes the whole grant, and the
/// session recovers by the password grant.
#[test]
fn oidc_provider_itc_session_survives_refresh_reuse_detection() {
    let op = Peer::start(OIDC.0, OIDC.1);
    let mut session = itc::session(&op.itc_config(), ITC_USER, Password::new(ITC_PASSWORD)).unwrap();
    let sent = now();
    let first = drive(session.fetch()).expect("custom password grant");
    assert_near(
        session.tokens().unwrap().expires_at(),
        sent.saturating_add(Duration::from_secs(2)),
        Duration::from_secs(1),
        "expiry",
    );
    let refresh_1 = session.tokens().unwrap().refresh_token().cloned().unwrap();

    sleep_until(session.next_deadline().unwrap());
    let second = drive(session.fetch()).expect("refresh");
    assert_ne!(second, first);
    let refresh_2 = session.tokens().unwrap().refresh_token().cloned().unwrap();
    assert_ne!(refresh_2, refresh_1, "rotated");

    sleep_until(session.next_deadline().unwrap());
    assert_eq!(lose_one_response(&op, &mut session), 200);
    sleep_until(session.next_deadline().unwrap());
    let third = drive(session.fetch()).expect("recovered by the password grant");
    assert_ne!(third, second);
    assert!(!session.has_ended());

    // The provider revoked the grant: the newest refresh token of the old
    // grant is dead too; the session's new one (a new grant) works.
    let refresh_3 = session.tokens().unwrap().refresh_token().cloned().unwrap();
    let reuse = op.post_form(
        "/v2/oauth/token",
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_2.expose_secret()),
            ("client_id", "vatps"),
        ],
    );
    assert_eq!(reuse.status(), 400);
    let fresh = op.post_form(
        "/v2/oauth/token",
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_3.expose_secret()),
            ("client_id", "vatps"),
        ],
    );
    assert!(oauth2::parse_token_response(&fresh, now()).is_ok());

    let mut wrong = itc::session(&op.itc_config(), ITC_USER, Password::new("wrong")).unwrap();
    let e = refusal(drive(wrong.fetch()));
    assert_refusal(&e, 400, ServerErrorKind::InvalidGrant, "invalid_grant");
    assert!(wrong.has_ended());
}

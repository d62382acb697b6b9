//! The tour: every implemented flow, end to end, over real HTTP on 127.0.0.1.
//!
//! `cargo run --example tour --features fake,ureq`
//!
//! It starts the crate's fakes behind a small HTTP server on a free loopback
//! port and drives each flow through the blocking driver with the crate's `ureq`
//! adapter (`tokendance::transport::ureq`), exactly
//! as an integrator would against the real services. A virtual clock, shared
//! by the flows and the fakes, lets it show token expiry, refresh and the
//! fallback to the password grant without waiting (and a session saved,
//! restarted and restored, whose next renewal is a refresh). It prints one table row
//! per step and exits non-zero if any step does not end as the provider's
//! documentation says it should. No network, no credentials.
//!
//! After the token flows come API calls with those tokens: the ITC Easy
//! Register service with the Keycloak session as token source (a consumer
//! found and not found, getProfile, approveQr, a revoked token answered 401
//! then renewed and the call re-issued once, a 403 for an account without
//! the right) and GAM business calls with a re-issued client-credentials
//! token (the success envelope, a processing error, the empty 403), and
//! MonPay invoice calls with a re-issued merchant token (its assumed
//! lifetime, a stale 401 renewed, the 401 INSUFFICIENT_ACCESS as Forbidden).

mod support;

use std::cell::RefCell;
use std::process::ExitCode;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokendance::call::{Authorized, Limiter, Reissue, Scheme};
use tokendance::crpt::registration::{self, Signing};
use tokendance::crpt::{self, gis_mt, mdlp, suz, true_api, KeeperAction, KeeperSource, TokenKeeper};
use tokendance::drive::{self, DriveError, NoSigner};
use tokendance::fake::{self, CertificateCase, Fake, Fakes};
use tokendance::fleet::{FleetKeeper, FleetSettings, FleetSource, MemoryStore, StoreOpKind};
use tokendance::oauth2::SessionSnapshot;
use tokendance::{
    astana_plat, gam, itc, monpay, AccessToken, ClientSecret, Endpoint, Error, Flow, Password,
    RegistrationKey, ServerErrorKind, SignJob, Signature, SignatureKind, Timestamp, TokenSet,
};

use support::{LoopbackServer, VirtualClock};
use tokendance::transport;

/// 2026-01-01T00:00:00Z: where the virtual clock starts.
const START: Timestamp = Timestamp::from_unix_secs(1_767_225_600);

/// The signer a step uses: the crate's fake signer, or none.
type Signer = fn(&SignJob) -> Option<Signature>;

fn no_signer(_: &SignJob) -> Option<Signature> {
    None
}

fn fake_signer(job: &SignJob) -> Option<Signature> {
    Some(fake::sign(job))
}

/// How a step should end.
#[derive(Clone, Copy)]
enum Expected {
    Token,
    Refused(ServerErrorKind),
}

/// An ITC session step: its name, what happens before it, how many requests it sends.
type ItcStep = (&'static str, fn(&Tour), usize);

/// One line of the transcript table.
struct Row {
    flow: &'static str,
    step: &'static str,
    clock: String,
    request: String,
    status: String,
    outcome: String,
    expiry: String,
}

struct Tour {
    clock: VirtualClock,
    agent: ureq::Agent,
    fakes: Arc<Mutex<Fakes>>,
    /// The token store the fleet section's processes share.
    store: RefCell<MemoryStore>,
    rows: Vec<Row>,
    failures: Vec<String>,
}

type Outcome<T> = Result<T, DriveError<transport::ureq::Error, NoSigner>>;

impl Tour {
    fn fakes(&self) -> MutexGuard<'_, Fakes> {
        self.fakes.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Drives `flow` to its end over HTTP and records every step: each
    /// exchange, signature and wait. Returns the outcome and how many
    /// requests were sent.
    fn run<F: Flow>(
        &mut self,
        flow: &'static str,
        step: &'static str,
        f: F,
        signer: Signer,
    ) -> (Outcome<F::Output>, usize) {
        let log: RefCell<Vec<(Timestamp, String, String)>> = RefCell::new(Vec::new());
        let clock = &self.clock;
        let send = transport::ureq::send(&self.agent);
        let mut sent = 0;
        let store = &self.store;
        let outcome = drive::drive_with_store(
            f,
            || clock.now(),
            |request| {
                sent += 1;
                let (at, line) = (clock.now(), describe(&request));
                let response = send(request);
                let status = match &response {
                    Ok(r) => r.status().as_u16().to_string(),
                    Err(_) => "transport error".to_owned(),
                };
                log.borrow_mut().push((at, line, status));
                response
            },
            |job| {
                let line = format!("(sign {:?}, {} bytes)", job.kind(), job.bytes().len());
                log.borrow_mut().push((clock.now(), line, "-".to_owned()));
                signer(job).ok_or(NoSigner)
            },
            |op| {
                let line = match op.kind() {
                    StoreOpKind::Read => "(store: read the record)".to_owned(),
                    StoreOpKind::Swap { version, .. } => {
                        format!("(store: compare-and-set to version {version})")
                    }
                };
                let answer = store.borrow_mut().apply(op);
                log.borrow_mut().push((clock.now(), line, format!("{answer:?}")));
                Ok(answer)
            },
            |until| {
                let line = format!(
                    "(wait {} ms)",
                    until.saturating_duration_since(clock.now()).as_millis()
                );
                log.borrow_mut().push((clock.now(), line, "-".to_owned()));
                clock.advance_to(until);
            },
        );
        let mut log = log.into_inner();
        if log.is_empty() {
            log.push((
                self.clock.now(),
                "(none: cached token)".to_owned(),
                "-".to_owned(),
            ));
        }
        for (at, request, status) in log {
            self.rows.push(Row {
                flow,
                step,
                clock: format!("+{} s", at.saturating_duration_since(START).as_secs()),
                request,
                status,
                outcome: String::new(),
                expiry: String::new(),
            });
        }
        (outcome, sent)
    }

    /// Checks `outcome` against `expected` and fills in the last row.
    fn judge<T>(&mut self, outcome: &Outcome<T>, expiry: Option<Option<Timestamp>>, expected: Expected) {
        let (text, ok) = match (outcome, expected) {
            (Ok(_), Expected::Token) => ("token".to_owned(), true),
            (Err(DriveError::Flow(Error::Server(e))), Expected::Refused(kind)) => {
                (format!("refused: {e}"), e.kind == kind)
            }
            (Err(e), _) => (format!("error: {e}"), false),
            (Ok(_), Expected::Refused(_)) => ("token (expected a refusal)".to_owned(), false),
        };
        self.record(text, ok, expiry);
    }

    /// Writes the outcome into the last row; a wrong one is a failure of the tour.
    fn record(&mut self, text: String, ok: bool, expiry: Option<Option<Timestamp>>) {
        let Some(row) = self.rows.last_mut() else { return };
        row.outcome = text;
        row.expiry = match expiry {
            Some(Some(t)) => format!("+{} s", t.saturating_duration_since(START).as_secs()),
            Some(None) => "none given".to_owned(),
            None => String::new(),
        };
        if !ok {
            row.outcome.push_str("  <-- UNEXPECTED");
            self.failures
                .push(format!("{}: {}: {}", row.flow, row.step, row.outcome));
        }
    }

    /// Checks a call's output with `verdict` (what to print, whether it is
    /// right) and fills in the last row; an error is always wrong.
    fn verdict<T>(
        &mut self,
        outcome: &Outcome<T>,
        expiry: Option<Option<Timestamp>>,
        verdict: impl FnOnce(&T) -> (String, bool),
    ) {
        let (text, ok) = match outcome {
            Ok(output) => verdict(output),
            Err(e) => (format!("error: {e}"), false),
        };
        self.record(text, ok, expiry);
    }

    /// Checks how many requests a step sent.
    fn expect_requests(&mut self, step: &str, sent: usize, expected: usize) {
        if sent != expected {
            self.failures
                .push(format!("{step}: sent {sent} requests, expected {expected}"));
        }
    }

    fn one_shot<F: Flow<Output = TokenSet>>(
        &mut self,
        flow: &'static str,
        step: &'static str,
        f: F,
        expected: Expected,
    ) -> Option<TokenSet> {
        let (outcome, sent) = self.run(flow, step, f, no_signer);
        self.expect_requests(step, sent, 1);
        let expiry = outcome.as_ref().ok().map(TokenSet::expires_at);
        self.judge(&outcome, expiry, expected);
        outcome.ok()
    }
}

fn main() -> ExitCode {
    match tour() {
        Ok(failures) if failures.is_empty() => {
            println!("\nEvery flow behaved as documented.");
            ExitCode::SUCCESS
        }
        Ok(failures) => {
            eprintln!("\n{} step(s) did not behave as documented:", failures.len());
            for failure in failures {
                eprintln!("  - {failure}");
            }
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("the tour could not run: {e}");
            ExitCode::FAILURE
        }
    }
}

fn tour() -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let clock = VirtualClock::starting_at(START);
    let fakes = Arc::new(Mutex::new(Fakes::new()));
    let server = {
        let (fakes, clock) = (Arc::clone(&fakes), clock.clone());
        LoopbackServer::start(Arc::new(move |request: http::Request<Vec<u8>>| {
            let mut fakes = fakes.lock().unwrap_or_else(PoisonError::into_inner);
            fakes.handle(clock.now(), &request)
        }))?
    };
    let base = server.base_url();
    println!(
        "tokendance tour: fakes of every provider on {base} (virtual clock starts at 2026-01-01T00:00:00Z)\n"
    );
    // Loopback only: the fakes speak plain http, which needs the explicit opt-in.
    let local = |path: &str| Endpoint::parse_insecure_http(&format!("{base}{path}"));

    let mut tour = Tour {
        clock,
        agent: transport::ureq::agent(Duration::from_secs(30)),
        fakes,
        store: RefCell::new(MemoryStore::default()),
        rows: Vec::new(),
        failures: Vec::new(),
    };

    // ITC Easy Register: a long-lived Keycloak session.
    let itc_config = itc::Config::new(
        local("/itc/auth/realms/Staging")?,
        local("/itc/api/easy-register/")?,
    );
    let mut session = itc::session(
        &itc_config,
        itc::STAGING_TEST_USERNAME,
        Password::new(itc::STAGING_TEST_PASSWORD),
    )?;
    let steps: [ItcStep; 5] = [
        ("password grant", |_| {}, 1),
        (
            "token still fresh",
            |t| t.clock.advance(Duration::from_secs(60)),
            0,
        ),
        (
            "refresh 30 s before expiry",
            |t| t.clock.advance(Duration::from_secs(215)),
            1,
        ),
        (
            "refresh refused, password grant",
            |t| {
                t.fakes().itc.end_sessions();
                t.clock.advance(Duration::from_secs(280));
            },
            2,
        ),
        (
            "refresh token expired, password grant",
            |t| t.clock.advance(Duration::from_secs(2_000)),
            1,
        ),
    ];
    for (step, before, requests) in steps {
        before(&tour);
        let (outcome, sent) = tour.run("ITC Easy Register", step, session.fetch(), no_signer);
        tour.expect_requests(step, sent, requests);
        let expiry = session.tokens().map(TokenSet::expires_at);
        tour.judge(&outcome, expiry, Expected::Token);
        if let Ok(token) = &outcome {
            check_accepted(&mut tour, step, token, |f, now, t| f.itc.accepts(now, t));
        }
    }
    // A restart: the session's tokens are saved (JSON, for a file or a
    // database), the new process's session restores them, and its next
    // renewal is a refresh with the saved refresh token, not a password grant.
    let step = "restored after a restart: refresh, no password grant";
    let saved = session.snapshot().map(|snapshot| snapshot.to_json());
    drop(session);
    let mut restarted = itc::session(
        &itc_config,
        itc::STAGING_TEST_USERNAME,
        Password::new(itc::STAGING_TEST_PASSWORD),
    )?;
    let restored = match &saved {
        Some(bytes) => restarted.restore(SessionSnapshot::from_json(bytes)?)?,
        None => false,
    };
    tour.clock.advance(Duration::from_secs(275));
    let before = tour.fakes().itc.grants();
    let (outcome, sent) = tour.run("ITC Easy Register", step, restarted.fetch(), no_signer);
    tour.expect_requests(step, sent, 1);
    let after = tour.fakes().itc.grants();
    let (refreshes, passwords) = (after.refresh - before.refresh, after.password - before.password);
    let expiry = Some(restarted.tokens().and_then(TokenSet::expires_at));
    tour.verdict(&outcome, expiry, |_| {
        (
            format!("token; restored: {restored}; {refreshes} refresh, {passwords} password grant"),
            restored && refreshes == 1 && passwords == 0,
        )
    });

    let mut wrong = itc::session(&itc_config, itc::STAGING_TEST_USERNAME, Password::new("wrong"))?;
    let (outcome, _) = tour.run("ITC Easy Register", "wrong password", wrong.fetch(), no_signer);
    tour.judge(&outcome, None, Expected::Refused(ServerErrorKind::InvalidGrant));
    if !wrong.has_ended() {
        tour.failures
            .push("ITC: a refused password must end the session".to_owned());
    }

    // GAM: client credentials with a scope.
    let gam_config = gam::Config::new(local("/gam")?, local("/gam/oms")?);
    let secret = || ClientSecret::new(fake::DEMO_CLIENT_SECRET);
    let flow = gam::client_credentials(&gam_config, fake::DEMO_CLIENT_ID, secret(), fake::DEMO_GAM_SCOPE)?;
    if let Some(token) = tour.one_shot("GAM", "client credentials", flow, Expected::Token) {
        check_accepted(&mut tour, "GAM", token.access_token(), |f, now, t| {
            f.gam.accepts(now, t)
        });
    }
    let flow = gam::client_credentials(
        &gam_config,
        fake::DEMO_CLIENT_ID,
        ClientSecret::new("not-the-secret"),
        fake::DEMO_GAM_SCOPE,
    )?;
    tour.one_shot(
        "GAM",
        "wrong client secret",
        flow,
        Expected::Refused(ServerErrorKind::InvalidClient),
    );

    // MonPay: authorization-code exchange.
    let monpay_config = monpay::Config::new(local("/monpay")?);
    let code = tour.fakes().monpay.issue_code(tour.clock.now());
    let exchange = |code| {
        monpay::exchange_code(
            &monpay_config,
            fake::DEMO_CLIENT_ID,
            secret(),
            code,
            fake::DEMO_REDIRECT_URI,
        )
    };
    if let Some(token) = tour.one_shot(
        "MonPay",
        "code exchange",
        exchange(code.clone())?,
        Expected::Token,
    ) {
        check_accepted(&mut tour, "MonPay", token.access_token(), |f, now, t| {
            f.monpay.accepts(now, t)
        });
    }
    tour.one_shot(
        "MonPay",
        "same code again",
        exchange(code)?,
        Expected::Refused(ServerErrorKind::InvalidGrant),
    );

    // Astana-plat: login by password and by certificate.
    let login_url = local("/astana-plat/api/auth/login")?;
    let flow = astana_plat::login_password(&login_url, fake::DEMO_LOGIN, Password::new(fake::DEMO_PASSWORD))?;
    if let Some(token) = tour.one_shot("Astana-plat", "login + password", flow, Expected::Token) {
        check_accepted(&mut tour, "Astana-plat", token.access_token(), |f, now, t| {
            f.astana_plat.accepts(now, t)
        });
    }
    let flow = astana_plat::login_password(&login_url, "nobody", Password::new("x"))?;
    tour.one_shot(
        "Astana-plat",
        "unknown user",
        flow,
        Expected::Refused(ServerErrorKind::InvalidGrant),
    );
    tour.one_shot(
        "Astana-plat",
        "certificate (TLS)",
        astana_plat::login_certificate(&login_url)?,
        Expected::Token,
    );
    {
        let mut fakes = tour.fakes();
        fakes.astana_plat.certificate = CertificateCase::Outdated;
        fakes.astana_plat.errors_in_http_200 = true;
    }
    tour.one_shot(
        "Astana-plat",
        "outdated cert, error in HTTP 200",
        astana_plat::login_certificate(&login_url)?,
        Expected::Refused(ServerErrorKind::InvalidGrant),
    );

    crpt_tour(&mut tour, &local)?;
    itc_api_tour(&mut tour, &itc_config)?;
    gam_api_tour(&mut tour, &gam_config)?;
    monpay_api_tour(&mut tour, &monpay_config, &format!("{base}/monpay"))?;

    print_table(&tour.rows);
    drop(server);
    Ok(tour.failures)
}

/// CRPT: registering an installation, then tokens for its connection through
/// GIS MT, True API and MDLP with the fake signer, and the keeper renewing once.
fn crpt_tour(
    tour: &mut Tour,
    local: &dyn Fn(&str) -> Result<Endpoint, tokendance::Error>,
) -> Result<(), Box<dyn std::error::Error>> {
    const FLOW: &str = "CRPT";
    let suz = local("/crpt/suz")?;
    let register = |signing| {
        registration::register(
            &suz,
            "cdf12109-10d3-11e6-8b6f-0050569977a1",
            RegistrationKey::new(crpt::DEMO_REGISTRATION_KEY),
            "Moscow, 1 Leninskie Gory",
            signing,
            registration::DEFAULT_API_VERSION,
        )
    };
    // A signer that makes the wrong kind: SUZ refuses an attached X-Signature.
    let attached = |job: &SignJob| Some(fake::sign_as(job.bytes(), SignatureKind::Attached));
    let (outcome, _) = tour.run(
        FLOW,
        "registration, attached signature",
        register(Signing::Detached)?,
        attached,
    );
    match &outcome {
        Ok(registration::Outcome::Rejected { reason }) => tour.record(
            format!("rejected: {}", reason.as_deref().unwrap_or("-")),
            true,
            None,
        ),
        other => tour.record(format!("{other:?} (expected a rejection)"), false, None),
    }
    let (outcome, _) = tour.run(
        FLOW,
        "registration, detached signature",
        register(Signing::Detached)?,
        fake_signer,
    );
    let connection = match &outcome {
        Ok(registration::Outcome::Registered { oms_connection }) => oms_connection.as_str().to_owned(),
        _ => String::new(),
    };
    // SUZ v3 also takes the installation's name (field practice).
    let named = registration::register_named(
        &suz,
        "cdf12109-10d3-11e6-8b6f-0050569977a1",
        RegistrationKey::new(crpt::DEMO_REGISTRATION_KEY),
        "Moscow, 1 Leninskie Gory",
        "Warehouse 2",
        Signing::Detached,
    )?;
    let (outcome, _) = tour.run(FLOW, "registration v3 with a name", named, fake_signer);
    let registered = matches!(&outcome, Ok(registration::Outcome::Registered { .. }));
    tour.record(format!("registered: {registered}"), registered, None);
    tour.record(
        format!("omsConnection {connection}"),
        !connection.is_empty(),
        None,
    );

    // Five ways to a token for the connection; each revokes the one before.
    let gis_mt_base = local("/crpt/gis-mt/api/v3")?;
    let true_api_base = local("/crpt/true-api/api/v3/true-api")?;
    let mdlp_base = local("/crpt/mdlp")?;
    let conn = Some(connection.as_str());
    let password = mdlp::Auth::Password(Password::new(fake::DEMO_PASSWORD));
    let flows: Vec<(&str, Box<DynFlow>, Signer)> = vec![
        (
            "GIS MT sign-in",
            Box::new(gis_mt::sign_in(&gis_mt_base, conn)?),
            fake_signer,
        ),
        (
            "True API sign-in",
            Box::new(true_api::sign_in(&true_api_base, conn)?),
            fake_signer,
        ),
        (
            "True API sign-in for INN 7707083893",
            Box::new(true_api::sign_in_for(&true_api_base, conn, "7707083893")?),
            fake_signer,
        ),
        (
            "MDLP signed code",
            Box::new(mdlp::sign_in(
                &mdlp_base,
                mdlp_client(),
                "1865725612",
                mdlp::Auth::SignedCode,
                conn,
            )?),
            fake_signer,
        ),
        (
            "MDLP password",
            Box::new(mdlp::sign_in(
                &mdlp_base,
                mdlp_client(),
                fake::DEMO_MDLP_EMAIL,
                password,
                conn,
            )?),
            no_signer,
        ),
    ];
    let mut previous: Option<TokenSet> = None;
    for (step, flow, signer) in flows {
        tour.clock.advance(Duration::from_secs(2));
        let (outcome, _) = tour.run(FLOW, step, flow, signer);
        tour.judge(
            &outcome,
            outcome.as_ref().ok().map(TokenSet::expires_at),
            Expected::Token,
        );
        let now = tour.clock.now();
        if let Ok(token) = outcome {
            let fakes = tour.fakes();
            let revoked = previous
                .as_ref()
                .is_some_and(|old| fakes.crpt.accepts(now, &connection, old.access_token()));
            let live = fakes.crpt.accepts(now, &connection, token.access_token());
            drop(fakes);
            if !live || revoked {
                tour.failures.push(format!(
                    "{step}: the new token must be live and the previous revoked"
                ));
            }
            previous = Some(token);
        }
    }
    // A detached signature where GIS MT wants an attached one: 403.
    let detached = |job: &SignJob| Some(fake::sign_as(job.bytes(), SignatureKind::Detached));
    let flow = gis_mt::sign_in(&gis_mt_base, conn)?;
    let (outcome, _) = tour.run(FLOW, "GIS MT, detached signature", flow, detached);
    tour.judge(&outcome, None, Expected::Refused(ServerErrorKind::Forbidden));

    // The keeper: five callers ask at once, one renews, all get the same token.
    let mut keeper = TokenKeeper::new(connection.clone());
    let issued_before = tour.fakes().crpt.tokens_issued();
    let mut tickets = Vec::new();
    let mut waiting = 0;
    for _ in 0..5 {
        match keeper.poll(tour.clock.now()) {
            KeeperAction::Renew(ticket) => tickets.push(ticket),
            KeeperAction::Wait(_) => waiting += 1,
            KeeperAction::UseToken(_) => {}
        }
    }
    let renewals = tickets.len();
    for ticket in tickets {
        let flow = true_api::sign_in(&true_api_base, conn)?;
        let (outcome, _) = tour.run(FLOW, "keeper: 5 callers, 1 renewal", flow, fake_signer);
        match outcome {
            Ok(token) => keeper.renewed(ticket, token)?,
            Err(_) => keeper.renewal_failed(ticket, tour.clock.now(), None)?,
        }
    }
    let users = (0..5)
        .filter(|_| matches!(keeper.poll(tour.clock.now()), KeeperAction::UseToken(_)))
        .count();
    let issued = tour.fakes().crpt.tokens_issued() - issued_before;
    let ok = renewals == 1 && waiting == 4 && users == 5 && issued == 1;
    tour.record(
        format!("{renewals} renewal, {waiting} waited, {users} now use it, {issued} token issued"),
        ok,
        Some(keeper.token().and_then(TokenSet::expires_at)),
    );

    suz_calls_tour(tour, &suz, &mut keeper, &true_api_base, &connection)?;
    mdlp_pacing_tour(tour, &mdlp_base, &mut keeper, &true_api_base, &connection)?;

    // The fleet: three processes' keepers (one each, as three processes
    // would have) share the connection's token through one store: the
    // first signs in, fenced, and publishes; the others read it.
    let issued_before = tour.fakes().crpt.tokens_issued();
    let mut tokens = Vec::new();
    for process in ["fleet: process 1", "fleet: process 2", "fleet: process 3"] {
        let holder = process.replace(' ', "-").replace(':', "");
        let keeper = FleetKeeper::new(format!("crpt:{connection}"), holder, FleetSettings::default())?;
        let base = true_api_base.clone();
        let mut source = FleetSource::new(keeper, move |_| true_api::sign_in(&base, conn));
        let (outcome, _) = tour.run(FLOW, process, TokenOf(&mut source), fake_signer);
        tokens.push(outcome.ok());
    }
    let issued = tour.fakes().crpt.tokens_issued() - issued_before;
    let same = tokens.windows(2).all(|w| w[0].is_some() && w[0] == w[1]);
    let live = tokens[0]
        .as_ref()
        .is_some_and(|t| tour.fakes().crpt.accepts(tour.clock.now(), &connection, t));
    tour.record(
        format!(
            "3 processes, {issued} sign-in, all on one token: {}",
            same && live
        ),
        issued == 1 && same && live,
        None,
    );
    Ok(())
}

/// SUZ business calls with the keeper's token: an order signed over its
/// body (`X-Signature`), SUZ's refusal of an empty one typed, and an order
/// whose token another sign-in revoked, renewed once and re-sent with the
/// same signature.
fn suz_calls_tour(
    tour: &mut Tour,
    suz: &Endpoint,
    keeper: &mut TokenKeeper,
    true_api_base: &Endpoint,
    connection: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    const FLOW: &str = "SUZ call";
    let order = |body: &str| {
        http::Request::post(format!("{}/api/v2/lp/orders?omsId=cdf12109", suz.as_str()))
            .header("content-type", "application/json;charset=UTF-8")
            .body(body.as_bytes().to_vec())
    };
    let products = r#"{"products":[{"gtin":"04600000000000","quantity":10}]}"#;
    let conn = Some(connection);
    let calls = suz::Calls::new().insecure_http();
    let orders_before = tour.fakes().crpt.orders().len();
    {
        let source = KeeperSource::new(&mut *keeper, || true_api::sign_in(true_api_base, conn));
        let call = calls.call(source, order(products)?, Signing::Detached)?;
        let (outcome, sent) = tour.run(FLOW, "order, X-Signature over the body", call, fake_signer);
        let created = tour.fakes().crpt.orders().len() - orders_before;
        let ok = matches!(&outcome, Ok(r) if r.status() == 200) && sent == 1 && created == 1;
        tour.record(format!("{created} order created, {sent} request"), ok, None);
    }
    {
        let source = KeeperSource::new(&mut *keeper, || true_api::sign_in(true_api_base, conn));
        let call = calls.call(source, order(r#"{"products":[]}"#)?, Signing::Detached)?;
        let (outcome, _) = tour.run(FLOW, "empty order", call, fake_signer);
        let refusal = outcome.as_ref().err().and_then(|e| match e {
            DriveError::Flow(e) => e
                .as_server()
                .map(|s| format!("{} {}", s.status, s.code.as_deref().unwrap_or("-"))),
            _ => None,
        });
        let ok = refusal.as_deref() == Some("400 Bad Request 1100");
        tour.record(
            format!("refused: {}", refusal.as_deref().unwrap_or("?")),
            ok,
            None,
        );
    }
    // Another sign-in for the connection revokes the keeper's token.
    let (elsewhere, _) = tour.run(
        FLOW,
        "a sign-in elsewhere",
        true_api::sign_in(true_api_base, conn)?,
        fake_signer,
    );
    tour.judge(
        &elsewhere,
        elsewhere.as_ref().ok().map(TokenSet::expires_at),
        Expected::Token,
    );
    let source = KeeperSource::new(&mut *keeper, || true_api::sign_in(true_api_base, conn));
    let call = calls.call(source, order(products)?, Signing::Detached)?;
    let (outcome, sent) = tour.run(FLOW, "order after a revocation", call, fake_signer);
    // The order, the sign-in's two requests, the order again: signed once.
    let ok = matches!(&outcome, Ok(r) if r.status() == 200) && sent == 4;
    tour.record(
        format!("401, signed in again, re-sent: {sent} requests"),
        ok,
        None,
    );
    Ok(())
}

/// MDLP's limits per method: three calls of one method at once, first
/// unpaced (MDLP answers the second with 429), then through one shared
/// `call::Limiter` (each waits its turn; none is refused).
fn mdlp_pacing_tour(
    tour: &mut Tour,
    mdlp: &Endpoint,
    keeper: &mut TokenKeeper,
    true_api_base: &Endpoint,
    connection: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    const FLOW: &str = "MDLP pacing";
    let conn = Some(connection);
    let outcome =
        || http::Request::get(format!("{}/api/v1/documents/outcome", mdlp.as_str())).body(Vec::new());
    let limiter = Arc::new(Mutex::new(Limiter::mdlp()));
    for (step, paced) in [
        ("3 calls at once, unpaced", false),
        ("3 calls through one Limiter", true),
    ] {
        // Apart from the calls before (which the limiter did not see).
        tour.clock.advance(Duration::from_secs(2));
        let refused_before = tour.fakes().crpt.mdlp_too_soon_calls();
        let started = tour.clock.now();
        let mut answered = Vec::new();
        for _ in 0..3 {
            let source = KeeperSource::new(&mut *keeper, || true_api::sign_in(true_api_base, conn));
            let mut call = Authorized::new_insecure_http(source, outcome()?, Scheme::MdlpToken)?;
            if paced {
                call = call.paced_by(Arc::clone(&limiter));
            }
            let (result, _) = tour.run(FLOW, step, call, fake_signer);
            answered.push(match result {
                Ok(response) => response.status().as_u16(),
                Err(DriveError::Flow(Error::Server(e))) => e.status.as_u16(),
                Err(_) => 0,
            });
        }
        let refused = tour.fakes().crpt.mdlp_too_soon_calls() - refused_before;
        let took = tour.clock.now().saturating_duration_since(started).as_millis();
        let ok = if paced {
            answered == [200, 200, 200] && refused == 0 && took >= 2_000
        } else {
            answered[0] == 200 && refused == 2
        };
        tour.record(
            format!("answers {answered:?}, {refused} refused with 429, {took} ms"),
            ok,
            None,
        );
    }
    Ok(())
}

/// A token source's token as a flow (what a call does before its request).
struct TokenOf<'s, S>(&'s mut S);

impl<S: tokendance::call::TokenSource> Flow for TokenOf<'_, S> {
    type Output = AccessToken;

    fn start(&mut self, now: Timestamp) -> Result<tokendance::Action<AccessToken>, Error> {
        self.0.poll_token(now)
    }

    fn resume(
        &mut self,
        now: Timestamp,
        input: tokendance::Input,
    ) -> Result<tokendance::Action<AccessToken>, Error> {
        self.0.resume_token(now, input)
    }
}

/// ITC Easy Register calls with the Keycloak session as the token source.
fn itc_api_tour(tour: &mut Tour, config: &itc::Config) -> Result<(), Box<dyn std::error::Error>> {
    const FLOW: &str = "ITC API";
    let mut session = itc::session(
        config,
        itc::STAGING_TEST_USERNAME,
        Password::new(itc::STAGING_TEST_PASSWORD),
    )?;
    let expiry =
        |session: &tokendance::oauth2::PasswordSession| Some(session.tokens().and_then(TokenSet::expires_at));

    // The session has no token yet: the first call gets one, the others reuse it.
    let step = "consumer AA12345678 (first token)";
    let call = itc::consumer(config, fake::ITC_TEST_REG_NO, &mut session)?;
    let (outcome, sent) = tour.run(FLOW, step, call, no_signer);
    tour.expect_requests(step, sent, 2);
    tour.verdict(&outcome, expiry(&session), |found| match found {
        Some(c) => (
            format!(
                "found: loginName {} ({} {})",
                c.login_name,
                c.given_name.as_deref().unwrap_or("-"),
                c.family_name.as_deref().unwrap_or("-")
            ),
            c.login_name == fake::ITC_TEST_LOGIN_NAME,
        ),
        None => ("not found (expected the test citizen)".to_owned(), false),
    });

    let step = "consumer, Cyrillic regNo";
    let call = itc::consumer(config, fake::ITC_CYRILLIC_REG_NO, &mut session)?;
    let (outcome, sent) = tour.run(FLOW, step, call, no_signer);
    tour.expect_requests(step, sent, 1);
    tour.verdict(&outcome, expiry(&session), |found| match found {
        Some(c) => (format!("found: loginName {}", c.login_name), true),
        None => ("not found (expected a citizen)".to_owned(), false),
    });

    let step = "consumer, unknown regNo";
    let call = itc::consumer(config, "ZZ00000000", &mut session)?;
    let (outcome, sent) = tour.run(FLOW, step, call, no_signer);
    tour.expect_requests(step, sent, 1);
    tour.verdict(&outcome, expiry(&session), |found| match found {
        None => ("404: Ok(None)".to_owned(), true),
        Some(c) => (format!("found {} (expected none)", c.reg_no), false),
    });

    let step = "getProfile by phone";
    let query = itc::ProfileQuery::Phone(fake::ITC_TEST_PHONE.to_owned());
    let call = itc::get_profile(config, &query, &mut session)?;
    let (outcome, sent) = tour.run(FLOW, step, call, no_signer);
    tour.expect_requests(step, sent, 1);
    tour.verdict(&outcome, expiry(&session), |reply| {
        (
            describe_reply(reply),
            reply.is_success() && reply.login_name.as_deref() == Some(fake::ITC_TEST_LOGIN_NAME),
        )
    });

    for (step, code) in [
        ("approveQr", itc::Code::Success),
        ("approveQr, same receipt again", itc::Code::AlreadyApproved),
    ] {
        let call = itc::approve_qr(
            config,
            fake::ITC_TEST_LOGIN_NAME,
            fake::ITC_DEMO_QR_DATA,
            &mut session,
        )?;
        let (outcome, sent) = tour.run(FLOW, step, call, no_signer);
        tour.expect_requests(step, sent, 1);
        tour.verdict(&outcome, expiry(&session), |reply| {
            (describe_reply(reply), reply.code == code)
        });
    }

    // Every access token revoked on the server: 401, the session renews
    // (one refresh grant) and the call is re-issued once.
    let step = "token revoked: 401, renew, retry once";
    tour.clock.advance(Duration::from_secs(10));
    let (grants_before, refused_before) = {
        let mut fakes = tour.fakes();
        fakes.itc.expire_access_tokens();
        let grants = fakes.itc.grants();
        (
            grants.password + grants.refresh,
            fakes.itc.service.counts().unauthorized,
        )
    };
    let mut call = itc::consumer(config, fake::ITC_TEST_REG_NO, &mut session)?;
    let (outcome, sent) = tour.run(FLOW, step, &mut call, no_signer);
    let retried = call.retried();
    drop(call);
    tour.expect_requests(step, sent, 3);
    let (token_requests, refusals) = {
        let fakes = tour.fakes();
        let grants = fakes.itc.grants();
        (
            grants.password + grants.refresh - grants_before,
            fakes.itc.service.counts().unauthorized - refused_before,
        )
    };
    tour.verdict(&outcome, expiry(&session), |found| {
        (
            format!(
                "{}; retried: {retried}; {token_requests} token request, {refusals} 401",
                if found.is_some() { "found" } else { "not found" }
            ),
            found.is_some() && retried && token_requests == 1 && refusals == 1,
        )
    });

    // An account the realm knows but the service does not serve: 403, no retry.
    const NO_RIGHT: &str = "no-right-user";
    {
        let mut fakes = tour.fakes();
        fakes.itc.add_user(NO_RIGHT, fake::DEMO_PASSWORD);
        fakes.itc.deny_service(NO_RIGHT);
    }
    let mut other = itc::session(config, NO_RIGHT, Password::new(fake::DEMO_PASSWORD))?;
    let step = "account without the right: 403";
    let call = itc::consumer(config, fake::ITC_TEST_REG_NO, &mut other)?;
    let (outcome, sent) = tour.run(FLOW, step, call, no_signer);
    tour.expect_requests(step, sent, 2);
    tour.judge(&outcome, None, Expected::Refused(ServerErrorKind::Forbidden));
    Ok(())
}

/// "code (status): msg, loginName" of a getProfile or approveQr answer.
fn describe_reply(reply: &itc::Reply) -> String {
    let mut text = reply.code.to_string();
    if let Some(status) = reply.status {
        text.push_str(&format!(" ({status})"));
    }
    if let Some(login) = &reply.login_name {
        text.push_str(&format!(", loginName {login}"));
    }
    text
}

/// GAM business calls with a client-credentials token re-issued as needed.
fn gam_api_tour(tour: &mut Tour, config: &gam::Config) -> Result<(), Box<dyn std::error::Error>> {
    const FLOW: &str = "GAM API";
    const PATH: [&str; 3] = ["api", "v1", "authenticated"];
    let mut source = Reissue::new(|| {
        gam::client_credentials(
            config,
            fake::DEMO_CLIENT_ID,
            ClientSecret::new(fake::DEMO_CLIENT_SECRET),
            fake::DEMO_GAM_SCOPE,
        )
    });
    let expiry = |source: &Reissue<_, _>| Some(source.token().and_then(TokenSet::expires_at));

    let step = "POST, first token: envelope";
    let body = serde_json::json!({ "customerCode": "C-1" });
    let call = gam::post::<_, serde_json::Value>(config, fake::DEMO_PARTNER_CODE, &PATH, &body, &mut source)?;
    let (outcome, sent) = tour.run(FLOW, step, call, no_signer);
    tour.expect_requests(step, sent, 2);
    tour.verdict(&outcome, expiry(&source), |envelope| {
        let echoed = envelope
            .data
            .as_ref()
            .and_then(|d| d["echo"]["customerCode"].as_str())
            .unwrap_or("-");
        (
            format!(
                "status {} {}, data.echo.customerCode {echoed}",
                envelope.status,
                envelope.message.as_deref().unwrap_or("-")
            ),
            envelope.status == "200" && echoed == "C-1",
        )
    });

    let step = "processing error envelope";
    let body = serde_json::json!({ "customerCode": fake::GAM_UNKNOWN_CUSTOMER });
    let call = gam::post::<_, serde_json::Value>(config, fake::DEMO_PARTNER_CODE, &PATH, &body, &mut source)?;
    let (outcome, sent) = tour.run(FLOW, step, call, no_signer);
    tour.expect_requests(step, sent, 1);
    match &outcome {
        Err(DriveError::Flow(Error::Server(e))) => {
            let ok = e.code.as_deref() == Some("CUS_404") && e.kind == ServerErrorKind::Rejected;
            tour.record(format!("refused: {e}"), ok, None);
        }
        other => {
            let text = match other {
                Ok(envelope) => format!("status {} (expected an error envelope)", envelope.status),
                Err(e) => format!("error: {e}"),
            };
            tour.record(text, false, None);
        }
    }

    // GAM answers a revoked token with its empty 403 ("authentication
    // failed"): the token is dropped, a new one fetched, the call re-issued.
    let step = "token revoked: empty 403, renew, retry once";
    let before = {
        let mut fakes = tour.fakes();
        fakes.gam.expire_tokens();
        fakes.gam.counts()
    };
    let body = serde_json::json!({ "customerCode": "C-1" });
    let mut call =
        gam::post::<_, serde_json::Value>(config, fake::DEMO_PARTNER_CODE, &PATH, &body, &mut source)?;
    let (outcome, sent) = tour.run(FLOW, step, &mut call, no_signer);
    let retried = call.retried();
    tour.expect_requests(step, sent, 3);
    let after = tour.fakes().gam.counts();
    let (tokens, forbidden) = (
        after.tokens_issued - before.tokens_issued,
        after.forbidden - before.forbidden,
    );
    tour.verdict(&outcome, None, |envelope: &gam::Envelope<serde_json::Value>| {
        (
            format!(
                "status {}; retried: {retried}; {tokens} token request, {forbidden} empty 403",
                envelope.status
            ),
            envelope.status == "200" && retried && tokens == 1 && forbidden == 1,
        )
    });

    // A wrong partner code: the new token is refused too; the call ends.
    let step = "wrong partner code: empty 403 twice";
    let forbidden_before = tour.fakes().gam.counts().forbidden;
    let call = gam::post::<_, serde_json::Value>(config, "NOT-OURS", &PATH, &body, &mut source)?;
    let (outcome, sent) = tour.run(FLOW, step, call, no_signer);
    tour.expect_requests(step, sent, 3);
    tour.judge(&outcome, None, Expected::Refused(ServerErrorKind::Forbidden));
    let authentication_failed = matches!(&outcome,
        Err(DriveError::Flow(Error::Server(e))) if e.message.as_deref() == Some("authentication failed"));
    let forbidden = tour.fakes().gam.counts().forbidden - forbidden_before;
    if !authentication_failed || forbidden != 2 {
        tour.failures.push(format!(
            "{step}: expected two empty 403s read as \"authentication failed\", the fake sent {forbidden}"
        ));
    }
    Ok(())
}

/// MonPay: the merchant token (client credentials) kept by a `Reissue` and
/// spent through `monpay::call`, which renews on 401 `UNAUTHORIZED` only.
fn monpay_api_tour(
    tour: &mut Tour,
    config: &monpay::Config,
    wallet: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    const FLOW: &str = "MonPay API";
    let mut source = Reissue::new(|| {
        monpay::client_credentials(
            config,
            fake::DEMO_CLIENT_ID,
            ClientSecret::new(fake::DEMO_CLIENT_SECRET),
            monpay::DEFAULT_MERCHANT_TOKEN_LIFETIME,
        )
    });
    let invoice = || {
        http::Request::post(format!("{wallet}/v2/api/oauth/invoice"))
            .header("content-type", "application/json")
            .body(br#"{"amount":1000,"description":"tour"}"#.to_vec())
    };
    let expiry = |source: &Reissue<_, _>| Some(source.token().and_then(TokenSet::expires_at));
    let status = |response: &http::Response<Vec<u8>>| {
        let code = serde_json::from_slice::<serde_json::Value>(response.body())
            .ok()
            .and_then(|v| v["code"].as_str().map(str::to_owned))
            .unwrap_or_default();
        (response.status().as_u16(), code)
    };

    // The answer has no `expires_in`: the token gets the default hour.
    let step = "merchant token (no expires_in), invoice";
    let call = monpay::call_insecure_http(&mut source, invoice()?)?;
    let (outcome, sent) = tour.run(FLOW, step, call, no_signer);
    tour.expect_requests(step, sent, 2);
    tour.verdict(&outcome, expiry(&source), |response| {
        let (http, code) = status(response);
        (format!("HTTP {http} {code}"), http == 200 && code == "SUCCESS")
    });

    let step = "token revoked: 401 UNAUTHORIZED, renew, retry";
    tour.fakes().monpay.expire_tokens();
    let mut call = monpay::call_insecure_http(&mut source, invoice()?)?;
    let (outcome, sent) = tour.run(FLOW, step, &mut call, no_signer);
    let retried = call.retried();
    tour.expect_requests(step, sent, 3);
    tour.verdict(&outcome, expiry(&source), |response| {
        let (http, code) = status(response);
        (
            format!("HTTP {http} {code}; retried: {retried}"),
            http == 200 && retried,
        )
    });

    // A merchant token has no right to a user's info: no renewal, no retry.
    let step = "userinfo: 401 INSUFFICIENT_ACCESS";
    let issued_before = tour.fakes().monpay.counts().merchant_tokens_issued;
    let userinfo = http::Request::get(format!("{wallet}/v2/api/oauth/userinfo")).body(Vec::new())?;
    let call = monpay::call_insecure_http(&mut source, userinfo)?;
    let (outcome, sent) = tour.run(FLOW, step, call, no_signer);
    tour.expect_requests(step, sent, 1);
    tour.judge(&outcome, None, Expected::Refused(ServerErrorKind::Forbidden));
    if tour.fakes().monpay.counts().merchant_tokens_issued != issued_before {
        tour.failures
            .push(format!("{step}: a token without the right must not be renewed"));
    }
    Ok(())
}

/// The demo MDLP client of the fakes.
fn mdlp_client() -> mdlp::Client {
    mdlp::Client {
        id: fake::DEMO_CLIENT_ID.to_owned(),
        secret: ClientSecret::new(fake::DEMO_CLIENT_SECRET),
    }
}

/// A CRPT sign-in of any kind, so they can share one loop.
type DynFlow = dyn Flow<Output = TokenSet>;

/// `POST /path`, plus the grant type of a token request (the form body's
/// only field that is not a secret and tells the steps apart).
fn describe(request: &http::Request<Vec<u8>>) -> String {
    let grant = url::form_urlencoded::parse(request.body())
        .find(|(key, _)| key == "grant_type")
        .map(|(_, value)| format!(" ({value})"))
        .unwrap_or_default();
    format!("{} {}{grant}", request.method(), request.uri().path())
}

/// Checks that the fake service accepts the token a flow obtained.
fn check_accepted(
    tour: &mut Tour,
    step: &str,
    token: &AccessToken,
    accepts: fn(&Fakes, Timestamp, &AccessToken) -> bool,
) {
    let now = tour.clock.now();
    if !accepts(&tour.fakes(), now, token) {
        tour.failures
            .push(format!("{step}: the service does not accept the token"));
    }
}

fn print_table(rows: &[Row]) {
    let header = [
        "flow",
        "step",
        "clock",
        "request",
        "status",
        "outcome",
        "token expires",
    ];
    let cells: Vec<[&str; 7]> = rows
        .iter()
        .map(|r| {
            [
                r.flow, r.step, &r.clock, &r.request, &r.status, &r.outcome, &r.expiry,
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &cells {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |row: &[&str; 7]| {
        let padded: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        println!("| {} |", padded.join(" | "));
    };
    line(&header);
    println!("|{}|", widths.map(|w| "-".repeat(w + 2)).join("|"));
    for row in &cells {
        line(row);
    }
}

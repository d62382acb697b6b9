//! CRPT transcripts, in the style of `tests/transcripts.rs`: every CRPT flow
//! runs against `fake::Crpt` with `fake::sign` (or a deliberately wrong
//! signer), in simulated time with a network latency and a signer latency;
//! every step is recorded as a line and the whole sequence is compared with a
//! constant. After `Done` or an error each flow is checked to be finished for
//! good.
#![cfg(feature = "fake")]

use std::cell::{Cell, RefCell};
use std::time::Duration;

use tokendance::crpt::{gis_mt, mdlp, registration, true_api, GisMtStand, MdlpStand, SuzStand, TrueApiStand};
use tokendance::drive::{self, DriveError};
use tokendance::fake::{self, Crpt, Fake};
use tokendance::{
    Action, ClientSecret, Error, Flow, Input, Password, RegistrationKey, RetryAfter, ServerErrorKind,
    SignJob, Signature, SignatureKind, Timestamp, TokenSet, UsageError,
};

const T0_SECS: u64 = 1_700_000_000;
const T0: Timestamp = Timestamp::from_unix_secs(T0_SECS);
const OMS_ID: &str = "cdf12109-10d3-11e6-8b6f-0050569977a1";
const CONN: &str = "11B1ABC9-F4EE-47DB-8A20-F80AC83504E8";
const MDLP_ID: &str = "7df0d06f-mdlp-client";
const MDLP_SECRET: &str = "mdlp-secret";
const MDLP_EMAIL: &str = "nrz@example.org";
const MDLP_PASSWORD: &str = "nrz-password";

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// `T0 + n` milliseconds.
fn at_ms(n: u64) -> Timestamp {
    T0.saturating_add(ms(n))
}

/// A time relative to `T0`, with milliseconds.
fn rel(t: Timestamp) -> String {
    if t == Timestamp::MAX {
        return "MAX".to_owned();
    }
    let ms = t.as_unix_millis() as i128 - i128::from(T0_SECS) * 1000;
    let sign = if ms < 0 { "-" } else { "+" };
    let ms = ms.abs();
    format!("{sign}{}.{:03}s", ms / 1000, ms % 1000)
}

fn server() -> Crpt {
    let mut crpt = Crpt::new();
    crpt.set_mdlp_client(MDLP_ID, MDLP_SECRET);
    crpt.add_mdlp_user(MDLP_EMAIL, MDLP_PASSWORD);
    crpt
}

/// One simulated caller: a clock, a network and a signer with latencies.
struct Sim<'a> {
    server: &'a mut Crpt,
    now: Timestamp,
    /// From sending a request to receiving its answer (the server handles it
    /// at the sending instant).
    net: Duration,
    /// How long the signer takes.
    signer_delay: Duration,
    signer: fn(&SignJob) -> Signature,
    log: Vec<String>,
}

impl<'a> Sim<'a> {
    fn new(server: &'a mut Crpt, now: Timestamp) -> Self {
        Sim {
            server,
            now,
            net: ms(0),
            signer_delay: ms(0),
            signer: fake::sign,
            log: Vec::new(),
        }
    }

    fn net(mut self, net: Duration) -> Self {
        self.net = net;
        self
    }

    fn signer(mut self, delay: Duration, signer: fn(&SignJob) -> Signature) -> Self {
        self.signer_delay = delay;
        self.signer = signer;
        self
    }

    /// Runs `flow` to the end; records every step; checks it is finished.
    fn run<F: Flow>(&mut self, mut flow: F, show: impl Fn(&F::Output) -> String) -> Result<F::Output, Error> {
        self.log.push(format!("Start at {}", rel(self.now)));
        let mut result = flow.start(self.now);
        let outcome = loop {
            match result {
                Ok(Action::Send(out)) => {
                    let req = out.into_http();
                    let signed = if req.headers().contains_key("x-signature") {
                        " +X-Signature"
                    } else {
                        ""
                    };
                    self.log.push(format!(
                        "Send {} {}{signed} {}",
                        req.method(),
                        req.uri(),
                        String::from_utf8_lossy(req.body())
                    ));
                    let response = self.server.handle(self.now, &req);
                    self.now = self.now.saturating_add(self.net);
                    let retry = response
                        .headers()
                        .get("retry-after")
                        .map(|v| format!(" Retry-After: {}", v.to_str().unwrap()))
                        .unwrap_or_default();
                    self.log.push(format!(
                        "Recv {}{retry} {} at {}",
                        response.status().as_u16(),
                        String::from_utf8_lossy(response.body()),
                        rel(self.now)
                    ));
                    result = flow.resume(self.now, Input::Response(response));
                }
                Ok(Action::Sign(job)) => {
                    self.log.push(format!(
                        "Sign {:?} {:?} {}",
                        job.kind(),
                        job.purpose(),
                        String::from_utf8_lossy(job.bytes())
                    ));
                    self.now = self.now.saturating_add(self.signer_delay);
                    let signature = (self.signer)(&job);
                    self.log.push(format!("Signed at {}", rel(self.now)));
                    result = flow.resume(self.now, Input::Signature(signature));
                }
                Ok(Action::Wait(until)) => {
                    self.log.push(format!("Wait until {}", rel(until)));
                    self.now = self.now.max(until);
                    result = flow.resume(self.now, Input::Timeout);
                }
                Ok(Action::Done(output)) => {
                    self.log.push(format!("Done {}", show(&output)));
                    break Ok(output);
                }
                Err(e) => {
                    let kind = e
                        .as_server()
                        .map(|s| format!(" [{:?}]", s.kind))
                        .unwrap_or_default();
                    self.log.push(format!("Error{kind} {e}"));
                    break Err(e);
                }
            }
        };
        for later in [
            flow.start(self.now).map(|_| ()),
            flow.resume(self.now, Input::Timeout).map(|_| ()),
            flow.resume(self.now, Input::Signature(Signature::from_der(vec![1])))
                .map(|_| ()),
            flow.resume(self.now, Input::Response(http::Response::new(Vec::new())))
                .map(|_| ()),
            flow.resume(self.now, Input::Failed).map(|_| ()),
        ] {
            assert_eq!(later, Err(Error::Usage(UsageError::Finished)));
        }
        outcome
    }
}

fn token_line(token: &TokenSet) -> String {
    format!(
        "token={} obtained_at={} expires_at={}",
        token.access_token().expose_secret(),
        rel(token.obtained_at()),
        token.expires_at().map_or("none".to_owned(), rel)
    )
}

fn outcome_line(outcome: &registration::Outcome) -> String {
    format!("{outcome:?}")
}

fn registration(signing: registration::Signing, key: &str) -> registration::Registration {
    registration::register(
        &SuzStand::Demo.endpoint(),
        OMS_ID,
        RegistrationKey::new(key),
        "Moscow, 1",
        signing,
        registration::DEFAULT_API_VERSION,
    )
    .unwrap()
}

fn mdlp_signed(conn: Option<&str>) -> mdlp::MdlpSignIn {
    mdlp::sign_in(
        &MdlpStand::Sandbox.endpoint(),
        mdlp::Client {
            id: MDLP_ID.to_owned(),
            secret: ClientSecret::new(MDLP_SECRET),
        },
        "0A1B2C3D",
        mdlp::Auth::SignedCode,
        conn,
    )
    .unwrap()
}

fn mdlp_password(conn: Option<&str>) -> mdlp::MdlpSignIn {
    mdlp::sign_in(
        &MdlpStand::NonResidentSandbox.endpoint(),
        mdlp::Client {
            id: MDLP_ID.to_owned(),
            secret: ClientSecret::new(MDLP_SECRET),
        },
        MDLP_EMAIL,
        mdlp::Auth::Password(Password::new(MDLP_PASSWORD)),
        conn,
    )
    .unwrap()
}

fn detached_signer(job: &SignJob) -> Signature {
    fake::sign_as(job.bytes(), SignatureKind::Detached)
}

fn attached_signer(job: &SignJob) -> Signature {
    fake::sign_as(job.bytes(), SignatureKind::Attached)
}

// ------------------------------------------------------------ registration

#[test]
fn registration_then_sign_in_transcript() {
    let mut crpt = server();
    let mut sim = Sim::new(&mut crpt, T0).net(ms(100)).signer(ms(700), fake::sign);
    let outcome = sim
        .run(
            registration(
                registration::Signing::Detached,
                tokendance::crpt::DEMO_REGISTRATION_KEY,
            ),
            outcome_line,
        )
        .unwrap();
    let registration::Outcome::Registered { oms_connection } = outcome else {
        panic!("{outcome:?}")
    };
    let token = sim
        .run(
            true_api::sign_in(&TrueApiStand::Demo.endpoint(), Some(oms_connection.as_str())).unwrap(),
            token_line,
        )
        .unwrap();
    assert_eq!(
        sim.log,
        [
            "Start at +0.000s",
            "Sign Detached SuzRegistrationBody {\"address\":\"Moscow, 1\"}",
            "Signed at +0.700s",
            "Send POST https://intuot.crpt.ru:16443/api/v2/integration/connection?omsId=cdf12109-10d3-11e6-8b6f-0050569977a1 +X-Signature {\"address\":\"Moscow, 1\"}",
            "Recv 200 {\"omsConnection\":\"00000001-1B59-4000-8000-000000000000\",\"status\":\"SUCCESS\"} at +0.800s",
            "Done Registered { oms_connection: \"00000001-1B59-4000-8000-000000000000\" }",
            "Start at +0.800s",
            "Send GET https://int01.gismt.crpt.tech/api/v3/true-api/auth/key ",
            "Recv 200 {\"data\":\"QNRPNPFGJZ-000003\",\"uuid\":\"00000002-9f9e-4000-8000-000000000000\"} at +0.900s",
            "Sign Attached TrueApiChallenge QNRPNPFGJZ-000003",
            "Signed at +1.600s",
            "Send POST https://int01.gismt.crpt.tech/api/v3/true-api/auth/simpleSignIn/00000001-1B59-4000-8000-000000000000 {\"uuid\":\"00000002-9f9e-4000-8000-000000000000\",\"data\":\"RkFLRS1DTVMtQVRUQUNIRUQ6UU5SUE5QRkdKWi0wMDAwMDM=\"}",
            "Recv 200 {\"token\":\"00000004-c152-4000-8000-000000000000\"} at +1.700s",
            // 10 hours from sending the sign-in, not from its answer.
            "Done token=00000004-c152-4000-8000-000000000000 obtained_at=+1.600s expires_at=+36001.600s",
        ]
    );
    let t = token.access_token();
    assert!(crpt.accepts(at_ms(1_700), &oms_connection, t));
    // The fake (the server) counts from its own handling instant, +1.6 s too.
    assert!(crpt.accepts(at_ms(36_001_599), &oms_connection, t));
    assert!(!crpt.accepts(at_ms(36_001_600), &oms_connection, t));
    assert_eq!(token.expires_at(), Some(at_ms(36_001_600)));
    assert!(token.is_valid(at_ms(36_001_599)) && !token.is_valid(at_ms(36_001_600)));
    assert_eq!(crpt.tokens_issued(), 1);
}

#[test]
fn registration_refusals_transcript() {
    let mut crpt = server();
    let mut sim = Sim::new(&mut crpt, T0);
    // Pharma: no signature and none needed.
    sim.server.pharma = true;
    let pharma = sim
        .run(
            registration(
                registration::Signing::Unsigned,
                tokendance::crpt::DEMO_REGISTRATION_KEY,
            ),
            outcome_line,
        )
        .unwrap();
    assert!(matches!(pharma, registration::Outcome::Registered { .. }));
    sim.server.pharma = false;
    // Unsigned, but the participant is not pharma.
    let unsigned = sim
        .run(
            registration(
                registration::Signing::Unsigned,
                tokendance::crpt::DEMO_REGISTRATION_KEY,
            ),
            outcome_line,
        )
        .unwrap();
    // An ATTACHED X-Signature is refused.
    sim.signer = attached_signer;
    let attached = sim
        .run(
            registration(
                registration::Signing::Detached,
                tokendance::crpt::DEMO_REGISTRATION_KEY,
            ),
            outcome_line,
        )
        .unwrap();
    // A detached signature over other bytes is refused.
    sim.signer = |_job| fake::sign_as(br#"{"address":"elsewhere"}"#, SignatureKind::Detached);
    let other_bytes = sim
        .run(
            registration(
                registration::Signing::Detached,
                tokendance::crpt::DEMO_REGISTRATION_KEY,
            ),
            outcome_line,
        )
        .unwrap();
    sim.signer = fake::sign;
    let unknown_key = sim
        .run(
            registration(registration::Signing::Detached, "not-a-key"),
            outcome_line,
        )
        .unwrap();
    let rejected = |reason: &str| registration::Outcome::Rejected {
        reason: Some(reason.into()),
    };
    assert_eq!(
        unsigned,
        rejected("The signature does not verify over the request body")
    );
    assert_eq!(attached, unsigned);
    assert_eq!(other_bytes, unsigned);
    assert_eq!(unknown_key, rejected("Unknown registration key"));
    assert_eq!(
        sim.log,
        [
            "Start at +0.000s",
            "Send POST https://intuot.crpt.ru:16443/api/v2/integration/connection?omsId=cdf12109-10d3-11e6-8b6f-0050569977a1 {\"address\":\"Moscow, 1\"}",
            "Recv 200 {\"omsConnection\":\"00000001-1B59-4000-8000-000000000000\",\"status\":\"SUCCESS\"} at +0.000s",
            "Done Registered { oms_connection: \"00000001-1B59-4000-8000-000000000000\" }",
            "Start at +0.000s",
            "Send POST https://intuot.crpt.ru:16443/api/v2/integration/connection?omsId=cdf12109-10d3-11e6-8b6f-0050569977a1 {\"address\":\"Moscow, 1\"}",
            "Recv 200 {\"rejectionReason\":\"The signature does not verify over the request body\",\"status\":\"REJECTED\"} at +0.000s",
            "Done Rejected { reason: Some(\"The signature does not verify over the request body\") }",
            "Start at +0.000s",
            "Sign Detached SuzRegistrationBody {\"address\":\"Moscow, 1\"}",
            "Signed at +0.000s",
            "Send POST https://intuot.crpt.ru:16443/api/v2/integration/connection?omsId=cdf12109-10d3-11e6-8b6f-0050569977a1 +X-Signature {\"address\":\"Moscow, 1\"}",
            "Recv 200 {\"rejectionReason\":\"The signature does not verify over the request body\",\"status\":\"REJECTED\"} at +0.000s",
            "Done Rejected { reason: Some(\"The signature does not verify over the request body\") }",
            "Start at +0.000s",
            "Sign Detached SuzRegistrationBody {\"address\":\"Moscow, 1\"}",
            "Signed at +0.000s",
            "Send POST https://intuot.crpt.ru:16443/api/v2/integration/connection?omsId=cdf12109-10d3-11e6-8b6f-0050569977a1 +X-Signature {\"address\":\"Moscow, 1\"}",
            "Recv 200 {\"rejectionReason\":\"The signature does not verify over the request body\",\"status\":\"REJECTED\"} at +0.000s",
            "Done Rejected { reason: Some(\"The signature does not verify over the request body\") }",
            "Start at +0.000s",
            "Sign Detached SuzRegistrationBody {\"address\":\"Moscow, 1\"}",
            "Signed at +0.000s",
            "Send POST https://intuot.crpt.ru:16443/api/v2/integration/connection?omsId=cdf12109-10d3-11e6-8b6f-0050569977a1 +X-Signature {\"address\":\"Moscow, 1\"}",
            "Recv 200 {\"rejectionReason\":\"Unknown registration key\",\"status\":\"REJECTED\"} at +0.000s",
            "Done Rejected { reason: Some(\"Unknown registration key\") }",
        ]
    );
}

// ------------------------------------------------------------ challenge sign-ins

#[test]
fn gis_mt_transcript_with_and_without_connection() {
    let mut crpt = server();
    let mut sim = Sim::new(&mut crpt, T0).net(ms(250)).signer(ms(2_000), fake::sign);
    let with = sim
        .run(
            gis_mt::sign_in(&GisMtStand::Demo.endpoint(), Some(CONN)).unwrap(),
            token_line,
        )
        .unwrap();
    let without = sim
        .run(
            gis_mt::sign_in(&GisMtStand::Production.endpoint(), None).unwrap(),
            token_line,
        )
        .unwrap();
    assert_eq!(
        sim.log,
        [
            "Start at +0.000s",
            "Send GET https://demo.lp.crpt.tech/api/v3/auth/cert/key ",
            "Recv 200 {\"data\":\"QNRPNPFGJZ-000002\",\"uuid\":\"00000001-9f9e-4000-8000-000000000000\"} at +0.250s",
            "Sign Attached GisMtChallenge QNRPNPFGJZ-000002",
            "Signed at +2.250s",
            "Send POST https://demo.lp.crpt.tech/api/v3/auth/cert/11B1ABC9-F4EE-47DB-8A20-F80AC83504E8 {\"uuid\":\"00000001-9f9e-4000-8000-000000000000\",\"data\":\"RkFLRS1DTVMtQVRUQUNIRUQ6UU5SUE5QRkdKWi0wMDAwMDI=\"}",
            "Recv 200 {\"token\":\"00000003-c152-4000-8000-000000000000\"} at +2.500s",
            "Done token=00000003-c152-4000-8000-000000000000 obtained_at=+2.250s expires_at=+36002.250s",
            "Start at +2.500s",
            "Send GET https://ismpr.crpt.ru/api/v3/auth/cert/key ",
            "Recv 200 {\"data\":\"QNRPNPFGJZ-000005\",\"uuid\":\"00000004-9f9e-4000-8000-000000000000\"} at +2.750s",
            "Sign Attached GisMtChallenge QNRPNPFGJZ-000005",
            "Signed at +4.750s",
            "Send POST https://ismpr.crpt.ru/api/v3/auth/cert {\"uuid\":\"00000004-9f9e-4000-8000-000000000000\",\"data\":\"RkFLRS1DTVMtQVRUQUNIRUQ6UU5SUE5QRkdKWi0wMDAwMDU=\"}",
            "Recv 200 {\"token\":\"00000006-c152-4000-8000-000000000000\"} at +5.000s",
            "Done token=00000006-c152-4000-8000-000000000000 obtained_at=+4.750s expires_at=+36004.750s",
        ]
    );
    assert!(crpt.accepts(at_ms(5_000), CONN, with.access_token()));
    // Without a connection the token is GIS MT's own (the fake files it under "").
    assert!(crpt.accepts(at_ms(5_000), "", without.access_token()));
    assert!(!crpt.accepts(at_ms(5_000), CONN, without.access_token()));
}

#[test]
fn true_api_transcript_and_revocation() {
    let mut crpt = server();
    let other = "22C2ABC9-0000-47DB-8A20-F80AC83504E8";
    let mut sim = Sim::new(&mut crpt, T0).net(ms(50)).signer(ms(100), fake::sign);
    let first = sim
        .run(
            true_api::sign_in(&TrueApiStand::Production.endpoint(), Some(CONN)).unwrap(),
            token_line,
        )
        .unwrap();
    let other_token = sim
        .run(
            true_api::sign_in(&TrueApiStand::ProductionTobacco.endpoint(), Some(other)).unwrap(),
            token_line,
        )
        .unwrap();
    let t = sim.now;
    assert!(sim.server.accepts(t, CONN, first.access_token()));
    // Asking again for the same connection revokes the first token...
    let second = sim
        .run(
            true_api::sign_in(&TrueApiStand::Production.endpoint(), Some(CONN)).unwrap(),
            token_line,
        )
        .unwrap();
    let t = sim.now;
    assert!(!sim.server.accepts(t, CONN, first.access_token()));
    assert!(sim.server.accepts(t, CONN, second.access_token()));
    // ...but not the token of another connection.
    assert!(sim.server.accepts(t, other, other_token.access_token()));
    // A GIS MT sign-in for the connection revokes the True API token too.
    let third = sim
        .run(
            gis_mt::sign_in(&GisMtStand::Production.endpoint(), Some(CONN)).unwrap(),
            token_line,
        )
        .unwrap();
    let t = sim.now;
    assert!(!sim.server.accepts(t, CONN, second.access_token()));
    assert!(sim.server.accepts(t, CONN, third.access_token()));
    assert_eq!(sim.server.tokens_issued(), 4);
    let done: Vec<&String> = sim.log.iter().filter(|l| l.starts_with("Done")).collect();
    assert_eq!(
        done,
        [
            "Done token=00000003-c152-4000-8000-000000000000 obtained_at=+0.150s expires_at=+36000.150s",
            "Done token=00000006-c152-4000-8000-000000000000 obtained_at=+0.350s expires_at=+36000.350s",
            "Done token=00000009-c152-4000-8000-000000000000 obtained_at=+0.550s expires_at=+36000.550s",
            "Done token=0000000c-c152-4000-8000-000000000000 obtained_at=+0.750s expires_at=+36000.750s",
        ]
    );
    assert_eq!(
        &sim.log[..7],
        [
            "Start at +0.000s",
            "Send GET https://markirovka.crpt.ru/api/v3/true-api/auth/key ",
            "Recv 200 {\"data\":\"QNRPNPFGJZ-000002\",\"uuid\":\"00000001-9f9e-4000-8000-000000000000\"} at +0.050s",
            "Sign Attached TrueApiChallenge QNRPNPFGJZ-000002",
            "Signed at +0.150s",
            "Send POST https://markirovka.crpt.ru/api/v3/true-api/auth/simpleSignIn/11B1ABC9-F4EE-47DB-8A20-F80AC83504E8 {\"uuid\":\"00000001-9f9e-4000-8000-000000000000\",\"data\":\"RkFLRS1DTVMtQVRUQUNIRUQ6UU5SUE5QRkdKWi0wMDAwMDI=\"}",
            "Recv 200 {\"token\":\"00000003-c152-4000-8000-000000000000\"} at +0.200s",
        ]
    );
}

#[test]
fn challenge_with_a_detached_signature_is_forbidden() {
    let mut crpt = server();
    let mut sim = Sim::new(&mut crpt, T0).signer(ms(10), detached_signer);
    let gis = sim
        .run(
            gis_mt::sign_in(&GisMtStand::Demo.endpoint(), Some(CONN)).unwrap(),
            token_line,
        )
        .unwrap_err();
    let trueapi = sim
        .run(
            true_api::sign_in(&TrueApiStand::Demo.endpoint(), Some(CONN)).unwrap(),
            token_line,
        )
        .unwrap_err();
    for e in [&gis, &trueapi] {
        let s = e.as_server().expect("a server refusal");
        assert_eq!(s.status, 403);
        assert_eq!(s.kind, ServerErrorKind::Forbidden);
        assert_eq!(s.code.as_deref(), Some("403"));
        assert_eq!(s.message.as_deref(), Some("Ошибка проверки подписи"));
        assert!(!e.is_retryable());
    }
    assert_eq!(
        sim.log,
        [
            "Start at +0.000s",
            "Send GET https://demo.lp.crpt.tech/api/v3/auth/cert/key ",
            "Recv 200 {\"data\":\"QNRPNPFGJZ-000002\",\"uuid\":\"00000001-9f9e-4000-8000-000000000000\"} at +0.000s",
            "Sign Attached GisMtChallenge QNRPNPFGJZ-000002",
            "Signed at +0.010s",
            "Send POST https://demo.lp.crpt.tech/api/v3/auth/cert/11B1ABC9-F4EE-47DB-8A20-F80AC83504E8 {\"uuid\":\"00000001-9f9e-4000-8000-000000000000\",\"data\":\"RkFLRS1DTVMtREVUQUNIRUQ6ZcRJ/foN0cI=\"}",
            "Recv 403 {\"code\":403,\"description\":\"an ATTACHED signature of data is required\",\"error_message\":\"Ошибка проверки подписи\"} at +0.010s",
            "Error [Forbidden] HTTP 403 403: Ошибка проверки подписи",
            "Start at +0.010s",
            "Send GET https://int01.gismt.crpt.tech/api/v3/true-api/auth/key ",
            "Recv 200 {\"data\":\"QNRPNPFGJZ-000004\",\"uuid\":\"00000003-9f9e-4000-8000-000000000000\"} at +0.010s",
            "Sign Attached TrueApiChallenge QNRPNPFGJZ-000004",
            "Signed at +0.020s",
            "Send POST https://int01.gismt.crpt.tech/api/v3/true-api/auth/simpleSignIn/11B1ABC9-F4EE-47DB-8A20-F80AC83504E8 {\"uuid\":\"00000003-9f9e-4000-8000-000000000000\",\"data\":\"RkFLRS1DTVMtREVUQUNIRUQ6ZcRD/foNx5A=\"}",
            "Recv 403 {\"code\":403,\"description\":\"an ATTACHED signature of data is required\",\"error_message\":\"Ошибка проверки подписи\"} at +0.020s",
            "Error [Forbidden] HTTP 403 403: Ошибка проверки подписи",
        ]
    );
    assert_eq!(crpt.tokens_issued(), 0);
}

#[test]
fn challenge_over_other_content_is_forbidden_and_uuids_are_single_use() {
    let mut crpt = server();
    // An attached signature, but of other bytes.
    let mut sim = Sim::new(&mut crpt, T0).signer(ms(0), |_| {
        fake::sign_as(b"QNRPNPFGJZ-999999", SignatureKind::Attached)
    });
    let e = sim
        .run(
            true_api::sign_in(&TrueApiStand::Demo.endpoint(), Some(CONN)).unwrap(),
            token_line,
        )
        .unwrap_err();
    assert_eq!(e.as_server().unwrap().kind, ServerErrorKind::Forbidden);

    // Replaying a used uuid by hand: 401 from the fake.
    let mut flow = true_api::sign_in(&TrueApiStand::Demo.endpoint(), Some(CONN)).unwrap();
    let Action::Send(key) = flow.start(T0).unwrap() else {
        panic!()
    };
    let challenge = crpt.handle(T0, &key.into_http());
    let body: serde_json::Value = serde_json::from_slice(challenge.body()).unwrap();
    let Action::Sign(job) = flow.resume(T0, Input::Response(challenge)).unwrap() else {
        panic!()
    };
    assert_eq!(job.bytes(), body["data"].as_str().unwrap().as_bytes());
    let Action::Send(sign_in) = flow.resume(T0, Input::Signature(fake::sign(&job))).unwrap() else {
        panic!()
    };
    let sign_in = sign_in.into_http();
    let first = crpt.handle(T0, &sign_in);
    assert_eq!(first.status(), 200);
    let replay = crpt.handle(T0, &sign_in);
    assert_eq!(replay.status(), 401);
    let Action::Done(token) = flow.resume(T0, Input::Response(first)).unwrap() else {
        panic!()
    };
    assert!(crpt.accepts(T0, CONN, token.access_token()));
}

// ------------------------------------------------------------ MDLP

#[test]
fn mdlp_signed_code_waits_when_the_signer_is_quick() {
    let mut crpt = server();
    let mut sim = Sim::new(&mut crpt, T0).net(ms(100)).signer(ms(200), fake::sign);
    let token = sim.run(mdlp_signed(Some(CONN)), token_line).unwrap();
    assert_eq!(
        sim.log,
        [
            "Start at +0.000s",
            "Send POST https://api.sb.mdlp.crpt.ru/api/v1/auth {\"client_id\":\"7df0d06f-mdlp-client\",\"client_secret\":\"mdlp-secret\",\"user_id\":\"0A1B2C3D\",\"auth_type\":\"SIGNED_CODE\"}",
            "Recv 200 {\"code\":\"00000001-4414-4000-8000-000000000000\"} at +0.100s",
            "Sign Detached MdlpCode 00000001-4414-4000-8000-000000000000",
            "Signed at +0.300s",
            // One second after the auth answer arrived.
            "Wait until +1.100s",
            "Send POST https://api.sb.mdlp.crpt.ru/api/v1/token/11B1ABC9-F4EE-47DB-8A20-F80AC83504E8 {\"code\":\"00000001-4414-4000-8000-000000000000\",\"signature\":\"RkFLRS1DTVMtREVUQUNIRUQ6Kz8N57lPkZ0=\"}",
            "Recv 200 {\"life_time\":30,\"token\":\"00000002-c152-4000-8000-000000000000\"} at +1.200s",
            // life_time minutes from sending the token request.
            "Done token=00000002-c152-4000-8000-000000000000 obtained_at=+1.100s expires_at=+1801.100s",
        ]
    );
    assert!(crpt.accepts(at_ms(1_200), CONN, token.access_token()));
    assert!(!crpt.accepts(at_ms(1_801_100), CONN, token.access_token()));
}

#[test]
fn mdlp_signed_code_does_not_wait_after_a_slow_signer() {
    for (signer_ms, waits) in [(1_500, false), (1_000, false), (999, true), (0, true)] {
        let mut crpt = server();
        crpt.mdlp_life_time_minutes = 7;
        let mut sim = Sim::new(&mut crpt, T0)
            .net(ms(100))
            .signer(ms(signer_ms), fake::sign);
        let token = sim.run(mdlp_signed(None), token_line).unwrap();
        let waited = sim.log.iter().any(|l| l.starts_with("Wait"));
        assert_eq!(waited, waits, "signer {signer_ms} ms: {:#?}", sim.log);
        // The token request goes out at max(signed, answer + 1 s).
        let sent = 100 + signer_ms.max(1_000);
        assert_eq!(token.obtained_at(), at_ms(sent));
        assert_eq!(token.expires_at(), Some(at_ms(sent + 7 * 60_000)));
        if signer_ms == 1_500 {
            assert_eq!(
                &sim.log[3..],
                [
                    "Sign Detached MdlpCode 00000001-4414-4000-8000-000000000000",
                    "Signed at +1.600s",
                    "Send POST https://api.sb.mdlp.crpt.ru/api/v1/token {\"code\":\"00000001-4414-4000-8000-000000000000\",\"signature\":\"RkFLRS1DTVMtREVUQUNIRUQ6Kz8N57lPkZ0=\"}",
                    "Recv 200 {\"life_time\":7,\"token\":\"00000002-c152-4000-8000-000000000000\"} at +1.700s",
                    "Done token=00000002-c152-4000-8000-000000000000 obtained_at=+1.600s expires_at=+421.600s",
                ]
            );
        }
        if signer_ms == 999 {
            assert!(
                sim.log.contains(&"Wait until +1.100s".to_owned()),
                "{:#?}",
                sim.log
            );
        }
    }
}

#[test]
fn mdlp_password_transcript() {
    let mut crpt = server();
    let mut sim = Sim::new(&mut crpt, T0).net(ms(300));
    let token = sim.run(mdlp_password(Some(CONN)), token_line).unwrap();
    assert_eq!(
        sim.log,
        [
            "Start at +0.000s",
            "Send POST https://nrz.api.sb.mdlp.crpt.ru/api/v1/auth {\"client_id\":\"7df0d06f-mdlp-client\",\"client_secret\":\"mdlp-secret\",\"user_id\":\"nrz@example.org\",\"auth_type\":\"PASSWORD\"}",
            "Recv 200 {\"code\":\"00000001-4414-4000-8000-000000000000\"} at +0.300s",
            "Wait until +1.300s",
            "Send POST https://nrz.api.sb.mdlp.crpt.ru/api/v1/token/11B1ABC9-F4EE-47DB-8A20-F80AC83504E8 {\"code\":\"00000001-4414-4000-8000-000000000000\",\"password\":\"nrz-password\"}",
            "Recv 200 {\"life_time\":30,\"token\":\"00000002-c152-4000-8000-000000000000\"} at +1.600s",
            "Done token=00000002-c152-4000-8000-000000000000 obtained_at=+1.300s expires_at=+1801.300s",
        ]
    );
    assert!(crpt.accepts(at_ms(1_600), CONN, token.access_token()));
    // A new MDLP sign-in for the connection revokes it.
    let mut sim = Sim::new(&mut crpt, at_ms(10_000));
    let second = sim.run(mdlp_signed(Some(CONN)), token_line).unwrap();
    assert!(!crpt.accepts(at_ms(12_000), CONN, token.access_token()));
    assert!(crpt.accepts(at_ms(12_000), CONN, second.access_token()));
}

#[test]
fn mdlp_wrong_signature_kind_and_wrong_password() {
    let mut crpt = server();
    let mut sim = Sim::new(&mut crpt, T0).signer(ms(0), attached_signer);
    let e = sim.run(mdlp_signed(Some(CONN)), token_line).unwrap_err();
    let s = e.as_server().unwrap();
    assert_eq!((s.status.as_u16(), s.kind), (403, ServerErrorKind::Forbidden));
    assert_eq!(s.code.as_deref(), Some("Forbidden"));
    assert_eq!(
        s.message.as_deref(),
        Some("A detached signature of the code (or the password) does not verify")
    );
    sim.now = at_ms(10_000);
    let wrong = mdlp::sign_in(
        &MdlpStand::NonResidentSandbox.endpoint(),
        mdlp::Client {
            id: MDLP_ID.to_owned(),
            secret: ClientSecret::new(MDLP_SECRET),
        },
        MDLP_EMAIL,
        mdlp::Auth::Password(Password::new("not-the-password")),
        Some(CONN),
    )
    .unwrap();
    let e = sim.run(wrong, token_line).unwrap_err();
    assert_eq!(e.as_server().unwrap().kind, ServerErrorKind::Forbidden);
    sim.now = at_ms(20_000);
    let bad_client = mdlp::sign_in(
        &MdlpStand::Sandbox.endpoint(),
        mdlp::Client {
            id: MDLP_ID.to_owned(),
            secret: ClientSecret::new("wrong"),
        },
        "u",
        mdlp::Auth::SignedCode,
        None,
    )
    .unwrap();
    let e = sim.run(bad_client, token_line).unwrap_err();
    let s = e.as_server().unwrap();
    assert_eq!((s.status.as_u16(), s.kind), (401, ServerErrorKind::Unauthorized));
    assert_eq!(
        sim.log
            .iter()
            .filter(|l| l.starts_with("Error"))
            .collect::<Vec<_>>(),
        [
            "Error [Forbidden] HTTP 403 Forbidden: A detached signature of the code (or the password) does not verify",
            "Error [Forbidden] HTTP 403 Forbidden: A detached signature of the code (or the password) does not verify",
            "Error [Unauthorized] HTTP 401 Unauthorized: Bad client credentials",
        ]
    );
    assert_eq!(crpt.tokens_issued(), 0);
}

#[test]
fn mdlp_calls_closer_than_a_second_get_429() {
    let mut crpt = server();
    let mut sim = Sim::new(&mut crpt, T0).net(ms(100)).signer(ms(1_200), fake::sign);
    let first = sim.run(mdlp_signed(Some(CONN)), token_line).unwrap();
    // The next sign-in starts as soon as the first ends: its `auth` comes
    // 100 ms after the previous `token` call.
    let e = sim.run(mdlp_signed(Some(CONN)), token_line).unwrap_err();
    let s = e.as_server().unwrap();
    assert_eq!(s.status, 429);
    assert_eq!(s.kind, ServerErrorKind::RateLimited);
    assert!(e.is_retryable());
    assert_eq!(e.retry_after(), Some(RetryAfter::Delay(Duration::from_secs(5))));
    assert_eq!(
        e.retry_after().unwrap().deadline(sim.now),
        sim.now.saturating_add(Duration::from_secs(5))
    );
    assert_eq!(
        &sim.log[8..],
        [
            "Start at +1.400s",
            "Send POST https://api.sb.mdlp.crpt.ru/api/v1/auth {\"client_id\":\"7df0d06f-mdlp-client\",\"client_secret\":\"mdlp-secret\",\"user_id\":\"0A1B2C3D\",\"auth_type\":\"SIGNED_CODE\"}",
            "Recv 429 Retry-After: 5 {\"error_message\":\"Too many requests\"} at +1.500s",
            "Error [RateLimited] HTTP 429: Too many requests (retry after 5 s)",
        ]
    );
    // The failed attempt did not revoke anything; waiting as told works.
    let now = sim.now;
    assert!(crpt.accepts(now, CONN, first.access_token()));
    let retry_at = e.retry_after().unwrap().deadline(now);
    let mut sim = Sim::new(&mut crpt, retry_at).signer(ms(0), fake::sign);
    let second = sim.run(mdlp_signed(Some(CONN)), token_line).unwrap();
    assert!(crpt.accepts(retry_at.saturating_add(ms(1_000)), CONN, second.access_token()));
    assert!(!crpt.accepts(retry_at.saturating_add(ms(1_000)), CONN, first.access_token()));
}

#[test]
fn an_early_wake_up_waits_again() {
    // Resumed before the deadline, the flow asks for the rest of the wait
    // instead of sending a call MDLP would answer with 429.
    let mut crpt = server();
    let mut flow = mdlp_password(Some(CONN));
    let Action::Send(auth) = flow.start(T0).unwrap() else {
        panic!("auth first")
    };
    let answer = crpt.handle(T0, &auth.into_http());
    let Action::Wait(until) = flow.resume(T0, Input::Response(answer)).unwrap() else {
        panic!("a wait after auth")
    };
    assert_eq!(until, T0.saturating_add(ms(1_000)));
    for early in [0, 400, 999] {
        let Action::Wait(again) = flow.resume(T0.saturating_add(ms(early)), Input::Timeout).unwrap() else {
            panic!("woken at +{early} ms, the flow must wait again")
        };
        assert_eq!(again, until);
    }
    let Action::Send(token) = flow.resume(until, Input::Timeout).unwrap() else {
        panic!("the token call at the deadline")
    };
    let answer = crpt.handle(until, &token.into_http());
    assert!(matches!(
        flow.resume(until, Input::Response(answer)).unwrap(),
        Action::Done(_)
    ));
    assert_eq!(crpt.tokens_issued(), 1);
}

// ------------------------------------------------------------ drivers

/// What a driver's closures saw, in order.
struct DriveLog {
    clock: Cell<Timestamp>,
    server: RefCell<Crpt>,
    log: RefCell<Vec<String>>,
}

impl DriveLog {
    fn new() -> Self {
        DriveLog {
            clock: Cell::new(T0),
            server: RefCell::new(server()),
            log: RefCell::new(Vec::new()),
        }
    }

    fn send(&self, req: http::Request<Vec<u8>>) -> http::Response<Vec<u8>> {
        let now = self.clock.get();
        self.log.borrow_mut().push(format!(
            "send {} {} at {}",
            req.method(),
            req.uri().path(),
            rel(now)
        ));
        let response = self.server.borrow_mut().handle(now, &req);
        // 40 ms on the wire.
        self.clock.set(now.saturating_add(ms(40)));
        response
    }

    fn sign(&self, job: &SignJob) -> Signature {
        self.log
            .borrow_mut()
            .push(format!("sign {:?} {:?}", job.kind(), job.purpose()));
        self.clock.set(self.clock.get().saturating_add(ms(300)));
        fake::sign(job)
    }

    fn wait(&self, until: Timestamp) {
        self.log.borrow_mut().push(format!("wait {}", rel(until)));
        self.clock.set(self.clock.get().max(until));
    }
}

/// Every CRPT token flow, by name.
fn token_flows() -> Vec<(&'static str, Box<dyn Flow<Output = TokenSet>>)> {
    vec![
        (
            "gis_mt",
            Box::new(gis_mt::sign_in(&GisMtStand::Demo.endpoint(), Some(CONN)).unwrap()),
        ),
        (
            "true_api",
            Box::new(true_api::sign_in(&TrueApiStand::Demo.endpoint(), Some(CONN)).unwrap()),
        ),
        ("mdlp signed", Box::new(mdlp_signed(Some(CONN)))),
        ("mdlp password", Box::new(mdlp_password(Some(CONN)))),
    ]
}

fn expected_drive_log(name: &str) -> Vec<&'static str> {
    match name {
        "gis_mt" => vec![
            "send GET /api/v3/auth/cert/key at +0.000s",
            "sign Attached GisMtChallenge",
            "send POST /api/v3/auth/cert/11B1ABC9-F4EE-47DB-8A20-F80AC83504E8 at +0.340s",
        ],
        "true_api" => vec![
            "send GET /api/v3/true-api/auth/key at +0.000s",
            "sign Attached TrueApiChallenge",
            "send POST /api/v3/true-api/auth/simpleSignIn/11B1ABC9-F4EE-47DB-8A20-F80AC83504E8 at +0.340s",
        ],
        "mdlp signed" => vec![
            "send POST /api/v1/auth at +0.000s",
            "sign Detached MdlpCode",
            "wait +1.040s",
            "send POST /api/v1/token/11B1ABC9-F4EE-47DB-8A20-F80AC83504E8 at +1.040s",
        ],
        "mdlp password" => vec![
            "send POST /api/v1/auth at +0.000s",
            "wait +1.040s",
            "send POST /api/v1/token/11B1ABC9-F4EE-47DB-8A20-F80AC83504E8 at +1.040s",
        ],
        _ => unreachable!(),
    }
}

#[test]
fn every_crpt_flow_through_the_blocking_driver() {
    for (name, flow) in token_flows() {
        let d = DriveLog::new();
        let token = drive::drive(
            flow,
            || d.clock.get(),
            |req| Ok::<_, std::convert::Infallible>(d.send(req)),
            |job| Ok::<_, std::convert::Infallible>(d.sign(job)),
            |until| d.wait(until),
        )
        .unwrap();
        assert_eq!(*d.log.borrow(), expected_drive_log(name), "{name}");
        assert!(
            d.server
                .borrow()
                .accepts(d.clock.get(), CONN, token.access_token()),
            "{name}"
        );
        assert_eq!(d.server.borrow().tokens_issued(), 1);
    }
    // The registration too.
    let d = DriveLog::new();
    let outcome = drive::drive(
        registration(
            registration::Signing::Detached,
            tokendance::crpt::DEMO_REGISTRATION_KEY,
        ),
        || d.clock.get(),
        |req| Ok::<_, std::convert::Infallible>(d.send(req)),
        |job| Ok::<_, std::convert::Infallible>(d.sign(job)),
        |until| d.wait(until),
    )
    .unwrap();
    assert!(matches!(outcome, registration::Outcome::Registered { .. }));
    assert_eq!(
        *d.log.borrow(),
        [
            "sign Detached SuzRegistrationBody",
            "send POST /api/v2/integration/connection at +0.300s"
        ]
    );
}

#[test]
fn every_crpt_flow_through_the_async_driver() {
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    for (name, flow) in token_flows() {
        let d = DriveLog::new();
        let token = rt
            .block_on(drive::drive_async(
                flow,
                || d.clock.get(),
                |req| std::future::ready(Ok::<_, std::convert::Infallible>(d.send(req))),
                |job| {
                    let signature = d.sign(&job);
                    async move {
                        tokio::task::yield_now().await;
                        Ok::<_, std::convert::Infallible>(signature)
                    }
                },
                |until| {
                    d.wait(until);
                    std::future::ready(())
                },
            ))
            .unwrap();
        assert_eq!(*d.log.borrow(), expected_drive_log(name), "{name}");
        assert!(
            d.server
                .borrow()
                .accepts(d.clock.get(), CONN, token.access_token()),
            "{name}"
        );
    }
}

#[test]
fn a_failing_signer_aborts_the_flow() {
    #[derive(Debug)]
    struct SignerDown;
    let d = DriveLog::new();
    let mut flow = true_api::sign_in(&TrueApiStand::Demo.endpoint(), Some(CONN)).unwrap();
    let r = drive::drive(
        &mut flow,
        || d.clock.get(),
        |req| Ok::<_, std::convert::Infallible>(d.send(req)),
        |_| Err(SignerDown),
        |until| d.wait(until),
    );
    assert!(matches!(r, Err(DriveError::Signer(SignerDown))));
    // The flow was told and is finished: it never sends the sign-in.
    assert_eq!(
        flow.resume(T0, Input::Signature(Signature::from_der(vec![1])))
            .unwrap_err(),
        Error::Usage(UsageError::Finished)
    );
    assert_eq!(*d.log.borrow(), ["send GET /api/v3/true-api/auth/key at +0.000s"]);
    assert_eq!(d.server.borrow().tokens_issued(), 0);
}

#[test]
fn wrong_input_kinds_leave_crpt_flows_unchanged() {
    let mut crpt = server();
    let mut flow = mdlp_signed(Some(CONN));
    let Action::Send(auth) = flow.start(T0).unwrap() else {
        panic!()
    };
    // Waiting for a response: a signature or a timeout is refused.
    for input in [Input::Signature(Signature::from_der(vec![1])), Input::Timeout] {
        let e = flow.resume(T0, input).unwrap_err();
        assert!(
            matches!(e, Error::Usage(UsageError::UnexpectedInput { .. })),
            "{e:?}"
        );
    }
    let answer = crpt.handle(T0, &auth.into_http());
    let Action::Sign(job) = flow.resume(T0, Input::Response(answer)).unwrap() else {
        panic!()
    };
    // Waiting for a signature: a response is refused.
    let e = flow
        .resume(T0, Input::Response(http::Response::new(b"{}".to_vec())))
        .unwrap_err();
    assert_eq!(
        e,
        Error::Usage(UsageError::UnexpectedInput {
            expected: tokendance::Expect::Signature,
            got: tokendance::InputKind::Response,
        })
    );
    let Action::Wait(until) = flow.resume(T0, Input::Signature(fake::sign(&job))).unwrap() else {
        panic!()
    };
    // Waiting for the timeout: a signature is refused.
    let e = flow
        .resume(until, Input::Signature(fake::sign(&job)))
        .unwrap_err();
    assert_eq!(
        e,
        Error::Usage(UsageError::UnexpectedInput {
            expected: tokendance::Expect::Timeout,
            got: tokendance::InputKind::Signature,
        })
    );
    let Action::Send(token_req) = flow.resume(until, Input::Timeout).unwrap() else {
        panic!()
    };
    let answer = crpt.handle(until, &token_req.into_http());
    let Action::Done(token) = flow.resume(until, Input::Response(answer)).unwrap() else {
        panic!()
    };
    assert!(crpt.accepts(until, CONN, token.access_token()));
}

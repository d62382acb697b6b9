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

mod challenges;
// From `tests/crpt_transcripts/`, a plain `mod common;` would look for
// `crpt_transcripts/common.rs`.
#[path = "../common/mod.rs"]
mod common;
mod drivers;
mod mdlp_sign_in;
mod suz_calls;
mod suz_registration;

// Times print as `common::time::rel` prints them, the format every transcript shares.
use common::time::{at_ms, ms, rel, T0};
const OMS_ID: &str = "cdf12109-10d3-11e6-8b6f-0050569977a1";
const CONN: &str = "11B1ABC9-F4EE-47DB-8A20-F80AC83504E8";
const MDLP_ID: &str = "7df0d06f-mdlp-client";
const MDLP_SECRET: &str = "mdlp-secret";
const MDLP_EMAIL: &str = "nrz@example.org";
const MDLP_PASSWORD: &str = "nrz-password";

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

    /// Runs a sign-in to its token.
    fn token<F: Flow<Output = TokenSet>>(&mut self, flow: F) -> TokenSet {
        self.run(flow, token_line).unwrap()
    }

    /// Runs a registration with the demo key to its outcome.
    fn register(&mut self, signing: registration::Signing) -> registration::Outcome {
        self.run(demo_registration(signing), outcome_line).unwrap()
    }

    /// Runs `flow` to the end; records every step; checks it is finished.
    fn run<F: Flow>(&mut self, mut flow: F, show: impl Fn(&F::Output) -> String) -> Result<F::Output, Error> {
        self.log.push(format!("Start at {}", rel(self.now)));
        let mut result = flow.start(self.now);
        let outcome = loop {
            match result {
                Ok(Action::Store(_)) => unreachable!("these flows use no store"),
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

/// A registration sending the demo key, which `fake::Crpt` knows.
fn demo_registration(signing: registration::Signing) -> registration::Registration {
    registration(signing, tokendance::crpt::DEMO_REGISTRATION_KEY)
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

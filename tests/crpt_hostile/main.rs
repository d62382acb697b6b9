//! Hostile and broken responses fed to every CRPT step that parses server
//! bytes: the registration answer, the challenge key answer and the
//! challenge sign-in answer (GIS MT and True API), the MDLP `auth` answer and
//! the MDLP `token` answer (signed code and password). For every response fed
//! the harness checks that:
//!
//! * no error's `Display` or `Debug` holds the token of a 2xx body or any
//!   secret the request carried;
//! * after an error the flow is finished for good: every later call returns
//!   `UsageError::Finished`, and none emits a `Send` or a `Sign`.
#![cfg(feature = "fake")]

use std::time::Duration;

use tokendance::crpt::{gis_mt, mdlp, registration, true_api, GisMtStand, MdlpStand, SuzStand, TrueApiStand};
use tokendance::fake::{self, Crpt, CrptFailure, Fake};
use tokendance::{
    Action, ClientSecret, Error, Flow, Input, Password, ProtocolError, RegistrationKey, RetryAfter,
    ServerErrorKind, Signature, SignatureKind, Timestamp, TokenSet, UsageError, MAX_BODY, MAX_MESSAGE_CHARS,
};

const CONN: &str = "11B1ABC9-F4EE-47DB-8A20-F80AC83504E8";
/// The token every 2xx body carries: it must never appear in an error.
const TOKEN: &str = "SECRET-TOKEN-7f3a";
const REG_KEY: &str = "reg-key-4411-secret";
const MDLP_SECRET: &str = "mdlp-client-secret-91b2";
const MDLP_PASSWORD: &str = "mdlp-password-5e11";
/// The signature the harness signs with; its base64 is echoed by hostile servers.
const SIG_DER: &[u8] = b"signature-der-bytes-0b7d";
const SIG_B64: &str = "c2lnbmF0dXJlLWRlci1ieXRlcy0wYjdk";
const NEVER_IN_ERRORS: [&str; 5] = [TOKEN, REG_KEY, MDLP_SECRET, MDLP_PASSWORD, SIG_B64];

common::step_list!(
    Registration,
    GisMtKey,
    GisMtSignIn,
    TrueApiKey,
    TrueApiSignIn,
    MdlpAuthSigned,
    MdlpAuthPassword,
    MdlpTokenSigned,
    MdlpTokenPassword,
);
use Step::*;

#[path = "../common/mod.rs"]
mod common;
mod fake_failures;
mod limits;
mod malformed;
mod shapes;

use common::time::{at, T0};
use common::{resp, Resp};

const TOKEN_STEPS: [Step; 4] = [GisMtSignIn, TrueApiSignIn, MdlpTokenSigned, MdlpTokenPassword];
const CHALLENGE_KEYS: [Step; 2] = [GisMtKey, TrueApiKey];

impl Step {
    /// A valid answer for this step.
    fn ok_body(self) -> String {
        match self {
            Registration => r#"{"status":"SUCCESS","omsConnection":"CDF12109"}"#.to_owned(),
            GisMtKey | TrueApiKey => r#"{"uuid":"u-1","data":"QNRPNPFGJZ"}"#.to_owned(),
            GisMtSignIn | TrueApiSignIn => format!(r#"{{"token":"{TOKEN}"}}"#),
            MdlpAuthSigned | MdlpAuthPassword => r#"{"code":"c0de-1"}"#.to_owned(),
            MdlpTokenSigned | MdlpTokenPassword => format!(r#"{{"token":"{TOKEN}","life_time":30}}"#),
        }
    }

    /// How many requests the flow sends before the one this step answers.
    fn sends_before(self) -> usize {
        match self {
            GisMtSignIn | TrueApiSignIn | MdlpTokenSigned | MdlpTokenPassword => 1,
            _ => 0,
        }
    }

    fn flow(self) -> Box<dyn Probe> {
        match self {
            Registration => Box::new(Wrap(registration_flow(REG_KEY))),
            GisMtKey | GisMtSignIn => Box::new(Wrap(
                gis_mt::sign_in(&GisMtStand::Demo.endpoint(), Some(CONN)).unwrap(),
            )),
            TrueApiKey | TrueApiSignIn => Box::new(Wrap(
                true_api::sign_in(&TrueApiStand::Demo.endpoint(), Some(CONN)).unwrap(),
            )),
            MdlpAuthSigned | MdlpTokenSigned => Box::new(Wrap(mdlp_flow(false))),
            MdlpAuthPassword | MdlpTokenPassword => Box::new(Wrap(mdlp_flow(true))),
        }
    }
}

/// The registration flow on the demo stand, sending `key`.
fn registration_flow(key: &str) -> registration::Registration {
    let signing = registration::Signing::Detached;
    registration::register(
        &SuzStand::Demo.endpoint(),
        "oms-1",
        RegistrationKey::new(key),
        "addr",
        signing,
        "v2",
    )
    .unwrap()
}

/// The MDLP sign-in of the signed-code steps (on the sandbox) or, with
/// `by_password`, of the password steps (on the non-resident sandbox).
fn mdlp_flow(by_password: bool) -> mdlp::MdlpSignIn {
    let client = mdlp::Client {
        id: "client-1".to_owned(),
        secret: ClientSecret::new(MDLP_SECRET),
    };
    let (stand, user, auth) = if by_password {
        let password = mdlp::Auth::Password(Password::new(MDLP_PASSWORD));
        (MdlpStand::NonResidentSandbox, "user@example.org", password)
    } else {
        (MdlpStand::Sandbox, "user-1", mdlp::Auth::SignedCode)
    };
    mdlp::sign_in(&stand.endpoint(), client, user, auth, Some(CONN)).unwrap()
}

/// What a flow did, type-erased.
#[derive(Debug, PartialEq)]
enum Act {
    Send,
    Sign,
    Wait(Timestamp),
    /// The token (or outcome) and its expiry, as text.
    Done(String, Option<Timestamp>),
}

trait Probe {
    fn start(&mut self, now: Timestamp) -> Result<Act, Error>;
    fn resume(&mut self, now: Timestamp, input: Input) -> Result<Act, Error>;
}

struct Wrap<F>(F);

trait Show {
    fn show(&self) -> (String, Option<Timestamp>);
}

impl Show for TokenSet {
    fn show(&self) -> (String, Option<Timestamp>) {
        (self.access_token().expose_secret().to_owned(), self.expires_at())
    }
}

impl Show for registration::Outcome {
    fn show(&self) -> (String, Option<Timestamp>) {
        (format!("{self:?}"), None)
    }
}

fn act<T: Show>(a: Result<Action<T>, Error>) -> Result<Act, Error> {
    a.map(|a| match a {
        Action::Store(_) => unreachable!("these flows use no store"),
        Action::Send(_) => Act::Send,
        Action::Sign(_) => Act::Sign,
        Action::Wait(t) => Act::Wait(t),
        Action::Done(v) => {
            let (s, e) = v.show();
            Act::Done(s, e)
        }
    })
}

impl<F: Flow> Probe for Wrap<F>
where
    F::Output: Show,
{
    fn start(&mut self, now: Timestamp) -> Result<Act, Error> {
        act(self.0.start(now))
    }
    fn resume(&mut self, now: Timestamp, input: Input) -> Result<Act, Error> {
        act(self.0.resume(now, input))
    }
}

fn json(status: u16, body: impl AsRef<[u8]>) -> Resp {
    resp(status, body).header("content-type", "application/json;charset=UTF-8")
}

/// The instant the step's request goes out (the MDLP token call waits a second).
fn sent_at(step: Step) -> Timestamp {
    match step {
        MdlpTokenSigned | MdlpTokenPassword => at(1),
        _ => T0,
    }
}

/// The flow of `step`, brought to the point where its request is out, with
/// valid answers to every earlier step.
fn at_step(step: Step) -> Box<dyn Probe> {
    let mut flow = step.flow();
    let mut action = flow.start(T0).unwrap();
    let mut sends = 0;
    let mut now = T0;
    loop {
        match action {
            Act::Send if sends == step.sends_before() => return flow,
            Act::Send => {
                sends += 1;
                let earlier = match step {
                    GisMtSignIn => GisMtKey,
                    TrueApiSignIn => TrueApiKey,
                    MdlpTokenSigned => MdlpAuthSigned,
                    MdlpTokenPassword => MdlpAuthPassword,
                    _ => unreachable!(),
                };
                action = flow
                    .resume(now, Input::Response(json(200, earlier.ok_body()).build()))
                    .unwrap();
            }
            Act::Sign => {
                action = flow
                    .resume(now, Input::Signature(Signature::from_der(SIG_DER.to_vec())))
                    .unwrap();
            }
            Act::Wait(until) => {
                now = until;
                action = flow.resume(now, Input::Timeout).unwrap();
            }
            Act::Done(..) => panic!("{step:?}: done before the step"),
        }
    }
}

#[track_caller]
fn assert_clean(step: Step, err: &Error) {
    let shown = format!("{err} / {err:?} / {err:#?}");
    for secret in NEVER_IN_ERRORS {
        assert!(
            !shown.contains(secret),
            "{step:?}: error shows {secret:?}: {shown}"
        );
    }
    assert!(!err.to_string().is_empty());
}

/// Feeds `r` to `step`; on error checks the flow is finished for good.
fn feed(step: Step, r: &Resp) -> Result<Act, Error> {
    let mut flow = at_step(step);
    let now = sent_at(step);
    let result = flow.resume(now, Input::Response(r.build()));
    if let Err(err) = &result {
        assert_clean(step, err);
        let later_times = [now, now.saturating_add(Duration::from_secs(3600))];
        for t in later_times {
            for later in [
                flow.start(t),
                flow.resume(t, Input::Response(json(200, step.ok_body()).build())),
                flow.resume(t, Input::Signature(Signature::from_der(SIG_DER.to_vec()))),
                flow.resume(t, Input::Timeout),
                flow.resume(t, Input::Failed),
            ] {
                assert_eq!(
                    later,
                    Err(Error::Usage(UsageError::Finished)),
                    "{step:?}: a later call did something"
                );
            }
        }
    }
    result
}

#[track_caller]
fn error(step: Step, r: &Resp) -> Error {
    match feed(step, r) {
        Err(e) => e,
        Ok(a) => panic!("{step:?}: expected an error for {r:?}, got {a:?}"),
    }
}

/// Asserts a server refusal with this status, kind, code and message.
#[track_caller]
fn refusal(step: Step, r: &Resp, kind: ServerErrorKind, code: Option<&str>, message: Option<&str>) -> Error {
    let e = error(step, r);
    let s = e
        .as_server()
        .unwrap_or_else(|| panic!("{step:?}: expected a server refusal for {r:?}, got {e:?}"));
    assert_eq!(s.status.as_u16(), r.status, "{step:?}");
    assert_eq!(s.kind, kind, "{step:?}: {r:?}");
    assert_eq!(s.code.as_deref(), code, "{step:?}: {r:?}");
    assert_eq!(s.message.as_deref(), message, "{step:?}: {r:?}");
    e
}

#[track_caller]
fn protocol(step: Step, r: &Resp) -> ProtocolError {
    match error(step, r) {
        Error::Protocol(p) => p,
        other => panic!("{step:?}: expected a protocol error for {r:?}, got {other:?}"),
    }
}

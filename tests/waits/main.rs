//! Every wait a server asks for is bounded (review class 4).
//!
//! Five token holders, each driven through the public API without a token,
//! so that every renewal that fails shows its wait:
//!
//! | holder | renewal | how it fails |
//! |---|---|---|
//! | `PasswordSession` by `poll` / `handle_response` | the password grant | 429 / 503 with `Retry-After` |
//! | `PasswordSession` under `itc::consumer` (`call::Authorized`) | the password grant | the same |
//! | `TokenKeeper` | a ticket | `renewal_failed(ticket, now, retry_at)` |
//! | `KeeperSource` on `Arc<Mutex<TokenKeeper>>` under `Authorized` | a True API sign-in | its key request or its exchange answered 429 / 503 with `Retry-After` |
//! | `Reissue` over `gam::client_credentials` under `gam::post` | a token request | 429 / 503 with `Retry-After` |
//!
//! `Retry-After` is drawn as delta-seconds (the named values 0, 1, 120,
//! 86 400, 99 999 999 999, 2^64 - 1, longer digit strings, leading zeros),
//! as IMF-fixdates (past, near, 9999-12-31, the epoch) and as malformed or
//! obsolete forms, with `now` near the epoch, in this century, near
//! `Timestamp::MAX` and at it, for the holder's preset pacing and for custom
//! ones (`max_server_wait` zero included).
//!
//! The model (from `Pacing`'s docs): after the i-th failure in a row at `t`,
//! the holder pauses until `t + max(own, min(asked, max_server_wait))`, where
//! `own = min(initial_backoff · 2^i, max_backoff)` and `asked` is what the
//! server's `Retry-After` asks from `t` (zero if unreadable): never later
//! than `t + max(max_backoff, max_server_wait)`, never shorter than the
//! server asked within the cap.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use proptest::prelude::*;
use proptest::sample::select;

mod bounds;
mod clock_back;
#[path = "../common/mod.rs"]
mod common;
mod lifetime;
mod model;
mod retry_now;
mod validate;

use common::holders::{itc_config, itc_session, reissue, sign_in, suz_ping, MakeGam, CONN, REG_NO};
use common::pacing::{self, longest_pause};
use common::steps::KEY_ANSWER;
use common::time::{at, T0, T0_SECS};
use common::{draw, kind, session_kind, Tally};
use model::*;
use tokendance::call::{Authorized, Reissue, Scheme};
use tokendance::crpt::{KeeperAction, KeeperSource, TokenKeeper};
use tokendance::oauth2::SessionAction;
use tokendance::{
    gam, itc, Action, Error, Flow, Input, Pacing, RetryAfter, Signature, Timestamp, TokenRequest, UsageError,
};

// ====================================================================
// The holders.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    SessionPoll,
    SessionCall,
    Keeper,
    KeeperSource,
    Reissue,
}

const KINDS: [Kind; 5] = [
    Kind::SessionPoll,
    Kind::SessionCall,
    Kind::Keeper,
    Kind::KeeperSource,
    Kind::Reissue,
];

impl Kind {
    fn preset(self) -> Pacing {
        match self {
            Kind::SessionPoll | Kind::SessionCall => Pacing::session(),
            Kind::Keeper | Kind::KeeperSource => Pacing::keeper(),
            Kind::Reissue => Pacing::reissue(),
        }
    }
}

/// What a holder did at an instant.
#[derive(Debug)]
enum Attempt {
    /// It started a renewal, which was failed as asked.
    Failed,
    /// It asked to wait until then.
    Wait(Timestamp),
}

/// A token holder with no token, as one of the five [`Kind`]s.
struct Holder {
    kind: Kind,
    session: tokendance::oauth2::PasswordSession,
    keeper: TokenKeeper,
    shared: Arc<Mutex<TokenKeeper>>,
    reissue: Reissue<MakeGam, TokenRequest>,
    config: itc::Config,
    gam: gam::Config,
}

/// Checks that a failed renewal failed with the server's answer.
fn check_error(err: &Error, failure: &Failure) -> Result<(), String> {
    if err.status().map(|s| s.as_u16()) != Some(failure.status) {
        return Err(format!("error: the failure is reported as {err}"));
    }
    if err.retry_after() != failure.retry.parsed() {
        return Err(format!(
            "parse: Retry-After {:?} read as {:?}, expected {:?}",
            failure.retry.header,
            err.retry_after(),
            failure.retry.parsed()
        ));
    }
    Ok(())
}

impl Holder {
    fn new(kind: Kind) -> Self {
        Holder {
            kind,
            session: itc_session(),
            keeper: TokenKeeper::new(CONN),
            shared: Arc::new(Mutex::new(TokenKeeper::new(CONN))),
            reissue: reissue(gam::Config::staging()),
            config: itc_config(),
            gam: gam::Config::staging(),
        }
    }

    fn with_pacing(kind: Kind, pacing: Pacing) -> Self {
        let mut holder = Holder::new(kind);
        holder.set_pacing(pacing).expect("a valid pacing");
        holder
    }

    fn set_pacing(&mut self, pacing: Pacing) -> Result<(), Error> {
        match self.kind {
            Kind::SessionPoll | Kind::SessionCall => self.session.set_pacing(pacing),
            Kind::Keeper => self.keeper.set_pacing(pacing),
            Kind::KeeperSource => self.shared.lock().unwrap().set_pacing(pacing),
            Kind::Reissue => self.reissue.set_pacing(pacing),
        }
    }

    fn pacing(&self) -> Pacing {
        match self.kind {
            Kind::SessionPoll | Kind::SessionCall => *self.session.pacing(),
            Kind::Keeper => *self.keeper.pacing(),
            Kind::KeeperSource => *self.shared.lock().unwrap().pacing(),
            Kind::Reissue => *self.reissue.pacing(),
        }
    }

    fn retry_now(&mut self) {
        match self.kind {
            Kind::SessionPoll | Kind::SessionCall => self.session.retry_now(),
            Kind::Keeper => self.keeper.retry_now(),
            Kind::KeeperSource => self.shared.lock().unwrap().retry_now(),
            Kind::Reissue => self.reissue.retry_now(),
        }
    }

    /// When the holder says it next needs attention (`Reissue` does not say).
    fn next_deadline(&self) -> Option<Timestamp> {
        match self.kind {
            Kind::SessionPoll | Kind::SessionCall => self.session.next_deadline(),
            Kind::Keeper => Some(self.keeper.next_deadline()),
            Kind::KeeperSource => Some(self.shared.lock().unwrap().next_deadline()),
            Kind::Reissue => None,
        }
    }

    /// Asks the holder for a token at `t`; if it starts a renewal, the
    /// renewal fails at `t` with `failure`.
    fn attempt(&mut self, t: Timestamp, failure: &Failure) -> Result<Attempt, String> {
        match self.kind {
            Kind::SessionPoll => match self.session.poll(t) {
                Ok(SessionAction::Send(request)) => {
                    let body = String::from_utf8_lossy(request.as_http().body()).into_owned();
                    if !body.starts_with("grant_type=password") {
                        return Err(format!("request: expected the password grant, got {body}"));
                    }
                    match self.session.handle_response(t, failure.response()) {
                        Err(err) => check_error(&err, failure).map(|()| Attempt::Failed),
                        Ok(()) => Err("error: the failing answer was accepted".into()),
                    }
                }
                Ok(SessionAction::Wait(until)) => Ok(Attempt::Wait(until)),
                Ok(SessionAction::UseToken(_)) => Err("token: a session without a token used one".into()),
                Err(err) => Err(format!("ended: poll failed with {err}")),
            },
            Kind::SessionCall => {
                let mut call = itc::consumer(&self.config, REG_NO, &mut self.session).unwrap();
                let renewal = |path: &str| path.ends_with("/protocol/openid-connect/token");
                fail_renewal(&mut call, t, failure, ("the token request", renewal), |_| Ok(()))
            }
            Kind::Keeper => match self.keeper.poll(t) {
                KeeperAction::Renew(ticket) => {
                    let retry_at = failure.retry.retry_at(t);
                    match self.keeper.renewal_failed(ticket, t, retry_at) {
                        Ok(()) => Ok(Attempt::Failed),
                        Err(err) => Err(format!("ticket: renewal_failed refused the ticket: {err}")),
                    }
                }
                KeeperAction::Wait(until) => Ok(Attempt::Wait(until)),
                KeeperAction::UseToken(_) => Err("token: a keeper without a token used one".into()),
            },
            Kind::KeeperSource => {
                let source = KeeperSource::new(Arc::clone(&self.shared), sign_in);
                let mut call = Authorized::new(source, suz_ping(), Scheme::SuzClientToken).unwrap();
                let renewal = |path: &str| path.ends_with("/auth/key");
                fail_renewal(&mut call, t, failure, ("the key request", renewal), |call| {
                    if !failure.late {
                        return Ok(());
                    }
                    let challenge = http::Response::new(KEY_ANSWER.as_bytes().to_vec());
                    match call.resume(t, Input::Response(challenge)) {
                        Ok(Action::Sign(_)) => {}
                        other => return Err(format!("sign-in: no signature asked ({other:?})")),
                    }
                    let signature = Signature::from_der(vec![0x30, 0x80]);
                    match call.resume(t, Input::Signature(signature)) {
                        Ok(Action::Send(_)) => Ok(()),
                        other => Err(format!("sign-in: no exchange sent ({other:?})")),
                    }
                })
            }
            Kind::Reissue => {
                let body = serde_json::json!({"customerCode": "C-1"});
                let mut call = gam::post::<_, serde_json::Value>(
                    &self.gam,
                    "DEMO",
                    &["api", "v1", "orders"],
                    &body,
                    &mut self.reissue,
                )
                .unwrap();
                let renewal = |path: &str| path == "/oauth2/v3/token";
                fail_renewal(&mut call, t, failure, ("the token request", renewal), |_| Ok(()))
            }
        }
    }
}

/// Starts `call` at `t`: a `Wait` is the attempt; otherwise its first
/// request must be the renewal (`renewal`: what it is, and the test of its
/// path), which `lead_in` may carry on to a later request of the renewal
/// before that one is answered with `failure`.
fn fail_renewal<F: Flow>(
    call: &mut F,
    t: Timestamp,
    failure: &Failure,
    (what, renewal): (&str, fn(&str) -> bool),
    lead_in: impl FnOnce(&mut F) -> Result<(), String>,
) -> Result<Attempt, String> {
    match call.start(t) {
        Ok(Action::Send(request)) => {
            let uri = request.as_http().uri();
            if !renewal(uri.path()) {
                return Err(format!("request: expected {what}, got {uri}"));
            }
            lead_in(call)?;
            match call.resume(t, Input::Response(failure.response())) {
                Err(err) => check_error(&err, failure).map(|()| Attempt::Failed),
                Ok(step) => Err(format!("error: the failing answer gave {}", kind(&step))),
            }
        }
        Ok(Action::Wait(until)) => Ok(Attempt::Wait(until)),
        Ok(step) => Err(format!("start: the call began with {}", kind(&step))),
        Err(err) => Err(format!("start: the call failed with {err}")),
    }
}

/// The holder's own pause after the `i`-th failure in a row (from 0).
fn own_backoff(pacing: &Pacing, i: u32) -> Duration {
    let factor = 1u32.checked_shl(i).unwrap_or(u32::MAX);
    pacing
        .initial_backoff
        .saturating_mul(factor)
        .min(pacing.max_backoff)
}

/// Checks the pause `until` a holder announced after the `i`-th failure in
/// a row, at `t`, answered with `retry`.
fn check_pause(
    pacing: &Pacing,
    i: u32,
    t: Timestamp,
    retry: &RetryAfterCase,
    until: Timestamp,
) -> Result<(), String> {
    let asked = retry.asked(t);
    let honoured = asked.min(pacing.max_server_wait);
    let upper = t.saturating_add(longest_pause(pacing));
    if until > upper {
        return Err(format!(
            "unbounded: failure {i} at {t:?}: waits {:?}, more than the bound {:?}",
            until.saturating_duration_since(t),
            longest_pause(pacing)
        ));
    }
    if until < t.saturating_add(honoured) {
        return Err(format!(
            "not honoured: failure {i} at {t:?}: waits {:?}, the server asked {asked:?} (cap {:?})",
            until.saturating_duration_since(t),
            pacing.max_server_wait
        ));
    }
    let expected = t.saturating_add(own_backoff(pacing, i).max(honoured));
    if until != expected {
        return Err(format!(
            "formula: failure {i} at {t:?}: waits {:?}, expected {:?} (own {:?}, asked {asked:?}, cap {:?})",
            until.saturating_duration_since(t),
            expected.saturating_duration_since(t),
            own_backoff(pacing, i),
            pacing.max_server_wait
        ));
    }
    Ok(())
}

/// Fails the holder's renewals in a row, each when the previous pause
/// ends, and checks each pause, both as the next `Wait` and as
/// `next_deadline()`.
fn check_failures(holder: &mut Holder, start: Timestamp, failures: &[Failure]) -> Result<(), String> {
    let pacing = holder.pacing();
    let mut t = start;
    for (i, failure) in (0u32..).zip(failures) {
        if t == Timestamp::MAX {
            // A pause that ended at the end of time: see its own test.
            return Ok(());
        }
        match holder.attempt(t, failure)? {
            Attempt::Failed => {}
            Attempt::Wait(until) => {
                return Err(format!(
                    "stuck: failure {i} at {t:?}: the back-off is over, yet it waits until {until:?}"
                ))
            }
        }
        let until = match holder.attempt(t, failure)? {
            Attempt::Wait(until) => until,
            Attempt::Failed => {
                return Err(format!("no pause: failure {i} at {t:?}: it renews again at once"))
            }
        };
        check_pause(&pacing, i, t, &failure.retry, until)?;
        if let Some(deadline) = holder.next_deadline() {
            if deadline > t.saturating_add(longest_pause(&pacing)) || deadline < until {
                return Err(format!(
                    "deadline: failure {i} at {t:?}: next_deadline {:?} ahead, the wait {:?}",
                    deadline.saturating_duration_since(t),
                    until.saturating_duration_since(t)
                ));
            }
        }
        t = until;
    }
    Ok(())
}

#[derive(Debug)]
struct Case {
    now: Timestamp,
    pacing: Pacing,
    failures: Vec<Failure>,
}

fn cases(kind: Kind) -> impl Strategy<Value = Case> {
    (instant(), pacing(kind.preset())).prop_flat_map(|(now, pacing)| {
        prop::collection::vec(failure(now), 1..=4).prop_map(move |failures| Case {
            now,
            pacing,
            failures,
        })
    })
}

fn generated(name: &'static str, kind: Kind, count: u32) {
    let mut tally = Tally::new(name);
    tally.sample(count, cases(kind), |case| {
        let mut holder = Holder::with_pacing(kind, case.pacing);
        check_failures(&mut holder, case.now, &case.failures)
    });
    tally.finish();
}

//! CRPT: a `KeeperSource` over `fake::Crpt` whose sign-in fails.

use super::*;

const TEN_HOURS: u64 = 10 * 3600;

/// Which request of a True API sign-in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    Key,
    Exchange,
}

/// How a sign-in fails.
#[derive(Clone, Debug)]
enum SignInFailure {
    /// One of the fake's documented failure modes, for every request.
    Fake(CrptFailure),
    /// The proxy answers this request of the sign-in.
    Scripted(Step, Hostile),
    /// The signer signs detached: CRPT refuses the signature with 403.
    WrongSignature,
}

impl SignInFailure {
    /// Checks that `err` is how a call reports this failure: the status of
    /// the answer that failed (the fake's documented one), or `Aborted` for
    /// a dropped connection.
    fn check_error(&self, err: &Error) -> Result<(), String> {
        let status = match self {
            SignInFailure::Scripted(_, hostile) => return hostile.check_error(err),
            SignInFailure::WrongSignature => 403,
            SignInFailure::Fake(failure) => match failure {
                CrptFailure::NginxNotFound => 404,
                CrptFailure::BadGateway => 502,
                CrptFailure::XmlUnauthorized => 401,
                CrptFailure::EmptyNotAcceptable => 406,
                CrptFailure::ErrorIn200 => 200,
                CrptFailure::RateLimited => 429,
                CrptFailure::SpringError | CrptFailure::SuzGlobalErrors => 400,
                other => return Err(format!("harness: no status known for {other:?}")),
            },
        };
        (err.status().map(|s| s.as_u16()) == Some(status))
            .then_some(())
            .ok_or_else(|| format!("error: {self:?} reported as {err}"))
    }
}

const CRPT_FAILURES: [CrptFailure; 8] = [
    CrptFailure::NginxNotFound,
    CrptFailure::BadGateway,
    CrptFailure::XmlUnauthorized,
    CrptFailure::EmptyNotAcceptable,
    CrptFailure::ErrorIn200,
    CrptFailure::RateLimited,
    CrptFailure::SpringError,
    CrptFailure::SuzGlobalErrors,
];

fn sign_in_failures() -> impl Strategy<Value = SignInFailure> {
    let step = select(vec![Step::Key, Step::Exchange]);
    prop_oneof![
        2 => select(CRPT_FAILURES.to_vec()).prop_map(SignInFailure::Fake),
        4 => (step.clone(), any_answer(BODIES.len() + RETRYABLE_OAUTH.len()))
            .prop_map(|(step, hostile)| SignInFailure::Scripted(step, hostile)),
        1 => (step.clone(), select(TYPED_REFUSALS.to_vec()), select(vec![400u16, 401, 403]))
            .prop_map(|(step, code, status)| SignInFailure::Scripted(step, Hostile::Typed { status, code })),
        1 => step.prop_map(|step| SignInFailure::Scripted(step, Hostile::Dropped)),
        1 => Just(SignInFailure::WrongSignature),
    ]
}

/// `fake::Crpt` for the sign-ins, a SUZ ping that accepts the connection's
/// live token, and the proxy in front of the sign-ins.
struct Crpt {
    crpt: fake::Crpt,
    failure: Option<SignInFailure>,
    /// (when, path) of every request.
    log: Vec<(Timestamp, String)>,
    /// The `clientToken` of every ping.
    pings: Vec<String>,
}

impl Crpt {
    fn new() -> Self {
        Crpt {
            crpt: fake::Crpt::new(),
            failure: None,
            log: Vec::new(),
            pings: Vec::new(),
        }
    }

    fn fail(&mut self, failure: Option<SignInFailure>) {
        self.crpt.failure = match &failure {
            Some(SignInFailure::Fake(f)) => Some(*f),
            _ => None,
        };
        self.failure = failure;
    }

    fn sign_ins(&self) -> usize {
        self.log
            .iter()
            .filter(|(_, path)| !path.contains("/ping"))
            .count()
    }
}

impl Server for Crpt {
    fn answer(
        &mut self,
        now: Timestamp,
        request: &http::Request<Vec<u8>>,
    ) -> Option<http::Response<Vec<u8>>> {
        let path = request.uri().path().to_owned();
        self.log.push((now, path.clone()));
        if request.uri().host() == Some("suzgrid.crpt.ru") {
            let token = request
                .headers()
                .get("clienttoken")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            let live = self.crpt.accepts(now, CONN, &AccessToken::new(token.clone()));
            self.pings.push(token);
            let status = if live { 200 } else { 401 };
            return Some(
                http::Response::builder()
                    .status(status)
                    .body(b"{}".to_vec())
                    .unwrap(),
            );
        }
        let step = if path.ends_with("/auth/key") {
            Step::Key
        } else {
            Step::Exchange
        };
        if let Some(SignInFailure::Scripted(failing, hostile)) = &self.failure {
            if *failing == step {
                return hostile.response();
            }
        }
        Some(self.crpt.handle(now, request))
    }

    fn sign(&mut self, job: &SignJob) -> Signature {
        match self.failure {
            Some(SignInFailure::WrongSignature) => fake::sign_as(job.bytes(), SignatureKind::Detached),
            _ => fake::sign(job),
        }
    }
}

/// A SUZ ping through a `KeeperSource` on `keeper`.
fn ping(keeper: &Mutex<TokenKeeper>, now: &mut Timestamp, server: &mut Crpt) -> Result<u16, Error> {
    let source = KeeperSource::new(keeper, sign_in);
    let mut call = Authorized::new(source, suz_ping(), Scheme::SuzClientToken)?;
    run(&mut call, now, server).map(|response| response.status().as_u16())
}

fn held(keeper: &Mutex<TokenKeeper>) -> Option<AccessToken> {
    keeper.lock().unwrap().token().map(|t| t.access_token().clone())
}

/// The keeper holds a valid token due for renewal; the sign-in fails: the
/// call gets the valid token and the keeper backs off (no second ticket at
/// once). After expiry, and with no token at all, the failure reaches the
/// call.
#[test]
fn a_failed_sign_in_leaves_the_call_the_keepers_valid_token() {
    let mut tally = Tally::new("a_failed_sign_in_leaves_the_call_the_keepers_valid_token");
    let check = |(failure, offset_ms, late_ms): &(SignInFailure, u64, u64)| {
        let keeper = Mutex::new(TokenKeeper::new(CONN));
        let mut server = Crpt::new();
        let mut now = T0;
        match ping(&keeper, &mut now, &mut server) {
            Ok(200) => {}
            other => return Err(format!("setup: the first ping gave {other:?}")),
        }
        let old = held(&keeper).ok_or("setup: no token held")?;
        // Due: five minutes before the ten hours are up.
        let t = at(TEN_HOURS - 300).saturating_add(Duration::from_millis(*offset_ms));
        server.fail(Some(failure.clone()));
        server.log.clear();
        server.pings.clear();
        let mut now = t;
        match ping(&keeper, &mut now, &mut server) {
            Ok(200) => {}
            other => {
                return Err(format!(
                    "reached: with {:?} of the token left the ping gave {other:?}",
                    at(TEN_HOURS).saturating_duration_since(t)
                ))
            }
        }
        if server.sign_ins() == 0 {
            return Err("setup: no sign-in was tried".into());
        }
        if server.pings != [old.expose_secret()] || held(&keeper).as_ref() != Some(&old) {
            return Err(format!("token: the ping carried {:?}", server.pings));
        }
        {
            let mut k = keeper.lock().unwrap();
            if k.renewing() {
                return Err("ticket: the failed sign-in's ticket is still out".into());
            }
            match k.poll(t) {
                KeeperAction::UseToken(token) if *token == old => {}
                other => return Err(format!("backoff: right after the failure, poll gave {other:?}")),
            }
        }
        // After expiry the failure is the call's.
        server.pings.clear();
        let mut now = at(TEN_HOURS).saturating_add(Duration::from_millis(*late_ms));
        match ping(&keeper, &mut now, &mut server) {
            Ok(status) => return Err(format!("expired: the ping succeeded ({status})")),
            Err(err) => failure.check_error(&err).map_err(|e| format!("expired: {e}"))?,
        }
        if !server.pings.is_empty() {
            return Err(format!("expired: pinged with {:?}", server.pings));
        }
        // A keeper with no token: the failure is the call's, and it backs off.
        let empty = Mutex::new(TokenKeeper::new(CONN));
        let mut now = t;
        match ping(&empty, &mut now, &mut server) {
            Ok(status) => return Err(format!("empty: the ping succeeded ({status})")),
            Err(err) => failure.check_error(&err).map_err(|e| format!("empty: {e}"))?,
        }
        let mut empty = empty.lock().unwrap();
        match empty.poll(now) {
            KeeperAction::Wait(until) if until > now => Ok(()),
            other => Err(format!("empty: right after the failure, poll gave {other:?}")),
        }
    };
    // Every documented failure mode, a refused signature, the review's
    // answers at either request, then sampled ones.
    let mut named: Vec<SignInFailure> = CRPT_FAILURES.iter().map(|f| SignInFailure::Fake(*f)).collect();
    named.push(SignInFailure::WrongSignature);
    for step in [Step::Key, Step::Exchange] {
        named.extend(
            named_failures()
                .into_iter()
                .map(|h| SignInFailure::Scripted(step, h)),
        );
    }
    for failure in named {
        let case = (failure, 0, 0);
        tally.check(format_args!("{case:?}"), check(&case));
    }
    let cases = (sign_in_failures(), 0u64..299_000, 0u64..5_000);
    tally.sample(300, cases, check);
    tally.finish();
}

/// Where the first caller's call is dropped.
#[derive(Clone, Copy, Debug)]
enum DropPoint {
    /// The key request is out.
    KeyOut,
    /// The signer has the challenge.
    Signing,
    /// The exchange is out.
    ExchangeOut,
}

/// A call over a `KeeperSource` on a `&Mutex<TokenKeeper>` dropped in the
/// middle of its sign-in: a second caller polling right after gets a
/// ticket within a couple of seconds (the keeper's first back-off and
/// `min_interval`), not after the five-minute `renewal_timeout`, and signs
/// in.
#[test]
fn a_call_dropped_during_its_sign_in_frees_the_ticket() {
    let mut tally = Tally::new("a_call_dropped_during_its_sign_in_frees_the_ticket");
    let cases = (
        select(vec![
            DropPoint::KeyOut,
            DropPoint::Signing,
            DropPoint::ExchangeOut,
        ]),
        any::<bool>(),
        0u64..1_000,
    );
    tally.sample(120, cases, |(point, expired, delay_ms)| {
        let keeper = Mutex::new(TokenKeeper::new(CONN));
        let mut server = Crpt::new();
        if *expired {
            // A token from eleven hours ago, expired an hour since.
            let mut then = at(0).saturating_sub(Duration::from_secs(11 * 3600));
            match ping(&keeper, &mut then, &mut server) {
                Ok(200) => {}
                other => return Err(format!("setup: the first ping gave {other:?}")),
            }
        }
        {
            let source = KeeperSource::new(&keeper, sign_in);
            let mut first = Authorized::new(source, suz_ping(), Scheme::SuzClientToken).unwrap();
            let key = match first.start(T0) {
                Ok(Action::Send(key)) => key.into_http(),
                other => return Err(format!("setup: the first call began with {other:?}")),
            };
            if !matches!(point, DropPoint::KeyOut) {
                let challenge = server.answer(T0, &key).unwrap();
                let job = match first.resume(T0, Input::Response(challenge)) {
                    Ok(Action::Sign(job)) => job,
                    other => {
                        return Err(format!(
                            "setup: no signature asked: {:?}",
                            other.map(|a| kind(&a))
                        ))
                    }
                };
                if matches!(point, DropPoint::ExchangeOut) {
                    match first.resume(T0, Input::Signature(fake::sign(&job))) {
                        Ok(Action::Send(_)) => {}
                        other => return Err(format!("setup: no exchange: {:?}", other.map(|a| kind(&a)))),
                    }
                }
            }
            if !keeper.lock().unwrap().renewing() {
                return Err("setup: no ticket out".into());
            }
            // The first call is dropped here, its sign-in half-way.
        }
        server.log.clear();
        let mut now = at_ms(*delay_ms);
        let status = ping(&keeper, &mut now, &mut server).map_err(|e| format!("second: {e}"))?;
        let Some((asked_at, _)) = server.log.first() else {
            return Err("second: it sent nothing".into());
        };
        if asked_at.saturating_duration_since(T0) > Duration::from_secs(2) {
            return Err(format!(
                "waited: the second caller's sign-in started {:?} after the drop",
                asked_at.saturating_duration_since(T0)
            ));
        }
        if status != 200 || keeper.lock().unwrap().renewing() {
            return Err(format!("second: the ping gave {status}"));
        }
        Ok(())
    });
    tally.finish();
}

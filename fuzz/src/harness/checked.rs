//! The `Flow` contract as a model beside a flow: every call is checked
//! against it before its action is handed back.

use std::fmt::Debug;
use std::time::Duration;

use tokendance::{Action, Error, Expect, Flow, Input, InputKind, SignatureKind, Timestamp, UsageError};

use super::checks::{check_printed, check_refusal, Outcome};
use super::Report;

/// When a flow may ask to wait, and how far ahead.
#[derive(Clone, Copy, Debug)]
pub enum WaitRule {
    /// It never waits (one request, or requests and signatures only).
    Never,
    /// At most this long after the last answer it was handed (MDLP keeps a
    /// second between its auth answer and its token request).
    AfterAnswer(Duration),
    /// At most this long after the `now` it answers (a token holder's
    /// longest pause: [`holder_bound`]).
    Within(Duration),
}

/// What a flow may do.
#[derive(Clone, Debug)]
pub struct Spec {
    host: &'static str,
    /// The API host of an authorised call (its token requests go to `host`).
    pub(super) api_host: Option<&'static str>,
    max_sends: usize,
    sign: Option<SignatureKind>,
    /// The secrets the flow's requests carry: nothing it prints may show them.
    secrets: Vec<&'static str>,
    pub(super) wait: WaitRule,
    /// `Failed` may not end the flow: a token source that still holds a
    /// valid token hands it out instead of the failure (and an authorised
    /// call goes on with it).
    pub(super) failed_may_go_on: bool,
}

pub(super) fn spec(
    host: &'static str,
    max_sends: usize,
    sign: Option<SignatureKind>,
    secrets: &[&'static str],
) -> Spec {
    Spec {
        host,
        api_host: None,
        max_sends,
        sign,
        secrets: secrets.to_vec(),
        wait: WaitRule::Never,
        failed_may_go_on: false,
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Phase {
    New,
    Expecting(Expect),
    Finished,
}

/// A flow with a model of the `Flow` contract beside it: every call is
/// checked against the model before its action is handed back.
pub struct Checked<F: Flow> {
    flow: F,
    spec: Spec,
    pub(super) phase: Phase,
    pub(super) last_send_at: Option<Timestamp>,
    /// When the last response was handed in.
    last_answer_at: Option<Timestamp>,
    /// When the flow ended with an error, if it did.
    pub(super) error_at: Option<Timestamp>,
    /// The earliest `now` of a call the flow acted on (`start`, or `resume`
    /// with the input it expected).
    pub(super) acted_min: Option<Timestamp>,
    sends: usize,
    dones: usize,
    /// `start` may refuse with `Finished` (a session-backed flow whose session ended).
    pub(super) start_may_finish: bool,
    /// The credential of the last request to the API host, and every one
    /// the API answered 401: never sent again.
    last_api_credential: Option<Vec<u8>>,
    refused_credentials: Vec<Vec<u8>>,
}

impl<F: Flow + Debug> Checked<F>
where
    F::Output: Outcome,
{
    pub(super) fn from((flow, spec): (F, Spec)) -> Self {
        Self::new(flow, spec)
    }

    pub(super) fn new(flow: F, spec: Spec) -> Self {
        Checked {
            flow,
            spec,
            phase: Phase::New,
            last_send_at: None,
            last_answer_at: None,
            error_at: None,
            acted_min: None,
            sends: 0,
            dones: 0,
            start_may_finish: false,
            last_api_credential: None,
            refused_credentials: Vec::new(),
        }
    }

    fn acted(&mut self, now: Timestamp) {
        self.acted_min = Some(self.acted_min.map_or(now, |t| t.min(now)));
    }

    /// The flow as it prints itself, after every call.
    fn check_flow(&self) {
        check_printed("a flow's Debug", &format!("{:?}", self.flow), &self.spec.secrets);
    }

    pub(super) fn start(&mut self, now: Timestamp, report: &mut Report) -> Option<Action<F::Output>> {
        if self.phase == Phase::New {
            self.acted(now);
        }
        let result = self.flow.start(now);
        self.check_flow();
        match (self.phase, result) {
            (Phase::New, Ok(action)) => Some(self.seen(now, action, report)),
            (Phase::New, Err(Error::Usage(UsageError::Finished))) if self.start_may_finish => {
                self.phase = Phase::Finished;
                None
            }
            (Phase::New, Err(e)) => panic!("start failed: {e:?}"),
            (Phase::Expecting(_), Err(Error::Usage(UsageError::AlreadyStarted))) => None,
            (Phase::Finished, Err(Error::Usage(UsageError::Finished))) => None,
            (phase, result) => panic!("start in {phase:?} gave {result:?}"),
        }
    }

    pub(super) fn resume(
        &mut self,
        now: Timestamp,
        input: Input,
        report: &mut Report,
    ) -> Option<Action<F::Output>> {
        let kind = input.kind();
        if let Phase::Expecting(expect) = self.phase {
            if kind == expect_kind(expect) || kind == InputKind::Failed {
                self.acted(now);
            }
            if kind == InputKind::Response && expect == Expect::Response {
                self.last_answer_at = Some(now);
                if let Input::Response(response) = &input {
                    if self.last_api_credential.is_some() {
                        if response.status() == 401 {
                            // The API refused the token it was sent.
                            self.refused_credentials.extend(self.last_api_credential.take());
                        }
                    } else if response.status() == 200 {
                        // The token endpoint may issue the same text again: a new token.
                        let body = response.body();
                        self.refused_credentials.retain(|credential| {
                            let token = credential.splitn(2, |b| *b == b' ').nth(1).unwrap_or(credential);
                            !body.windows(token.len().max(1)).any(|w| w == token)
                        });
                    }
                }
                self.last_api_credential = None;
            }
        }
        let result = self.flow.resume(now, input);
        self.check_flow();
        let expect = match (self.phase, &result) {
            (Phase::New, Err(Error::Usage(UsageError::NotStarted))) => return None,
            (Phase::Finished, Err(Error::Usage(UsageError::Finished))) => return None,
            (Phase::Expecting(expect), _) => expect,
            (phase, result) => panic!("resume({kind:?}) in {phase:?} gave {result:?}"),
        };
        if kind == InputKind::Failed {
            match result {
                Err(Error::Usage(UsageError::Aborted)) => {
                    self.error_at = Some(now);
                    self.phase = Phase::Finished;
                    return None;
                }
                // A source that still holds a valid token hands it out.
                Ok(action) if self.spec.failed_may_go_on => {
                    return Some(self.seen(now, action, report));
                }
                other => panic!("Failed gave {other:?}"),
            }
        }
        let fits = matches!(
            (expect, kind),
            (Expect::Response, InputKind::Response)
                | (Expect::Signature, InputKind::Signature)
                | (Expect::Timeout, InputKind::Timeout)
        );
        if !fits {
            match result {
                Err(Error::Usage(UsageError::UnexpectedInput { expected, got })) => {
                    assert_eq!(
                        (expected, got),
                        (expect, kind),
                        "UnexpectedInput names the wrong kinds"
                    );
                }
                other => panic!("{kind:?} while expecting {expect:?} gave {other:?}"),
            }
            return None;
        }
        match result {
            Ok(action) => Some(self.seen(now, action, report)),
            Err(err) => {
                assert_eq!(kind, InputKind::Response, "{kind:?} input failed: {err:?}");
                check_refusal(&err, &self.spec.secrets, report);
                self.error_at = Some(now);
                self.phase = Phase::Finished;
                None
            }
        }
    }

    /// Checks an action and moves the model on.
    fn seen(&mut self, now: Timestamp, action: Action<F::Output>, report: &mut Report) -> Action<F::Output> {
        // A Done value is checked as its type says it may be printed.
        if !matches!(action, Action::Done(_)) {
            check_printed("an action's Debug", &format!("{action:?}"), &self.spec.secrets);
        }
        self.phase = match &action {
            Action::Store(_) => panic!("a flow under test asked for a token store"),
            Action::Send(request) => {
                self.sends += 1;
                report.sent += 1;
                assert!(
                    self.sends <= self.spec.max_sends,
                    "more requests than the transcript has"
                );
                let uri = request.as_http().uri();
                assert!(
                    uri.host() == Some(self.spec.host) || uri.host() == self.spec.api_host,
                    "request to another host: {uri}"
                );
                self.last_api_credential = None;
                if uri.host().is_some() && uri.host() == self.spec.api_host {
                    let credential = request
                        .as_http()
                        .headers()
                        .get("authorization")
                        .map(|v| v.as_bytes().to_vec());
                    if let Some(credential) = &credential {
                        assert!(
                            !self.refused_credentials.contains(credential),
                            "a token the API refused (401) was sent again at {now:?}"
                        );
                    }
                    self.last_api_credential = credential;
                }
                assert_eq!(uri.scheme_str(), Some("https"));
                self.last_send_at = Some(now);
                Phase::Expecting(Expect::Response)
            }
            Action::Sign(job) => {
                assert_eq!(Some(job.kind()), self.spec.sign, "a sign job of the wrong kind");
                assert!(!job.bytes().is_empty(), "a sign job without bytes");
                Phase::Expecting(Expect::Signature)
            }
            Action::Wait(until) => {
                assert!(*until >= now, "Wait({until:?}) is before {now:?}");
                let limit = match self.spec.wait {
                    WaitRule::Never => panic!("a flow that never waits asked to wait until {until:?}"),
                    WaitRule::AfterAnswer(d) => self
                        .last_answer_at
                        .expect("a wait before any answer")
                        .saturating_add(d),
                    WaitRule::Within(d) => now.saturating_add(d),
                };
                assert!(
                    *until <= limit,
                    "Wait({until:?}) at {now:?} is later than {limit:?} ({:?})",
                    self.spec.wait
                );
                Phase::Expecting(Expect::Timeout)
            }
            Action::Done(output) => {
                self.dones += 1;
                assert_eq!(self.dones, 1, "Done twice");
                output.check(self.last_send_at);
                check_printed("a Done value's Debug", &output.printed(), &self.spec.secrets);
                report.accepted += 1;
                Phase::Finished
            }
        };
        action
    }
}

/// The input that answers `expect`.
fn expect_kind(expect: Expect) -> InputKind {
    match expect {
        Expect::Store => InputKind::Store,
        Expect::Response => InputKind::Response,
        Expect::Signature => InputKind::Signature,
        Expect::Timeout => InputKind::Timeout,
    }
}

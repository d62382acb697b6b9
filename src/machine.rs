//! The rules every one-shot flow shares, written once.
//!
//! A flow's own type only says how each of its states answers the input it
//! waits for ([`Step`]); [`Machine`] enforces the rest, identically for every
//! flow:
//! * `start` once; `resume` before `start` is [`UsageError::NotStarted`];
//! * input of the wrong kind is [`UsageError::UnexpectedInput`] and leaves
//!   the state as it was;
//! * [`Input::Failed`] ends the flow with [`UsageError::Aborted`];
//! * `Done` or any other error ends it for good: every later call is
//!   [`UsageError::Finished`], so a failed flow can never send again.
//!
//! Flows that pass their steps on to a machine they do not own (a session's
//! `Fetch`, an `Authorized` call) keep the same rules with a [`Gate`].

use crate::error::{Error, Expect, UsageError};
use crate::flow::{unexpected, Action, Input};
use crate::time::Timestamp;
use crate::trace::{self, Finished, Name, Run};

/// A flow before it starts: what it needs to emit its first action.
pub(crate) trait Start {
    /// The states the flow runs through once started.
    type State: Step;

    /// The first state and action.
    fn start(self, now: Timestamp) -> Result<Transition<Self::State>, Error>;
}

/// The next state and the action that leads to it.
pub(crate) type Transition<S> = (S, Action<<S as Step>::Output>);

/// A state of a started flow, and how it moves on.
pub(crate) trait Step: Sized {
    /// What the flow finally yields.
    type Output;

    /// What this state waits for.
    fn expects(&self) -> Expect;

    /// The state's name, for `Debug` and tracing (never its contents,
    /// which may hold secrets).
    fn name(&self) -> &'static str;

    /// The next state and action, given input of the kind [`expects`](Self::expects) names.
    fn resume(self, now: Timestamp, input: Input) -> Result<Transition<Self>, Error>;
}

/// A flow's state with the shared rules around it.
pub(crate) struct Machine<I: Start> {
    phase: Phase<I>,
    /// The flow's span (nothing without the `tracing` feature).
    run: Run,
}

enum Phase<I: Start> {
    New(I),
    Running(I::State),
    Finished,
}

impl<I: Start> Machine<I>
where
    <I::State as Step>::Output: Finished,
{
    /// A machine that has not started, traced as `name`.
    pub(crate) fn new(name: Name, initial: I) -> Self {
        Machine {
            phase: Phase::New(initial),
            run: Run::flow(name),
        }
    }

    /// The phase's name for `Debug`: `New`, `Finished`, or the running
    /// state's [`name`](Step::name).
    pub(crate) fn describe(&self) -> &'static str {
        match &self.phase {
            Phase::New(_) => "New",
            Phase::Running(state) => state.name(),
            Phase::Finished => "Finished",
        }
    }

    pub(crate) fn start(&mut self, now: Timestamp) -> Result<Action<<I::State as Step>::Output>, Error> {
        let _entered = self.run.enter();
        match std::mem::replace(&mut self.phase, Phase::Finished) {
            Phase::New(initial) => self.enter("New", now, initial.start(now)),
            Phase::Running(state) => {
                self.phase = Phase::Running(state);
                Err(Error::Usage(UsageError::AlreadyStarted))
            }
            Phase::Finished => Err(Error::Usage(UsageError::Finished)),
        }
    }

    pub(crate) fn resume(
        &mut self,
        now: Timestamp,
        input: Input,
    ) -> Result<Action<<I::State as Step>::Output>, Error> {
        let (expected, step) = match &self.phase {
            Phase::New(_) => return Err(Error::Usage(UsageError::NotStarted)),
            Phase::Finished => return Err(Error::Usage(UsageError::Finished)),
            Phase::Running(state) => (state.expects(), state.name()),
        };
        let _entered = self.run.enter();
        if matches!(input, Input::Failed) {
            self.phase = Phase::Finished;
            let aborted = Error::Usage(UsageError::Aborted);
            trace::failed(step, &aborted, now);
            return Err(aborted);
        }
        if !answers(expected, &input) {
            return Err(unexpected(expected, &input));
        }
        if let Input::Response(response) = &input {
            trace::response(step, response, now);
        }
        match std::mem::replace(&mut self.phase, Phase::Finished) {
            Phase::Running(state) => self.enter(step, now, state.resume(now, input)),
            // Checked above: only a running machine gets here.
            other => {
                self.phase = other;
                Err(Error::Usage(UsageError::Finished))
            }
        }
    }

    /// Keeps the next state unless the flow is done or failed; traces what
    /// the state `from` led to.
    fn enter(
        &mut self,
        from: &'static str,
        now: Timestamp,
        step: Result<Transition<I::State>, Error>,
    ) -> Result<Action<<I::State as Step>::Output>, Error> {
        match step {
            Ok((_, Action::Done(output))) => {
                trace::outcome(from, "done", output.expires_at(), now);
                Ok(Action::Done(output))
            }
            Ok((next, action)) => {
                let step = next.name();
                match &action {
                    Action::Send(request) => trace::request(step, request, now),
                    Action::Sign(job) => trace::sign(step, job, now),
                    Action::Wait(until) => trace::wait(step, *until, now),
                    Action::Store(_) | Action::Done(_) => {}
                }
                self.phase = Phase::Running(next);
                Ok(action)
            }
            Err(e) => {
                trace::failed(from, &e, now);
                Err(e)
            }
        }
    }
}

/// Whether `input` is of the kind `expect` names (`Failed` is not: each
/// caller decides what an abort means).
fn answers(expect: Expect, input: &Input) -> bool {
    matches!(
        (expect, input),
        (Expect::Response, Input::Response(_))
            | (Expect::Signature, Input::Signature(_))
            | (Expect::Timeout, Input::Timeout)
            | (Expect::Store, Input::Store(_))
    )
}

/// The same rules for a flow that passes its steps on to a machine it does
/// not own (a [`Fetch`](crate::oauth2::Fetch) drives a session, an
/// [`Authorized`](crate::call::Authorized) call a token source), whose state
/// outlives the flow. What the flow waits for is read off each action it
/// emits; unlike [`Machine`], `Input::Failed` is let through, because the
/// machine behind the flow has to learn that its request failed.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Gate {
    /// Not started.
    New,
    /// Started, waiting for this kind of input.
    Waiting(Expect),
    /// Done or failed: nothing more is accepted.
    Finished,
}

impl Gate {
    /// Whether `start` may run now.
    pub(crate) fn admit_start(&self) -> Result<(), Error> {
        match self {
            Gate::New => Ok(()),
            Gate::Waiting(_) => Err(Error::Usage(UsageError::AlreadyStarted)),
            Gate::Finished => Err(Error::Usage(UsageError::Finished)),
        }
    }

    /// Whether `input` may be passed on now; what the flow waited for when it
    /// may. Refused input leaves the gate as it was.
    pub(crate) fn admit(&self, input: &Input) -> Result<Expect, Error> {
        match *self {
            Gate::New => Err(Error::Usage(UsageError::NotStarted)),
            Gate::Finished => Err(Error::Usage(UsageError::Finished)),
            Gate::Waiting(expect) if matches!(input, Input::Failed) || answers(expect, input) => Ok(expect),
            Gate::Waiting(expect) => Err(unexpected(expect, input)),
        }
    }

    /// Records what the flow's next step waits for; `Done` or an error
    /// finishes it for good.
    pub(crate) fn track<T>(&mut self, step: Result<Action<T>, Error>) -> Result<Action<T>, Error> {
        *self = match &step {
            Ok(Action::Send(_)) => Gate::Waiting(Expect::Response),
            Ok(Action::Sign(_)) => Gate::Waiting(Expect::Signature),
            Ok(Action::Wait(_)) => Gate::Waiting(Expect::Timeout),
            Ok(Action::Store(_)) => Gate::Waiting(Expect::Store),
            Ok(Action::Done(_)) | Err(_) => Gate::Finished,
        };
        step
    }
}

/// Implements [`Flow`](crate::Flow) for a public flow type whose `machine`
/// field does the work, so every flow answers `start`/`resume` the same way.
macro_rules! flow_via_machine {
    ($flow:ty, $output:ty) => {
        impl crate::flow::Flow for $flow {
            type Output = $output;

            fn start(
                &mut self,
                now: crate::time::Timestamp,
            ) -> Result<crate::flow::Action<$output>, crate::error::Error> {
                self.machine.start(now)
            }

            fn resume(
                &mut self,
                now: crate::time::Timestamp,
                input: crate::flow::Input,
            ) -> Result<crate::flow::Action<$output>, crate::error::Error> {
                self.machine.resume(now, input)
            }
        }
    };
}
pub(crate) use flow_via_machine;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::{StoreAnswer, StoreError, StoreOp};
    use crate::flow::Outgoing;
    use crate::sign::{Purpose, SignJob, Signature, SignatureKind};

    fn inputs() -> [Input; 6] {
        [
            Input::Response(http::Response::new(Vec::new())),
            Input::Signature(Signature::from_der(vec![0x30, 0])),
            Input::Timeout,
            Input::Store(Ok(StoreAnswer::Swapped)),
            Input::Store(Err(StoreError::Timeout)),
            Input::Failed,
        ]
    }

    fn gates() -> [Gate; 6] {
        [
            Gate::New,
            Gate::Waiting(Expect::Response),
            Gate::Waiting(Expect::Signature),
            Gate::Waiting(Expect::Timeout),
            Gate::Waiting(Expect::Store),
            Gate::Finished,
        ]
    }

    /// Every gate against every input, each answer checked against the rule
    /// it implements, and a refused input leaves the gate as it was.
    #[test]
    fn the_gate_admits_what_the_rules_allow() {
        for gate in gates() {
            let started = gate.admit_start();
            match gate {
                Gate::New => assert!(started.is_ok()),
                Gate::Waiting(_) => assert!(matches!(started, Err(Error::Usage(UsageError::AlreadyStarted)))),
                Gate::Finished => assert!(matches!(started, Err(Error::Usage(UsageError::Finished)))),
            }
            for input in inputs() {
                let admitted = gate.admit(&input);
                let kind = input.kind();
                match (gate, admitted) {
                    (Gate::New, Err(Error::Usage(UsageError::NotStarted))) => {}
                    (Gate::Finished, Err(Error::Usage(UsageError::Finished))) => {}
                    (Gate::Waiting(expect), Ok(admitted)) => {
                        assert_eq!(admitted, expect);
                        assert!(
                            matches!(input, Input::Failed) || answers(expect, &input),
                            "{kind:?}"
                        );
                    }
                    (
                        Gate::Waiting(expect),
                        Err(Error::Usage(UsageError::UnexpectedInput { expected, got })),
                    ) => {
                        assert_eq!((expected, got), (expect, kind));
                        assert!(!matches!(input, Input::Failed) && !answers(expect, &input));
                    }
                    (gate, other) => panic!("{gate:?} admitted {kind:?} as {other:?}"),
                }
            }
        }
    }

    /// Each action leaves the gate waiting for the input that answers it;
    /// `Done` and errors finish it, whatever it was.
    #[test]
    fn tracking_records_what_the_action_waits_for() {
        type Built = fn() -> Result<Action<()>, Error>;
        let steps: [(Built, Gate); 6] = [
            (
                || Ok(Action::Send(Outgoing::from_http(http::Request::new(Vec::new())))),
                Gate::Waiting(Expect::Response),
            ),
            (
                || {
                    let job = SignJob::new(b"x".to_vec(), SignatureKind::Detached, Purpose::MdlpCode);
                    Ok(Action::Sign(job))
                },
                Gate::Waiting(Expect::Signature),
            ),
            (
                || Ok(Action::Wait(Timestamp::EPOCH)),
                Gate::Waiting(Expect::Timeout),
            ),
            (
                || Ok(Action::Store(StoreOp::read(1, "k"))),
                Gate::Waiting(Expect::Store),
            ),
            (|| Ok(Action::Done(())), Gate::Finished),
            (|| Err(Error::Usage(UsageError::Aborted)), Gate::Finished),
        ];
        for (step, after) in steps {
            for before in gates() {
                let mut gate = before;
                let tracked = gate.track(step());
                assert_eq!(gate, after, "{before:?}");
                // The step itself is passed on unchanged.
                assert_eq!(tracked.is_ok(), step().is_ok());
            }
        }
    }
}

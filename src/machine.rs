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

use crate::error::{Error, Expect, UsageError};
use crate::flow::{unexpected, Action, Input};
use crate::time::Timestamp;

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

    /// The next state and action, given input of the kind [`expects`](Self::expects) names.
    fn resume(self, now: Timestamp, input: Input) -> Result<Transition<Self>, Error>;
}

/// A flow's state with the shared rules around it.
pub(crate) struct Machine<I: Start> {
    phase: Phase<I>,
}

enum Phase<I: Start> {
    New(I),
    Running(I::State),
    Finished,
}

impl<I: Start> Machine<I> {
    /// A machine that has not started.
    pub(crate) fn new(initial: I) -> Self {
        Machine {
            phase: Phase::New(initial),
        }
    }

    /// The phase's name for `Debug`: `New`, `Finished`, or what `name` calls
    /// the running state (never its contents, which may hold secrets).
    pub(crate) fn describe(&self, name: impl FnOnce(&I::State) -> &'static str) -> &'static str {
        match &self.phase {
            Phase::New(_) => "New",
            Phase::Running(state) => name(state),
            Phase::Finished => "Finished",
        }
    }

    pub(crate) fn start(&mut self, now: Timestamp) -> Result<Action<<I::State as Step>::Output>, Error> {
        match std::mem::replace(&mut self.phase, Phase::Finished) {
            Phase::New(initial) => self.settle(initial.start(now)),
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
        let expected = match &self.phase {
            Phase::New(_) => return Err(Error::Usage(UsageError::NotStarted)),
            Phase::Finished => return Err(Error::Usage(UsageError::Finished)),
            Phase::Running(state) => state.expects(),
        };
        let matches = matches!(
            (expected, &input),
            (Expect::Response, Input::Response(_))
                | (Expect::Signature, Input::Signature(_))
                | (Expect::Timeout, Input::Timeout)
        );
        if matches!(input, Input::Failed) {
            self.phase = Phase::Finished;
            return Err(Error::Usage(UsageError::Aborted));
        }
        if !matches {
            return Err(unexpected(expected, &input));
        }
        match std::mem::replace(&mut self.phase, Phase::Finished) {
            Phase::Running(state) => self.settle(state.resume(now, input)),
            // Checked above: only a running machine gets here.
            other => {
                self.phase = other;
                Err(Error::Usage(UsageError::Finished))
            }
        }
    }

    /// Keeps the next state unless the flow is done or failed.
    fn settle(
        &mut self,
        step: Result<Transition<I::State>, Error>,
    ) -> Result<Action<<I::State as Step>::Output>, Error> {
        match step {
            Ok((_, action @ Action::Done(_))) => Ok(action),
            Ok((next, action)) => {
                self.phase = Phase::Running(next);
                Ok(action)
            }
            Err(e) => Err(e),
        }
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

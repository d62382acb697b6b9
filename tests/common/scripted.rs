//! A transport that answers from a script.
//!
//! Several suites drove flows through a transport of their own that gave
//! canned answers in order and kept the requests for the asserts (`Canned`,
//! a `VecDeque` behind a closure, an index into a plan). They are one idea,
//! so it is written once: the answer type is the suite's own (a response, a
//! response or a dropped connection, a response at an instant, the index of
//! an answer a stateful server builds), and a server with state of its own
//! keeps that state beside a `Scripted` that it draws from.

use std::collections::VecDeque;

use tokendance::Input;

/// The requests a transport was sent, and the answers it has left to give,
/// in order.
#[derive(Debug)]
pub struct Scripted<A = http::Response<Vec<u8>>> {
    answers: VecDeque<A>,
    sent: Vec<http::Request<Vec<u8>>>,
}

impl<A> Scripted<A> {
    /// A transport that will give `answers`, one per request.
    pub fn new(answers: impl IntoIterator<Item = A>) -> Self {
        Scripted {
            answers: answers.into_iter().collect(),
            sent: Vec::new(),
        }
    }

    /// Records `request` and gives the next answer. A request past the end
    /// of the script fails the test: the flow sent more than the test meant.
    #[track_caller]
    pub fn answer(&mut self, request: http::Request<Vec<u8>>) -> A {
        self.sent.push(request);
        match self.answers.pop_front() {
            Some(answer) => answer,
            None => panic!("the script ran out at request {}", self.sent.len()),
        }
    }

    /// Every request answered so far, in order.
    pub fn sent(&self) -> &[http::Request<Vec<u8>>] {
        &self.sent
    }

    /// How many answers are left.
    pub fn left(&self) -> usize {
        self.answers.len()
    }

    /// Fails the test if an answer was never asked for: the flow sent less
    /// than the test meant.
    #[track_caller]
    pub fn assert_all_used(&self) {
        assert_eq!(self.left(), 0, "{} scripted answers left", self.left());
    }
}

impl Scripted {
    /// A transport answering with the responses of `inputs`, for the suites
    /// that write their answers as flow inputs. Anything but a response is
    /// a mistake in the test.
    pub fn from_inputs(inputs: impl IntoIterator<Item = Input>) -> Self {
        Scripted::new(inputs.into_iter().map(|input| match input {
            Input::Response(response) => response,
            other => panic!("a transport answers with responses, not {:?}", other.kind()),
        }))
    }
}

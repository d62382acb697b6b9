//! Helpers the test suites share.
#![allow(dead_code)] // each suite uses part of it

/// Declares `Step` and `ALL` (every step, in order) from one list, so that
/// a new step cannot be left out of the tests that go through `ALL`.
#[allow(unused_macros)]
macro_rules! step_list {
    ($($step:ident),* $(,)?) => {
        #[derive(Clone, Copy, PartialEq, Eq, Debug)]
        enum Step {
            $($step),*
        }
        const ALL: [Step; [$(Step::$step),*].len()] = [$(Step::$step),*];
    };
}
#[allow(unused_imports)]
pub(crate) use step_list;

pub mod flows;
pub mod holders;
pub mod keeper_model;
pub mod keycloak;
pub mod leak_oracle;
pub mod pacing;
pub mod printings;
pub mod scripted;
pub mod steps;
pub mod time;
#[cfg(feature = "tracing")]
pub mod traced;
pub mod uri_oracle;

use http::{Method, Version};
use tokendance::{Action, Error, Outgoing, SignJob, Timestamp};

/// A response description that can be fed to several steps.
#[derive(Clone, Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

/// A response with `status` and `body` and no headers.
pub fn resp(status: u16, body: impl AsRef<[u8]>) -> Resp {
    Resp {
        status,
        headers: Vec::new(),
        body: body.as_ref().to_vec(),
    }
}

impl Resp {
    /// Adds a header.
    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// The `http::Response` to feed to a flow.
    pub fn build(&self) -> http::Response<Vec<u8>> {
        let mut b = http::Response::builder().status(self.status);
        for (k, v) in &self.headers {
            b = b.header(*k, v.as_bytes());
        }
        b.body(self.body.clone()).unwrap()
    }
}

/// A header as expected: name, value, and whether it must be marked sensitive.
pub type Header<'a> = (&'a str, &'a str, bool);

/// Asserts everything about a request: method, URL, version, every header
/// (name, value, sensitivity, count, order-independent) and the exact body
/// bytes; and that the request moved out for sending is the same.
#[track_caller]
pub fn assert_request(out: &Outgoing, method: Method, url: &str, headers: &[Header<'_>], body: &[u8]) {
    let req = out.as_http();
    assert_eq!(req.method(), method);
    assert_eq!(req.uri().to_string(), url);
    assert_eq!(req.version(), Version::HTTP_11);
    let mut got: Vec<(String, String, bool)> = req
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                v.to_str().unwrap().to_owned(),
                v.is_sensitive(),
            )
        })
        .collect();
    got.sort();
    let mut want: Vec<(String, String, bool)> = headers
        .iter()
        .map(|(k, v, s)| ((*k).to_owned(), (*v).to_owned(), *s))
        .collect();
    want.sort();
    assert_eq!(got, want, "header map (name, value, sensitive)");
    assert_eq!(
        String::from_utf8_lossy(req.body()),
        String::from_utf8_lossy(body),
        "body as text"
    );
    assert_eq!(req.body().as_slice(), body, "body bytes");
    let moved = out.clone().into_http();
    assert_eq!(moved.body(), req.body());
    assert_eq!(moved.headers(), req.headers());
    assert_eq!(moved.uri(), req.uri());
}

/// The name of an action, for failure messages (never its content).
pub fn kind<T>(action: &Action<T>) -> &'static str {
    match action {
        Action::Store(_) => "Store",
        Action::Send(_) => "Send",
        Action::Sign(_) => "Sign",
        Action::Wait(_) => "Wait",
        Action::Done(_) => "Done",
    }
}

/// The name of a session's answer, for failure messages (never the token).
pub fn session_kind(action: &tokendance::oauth2::SessionAction<'_>) -> &'static str {
    use tokendance::oauth2::SessionAction;
    match action {
        SessionAction::UseToken(_) => "UseToken",
        SessionAction::Send(_) => "Send",
        SessionAction::Wait(_) => "Wait",
    }
}

/// The request of a `Send` step.
#[track_caller]
pub fn send<T>(step: Result<Action<T>, Error>) -> Outgoing {
    match step {
        Ok(Action::Send(out)) => out,
        Ok(other) => panic!("expected Send, got {}", kind(&other)),
        Err(e) => panic!("expected Send, got the error {e}"),
    }
}

/// The output of a `Done` step.
#[track_caller]
pub fn done<T>(step: Result<Action<T>, Error>) -> T {
    match step {
        Ok(Action::Done(v)) => v,
        Ok(other) => panic!("expected Done, got {}", kind(&other)),
        Err(e) => panic!("expected Done, got the error {e}"),
    }
}

/// The job of a `Sign` step.
#[track_caller]
pub fn sign<T>(step: Result<Action<T>, Error>) -> SignJob {
    match step {
        Ok(Action::Sign(job)) => job,
        Ok(other) => panic!("expected Sign, got {}", kind(&other)),
        Err(e) => panic!("expected Sign, got the error {e}"),
    }
}

/// The instant of a `Wait` step.
#[track_caller]
pub fn wait<T>(step: Result<Action<T>, Error>) -> Timestamp {
    match step {
        Ok(Action::Wait(until)) => until,
        Ok(other) => panic!("expected Wait, got {}", kind(&other)),
        Err(e) => panic!("expected Wait, got the error {e}"),
    }
}

/// The error of a step that failed.
#[track_caller]
pub fn failed<T>(step: Result<Action<T>, Error>) -> Error {
    match step {
        Err(e) => e,
        Ok(other) => panic!("expected an error, got {}", kind(&other)),
    }
}

/// Collects the outcome of many cases of one test, so that a run reports how
/// many cases fail (with a few examples) instead of stopping at the first.
///
/// A failure is described as `"category: details"`; the report counts the
/// failures per category and shows the first of each (at most three). With
/// `TALLY_ALL` set in the environment, every failure is printed.
pub struct Tally {
    name: &'static str,
    cases: usize,
    /// (label of the case, why it failed).
    failures: Vec<(String, String)>,
}

/// How many failing cases a [`Tally`] prints in full.
const SHOWN_FAILURES: usize = 3;
/// How many characters of one failure a [`Tally`] prints.
const SHOWN_CHARS: usize = 400;

impl Tally {
    /// An empty tally for the test `name`.
    pub fn new(name: &'static str) -> Self {
        Tally {
            name,
            cases: 0,
            failures: Vec::new(),
        }
    }

    /// Records one case: `Err(why)` is a failure, described with `label`.
    pub fn check(&mut self, label: impl std::fmt::Display, result: Result<(), String>) {
        self.cases += 1;
        if let Err(why) = result {
            self.failures.push((label.to_string(), why));
        }
    }

    /// Runs `check` on `cases` values drawn from `strategy` (see [`draw`]),
    /// recording each.
    pub fn sample<S>(&mut self, cases: u32, strategy: S, check: impl Fn(&S::Value) -> Result<(), String>)
    where
        S: proptest::strategy::Strategy,
        S::Value: std::fmt::Debug,
    {
        for value in draw(cases, strategy) {
            let result = check(&value);
            self.check(format_args!("{value:?}"), result);
        }
    }

    /// The number of cases recorded so far.
    pub fn cases(&self) -> usize {
        self.cases
    }

    /// The number of failing cases so far.
    pub fn failed(&self) -> usize {
        self.failures.len()
    }

    /// Prints the counts (per category) and a few examples; fails the test
    /// if any case failed, or if no case was checked.
    #[track_caller]
    pub fn finish(self) {
        let (report, failed) = self.report();
        assert!(!failed, "{report}");
    }

    /// Prints the report, as [`Tally::finish`] does, and returns it with
    /// whether any case failed.
    fn report(self) -> (String, bool) {
        let category = |why: &str| why.split(": ").next().unwrap_or(why).to_owned();
        let mut categories: Vec<(String, usize, usize)> = Vec::new(); // (category, count, first index)
        for (i, (_, why)) in self.failures.iter().enumerate() {
            let c = category(why);
            match categories.iter_mut().find(|(name, _, _)| *name == c) {
                Some(entry) => entry.1 += 1,
                None => categories.push((c, 1, i)),
            }
        }
        let shorten = |text: String| -> String {
            if text.chars().count() > SHOWN_CHARS {
                text.chars().take(SHOWN_CHARS).chain(['…']).collect()
            } else {
                text
            }
        };
        let mut picked: Vec<usize> = categories.iter().map(|(_, _, first)| *first).collect();
        picked.extend(0..self.failures.len());
        picked.dedup();
        let mut examples: Vec<String> = Vec::new();
        for i in picked {
            if examples.len() == SHOWN_FAILURES {
                break;
            }
            let (label, why) = &self.failures[i];
            let example = shorten(format!("[{label}] {why}"));
            if !examples.contains(&example) {
                examples.push(example);
            }
        }
        let mut report = format!(
            "{}: {} of {} cases fail",
            self.name,
            self.failures.len(),
            self.cases
        );
        // A tally that checked nothing (an empty table, a filter that
        // matches no step) proves nothing: it fails.
        let empty = self.cases == 0;
        if empty {
            report.push_str("\n  no case was checked");
        }
        for (name, count, _) in &categories {
            report.push_str(&format!("\n  {count} x {name}"));
        }
        for example in &examples {
            report.push_str(&format!("\n  e.g. {example}"));
        }
        println!("{report}");
        if std::env::var_os("TALLY_ALL").is_some() {
            for (label, why) in &self.failures {
                println!("  FAIL [{label}] {why}");
            }
        }
        (report, empty || !self.failures.is_empty())
    }
}

/// Finishes several tallies of one test: prints every report, then fails
/// the test with the reports of those that have failing cases.
#[track_caller]
pub fn finish_all(tallies: impl IntoIterator<Item = Tally>) {
    let failed: Vec<String> = tallies
        .into_iter()
        .map(Tally::report)
        .filter_map(|(report, failed)| failed.then_some(report))
        .collect();
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}

/// `cases` values drawn from `strategy` with a fixed seed, so that a test's
/// counts are the same on every run.
pub fn draw<S: proptest::strategy::Strategy>(cases: u32, strategy: S) -> Vec<S::Value> {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
    let config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner = TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha));
    (0..cases)
        .map(|_| {
            strategy
                .new_tree(&mut runner)
                .expect("the strategy produces values")
                .current()
        })
        .collect()
}

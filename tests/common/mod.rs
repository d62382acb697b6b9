//! Helpers the test suites share.
#![allow(dead_code)] // each suite uses part of it

pub mod leak_oracle;

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
        Action::Send(_) => "Send",
        Action::Sign(_) => "Sign",
        Action::Wait(_) => "Wait",
        Action::Done(_) => "Done",
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

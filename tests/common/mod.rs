//! Helpers the hostile-response suites share.

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

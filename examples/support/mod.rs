//! What the examples and the loopback tests share: a tiny HTTP/1.1 server on
//! 127.0.0.1 that hands each request to a pure `http::Request -> http::Response`
//! function (the crate's fakes), a virtual clock that the flows and the fakes
//! read alike, and what the real-service examples share. The transports are
//! the crate's adapters (`tokendance::transport`, features `ureq` and
//! `reqwest`): no glue here.
//!
//! This is test plumbing, not part of the library: the library never does I/O.
#![allow(dead_code)]

use std::io::{self, BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use tokendance::Timestamp;

/// The largest request head or body the server reads.
const MAX_REQUEST: usize = 1 << 20;

/// A request handler: one pure function from request to response.
pub type Handler = dyn Fn(http::Request<Vec<u8>>) -> http::Response<Vec<u8>> + Send + Sync;

/// An HTTP/1.1 server on 127.0.0.1 (a free port), stopped when dropped.
pub struct LoopbackServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl LoopbackServer {
    /// Starts serving `handler` on a free loopback port.
    pub fn start(handler: Arc<Handler>) -> io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let stop_flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stop_flag.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let handler = Arc::clone(&handler);
                // One thread per connection, so a slow client never blocks another.
                std::thread::spawn(move || {
                    let _ = serve(stream, &*handler);
                });
            }
        });
        Ok(LoopbackServer {
            addr,
            stop,
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:{port}`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for LoopbackServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Serves one request on `stream`, then closes it.
fn serve(stream: TcpStream, handler: &Handler) -> io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let response = match read_request(&mut reader) {
        Ok(request) => handler(request),
        Err(_) => {
            let mut bad = http::Response::new(b"bad request".to_vec());
            *bad.status_mut() = http::StatusCode::BAD_REQUEST;
            bad
        }
    };
    write_response(stream, &response)
}

fn read_request(reader: &mut impl BufRead) -> io::Result<http::Request<Vec<u8>>> {
    let invalid = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_owned());
    let mut head_len = 0usize;
    let mut line = String::new();
    reader.read_line(&mut line)?;
    head_len += line.len();
    let mut parts = line.trim_end().splitn(3, ' ');
    let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
        return Err(invalid("request line"));
    };
    let mut builder = http::Request::builder().method(method).uri(target);
    let mut content_length = 0usize;
    loop {
        let mut header = String::new();
        reader.read_line(&mut header)?;
        head_len += header.len();
        if head_len > MAX_REQUEST {
            return Err(invalid("head too large"));
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let Some((name, value)) = header.split_once(':') else {
            return Err(invalid("header line"));
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            content_length = value.parse().map_err(|_| invalid("content-length"))?;
        }
        builder = builder.header(name, value);
    }
    if content_length > MAX_REQUEST {
        return Err(invalid("body too large"));
    }
    let mut body = vec![0; content_length];
    reader.read_exact(&mut body)?;
    builder.body(body).map_err(|_| invalid("request"))
}

fn write_response(mut stream: TcpStream, response: &http::Response<Vec<u8>>) -> io::Result<()> {
    let status = response.status();
    let mut head = format!(
        "HTTP/1.1 {} {}\r\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or("Unknown")
    );
    for (name, value) in response.headers() {
        head.push_str(name.as_str());
        head.push_str(": ");
        head.push_str(&String::from_utf8_lossy(value.as_bytes()));
        head.push_str("\r\n");
    }
    head.push_str(&format!(
        "content-length: {}\r\nconnection: close\r\n\r\n",
        response.body().len()
    ));
    stream.write_all(head.as_bytes())?;
    stream.write_all(response.body())?;
    stream.flush()
}

/// A clock the flows and the fakes share, moved by hand so that a tour can
/// show an hour of token life in a second.
#[derive(Clone, Default)]
pub struct VirtualClock(Arc<AtomicU64>);

impl VirtualClock {
    /// A clock showing `start`.
    pub fn starting_at(start: Timestamp) -> Self {
        VirtualClock(Arc::new(AtomicU64::new(start.as_unix_millis())))
    }

    /// The time it shows.
    pub fn now(&self) -> Timestamp {
        Timestamp::from_unix_millis(self.0.load(Ordering::SeqCst))
    }

    /// Moves it forward by `d`.
    pub fn advance(&self, d: Duration) {
        let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        self.0.fetch_add(ms, Ordering::SeqCst);
    }

    /// Sets it to `t` if `t` is later (a `Wait` action's deadline).
    pub fn advance_to(&self, t: Timestamp) {
        self.0.fetch_max(t.as_unix_millis(), Ordering::SeqCst);
    }
}

/// An environment variable the real-service examples need, or an error that
/// names it and says what to put there.
pub fn required_env(name: &str, what: &str) -> Result<String, String> {
    match std::env::var(name) {
        Ok(value) if !value.trim().is_empty() => Ok(value),
        _ => Err(format!("set {name} to {what}")),
    }
}

/// Drives a flow against a real service with `send` (the `ureq` adapter's),
/// the system clock, real sleeps.
pub fn drive_for_real<F: tokendance::Flow, TE>(
    flow: F,
    send: impl FnMut(http::Request<Vec<u8>>) -> Result<http::Response<Vec<u8>>, TE>,
) -> Result<F::Output, tokendance::drive::DriveError<TE, tokendance::drive::NoSigner>> {
    let now = || Timestamp::from_system_time(std::time::SystemTime::now());
    tokendance::drive::drive(flow, now, send, tokendance::drive::no_signer, |until| {
        std::thread::sleep(until.saturating_duration_since(now()))
    })
}

/// "expires in N s" or "no expiry given", for a token obtained now.
pub fn describe_expiry(expires_at: Option<Timestamp>) -> String {
    let now = Timestamp::from_system_time(std::time::SystemTime::now());
    match expires_at {
        Some(t) => format!("expires in {} s", t.saturating_duration_since(now).as_secs()),
        None => "no expiry given".to_owned(),
    }
}

/// Prints an example's error with `Display` (not `Debug`) and sets the exit code.
pub fn exit_with(result: Result<(), Box<dyn std::error::Error>>) -> std::process::ExitCode {
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

//! What every test against the real server shares.
#![allow(dead_code)] // each test file uses its own part

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokendance_store_testkit::{free_port, fresh_prefix};

/// The server ci.sh started. Unset fails the test, never skips it: a
/// store test that passes without its store tests nothing.
pub fn url() -> String {
    match std::env::var("TOKENDANCE_REDIS_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => panic!(
            "TOKENDANCE_REDIS_URL is not set: these tests need a real Redis. Install the Debian \
             package redis-server (apt-get install -y redis-server) and run stores/redis/ci.sh, \
             which starts one on a free port and sets the variable"
        ),
    }
}

pub const TIMEOUT: Duration = Duration::from_secs(2);

/// A runtime for one thread's async calls.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// A redis-server of the test's own, to stop and start again: ci.sh's
/// must keep running for the other tests.
pub struct OwnServer {
    pub port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

impl OwnServer {
    pub fn start() -> Self {
        let dir = std::env::temp_dir().join(fresh_prefix("redis-dir"));
        std::fs::create_dir_all(&dir).expect("a data directory");
        let mut server = OwnServer {
            port: free_port(),
            dir,
            child: None,
        };
        server.restart();
        server
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts the server (again) on the same port, and waits until it answers.
    pub fn restart(&mut self) {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .args(["--daemonize", "no", "--dir"])
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run redis-server ({e}): install the Debian package redis-server \
                     (apt-get install -y redis-server) or run stores/redis/ci.sh"
                )
            });
        self.child = Some(child);
        let client = redis::Client::open(self.url()).expect("a client");
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if let Ok(mut con) = client.get_connection_with_timeout(Duration::from_millis(200)) {
                if redis::cmd("PING").query::<String>(&mut con).is_ok() {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "the test's own redis-server did not answer on port {} within 10 s",
            self.port
        );
    }

    /// Kills the server by its pid and waits for it to be gone.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for OwnServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

//! What the store's tests share: a fresh scratch directory per test, and
//! the runtime the async tests drive the store on.
#![allow(dead_code)] // each test binary uses its own part

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tokendance::fleet::{StoreAnswer, StoreError, StoreOp};
use tokendance_store_file::FileStore;
use tokendance_store_testkit::fresh_prefix;

/// A directory of its own for one test, removed when dropped. Its name
/// (`fresh_prefix`: process, clock, counter) is also the test's key
/// prefix: fresh per run.
pub struct Scratch {
    pub root: PathBuf,
    pub prefix: String,
}

impl Scratch {
    pub fn new(test: &str) -> Self {
        let prefix = fresh_prefix(test);
        let root = std::env::temp_dir().join(format!("tokendance-store-file-{prefix}"));
        std::fs::create_dir_all(&root).expect("a scratch directory");
        Scratch { root, prefix }
    }

    /// The store's directory inside the scratch root (not created: the
    /// store creates it).
    pub fn store_dir(&self) -> PathBuf {
        self.root.join("store")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// A runtime with only tokio's blocking pool and no timer: what
/// `AsyncFileStore` promises to need.
#[cfg(feature = "tokio")]
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a tokio runtime")
}

/// The lock file of `key`, from the documented layout.
pub fn lock_path(record: &Path) -> PathBuf {
    record.with_extension("lock")
}

/// Every file under `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).expect("readable") {
            let path = entry.expect("an entry").path();
            if path.is_dir() {
                todo.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// What the store answers to `op`, and how long it took: blocking, then
/// (with the feature `tokio`) through `AsyncFileStore`.
pub fn answers(store: &FileStore, op: &StoreOp) -> Vec<(Result<StoreAnswer, StoreError>, Duration)> {
    let timed = |apply: &dyn Fn() -> Result<StoreAnswer, StoreError>| {
        let started = Instant::now();
        let answer = apply();
        (answer, started.elapsed())
    };
    #[allow(unused_mut)]
    let mut out = vec![timed(&|| store.apply(op))];
    #[cfg(feature = "tokio")]
    {
        let (rt, store) = (
            runtime(),
            tokendance_store_file::AsyncFileStore::from(store.clone()),
        );
        out.push(timed(&|| rt.block_on(store.apply(op))));
    }
    out
}

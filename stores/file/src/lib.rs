//! A file store for [`tokendance::fleet`]: carries out a
//! [`FleetKeeper`](tokendance::fleet::FleetKeeper)'s store operations.
//!
//! For processes on **one machine** that share a token and no server: a
//! directory holds one file per key. Every operation locks the key's lock
//! file (an OS lock, released by the kernel when a process dies), then
//! reads, compares the version and writes; a write goes to a temporary
//! file that is flushed to disk and renamed over the record, so a crash in
//! the middle of a write never leaves half a record.
//!
//! ```
//! use tokendance::fleet::{FleetAction, FleetKeeper, FleetSettings};
//! use tokendance::Timestamp;
//! use tokendance_store_file::FileStore;
//!
//! # let dir = std::env::temp_dir().join(format!("tokendance-doc-{}", std::process::id()));
//! let store = FileStore::open(&dir)?;
//! let mut keeper = FleetKeeper::new("gam:partner-app", "worker-1", FleetSettings::default())?;
//! let now = Timestamp::from_unix_secs(1_000);
//! // No token yet: read the record, then claim the lease.
//! let FleetAction::Store(read) = keeper.poll(now) else { unreachable!() };
//! keeper.store_answered(now, read.id(), store.apply(&read))?;
//! let FleetAction::Store(claim) = keeper.poll(now) else { unreachable!() };
//! keeper.store_answered(now, claim.id(), store.apply(&claim))?;
//! assert!(matches!(keeper.poll(now), FleetAction::Renew(_)));
//! # std::fs::remove_dir_all(&dir).ok();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Layout
//!
//! A key's files are named by the lower-case hex of its bytes: no key can
//! name a path outside the directory (`../a` is `2e2e2f61`), and keys that
//! differ only in case stay apart on file systems that fold case. Names are
//! cut into directories of [`SEGMENT`] hex digits, so the longest key
//! (256 bytes, 512 digits) stays under the 255-byte limit on a file name:
//!
//! * `<hex>.rec`: the record: a header line
//!   `tokendance-file-store 1 <version> <length>\n`, then exactly `length`
//!   bytes of the record's JSON, as the keeper wrote it;
//! * `<hex>.lock`: the key's lock file, empty, never removed (removing it
//!   would let two processes lock two different files of one name);
//! * `<hex>.tmp`: the write in progress, renamed over `<hex>.rec` once it is
//!   on disk; only the lock holder writes it, so one name is enough, and a
//!   crashed writer's leftover is overwritten by the next write.
//!
//! # Limits
//!
//! Local file systems only: the lock is `flock(2)` (`LockFileEx` on
//! Windows), which network file systems may not honour across machines.
//! Waiting for the lock is bounded by the timeout; reading or writing a
//! record of at most 64 KiB on a local disk, once locked, is not
//! interruptible and is not counted against it.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tokendance::fleet::{StoreAnswer, StoreError, StoreOp, StoreOpKind, MAX_NAME_BYTES, MAX_RECORD_BYTES};

#[cfg(feature = "tokio")]
mod tokio_store;
#[cfg(feature = "tokio")]
pub use tokio_store::AsyncFileStore;

/// How long an operation waits for a key's lock unless told otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

/// Hex digits per file or directory name (of a key's 512 at most).
pub const SEGMENT: usize = 200;

/// What every record file starts with, before its version and length.
const MAGIC: &str = "tokendance-file-store 1 ";

/// The longest header: the magic, two `u64`s, a space and the newline.
const MAX_HEADER: usize = MAGIC.len() + 20 + 1 + 20 + 1;

/// A directory of token records shared by the processes of one machine.
///
/// Cheap to clone, and shareable between threads (`apply` takes `&self`):
/// all state is on disk, and the OS lock keeps threads of one process apart
/// as it does processes, because each operation opens the lock file anew.
#[derive(Clone, Debug)]
pub struct FileStore {
    dir: PathBuf,
    timeout: Duration,
}

impl FileStore {
    /// A store in `dir`, created if missing (with its parents), waiting at
    /// most [`DEFAULT_TIMEOUT`] for a key's lock. The path is made absolute
    /// here, so a later change of working directory does not move the store.
    ///
    /// Fails with [`StoreError::Unavailable`] if `dir` cannot be created or
    /// is not a directory.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self, StoreError> {
        let dir = dir.as_ref();
        fs::create_dir_all(dir).map_err(|e| unavailable("cannot create the store directory", dir, &e))?;
        let dir =
            fs::canonicalize(dir).map_err(|e| unavailable("cannot resolve the store directory", dir, &e))?;
        Ok(FileStore {
            dir,
            timeout: DEFAULT_TIMEOUT,
        })
    }

    /// The same store, waiting at most `timeout` for a key's lock before it
    /// answers [`StoreError::Timeout`]. Keep it under the keeper's
    /// [`store_timeout`](tokendance::fleet::FleetSettings::store_timeout).
    ///
    /// ```
    /// # let dir = std::env::temp_dir().join(format!("tokendance-doc-t-{}", std::process::id()));
    /// use std::time::Duration;
    /// let store = tokendance_store_file::FileStore::open(&dir)?.with_timeout(Duration::from_millis(500));
    /// assert_eq!(store.timeout(), Duration::from_millis(500));
    /// # std::fs::remove_dir_all(&dir).ok();
    /// # Ok::<(), tokendance::fleet::StoreError>(())
    /// ```
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The store's directory (absolute).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// How long an operation waits for a key's lock.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The file that holds the record of `key` (see the [layout](crate#layout)),
    /// or `None` for a key no keeper makes (empty or over 256 bytes).
    pub fn record_path(&self, key: &str) -> Option<PathBuf> {
        self.paths(key).map(|p| p.record)
    }

    /// Carries out `op`: a read answers [`StoreAnswer::Found`]; a swap
    /// writes if the stored version is still the expected one
    /// ([`StoreAnswer::Swapped`]) or leaves the record as it is
    /// ([`StoreAnswer::Conflict`]), exactly as
    /// [`MemoryStore::apply`](tokendance::fleet::MemoryStore::apply) does.
    ///
    /// Errors: [`StoreError::Timeout`] when the key stayed locked for the
    /// whole timeout; [`StoreError::Unavailable`] when the directory cannot
    /// be read or written, for a key no keeper makes, and for a record over
    /// [`MAX_RECORD_BYTES`] (nobody could read it back);
    /// [`StoreError::Corrupt`] when the record file is not one this store
    /// writes. A swap that failed may still have been written (the keeper
    /// reads before it trusts either outcome). Error texts name paths and
    /// I/O errors, never the record's bytes.
    pub fn apply(&self, op: &StoreOp) -> Result<StoreAnswer, StoreError> {
        let Some(paths) = self.paths(op.key()) else {
            return Err(StoreError::Unavailable(format!(
                "a key of {} bytes is not a fleet key (1 to {MAX_NAME_BYTES})",
                op.key().len()
            )));
        };
        if let StoreOpKind::Swap { bytes, .. } = op.kind() {
            // Refused before anything is locked or written: a record no
            // keeper can read back would stop the whole fleet.
            if bytes.len() > MAX_RECORD_BYTES {
                return Err(StoreError::Unavailable(format!(
                    "a record of {} bytes is more than {MAX_RECORD_BYTES}: not written",
                    bytes.len()
                )));
            }
        }
        let _lock = self.lock(&paths)?;
        let current = read_record(&paths.record)?;
        match op.kind() {
            StoreOpKind::Read => Ok(StoreAnswer::Found(current.map(|(_, bytes)| bytes))),
            StoreOpKind::Swap {
                expected,
                version,
                bytes,
            } => {
                if current.map(|(v, _)| v) != *expected {
                    return Ok(StoreAnswer::Conflict);
                }
                write_record(&paths, *version, bytes)?;
                Ok(StoreAnswer::Swapped)
            }
        }
        // `_lock` is dropped here, after the rename: closing the file
        // releases the lock.
    }

    /// The files of `key`, or `None` for a key out of bounds.
    fn paths(&self, key: &str) -> Option<KeyPaths> {
        if key.is_empty() || key.len() > MAX_NAME_BYTES {
            return None;
        }
        let hex: String = key.bytes().map(|b| format!("{b:02x}")).collect();
        let mut dir = self.dir.clone();
        let mut rest = hex.as_str();
        // Every directory level is exactly SEGMENT digits and the last
        // name is 1..=SEGMENT digits with a suffix, so the path spells the
        // hex back: the mapping is injective.
        while rest.len() > SEGMENT {
            let (head, tail) = rest.split_at(SEGMENT);
            dir.push(head);
            rest = tail;
        }
        Some(KeyPaths {
            record: dir.join(format!("{rest}.rec")),
            lock: dir.join(format!("{rest}.lock")),
            temp: dir.join(format!("{rest}.tmp")),
            dir,
        })
    }

    /// Takes the key's lock, polling `try_lock` so that the wait ends at
    /// the timeout (a blocking `lock` would wait for ever on a stuck holder).
    fn lock(&self, paths: &KeyPaths) -> Result<File, StoreError> {
        if paths.dir != self.dir {
            // Only keys over SEGMENT / 2 bytes live in subdirectories; the
            // store's own directory must already exist (it is not
            // recreated if removed: that would hide a lost store).
            if !self.dir.is_dir() {
                return Err(unavailable(
                    "the store directory is missing",
                    &self.dir,
                    &not_found(),
                ));
            }
            fs::create_dir_all(&paths.dir).map_err(|e| unavailable("cannot create", &paths.dir, &e))?;
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&paths.lock)
            .map_err(|e| unavailable("cannot open the lock file", &paths.lock, &e))?;
        let deadline = Instant::now() + self.timeout;
        let mut pause = Duration::from_micros(100);
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(file),
                Err(fs::TryLockError::WouldBlock) => {}
                Err(fs::TryLockError::Error(e)) => {
                    return Err(unavailable("cannot lock", &paths.lock, &e));
                }
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(StoreError::Timeout);
            }
            std::thread::sleep(pause.min(deadline - now));
            // Short at first (a holder keeps the lock for one small write),
            // then a few milliseconds so that many waiters do not spin.
            pause = (pause * 2).min(Duration::from_millis(5));
        }
    }
}

/// Where one key's files are.
struct KeyPaths {
    dir: PathBuf,
    record: PathBuf,
    lock: PathBuf,
    temp: PathBuf,
}

/// The version and bytes stored at `path`, or `None` if there is no record.
fn read_record(path: &Path) -> Result<Option<(u64, Vec<u8>)>, StoreError> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(unavailable("cannot open", path, &e)),
    };
    let mut content = Vec::new();
    // One byte past the largest record file: enough to tell it is too long
    // without reading a huge file that is not ours.
    let limit = (MAX_HEADER + MAX_RECORD_BYTES + 1) as u64;
    file.take(limit)
        .read_to_end(&mut content)
        .map_err(|e| unavailable("cannot read", path, &e))?;
    parse_record(&content)
        .map(Some)
        .map_err(|why| StoreError::Corrupt(format!("{}: {why}", path.display())))
}

/// Splits a record file into its version and bytes.
fn parse_record(content: &[u8]) -> Result<(u64, Vec<u8>), &'static str> {
    let Some(newline) = content.iter().take(MAX_HEADER).position(|&b| b == b'\n') else {
        return Err("no header line");
    };
    let (header, body) = (&content[..newline], &content[newline + 1..]);
    let fields = header
        .strip_prefix(MAGIC.as_bytes())
        .ok_or("not a tokendance file store record")?;
    let mut fields = fields.split(|&b| b == b' ');
    let (Some(version), Some(len), None) = (fields.next(), fields.next(), fields.next()) else {
        return Err("the header is not a version and a length");
    };
    let version = decimal(version).ok_or("the version is not a number")?;
    let len = decimal(len).ok_or("the length is not a number")?;
    if len > MAX_RECORD_BYTES as u64 {
        return Err("the record is longer than the largest a keeper reads");
    }
    if body.len() as u64 != len {
        return Err("the record is not as long as its header says");
    }
    Ok((version, body.to_vec()))
}

/// A `u64` in plain decimal digits (no sign, no spaces).
fn decimal(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// Writes the record through the temporary file: flushed to disk before
/// the rename, so the record file is always the old one or the new one.
fn write_record(paths: &KeyPaths, version: u64, bytes: &[u8]) -> Result<(), StoreError> {
    let written = (|| {
        let mut temp = File::create(&paths.temp)?;
        let mut content = format!("{MAGIC}{version} {}\n", bytes.len()).into_bytes();
        content.extend_from_slice(bytes);
        temp.write_all(&content)?;
        temp.sync_all()
    })();
    if let Err(e) = written {
        // Best effort: the next write truncates it anyway.
        let _ = fs::remove_file(&paths.temp);
        return Err(unavailable("cannot write", &paths.temp, &e));
    }
    fs::rename(&paths.temp, &paths.record)
        .map_err(|e| unavailable("cannot rename over", &paths.record, &e))?;
    sync_dir(&paths.dir)
}

/// Makes the rename itself durable (a power cut after it must not bring
/// the old record back while the new one's lease was already handed out).
#[cfg(unix)]
fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| unavailable("cannot flush", dir, &e))
}

/// Windows cannot open a directory as a file; its rename is flushed with
/// the file system's journal.
#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> Result<(), StoreError> {
    Ok(())
}

fn not_found() -> io::Error {
    io::Error::from(io::ErrorKind::NotFound)
}

/// An I/O failure: what was done, on which path, and the OS's reason.
fn unavailable(what: &str, path: &Path, error: &io::Error) -> StoreError {
    StoreError::Unavailable(format!("{what} {}: {error}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_read_strictly() {
        let good = b"tokendance-file-store 1 7 3\nabc";
        assert_eq!(parse_record(good), Ok((7, b"abc".to_vec())));
        for bad in [
            &b""[..],
            b"tokendance-file-store 1 7 3",
            b"tokendance-file-store 2 7 3\nabc",
            b"tokendance-file-store 1 +7 3\nabc",
            b"tokendance-file-store 1 7 3 \nabc",
            b"tokendance-file-store 1 7 4\nabc",
            b"tokendance-file-store 1 7 2\nabc",
            b"tokendance-file-store 1 7\nabc",
            b"tokendance-file-store 1 18446744073709551616 3\nabc",
            b"tokendance-file-store 1 7 65537\nabc",
            b"{\"format\":1}",
        ] {
            assert!(parse_record(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn keys_map_to_names_inside_the_directory() {
        let store = FileStore {
            dir: PathBuf::from("/store"),
            timeout: DEFAULT_TIMEOUT,
        };
        let path = |key: &str| store.record_path(key).map(|p| p.display().to_string());
        assert_eq!(path("../a").as_deref(), Some("/store/2e2e2f61.rec"));
        assert_eq!(path("A").as_deref(), Some("/store/41.rec"));
        assert_eq!(path(""), None);
        assert_eq!(path(&"x".repeat(MAX_NAME_BYTES + 1)), None);
        let longest = store.paths(&"x".repeat(MAX_NAME_BYTES)).map(|p| p.record);
        let longest = longest.unwrap_or_default();
        let names: Vec<_> = longest
            .strip_prefix("/store")
            .unwrap_or(&longest)
            .iter()
            .collect();
        assert_eq!(names.len(), 3, "{longest:?}");
        assert!(names.iter().all(|n| n.len() <= SEGMENT + ".lock".len()));
    }
}

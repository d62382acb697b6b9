//! A redis store for [`tokendance::fleet`]: carries out a
//! [`FleetKeeper`](tokendance::fleet::FleetKeeper)'s store operations.
//!
//! [`RedisStore`] is blocking, [`AsyncRedisStore`] its tokio twin (feature
//! `tokio`, on by default). Both answer every
//! [`StoreOp`](tokendance::fleet::StoreOp) exactly as
//! [`MemoryStore::apply`](tokendance::fleet::MemoryStore::apply) does, for
//! any number of processes and machines on one Redis server:
//!
//! * each record is a hash at `namespace + key` with the fields `version`
//!   (decimal) and `record` (the record's JSON, byte for byte);
//! * a compare-and-set is one Lua script, which Redis runs with no other
//!   command in between: it compares `version` with the expected one
//!   (absent: no record) and writes both fields only if they match;
//! * keys and values reach the scripts only as `KEYS[1]` and `ARGV[]`;
//! * every operation ends within the timeout (default 2 s), or with
//!   [`StoreError::Timeout`]; a connection that failed is never used
//!   again, so a server that restarts is used again at the next operation;
//! * error texts and `Debug` never show the URL's password or a record.
//!
//! ```no_run
//! use std::time::Duration;
//! use tokendance::fleet::StoreOp;
//! use tokendance_store_redis::{RedisConfig, RedisStore};
//!
//! let config = RedisConfig::new("redis://:secret@redis.internal:6379/2")
//!     .namespace("billing:tokens:")
//!     .timeout(Duration::from_millis(500));
//! let mut store = RedisStore::new(&config)?;
//! let answer = store.apply(&StoreOp::read(1, "crpt:suz:conn-1"))?;
//! # Ok::<(), tokendance::fleet::StoreError>(())
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

use std::fmt;
use std::time::Duration;

use tokendance::fleet::StoreError;

#[cfg(feature = "tokio")]
mod asynchronous;
mod blocking;
mod wire;

#[cfg(feature = "tokio")]
pub use asynchronous::AsyncRedisStore;
pub use blocking::RedisStore;

/// The prefix of every key unless [`RedisConfig::namespace`] says otherwise.
pub const DEFAULT_NAMESPACE: &str = "tokendance:fleet:";

/// How long an operation may take unless [`RedisConfig::timeout`] says
/// otherwise: well under [`FleetSettings`](tokendance::fleet::FleetSettings)'
/// default store timeout, and long enough for a loaded server.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

/// Where and how a store reaches Redis.
///
/// ```
/// use std::time::Duration;
/// use tokendance_store_redis::{RedisConfig, DEFAULT_NAMESPACE};
///
/// let config = RedisConfig::new("redis://:pw@127.0.0.1:6379").timeout(Duration::from_secs(1));
/// assert_eq!(config.namespace_prefix(), DEFAULT_NAMESPACE);
/// assert!(!format!("{config:?}").contains("pw"));
/// ```
#[derive(Clone)]
pub struct RedisConfig {
    url: String,
    namespace: String,
    timeout: Duration,
}

impl RedisConfig {
    /// The server at `url`: `redis://[[user]:password@]host[:port][/db]`,
    /// or `redis+unix:///path/to/socket[?db=N&pass=...]`. The default
    /// namespace and timeout.
    pub fn new(url: impl Into<String>) -> Self {
        RedisConfig {
            url: url.into(),
            namespace: DEFAULT_NAMESPACE.to_owned(),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// Puts every key under `namespace` (the key `crpt:x` is stored at
    /// `namespace + "crpt:x"`), to share a server with other data. Two
    /// fleets whose namespaces differ never see each other's records,
    /// unless one namespace plus a key spells the other's key: end
    /// namespaces with a separator no key begins with, as the default does.
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = namespace.into();
        self
    }

    /// Bounds each operation (connecting included) by `timeout`, at least
    /// 1 ms.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The namespace keys are put under.
    pub fn namespace_prefix(&self) -> &str {
        &self.namespace
    }

    /// The bound on each operation.
    pub fn timeout_bound(&self) -> Duration {
        self.timeout
    }

    fn target(&self) -> Result<wire::Target, StoreError> {
        wire::Target::new(&self.url, &self.namespace, self.timeout)
    }
}

impl fmt::Debug for RedisConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The URL may hold a password, and is not parsed yet to cut it out.
        f.debug_struct("RedisConfig")
            .field("url", &"<redacted>")
            .field("namespace", &self.namespace)
            .field("timeout", &self.timeout)
            .finish()
    }
}

//! The blocking store, on one redis connection.

use std::fmt;
use std::time::{Duration, Instant};

use redis::{Cmd, Connection, ConnectionLike, RedisResult, Value};
use tokendance::fleet::{StoreAnswer, StoreError, StoreOp};

use crate::wire::{self, Target};
use crate::RedisConfig;

/// A blocking Redis store for [`FleetKeeper`](tokendance::fleet::FleetKeeper)s,
/// on one connection of its own, made on first use and again after any
/// failure (so a server that restarts is used again by the next operation).
///
/// Every [`apply`](Self::apply) ends within the configured timeout, connect
/// and script round trips together (name resolution aside: give an IP
/// address where that matters).
///
/// ```no_run
/// use std::time::Duration;
/// use tokendance::fleet::{FleetAction, FleetKeeper, FleetSettings};
/// use tokendance::Timestamp;
/// use tokendance_store_redis::RedisStore;
///
/// let mut store = RedisStore::open("redis://127.0.0.1:6379", Duration::from_secs(2))?;
/// let mut keeper = FleetKeeper::new("crpt:suz:conn-1", "pod-a", FleetSettings::default())?;
/// let now = Timestamp::from_unix_secs(1_000);
/// if let FleetAction::Store(op) = keeper.poll(now) {
///     let answer = store.apply(&op); // Err(StoreError) if the store is down
///     keeper.store_answered(now, op.id(), answer)?;
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct RedisStore {
    target: Target,
    connection: Option<Connection>,
}

impl RedisStore {
    /// A store on the server at `url` (`redis://[[user]:password@]host[:port][/db]`
    /// or `redis+unix:///path?db=N&pass=...`), with the default namespace
    /// and `timeout` for each operation. Does not connect yet: the first
    /// [`apply`](Self::apply) does.
    ///
    /// Fails with [`StoreError::Unavailable`] only for a URL that is not a
    /// Redis URL (`rediss://` included: this crate is built without TLS).
    pub fn open(url: &str, timeout: Duration) -> Result<Self, StoreError> {
        Self::new(&RedisConfig::new(url).timeout(timeout))
    }

    /// A store as `config` says. Does not connect yet.
    pub fn new(config: &RedisConfig) -> Result<Self, StoreError> {
        Ok(RedisStore {
            target: config.target()?,
            connection: None,
        })
    }

    /// Carries out `op` atomically, answering as
    /// [`MemoryStore::apply`](tokendance::fleet::MemoryStore::apply) does.
    pub fn apply(&mut self, op: &StoreOp) -> Result<StoreAnswer, StoreError> {
        let deadline = Instant::now() + self.target.timeout;
        match self.run(op, deadline) {
            Ok(reply) => wire::answer(op, reply),
            Err(err) => {
                // After a timeout a late reply may still be on its way and
                // would be read as the next command's: never reuse the
                // connection after any failure.
                self.connection = None;
                Err(self.target.error(&err))
            }
        }
    }

    fn run(&mut self, op: &StoreOp, deadline: Instant) -> RedisResult<Value> {
        let connection = match &mut self.connection {
            Some(connection) => connection,
            None => {
                // redis bounds the TCP connect by the timeout it is given,
                // then each handshake reply by what is left of it: split
                // what is left so the whole stays within the deadline.
                let left = deadline.saturating_duration_since(Instant::now());
                let share = left / self.target.handshake_replies.max(1);
                if share.is_zero() {
                    return Err(Target::timed_out());
                }
                let made = self.target.client.get_connection_with_timeout(share)?;
                self.connection.insert(made)
            }
        };
        wire::invocation(&self.target.namespace, op).invoke(&mut Deadlined { connection, deadline })
    }
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("target", &self.target)
            .field("connected", &self.connection.is_some())
            .finish()
    }
}

/// A connection whose every round trip gets only what is left until the
/// deadline: a script call may take up to three (EVALSHA, and after a
/// server restart SCRIPT LOAD and EVALSHA again), and together they must
/// still end in time.
struct Deadlined<'a> {
    connection: &'a mut Connection,
    deadline: Instant,
}

impl Deadlined<'_> {
    fn arm(&mut self) -> RedisResult<()> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Target::timed_out());
        }
        self.connection.set_read_timeout(Some(left))?;
        self.connection.set_write_timeout(Some(left))
    }
}

impl ConnectionLike for Deadlined<'_> {
    fn req_packed_command(&mut self, cmd: &[u8]) -> RedisResult<Value> {
        self.arm()?;
        self.connection.req_packed_command(cmd)
    }

    fn req_packed_commands(&mut self, cmd: &[u8], offset: usize, count: usize) -> RedisResult<Vec<Value>> {
        self.arm()?;
        self.connection.req_packed_commands(cmd, offset, count)
    }

    fn req_command(&mut self, cmd: &Cmd) -> RedisResult<Value> {
        self.arm()?;
        self.connection.req_command(cmd)
    }

    fn get_db(&self) -> i64 {
        self.connection.get_db()
    }

    fn check_connection(&mut self) -> bool {
        self.connection.check_connection()
    }

    fn is_open(&self) -> bool {
        self.connection.is_open()
    }
}

//! The async store, on redis's multiplexed tokio connection.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, RedisResult, Value};
use tokendance::fleet::{StoreAnswer, StoreError, StoreOp};
use tokio::time::{timeout_at, Instant};

use crate::wire::{self, Target};
use crate::RedisConfig;

/// The async twin of [`RedisStore`](crate::RedisStore), for tokio: shared
/// by reference (put it in an `Arc`), its operations run concurrently on
/// one multiplexed connection, made on first use and again after any
/// failure.
///
/// Every [`apply`](Self::apply) ends within the configured timeout, connect
/// included. It must run inside a tokio runtime with its time driver
/// (`enable_time`, or `enable_all`).
///
/// ```no_run
/// use std::time::Duration;
/// use tokendance::fleet::{FleetAction, FleetKeeper, FleetSettings};
/// use tokendance::Timestamp;
/// use tokendance_store_redis::AsyncRedisStore;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let store = AsyncRedisStore::open("redis://127.0.0.1:6379", Duration::from_secs(2))?;
/// let mut keeper = FleetKeeper::new("crpt:suz:conn-1", "pod-a", FleetSettings::default())?;
/// let now = Timestamp::from_unix_secs(1_000);
/// if let FleetAction::Store(op) = keeper.poll(now) {
///     let answer = store.apply(&op).await;
///     keeper.store_answered(now, op.id(), answer)?;
/// }
/// # Ok(())
/// # }
/// ```
pub struct AsyncRedisStore {
    target: Target,
    config: AsyncConnectionConfig,
    /// The connection in use, with its generation: a failure forgets the
    /// connection it happened on, not one another task made since.
    connection: Mutex<Option<(u64, MultiplexedConnection)>>,
    generations: AtomicU64,
}

impl AsyncRedisStore {
    /// A store on the server at `url` (as for [`RedisStore::open`](crate::RedisStore::open)),
    /// with the default namespace and `timeout` for each operation. Does
    /// not connect yet: the first [`apply`](Self::apply) does.
    pub fn open(url: &str, timeout: Duration) -> Result<Self, StoreError> {
        Self::new(&RedisConfig::new(url).timeout(timeout))
    }

    /// A store as `config` says. Does not connect yet.
    pub fn new(config: &RedisConfig) -> Result<Self, StoreError> {
        let target = config.target()?;
        // redis's own bounds, so that its driver gives up on a dead server
        // too; apply's deadline is what bounds the whole operation.
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(target.timeout))
            .set_response_timeout(Some(target.timeout));
        Ok(AsyncRedisStore {
            target,
            config,
            connection: Mutex::new(None),
            generations: AtomicU64::new(0),
        })
    }

    /// Carries out `op` atomically, answering as
    /// [`MemoryStore::apply`](tokendance::fleet::MemoryStore::apply) does.
    pub async fn apply(&self, op: &StoreOp) -> Result<StoreAnswer, StoreError> {
        let deadline = Instant::now() + self.target.timeout;
        let (generation, mut connection) = match timeout_at(deadline, self.connection()).await {
            Ok(Ok(connection)) => connection,
            Ok(Err(err)) => return Err(self.target.error(&err)),
            Err(_) => return Err(StoreError::Timeout),
        };
        let call = wire::invocation(&self.target.namespace, op);
        let reply = timeout_at(deadline, call.invoke_async::<Value>(&mut connection))
            .await
            .unwrap_or_else(|_| Err(Target::timed_out()));
        match reply {
            Ok(reply) => wire::answer(op, reply),
            Err(err) => {
                // A dropped or silent connection stays broken: the next
                // operation connects anew.
                self.forget(generation);
                Err(self.target.error(&err))
            }
        }
    }

    async fn connection(&self) -> RedisResult<(u64, MultiplexedConnection)> {
        let current = self.slot().clone();
        if let Some(current) = current {
            return Ok(current);
        }
        // Connect without holding the lock (it is no async lock); tasks
        // that race here each connect, and the last one's stays.
        let made = self
            .target
            .client
            .get_multiplexed_async_connection_with_config(&self.config)
            .await?;
        let generation = self.generations.fetch_add(1, Ordering::Relaxed);
        *self.slot() = Some((generation, made.clone()));
        Ok((generation, made))
    }

    fn forget(&self, generation: u64) {
        let mut slot = self.slot();
        if slot.as_ref().is_some_and(|(current, _)| *current == generation) {
            *slot = None;
        }
    }

    fn slot(&self) -> std::sync::MutexGuard<'_, Option<(u64, MultiplexedConnection)>> {
        // The lock guards no invariant a panic could break halfway.
        self.connection.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl fmt::Debug for AsyncRedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncRedisStore")
            .field("target", &self.target)
            .field("connected", &self.slot().is_some())
            .finish()
    }
}

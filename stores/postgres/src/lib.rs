//! A PostgreSQL store for [`tokendance::fleet`]: carries out a
//! [`FleetKeeper`](tokendance::fleet::FleetKeeper)'s store operations on one
//! table, [`TABLE`], a row per key.
//!
//! * [`PostgresStore`] blocks (it drives its connection on a small runtime
//!   of its own); [`AsyncPostgresStore`] is its twin for Tokio, shareable
//!   between tasks.
//! * Compare-and-set is one statement, so PostgreSQL's row locks make it
//!   atomic: `UPDATE … WHERE key = $1 AND version = $2` from a version, and
//!   `INSERT … ON CONFLICT (key) DO NOTHING` for a new record; the row count
//!   says [`Swapped`](StoreAnswer::Swapped) or
//!   [`Conflict`](StoreAnswer::Conflict). Keys and records only ever travel
//!   as parameters.
//! * Every operation, connecting included, ends within the store's timeout
//!   ([`DEFAULT_TIMEOUT`] unless you say otherwise); the server is told the
//!   same as its `statement_timeout`, so it gives up too.
//! * A connection that broke is dropped and opened again at the next
//!   operation, so the store works again once the server is back.
//! * Errors and `Debug` never show the password or a record's bytes.
//!
//! The table is created by [`MIGRATION`] (run it with your migration tool,
//! or call [`PostgresStore::migrate`] at start-up).
//!
//! ```no_run
//! use tokendance::fleet::{FleetAction, FleetKeeper, FleetSettings};
//! use tokendance::Timestamp;
//! use tokendance_store_postgres::{PostgresStore, DEFAULT_TIMEOUT};
//!
//! let mut store = PostgresStore::new("postgres://app@db.internal/app", DEFAULT_TIMEOUT)?;
//! store.migrate()?;
//! let mut keeper = FleetKeeper::new("gam:partner-app", "worker-1", FleetSettings::default())?;
//! let now = Timestamp::from_unix_secs(1_000);
//! if let FleetAction::Store(op) = keeper.poll(now) {
//!     // A store error is an answer too: the keeper backs off.
//!     keeper.store_answered(now, op.id(), store.apply(&op))?;
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokendance::fleet::{StoreAnswer, StoreError, StoreOp, StoreOpKind, MAX_RECORD_BYTES};
use tokio::sync::Mutex;
use tokio::time::{timeout_at, Instant};
use tokio_postgres::config::Host;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::Type;
use tokio_postgres::{Client, NoTls};

/// The connection settings [`PostgresStore::with_config`] and
/// [`AsyncPostgresStore::with_config`] take (re-exported so that yours is
/// of the same version).
pub use tokio_postgres::Config;

/// The table the stores use.
pub const TABLE: &str = "tokendance_fleet";

/// Creates the table, if it is not there yet. Safe to run again; run it
/// with your migration tool, or let [`PostgresStore::migrate`] run it.
///
/// * `key` is the fleet key, compared byte for byte (`COLLATE "C"`: no
///   locale folds `a` and `A` together, or ignores punctuation);
/// * `version` is the record's version, the one compare-and-set compares;
/// * `record` is the record's JSON as the keeper wrote it (format 1, see
///   [`tokendance::fleet::Record`]): it holds the access token, so grant
///   this table to the fleet's database role only.
pub const MIGRATION: &str = "CREATE TABLE IF NOT EXISTS tokendance_fleet (\n    \
    key text COLLATE \"C\" PRIMARY KEY,\n    \
    version bigint NOT NULL CHECK (version > 0),\n    \
    record bytea NOT NULL\n)";

/// How long an operation may take unless you say otherwise: a token store
/// on the same network answers in milliseconds, and a keeper that gets no
/// answer keeps serving the token it has and tries again later.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

/// Two processes migrating at once would race inside `CREATE TABLE IF NOT
/// EXISTS` (one of them fails on PostgreSQL's catalog); this advisory lock,
/// held to the end of the migration's transaction, puts them in turn. The
/// number is "tokendan" in ASCII, so it is unlikely to be another's.
const MIGRATION_LOCK: i64 = 0x746f_6b65_6e64_616e;

const READ: &str = "SELECT version, record FROM tokendance_fleet WHERE key = $1";
const CREATE: &str = "INSERT INTO tokendance_fleet (key, version, record) VALUES ($1, $2, $3) \
    ON CONFLICT (key) DO NOTHING";
const UPDATE: &str = "UPDATE tokendance_fleet SET version = $3, record = $4 \
    WHERE key = $1 AND version = $2";

/// What a bad connection string is reported as: none of its text, which
/// may hold a password.
const BAD_URL: &str = "the PostgreSQL connection string does not parse \
    (postgres://user@host:port/database, or key=value pairs)";

/// A blocking PostgreSQL store: one connection, opened at the first
/// operation (or by [`connect`](Self::connect)) and again after it broke.
/// Use one per thread; from async code use [`AsyncPostgresStore`] (this
/// one refuses to run inside a Tokio runtime rather than stall it).
///
/// ```no_run
/// use std::time::Duration;
/// use tokendance::fleet::{StoreAnswer, StoreOp};
/// use tokendance_store_postgres::PostgresStore;
///
/// let mut store = PostgresStore::new("postgres://app@127.0.0.1:5432/app", Duration::from_secs(1))?;
/// store.migrate()?;
/// let answer = store.apply(&StoreOp::read(1, "gam:partner-app"))?;
/// assert!(matches!(answer, StoreAnswer::Found(_)));
/// # Ok::<(), tokendance::fleet::StoreError>(())
/// ```
pub struct PostgresStore {
    /// Drives the connection while an operation runs (between operations
    /// nothing needs it). `None` only while being dropped.
    runtime: Option<tokio::runtime::Runtime>,
    store: AsyncPostgresStore,
}

impl PostgresStore {
    /// A store for the database at `url` (`postgres://user:password@host:port/database`
    /// or `host=… user=…`), whose every operation ends within `timeout`.
    /// Connects at the first operation, so a process can start while the
    /// database is down; call [`connect`](Self::connect) to find out now.
    ///
    /// Refuses a connection string that does not parse and a zero timeout.
    pub fn new(url: &str, timeout: Duration) -> Result<Self, StoreError> {
        Self::with_config(parse(url)?, timeout)
    }

    /// A store for the database `config` names. Its `connect_timeout`, if
    /// unset, becomes `timeout`; the timeout bounds each whole operation in
    /// any case.
    pub fn with_config(config: Config, timeout: Duration) -> Result<Self, StoreError> {
        let store = AsyncPostgresStore::with_config(config, timeout)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| StoreError::Unavailable(format!("cannot start the store's runtime: {e}")))?;
        Ok(PostgresStore {
            runtime: Some(runtime),
            store,
        })
    }

    /// Opens the connection now, if it is not open: for a check at
    /// start-up. Operations connect by themselves.
    pub fn connect(&mut self) -> Result<(), StoreError> {
        let store = &self.store;
        self.block_on(store.connect())
    }

    /// Runs [`MIGRATION`], one process at a time.
    pub fn migrate(&mut self) -> Result<(), StoreError> {
        let store = &self.store;
        self.block_on(store.migrate())
    }

    /// Carries out `op`, as [`MemoryStore::apply`](tokendance::fleet::MemoryStore::apply)
    /// would, within the timeout.
    pub fn apply(&mut self, op: &StoreOp) -> Result<StoreAnswer, StoreError> {
        let store = &self.store;
        self.block_on(store.apply(op))
    }

    /// The longest an operation takes.
    pub fn timeout(&self) -> Duration {
        self.store.timeout
    }

    fn block_on<T>(&self, work: impl Future<Output = Result<T, StoreError>>) -> Result<T, StoreError> {
        // Tokio panics when a runtime is started inside another; say so instead.
        if tokio::runtime::Handle::try_current().is_ok() {
            return Err(StoreError::Unavailable(
                "the blocking PostgresStore cannot run inside a Tokio runtime: use AsyncPostgresStore"
                    .to_owned(),
            ));
        }
        match &self.runtime {
            Some(runtime) => runtime.block_on(work),
            None => Err(StoreError::Unavailable("the store is shutting down".to_owned())),
        }
    }
}

impl Drop for PostgresStore {
    fn drop(&mut self) {
        // Dropping a runtime panics in an async context; this way never does.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.store.describe(f, "PostgresStore")
    }
}

/// The async twin of [`PostgresStore`], for Tokio (a runtime with I/O and
/// time enabled). `apply` takes `&self`: tasks may share one store (in an
/// `Arc`), and their operations share its connection.
///
/// ```no_run
/// use std::time::Duration;
/// use tokendance::fleet::StoreOp;
/// use tokendance_store_postgres::AsyncPostgresStore;
///
/// # async fn run() -> Result<(), tokendance::fleet::StoreError> {
/// let store = AsyncPostgresStore::new("postgres://app@127.0.0.1:5432/app", Duration::from_secs(1))?;
/// store.migrate().await?;
/// let answer = store.apply(&StoreOp::read(1, "gam:partner-app")).await?;
/// # Ok(()) }
/// ```
pub struct AsyncPostgresStore {
    config: Config,
    timeout: Duration,
    /// Where the store connects, for errors (never the password).
    target: String,
    /// The open connection, if any. Held across a connect, so that tasks
    /// that find none wait for one connect instead of each opening theirs.
    client: Mutex<Option<Arc<Client>>>,
}

impl AsyncPostgresStore {
    /// A store for the database at `url`, whose every operation ends within
    /// `timeout`; see [`PostgresStore::new`].
    pub fn new(url: &str, timeout: Duration) -> Result<Self, StoreError> {
        Self::with_config(parse(url)?, timeout)
    }

    /// A store for the database `config` names; see
    /// [`PostgresStore::with_config`].
    pub fn with_config(mut config: Config, timeout: Duration) -> Result<Self, StoreError> {
        if timeout.is_zero() {
            return Err(StoreError::Unavailable(
                "the store's timeout must be above zero".to_owned(),
            ));
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(timeout);
        }
        if config.get_application_name().is_none() {
            // Lets a DBA see whose connections these are.
            config.application_name("tokendance-fleet");
        }
        let target = target(&config);
        Ok(AsyncPostgresStore {
            config,
            timeout,
            target,
            client: Mutex::new(None),
        })
    }

    /// Opens the connection now, if it is not open; see
    /// [`PostgresStore::connect`].
    pub async fn connect(&self) -> Result<(), StoreError> {
        let deadline = self.start()?;
        self.client(deadline).await.map(|_| ())
    }

    /// Runs [`MIGRATION`], one process at a time.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let deadline = self.start()?;
        let (client, _) = self.client(deadline).await?;
        // One simple query is one transaction: the lock lasts until the
        // table is there, and a failure leaves no transaction open.
        let sql = format!("SELECT pg_advisory_xact_lock({MIGRATION_LOCK}); {MIGRATION}");
        match timeout_at(deadline, client.batch_execute(&sql)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => {
                let (error, broken) = self.failure(&e);
                if broken {
                    self.forget(&client).await;
                }
                Err(error)
            }
            Err(_) => {
                self.forget(&client).await;
                Err(StoreError::Timeout)
            }
        }
    }

    /// Carries out `op`, as [`MemoryStore::apply`](tokendance::fleet::MemoryStore::apply)
    /// would, within the timeout.
    pub async fn apply(&self, op: &StoreOp) -> Result<StoreAnswer, StoreError> {
        let deadline = self.start()?;
        let (client, fresh) = self.client(deadline).await?;
        match self.attempt(&client, op, deadline).await {
            // A connection kept from before may have died while idle (the
            // server restarted): a read is safe to send again on a new one.
            // A swap is not sent twice: it may have been written, and the
            // keeper reads before it trusts either outcome.
            Err(Attempt::Broken(_)) if !fresh && matches!(op.kind(), StoreOpKind::Read) => {
                let (client, _) = self.client(deadline).await?;
                self.attempt(&client, op, deadline)
                    .await
                    .map_err(Attempt::into_error)
            }
            other => other.map_err(Attempt::into_error),
        }
    }

    /// The longest an operation takes.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The operation's deadline; refuses to run where Tokio's timers and
    /// `spawn` would panic.
    fn start(&self) -> Result<Instant, StoreError> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(StoreError::Unavailable(
                "AsyncPostgresStore runs inside a Tokio runtime (outside one, use PostgresStore)".to_owned(),
            ));
        }
        Ok(Instant::now() + self.timeout)
    }

    /// The open connection, or a new one; `true` if new.
    async fn client(&self, deadline: Instant) -> Result<(Arc<Client>, bool), StoreError> {
        let mut slot = timeout_at(deadline, self.client.lock())
            .await
            .map_err(|_| StoreError::Timeout)?;
        if let Some(client) = slot.as_ref().filter(|client| !client.is_closed()) {
            return Ok((Arc::clone(client), false));
        }
        *slot = None;
        let client = match timeout_at(deadline, self.open()).await {
            Ok(opened) => opened?,
            Err(_) => return Err(StoreError::Timeout),
        };
        *slot = Some(Arc::clone(&client));
        Ok((client, true))
    }

    async fn open(&self) -> Result<Arc<Client>, StoreError> {
        let (client, connection) = self.config.connect(NoTls).await.map_err(|e| self.failure(&e).0)?;
        // The connection ends when its client is dropped, or the server
        // goes away (the client then says it is closed).
        tokio::spawn(async move {
            let _ = connection.await;
        });
        // The server gives up on a statement when we do, so that an update
        // we stopped waiting for does not hold its row lock on.
        let millis = self.timeout.as_millis().clamp(1, i32::MAX as u128);
        client
            .batch_execute(&format!("SET statement_timeout = {millis}"))
            .await
            .map_err(|e| self.failure(&e).0)?;
        Ok(Arc::new(client))
    }

    /// Drops `client` if it is still the open connection: the next
    /// operation opens another. Never waits (the deadline may be past):
    /// if another task holds the slot, it is connecting anew or taking a
    /// connection that will fail for it too, and be dropped then.
    async fn forget(&self, client: &Arc<Client>) {
        if let Ok(mut slot) = self.client.try_lock() {
            if slot.as_ref().is_some_and(|open| Arc::ptr_eq(open, client)) {
                *slot = None;
            }
        }
    }

    /// One try of `op` on `client`, before `deadline`.
    async fn attempt(
        &self,
        client: &Arc<Client>,
        op: &StoreOp,
        deadline: Instant,
    ) -> Result<StoreAnswer, Attempt> {
        match timeout_at(deadline, execute(client, op)).await {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(Failure::Store(error))) => Err(Attempt::Refused(error)),
            Ok(Err(Failure::Postgres(e))) => {
                let (error, broken) = self.failure(&e);
                if broken {
                    self.forget(client).await;
                    return Err(Attempt::Broken(error));
                }
                Err(Attempt::Refused(error))
            }
            Err(_) => {
                // A server that stopped answering may answer this connection
                // late or never: the next operation starts on a new one.
                self.forget(client).await;
                Err(Attempt::Refused(StoreError::Timeout))
            }
        }
    }

    /// What a client error means for the keeper, and whether the
    /// connection is beyond use. Messages name the server and the cause,
    /// never the password (the client's own texts have none; the
    /// connection string is not quoted) nor a record.
    fn failure(&self, e: &tokio_postgres::Error) -> (StoreError, bool) {
        let target = &self.target;
        let Some(db) = e.as_db_error() else {
            // I/O, a closed connection, a handshake that failed: the
            // connection is gone. The OS error says why, if there is one.
            let mut cause = std::error::Error::source(e);
            while let Some(inner) = cause {
                if let Some(io) = inner.downcast_ref::<std::io::Error>() {
                    return (
                        StoreError::Unavailable(format!("PostgreSQL at {target}: {e}: {io}")),
                        true,
                    );
                }
                cause = inner.source();
            }
            return (
                StoreError::Unavailable(format!("PostgreSQL at {target}: {e}")),
                true,
            );
        };
        // FATAL and PANIC end the session (a shutdown, a failed login).
        let broken = matches!(db.severity(), "FATAL" | "PANIC");
        let code = db.code();
        let error = if *code == SqlState::QUERY_CANCELED || *code == SqlState::LOCK_NOT_AVAILABLE {
            // Our statement_timeout.
            StoreError::Timeout
        } else if *code == SqlState::UNDEFINED_TABLE {
            StoreError::Unavailable(format!(
                "PostgreSQL at {target} has no table {TABLE}: run the migration (migrate())"
            ))
        } else {
            // The server's message, without its DETAIL (which can quote values).
            StoreError::Unavailable(format!(
                "PostgreSQL at {target}: {} {}: {}",
                db.severity(),
                code.code(),
                db.message()
            ))
        };
        (error, broken)
    }

    fn describe(&self, f: &mut fmt::Formatter<'_>, name: &str) -> fmt::Result {
        // Not the config's own Debug: it would be fine today (it redacts the
        // password), but this one shows only what a log needs.
        f.debug_struct(name)
            .field("target", &self.target)
            .field("user", &self.config.get_user())
            .field("dbname", &self.config.get_dbname())
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for AsyncPostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.describe(f, "AsyncPostgresStore")
    }
}

/// How one try ended, if not with an answer.
enum Attempt {
    /// The connection broke: the operation may be tried on a new one.
    Broken(StoreError),
    /// Any other failure: reported as it is.
    Refused(StoreError),
}

impl Attempt {
    fn into_error(self) -> StoreError {
        match self {
            Attempt::Broken(error) | Attempt::Refused(error) => error,
        }
    }
}

enum Failure {
    Postgres(tokio_postgres::Error),
    Store(StoreError),
}

impl From<tokio_postgres::Error> for Failure {
    fn from(e: tokio_postgres::Error) -> Self {
        Failure::Postgres(e)
    }
}

/// `op` as one statement. Typed parameters: one round trip, and no named
/// prepared statement (which a pooler in transaction mode would lose).
async fn execute(client: &Client, op: &StoreOp) -> Result<StoreAnswer, Failure> {
    let key = op.key();
    match op.kind() {
        StoreOpKind::Read => {
            let Some(row) = client.query_typed_opt(READ, &[(&key, Type::TEXT)]).await? else {
                return Ok(StoreAnswer::Found(None));
            };
            let corrupt =
                |what: &str| Failure::Store(StoreError::Corrupt(format!("{TABLE} row {key:?}: {what}")));
            let version: i64 = row
                .try_get(0)
                .map_err(|_| corrupt("the version is not a bigint"))?;
            let record: Vec<u8> = row.try_get(1).map_err(|_| corrupt("the record is not bytea"))?;
            if version < 1 {
                return Err(corrupt("a version below 1"));
            }
            if record.len() > MAX_RECORD_BYTES {
                return Err(corrupt(&format!(
                    "a record of {} bytes, over the {MAX_RECORD_BYTES} a keeper writes",
                    record.len()
                )));
            }
            Ok(StoreAnswer::Found(Some(record)))
        }
        StoreOpKind::Swap {
            expected,
            version,
            bytes,
        } => {
            if bytes.len() > MAX_RECORD_BYTES {
                // It would be read back as corrupt: better not written.
                return Err(Failure::Store(StoreError::Corrupt(format!(
                    "refusing to write a record of {} bytes, over {MAX_RECORD_BYTES}",
                    bytes.len()
                ))));
            }
            let Ok(version) = i64::try_from(*version) else {
                return Err(Failure::Store(StoreError::Corrupt(format!(
                    "version {version} does not fit PostgreSQL's bigint"
                ))));
            };
            let rows = match *expected {
                None => {
                    client
                        .execute_typed(
                            CREATE,
                            &[(&key, Type::TEXT), (&version, Type::INT8), (bytes, Type::BYTEA)],
                        )
                        .await?
                }
                Some(expected) => {
                    // No stored version is past bigint: nothing can be at it.
                    let Ok(expected) = i64::try_from(expected) else {
                        return Ok(StoreAnswer::Conflict);
                    };
                    client
                        .execute_typed(
                            UPDATE,
                            &[
                                (&key, Type::TEXT),
                                (&expected, Type::INT8),
                                (&version, Type::INT8),
                                (bytes, Type::BYTEA),
                            ],
                        )
                        .await?
                }
            };
            // The key is the primary key: one row at most.
            Ok(if rows == 1 {
                StoreAnswer::Swapped
            } else {
                StoreAnswer::Conflict
            })
        }
    }
}

fn parse(url: &str) -> Result<Config, StoreError> {
    url.parse::<Config>()
        .map_err(|_| StoreError::Unavailable(BAD_URL.to_owned()))
}

/// `host:port` (or the socket directory) for messages.
fn target(config: &Config) -> String {
    let ports = config.get_ports();
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, host)| {
            // As the client does: one port for all hosts, or one each; 5432 if none.
            let port = ports.get(i).or(ports.first()).copied().unwrap_or(5432);
            match host {
                Host::Tcp(name) => format!("{name}:{port}"),
                #[cfg(unix)]
                Host::Unix(dir) => format!("{}:{port}", dir.display()),
            }
        })
        .collect();
    if hosts.is_empty() {
        "(no host)".to_owned()
    } else {
        hosts.join(",")
    }
}

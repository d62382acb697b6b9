//! What a keeper asks of a store, what a store answers, and a store in
//! memory that answers by the same rules every adapter must keep.

use std::collections::BTreeMap;
use std::fmt;

use super::record::Record;

/// One store operation, to carry out and answer with
/// [`FleetKeeper::store_answered`](super::FleetKeeper::store_answered).
#[must_use = "carry out the store operation and answer it"]
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct StoreOp {
    pub(super) id: u64,
    pub(super) key: String,
    pub(super) kind: StoreOpKind,
}

/// Read, or compare-and-set.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum StoreOpKind {
    /// Read the record of the key: answer [`StoreAnswer::Found`] with its
    /// bytes, or `None` when there is none.
    Read,
    /// Write `bytes` if the record stored is still at `expected` (`None`:
    /// if there is none): answer [`StoreAnswer::Swapped`], or
    /// [`StoreAnswer::Conflict`] when it moved on. Atomically: two swaps
    /// from one version never both succeed.
    Swap {
        /// The version the writer read.
        expected: Option<u64>,
        /// The version written: `expected + 1` (1 for a new record). Stores
        /// that keep the version in a column of its own write this there.
        version: u64,
        /// The record's JSON ([`Record::to_json`]).
        bytes: Vec<u8>,
    },
}

impl StoreOp {
    /// A read of `key` (for an adapter's own tests; keepers make their own).
    pub fn read(id: u64, key: impl Into<String>) -> Self {
        StoreOp {
            id,
            key: key.into(),
            kind: StoreOpKind::Read,
        }
    }

    /// A compare-and-set of `record` under `key` from `expected` (for an
    /// adapter's own tests). `record.version` is written as the version.
    pub fn swap(id: u64, key: impl Into<String>, expected: Option<u64>, record: &Record) -> Self {
        StoreOp {
            id,
            key: key.into(),
            kind: StoreOpKind::Swap {
                expected,
                version: record.version,
                bytes: record.to_json(),
            },
        }
    }

    /// Which operation this is: the answer names it.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The record's key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// What to do.
    pub fn kind(&self) -> &StoreOpKind {
        &self.kind
    }
}

/// What the store did.
#[derive(Clone, PartialEq, Eq)]
pub enum StoreAnswer {
    /// The record's bytes, as a [`StoreOpKind::Swap`] wrote them, or `None`.
    Found(Option<Vec<u8>>),
    /// The swap was written.
    Swapped,
    /// The swap was not written: the record was not at the expected version.
    Conflict,
}

impl fmt::Debug for StoreAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The bytes hold the token.
        match self {
            StoreAnswer::Found(None) => f.write_str("Found(no record)"),
            StoreAnswer::Found(Some(bytes)) => write!(f, "Found({} bytes)", bytes.len()),
            StoreAnswer::Swapped => f.write_str("Swapped"),
            StoreAnswer::Conflict => f.write_str("Conflict"),
        }
    }
}

/// Why a store could not carry out an operation. A keeper treats them all
/// alike (it keeps serving a valid token and backs off); the kinds are for
/// your logs. A swap that failed may still have been written: the keeper
/// reads before it trusts either outcome.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The store could not be reached (connection refused, no such file).
    #[error("the token store is unavailable: {0}")]
    Unavailable(String),
    /// The store did not answer in time.
    #[error("the token store timed out")]
    Timeout,
    /// The store answered something that is not a record of this key.
    #[error("the token store holds something else: {0}")]
    Corrupt(String),
}

/// A linearizable store in memory: one process's keepers share tokens
/// through it, and tests check the protocol against it. Adapters for real
/// stores answer exactly as [`apply`](Self::apply) does.
///
/// ```
/// use tokendance::fleet::{FleetAction, FleetKeeper, FleetSettings, MemoryStore};
/// use tokendance::Timestamp;
///
/// let mut store = MemoryStore::default();
/// let mut keeper = FleetKeeper::new("gam:partner-app", "worker-1", FleetSettings::default())?;
/// let now = Timestamp::from_unix_secs(1_000);
/// // No token: read the record, then claim the lease.
/// let FleetAction::Store(read) = keeper.poll(now) else { unreachable!() };
/// keeper.store_answered(now, read.id(), Ok(store.apply(&read)))?;
/// let FleetAction::Store(claim) = keeper.poll(now) else { unreachable!() };
/// keeper.store_answered(now, claim.id(), Ok(store.apply(&claim)))?;
/// assert!(matches!(keeper.poll(now), FleetAction::Renew(_)));
/// # Ok::<(), tokendance::Error>(())
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct MemoryStore {
    records: BTreeMap<String, (u64, Vec<u8>)>,
}

impl MemoryStore {
    /// Carries out `op` atomically.
    pub fn apply(&mut self, op: &StoreOp) -> StoreAnswer {
        match &op.kind {
            StoreOpKind::Read => {
                StoreAnswer::Found(self.records.get(&op.key).map(|(_, bytes)| bytes.clone()))
            }
            StoreOpKind::Swap {
                expected,
                version,
                bytes,
            } => {
                let current = self.records.get(&op.key).map(|(version, _)| *version);
                if current != *expected {
                    return StoreAnswer::Conflict;
                }
                self.records.insert(op.key.clone(), (*version, bytes.clone()));
                StoreAnswer::Swapped
            }
        }
    }

    /// The record stored under `key`, if any.
    pub fn get(&self, key: &str) -> Option<Record> {
        let (_, bytes) = self.records.get(key)?;
        Record::from_json(bytes).ok()
    }
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.records.iter().map(|(key, (version, _))| (key, version)))
            .finish()
    }
}

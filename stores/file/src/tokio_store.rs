//! The file store for tokio: the same operations, on tokio's blocking pool.

use std::path::Path;

use tokendance::fleet::{StoreAnswer, StoreError, StoreOp};

use crate::FileStore;

/// A [`FileStore`] for async code (feature `tokio`, on by default).
///
/// File locks and `fsync` block the thread, so each operation runs on
/// tokio's blocking pool (`spawn_blocking`) and the async task waits
/// without holding up its worker. The lock wait is bounded by the store's
/// [timeout](FileStore::with_timeout) there as it is in the blocking form.
/// It needs only a runtime with a blocking pool (any tokio runtime, the
/// current-thread one too), not its timer.
///
/// ```
/// # let dir = std::env::temp_dir().join(format!("tokendance-doc-a-{}", std::process::id()));
/// use tokendance::fleet::{conformance::sample_record, StoreAnswer, StoreOp};
/// use tokendance_store_file::AsyncFileStore;
///
/// # let rt = tokio::runtime::Builder::new_current_thread().build()?;
/// # rt.block_on(async {
/// let store = AsyncFileStore::open(&dir)?;
/// let record = sample_record("gam:partner-app", 1, 40);
/// let create = StoreOp::swap(1, "gam:partner-app", None, &record);
/// assert_eq!(store.apply(&create).await?, StoreAnswer::Swapped);
/// let read = store.apply(&StoreOp::read(2, "gam:partner-app")).await?;
/// assert_eq!(read, StoreAnswer::Found(Some(record.to_json())));
/// # Ok::<(), tokendance::fleet::StoreError>(())
/// # })?;
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct AsyncFileStore {
    store: FileStore,
}

impl AsyncFileStore {
    /// A store in `dir`, as [`FileStore::open`] makes it (this creates the
    /// directory with a blocking call, once, before any operation).
    pub fn open(dir: impl AsRef<Path>) -> Result<Self, StoreError> {
        FileStore::open(dir).map(AsyncFileStore::from)
    }

    /// The blocking store underneath (to change its timeout, build the
    /// [`FileStore`] first and convert it with `From`).
    pub fn blocking(&self) -> &FileStore {
        &self.store
    }

    /// Carries out `op` as [`FileStore::apply`] does, on the blocking pool.
    /// A runtime that is shutting down, or an operation that panicked,
    /// answers [`StoreError::Unavailable`].
    pub async fn apply(&self, op: &StoreOp) -> Result<StoreAnswer, StoreError> {
        let (store, op) = (self.store.clone(), op.clone());
        tokio::task::spawn_blocking(move || store.apply(&op))
            .await
            .map_err(|e| {
                let why = if e.is_cancelled() {
                    "was cancelled"
                } else {
                    "panicked"
                };
                StoreError::Unavailable(format!("the file store's blocking task {why}"))
            })?
    }
}

impl From<FileStore> for AsyncFileStore {
    fn from(store: FileStore) -> Self {
        AsyncFileStore { store }
    }
}

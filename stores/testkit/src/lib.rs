//! The checks and helpers every store adapter's tests share: the file,
//! Redis and PostgreSQL stores of this workspace, and any other adapter of
//! `tokendance::fleet`'s store protocol. A test-only crate, not published.
//!
//! The core keeps the pure checks (`tokendance::fleet::conformance`:
//! `check_store`, `AWKWARD_KEYS`, `sample_record`, feature `fake`). What
//! needs threads or the operating system is here, so that the core never
//! spawns a thread or does I/O:
//!
//! * [`check_races`] (and [`assert_races`], its 8 × 50 form): stores on
//!   threads of their own race compare-and-sets, exactly one winner a
//!   round; [`check_shared_races`]: tasks sharing one async store do.
//! * [`renew_and_share`], [`settle`], [`reads_the_token`]: `FleetKeeper`s
//!   through a whole renewal on the store.
//! * [`fresh_prefix`], [`free_port`]: key prefixes and ports no other run
//!   uses.
//! * [`assert_unavailable_at_once`], [`assert_hides`]: a store that cannot
//!   be reached, and errors that must not show a secret.
//!
//! Every store is driven the same way: a closure that carries out one
//! [`StoreOp`](tokendance::fleet::StoreOp), blocking or by blocking on the
//! async store's future.
//!
//! ```
//! use std::sync::{Arc, Mutex};
//! use tokendance::fleet::MemoryStore;
//! use tokendance_store_testkit::{assert_races, fresh_prefix};
//!
//! let shared = Arc::new(Mutex::new(MemoryStore::default()));
//! assert_races(
//!     &fresh_prefix("doc"),
//!     || Arc::clone(&shared),
//!     |store, op| Ok(store.lock().unwrap().apply(op)),
//! );
//! ```
#![deny(missing_docs)]

mod keeper;
mod names;
mod race;
mod unreachable;

pub use keeper::{reads_the_token, renew_and_share, settle, TOKEN};
pub use names::{free_port, fresh_prefix};
pub use race::{assert_races, check_races, check_shared_races, RACERS, ROUNDS};
pub use unreachable::{assert_hides, assert_unavailable_at_once};

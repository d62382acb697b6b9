//! What the tests against a real server share: where it is, migrated
//! stores (fresh key prefixes are `tokendance_store_testkit::fresh_prefix`).
#![allow(dead_code)] // each test binary uses its own part

use std::time::Duration;

use tokendance_store_postgres::{AsyncPostgresStore, PostgresStore};

/// How to get a server, when the tests have none: they fail, never skip.
pub const HOW: &str = "install PostgreSQL (apt-get install -y postgresql) and run \
    stores/postgres/ci.sh, which starts a server and sets it";

/// The server the tests run against.
pub fn url() -> String {
    std::env::var("TOKENDANCE_POSTGRES_URL")
        .unwrap_or_else(|_| panic!("TOKENDANCE_POSTGRES_URL is not set: {HOW}"))
}

/// Generous for a loaded CI machine, short enough for a test.
pub const TIMEOUT: Duration = Duration::from_secs(5);

/// A blocking store on the test server, its table there.
pub fn blocking() -> PostgresStore {
    let mut store = PostgresStore::new(&url(), TIMEOUT).expect("the URL parses");
    store.migrate().expect("the migration runs");
    store
}

/// An async store on the test server, its table there.
pub async fn asynchronous() -> AsyncPostgresStore {
    let store = AsyncPostgresStore::new(&url(), TIMEOUT).expect("the URL parses");
    store.migrate().await.expect("the migration runs");
    store
}

/// A runtime as an async application would have.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime")
}

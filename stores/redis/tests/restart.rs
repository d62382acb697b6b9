//! A server that stops and starts again: operations fail fast while it is
//! down and work again once it is back, on both stores, with no new store
//! needed. The test runs a redis-server of its own (ci.sh's keeps serving
//! the other tests) and kills it by its pid.

mod common;

use std::time::{Duration, Instant};

use common::{runtime, url, OwnServer, TIMEOUT};
use tokendance::fleet::{conformance, Record, StoreAnswer, StoreError, StoreOp};
use tokendance_store_redis::{AsyncRedisStore, RedisStore};
use tokio::runtime::Runtime;

#[test]
fn a_restarted_server_is_used_again() {
    // The shared server's variable is required all the same: this suite
    // runs under ci.sh, which also put redis-server on the PATH.
    let _ = url();
    let mut server = OwnServer::start();
    let mut store = RedisStore::open(&server.url(), TIMEOUT).unwrap();
    let rt = runtime();
    let async_store = AsyncRedisStore::open(&server.url(), TIMEOUT).unwrap();
    let read = |key: &str| StoreOp::read(1, key);

    create_both(&mut store, &rt, &async_store, 1);

    server.stop();
    for _ in 0..2 {
        let start = Instant::now();
        let blocking = store.apply(&read("b"));
        let not_async = rt.block_on(async_store.apply(&read("a")));
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "took {:?}",
            start.elapsed()
        );
        for result in [blocking, not_async] {
            assert!(
                matches!(result, Err(StoreError::Unavailable(_) | StoreError::Timeout)),
                "{result:?}"
            );
        }
    }

    // Back, empty (it keeps nothing on disk), and with no scripts loaded:
    // the stores reconnect and load theirs again.
    server.restart();
    assert_eq!(store.apply(&read("b")), Ok(StoreAnswer::Found(None)));
    assert_eq!(
        rt.block_on(async_store.apply(&read("a"))),
        Ok(StoreAnswer::Found(None))
    );
    create_both(&mut store, &rt, &async_store, 2);
    assert_eq!(
        rt.block_on(async_store.apply(&read("b"))),
        Ok(StoreAnswer::Found(Some(record("b").to_json())))
    );

    // Scripts flushed under a live connection are loaded again too.
    let mut raw = redis::Client::open(server.url())
        .unwrap()
        .get_connection()
        .unwrap();
    let () = redis::cmd("SCRIPT").arg("FLUSH").query(&mut raw).unwrap();
    assert_eq!(
        store.apply(&read("a")),
        Ok(StoreAnswer::Found(Some(record("a").to_json())))
    );
    assert_eq!(
        rt.block_on(async_store.apply(&read("a"))),
        Ok(StoreAnswer::Found(Some(record("a").to_json())))
    );
}

/// The record the test writes at `key`.
fn record(key: &str) -> Record {
    conformance::sample_record(key, 1, 20)
}

/// Creates "b" through the blocking store and "a" through the async one.
fn create_both(store: &mut RedisStore, rt: &Runtime, async_store: &AsyncRedisStore, id: u64) {
    let create = |key| StoreOp::swap(id, key, None, &record(key));
    assert_eq!(store.apply(&create("b")), Ok(StoreAnswer::Swapped));
    assert_eq!(
        rt.block_on(async_store.apply(&create("a"))),
        Ok(StoreAnswer::Swapped)
    );
}

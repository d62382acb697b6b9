//! The fleet's conformance checks against the real server: the same answers
//! as MemoryStore for awkward keys and the largest record, and exactly one
//! winner among 8 connections racing, for the blocking and the async store.

mod common;

use std::sync::Arc;

use common::{runtime, url, TIMEOUT};
use tokendance::fleet::conformance;
use tokendance_store_redis::{AsyncRedisStore, RedisStore};
use tokendance_store_testkit::{assert_races, check_shared_races, fresh_prefix};

#[test]
fn blocking_store_answers_as_memory_store_does() {
    let mut store = RedisStore::open(&url(), TIMEOUT).unwrap();
    conformance::check_store(&fresh_prefix("check"), &mut |op| store.apply(op)).unwrap();
}

#[test]
fn blocking_stores_racing_let_one_swap_win() {
    let url = url();
    let connect = || RedisStore::open(&url, TIMEOUT).unwrap();
    assert_races(&fresh_prefix("race"), connect, |store, op| store.apply(op));
}

#[test]
fn async_store_answers_as_memory_store_does() {
    let rt = runtime();
    let store = AsyncRedisStore::open(&url(), TIMEOUT).unwrap();
    conformance::check_store(&fresh_prefix("check-async"), &mut |op| {
        rt.block_on(store.apply(op))
    })
    .unwrap();
}

#[test]
fn async_stores_racing_let_one_swap_win() {
    let url = url();
    // Each racer has its own store (so its own connection) on its own
    // runtime, as separate processes would.
    let connect = || (runtime(), AsyncRedisStore::open(&url, TIMEOUT).unwrap());
    assert_races(&fresh_prefix("race-async"), connect, |(rt, store), op| {
        rt.block_on(store.apply(op))
    });
}

/// Tasks sharing one AsyncRedisStore (one multiplexed connection) race too:
/// the atomicity is the server's, not the connection's.
#[test]
fn tasks_sharing_an_async_store_let_one_swap_win() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let store = Arc::new(AsyncRedisStore::open(&url(), TIMEOUT).unwrap());
    // Each swap is a task of its own, spawned at once: 8 a round, 20 rounds.
    let send = |op| {
        let store = Arc::clone(&store);
        let task = rt.spawn(async move { store.apply(&op).await });
        async move { task.await.unwrap() }
    };
    rt.block_on(check_shared_races(&fresh_prefix("race-shared"), 8, 20, send))
        .unwrap();
}

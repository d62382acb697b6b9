//! The fleet's conformance checks against the real server: the same answers
//! as MemoryStore for awkward keys and the largest record, and exactly one
//! winner among 8 connections racing, for the blocking and the async store.

mod common;

use std::sync::Arc;

use common::{fresh_prefix, runtime, url, TIMEOUT};
use tokendance::fleet::{conformance, StoreAnswer, StoreOp};
use tokendance_store_redis::{AsyncRedisStore, RedisStore};
use tokendance_store_testkit::check_races;

#[test]
fn blocking_store_answers_as_memory_store_does() {
    let mut store = RedisStore::open(&url(), TIMEOUT).unwrap();
    conformance::check_store(&fresh_prefix("check"), &mut |op| store.apply(op)).unwrap();
}

#[test]
fn blocking_stores_racing_let_one_swap_win() {
    let url = url();
    check_races(
        &fresh_prefix("race"),
        8,
        50,
        || RedisStore::open(&url, TIMEOUT).unwrap(),
        |store, op| store.apply(op),
    )
    .unwrap();
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
    check_races(
        &fresh_prefix("race-async"),
        8,
        50,
        || (runtime(), AsyncRedisStore::open(&url, TIMEOUT).unwrap()),
        |(rt, store), op| rt.block_on(store.apply(op)),
    )
    .unwrap();
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
    let key = format!("{}:shared", fresh_prefix("race-shared"));
    rt.block_on(async {
        for round in 0..20u64 {
            let expected = (round > 0).then_some(round);
            let tasks: Vec<_> = (0..8)
                .map(|t| {
                    let (store, key) = (Arc::clone(&store), key.clone());
                    tokio::spawn(async move {
                        let record = conformance::sample_record(&key, round + 1, 20 + t);
                        store
                            .apply(&StoreOp::swap(round, key.clone(), expected, &record))
                            .await
                    })
                })
                .collect();
            let mut wins = 0;
            for task in tasks {
                match task.await.unwrap().unwrap() {
                    StoreAnswer::Swapped => wins += 1,
                    StoreAnswer::Conflict => {}
                    other => panic!("{other:?}"),
                }
            }
            assert_eq!(wins, 1, "round {round}");
        }
    });
}

//! The store against a real PostgreSQL: the conformance checks every
//! adapter passes, in both forms, and what this adapter adds (the
//! migration, records it did not write).

mod common;

use std::sync::Arc;

use tokendance::fleet::conformance::{check_store, sample_record};
use tokendance::fleet::{StoreAnswer, StoreError, StoreOp, MAX_RECORD_BYTES};
use tokendance_store_postgres::{AsyncPostgresStore, PostgresStore, TABLE};
use tokendance_store_testkit::{assert_races, check_shared_races, fresh_prefix};

#[test]
fn blocking_store_answers_as_the_memory_store_does() {
    let mut store = common::blocking();
    check_store(&fresh_prefix("check"), &mut |op| store.apply(op)).unwrap();
}

#[test]
fn async_store_answers_as_the_memory_store_does() {
    let runtime = common::runtime();
    let store = runtime.block_on(common::asynchronous());
    check_store(&fresh_prefix("check-async"), &mut |op| {
        runtime.block_on(store.apply(op))
    })
    .unwrap();
}

#[test]
fn one_of_eight_blocking_connections_wins_each_race() {
    common::blocking(); // the table
    let connect = || PostgresStore::new(&common::url(), common::TIMEOUT).unwrap();
    assert_races(&fresh_prefix("race"), connect, |store, op| store.apply(op));
}

#[test]
fn one_of_eight_async_connections_wins_each_race() {
    let runtime = common::runtime();
    runtime.block_on(common::asynchronous());
    let connect = || AsyncPostgresStore::new(&common::url(), common::TIMEOUT).unwrap();
    assert_races(&fresh_prefix("race-async"), connect, |store, op| {
        runtime.block_on(store.apply(op))
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_sharing_one_async_store_race_on_its_one_connection() {
    let store = Arc::new(common::asynchronous().await);
    // Each swap is a task of its own, spawned at once: 16 a round, 20 rounds.
    let send = |op| {
        let store = Arc::clone(&store);
        let task = tokio::spawn(async move { store.apply(&op).await });
        async move { task.await.unwrap() }
    };
    check_shared_races(&fresh_prefix("shared"), 16, 20, send)
        .await
        .unwrap();
}

#[test]
fn migrating_again_and_at_once_is_fine() {
    let threads: Vec<_> = (0..4)
        .map(|_| {
            std::thread::spawn(|| {
                let mut store = PostgresStore::new(&common::url(), common::TIMEOUT).unwrap();
                store.migrate()?;
                store.migrate()
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap().unwrap();
    }
}

/// A row written behind the store's back, by SQL.
fn insert_raw(key: &str, version: i64, record: &[u8]) {
    let runtime = common::runtime();
    runtime.block_on(async {
        let (client, connection) = common::url()
            .parse::<tokendance_store_postgres::Config>()
            .unwrap()
            .connect(tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        client
            .execute(
                &format!("INSERT INTO {TABLE} (key, version, record) VALUES ($1, $2, $3)"),
                &[&key, &version, &record],
            )
            .await
            .unwrap();
    });
}

#[test]
fn a_record_over_the_limit_reads_as_corrupt_and_is_never_written() {
    let mut store = common::blocking();
    let key = format!("{}:large", fresh_prefix("corrupt"));
    insert_raw(&key, 1, &vec![b'x'; MAX_RECORD_BYTES + 1]);
    let got = store.apply(&StoreOp::read(1, key.clone()));
    assert!(matches!(&got, Err(StoreError::Corrupt(_))), "{got:?}");
    // Its message names the size, not the bytes.
    let text = format!("{got:?}");
    assert!(
        text.contains(&(MAX_RECORD_BYTES + 1).to_string()) && !text.contains("xxxx"),
        "{text}"
    );

    // The keeper never writes one; were it asked to, nothing is written.
    let fresh = format!("{}:large-write", fresh_prefix("corrupt"));
    let mut record = sample_record(&fresh, 1, 1);
    let room = MAX_RECORD_BYTES - record.to_json().len();
    record = sample_record(&fresh, 1, room + 100);
    assert!(record.to_json().len() > MAX_RECORD_BYTES);
    let got = store.apply(&StoreOp::swap(2, fresh.clone(), None, &record));
    assert!(matches!(got, Err(StoreError::Corrupt(_))), "{got:?}");
    assert_eq!(
        store.apply(&StoreOp::read(3, fresh)).unwrap(),
        StoreAnswer::Found(None)
    );
}

#[test]
fn a_missing_table_says_to_migrate() {
    // A search path with no schema in it: the table is nowhere to be seen.
    let mut config = common::url()
        .parse::<tokendance_store_postgres::Config>()
        .unwrap();
    config.options("-c search_path=tokendance_no_such_schema");
    let mut store = PostgresStore::with_config(config, common::TIMEOUT).unwrap();
    let got = store.apply(&StoreOp::read(1, "k"));
    match got {
        Err(StoreError::Unavailable(text)) => assert!(text.contains("migrat"), "{text}"),
        other => panic!("{other:?}"),
    }
    // The connection is still good after the refusal.
    assert!(matches!(
        store.apply(&StoreOp::read(2, "k")),
        Err(StoreError::Unavailable(_))
    ));
}

#[test]
fn versions_past_bigint_conflict_or_are_refused() {
    let mut store = common::blocking();
    let key = format!("{}:huge", fresh_prefix("huge"));
    let record = sample_record(&key, 1, 10);
    assert_eq!(
        store
            .apply(&StoreOp::swap(1, key.clone(), None, &record))
            .unwrap(),
        StoreAnswer::Swapped
    );
    // Nothing stored can be at a version PostgreSQL cannot hold.
    let next = sample_record(&key, 2, 10);
    let from_huge = StoreOp::swap(2, key.clone(), Some(u64::MAX), &next);
    assert_eq!(store.apply(&from_huge).unwrap(), StoreAnswer::Conflict);
    let to_huge = StoreOp::swap(
        3,
        key.clone(),
        Some(1),
        &sample_record(&key, i64::MAX as u64 + 1, 10),
    );
    assert!(matches!(store.apply(&to_huge), Err(StoreError::Corrupt(_))));
    let read = store.apply(&StoreOp::read(4, key)).unwrap();
    assert_eq!(read, StoreAnswer::Found(Some(record.to_json())));
}

#[test]
fn the_blocking_store_refuses_to_run_inside_a_runtime() {
    let mut store = PostgresStore::new(&common::url(), common::TIMEOUT).unwrap();
    let runtime = common::runtime();
    let got = runtime.block_on(async { store.apply(&StoreOp::read(1, "k")) });
    assert!(matches!(got, Err(StoreError::Unavailable(_))), "{got:?}");
    // And dropping it there does not panic.
    runtime.block_on(async move { drop(store) });
}

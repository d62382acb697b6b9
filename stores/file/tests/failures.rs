//! A store that cannot be reached answers at once, a held lock at the
//! timeout, never a hang; errors quote no token; a store that was away
//! works again when it is back. Blocking and async alike (`answers`).

mod common;

use std::fs::File;
use std::time::{Duration, Instant};

use common::{answers, lock_path, Scratch};
use tokendance::fleet::conformance::sample_record;
use tokendance::fleet::{Record, StoreAnswer, StoreError, StoreOp};
use tokendance_store_file::{FileStore, DEFAULT_TIMEOUT};

/// sample_record's tokens are runs of the alphabet: any 10 of them in an
/// error would be the token quoted.
fn assert_no_token(error: &StoreError) {
    let printed = format!("{error} {error:?}");
    assert!(
        !printed.contains("ABCDEFGHIJ") && !printed.contains("KLMNOPQRST"),
        "{printed}"
    );
}

#[test]
fn a_directory_that_cannot_be_made_is_unavailable() {
    let scratch = Scratch::new("unmakeable");
    let file = scratch.root.join("a-file");
    std::fs::write(&file, b"").unwrap();
    let started = Instant::now();
    let err = FileStore::open(file.join("store")).unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    assert!(started.elapsed() < Duration::from_millis(500));
}

#[test]
fn a_store_whose_directory_is_gone_is_unavailable_at_once() {
    let scratch = Scratch::new("gone");
    let store = FileStore::open(scratch.store_dir()).unwrap();
    std::fs::remove_dir_all(store.dir()).unwrap();
    // A short key and one long enough to live in a subdirectory: the store
    // directory is not recreated under either.
    for key in [format!("{}:k", scratch.prefix), "k".repeat(250)] {
        let record = sample_record(&key, 1, 40);
        for op in [
            StoreOp::read(1, key.clone()),
            StoreOp::swap(2, key.clone(), None, &record),
        ] {
            for (answer, took) in answers(&store, &op) {
                assert!(took < DEFAULT_TIMEOUT / 4, "{took:?}");
                let Err(err) = answer else { panic!("{answer:?}") };
                assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
                assert_no_token(&err);
            }
        }
    }
    assert!(!store.dir().exists());
}

#[test]
fn a_key_locked_for_ever_times_out_in_time() {
    let scratch = Scratch::new("locked");
    let timeout = Duration::from_millis(300);
    let store = FileStore::open(scratch.store_dir())
        .unwrap()
        .with_timeout(timeout);
    let key = format!("{}:k", scratch.prefix);
    let record = sample_record(&key, 1, 40);
    assert_eq!(
        store.apply(&StoreOp::swap(1, key.clone(), None, &record)),
        Ok(StoreAnswer::Swapped)
    );
    // Another process (here, another open of the lock file) holds the lock.
    let holder = File::options()
        .write(true)
        .open(lock_path(&store.record_path(&key).unwrap()))
        .unwrap();
    holder.lock().unwrap();
    let next = sample_record(&key, 2, 40);
    for op in [
        StoreOp::read(2, key.clone()),
        StoreOp::swap(3, key.clone(), Some(1), &next),
    ] {
        for (answer, took) in answers(&store, &op) {
            assert_eq!(answer, Err(StoreError::Timeout));
            assert!(
                took >= timeout && took < timeout + Duration::from_secs(1),
                "{took:?}"
            );
        }
    }
    // Once the holder lets go (or dies), the key works again, unchanged.
    drop(holder);
    let started = Instant::now();
    assert_eq!(
        store.apply(&StoreOp::swap(4, key, Some(1), &next)),
        Ok(StoreAnswer::Swapped)
    );
    assert!(started.elapsed() < timeout);
}

#[test]
fn a_store_closed_and_opened_again_keeps_its_records() {
    let scratch = Scratch::new("reopen");
    let key = format!("{}:k", scratch.prefix);
    let v1 = sample_record(&key, 1, 40);
    let store = FileStore::open(scratch.store_dir()).unwrap();
    assert_eq!(
        store.apply(&StoreOp::swap(1, key.clone(), None, &v1)),
        Ok(StoreAnswer::Swapped)
    );
    drop(store);
    let store = FileStore::open(scratch.store_dir()).unwrap();
    assert_eq!(
        store.apply(&StoreOp::read(2, key.clone())),
        Ok(StoreAnswer::Found(Some(v1.to_json())))
    );
    let v2 = sample_record(&key, 2, 40);
    assert_eq!(
        store.apply(&StoreOp::swap(3, key.clone(), None, &v2)),
        Ok(StoreAnswer::Conflict)
    );
    assert_eq!(
        store.apply(&StoreOp::swap(4, key, Some(1), &v2)),
        Ok(StoreAnswer::Swapped)
    );
}

#[test]
fn a_directory_moved_away_and_back_works_again() {
    // The file store's "server stopped and started": its directory goes
    // away (an unmounted volume) and comes back with the same records.
    let scratch = Scratch::new("away");
    let key = format!("{}:k", scratch.prefix);
    let store = FileStore::open(scratch.store_dir()).unwrap();
    let v1 = sample_record(&key, 1, 40);
    assert_eq!(
        store.apply(&StoreOp::swap(1, key.clone(), None, &v1)),
        Ok(StoreAnswer::Swapped)
    );
    let away = scratch.root.join("away");
    std::fs::rename(store.dir(), &away).unwrap();
    let v2 = sample_record(&key, 2, 40);
    let swap = StoreOp::swap(2, key.clone(), Some(1), &v2);
    for (answer, _) in answers(&store, &swap) {
        assert!(matches!(answer, Err(StoreError::Unavailable(_))), "{answer:?}");
    }
    std::fs::rename(&away, store.dir()).unwrap();
    assert_eq!(store.apply(&swap), Ok(StoreAnswer::Swapped));
    for (answer, _) in answers(&store, &StoreOp::read(3, key.clone())) {
        let Ok(StoreAnswer::Found(Some(bytes))) = answer else {
            panic!("{answer:?}")
        };
        assert_eq!(Record::from_json(&bytes).unwrap(), v2);
    }
}

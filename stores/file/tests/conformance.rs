//! The fleet's conformance checks against real directories: the same
//! answers as `MemoryStore`, awkward keys kept apart and inside the store,
//! exactly one winner among racing swaps; blocking and async.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

#[cfg(feature = "tokio")]
use common::runtime;
use common::{files_under, Scratch};
use tokendance::fleet::conformance::{check_store, sample_record, AWKWARD_KEYS};
use tokendance::fleet::{StoreAnswer, StoreError, StoreOp, MAX_NAME_BYTES, MAX_RECORD_BYTES};
#[cfg(feature = "tokio")]
use tokendance_store_file::AsyncFileStore;
use tokendance_store_file::FileStore;
use tokendance_store_testkit::assert_races;

#[test]
fn the_blocking_store_answers_as_the_memory_store() {
    let scratch = Scratch::new("check");
    let store = FileStore::open(scratch.store_dir()).unwrap();
    check_store(&scratch.prefix, &mut |op| store.apply(op)).unwrap();
}

#[cfg(feature = "tokio")]
#[test]
fn the_async_store_answers_as_the_memory_store() {
    let scratch = Scratch::new("check-async");
    let store = AsyncFileStore::open(scratch.store_dir()).unwrap();
    let rt = runtime();
    check_store(&scratch.prefix, &mut |op| rt.block_on(store.apply(op))).unwrap();
}

#[test]
fn one_of_eight_blocking_stores_wins_each_race() {
    let scratch = Scratch::new("race");
    let dir = scratch.store_dir();
    assert_races(
        &scratch.prefix,
        || FileStore::open(&dir).unwrap(),
        |store, op| store.apply(op),
    );
}

#[cfg(feature = "tokio")]
#[test]
fn one_of_eight_async_stores_wins_each_race() {
    let scratch = Scratch::new("race-async");
    let dir = scratch.store_dir();
    // Each racer has its own runtime and store, as separate processes would.
    let connect = || (runtime(), AsyncFileStore::open(&dir).unwrap());
    assert_races(&scratch.prefix, connect, |(rt, store), op| {
        rt.block_on(store.apply(op))
    });
}

/// The key a record file's path spells in hex (the documented layout).
fn key_of(dir: &Path, record: &Path) -> String {
    let rel = record.strip_prefix(dir).unwrap().to_str().unwrap();
    let hex: String = rel.strip_suffix(".rec").unwrap().replace('/', "");
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    String::from_utf8(bytes).unwrap()
}

#[test]
fn awkward_keys_stay_apart_and_inside_the_store() {
    let scratch = Scratch::new("inside");
    let store = FileStore::open(scratch.store_dir()).unwrap();
    check_store(&scratch.prefix, &mut |op| store.apply(op)).unwrap();
    // Nothing was written next to the store directory...
    let beside: Vec<_> = std::fs::read_dir(&scratch.root)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(beside, ["store"]);
    // ...and inside it, only one record, lock and temporary file per key,
    // named by the key's hex.
    let files = files_under(store.dir());
    let mut keys = BTreeSet::new();
    for file in &files {
        let name = file.file_name().unwrap().to_str().unwrap();
        let (stem, suffix) = name.rsplit_once('.').unwrap();
        assert!(["rec", "lock", "tmp"].contains(&suffix), "{name}");
        assert!(
            stem.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
            "{name}"
        );
        if suffix == "rec" {
            keys.insert(key_of(store.dir(), file));
        }
    }
    let mut want: BTreeSet<String> = AWKWARD_KEYS
        .iter()
        .map(|k| format!("{}:{k}", scratch.prefix))
        .collect();
    want.insert(format!("{}:large", scratch.prefix));
    assert_eq!(keys, want);
    for key in &want {
        assert_eq!(
            store.record_path(key).map(|p| key_of(store.dir(), &p)).as_ref(),
            Some(key)
        );
    }
}

#[test]
fn long_keys_stay_apart_across_directory_levels() {
    let scratch = Scratch::new("long");
    let store = FileStore::open(scratch.store_dir()).unwrap();
    // Around each cut into directories (100 and 200 bytes) and at the
    // largest key; ones that differ only in their last byte.
    let mut keys = Vec::new();
    for len in [99, 100, 101, 199, 200, 201, MAX_NAME_BYTES] {
        for last in ["a", "A"] {
            keys.push(format!("{}{last}", "k".repeat(len - 1)));
        }
    }
    for (i, key) in keys.iter().enumerate() {
        let record = sample_record(key, 1, 10 + i);
        assert_eq!(
            store.apply(&StoreOp::swap(0, key.clone(), None, &record)),
            Ok(StoreAnswer::Swapped),
            "{}",
            key.len()
        );
    }
    for (i, key) in keys.iter().enumerate() {
        let want = sample_record(key, 1, 10 + i).to_json();
        assert_eq!(
            store.apply(&StoreOp::read(0, key.clone())),
            Ok(StoreAnswer::Found(Some(want)))
        );
        let path = store.record_path(key).unwrap();
        assert!(path.file_name().unwrap().len() <= 255);
        assert_eq!(&key_of(store.dir(), &path), key);
    }
}

#[test]
fn files_this_store_does_not_write_are_corrupt() {
    let scratch = Scratch::new("corrupt");
    let store = FileStore::open(scratch.store_dir()).unwrap();
    let key = format!("{}:k", scratch.prefix);
    let path = store.record_path(&key).unwrap();
    let record = sample_record(&key, 1, 40);
    let oversized = format!(
        "tokendance-file-store 1 1 {}\n{}",
        MAX_RECORD_BYTES + 1,
        "x".repeat(MAX_RECORD_BYTES + 1)
    );
    let cases: Vec<Vec<u8>> = vec![
        record.to_json(), // the JSON alone, without the header
        b"tokendance-file-store 1 1 5\nSECRET-TOKEN".to_vec(),
        b"tokendance-file-store 9 1 3\nabc".to_vec(),
        b"".to_vec(),
        oversized.into_bytes(),
        vec![b'x'; 10 * MAX_RECORD_BYTES],
    ];
    for content in cases {
        std::fs::write(&path, &content).unwrap();
        for op in [
            StoreOp::read(0, key.clone()),
            StoreOp::swap(0, key.clone(), Some(1), &sample_record(&key, 2, 40)),
        ] {
            let answer = store.apply(&op);
            let Err(StoreError::Corrupt(why)) = &answer else {
                panic!(
                    "{answer:?} for {:?}",
                    String::from_utf8_lossy(&content[..content.len().min(40)])
                );
            };
            assert!(!why.contains("SECRET"), "{why}");
        }
        // The swap did not overwrite what it could not read.
        assert_eq!(std::fs::read(&path).unwrap(), content);
    }
}

#[test]
fn what_no_keeper_makes_is_refused_and_not_written() {
    let scratch = Scratch::new("refused");
    let store = FileStore::open(scratch.store_dir()).unwrap();
    let key = format!("{}:k", scratch.prefix);
    let too_large = sample_record(&key, 1, MAX_RECORD_BYTES);
    let answer = store.apply(&StoreOp::swap(0, key.clone(), None, &too_large));
    let Err(StoreError::Unavailable(why)) = &answer else {
        panic!("{answer:?}")
    };
    assert!(!why.contains("ABCDEFGHIJ"), "the token is not quoted: {why}");
    assert_eq!(store.apply(&StoreOp::read(0, key)), Ok(StoreAnswer::Found(None)));
    for key in [String::new(), "k".repeat(MAX_NAME_BYTES + 1)] {
        assert!(matches!(
            store.apply(&StoreOp::read(0, key)),
            Err(StoreError::Unavailable(_))
        ));
    }
    // Only the lock file the read took.
    let files = files_under(store.dir());
    assert!(
        files.iter().all(|f| f.extension().unwrap() == "lock"),
        "{files:?}"
    );
}

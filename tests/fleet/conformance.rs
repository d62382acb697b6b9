//! The store checks themselves: the reference passes them, and stores that
//! break a rule fail them (so an adapter that passes keeps the rules).

use std::sync::{Arc, Mutex};

use tokendance::fleet::conformance::{check_races, check_store, sample_record};
use tokendance::fleet::{MemoryStore, StoreAnswer, StoreOp, StoreOpKind, MAX_RECORD_BYTES};

#[test]
fn the_memory_store_passes() {
    let mut store = MemoryStore::default();
    check_store("mem", &mut |op| Ok(store.apply(op))).unwrap();
    let shared = Arc::new(Mutex::new(MemoryStore::default()));
    check_races(
        "mem",
        8,
        50,
        || Arc::clone(&shared),
        |s, op| Ok(s.lock().unwrap().apply(op)),
    )
    .unwrap();
}

#[test]
fn the_largest_record_is_as_large_as_a_keeper_reads() {
    let small = sample_record("k", 1, 1).to_json().len();
    let large = sample_record("k", 1, MAX_RECORD_BYTES - small + 1)
        .to_json()
        .len();
    assert_eq!(large, MAX_RECORD_BYTES);
}

#[test]
fn stores_that_break_a_rule_fail() {
    // Keys folded to lower case (a case-insensitive file system).
    let mut folded = MemoryStore::default();
    let err = check_store("x", &mut |op| {
        Ok(folded.apply(&rekey(op, op.key().to_lowercase())))
    })
    .unwrap_err();
    assert!(err.contains("key"), "{err}");
    // Keys with '/' dropped (a path built by hand).
    let mut flattened = MemoryStore::default();
    assert!(check_store("x", &mut |op| Ok(
        flattened.apply(&rekey(op, op.key().replace('/', "")))
    ))
    .is_err());
    // Records cut at 32 KiB.
    let mut cut = MemoryStore::default();
    let err = check_store("x", &mut |op| {
        Ok(match cut.apply(op) {
            StoreAnswer::Found(Some(mut bytes)) => {
                bytes.truncate(32 * 1024);
                StoreAnswer::Found(Some(bytes))
            }
            other => other,
        })
    })
    .unwrap_err();
    assert!(err.contains("largest"), "{err}");
    // A compare-and-set that is not atomic: read, then write, unlocked.
    let shared = Arc::new(Mutex::new(MemoryStore::default()));
    let racy = |s: &mut Arc<Mutex<MemoryStore>>, op: &StoreOp| {
        let StoreOpKind::Swap { expected, .. } = op.kind() else {
            return Ok(s.lock().unwrap().apply(op));
        };
        let current = match s.lock().unwrap().apply(&StoreOp::read(0, op.key())) {
            StoreAnswer::Found(found) => {
                found.map(|b| tokendance::fleet::Record::from_json(&b).unwrap().version)
            }
            _ => None,
        };
        std::thread::yield_now();
        if current != *expected {
            return Ok(StoreAnswer::Conflict);
        }
        let mut store = s.lock().unwrap();
        let forced = StoreOp::swap(
            op.id(),
            op.key(),
            store_version(&mut store, op.key()),
            &record_of(op),
        );
        Ok(store.apply(&forced))
    };
    let err = check_races("x", 8, 200, || Arc::clone(&shared), racy).unwrap_err();
    assert!(err.contains("won"), "{err}");
}

fn rekey(op: &StoreOp, key: String) -> StoreOp {
    match op.kind() {
        StoreOpKind::Read => StoreOp::read(op.id(), key),
        StoreOpKind::Swap { expected, .. } => StoreOp::swap(op.id(), key, *expected, &record_of(op)),
    }
}

fn record_of(op: &StoreOp) -> tokendance::fleet::Record {
    let StoreOpKind::Swap { bytes, .. } = op.kind() else {
        unreachable!()
    };
    tokendance::fleet::Record::from_json(bytes).unwrap()
}

fn store_version(store: &mut MemoryStore, key: &str) -> Option<u64> {
    store.get(key).map(|r| r.version)
}

/// A store that fails is reported, never waited on for ever: every thread
/// keeps meeting the rounds' barriers.
#[test]
fn a_failing_store_fails_the_race_check_without_hanging() {
    let err = check_races(
        "x",
        4,
        5,
        || (),
        |_, _| Err(tokendance::fleet::StoreError::Timeout),
    )
    .unwrap_err();
    assert!(err.contains("Timeout"), "{err}");
    let flaky = std::sync::atomic::AtomicUsize::new(0);
    let shared = Arc::new(Mutex::new(MemoryStore::default()));
    let one_fails = |s: &mut Arc<Mutex<MemoryStore>>, op: &StoreOp| {
        if flaky.fetch_add(1, std::sync::atomic::Ordering::Relaxed) == 3 {
            return Err(tokendance::fleet::StoreError::Unavailable("gone".into()));
        }
        Ok(s.lock().unwrap().apply(op))
    };
    assert!(check_races("y", 4, 5, || Arc::clone(&shared), one_fails).is_err());
}

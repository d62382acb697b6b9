//! The store checks themselves: the reference passes them, and stores that
//! break a rule fail them (so an adapter that passes keeps the rules). The
//! race check, which needs threads, is tested where it lives: in the
//! workspace's `tokendance-store-testkit` (`stores/testkit/tests`).

use tokendance::fleet::conformance::{check_store, sample_record};
use tokendance::fleet::{MemoryStore, StoreAnswer, StoreOp, StoreOpKind, MAX_RECORD_BYTES};

#[test]
fn the_memory_store_passes() {
    let mut store = MemoryStore::default();
    check_store("mem", &mut |op| Ok(store.apply(op))).unwrap();
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

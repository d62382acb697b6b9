//! The keeper helpers against the reference store: a renewal is shared,
//! and a store that loses what was published fails them.

use std::sync::{Arc, Mutex};

use tokendance::fleet::{FleetKeeper, FleetSettings, MemoryStore, StoreAnswer, StoreOp, StoreOpKind};
use tokendance_store_testkit::{fresh_prefix, reads_the_token, renew_and_share};

#[test]
fn a_renewal_on_the_memory_store_reaches_a_second_and_a_third_keeper() {
    let store = Arc::new(Mutex::new(MemoryStore::default()));
    let (a, b) = (Arc::clone(&store), Arc::clone(&store));
    let key = format!("{}:k", fresh_prefix("keeper"));
    let later = renew_and_share(&key, &mut |op| Ok(a.lock().unwrap().apply(op)), &mut |op| {
        Ok(b.lock().unwrap().apply(op))
    });
    let mut c = FleetKeeper::new(key, "pod-c", FleetSettings::default()).unwrap();
    reads_the_token(&mut c, later, &mut |op| Ok(store.lock().unwrap().apply(op)));
}

/// The publish answered as done and never written: the record b's handle
/// reads is still at the claim's version.
#[test]
#[should_panic(expected = "left == right")]
fn a_store_that_drops_the_publish_fails() {
    let store = Arc::new(Mutex::new(MemoryStore::default()));
    let (a, b) = (Arc::clone(&store), Arc::clone(&store));
    let mut swaps = 0;
    let mut forgetful = |op: &StoreOp| {
        if matches!(op.kind(), StoreOpKind::Swap { .. }) {
            swaps += 1;
            if swaps == 2 {
                return Ok(StoreAnswer::Swapped);
            }
        }
        Ok(a.lock().unwrap().apply(op))
    };
    renew_and_share("k", &mut forgetful, &mut |op| Ok(b.lock().unwrap().apply(op)));
}

//! The race checks themselves: the reference passes them, and stores that
//! break the rule (one winner a round) fail them, also without hanging.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use tokendance::fleet::{MemoryStore, Record, StoreAnswer, StoreError, StoreOp, StoreOpKind};
use tokendance_store_testkit::{assert_races, check_races, check_shared_races};

type Shared = Arc<Mutex<MemoryStore>>;

fn shared() -> Shared {
    Arc::new(Mutex::new(MemoryStore::default()))
}

fn memory(store: &mut Shared, op: &StoreOp) -> Result<StoreAnswer, StoreError> {
    Ok(store.lock().unwrap().apply(op))
}

#[test]
fn the_memory_store_passes() {
    let store = shared();
    check_races("mem", 8, 50, || Arc::clone(&store), memory).unwrap();
    let store = shared();
    assert_races("mem", || Arc::clone(&store), memory);
}

/// A compare-and-set that is not atomic: read, then write, unlocked.
#[test]
fn a_racy_store_fails() {
    let store = shared();
    let racy = |s: &mut Shared, op: &StoreOp| {
        let StoreOpKind::Swap { expected, bytes, .. } = op.kind() else {
            return memory(s, op);
        };
        let current = s.lock().unwrap().get(op.key()).map(|r| r.version);
        std::thread::yield_now();
        if current != *expected {
            return Ok(StoreAnswer::Conflict);
        }
        let mut store = s.lock().unwrap();
        let now = store.get(op.key()).map(|r| r.version);
        let forced = StoreOp::swap(op.id(), op.key(), now, &Record::from_json(bytes).unwrap());
        Ok(store.apply(&forced))
    };
    let err = check_races("x", 8, 200, || Arc::clone(&store), racy).unwrap_err();
    assert!(err.contains("won"), "{err}");
}

/// A store that fails is reported, never waited on for ever: every thread
/// keeps meeting the rounds' barriers.
#[test]
fn a_failing_store_fails_the_race_check_without_hanging() {
    let err = check_races("x", 4, 5, || (), |_, _| Err(StoreError::Timeout)).unwrap_err();
    assert!(err.contains("Timeout"), "{err}");
    let flaky = AtomicUsize::new(0);
    let store = shared();
    let one_fails = |s: &mut Shared, op: &StoreOp| {
        if flaky.fetch_add(1, Ordering::Relaxed) == 3 {
            return Err(StoreError::Unavailable("gone".into()));
        }
        memory(s, op)
    };
    assert!(check_races("y", 4, 5, || Arc::clone(&store), one_fails).is_err());
}

#[test]
#[should_panic(expected = "8 stores racing 50 rounds")]
fn assert_races_panics_with_the_failure() {
    assert_races("x", || (), |_, _| Err(StoreError::Timeout));
}

/// Polls `future` to its end: the futures here are ready at once.
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
    }
}

#[test]
fn shared_races_on_the_memory_store_pass() {
    let store = shared();
    let send = |op: StoreOp| std::future::ready(memory(&mut Arc::clone(&store), &op));
    block_on(check_shared_races("mem", 16, 20, send)).unwrap();
}

#[test]
fn shared_races_that_two_win_or_none_wins_or_that_fail_are_reported() {
    let cases = [
        (Ok(StoreAnswer::Swapped), "2 swaps"),
        (Ok(StoreAnswer::Conflict), "0 swaps"),
        (Err(StoreError::Timeout), "Timeout"),
    ];
    for (answer, says) in cases {
        let send = |_: StoreOp| std::future::ready(answer.clone());
        let err = block_on(check_shared_races("x", 2, 3, send)).unwrap_err();
        assert!(err.contains(says), "{err}");
    }
    // Every round won once, but the record is not where the rounds left it.
    let store = shared();
    let lost = |op: StoreOp| {
        std::future::ready(match op.kind() {
            StoreOpKind::Read => Ok(StoreAnswer::Found(None)),
            StoreOpKind::Swap { .. } => memory(&mut Arc::clone(&store), &op),
        })
    };
    let err = block_on(check_shared_races("x", 4, 3, lost)).unwrap_err();
    assert!(err.contains("reading the raced record"), "{err}");
}

//! "Use the token you have" must cost nothing: the ITC session's and the SUZ
//! keeper's fresh-token answers allocate nothing. Proved with a counting
//! allocator (a count, not a timing), per thread so parallel tests do not mix.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use tokendance::crpt::{KeeperAction, TokenKeeper};
use tokendance::fleet::{FleetAction, FleetKeeper, FleetSettings, MemoryStore};
use tokendance::oauth2::SessionAction;
use tokendance::{itc, AccessToken, Password, TokenSet};

mod common;
use common::keycloak;
use common::time::{at, T0};

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|c| c.set(c.get() + 1));
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.with(|c| c.set(c.get() + 1));
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// How many allocations `f` makes on this thread.
fn allocations_of<T>(f: impl FnOnce() -> T) -> (T, u64) {
    let before = ALLOCATIONS.with(Cell::get);
    let value = f();
    (value, ALLOCATIONS.with(Cell::get) - before)
}

#[test]
fn the_counter_counts() {
    let (_, n) = allocations_of(|| vec![1u8; 10]);
    assert_eq!(n, 1);
}

#[test]
fn a_fresh_itc_token_is_answered_without_allocating() {
    let mut session = itc::session(
        &itc::Config::staging(),
        itc::STAGING_TEST_USERNAME,
        Password::new(itc::STAGING_TEST_PASSWORD),
    )
    .unwrap();
    let SessionAction::Send(_) = session.poll(T0).unwrap() else {
        panic!("a grant first")
    };
    session
        .handle_response(T0, keycloak::token("eyJ.a", "eyJ.r"))
        .unwrap();
    for seconds in [0, 1, 100, 269] {
        let now = at(seconds);
        let (fresh, n) = allocations_of(|| matches!(session.poll(now), Ok(SessionAction::UseToken(_))));
        assert!(fresh, "at +{seconds} s");
        assert_eq!(n, 0, "allocations at +{seconds} s");
    }
    // Once due, the answer is a request, which of course allocates.
    let (due, n) = allocations_of(|| matches!(session.poll(at(270)), Ok(SessionAction::Send(_))));
    assert!(due);
    assert!(n > 0);
}

#[test]
fn a_fresh_suz_token_is_answered_without_allocating() {
    let mut keeper = TokenKeeper::new("conn-1");
    let KeeperAction::Renew(ticket) = keeper.poll(T0) else {
        panic!("a renewal first")
    };
    let token = TokenSet::new(AccessToken::new("58f908f1"), T0, Some(at(36_000)));
    keeper.renewed(ticket, token).unwrap();
    let (fresh, n) = allocations_of(|| matches!(keeper.poll(T0), KeeperAction::UseToken(_)));
    assert!(fresh);
    assert_eq!(n, 0);
}

/// The fleet keeper's fresh path answers from memory: no store operation
/// and no allocation, as the single-process keeper's.
#[test]
fn a_fresh_fleet_token_is_answered_without_allocating() {
    let mut store = MemoryStore::default();
    let mut keeper = FleetKeeper::new("crpt:suz:conn-1", "pod-a", FleetSettings::default()).unwrap();
    // Sign in through the store: read, claim, publish.
    let token = TokenSet::new(AccessToken::new("58f908f1"), T0, Some(at(36_000)));
    let mut token = Some(token);
    for _ in 0..10 {
        match keeper.poll(T0) {
            FleetAction::UseToken(_) => break,
            FleetAction::Store(op) => {
                let id = op.id();
                let answer = store.apply(&op);
                keeper.store_answered(T0, id, Ok(answer)).unwrap();
            }
            FleetAction::Renew(ticket) => {
                keeper
                    .renewed(ticket, T0, token.take().expect("one renewal"))
                    .unwrap();
            }
            FleetAction::Wait(until) => panic!("a wait until {until:?} with an empty store"),
        }
    }
    for seconds in [0, 1, 100, 30_000] {
        let now = at(seconds);
        let (fresh, n) = allocations_of(|| matches!(keeper.poll(now), FleetAction::UseToken(_)));
        assert!(fresh, "at +{seconds} s");
        assert_eq!(n, 0, "allocations at +{seconds} s");
    }
    // Once due, the keeper reads the store: an operation, which allocates.
    let (read, n) = allocations_of(|| matches!(keeper.poll(at(35_900)), FleetAction::Store(_)));
    assert!(read);
    assert!(n > 0);
}

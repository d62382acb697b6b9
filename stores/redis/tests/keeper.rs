//! A FleetKeeper driven against the real server through a whole renewal:
//! read, claim, fence, renewed, publish; a second keeper on another
//! connection then reads the published token back.

mod common;

use std::time::Duration;

use common::{fresh_prefix, runtime, url, TIMEOUT};
use tokendance::fleet::{
    Fence, FleetAction, FleetKeeper, FleetSettings, FleetTicket, StoreAnswer, StoreError, StoreOp,
};
use tokendance::{AccessToken, Timestamp, TokenSet};
use tokendance_store_redis::{AsyncRedisStore, RedisStore};

/// Drives `keeper`'s store operations through `apply` until it says
/// something else: the ticket if it was handed the lease.
fn settle(
    keeper: &mut FleetKeeper,
    now: Timestamp,
    apply: &mut dyn FnMut(&StoreOp) -> Result<StoreAnswer, StoreError>,
) -> Option<FleetTicket> {
    loop {
        match keeper.poll(now) {
            FleetAction::Store(op) => {
                let answer = apply(&op);
                assert!(answer.is_ok(), "{answer:?}");
                keeper.store_answered(now, op.id(), answer).unwrap();
            }
            FleetAction::Renew(ticket) => return Some(ticket),
            _ => return None,
        }
    }
}

/// The renewal of the FleetKeeper doc example, with each keeper on its own
/// store handle.
fn renew_and_share(
    key: &str,
    apply_a: &mut dyn FnMut(&StoreOp) -> Result<StoreAnswer, StoreError>,
    apply_b: &mut dyn FnMut(&StoreOp) -> Result<StoreAnswer, StoreError>,
) {
    let mut a = FleetKeeper::new(key, "pod-a", FleetSettings::default()).unwrap();
    let mut b = FleetKeeper::new(key, "pod-b", FleetSettings::default()).unwrap();
    let now = Timestamp::from_unix_secs(1_000);
    let ticket = settle(&mut a, now, apply_a).expect("a claims the lease");
    assert!(settle(&mut b, now, apply_b).is_none(), "b waits: a is renewing");
    let Fence::Check(read) = a.fence(&ticket, now).unwrap() else {
        panic!("the fence reads the record")
    };
    let answer = apply_a(&read);
    a.store_answered(now, read.id(), answer).unwrap();
    assert_eq!(a.fence(&ticket, now).unwrap(), Fence::Proceed);
    let expires = now.saturating_add(Duration::from_secs(36_000));
    a.renewed(
        ticket,
        now,
        TokenSet::new(AccessToken::new("t-redis-1"), now, Some(expires)),
    )
    .unwrap();
    assert!(settle(&mut a, now, apply_a).is_none(), "a published");
    assert!(matches!(a.poll(now), FleetAction::UseToken(t) if t.expose_secret() == "t-redis-1"));

    let later = now.saturating_add(Duration::from_secs(2));
    let FleetAction::Store(read) = b.poll(later) else {
        panic!("b reads the record again")
    };
    let answer = apply_b(&read);
    b.store_answered(later, read.id(), answer).unwrap();
    assert!(matches!(b.poll(later), FleetAction::UseToken(t) if t.expose_secret() == "t-redis-1"));
}

#[test]
fn a_renewal_through_the_blocking_store_reaches_a_second_keeper() {
    let mut store_a = RedisStore::open(&url(), TIMEOUT).unwrap();
    let mut store_b = RedisStore::open(&url(), TIMEOUT).unwrap();
    renew_and_share(
        &format!("{}:crpt:suz:conn-1", fresh_prefix("keeper")),
        &mut |op| store_a.apply(op),
        &mut |op| store_b.apply(op),
    );
}

#[test]
fn a_renewal_through_the_async_store_reaches_a_second_keeper() {
    let rt = runtime();
    let store_a = AsyncRedisStore::open(&url(), TIMEOUT).unwrap();
    let store_b = AsyncRedisStore::open(&url(), TIMEOUT).unwrap();
    renew_and_share(
        &format!("{}:crpt:suz:conn-1", fresh_prefix("keeper-async")),
        &mut |op| rt.block_on(store_a.apply(op)),
        &mut |op| rt.block_on(store_b.apply(op)),
    );
}

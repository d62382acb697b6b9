//! Two keepers on the store: one renews (read, claim, fence, renewed,
//! publish), the other reads the token it published.

mod common;

use std::time::Duration;

use tokendance::fleet::{
    Fence, FleetAction, FleetKeeper, FleetSettings, FleetTicket, StoreAnswer, StoreError, StoreOp,
};
use tokendance::{AccessToken, Timestamp, TokenSet};

/// A store, as the keepers drive it.
type Apply<'a> = dyn FnMut(&StoreOp) -> Result<StoreAnswer, StoreError> + 'a;

/// Answers the keeper's store operations until it says something else:
/// the lease, if it took it.
fn settle(keeper: &mut FleetKeeper, now: Timestamp, apply: &mut Apply<'_>) -> Option<FleetTicket> {
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

fn renew_and_share(key: &str, apply: &mut Apply<'_>) {
    let mut a = FleetKeeper::new(key, "pod-a", FleetSettings::default()).unwrap();
    let mut b = FleetKeeper::new(key, "pod-b", FleetSettings::default()).unwrap();
    let now = Timestamp::from_unix_secs(1_000);

    // a reads no record and claims the lease; b finds it taken.
    let ticket = settle(&mut a, now, apply).expect("a holds the lease");
    assert!(settle(&mut b, now, apply).is_none(), "b waits: a is renewing");

    // Right before the request that issues the token, the fence.
    let Fence::Check(read) = a.fence(&ticket, now).unwrap() else {
        panic!("no fence check")
    };
    a.store_answered(now, read.id(), apply(&read)).unwrap();
    assert_eq!(a.fence(&ticket, now).unwrap(), Fence::Proceed);

    let expires = now.saturating_add(Duration::from_secs(36_000));
    let token = TokenSet::new(AccessToken::new("t-from-pod-a"), now, Some(expires));
    a.renewed(ticket, now, token).unwrap();
    assert!(settle(&mut a, now, apply).is_none(), "published");
    assert!(matches!(a.poll(now), FleetAction::UseToken(t) if t.expose_secret() == "t-from-pod-a"));

    // b reads the record a published and uses its token.
    let later = now.saturating_add(Duration::from_secs(2));
    let FleetAction::Store(read) = b.poll(later) else {
        panic!("b does not read")
    };
    b.store_answered(later, read.id(), apply(&read)).unwrap();
    assert!(matches!(b.poll(later), FleetAction::UseToken(t) if t.expose_secret() == "t-from-pod-a"));
    let record = b.record().expect("b saw the record");
    assert_eq!(
        record.token.as_ref().map(|t| t.published_version),
        Some(record.version)
    );
}

#[test]
fn a_renewal_through_the_blocking_store_reaches_a_second_keeper() {
    let mut store = common::blocking();
    let key = format!("{}:crpt:suz:conn-1", common::prefix("keeper"));
    renew_and_share(&key, &mut |op| store.apply(op));
}

#[test]
fn a_renewal_through_the_async_store_reaches_a_second_keeper() {
    let runtime = common::runtime();
    let store = runtime.block_on(common::asynchronous());
    let key = format!("{}:crpt:suz:conn-1", common::prefix("keeper-async"));
    renew_and_share(&key, &mut |op| runtime.block_on(store.apply(op)));
}

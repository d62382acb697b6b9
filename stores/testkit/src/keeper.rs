//! `FleetKeeper`s through a whole renewal on a real store.

use std::time::Duration;

use tokendance::fleet::conformance::Apply;
use tokendance::fleet::{
    Fence, FleetAction, FleetKeeper, FleetSettings, FleetTicket, Record, StoreAnswer, StoreOp,
};
use tokendance::{AccessToken, Timestamp, TokenSet};

/// The token [`renew_and_share`] publishes.
pub const TOKEN: &str = "t-1-renewed-through-the-store";

/// Carries out `keeper`'s store operations through `apply` until it says
/// something else: the ticket, if it was handed the lease. Every operation
/// must succeed.
pub fn settle(keeper: &mut FleetKeeper, now: Timestamp, apply: &mut Apply<'_>) -> Option<FleetTicket> {
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

/// Asserts that `keeper`, at `now`, reads the record once through `apply`
/// and then uses [`TOKEN`], as a keeper does once another published it.
pub fn reads_the_token(keeper: &mut FleetKeeper, now: Timestamp, apply: &mut Apply<'_>) {
    let FleetAction::Store(read) = keeper.poll(now) else {
        panic!("the keeper does not read the record")
    };
    keeper.store_answered(now, read.id(), apply(&read)).unwrap();
    assert!(matches!(keeper.poll(now), FleetAction::UseToken(t) if t.expose_secret() == TOKEN));
}

/// The renewal of the `FleetKeeper` doc example on `key` (fresh: no record
/// yet), each keeper on its own store handle: keeper a reads no record,
/// claims the lease, fences, is renewed and publishes [`TOKEN`] while b
/// waits; in the store, the token published by the version after the
/// claim, with the lease gone; then b reads the record once and uses the
/// token. Returns the instant b read it, for keepers the caller adds.
pub fn renew_and_share(key: &str, apply_a: &mut Apply<'_>, apply_b: &mut Apply<'_>) -> Timestamp {
    let mut a = FleetKeeper::new(key, "pod-a", FleetSettings::default()).unwrap();
    let mut b = FleetKeeper::new(key, "pod-b", FleetSettings::default()).unwrap();
    let now = Timestamp::from_unix_secs(1_700_000_000);

    let ticket = settle(&mut a, now, apply_a).expect("a reads no record and claims the lease");
    assert!(settle(&mut b, now, apply_b).is_none(), "b waits: a is renewing");
    // Right before the request that issues the token, the fence.
    let Fence::Check(read) = a.fence(&ticket, now).unwrap() else {
        panic!("the fence reads the record")
    };
    a.store_answered(now, read.id(), apply_a(&read)).unwrap();
    assert_eq!(a.fence(&ticket, now).unwrap(), Fence::Proceed);
    let expires = now.saturating_add(Duration::from_secs(36_000));
    a.renewed(
        ticket,
        now,
        TokenSet::new(AccessToken::new(TOKEN), now, Some(expires)),
    )
    .unwrap();
    assert!(settle(&mut a, now, apply_a).is_none(), "a publishes");
    assert!(matches!(a.poll(now), FleetAction::UseToken(t) if t.expose_secret() == TOKEN));

    // In the store, as b's handle reads it.
    let found = apply_b(&StoreOp::read(0, key)).unwrap();
    let StoreAnswer::Found(Some(bytes)) = found else {
        panic!("{found:?}")
    };
    let record = Record::from_json(&bytes).unwrap();
    assert_eq!(record.version, 2);
    assert!(record.lease.is_none());
    assert_eq!(record.live_token().map(|t| t.published_version), Some(2));

    let later = now.saturating_add(Duration::from_secs(2));
    reads_the_token(&mut b, later, apply_b);
    let seen = b.record().expect("b saw the record");
    assert_eq!(
        seen.token.as_ref().map(|t| t.published_version),
        Some(seen.version)
    );
    later
}

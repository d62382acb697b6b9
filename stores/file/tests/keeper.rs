//! A whole renewal through the file store: one keeper reads, claims the
//! lease, fences, renews and publishes; a second keeper, with a store
//! handle of its own, waits meanwhile and then reads the token.

mod common;

use std::time::Duration;

use common::Scratch;
use tokendance::fleet::{
    Fence, FleetAction, FleetKeeper, FleetSettings, FleetTicket, Record, StoreAnswer, StoreOp,
};
use tokendance::{AccessToken, Timestamp, TokenSet};
use tokendance_store_file::FileStore;

/// Carries out a keeper's store operations until it says something else.
fn settle(keeper: &mut FleetKeeper, store: &FileStore, now: Timestamp) -> Option<FleetTicket> {
    loop {
        match keeper.poll(now) {
            FleetAction::Store(op) => keeper.store_answered(now, op.id(), store.apply(&op)).unwrap(),
            FleetAction::Renew(ticket) => break Some(ticket),
            _ => break None,
        }
    }
}

#[test]
fn a_renewal_is_published_and_read_by_another_keeper() {
    let scratch = Scratch::new("keeper");
    let key = format!("{}:crpt:suz:conn-1", scratch.prefix);
    let (store_a, store_b) = (
        FileStore::open(scratch.store_dir()).unwrap(),
        FileStore::open(scratch.store_dir()).unwrap(),
    );
    let mut a = FleetKeeper::new(key.clone(), "pod-a", FleetSettings::default()).unwrap();
    let mut b = FleetKeeper::new(key.clone(), "pod-b", FleetSettings::default()).unwrap();
    let now = Timestamp::from_unix_secs(1_700_000_000);

    let ticket = settle(&mut a, &store_a, now).expect("a reads and claims the lease");
    assert!(settle(&mut b, &store_b, now).is_none(), "b waits: a is renewing");
    let Fence::Check(read) = a.fence(&ticket, now).unwrap() else {
        panic!("a checks its lease")
    };
    a.store_answered(now, read.id(), store_a.apply(&read)).unwrap();
    assert_eq!(a.fence(&ticket, now).unwrap(), Fence::Proceed);
    let token = TokenSet::new(
        AccessToken::new("t-1-from-the-file-store"),
        now,
        Some(now.saturating_add(Duration::from_secs(36_000))),
    );
    a.renewed(ticket, now, token).unwrap();
    assert!(settle(&mut a, &store_a, now).is_none(), "a publishes");

    // In the store: the token, published by the version after the claim,
    // with the lease gone.
    let found = store_b.apply(&StoreOp::read(0, key.clone())).unwrap();
    let StoreAnswer::Found(Some(bytes)) = found else {
        panic!("{found:?}")
    };
    let record = Record::from_json(&bytes).unwrap();
    assert_eq!(record.version, 2);
    assert!(record.lease.is_none());
    assert_eq!(record.live_token().map(|t| t.published_version), Some(2));

    let later = now.saturating_add(Duration::from_secs(2));
    assert!(settle(&mut b, &store_b, later).is_none());
    assert!(
        matches!(b.poll(later), FleetAction::UseToken(t) if t.expose_secret() == "t-1-from-the-file-store")
    );

    #[cfg(feature = "tokio")]
    {
        // A third keeper in async code finds it too.
        let mut c = FleetKeeper::new(key, "pod-c", FleetSettings::default()).unwrap();
        let store_c = tokendance_store_file::AsyncFileStore::open(scratch.store_dir()).unwrap();
        let rt = common::runtime();
        let FleetAction::Store(read) = c.poll(later) else {
            panic!("c reads the record")
        };
        let answer = rt.block_on(store_c.apply(&read));
        c.store_answered(later, read.id(), answer).unwrap();
        assert!(
            matches!(c.poll(later), FleetAction::UseToken(t) if t.expose_secret() == "t-1-from-the-file-store")
        );
    }
}

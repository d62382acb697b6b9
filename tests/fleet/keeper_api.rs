//! `FleetKeeper` through its public API, one process at a time: what its
//! accessors report, when it next needs a poll, how it gives a lease back,
//! how its fence judges the record, and which store answers it refuses.

use std::time::Duration;

use tokendance::fleet::{
    Fence, FleetAction, FleetKeeper, FleetSettings, FleetTicket, MemoryStore, Record, StoreAnswer,
    StoreError, StoreOp, StoreOpKind,
};
use tokendance::{AccessToken, Error, Timestamp, TokenSet, UsageError};

const KEY: &str = "gam:keeper-api";
const T0: Timestamp = Timestamp::from_unix_secs(1_700_000_000);

fn keeper(holder: &str) -> FleetKeeper {
    FleetKeeper::new(KEY, holder, FleetSettings::default()).unwrap()
}

fn at(secs: u64) -> Timestamp {
    T0.saturating_add(Duration::from_secs(secs))
}

/// Carries out the keeper's store operations at `now` until it says
/// something else; the ticket if it was handed one.
fn settle(k: &mut FleetKeeper, store: &mut MemoryStore, now: Timestamp) -> Option<FleetTicket> {
    loop {
        match k.poll(now) {
            FleetAction::Store(op) => {
                let answer = store.apply(&op);
                k.store_answered(now, op.id(), Ok(answer)).unwrap();
            }
            FleetAction::Renew(ticket) => return Some(ticket),
            _ => return None,
        }
    }
}

/// A token that lives an hour from `now`.
fn hour_token(secret: &str, now: Timestamp) -> TokenSet {
    TokenSet::new(
        AccessToken::new(secret),
        now,
        Some(now.saturating_add(Duration::from_secs(3_600))),
    )
}

/// A keeper that holds the lease at T0, its ticket, and the store.
fn holding(holder: &str) -> (FleetKeeper, FleetTicket, MemoryStore) {
    let (mut k, mut store) = (keeper(holder), MemoryStore::default());
    let ticket = settle(&mut k, &mut store, T0).expect("the lease");
    (k, ticket, store)
}

/// The fence's read, answered with `answer`; what the fence then says.
fn fence_after(k: &mut FleetKeeper, ticket: &FleetTicket, answer: Result<StoreAnswer, StoreError>) -> Fence {
    let Fence::Check(read) = k.fence(ticket, T0).unwrap() else {
        panic!("no check first")
    };
    k.store_answered(T0, read.id(), answer).unwrap();
    k.fence(ticket, T0).unwrap()
}

#[test]
fn the_accessors_report_what_was_configured_and_seen() {
    let settings = FleetSettings {
        recheck: Duration::from_secs(7),
        ..FleetSettings::default()
    };
    let mut k = FleetKeeper::new(KEY, "pod-7", settings).unwrap();
    assert_eq!((k.key(), k.holder()), (KEY, "pod-7"));
    assert_eq!(k.settings(), &settings);
    assert!(k.record().is_none() && !k.renewing());
    let mut store = MemoryStore::default();
    let ticket = settle(&mut k, &mut store, T0).expect("the lease");
    assert!(k.renewing());
    let record = k.record().expect("the claim it wrote");
    assert_eq!(record.version, 1);
    assert_eq!(record.lease.as_ref().map(|l| l.holder.as_str()), Some("pod-7"));
    k.renewed(ticket, T0, hour_token("t-1", T0)).unwrap();
    assert!(!k.renewing());
}

/// Settings that break the guarantees are refused, with a reason.
#[test]
fn settings_without_room_or_over_a_day_are_refused() {
    let refused = |settings: FleetSettings| match settings.validate() {
        Err(Error::Usage(UsageError::InvalidConfig { reason })) => reason,
        other => panic!("{other:?}"),
    };
    let defaults = FleetSettings::default();
    let lease = defaults.pacing.renewal_timeout;
    assert!(refused(FleetSettings {
        fence_margin: lease,
        ..defaults
    })
    .contains("fence margin"));
    assert!(refused(FleetSettings {
        store_timeout: Duration::ZERO,
        ..defaults
    })
    .contains("store_timeout"));
    assert!(refused(FleetSettings {
        recheck: Duration::ZERO,
        ..defaults
    })
    .contains("recheck"));
    let two_days = Duration::from_secs(2 * 86_400);
    assert!(refused(FleetSettings {
        skew: two_days,
        ..defaults
    })
    .contains("over a day"));
    assert!(FleetKeeper::new(
        KEY,
        "p",
        FleetSettings {
            skew: two_days,
            ..defaults
        }
    )
    .is_err());
}

/// A holder that gives up releases the lease with no failure counted:
/// another process claims it at once, without waiting for its end.
#[test]
fn an_abandoned_renewal_releases_the_lease_for_the_next_process() {
    let (mut a, ticket, mut store) = holding("a");
    let mut b = keeper("b");
    assert!(settle(&mut b, &mut store, T0).is_none(), "a holds the lease");
    a.renewal_abandoned(ticket).unwrap();
    assert!(!a.renewing());
    let FleetAction::Store(release) = a.poll(T0) else {
        panic!("no release")
    };
    assert!(matches!(
        release.kind(),
        StoreOpKind::Swap {
            expected: Some(1),
            version: 2,
            ..
        }
    ));
    a.store_answered(T0, release.id(), Ok(store.apply(&release)))
        .unwrap();
    let record = store.get(KEY).unwrap();
    assert!(record.lease.is_none(), "{record:?}");
    assert_eq!(
        (record.version, record.failures, record.backoff_until),
        (2, 0, None)
    );
    // b's read was put off to the end of a's lease; a fresh process claims now.
    let mut c = keeper("c");
    assert!(settle(&mut c, &mut store, at(1)).is_some(), "c waited");
    assert_eq!(
        store.get(KEY).unwrap().lease.map(|l| l.holder),
        Some("c".to_owned())
    );
}

/// The instant of the next poll: the store timeout while an operation is
/// out, the lease end while renewing, at once while a write waits, the
/// renewal time with a token held.
#[test]
fn the_next_deadline_follows_what_the_keeper_waits_for() {
    let settings = FleetSettings::default();
    let (mut k, mut store) = (keeper("a"), MemoryStore::default());
    assert_eq!(k.next_deadline(), Timestamp::EPOCH, "nothing held: poll at once");
    let FleetAction::Store(read) = k.poll(T0) else {
        panic!("no read")
    };
    assert_eq!(k.next_deadline(), T0.saturating_add(settings.store_timeout));
    k.store_answered(T0, read.id(), Ok(store.apply(&read))).unwrap();
    assert_eq!(k.next_deadline(), Timestamp::EPOCH, "the claim is due at once");
    let ticket = settle(&mut k, &mut store, T0).expect("the lease");
    let lease_end = T0.saturating_add(settings.pacing.renewal_timeout);
    assert_eq!(k.next_deadline(), lease_end);
    k.renewed(ticket, at(2), hour_token("t-1", at(2))).unwrap();
    assert_eq!(k.next_deadline(), Timestamp::EPOCH, "the publish is due at once");
    assert!(settle(&mut k, &mut store, at(2)).is_none());
    let renew_at = at(2 + 3_600).saturating_sub(settings.pacing.renew_margin);
    assert_eq!(k.next_deadline(), renew_at);
}

/// A token without an expiry is never due: no deadline at all.
#[test]
fn a_token_that_never_expires_sets_no_deadline() {
    let (mut k, ticket, mut store) = holding("a");
    k.renewed(ticket, T0, TokenSet::new(AccessToken::new("t-forever"), T0, None))
        .unwrap();
    assert!(settle(&mut k, &mut store, T0).is_none());
    assert_eq!(k.next_deadline(), Timestamp::MAX);
    assert!(matches!(k.poll(at(86_400)), FleetAction::UseToken(t) if t.expose_secret() == "t-forever"));
}

/// The fence says lost when the record is not the holder's claim, when its
/// read fails, and when the lease has too little left; the ticket is then void.
#[test]
fn the_fence_is_lost_on_another_record_a_failed_read_or_no_time_left() {
    let (mut k, ticket, _) = holding("a");
    assert_eq!(
        fence_after(&mut k, &ticket, Ok(StoreAnswer::Found(None))),
        Fence::Lost
    );
    assert!(!k.renewing());
    assert!(matches!(
        k.renewed(ticket, T0, hour_token("t", T0)),
        Err(Error::Usage(UsageError::StaleTicket))
    ));

    let (mut k, ticket, _) = holding("a");
    assert_eq!(
        fence_after(&mut k, &ticket, Err(StoreError::Timeout)),
        Fence::Lost
    );
    assert!(!k.renewing());

    let (mut k, ticket, _) = holding("a");
    let Fence::Check(read) = k.fence(&ticket, T0).unwrap() else {
        panic!("no check")
    };
    let settings = FleetSettings::default();
    let late = T0
        .saturating_add(settings.pacing.renewal_timeout)
        .saturating_sub(settings.fence_margin / 2);
    assert_eq!(k.fence(&ticket, late).unwrap(), Fence::Lost);
    // The fence's read was dropped with the ticket.
    let answer = k.store_answered(late, read.id(), Ok(StoreAnswer::Found(None)));
    assert!(matches!(answer, Err(Error::Usage(UsageError::StaleTicket))));
}

/// Asking the fence again while its read is out hands out the same read.
#[test]
fn the_fence_asked_twice_hands_out_the_same_read() {
    let (mut k, ticket, mut store) = holding("a");
    let Fence::Check(first) = k.fence(&ticket, T0).unwrap() else {
        panic!("no check")
    };
    let Fence::Check(again) = k.fence(&ticket, T0).unwrap() else {
        panic!("no check")
    };
    assert_eq!(first, again);
    k.store_answered(T0, again.id(), Ok(store.apply(&again))).unwrap();
    assert_eq!(k.fence(&ticket, T0).unwrap(), Fence::Proceed);
}

/// An answer that does not fit the operation is refused and changes
/// nothing: the operation is still out and takes the right answer after.
#[test]
fn an_answer_that_does_not_fit_the_operation_is_refused() {
    let (mut k, mut store) = (keeper("a"), MemoryStore::default());
    let FleetAction::Store(read) = k.poll(T0) else {
        panic!("no read")
    };
    let wrong = k.store_answered(T0, read.id(), Ok(StoreAnswer::Swapped));
    assert!(matches!(
        wrong,
        Err(Error::Usage(UsageError::UnexpectedStoreAnswer))
    ));
    assert!(
        matches!(k.poll(T0), FleetAction::Wait(_)),
        "the read is still out"
    );
    k.store_answered(T0, read.id(), Ok(store.apply(&read))).unwrap();
    assert!(matches!(k.poll(T0), FleetAction::Store(op) if matches!(op.kind(), StoreOpKind::Swap { .. })));
}

/// Bytes that are no record of this key (garbage, another key's record)
/// are a store failure: the keeper backs off rather than claim over them.
#[test]
fn a_read_of_garbage_or_another_key_backs_off() {
    let mut other = FleetKeeper::new("gam:other", "x", FleetSettings::default()).unwrap();
    let mut store = MemoryStore::default();
    let _lease = settle(&mut other, &mut store, T0).expect("the other key's lease");
    let StoreAnswer::Found(Some(foreign)) = store.apply(&StoreOp::read(1, "gam:other")) else {
        panic!("no other record")
    };
    for bytes in [b"not json".to_vec(), foreign] {
        let mut k = keeper("a");
        let FleetAction::Store(read) = k.poll(T0) else {
            panic!("no read")
        };
        k.store_answered(T0, read.id(), Ok(StoreAnswer::Found(Some(bytes))))
            .unwrap();
        assert!(
            matches!(k.poll(T0), FleetAction::Wait(until) if until > T0),
            "no back-off"
        );
        assert!(k.record().is_none());
    }
}

/// A record that marks the held token's version rejected makes the keeper
/// drop that token, and a 401 for a token it does not hold changes nothing.
#[test]
fn a_token_the_record_marks_rejected_is_dropped() {
    let (mut a, ticket, mut store) = holding("a");
    a.renewed(ticket, T0, hour_token("t-1", T0)).unwrap();
    assert!(settle(&mut a, &mut store, T0).is_none(), "published");
    let mut b = keeper("b");
    assert!(settle(&mut b, &mut store, at(1)).is_none());
    assert!(b.usable_token(at(1)).is_some());
    b.token_rejected(at(1), &AccessToken::new("not-mine"));
    assert!(b.usable_token(at(1)).is_some(), "another token's 401 dropped b's");
    // a is refused: its claim marks version 2 rejected for the fleet.
    a.token_rejected(at(2), &AccessToken::new("t-1"));
    assert!(a.usable_token(at(2)).is_none());
    let ticket = settle(&mut a, &mut store, at(2)).expect("a claims again");
    assert_eq!(store.get(KEY).unwrap().rejected_version, Some(2));
    a.renewal_abandoned(ticket).unwrap();
    assert!(settle(&mut a, &mut store, at(2)).is_none());
    // b's token is due: it reads the record and drops the rejected token.
    let due = at(3_600 - 200);
    assert!(b.usable_token(due).is_some());
    let _ = settle(&mut b, &mut store, due);
    assert!(b.token().is_some_and(TokenSet::is_refused), "{b:?}");
    assert!(b.usable_token(due).is_none());
}

/// A renewal whose publish found the record moved on keeps its own token
/// and publishes it at the next read, once nobody else holds the lease.
#[test]
fn an_unpublished_token_is_published_after_a_conflict() {
    let (mut a, ticket, mut store) = holding("a");
    a.renewed(ticket, T0, hour_token("t-1", T0)).unwrap();
    // Meanwhile someone else wrote (a lease that has already ended).
    let mut moved = store.get(KEY).unwrap();
    moved.version = 2;
    moved.lease = None;
    let swap = StoreOp::swap(99, KEY, Some(1), &moved);
    assert_eq!(store.apply(&swap), StoreAnswer::Swapped);
    // Its publish finds version 2 and is dropped; the token is used still.
    assert!(settle(&mut a, &mut store, T0).is_none());
    assert_eq!(store.get(KEY).unwrap().version, 2);
    assert!(a.usable_token(T0).is_some());
    // Once due, a reads the record and publishes its own token over it.
    let due = at(3_600 - 200);
    for _ in 0..2 {
        let FleetAction::Store(op) = a.poll(due) else {
            panic!("no store operation")
        };
        a.store_answered(due, op.id(), Ok(store.apply(&op))).unwrap();
    }
    let record = store.get(KEY).unwrap();
    assert_eq!(record.version, 3, "published over the newer record");
    let published = record.token.expect("a's token");
    assert_eq!(published.token.access_token().expose_secret(), "t-1");
    assert_eq!(published.published_version, 3);
}

/// The keeper's `Debug` names the key and holder, never the token.
#[test]
fn the_keepers_debug_never_shows_its_token() {
    let (mut k, ticket, mut store) = holding("pod-a");
    k.renewed(ticket, T0, hour_token("eyJ.secret-token", T0)).unwrap();
    assert!(settle(&mut k, &mut store, T0).is_none());
    let debug = format!("{k:?} {store:?}");
    assert!(debug.contains(KEY) && debug.contains("pod-a"), "{debug}");
    assert!(!debug.contains("secret-token"), "{debug}");
    assert_eq!(format!("{store:?}"), format!("{{\"{KEY}\": 2}}"));
    assert_eq!(format!("{:?}", StoreAnswer::Conflict), "Conflict");
    assert_eq!(format!("{:?}", StoreAnswer::Swapped), "Swapped");
}

/// Records with impossible versions are refused when read back.
#[test]
fn records_with_impossible_versions_are_refused() {
    let (_k, _ticket, store) = holding("a");
    let good: serde_json::Value = serde_json::from_slice(&store.get(KEY).unwrap().to_json()).unwrap();
    assert!(Record::from_json(&serde_json::to_vec(&good).unwrap()).is_ok());
    let with = |edit: &dyn Fn(&mut serde_json::Value)| {
        let mut json = good.clone();
        edit(&mut json);
        Record::from_json(&serde_json::to_vec(&json).unwrap())
            .unwrap_err()
            .to_string()
    };
    let lease_ahead = with(&|j| j["lease"]["version"] = 5.into());
    assert!(lease_ahead.contains("lease's version"), "{lease_ahead}");
    let lease_zero = with(&|j| j["lease"]["version"] = 0.into());
    assert!(lease_zero.contains("lease's version"), "{lease_zero}");
    let version_zero = with(&|j| {
        j["version"] = 0.into();
        j["lease"] = serde_json::Value::Null;
    });
    assert!(version_zero.contains("version of 1 or more"), "{version_zero}");
}

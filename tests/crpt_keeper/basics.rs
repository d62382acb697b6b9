//! One keeper, step by step: reuse, renewal, stale tickets, back-off, rejection and snapshots.

use super::*;

#[test]
fn defaults_and_first_renewal() {
    let mut k = TokenKeeper::new(CONN);
    assert_eq!(k.oms_connection(), CONN);
    assert_eq!(k.pacing(), &Pacing::keeper());
    let pacing = k.pacing();
    assert_eq!(pacing.renew_margin, secs(300));
    assert_eq!(pacing.renewal_timeout, secs(300));
    assert_eq!(pacing.min_interval, secs(1));
    assert_eq!(pacing.initial_backoff, secs(1));
    assert_eq!(pacing.max_backoff, secs(300));
    assert_eq!(pacing.max_server_wait, secs(600));
    assert!(k.token().is_none() && !k.renewing() && k.snapshot().is_none());
    // No token: poll now.
    assert_eq!(k.next_deadline(), Timestamp::EPOCH);
    let ticket = renew(k.poll(T0));
    assert!(k.renewing());
    assert_eq!(k.next_deadline(), at(300));
    // Everybody else waits, until the renewal would count as lost.
    for s in [0, 1, 299] {
        assert_eq!(wait(k.poll(at(s))), at(300));
    }
    k.renewed(ticket, token("tok-1", T0, TEN_HOURS)).unwrap();
    assert!(!k.renewing());
    assert_eq!(use_token(k.poll(at(1))), "tok-1");
    assert_eq!(k.next_deadline(), at(36_000 - 300));
    assert_eq!(k.snapshot().map(|s| s.version()), Some(1));
}

#[test]
fn reuse_until_the_margin_then_renew_exactly_once() {
    let mut k = holding("tok-1");
    paced(&mut k, |p| p.renewal_timeout = secs(600));
    let renew_at = at(36_000 - 300);
    let just_before = renew_at.saturating_sub(Duration::from_millis(1));
    for _ in 0..1_000 {
        assert_eq!(use_token(k.poll(just_before)), "tok-1");
    }
    assert!(!k.renewing());
    let ticket = renew(k.poll(renew_at));
    // However many callers poll, the old token is still valid: they use it.
    for s in 0..300 {
        for _ in 0..10 {
            assert_eq!(use_token(k.poll(renew_at.saturating_add(secs(s)))), "tok-1");
        }
    }
    // Once it expired, they wait for the renewal (its lost-at time).
    let expired = at(36_000);
    assert_eq!(wait(k.poll(expired)), renew_at.saturating_add(secs(600)));
    k.renewed(ticket, token("tok-2", expired, TEN_HOURS)).unwrap();
    assert_eq!(use_token(k.poll(expired)), "tok-2");
}

#[test]
fn a_short_lived_token_is_renewed_at_half_life() {
    let mut k = TokenKeeper::new(CONN);
    let ticket = renew(k.poll(T0));
    k.renewed(ticket, token("short", T0, secs(60))).unwrap();
    assert_eq!(k.next_deadline(), at(30));
    assert_eq!(use_token(k.poll(at(29))), "short");
    let _ticket = renew(k.poll(at(30)));
    // A token without expiry is never renewed.
    let mut k = TokenKeeper::new(CONN);
    let ticket = renew(k.poll(T0));
    k.renewed(ticket, TokenSet::new(AccessToken::new("forever"), T0, None))
        .unwrap();
    assert_eq!(k.next_deadline(), Timestamp::MAX);
    assert_eq!(use_token(k.poll(Timestamp::MAX)), "forever");
}

#[test]
fn a_stale_ticket_is_refused_and_its_token_not_kept() {
    let mut k = TokenKeeper::new(CONN);
    let old = renew(k.poll(T0));
    assert_eq!(wait(k.poll(at(299))), at(300));
    // The renewal is taken as lost, which counts as a failure: its ticket is
    // void at once, and the next one comes after the first back-off (1 s).
    assert_eq!(wait(k.poll(at(300))), at(301));
    assert!(!k.renewing());
    let new = renew(k.poll(at(301)));
    assert_ne!(old, new);
    assert_eq!(wait(k.poll(at(302))), at(601));
    let e = k.renewed(old, token("late", at(10), TEN_HOURS)).unwrap_err();
    assert_eq!(e, Error::Usage(UsageError::StaleTicket));
    assert!(k.token().is_none(), "a stale renewal's token was kept");
    assert!(k.renewing());
    assert_eq!(wait(k.poll(at(303))), at(601));
    k.renewed(new, token("fresh", at(301), TEN_HOURS)).unwrap();
    assert_eq!(use_token(k.poll(at(303))), "fresh");

    // Stale after a success too, and for `renewal_failed` and
    // `renewal_abandoned`.
    let mut k = holding("held");
    let a = renew(k.poll(at(35_700)));
    assert_eq!(use_token(k.poll(at(35_999))), "held");
    assert_eq!(wait(k.poll(at(36_000))), at(36_001));
    let b = renew(k.poll(at(36_001)));
    assert_eq!(
        k.renewal_failed(a, at(36_001), None),
        Err(Error::Usage(UsageError::StaleTicket))
    );
    assert!(k.renewing());
    k.renewed(b, token("b", at(36_001), TEN_HOURS)).unwrap();
    assert_eq!(use_token(k.poll(at(36_002))), "b");
    let c = renew(k.poll(at(36_001 + 35_700)));
    let _d = {
        // c is lost; the next ticket makes it stale for every report.
        assert_eq!(wait(k.poll(at(36_001 + 36_000))), at(36_001 + 36_001));
        renew(k.poll(at(36_001 + 36_001)))
    };
    assert_eq!(k.renewal_abandoned(c), Err(Error::Usage(UsageError::StaleTicket)));
    assert!(k.renewing());
}

#[test]
fn failures_back_off_doubling_up_to_the_maximum() {
    let mut k = TokenKeeper::new(CONN);
    let mut now = T0;
    let mut pauses = Vec::new();
    for _ in 0..12 {
        let ticket = renew(k.poll(now));
        k.renewal_failed(ticket, now, None).unwrap();
        let until = k.next_deadline();
        pauses.push(until.saturating_duration_since(now).as_secs());
        // Nobody renews before the back-off ends.
        assert_eq!(wait(k.poll(now)), until);
        assert_eq!(
            wait(k.poll(until.saturating_sub(Duration::from_millis(1)))),
            until
        );
        now = until;
    }
    assert_eq!(pauses, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]);
    // A success resets the series.
    let ticket = renew(k.poll(now));
    k.renewed(ticket, token("t", now, secs(600))).unwrap();
    let now = now.saturating_add(secs(600));
    let ticket = renew(k.poll(now));
    k.renewal_failed(ticket, now, None).unwrap();
    assert_eq!(k.next_deadline(), now.saturating_add(secs(1)));
}

#[test]
fn retry_now_ends_a_backoff_but_not_the_minimum_interval() {
    let mut k = TokenKeeper::new(CONN);
    let mut now = T0;
    for _ in 0..5 {
        let ticket = renew(k.poll(now));
        k.renewal_failed(ticket, now, None).unwrap();
        now = k.next_deadline();
    }
    // The sixth failure in a row pauses 32 s.
    let ticket = renew(k.poll(now));
    k.renewal_failed(ticket, now, None).unwrap();
    assert_eq!(k.next_deadline(), now.saturating_add(secs(32)));
    assert_eq!(
        wait(k.poll(now.saturating_add(secs(2)))),
        now.saturating_add(secs(32))
    );
    // An operator says "retry now": the next ticket comes once the minimum
    // interval (1 s) has passed since the last one, not after the pause.
    k.retry_now();
    assert_eq!(k.next_deadline(), now.saturating_add(secs(1)));
    let ticket = renew(k.poll(now.saturating_add(secs(2))));
    // And the series starts again from the first pause.
    k.renewal_failed(ticket, now.saturating_add(secs(2)), None)
        .unwrap();
    assert_eq!(k.next_deadline(), now.saturating_add(secs(3)));
    // A renewal that is out stays out.
    let ticket = renew(k.poll(now.saturating_add(secs(3))));
    k.retry_now();
    assert!(k.renewing());
    assert_eq!(
        wait(k.poll(now.saturating_add(secs(4)))),
        now.saturating_add(secs(303))
    );
    k.renewed(ticket, token("t", now, TEN_HOURS)).unwrap();
}

#[test]
fn backoff_honours_retry_at_and_custom_limits() {
    let mut k = TokenKeeper::new(CONN);
    paced(&mut k, |p| {
        p.initial_backoff = secs(10);
        p.max_backoff = secs(25);
    });
    let ticket = renew(k.poll(T0));
    // The server said 120 s: later than the back-off.
    k.renewal_failed(ticket, T0, Some(at(120))).unwrap();
    assert_eq!(k.next_deadline(), at(120));
    assert_eq!(wait(k.poll(at(119))), at(120));
    let ticket = renew(k.poll(at(120)));
    // A retry time earlier than the back-off does not shorten it.
    k.renewal_failed(ticket, at(120), Some(at(121))).unwrap();
    assert_eq!(k.next_deadline(), at(140));
    let ticket = renew(k.poll(at(140)));
    k.renewal_failed(ticket, at(140), None).unwrap();
    assert_eq!(k.next_deadline(), at(165));
    // While a token is valid, a back-off does not stop anyone using it.
    // A server asking for "never" is cut to `max_server_wait` (10 min).
    let mut k = holding("held");
    let ticket = renew(k.poll(at(35_700)));
    k.renewal_failed(ticket, at(35_700), Some(Timestamp::MAX))
        .unwrap();
    assert_eq!(use_token(k.poll(at(35_999))), "held");
    assert_eq!(wait(k.poll(at(36_000))), at(35_700 + 600));
    let _ticket = renew(k.poll(at(35_700 + 600)));
    // And `max_server_wait` itself is the caller's.
    let mut k = TokenKeeper::new(CONN);
    paced(&mut k, |p| p.max_server_wait = secs(60));
    let ticket = renew(k.poll(T0));
    k.renewal_failed(ticket, T0, Some(at(99_999_999))).unwrap();
    assert_eq!(wait(k.poll(T0)), at(60));
}

#[test]
fn a_rejected_token_forces_a_renewal() {
    let mut k = holding("tok-1");
    assert_eq!(use_token(k.poll(at(60))), "tok-1");
    // A late 401 for another token changes nothing.
    k.token_rejected(at(61), &AccessToken::new("tok-0"));
    assert_eq!(use_token(k.poll(at(61))), "tok-1");
    k.token_rejected(at(61), &AccessToken::new("tok-1"));
    // Marked refused, not expired: it is held, but never handed out or shared.
    assert_eq!(k.token().map(|t| t.access_token().expose_secret()), Some("tok-1"));
    assert!(k.usable_token(at(61)).is_none());
    assert!(k.snapshot().is_none());
    assert!(k.next_deadline() <= at(61), "poll at once");
    let ticket = renew(k.poll(at(61)));
    // The rejected token is never handed out again, even on a clock that
    // stepped back to when it was good (the renewal's start is then taken
    // as "now": it is lost 300 s later on the new clock).
    assert_eq!(wait(k.poll(at(62))), at(361));
    assert_eq!(wait(k.poll(at(1))), at(301));
    k.renewed(ticket, token("tok-2", at(61), TEN_HOURS)).unwrap();
    assert_eq!(use_token(k.poll(at(62))), "tok-2");
    assert_eq!(k.snapshot().map(|s| s.version()), Some(2));
    // Without a token, a rejection changes nothing.
    let mut empty = TokenKeeper::new(CONN);
    empty.token_rejected(T0, &AccessToken::new("tok-1"));
    assert!(empty.token().is_none());
    let _ticket = renew(empty.poll(T0));
}

#[test]
fn snapshots_restore_the_highest_version() {
    let k = holding("tok-1");
    let snap = k.snapshot().unwrap();
    assert_eq!(snap.oms_connection(), CONN);
    assert_eq!(snap.version(), 1);
    assert_eq!(snap.token().expose_secret(), "tok-1");
    assert_eq!(snap.obtained_at(), T0);
    assert_eq!(snap.expires_at(), Some(at(36_000)));
    let debug = format!("{snap:?} {snap:#?} {k:?} {k:#?}");
    assert!(!debug.contains("tok-1"), "{debug}");
    assert!(debug.contains(CONN));
    let keeper = format!("{k:?}");
    assert!(
        keeper.starts_with("TokenKeeper") && keeper.contains(CONN) && keeper.contains("renewal: Idle"),
        "{keeper}"
    );

    // A second process adopts it.
    let mut other = TokenKeeper::new(CONN);
    assert_eq!(other.restore(snap.clone()), Ok(true));
    assert_eq!(use_token(other.poll(at(1))), "tok-1");
    // The same or a lower version is not adopted, whatever its clock said.
    assert_eq!(other.restore(snap.clone()), Ok(false));
    let older = Snapshot::new(
        CONN,
        0,
        AccessToken::new("older"),
        T0.saturating_sub(secs(1)),
        Some(at(99_999)),
    );
    assert_eq!(other.restore(older), Ok(false));
    let same_version_later_clock =
        Snapshot::new(CONN, 1, AccessToken::new("ahead"), at(3_600), Some(at(99_999)));
    assert_eq!(other.restore(same_version_later_clock), Ok(false));
    assert_eq!(use_token(other.poll(at(1))), "tok-1");
    // A higher version is, even from a clock that runs behind.
    let newer = Snapshot::new(
        CONN,
        2,
        AccessToken::new("newer"),
        T0.saturating_sub(secs(3_600)),
        Some(at(5 + 36_000)),
    );
    assert_eq!(other.restore(newer.clone()), Ok(true));
    assert_eq!(use_token(other.poll(at(6))), "newer");
    assert_eq!(other.snapshot(), Some(newer));
    // Another connection's snapshot is refused and changes nothing.
    let foreign = Snapshot::new(
        "other-conn",
        u64::MAX,
        AccessToken::new("foreign"),
        at(100),
        Some(at(99_999)),
    );
    assert!(matches!(
        other.restore(foreign),
        Err(Error::Usage(UsageError::InvalidConfig { .. }))
    ));
    assert_eq!(use_token(other.poll(at(6))), "newer");
    // A restored token ends the need to renew; an outstanding ticket stays
    // current and may still report, and its token, the one the API issued
    // last, replaces the restored one with the next version.
    let mut k = TokenKeeper::new(CONN);
    let ticket = renew(k.poll(T0));
    k.restore(Snapshot::new(
        CONN,
        7,
        AccessToken::new("restored"),
        at(3_600),
        Some(at(36_000)),
    ))
    .unwrap();
    assert_eq!(use_token(k.poll(at(1))), "restored");
    assert!(k.renewed(ticket, token("mine", at(1), TEN_HOURS)).is_ok());
    assert_eq!(use_token(k.poll(at(2))), "mine");
    assert_eq!(k.snapshot().map(|s| s.version()), Some(8));
}

#[test]
fn a_refused_token_is_never_adopted_again() {
    let mut k = holding("tok-1");
    let first = k.snapshot().unwrap();
    k.token_rejected(at(10), &AccessToken::new("tok-1"));
    // Not from its own snapshot, not with a higher version.
    assert_eq!(k.restore(first.clone()), Ok(false));
    let again = Snapshot::new(CONN, 9, AccessToken::new("tok-1"), T0, Some(at(36_000)));
    assert_eq!(k.restore(again), Ok(false));
    assert!(k.usable_token(at(11)).is_none());
    // Another token of the same version is: the held one was refused, so
    // a peer's renewal at that version is the live one.
    let peer = Snapshot::new(CONN, 1, AccessToken::new("peer"), at(5), Some(at(36_000)));
    assert_eq!(k.restore(peer.clone()), Ok(true));
    assert_eq!(use_token(k.poll(at(11))), "peer");
    // Equal version and the held one not refused: kept.
    let rival = Snapshot::new(CONN, 1, AccessToken::new("rival"), at(6), Some(at(36_000)));
    assert_eq!(k.restore(rival), Ok(false));
    assert_eq!(k.snapshot(), Some(peer));
}

#[test]
fn ticket_and_action_debug_hide_the_token() {
    let mut k = holding("tok-secret");
    let a = k.poll(at(1));
    let shown = format!("{a:?}");
    assert!(!shown.contains("tok-secret"), "{shown}");
    let t = renew(k.poll(at(35_700)));
    assert!(format!("{t:?}").starts_with("RenewalTicket"));
}

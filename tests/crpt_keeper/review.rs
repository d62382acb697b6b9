//! The review's cases: clock skew, short timeouts, `Timestamp::MAX`, foreign tickets, millennial waits.

use super::*;

/// The review's scenario: a snapshot from a process whose clock runs an
/// hour ahead is restored, the API refuses its token (401), and renewals
/// follow at ordinary times. Ranked by `obtained_at`, every renewal kept the
/// dead token and each poll handed out another ticket (10 sign-ins in 20 s,
/// each revoking the last). Ranked by version: one ticket per renewal, and
/// the fresh token is served; the same after the clock steps back an hour.
#[test]
fn a_snapshot_from_a_clock_an_hour_ahead_does_not_outrank_renewals() {
    let mut k = TokenKeeper::new(CONN);
    let hour = secs(3_600);
    let peer = Snapshot::new(
        CONN,
        1,
        AccessToken::new("peer"),
        T0.saturating_add(hour),
        Some(T0.saturating_add(hour).saturating_add(TEN_HOURS)),
    );
    assert_eq!(k.restore(peer.clone()), Ok(true));
    assert_eq!(use_token(k.poll(T0)), "peer");
    k.token_rejected(at(1), &AccessToken::new("peer"));
    let mut now = at(1);
    let mut tickets = 0;
    for round in 0..10u64 {
        let ticket = renew(k.poll(now));
        tickets += 1;
        // Callers polling every 100 ms for 20 s meanwhile: no second ticket.
        for step in 1..=200 {
            let t = now.saturating_add(Duration::from_millis(100 * step));
            match k.poll(t) {
                KeeperAction::Renew(_) => panic!("round {round}: a second ticket at {t:?}"),
                KeeperAction::UseToken(used) => panic!("round {round}: {used:?} used while refused"),
                KeeperAction::Wait(until) => assert!(until > t && until <= t.saturating_add(secs(300))),
            }
        }
        // The store still offers the peer's dead token: never adopted again.
        assert_eq!(k.restore(peer.clone()), Ok(false));
        now = now.saturating_add(secs(20));
        let name = format!("fresh-{round}");
        k.renewed(ticket, token(&name, now, TEN_HOURS)).unwrap();
        assert_eq!(k.snapshot().map(|s| s.version()), Some(2 + round));
        for step in 0..200 {
            let t = now.saturating_add(Duration::from_millis(100 * step));
            assert_eq!(use_token(k.poll(t)), name, "round {round}");
        }
        // The clock steps back an hour: still the fresh token, no ticket.
        assert_eq!(use_token(k.poll(now.saturating_sub(hour))), name);
        assert_eq!(k.restore(peer.clone()), Ok(false));
        // The next renewal: this token refused too, a little later.
        now = now.saturating_add(secs(20));
        k.token_rejected(now, &AccessToken::new(&name));
        assert!(k.usable_token(now).is_none());
    }
    assert_eq!(tickets, 10);
}

/// A renewal timeout under a second would let every poll declare the
/// renewal out lost: refused, by `with_pacing` and by `set_pacing`, which
/// then leaves the pacing as it was.
#[test]
fn a_renewal_timeout_under_a_second_is_refused() {
    for timeout in [
        Duration::ZERO,
        Duration::from_millis(999),
        Duration::from_nanos(999_999_999),
    ] {
        let pacing = Pacing {
            renewal_timeout: timeout,
            ..Pacing::keeper()
        };
        assert!(
            matches!(
                TokenKeeper::with_pacing(CONN, pacing),
                Err(Error::Usage(UsageError::InvalidConfig { .. }))
            ),
            "{timeout:?}"
        );
        let mut k = TokenKeeper::new(CONN);
        paced(&mut k, |p| p.renewal_timeout = secs(42));
        let before = *k.pacing();
        assert!(
            matches!(
                k.set_pacing(pacing),
                Err(Error::Usage(UsageError::InvalidConfig { .. }))
            ),
            "{timeout:?}"
        );
        assert_eq!(k.pacing(), &before);
        // Single flight holds with the pacing kept.
        let _ticket = renew(k.poll(T0));
        for ms in [0, 1, 999, 1_000, 41_999] {
            assert!(matches!(k.poll(at_ms(ms)), KeeperAction::Wait(_)));
        }
    }
    // One second is the shortest accepted.
    let pacing = Pacing {
        renewal_timeout: Pacing::MIN_RENEWAL_TIMEOUT,
        ..Pacing::keeper()
    };
    assert_eq!(Pacing::MIN_RENEWAL_TIMEOUT, secs(1));
    let k = TokenKeeper::with_pacing(CONN, pacing).unwrap();
    assert_eq!(k.pacing(), &pacing);
}

/// `poll(Timestamp::MAX)` twice: the timeout of the first ticket saturated,
/// and the second poll got a second ticket. Now: one ticket, and a wait.
#[test]
fn polling_at_timestamp_max_twice_issues_one_ticket() {
    let mut k = TokenKeeper::new(CONN);
    let ticket = renew(k.poll(Timestamp::MAX));
    for _ in 0..3 {
        assert_eq!(wait(k.poll(Timestamp::MAX)), Timestamp::MAX);
    }
    assert!(k.renewing());
    // From MAX back to an ordinary clock: the renewal started "now".
    assert_eq!(wait(k.poll(T0)), at(300));
    assert_eq!(wait(k.poll(at(299))), at(300));
    k.renewed(ticket, token("t", T0, TEN_HOURS)).unwrap();
    assert_eq!(use_token(k.poll(at(300))), "t");
    // A token held at MAX: not usable (expired), renewed once.
    let mut k = holding("held");
    let _ticket = renew(k.poll(Timestamp::MAX));
    assert_eq!(wait(k.poll(Timestamp::MAX)), Timestamp::MAX);
    // At the epoch after that the token is valid again by the clock (it was
    // never refused): it is used, and the one renewal stays out.
    assert_eq!(use_token(k.poll(Timestamp::EPOCH)), "held");
    assert!(k.renewing());
}

/// A ticket names its keeper instance: another keeper of the same
/// connection refuses it, in both directions, even with the same number.
#[test]
fn a_ticket_is_refused_by_another_keeper_of_the_same_connection() {
    let mut first = TokenKeeper::new(CONN);
    let mut second = TokenKeeper::new(CONN);
    let ticket_1 = renew(first.poll(T0));
    let ticket_2 = renew(second.poll(T0));
    assert_eq!(
        second.renewed(ticket_1, token("from-first", T0, TEN_HOURS)),
        Err(Error::Usage(UsageError::StaleTicket))
    );
    assert!(second.token().is_none() && second.renewing());
    assert_eq!(
        first.renewal_failed(ticket_2, T0, None),
        Err(Error::Usage(UsageError::StaleTicket))
    );
    assert!(first.renewing());
    // Neither keeper's own renewal is disturbed; both tickets are gone,
    // so each keeper's current renewal stays out until its timeout.
    assert_eq!(wait(first.poll(at(1))), at(300));
    assert_eq!(wait(second.poll(at(1))), at(300));
    let ticket_3 = renew(TokenKeeper::new(CONN).poll(T0));
    assert_eq!(
        first.renewal_abandoned(ticket_3),
        Err(Error::Usage(UsageError::StaleTicket))
    );
    assert!(first.renewing());
}

/// Server waits of millennia (`Retry-After: 99999999999` seconds, or the
/// date `Fri, 31 Dec 9999 23:59:59 GMT`) are cut to `max_server_wait`.
#[test]
fn a_server_cannot_park_the_keeper_for_millennia() {
    for retry_at in [
        T0.saturating_add(secs(99_999_999_999)),
        Timestamp::from_unix_secs(253_402_300_799),
        Timestamp::MAX,
    ] {
        let mut k = TokenKeeper::new(CONN);
        let ticket = renew(k.poll(T0));
        k.renewal_failed(ticket, T0, Some(retry_at)).unwrap();
        assert_eq!(wait(k.poll(T0)), at(600));
        // A clock stepped back a day: the pause is at most 10 min from now.
        let back = T0.saturating_sub(secs(86_400));
        assert_eq!(wait(k.poll(back)), back.saturating_add(secs(600)));
        // The last ticket's start was re-anchored to the day-old clock too:
        // once the pause is over, the next ticket goes out.
        let _ticket = renew(k.poll(back.saturating_add(secs(600))));
    }
}

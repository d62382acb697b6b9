//! `retry_now` ends a back-off after the minimum interval and keeps single flight.

use super::*;

// ====================================================================
// retry_now.

/// After `retry_now`, the next poll renews once `min_interval` has passed
/// since the last renewal started; and the failures in a row count from
/// one again.
#[test]
fn retry_now_ends_the_back_off_after_the_minimum_interval() {
    let mut tally = Tally::new("retry_now_ends_the_back_off_after_the_minimum_interval");
    let strategy = (
        select(KINDS.to_vec()),
        select(vec![
            Duration::ZERO,
            MS,
            Duration::from_millis(300),
            SEC,
            Duration::from_secs(5),
        ]),
        prop::collection::vec(failure(T0), 1..=5),
        0u64..=7_000,
    );
    tally.sample(300, strategy, |(kind, min_interval, failures, later_ms)| {
        let pacing = Pacing {
            min_interval: *min_interval,
            ..kind.preset()
        };
        let mut holder = Holder::with_pacing(*kind, pacing);
        // Fail in a row, each failure when the last pause ends.
        let mut t = T0;
        let mut last_start = T0;
        for failure in failures {
            match holder.attempt(t, failure)? {
                Attempt::Failed => last_start = t,
                Attempt::Wait(until) => return Err(format!("setup: waits until {until:?}")),
            }
            match holder.attempt(t, failure)? {
                Attempt::Wait(until) => t = until.max(t.saturating_add(*min_interval)),
                Attempt::Failed => return Err("no pause: it renews again at once".into()),
            }
        }
        // The operator presses "retry now" some time after the last renewal.
        let pressed = last_start.saturating_add(Duration::from_millis(*later_ms));
        holder.retry_now();
        let again = Failure::new(503, RetryAfterCase::ignored(None));
        let earliest = last_start.saturating_add(*min_interval);
        match holder.attempt(pressed, &again)? {
            Attempt::Failed if pressed >= earliest => {}
            Attempt::Wait(until) if pressed < earliest && until == earliest => {
                match holder.attempt(until, &again)? {
                    Attempt::Failed => {}
                    Attempt::Wait(later) => {
                        return Err(format!(
                            "retry_now: at the end of min_interval it still waits until {later:?}"
                        ))
                    }
                }
            }
            other => {
                return Err(format!(
                "retry_now: pressed {:?} after the last renewal (min_interval {min_interval:?}): {other:?}",
                pressed.saturating_duration_since(last_start)
            ))
            }
        }
        // The failure that followed counts as the first in a row.
        let after = pressed.max(earliest);
        match holder.attempt(after, &again)? {
            Attempt::Wait(until) if until == after.saturating_add(pacing.initial_backoff) => Ok(()),
            other => Err(format!(
                "count: after retry_now a failure pauses {other:?}, expected the first back-off {:?}",
                pacing.initial_backoff
            )),
        }
    });
    tally.finish();
}

/// `retry_now` while a renewal is out leaves it out: no second request, no
/// second ticket.
#[test]
fn retry_now_keeps_single_flight() {
    // The session.
    let mut s = itc_session();
    let SessionAction::Send(_) = s.poll(T0).unwrap() else {
        panic!("a fresh session sends the password grant");
    };
    s.retry_now();
    for later in [Duration::ZERO, SEC, Duration::from_secs(30)] {
        match s.poll(T0.saturating_add(later)).unwrap() {
            SessionAction::Wait(until) => assert_eq!(until, at(60)),
            other => panic!("retry_now with a request in flight: {other:?}"),
        }
    }
    // The keeper.
    let mut keeper = TokenKeeper::new(CONN);
    let KeeperAction::Renew(ticket) = keeper.poll(T0) else {
        panic!("a fresh keeper hands out a ticket");
    };
    keeper.retry_now();
    for later in [Duration::ZERO, SEC, Duration::from_secs(299)] {
        assert!(
            matches!(keeper.poll(T0.saturating_add(later)), KeeperAction::Wait(_)),
            "retry_now with a ticket out must not issue a second"
        );
    }
    keeper.renewal_failed(ticket, T0, None).unwrap();
}

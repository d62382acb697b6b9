//! Every holder bounds every server wait: generated failures in a row, and the review's named values.

use super::*;

// ====================================================================
// Generated: each holder, failures in a row.

#[test]
fn session_polled_bounds_every_server_wait() {
    generated("session_polled_bounds_every_server_wait", Kind::SessionPoll, 400);
}

#[test]
fn session_under_an_authorized_call_bounds_every_server_wait() {
    generated(
        "session_under_an_authorized_call_bounds_every_server_wait",
        Kind::SessionCall,
        400,
    );
}

#[test]
fn keeper_bounds_every_retry_at() {
    generated("keeper_bounds_every_retry_at", Kind::Keeper, 400);
}

#[test]
fn keeper_source_bounds_every_sign_in_wait() {
    generated("keeper_source_bounds_every_sign_in_wait", Kind::KeeperSource, 400);
}

#[test]
fn reissue_bounds_every_token_request_wait() {
    generated("reissue_bounds_every_token_request_wait", Kind::Reissue, 400);
}

// ====================================================================
// Named values, every holder, with the preset pacing.

/// The values of the review, each at three instants, for every holder.
#[test]
fn named_retry_after_values_are_cut_to_the_preset_bound() {
    let mut rows: Vec<RetryAfterCase> = NAMED_SECS.iter().map(|v| RetryAfterCase::secs(*v)).collect();
    rows.extend([
        RetryAfterCase::date(LAST_DATE),
        RetryAfterCase::date(0),
        RetryAfterCase::date(784_111_777),
        // Ten seconds and five minutes after T0, an hour before it.
        RetryAfterCase::date(T0_SECS + 10),
        RetryAfterCase::date(T0_SECS + 300),
        RetryAfterCase::date(T0_SECS - 3600),
        RetryAfterCase::ignored(None),
    ]);
    rows.extend(MALFORMED.iter().map(|v| RetryAfterCase::ignored(Some(v))));
    rows.extend(OBSOLETE.iter().copied().map(RetryAfterCase::obsolete));
    let nows = [
        Timestamp::EPOCH,
        T0,
        Timestamp::from_unix_millis(u64::MAX - 1_000),
    ];
    let mut tally = Tally::new("named_retry_after_values_are_cut_to_the_preset_bound");
    for kind in KINDS {
        for now in nows {
            for (row, status) in rows.iter().zip([429u16, 503].into_iter().cycle()) {
                let mut holder = Holder::new(kind);
                let failure = Failure::new(status, row.clone());
                let result = check_failures(&mut holder, now, &[failure]);
                tally.check(
                    format_args!("{kind:?} at {now:?}: {status} {:?}", row.header),
                    result,
                );
            }
        }
    }
    tally.finish();
}

/// The review's two cases exactly: a session (or keeper) told to wait until
/// the year 5193 or 9999 waits ten minutes.
#[test]
fn the_reviewed_waits_last_ten_minutes() {
    for kind in KINDS {
        for retry in [
            RetryAfterCase::secs("99999999999"),
            RetryAfterCase::date(LAST_DATE),
        ] {
            let mut holder = Holder::new(kind);
            let failure = Failure::new(503, retry.clone());
            assert!(
                matches!(holder.attempt(T0, &failure), Ok(Attempt::Failed)),
                "{kind:?}"
            );
            let until = match holder.attempt(T0, &failure) {
                Ok(Attempt::Wait(until)) => until,
                other => panic!("{kind:?} {retry:?}: expected a wait, got {other:?}"),
            };
            assert_eq!(
                until.saturating_duration_since(T0),
                Duration::from_secs(600),
                "{kind:?} {retry:?}"
            );
        }
    }
}

/// `max_server_wait` zero: whatever the server asks, the pause is the
/// holder's own, doubling from `initial_backoff`.
#[test]
fn a_zero_server_cap_keeps_only_the_own_back_off() {
    let mut tally = Tally::new("a_zero_server_cap_keeps_only_the_own_back_off");
    for kind in KINDS {
        let strategy = (instant(), prop::collection::vec(failure(T0), 1..=4));
        tally.sample(60, strategy, |(now, failures)| {
            let pacing = Pacing {
                max_server_wait: Duration::ZERO,
                ..kind.preset()
            };
            let mut holder = Holder::with_pacing(kind, pacing);
            let mut t = *now;
            for (i, failure) in (0u32..).zip(failures) {
                if t == Timestamp::MAX {
                    return Ok(());
                }
                match holder.attempt(t, failure)? {
                    Attempt::Failed => {}
                    Attempt::Wait(until) => return Err(format!("stuck: {kind:?} waits until {until:?}")),
                }
                let expected = t.saturating_add(own_backoff(&pacing, i));
                match holder.attempt(t, failure)? {
                    Attempt::Wait(until) if until == expected => t = until,
                    other => {
                        return Err(format!(
                        "own: {kind:?} failure {i} at {t:?}: {other:?}, expected a wait until {expected:?}"
                    ))
                    }
                }
            }
            Ok(())
        });
    }
    tally.finish();
}

/// At `Timestamp::MAX` itself every pause saturates to end "now": a
/// failure there must still not be retried at once (the pacing module:
/// "`Timestamp::MAX` saturates into 'wait' rather than into 'go again'").
/// The first attempt renews and fails; every later attempt, at the end of
/// time, waits until `Timestamp::MAX`: no instant comes after it.
#[test]
fn a_failure_at_the_end_of_time_still_pauses() {
    let mut tally = Tally::new("a_failure_at_the_end_of_time_still_pauses");
    for kind in KINDS {
        for start in [u64::MAX, u64::MAX - 1, u64::MAX - 999] {
            let start = Timestamp::from_unix_millis(start);
            let failure = Failure::new(503, RetryAfterCase::secs("120"));
            let result = (|| {
                let mut holder = Holder::new(kind);
                match holder.attempt(start, &failure)? {
                    Attempt::Failed => {}
                    Attempt::Wait(until) => return Err(format!("setup: no renewal, waits until {until:?}")),
                }
                for (i, t) in [start, Timestamp::MAX, Timestamp::MAX, Timestamp::MAX]
                    .into_iter()
                    .enumerate()
                {
                    match holder.attempt(t, &failure)? {
                        Attempt::Wait(until) if until == Timestamp::MAX => {}
                        other => {
                            return Err(format!(
                                "no pause: attempt {i} at {t:?} after the failure: {other:?} (expected a wait until MAX)"
                            ))
                        }
                    }
                }
                Ok(())
            })();
            tally.check(format_args!("{kind:?} from {start:?}"), result);
        }
    }
    tally.finish();
}

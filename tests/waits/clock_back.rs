//! A clock stepped back during a back-off never lengthens a wait or the next deadline.

use super::*;

// ====================================================================
// A clock stepped back during a back-off.

/// A back-off set at `t`, then the clock stepped back.
#[derive(Debug)]
struct StepBack {
    kind: Kind,
    pacing: Pacing,
    t: Timestamp,
    failure: Failure,
    step: Duration,
    failures_before: usize,
}

fn steps_back() -> impl Strategy<Value = StepBack> {
    (
        select(KINDS.to_vec()),
        prop_oneof![
            Just(Pacing::session()),
            Just(Pacing::keeper()),
            Just(Pacing::reissue()),
            pacing(Pacing::session()),
        ],
        prop_oneof![1_000_000_000_000u64..1_900_000_000_000, 0u64..100_000_000]
            .prop_map(Timestamp::from_unix_millis),
        failure(T0),
        prop_oneof![
            Just(HOUR),
            Just(DAY),
            (1_000u64..=3 * 86_400_000).prop_map(Duration::from_millis)
        ],
        0usize..3,
    )
        .prop_map(|(kind, pacing, t, failure, step, failures_before)| StepBack {
            kind,
            pacing,
            t,
            failure,
            step,
            failures_before,
        })
}

impl StepBack {
    /// Fails `failures_before` renewals in a row, then one with `failure`
    /// at `t`, and returns the holder and the instant `step` before.
    fn set_up(&self) -> Result<(Holder, Timestamp), String> {
        let mut holder = Holder::with_pacing(self.kind, self.pacing);
        let mut t = self.t;
        let plain = Failure::new(503, RetryAfterCase::ignored(None));
        for _ in 0..self.failures_before {
            if !matches!(holder.attempt(t, &plain)?, Attempt::Failed) {
                return Err("setup: no renewal".into());
            }
            match holder.attempt(t, &plain)? {
                Attempt::Wait(until) => t = until.max(t.saturating_add(self.pacing.min_interval)),
                Attempt::Failed => return Err("no pause: it renews again at once".into()),
            }
        }
        if !matches!(holder.attempt(t, &self.failure)?, Attempt::Failed) {
            return Err("setup: no renewal".into());
        }
        Ok((holder, t.saturating_sub(self.step)))
    }

    /// [`StepBack::set_up`], then the poll at the instant `step` before: the
    /// holder, that instant, and the end of the wait it announced there.
    fn wait_after_the_step(&self) -> Result<(Holder, Timestamp, Timestamp), String> {
        let (mut holder, back) = self.set_up()?;
        match holder.attempt(back, &self.failure)? {
            Attempt::Wait(until) => Ok((holder, back, until)),
            Attempt::Failed => Err("no pause: after the step back it renews at once".into()),
        }
    }
}

/// Fail at `t` (the server may ask for a long wait), then poll at
/// `t - step` (an hour, a day, up to three days): the `Wait` is at most the
/// bound from the new `now`, and the holder renews by then (after at most
/// one `min_interval` more: the last renewal started "now" at the latest).
#[test]
fn a_clock_stepped_back_never_lengthens_a_wait() {
    let mut tally = Tally::new("a_clock_stepped_back_never_lengthens_a_wait");
    tally.sample(500, steps_back(), |case| {
        let (mut holder, back, until) = case.wait_after_the_step()?;
        let step = case.step;
        let bound = longest_pause(&case.pacing);
        if until > back.saturating_add(bound) || until <= back {
            return Err(format!(
                "unbounded: {step:?} back: waits {:?} from the new now, bound {bound:?}",
                until.saturating_duration_since(back)
            ));
        }
        let plain = Failure::new(503, RetryAfterCase::ignored(None));
        let latest = back
            .saturating_add(bound)
            .saturating_add(case.pacing.min_interval);
        let mut at = until;
        for _ in 0..3 {
            match holder.attempt(at, &plain)? {
                Attempt::Failed => return Ok(()),
                Attempt::Wait(next) if next > at && next <= latest => at = next,
                Attempt::Wait(next) => {
                    return Err(format!(
                        "late: {step:?} back: at {:?} from the new now it waits until {:?}",
                        at.saturating_duration_since(back),
                        next.saturating_duration_since(back)
                    ))
                }
            }
        }
        Err(format!(
            "late: {step:?} back: no renewal within {:?} of the new now",
            latest.saturating_duration_since(back)
        ))
    });
    tally.finish();
}

/// The same, as `next_deadline()` says after the poll at the new `now`:
/// a caller that sleeps until the deadline must not sleep past the bound.
#[test]
fn a_clock_stepped_back_never_lengthens_the_next_deadline() {
    let mut tally = Tally::new("a_clock_stepped_back_never_lengthens_the_next_deadline");
    // `Reissue` has no deadline of its own (its `Wait` is checked above).
    let with_deadline = steps_back().prop_filter("has a deadline", |case| case.kind != Kind::Reissue);
    tally.sample(500, with_deadline, |case| {
        let (holder, back, until) = case.wait_after_the_step()?;
        let step = case.step;
        let bound = longest_pause(&case.pacing);
        match holder.next_deadline() {
            Some(deadline) if deadline > back.saturating_add(bound) => Err(format!(
                "deadline: {step:?} back: next_deadline {:?} from the new now (the wait: {:?}), bound {bound:?}",
                deadline.saturating_duration_since(back),
                until.saturating_duration_since(back)
            )),
            Some(_) => Ok(()),
            None => Err(format!("deadline: {step:?} back: none while backing off")),
        }
    });
    tally.finish();
}

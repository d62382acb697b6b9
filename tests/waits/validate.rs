//! `Pacing::validate`: refused pacings change nothing; holders start with their preset.

use super::*;

// ====================================================================
// Pacing::validate.

/// A duration for a pacing field: the edges of every rule, and anything up
/// to two days.
fn field() -> impl Strategy<Value = Duration> {
    prop_oneof![
        2 => select(vec![
            Duration::ZERO,
            Duration::from_nanos(1),
            Duration::from_micros(999),
            MS,
            Duration::from_millis(999),
            SEC,
            Duration::from_secs(300),
            DAY,
            DAY + MS,
            Duration::from_secs(u64::MAX),
        ]),
        2 => (0u64..=600_000).prop_map(Duration::from_millis),
        1 => (0u64..=2 * 86_400_000).prop_map(Duration::from_millis),
    ]
}

fn any_pacing() -> impl Strategy<Value = Pacing> {
    prop_oneof![
        // Every field drawn.
        [field(), field(), field(), field(), field(), field()].prop_map(pacing::from_fields),
        // A preset with one or two fields changed: each rule alone.
        (
            select(vec![Pacing::session(), Pacing::keeper(), Pacing::reissue()]),
            0usize..6,
            field(),
            proptest::option::of((0usize..6, field())),
        )
            .prop_map(move |(preset, i, d, other)| {
                let mut f = pacing::fields(&preset);
                f[i] = d;
                if let Some((j, e)) = other {
                    f[j] = e;
                }
                pacing::from_fields(f)
            }),
    ]
}

/// A refused pacing leaves the holder's pacing as it was, in what
/// `pacing()` says and in how it backs off; an accepted one is taken whole.
#[test]
fn refused_pacings_change_nothing() {
    let before = Pacing {
        renew_margin: Duration::from_secs(20),
        renewal_timeout: Duration::from_secs(40),
        min_interval: Duration::from_millis(500),
        initial_backoff: Duration::from_secs(7),
        max_backoff: Duration::from_secs(70),
        max_server_wait: Duration::from_secs(33),
    };
    let mut tally = Tally::new("refused_pacings_change_nothing");
    tally.sample(400, (select(KINDS.to_vec()), any_pacing()), |(kind, pacing)| {
        let mut holder = Holder::with_pacing(*kind, before);
        let result = holder.set_pacing(*pacing);
        match (&result, pacing::is_valid(pacing)) {
            (Ok(()), true) => {
                return (holder.pacing() == *pacing)
                    .then_some(())
                    .ok_or_else(|| format!("taken: accepted, but pacing() is {:?}", holder.pacing()))
            }
            (Err(Error::Usage(UsageError::InvalidConfig { .. })), false) => {}
            (result, valid) => {
                return Err(format!("verdict: {result:?} for a pacing that is valid: {valid}"))
            }
        }
        if holder.pacing() != before {
            return Err(format!("changed: refused, but pacing() is {:?}", holder.pacing()));
        }
        if *kind == Kind::Keeper {
            let built = TokenKeeper::with_pacing(CONN, *pacing);
            if !matches!(built, Err(Error::Usage(UsageError::InvalidConfig { .. }))) {
                return Err(format!("verdict: TokenKeeper::with_pacing gave {built:?}"));
            }
        }
        // It still backs off as before: a server asking for a day gets 33 s.
        let failure = Failure::new(429, RetryAfterCase::secs("86400"));
        match holder.attempt(T0, &failure)? {
            Attempt::Failed => {}
            other => return Err(format!("setup: {other:?}")),
        }
        match holder.attempt(T0, &failure)? {
            Attempt::Wait(until) if until == at(33) => Ok(()),
            other => Err(format!(
                "behaviour: after a refused pacing the pause is {other:?}"
            )),
        }
    });
    tally.finish();
}

/// The presets are valid and are what each holder starts with.
#[test]
fn holders_start_with_their_preset() {
    for kind in KINDS {
        assert_eq!(Holder::new(kind).pacing(), kind.preset(), "{kind:?}");
        assert_eq!(kind.preset().validate(), Ok(()));
    }
    assert_eq!(Pacing::default(), Pacing::session());
    assert_eq!(Pacing::session().max_server_wait, Duration::from_secs(600));
}

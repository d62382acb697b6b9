//! The fleet protocol (`tokendance::fleet`) in a simulated fleet: processes
//! with skewed clocks, a linearizable store that goes down, loses answers
//! and applies operations late, holders that crash or are paused, and a
//! server that revokes the previous token on every sign-in. The oracle is in
//! `world.rs`: no claim while another holder's lease is live (in true time),
//! every sign-in inside its holder's lease, versions up by one, no token
//! published over a newer one, nothing printed that shows a token, and once
//! the faults stop, every process on the live token within a bound.

use std::time::Duration;

use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;

#[cfg(feature = "fake")]
mod conformance;
mod keeper_api;
#[cfg(feature = "fake")]
mod source;
mod world;

use world::{minutes_apart, settings, Event, World, TOKEN_LIFE};

/// Proptest's config, its failures kept beside this file.
fn config(cases: u32) -> ProptestConfig {
    let mut config = ProptestConfig::with_cases(if cfg!(miri) { 4 } else { cases });
    config.failure_persistence = Some(Box::new(FileFailurePersistence::WithSource(
        "proptest-regressions",
    )));
    config
}

const SKEW: Duration = Duration::from_secs(2);

/// After the faults: a lease (10 s) plus skew, the longest back-off, and a
/// few rechecks.
const CONVERGE_WITHIN_MS: u64 = 16_000;

fn event() -> impl Strategy<Value = Event> {
    let i = 0usize..8;
    prop_oneof![
        8 => i.clone().prop_map(Event::Poll),
        6 => i.clone().prop_map(Event::Deliver),
        1 => i.clone().prop_map(Event::StoreDown),
        1 => i.clone().prop_map(Event::AnswerLost),
        1 => i.clone().prop_map(Event::LateApply),
        4 => i.clone().prop_map(Event::SignIn),
        1 => i.clone().prop_map(Event::SignInFails),
        1 => (i.clone(), 0u64..15_000).prop_map(|(i, ms)| Event::Pause(i, ms)),
        1 => (i, any::<bool>()).prop_map(|(i, applied)| Event::Crash(i, applied)),
        6 => prop_oneof![0u64..50, 50u64..2_000, 2_000u64..12_000].prop_map(Event::Advance),
    ]
}

/// Clock offsets within ±skew/2: any two differ by at most the skew.
fn offsets(skew: Duration) -> impl Strategy<Value = Vec<i64>> {
    let half = skew.as_millis() as i64 / 2;
    prop::collection::vec(-half..=half, 2..=5)
}

proptest! {
    #![proptest_config(config(300))]

    #[test]
    fn the_fleet_holds_its_promises_under_faults(
        offsets in offsets(SKEW),
        events in prop::collection::vec(event(), 0..250),
    ) {
        let mut world = World::new(&offsets, settings(SKEW));
        for event in &events {
            world.apply(event);
        }
        let converged = world.converge(CONVERGE_WITHIN_MS);
        prop_assert!(converged.is_some(), "no convergence within {CONVERGE_WITHIN_MS} ms");
        let (_, sign_ins) = converged.unwrap();
        prop_assert!(sign_ins <= 1, "{sign_ins} sign-ins to converge");
    }
}

/// The same faults with clocks up to 5 minutes either way of true time (10
/// minutes apart at most), a skew margin of 10 minutes, and tokens that
/// live 2 hours: the promises hold, and the fleet converges within a lease,
/// the margin and a back-off.
#[test]
fn the_fleet_holds_its_promises_with_clocks_minutes_apart() {
    let mut runner = proptest::test_runner::TestRunner::new(config(60));
    let offsets = prop::collection::vec(-300_000i64..=300_000, 2..=5);
    let events = prop::collection::vec(event(), 0..200);
    runner
        .run(&(offsets, events), |(offsets, events)| {
            let (settings, token_life, scale) = minutes_apart();
            let mut world = World::scaled(&offsets, settings, token_life, scale);
            for event in &events {
                world.apply(event);
            }
            let converged = world.converge(45 * 60 * 1000);
            prop_assert!(converged.is_some(), "no convergence within 45 minutes");
            prop_assert!(converged.unwrap().1 <= 1, "more than one sign-in to converge");
            Ok(())
        })
        .unwrap();
}

/// Without faults, N processes polling all the time renew once per token
/// lifetime, whatever N; each gets at most one 401 per renewal (the server
/// revoked the token it used); and the store is used only around renewals.
#[test]
fn one_sign_in_per_token_lifetime_for_any_fleet_size() {
    for processes in [1, 2, 8, 16] {
        let offsets: Vec<i64> = (0..processes).map(|i| (i as i64 * 337) % 2_000 - 1_000).collect();
        let mut world = World::new(&offsets, settings(SKEW));
        world.converge(CONVERGE_WITHIN_MS).expect("a first token");
        let (sign_ins, trips) = (world.sign_ins, world.store_round_trips);
        let lifetimes = 10;
        let span = TOKEN_LIFE.as_millis() as u64 * lifetimes;
        let start = world.now;
        while world.now - start < span {
            for i in 0..world.len() {
                world.apply(&Event::Deliver(i));
                world.apply(&Event::SignIn(i));
                world.apply(&Event::Poll(i));
            }
            world.apply(&Event::Advance(100));
        }
        let renewals = world.sign_ins - sign_ins;
        // Renewal starts 5 s before the 30 s expiry, and the simulated
        // round trips to sign in take a few hundred ms: one per 25 to 26 s.
        let (fewest, most) = (span / 26_000, span.div_ceil(25_000));
        assert!(
            (fewest..=most).contains(&(renewals as u64)),
            "{processes} processes: {renewals} sign-ins in {lifetimes} lifetimes"
        );
        // The server revokes the old token as it issues the new one: a
        // process that calls before it reads the new one gets one 401, then
        // reads it (at most one per process per renewal).
        assert!(
            world.refusals <= renewals * (processes - 1),
            "{processes} processes: {} refusals for {renewals} renewals",
            world.refusals
        );
        let per_renewal = (world.store_round_trips - trips) as f64 / renewals as f64;
        // The holder: read, claim, fence, publish; every other process reads
        // once or twice (at renewal time, and when the lease ends).
        assert!(
            per_renewal <= 4.0 + 2.0 * (processes as f64 - 1.0),
            "{processes} processes: {per_renewal:.1} store round trips per renewal"
        );
    }
}

/// The oracle can fail: with clocks further apart than the keeper's skew
/// margin, a process that sees a holder's lease end early claims while it
/// is still live, and the overlap check catches it.
#[test]
fn clocks_further_apart_than_the_skew_break_exclusive_leases() {
    let caught = std::panic::catch_unwind(|| {
        // p1's clock is 20 s ahead: p0's 10 s lease looks over at once.
        let mut world = World::new(&[0, 20_000], settings(Duration::ZERO));
        for _ in 0..4 {
            world.apply(&Event::Poll(0));
            world.apply(&Event::Deliver(0));
        }
        // p0 holds the lease; its token is not there yet.
        world.apply(&Event::Advance(10));
        for _ in 0..4 {
            world.apply(&Event::Poll(1));
            world.apply(&Event::Deliver(1));
        }
    });
    let message = caught.expect_err("the overlap went unnoticed");
    let text = message.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(text.contains("while"), "{text}");
}

/// A holder paused past its lease (SIGSTOP) finds it lost when it resumes:
/// it does not sign in, and the fleet keeps the token the next holder got.
#[test]
fn a_holder_paused_past_its_lease_keeps_out() {
    let mut world = World::new(&[0, 500], settings(SKEW));
    for _ in 0..4 {
        world.apply(&Event::Poll(0));
        world.apply(&Event::Deliver(0));
    }
    world.apply(&Event::Pause(0, 14_000));
    world.apply(&Event::Advance(13_000));
    // p1 sees p0's lease end (10 s, plus 2 s of skew, on a clock 0.5 s
    // ahead), claims it and signs in.
    for _ in 0..6 {
        world.apply(&Event::Poll(1));
        world.apply(&Event::Deliver(1));
        world.apply(&Event::SignIn(1));
    }
    assert_eq!(world.sign_ins, 1, "p1 renewed");
    world.apply(&Event::Advance(1_500));
    // SIGCONT: p0 still has its ticket; the fence says lost.
    world.apply(&Event::SignIn(0));
    assert_eq!(world.sign_ins, 1, "the paused holder signed in");
    let (_, sign_ins) = world.converge(CONVERGE_WITHIN_MS).expect("both on p1's token");
    assert_eq!(sign_ins, 0);
}

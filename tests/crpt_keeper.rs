//! The SUZ `TokenKeeper`: reuse, single-flight renewal, stale tickets,
//! back-off, rejection, deadlines, pacing and versioned snapshots; a property
//! test with many simulated callers in simulated time; a property with
//! arbitrary clocks (forwards, backwards, `Timestamp::MAX`, the epoch) checked
//! against an independent model; and an end-to-end simulation of several
//! processes sharing one connection against `fake::Crpt`.
#![cfg(feature = "fake")]

use std::collections::HashMap;
use std::time::Duration;

use proptest::prelude::*;
use tokendance::crpt::{true_api, KeeperAction, RenewalTicket, Snapshot, TokenKeeper, TrueApiStand};
use tokendance::fake::{self, Crpt, Fake};
use tokendance::{drive, AccessToken, Error, Pacing, Timestamp, TokenSet, UsageError};

mod common;
use common::keeper_model::{ModelledKeeper, Polled};
use common::pacing::with_field;

const T0: Timestamp = Timestamp::from_unix_secs(1_700_000_000);
const CONN: &str = "11B1ABC9-F4EE-47DB-8A20-F80AC83504E8";
const TEN_HOURS: Duration = Duration::from_secs(36_000);

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn at(s: u64) -> Timestamp {
    T0.saturating_add(secs(s))
}

fn token(name: &str, obtained: Timestamp, life: Duration) -> TokenSet {
    TokenSet::new(
        AccessToken::new(name),
        obtained,
        Some(obtained.saturating_add(life)),
    )
}

#[track_caller]
fn renew(action: KeeperAction<'_>) -> RenewalTicket {
    match action {
        KeeperAction::Renew(t) => t,
        other => panic!("expected Renew, got {other:?}"),
    }
}

#[track_caller]
fn use_token(action: KeeperAction<'_>) -> String {
    match action {
        KeeperAction::UseToken(t) => t.expose_secret().to_owned(),
        other => panic!("expected UseToken, got {other:?}"),
    }
}

#[track_caller]
fn wait(action: KeeperAction<'_>) -> Timestamp {
    match action {
        KeeperAction::Wait(t) => t,
        other => panic!("expected Wait, got {other:?}"),
    }
}

/// A keeper holding `name`, obtained at `T0`, living 10 hours (version 1).
fn holding(name: &str) -> TokenKeeper {
    let mut k = TokenKeeper::new(CONN);
    let ticket = renew(k.poll(T0));
    k.renewed(ticket, token(name, T0, TEN_HOURS)).unwrap();
    k
}

/// The keeper's pacing with some fields changed.
fn paced(k: &mut TokenKeeper, change: impl FnOnce(&mut Pacing)) {
    let mut pacing = *k.pacing();
    change(&mut pacing);
    k.set_pacing(pacing).unwrap();
}

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

// ------------------------------------------------------------ the property

#[derive(Clone, Debug)]
enum Op {
    /// Let this many milliseconds pass.
    Advance(u64),
    /// Caller `n % callers` polls.
    Poll(usize),
    /// The pending renewal `n % pending` ends: with success (token living
    /// `life` seconds) or failure (server asking to retry after `retry` s).
    Complete {
        pick: usize,
        ok: bool,
        life: u64,
        retry: Option<u64>,
    },
    /// SUZ answered 401 to the token.
    Rejected,
    /// A second process shares a token it obtained `ago` ms before now, with
    /// a version below, equal to or above the held one's.
    Restore { ago: u64, life: u64, version: Rank },
}

/// Where a peer's version stands against this keeper's.
#[derive(Clone, Copy, Debug)]
enum Rank {
    Older,
    Same,
    Newer,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => prop_oneof![0..2_000u64, 0..400_000u64, 0..40_000_000u64].prop_map(Op::Advance),
        6 => any::<usize>().prop_map(Op::Poll),
        3 => (any::<usize>(), prop::bool::weighted(0.7), 1..40_000u64, prop::option::of(0..1_000u64))
            .prop_map(|(pick, ok, life, retry)| Op::Complete { pick, ok, life, retry }),
        1 => Just(Op::Rejected),
        1 => (0..600_000u64, 1..40_000u64, prop_oneof![Just(Rank::Older), Just(Rank::Same), Just(Rank::Newer)])
            .prop_map(|(ago, life, version)| Op::Restore { ago, life, version }),
    ]
}

struct Pending {
    ticket: RenewalTicket,
    /// The model's number for the ticket.
    number: u64,
    issued_at: Timestamp,
    owner: usize,
}

fn run_callers(callers: usize, ops: &[Op]) -> Result<(), TestCaseError> {
    let mut k = TokenKeeper::new(CONN);
    let timeout = k.pacing().renewal_timeout;
    let mut now = T0;
    let mut pending: Vec<Pending> = Vec::new();
    // The model: the current ticket (the last one issued, until reported).
    let mut issued = 0u64;
    let mut current: Option<(u64, Timestamp)> = None;
    // Every token the keeper could hold, with when it stops being valid.
    let mut valid_until: HashMap<String, Timestamp> = HashMap::new();
    let mut no_renew_before = Timestamp::EPOCH;
    let mut minted = 0u64;
    // The version of the token held, whether the API refused it, and the
    // highest version the keeper has installed.
    let mut held: Option<(u64, bool)> = None;
    let mut highest = 0u64;
    for op in ops {
        match op {
            Op::Advance(ms) => now = now.saturating_add(Duration::from_millis(*ms)),
            Op::Poll(n) => {
                let caller = n % callers;
                if pending.iter().any(|p| p.owner == caller) {
                    continue; // busy renewing
                }
                let usable = k.usable_token(now).is_some();
                let held_name = k.token().map(|h| h.access_token().expose_secret().to_owned());
                match k.poll(now) {
                    KeeperAction::UseToken(t) => {
                        let t = t.expose_secret().to_owned();
                        prop_assert_eq!(Some(&t), held_name.as_ref());
                        let until = valid_until[&t];
                        prop_assert!(now < until, "{} used at {:?}, valid until {:?}", t, now, until);
                    }
                    KeeperAction::Wait(until) => {
                        prop_assert!(until > now, "wait until {:?} at {:?}", until, now);
                        prop_assert!(!usable, "waited with a usable token");
                    }
                    KeeperAction::Renew(ticket) => {
                        // Never two tickets out unless the earlier one is lost.
                        if let Some((number, since)) = current {
                            prop_assert!(
                                now >= since.saturating_add(timeout),
                                "ticket {} issued at {:?} still current at {:?}",
                                number,
                                since,
                                now
                            );
                        }
                        prop_assert!(now >= no_renew_before, "renewed during a back-off");
                        issued += 1;
                        current = Some((issued, now));
                        pending.push(Pending {
                            ticket,
                            number: issued,
                            issued_at: now,
                            owner: caller,
                        });
                    }
                }
                // A renewal not reported within the timeout is lost: the
                // poll that finds it so voids its ticket and backs off.
                if let Some((number, since)) = current.filter(|_| !k.renewing()) {
                    prop_assert!(
                        now >= since.saturating_add(timeout),
                        "ticket {} issued at {:?} voided at {:?}",
                        number,
                        since,
                        now
                    );
                    current = None;
                    no_renew_before = now.saturating_add(k.pacing().initial_backoff);
                }
            }
            Op::Complete {
                pick,
                ok,
                life,
                retry,
            } => {
                if pending.is_empty() {
                    continue;
                }
                let p = pending.remove(pick % pending.len());
                let is_current = current.is_some_and(|(n, _)| n == p.number);
                let before = k.token().cloned();
                let result = if *ok {
                    minted += 1;
                    let name = format!("renewed-{minted}");
                    let t = token(&name, p.issued_at, secs(*life));
                    valid_until.insert(name, t.expires_at().unwrap());
                    k.renewed(p.ticket, t.clone()).map(|()| Some(t))
                } else {
                    let retry_at = retry.map(|r| now.saturating_add(secs(r)));
                    k.renewal_failed(p.ticket, now, retry_at).map(|()| None)
                };
                if is_current {
                    let got =
                        result.map_err(|e| TestCaseError::fail(format!("current ticket refused: {e}")))?;
                    current = None;
                    match got {
                        // A renewal's token is the live one, whatever was
                        // restored meanwhile, with the next version.
                        Some(t) => {
                            prop_assert_eq!(k.token(), Some(&t));
                            highest += 1;
                            held = Some((highest, false));
                            prop_assert_eq!(k.snapshot().map(|s| s.version()), Some(highest));
                        }
                        None => {
                            // At least the first pause (1 s), and the
                            // server's wait cut to `max_server_wait` (600 s).
                            let pause = now.saturating_add(k.pacing().initial_backoff);
                            let server =
                                retry.map_or(Timestamp::EPOCH, |r| now.saturating_add(secs(r.min(600))));
                            let d = k.next_deadline();
                            prop_assert!(d >= pause.max(server), "{:?} before {:?}", d, pause.max(server));
                            no_renew_before = pause.max(server);
                        }
                    }
                } else {
                    prop_assert_eq!(result, Err(Error::Usage(UsageError::StaleTicket)));
                    prop_assert_eq!(k.token(), before.as_ref(), "a stale ticket changed the token");
                }
            }
            Op::Rejected => {
                if let Some(t) = k.token().map(|t| t.access_token().clone()) {
                    let until = valid_until.get_mut(t.expose_secret()).unwrap();
                    *until = (*until).min(now);
                    k.token_rejected(now, &t);
                    if let Some((_, refused)) = held.as_mut() {
                        *refused = true;
                    }
                }
                prop_assert!(k.usable_token(now).is_none());
                prop_assert!(k.snapshot().is_none());
            }
            Op::Restore { ago, life, version } => {
                minted += 1;
                let name = format!("restored-{minted}");
                let obtained = now.saturating_sub(Duration::from_millis(*ago));
                let expires = obtained.saturating_add(secs(*life));
                valid_until.insert(name.clone(), expires);
                let held_version = held.map_or(0, |(v, _)| v);
                let version = match version {
                    Rank::Older => held_version.saturating_sub(1),
                    Rank::Same => held_version,
                    Rank::Newer => highest + 1,
                };
                let adopted = k
                    .restore(Snapshot::new(
                        CONN,
                        version,
                        AccessToken::new(&name),
                        obtained,
                        Some(expires),
                    ))
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                // Versions rank tokens, never clocks: a higher one wins, an
                // equal one (another token) only when the held one was refused.
                let expected = match held {
                    None => true,
                    Some((v, refused)) => version > v || (version == v && refused),
                };
                prop_assert_eq!(adopted, expected, "version {} against {:?}", version, held);
                if adopted {
                    prop_assert_eq!(k.token().unwrap().access_token().expose_secret(), name.as_str());
                    held = Some((version, false));
                    highest = highest.max(version);
                }
            }
        }
        prop_assert_eq!(k.renewing(), current.is_some());
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    #[test]
    fn many_callers_never_run_two_renewals(callers in 2usize..50, ops in prop::collection::vec(op(), 1..300)) {
        run_callers(callers, &ops)?;
    }
}

// ------------------------------------------------------------ arbitrary clocks

const HOUR_MS: u64 = 3_600_000;
const DAY_MS: u64 = 24 * HOUR_MS;

/// How the caller's clock moves before an operation.
#[derive(Clone, Debug)]
enum Clock {
    Stay,
    Forward(u64),
    Back(u64),
    /// To this many milliseconds since the epoch.
    To(u64),
}

fn clock(d: &mut Draw) -> Clock {
    match d.weighted(&[3, 6, 4, 2, 1, 1, 3, 2, 1, 1, 1, 1, 1, 2]) {
        0 => Clock::Stay,
        1 => Clock::Forward(d.below(5_000)),
        2 => Clock::Forward(d.below(900_000)),
        3 => Clock::Forward(d.below(40_000_000)),
        4 => Clock::Forward(DAY_MS + d.below(400 * DAY_MS)),
        5 => Clock::Forward(u64::MAX / 3),
        6 => Clock::Back(d.below(5_000)),
        7 => Clock::Back(HOUR_MS + d.below(30 * DAY_MS)),
        8 => Clock::Back(HOUR_MS),
        9 => Clock::To(u64::MAX),
        10 => Clock::To(u64::MAX - d.below(10_000)),
        11 => Clock::To(0),
        12 => Clock::To(d.below(10_000)),
        _ => Clock::To(T0.as_unix_millis() + d.below(2 * DAY_MS)),
    }
}

fn moved(now: Timestamp, clock: &Clock) -> Timestamp {
    match *clock {
        Clock::Stay => now,
        Clock::Forward(ms) => now.saturating_add(Duration::from_millis(ms)),
        Clock::Back(ms) => now.saturating_sub(Duration::from_millis(ms)),
        Clock::To(ms) => Timestamp::from_unix_millis(ms),
    }
}

/// When a token was obtained, against the `now` of the process at hand: a
/// peer's clock may run ahead or behind.
#[derive(Clone, Debug)]
enum Skew {
    Now,
    Ahead(u64),
    Behind(u64),
}

fn skew(d: &mut Draw) -> Skew {
    match d.weighted(&[4, 2, 2, 1, 1]) {
        0 => Skew::Now,
        1 => Skew::Ahead(HOUR_MS),
        2 => Skew::Behind(HOUR_MS),
        3 => Skew::Ahead(d.below(2 * DAY_MS)),
        _ => Skew::Behind(d.below(2 * DAY_MS)),
    }
}

/// How long a token lives.
#[derive(Clone, Debug)]
enum Life {
    /// Already expired at `now`.
    Expired,
    Secs(u64),
    TenHours,
    Forever,
    UntilMax,
}

fn life(d: &mut Draw) -> Life {
    match d.weighted(&[1, 3, 4, 1, 1]) {
        0 => Life::Expired,
        1 => Life::Secs(1 + d.below(1_200)),
        2 => Life::TenHours,
        3 => Life::Forever,
        _ => Life::UntilMax,
    }
}

/// A token's `obtained_at` and `expires_at` at `now`.
fn times(now: Timestamp, skew: &Skew, life: &Life) -> (Timestamp, Option<Timestamp>) {
    let obtained = match *skew {
        Skew::Now => now,
        Skew::Ahead(ms) => now.saturating_add(Duration::from_millis(ms)),
        Skew::Behind(ms) => now.saturating_sub(Duration::from_millis(ms)),
    };
    let expires = match *life {
        Life::Expired => Some(now.min(obtained)),
        Life::Secs(s) => Some(obtained.saturating_add(secs(s))),
        Life::TenHours => Some(obtained.saturating_add(TEN_HOURS)),
        Life::Forever => None,
        Life::UntilMax => Some(Timestamp::MAX),
    };
    (obtained, expires)
}

/// When a failed renewal's server asked to retry.
#[derive(Clone, Debug)]
enum Retry {
    None,
    Past(u64),
    Near(u64),
    Far(u64),
    Max,
    /// `Fri, 31 Dec 9999 23:59:59 GMT`.
    Year9999,
}

fn retry(d: &mut Draw) -> Retry {
    match d.weighted(&[3, 1, 2, 1, 1, 1]) {
        0 => Retry::None,
        1 => Retry::Past(d.below(DAY_MS)),
        2 => Retry::Near(d.below(120_000)),
        3 => Retry::Far(DAY_MS + d.below(10_000 * DAY_MS)),
        4 => Retry::Max,
        _ => Retry::Year9999,
    }
}

fn retry_at(now: Timestamp, retry: &Retry) -> Option<Timestamp> {
    match *retry {
        Retry::None => None,
        Retry::Past(ms) => Some(now.saturating_sub(Duration::from_millis(ms))),
        Retry::Near(ms) => Some(now.saturating_add(Duration::from_millis(ms))),
        Retry::Far(ms) => Some(now.saturating_add(Duration::from_millis(ms))),
        Retry::Max => Some(Timestamp::MAX),
        Retry::Year9999 => Some(Timestamp::from_unix_secs(253_402_300_799)),
    }
}

/// Which token an operation names.
#[derive(Clone, Debug)]
enum Pick {
    /// One never seen.
    New,
    Held,
    LastRefused,
    /// Any seen before.
    Seen(usize),
}

fn pick(d: &mut Draw) -> Pick {
    match d.weighted(&[3, 3, 2, 2]) {
        0 => Pick::New,
        1 => Pick::Held,
        2 => Pick::LastRefused,
        _ => Pick::Seen(d.below(1 << 16) as usize),
    }
}

/// A peer's version, against this keeper's.
#[derive(Clone, Debug)]
enum Version {
    Zero,
    BelowHeld,
    Held,
    AboveHeld,
    AboveHighest,
    Max,
    /// The version the token was installed with, if it was.
    Own,
    Any(u64),
}

fn version(d: &mut Draw) -> Version {
    match d.weighted(&[1, 2, 2, 2, 2, 1, 2, 1]) {
        0 => Version::Zero,
        1 => Version::BelowHeld,
        2 => Version::Held,
        3 => Version::AboveHeld,
        4 => Version::AboveHighest,
        5 => Version::Max,
        6 => Version::Own,
        _ => Version::Any(d.next()),
    }
}

/// Durations a pacing field is set to: zero, under and at every bound, huge.
const PACING_VALUES: [Duration; 13] = [
    Duration::ZERO,
    Duration::from_nanos(1),
    Duration::from_micros(999),
    Duration::from_millis(1),
    Duration::from_millis(999),
    Duration::from_secs(1),
    Duration::from_secs(30),
    Duration::from_secs(300),
    Duration::from_secs(600),
    Duration::from_secs(3_600),
    Duration::from_secs(86_400),
    Duration::from_millis(86_400_001),
    Duration::MAX,
];

fn pacing_change(d: &mut Draw) -> Vec<(usize, Duration)> {
    let n = 1 + d.below(3);
    (0..n)
        .map(|_| {
            let field = d.below(6) as usize;
            (field, PACING_VALUES[d.below(PACING_VALUES.len() as u64) as usize])
        })
        .collect()
}

fn with_changes(pacing: Pacing, changes: &[(usize, Duration)]) -> Pacing {
    changes
        .iter()
        .fold(pacing, |p, (field, d)| with_field(p, *field, *d))
}

#[derive(Clone, Debug)]
enum KOp {
    Clock(Clock),
    /// Caller `n % callers` polls.
    Poll(usize),
    /// The ticket `pick % out` reports a token.
    Renewed {
        pick: usize,
        skew: Skew,
        life: Life,
    },
    Failed {
        pick: usize,
        retry: Retry,
    },
    Abandoned {
        pick: usize,
    },
    /// SUZ answered 401 to a token.
    Rejected(Pick),
    Restore {
        token: Pick,
        version: Version,
        skew: Skew,
        life: Life,
        other_connection: bool,
    },
    /// A ticket of another keeper of the same connection (numbered as this
    /// keeper's current one, or first) is reported here: 0 renewed, 1
    /// failed, 2 abandoned.
    Foreign {
        same_number: bool,
        how: u8,
    },
    RetryNow,
    SetPacing(Vec<(usize, Duration)>),
}

/// Draws from a seed: cheap to generate in a debug build (proptest's own
/// unions of strategies cost ~10 ms a case there), shrunk by proptest
/// through the seeds and the length of the list.
struct Draw(u64);

impl Draw {
    fn next(&mut self) -> u64 {
        // splitmix64.
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform enough in `0..n` (n > 0).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// An index into `weights`, drawn by weight.
    fn weighted(&mut self, weights: &[u64]) -> usize {
        let mut at = self.below(weights.iter().sum());
        for (i, w) in weights.iter().enumerate() {
            if at < *w {
                return i;
            }
            at -= w;
        }
        weights.len() - 1
    }
}

fn kop_from(seed: u64) -> KOp {
    let d = &mut Draw(seed);
    match d.weighted(&[10, 12, 4, 3, 1, 3, 4, 1, 1, 1]) {
        0 => KOp::Clock(clock(d)),
        1 => KOp::Poll(d.below(64) as usize),
        2 => KOp::Renewed {
            pick: d.below(64) as usize,
            skew: skew(d),
            life: life(d),
        },
        3 => KOp::Failed {
            pick: d.below(64) as usize,
            retry: retry(d),
        },
        4 => KOp::Abandoned {
            pick: d.below(64) as usize,
        },
        5 => KOp::Rejected(pick(d)),
        6 => KOp::Restore {
            token: pick(d),
            version: version(d),
            skew: skew(d),
            life: life(d),
            other_connection: d.below(20) == 0,
        },
        7 => KOp::Foreign {
            same_number: d.below(2) == 0,
            how: d.below(3) as u8,
        },
        8 => KOp::RetryNow,
        _ => KOp::SetPacing(pacing_change(d)),
    }
}

fn kops() -> impl Strategy<Value = Vec<KOp>> {
    prop::collection::vec(any::<u64>(), 1..300).prop_map(|seeds| seeds.into_iter().map(kop_from).collect())
}

/// A ticket someone holds.
struct Held {
    ticket: RenewalTicket,
    number: u64,
}

/// Every token a run mints, with the version it was installed with.
#[derive(Default)]
struct Minted {
    count: u64,
    seen: Vec<(String, Option<u64>)>,
}

impl Minted {
    fn mint(&mut self) -> String {
        self.count += 1;
        format!("tok-{}", self.count)
    }
}

/// Counts of what the runs reached, to check the generator covers the cases.
#[derive(Default, Debug)]
struct Reached {
    tickets: u64,
    voided: u64,
    waits: u64,
    uses: u64,
    stale: u64,
    adopted: u64,
    refused_restores: u64,
    at_max: u64,
    stepped_back: u64,
    invalid_pacing: u64,
}

/// Runs `ops` on a keeper and its model (`common::keeper_model`), checking
/// every answer and the keeper's state after each operation.
fn run_clocks(callers: usize, ops: &[KOp], reached: &mut Reached) -> Result<(), TestCaseError> {
    let mut k = ModelledKeeper::new(CONN);
    let mut now = T0;
    // Tickets out in callers' hands, current or not.
    let mut hands: Vec<Held> = Vec::new();
    let mut minted = Minted::default();
    for op in ops {
        match op {
            KOp::Clock(c) => {
                let next = moved(now, c);
                reached.stepped_back += u64::from(next < now);
                reached.at_max += u64::from(next == Timestamp::MAX);
                now = next;
            }
            KOp::Poll(n) => {
                let _caller = n % callers;
                let (polled, lost) = k.poll(now).map_err(TestCaseError::fail)?;
                reached.voided += u64::from(lost);
                match polled {
                    Polled::Renew(ticket) => {
                        hands.push(Held {
                            ticket,
                            number: k.issued,
                        });
                        reached.tickets += 1;
                    }
                    Polled::Use(_) => reached.uses += 1,
                    Polled::Wait(_) => reached.waits += 1,
                }
            }
            KOp::Renewed { pick, skew, life } => {
                if hands.is_empty() {
                    continue;
                }
                let held = hands.remove(pick % hands.len());
                let name = minted.mint();
                let (obtained, expires) = times(now, skew, life);
                let token = TokenSet::new(AccessToken::new(&name), obtained, expires);
                let current = k
                    .renewed(held.ticket, held.number, token)
                    .map_err(TestCaseError::fail)?;
                minted.seen.push((name, current.then_some(k.version)));
                reached.stale += u64::from(!current);
            }
            KOp::Failed { pick, retry } => {
                if hands.is_empty() {
                    continue;
                }
                let held = hands.remove(pick % hands.len());
                let current = k
                    .failed(now, held.ticket, held.number, retry_at(now, retry))
                    .map_err(TestCaseError::fail)?;
                reached.stale += u64::from(!current);
            }
            KOp::Abandoned { pick } => {
                if hands.is_empty() {
                    continue;
                }
                let held = hands.remove(pick % hands.len());
                let current = k
                    .abandoned(held.ticket, held.number)
                    .map_err(TestCaseError::fail)?;
                reached.stale += u64::from(!current);
            }
            KOp::Rejected(which) => {
                let seen = &minted.seen;
                let name = match which {
                    Pick::Held => k.held.as_ref().map(|h| h.name.clone()),
                    Pick::LastRefused => k.refused.last().cloned(),
                    Pick::Seen(i) if !seen.is_empty() => Some(seen[i % seen.len()].0.clone()),
                    _ => None,
                }
                .unwrap_or_else(|| minted.mint());
                k.rejected(now, &name).map_err(TestCaseError::fail)?;
            }
            KOp::Restore {
                token,
                version,
                skew,
                life,
                other_connection,
            } => {
                let seen = &minted.seen;
                let known = match token {
                    Pick::Held => k.held.as_ref().map(|h| (h.name.clone(), Some(h.version))),
                    Pick::LastRefused => k.refused.last().cloned().map(|name| {
                        let own = seen.iter().find(|(n, _)| *n == name).and_then(|(_, v)| *v);
                        (name, own)
                    }),
                    Pick::Seen(i) if !seen.is_empty() => Some(seen[i % seen.len()].clone()),
                    _ => None,
                };
                let (name, own) = known.unwrap_or_else(|| (minted.mint(), None));
                let held_version = k.held.as_ref().map_or(0, |h| h.version);
                let version = match version {
                    Version::Zero => 0,
                    Version::BelowHeld => held_version.saturating_sub(1),
                    Version::Held => held_version,
                    Version::AboveHeld => held_version.saturating_add(1),
                    Version::AboveHighest => k.version.saturating_add(1),
                    Version::Max => u64::MAX,
                    Version::Own => own.unwrap_or(held_version),
                    Version::Any(v) => *v,
                };
                let (obtained, expires) = times(now, skew, life);
                let connection = if *other_connection {
                    "another-connection"
                } else {
                    CONN
                };
                let token = TokenSet::new(AccessToken::new(&name), obtained, expires);
                match k
                    .restore(connection, version, &token)
                    .map_err(TestCaseError::fail)?
                {
                    None => {}
                    Some(true) => {
                        if !minted.seen.iter().any(|(n, _)| *n == name) {
                            minted.seen.push((name, Some(version)));
                        }
                        reached.adopted += 1;
                    }
                    Some(false) => reached.refused_restores += 1,
                }
            }
            KOp::Foreign { same_number, how } => {
                // Another keeper's ticket, even of the same connection and
                // with the number of this keeper's current one.
                let number = if *same_number { k.issued.max(1) } else { 1 };
                k.foreign(now, number, *how).map_err(TestCaseError::fail)?;
                reached.stale += 1;
            }
            KOp::RetryNow => k.retry_now(),
            KOp::SetPacing(changes) => {
                let pacing = with_changes(*k.keeper.pacing(), changes);
                let valid = k.set_pacing(pacing).map_err(TestCaseError::fail)?;
                reached.invalid_pacing += u64::from(!valid);
            }
        }
        k.check(now).map_err(TestCaseError::fail)?;
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1_500, ..ProptestConfig::default() })]

    /// Arbitrary clocks, several callers, renewals reported or not, 401s,
    /// snapshots from skewed peers, `retry_now` and pacing changes, against
    /// the model: one renewal out, only the live token handed out, every
    /// wait bounded, old and foreign tickets refused.
    #[test]
    fn arbitrary_clocks_never_break_single_flight(
        callers in 1usize..8,
        ops in kops(),
    ) {
        let mut reached = Reached::default();
        run_clocks(callers, &ops, &mut reached)?;
    }
}

/// The generator reaches what the property is about: fixed seeds, counted.
#[test]
fn arbitrary_clocks_reach_every_case() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]),
    );
    let mut reached = Reached::default();
    let strategy = (1usize..8, kops());
    for _ in 0..200 {
        let (callers, ops) = strategy.new_tree(&mut runner).unwrap().current();
        run_clocks(callers, &ops, &mut reached).unwrap();
    }
    let Reached {
        tickets,
        voided,
        waits,
        uses,
        stale,
        adopted,
        refused_restores,
        at_max,
        stepped_back,
        invalid_pacing,
    } = &reached;
    for (what, n) in [
        ("tickets", tickets),
        ("voided", voided),
        ("waits", waits),
        ("uses", uses),
        ("stale", stale),
        ("adopted", adopted),
        ("refused restores", refused_restores),
        ("at MAX", at_max),
        ("stepped back", stepped_back),
        ("invalid pacing", invalid_pacing),
    ] {
        assert!(*n >= 10, "{what}: {n} in {reached:?}");
    }
}

// ------------------------------------------------------------ the review's cases

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
            assert!(matches!(
                k.poll(T0.saturating_add(Duration::from_millis(ms))),
                KeeperAction::Wait(_)
            ));
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

// ------------------------------------------------------------ end to end

/// What a store keeps of a snapshot: every field, as text and numbers.
#[derive(Clone)]
struct Stored {
    connection: String,
    version: u64,
    token: String,
    obtained_at_ms: u64,
    expires_at_ms: Option<u64>,
}

impl Stored {
    fn write(snapshot: &Snapshot) -> Self {
        Stored {
            connection: snapshot.oms_connection().to_owned(),
            version: snapshot.version(),
            token: snapshot.token().expose_secret().to_owned(),
            obtained_at_ms: snapshot.obtained_at().as_unix_millis(),
            expires_at_ms: snapshot.expires_at().map(Timestamp::as_unix_millis),
        }
    }

    fn read(&self) -> Snapshot {
        Snapshot::new(
            self.connection.clone(),
            self.version,
            AccessToken::new(&self.token),
            Timestamp::from_unix_millis(self.obtained_at_ms),
            self.expires_at_ms.map(Timestamp::from_unix_millis),
        )
    }
}

/// A store shared by processes: the last snapshot and a renewal lease.
#[derive(Default)]
struct Store {
    snapshot: Option<Stored>,
    lease: Option<(usize, Timestamp)>,
}

/// `processes` processes with `callers` callers each share one connection
/// through a store, renewing by True API sign-ins (taking up to 30 s)
/// against one fake, for two simulated days. Every use is checked against
/// the fake. Returns (tokens issued, sign-ins run, renewals refused by the lease).
fn simulate(processes: usize, callers: usize, seed: u64) -> (u64, u64, u64) {
    let mut crpt = Crpt::new();
    let mut store = Store::default();
    let mut keepers: Vec<TokenKeeper> = (0..processes).map(|_| TokenKeeper::new(CONN)).collect();
    // A sign-in in progress per process: its ticket and when it completes.
    let mut signing: Vec<Option<(RenewalTicket, Timestamp)>> = (0..processes).map(|_| None).collect();
    let mut now = T0;
    let end = T0.saturating_add(secs(48 * 3600));
    let mut rng = seed.max(1);
    let mut next = move || {
        // xorshift64*: deterministic, no dependency.
        rng ^= rng >> 12;
        rng ^= rng << 25;
        rng ^= rng >> 27;
        rng.wrapping_mul(0x2545_f491_4f6c_dd1d)
    };
    let (mut sign_ins, mut uses, mut leased_out) = (0u64, 0u64, 0u64);
    let mut last_version = 0;
    while now < end {
        // Sign-ins that are done by now report back.
        for p in 0..processes {
            if signing[p].as_ref().is_some_and(|(_, done_at)| *done_at <= now) {
                let (ticket, done_at) = signing[p].take().unwrap();
                let flow = true_api::sign_in(&TrueApiStand::Demo.endpoint(), Some(CONN)).unwrap();
                let issued_before = crpt.tokens_issued();
                let token = drive::drive(
                    flow,
                    || done_at,
                    |req| Ok::<_, std::convert::Infallible>(crpt.handle(done_at, &req)),
                    |job| Ok::<_, std::convert::Infallible>(fake::sign(job)),
                    |_| {},
                )
                .unwrap();
                sign_ins += 1;
                assert_eq!(crpt.tokens_issued(), issued_before + 1, "one token per renewal");
                keepers[p].renewed(ticket, token).unwrap();
                let snapshot = keepers[p].snapshot().expect("a fresh token is shared");
                // Each token the processes share has the next version.
                assert_eq!(snapshot.version(), last_version + 1, "process {p}");
                last_version = snapshot.version();
                store.snapshot = Some(Stored::write(&snapshot));
                store.lease = None;
            }
        }
        let p = (next() % processes as u64) as usize;
        let _caller = next() % callers as u64;
        let k = &mut keepers[p];
        // Every poll reads the store first.
        if let Some(s) = &store.snapshot {
            k.restore(s.read()).unwrap();
        }
        match k.poll(now) {
            KeeperAction::UseToken(t) => {
                uses += 1;
                assert!(
                    crpt.accepts(now, CONN, t),
                    "process {p} used a dead token at {now:?}"
                );
                let (name, value) = tokendance::crpt::suz_client_token(t).unwrap();
                assert_eq!(name, "clienttoken");
                assert!(value.is_sensitive());
            }
            KeeperAction::Wait(until) => assert!(until > now),
            KeeperAction::Renew(ticket) => {
                assert!(signing[p].is_none(), "process {p}: a second renewal");
                match store.lease {
                    Some((owner, until)) if owner != p && now < until => {
                        leased_out += 1;
                        k.renewal_failed(ticket, now, Some(until)).unwrap();
                    }
                    _ => {
                        let done_at = now.saturating_add(Duration::from_millis(next() % 30_000));
                        store.lease = Some((p, now.saturating_add(secs(60))));
                        signing[p] = Some((ticket, done_at));
                    }
                }
            }
        }
        now = now.saturating_add(Duration::from_millis(next() % 20_000));
    }
    assert!(uses > 1_000, "{uses}");
    (crpt.tokens_issued(), sign_ins, leased_out)
}

#[test]
fn processes_sharing_a_connection_renew_once_per_token() {
    for (processes, callers, seed) in [(1, 50, 1), (3, 10, 2), (8, 4, 3), (5, 20, 0x5eed)] {
        let (issued, sign_ins, leased_out) = simulate(processes, callers, seed);
        assert_eq!(issued, sign_ins);
        if processes > 1 {
            assert!(leased_out > 0, "{processes} processes never met the lease");
        }
        // Two days of 10-hour tokens renewed 5 minutes early: 5 or 6 tokens.
        assert!(
            (5..=6).contains(&issued),
            "{processes} processes: {issued} tokens"
        );
    }
}

/// A ticket carries its keeper: another connection's keeper refuses it,
/// even when its own ticket has the same number.
#[test]
fn a_ticket_is_refused_by_another_connections_keeper() {
    for (a, b) in [("conn-1", "conn-2"), ("a", "b"), ("x", "xy"), ("", "0")] {
        let mut first = TokenKeeper::new(a);
        let mut second = TokenKeeper::new(b);
        let ticket_a = renew(first.poll(T0));
        let ticket_b = renew(second.poll(T0));
        assert_eq!(
            second.renewed(ticket_a, token("tok-a", T0, TEN_HOURS)),
            Err(Error::Usage(UsageError::StaleTicket)),
            "{a} / {b}"
        );
        // Its own ticket still reports, and the foreign one changed nothing.
        assert!(second.token().is_none());
        second.renewed(ticket_b, token("tok-b", T0, TEN_HOURS)).unwrap();
        assert_eq!(use_token(second.poll(at(1))), "tok-b");
    }
}

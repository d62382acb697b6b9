//! The SUZ `TokenKeeper`: reuse, single-flight renewal, stale tickets,
//! back-off, rejection, deadlines and snapshots; a property test with many
//! simulated callers in simulated time; and an end-to-end simulation of
//! several processes sharing one connection against `fake::Crpt`.
#![cfg(feature = "fake")]

use std::collections::HashMap;
use std::time::Duration;

use proptest::prelude::*;
use tokendance::crpt::{true_api, KeeperAction, RenewalTicket, Snapshot, TokenKeeper, TrueApiStand};
use tokendance::fake::{self, Crpt, Fake};
use tokendance::{drive, AccessToken, Error, Timestamp, TokenSet, UsageError};

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

/// A keeper holding `name`, obtained at `T0`, living 10 hours.
fn holding(name: &str) -> TokenKeeper {
    let mut k = TokenKeeper::new(CONN);
    let ticket = renew(k.poll(T0));
    k.renewed(ticket, token(name, T0, TEN_HOURS)).unwrap();
    k
}

#[test]
fn defaults_and_first_renewal() {
    let mut k = TokenKeeper::new(CONN);
    assert_eq!(k.oms_connection(), CONN);
    assert_eq!(k.renew_margin, secs(300));
    assert_eq!(k.renewal_timeout, secs(300));
    assert_eq!(k.initial_backoff, secs(1));
    assert_eq!(k.max_backoff, secs(300));
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
}

#[test]
fn reuse_until_the_margin_then_renew_exactly_once() {
    let mut k = holding("tok-1");
    k.renewal_timeout = secs(600);
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
    // The renewal is taken as lost: a new ticket.
    let new = renew(k.poll(at(300)));
    assert_ne!(old, new);
    assert_eq!(wait(k.poll(at(301))), at(600));
    let e = k.renewed(old, token("late", at(10), TEN_HOURS)).unwrap_err();
    assert_eq!(e, Error::Usage(UsageError::StaleTicket));
    assert!(k.token().is_none(), "a stale renewal's token was kept");
    assert!(k.renewing());
    assert_eq!(wait(k.poll(at(302))), at(600));
    k.renewed(new, token("fresh", at(300), TEN_HOURS)).unwrap();
    assert_eq!(use_token(k.poll(at(302))), "fresh");

    // Stale after a success too, and for `renewal_failed`.
    let mut k = holding("held");
    let a = renew(k.poll(at(35_700)));
    let b = renew(k.poll(at(36_000)));
    assert_eq!(
        k.renewal_failed(a, at(36_001), None),
        Err(Error::Usage(UsageError::StaleTicket))
    );
    k.renewed(b, token("b", at(36_000), TEN_HOURS)).unwrap();
    assert_eq!(use_token(k.poll(at(36_001))), "b");
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
fn backoff_honours_retry_at_and_custom_limits() {
    let mut k = TokenKeeper::new(CONN);
    k.initial_backoff = secs(10);
    k.max_backoff = secs(25);
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
    let mut k = holding("held");
    let ticket = renew(k.poll(at(35_700)));
    k.renewal_failed(ticket, at(35_700), Some(Timestamp::MAX))
        .unwrap();
    assert_eq!(use_token(k.poll(at(35_999))), "held");
    assert_eq!(wait(k.poll(at(36_000))), Timestamp::MAX);
}

#[test]
fn a_rejected_token_forces_a_renewal() {
    let mut k = holding("tok-1");
    assert_eq!(use_token(k.poll(at(60))), "tok-1");
    // A late 401 for another token changes nothing.
    k.token_rejected(at(61), &AccessToken::new("tok-0"));
    assert_eq!(use_token(k.poll(at(61))), "tok-1");
    k.token_rejected(at(61), &AccessToken::new("tok-1"));
    assert!(!k.token().unwrap().is_valid(at(61)));
    assert!(k.next_deadline() <= at(61), "poll at once");
    let ticket = renew(k.poll(at(61)));
    // The rejected token is never handed out again.
    assert_eq!(wait(k.poll(at(62))), at(361));
    k.renewed(ticket, token("tok-2", at(61), TEN_HOURS)).unwrap();
    assert_eq!(use_token(k.poll(at(62))), "tok-2");
    // Without a token, a rejection changes nothing.
    let mut empty = TokenKeeper::new(CONN);
    empty.token_rejected(T0, &AccessToken::new("tok-1"));
    assert!(empty.token().is_none());
    let _ticket = renew(empty.poll(T0));
}

#[test]
fn snapshots_restore_newest_wins() {
    let k = holding("tok-1");
    let snap = k.snapshot().unwrap();
    assert_eq!(snap.oms_connection(), CONN);
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
    // The same or an older one is not adopted.
    assert_eq!(other.restore(snap.clone()), Ok(false));
    let older = Snapshot::new(
        CONN,
        AccessToken::new("older"),
        T0.saturating_sub(secs(1)),
        Some(at(99_999)),
    );
    assert_eq!(other.restore(older), Ok(false));
    assert_eq!(use_token(other.poll(at(1))), "tok-1");
    // A newer one is.
    let newer = Snapshot::new(CONN, AccessToken::new("newer"), at(5), Some(at(5 + 36_000)));
    assert_eq!(other.restore(newer.clone()), Ok(true));
    assert_eq!(use_token(other.poll(at(6))), "newer");
    assert_eq!(other.snapshot(), Some(newer));
    // Another connection's snapshot is refused and changes nothing.
    let foreign = Snapshot::new(
        "other-conn",
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
    // current and may still report.
    let mut k = TokenKeeper::new(CONN);
    let ticket = renew(k.poll(T0));
    k.restore(Snapshot::new(
        CONN,
        AccessToken::new("restored"),
        T0,
        Some(at(36_000)),
    ))
    .unwrap();
    assert_eq!(use_token(k.poll(at(1))), "restored");
    assert!(k.renewed(ticket, token("mine", at(1), TEN_HOURS)).is_ok());
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
    /// A second process shares a token it obtained `ago` ms before now.
    Restore { ago: u64, life: u64 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => prop_oneof![0..2_000u64, 0..400_000u64, 0..40_000_000u64].prop_map(Op::Advance),
        6 => any::<usize>().prop_map(Op::Poll),
        3 => (any::<usize>(), prop::bool::weighted(0.7), 1..40_000u64, prop::option::of(0..1_000u64))
            .prop_map(|(pick, ok, life, retry)| Op::Complete { pick, ok, life, retry }),
        1 => Just(Op::Rejected),
        1 => (0..600_000u64, 1..40_000u64).prop_map(|(ago, life)| Op::Restore { ago, life }),
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
    let timeout = k.renewal_timeout;
    let mut now = T0;
    let mut pending: Vec<Pending> = Vec::new();
    // The model: the current ticket (the last one issued, until reported).
    let mut issued = 0u64;
    let mut current: Option<(u64, Timestamp)> = None;
    // Every token the keeper could hold, with when it stops being valid.
    let mut valid_until: HashMap<String, Timestamp> = HashMap::new();
    let mut no_renew_before = Timestamp::EPOCH;
    let mut minted = 0u64;
    for op in ops {
        match op {
            Op::Advance(ms) => now = now.saturating_add(Duration::from_millis(*ms)),
            Op::Poll(n) => {
                let caller = n % callers;
                if pending.iter().any(|p| p.owner == caller) {
                    continue; // busy renewing
                }
                let held = k.token().cloned();
                match k.poll(now) {
                    KeeperAction::UseToken(t) => {
                        let t = t.expose_secret().to_owned();
                        let held_name = held.as_ref().map(|h| h.access_token().expose_secret());
                        prop_assert_eq!(Some(t.as_str()), held_name);
                        let until = valid_until[&t];
                        prop_assert!(now < until, "{} used at {:?}, valid until {:?}", t, now, until);
                    }
                    KeeperAction::Wait(until) => {
                        prop_assert!(until > now, "wait until {:?} at {:?}", until, now);
                        prop_assert!(
                            held.as_ref().is_none_or(|h| !h.is_valid(now)),
                            "waited with a valid token"
                        );
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
                        // Newest wins: a token restored meanwhile that is
                        // newer than the renewal's stays.
                        Some(t) => {
                            let expected = match before {
                                Some(b) if b.obtained_at() > t.obtained_at() => b,
                                _ => t,
                            };
                            prop_assert_eq!(k.token(), Some(&expected));
                        }
                        None => {
                            let d = k.next_deadline();
                            prop_assert!(d >= now.saturating_add(k.initial_backoff));
                            if let Some(r) = retry {
                                prop_assert!(d >= now.saturating_add(secs(*r)));
                            }
                            no_renew_before = d;
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
                }
                if let Some(t) = k.token() {
                    prop_assert!(!t.is_valid(now));
                }
            }
            Op::Restore { ago, life } => {
                minted += 1;
                let name = format!("restored-{minted}");
                let obtained = now.saturating_sub(Duration::from_millis(*ago));
                let expires = obtained.saturating_add(secs(*life));
                valid_until.insert(name.clone(), expires);
                let held = k.token().map(TokenSet::obtained_at);
                let adopted = k
                    .restore(Snapshot::new(
                        CONN,
                        AccessToken::new(&name),
                        obtained,
                        Some(expires),
                    ))
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(adopted, held.is_none_or(|h| h < obtained));
                if adopted {
                    prop_assert_eq!(k.token().unwrap().access_token().expose_secret(), name.as_str());
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

// ------------------------------------------------------------ end to end

/// A store shared by processes: the last snapshot and a renewal lease.
#[derive(Default)]
struct Store {
    snapshot: Option<Snapshot>,
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
                store.snapshot = keepers[p].snapshot();
                store.lease = None;
            }
        }
        let p = (next() % processes as u64) as usize;
        let _caller = next() % callers as u64;
        let k = &mut keepers[p];
        // Every poll reads the store first.
        if let Some(s) = store.snapshot.clone() {
            k.restore(s).unwrap();
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

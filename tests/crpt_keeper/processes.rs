//! End to end: several processes sharing one connection against `fake::Crpt`.

use super::*;

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
                let (name, value) = tokendance::call::Scheme::SuzClientToken.header(t).unwrap();
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

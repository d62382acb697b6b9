//! The property: many simulated callers in simulated time never run two renewals.

use super::*;

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
    #![proptest_config(config(500))]

    #[test]
    fn many_callers_never_run_two_renewals(callers in 2usize..50, ops in prop::collection::vec(op(), 1..300)) {
        run_callers(callers, &ops)?;
    }
}

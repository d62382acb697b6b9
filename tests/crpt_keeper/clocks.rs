//! The arbitrary-clocks property (forwards, backwards, `Timestamp::MAX`, the epoch) against a model.

use super::*;

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
    #![proptest_config(config(1_500))]

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

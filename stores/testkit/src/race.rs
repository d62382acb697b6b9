//! Racing compare-and-sets: of the swaps from one version, exactly one wins.

use std::future::Future;
use std::sync::{Arc, Barrier};

use tokendance::fleet::conformance::sample_record;
use tokendance::fleet::{Record, StoreAnswer, StoreError, StoreOp};

/// How many stores [`assert_races`] races: as many as the fleet demo's
/// processes.
pub const RACERS: usize = 8;

/// How many rounds [`assert_races`] runs.
pub const ROUNDS: u64 = 50;

/// The swap racer `racer` sends in round `round` of a race on `key`: from
/// the version the round before left (none in round 0), with a record of
/// its own (its token's length names the racer).
fn round_swap(key: &str, round: u64, racer: usize) -> StoreOp {
    let expected = (round > 0).then_some(round);
    let record = sample_record(key, round + 1, 20 + racer);
    StoreOp::swap(round, key.to_owned(), expected, &record)
}

/// `Ok` if the raced record, as read back, is at version `rounds`.
fn check_final_version(rounds: u64, read: Result<StoreAnswer, StoreError>) -> Result<(), String> {
    match read {
        Ok(StoreAnswer::Found(Some(bytes))) => match Record::from_json(&bytes) {
            Ok(record) if record.version == rounds => Ok(()),
            Ok(record) => Err(format!("ended at version {}, not {rounds}", record.version)),
            Err(e) => Err(format!("the raced record does not read back: {e}")),
        },
        other => Err(format!("reading the raced record: {other:?}")),
    }
}

/// `threads` stores (from `connect`, one each, as separate processes
/// would have) race `rounds` times: each round every one swaps from the
/// version the last round left. Exactly one must win each round, and the
/// record must end at version `rounds`.
pub fn check_races<S>(
    prefix: &str,
    threads: usize,
    rounds: u64,
    connect: impl Fn() -> S,
    apply: impl Fn(&mut S, &StoreOp) -> Result<StoreAnswer, StoreError> + Sync,
) -> Result<(), String>
where
    S: Send,
{
    let key = format!("{prefix}:race");
    let barrier = Arc::new(Barrier::new(threads));
    let stores: Vec<S> = (0..threads).map(|_| connect()).collect();
    let wins: Vec<Result<Vec<u64>, String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = stores
            .into_iter()
            .enumerate()
            .map(|(t, mut store)| {
                let (key, barrier, apply) = (&key, Arc::clone(&barrier), &apply);
                scope.spawn(move || {
                    let mut won = Vec::new();
                    let mut failure = None;
                    // Every thread meets every barrier, even after a failure:
                    // one that left early would leave the others waiting.
                    for round in 0..rounds {
                        barrier.wait();
                        match apply(&mut store, &round_swap(key, round, t)) {
                            Ok(StoreAnswer::Swapped) => won.push(round),
                            Ok(StoreAnswer::Conflict) => {}
                            other => {
                                failure.get_or_insert_with(|| format!("thread {t} round {round}: {other:?}"));
                            }
                        }
                        barrier.wait();
                    }
                    failure.map_or(Ok(won), Err)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err("a thread panicked".to_owned())))
            .collect()
    });
    let mut per_round = vec![0u32; rounds as usize];
    for won in wins {
        for round in won? {
            per_round[round as usize] += 1;
        }
    }
    if let Some((round, n)) = per_round.iter().enumerate().find(|(_, n)| **n != 1) {
        return Err(format!("round {round}: {n} swaps from one version won"));
    }
    let mut store = connect();
    check_final_version(rounds, apply(&mut store, &StoreOp::read(0, key.clone())))
}

/// [`check_races`] as every store's tests run it: [`RACERS`] stores,
/// [`ROUNDS`] rounds. Panics with what went wrong.
pub fn assert_races<S: Send>(
    prefix: &str,
    connect: impl Fn() -> S,
    apply: impl Fn(&mut S, &StoreOp) -> Result<StoreAnswer, StoreError> + Sync,
) {
    if let Err(e) = check_races(prefix, RACERS, ROUNDS, connect, apply) {
        panic!("{RACERS} stores racing {ROUNDS} rounds: {e}");
    }
}

/// `racers` tasks sharing one store (an async store's one connection)
/// race `rounds` times on `{prefix}:shared`, as [`check_races`]'s threads
/// do: exactly one swap must win each round, and the record must end at
/// version `rounds`.
///
/// `send` must start the operation it is given at once (spawn it on the
/// runtime) and return a future of its answer: the round's swaps are all
/// sent before any answer is awaited. A future that only runs once awaited
/// would make the racers take turns, and the check would race nothing.
/// No runtime of this crate's: the caller's spawns the tasks.
pub async fn check_shared_races<F, A>(
    prefix: &str,
    racers: usize,
    rounds: u64,
    mut send: F,
) -> Result<(), String>
where
    F: FnMut(StoreOp) -> A,
    A: Future<Output = Result<StoreAnswer, StoreError>>,
{
    let key = format!("{prefix}:shared");
    for round in 0..rounds {
        let pending: Vec<A> = (0..racers).map(|t| send(round_swap(&key, round, t))).collect();
        let mut won = 0;
        for (t, answer) in pending.into_iter().enumerate() {
            match answer.await {
                Ok(StoreAnswer::Swapped) => won += 1,
                Ok(StoreAnswer::Conflict) => {}
                other => return Err(format!("task {t} round {round}: {other:?}")),
            }
        }
        if won != 1 {
            return Err(format!("round {round}: {won} swaps from one version won"));
        }
    }
    check_final_version(rounds, send(StoreOp::read(0, key.clone())).await)
}

//! What every store adapter must do, as checks an adapter's tests call
//! against a real store (feature `fake`): answer exactly as
//! [`MemoryStore`] does, keep keys apart whatever their
//! characters, hold records up to [`MAX_RECORD_BYTES`],
//! and let exactly one of racing compare-and-sets from one version win.
//!
//! ```
//! use tokendance::fleet::{conformance, MemoryStore};
//! let mut store = MemoryStore::default();
//! conformance::check_store("doc-test", &mut |op| Ok(store.apply(op)))?;
//! # Ok::<(), String>(())
//! ```

use std::sync::{Arc, Barrier};
use std::time::Duration;

use super::record::{Record, SharedToken, MAX_RECORD_BYTES};
use super::store::{MemoryStore, StoreAnswer, StoreError, StoreOp};
use crate::secret::AccessToken;
use crate::time::Timestamp;
use crate::token::TokenSet;

/// A store as the checks drive it: one operation, carried out.
pub type Apply<'a> = dyn FnMut(&StoreOp) -> Result<StoreAnswer, StoreError> + 'a;

/// Keys that a store must keep apart (and that must never reach outside
/// it: a file store must not read `../x` as a path). Each is prefixed.
pub const AWKWARD_KEYS: &[&str] = &[
    "a",
    "A",
    "ab",
    "a/b",
    "a%2Fb",
    "a\\b",
    "..",
    "../a",
    ".",
    "*",
    "a*",
    "?",
    "';DROP/**/TABLE/**/tokens;--",
    "\"quoted\"",
    "{lua}",
    "KEYS[1]",
    "con",
    "nul.txt",
    "a:b",
    "~",
    "$HOME",
];

/// A record for `key` at `version`, with a token of `token_len` characters.
pub fn sample_record(key: &str, version: u64, token_len: usize) -> Record {
    let t0 = Timestamp::from_unix_secs(1_700_000_000);
    let text: String = (0..token_len)
        .map(|i| char::from(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"[(i.wrapping_add(version as usize)) % 36]))
        .collect();
    Record {
        token: Some(SharedToken {
            token: TokenSet::new(
                AccessToken::new(text),
                t0,
                Some(t0.saturating_add(Duration::from_secs(600))),
            ),
            published_version: version,
        }),
        version,
        ..Record::empty(key)
    }
}

/// Runs the same operations on the store and on a [`MemoryStore`] and
/// compares every answer; keys start with `prefix` (use a fresh one per
/// run against a store that keeps data). `Err` says where they differ.
pub fn check_store(prefix: &str, apply: &mut Apply<'_>) -> Result<(), String> {
    let mut reference = MemoryStore::default();
    let mut id = 0;
    let mut both = |op: StoreOp, what: &str| -> Result<(), String> {
        let want = reference.apply(&op);
        let got = apply(&op).map_err(|e| format!("{what}: the store failed: {e}"))?;
        if got != want {
            return Err(format!(
                "{what} on key {:?}: got {got:?}, want {want:?}",
                op.key()
            ));
        }
        if let (StoreAnswer::Found(Some(got)), StoreAnswer::Found(Some(_))) = (&got, &want) {
            Record::from_json(got)
                .map_err(|e| format!("{what}: the bytes read back are not a record: {e}"))?;
        }
        Ok(())
    };
    let mut next = || {
        id += 1;
        id
    };
    let keys: Vec<String> = AWKWARD_KEYS.iter().map(|k| format!("{prefix}:{k}")).collect();
    for key in &keys {
        both(StoreOp::read(next(), key.clone()), "read of a missing key")?;
        let v1 = sample_record(key, 1, 40);
        both(
            StoreOp::swap(next(), key.clone(), Some(1), &v1),
            "swap from 1 of a missing key",
        )?;
        both(StoreOp::swap(next(), key.clone(), None, &v1), "create")?;
        both(StoreOp::read(next(), key.clone()), "read after create")?;
        both(StoreOp::swap(next(), key.clone(), None, &v1), "second create")?;
    }
    // Every key was created once, by itself: a store that mixed two keys
    // up gives a wrong answer above or here.
    for key in &keys {
        let v2 = sample_record(key, 2, 80);
        both(StoreOp::swap(next(), key.clone(), Some(1), &v2), "swap from 1")?;
        both(
            StoreOp::swap(next(), key.clone(), Some(1), &v2),
            "second swap from 1",
        )?;
        both(
            StoreOp::swap(next(), key.clone(), Some(3), &v2),
            "swap from a future version",
        )?;
        both(StoreOp::read(next(), key.clone()), "read after swap")?;
    }
    // The largest record a keeper reads back.
    let key = format!("{prefix}:large");
    let mut large = sample_record(&key, 1, 1);
    let room = MAX_RECORD_BYTES - large.to_json().len();
    large = sample_record(&key, 1, room);
    both(
        StoreOp::swap(next(), key.clone(), None, &large),
        "create of a largest record",
    )?;
    both(StoreOp::read(next(), key), "read of a largest record")?;
    Ok(())
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
                        let expected = (round > 0).then_some(round);
                        let record = sample_record(key, round + 1, 20 + t);
                        let op = StoreOp::swap(round, key.clone(), expected, &record);
                        match apply(&mut store, &op) {
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
    match apply(&mut store, &StoreOp::read(0, key.clone())) {
        Ok(StoreAnswer::Found(Some(bytes))) => match Record::from_json(&bytes) {
            Ok(record) if record.version == rounds => Ok(()),
            Ok(record) => Err(format!("ended at version {}, not {rounds}", record.version)),
            Err(e) => Err(format!("the raced record does not read back: {e}")),
        },
        other => Err(format!("reading the raced record: {other:?}")),
    }
}

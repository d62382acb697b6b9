//! What every store adapter must do, as checks an adapter's tests call
//! against a real store (feature `fake`): answer exactly as
//! [`MemoryStore`] does, keep keys apart whatever their characters, and
//! hold records up to [`MAX_RECORD_BYTES`]. The checks are pure: they run
//! on the caller's thread and do no I/O but the store's, through the
//! closure they are given.
//!
//! That exactly one of racing compare-and-sets from one version wins needs
//! threads, which this crate never spawns: that check, with the other
//! helpers the store adapters' tests share, is in the workspace's test-only
//! crate `tokendance-store-testkit` (`stores/testkit`).
//!
//! ```
//! use tokendance::fleet::{conformance, MemoryStore};
//! let mut store = MemoryStore::default();
//! conformance::check_store("doc-test", &mut |op| Ok(store.apply(op)))?;
//! # Ok::<(), String>(())
//! ```

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

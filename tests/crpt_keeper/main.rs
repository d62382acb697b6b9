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
use proptest::test_runner::FileFailurePersistence;
use tokendance::crpt::{true_api, KeeperAction, RenewalTicket, Snapshot, TokenKeeper, TrueApiStand};
use tokendance::fake::{self, Crpt, Fake};
use tokendance::{drive, AccessToken, Error, Pacing, Timestamp, TokenSet, UsageError};

mod basics;
mod callers;
mod clocks;
#[path = "../common/mod.rs"]
mod common;
mod processes;
mod review;

use common::keeper_model::{ModelledKeeper, Polled};
use common::pacing::with_field;
use common::time::{at, at_ms, secs, T0};

const CONN: &str = "11B1ABC9-F4EE-47DB-8A20-F80AC83504E8";
const TEN_HOURS: Duration = Duration::from_secs(36_000);

/// Proptest's config with `cases` cases, keeping failures in
/// `<file>.proptest-regressions` beside the file that runs the property: from
/// a folder crate the default (`SourceParallel`) finds main.rs and would use
/// `tests/proptest-regressions/<file>.txt`, shared by every folder crate.
fn config(cases: u32) -> ProptestConfig {
    let mut config = ProptestConfig::with_cases(cases);
    config.failure_persistence = Some(Box::new(FileFailurePersistence::WithSource(
        "proptest-regressions",
    )));
    config
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

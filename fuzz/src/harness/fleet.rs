//! The fleet's targets: the record a store hands back (`fleet_record`) and
//! keepers driven in arbitrary orders against a store that answers
//! anything (`fleet_keeper_ops`).

use std::time::Duration;

use tokendance::fleet::{
    Fence, FleetAction, FleetKeeper, FleetSettings, FleetTicket, MemoryStore, Record, StoreAnswer,
    StoreError, StoreOp,
};
use tokendance::{AccessToken, Timestamp, TokenSet};

use super::stored::read_back;
use super::Report;

/// `fleet_record`: the bytes are what a store returned, as
/// `Record::from_json` reads them ([`read_back`]'s checks).
pub(super) fn fleet_record(data: &[u8], report: &mut Report) {
    read_back(data, report, Record::from_json, Record::to_json);
}

/// `fleet_keeper_ops`: two keepers of one key, each byte pair an operation
/// (which keeper, what) at a time that moves by the next byte (forwards,
/// backwards, to the edges of time). The store is a `MemoryStore`, or any
/// answer the input picks (an error, a conflict, bytes of its own). Never
/// a panic; a wait is never in the past; a stale or misfit answer is
/// refused, not acted on; no keeper's `Debug` shows a token.
pub(super) fn fleet_keeper_ops(data: &[u8], report: &mut Report) {
    let settings = FleetSettings {
        skew: Duration::ZERO,
        ..FleetSettings::default()
    };
    let mut keepers =
        [("a", None::<StoreOp>, None::<FleetTicket>), ("b", None, None)].map(|(holder, op, ticket)| {
            (
                FleetKeeper::new("fuzz:key", holder, settings).unwrap(),
                op,
                ticket,
            )
        });
    let mut store = MemoryStore::default();
    let mut now = Timestamp::from_unix_secs(1_700_000_000);
    let mut issued = 0u32;
    for chunk in data.chunks(3).take(super::MAX_OPS) {
        let [op, time, extra] = [0, 1, 2].map(|i| chunk.get(i).copied().unwrap_or(0));
        now = match time {
            0 => Timestamp::EPOCH,
            255 => Timestamp::MAX,
            t if t < 128 => now.saturating_add(Duration::from_millis(u64::from(t) * 997)),
            t => now.saturating_sub(Duration::from_millis(u64::from(t - 128) * 997)),
        };
        let (keeper, pending, ticket) = &mut keepers[usize::from(op & 1)];
        match op >> 1 & 7 {
            0 | 1 => match keeper.poll(now) {
                FleetAction::Store(out) => *pending = Some(out),
                FleetAction::Renew(t) => *ticket = Some(t),
                FleetAction::Wait(until) => assert!(until >= now, "a wait into the past"),
                FleetAction::UseToken(_) => report.accepted += 1,
            },
            2 => {
                if let Some(out) = pending.take() {
                    let answer = match extra % 5 {
                        0 => Err(StoreError::Timeout),
                        1 => Ok(StoreAnswer::Conflict),
                        2 => Ok(StoreAnswer::Found(Some(data.to_vec()))),
                        _ => Ok(store.apply(&out)),
                    };
                    let failed = answer.is_err();
                    if keeper.store_answered(now, out.id(), answer).is_err() || failed {
                        report.refused += 1;
                    }
                }
            }
            3 => {
                if let Some(t) = ticket {
                    if let Ok(Fence::Check(read)) = keeper.fence(t, now) {
                        let answer = store.apply(&read);
                        let _ = keeper.store_answered(now, read.id(), Ok(answer));
                    }
                }
            }
            4 => {
                if let Some(t) = ticket.take() {
                    issued += 1;
                    let token = TokenSet::new(
                        AccessToken::new(format!("fuzz-token-{issued}")),
                        now,
                        Some(now.saturating_add(Duration::from_secs(u64::from(extra) * 60))),
                    );
                    if keeper.renewed(t, now, token).is_ok() {
                        report.accepted += 1;
                    }
                }
            }
            5 => {
                if let Some(t) = ticket.take() {
                    let _ = keeper.renewal_failed(
                        t,
                        now,
                        Some(now.saturating_add(Duration::from_secs(u64::from(extra)))),
                    );
                }
            }
            6 => {
                if let Some(token) = keeper.token().map(|t| t.access_token().clone()) {
                    keeper.token_rejected(now, &token);
                    report.refused += 1;
                }
            }
            _ => {
                // A stale answer: an id no operation has, refused.
                let stale = keeper.store_answered(now, u64::MAX, Ok(StoreAnswer::Swapped));
                assert!(stale.is_err(), "an answer to no operation was taken");
                report.refused += 1;
            }
        }
        for (keeper, _, _) in &keepers {
            let printed = format!("{keeper:?}");
            assert!(!printed.contains("fuzz-token"), "Debug shows a token: {printed}");
        }
    }
}

//! `token_keeper_ops`: a `TokenKeeper` against the shared keeper model,
//! driven by polls, renewals and their failures (current, stale and another
//! keeper's tickets), refusals, restores, snapshots, pacing and `retry_now`.

use tokendance::crpt::RenewalTicket;
use tokendance::{AccessToken, RefreshToken, Timestamp, TokenSet};

use super::flow_ops::run_ops;
use super::input::{Bytes, Opcode};
use super::keeper_model::{ModelledKeeper, Polled as Kept};
use super::pacing::with_field;
use super::Report;

/// A `token_keeper_ops` operation: its opcode byte is read modulo 13.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum KeeperOp {
    /// `poll` (also byte 1).
    Poll = 0,
    /// `renewed`: a ticket pick, then a token.
    Renewed = 2,
    /// `renewal_failed`: a ticket pick, then a retry-at selector (0: none,
    /// else a time byte).
    Failed = 3,
    /// `token_rejected` of the held token.
    HeldRejected = 4,
    /// `restore`: a connection byte (bit 0: another connection), a version
    /// selector, then a token.
    Restore = 5,
    /// `restore` of its own snapshot.
    RestoreOwnSnapshot = 6,
    /// `set_pacing`: a duration byte, then the field it sets.
    SetPacing = 7,
    /// Jump to `next_deadline` and poll.
    PollAtDeadline = 8,
    /// `retry_now`.
    RetryNow = 9,
    /// `renewal_abandoned`: a ticket pick.
    Abandoned = 10,
    /// A ticket of another keeper of the same connection.
    Foreign = 11,
    /// `token_rejected` of `tok-<next byte>`.
    NamedRejected = 12,
}

impl Opcode for KeeperOp {
    fn decode(byte: u8) -> Self {
        match byte % 13 {
            0 | 1 => KeeperOp::Poll,
            2 => KeeperOp::Renewed,
            3 => KeeperOp::Failed,
            4 => KeeperOp::HeldRejected,
            5 => KeeperOp::Restore,
            6 => KeeperOp::RestoreOwnSnapshot,
            7 => KeeperOp::SetPacing,
            8 => KeeperOp::PollAtDeadline,
            9 => KeeperOp::RetryNow,
            10 => KeeperOp::Abandoned,
            11 => KeeperOp::Foreign,
            _ => KeeperOp::NamedRejected,
        }
    }

    fn byte(self) -> u8 {
        self as u8
    }
}

const CONNECTION: &str = "conn-1";

/// Panics with what broke a rule the shared models check.
#[track_caller]
fn checked<T>(result: Result<T, String>) -> T {
    result.unwrap_or_else(|why| panic!("{why}"))
}

/// The ticket `pick` chooses among those handed out and not reported yet,
/// with its number.
fn take_ticket(tickets: &mut [Option<(RenewalTicket, u64)>], pick: u8) -> Option<(RenewalTicket, u64)> {
    if tickets.is_empty() {
        return None;
    }
    let index = usize::from(pick) % tickets.len();
    tickets[index].take()
}

fn token_from(b: &mut Bytes<'_>, now: Timestamp) -> TokenSet {
    let obtained = b.time(now);
    let shape = b.byte();
    let expires = match shape & 3 {
        0 => None,
        1 => Some(obtained.saturating_add(b.duration())),
        2 => Some(b.time(obtained)),
        _ => Some(obtained.saturating_sub(b.duration())),
    };
    let text = format!("tok-{}", b.byte());
    let mut token = TokenSet::new(AccessToken::new(text), obtained, expires);
    if shape & 4 != 0 {
        token = token.with_refresh_token(RefreshToken::new("r"), None);
    }
    token
}

/// Runs [`KeeperOp`]s against a modelled keeper of connection `conn-1`.
pub(super) fn token_keeper_ops(data: &[u8], report: &mut Report) {
    let mut k = ModelledKeeper::new(CONNECTION);
    // Every ticket handed out, with its number; `None` once reported.
    let mut tickets: Vec<Option<(RenewalTicket, u64)>> = Vec::new();
    run_ops(data, |b, clock| {
        let op = KeeperOp::decode(b.byte());
        if op == KeeperOp::PollAtDeadline {
            *clock = k.keeper.next_deadline();
        }
        let now = *clock;
        match op {
            KeeperOp::Poll | KeeperOp::PollAtDeadline => {
                if let (Kept::Renew(ticket), _) = checked(k.poll(now)) {
                    tickets.push(Some((ticket, k.issued)));
                    report.sent += 1;
                }
            }
            KeeperOp::Renewed => {
                let pick = b.byte();
                let token = token_from(b, now);
                if let Some((ticket, number)) = take_ticket(&mut tickets, pick) {
                    report.accepted += usize::from(checked(k.renewed(ticket, number, token)));
                }
            }
            KeeperOp::Failed => {
                let pick = b.byte();
                let retry_at = match b.byte() % 3 {
                    0 => None,
                    _ => Some(b.time(now)),
                };
                if let Some((ticket, number)) = take_ticket(&mut tickets, pick) {
                    report.refused += usize::from(checked(k.failed(now, ticket, number, retry_at)));
                }
            }
            KeeperOp::HeldRejected => {
                if let Some(name) = k.held.as_ref().map(|l| l.name.clone()) {
                    checked(k.rejected(now, &name));
                }
            }
            KeeperOp::Restore => {
                let other = b.byte() & 1 == 1;
                // A peer's version: below, at or above this keeper's, or the extremes.
                let held = k.held.as_ref().map_or(0, |l| l.version);
                let version = match b.byte() % 8 {
                    0 => 0,
                    1 => k.version,
                    2 => k.version.saturating_add(1),
                    3 => k.version.saturating_sub(1),
                    4 => u64::MAX,
                    5 => held,
                    6 => held.saturating_sub(1),
                    _ => held.saturating_add(1),
                };
                let token = token_from(b, now);
                let connection = if other { "conn-2" } else { CONNECTION };
                checked(k.restore(connection, version, &token));
            }
            KeeperOp::RestoreOwnSnapshot => {
                if let Some(snapshot) = k.keeper.snapshot() {
                    assert_eq!(snapshot.oms_connection(), CONNECTION);
                    assert_eq!(
                        k.keeper.restore(snapshot).ok(),
                        Some(false),
                        "a snapshot of itself adopted"
                    );
                }
            }
            KeeperOp::SetPacing => {
                let d = b.duration();
                let field = b.byte();
                let pacing = with_field(*k.keeper.pacing(), usize::from(field), d);
                checked(k.set_pacing(pacing));
            }
            KeeperOp::RetryNow => k.retry_now(),
            KeeperOp::Abandoned => {
                let pick = b.byte();
                if let Some((ticket, number)) = take_ticket(&mut tickets, pick) {
                    checked(k.abandoned(ticket, number));
                }
            }
            KeeperOp::Foreign => {
                let how = b.byte();
                let number = if how & 4 == 0 { k.issued } else { 1 };
                checked(k.foreign(now, number, how));
            }
            KeeperOp::NamedRejected => {
                let name = format!("tok-{}", b.byte());
                checked(k.rejected(now, &name));
            }
        }
        checked(k.check(now));
    });
}

//! `password_session_ops`: a `PasswordSession` (the ITC session) with a
//! model beside it, driven by polls, answers, failures, pacing changes,
//! `fetch` as a flow and `retry_now`.

use std::time::Duration;

use tokendance::oauth2::{Grant, PasswordSession, SessionAction};
use tokendance::{itc, Error, Password, Timestamp, TokenSet, UsageError};

use super::checked::{spec, Checked, WaitRule};
use super::checks::{check_printed, check_refusal};
use super::flow_ops::{run_ops, step};
use super::flows::HOST_ITC;
use super::input::{Bytes, Opcode};
use super::pacing::{
    self, holder_bound, least_pause_ms, longest_pause, millis, plus_ms, renew_at, with_field,
};
use super::{Report, PASSWORD};

/// A `password_session_ops` operation: its opcode byte is read modulo 10.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum SessionOp {
    /// `poll` (also byte 1).
    Poll = 0,
    /// `handle_response` with a response (also byte 3).
    Handle = 2,
    /// `transport_failed`.
    TransportFailed = 4,
    /// `unauthorized`: the API refused the token.
    Unauthorized = 5,
    /// `set_pacing`: a duration byte, then the field it sets.
    SetPacing = 6,
    /// `fetch` as a flow: a step count, then that many flow operations.
    Fetch = 7,
    /// Jump to `next_deadline` and poll.
    PollAtDeadline = 8,
    /// `retry_now`.
    RetryNow = 9,
}

impl Opcode for SessionOp {
    fn decode(byte: u8) -> Self {
        match byte % 10 {
            0 | 1 => SessionOp::Poll,
            2 | 3 => SessionOp::Handle,
            4 => SessionOp::TransportFailed,
            5 => SessionOp::Unauthorized,
            6 => SessionOp::SetPacing,
            7 => SessionOp::Fetch,
            8 => SessionOp::PollAtDeadline,
            _ => SessionOp::RetryNow,
        }
    }

    fn byte(self) -> u8 {
        self as u8
    }
}

/// OAuth error codes that name a refusal retrying cannot fix (RFC 6749
/// §5.2, and `access_denied`): a password grant refused with one of these
/// ends the session; nothing else does.
const ENDING_CODES: [&str; 7] = [
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
    "access_denied",
];

fn is_ending_refusal(err: &Error) -> bool {
    match err {
        // Not at a rate limit or a server failure, whatever the code says.
        Error::Server(refusal) if refusal.is_retryable() || refusal.status.is_server_error() => false,
        Error::Server(refusal) => refusal
            .code
            .as_deref()
            .is_some_and(|code| ENDING_CODES.iter().any(|c| c.eq_ignore_ascii_case(code))),
        _ => false,
    }
}

/// A `PasswordSession` (the ITC session) with a model beside it.
pub struct SessionChecker {
    pub(super) session: PasswordSession,
    /// When the request in flight was sent, as the session measures it: the
    /// earliest `now` polled since (a clock stepped back re-anchors it).
    sent_at: Option<Timestamp>,
    /// The last request's send time, re-anchored to the earliest `now` seen
    /// since, as the session re-anchors every instant it keeps: as bounds
    /// (a `fetch` is not seen poll by poll), the later first. `None` after a
    /// refused refresh (the password grant goes at once).
    last_sent: Option<(Timestamp, Timestamp)>,
    /// A back-off: when it started (re-anchored the same way) and the least
    /// it lasts, in milliseconds.
    pause: Option<(Timestamp, u64)>,
    /// A refused refresh fell back: the next poll from this instant on (the
    /// answer's and the refresh's send time) sends the password grant.
    fallback_at: Option<Timestamp>,
    /// `retry_now` was pressed at this instant, just before the next poll.
    retried_at: Option<Timestamp>,
}

/// What `poll` answered, without the borrow.
// Short-lived, one per poll: boxing the request would only cost an allocation.
#[allow(clippy::large_enum_variant)]
enum Polled {
    Use(String),
    Send(tokendance::Outgoing),
    Wait(Timestamp),
}

impl SessionChecker {
    pub(super) fn new() -> Self {
        let session = itc::session(
            &itc::Config::staging(),
            "easy-register-test",
            Password::new(PASSWORD),
        )
        .expect("session");
        SessionChecker {
            session,
            sent_at: None,
            last_sent: None,
            pause: None,
            fallback_at: None,
            retried_at: None,
        }
    }

    fn check_state(&self) {
        assert_eq!(
            self.session.next_deadline().is_none(),
            self.session.has_ended(),
            "next_deadline is None exactly when the session ended"
        );
        if self.session.has_ended() {
            assert!(
                self.session.in_flight().is_none(),
                "an ended session has a request in flight"
            );
        }
        assert_eq!(
            self.session.in_flight().is_some(),
            self.sent_at.is_some(),
            "model and session disagree on the request in flight"
        );
        check_printed("the session's Debug", &format!("{:?}", self.session), &[PASSWORD]);
    }

    /// Whether the held token is surely due for renewal at `now` (or none is held).
    fn due(&self, now: Timestamp) -> bool {
        let margin = self.session.pacing().renew_margin;
        match self.session.tokens() {
            None => true,
            Some(t) => t
                .expires_at()
                .is_some_and(|e| now >= renew_at(t.obtained_at(), e, margin)),
        }
    }

    /// A clock stepped back: every instant the session keeps happened
    /// "now" at the latest.
    fn reanchor(&mut self, now: Timestamp) {
        if let Some(sent_at) = self.sent_at.as_mut() {
            *sent_at = (*sent_at).min(now);
        }
        if let Some((high, low)) = self.last_sent.as_mut() {
            *high = (*high).min(now);
            *low = (*low).min(now);
        }
        if let Some((since, _)) = self.pause.as_mut() {
            *since = (*since).min(now);
        }
    }

    /// A back-off starting at `at`.
    fn paused_from(&mut self, at: Timestamp, server: Option<Timestamp>) {
        let least = plus_ms(at, least_pause_ms(at, self.session.pacing(), server));
        self.pause = Some((at, millis(least.saturating_duration_since(at))));
    }

    /// Polls; returns whether a request was sent.
    pub(super) fn poll(&mut self, now: Timestamp, report: &mut Report) -> bool {
        let ended = self.session.has_ended();
        let before = self.session.in_flight();
        let pacing = *self.session.pacing();
        // What the session learns at a poll: the clock as it is now.
        self.reanchor(now);
        // A request not answered within the timeout is lost: a failure.
        let lost = self
            .sent_at
            .filter(|s| millis(now.saturating_duration_since(*s)) >= millis(pacing.renewal_timeout));
        if lost.is_some() && !ended {
            self.sent_at = None;
            self.paused_from(now, None);
        }
        let fallback = self.fallback_at.take().filter(|t| now >= *t);
        let retried = self.retried_at.take().filter(|t| now >= *t);
        let spaced_from =
            |last: Timestamp| millis(now.saturating_duration_since(last)) >= millis(pacing.min_interval);
        let spaced = self.last_sent.is_none_or(|(high, _)| spaced_from(high));
        let must_send = !ended
            && self.sent_at.is_none()
            && self.due(now)
            && (fallback.is_some() || (retried.is_some() && spaced));
        let polled = match self.session.poll(now) {
            Err(err) => {
                assert!(ended, "poll failed on a live session: {err:?}");
                assert!(matches!(err, Error::Usage(UsageError::Finished)));
                let valid = self.session.tokens().is_some_and(|t| t.is_valid(now));
                assert!(!valid, "an ended session refused to serve its valid token");
                return false;
            }
            Ok(SessionAction::UseToken(t)) => Polled::Use(t.expose_secret().to_owned()),
            Ok(SessionAction::Send(request)) => Polled::Send(request),
            Ok(SessionAction::Wait(until)) => Polled::Wait(until),
        };
        // An ended session sends nothing and never waits: it serves its
        // still-valid access token, then is finished.
        assert!(
            !ended || matches!(polled, Polled::Use(_)),
            "an ended session did not just serve its token"
        );
        let why_send = if fallback.is_some() {
            "a refused refresh"
        } else {
            "retry_now"
        };
        let sent = match polled {
            Polled::Use(token) => {
                assert!(!must_send, "no request at {now:?} after {why_send}");
                let held = self.session.tokens().expect("UseToken without a token");
                assert_eq!(held.access_token().expose_secret(), token);
                assert!(held.is_valid(now), "UseToken with an expired token");
                false
            }
            Polled::Wait(until) => {
                assert!(!must_send, "no request at {now:?} after {why_send}");
                let bound = now.saturating_add(holder_bound(&pacing));
                assert!(
                    now <= until && until <= bound,
                    "Wait({until:?}) at {now:?} is not within [now, {bound:?}]"
                );
                let valid = self.session.tokens().is_some_and(|t| t.is_valid(now));
                assert!(!valid, "Wait while a valid token is held");
                false
            }
            Polled::Send(request) => {
                // One request in flight: a second only once the first is lost,
                // its age measured from the instants seen (never `sent + timeout`,
                // which saturates at `Timestamp::MAX`).
                assert!(
                    before.is_none() || lost.is_some(),
                    "a second request at {now:?} while one is in flight since {:?}",
                    self.sent_at
                );
                if let Some((_, low)) = self.last_sent {
                    assert!(
                        spaced_from(low),
                        "a request at {now:?} within min_interval of the last (at {low:?} or later)"
                    );
                }
                if let Some((since, low)) = self.pause {
                    let lasted = millis(now.saturating_duration_since(since));
                    assert!(
                        lasted >= low.min(millis(longest_pause(&pacing))),
                        "a request at {now:?} {lasted} ms into a back-off of at least {low} ms"
                    );
                }
                let grant = self
                    .session
                    .in_flight()
                    .expect("Send without a request in flight");
                if fallback.is_some() {
                    assert_eq!(
                        grant,
                        Grant::Password,
                        "a refused refresh was not followed by the password grant"
                    );
                }
                let body = String::from_utf8_lossy(request.as_http().body()).into_owned();
                assert_eq!(
                    body.contains("grant_type=refresh_token"),
                    grant == Grant::Refresh,
                    "the body does not match the grant"
                );
                assert_eq!(request.as_http().uri().host(), Some(HOST_ITC));
                if grant == Grant::Refresh {
                    assert!(!body.contains("password="), "a refresh carries the password");
                }
                self.sent_at = Some(now);
                self.last_sent = Some((now, now));
                report.sent += 1;
                true
            }
        };
        self.check_state();
        sent
    }

    pub(super) fn handle(&mut self, now: Timestamp, response: http::Response<Vec<u8>>, report: &mut Report) {
        let ended = self.session.has_ended();
        let before = self.session.in_flight();
        self.reanchor(now);
        let result = self.session.handle_response(now, response);
        match (ended, before, result) {
            (true, _, Err(Error::Usage(UsageError::Finished))) => {}
            (false, None, Err(Error::Usage(UsageError::NoRequestInFlight))) => {}
            (false, Some(grant), result) => {
                assert!(
                    self.session.in_flight().is_none(),
                    "still in flight after its answer"
                );
                self.sent_at = None;
                match result {
                    Ok(()) => {
                        let tokens = self.session.tokens().expect("Ok without a token");
                        assert!(!self.session.has_ended());
                        if grant == Grant::Refresh && tokens.refresh_token().is_none() {
                            // The refresh was refused: the password grant next,
                            // at once (on a clock not behind the refresh's send).
                            let sent = self.last_sent.map_or(now, |(high, _)| high);
                            self.fallback_at = Some(now.max(sent));
                            self.last_sent = None;
                        } else {
                            self.pause = None;
                            report.accepted += 1;
                        }
                    }
                    Err(err) => {
                        check_refusal(&err, &[PASSWORD], report);
                        // Only a typed OAuth refusal of the password grant ends
                        // the session (a proxy's 401, 403 or 404 page does not).
                        assert_eq!(
                            self.session.has_ended(),
                            grant == Grant::Password && is_ending_refusal(&err),
                            "{grant:?} refused with {err:?}: ended is {}",
                            self.session.has_ended()
                        );
                        if self.session.has_ended() {
                            // Its still-valid access token serves on; the refresh token is gone.
                            let refresh = self.session.tokens().and_then(TokenSet::refresh_token);
                            assert!(refresh.is_none(), "an ended session keeps its refresh token");
                        } else {
                            self.paused_from(now, err.retry_after().map(|r| r.deadline(now)));
                        }
                        if let (Grant::Refresh, Error::Server(refusal)) = (grant, &err) {
                            // Any non-retryable 4xx to a refresh, or an
                            // `invalid_grant` at a status that is not a rate
                            // limit or a server failure, falls back to the
                            // password grant (handle answers Ok). At 429 or
                            // 5xx the session backs off and keeps the refresh
                            // token, whatever code the body names.
                            let in_trouble = refusal.is_retryable() || refusal.status.is_server_error();
                            let non_retryable_4xx =
                                refusal.status.is_client_error() && !refusal.is_retryable();
                            let invalid_grant = refusal.kind == tokendance::ServerErrorKind::InvalidGrant;
                            assert!(
                                in_trouble || (!non_retryable_4xx && !invalid_grant),
                                "a refused refresh did not fall back: {refusal:?}"
                            );
                        }
                    }
                }
            }
            (ended, before, result) => panic!("handle_response (ended {ended}, {before:?}) gave {result:?}"),
        }
        if let Some(tokens) = self.session.tokens() {
            if tokens.refresh_expires_at().is_some() {
                assert!(
                    tokens.refresh_token().is_some(),
                    "a refresh expiry without a refresh token"
                );
            }
        }
        self.check_state();
    }

    fn transport_failed(&mut self, now: Timestamp) {
        let ended = self.session.has_ended();
        let before = self.session.in_flight();
        self.reanchor(now);
        let result = self.session.transport_failed(now);
        match (ended, before, result) {
            (true, _, Err(Error::Usage(UsageError::Finished))) => {}
            (false, None, Err(Error::Usage(UsageError::NoRequestInFlight))) => {}
            (false, Some(_), Ok(())) => {
                assert!(self.session.in_flight().is_none());
                self.sent_at = None;
                self.paused_from(now, None);
                let deadline = self
                    .session
                    .next_deadline()
                    .expect("a live session has a deadline");
                assert!(deadline >= now, "the back-off ends before the failure");
            }
            (ended, before, result) => panic!("transport_failed (ended {ended}, {before:?}) gave {result:?}"),
        }
        self.check_state();
    }

    fn retry_now(&mut self, now: Timestamp) {
        self.session.retry_now();
        self.pause = None;
        if self.session.in_flight().is_none() && !self.session.has_ended() {
            self.retried_at = Some(now);
        }
        self.check_state();
    }

    fn set_pacing(&mut self, field: u8, d: Duration) {
        let before = *self.session.pacing();
        let pacing = with_field(before, usize::from(field), d);
        match self.session.set_pacing(pacing) {
            Ok(()) => assert!(pacing::is_valid(&pacing), "accepted {pacing:?}"),
            Err(err) => {
                assert!(!pacing::is_valid(&pacing), "refused {pacing:?}: {err}");
                assert!(matches!(err, Error::Usage(UsageError::InvalidConfig { .. })));
                assert_eq!(self.session.pacing(), &before, "a refused pacing was kept");
            }
        }
        self.check_state();
    }

    /// `fetch` as a flow, for a few operations.
    fn fetch(&mut self, b: &mut Bytes<'_>, now: &mut Timestamp, report: &mut Report) {
        let ended = self.session.has_ended();
        let steps = usize::from(b.byte() % 8);
        let mut spec = spec(HOST_ITC, usize::MAX, None, &[PASSWORD]);
        spec.wait = WaitRule::Within(holder_bound(self.session.pacing()));
        spec.failed_may_go_on = true;
        let mut checked = Checked::new(self.session.fetch(), spec);
        checked.start_may_finish = ended;
        let mut earliest = *now;
        let _ = checked.start(*now, report);
        for _ in 0..steps {
            *now = b.time(*now);
            earliest = earliest.min(*now);
            step(&mut checked, b, *now, report);
        }
        let (last_send, error_at, acted) = (checked.last_send_at, checked.error_at, checked.acted_min);
        drop(checked);
        // The fetch's polls are not seen one by one. A request it sent is
        // in flight since then (what follows a send answers it or is not
        // taken); one that was in flight before was re-anchored by every
        // poll the fetch made. The rest the model keeps only as bounds.
        let before = self.sent_at;
        self.sent_at = self.session.in_flight().map(|_| match (last_send, before) {
            (Some(t), _) => t,
            (None, Some(sent)) => acted.map_or(sent, |a| sent.min(a)),
            (None, None) => unreachable!("in flight without a request sent"),
        });
        if let Some(t) = last_send {
            self.last_sent = Some((t, earliest.min(t)));
        } else if let Some((_, low)) = self.last_sent.as_mut() {
            *low = (*low).min(earliest);
        }
        self.pause = None;
        if let Some(t) = error_at.filter(|_| !self.session.has_ended()) {
            // While the access token is valid, a failed renewal hands it out.
            assert!(
                self.session.tokens().is_none_or(|tokens| !tokens.is_valid(t)),
                "a fetch failed at {t:?} while the session held a valid token"
            );
        }
        assert!(!ended || self.session.has_ended(), "an ended session came back");
        self.check_state();
    }
}

pub(super) fn password_session_ops(data: &[u8], report: &mut Report) {
    let mut s = SessionChecker::new();
    run_ops(data, |b, now| {
        let ended = s.session.has_ended();
        let op = SessionOp::decode(b.byte());
        if !matches!(op, SessionOp::Poll | SessionOp::PollAtDeadline) {
            // The "at once" checks are about the very next poll.
            s.fallback_at = None;
            s.retried_at = None;
        }
        match op {
            SessionOp::Poll => {
                s.poll(*now, report);
            }
            SessionOp::Handle => {
                let response = b.response();
                s.handle(*now, response, report);
            }
            SessionOp::TransportFailed => s.transport_failed(*now),
            SessionOp::Unauthorized => {
                s.session.unauthorized(*now);
                if let Some(tokens) = s.session.tokens() {
                    assert!(
                        !tokens.is_valid(*now),
                        "a token the server refused is still valid"
                    );
                }
            }
            SessionOp::SetPacing => {
                let d = b.duration();
                let field = b.byte();
                s.set_pacing(field, d);
            }
            SessionOp::Fetch => s.fetch(b, now, report),
            SessionOp::PollAtDeadline => {
                let deadline = s.session.next_deadline();
                if let Some(deadline) = deadline {
                    *now = deadline;
                    s.poll(*now, report);
                }
            }
            SessionOp::RetryNow => s.retry_now(*now),
        }
        assert!(!ended || s.session.has_ended(), "an ended session came back");
    });
}

//! 48 hours of virtual time: the session against `fake::Keycloak`, checked against an independent schedule.

use super::*;
use common::time::{at, T0};
use tokendance::fake::{self, Fake};

/// xorshift64*: a deterministic source of "sometimes" for the responder.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// Whether the responder rejects the `n`-th otherwise valid refresh.
fn rejects(n: u64) -> bool {
    let mut r = Rng(n.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    r.next().is_multiple_of(16)
}

const ACCESS_LIFE: u64 = 300;
/// The refresh life in the schedule: renewals every 270 s keep it from
/// binding, so there (as in `fake::Keycloak`, which has no idle limit) only
/// `SSO_MAX` ends a refresh token.
const REFRESH_LIFE: u64 = 1800;
/// Keycloak's "SSO Session Max" (2 h here): refresh tokens never outlive it.
const SSO_MAX: u64 = 7_200;
const HOURS_48: u64 = 48 * 3600;

#[derive(Default, Debug, PartialEq, Eq)]
struct Counts {
    password: u64,
    /// Password grants because the refresh token's life (the SSO cap) ran out.
    password_refresh_expired: u64,
    /// Password grants because a refresh was refused.
    password_after_refusal: u64,
    refresh_ok: u64,
    refresh_rejected: u64,
}

/// `fake::Keycloak` with Keycloak's "SSO Session Max" as its refresh life
/// (the fake keeps a session's refresh deadline across refreshes), ending
/// its sessions before the refreshes `rejects` picks (400 `invalid_grant`),
/// and counting why each password grant came.
struct Keycloak {
    realm: fake::Keycloak,
    issued: u64,
    /// The refresh token last issued, and until when the realm takes it.
    refresh: Option<(String, Timestamp)>,
    refresh_attempts: u64,
    counts: Counts,
}

impl Keycloak {
    fn new() -> Self {
        let mut realm = fake::Keycloak::itc_staging();
        realm.access_lifetime = Duration::from_secs(ACCESS_LIFE);
        realm.refresh_lifetime = Duration::from_secs(SSO_MAX);
        Keycloak {
            realm,
            issued: 0,
            refresh: None,
            refresh_attempts: 0,
            counts: Counts::default(),
        }
    }

    fn answer(&mut self, now: Timestamp, request: &http::Request<Vec<u8>>) -> http::Response<Vec<u8>> {
        assert_eq!(
            request.uri(),
            "https://st.auth.itc.gov.mn/auth/realms/Staging/protocol/openid-connect/token"
        );
        let form: std::collections::HashMap<String, String> =
            url::form_urlencoded::parse(request.body()).into_owned().collect();
        assert_eq!(form["client_id"], "vatps");
        match form["grant_type"].as_str() {
            "password" => {
                assert_eq!(
                    (form["username"].as_str(), form["password"].as_str()),
                    (USER, PASSWORD)
                );
                self.counts.password += 1;
                match &self.refresh {
                    Some((_, until)) if now < *until => {
                        panic!("a password grant at {now:?} while the refresh token lives")
                    }
                    Some(_) => self.counts.password_refresh_expired += 1,
                    None if self.issued > 0 => self.counts.password_after_refusal += 1,
                    None => {}
                }
            }
            "refresh_token" => {
                let valid = self
                    .refresh
                    .as_ref()
                    .is_some_and(|(r, until)| *r == form["refresh_token"] && now < *until);
                assert!(valid, "the session sent a dead refresh token at {now:?}");
                self.refresh_attempts += 1;
                if rejects(self.refresh_attempts) {
                    self.counts.refresh_rejected += 1;
                    self.refresh = None;
                    self.realm.end_sessions();
                } else {
                    self.counts.refresh_ok += 1;
                }
            }
            other => panic!("grant {other}"),
        }
        let response = self.realm.handle(now, request);
        if response.status() == 200 {
            let body: Value = serde_json::from_slice(response.body()).unwrap();
            let life = Duration::from_secs(body["refresh_expires_in"].as_u64().unwrap());
            let refresh = body["refresh_token"].as_str().unwrap().to_owned();
            self.refresh = Some((refresh, now.saturating_add(life)));
            self.issued += 1;
        }
        response
    }
}

/// The schedule a correct session must follow, derived independently:
/// renew 30 s before expiry (at 270 s of a 300 s token); when the refresh
/// token would be dead by then, the password grant; when a refresh is
/// refused, the password grant as soon as the refusal arrives (`latency`).
fn expected_counts(latency: u64) -> Counts {
    let end = HOURS_48 * 1000;
    let renew_after = (ACCESS_LIFE - 30) * 1000;
    let mut c = Counts {
        password: 1,
        ..Counts::default()
    };
    let mut sent = 0u64; // when the current token was requested (ms since start)
    let mut session_start = 0u64;
    let mut refresh_until = (REFRESH_LIFE * 1000).min(session_start + SSO_MAX * 1000);
    let mut attempts = 0;
    loop {
        let at = sent + renew_after;
        if at > end {
            break;
        }
        if at >= refresh_until {
            c.password += 1;
            c.password_refresh_expired += 1;
            session_start = at;
            sent = at;
        } else {
            attempts += 1;
            if rejects(attempts) {
                c.refresh_rejected += 1;
                let again = at + latency;
                if again > end {
                    break;
                }
                c.password += 1;
                c.password_after_refusal += 1;
                session_start = again;
                sent = again;
            } else {
                c.refresh_ok += 1;
                sent = at;
            }
        }
        let session_left = (session_start + SSO_MAX * 1000).saturating_sub(sent) / 1000 * 1000;
        refresh_until = sent + (REFRESH_LIFE * 1000).min(session_left);
    }
    c
}

/// Drives the session for 48 hours by jumping to `next_deadline()`, to the
/// arrival of a response, or to an application's use of the token.
fn run_48_hours(latency_ms: u64, use_gap_ms: u64) -> (Counts, u64, u64) {
    let end = at(HOURS_48);
    let latency = Duration::from_millis(latency_ms);
    let mut server = Keycloak::new();
    let mut s = new_session();
    let mut now = T0;
    let mut pending: Option<(Timestamp, http::Response<Vec<u8>>)> = None;
    let mut steps = 0u64;
    let mut uses = 0u64;
    let mut rng = Rng(0x5EED);
    let max_steps = 20 * HOURS_48 / 270 + 4 * HOURS_48 * 1000 / use_gap_ms.max(1);
    while now <= end {
        steps += 1;
        assert!(steps <= max_steps, "no termination within {max_steps} steps");
        let mut progressed = false;
        if let Some((at, _)) = &pending {
            if *at <= now {
                let (_, response) = pending.take().unwrap();
                assert!(s.in_flight().is_some());
                // A refused refresh is Ok(()) too: the password grant follows.
                s.handle_response(now, response)
                    .expect("Keycloak answers are usable");
                progressed = true;
            }
        }
        match s.poll(now).unwrap() {
            SessionAction::UseToken(token) => {
                assert!(
                    server.realm.accepts(now, token),
                    "UseToken with a token Keycloak did not issue, or an expired one, at {now:?}"
                );
                uses += 1;
            }
            SessionAction::Send(request) => {
                assert!(pending.is_none(), "two requests in flight at {now:?}");
                let response = server.answer(now, request.as_http());
                pending = Some((now.saturating_add(latency), response));
                progressed = true;
            }
            SessionAction::Wait(until) => {
                assert!(
                    pending.is_some(),
                    "waiting at {now:?} until {until:?} with nothing in flight"
                );
            }
        }
        let gap = Duration::from_millis(1 + rng.next() % use_gap_ms.max(1));
        let mut next = s.next_deadline().expect("the session never ends here");
        next = next.min(now.saturating_add(gap));
        if let Some((at, _)) = &pending {
            next = next.min(*at);
        }
        if next <= now {
            assert!(
                progressed,
                "next_deadline() {next:?} asks for a poll at {now:?} that does nothing"
            );
        } else {
            now = next;
        }
    }
    (server.counts, steps, uses)
}

#[test]
fn session_through_48_virtual_hours() {
    for (latency, use_gap) in [
        (0u64, 45_000u64),
        (1_500, 45_000),
        (0, 600_000),
        (2_000, 3_600_000),
    ] {
        let (counts, steps, uses) = run_48_hours(latency, use_gap);
        let want = expected_counts(latency);
        assert_eq!(counts, want, "latency {latency} ms, use gap {use_gap} ms");
        // The bounds, without the model: one successful grant per 270 s
        // (plus the first), a few more after refusals, and nothing more.
        let grants = counts.password + counts.refresh_ok;
        let per_270 = HOURS_48 / 270 + 1;
        assert!(grants <= per_270, "{grants} grants in 48 h");
        assert!(grants + counts.refresh_rejected >= per_270, "{counts:?}");
        assert!(counts.refresh_rejected > 0 && counts.refresh_ok > 0, "{counts:?}");
        // Both fallbacks happened, and each is the only reason for a password grant.
        assert!(
            counts.password_refresh_expired > 0 && counts.password_after_refusal > 0,
            "{counts:?}"
        );
        assert_eq!(
            counts.password,
            1 + counts.password_refresh_expired + counts.password_after_refusal
        );
        assert!(counts.password * 4 < counts.refresh_ok, "{counts:?}");
        assert!(uses > 0 && steps > grants);
    }
    // The derivation itself, for zero latency: 640 renewals in 48 h.
    let zero = expected_counts(0);
    assert_eq!(zero.password + zero.refresh_ok, HOURS_48 / 270 + 1);
}

//! Token round trips, measured in one process and interleaved so the ratios
//! hold on a noisy machine: `cargo bench --bench roundtrip`.
//!
//! A round trip is: build the request, hand it to a transport, take the canned
//! response, get a typed token. Contestants:
//! * `floor`: `serde_json::from_slice` of the same body into a minimal owned struct
//!   (for the CRPT pairs: both of their answers);
//! * `oauth2 …`: the `oauth2` crate 5 doing the same grant through its own API
//!   with a canned transport;
//! * `tokendance …`: the crate's flows;
//! * `part: …`: one hand-written part of the crate alone against the crate
//!   that does the same job, on the input a round trip above gives it
//!   (README, "Dependencies": keep a hand-written part only where it makes a
//!   round trip at least 15 % faster).
//!
//! For each contestant it prints the median and interquartile range of one
//! round trip, the median of per-round ratios against the floor and against
//! oauth2, and heap allocations per round trip (a counting global allocator).
//! Canned responses are built before the timer starts, for every contestant.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::RefCell;
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokendance::crpt::{mdlp, true_api, KeeperAction, TokenKeeper};
use tokendance::fleet::{FleetAction, FleetKeeper, FleetSettings, MemoryStore};
use tokendance::oauth2::SessionAction;
use tokendance::{
    gam, itc, AccessToken, Action, ClientSecret, Endpoint, Flow, Input, Password, Signature, Timestamp,
    TokenSet,
};

// The hand-written form encoder, compiled here from the crate's own source
// so it can be measured alone (the flows reach it only through whole round
// trips). The base64 encoder and the Retry-After date parser measured here
// until they lost to the `base64` and `httpdate` crates are gone (README,
// "Dependencies").
#[allow(dead_code, unused_imports)]
#[path = "../src/form.rs"]
mod hand_form;

/// Counts heap allocations (and reallocations) made by this process.
struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const ROUNDS: usize = 10_000;
const WARMUP: usize = 20_000;

/// A JWT-sized opaque string of `len` characters.
fn jwt_like(len: usize, seed: u8) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut s = String::from("eyJhbGciOiJSUzI1NiIsInR5cCIgOiAiSldUIn0.");
    let mut x = u32::from(seed).wrapping_mul(2_654_435_761).wrapping_add(1);
    while s.len() < len {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        s.push(char::from(ALPHABET[(x % 64) as usize]));
    }
    s
}

fn keycloak_body() -> Vec<u8> {
    serde_json::json!({
        "access_token": jwt_like(1400, 1),
        "expires_in": 300,
        "refresh_expires_in": 1800,
        "refresh_token": jwt_like(700, 2),
        "token_type": "bearer",
        "not-before-policy": 0,
        "session_state": "6b4a0c62-3c5e-4f0e-9d1c-0d9f3c1a2b3c",
        "scope": "profile email"
    })
    .to_string()
    .into_bytes()
}

fn gam_body() -> Vec<u8> {
    serde_json::json!({
        "access_token": jwt_like(1400, 3),
        "expires_in": 3600,
        "token_type": "Bearer",
        "scope": "iam:user-password:update gamp:erp.customer-reconciliation.write-direct"
    })
    .to_string()
    .into_bytes()
}

fn response(body: &[u8]) -> http::Response<Vec<u8>> {
    http::Response::builder()
        .status(200)
        .header("content-type", "application/json;charset=UTF-8")
        .body(body.to_vec())
        .unwrap()
}

/// The rate limit's answer: 429, its `Retry-After` an IMF-fixdate 120 s
/// after the benchmark's `t0`.
const RETRY_AT: &str = "Thu, 01 Jan 2026 00:02:00 GMT";
const RATE_LIMITED: &[u8] = br#"{"error":"rate_limit_exceeded","error_description":"Too many requests"}"#;

fn rate_limited(body: &[u8]) -> http::Response<Vec<u8>> {
    http::Response::builder()
        .status(429)
        .header("content-type", "application/json")
        .header("retry-after", RETRY_AT)
        .body(body.to_vec())
        .unwrap()
}

/// GAM's client-credentials flow, built and its request sent.
#[inline(always)]
fn gam_request_sent(config: &gam::Config, secret: &ClientSecret, t0: Timestamp) -> tokendance::TokenRequest {
    let mut flow = gam::client_credentials(
        config,
        "partner-app",
        secret.clone(),
        "iam:user-password:update gamp:erp.customer-reconciliation.write-direct",
    )
    .unwrap();
    let Action::Send(request) = flow.start(t0).unwrap() else {
        panic!()
    };
    black_box(request.into_http());
    flow
}

/// The room `Outgoing::post_form_to` makes for a form body.
fn form_capacity(pairs: &[(&str, impl AsRef<str>)]) -> usize {
    let estimate = pairs
        .iter()
        .map(|(k, v)| k.len() + v.as_ref().len() + 2)
        .sum::<usize>();
    estimate + estimate / 8
}

/// A form body as `Outgoing::post_form_to` writes it, with the
/// hand-written encoder.
fn hand_form_body(pairs: &[(&str, impl AsRef<str>)]) -> Vec<u8> {
    let mut body = Vec::with_capacity(form_capacity(pairs));
    for (i, (key, value)) in pairs.iter().enumerate() {
        if i > 0 {
            body.push(b'&');
        }
        body.extend_from_slice(key.as_bytes());
        body.push(b'=');
        hand_form::push_form_encoded(&mut body, value.as_ref());
    }
    body
}

/// The same body with `form_urlencoded` alone (as `url` re-exports it).
fn crate_form_body(pairs: &[(&str, impl AsRef<str>)]) -> Vec<u8> {
    url::form_urlencoded::Serializer::new(String::with_capacity(form_capacity(pairs)))
        .extend_pairs(pairs)
        .finish()
        .into_bytes()
}

/// The floor: the body into a minimal owned struct.
#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct Minimal {
    access_token: String,
    expires_in: u64,
    refresh_token: Option<String>,
    refresh_expires_in: Option<u64>,
    token_type: Option<String>,
}

/// The CRPT pairs' answers.
const TRUE_API_KEY: &[u8] =
    br#"{"uuid":"b7b1abc9-f4ee-47db-8a20-f80ac83504e8","data":"QNRPNPFGJZQNRPNPFGJZQNRPNPFGJZ"}"#;
const TRUE_API_TOKEN: &[u8] = br#"{"token":"58f908f1-832a-4ad0-93f4-bdafbf8eb55a"}"#;
const MDLP_CODE: &[u8] = br#"{"code":"b7b1abc9-f4ee-47db-8a20-f80ac83504e8"}"#;
const MDLP_TOKEN: &[u8] = br#"{"token":"58f908f1-832a-4ad0-93f4-bdafbf8eb55a","life_time":30}"#;

/// The CRPT floors' minimal structs.
#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct Challenge {
    uuid: String,
    data: String,
}

#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct MdlpCode {
    code: String,
}

#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct CrptToken {
    token: String,
    life_time: Option<u64>,
}

/// The floor of a two-request sign-in: its first answer into `First`, its
/// second into `Second`.
fn two_answer_floor<First, Second>() -> RoundTrip
where
    First: serde::de::DeserializeOwned + 'static,
    Second: serde::de::DeserializeOwned + 'static,
{
    Box::new(|mut r| {
        let first = r.pop().unwrap().into_body();
        black_box(serde_json::from_slice::<First>(&first).unwrap());
        let second = r.pop().unwrap().into_body();
        black_box(serde_json::from_slice::<Second>(&second).unwrap());
    })
}

/// A round of 100 polls of a keeper holding a fresh token; `fresh` polls
/// once and says whether the token was handed out.
fn hundred_fresh_polls(mut fresh: impl FnMut() -> bool + 'static) -> RoundTrip {
    Box::new(move |_| {
        for _ in 0..100 {
            assert!(fresh());
        }
    })
}

/// One round trip, given its canned responses (popped from the end).
type RoundTrip = Box<dyn FnMut(Vec<http::Response<Vec<u8>>>)>;

/// One contestant: its name and one round trip over a pre-built response.
struct Contestant {
    name: &'static str,
    /// Which floor it is compared with, and which oauth2 contestant (if any).
    floor: &'static str,
    rival: Option<&'static str>,
    run: RoundTrip,
    /// How many responses one round trip consumes, and their bodies.
    bodies: Vec<Vec<u8>>,
    /// The response each body comes in.
    respond: fn(&[u8]) -> http::Response<Vec<u8>>,
    times: Vec<Duration>,
    allocations: Vec<u64>,
}

fn main() {
    let keycloak = keycloak_body();
    let gam = gam_body();
    let t0 = Timestamp::from_unix_secs(1_767_225_600);
    let realm = Endpoint::parse("https://st.auth.itc.gov.mn/auth/realms/Staging").unwrap();
    let service = Endpoint::parse("https://st-service.itc.gov.mn/api/easy-register/").unwrap();
    let itc_config = itc::Config::new(realm, service);
    let token_url = format!("{}/protocol/openid-connect/token", itc_config.realm().as_str());

    let mut contestants: Vec<Contestant> = Vec::new();
    let mut add = |name, floor, rival, bodies: Vec<Vec<u8>>, run: RoundTrip| {
        contestants.push(Contestant {
            name,
            floor,
            rival,
            run,
            bodies,
            respond: response,
            times: Vec::new(),
            allocations: Vec::new(),
        })
    };

    // Floors.
    add(
        "floor (Keycloak body)",
        "floor (Keycloak body)",
        None,
        vec![keycloak.clone()],
        Box::new(|mut r| {
            let body = r.pop().unwrap().into_body();
            black_box(serde_json::from_slice::<Minimal>(&body).unwrap());
        }),
    );
    add(
        "floor (GAM body)",
        "floor (GAM body)",
        None,
        vec![gam.clone()],
        Box::new(|mut r| {
            let body = r.pop().unwrap().into_body();
            black_box(serde_json::from_slice::<Minimal>(&body).unwrap());
        }),
    );

    // The CRPT pairs' floors: both of their answers, each into a minimal struct.
    for (name, bodies, run) in [
        (
            "floor (True API bodies)",
            [TRUE_API_TOKEN, TRUE_API_KEY],
            two_answer_floor::<Challenge, CrptToken>(),
        ),
        (
            "floor (MDLP bodies)",
            [MDLP_TOKEN, MDLP_CODE],
            two_answer_floor::<MdlpCode, CrptToken>(),
        ),
    ] {
        add(name, name, None, bodies.map(<[u8]>::to_vec).to_vec(), run);
    }

    // oauth2 5: password grant and client credentials, canned transport.
    {
        use oauth2::basic::BasicClient;
        use oauth2::{
            AuthType, ClientId, ClientSecret as OClientSecret, ResourceOwnerPassword, ResourceOwnerUsername,
            Scope, TokenResponse, TokenUrl,
        };
        let password_client = BasicClient::new(ClientId::new("vatps".to_owned()))
            .set_auth_type(AuthType::RequestBody)
            .set_token_uri(TokenUrl::new(token_url.clone()).unwrap());
        let username = ResourceOwnerUsername::new(itc::STAGING_TEST_USERNAME.to_owned());
        let password = ResourceOwnerPassword::new(itc::STAGING_TEST_PASSWORD.to_owned());
        add(
            "oauth2 password grant",
            "floor (Keycloak body)",
            None,
            vec![keycloak.clone()],
            Box::new(move |r| {
                let canned = RefCell::new(r);
                let transport = |_request: http::Request<Vec<u8>>| {
                    Ok::<_, std::io::Error>(canned.borrow_mut().pop().unwrap())
                };
                let token = password_client
                    .exchange_password(&username, &password)
                    .request(&transport)
                    .unwrap();
                black_box(token.access_token());
            }),
        );
        let cc_client = BasicClient::new(ClientId::new("partner-app".to_owned()))
            .set_client_secret(OClientSecret::new("s3cret".to_owned()))
            .set_auth_type(AuthType::RequestBody)
            .set_token_uri(TokenUrl::new("https://iam-staging.gam.vn/oauth2/v3/token".to_owned()).unwrap());
        add(
            "oauth2 client credentials",
            "floor (GAM body)",
            None,
            vec![gam.clone()],
            Box::new(move |r| {
                let canned = RefCell::new(r);
                let transport = |_request: http::Request<Vec<u8>>| {
                    Ok::<_, std::io::Error>(canned.borrow_mut().pop().unwrap())
                };
                let token = cc_client
                    .exchange_client_credentials()
                    .add_scope(Scope::new("iam:user-password:update".to_owned()))
                    .add_scope(Scope::new(
                        "gamp:erp.customer-reconciliation.write-direct".to_owned(),
                    ))
                    .request(&transport)
                    .unwrap();
                black_box(token.access_token());
            }),
        );
    }

    // tokendance: the ITC session's password grant. The session (like
    // oauth2's client and credentials) is set up once; each round it is
    // told its token was refused, which sends it back to the password grant.
    {
        let mut session = itc::session(
            &itc_config,
            itc::STAGING_TEST_USERNAME,
            Password::new(itc::STAGING_TEST_PASSWORD),
        )
        .unwrap();
        session
            .set_pacing(tokendance::Pacing {
                min_interval: Duration::ZERO,
                ..tokendance::Pacing::session()
            })
            .unwrap();
        let mut now = t0;
        add(
            "tokendance password grant",
            "floor (Keycloak body)",
            Some("oauth2 password grant"),
            vec![keycloak.clone()],
            Box::new(move |mut r| {
                now = now.saturating_add(Duration::from_secs(2_000)); // past the refresh token's life
                let SessionAction::Send(request) = session.poll(now).unwrap() else {
                    panic!()
                };
                black_box(request.into_http());
                session.handle_response(now, r.pop().unwrap()).unwrap();
                black_box(session.tokens());
            }),
        );
    }
    {
        // One session, refreshed every round: each round is 300 s later.
        let mut session = itc::session(
            &itc_config,
            itc::STAGING_TEST_USERNAME,
            Password::new(itc::STAGING_TEST_PASSWORD),
        )
        .unwrap();
        let SessionAction::Send(_) = session.poll(t0).unwrap() else {
            panic!()
        };
        session.handle_response(t0, response(&keycloak)).unwrap();
        let mut now = t0;
        add(
            "tokendance refresh",
            "floor (Keycloak body)",
            Some("oauth2 password grant"),
            vec![keycloak.clone()],
            Box::new(move |mut r| {
                now = now.saturating_add(Duration::from_secs(300));
                let SessionAction::Send(request) = session.poll(now).unwrap() else {
                    panic!("no refresh")
                };
                black_box(request.into_http());
                session.handle_response(now, r.pop().unwrap()).unwrap();
                black_box(session.tokens());
            }),
        );
    }
    {
        let config = gam::Config::staging();
        let secret = ClientSecret::new("s3cret");
        add(
            "tokendance client credentials",
            "floor (GAM body)",
            Some("oauth2 client credentials"),
            vec![gam.clone()],
            Box::new(move |mut r| {
                let mut flow = gam_request_sent(&config, &secret, t0);
                let Action::Done(token) = flow.resume(t0, Input::Response(r.pop().unwrap())).unwrap() else {
                    panic!()
                };
                black_box(token);
            }),
        );
    }
    {
        // True API: key -> sign (a fixed fake signature) -> token.
        let base = tokendance::crpt::TrueApiStand::Demo.endpoint();
        let signature = Signature::from_der(vec![0x30; 5_500]);
        add(
            "tokendance True API pair",
            "floor (True API bodies)",
            None,
            vec![TRUE_API_TOKEN.to_vec(), TRUE_API_KEY.to_vec()],
            Box::new(move |mut r| {
                let mut flow =
                    true_api::sign_in(&base, Some("11b1abc9-f4ee-47db-8a20-f80ac83504e8")).unwrap();
                let Action::Send(request) = flow.start(t0).unwrap() else {
                    panic!()
                };
                black_box(request.into_http());
                let Action::Sign(job) = flow.resume(t0, Input::Response(r.pop().unwrap())).unwrap() else {
                    panic!()
                };
                black_box(job.bytes());
                let Action::Send(request) = flow.resume(t0, Input::Signature(signature.clone())).unwrap()
                else {
                    panic!()
                };
                black_box(request.into_http());
                let Action::Done(token) = flow.resume(t0, Input::Response(r.pop().unwrap())).unwrap() else {
                    panic!()
                };
                black_box(token);
            }),
        );
    }
    {
        // MDLP: auth -> (password, the wait already past) -> token.
        let base = tokendance::crpt::MdlpStand::Sandbox.endpoint();
        let client = mdlp::Client {
            id: "7df0d06f-6510-44fe-a378-76cb53e2605f".into(),
            secret: ClientSecret::new("49781b3a"),
        };
        add(
            "tokendance MDLP pair",
            "floor (MDLP bodies)",
            None,
            vec![MDLP_TOKEN.to_vec(), MDLP_CODE.to_vec()],
            Box::new(move |mut r| {
                let mut flow = mdlp::sign_in(
                    &base,
                    client.clone(),
                    "user@example.org",
                    mdlp::Auth::Password(Password::new("password123")),
                    Some("11b1abc9"),
                )
                .unwrap();
                let Action::Send(request) = flow.start(t0).unwrap() else {
                    panic!()
                };
                black_box(request.into_http());
                let later = t0.saturating_add(Duration::from_secs(2));
                // The answer arrives at t0; resumed 2 s later there is no wait.
                let action = flow.resume(t0, Input::Response(r.pop().unwrap())).unwrap();
                let request = match action {
                    Action::Wait(_) => match flow.resume(later, Input::Timeout).unwrap() {
                        Action::Send(request) => request,
                        _ => panic!(),
                    },
                    Action::Send(request) => request,
                    _ => panic!(),
                };
                black_box(request.into_http());
                let Action::Done(token) = flow.resume(later, Input::Response(r.pop().unwrap())).unwrap()
                else {
                    panic!()
                };
                black_box(token);
            }),
        );
    }

    // The fresh-token path, 100 polls a round: the single-process CRPT
    // keeper (the floor here), and the fleet keeper, which must stay within
    // 2x of it and answer from memory (no store operation, no allocation).
    {
        let token = TokenSet::new(
            AccessToken::new("58f908f1"),
            t0,
            Some(t0.saturating_add(Duration::from_secs(36_000))),
        );
        let mut keeper = TokenKeeper::new("conn-1");
        let KeeperAction::Renew(ticket) = keeper.poll(t0) else {
            panic!()
        };
        keeper.renewed(ticket, token.clone()).unwrap();
        add(
            "keeper fresh poll x100",
            "keeper fresh poll x100",
            None,
            vec![],
            hundred_fresh_polls(move || {
                matches!(black_box(keeper.poll(black_box(t0))), KeeperAction::UseToken(_))
            }),
        );
        let mut store = MemoryStore::default();
        let mut fleet = FleetKeeper::new("crpt:suz:conn-1", "pod-a", FleetSettings::default()).unwrap();
        let mut token = Some(token);
        loop {
            match fleet.poll(t0) {
                FleetAction::UseToken(_) => break,
                FleetAction::Store(op) => {
                    let answer = store.apply(&op);
                    fleet.store_answered(t0, op.id(), Ok(answer)).unwrap();
                }
                FleetAction::Renew(ticket) => fleet.renewed(ticket, t0, token.take().unwrap()).unwrap(),
                _ => panic!("the fleet keeper waits with an empty store"),
            }
        }
        add(
            "fleet keeper fresh poll x100",
            "keeper fresh poll x100",
            None,
            vec![],
            hundred_fresh_polls(move || {
                matches!(black_box(fleet.poll(black_box(t0))), FleetAction::UseToken(_))
            }),
        );
    }

    // The client-credentials round trip answered by a rate limit: the
    // refusal, through the classifier and the scrubber, to its typed wait
    // (the `Retry-After` date read).
    {
        let config = gam::Config::staging();
        let secret = ClientSecret::new("s3cret");
        let retry_at = t0.saturating_add(Duration::from_secs(120));
        contestants.push(Contestant {
            name: "tokendance client credentials, 429 Retry-After",
            floor: "floor (GAM body)",
            rival: None,
            bodies: vec![RATE_LIMITED.to_vec()],
            respond: rate_limited,
            run: Box::new(move |mut r| {
                let mut flow = gam_request_sent(&config, &secret, t0);
                let Err(e) = flow.resume(t0, Input::Response(r.pop().unwrap())) else {
                    panic!("not refused")
                };
                assert_eq!(e.retry_after().map(|r| r.deadline(t0)), Some(retry_at));
            }),
            times: Vec::new(),
            allocations: Vec::new(),
        });
    }

    // Each hand-written part alone against its crate, on what the round
    // trips above hand it.
    let mut part = |name: &'static str, run: Box<dyn FnMut()>| {
        let mut run = run;
        contestants.push(Contestant {
            name,
            floor: name,
            rival: None,
            bodies: vec![],
            respond: response,
            run: Box::new(move |_| run()),
            times: Vec::new(),
            allocations: Vec::new(),
        })
    };
    {
        let refresh = jwt_like(700, 2);
        let password: &[(&str, &str)] = &[
            ("grant_type", "password"),
            ("client_id", "vatps"),
            ("username", itc::STAGING_TEST_USERNAME),
            ("password", itc::STAGING_TEST_PASSWORD),
        ];
        let refresh: Vec<(&'static str, String)> = vec![
            ("grant_type", "refresh_token".to_owned()),
            ("client_id", "vatps".to_owned()),
            ("refresh_token", refresh),
        ];
        let copy = refresh.clone();
        part(
            "part: password grant form body, hand-written",
            Box::new(move || drop(black_box(hand_form_body(black_box(password))))),
        );
        part(
            "part: password grant form body, form_urlencoded",
            Box::new(move || drop(black_box(crate_form_body(black_box(password))))),
        );
        part(
            "part: refresh form body, hand-written",
            Box::new(move || drop(black_box(hand_form_body(black_box(&copy))))),
        );
        part(
            "part: refresh form body, form_urlencoded",
            Box::new(move || drop(black_box(crate_form_body(black_box(&refresh))))),
        );
    }
    {
        // The classifier's JSON reading on the Keycloak answer, with the
        // token set built: the flat reader's part of a password grant.
        let canned = response(&keycloak);
        part(
            "part: Keycloak body to a token set (parse_token_response)",
            Box::new(move || {
                black_box(tokendance::oauth2::parse_token_response(black_box(&canned), t0).unwrap());
            }),
        );
    }

    // Instruction counts (see benches/instructions.sh): one contestant, a
    // given number of rounds, no timing and no report. Under callgrind the
    // difference between two round counts is what the rounds cost, whatever
    // the machine is doing meanwhile.
    if let Ok(name) = std::env::var("ROUNDTRIP_ONLY") {
        let rounds: usize = std::env::var("ROUNDTRIP_ROUNDS")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(ROUNDS);
        let Some(c) = contestants.iter_mut().find(|c| c.name == name) else {
            panic!("no contestant named {name:?}")
        };
        for _ in 0..rounds {
            (c.run)(c.bodies.iter().map(|b| (c.respond)(b)).collect());
        }
        return;
    }

    // Interleaved rounds: every contestant once per round, order rotating.
    let count = contestants.len();
    for round in 0..(WARMUP + ROUNDS) {
        for k in 0..count {
            let c = &mut contestants[(round + k) % count];
            let canned: Vec<_> = c.bodies.iter().map(|b| (c.respond)(b)).collect();
            let before = ALLOCATIONS.load(Ordering::Relaxed);
            let start = Instant::now();
            (c.run)(canned);
            let elapsed = start.elapsed();
            let allocations = ALLOCATIONS.load(Ordering::Relaxed) - before;
            if round >= WARMUP {
                c.times.push(elapsed);
                c.allocations.push(allocations);
            }
        }
    }
    report(&contestants);
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn quartiles(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(f64::total_cmp);
    (v[v.len() / 4], v[v.len() * 3 / 4])
}

fn report(contestants: &[Contestant]) {
    let find = |name: &str| contestants.iter().find(|c| c.name == name);
    let nanos = |c: &Contestant| c.times.iter().map(|d| d.as_nanos() as f64).collect::<Vec<_>>();
    let ratio = |c: &Contestant, other: &Contestant| {
        let per_round: Vec<f64> = c
            .times
            .iter()
            .zip(&other.times)
            .map(|(a, b)| a.as_nanos() as f64 / b.as_nanos().max(1) as f64)
            .collect();
        median(per_round)
    };
    println!("{ROUNDS} interleaved rounds after {WARMUP} warm-up rounds; times per round trip\n");
    println!("| contestant | median | IQR | × floor | oauth2 ÷ this | allocations |");
    println!("|---|---|---|---|---|---|");
    for c in contestants {
        let (q1, q3) = quartiles(nanos(c));
        let floor = find(c.floor)
            .map(|f| format!("{:.2}", ratio(c, f)))
            .unwrap_or_default();
        let rival = c
            .rival
            .and_then(find)
            .map(|r| format!("{:.2}", ratio(r, c)))
            .unwrap_or_else(|| "-".to_owned());
        let allocations = median(c.allocations.iter().map(|&a| a as f64).collect());
        println!(
            "| {} | {:.2} µs | {:.2}–{:.2} µs | {} | {} | {} |",
            c.name,
            median(nanos(c)) / 1000.0,
            q1 / 1000.0,
            q3 / 1000.0,
            floor,
            rival,
            allocations
        );
    }
}

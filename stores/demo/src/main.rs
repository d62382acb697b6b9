//! The fleet demo: `processes` OS processes × `threads` threads call a
//! SUZ-like API with one CRPT connection's token, shared through a store,
//! against the crate's CRPT fake served over loopback HTTP. The fake revokes
//! the previous token on every sign-in, as CRPT does; tokens are made to
//! live `lifetime` seconds so a short run holds many renewals.
//!
//! ```sh
//! cargo run -p tokendance-fleet -- --store file --processes 8
//! TOKENDANCE_REDIS_URL=redis://127.0.0.1:6379 cargo run -p tokendance-fleet -- --store redis
//! TOKENDANCE_POSTGRES_URL=postgres://me@127.0.0.1/db cargo run -p tokendance-fleet -- --store postgres
//! ```
//!
//! It prints one table: sign-ins against token lifetimes, API calls and the
//! 401s among them, and store round trips (per renewal, and while the
//! token was fresh). It exits non-zero if the fleet signed in more than
//! once per token lifetime (plus one) or a call failed for good.

#[path = "../../../examples/support/mod.rs"]
mod support;

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use tokendance::call::{Authorized, Scheme};
use tokendance::crpt::true_api;
use tokendance::fake::{self, Crpt, Fake};
use tokendance::fleet::{FleetKeeper, FleetSettings, FleetSource, StoreAnswer, StoreError, StoreOp};
use tokendance::{drive, Action, Endpoint, Error, Flow, Input, Pacing, Timestamp, TokenSet};

const CONN: &str = "11B1ABC9-F4EE-47DB-8A20-F80AC83504E8";
const KEY: &str = "crpt:true-api:11B1ABC9-F4EE-47DB-8A20-F80AC83504E8";

struct Options {
    store: String,
    processes: usize,
    threads: usize,
    seconds: u64,
    lifetime: u64,
}

fn options(args: &[String]) -> Result<Options, String> {
    let mut o = Options {
        store: "file".into(),
        processes: 3,
        threads: 4,
        seconds: 20,
        lifetime: 6,
    };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || it.next().cloned().ok_or(format!("{flag} needs a value"));
        let number = |v: String| v.parse::<u64>().map_err(|_| format!("{flag}: not a number: {v}"));
        match flag.as_str() {
            "--store" => o.store = value()?,
            "--processes" => o.processes = number(value()?)? as usize,
            "--threads" => o.threads = number(value()?)? as usize,
            "--seconds" => o.seconds = number(value()?)?,
            "--lifetime" => o.lifetime = number(value()?)?,
            "--child" | "--server" | "--dir" => {
                value()?;
            }
            other => return Err(format!("unknown flag {other}")),
        }
    }
    if !matches!(o.store.as_str(), "file" | "redis" | "postgres") {
        return Err(format!("--store file|redis|postgres, not {}", o.store));
    }
    if o.lifetime < 3 {
        return Err("--lifetime must be at least 3 seconds".into());
    }
    Ok(o)
}

fn flag<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match options(&args) {
        Err(e) => Err(e),
        Ok(o) => match flag(&args, "--child") {
            Some(index) => child(
                &o,
                index,
                flag(&args, "--server").unwrap_or(""),
                flag(&args, "--dir"),
            ),
            None => parent(&o, &args),
        },
    };
    if let Err(e) = result {
        eprintln!("fleet: {e}");
        std::process::exit(1);
    }
}

fn now() -> Timestamp {
    Timestamp::from_system_time(SystemTime::now())
}

/// The parent: the fake CRPT and its API on loopback, the children, the table.
fn parent(o: &Options, args: &[String]) -> Result<(), String> {
    let crpt = Arc::new(Mutex::new(Crpt::new()));
    crpt.lock().unwrap().challenge_token_lifetime = Duration::from_secs(o.lifetime);
    let (api_calls, refused) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let handler = {
        let (crpt, api_calls, refused) = (Arc::clone(&crpt), Arc::clone(&api_calls), Arc::clone(&refused));
        move |request: http::Request<Vec<u8>>| {
            let mut crpt = crpt.lock().unwrap();
            if request.uri().path().contains("/auth/") {
                return crpt.handle(now(), &request);
            }
            // The API: a SUZ-like call that checks the connection's token.
            api_calls.fetch_add(1, Ordering::Relaxed);
            let token = request.headers().get("clientToken").and_then(|v| v.to_str().ok());
            let live = token.is_some_and(|t| crpt.accepts(now(), CONN, &tokendance::AccessToken::new(t)));
            if !live {
                refused.fetch_add(1, Ordering::Relaxed);
            }
            let status = if live { 200 } else { 401 };
            http::Response::builder()
                .status(status)
                .body(b"{}".to_vec())
                .unwrap()
        }
    };
    let server = support::LoopbackServer::start(Arc::new(handler)).map_err(|e| e.to_string())?;
    let dir = std::env::temp_dir().join(format!("tokendance-fleet-{}", std::process::id()));
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let started = Instant::now();
    let children: Vec<_> = (0..o.processes)
        .map(|i| {
            let mut command = Command::new(&exe);
            command
                .args(args)
                .args(["--child", &i.to_string(), "--server", &server.base_url()]);
            command
                .args(["--dir", &dir.display().to_string()])
                .stdout(Stdio::piped());
            command.spawn().map_err(|e| e.to_string())
        })
        .collect::<Result<_, _>>()?;
    let mut totals = [0u64; 5];
    for child in children {
        let out = child.wait_with_output().map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(format!("a process failed: {}", out.status));
        }
        let line = String::from_utf8_lossy(&out.stdout);
        let numbers: Vec<u64> = line.split_whitespace().filter_map(|w| w.parse().ok()).collect();
        for (total, n) in totals.iter_mut().zip(numbers) {
            *total += n;
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    let elapsed = started.elapsed().as_secs_f64();
    let [calls, failed, store_ops, fresh_store_ops, fresh_polls] = totals;
    let sign_ins = crpt.lock().unwrap().tokens_issued();
    // Renewal starts a third of the lifetime before expiry (see settings()).
    let period = o.lifetime as f64 * 2.0 / 3.0;
    let lifetimes = (elapsed / period).ceil() as u64;
    println!("| store | processes × threads | seconds | token lifetime | sign-ins | renewal periods in the run | API calls | 401s | calls failed | store round trips | per sign-in | while the token was fresh (not refused) |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    println!(
        "| {} | {} × {} | {elapsed:.1} | {} s | {sign_ins} | {lifetimes} | {calls} | {} | {failed} | {store_ops} | {:.1} | {fresh_store_ops} in {fresh_polls} calls |",
        o.store,
        o.processes,
        o.threads,
        o.lifetime,
        refused.load(Ordering::Relaxed),
        store_ops as f64 / sign_ins.max(1) as f64,
    );
    let _ = api_calls;
    if sign_ins > lifetimes + 1 {
        return Err(format!("{sign_ins} sign-ins for {lifetimes} token lifetimes"));
    }
    if failed > 0 {
        return Err(format!("{failed} calls failed"));
    }
    Ok(())
}

/// The fleet's settings for short-lived tokens: renew a third of the life
/// ahead, short leases, a second of skew.
fn settings(lifetime: u64) -> FleetSettings {
    FleetSettings {
        pacing: Pacing {
            renew_margin: Duration::from_millis(lifetime * 1000 / 3),
            renewal_timeout: Duration::from_secs(5),
            min_interval: Duration::ZERO,
            ..Pacing::keeper()
        },
        skew: Duration::from_secs(1),
        fence_margin: Duration::from_secs(1),
        store_timeout: Duration::from_secs(2),
        recheck: Duration::from_millis(100),
    }
}

/// One store operation, carried out on whichever store was chosen.
type Apply = Box<dyn Fn(&StoreOp) -> Result<StoreAnswer, StoreError> + Send + Sync>;

/// The store of `--store`, counting its round trips.
struct Counted {
    apply: Apply,
    ops: AtomicU64,
}

impl Counted {
    fn open(kind: &str, dir: Option<&str>) -> Result<Self, String> {
        let timeout = Duration::from_secs(2);
        let apply: Apply = match kind {
            "file" => {
                let dir = dir.ok_or("no --dir")?;
                std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
                let store = tokendance_store_file::FileStore::open(dir).map_err(|e| e.to_string())?;
                Box::new(move |op| store.apply(op))
            }
            "redis" => {
                let url = support::required_env("TOKENDANCE_REDIS_URL", "a redis:// URL")?;
                let store = Mutex::new(
                    tokendance_store_redis::RedisStore::open(&url, timeout).map_err(|e| e.to_string())?,
                );
                Box::new(move |op| store.lock().unwrap().apply(op))
            }
            _ => {
                let url = support::required_env("TOKENDANCE_POSTGRES_URL", "a postgres:// URL")?;
                let mut store = tokendance_store_postgres::PostgresStore::new(&url, timeout)
                    .map_err(|e| e.to_string())?;
                store.migrate().map_err(|e| e.to_string())?;
                let store = Mutex::new(store);
                Box::new(move |op| store.lock().unwrap().apply(op))
            }
        };
        Ok(Counted {
            apply,
            ops: AtomicU64::new(0),
        })
    }

    fn apply(&self, op: &StoreOp) -> Result<StoreAnswer, StoreError> {
        self.ops.fetch_add(1, Ordering::Relaxed);
        (self.apply)(op)
    }
}

/// A True API sign-in whose token is made to live `lifetime` (the fake's
/// tokens do; the guide's ten hours would hold no renewal in a demo).
struct Shortened<F> {
    flow: F,
    lifetime: Duration,
}

impl<F: Flow<Output = TokenSet>> Shortened<F> {
    fn step(&self, step: Result<Action<TokenSet>, Error>) -> Result<Action<TokenSet>, Error> {
        step.map(|action| match action {
            Action::Done(t) => Action::Done(TokenSet::new(
                t.access_token().clone(),
                t.obtained_at(),
                Some(t.obtained_at().saturating_add(self.lifetime)),
            )),
            other => other,
        })
    }
}

impl<F: Flow<Output = TokenSet>> Flow for Shortened<F> {
    type Output = TokenSet;
    fn start(&mut self, now: Timestamp) -> Result<Action<TokenSet>, Error> {
        let step = self.flow.start(now);
        self.step(step)
    }
    fn resume(&mut self, now: Timestamp, input: Input) -> Result<Action<TokenSet>, Error> {
        let step = self.flow.resume(now, input);
        self.step(step)
    }
}

/// A child: `threads` callers share one source for `seconds`; prints
/// `calls failed store_ops store_ops_while_fresh fresh_calls`.
fn child(o: &Options, index: &str, server: &str, dir: Option<&str>) -> Result<(), String> {
    let store = Counted::open(&o.store, dir)?;
    let holder = format!("p{index}/{}", std::process::id());
    let keeper = FleetKeeper::new(KEY, holder, settings(o.lifetime)).map_err(|e| e.to_string())?;
    let base = Endpoint::parse_insecure_http(server).map_err(|e| e.to_string())?;
    let lifetime = Duration::from_secs(o.lifetime);
    let source = Mutex::new(FleetSource::new(keeper, move |_| {
        Ok(Shortened {
            flow: true_api::sign_in(&base, Some(CONN))?,
            lifetime,
        })
    }));
    let api = format!("{server}/api/v2/ping");
    let deadline = Instant::now() + Duration::from_secs(o.seconds);
    let counts: [AtomicU64; 4] = Default::default();
    std::thread::scope(|scope| {
        for _ in 0..o.threads {
            scope.spawn(|| {
                let agent = support::ureq_agent();
                while Instant::now() < deadline {
                    let mut source = source.lock().unwrap();
                    let margin = settings(o.lifetime).pacing.renew_margin;
                    let fresh = source
                        .keeper()
                        .token()
                        .filter(|t| t.is_fresh(now(), margin))
                        .map(|t| t.access_token().clone());
                    let before = store.ops.load(Ordering::Relaxed);
                    let request = http::Request::get(&api).body(Vec::new()).unwrap();
                    let call =
                        Authorized::new_insecure_http(&mut *source, request, Scheme::SuzClientToken).unwrap();
                    let outcome = drive::drive_with_store(
                        call,
                        now,
                        |req| support::ureq_send(&agent, req),
                        |job| Ok::<_, std::convert::Infallible>(fake::sign(job)),
                        |op| store.apply(op),
                        |until| std::thread::sleep(until.saturating_duration_since(now())),
                    );
                    let ok = matches!(&outcome, Ok(response) if response.status() == 200);
                    counts[0].fetch_add(1, Ordering::Relaxed);
                    counts[1].fetch_add(u64::from(!ok), Ordering::Relaxed);
                    // A fresh token the API did not refuse (a refusal means
                    // another process signed in: the token changed).
                    let unchanged = fresh.is_some()
                        && source.keeper().token().map(|t| t.access_token()) == fresh.as_ref();
                    if unchanged {
                        counts[2].fetch_add(store.ops.load(Ordering::Relaxed) - before, Ordering::Relaxed);
                        counts[3].fetch_add(1, Ordering::Relaxed);
                    }
                    drop(source);
                    std::thread::sleep(Duration::from_millis(20));
                }
            });
        }
    });
    let [calls, failed, fresh_ops, fresh_calls] = counts.map(|c| c.load(Ordering::Relaxed));
    println!(
        "{calls} {failed} {} {fresh_ops} {fresh_calls}",
        store.ops.load(Ordering::Relaxed)
    );
    Ok(())
}

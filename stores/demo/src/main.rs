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
//! It prints one table: sign-ins against renewal periods, API calls and the
//! 401s among them, and store round trips (per renewal, and while the
//! token was fresh). It exits non-zero if the fleet signed in more than
//! once per renewal period (plus one) or a call failed for good.
//!
//! `--chaos` is the fault run: the processes' clocks are up to half the
//! skew margin apart, the parent SIGKILLs processes (and starts new ones
//! in their place) and SIGSTOPs them for up to 0.9 s (less than the fence
//! margin), the holder of the second sign-in is killed with its request
//! out and the holder of the third as soon as its token is issued, and
//! the holder of the fleet's first renewal stalls past its lease, after
//! claiming it and before its fence (the run fails if that stall did not
//! happen). The fake's sign-in endpoint
//! checks every sign-in against the store in true time: the lease must be
//! live, and a lease it took over (its holder killed or stalled) must have
//! ended before it was claimed. Any
//! violation fails the run. `--unsafe-store` makes each process's swaps
//! blind writes (the version check removed), to show that check catching
//! it.

#[path = "../../../examples/support/mod.rs"]
mod support;

use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use tokendance::call::{Authorized, Scheme};
use tokendance::crpt::true_api;
use tokendance::fake::{self, Crpt, Fake};
use tokendance::fleet::{
    FleetKeeper, FleetSettings, FleetSource, Record, StoreAnswer, StoreError, StoreOp, StoreOpKind,
};
use tokendance::{drive, transport, Action, Endpoint, Error, Flow, Input, Pacing, Timestamp, TokenSet};

/// Token lifetime in the skewed run: longer than any clock is off, so only
/// the API's revocations make the fleet sign in.
const SKEWED_LIFETIME: u64 = 7200;
/// The skewed run's clocks are up to this far off, either way.
const SKEWED_OFFSET_MS: i64 = 5 * 60 * 1000;
/// How often the skewed run's API revokes the current token.
const REVOKE_EVERY: Duration = Duration::from_secs(2);

/// The header each process's requests carry its holder id in, so the
/// oracle knows who signs in.
const HOLDER_HEADER: &str = "x-fleet-holder";

const CONN: &str = "11B1ABC9-F4EE-47DB-8A20-F80AC83504E8";
const KEY: &str = "crpt:true-api:11B1ABC9-F4EE-47DB-8A20-F80AC83504E8";

struct Options {
    store: String,
    processes: usize,
    threads: usize,
    seconds: u64,
    lifetime: u64,
    chaos: bool,
    unsafe_store: bool,
    /// Seconds the store is down, once, early in the run (0: never).
    outage: u64,
    /// Clocks up to 5 minutes apart, 2-hour tokens, and the API revoking
    /// the current token every 2 s.
    skewed: bool,
}

fn options(args: &[String]) -> Result<Options, String> {
    let mut o = Options {
        store: "file".into(),
        processes: 3,
        threads: 4,
        seconds: 20,
        lifetime: 6,
        chaos: false,
        unsafe_store: false,
        outage: 0,
        skewed: false,
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
            "--chaos" => o.chaos = true,
            "--unsafe-store" => o.unsafe_store = true,
            "--outage" => o.outage = number(value()?)?,
            "--skewed" => o.skewed = true,
            "--child" | "--server" | "--dir" | "--offset" => {
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
    if [o.chaos, o.outage > 0, o.skewed].iter().filter(|&&on| on).count() > 1 {
        return Err("--chaos, --outage and --skewed are separate runs".into());
    }
    if o.outage > 0 {
        // The store goes down a second before the token is due (half-way
        // through its life): the token must outlive the outage, a store
        // timeout and a back-off after it.
        o.lifetime = o.lifetime.max(2 * (o.outage + 4));
    }
    if o.skewed {
        o.lifetime = SKEWED_LIFETIME;
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
            Some(index) => child(&o, index, flag(&args, "--server").unwrap_or(""), &args),
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

/// Checks each sign-in against the store, in true time.
struct Oracle {
    store: Counted,
    offsets: Vec<i64>,
    /// How long a lease lasts.
    lease: Duration,
    /// The lease of the last sign-in: its version and its true end.
    last: Option<(u64, i64)>,
    checked: u64,
    /// When each sign-in arrived.
    arrivals: Vec<Instant>,
    violations: Vec<String>,
    /// Chaos: the sign-ins whose holder is killed (before the token is
    /// issued, and right after), and how many of those kills were made.
    kill_at: [u64; 2],
    killed: u64,
}

impl Oracle {
    /// A sign-in from `requester` (its holder id, sent in a header) arrives
    /// at true instant `now`: the lease in the store must be the
    /// requester's and live, and one it took over must have ended before
    /// it was claimed.
    fn sign_in(&mut self, now: Timestamp, requester: Option<&str>) {
        self.checked += 1;
        self.arrivals.push(Instant::now());
        let now = now.as_unix_millis() as i64;
        let read = StoreOp::read(0, KEY);
        let record = match self.store.apply(&read) {
            Ok(StoreAnswer::Found(Some(bytes))) => tokendance::fleet::Record::from_json(&bytes).ok(),
            _ => None,
        };
        let Some(lease) = record.and_then(|r| r.lease) else {
            self.violations
                .push(format!("a sign-in at {now} with no lease in the store"));
            return;
        };
        if requester != Some(lease.holder.as_str()) {
            self.violations.push(format!(
                "{} signed in under {}'s lease",
                requester.unwrap_or("a process without a holder id"),
                lease.holder
            ));
        }
        let index: usize = lease.holder[1..]
            .split('/')
            .next()
            .and_then(|i| i.parse().ok())
            .unwrap_or(0);
        let offset = self.offsets.get(index).copied().unwrap_or(0);
        let ends = lease.until.as_unix_millis() as i64 - offset;
        if now >= ends {
            self.violations.push(format!(
                "{} signed in {} ms after its lease ended",
                lease.holder,
                now - ends
            ));
        }
        // A lease taken over without a release (its holder killed or
        // stalled) is the next version: it must have ended, in true time,
        // before the new one was claimed (its end less the lease's length).
        let claimed = ends - self.lease.as_millis() as i64;
        if let Some((version, last_ends)) = self.last {
            if version + 1 == lease.version && last_ends > claimed {
                self.violations.push(format!(
                    "{} claimed lease {} while lease {version} had {} ms left",
                    lease.holder,
                    lease.version,
                    last_ends - claimed
                ));
            }
        }
        self.last = Some((lease.version, ends));
    }
}

/// Starts new processes in place of those that were killed (the sign-in
/// endpoint kills holders); returns how many.
fn replace_dead(
    children: &mut [Child],
    spawn: &dyn Fn(usize) -> Result<Child, String>,
) -> Result<u64, String> {
    let mut replaced = 0;
    for (i, child) in children.iter_mut().enumerate() {
        if matches!(child.try_wait(), Ok(Some(status)) if !status.success()) {
            *child = spawn(i)?;
            replaced += 1;
        }
    }
    Ok(replaced)
}

/// SIGKILL for `pid`.
fn kill(pid: u32) {
    let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).status();
}

/// The clock offset of process `i` in ms: in a chaos run within half the
/// skew margin either way (so any two differ by at most the margin), in the
/// skewed run up to 5 minutes either way.
fn offset_of(o: &Options, i: usize) -> i64 {
    let spread = |half: i64| (i as i64 * 397_981) % (2 * half + 1) - half;
    if o.chaos {
        spread(500)
    } else if o.skewed {
        spread(SKEWED_OFFSET_MS)
    } else {
        0
    }
}

/// The token in a sign-in answer (`{"token":"…"}`).
fn token_in(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    let start = text.find("\"token\":\"")? + "\"token\":\"".len();
    let len = text[start..].find('"')?;
    Some(text[start..start + len].to_owned())
}

/// The tokens the API has issued since the last revocation, and those it
/// revoked (the skewed run).
#[derive(Default)]
struct Revocations {
    issued: Vec<String>,
    revoked: std::collections::HashSet<String>,
    count: u64,
}

/// What the outage run saw.
struct Outage {
    /// Sign-ins while the store was down (the oracle flags each too).
    sign_ins_during: u64,
    /// The record's version before the store went down and once it was back.
    versions: (u64, u64),
    /// Sign-ins when the store came back, and when that was.
    sign_ins_at_back: u64,
    back: Instant,
}

/// Takes the store down for `o.outage` seconds once the fleet has a token,
/// and brings it back: the file store by holding its record's lock (every
/// operation then times out), Redis and PostgreSQL by running the commands
/// in `TOKENDANCE_STORE_STOP` and `TOKENDANCE_STORE_START`.
fn outage(o: &Options, oracle: &Mutex<Oracle>, crpt: &Mutex<Crpt>, dir: &str) -> Result<Outage, String> {
    let wait_until = Instant::now() + Duration::from_secs(10);
    while crpt.lock().unwrap().tokens_issued() == 0 {
        if Instant::now() > wait_until {
            return Err("no sign-in within 10 s".into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // Down from a second before the token is due, so the renewal falls in
    // the outage.
    std::thread::sleep(
        (Duration::from_secs(o.lifetime) - renew_margin(o)).saturating_sub(Duration::from_secs(1)),
    );
    let version = || -> Result<u64, String> {
        let read = StoreOp::read(0, KEY);
        match oracle.lock().unwrap().store.apply(&read) {
            Ok(StoreAnswer::Found(Some(bytes))) => Record::from_json(&bytes)
                .map(|r| r.version)
                .map_err(|e| format!("the record is unreadable: {e}")),
            Ok(StoreAnswer::Found(None)) => Err("the record is gone".into()),
            other => Err(format!("the store answered {other:?}")),
        }
    };
    let before = version()?;
    let sh = |var: &str| -> Result<(), String> {
        let command = support::required_env(var, "a shell command")?;
        let status = Command::new("sh")
            .args(["-c", &command])
            .status()
            .map_err(|e| e.to_string())?;
        status
            .success()
            .then_some(())
            .ok_or(format!("{var} failed: {status}"))
    };
    let at_stop = crpt.lock().unwrap().tokens_issued();
    let down = Duration::from_secs(o.outage);
    if o.store == "file" {
        let store = tokendance_store_file::FileStore::open(dir).map_err(|e| e.to_string())?;
        let lock = store
            .record_path(KEY)
            .ok_or("no path for the key")?
            .with_extension("lock");
        let file = std::fs::File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock)
            .map_err(|e| e.to_string())?;
        file.lock().map_err(|e| e.to_string())?;
        std::thread::sleep(down);
        drop(file);
    } else {
        sh("TOKENDANCE_STORE_STOP")?;
        std::thread::sleep(down);
        sh("TOKENDANCE_STORE_START")?;
    }
    let sign_ins_at_back = crpt.lock().unwrap().tokens_issued();
    let back = Instant::now();
    // A restarted server may take a moment to answer the oracle's client.
    let mut after = version();
    for _ in 0..20 {
        if after.is_ok() {
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
        after = version();
    }
    Ok(Outage {
        sign_ins_during: sign_ins_at_back - at_stop,
        versions: (before, after?),
        sign_ins_at_back,
        back,
    })
}

/// The parent: the fake CRPT and its API on loopback, the children, the table.
fn parent(o: &Options, args: &[String]) -> Result<(), String> {
    let crpt = Arc::new(Mutex::new(Crpt::new()));
    crpt.lock().unwrap().challenge_token_lifetime = Duration::from_secs(o.lifetime);
    let dir = std::env::temp_dir().join(format!("tokendance-fleet-{}", std::process::id()));
    let dir_text = dir.display().to_string();
    let oracle = Arc::new(Mutex::new(Oracle {
        store: Counted::open(&o.store, Some(&dir_text), false, settings(o).store_timeout)?,
        offsets: (0..o.processes).map(|i| offset_of(o, i)).collect(),
        lease: settings(o).pacing.renewal_timeout,
        last: None,
        checked: 0,
        arrivals: Vec::new(),
        violations: Vec::new(),
        kill_at: if o.chaos { [2, 3] } else { [0, 0] },
        killed: 0,
    }));
    let refused = Arc::new(AtomicU64::new(0));
    let revocations = Arc::new(Mutex::new(Revocations::default()));
    let handler = {
        let (crpt, refused, oracle) = (Arc::clone(&crpt), Arc::clone(&refused), Arc::clone(&oracle));
        let revocations = Arc::clone(&revocations);
        move |request: http::Request<Vec<u8>>| {
            // Chaos: the holder of one sign-in dies with its request out,
            // the holder of the next as soon as it has its token.
            let mut kill_after = None;
            if request.uri().path().contains("simpleSignIn") {
                let mut oracle = oracle.lock().unwrap();
                let requester = request.headers().get(HOLDER_HEADER).and_then(|v| v.to_str().ok());
                oracle.sign_in(now(), requester);
                // The process that sent it (whoever the store says holds the lease).
                let holder: Option<u32> = requester.and_then(|h| h.split('/').nth(1)?.parse().ok());
                if let Some(pid) = holder.filter(|_| oracle.checked == oracle.kill_at[0]) {
                    kill(pid);
                    oracle.killed += 1;
                    return http::Response::builder().status(503).body(Vec::new()).unwrap();
                }
                if oracle.checked == oracle.kill_at[1] {
                    kill_after = holder;
                    oracle.killed += u64::from(holder.is_some());
                }
            }
            let mut crpt = crpt.lock().unwrap();
            if request.uri().path().contains("/auth/") {
                let response = crpt.handle(now(), &request);
                if let Some(token) = token_in(response.body()) {
                    revocations.lock().unwrap().issued.push(token);
                }
                if let Some(pid) = kill_after {
                    std::thread::spawn(move || {
                        std::thread::sleep(Duration::from_millis(2));
                        kill(pid);
                    });
                }
                return response;
            }
            // The API: a SUZ-like call that checks the connection's token.
            let token = request.headers().get("clientToken").and_then(|v| v.to_str().ok());
            let live = token.is_some_and(|t| {
                crpt.accepts(now(), CONN, &tokendance::AccessToken::new(t))
                    && !revocations.lock().unwrap().revoked.contains(t)
            });
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
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let spawn = |i: usize| {
        let mut command = Command::new(&exe);
        command
            .args(args)
            .args(["--child", &i.to_string(), "--server", &server.base_url()]);
        command.args(["--dir", &dir_text, "--offset", &offset_of(o, i).to_string()]);
        command.stdout(Stdio::piped()).spawn().map_err(|e| e.to_string())
    };
    let started = Instant::now();
    let mut children: Vec<Child> = (0..o.processes).map(&spawn).collect::<Result<_, _>>()?;
    let (mut kills, mut pauses) = (0u64, 0u64);
    if o.chaos && o.processes > 1 {
        // Faults until a few seconds before the end, so the last renewals
        // run on a quiet fleet; a fixed order, not randomness.
        let quiet = Duration::from_secs(o.seconds.saturating_sub(4));
        let mut tick = 0usize;
        let targeted_done = || oracle.lock().unwrap().killed >= 2;
        // Bounded: a fleet that stops signing in must not hang the run.
        let give_up = Duration::from_secs(o.seconds + 30);
        while (started.elapsed() < quiet || !targeted_done()) && started.elapsed() < give_up {
            std::thread::sleep(Duration::from_millis(700));
            tick += 1;
            kills += replace_dead(&mut children, &spawn)?;
            let victim = 1 + tick * 7 % (o.processes - 1);
            if tick.is_multiple_of(3) {
                let _ = children[victim].kill();
                let _ = children[victim].wait();
                children[victim] = spawn(victim)?;
                kills += 1;
            } else {
                let pid = children[victim].id().to_string();
                let signal = |s: &str| Command::new("kill").args([s, &pid]).status();
                signal("-STOP").map_err(|e| e.to_string())?;
                std::thread::sleep(Duration::from_millis(300 + (tick as u64 * 211) % 600));
                signal("-CONT").map_err(|e| e.to_string())?;
                pauses += 1;
            }
        }
    }
    let outage = if o.outage > 0 {
        Some(outage(o, &oracle, &crpt, &dir_text)?)
    } else {
        None
    };
    if o.skewed {
        // Revocations until two seconds before the end, so the last one's
        // renewal lands within the run.
        while started.elapsed() + REVOKE_EVERY + Duration::from_secs(2) < Duration::from_secs(o.seconds) {
            std::thread::sleep(REVOKE_EVERY);
            let mut r = revocations.lock().unwrap();
            let issued = std::mem::take(&mut r.issued);
            r.revoked.extend(issued);
            r.count += 1;
        }
    }
    // The last targeted kill may come after the loop's last look.
    std::thread::sleep(Duration::from_millis(300));
    kills += replace_dead(&mut children, &spawn)?;
    let stalls = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().starts_with("stalled-"))
                .count() as u64
        })
        .unwrap_or(0);
    let mut totals = [0u64; 6];
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
    let [calls, failed, store_ops, fresh_store_ops, fresh_calls, store_writes] = totals;
    let sign_ins = crpt.lock().unwrap().tokens_issued();
    // Renewal starts `renew_margin` before expiry (see settings()).
    let period = o.lifetime as f64 - renew_margin(o).as_secs_f64();
    let periods = (elapsed / period).ceil() as u64;
    let per_sign_in = |n: u64| n as f64 / sign_ins.max(1) as f64;
    println!("| store | processes × threads | seconds | token lifetime | sign-ins | renewal periods in the run | API calls | 401s | calls failed | store round trips | per sign-in | of them writes (compare-and-set), per sign-in | reads per sign-in and process | while the token was fresh (not refused) |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    println!(
        "| {} | {} × {} | {elapsed:.1} | {} s | {sign_ins} | {periods} | {calls} | {} | {failed} | {store_ops} | {:.1} | {:.1} | {:.1} | {fresh_store_ops} in {fresh_calls} calls |",
        o.store,
        o.processes,
        o.threads,
        o.lifetime,
        refused.load(Ordering::Relaxed),
        per_sign_in(store_ops),
        per_sign_in(store_writes),
        per_sign_in(store_ops.saturating_sub(store_writes)) / o.processes.max(1) as f64,
    );
    let oracle = oracle.lock().unwrap();
    if o.chaos {
        println!(
            "\nchaos: {kills} processes killed and replaced (2 of them lease holders mid-sign-in: before and after the token was issued), \
             {pauses} paused (SIGSTOP up to 0.9 s), one stalled past its lease; clocks up to 0.5 s either way; \
             {} sign-ins checked against the store, {} violations",
            oracle.checked,
            oracle.violations.len()
        );
    }
    if let Some(outage) = &outage {
        println!(
            "\noutage: the store was down {} s ({}); {} sign-ins while it was down; record version {} before, {} after; \
             {} sign-ins after it came back, the first {:.1} s after; {} sign-ins checked against the store, {} violations",
            o.outage,
            if o.store == "file" { "its record's lock held" } else { "the server stopped and started" },
            outage.sign_ins_during,
            outage.versions.0,
            outage.versions.1,
            sign_ins - outage.sign_ins_at_back,
            oracle
                .arrivals
                .iter()
                .find(|&&t| t >= outage.back)
                .map_or(f64::NAN, |t| t.duration_since(outage.back).as_secs_f64()),
            oracle.checked,
            oracle.violations.len()
        );
        if outage.sign_ins_during > 0 {
            return Err(format!(
                "{} sign-ins while the store was down",
                outage.sign_ins_during
            ));
        }
        if outage.versions.1 < outage.versions.0 {
            return Err(format!(
                "the record went back from version {} to {}",
                outage.versions.0, outage.versions.1
            ));
        }
        if sign_ins == outage.sign_ins_at_back {
            return Err("the fleet did not renew after the store came back".into());
        }
    }
    let revoked = revocations.lock().unwrap().count;
    if o.skewed {
        println!(
            "\nskewed: clocks up to {} min either way, {} s tokens, skew margin 10 min; the API revoked the current token {revoked} times; \
             {sign_ins} sign-ins; {} sign-ins checked against the store, {} violations",
            SKEWED_OFFSET_MS / 60_000,
            o.lifetime,
            oracle.checked,
            oracle.violations.len()
        );
        // One sign-in to start, then exactly one per revocation: the first
        // 401 marks the version rejected, and the fleet renews once.
        if sign_ins != revoked + 1 {
            return Err(format!(
                "{sign_ins} sign-ins for {revoked} revocations (wanted {})",
                revoked + 1
            ));
        }
    }
    if o.chaos && o.processes > 1 && oracle.killed < 2 {
        return Err(format!("{} of the 2 targeted kills happened", oracle.killed));
    }
    if o.chaos && stalls == 0 {
        return Err("the holder that should stall past its lease never did".into());
    }
    if let Some(first) = oracle.violations.first() {
        return Err(format!(
            "{} lease violations; the first: {first}",
            oracle.violations.len()
        ));
    }
    // A holder killed between the sign-in and its publish costs one more,
    // and so does a stall past the lease.
    // Each revocation costs one more.
    if sign_ins > periods + 2 + kills + revoked {
        return Err(format!("{sign_ins} sign-ins for {periods} renewal periods"));
    }
    if failed > 0 {
        return Err(format!("{failed} calls failed"));
    }
    Ok(())
}

/// The fleet's settings for short-lived tokens: renew a third of the life
/// ahead (in the outage run, early enough that the token outlives the
/// outage and the back-off after it), short leases, a second of skew (10
/// minutes in the skewed run).
fn settings(o: &Options) -> FleetSettings {
    FleetSettings {
        pacing: Pacing {
            renew_margin: renew_margin(o),
            renewal_timeout: Duration::from_secs(5),
            min_interval: Duration::ZERO,
            // The outage run: back off at most 2 s, so the fleet finds the
            // store back well within the token's remaining life.
            max_backoff: Duration::from_secs(if o.outage > 0 { 2 } else { 300 }),
            ..Pacing::keeper()
        },
        skew: Duration::from_secs(if o.skewed { 600 } else { 1 }),
        fence_margin: Duration::from_secs(1),
        store_timeout: Duration::from_secs(if o.outage > 0 { 1 } else { 2 }),
        recheck: Duration::from_millis(100),
    }
}

/// How long before expiry the fleet renews: a third of the lifetime, or in
/// the outage run half (a token is never renewed before half its life).
fn renew_margin(o: &Options) -> Duration {
    let thirds = if o.outage > 0 { 2 } else { 3 };
    Duration::from_millis(o.lifetime * 1000 / thirds)
}

/// One store operation, carried out on whichever store was chosen.
type Apply = Box<dyn Fn(&StoreOp) -> Result<StoreAnswer, StoreError> + Send + Sync>;

/// The store of `--store`, counting its round trips.
struct Counted {
    apply: Apply,
    ops: AtomicU64,
    /// The compare-and-set ones among them (claims, publishes, marks).
    writes: AtomicU64,
}

impl Counted {
    /// The store `kind`; with `blind`, every swap overwrites whatever is
    /// there (the version check removed, for `--unsafe-store`).
    fn open(kind: &str, dir: Option<&str>, blind: bool, timeout: Duration) -> Result<Self, String> {
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
        let apply: Apply = if blind {
            Box::new(move |op| {
                let StoreOpKind::Swap { bytes, .. } = op.kind() else {
                    return apply(op);
                };
                let current = match apply(&StoreOp::read(op.id(), op.key()))? {
                    StoreAnswer::Found(Some(stored)) => Record::from_json(&stored).ok().map(|r| r.version),
                    _ => None,
                };
                let record = Record::from_json(bytes).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                // A store 30 ms away: the read and the write are apart.
                std::thread::sleep(Duration::from_millis(30));
                apply(&StoreOp::swap(op.id(), op.key(), current, &record))
            })
        } else {
            apply
        };
        Ok(Counted {
            apply,
            ops: AtomicU64::new(0),
            writes: AtomicU64::new(0),
        })
    }

    fn apply(&self, op: &StoreOp) -> Result<StoreAnswer, StoreError> {
        self.ops.fetch_add(1, Ordering::Relaxed);
        if matches!(op.kind(), StoreOpKind::Swap { .. }) {
            self.writes.fetch_add(1, Ordering::Relaxed);
        }
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
/// `calls failed store_ops store_ops_while_fresh fresh_calls store_writes`.
fn child(o: &Options, index: &str, server: &str, args: &[String]) -> Result<(), String> {
    let offset: i64 = flag(args, "--offset").and_then(|v| v.parse().ok()).unwrap_or(0);
    // This process's clock: the system's, off by `offset` ms.
    let clock = move || {
        let ms = now().as_unix_millis() as i64 + offset;
        Timestamp::from_unix_millis(ms.max(0) as u64)
    };
    let store = Counted::open(
        &o.store,
        flag(args, "--dir"),
        o.unsafe_store,
        settings(o).store_timeout,
    )?;
    let holder = format!("p{index}/{}", std::process::id());
    let holder_header = http::HeaderValue::from_str(&holder).map_err(|e| e.to_string())?;
    let settings = settings(o);
    let keeper = FleetKeeper::new(KEY, holder, settings).map_err(|e| e.to_string())?;
    let marker_dir = flag(args, "--dir").map(str::to_owned);
    let base = Endpoint::parse_insecure_http(server).map_err(|e| e.to_string())?;
    let lifetime = Duration::from_secs(o.lifetime);
    let source = Mutex::new(FleetSource::new(keeper, move |held| {
        // The lease is claimed; the sign-in has not started. A stall here
        // outlasts the lease: the fence must then say it is lost. In a
        // chaos run the fleet's first renewal (a token is held) stalls: the
        // process that creates the marker first takes it.
        let dir = marker_dir.as_deref().map(std::path::Path::new);
        let first = |dir: &std::path::Path| {
            let _ = std::fs::create_dir_all(dir);
            std::fs::File::create_new(dir.join("stall")).is_ok()
        };
        if let Some(dir) = dir.filter(|dir| o.chaos && held.is_some() && first(dir)) {
            std::thread::sleep(settings.pacing.renewal_timeout + settings.skew + Duration::from_millis(500));
            // Told through a file: the parent may kill this process next.
            let _ = std::fs::write(dir.join(format!("stalled-{index}")), b"");
        }
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
                let send = transport::ureq::send(&transport::ureq::agent(Duration::from_secs(30)));
                while Instant::now() < deadline {
                    let mut source = source.lock().unwrap();
                    let margin = settings.pacing.renew_margin;
                    let fresh = source
                        .keeper()
                        .token()
                        .filter(|t| t.is_fresh(clock(), margin))
                        .map(|t| t.access_token().clone());
                    let before = store.ops.load(Ordering::Relaxed);
                    let request = http::Request::get(&api).body(Vec::new()).unwrap();
                    let call =
                        Authorized::new_insecure_http(&mut *source, request, Scheme::SuzClientToken).unwrap();
                    let outcome = drive::drive_with_store(
                        call,
                        clock,
                        |mut req| {
                            req.headers_mut().insert(HOLDER_HEADER, holder_header.clone());
                            send(req)
                        },
                        |job| Ok::<_, std::convert::Infallible>(fake::sign(job)),
                        |op| store.apply(op),
                        |until| std::thread::sleep(until.saturating_duration_since(clock())),
                    );
                    let ok = matches!(&outcome, Ok(response) if response.status() == 200);
                    if !ok {
                        eprintln!("p{index}: a call failed: {outcome:?}");
                    }
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
        "{calls} {failed} {} {fresh_ops} {fresh_calls} {}",
        store.ops.load(Ordering::Relaxed),
        store.writes.load(Ordering::Relaxed)
    );
    Ok(())
}

//! A simulated fleet: processes with their own clocks, one linearizable
//! store, and a CRPT-like server that issues one live token per connection
//! and revokes the previous one on every issue. Every step checks the
//! protocol's promises against what really happened (in true time).

use std::time::Duration;

use tokendance::fleet::{
    Fence, FleetAction, FleetKeeper, FleetSettings, FleetTicket, MemoryStore, Record, StoreAnswer,
    StoreError, StoreOp, StoreOpKind,
};
use tokendance::{AccessToken, Pacing, Timestamp, TokenSet};

pub const KEY: &str = "crpt:suz:conn-1";
/// True time starts here; process clocks are offset from it.
const BASE_MS: u64 = 1_700_000_000_000;
pub const TOKEN_LIFE: Duration = Duration::from_secs(30);

/// A fleet whose clocks are minutes apart: 10 minutes of skew margin,
/// leases of 10 minutes, tokens of 2 hours renewed 30 minutes ahead, and
/// the events' time steps 60 times longer.
pub fn minutes_apart() -> (FleetSettings, Duration, u64) {
    let settings = FleetSettings {
        pacing: Pacing {
            renew_margin: Duration::from_secs(1_800),
            renewal_timeout: Duration::from_secs(600),
            min_interval: Duration::ZERO,
            initial_backoff: Duration::from_secs(5),
            max_backoff: Duration::from_secs(120),
            max_server_wait: Duration::from_secs(120),
        },
        skew: Duration::from_secs(600),
        fence_margin: Duration::from_secs(60),
        store_timeout: Duration::from_secs(60),
        recheck: Duration::from_secs(10),
    };
    (settings, Duration::from_secs(7_200), 60)
}

/// Short leases and lifetimes, so a few simulated minutes hold many renewals.
pub fn settings(skew: Duration) -> FleetSettings {
    FleetSettings {
        pacing: Pacing {
            renew_margin: Duration::from_secs(5),
            renewal_timeout: Duration::from_secs(10),
            min_interval: Duration::ZERO,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(2),
            max_server_wait: Duration::from_secs(2),
        },
        skew,
        fence_margin: Duration::from_secs(1),
        store_timeout: Duration::from_secs(1),
        recheck: Duration::from_millis(200),
    }
}

/// What a test makes happen. Indices pick a process modulo the fleet size.
#[derive(Clone, Debug)]
pub enum Event {
    /// The process polls its keeper (and calls the API with a token it is given).
    Poll(usize),
    /// The store carries out the process's operation and it hears back.
    Deliver(usize),
    /// The store is down: the operation fails, not carried out.
    StoreDown(usize),
    /// The store carries out the operation but the answer is lost (a timeout).
    AnswerLost(usize),
    /// An operation the keeper gave up on reaches the store late.
    LateApply(usize),
    /// The lease holder fences and signs in (one step: the request follows
    /// the fence at once), or its sign-in fails.
    SignIn(usize),
    SignInFails(usize),
    /// SIGSTOP for this long (ms), then SIGCONT.
    Pause(usize, u64),
    /// kill -9, with its operation carried out by the store or not; a new
    /// process takes its place.
    Crash(usize, bool),
    /// True time passes (ms).
    Advance(u64),
}

struct Process {
    offset_ms: i64,
    incarnation: u32,
    keeper: FleetKeeper,
    inflight: Option<StoreOp>,
    ticket: Option<FleetTicket>,
    paused_until: u64,
}

/// A lease as it really is: who, and when it really ends.
#[derive(Clone, Debug)]
struct TrueLease {
    holder: String,
    ends: u64,
}

pub struct World {
    pub now: u64,
    settings: FleetSettings,
    store: MemoryStore,
    processes: Vec<Process>,
    /// Operations given up on, that may still reach the store.
    limbo: Vec<StoreOp>,
    /// The server: tokens issued so far (the last is the live one), and when.
    issued: Vec<u64>,
    active_lease: Option<TrueLease>,
    pub sign_ins: usize,
    pub store_round_trips: usize,
    /// How long the server's tokens live.
    token_life: Duration,
    /// What one unit of an event's time step stands for.
    scale: u64,
    pub api_calls: usize,
    pub refusals: usize,
}

impl World {
    pub fn new(offsets_ms: &[i64], settings: FleetSettings) -> Self {
        Self::scaled(offsets_ms, settings, TOKEN_LIFE, 1)
    }

    /// A world whose tokens live `token_life` and whose events' time steps
    /// are `scale` times longer.
    pub fn scaled(offsets_ms: &[i64], settings: FleetSettings, token_life: Duration, scale: u64) -> Self {
        let processes = offsets_ms
            .iter()
            .enumerate()
            .map(|(i, &offset_ms)| Process {
                offset_ms,
                incarnation: 0,
                keeper: FleetKeeper::new(KEY, format!("p{i}.0"), settings).unwrap(),
                inflight: None,
                ticket: None,
                paused_until: 0,
            })
            .collect();
        World {
            now: 0,
            settings,
            store: MemoryStore::default(),
            processes,
            limbo: Vec::new(),
            issued: Vec::new(),
            active_lease: None,
            sign_ins: 0,
            store_round_trips: 0,
            token_life,
            scale,
            api_calls: 0,
            refusals: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.processes.len()
    }

    fn local(&self, i: usize) -> Timestamp {
        let ms = (BASE_MS + self.now).saturating_add_signed(self.processes[i].offset_ms);
        Timestamp::from_unix_millis(ms)
    }

    fn live_token(&self) -> Option<String> {
        let at = self.issued.last()?;
        let n = self.issued.len() - 1;
        (self.now < at + self.token_life.as_millis() as u64).then(|| format!("tok-{n}"))
    }

    pub fn apply(&mut self, event: &Event) {
        let count = self.processes.len();
        let pick = |i: &usize| i % count;
        match event {
            Event::Advance(ms) => self.now += ms * self.scale,
            Event::Pause(i, ms) => self.processes[pick(i)].paused_until = self.now + ms * self.scale,
            Event::Crash(i, applied) => self.crash(pick(i), *applied),
            Event::LateApply(i) => {
                if !self.limbo.is_empty() {
                    let op = self.limbo.remove(i % self.limbo.len());
                    self.carry_out(&op);
                }
            }
            _ => {
                let i = match event {
                    Event::Poll(i)
                    | Event::Deliver(i)
                    | Event::StoreDown(i)
                    | Event::AnswerLost(i)
                    | Event::SignIn(i)
                    | Event::SignInFails(i) => pick(i),
                    _ => unreachable!(),
                };
                if self.processes[i].paused_until > self.now {
                    return;
                }
                match event {
                    Event::Poll(_) => self.poll(i),
                    Event::Deliver(_) => self.deliver(i, Delivery::Answered),
                    Event::StoreDown(_) => self.deliver(i, Delivery::Down),
                    Event::AnswerLost(_) => self.deliver(i, Delivery::Lost),
                    Event::SignIn(_) => self.sign_in(i),
                    Event::SignInFails(_) => self.sign_in_fails(i),
                    _ => unreachable!(),
                }
            }
        }
        self.check_printing();
    }

    fn crash(&mut self, i: usize, applied: bool) {
        if let Some(op) = self.processes[i].inflight.take() {
            if applied {
                self.carry_out(&op);
            }
        }
        let p = &mut self.processes[i];
        p.incarnation += 1;
        p.keeper = FleetKeeper::new(KEY, format!("p{i}.{}", p.incarnation), self.settings).unwrap();
        p.ticket = None;
        p.paused_until = 0;
    }

    /// One poll: a store operation is kept to deliver; a ticket is kept to
    /// sign in with; a token is used on the API.
    fn poll(&mut self, i: usize) {
        let now = self.local(i);
        let live = self.live_token();
        let p = &mut self.processes[i];
        match p.keeper.poll(now) {
            FleetAction::Store(op) => {
                if let Some(old) = p.inflight.replace(op) {
                    self.limbo.push(old);
                }
            }
            FleetAction::Renew(ticket) => p.ticket = Some(ticket),
            FleetAction::UseToken(token) => {
                self.api_calls += 1;
                if live.as_deref() != Some(token.expose_secret()) {
                    // The API answers 401: revoked or expired.
                    self.refusals += 1;
                    let token = token.clone();
                    p.keeper.token_rejected(now, &token);
                }
            }
            FleetAction::Wait(until) => assert!(until >= now, "a wait into the past"),
        }
    }

    /// The store carries out `op` (atomically, now), and the oracle checks
    /// what it wrote.
    fn carry_out(&mut self, op: &StoreOp) -> StoreAnswer {
        self.store_round_trips += 1;
        let before = self.store.get(KEY);
        let answer = self.store.apply(op);
        if let (StoreOpKind::Swap { .. }, StoreAnswer::Swapped) = (op.kind(), &answer) {
            let after = self.store.get(KEY).expect("a swapped record reads back");
            self.check_write(before.as_ref(), &after);
        }
        answer
    }

    fn deliver(&mut self, i: usize, delivery: Delivery) {
        let Some(op) = self.processes[i].inflight.take() else {
            return;
        };
        let result = match delivery {
            Delivery::Answered => Ok(self.carry_out(&op)),
            Delivery::Down => Err(StoreError::Unavailable("connection refused".into())),
            Delivery::Lost => {
                self.carry_out(&op);
                Err(StoreError::Timeout)
            }
        };
        let now = self.local(i);
        match self.processes[i].keeper.store_answered(now, op.id(), result) {
            Ok(()) => {}
            // The keeper gave up on it (its store timeout passed): the op
            // may still have reached the store, as a late one would.
            Err(tokendance::Error::Usage(tokendance::UsageError::StaleTicket)) => {}
            Err(e) => panic!("store answer refused: {e}"),
        }
    }

    /// Fence, then (at once, as the protocol assumes) the sign-in request:
    /// the server issues a token and revokes the previous one.
    fn sign_in(&mut self, i: usize) {
        let Some(ticket) = self.processes[i].ticket.take() else {
            return;
        };
        let now = self.local(i);
        let keeper = &mut self.processes[i].keeper;
        let fence = match keeper.fence(&ticket, now) {
            Ok(Fence::Check(read)) => {
                let answer = self.store.apply(&read);
                self.store_round_trips += 1;
                let keeper = &mut self.processes[i].keeper;
                keeper.store_answered(now, read.id(), Ok(answer)).unwrap();
                keeper.fence(&ticket, now)
            }
            other => other,
        };
        match fence {
            Ok(Fence::Proceed) => {}
            Ok(Fence::Lost) | Err(_) => return,
            Ok(Fence::Check(_)) => panic!("a second check after the answer"),
        }
        let holder = self.processes[i].keeper.holder().to_owned();
        let lease = self.active_lease.clone();
        assert!(
            lease
                .as_ref()
                .is_some_and(|l| l.holder == holder && self.now < l.ends),
            "sign-in by {holder} at {} outside its lease: {lease:?}",
            self.now
        );
        self.sign_ins += 1;
        self.issued.push(self.now);
        let token = TokenSet::new(
            AccessToken::new(format!("tok-{}", self.issued.len() - 1)),
            now,
            Some(now.saturating_add(self.token_life)),
        );
        self.processes[i].keeper.renewed(ticket, now, token).unwrap();
    }

    fn sign_in_fails(&mut self, i: usize) {
        let Some(ticket) = self.processes[i].ticket.take() else {
            return;
        };
        let now = self.local(i);
        // A stale ticket (its lease ran out) is refused; that is fine.
        let _ = self.processes[i].keeper.renewal_failed(ticket, now, None);
    }

    /// What every write must keep: a claim never overlaps a live lease of
    /// another holder (in true time), and a published token is never older
    /// than the one it replaces.
    fn check_write(&mut self, before: Option<&Record>, after: &Record) {
        assert_eq!(
            after.version,
            before.map_or(1, |r| r.version + 1),
            "versions go up by one"
        );
        let issue = |r: &Record| {
            r.token.as_ref().map(|t| {
                t.token.access_token().expose_secret()[4..]
                    .parse::<usize>()
                    .unwrap()
            })
        };
        if let (Some(old), Some(new)) = (before.and_then(issue), issue(after)) {
            assert!(new >= old, "token {new} published over the newer {old}");
        }
        match &after.lease {
            Some(lease) if lease.version == after.version => {
                if let Some(active) = &self.active_lease {
                    assert!(
                        active.holder == lease.holder || self.now >= active.ends,
                        "{} claimed at {} while {active:?} was live",
                        lease.holder,
                        self.now
                    );
                }
                let offset = self.offset_of(&lease.holder);
                let ends = (lease.until.as_unix_millis() as i64 - offset - BASE_MS as i64).max(0) as u64;
                self.active_lease = Some(TrueLease {
                    holder: lease.holder.clone(),
                    ends,
                });
            }
            Some(_) => {}
            None => {
                // Released or published: only its holder writes that.
                self.active_lease = None;
            }
        }
    }

    fn offset_of(&self, holder: &str) -> i64 {
        let index: usize = holder[1..holder.find('.').unwrap()].parse().unwrap();
        self.processes[index].offset_ms
    }

    /// Nothing a keeper prints shows a token.
    fn check_printing(&self) {
        for p in &self.processes {
            let printed = format!("{:?}", p.keeper);
            assert!(!printed.contains("tok-"), "{printed}");
        }
    }

    /// No more faults: every process runs, the store answers at once, and
    /// holders sign in when given a ticket. Returns how long (true ms) until
    /// every process uses the live token, and the sign-ins on the way.
    pub fn converge(&mut self, limit_ms: u64) -> Option<(u64, usize)> {
        let start = (self.now, self.sign_ins);
        for p in &mut self.processes {
            p.paused_until = 0;
        }
        self.limbo.clear();
        while self.now - start.0 <= limit_ms {
            for i in 0..self.processes.len() {
                for _ in 0..8 {
                    self.deliver(i, Delivery::Answered);
                    self.sign_in(i);
                    self.poll(i);
                    if self.processes[i].inflight.is_none() && self.processes[i].ticket.is_none() {
                        break;
                    }
                }
            }
            let live = self.live_token();
            let all_live = live.is_some()
                && (0..self.processes.len()).all(|i| {
                    let now = self.local(i);
                    self.processes[i]
                        .keeper
                        .usable_token(now)
                        .map(AccessToken::expose_secret)
                        == live.as_deref()
                });
            if all_live {
                return Some((self.now - start.0, self.sign_ins - start.1));
            }
            self.now += 100 * self.scale;
        }
        None
    }
}

enum Delivery {
    Answered,
    Down,
    Lost,
}

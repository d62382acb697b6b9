//! Separate OS processes on one store: the test binary runs itself again
//! as children (the environment variable CHILD says which part). 8
//! children × 4 threads race swaps on one key; writers killed with SIGKILL
//! in the middle of their writes never leave a torn record.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::Scratch;
use tokendance::fleet::conformance::sample_record;
use tokendance::fleet::{Record, StoreAnswer, StoreOp};
use tokendance_store_file::FileStore;

const CHILD: &str = "TOKENDANCE_FILE_STORE_CHILD";
const DIR: &str = "TOKENDANCE_FILE_STORE_DIR";
const KEY: &str = "TOKENDANCE_FILE_STORE_KEY";
const START_MS: &str = "TOKENDANCE_FILE_STORE_START_MS";
const CHILDREN: usize = 8;
const THREADS: usize = 4;
/// Versions the racers write, one winner each.
const VERSIONS: u64 = 200;

fn unix_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64
}

/// This test binary, running only `test` with `mode` in CHILD.
fn spawn_child(test: &str, mode: &str, dir: &PathBuf, key: &str, extra: &[(&str, String)]) -> Child {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, mode)
        .env(DIR, dir)
        .env(KEY, key)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    for (name, value) in extra {
        command.env(name, value);
    }
    command.spawn().unwrap()
}

fn version_of(store: &FileStore, key: &str) -> Option<u64> {
    match store.apply(&StoreOp::read(0, key)).unwrap() {
        StoreAnswer::Found(None) => None,
        StoreAnswer::Found(Some(bytes)) => Some(Record::from_json(&bytes).unwrap().version),
        other => panic!("{other:?}"),
    }
}

/// The token length that names racer `id` in the records it writes.
fn token_len(id: usize) -> usize {
    20 + id
}

/// A child of the race: THREADS racers that read and swap until the record
/// reaches VERSIONS, printing each version they won.
fn race_child(child: usize) {
    let dir = std::env::var(DIR).unwrap();
    let key = std::env::var(KEY).unwrap();
    let start: u64 = std::env::var(START_MS).unwrap().parse().unwrap();
    // All children start together, so that they really race.
    std::thread::sleep(Duration::from_millis(start.saturating_sub(unix_ms())));
    std::thread::scope(|scope| {
        for thread in 0..THREADS {
            let (dir, key) = (&dir, &key);
            scope.spawn(move || {
                // A store (and so lock file handles) of each thread's own.
                let store = FileStore::open(dir)
                    .unwrap()
                    .with_timeout(Duration::from_secs(20));
                let id = child * THREADS + thread;
                let mut attempts = 0u64;
                loop {
                    let current = version_of(&store, key);
                    let next = current.map_or(1, |v| v + 1);
                    if next > VERSIONS {
                        break;
                    }
                    attempts += 1;
                    if let Some(v) = current.filter(|&v| v > 1 && attempts.is_multiple_of(5)) {
                        // A swap from a version already gone never wins.
                        let stale =
                            StoreOp::swap(0, key.clone(), Some(v - 1), &sample_record(key, v, token_len(id)));
                        assert_eq!(store.apply(&stale), Ok(StoreAnswer::Conflict), "a stale swap won");
                    }
                    let record = sample_record(key, next, token_len(id));
                    match store.apply(&StoreOp::swap(0, key.clone(), current, &record)) {
                        Ok(StoreAnswer::Swapped) => println!("tokendance-won {next} {id}"),
                        Ok(StoreAnswer::Conflict) => {}
                        other => panic!("racer {id}: {other:?}"),
                    }
                }
            });
        }
    });
}

#[test]
fn racing_processes_win_each_version_once() {
    if let Ok(child) = std::env::var(CHILD) {
        return race_child(child.parse().unwrap());
    }
    let scratch = Scratch::new("processes");
    let store = FileStore::open(scratch.store_dir()).unwrap();
    let key = format!("{}:race", scratch.prefix);
    let start = (unix_ms() + 300).to_string();
    let children: Vec<Child> = (0..CHILDREN)
        .map(|c| {
            let extra = [(START_MS, start.clone())];
            spawn_child(
                "racing_processes_win_each_version_once",
                &c.to_string(),
                &scratch.store_dir(),
                &key,
                &extra,
            )
        })
        .collect();
    let mut winners: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
    for child in children {
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success(), "a child failed: {:?}", output.status);
        for line in String::from_utf8(output.stdout).unwrap().lines() {
            // Anywhere in the line: libtest prints "test … ... " before
            // the test's first output, on the same line.
            if let Some((_, win)) = line.split_once("tokendance-won ") {
                let (version, id) = win.split_once(' ').unwrap();
                winners
                    .entry(version.parse().unwrap())
                    .or_default()
                    .push(id.parse().unwrap());
            }
        }
    }
    let racers: std::collections::BTreeSet<usize> = winners.values().flatten().copied().collect();
    assert_eq!(
        winners.keys().copied().collect::<Vec<_>>(),
        (1..=VERSIONS).collect::<Vec<_>>()
    );
    for (version, ids) in &winners {
        assert_eq!(ids.len(), 1, "version {version} was won by {ids:?}");
    }
    // The record holds what the last winner wrote.
    let last = winners[&VERSIONS][0];
    let StoreAnswer::Found(Some(bytes)) = store.apply(&StoreOp::read(0, key.clone())).unwrap() else {
        panic!("no record")
    };
    assert_eq!(bytes, sample_record(&key, VERSIONS, token_len(last)).to_json());
    eprintln!(
        "{} of {} racers won at least one version",
        racers.len(),
        CHILDREN * THREADS
    );
}

/// A child that writes the record, one version after another, for ever:
/// large records built once, so that its time goes to writing them and a
/// kill often lands in the middle of a write.
fn writer_child() {
    let store = FileStore::open(std::env::var(DIR).unwrap()).unwrap();
    let key = std::env::var(KEY).unwrap();
    let mut current = version_of(&store, &key);
    // Published at 1, as every later version may say.
    let mut record = sample_record(&key, 1, 60_000);
    loop {
        record.version = current.map_or(1, |v| v + 1);
        let answer = store.apply(&StoreOp::swap(0, key.clone(), current, &record));
        assert_eq!(answer, Ok(StoreAnswer::Swapped), "the only writer");
        current = Some(record.version);
    }
}

#[test]
fn a_killed_writer_never_leaves_a_torn_record() {
    if std::env::var(CHILD).is_ok_and(|m| m == "writer") {
        return writer_child();
    }
    let scratch = Scratch::new("killed");
    let store = FileStore::open(scratch.store_dir()).unwrap();
    let key = format!("{}:crash", scratch.prefix);
    let temp = store.record_path(&key).unwrap().with_extension("tmp");
    let (mut last, mut mid_write, mut kills) = (0, 0, 0u64);
    // At least 20 kills, and more (up to 100) until 5 of them were seen
    // to land mid-write: the test must have hit the case it is about.
    while kills < 20 || (mid_write < 5 && kills < 100) {
        let mut child = spawn_child(
            "a_killed_writer_never_leaves_a_torn_record",
            "writer",
            &scratch.store_dir(),
            &key,
            &[],
        );
        // Wait until this child has written, then kill it a little later
        // each time, so that the kills land at different points of a write.
        let deadline = Instant::now() + Duration::from_secs(20);
        while version_of(&store, &key).unwrap_or(0) <= last {
            assert!(Instant::now() < deadline, "the writer wrote nothing");
            assert!(child.try_wait().unwrap().is_none(), "the writer died");
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_micros(300 + (kills % 10) * 1_100));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        kills += 1;
        // Its temporary file exists only between its creation and the rename.
        mid_write += u32::from(temp.exists());
        let StoreAnswer::Found(Some(bytes)) = store.apply(&StoreOp::read(0, key.clone())).unwrap() else {
            panic!("the record is gone")
        };
        let record = Record::from_json(&bytes).unwrap_or_else(|e| panic!("kill {kills}: a torn record: {e}"));
        assert!(record.version > last);
        last = record.version;
    }
    assert!(
        mid_write > 0,
        "none of {kills} kills landed in the middle of a write"
    );
    // The lock died with the writer: the key takes writes at once.
    let next = sample_record(&key, last + 1, 40);
    let started = Instant::now();
    assert_eq!(
        store.apply(&StoreOp::swap(0, key.clone(), Some(last), &next)),
        Ok(StoreAnswer::Swapped)
    );
    assert!(started.elapsed() < Duration::from_secs(1));
    eprintln!("{kills} writers killed, {mid_write} in the middle of a write, {last} versions written");
}

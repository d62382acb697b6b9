//! The server stops and starts again under connected stores: while it is
//! down they fail fast, and once it is back they work again, with the data.
//!
//! It stops the test server itself (with pg.sh, in the directory ci.sh
//! made), so it is a test binary of its own: cargo runs test binaries one
//! after another, and no other test sees the server go.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use tokendance::fleet::conformance::sample_record;
use tokendance::fleet::{StoreAnswer, StoreError, StoreOp};
use tokendance_store_testkit::fresh_prefix;

fn pg(command: &str) {
    let dir = std::env::var("TOKENDANCE_POSTGRES_DIR").unwrap_or_else(|_| {
        panic!(
            "TOKENDANCE_POSTGRES_DIR is not set: this test stops and starts the server \
             that stores/postgres/pg.sh runs there; {}",
            common::HOW
        )
    });
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/pg.sh");
    let status = Command::new(script).args([command, &dir]).status().unwrap();
    assert!(status.success(), "pg.sh {command}: {status}");
}

#[test]
fn stores_work_again_after_the_server_restarts() {
    let runtime = common::runtime();
    let mut blocking = common::blocking();
    let mut idle = common::blocking(); // does nothing while the server is down
    let asynchronous = runtime.block_on(common::asynchronous());
    let key = format!("{}:restart", fresh_prefix("restart"));
    let record = sample_record(&key, 1, 40);
    let create = StoreOp::swap(1, key.clone(), None, &record);
    assert_eq!(blocking.apply(&create), Ok(StoreAnswer::Swapped));
    let read = StoreOp::read(2, key.clone());
    let found = Ok(StoreAnswer::Found(Some(record.to_json())));
    assert_eq!(runtime.block_on(asynchronous.apply(&read)), found);
    assert_eq!(idle.apply(&read), found);

    pg("stop");
    for _ in 0..2 {
        let started = Instant::now();
        let got = blocking.apply(&read);
        assert!(matches!(got, Err(StoreError::Unavailable(_))), "{got:?}");
        let got = runtime.block_on(asynchronous.apply(&read));
        assert!(matches!(got, Err(StoreError::Unavailable(_))), "{got:?}");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
    }

    pg("start");
    assert_eq!(blocking.apply(&read), found);
    assert_eq!(runtime.block_on(asynchronous.apply(&read)), found);
    // Its connection died while it was idle: the read is sent again on a new one.
    assert_eq!(idle.apply(&read), found);
    let next = sample_record(&key, 2, 40);
    assert_eq!(
        idle.apply(&StoreOp::swap(3, key.clone(), Some(1), &next)),
        Ok(StoreAnswer::Swapped)
    );
    assert_eq!(
        runtime.block_on(asynchronous.apply(&StoreOp::read(4, key))),
        Ok(StoreAnswer::Found(Some(next.to_json())))
    );
}

//! A store that is down, silent, refuses the credentials or holds
//! something else: every operation ends in time with the right error, and
//! no error text or Debug shows the password.

mod common;

use std::net::TcpListener;
use std::time::{Duration, Instant};

use common::{runtime, url, TIMEOUT};
use tokendance::fleet::{conformance, StoreAnswer, StoreError, StoreOp, MAX_RECORD_BYTES};
use tokendance_store_redis::{AsyncRedisStore, RedisConfig, RedisStore};
use tokendance_store_testkit::{assert_hides, assert_unavailable_at_once, free_port, fresh_prefix};

const PASSWORD: &str = "s3cret-pw-9f2c";

fn assert_no_password(result: &Result<StoreAnswer, StoreError>, debug: &str) {
    let text = match result {
        Err(e) => format!("{e} {e:?}"),
        Ok(answer) => panic!("the store answered {answer:?}"),
    };
    assert_hides(PASSWORD, "the error", &text);
    assert_hides(PASSWORD, "Debug", debug);
}

#[test]
fn a_store_nobody_listens_on_is_unavailable_at_once() {
    let url = format!("redis://user:{PASSWORD}@127.0.0.1:{}", free_port());
    let op = StoreOp::read(1, "k");

    let mut store = RedisStore::open(&url, TIMEOUT).unwrap();
    for _ in 0..2 {
        assert_unavailable_at_once(PASSWORD, || store.apply(&op));
        assert_hides(PASSWORD, "Debug", &format!("{store:?}"));
    }

    let rt = runtime();
    let store = AsyncRedisStore::open(&url, TIMEOUT).unwrap();
    for _ in 0..2 {
        assert_unavailable_at_once(PASSWORD, || rt.block_on(store.apply(&op)));
        assert_hides(PASSWORD, "Debug", &format!("{store:?}"));
    }
    let config = RedisConfig::new(&url);
    assert!(!format!("{config:?}").contains(PASSWORD));
}

/// A peer that takes the connection and never says a word (a hung server,
/// a black-holing proxy): the operation times out within its bound.
#[test]
fn a_silent_store_times_out_within_the_bound() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("redis://:{PASSWORD}@{}", listener.local_addr().unwrap());
    let bound = Duration::from_millis(300);
    let swap = StoreOp::swap(1, "k", None, &conformance::sample_record("k", 1, 10));
    let within = |start: Instant| {
        let took = start.elapsed();
        assert!(
            took >= bound - Duration::from_millis(50) && took < bound * 5 / 2,
            "took {took:?}"
        );
    };

    let mut store = RedisStore::open(&url, bound).unwrap();
    for _ in 0..2 {
        let start = Instant::now();
        let result = store.apply(&swap);
        within(start);
        assert_eq!(result, Err(StoreError::Timeout));
    }

    let rt = runtime();
    let store = AsyncRedisStore::open(&url, bound).unwrap();
    for _ in 0..2 {
        let start = Instant::now();
        let result = rt.block_on(store.apply(&swap));
        within(start);
        assert_eq!(result, Err(StoreError::Timeout));
    }
    drop(listener);
}

/// The real server refuses a password it was never given (with and without
/// a user name), and the refusal's text must not quote it.
#[test]
fn refused_credentials_are_unavailable_and_never_shown() {
    let base = url();
    let Some(rest) = base.strip_prefix("redis://").filter(|rest| !rest.contains('@')) else {
        panic!("this test puts its own credentials into a plain redis://host:port URL, not {base:?}")
    };
    let rt = runtime();
    for credentials in [format!(":{PASSWORD}"), format!("tokendance-nobody:{PASSWORD}")] {
        let url = format!("redis://{credentials}@{rest}");
        let mut store = RedisStore::open(&url, TIMEOUT).unwrap();
        let result = store.apply(&StoreOp::read(1, "k"));
        assert!(matches!(result, Err(StoreError::Unavailable(_))), "{result:?}");
        assert_no_password(&result, &format!("{store:?}"));

        let store = AsyncRedisStore::open(&url, TIMEOUT).unwrap();
        let result = rt.block_on(store.apply(&StoreOp::read(1, "k")));
        assert!(matches!(result, Err(StoreError::Unavailable(_))), "{result:?}");
        assert_no_password(&result, &format!("{store:?}"));
    }
}

#[test]
fn a_url_that_is_not_redis_is_refused_without_quoting_it() {
    for url in [
        format!("http://:{PASSWORD}@127.0.0.1:1"),
        format!("rediss://:{PASSWORD}@127.0.0.1:1"),
    ] {
        let err = RedisStore::open(&url, TIMEOUT).unwrap_err();
        assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
        assert!(!format!("{err} {err:?}").contains(PASSWORD), "{err}");
        assert!(AsyncRedisStore::open(&url, TIMEOUT).is_err());
    }
}

/// The data layout is the documented one: a hash at namespace + key with
/// `version` in decimal and `record` byte for byte.
#[test]
fn records_are_hashes_of_version_and_record_under_the_namespace() {
    let namespace = format!("{}:ns:", fresh_prefix("layout"));
    let config = RedisConfig::new(url()).namespace(namespace.clone());
    let mut store = RedisStore::new(&config).unwrap();
    let key = "crpt:suz:conn-1";
    let v1 = conformance::sample_record(key, 1, 30);
    let v2 = conformance::sample_record(key, 2, 30);
    assert_eq!(
        store.apply(&StoreOp::swap(1, key, None, &v1)),
        Ok(StoreAnswer::Swapped)
    );
    assert_eq!(
        store.apply(&StoreOp::swap(2, key, Some(1), &v2)),
        Ok(StoreAnswer::Swapped)
    );

    let mut raw = redis::Client::open(url()).unwrap().get_connection().unwrap();
    let full = format!("{namespace}{key}");
    let (version, record): (String, Vec<u8>) = redis::cmd("HMGET")
        .arg(&full)
        .arg("version")
        .arg("record")
        .query(&mut raw)
        .unwrap();
    assert_eq!((version.as_str(), record), ("2", v2.to_json()));
    let fields: usize = redis::cmd("HLEN").arg(&full).query(&mut raw).unwrap();
    assert_eq!(fields, 2);

    // Another namespace on the same server sees none of it.
    let mut other = RedisStore::new(&config.clone().namespace(format!("{namespace}other:"))).unwrap();
    assert_eq!(other.apply(&StoreOp::read(3, key)), Ok(StoreAnswer::Found(None)));
}

/// Whatever else sits at a record's key is reported as Corrupt, not read
/// as a record, not overwritten by a create, and not sent over whole when
/// it is too large.
#[test]
fn a_key_that_holds_something_else_is_corrupt() {
    let namespace = format!("{}:", fresh_prefix("corrupt"));
    let config = RedisConfig::new(url()).namespace(namespace.clone());
    let mut store = RedisStore::new(&config).unwrap();
    let rt = runtime();
    let async_store = AsyncRedisStore::new(&config).unwrap();
    let mut raw = redis::Client::open(url()).unwrap().get_connection().unwrap();
    let huge = vec![b'x'; MAX_RECORD_BYTES + 1];

    let cases: Vec<(&str, redis::Cmd, bool)> = vec![
        (
            "string",
            redis::cmd("SET")
                .arg(format!("{namespace}string"))
                .arg("v")
                .clone(),
            true,
        ),
        (
            "list",
            redis::cmd("RPUSH")
                .arg(format!("{namespace}list"))
                .arg("v")
                .clone(),
            true,
        ),
        (
            "no-version",
            redis::cmd("HSET")
                .arg(format!("{namespace}no-version"))
                .arg("record")
                .arg("{}")
                .clone(),
            true,
        ),
        (
            "no-record",
            redis::cmd("HSET")
                .arg(format!("{namespace}no-record"))
                .arg("version")
                .arg("1")
                .clone(),
            false,
        ),
        (
            "odd-version",
            redis::cmd("HSET")
                .arg(format!("{namespace}odd-version"))
                .arg("version")
                .arg("01")
                .arg("record")
                .arg("{}")
                .clone(),
            false,
        ),
        (
            "huge",
            redis::cmd("HSET")
                .arg(format!("{namespace}huge"))
                .arg("version")
                .arg("1")
                .arg("record")
                .arg(&huge)
                .clone(),
            false,
        ),
    ];
    for (key, write, swap_is_corrupt) in cases {
        let () = write.query(&mut raw).unwrap();
        let read = StoreOp::read(1, key);
        for result in [store.apply(&read), rt.block_on(async_store.apply(&read))] {
            assert!(
                matches!(result, Err(StoreError::Corrupt(_))),
                "read {key}: {result:?}"
            );
        }
        let create = StoreOp::swap(2, key, None, &conformance::sample_record(key, 1, 10));
        let result = store.apply(&create);
        if swap_is_corrupt {
            assert!(
                matches!(result, Err(StoreError::Corrupt(_))),
                "create over {key}: {result:?}"
            );
        } else {
            assert_eq!(result, Ok(StoreAnswer::Conflict), "create over {key}");
        }
    }
    // The store goes on working after all that.
    let fine = conformance::sample_record("fine", 1, 10);
    assert_eq!(
        store.apply(&StoreOp::swap(3, "fine", None, &fine)),
        Ok(StoreAnswer::Swapped)
    );
}

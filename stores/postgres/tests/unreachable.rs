//! A store that cannot be reached fails fast and says so without the
//! password; one that never answers times out. No server needed.

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use tokendance::fleet::{StoreError, StoreOp};
use tokendance_store_postgres::{AsyncPostgresStore, PostgresStore};
use tokendance_store_testkit::{assert_hides, assert_unavailable_at_once, free_port};

const PASSWORD: &str = "Sup3r-s3cret-pw";

/// A server that accepts connections and never says a word: a frozen
/// PostgreSQL, as far as a client can tell. The connections stay open
/// while the listener thread lives.
fn silent_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held: Vec<TcpStream> = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
            // Read what the client sends (its startup message), answer nothing.
            let _ = held.last_mut().map(|s| s.read(&mut [0; 1024]));
        }
    });
    port
}

fn urls(port: u16) -> [String; 2] {
    [
        format!("postgres://fleet:{PASSWORD}@127.0.0.1:{port}/tokens"),
        format!("host=127.0.0.1 port={port} user=fleet password={PASSWORD} dbname=tokens"),
    ]
}

#[test]
fn nothing_listening_is_unavailable_at_once_without_the_password() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    for url in urls(free_port()) {
        let mut store = PostgresStore::new(&url, Duration::from_secs(2)).unwrap();
        assert_hides(PASSWORD, "the store's Debug", &format!("{store:?}"));
        for op in [StoreOp::read(1, "k"), StoreOp::read(2, "k")] {
            assert_unavailable_at_once(PASSWORD, || store.apply(&op));
        }
        assert!(matches!(store.connect(), Err(StoreError::Unavailable(_))));

        let store = AsyncPostgresStore::new(&url, Duration::from_secs(2)).unwrap();
        assert_hides(PASSWORD, "the store's Debug", &format!("{store:?}"));
        assert_unavailable_at_once(PASSWORD, || runtime.block_on(store.apply(&StoreOp::read(1, "k"))));
    }
}

#[test]
fn a_server_that_never_answers_times_out_in_time() {
    let port = silent_server();
    let timeout = Duration::from_millis(300);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    for url in urls(port) {
        let mut store = PostgresStore::new(&url, timeout).unwrap();
        for what in ["connect", "read", "migrate"] {
            let started = Instant::now();
            let got = match what {
                "connect" => store.connect().map(|_| ()),
                "read" => store.apply(&StoreOp::read(1, "k")).map(|_| ()),
                _ => store.migrate(),
            };
            let took = started.elapsed();
            assert_eq!(got, Err(StoreError::Timeout), "{what}");
            assert!(took >= timeout && took < timeout * 4, "{what} took {took:?}");
        }
        let store = AsyncPostgresStore::new(&url, timeout).unwrap();
        let started = Instant::now();
        let got = runtime.block_on(store.apply(&StoreOp::read(1, "k")));
        assert_eq!(got.map(|_| ()), Err(StoreError::Timeout));
        assert!(started.elapsed() < timeout * 4, "{:?}", started.elapsed());
    }
}

#[test]
fn a_bad_connection_string_is_refused_without_quoting_it() {
    for url in [
        format!("postgres://fleet:{PASSWORD}@127.0.0.1:notaport/tokens"),
        format!("host=127.0.0.1 password={PASSWORD} port=x"),
        format!("host=127.0.0.1 password={PASSWORD} bogus_option=1"),
    ] {
        let got = PostgresStore::new(&url, Duration::from_secs(1));
        let Err(error) = got else { panic!("{url} parsed") };
        assert!(matches!(error, StoreError::Unavailable(_)));
        assert_hides(PASSWORD, "the error", &format!("{error} {error:?}"));
        assert!(AsyncPostgresStore::new(&url, Duration::from_secs(1)).is_err());
    }
    assert!(PostgresStore::new("postgres://127.0.0.1/db", Duration::ZERO).is_err());
}

#[test]
fn the_async_store_outside_a_runtime_is_an_error_not_a_panic() {
    let store = AsyncPostgresStore::new("postgres://127.0.0.1/db", Duration::from_secs(1)).unwrap();
    // Polled by a minimal executor of our own: no Tokio anywhere.
    let got = block_on_without_tokio(store.apply(&StoreOp::read(1, "k")));
    assert!(matches!(got, Err(StoreError::Unavailable(_))), "{got:?}");
}

fn block_on_without_tokio<F: std::future::Future>(future: F) -> F::Output {
    use std::task::{Context, Poll, Waker};
    let mut future = std::pin::pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
    }
}

//! A FleetKeeper driven against the real server through a whole renewal:
//! read, claim, fence, renewed, publish; a second keeper on another
//! connection then reads the published token back.

mod common;

use common::{runtime, url, TIMEOUT};
use tokendance_store_redis::{AsyncRedisStore, RedisStore};
use tokendance_store_testkit::{fresh_prefix, renew_and_share};

#[test]
fn a_renewal_through_the_blocking_store_reaches_a_second_keeper() {
    let mut store_a = RedisStore::open(&url(), TIMEOUT).unwrap();
    let mut store_b = RedisStore::open(&url(), TIMEOUT).unwrap();
    renew_and_share(
        &format!("{}:crpt:suz:conn-1", fresh_prefix("keeper")),
        &mut |op| store_a.apply(op),
        &mut |op| store_b.apply(op),
    );
}

#[test]
fn a_renewal_through_the_async_store_reaches_a_second_keeper() {
    let rt = runtime();
    let store_a = AsyncRedisStore::open(&url(), TIMEOUT).unwrap();
    let store_b = AsyncRedisStore::open(&url(), TIMEOUT).unwrap();
    renew_and_share(
        &format!("{}:crpt:suz:conn-1", fresh_prefix("keeper-async")),
        &mut |op| rt.block_on(store_a.apply(op)),
        &mut |op| rt.block_on(store_b.apply(op)),
    );
}

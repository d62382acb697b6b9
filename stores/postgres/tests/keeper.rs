//! Two keepers, each on a store of its own: one renews (read, claim,
//! fence, renewed, publish), the other reads the token it published.

mod common;

use tokendance_store_testkit::{fresh_prefix, renew_and_share};

#[test]
fn a_renewal_through_the_blocking_store_reaches_a_second_keeper() {
    let (mut store_a, mut store_b) = (common::blocking(), common::blocking());
    let key = format!("{}:crpt:suz:conn-1", fresh_prefix("keeper"));
    renew_and_share(&key, &mut |op| store_a.apply(op), &mut |op| store_b.apply(op));
}

#[test]
fn a_renewal_through_the_async_store_reaches_a_second_keeper() {
    let runtime = common::runtime();
    let store_a = runtime.block_on(common::asynchronous());
    let store_b = runtime.block_on(common::asynchronous());
    let key = format!("{}:crpt:suz:conn-1", fresh_prefix("keeper-async"));
    renew_and_share(&key, &mut |op| runtime.block_on(store_a.apply(op)), &mut |op| {
        runtime.block_on(store_b.apply(op))
    });
}

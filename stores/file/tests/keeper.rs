//! A whole renewal through the file store: one keeper reads, claims the
//! lease, fences, renews and publishes; a second keeper, with a store
//! handle of its own, waits meanwhile and then reads the token (and a
//! third, in async code, too).

mod common;

use common::Scratch;
use tokendance_store_file::FileStore;
use tokendance_store_testkit::renew_and_share;

#[test]
fn a_renewal_is_published_and_read_by_another_keeper() {
    let scratch = Scratch::new("keeper");
    let key = format!("{}:crpt:suz:conn-1", scratch.prefix);
    let (store_a, store_b) = (
        FileStore::open(scratch.store_dir()).unwrap(),
        FileStore::open(scratch.store_dir()).unwrap(),
    );
    #[cfg_attr(not(feature = "tokio"), allow(unused_variables))]
    let later = renew_and_share(&key, &mut |op| store_a.apply(op), &mut |op| store_b.apply(op));

    #[cfg(feature = "tokio")]
    {
        // A third keeper in async code finds it too.
        use tokendance::fleet::{FleetKeeper, FleetSettings};
        let mut c = FleetKeeper::new(key, "pod-c", FleetSettings::default()).unwrap();
        let store_c = tokendance_store_file::AsyncFileStore::open(scratch.store_dir()).unwrap();
        let rt = common::runtime();
        tokendance_store_testkit::reads_the_token(&mut c, later, &mut |op| rt.block_on(store_c.apply(op)));
    }
}

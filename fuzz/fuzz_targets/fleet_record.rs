#![no_main]
//! See `fuzz/src/harness/fleet.rs` (`fleet_record`) for the input format
//! and `fuzz/src/harness/mod.rs` for the invariants.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    tokendance_fuzz::harness::run("fleet_record", data);
});

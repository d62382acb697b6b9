#![no_main]
//! See `fuzz/src/harness/parse_targets.rs` (`suz_call_response`) for the input format
//! and `fuzz/src/harness/mod.rs` for the invariants.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    tokendance_fuzz::harness::run("suz_call_response", data);
});

#![no_main]
//! See `fuzz/src/harness.rs` (`path_segments`) for the input format and the invariants.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    tokendance_fuzz::harness::run("path_segments", data);
});

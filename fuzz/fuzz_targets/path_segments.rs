#![no_main]
//! See `fuzz/src/harness/paths.rs` (`path_segments`) for the input format
//! and `fuzz/src/harness/mod.rs` for the invariants.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    tokendance_fuzz::harness::run("path_segments", data);
});

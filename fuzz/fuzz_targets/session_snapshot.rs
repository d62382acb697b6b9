#![no_main]
//! See `fuzz/src/harness/stored.rs` (`session_snapshot`) for the input
//! format and `fuzz/src/harness/mod.rs` for the invariants.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    tokendance_fuzz::harness::run("session_snapshot", data);
});

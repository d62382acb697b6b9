//! The fuzz harness as a library, so every target in `fuzz_targets/` and
//! `tests/fuzz_regressions.rs` (which includes `harness/mod.rs` by path) run the
//! same code.

pub mod harness;

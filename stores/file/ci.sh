#!/usr/bin/env bash
# Tests the file store. No server to install or start: the store is a
# directory. The tests' scratch directories go under a fresh temporary
# directory, removed on exit whatever the tests did (a killed child or a
# failed test leaves nothing behind in /tmp).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

scratch="$(mktemp -d -t tokendance-store-file.XXXXXX)"
trap 'rm -rf "$scratch"' EXIT
# std::env::temp_dir() reads TMPDIR.
export TMPDIR="$scratch"

cargo test -p tokendance-store-file
# Blocking-only users build without tokio: keep that building.
cargo check -p tokendance-store-file --no-default-features --all-targets

# The fleet demo on this store: 64 processes, one sign-in per renewal
# period (it exits non-zero otherwise); its table is the README's.
cargo build -q -p tokendance-fleet
cargo run -q -p tokendance-fleet -- --store file --processes 64 --threads 1 --seconds 10
# The fault run: 8 processes x 4 threads killed and replaced, paused, one
# stalled past its lease, clocks apart; every sign-in checked against the
# store.
cargo run -q -p tokendance-fleet -- --store file --processes 8 --seconds 12 --chaos
# Clocks up to 5 minutes apart, and the API revoking the token every 2 s:
# exactly one sign-in per revocation.
cargo run -q -p tokendance-fleet -- --store file --processes 8 --seconds 12 --skewed
# The store down for 10 s (its record's lock held) over the renewal: no
# sign-in while it is down, no failed call, one renewal once it is back.
cargo run -q -p tokendance-fleet -- --store file --processes 8 --seconds 28 --outage 10

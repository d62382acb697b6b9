#!/usr/bin/env bash
# The testkit's own tests: the race and keeper checks every store's suite
# uses, checked against the in-memory store (no server needed).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
cargo test -p tokendance-store-testkit

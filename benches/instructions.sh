#!/usr/bin/env bash
# Instructions per round trip, counted by callgrind: repeatable on a busy
# machine, where the timed benchmark's ratios move by 10 % between runs.
#
#   benches/instructions.sh [contestant ...]
#
# For each contestant of benches/roundtrip.rs, runs it LOW and HIGH rounds
# under `valgrind --tool=callgrind` and prints (HIGH - LOW) / (HIGH - LOW
# rounds): what one round trip costs, building its canned response included,
# with the process's setup cancelled out. Compare two commits by running this
# script in a worktree of each.
set -euo pipefail
cd "$(dirname "$0")/.."
low=${LOW:-200}
high=${HIGH:-1200}
bin=$(cargo bench --bench roundtrip --no-run --message-format=json 2>/dev/null |
  sed -n 's/.*"executable":"\([^"]*roundtrip[^"]*\)".*/\1/p' | tail -1)
[ -x "$bin" ] || { echo "no benchmark binary built" >&2; exit 1; }
if [ "$#" -eq 0 ]; then
  set -- "floor (Keycloak body)" "floor (GAM body)" "oauth2 password grant" "oauth2 client credentials" \
    "tokendance password grant" "tokendance refresh" "tokendance client credentials" \
    "tokendance True API pair" "tokendance MDLP pair"
fi
count() {
  local out
  out=$(mktemp)
  ROUNDTRIP_ONLY=$1 ROUNDTRIP_ROUNDS=$2 valgrind --tool=callgrind --callgrind-out-file="$out" "$bin" \
    >/dev/null 2>&1
  sed -n 's/^summary: *//p' "$out"
  rm -f "$out"
}
printf '| contestant | instructions per round trip |\n|---|---|\n'
for name in "$@"; do
  a=$(count "$name" "$low")
  b=$(count "$name" "$high")
  printf '| %s | %s |\n' "$name" $(((b - a) / (high - low)))
done

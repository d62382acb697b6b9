#!/usr/bin/env bash
# Tests the Redis store against a real redis-server: installs it from
# Debian's package if it is missing, starts one on a free loopback port with
# a fresh data directory (an append-only file, so the record outlives the
# outage run's restart), runs this crate's tests with TOKENDANCE_REDIS_URL
# pointing at it, and stops it by its pid on the way out, whether the tests
# passed or not.
#
# Budget: the server starts in well under a second; the tests take a few
# seconds once built (the build itself is about a minute cold on 2 cores).
set -euo pipefail
cd "$(dirname "$0")"

step() { printf '\n=== [%s] %s\n' "$(date +%T)" "$*"; }

step "redis store: redis-server"
if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
  # Debian's package brings both (redis-cli through redis-tools).
  if ! { apt-get update -qq && apt-get install -y -qq redis-server; } >/tmp/tokendance-redis-apt.log 2>&1; then
    tail -20 /tmp/tokendance-redis-apt.log >&2 || true
    echo "the Debian package redis-server could not be installed (apt-get install -y redis-server)" >&2
    exit 1
  fi
fi
redis-server --version

work=$(mktemp -d)
cleanup() {
  sh "$work/stop.sh" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# A port the kernel just handed out and took back: free unless another
# process grabs it in the next instant, in which case the server says so.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# start.sh and stop.sh start and stop the server (the demo's outage run
# calls them too); the server writes its pid to redis.pid.
cat >"$work/start.sh" <<EOF
redis-server --port $port --bind 127.0.0.1 --dir $work --save '' --appendonly yes \\
  --appendfsync everysec --daemonize yes --pidfile $work/redis.pid --logfile $work/redis.log
for _ in \$(seq 100); do
  [ "\$(redis-cli -p $port ping 2>/dev/null)" = PONG ] && exit 0
  sleep 0.1
done
cat $work/redis.log >&2
echo "redis-server did not answer PING on port $port within 10 s" >&2
exit 1
EOF
# SIGTERM: the server writes its append-only file and exits; the port is
# free once PING goes unanswered.
cat >"$work/stop.sh" <<EOF
[ -f $work/redis.pid ] || exit 0
kill \$(cat $work/redis.pid) 2>/dev/null || true
for _ in \$(seq 100); do
  redis-cli -p $port ping >/dev/null 2>&1 || { rm -f $work/redis.pid; exit 0; }
  sleep 0.1
done
echo "redis-server on port $port did not stop within 10 s" >&2
exit 1
EOF
sh "$work/start.sh"
echo "redis-server (pid $(cat "$work/redis.pid")) on 127.0.0.1:$port"

step "redis store: cargo test"
export TOKENDANCE_REDIS_URL="redis://127.0.0.1:$port"
cargo test -p tokendance-store-redis

step "redis store: the fleet demo's fault run (8 processes x 4 threads on this server)"
# The fault run: processes killed and replaced, paused, one stalled past
# its lease, clocks apart; every sign-in checked against the store.
cargo run -q -p tokendance-fleet -- --store redis --processes 8 --seconds 12 --chaos

step "redis store: the fleet demo's outage run (the server stopped for 10 s and started again)"
TOKENDANCE_STORE_STOP="sh $work/stop.sh" TOKENDANCE_STORE_START="sh $work/start.sh" \
  cargo run -q -p tokendance-fleet -- --store redis --processes 8 --seconds 28 --outage 10

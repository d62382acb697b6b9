#!/usr/bin/env bash
# Tests the Redis store against a real redis-server: installs it from
# Debian's package if it is missing, starts one on a free loopback port with
# a fresh data directory and no persistence, runs this crate's tests with
# TOKENDANCE_REDIS_URL pointing at it, and stops it by its pid on the way
# out, whether the tests passed or not.
#
# Budget: the server starts in well under a second; the tests take a few
# seconds once built (the build itself is about a minute cold on 2 cores).
set -euo pipefail
cd "$(dirname "$0")"

step() { printf '\n=== %s\n' "$*"; }

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
pid=
stop() {
  if [ -n "$pid" ]; then
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap stop EXIT

# A port the kernel just handed out and took back: free unless another
# process grabs it in the next instant, in which case the server says so.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
redis-server --port "$port" --bind 127.0.0.1 --dir "$work" --save '' --appendonly no \
  --daemonize no --logfile "$work/redis.log" &
pid=$!

for _ in $(seq 100); do
  if [ "$(redis-cli -p "$port" ping 2>/dev/null)" = PONG ]; then
    break
  fi
  if ! kill -0 "$pid" 2>/dev/null; then
    cat "$work/redis.log" >&2 || true
    echo "redis-server exited before it answered on port $port" >&2
    exit 1
  fi
  sleep 0.1
done
if [ "$(redis-cli -p "$port" ping 2>/dev/null)" != PONG ]; then
  cat "$work/redis.log" >&2 || true
  echo "redis-server did not answer PING on port $port within 10 s" >&2
  exit 1
fi
echo "redis-server (pid $pid) on 127.0.0.1:$port"

step "redis store: cargo test"
export TOKENDANCE_REDIS_URL="redis://127.0.0.1:$port"
cargo test -p tokendance-store-redis

step "redis store: the fleet demo's fault run (8 processes x 4 threads on this server)"
# The fault run: processes killed and replaced, paused, one stalled past
# its lease, clocks apart; every sign-in checked against the store.
cargo run -q -p tokendance-fleet -- --store redis --processes 8 --seconds 12 --chaos

#!/usr/bin/env bash
# Tests tokendance-store-postgres against a real PostgreSQL: installs the
# Debian package `postgresql` if the server is missing, starts a fresh server
# on 127.0.0.1 (pg.sh, data in a temporary directory, run by an unprivileged
# user), runs `cargo test -p tokendance-store-postgres` with
# TOKENDANCE_POSTGRES_URL set, and stops the server on exit, pass or fail.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

step() { printf '\n=== [%s] %s\n' "$(date +%T)" "$*"; }

server_bin() {
  local bin
  for bin in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -x "$bin/initdb" ] && [ -x "$bin/postgres" ] && [ -x "$bin/pg_isready" ]; then
      echo "$bin"
      return 0
    fi
  done
  return 1
}

step "postgres store: server"
if ! bin=$(server_bin); then
  if [ "$(id -u)" -ne 0 ]; then
    echo "PostgreSQL is missing: install the Debian package postgresql (apt-get install -y postgresql)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y postgresql || { apt-get update && apt-get install -y postgresql; } || {
    echo "cannot install the Debian package postgresql" >&2
    exit 1
  }
  bin=$(server_bin) || { echo "the Debian package postgresql installed no server" >&2; exit 1; }
fi
"$bin/postgres" --version

# PostgreSQL refuses to run as root: as root, run it as a system user of its own.
if [ "$(id -u)" -eq 0 ]; then
  user=tdpg
  id "$user" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$user"
else
  user=$(id -un)
fi

dir=$(mktemp -d)
chown "$user" "$dir"
echo "$bin" >"$dir/bin"
echo "$user" >"$dir/user"
cleanup() {
  local status=$?
  if [ "$status" -ne 0 ] && [ -f "$dir/log" ]; then
    echo "--- the server's log (last lines)" >&2
    tail -n 30 "$dir/log" >&2
  fi
  "$here/pg.sh" stop "$dir" || true
  rm -rf "$dir"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$here/pg.sh" start "$dir"
port=$(cat "$dir/port")
"$bin/createdb" -h 127.0.0.1 -p "$port" -U "$user" tokendance
export TOKENDANCE_POSTGRES_URL="postgres://$user@127.0.0.1:$port/tokendance"
# For tests/restart.rs, which stops and starts this server with pg.sh.
export TOKENDANCE_POSTGRES_DIR="$dir"
echo "PostgreSQL on 127.0.0.1:$port (pid $(cat "$dir/pid")), as $user, data in $dir"

step "postgres store: cargo test"
cd "$root"
cargo test -p tokendance-store-postgres

step "postgres store: the fleet demo's fault run (8 processes x 4 threads on this server)"
# The fault run: processes killed and replaced, paused, one stalled past
# its lease, clocks apart; every sign-in checked against the store.
cargo run -q -p tokendance-fleet -- --store postgres --processes 8 --seconds 12 --chaos

step "postgres store: the fleet demo's outage run (the server stopped for 10 s and started again)"
TOKENDANCE_STORE_STOP="$here/pg.sh stop $dir" TOKENDANCE_STORE_START="$here/pg.sh start $dir" \
  cargo run -q -p tokendance-fleet -- --store postgres --processes 8 --seconds 28 --outage 10

#!/usr/bin/env bash
# A throwaway PostgreSQL server for the store's tests, kept in one directory:
#
#   pg.sh start DIR   initialises DIR/data on the first start, then starts the
#                     server on 127.0.0.1 (a free port, the same one on every
#                     later start) and waits until it takes connections
#   pg.sh stop DIR    stops it by its pid (fast shutdown: the data stays)
#
# ci.sh writes DIR/bin (the server's bin directory) and DIR/user (who runs it:
# PostgreSQL refuses to run as root); tests/restart.rs calls it to stop and
# start the server under a connected store. DIR/log is the server's log.
set -euo pipefail

usage() { echo "usage: pg.sh start|stop DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
cmd=$1
dir=$2
bin=$(cat "$dir/bin")
user=$(cat "$dir/user")

# As root, run the server's programs as $user; as anyone else, as ourselves.
# setpriv execs, so `"${as_user[@]}" postgres … &` leaves $! the server's pid.
as_user=()
if [ "$(id -u)" -eq 0 ]; then
  as_user=(setpriv --reuid="$user" --regid="$user" --init-groups --)
fi

port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

alive() {
  local pid=$1
  kill -0 "$pid" 2>/dev/null || return 1
  # A zombie nobody reaps (no init in a container) is not alive.
  [ "$(ps -o stat= -p "$pid" 2>/dev/null | cut -c1)" != Z ]
}

# Starts the server on port $1; fails if it exits or is not ready in 30 s.
launch() {
  local port=$1 pid
  mkdir -p "$dir/sock"
  chown "$user" "$dir/sock" 2>/dev/null || true
  # No fsync: a test server, thrown away after the run (a clean stop still
  # writes everything, which the restart test relies on).
  "${as_user[@]}" "$bin/postgres" -D "$dir/data" -p "$port" -k "$dir/sock" \
    -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off \
    -c full_page_writes=off >>"$dir/log" 2>&1 &
  pid=$!
  echo "$pid" >"$dir/pid"
  for _ in $(seq 300); do
    if "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -U "$user" -d postgres -t 1; then
      return 0
    fi
    alive "$pid" || return 1
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  return 1
}

start() {
  if [ ! -d "$dir/data" ]; then
    "${as_user[@]}" "$bin/initdb" -D "$dir/data" --auth=trust --username="$user" \
      --encoding=UTF8 --no-locale --no-sync >"$dir/initdb.log" 2>&1 || {
      cat "$dir/initdb.log" >&2
      echo "pg.sh: initdb failed" >&2
      exit 1
    }
  fi
  if [ -f "$dir/port" ]; then
    launch "$(cat "$dir/port")" || { tail -n 20 "$dir/log" >&2; echo "pg.sh: the server did not start" >&2; exit 1; }
    return
  fi
  # A port that looks free may be taken before the server binds it: try a few.
  local port
  for _ in 1 2 3 4 5; do
    port=$((20000 + RANDOM % 40000))
    port_taken "$port" && continue
    if launch "$port"; then
      echo "$port" >"$dir/port"
      return
    fi
  done
  tail -n 20 "$dir/log" >&2
  echo "pg.sh: the server did not start" >&2
  exit 1
}

stop() {
  [ -f "$dir/pid" ] || return 0
  local pid
  pid=$(cat "$dir/pid")
  if alive "$pid"; then
    kill -INT "$pid" 2>/dev/null || true
    for _ in $(seq 150); do
      alive "$pid" || break
      sleep 0.1
    done
    if alive "$pid"; then
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.2
    fi
  fi
  rm -f "$dir/pid"
}

case $cmd in
  start) start ;;
  stop) stop ;;
  *) usage ;;
esac

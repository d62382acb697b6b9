#!/usr/bin/env bash
# Installs the real OAuth2 servers that tests/interop.rs runs on 127.0.0.1
# (exact versions from package-lock.json, with `npm ci`) into a cache folder:
# $TOKENDANCE_INTEROP_DIR, or target/interop-node/ by default. Idempotent:
# when the installed lock file and Node version match, it only checks and
# returns. Fails loudly, naming the peer, when something is missing.
# Usage: tests/interop/setup.sh   (from anywhere; prints the install folder last)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
dir="${TOKENDANCE_INTEROP_DIR:-$repo/target/interop-node}"
peers=(oauth2-mock-server @node-oauth/oauth2-server express oidc-provider)

fail() { echo "interop setup FAILED: $*" >&2; exit 1; }

command -v node >/dev/null 2>&1 || fail "node is not installed (the peers oauth2-mock-server, @node-oauth/oauth2-server, oidc-provider need Node >= 20.19)"
command -v npm >/dev/null 2>&1 || fail "npm is not installed (needed to install the peers ${peers[*]})"
node_version="$(node --version)"
node -e '
  const [maj, min] = process.versions.node.split(".").map(Number);
  process.exit(maj > 20 || (maj === 20 && min >= 19) ? 0 : 1);
' || fail "Node $node_version is too old: oidc-provider 9 and oauth2-mock-server 8 need Node >= 20.19"

mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
# One installer at a time per folder (parallel test runs share target/).
if command -v flock >/dev/null 2>&1; then
  exec 9>"$dir/.lock"
  flock -w 300 9 || fail "timed out waiting for another install in $dir"
fi

stamp="$(cat "$here/package-lock.json" "$here/package.json" | sha256sum | cut -d' ' -f1) node $node_version"

check_peers() {
  local missing=()
  for peer in "${peers[@]}"; do
    [ -f "$dir/node_modules/$peer/package.json" ] || missing+=("$peer")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "${missing[*]}"
    return 1
  fi
}

if [ -f "$dir/.installed" ] && [ "$(cat "$dir/.installed")" = "$stamp" ] && check_peers >/dev/null; then
  echo "interop peers already installed in $dir" >&2
else
  echo "installing interop peers (${peers[*]}) into $dir with npm ci" >&2
  rm -f "$dir/.installed"
  cp "$here/package.json" "$here/package-lock.json" "$dir/"
  log="$dir/npm-ci.log"
  if ! (cd "$dir" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error) >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    # Which package failed, and which peers need it (from the lock file).
    culprit="$(grep -oE "request to [^ ]+ failed|/-/[^ /]+\.tgz|code E404.*|'[^']+@[^']+' is not in this registry" "$log" | head -n 1 || true)"
    blame="$(node -e '
      const lock = require(process.argv[1]);
      const peers = process.argv[2].split(" ");
      const hint = decodeURIComponent(process.argv[3] || "");
      const pkgs = lock.packages || {};
      const name = (key) => key.replace(/^.*node_modules\//, "");
      const failed = Object.keys(pkgs).map(name).filter((n) => n && hint.includes(n))
        .sort((a, b) => b.length - a.length)[0];
      if (!failed) process.exit(0);
      const needs = (from, seen = new Set()) => {
        if (from === failed) return true;
        if (seen.has(from)) return false;
        seen.add(from);
        const deps = (pkgs["node_modules/" + from] || {}).dependencies || {};
        return Object.keys(deps).some((d) => needs(d, seen));
      };
      const who = peers.filter((p) => needs(p));
      console.log(`${failed} (needed by ${who.length ? who.join(", ") : "no peer?"})`);
    ' "$dir/package-lock.json" "${peers[*]}" "$culprit" 2>/dev/null || true)"
    if [ -n "$blame" ]; then
      fail "npm ci failed on $blame; full log: $log"
    fi
    fail "npm ci failed installing the peers ${peers[*]}; full log: $log"
  fi
  if ! missing="$(check_peers)"; then
    fail "npm ci finished but these peers are missing from $dir/node_modules: $missing"
  fi
  echo "$stamp" >"$dir/.installed"
fi

for peer in "${peers[@]}"; do
  version="$(node -p "require('$dir/node_modules/$peer/package.json').version")" \
    || fail "cannot read the installed version of $peer"
  printf '  %s %s\n' "$peer" "$version" >&2
done
echo "$dir"

#!/usr/bin/env bash
# Runs the HTTP caching test suite cache-tests
# (https://github.com/http-tests/cache-tests, the suite behind
# cache-tests.fyi) through the edge and summarises the results.
#
#   SUITE_DIR=/path/to/cache-tests conformance/run.sh [TEST_ID]
#   conformance/run.sh /path/to/cache-tests [TEST_ID]
#
# Builds cmd/edge into a temporary directory, starts the suite's test
# server on a free loopback port and the edge on another, with one site
# (Host 127.0.0.1, consistency ttl, default policy) whose upstream is the
# test server, runs the suite through the edge, stops both and writes into
# OUT_DIR (default conformance/out): results.json (the suite's format),
# harness.json and summary.txt (counts by kind, failing tests, and the
# suite's published results of other caches for comparison).
# With TEST_ID, runs that one test and prints its exchanges instead.
# EDGE_REV=<commit> measures that commit (from git archive) instead of the
# working tree.
# REQNUM_RESTORE=0 runs the suite's harness unchanged (see harness.mjs).
# SITE_POLICY='{set_cookie: store, stale_if_error: 1h}' gives the site a
# policy block (YAML flow mapping) instead of the defaults.
# Needs go, node (20.18 or later) and npm; runs `npm install` in SUITE_DIR
# when its dependencies are missing.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
suite=${SUITE_DIR:-${1:-}}
if [[ -z "${SUITE_DIR:-}" && $# -gt 0 ]]; then shift; fi
test_id=${1:-}
if [[ -z "$suite" || ! -f "$suite/test-engine/client/runner.mjs" || ! -f "$suite/tests/index.mjs" ]]; then
  echo "cache-tests not found: git clone https://github.com/http-tests/cache-tests and run SUITE_DIR=/path/to/cache-tests $0" >&2
  exit 2
fi
suite=$(cd "$suite" && pwd)
out=${OUT_DIR:-$here/out}
mkdir -p "$out"
out=$(cd "$out" && pwd)

if [[ ! -d "$suite/node_modules/undici" ]]; then
  echo "installing the suite's dependencies (npm install in $suite)" >&2
  (cd "$suite" && npm install --omit=dev --no-audit --no-fund --loglevel=error >&2)
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/edge-conformance.XXXXXX")
harness_pid=""
edge_pid=""
cleanup() {
  local status=$?
  for pid in "$edge_pid" "$harness_pid"; do
    if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_for() { # file, process id, what
  local i
  for ((i = 0; i < 300; i++)); do
    [[ -s "$1" ]] && return 0
    kill -0 "$2" 2>/dev/null || { echo "$3 exited before it was ready:" >&2; cat "$work"/*.log >&2; exit 1; }
    sleep 0.1
  done
  echo "$3 not ready after 30 s" >&2
  exit 1
}

# What is measured: the working tree (default) or, with EDGE_REV, a commit.
if [[ -n "${EDGE_REV:-}" ]]; then
  rev=$(git -C "$repo" rev-parse --verify "$EDGE_REV^{commit}")
  mkdir "$work/src"
  git -C "$repo" archive --format=tar "$rev" | tar -x -C "$work/src"
  src="$work/src"
  built="commit $rev"
else
  src="$repo"
  rev=$(git -C "$repo" rev-parse HEAD 2>/dev/null || echo unknown)
  changed=$(GIT_OPTIONAL_LOCKS=0 git -C "$repo" status --porcelain -- . ':!conformance' 2>/dev/null | wc -l || true)
  built="working tree at commit $rev, ${changed// /} files changed or added since"
fi
echo "building the edge from the $built" >&2
(cd "$src" && go build -o "$work/edge" ./cmd/edge)

# The suite's test server (and, later, its client) in one node process.
node "$here/harness.mjs" "$suite" "$work" $test_id >"$work/harness.log" 2>&1 &
harness_pid=$!
wait_for "$work/origin-port" "$harness_pid" "the test server"
origin_port=$(cat "$work/origin-port")

cat >"$work/edge.yaml" <<EOF
listen: "127.0.0.1:0"
admin: "127.0.0.1:0"
s3: ""
data: $work/data
access_log_every: 0
log_level: error
purge:
  tokens:
    - token: $(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
sites:
  - hosts: [127.0.0.1]
    upstream: http://127.0.0.1:$origin_port
    consistency: ttl
${SITE_POLICY:+    policy: $SITE_POLICY}
EOF
"$work/edge" -config "$work/edge.yaml" >"$work/edge.out" 2>"$work/edge.log" &
edge_pid=$!
wait_for "$work/edge.out" "$edge_pid" "the edge"
edge_addr=$(sed -n 's/^edge on \([^,]*\),.*/\1/p' "$work/edge.out")
[[ -n "$edge_addr" ]] || { echo "cannot read the edge's address from: $(cat "$work/edge.out")" >&2; exit 1; }

echo "running cache-tests $(git -C "$suite" rev-parse --short HEAD 2>/dev/null || true) through the edge on $edge_addr (test server on 127.0.0.1:$origin_port)" >&2
echo "http://$edge_addr" >"$work/base-url.tmp" && mv "$work/base-url.tmp" "$work/base-url"
if ! wait "$harness_pid"; then
  harness_pid=""
  cat "$work/harness.log" >&2
  echo "the suite's run failed" >&2
  exit 1
fi
harness_pid=""

if [[ -n "$test_id" ]]; then
  cat "$work/harness.log"
  exit 0
fi
cp "$work/results.json" "$work/harness.json" "$out/"
if grep -q . "$work/edge.log"; then cp "$work/edge.log" "$out/edge.log"; fi
suite_rev=$(git -C "$suite" rev-parse HEAD 2>/dev/null || echo "unknown revision")
{
  echo "Measured $(date -u +%Y-%m-%dT%H:%MZ): the edge built from the $built;"
  echo "cache-tests $suite_rev;"
  node -p "const h = require('$work/harness.json'); 'test requests reaching the test server: ' + h.forwarded + ' with the client\'s Req-Num, ' + h.restored + ' with Req-Num restored by the harness, ' + h.unattributed + ' without (REQNUM_RESTORE=' + (h.reqnum_restore ? 1 : 0) + ')'"
  echo
  node "$here/summary.mjs" "$suite" "$out/results.json" edge --compare
} >"$out/summary.txt"
sed -n '1,9p' "$out/summary.txt"
echo "results: $out/results.json; summary with the failing tests and the comparison: $out/summary.txt"

#!/usr/bin/env bash
# The standard load test set, against an all-in-one started here on free
# loopback ports (the embedded store, its S3 API and one edge serving
# bucket "public" as three sites: localhost in purge consistency,
# ttl.localhost and strong.localhost), results under
# bench-results/<date>/ (or OUT): one folder per run with result.json and
# report.html, and summary.txt with every run's table.
#
#   make bench [DURATION=20s] [OUT=dir]
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${OUT:-$repo/bench-results/$(date -u +%Y%m%d-%H%M%S)}
duration=${DURATION:-20s}
work=$(mktemp -d)
edge_pid=""
cleanup() {
  if [[ -n "$edge_pid" ]]; then kill "$edge_pid" 2>/dev/null || true; wait "$edge_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
edge_port=$(free_port); admin_port=$(free_port); s3_port=$(free_port)

echo "building into $work"
(cd "$repo" && go build -o "$work/edge" ./cmd/edge && go build -o "$work/loadtest" ./cmd/loadtest)

export EDGE_ACCESS_KEY_ID=BENCHKEY000000000001
export EDGE_SECRET_ACCESS_KEY=bench/secret/0123456789abcdefghijklmn
export EDGE_PURGE_TOKEN=bench-purge-token-0123456789abcdef
cat >"$work/edge.yaml" <<YAML
listen: "127.0.0.1:$edge_port"
admin: "127.0.0.1:$admin_port"
s3: "127.0.0.1:$s3_port"
data: $work/data
access_log_every: 0
log_level: warn
public_buckets: [public]
sites:
  - hosts: [localhost]
    bucket: public
    consistency: purge
  - hosts: [ttl.localhost]
    bucket: public
    consistency: ttl
  - hosts: [strong.localhost]
    bucket: public
    consistency: strong
YAML
"$work/edge" -config "$work/edge.yaml" >"$work/edge.log" 2>&1 &
edge_pid=$!
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$admin_port/readyz" >/dev/null && break
  sleep 0.1
done
curl -sf "http://127.0.0.1:$admin_port/readyz" >/dev/null || { echo "the edge did not start:"; cat "$work/edge.log"; exit 1; }

mkdir -p "$out"
run() { # name, then loadtest flags
  local name=$1; shift
  echo "== $name"
  "$work/loadtest" -duration "$duration" -edges "http://127.0.0.1:$edge_port" -s3 "http://127.0.0.1:$s3_port" \
    -bucket public -out "$out/$name" -prefix "$name/" "$@" | tee -a "$out/summary.txt"
}
run hit-1k         -scenario read-only -prefill -size 1024  -keys 1000 -zipf 0 -host localhost
run hit-64k        -scenario read-only -prefill -size 65536 -keys 1000 -zipf 0 -host localhost
run zipf-mix       -scenario purge -zipf 1.1 -keys 10000 -host localhost
run cache-no-purge -scenario cache-no-purge -keys 200 -host ttl.localhost
run purge          -scenario purge -keys 200 -host localhost
run strong         -scenario strong -keys 200 -host strong.localhost
run 404-before-put -scenario 404-before-put -keys 2000 -host ttl.localhost
echo "results: $out"

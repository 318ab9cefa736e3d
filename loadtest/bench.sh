#!/usr/bin/env bash
# The standard load test set (hit throughput at 1 and 64 KiB, a Zipf mix,
# and the scenarios cache-no-purge, purge, strong, purge-api and
# 404-before-put), against processes started here on free
# loopback ports, all serving bucket "public" as three sites: localhost in
# purge consistency, ttl.localhost and strong.localhost.
#
#   SETUP=cluster (the default): a redis-server, one cmd/origin (the store
#     and its S3 API, publishing every write on the Redis bus) and three
#     cmd/edge -origin -redis (no embedded store or S3 port, a shared
#     bus_key, bus_silence at its default); the script waits until each
#     edge is ready and its bus healthy (not degraded). The load tests read
#     through all three edges (-edges) and write to the origin; purge API
#     calls go to the first edge's admin port, which publishes them on the
#     bus to the others.
#   SETUP=all-in-one: one cmd/edge with its embedded store, its S3 API and
#     the in-process bus.
#
# Every process started here is stopped when the script ends, however it
# ends (failure, Ctrl-C). Results under bench-results/<date>/ (or OUT):
# one folder per run with result.json and report.html, and summary.txt
# with every run's table.
#
#   make bench [DURATION=20s] [SETUP=cluster|all-in-one] [OUT=dir]
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${OUT:-$repo/bench-results/$(date -u +%Y%m%d-%H%M%S)}
duration=${DURATION:-20s}
setup=${SETUP:-cluster}
case "$setup" in
  cluster | all-in-one) ;;
  *) echo "SETUP=$setup: want cluster or all-in-one" >&2; exit 2 ;;
esac
work=$(mktemp -d)

# pids: every process started here, in start order; stopped in reverse.
pids=()
admins=() # in the cluster, admins[i] is edge i's admin address
stop_pid() { # SIGTERM, then SIGKILL if it has not stopped within 15s
  local pid=$1
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 150); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  local i
  trap - INT TERM
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do stop_pid "${pids[i]}"; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

# fail prints why and every log of this run, then exits.
fail() {
  echo "bench: $*" >&2
  local f i
  for f in "$work"/*.log; do
    [[ -e "$f" ]] || continue
    echo "---- $(basename "$f")" >&2
    tail -n 50 "$f" >&2
  done
  for i in "${!admins[@]}"; do
    echo "---- edge $i /readyz" >&2
    curl -s "http://${admins[i]}/readyz" >&2 || true
  done
  exit 1
}

echo "building into $work"
(cd "$repo" && go build -o "$work/edge" ./cmd/edge && go build -o "$work/origin" ./cmd/origin && go build -o "$work/loadtest" ./cmd/loadtest)

export EDGE_ACCESS_KEY_ID=BENCHKEY000000000001
export EDGE_SECRET_ACCESS_KEY=bench/secret/0123456789abcdefghijklmn
export EDGE_PURGE_TOKEN=bench-purge-token-0123456789abcdef
export EDGE_BUS_KEY=bench-bus-key-0123456789abcdef0123
# Fills of the public bucket are unsigned; a key pair from the caller's
# environment would sign them with a key the origin does not know.
unset EDGE_ORIGIN_ACCESS_KEY_ID EDGE_ORIGIN_SECRET_ACCESS_KEY

sites='sites:
  - hosts: [localhost]
    bucket: public
    consistency: purge
  - hosts: [ttl.localhost]
    bucket: public
    consistency: ttl
  - hosts: [strong.localhost]
    bucket: public
    consistency: strong'

# wait_for DESCRIPTION SECONDS PID COMMAND...: until COMMAND succeeds;
# fails (with the logs) when it did not within SECONDS or PID exited.
wait_for() {
  local what=$1 secs=$2 pid=$3; shift 3
  local deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    kill -0 "$pid" 2>/dev/null || fail "$what: the process exited"
    ((SECONDS < deadline)) || fail "$what: not within ${secs}s"
    sleep 0.1
  done
}

# bus_healthy ADMIN: the edge is ready, /readyz says its bus is healthy
# and /metrics that it is not degraded.
bus_healthy() {
  local readyz metrics
  readyz=$(curl -sf "http://$1/readyz") && metrics=$(curl -sf "http://$1/metrics") &&
    grep -q '^purge bus: healthy$' <<<"$readyz" && grep -q '^edge_degraded 0$' <<<"$metrics"
}

edge_urls=() # the edges' base URLs
if [[ "$setup" == all-in-one ]]; then
  edge_port=$(free_port); admin_port=$(free_port); s3_port=$(free_port)
  cat >"$work/edge.yaml" <<YAML
listen: "127.0.0.1:$edge_port"
admin: "127.0.0.1:$admin_port"
s3: "127.0.0.1:$s3_port"
data: $work/data
access_log_every: 0
log_level: warn
public_buckets: [public]
purge: {rate: 10000, burst: 10000} # purge-api calls the API after every write
$sites
YAML
  "$work/edge" -config "$work/edge.yaml" >"$work/edge.log" 2>&1 &
  pids+=($!)
  wait_for "the edge did not start" 20 "${pids[-1]}" curl -sf "http://127.0.0.1:$admin_port/readyz"
  edge_urls=("http://127.0.0.1:$edge_port")
  s3_url="http://127.0.0.1:$s3_port"
  purge_url="http://127.0.0.1:$admin_port"
else
  redis_port=$(free_port)
  redis_url="redis://127.0.0.1:$redis_port/0"
  redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
    --dir "$work" >"$work/redis.log" 2>&1 &
  pids+=($!)
  if command -v redis-cli >/dev/null; then
    wait_for "redis-server did not start" 10 "${pids[-1]}" redis-cli -h 127.0.0.1 -p "$redis_port" ping
  else
    wait_for "redis-server did not start" 10 "${pids[-1]}" bash -c "exec 3<>/dev/tcp/127.0.0.1/$redis_port"
  fi

  origin_port=$(free_port)
  s3_url="http://127.0.0.1:$origin_port"
  cat >"$work/origin.yaml" <<YAML
public_buckets: [public]
log_level: warn
bus_key: $EDGE_BUS_KEY
YAML
  "$work/origin" -config "$work/origin.yaml" -listen "127.0.0.1:$origin_port" -data "$work/origin-data" \
    -redis "$redis_url" >"$work/origin.log" 2>&1 &
  pids+=($!)
  # Bucket public exists (public_buckets creates it) and is readable.
  wait_for "cmd/origin did not start" 20 "${pids[-1]}" curl -sf -I "$s3_url/public"

  for i in 1 2 3; do
    edge_port=$(free_port); admin_port=$(free_port)
    cat >"$work/edge$i.yaml" <<YAML
listen: "127.0.0.1:$edge_port"
admin: "127.0.0.1:$admin_port"
data: $work/edge$i-data
access_log_every: 0
log_level: warn
bus_key: $EDGE_BUS_KEY
bus_silence: 500ms # the default, written out
purge:
  tokens:
    - token: $EDGE_PURGE_TOKEN
  rate: 10000 # purge-api calls the API after every write
  burst: 10000
$sites
YAML
    "$work/edge" -config "$work/edge$i.yaml" -s3 "" -origin "$s3_url" -redis "$redis_url" >"$work/edge$i.log" 2>&1 &
    pids+=($!)
    edge_urls+=("http://127.0.0.1:$edge_port")
    admins[i]="127.0.0.1:$admin_port"
  done
  for i in 1 2 3; do
    pid=${pids[$((i + 1))]} # after redis-server and cmd/origin
    wait_for "edge $i did not start" 20 "$pid" curl -sf "http://${admins[i]}/readyz"
    wait_for "edge $i: its purge bus did not become healthy" 20 "$pid" bus_healthy "${admins[i]}"
  done
  purge_url="http://${admins[1]}"
fi
edges=$(IFS=,; echo "${edge_urls[*]}")
echo "setup $setup: edges $edges, S3 $s3_url, purge API $purge_url"

mkdir -p "$out"
run() { # name, then loadtest flags
  local name=$1; shift
  echo "== $name" | tee -a "$out/summary.txt"
  "$work/loadtest" -duration "$duration" -edges "$edges" -s3 "$s3_url" -purge "$purge_url" \
    -bucket public -out "$out/$name" -prefix "$name/" "$@" | tee -a "$out/summary.txt"
}
echo "setup: $setup, edges: $edges" >>"$out/summary.txt"
run hit-1k         -scenario read-only -prefill -size 1024  -keys 1000 -zipf 0 -host localhost
run hit-64k        -scenario read-only -prefill -size 65536 -keys 1000 -zipf 0 -host localhost
run zipf-mix       -scenario purge -zipf 1.1 -keys 10000 -host localhost
run cache-no-purge -scenario cache-no-purge -keys 200 -host ttl.localhost
run purge          -scenario purge -keys 200 -host localhost
run strong         -scenario strong -keys 200 -host strong.localhost
run purge-api      -scenario purge-api -keys 200 -host ttl.localhost
run 404-before-put -scenario 404-before-put -keys 100000 -host ttl.localhost # keys enough that every write is a create
echo "results: $out"

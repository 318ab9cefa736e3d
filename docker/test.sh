#!/usr/bin/env bash
# make docker-test: builds the image and runs a short tour against it.
# No registry is needed: the build stage's base image is the host's Go
# toolchain, imported (docker import) as edge-build-go:<version>; the run
# stage is scratch. Installs docker.io and starts dockerd when missing
# (as root). Every container and temporary file is removed at the end.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=$(mktemp -d)
container=""
cleanup() {
  if [[ -n "$container" ]]; then docker rm -f -v "$container" >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

if ! command -v dockerd >/dev/null 2>&1; then
  [[ "$(id -u)" == 0 ]] || { echo 'docker is missing: run `sudo apt-get install -y docker.io` (or make docker-test as root, which installs it)' >&2; exit 1; }
  echo "docker is missing: installing docker.io with apt-get"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
fi
if ! docker info >/dev/null 2>&1; then
  [[ "$(id -u)" == 0 ]] || { echo 'dockerd is not running: start it (sudo dockerd &)' >&2; exit 1; }
  echo "starting dockerd"
  (dockerd >"$work/dockerd.log" 2>&1 &)
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
  docker info >/dev/null 2>&1 || { echo "dockerd did not start:"; tail -20 "$work/dockerd.log"; exit 1; }
fi

goroot=$(go env GOROOT)
gover=$(go env GOVERSION)
base="edge-build-go:$gover-ca"  # the toolchain and the CA bundle
if ! docker image inspect "$base" >/dev/null 2>&1; then
  echo "importing the host's Go toolchain ($goroot) as $base"
  mkdir -p "$work/root/usr/local" "$work/root/tmp" "$work/root/etc/ssl/certs"
  cp -a "$goroot" "$work/root/usr/local/go"
  cp /etc/ssl/certs/ca-certificates.crt "$work/root/etc/ssl/certs/"
  tar -C "$work/root" -c . | docker import --change 'ENV PATH=/usr/local/go/bin' - "$base" >/dev/null
  rm -rf "$work/root"
fi

# The compose file (one origin, three edges, Redis, Prometheus, Grafana)
# is checked, not run: its third-party images need a registry.
if ! command -v docker-compose >/dev/null 2>&1; then
  [[ "$(id -u)" == 0 ]] || { echo 'docker-compose is missing: run `sudo apt-get install -y docker-compose`' >&2; exit 1; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null
fi
EDGE_BUS_KEY=docker-test docker-compose -f "$repo/docker/compose.yaml" config -q
echo "docker/compose.yaml is valid"

echo "preparing the build context (the tracked files and vendor/)"
mkdir -p "$work/ctx"
(cd "$repo" && git ls-files -z | xargs -0 cp --parents -t "$work/ctx")
(cd "$work/ctx" && go mod vendor)
image="edge:docker-test"
docker build -q --build-arg BUILD_IMAGE="$base" --build-arg RUN_IMAGE=scratch -t "$image" "$work/ctx" >/dev/null
echo "built $image: $(docker image inspect -f '{{.Size}}' "$image") bytes, user $(docker image inspect -f '{{.Config.User}}' "$image")"

container=$(docker run -d -p 127.0.0.1::8080 -p 127.0.0.1::9000 -p 127.0.0.1::8081 "$image")
port() { docker port "$container" "$1/tcp" | head -1 | sed 's/.*://'; }
edge_port=$(port 8080); s3_port=$(port 9000); admin_port=$(port 8081)
for _ in $(seq 100); do
  [[ "$(docker inspect -f '{{.State.Health.Status}}' "$container")" == healthy ]] && break
  sleep 0.3
done
health=$(docker inspect -f '{{.State.Health.Status}}' "$container")
[[ "$health" == healthy ]] || { echo "the container is $health:"; docker logs "$container" 2>&1 | tail -20; exit 1; }

# The tour: the key pair the container generated, an upload, a read
# through the edge (miss, then hit), an overwrite seen at once.
docker cp "$container:/data/s3-credentials.json" "$work/keys.json"
AWS_ACCESS_KEY_ID=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["access_key_id"])' "$work/keys.json")
AWS_SECRET_ACCESS_KEY=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["secret_access_key"])' "$work/keys.json")
export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
export AWS_DEFAULT_REGION=us-east-1 HOME="$work"
echo 'hello from a container' >"$work/hello.txt"
aws --endpoint-url "http://127.0.0.1:$s3_port" s3 cp "$work/hello.txt" s3://public/hello.txt --cache-control max-age=3600 >/dev/null
fail() { echo "docker-test: $*"; docker logs "$container" 2>&1 | tail -20; exit 1; }
first=$(curl -s -D - -H 'Host: localhost' "http://127.0.0.1:$edge_port/hello.txt")
grep -q 'hello from a container' <<<"$first" || fail "first read: $first"
grep -qi '^cache-status: edge; fwd=uri-miss' <<<"$first" || fail "first read not a miss: $first"
second=$(curl -s -D - -o /dev/null -H 'Host: localhost' "http://127.0.0.1:$edge_port/hello.txt")
grep -qi '^cache-status: edge; hit' <<<"$second" || fail "second read not a hit: $second"
echo 'hello again' >"$work/hello.txt"
aws --endpoint-url "http://127.0.0.1:$s3_port" s3 cp "$work/hello.txt" s3://public/hello.txt --cache-control max-age=3600 >/dev/null
[[ "$(curl -s -H 'Host: localhost' "http://127.0.0.1:$edge_port/hello.txt")" == 'hello again' ]] || fail "the overwrite was not served at once"
metrics=$(curl -sf "http://127.0.0.1:$admin_port/metrics")
grep -q '^edge_cache_hits_total 1$' <<<"$metrics" || fail "metrics lack the hit"
[[ "$(docker exec "$container" /edge healthcheck; echo $?)" == 0 ]] || fail "healthcheck inside the container"
nothing=$(docker exec "$container" /edge healthcheck http://127.0.0.1:1/ 2>&1 || true)
grep -q 'edge healthcheck' <<<"$nothing" || fail "healthcheck of nothing: $nothing"
docker cp "$container:/etc/ssl/certs/ca-certificates.crt" "$work/ca.crt" || fail "the image has no CA bundle"
grep -q 'BEGIN CERTIFICATE' "$work/ca.crt" || fail "the image's CA bundle is empty"
[[ "$(docker run --rm --entrypoint /edgectl "$image" 2>&1; true)" == *purge* ]] || fail "edgectl in the image"
# Purge by tag with edgectl, inside the container (the admin port is its
# loopback's), with the token it generated.
echo 'body{}' >"$work/style.css"
aws --endpoint-url "http://127.0.0.1:$s3_port" s3 cp "$work/style.css" s3://public/css/style.css --cache-control max-age=3600 --metadata cache-tag=css >/dev/null
curl -s -o /dev/null -H 'Host: localhost' "http://127.0.0.1:$edge_port/css/style.css"
cached=$(curl -s -D - -o /dev/null -H 'Host: localhost' "http://127.0.0.1:$edge_port/css/style.css")
grep -qi '^cache-status: edge; hit' <<<"$cached" || fail "the tagged object was not cached: $cached"
docker cp "$container:/data/purge-token" "$work/purge-token"
docker exec -e EDGE_PURGE_TOKEN="$(cat "$work/purge-token")" "$container" /edgectl purge -admin http://127.0.0.1:8081 --tag css --wait >/dev/null ||
  fail "edgectl purge --tag css"
after=$(curl -s -D - -o /dev/null -H 'Host: localhost' "http://127.0.0.1:$edge_port/css/style.css")
grep -qi '^cache-status: edge; hit' <<<"$after" && fail "still a hit after purging its tag: $after"
echo "docker-test: the image builds, runs as $(docker image inspect -f '{{.Config.User}}' "$image"), is healthy, and serves the tour"

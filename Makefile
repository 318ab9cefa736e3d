# The two commands that matter: `make run` and `make test`.
GO          ?= go
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
PKGS        := ./...

.PHONY: run test lint bench bench-go fuzz build redis-server versitygw pebble docker-test

# Starts the whole product on its embedded defaults (see ARCHITECTURE.md).
run:
	$(GO) run ./cmd/edge

build:
	$(GO) build ./cmd/...

# The whole suite, with the race detector and shuffled order; then the
# allocation and memory tests, which only measure right without it.
# Junk values in every variable the programs read prove that no test
# depends on the caller's environment (a test that needs one sets it).
test: export EDGE_ACCESS_KEY_ID := junk-access-key-from-make-test
test: export EDGE_SECRET_ACCESS_KEY := junk-secret-from-make-test
test: export EDGE_PURGE_TOKEN := junk-purge-token-from-make-test
test: redis-server versitygw pebble
	$(GO) test -race -shuffle=on -timeout 9m $(PKGS)
	$(GO) test -count=1 -run 'Allocates|MemoryFlat' $(PKGS)

# The Redis tests start their own redis-server (purge/redistest), so make
# test needs the binary: installed from Debian's packages when missing, as
# root. The package's own service (on :6379) is stopped and, under systemd,
# disabled: no test uses it, and none should find it by accident.
redis-server:
	@command -v redis-server >/dev/null 2>&1 && exit 0; \
	if [ "$$(id -u)" != 0 ]; then \
	  echo 'redis-server is missing: run `sudo apt-get install -y redis-server` (or make test as root, which installs it)' >&2; \
	  exit 1; \
	fi; \
	echo 'redis-server is missing: installing it with apt-get'; \
	apt-get update -qq || exit 1; \
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null || exit 1; \
	service redis-server stop >/dev/null 2>&1 || true; \
	if [ -d /run/systemd/system ]; then systemctl disable --now redis-server >/dev/null 2>&1 || true; fi; \
	redis-server --version

# The interop tests start a real S3 server, the Versity S3 Gateway
# (internal/versitygwtest), pinned and cached as $GOPATH/bin/versitygw-VERSION.
# Built here once, from the Go module proxy (about a minute), rather than
# inside a test's timeout; a temporary GOBIN beside it and a rename, so an
# interrupted build never leaves half a binary.
VERSITYGW_VERSION := v1.8.0
versitygw:
	@gopath=$$($(GO) env GOPATH | cut -d: -f1); [ -n "$$gopath" ] || exit 1; \
	bin="$$gopath/bin/versitygw-$(VERSITYGW_VERSION)"; \
	[ -x "$$bin" ] && exit 0; \
	echo "versitygw $(VERSITYGW_VERSION) is missing: installing it as $$bin"; \
	mkdir -p "$$(dirname "$$bin")" && tmp=$$(mktemp -d "$$(dirname "$$bin")/.versitygw-$(VERSITYGW_VERSION)-make-XXXXXX") || exit 1; \
	GOBIN="$$tmp" GOFLAGS= GOWORK=off $(GO) install github.com/versity/versitygw/cmd/versitygw@$(VERSITYGW_VERSION) \
	  && mv -f "$$tmp/versitygw" "$$bin"; rc=$$?; rm -rf "$$tmp"; exit $$rc

# The ACME tests run Pebble, Let's Encrypt's test CA, and its DNS
# (internal/pebbletest), cached as $GOPATH/bin/pebble-VERSION and
# pebble-challtestsrv-VERSION, built here from the Go module proxy.
PEBBLE_VERSION := v2.10.1
pebble:
	@gopath=$$($(GO) env GOPATH | cut -d: -f1); [ -n "$$gopath" ] || exit 1; \
	for cmd in pebble pebble-challtestsrv; do \
	  bin="$$gopath/bin/$$cmd-$(PEBBLE_VERSION)"; \
	  [ -x "$$bin" ] && continue; \
	  echo "$$cmd $(PEBBLE_VERSION) is missing: installing it as $$bin"; \
	  mkdir -p "$$(dirname "$$bin")" && tmp=$$(mktemp -d "$$(dirname "$$bin")/.$$cmd-$(PEBBLE_VERSION)-make-XXXXXX") || exit 1; \
	  GOBIN="$$tmp" GOFLAGS= GOWORK=off $(GO) install github.com/letsencrypt/pebble/v2/cmd/$$cmd@$(PEBBLE_VERSION) \
	    && mv -f "$$tmp/$$cmd" "$$bin"; rc=$$?; rm -rf "$$tmp"; [ $$rc = 0 ] || exit $$rc; \
	done

# The image (Dockerfile) built with no registry, started, and toured
# (docker/test.sh); installs docker.io and starts dockerd when missing.
docker-test:
	docker/test.sh

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change: $$out"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) run $(STATICCHECK) $(PKGS)

# Benchmarks. BENCH selects the Go benchmarks, e.g. make bench-go BENCH=Put
BENCH ?= .
# The standard load test set (hit throughput at 1 and 64 KiB, a Zipf mix,
# the consistency scenarios) against processes started on free
# loopback ports; results under bench-results/<date>/ (DURATION per run).
# SETUP=cluster (the default): a redis-server, cmd/origin and three
# cmd/edge -origin -redis, read through all three; SETUP=all-in-one: one
# cmd/edge with its embedded store. The cluster needs redis-server, which
# make redis-server installs when missing (as root).
DURATION ?= 20s
SETUP    ?= cluster
bench: $(if $(filter cluster,$(SETUP)),redis-server)
	DURATION=$(DURATION) SETUP=$(SETUP) loadtest/bench.sh

# The Go benchmarks (BENCH= a pattern).
bench-go:
	$(GO) test -run '^$$' -bench '$(BENCH)' -benchmem $(PKGS)

# Runs each fuzz target for FUZZTIME (seed corpora live in testdata/).
FUZZTIME ?= 30s
fuzz:
	@for pkg in $$($(GO) list $(PKGS)); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

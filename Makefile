# The two commands that matter: `make run` and `make test`.
GO          ?= go
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
PKGS        := ./...

.PHONY: run test lint bench fuzz build

# Starts the whole product on its embedded defaults (see ../shared/DESIGN.md).
run:
	$(GO) run ./cmd/edge

build:
	$(GO) build ./cmd/...

# The whole suite, with the race detector and shuffled order; then the
# allocation tests, which only count right without the race detector.
# Junk values in every variable the programs read prove that no test
# depends on the caller's environment (a test that needs one sets it).
test: export EDGE_ACCESS_KEY_ID := junk-access-key-from-make-test
test: export EDGE_SECRET_ACCESS_KEY := junk-secret-from-make-test
test: export EDGE_PURGE_TOKEN := junk-purge-token-from-make-test
test:
	$(GO) test -race -shuffle=on -timeout 9m $(PKGS)
	$(GO) test -count=1 -run 'Allocates' $(PKGS)

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change: $$out"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) run $(STATICCHECK) $(PKGS)

# Benchmarks; BENCH selects, e.g. make bench BENCH=Put
BENCH ?= .
bench:
	$(GO) test -run '^$$' -bench '$(BENCH)' -benchmem $(PKGS)

# Runs each fuzz target for FUZZTIME (seed corpora live in testdata/).
FUZZTIME ?= 30s
fuzz:
	@for pkg in $$($(GO) list $(PKGS)); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

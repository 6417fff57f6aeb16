# Sotto's build and test entry points. `make test` is what CI runs (.ci/run).
GO       ?= go
NODE     ?= node
# Bounded fuzzing in `make test`: each target runs this long. `make fuzz` runs longer.
FUZZTIME ?= 2s
FUZZTIME_LONG ?= 5m
# package:target pairs, every fuzz target in the repo.
# Pinned so that a new release's new checks cannot turn CI red by themselves.
STATICCHECK ?= $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2
CYCLONEDX_GOMOD ?= $(GO) run github.com/CycloneDX/cyclonedx-gomod/cmd/cyclonedx-gomod@v1.10.0
SBOM_DIR ?= bin/sbom
FUZZ_TARGETS = ./signal:FuzzDecode ./e2ee:FuzzParseHeader ./e2ee:FuzzDecrypt ./e2ee:FuzzOpenBlob \
	./signal:FuzzOrigin ./signal:FuzzSubprotocol ./internal/server:FuzzForwardedHeaders ./sfu:FuzzOffer ./sfu:FuzzAddCandidate \
	./static:FuzzStaticRequest ./e2ee:FuzzParseLink ./e2ee:FuzzParseKID ./e2ee:FuzzAcceptBlob \
	./pake:FuzzMember ./pake:FuzzJoiner ./pake:FuzzParseCode ./operator:FuzzToken ./operator:FuzzAPI ./sfu:FuzzStunLocalUfrag

.PHONY: run build sbom deps test check lint gotest jstest fuzz-short fuzz bench bench-sfu vulncheck clean

run:
	$(GO) run .

# The revision and date `sotto version` shows (Go's own VCS stamping is off
# where GOFLAGS has -buildvcs=false, and impossible in a Docker build).
REVISION   ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)$(shell git diff --quiet HEAD 2>/dev/null || echo +dirty)
BUILD_DATE ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags='-s -w -X main.buildRevision=$(REVISION) -X main.buildDate=$(BUILD_DATE)' -o bin/sotto .

# Software bills of materials, CycloneDX 1.6 JSON: the Go modules linked into
# the binary (cyclonedx-gomod's app mode: test-only modules are not shipped,
# so not listed) and the vendored browser libraries (from scripts/vendor.sh's
# pins, verified first).
sbom:
	mkdir -p $(SBOM_DIR)
	$(CYCLONEDX_GOMOD) app -json -licenses -output $(SBOM_DIR)/sotto-go.cdx.json -main . .
	bash scripts/vendor.sh --sbom > $(SBOM_DIR)/sotto-web.cdx.json
	@echo "SBOMs: $(SBOM_DIR)/sotto-go.cdx.json $(SBOM_DIR)/sotto-web.cdx.json"

# Installs (as root or with sudo, on Debian/Ubuntu) or names what the tests
# need beyond Go: scripts/deps.sh holds the one list. Quick when nothing is missing.
deps:
	bash scripts/deps.sh

test: deps check lint gotest jstest fuzz-short

# Formatting, vet, and the vendored browser code against its pinned
# checksums (offline): cheap, and they fail loudly.
check:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	cd deploy/cluster/k8scheck && $(GO) vet ./...
	bash scripts/vendor.sh --check

# staticcheck from the Go module proxy. govulncheck is not here: its database
# is out of reach of CI's network (make vulncheck, where it can be reached).
lint:
	$(STATICCHECK) ./...

# e2etest holds every system and browser test in one package: past go
# test's default 10-minute limit per package on 2 cores, so it gets its own.
GOTEST_TIMEOUT ?= 20m
# e2etest runs without -race: its Go code is a harness driving browsers and
# the sotto binary, which is built apart (internal/testutil) without the race
# detector, so -race there checks only the harness, at 1.7x its CPU (two
# browser tests: 18 s of user time against 11 s), CPU the browsers need on
# 2 cores. The race detector still sees every package the binary is made of,
# client/ included, in their own tests. TestCluster also times how fast
# 1,500 members come back when a node dies, and those members are this test
# process: under -race their TLS and crypto ran several times slower
# (p95 2.6-7.1 s against 1.3-1.6 s).
gotest:
	$(GO) test -race -count=1 -p 1 -timeout $(GOTEST_TIMEOUT) $$($(GO) list ./... | grep -v '^sotto/e2etest$$')
	$(GO) test -count=1 -timeout $(GOTEST_TIMEOUT) ./e2etest/
	# A module of its own (the Kubernetes API types stay out of go.mod): ./... skips it.
	cd deploy/cluster/k8scheck && $(GO) test -count=1 ./...

jstest:
	$(NODE) --test e2ee/jstest/ pake/jstest/ signal/jstest/ static/jstest/

# A finding fails it; Go 1.26's deadline race at -fuzztime's end does not
# (scripts/fuzz.sh says how it tells them apart).
fuzz-short:
	GO=$(GO) bash scripts/fuzz.sh $(FUZZTIME) $(FUZZ_TARGETS)

fuzz:
	$(MAKE) fuzz-short FUZZTIME=$(FUZZTIME_LONG)

# Benchmarks are never part of `make test`; figures go to BENCHMARKS.md.
bench:
	$(GO) test -run='^$$' -bench=. -benchmem ./...
	$(NODE) e2ee/jstest/bench.mjs

# Our SFU against a baseline forwarder written the way pion's sfu-ws example
# forwards, in one run; the last line is the ratio. About 40 s.
bench-sfu:
	$(GO) run ./cmd/loadgen -rooms 10 -listeners 20 -duration 10s

# Needs network access to the Go vulnerability database, which CI here lacks.
vulncheck:
	$(GO) run golang.org/x/vuln/cmd/govulncheck@latest ./...

clean:
	rm -rf bin

# chronik-e2e: `make help` lists the targets.
GO      ?= go
BIN     ?= bin/chronik-e2e
PROFILE ?= 3x3.yaml
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
FUZZTIME ?= 2m

# The fuzz targets, as package:target.
FUZZ_TARGETS = ./pkg/profile:FuzzParse ./pkg/report:FuzzParseJSON ./pkg/report:FuzzMerge ./cmd/chronik-e2e:FuzzRunFlags ./pkg/verify:FuzzReadStream ./pkg/verify:FuzzShardStream

.PHONY: help build test run lint bench clean generate fuzz

## help: list the targets
help:
	@grep -E '^## ' $(MAKEFILE_LIST) | sed 's/^## /  /'

## build: build the binary into bin/chronik-e2e
build:
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/chronik-e2e

## test: run every test (unit, misbehaving clusters, the binary end to end)
test:
	$(GO) test ./...

## fuzz: fuzz the profile loader, the report reader, the run flags and the verification core, FUZZTIME (default 2m) each
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		echo "fuzz $${t#*:} in $${t%%:*} for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$${t#*:}$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 10s "$${t%%:*}"; \
	done

## run: run PROFILE (default 3x3.yaml) on the embedded cluster
run: build
	./$(BIN) run --profile $(PROFILE)

## generate: regenerate the README's metric table and docs/report.schema.json from the code
generate:
	$(GO) generate ./pkg/gate ./pkg/report

## lint: go vet and gofmt
lint:
	$(GO) vet ./...
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

## bench: benchmarks of the hot paths, the runner against bare sarama in-process and through link proxies, then chronik-e2e bench (bare sarama, both engines, kcat; a cluster in another process); prints the ratios (bench.out is for benchstat)
bench: build
	bash -o pipefail -c "$(GO) test -run '^$$' -bench . -skip 'VsSarama|ThroughProxy' -benchmem -count 3 ./... | tee bench.out"
	bash -o pipefail -c "$(GO) test -run '^$$' -bench 'VsSarama|ThroughProxy' -benchmem -count 3 -benchtime 400000x ./pkg/scenarios | tee -a bench.out"
	@echo; echo "runner / bare sarama in-process (batch engine target >= 2, sarama engine >= 0.9), proxied / direct (no measurable cost), and the ledger's bytes per message (target <= 16):"
	@awk '{ for (i = 3; i < NF; i++) if ($$(i+1) == "ratio" || $$(i+1) == "ledger-B/msg") printf "  %-42s %8s %s\n", $$1, $$i, $$(i+1) }' bench.out
	./$(BIN) bench

## clean: remove build output
clean:
	rm -rf bin bench.out

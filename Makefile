# BucketDB. `make run` starts a single node; `make test` runs everything.
GO      ?= go
BIN     := bin/bucketdb
DATA    ?= ./bucketdb-data
LISTEN  ?= 127.0.0.1:9000
PKGS    := $(shell $(GO) list ./... | grep -v /integration)

.PHONY: all build run test unit integration race vet fmt bench fsbench cluster-start cluster-stop clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/bucketdb

run: build
	$(BIN) server --data $(DATA) --listen $(LISTEN)

# Everything CI runs: formatting, vet, unit tests with the race detector, then
# the end-to-end tests against the real binary (real processes, real FUSE).
test: vet unit integration

vet:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...

unit:
	$(GO) test -race -count=1 -timeout 10m $(PKGS)

integration:
	$(GO) test -count=1 -timeout 20m ./integration/...

bench:
	bash scripts/bench.sh

fsbench:
	bash scripts/fsbench.sh $(MOUNT)

clean:
	rm -rf bin

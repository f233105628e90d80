# ffrtmp build. Every target builds what it needs first; `make deps` is idempotent and takes
# seconds once the FFmpeg prefix exists.

FFMPEG_PREFIX ?= /opt/ffrtmp/ffmpeg-7.1
GO ?= go

# cgo finds FFmpeg through pkg-config; binaries carry the prefix as DT_RPATH (not RUNPATH:
# libavfilter's own dependency on libpostproc is only found through an RPATH).
export PKG_CONFIG_PATH := $(FFMPEG_PREFIX)/lib/pkgconfig
export CGO_LDFLAGS := -Wl,--disable-new-dtags -Wl,-rpath,$(FFMPEG_PREFIX)/lib
# go-nvml's NVML 13 header marks calls it still wraps as deprecated: keep its cgo build quiet.
export CGO_CFLAGS := -O2 -g -Wno-deprecated-declarations
export FFRTMP_FFMPEG_PREFIX := $(FFMPEG_PREFIX)
export FFMPEG_PREFIX

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/ffrtmp/ffrtmp/internal/version.Version=$(VERSION) \
           -X github.com/ffrtmp/ffrtmp/internal/version.Commit=$(shell git rev-parse --short HEAD 2>/dev/null)

.PHONY: deps build test fuzz run docs bench bench-engine bench-master bench-cluster bench-worker bench-live bench-console check-go clean

check-go:
	@command -v $(GO) >/dev/null || { echo "Go 1.26 or newer is required (https://go.dev/dl/)"; exit 1; }
	@$(GO) version | awk '{split($$3,v,"go"); split(v[2],n,"."); if (n[1] < 1 || (n[1] == 1 && n[2] < 26)) { print "Go 1.26 or newer is required, found " $$3; exit 1 }}'

deps: check-go
	scripts/build-ffmpeg.sh

build: deps
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/ ./cmd/ffrtmp ./cmd/ffrtmp-worker
	CGO_ENABLED=0 $(GO) build -ldflags "$(LDFLAGS)" -o bin/ ./cmd/ffrtmp-master

# api/ is a Go module of its own (the client, standard library only): ./... at the root does
# not reach it, so it is vetted and tested from its folder.
test: deps
	$(GO) vet ./...
	$(GO) vet -tags nvidia ./engine/ ./hw/   # the GPU tests compile here too, not only on a GPU
	cd api && $(GO) vet ./...
	CGO_ENABLED=0 $(GO) build -o /dev/null ./cmd/ffrtmp-master   # the master links no C
	$(GO) test -count=1 -timeout 20m ./...
	cd api && $(GO) test -count=1 ./...
	FUZZTIME=$(TEST_FUZZTIME) GO=$(GO) scripts/fuzz.sh

# Every fuzz target (scripts/fuzz.sh finds them) for FUZZTIME each; `go test` already runs
# their seed corpora (testdata/fuzz/), and make test fuzzes each for TEST_FUZZTIME: a count
# of inputs, not a time (a time-bounded run can end in a spurious "context deadline exceeded"
# when the deadline falls on an input in flight, which would fail make test for nothing).
FUZZTIME ?= 60s
TEST_FUZZTIME ?= 1000x
fuzz: deps
	FUZZTIME=$(FUZZTIME) GO=$(GO) scripts/fuzz.sh

# The main job: the all-in-one farm (master + worker, data in ./ffrtmp-data) with a demo job,
# a synthetic 1080p source into a 3-rung HLS ladder, submitted and followed. Ctrl-C stops it.
run: build
	bin/ffrtmp run --demo $(RUN_FLAGS)

# doc/config.md, generated from the flag definitions (a test checks it is current).
docs: build
	bin/ffrtmp docs config > doc/config.md

# ffrtmp bench: encoders and this machine (BENCH_FLAGS="--scenario 1080p30 --vs-ffmpeg", or
# --farm --master URL); without BENCH_FLAGS the --quick profile. Writes
# bench/results/bench-<time>/.
bench: build
	bin/ffrtmp bench --out bench/results/bench-$$(date -u +%Y%m%dT%H%M%SZ) $(or $(BENCH_FLAGS),--quick)

bench-engine: build
	$(GO) run ./bench/cmd/bench-engine -out bench/results $(BENCH_FLAGS)

# The master under load on loopback, fsync on: submit, lease and list latency against the
# issue's targets, as a table and bench/results/master-*.json. Needs no FFmpeg: the master
# and this benchmark link no C. BENCH_FLAGS=-quick for a smoke run.
bench-master: check-go
	CGO_ENABLED=0 $(GO) run ./bench/cmd/bench-master -out bench/results $(BENCH_FLAGS)

# Replicated masters beside a single one, same run, loopback, fsync on: submits through the
# leader and through a follower, lease latency with a deep queue, leader SIGKILL -> first
# acknowledged submit, as a table and bench/results/cluster-*.json. Needs no FFmpeg.
# BENCH_FLAGS=-quick for a smoke run (3 kills), "-kills 50" for more.
bench-cluster: check-go
	CGO_ENABLED=0 $(GO) run ./bench/cmd/bench-cluster -out bench/results $(BENCH_FLAGS)

# A worker's executor processes: start-up overhead per job against engine.Run in-process,
# and N concurrent 1080p->720p jobs against N concurrent ffmpeg processes with equal
# settings, as a table and bench/results/worker-*.json; the executor is the bin/ffrtmp-worker
# that build made. BENCH_FLAGS=-quick for a smoke run, -full to add N=4.
bench-worker: build
	$(GO) run ./bench/cmd/bench-worker -out bench/results -worker bin/ffrtmp-worker $(BENCH_FLAGS)

bench-live: build
	$(GO) run ./bench/cmd/bench-live -out bench/results -ffrtmp bin/ffrtmp $(BENCH_FLAGS)

# The console in Debian's chromium on a busy farm: a million jobs stored, a thousand running
# and reporting progress every second; the jobs page's first render and the long tasks of
# its live updates against the issue's targets, as a table and bench/results/console-*.json.
# Needs no FFmpeg. BENCH_FLAGS=-quick for a smoke run.
bench-console: check-go
	CGO_ENABLED=0 $(GO) run ./bench/cmd/bench-console -out bench/results $(BENCH_FLAGS)

clean:
	rm -rf bin out

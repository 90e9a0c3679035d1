# Sluice: the two commands are `make run` and `make test`.

SHELL := /bin/bash
GO = $(shell scripts/ensure-go.sh)
BIN := bin/sluice
DATA ?= sluice-data
LISTEN ?= 127.0.0.1:8080
# SOURCE: an MP4 to loop as the demo channel; a sample is generated when empty.
SOURCE ?=
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

.PHONY: run test build deps sample fuzz bench bench-ladder bench-startup bench-ingest bench-metrics bench-edge bench-latency bench-origin bench-sendfile bench-vod bench-webrtc clean help

help:
	@echo "make run     install ffmpeg if missing, build, start sluice with the demo channel"
	@echo "make test    install test dependencies, run every quality gate and the whole suite"
	@echo "make build   build $(BIN)"
	@echo "make fuzz    run every fuzz test for a while"
	@echo "make bench   run the benchmarks in bench/"

## run: the live encoding loop demo (an MP4 looped as a live ABR channel)
run: deps build sample
	$(BIN) serve --listen $(LISTEN) --data $(DATA) --apply examples/lilo.yaml

## test: the whole suite with its quality gates, as CI runs it
test:
	scripts/test.sh

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-X github.com/sluice-video/sluice/internal/cli.Version=$(VERSION)" -o $(BIN) ./cmd/sluice

deps:
	scripts/deps.sh run

sample:
	@install -d -m 700 $(DATA)
	@mkdir -p $(DATA)/media
	@if [ -n "$(SOURCE)" ]; then ln -sf "$(abspath $(SOURCE))" $(DATA)/media/sample.mp4; else scripts/sample.sh $(DATA)/media/sample.mp4; fi

## fuzz: every fuzz target that `go test -list '^Fuzz'` finds in FUZZPKGS
## (default ./...), FUZZTIME each
FUZZTIME ?= 30s
FUZZPKGS ?=
fuzz:
	GO=$(GO) FUZZTIME=$(FUZZTIME) scripts/fuzz.sh $(FUZZPKGS)

bench: bench-ladder bench-startup bench-ingest bench-metrics bench-edge bench-latency bench-origin bench-sendfile bench-vod bench-webrtc

bench-ladder: build
	$(GO) run ./bench/ladder --sluice $(BIN)

bench-startup: build
	$(GO) run ./bench/startup --sluice $(BIN)

bench-ingest: build
	$(GO) run ./bench/ingest --sluice $(BIN)

bench-metrics:
	$(GO) run ./bench/metrics

bench-edge: build
	scripts/deps.sh bench-edge
	$(GO) run ./bench/edge --sluice $(BIN)

bench-latency: build
	scripts/deps.sh bench
	$(GO) run ./bench/latency --sluice $(BIN)

bench-webrtc: build
	$(GO) run ./bench/webrtc --sluice $(BIN)

bench-origin: build
	scripts/deps.sh bench
	$(GO) run ./bench/origin --sluice $(BIN)

bench-sendfile:
	scripts/deps.sh bench
	$(GO) run ./bench/sendfile

bench-vod: build
	$(GO) run ./bench/vod --sluice $(BIN)

clean:
	rm -rf bin .tools

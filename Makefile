# Sluice: the two commands are `make run` and `make test`.

SHELL := /bin/bash
GO = $(shell scripts/ensure-go.sh)
BIN := bin/sluice
DATA ?= sluice-data
LISTEN ?= 127.0.0.1:8080
# SOURCE: an MP4 to loop as the demo channel; a sample is generated when empty.
SOURCE ?=
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

.PHONY: run test build deps sample fuzz bench bench-ladder bench-startup bench-ingest bench-metrics bench-edge bench-latency bench-origin bench-sendfile bench-vod clean help

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
	@mkdir -p $(DATA)/media
	@if [ -n "$(SOURCE)" ]; then ln -sf "$(abspath $(SOURCE))" $(DATA)/media/sample.mp4; else scripts/sample.sh $(DATA)/media/sample.mp4; fi

FUZZTIME ?= 30s
fuzz:
	$(GO) test -run='^$$' -fuzz=FuzzReader -fuzztime=$(FUZZTIME) -fuzzminimizetime=5s ./internal/packager/cmaf/
	$(GO) test -run='^$$' -fuzz=FuzzIngestRenders -fuzztime=$(FUZZTIME) -fuzzminimizetime=5s ./internal/packager/cmaf/
	$(GO) test -run='^$$' -fuzz=FuzzParse -fuzztime=$(FUZZTIME) -fuzzminimizetime=5s ./internal/config/
	$(GO) test -run='^$$' -fuzz=FuzzParseDirectives -fuzztime=$(FUZZTIME) -fuzzminimizetime=5s ./internal/packager/hls/
	$(GO) test -run='^$$' -fuzz=FuzzRemux -fuzztime=$(FUZZTIME) -fuzzminimizetime=5s ./internal/packager/ts/
	$(GO) test -run='^$$' -fuzz=FuzzParseQuery -fuzztime=$(FUZZTIME) -fuzzminimizetime=5s ./internal/dvr/
	$(GO) test -run='^$$' -fuzz=FuzzReadTS -fuzztime=$(FUZZTIME) -fuzzminimizetime=5s ./internal/input/live/
	$(GO) test -run='^$$' -fuzz=FuzzDemux -fuzztime=$(FUZZTIME) -fuzzminimizetime=5s ./internal/input/rtmp/
	$(GO) test -run='^$$' -fuzz=FuzzNegotiate -fuzztime=$(FUZZTIME) -fuzzminimizetime=5s ./internal/input/rtmp/
	$(GO) test -run='^$$' -fuzz=FuzzParseStreamID -fuzztime=$(FUZZTIME) -fuzzminimizetime=5s ./internal/input/srt/
	$(GO) test -run='^$$' -fuzz=FuzzParseRTP -fuzztime=$(FUZZTIME) -fuzzminimizetime=5s ./internal/input/udp/
	$(GO) test -run='^$$' -fuzz=FuzzReorder -fuzztime=$(FUZZTIME) -fuzzminimizetime=5s ./internal/input/udp/
	$(GO) test -run='^$$' -fuzz=FuzzCleanKey -fuzztime=$(FUZZTIME) -fuzzminimizetime=5s ./internal/storage/
	$(GO) test -run='^$$' -fuzz=FuzzParseLocation -fuzztime=$(FUZZTIME) -fuzzminimizetime=5s ./internal/storage/
	$(GO) test -run='^$$' -fuzz=FuzzReadSSE -fuzztime=$(FUZZTIME) -fuzzminimizetime=5s ./internal/cli/
	$(GO) test -run='^$$' -fuzz=FuzzCacheKey -fuzztime=$(FUZZTIME) -fuzzminimizetime=5s ./internal/edge/
	$(GO) test -run='^$$' -fuzz=FuzzVerify -fuzztime=$(FUZZTIME) -fuzzminimizetime=5s ./internal/signing/
	$(GO) test -run='^$$' -fuzz=FuzzSplitter -fuzztime=$(FUZZTIME) -fuzzminimizetime=5s ./internal/output/
	$(GO) test -run='^$$' -fuzz=FuzzFrameReader -fuzztime=$(FUZZTIME) -fuzzminimizetime=5s ./internal/output/
	$(GO) test -run='^$$' -fuzz=FuzzParseFrameRequest -fuzztime=$(FUZZTIME) -fuzzminimizetime=5s ./internal/output/

bench: bench-ladder bench-startup bench-ingest bench-metrics bench-edge bench-latency bench-origin bench-sendfile bench-vod

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

// Command startup measures how long a Sluice channel takes to start: from
// the POST /api/v1/channels/{name}/start request to the moment every media
// playlist of the channel's HLS multivariant playlist lists a segment,
// polled every 50 ms, over several start/stop cycles of a file input
// (generated 1080p30 MP4, default-1080p veryfast) and of a 720p test
// pattern (test-360p).
//
//	go run ./bench/startup [--runs 5] [--json FILE]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/sluice-video/sluice/bench/internal/child"
	"github.com/sluice-video/sluice/bench/internal/media"
	"github.com/sluice-video/sluice/bench/internal/report"
	"github.com/sluice-video/sluice/bench/internal/sluice"
)

func main() {
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "startup:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, cfg)
	stop()
	os.Exit(code)
}

// startupReport is the JSON document of a run.
type startupReport struct {
	Benchmark string         `json:"benchmark"`
	Command   string         `json:"command"`
	Machine   report.Machine `json:"machine"`
	PollMs    int64          `json:"pollMilliseconds"`
	Cases     []caseResult   `json:"cases"`
}

// benchCase is a channel of the benchmark stack and how it is described.
type benchCase struct {
	key     string
	input   sluice.Input
	channel sluice.Channel
	text    string
}

// benchCases are the channels measured, in order.
func benchCases(cfg config, src media.Source, srcFile string) []benchCase {
	all := []benchCase{
		{
			key:     "file",
			input:   sluice.Input{Name: "file-source", File: srcFile},
			channel: sluice.Channel{Name: "file", Input: "file-source", Ladder: cfg.fileLadder, Preset: cfg.filePreset},
			text:    fmt.Sprintf("FILE %dx%dp%d MP4", src.Width, src.Height, src.FPS),
		},
		{
			key:     "pattern",
			input:   sluice.Input{Name: "pattern-source", PatternWidth: 1280, PatternHeight: 720},
			channel: sluice.Channel{Name: "pattern", Input: "pattern-source", Ladder: cfg.patternLadder, Preset: cfg.patternPreset},
			text:    "TEST_PATTERN 1280x720p30",
		},
	}
	var out []benchCase
	for _, c := range all {
		for _, k := range cfg.cases {
			if c.key == k {
				out = append(out, c)
			}
		}
	}
	return out
}

// run performs the benchmark and returns the exit code: 0 when every run
// was measured, 1 otherwise, 130 when interrupted.
func run(ctx context.Context, cfg config) int {
	log := report.NewLog(os.Stderr)
	var cleanup child.Cleanup
	defer cleanup.Run()
	fail := func(err error) int {
		if ctx.Err() != nil {
			log.Printf("interrupted; stopping every process started")
			return 130
		}
		log.Printf("error: %v", err)
		return 1
	}

	bin, err := sluice.Binary(ctx, cfg.sluiceBin, log.Printf)
	if err != nil {
		return fail(err)
	}
	dir, err := os.MkdirTemp("", "sluice-bench-startup-")
	if err != nil {
		return fail(err)
	}
	if cfg.keep {
		log.Printf("keeping %s", dir)
	} else {
		cleanup.Add(func() { _ = os.RemoveAll(dir) })
	}
	dataDir := filepath.Join(dir, "data")
	if err := os.MkdirAll(filepath.Join(dataDir, "media"), 0o750); err != nil {
		return fail(err)
	}
	src := media.Source{Width: 1920, Height: 1080, FPS: 30, Seconds: cfg.sourceSeconds}
	cases := benchCases(cfg, src, "source.mp4")
	for _, c := range cases {
		if c.input.File != "" {
			log.Printf("generating the source: %s", src)
			if err := media.Generate(ctx, cfg.ffmpeg, filepath.Join(dataDir, "media", c.input.File), src); err != nil {
				return fail(err)
			}
		}
	}
	var inputs []sluice.Input
	var channels []sluice.Channel
	for _, c := range cases {
		inputs = append(inputs, c.input)
		channels = append(channels, c.channel)
	}
	stackPath := filepath.Join(dir, "stack.yaml")
	if err := os.WriteFile(stackPath, []byte(sluice.StackYAML("startup-bench", inputs, channels)), 0o644); err != nil {
		return fail(err)
	}
	machine := report.DescribeMachine(ctx, cfg.ffmpeg, sluice.Version(ctx, bin))
	for _, l := range machine.Lines() {
		log.Printf("%s", l)
	}
	log.Printf("starting sluice serve")
	srv, err := sluice.StartServer(ctx, sluice.ServerConfig{Binary: bin, DataDir: dataDir, FFmpeg: cfg.ffmpeg, Apply: []string{stackPath}})
	if err != nil {
		return fail(err)
	}
	cleanup.Add(srv.Stop)

	var results []caseResult
	failed := false
	for _, c := range cases {
		res, err := measureCase(ctx, log, srv, cfg, c)
		res.summarise()
		if ctx.Err() != nil {
			return fail(ctx.Err())
		}
		if err != nil {
			log.Printf("%s: %v", c.key, err)
			res.Error = err.Error()
			failed = true
		}
		results = append(results, res)
	}
	srv.Stop()
	for _, p := range srv.LogProblems() {
		log.Printf("server log: %s", p)
	}

	rep := startupReport{
		Benchmark: "startup",
		Command:   report.CommandLine("go run ./bench/startup", os.Args[1:]),
		Machine:   machine,
		PollMs:    cfg.poll.Milliseconds(),
		Cases:     results,
	}
	fmt.Println()
	for _, l := range machine.Lines() {
		fmt.Println(l)
	}
	_ = runsTable(results).Write(os.Stdout)
	_ = summaryTable(results).Write(os.Stdout)
	if cfg.jsonPath != "" {
		if err := report.WriteJSON(cfg.jsonPath, rep); err != nil {
			return fail(err)
		}
		log.Printf("results written to %s", cfg.jsonPath)
	}
	if failed {
		return 1
	}
	return 0
}

// measureCase runs the start/stop cycles of one channel.
func measureCase(ctx context.Context, log *report.Log, srv *sluice.Server, cfg config, c benchCase) (caseResult, error) {
	res := caseResult{Name: c.key, Input: c.text, Ladder: c.channel.Ladder, Preset: c.channel.Preset}
	cy := cycle{srv: srv, channel: c.channel.Name, endpoint: "hls", poll: cfg.poll, timeout: cfg.timeout}
	if _, err := srv.WaitState(ctx, c.channel.Name, time.Minute, "IDLE"); err != nil {
		return res, err
	}
	for n := 1; n <= cfg.runs; n++ {
		log.Printf("%s: run %d/%d: starting channel %s (%s)", c.key, n, cfg.runs, c.channel.Name, res.ladderText())
		r, err := cy.run(ctx, n)
		if err != nil {
			_ = cy.stop(ctx)
			return res, err
		}
		res.Runs = append(res.Runs, r)
		log.Printf("%s: run %d/%d: every playlist (%d) has a segment after %.2f s (encoder started %.2f s, RUNNING %.2f s)",
			c.key, n, cfg.runs, len(r.Playlists), r.Seconds, r.EncoderSeconds, r.RunningSeconds)
		if err := cy.stop(ctx); err != nil {
			return res, err
		}
		if err := sleepCtx(ctx, cfg.pause); err != nil {
			return res, err
		}
	}
	return res, nil
}

// sleepCtx waits for d unless ctx ends first.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

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
	"fmt"
	"os"
	"time"

	"github.com/sluice-video/sluice/bench/internal/harness"
	"github.com/sluice-video/sluice/bench/internal/media"
	"github.com/sluice-video/sluice/bench/internal/report"
	"github.com/sluice-video/sluice/bench/internal/sluice"
	"github.com/sluice-video/sluice/internal/resource"
)

func main() { harness.Main("startup", parseFlags, run) }

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
	ws, err := harness.Start(ctx, "startup", cfg.Flags)
	defer ws.Cleanup.Run()
	if err != nil {
		return ws.Fail(ctx, err)
	}
	log := ws.Log
	src := cfg.Source()
	cases := benchCases(cfg, src, "source.mp4")
	for _, c := range cases {
		if c.input.File != "" {
			if _, err := ws.Generate(ctx, src, c.input.File); err != nil {
				return ws.Fail(ctx, err)
			}
		}
	}
	var inputs []sluice.Input
	var channels []sluice.Channel
	for _, c := range cases {
		inputs = append(inputs, c.input)
		channels = append(channels, c.channel)
	}
	machine := ws.Machine(ctx)
	srv, err := ws.Serve(ctx, cfg.FFmpeg, sluice.StackYAML("startup-bench", inputs, channels))
	if err != nil {
		return ws.Fail(ctx, err)
	}

	var results []caseResult
	failed := false
	for _, c := range cases {
		res, err := measureCase(ctx, log, srv, cfg, c)
		res.summarise()
		if ctx.Err() != nil {
			return ws.Fail(ctx, ctx.Err())
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
	return ws.Finish(ctx, rep, failed)
}

// measureCase runs the start/stop cycles of one channel.
func measureCase(ctx context.Context, log *report.Log, srv *sluice.Server, cfg config, c benchCase) (caseResult, error) {
	res := caseResult{Name: c.key, Input: c.text, Ladder: c.channel.Ladder, Preset: c.channel.Preset}
	cy := cycle{srv: srv, channel: c.channel.Name, endpoint: "hls", poll: cfg.poll, timeout: cfg.timeout}
	if _, err := srv.WaitState(ctx, c.channel.Name, time.Minute, resource.StateIdle); err != nil {
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
		if err := harness.Sleep(ctx, cfg.pause); err != nil {
			return res, err
		}
	}
	return res, nil
}

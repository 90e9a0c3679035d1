package main

import (
	"errors"
	"io"
	"time"

	"github.com/sluice-video/sluice/bench/internal/harness"
)

// config is the command line.
type config struct {
	harness.Flags
	watch    time.Duration
	follow   time.Duration
	ladder   string
	preset   string
	browser  bool
	contends []string
}

// contenderNames are the contenders, in the order they run.
var contenderNames = []string{"sluice-llhls", "sluice-hls", "ffmpeg-hls"}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := harness.NewFlagSet("latency", `Usage: go run ./bench/latency [flags]

Measures the live latency of Sluice LL-HLS (1 s segments, 200 ms parts),
Sluice HLS (2 s segments) and bare ffmpeg HLS (2 s segments, its own HLS
muxer, served as files) from the same looped source, one after the other:
hls.js in headless Chromium (wall clock minus hls.playingDate, sampled once
a second over the second half of --watch) and a Go client following the
media playlist (wall clock at which each segment or part is listed minus
the end of its media in program date-time). Prints them beside the
published MediaMTX and ffmpeg figures.

Flags:
`, stderr)
	c.Register(fs, "the source and the bare ffmpeg HLS contender")
	only := fs.String("only", "sluice-llhls,sluice-hls,ffmpeg-hls", "contenders to run, comma-separated")
	fs.DurationVar(&c.watch, "watch", 40*time.Second, "how long hls.js plays each contender")
	fs.DurationVar(&c.follow, "follow", 20*time.Second, "how long the Go client follows each contender")
	fs.StringVar(&c.ladder, "ladder", "test-360p", "ladder of the Sluice channels")
	fs.StringVar(&c.preset, "preset", "ultrafast", "x264 preset of every encoder")
	fs.BoolVar(&c.browser, "browser", true, "also measure with hls.js in headless Chromium")
	if err := harness.Parse(fs, args); err != nil {
		return c, err
	}
	var err error
	if c.contends, err = harness.SplitNames("only", "contender", *only, contenderNames); err != nil {
		return c, err
	}
	if c.watch < 10*time.Second || c.follow < 5*time.Second {
		return c, errors.New("--watch must be at least 10s and --follow at least 5s")
	}
	return c, nil
}

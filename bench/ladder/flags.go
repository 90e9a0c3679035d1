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
	ladder       string
	preset       string
	duration     time.Duration
	warmup       time.Duration
	startTimeout time.Duration
	rounds       int
	only         []string
}

// parseFlags reads the command line; --help prints the usage and returns
// flag.ErrHelp.
func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := harness.NewFlagSet("ladder", `Usage: go run ./bench/ladder [flags]

Measures the CPU seconds a running Sluice channel spends per second of
ladder output (sluice serve + its ffmpeg), then the same for Sluice's
encoder command run bare with outputs to /dev/null, and for one ffmpeg per
rung. The contenders run one after the other (with --rounds N the sequence
repeats N times, every other round in reverse order, and the comparison
uses medians). Prints tables; --json
also writes the results to a file.

Flags:
`, stderr)
	c.Register(fs, "the anchors")
	only := fs.String("only", "sluice,bare,separate", "contenders to run, comma-separated: sluice, bare, separate")
	fs.StringVar(&c.ladder, "ladder", "default-1080p", "built-in ladder")
	fs.StringVar(&c.preset, "preset", "veryfast", "x264 preset for every rung (empty: the ladder's own)")
	fs.DurationVar(&c.duration, "duration", 60*time.Second, "measured steady state per contender")
	fs.DurationVar(&c.warmup, "warmup", 5*time.Second, "skipped after a contender first outputs media")
	fs.DurationVar(&c.startTimeout, "start-timeout", 2*time.Minute, "how long the channel may take to reach RUNNING")
	fs.IntVar(&c.rounds, "rounds", 1, "measure every contender this many times, interleaved; the tables give medians")
	if err := harness.Parse(fs, args); err != nil {
		return c, err
	}
	var known []string
	for _, k := range contenderOrder() {
		known = append(known, k.name)
	}
	var err error
	if c.only, err = harness.SplitNames("only", "contender", *only, known); err != nil {
		return c, err
	}
	if c.duration <= 0 || c.SourceSeconds <= 0 || c.rounds <= 0 {
		return c, errors.New("--duration, --source-seconds and --rounds must be positive")
	}
	return c, nil
}

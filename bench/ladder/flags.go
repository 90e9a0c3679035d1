package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"
)

// config is the command line.
type config struct {
	sluiceBin     string
	ffmpeg        string
	ladder        string
	preset        string
	duration      time.Duration
	warmup        time.Duration
	startTimeout  time.Duration
	sourceSeconds int
	rounds        int
	only          []string
	jsonPath      string
	keep          bool
}

// parseFlags reads the command line; --help prints the usage and returns
// flag.ErrHelp.
func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("ladder", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: go run ./bench/ladder [flags]

Measures the CPU seconds a running Sluice channel spends per second of
ladder output (sluice serve + its ffmpeg), then the same for Sluice's
encoder command run bare with outputs to /dev/null, and for one ffmpeg per
rung. The contenders run one after the other (with --rounds N the sequence
repeats N times, every other round in reverse order, and the comparison
uses medians). Prints tables; --json
also writes the results to a file.

Flags:
`)
		fs.PrintDefaults()
	}
	only := fs.String("only", "sluice,bare,separate", "contenders to run, comma-separated: sluice, bare, separate")
	fs.StringVar(&c.sluiceBin, "sluice", "", "sluice binary (default: bin/sluice of the module, built if missing)")
	fs.StringVar(&c.ffmpeg, "ffmpeg", "ffmpeg", "ffmpeg binary, for the server and the anchors")
	fs.StringVar(&c.ladder, "ladder", "default-1080p", "built-in ladder")
	fs.StringVar(&c.preset, "preset", "veryfast", "x264 preset for every rung (empty: the ladder's own)")
	fs.DurationVar(&c.duration, "duration", 60*time.Second, "measured steady state per contender")
	fs.DurationVar(&c.warmup, "warmup", 5*time.Second, "skipped after a contender first outputs media")
	fs.DurationVar(&c.startTimeout, "start-timeout", 2*time.Minute, "how long the channel may take to reach RUNNING")
	fs.IntVar(&c.sourceSeconds, "source-seconds", 30, "length of the generated source file (looped)")
	fs.IntVar(&c.rounds, "rounds", 1, "measure every contender this many times, interleaved; the tables give medians")
	fs.StringVar(&c.jsonPath, "json", "", "also write the results as JSON to this file")
	fs.BoolVar(&c.keep, "keep", false, "keep the temporary directory (logs, data) instead of removing it")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	known := map[string]bool{}
	for _, k := range contenderOrder() {
		known[k.name] = true
	}
	for _, o := range strings.Split(*only, ",") {
		o = strings.TrimSpace(o)
		if !known[o] {
			return c, fmt.Errorf("--only: unknown contender %q", o)
		}
		c.only = append(c.only, o)
	}
	if c.duration <= 0 || c.sourceSeconds <= 0 || c.rounds <= 0 {
		return c, errors.New("--duration, --source-seconds and --rounds must be positive")
	}
	return c, nil
}

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
	runs          int
	fileLadder    string
	filePreset    string
	patternLadder string
	patternPreset string
	sourceSeconds int
	poll          time.Duration
	timeout       time.Duration
	pause         time.Duration
	cases         []string
	jsonPath      string
	keep          bool
}

// parseFlags reads the command line; --help prints the usage and returns
// flag.ErrHelp.
func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("startup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: go run ./bench/startup [flags]

Measures the seconds from POST /api/v1/channels/{name}/start to the moment
every media playlist of the channel's HLS multivariant playlist lists a
segment of the new run, over --runs start/stop cycles of a FILE input
(generated 1080p30 MP4) and of a 720p TEST_PATTERN input. Prints every run,
the median and the maximum per case against the target (segment + 1 s) and
the managed-service anchor; --json also writes the results to a file.

Flags:
`)
		fs.PrintDefaults()
	}
	cases := fs.String("cases", "file,pattern", "cases to run, comma-separated: file, pattern")
	fs.StringVar(&c.sluiceBin, "sluice", "", "sluice binary (default: bin/sluice of the module, built if missing)")
	fs.StringVar(&c.ffmpeg, "ffmpeg", "ffmpeg", "ffmpeg binary, for the server and the source")
	fs.IntVar(&c.runs, "runs", 5, "start/stop cycles per case")
	fs.StringVar(&c.fileLadder, "file-ladder", "default-1080p", "ladder of the FILE channel")
	fs.StringVar(&c.filePreset, "file-preset", "veryfast", "x264 preset of the FILE channel (empty: the ladder's own)")
	fs.StringVar(&c.patternLadder, "pattern-ladder", "test-360p", "ladder of the TEST_PATTERN channel")
	fs.StringVar(&c.patternPreset, "pattern-preset", "", "x264 preset of the TEST_PATTERN channel (empty: the ladder's own)")
	fs.IntVar(&c.sourceSeconds, "source-seconds", 30, "length of the generated source file (looped)")
	fs.DurationVar(&c.poll, "poll", 50*time.Millisecond, "playlist polling interval")
	fs.DurationVar(&c.timeout, "timeout", time.Minute, "give up on a start after this long")
	fs.DurationVar(&c.pause, "pause", 2*time.Second, "pause after a channel is IDLE again, before the next start")
	fs.StringVar(&c.jsonPath, "json", "", "also write the results as JSON to this file")
	fs.BoolVar(&c.keep, "keep", false, "keep the temporary directory (logs, data) instead of removing it")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	for _, k := range strings.Split(*cases, ",") {
		k = strings.TrimSpace(k)
		if k != "file" && k != "pattern" {
			return c, fmt.Errorf("--cases: unknown case %q", k)
		}
		c.cases = append(c.cases, k)
	}
	if c.runs < 1 || c.poll <= 0 || c.sourceSeconds < 1 {
		return c, errors.New("--runs, --poll and --source-seconds must be positive")
	}
	return c, nil
}

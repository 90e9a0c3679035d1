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
	runs          int
	fileLadder    string
	filePreset    string
	patternLadder string
	patternPreset string
	poll          time.Duration
	timeout       time.Duration
	pause         time.Duration
	cases         []string
}

// parseFlags reads the command line; --help prints the usage and returns
// flag.ErrHelp.
func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := harness.NewFlagSet("startup", `Usage: go run ./bench/startup [flags]

Measures the seconds from POST /api/v1/channels/{name}/start to the moment
every media playlist of the channel's HLS multivariant playlist lists a
segment of the new run, over --runs start/stop cycles of a FILE input
(generated 1080p30 MP4) and of a 720p TEST_PATTERN input. Prints every run,
the median and the maximum per case against the target (segment + 1 s) and
the managed-service anchor; --json also writes the results to a file.

Flags:
`, stderr)
	c.Register(fs, "the source")
	cases := fs.String("cases", "file,pattern", "cases to run, comma-separated: file, pattern")
	fs.IntVar(&c.runs, "runs", 5, "start/stop cycles per case")
	fs.StringVar(&c.fileLadder, "file-ladder", "default-1080p", "ladder of the FILE channel")
	fs.StringVar(&c.filePreset, "file-preset", "veryfast", "x264 preset of the FILE channel (empty: the ladder's own)")
	fs.StringVar(&c.patternLadder, "pattern-ladder", "test-360p", "ladder of the TEST_PATTERN channel")
	fs.StringVar(&c.patternPreset, "pattern-preset", "", "x264 preset of the TEST_PATTERN channel (empty: the ladder's own)")
	fs.DurationVar(&c.poll, "poll", 50*time.Millisecond, "playlist polling interval")
	fs.DurationVar(&c.timeout, "timeout", time.Minute, "give up on a start after this long")
	fs.DurationVar(&c.pause, "pause", 2*time.Second, "pause after a channel is IDLE again, before the next start")
	if err := harness.Parse(fs, args); err != nil {
		return c, err
	}
	var err error
	if c.cases, err = harness.SplitNames("cases", "case", *cases, []string{"file", "pattern"}); err != nil {
		return c, err
	}
	if c.runs < 1 || c.poll <= 0 || c.SourceSeconds < 1 {
		return c, errors.New("--runs, --poll and --source-seconds must be positive")
	}
	return c, nil
}

package harness

import (
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/sluice-video/sluice/bench/internal/media"
)

// Flags are the command-line flags every benchmark has.
type Flags struct {
	// SluiceBin is the binary under benchmark; empty uses bin/sluice of the
	// module, built if missing.
	SluiceBin string
	FFmpeg    string
	// SourceSeconds is the length of the generated source file.
	SourceSeconds int
	// JSONPath is where the results also go as JSON; empty for nowhere.
	JSONPath string
	// Keep keeps the temporary directory instead of removing it.
	Keep bool
}

// NewFlagSet returns a benchmark's flag set: errors go to stderr, and
// --help prints usage followed by every flag.
func NewFlagSet(name, usage string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage)
		fs.PrintDefaults()
	}
	return fs
}

// Register adds the common flags to fs; ffmpegUse completes the help of
// --ffmpeg, saying what the program runs ffmpeg for besides the server.
func (f *Flags) Register(fs *flag.FlagSet, ffmpegUse string) {
	fs.StringVar(&f.SluiceBin, "sluice", "", "sluice binary (default: bin/sluice of the module, built if missing)")
	fs.StringVar(&f.FFmpeg, "ffmpeg", "ffmpeg", "ffmpeg binary, for the server and "+ffmpegUse)
	fs.IntVar(&f.SourceSeconds, "source-seconds", 30, "length of the generated source file (looped)")
	fs.StringVar(&f.JSONPath, "json", "", "also write the results as JSON to this file")
	fs.BoolVar(&f.Keep, "keep", false, "keep the temporary directory (logs, data) instead of removing it")
}

// Parse reads args into fs's flags and refuses positional arguments.
func Parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	return nil
}

// SplitNames reads the comma-separated value of --flag, every item of
// which must be one of known; what names an item in the error.
func SplitNames(flag, what, value string, known []string) ([]string, error) {
	var out []string
	for _, n := range strings.Split(value, ",") {
		n = strings.TrimSpace(n)
		if !slices.Contains(known, n) {
			return nil, fmt.Errorf("--%s: unknown %s %q", flag, what, n)
		}
		out = append(out, n)
	}
	return out, nil
}

// Source is the file the benchmarks generate and feed to Sluice: 1080p30
// with audio, --source-seconds long.
func (f Flags) Source() media.Source {
	return media.Source{Width: 1920, Height: 1080, FPS: 30, Seconds: f.SourceSeconds}
}

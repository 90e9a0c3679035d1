package harness

import (
	"context"
	"os"
	"path/filepath"

	"github.com/sluice-video/sluice/bench/internal/child"
	"github.com/sluice-video/sluice/bench/internal/media"
	"github.com/sluice-video/sluice/bench/internal/report"
	"github.com/sluice-video/sluice/bench/internal/sluice"
)

// Workspace is where a benchmark runs: its progress log, its teardown
// steps, the sluice binary and a temporary directory holding the server's
// data directory, whose media directory exists.
type Workspace struct {
	Log     *report.Log
	Cleanup child.Cleanup
	// Bin is the absolute path of the sluice binary.
	Bin string
	// Dir is the temporary directory; DataDir, inside it, the server's.
	Dir     string
	DataDir string

	flags Flags
}

// Start logs to stderr, finds (or builds) the sluice binary and makes the
// temporary directory sluice-bench-<name>-*, removed by Cleanup unless
// --keep was given. The Workspace is returned even with an error, so that
// the caller can always defer Cleanup.Run and report the error with Fail.
func Start(ctx context.Context, name string, f Flags) (*Workspace, error) {
	w := &Workspace{Log: report.NewLog(os.Stderr), flags: f}
	bin, err := sluice.Binary(ctx, f.SluiceBin, w.Log.Printf)
	if err != nil {
		return w, err
	}
	w.Bin = bin
	dir, err := os.MkdirTemp("", "sluice-bench-"+name+"-")
	if err != nil {
		return w, err
	}
	w.Dir = dir
	if f.Keep {
		w.Log.Printf("keeping %s", dir)
	} else {
		w.Cleanup.Add(func() { _ = os.RemoveAll(dir) })
	}
	w.DataDir = filepath.Join(dir, "data")
	if err := os.MkdirAll(w.MediaPath(""), 0o750); err != nil {
		return w, err
	}
	return w, nil
}

// MediaPath is the path of a file in the server's media directory.
func (w *Workspace) MediaPath(name string) string {
	return filepath.Join(w.DataDir, "media", name)
}

// Generate generates src into the media directory as name and returns its
// path.
func (w *Workspace) Generate(ctx context.Context, src media.Source, name string) (string, error) {
	path := w.MediaPath(name)
	w.Log.Printf("generating the source: %s", src)
	return path, media.Generate(ctx, w.flags.FFmpeg, path, src)
}

// Machine describes the machine, ffmpeg and the sluice binary, and logs
// the description.
func (w *Workspace) Machine(ctx context.Context) report.Machine {
	m := report.DescribeMachine(ctx, w.flags.FFmpeg, sluice.Version(ctx, w.Bin))
	for _, l := range m.Lines() {
		w.Log.Printf("%s", l)
	}
	return m
}

// Fail logs why the benchmark stops and returns its exit code: 130 when
// it was interrupted, 1 otherwise.
func (w *Workspace) Fail(ctx context.Context, err error) int {
	if ctx.Err() != nil {
		w.Log.Printf("interrupted; stopping every process started")
		return 130
	}
	w.Log.Printf("error: %v", err)
	return 1
}

// Finish writes rep as JSON when --json was given and returns the exit
// code: 0 when everything was measured, 1 when failed says something was
// not (or the file could not be written), 130 when interrupted.
func (w *Workspace) Finish(ctx context.Context, rep any, failed bool) int {
	if path := w.flags.JSONPath; path != "" {
		if err := report.WriteJSON(path, rep); err != nil {
			return w.Fail(ctx, err)
		}
		w.Log.Printf("results written to %s", path)
	}
	if failed {
		return 1
	}
	return 0
}

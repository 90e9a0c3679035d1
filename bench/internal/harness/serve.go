package harness

import (
	"context"
	"os"
	"path/filepath"

	"github.com/sluice-video/sluice/bench/internal/sluice"
)

// Serve writes stack (a stack file's YAML) into the workspace and starts
// `sluice serve` on the workspace's data directory with it applied, plus
// any extra serve arguments. The server is stopped by Cleanup.
func (w *Workspace) Serve(ctx context.Context, ffmpeg, stack string, args ...string) (*sluice.Server, error) {
	return w.ServeOn(ctx, nil, ffmpeg, stack, args...)
}

// ServeOn is Serve with the server and its encoders kept on cpus (all
// CPUs when nil).
func (w *Workspace) ServeOn(ctx context.Context, cpus []int, ffmpeg, stack string, args ...string) (*sluice.Server, error) {
	path := filepath.Join(w.Dir, "stack.yaml")
	if err := os.WriteFile(path, []byte(stack), 0o600); err != nil {
		return nil, err
	}
	w.Log.Printf("starting sluice serve")
	srv, err := sluice.StartServer(ctx, sluice.ServerConfig{Binary: w.Bin, DataDir: w.DataDir, FFmpeg: ffmpeg, Apply: []string{path}, Args: args, CPUs: cpus})
	if err != nil {
		return nil, err
	}
	w.Cleanup.Add(srv.Stop)
	return srv, nil
}

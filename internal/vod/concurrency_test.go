package vod

import (
	"context"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/testutil/media"
)

// A pipeline's concurrency caps its running jobs even when the node has
// more workers; the waiting jobs run after, without losing attempts.
func TestPipelineConcurrencyCapsRunningJobs(t *testing.T) {
	dir := t.TempDir()
	s := testServiceWith(t, dir, 2)
	ctx := context.Background()
	in := filepath.Join(dir, "in")
	if err := os.MkdirAll(in, 0o750); err != nil {
		t.Fatal(err)
	}
	media.Sample(t, in, 320, 240, 4)
	if _, err := s.CreatePipeline(ctx, "", Pipeline{Name: "one", Input: in, Output: filepath.Join(dir, "out"), Presets: []string{"test-mp4"}, Concurrency: 1}); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for range 3 {
		j, err := s.Submit(ctx, SubmitRequest{Pipeline: "one", Input: "sample-320x240-4s.mp4"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, j.ID)
	}
	var most atomic.Int64
	stop := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			js, err := s.Jobs(ctx, StateProgressing, 10)
			if err == nil && int64(len(js)) > most.Load() {
				most.Store(int64(len(js)))
			}
		}
	}()
	for _, id := range ids {
		if j := waitJob(t, s, id); j.State != StateComplete || j.Attempts != 1 {
			t.Errorf("job %s ended %s after %d attempts: %s", id, j.State, j.Attempts, j.Error)
		}
	}
	close(stop)
	<-watched
	if most.Load() != 1 {
		t.Fatalf("%d jobs of a pipeline with concurrency 1 ran at once", most.Load())
	}
}

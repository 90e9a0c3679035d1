package vod

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river/rivertype"

	"github.com/sluice-video/sluice/internal/testutil/media"
	"github.com/sluice-video/sluice/internal/testutil/poll"
)

// An output storage that cannot be reached fails every attempt: the job is
// retried with backoff, then ends in ERROR and the queue discards it.
func TestUnreachableOutputIsRetriedThenDiscarded(t *testing.T) {
	dir := t.TempDir()
	s := testService(t, dir)
	ctx := context.Background()
	in := filepath.Join(dir, "in")
	if err := os.MkdirAll(in, 0o750); err != nil {
		t.Fatal(err)
	}
	media.Sample(t, in, 160, 120, 1)
	if _, err := s.CreatePipeline(ctx, "", Pipeline{Name: "down", Input: in, Output: "s3://nowhere/out?endpoint=127.0.0.1:1&insecure=1", Presets: []string{"test-mp4"}}); err != nil {
		t.Fatal(err)
	}
	j, err := s.Submit(ctx, SubmitRequest{Pipeline: "down", Input: "sample-160x120-1s.mp4"})
	if err != nil {
		t.Fatal(err)
	}
	done := waitJob(t, s, j.ID)
	if done.State != StateError || !strings.Contains(done.Error, "gave up after 3 attempts") || done.Attempts != 3 {
		t.Fatalf("job ended %s after %d attempts: %q\n%s", done.State, done.Attempts, done.Error, done.Log)
	}
	if strings.Count(done.Log, "will retry") != 2 {
		t.Errorf("log does not show two retries:\n%s", done.Log)
	}
	// The queue records the outcome just after the job row.
	poll.Until(t, "the queue entry to be discarded", time.Minute, func() (bool, string) {
		row, err := s.client.JobGet(ctx, done.QueueID)
		if err != nil {
			t.Fatal(err)
		}
		return row.State == rivertype.JobStateDiscarded, "queue entry " + string(row.State)
	})
}

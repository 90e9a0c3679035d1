package vod

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/storage"
	"github.com/sluice-video/sluice/internal/testutil/media"
	"github.com/sluice-video/sluice/internal/testutil/poll"
)

// A file claimed by a process that died before submitting its job is
// submitted under the claimed id, once.
func TestAbandonedClaimIsSubmittedOnce(t *testing.T) {
	dir := t.TempDir()
	s := testService(t, dir)
	ctx := context.Background()
	in := filepath.Join(dir, "in")
	if err := os.MkdirAll(in, 0o750); err != nil {
		t.Fatal(err)
	}
	audio := filepath.Join(in, "a.m4a")
	media.FFmpeg(t, "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "2", "-c:a", "aac", audio)
	old := time.Now().Add(-time.Minute)
	if err := os.Chtimes(audio, old, old); err != nil {
		t.Fatal(err)
	}
	st, err := storage.OpenLocal(in)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := st.Stat(ctx, "a.m4a")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.exec(ctx, "INSERT INTO vod_triggers (pipeline, object_key, etag, job_id, created_at) VALUES (?, ?, ?, ?, ?)",
		"drop", "a.m4a", obj.ETag, "job-claimed", stamp(old)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreatePipeline(ctx, "", Pipeline{Name: "drop", Input: in, Output: filepath.Join(dir, "out"), Watch: true, Presets: []string{"system-audio"}}); err != nil {
		t.Fatal(err)
	}
	poll.UntilTrue(t, "the claimed file to be submitted", time.Minute, func() bool {
		_, err := s.Job(ctx, "job-claimed")
		return err == nil
	})
	j := waitJob(t, s, "job-claimed")
	if j.State != StateComplete {
		t.Fatalf("claimed job ended %s: %s\n%s", j.State, j.Error, j.Log)
	}
	time.Sleep(3 * s.cfg.PollInterval)
	if jobs, _ := s.Jobs(ctx, "", 10); len(jobs) != 1 {
		t.Fatalf("%d jobs for one claimed file", len(jobs))
	}
}

// Cancel stops a running job's encoder; the queue goes on with the next.
func TestCancelStopsARunningJob(t *testing.T) {
	dir := t.TempDir()
	s := testService(t, dir)
	ctx := context.Background()
	in := filepath.Join(dir, "vod", "input")
	if err := os.MkdirAll(in, 0o750); err != nil {
		t.Fatal(err)
	}
	long := media.Sample(t, in, 640, 360, 30)
	short := media.Sample(t, in, 160, 120, 2)
	a, err := s.Submit(ctx, SubmitRequest{Input: filepath.Base(long), Presets: []string{"test-abr"}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Submit(ctx, SubmitRequest{Input: filepath.Base(short), Presets: []string{"test-mp4"}})
	if err != nil {
		t.Fatal(err)
	}
	poll.Until(t, "the job to transcode", 3*time.Minute, func() (bool, string) {
		j, _ := s.Job(ctx, a.ID)
		if j.Terminal() {
			t.Fatalf("job never transcoded: %s %s", j.State, j.Log)
		}
		return j.Phase == PhaseTranscoding, fmt.Sprintf("%s %s", j.State, j.Log)
	})
	if _, err := s.Cancel(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if j := waitJob(t, s, a.ID); j.State != StateCanceled {
		t.Fatalf("canceled job ended %s", j.State)
	}
	if j := waitJob(t, s, b.ID); j.State != StateComplete {
		t.Fatalf("next job ended %s: %s", j.State, j.Error)
	}
	if _, err := s.Cancel(ctx, b.ID); err == nil {
		t.Fatal("a complete job was canceled")
	}
	j, _ := s.Job(ctx, a.ID)
	if j.State != StateCanceled {
		t.Fatalf("the canceled job is %s after the attempt ended", j.State)
	}
	// The encoder was stopped, not left to finish: its attempt says so.
	if !strings.Contains(j.Log, "attempt stopped: the job was canceled") {
		t.Fatalf("the canceled job's attempt was not stopped:\n%s", j.Log)
	}
}

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/testutil/media"
	"github.com/sluice-video/sluice/internal/testutil/pgserver"
	"github.com/sluice-video/sluice/internal/testutil/poll"
	"github.com/sluice-video/sluice/internal/testutil/syncbuf"
	"github.com/sluice-video/sluice/internal/vod"
)

// startWorker runs `sluice worker` against the shared queue.
func startWorker(t *testing.T, bin, dsn string) *syncbuf.Buffer {
	t.Helper()
	log := &syncbuf.Buffer{}
	cmd := exec.Command(bin, append([]string{"worker", "--database", dsn, "--data", t.TempDir(), "--workers", "1"}, mediaAllow(t)...)...)
	cmd.Env = append(os.Environ(), "GORACE=halt_on_error=1 exitcode=66")
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(45 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		if t.Failed() {
			t.Logf("worker log:\n%s", log.String())
		}
	})
	return log
}

// TestVODTwoWorkersOnPostgres runs 20 jobs through a real PostgreSQL
// queue with two worker processes and no worker in the server: every job
// completes, each is processed exactly once, and both workers took part.
func TestVODTwoWorkersOnPostgres(t *testing.T) {
	t.Parallel()
	pg := pgserver.Start(t)
	s := startServerWith(t, t.TempDir(), []string{"--database", pg.URL, "--vod-workers", "0"})
	shared := t.TempDir()
	in, out := filepath.Join(shared, "in"), filepath.Join(shared, "out")
	if code := s.post("/api/v1/presets", vod.Preset{Name: "tiny", Kind: vod.KindMP4, FPS: 10, X264Preset: "ultrafast", AudioBitrate: 32000,
		Rungs: []vod.Rung{{Name: "tiny", Width: 96, Height: 54, Bitrate: 60000}}}, nil); code != 201 {
		t.Fatalf("creating a custom preset: %d", code)
	}
	if code := s.post("/api/v1/pipelines", vod.Pipeline{Name: "shared", Input: in, Output: out, Presets: []string{"tiny"}}, nil); code != 201 {
		t.Fatalf("creating the pipeline: %d", code)
	}
	dropFile(t, media.Sample(t, t.TempDir(), 96, 54, 1), in, "clip.mp4")
	bin := sluiceBin.get(t)
	logs := []*syncbuf.Buffer{startWorker(t, bin, pg.URL), startWorker(t, bin, pg.URL)}
	// A worker that starts late could find the queue already drained by
	// the other: submit only once both take jobs.
	for i, l := range logs {
		poll.Until(t, fmt.Sprintf("worker %d takes jobs", i+1), time.Minute, func() (bool, string) {
			return strings.Contains(l.String(), "sluice worker is taking on-demand jobs"), l.String()
		})
	}
	var ids []string
	for range 20 {
		var j vod.Job
		if code := s.post("/api/v1/jobs", vod.SubmitRequest{Pipeline: "shared", Input: "clip.mp4"}, &j); code != 201 {
			t.Fatalf("submit: %d", code)
		}
		ids = append(ids, j.ID)
	}
	for _, id := range ids {
		j := s.waitJob(id, vod.StateComplete, 5*time.Minute)
		if j.Attempts != 1 || strings.Count(j.Log, "started on") != 1 {
			t.Errorf("job %s ran %d times:\n%s", id, j.Attempts, j.Log)
		}
		if _, err := os.Stat(filepath.Join(out, j.Output, "tiny", "tiny.mp4")); err != nil {
			t.Errorf("job %s published nothing: %v", id, err)
		}
	}
	total := 0
	for i, l := range logs {
		n := strings.Count(l.String(), " complete\"")
		if n == 0 {
			t.Errorf("worker %d ran no job", i+1)
		}
		total += n
	}
	if total != 20 {
		t.Errorf("the workers completed %d jobs, want 20", total)
	}
}

// startWorkerWith runs `sluice worker` with more flags and returns its
// process, to kill it.
func startWorkerWith(t *testing.T, bin, dsn string, flags ...string) (*exec.Cmd, *syncbuf.Buffer, chan struct{}) {
	t.Helper()
	log := &syncbuf.Buffer{}
	cmd := exec.Command(bin, append(append([]string{"worker", "--database", dsn, "--data", t.TempDir(), "--workers", "1"}, mediaAllow(t)...), flags...)...)
	cmd.Env = append(os.Environ(), "GORACE=halt_on_error=1 exitcode=66")
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(45 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		if t.Failed() {
			t.Logf("worker log:\n%s", log.String())
		}
	})
	return cmd, log, done
}

// TestVODKilledWorkerJobIsTakenOver kills a `sluice worker` (and its
// encoder) in the middle of a job; after the visibility timeout another
// worker takes the job over and completes it, whole.
func TestVODKilledWorkerJobIsTakenOver(t *testing.T) {
	t.Parallel()
	pg := pgserver.Start(t)
	s := startServerWith(t, t.TempDir(), []string{"--database", pg.URL, "--vod-workers", "0"})
	shared := t.TempDir()
	in, out := filepath.Join(shared, "in"), filepath.Join(shared, "out")
	if code := s.post("/api/v1/pipelines", vod.Pipeline{Name: "shared", Input: in, Output: out, Presets: []string{"test-abr", "test-thumbnails"}}, nil); code != 201 {
		t.Fatalf("creating the pipeline: %d", code)
	}
	dropFile(t, media.Sample(t, t.TempDir(), 640, 360, 12), in, "clip.mp4")
	bin := sluiceBin.get(t)
	timeouts := []string{"--job-timeout", "90s", "--visibility-timeout", "100s"}
	a, _, aDone := startWorkerWith(t, bin, pg.URL, timeouts...)
	var j vod.Job
	if code := s.post("/api/v1/jobs", vod.SubmitRequest{Pipeline: "shared", Input: "clip.mp4"}, &j); code != 201 {
		t.Fatalf("submit: %d", code)
	}
	poll.Until(t, "the first worker transcodes", 3*time.Minute, func() (bool, string) {
		got := s.job(j.ID)
		return got.Phase == vod.PhaseTranscoding, got.State + " " + got.Phase
	})
	_ = syscall.Kill(-a.Process.Pid, syscall.SIGKILL) // the worker and its encoder
	<-aDone
	startWorkerWith(t, bin, pg.URL, timeouts...)
	done := s.waitJob(j.ID, vod.StateComplete, 6*time.Minute)
	if done.Attempts != 2 {
		t.Errorf("completed after %d attempts, want 2:\n%s", done.Attempts, done.Log)
	}
	checkAsset(t, s, j.ID, 12, map[string][2]int{"360p": {640, 360}, "180p": {320, 180}}, false)
}

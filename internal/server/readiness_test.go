package server

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sluice-video/sluice/internal/event"
	"github.com/sluice-video/sluice/internal/testutil/media"
)

func readyz(t *testing.T, ffmpeg string) (int, string) {
	t.Helper()
	s, err := New(context.Background(), Config{Data: t.TempDir(), FFmpeg: ffmpeg, FFprobe: "ffprobe"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://localhost/readyz", nil))
	return rec.Code, rec.Body.String()
}

func TestReadyWhenStoreDataAndFFmpegWork(t *testing.T) {
	if code, body := readyz(t, media.Tool(t, "ffmpeg")); code != http.StatusOK || body != "ready\n" {
		t.Errorf("/readyz: %d %q, want 200 ready", code, body)
	}
}

func TestNotReadyWithoutFFmpeg(t *testing.T) {
	code, body := readyz(t, "/nonexistent/ffmpeg")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "ffmpeg does not run") {
		t.Errorf("/readyz with a missing ffmpeg: %d %s, want 503 naming ffmpeg", code, body)
	}
}

func TestRulesCanSubmitJobs(t *testing.T) {
	s, err := New(context.Background(), Config{Data: t.TempDir(), FFmpeg: "ffmpeg", FFprobe: "ffprobe"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	if s.VOD() == nil || s.c.actions.Jobs != event.Jobs(s.VOD()) {
		t.Fatal("SUBMIT_JOB actions do not reach the server's job service")
	}
	_, err = s.c.actions.Jobs.SubmitJob(context.Background(), "no-such-pipeline", "a.mp4", nil)
	if err == nil || !strings.Contains(err.Error(), "no-such-pipeline") {
		t.Errorf("a job for an unknown pipeline: %v, want an error naming it", err)
	}
}

package vod

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/queue"
	"github.com/sluice-video/sluice/internal/testutil/media"
	"github.com/sluice-video/sluice/internal/testutil/poll"
)

// testService runs a service with one worker on an SQLite queue in dir.
func testService(t *testing.T, dir string) *Service {
	t.Helper()
	return testServiceWith(t, dir, 1)
}

// testServiceWith runs a service with that many workers. The tests keep
// their pipeline folders in dir, which is allowed besides the media
// directory.
func testServiceWith(t *testing.T, dir string, workers int) *Service {
	t.Helper()
	return testServiceConfig(t, dir, Config{Workers: workers, MediaAllow: []string{dir}})
}

// testServiceConfig runs a service on an SQLite queue in dir with cfg.
func testServiceConfig(t *testing.T, dir string, cfg Config) *Service {
	t.Helper()
	ctx := context.Background()
	q, err := queue.Open(ctx, filepath.Join(dir, "queue.db"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Queue, cfg.DataDir = q, dir
	cfg.FFmpeg, cfg.FFprobe = media.Tool(t, "ffmpeg"), media.Tool(t, "ffprobe")
	cfg.PollInterval, cfg.MaxAttempts = 200*time.Millisecond, 3
	cfg.RetryBackoff = func(int) time.Duration { return 500 * time.Millisecond }
	s, err := New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = s.Close(sctx)
		q.Close()
	})
	return s
}

// waitJob polls until the job is in a terminal state.
func waitJob(t *testing.T, s *Service, id string) Job {
	t.Helper()
	var j Job
	poll.Until(t, "job "+id+" to end", 5*time.Minute, func() (bool, string) {
		var err error
		j, err = s.Job(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		return j.Terminal(), fmt.Sprintf("%s %s %d%%; log:\n%s", j.State, j.Phase, j.Percent, j.Log)
	})
	return j
}

// streamInfo is what ffprobe says of a rendition.
type streamInfo struct {
	Width, Height int
	Duration      float64
}

func ffprobeStream(t *testing.T, path, kind string) streamInfo {
	t.Helper()
	out, err := exec.Command(media.Tool(t, "ffprobe"), "-v", "error", "-select_streams", kind+":0",
		"-show_entries", "stream=width,height:format=duration", "-of", "json", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	var v struct {
		Streams []struct{ Width, Height int } `json:"streams"`
		Format  struct{ Duration string }     `json:"format"`
	}
	if err := json.Unmarshal(out, &v); err != nil || len(v.Streams) == 0 {
		t.Fatalf("ffprobe %s: no %s stream in %s", path, kind, out)
	}
	d, _ := strconv.ParseFloat(v.Format.Duration, 64)
	return streamInfo{Width: v.Streams[0].Width, Height: v.Streams[0].Height, Duration: d}
}

func TestWatchedFolderJobCompletes(t *testing.T) {
	dir := t.TempDir()
	s := testService(t, dir)
	ctx := context.Background()
	in, out := filepath.Join(dir, "in"), filepath.Join(dir, "out")
	if _, err := s.CreatePipeline(ctx, "", Pipeline{Name: "uploads", Input: in, Output: out, Watch: true, Suffixes: []string{".mp4"},
		Presets: []string{"test-abr", "test-mp4", "test-thumbnails", "system-audio"}}); err != nil {
		t.Fatal(err)
	}
	src := media.Sample(t, t.TempDir(), 320, 240, 5)
	if err := os.MkdirAll(filepath.Join(in, "show"), 0o750); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(src)
	if err := os.WriteFile(filepath.Join(in, "show", "ep1.mp4"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(in, "show", "notes.txt"), []byte("not media"), 0o600); err != nil {
		t.Fatal(err)
	}
	var id string
	poll.UntilTrue(t, "a job submitted for the new file", time.Minute, func() bool {
		jobs, err := s.Jobs(ctx, "", 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(jobs) > 0 {
			id = jobs[0].ID
		}
		return id != ""
	})
	j := waitJob(t, s, id)
	if j.State != StateComplete {
		t.Fatalf("job ended %s: %s\n%s", j.State, j.Error, j.Log)
	}
	// Exactly one job for the one matching file, even after more scans.
	time.Sleep(3 * s.cfg.PollInterval)
	if jobs, _ := s.Jobs(ctx, "", 10); len(jobs) != 1 {
		t.Fatalf("%d jobs for one file", len(jobs))
	}
	base := filepath.Join(out, j.Output)
	for _, want := range []struct {
		file          string
		kind          string
		width, height int
	}{
		{"test-abr/360p/index.m3u8", "v", 640, 360},
		{"test-abr/180p/index.m3u8", "v", 320, 180},
		{"test-abr/audio/index.m3u8", "a", 0, 0},
		{"test-abr/index.m3u8", "v", 0, 0},
		{"test-abr/manifest.mpd", "v", 0, 0},
		{"test-mp4/180p.mp4", "v", 320, 180},
		{"system-audio/audio.m4a", "a", 0, 0},
	} {
		got := ffprobeStream(t, filepath.Join(base, want.file), want.kind)
		if want.width != 0 && (got.Width != want.width || got.Height != want.height) {
			t.Errorf("%s is %dx%d, want %dx%d", want.file, got.Width, got.Height, want.width, want.height)
		}
		if got.Duration < 4.5 || got.Duration > 5.6 {
			t.Errorf("%s lasts %.2f s, want 5", want.file, got.Duration)
		}
	}
	vtt, err := os.ReadFile(filepath.Join(base, "test-thumbnails", "thumbnails.vtt"))
	if err != nil || !strings.Contains(string(vtt), "sprite.jpg#xywh=0,0,96,54") {
		t.Fatalf("thumbnail track: %v\n%s", err, vtt)
	}
	a, err := s.Asset(ctx, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if a.Duration < 4.9 || a.HLS == "" || a.DASH == "" || len(a.Thumbnails) < 5 || a.Probe == nil || a.Probe.Width != 320 {
		t.Fatalf("asset %+v", a)
	}
}

func TestBadInputsFailClearlyAndTheQueueGoesOn(t *testing.T) {
	dir := t.TempDir()
	s := testService(t, dir)
	ctx := context.Background()
	in := filepath.Join(dir, "vod", "input")
	if err := os.MkdirAll(in, 0o750); err != nil {
		t.Fatal(err)
	}
	good := media.Sample(t, t.TempDir(), 160, 120, 6)
	data, _ := os.ReadFile(good)
	write := func(name string, b []byte) {
		if err := os.WriteFile(filepath.Join(in, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("empty.mp4", nil)
	write("corrupt.mp4", []byte(strings.Repeat("this is not a video file ", 400)))
	write("truncated.mp4", data[:len(data)/2])
	audio := filepath.Join(t.TempDir(), "audio.m4a")
	media.FFmpeg(t, "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "3", "-c:a", "aac", audio)
	ab, _ := os.ReadFile(audio)
	write("audio.m4a", ab)
	write("good.mp4", data)

	cases := []struct{ input, want string }{
		{"empty.mp4", "input is empty (0 bytes)"},
		{"corrupt.mp4", "input is corrupt"},
		{"truncated.mp4", "file is truncated at"},
		{"audio.m4a", "input has no video stream"},
		{"missing.mp4", "does not exist"},
		{"good.mp4", ""},
	}
	var ids []string
	for _, c := range cases {
		j, err := s.Submit(ctx, SubmitRequest{Input: c.input, Presets: []string{"test-abr"}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, j.ID)
	}
	for i, c := range cases {
		j := waitJob(t, s, ids[i])
		if c.want == "" {
			if j.State != StateComplete {
				t.Errorf("%s: %s %q, want COMPLETE\n%s", c.input, j.State, j.Error, j.Log)
			}
			continue
		}
		if j.State != StateError || !strings.Contains(j.Error, c.want) {
			t.Errorf("%s: %s %q, want ERROR with %q\n%s", c.input, j.State, j.Error, c.want, j.Log)
		}
		if j.Attempts != 1 {
			t.Errorf("%s: %d attempts; a bad input is not retried", c.input, j.Attempts)
		}
	}
}

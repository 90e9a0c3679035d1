package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/storage"
	"github.com/sluice-video/sluice/internal/testutil/browser"
	"github.com/sluice-video/sluice/internal/testutil/media"
	"github.com/sluice-video/sluice/internal/testutil/poll"
	"github.com/sluice-video/sluice/internal/testutil/s3server"
	"github.com/sluice-video/sluice/internal/vod"
)

// post sends a JSON body and decodes the answer into out. A nil body
// sends none (with the JSON media type every change needs), as the
// document's Empty request body says: not the JSON null.
func (s *server) post(path string, body, out any) int {
	s.t.Helper()
	var data []byte
	if body != nil {
		data, _ = json.Marshal(body)
	}
	resp, err := s.http.Post(s.url(path), "application/json", bytes.NewReader(data))
	if err != nil {
		s.t.Fatalf("POST %s: %v", path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	if out != nil && resp.StatusCode < 300 {
		_ = json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode
}

func (s *server) job(id string) vod.Job {
	s.t.Helper()
	code, _, body := s.get("/api/v1/jobs/" + id)
	var j vod.Job
	if code != 200 || json.Unmarshal(body, &j) != nil {
		s.t.Fatalf("GET job %s: %d %s", id, code, body)
	}
	return j
}

func (s *server) jobs() []vod.Job {
	s.t.Helper()
	code, _, body := s.get("/api/v1/jobs?limit=1000")
	var js []vod.Job
	if code != 200 || json.Unmarshal(body, &js) != nil {
		s.t.Fatalf("GET jobs: %d %s", code, body)
	}
	return js
}

// waitJob polls a job until it ends and fails unless it ends in want.
func (s *server) waitJob(id, want string, timeout time.Duration) vod.Job {
	s.t.Helper()
	var j vod.Job
	poll.Until(s.t, "job "+id+" ends", timeout, func() (bool, string) {
		j = s.job(id)
		return j.Terminal(), fmt.Sprintf("%s %s %d%%", j.State, j.Phase, j.Percent)
	})
	if j.State != want {
		s.t.Fatalf("job %s ended %s (%s), want %s; log:\n%s", id, j.State, j.Error, want, j.Log)
	}
	return j
}

// dropFile places src into dir/name the way an upload lands: written
// beside it, then renamed into place.
func dropFile(t *testing.T, src, dir, name string) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(dir, ".upload-"+name)
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
}

// checkAsset checks the published asset: ffprobe reads every rendition
// over HTTP with the expected picture size and duration, and both players
// play it in the browser.
func checkAsset(t *testing.T, s *server, id string, seconds float64, sizes map[string][2]int, play bool) {
	t.Helper()
	code, _, body := s.get("/api/v1/assets/" + id)
	var a vod.Asset
	if code != 200 || json.Unmarshal(body, &a) != nil {
		t.Fatalf("GET asset %s: %d %s", id, code, body)
	}
	if math.Abs(a.Duration-seconds) > 0.5 || a.Probe == nil || a.Probe.VideoCodec != "h264" || a.HLS == "" || a.DASH == "" {
		t.Fatalf("asset %s: %s", id, body)
	}
	code, _, body = s.get("/api/v1/assets")
	if code != 200 || !strings.Contains(string(body), id) {
		t.Fatalf("GET /api/v1/assets does not list %s: %d %s", id, code, body)
	}
	seen := map[string]bool{}
	for _, r := range a.Renditions {
		u := s.url("/vod/" + a.Pipeline + "/" + r.Key)
		sel := "v:0"
		if r.Kind == "audio" {
			sel = "a:0"
		}
		v := ffprobeJSON(t, "-select_streams", sel, "-show_entries", "stream=width,height:format=duration", u)
		d, _ := strconv.ParseFloat(v["format"].(map[string]any)["duration"].(string), 64)
		if math.Abs(d-seconds) > 0.6 {
			t.Errorf("rendition %s lasts %.2f s, want %.1f", r.Key, d, seconds)
		}
		if want, ok := sizes[r.Name]; ok {
			st := v["streams"].([]any)[0].(map[string]any)
			if int(st["width"].(float64)) != want[0] || int(st["height"].(float64)) != want[1] {
				t.Errorf("rendition %s is %vx%v, want %dx%d", r.Key, st["width"], st["height"], want[0], want[1])
			}
			seen[r.Name] = true
		}
	}
	for name := range sizes {
		if !seen[name] {
			t.Errorf("asset has no rendition %s: %+v", name, a.Renditions)
		}
	}
	if len(a.Thumbnails) == 0 || a.Sprite == "" {
		t.Errorf("asset has no thumbnails: %+v", a)
	} else if code, _, vtt := s.get("/vod/" + a.Pipeline + "/" + strings.TrimSuffix(a.Sprite, "sprite.jpg") + "thumbnails.vtt"); code != 200 || !strings.Contains(string(vtt), "sprite.jpg#xywh=") {
		t.Errorf("thumbnail track: %d %s", code, vtt)
	}
	if !play {
		return
	}
	for _, player := range []string{"hls", "dash"} {
		// Watch long enough to play the whole asset with stalls on a busy
		// machine; the check is that playback reaches the end.
		res, err := playInBrowser(t, s.url("/vod-play/"+id+"?player="+player), time.Duration(seconds+15)*time.Second)
		if err != nil {
			t.Fatalf("%s did not start playing the asset: %v (errors: %s)", player, err, strings.Join(errorsOf(res), "; "))
		}
		if res.Fatal != "" {
			t.Fatalf("%s: fatal error: %s", player, res.Fatal)
		}
		n := len(res.Samples)
		if n == 0 || res.Samples[n-1].CurrentTime < seconds-1.5 {
			t.Errorf("%s: playback did not reach the end of the %.0f s asset: %+v", player, seconds, res.Samples)
		}
		for i := 1; i < n; i++ {
			if res.Samples[i].CurrentTime < res.Samples[i-1].CurrentTime {
				t.Errorf("%s: currentTime went back from %.2f to %.2f", player, res.Samples[i-1].CurrentTime, res.Samples[i].CurrentTime)
			}
		}
	}
}

func needBrowser(t *testing.T) {
	t.Helper()
	if _, err := browser.Available(); err != nil {
		if os.Getenv(media.RequireEnv) == "1" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
}

// TestVODWatchedFolder drops a file into a watched folder: one job runs to
// COMPLETE, the HLS and DASH outputs play in hls.js and dash.js, ffprobe
// confirms every rendition, and the CLI follows a second job to the end.
func TestVODWatchedFolder(t *testing.T) {
	t.Parallel()
	needBrowser(t)
	data := t.TempDir()
	s := startServer(t, data)
	drop := filepath.Join(data, "drop")
	var p vod.Pipeline
	if code := s.post("/api/v1/pipelines", vod.Pipeline{Name: "uploads", Input: drop, Watch: true, Suffixes: []string{".mp4"},
		Output: filepath.Join(data, "published"), Presets: []string{"test-abr", "test-thumbnails"}}, &p); code != 201 {
		t.Fatalf("creating the pipeline: %d", code)
	}
	src := media.Sample(t, t.TempDir(), 480, 270, 8)
	dropFile(t, src, filepath.Join(drop, "show"), "ep1.mp4")
	var id string
	poll.Until(t, "the dropped file submits a job", time.Minute, func() (bool, string) {
		js := s.jobs()
		if len(js) > 0 {
			id = js[0].ID
		}
		return id != "", "no job"
	})
	j := s.waitJob(id, vod.StateComplete, 5*time.Minute)
	if j.Input != "show/ep1.mp4" || j.Attempts != 1 {
		t.Fatalf("job %+v", j)
	}
	checkAsset(t, s, id, 8, map[string][2]int{"360p": {640, 360}, "180p": {320, 180}}, true)
	if n := len(s.jobs()); n != 1 {
		t.Fatalf("%d jobs for one dropped file", n)
	}

	// The CLI: submit and follow with a progress bar, then read the job.
	out, err := s.cli("job", "submit", "show/ep1.mp4", "--pipeline", "uploads", "--preset", "test-mp4", "--watch")
	if err != nil || !strings.Contains(out, "COMPLETE") || !strings.Contains(out, "100%") {
		t.Fatalf("job submit --watch: %v\n%s", err, out)
	}
	out, err = s.cli("job", "list")
	if err != nil || strings.Count(out, "COMPLETE") != 2 {
		t.Fatalf("job list: %v\n%s", err, out)
	}
	out, err = s.cli("job", "get", id)
	if err != nil || !strings.Contains(out, "probed: ") || !strings.Contains(out, "complete:") {
		t.Fatalf("job get: %v\n%s", err, out)
	}
	out, err = s.cli("preset", "list")
	if err != nil || !strings.Contains(out, "system-abr") || !strings.Contains(out, "1080p@2000k") {
		t.Fatalf("preset list: %v\n%s", err, out)
	}
	out, err = s.cli("pipeline", "list")
	if err != nil || !strings.Contains(out, "uploads") {
		t.Fatalf("pipeline list: %v\n%s", err, out)
	}
}

// TestVODJobSurvivesKilledServer kills the server while a job transcodes;
// after the restart the job runs again and completes, whole.
func TestVODJobSurvivesKilledServer(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	s := startServer(t, data)
	src := media.Sample(t, t.TempDir(), 640, 360, 20)
	dropFile(t, src, filepath.Join(data, "vod", "input"), "long.mp4")
	var j vod.Job
	if code := s.post("/api/v1/jobs", vod.SubmitRequest{Input: "long.mp4", Presets: []string{"test-abr", "test-thumbnails"}}, &j); code != 201 {
		t.Fatalf("submit: %d", code)
	}
	poll.Until(t, "the job transcodes", 3*time.Minute, func() (bool, string) {
		got := s.job(j.ID)
		return got.Phase == vod.PhaseTranscoding && got.Percent > 10, got.State + " " + got.Phase
	})
	s.kill()
	s.start()
	done := s.waitJob(j.ID, vod.StateComplete, 5*time.Minute)
	if done.Attempts != 2 {
		t.Errorf("completed after %d attempts, want 2 (the killed one and the resumed one)", done.Attempts)
	}
	checkAsset(t, s, j.ID, 20, map[string][2]int{"360p": {640, 360}, "180p": {320, 180}}, false)
}

// TestVODFromS3 runs the watched-input flow against a real S3-compatible
// server: the input is an object in a bucket, the outputs go to a bucket.
func TestVODFromS3(t *testing.T) {
	needBrowser(t)
	srv := s3server.Start(t)
	ctx := context.Background()
	bucket, err := storage.OpenS3(storage.S3Config{Endpoint: srv.Endpoint, Bucket: "media", AccessKey: srv.AccessKey, SecretKey: srv.SecretKey, Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := bucket.EnsureBucket(ctx); err != nil {
		t.Fatal(err)
	}
	s := startServerWith(t, t.TempDir(), nil, "AWS_ACCESS_KEY_ID="+srv.AccessKey, "AWS_SECRET_ACCESS_KEY="+srv.SecretKey)
	loc := func(prefix string) string {
		return "s3://media/" + prefix + "?endpoint=" + srv.Endpoint + "&insecure=1"
	}
	if code := s.post("/api/v1/pipelines", vod.Pipeline{Name: "bucket", Input: loc("incoming"), Watch: true, Suffixes: []string{".mp4"},
		Output: loc("outgoing"), Presets: []string{"test-abr", "test-thumbnails"}}, nil); code != 201 {
		t.Fatalf("creating the pipeline: %d", code)
	}
	src := media.Sample(t, t.TempDir(), 480, 270, 6)
	f, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := f.Stat()
	if _, err := bucket.Put(ctx, "incoming/clip.mp4", f, st.Size()); err != nil {
		t.Fatal(err)
	}
	_ = f.Close()
	var id string
	poll.Until(t, "the uploaded object submits a job", time.Minute, func() (bool, string) {
		if js := s.jobs(); len(js) > 0 {
			id = js[0].ID
		}
		return id != "", "no job"
	})
	s.waitJob(id, vod.StateComplete, 5*time.Minute)
	objs, err := bucket.List(ctx, "outgoing/")
	if err != nil || len(objs) < 10 {
		t.Fatalf("outputs in the bucket: %d %v", len(objs), err)
	}
	checkAsset(t, s, id, 6, map[string][2]int{"360p": {640, 360}, "180p": {320, 180}}, true)
	if n := len(s.jobs()); n != 1 {
		t.Fatalf("%d jobs for one object", n)
	}
}

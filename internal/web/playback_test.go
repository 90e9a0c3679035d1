package web

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/testutil/browser"
)

// requireBrowserEnv makes a missing browser or ffmpeg fail the test instead of
// skipping it, for machines that must run the playback checks.
const requireBrowserEnv = "SLUICE_REQUIRE_TOOLS"

// requireToolsEnv makes a missing ffmpeg fail the test, as it does for
// Sluice's other media tests.
const requireToolsEnv = "SLUICE_REQUIRE_TOOLS"

// screenshotDirEnv, when set, makes the playback test save a screenshot of
// each player page there, for a person to look at.
const screenshotDirEnv = "SLUICE_SCREENSHOT_DIR"

// needTool skips the test when a tool is missing, or fails it when one of
// the requireEnvs is set to 1 to say the machine must have it.
func needTool(t *testing.T, name string, lookup func() (string, error), requireEnvs ...string) string {
	t.Helper()
	path, err := lookup()
	if err == nil {
		return path
	}
	for _, env := range requireEnvs {
		if os.Getenv(env) == "1" {
			t.Fatalf("%s is required (%s=1) but missing: %v; install %s (on Debian: apt-get install %s)",
				name, env, err, name, name)
		}
	}
	t.Skipf("%s is missing, skipping the playback test: %v", name, err)
	return ""
}

// makeVOD writes a 10 s test pattern with a tone as an fMP4 HLS VOD under
// dir/hls and a DASH VOD under dir/dash.
func makeVOD(t *testing.T, ffmpeg, dir string) {
	t.Helper()
	for _, sub := range []string{"hls", "dash"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	encode := []string{
		"-map", "0:v", "-map", "1:a",
		"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
		"-g", "50", "-keyint_min", "50", "-sc_threshold", "0",
		"-c:a", "aac", "-b:a", "64k",
	}
	args := []string{"-hide_banner", "-loglevel", "error", "-nostdin", "-y",
		// The duration is on the inputs, so that both outputs end.
		"-f", "lavfi", "-t", "10", "-i", "testsrc2=size=320x180:rate=25",
		"-f", "lavfi", "-t", "10", "-i", "sine=frequency=440:sample_rate=48000",
	}
	args = append(args, encode...)
	args = append(args, "-f", "hls", "-hls_time", "2", "-hls_segment_type", "fmp4",
		"-hls_playlist_type", "vod", "-master_pl_name", "master.m3u8",
		"-hls_segment_filename", filepath.Join(dir, "hls", "seg%03d.m4s"),
		filepath.Join(dir, "hls", "index.m3u8"))
	args = append(args, encode...)
	args = append(args, "-f", "dash", "-seg_duration", "2", "-use_template", "1", "-use_timeline", "1",
		filepath.Join(dir, "dash", "manifest.mpd"))

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, ffmpeg, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
}

// playbackServer serves the pages, the media under /live/demo/ and a fake
// channel API that points the demo channel at that media.
func playbackServer(t *testing.T, mediaDir string) *httptest.Server {
	t.Helper()
	ch := resource.Channel{
		ID:          "ch-demo",
		ChannelSpec: resource.ChannelSpec{Name: "demo"},
		State:       resource.StateRunning,
		Endpoints: []resource.EndpointURL{
			{Name: "hls", Type: resource.OutputHLS, URL: "/live/demo/hls/master.m3u8"},
			{Name: "dash", Type: resource.OutputDASH, URL: "/live/demo/dash/manifest.mpd"},
		},
	}
	channels := &fakeChannels{channels: []resource.Channel{ch}}
	mux := http.NewServeMux()
	New(channels, nil).Register(mux)
	mux.Handle("GET /live/demo/", http.StripPrefix("/live/demo/", http.FileServer(http.Dir(mediaDir))))
	mux.HandleFunc("GET /api/v1/channels", func(w http.ResponseWriter, r *http.Request) {
		list, _ := channels.ListChannels(r.Context())
		writeJSON(w, list)
	})
	mux.HandleFunc("GET /api/v1/channels/{name}", func(w http.ResponseWriter, r *http.Request) {
		got, err := channels.GetChannel(r.Context(), r.PathValue("name"))
		if errors.Is(err, resource.ErrNotFound) {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		writeJSON(w, got)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// TestPlayback plays a VOD with both players in headless Chromium: it checks
// the player page, the vendored players and the browser harness together.
func TestPlayback(t *testing.T) {
	if testing.Short() {
		t.Skip("playback test starts a browser")
	}
	ffmpeg := needTool(t, "ffmpeg", func() (string, error) { return exec.LookPath("ffmpeg") },
		requireBrowserEnv, requireToolsEnv)
	needTool(t, "chromium", browser.Available, requireBrowserEnv)

	mediaDir := t.TempDir()
	makeVOD(t, ffmpeg, mediaDir)
	srv := playbackServer(t, mediaDir)

	const watch = 6 * time.Second
	for _, kind := range []string{playerHLS, playerDASH} {
		t.Run(kind, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
			defer cancel()
			page := srv.URL + "/play/demo?player=" + kind
			res, err := browser.Play(ctx, page, watch)
			if res != nil {
				for _, e := range res.Errors {
					t.Logf("page error: %s", e)
				}
			}
			if err != nil {
				t.Fatalf("Play(%s): %v", page, err)
			}
			if res.Fatal != "" {
				t.Fatalf("fatal player error: %s", res.Fatal)
			}
			if len(res.Samples) < 2 {
				t.Fatalf("only %d samples", len(res.Samples))
			}
			first, last := res.Samples[0], res.Samples[len(res.Samples)-1]
			t.Logf("currentTime %.2f → %.2f over %s", first.CurrentTime, last.CurrentTime, last.At-first.At)
			if adv := last.CurrentTime - first.CurrentTime; adv < 3 || math.IsNaN(adv) {
				t.Errorf("currentTime advanced %.2f s in %s, want at least 3 s; samples: %+v", adv, watch, res.Samples)
			}

			if dir := os.Getenv(screenshotDirEnv); dir != "" {
				png := filepath.Join(dir, "play-"+kind+".png")
				if err := browser.Screenshot(ctx, page, png, 4*time.Second); err != nil {
					t.Errorf("screenshot: %v", err)
				} else {
					t.Logf("saved %s", png)
				}
			}
		})
	}
}

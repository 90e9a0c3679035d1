package e2e

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/testutil/browser"
	"github.com/sluice-video/sluice/internal/testutil/media"
)

// TestBrowserPlaysTheChannel plays the live channel's player page in headless
// Chromium with hls.js and with dash.js for 20 s each.
func TestBrowserPlaysTheChannel(t *testing.T) {
	t.Parallel()
	if _, err := browser.Available(); err != nil {
		if os.Getenv(media.RequireEnv) == "1" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	s, _ := runningChannel(t, "play", 640, 360, 6)

	for _, player := range []string{"hls", "dash"} {
		t.Run(player, func(t *testing.T) {
			w, err := watchLive(t, s, "play", s.url("/play/play?player="+player), 20*time.Second)
			res := w.res
			if err != nil {
				t.Fatalf("%s did not start playing: %v (errors: %s)", player, err, strings.Join(errorsOf(res), "; "))
			}
			if res.Fatal != "" {
				t.Fatalf("%s fatal error: %s", player, res.Fatal)
			}
			n := len(res.Samples)
			if n < 20 {
				t.Fatalf("%s: only %d samples: %+v", player, n, res.Samples)
			}
			checkLiveProgress(t, player, w)
			if last := res.Samples[n-1]; player == "hls" && (last.Latency <= 0 || last.Latency > 30) {
				t.Errorf("hls.js reports a live latency of %.1f s", last.Latency)
			}
		})
	}
}

func errorsOf(r *browser.Result) []string {
	if r == nil {
		return nil
	}
	return append(r.Errors, r.Fatal)
}

package e2e

import (
	"context"
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
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			res, err := browser.Play(ctx, s.url("/play/play?player="+player), 20*time.Second)
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
			first, last := res.Samples[0], res.Samples[n-1]
			if advanced := last.CurrentTime - first.CurrentTime; advanced < 15 {
				t.Errorf("%s: currentTime advanced %.1f s in %v", player, advanced, last.At-first.At)
			}
			for i := 1; i < n; i++ {
				if res.Samples[i].CurrentTime < res.Samples[i-1].CurrentTime {
					t.Errorf("%s: currentTime went back from %.2f to %.2f", player, res.Samples[i-1].CurrentTime, res.Samples[i].CurrentTime)
				}
			}
			if player == "hls" && (last.Latency <= 0 || last.Latency > 30) {
				t.Errorf("hls.js reports a live latency of %.1f s", last.Latency)
			}
			t.Logf("%s: played %.1f s of media in %v; live latency %.1f s", player, last.CurrentTime-first.CurrentTime, last.At-first.At, last.Latency)
		})
	}
}

func errorsOf(r *browser.Result) []string {
	if r == nil {
		return nil
	}
	return append(r.Errors, r.Fatal)
}

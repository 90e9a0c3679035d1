package e2e

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bluenviron/gohlslib/v2"
	"github.com/bluenviron/gohlslib/v2/pkg/codecs"

	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/testutil/browser"
	"github.com/sluice-video/sluice/internal/testutil/media"
	"github.com/sluice-video/sluice/internal/testutil/poll"
)

// lowLatencyStack is a looped file channel with standard and low-latency
// endpoints side by side on one timeline.
func lowLatencyStack(name, file string) string {
	return testStack(name, file) + `    outputs:
      - {name: hls, type: HLS}
      - {name: dash, type: DASH}
      - {name: ll, type: LL_HLS, partSeconds: 0.2}
      - {name: lldash, type: LL_DASH}
`
}

// TestLowLatencyEndpoints checks the LL-HLS playlist and blocking reload
// over a running channel, then plays LL-HLS with hls.js and LL-DASH with
// dash.js in their low-latency modes, logging the live latency they report.
func TestLowLatencyEndpoints(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sample := media.Sample(t, dir, 640, 360, 6)
	s := startServer(t, t.TempDir())
	s.applyStack(dir, "ll", lowLatencyStack("ll", sample))
	s.waitState("ll", resource.StateRunning, 90*time.Second)

	var playlist string
	poll.Until(t, "an LL-HLS playlist with parts", 90*time.Second, func() (bool, string) {
		code, _, body := s.get("/live/ll/ll/360p/index.m3u8")
		playlist = string(body)
		return code == 200 && strings.Contains(playlist, "#EXT-X-PART:"), fmt.Sprintf("%d %s", code, body)
	})
	for _, tag := range []string{"#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES", "#EXT-X-PART-INF:PART-TARGET=0.200", "#EXT-X-PRELOAD-HINT:TYPE=PART", "INDEPENDENT=YES", "#EXT-X-RENDITION-REPORT:"} {
		if !strings.Contains(playlist, tag) {
			t.Errorf("the LL-HLS playlist lacks %s:\n%s", tag, playlist)
		}
	}
	// Blocking reload for the hinted part: the answer lists it. The server
	// holds a blocking reload for a few segment durations and then answers
	// 503; an encoder stalled that long on a loaded machine earns a 503, so
	// a 503 is retried with the newest hint, a few times.
	var hint string
	var msn int
	for attempt := 1; ; attempt++ {
		var part int
		hint, msn, part = preloadHint(t, playlist)
		code, _, body := s.get(fmt.Sprintf("/live/ll/ll/360p/index.m3u8?_HLS_msn=%d&_HLS_part=%d", msn, part))
		if code == http.StatusServiceUnavailable && attempt < 5 {
			t.Logf("blocking reload for %s: 503 (attempt %d), trying the newest hint", hint, attempt)
			_, _, body = s.get("/live/ll/ll/360p/index.m3u8")
			playlist = string(body)
			continue
		}
		if code != 200 || !strings.Contains(string(body), `URI="`+hint+`"`) {
			t.Errorf("blocking reload for %s: %d\n%s", hint, code, body)
		}
		break
	}
	code, _, body := s.get(fmt.Sprintf("/live/ll/ll/360p/index.m3u8?_HLS_msn=%d", msn+10))
	if code != 400 {
		t.Errorf("a request ten segments ahead: %d %s, want 400", code, body)
	}
	code, hdr, body := s.get("/live/ll/ll/360p/" + hint)
	if code != 200 || len(body) == 0 || hdr.Get("Content-Type") != "video/mp4" {
		t.Errorf("the hinted part: %d, %d bytes", code, len(body))
	}
	// The multivariant playlist lists each video rendition muxed with the
	// audio: one playlist and one part at a time for a player.
	code, _, body = s.get("/live/ll/ll/index.m3u8")
	if code != 200 || !strings.Contains(string(body), "360p/av.m3u8") || strings.Contains(string(body), "#EXT-X-MEDIA:TYPE=AUDIO") {
		t.Errorf("LL-HLS multivariant: %d\n%s", code, body)
	}
	code, _, body = s.get("/live/ll/lldash/manifest.mpd")
	if code != 200 || !strings.Contains(string(body), `availabilityTimeComplete="false"`) || !strings.Contains(string(body), "<ServiceDescription") {
		t.Errorf("LL-DASH manifest: %d\n%s", code, body)
	}
	// A Go LL-HLS client reads the stream: video and audio arrive. The
	// client gives up on the first bad answer, such as the 503 of a
	// blocking reload held while a loaded machine stalls the encoder; a
	// player would retry, so the test starts a new client, a few times.
	var video, audio atomic.Int64
	var parts atomic.Int64
	quiet := func(string) {}
	startClient := func() (*gohlslib.Client, chan error) {
		c := &gohlslib.Client{
			URI:                       s.url("/live/ll/ll/index.m3u8"),
			OnDownloadPrimaryPlaylist: quiet, OnDownloadStreamPlaylist: quiet, OnDownloadSegment: quiet,
			OnDownloadPart: func(string) { parts.Add(1) },
		}
		c.OnTracks = func(tracks []*gohlslib.Track) error {
			for _, tr := range tracks {
				switch tr.Codec.(type) {
				case *codecs.H264:
					c.OnDataH26x(tr, func(_, _ int64, _ [][]byte) { video.Add(1) })
				case *codecs.MPEG4Audio:
					c.OnDataMPEG4Audio(tr, func(_ int64, aus [][]byte) { audio.Add(int64(len(aus))) })
				}
			}
			return nil
		}
		if err := c.Start(); err != nil {
			t.Fatalf("gohlslib: %v", err)
		}
		stopped := make(chan error, 1)
		go func() { stopped <- c.Wait2() }()
		return c, stopped
	}
	c, stopped := startClient()
	restarts := 0
	poll.Until(t, "gohlslib to receive 50 video frames and audio", 90*time.Second, func() (bool, string) {
		select {
		case err := <-stopped:
			restarts++
			if restarts > 5 {
				t.Fatalf("gohlslib stopped %d times, the last: %v (%d video frames, %d audio frames)", restarts, err, video.Load(), audio.Load())
			}
			t.Logf("gohlslib stopped: %v; starting a new client", err)
			c, stopped = startClient()
		default:
		}
		return video.Load() >= 50 && audio.Load() > 0, fmt.Sprintf("%d video frames, %d audio frames, %d client restarts", video.Load(), audio.Load(), restarts)
	})
	c.Close()
	if parts.Load() == 0 {
		t.Error("gohlslib read no part: it did not see the stream as low-latency")
	}

	// Standard HLS on the same channel lists no parts.
	code, _, body = s.get("/live/ll/hls/360p/index.m3u8")
	if code != 200 || strings.Contains(string(body), "EXT-X-PART") {
		t.Errorf("standard HLS: %d\n%s", code, body)
	}

	if _, err := browser.Available(); err != nil {
		if os.Getenv(media.RequireEnv) == "1" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	for _, player := range []string{"llhls", "lldash"} {
		t.Run(player, func(t *testing.T) {
			w, err := watchLive(t, s, "ll", s.url("/play/ll?player="+player), 30*time.Second)
			res := w.res
			if err != nil {
				t.Fatalf("%s did not start playing: %v (errors: %s)", player, err, strings.Join(errorsOf(res), "; "))
			}
			if res.Fatal != "" {
				t.Fatalf("%s fatal error: %s (errors: %s)", player, res.Fatal, strings.Join(errorsOf(res), "; "))
			}
			n := len(res.Samples)
			if n < 25 {
				t.Fatalf("%s: only %d samples: %+v", player, n, res.Samples)
			}
			checkLiveProgress(t, player, w)
			var sum float64
			var k int
			for _, smp := range res.Samples[n/2:] {
				if smp.Latency > 0 {
					sum += smp.Latency
					k++
				}
			}
			avg := -1.0
			if k > 0 {
				avg = sum / float64(k)
			}
			t.Logf("%s: live latency over the second half %.2f s (last %.2f s)", player, avg, res.Samples[n-1].Latency)
		})
	}
}

// preloadHint reads the part named by an LL-HLS playlist's preload hint:
// its URI, media sequence number and part index.
func preloadHint(t *testing.T, playlist string) (string, int, int) {
	t.Helper()
	_, hint, _ := strings.Cut(playlist, `#EXT-X-PRELOAD-HINT:TYPE=PART,URI="`)
	hint, _, _ = strings.Cut(hint, `"`)
	var msn, part int
	if _, err := fmt.Sscanf(hint, "%d.%d.m4s", &msn, &part); err != nil {
		t.Fatalf("preload hint %q: %v\n%s", hint, err, playlist)
	}
	return hint, msn, part
}

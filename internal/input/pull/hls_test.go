package pull

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-video/sluice/internal/input/live"
	"github.com/sluice-video/sluice/internal/testutil/poll"
)

// TestHLSLive: a live playlist that ffmpeg keeps writing (one-second
// segments, five in the list), MPEG-TS and fMP4 segments.
func TestHLSLive(t *testing.T) {
	for _, segType := range []string{"mpegts", "fmp4"} {
		t.Run(segType, func(t *testing.T) {
			dir := t.TempDir()
			ffmpegBackground(t, "-re", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25",
				"-f", "lavfi", "-i", "sine=sample_rate=48000", "-t", "300",
				"-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-pix_fmt", "yuv420p",
				"-c:a", "aac", "-b:a", "64k",
				"-f", "hls", "-hls_time", "1", "-hls_list_size", "5", "-hls_flags", "delete_segments+temp_file",
				"-hls_segment_type", segType, filepath.Join(dir, "live.m3u8"))
			srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
			defer srv.Close()

			reg := live.NewRegistry(nil)
			hub := reg.Set(live.InputConfig{Name: "hls", Protocol: "pull"})
			w := watch(t, hub)
			startRun(t, reg, "hls", srv.URL+"/live.m3u8", testOptions())
			expectMedia(t, w, live.H264, live.AAC, 320, 180)
			if st := hub.Status(); !st.Connected || st.Protocol != "http" || st.Publisher != srv.URL+"/live.m3u8" {
				t.Errorf("status %+v", st)
			}
		})
	}
}

// TestHLSVOD: a VOD playlist, found by its content at a URL without
// .m3u8, plays out at the pace of the clock, ends the session, and is
// pulled again.
func TestHLSVOD(t *testing.T) {
	cases := []struct {
		name  string
		codec live.Codec
		args  []string
	}{
		{"H264 fMP4", live.H264, nil},
		{"H265 fMP4", live.H265, []string{"-c:v", "libx265", "-x265-params", "log-level=error", "-tag:v", "hvc1"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			args := append(append([]string{}, c.args...), "-f", "hls", "-hls_time", "1", "-hls_playlist_type", "vod", "-hls_segment_type", "fmp4")
			encode(t, dir, "vod.m3u8", 4, args...)
			playlist, err := os.ReadFile(filepath.Join(dir, "vod.m3u8"))
			if err != nil {
				t.Fatal(err)
			}
			files := http.FileServer(http.Dir(dir))
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/channel" {
					w.Header().Set("Content-Type", "text/plain")
					_, _ = w.Write(playlist)
					return
				}
				files.ServeHTTP(w, r)
			}))
			defer srv.Close()

			reg := live.NewRegistry(nil)
			hub := reg.Set(live.InputConfig{Name: "vod", Protocol: "pull"})
			w := watch(t, hub)
			p := startRun(t, reg, "vod", srv.URL+"/channel", testOptions())
			expectMedia(t, w, c.codec, live.AAC, 320, 180)
			poll.UntilTrue(t, "the end of the playlist", waitLong, func() bool { return len(w.endings()) > 0 })
			if got := w.endings()[0]; !strings.Contains(got, "the playlist has played out") {
				t.Errorf("end reason %q", got)
			}
			logsContain(t, p, "ended: the source ended the stream: the playlist has played out; reconnecting in")
			before := w.count(live.Video)
			poll.UntilTrue(t, "the playlist again", waitLong, func() bool { return w.count(live.Video) > before+20 })
		})
	}
}

package origin

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/packager/cmaf"
	"github.com/sluice-video/sluice/internal/resource"
)

// TestStartingChannelIsRetried: a channel that is starting on this node
// (taken over from another) answers its manifests 503 with Retry-After,
// which players retry; one that is not answers 404 as before.
func TestStartingChannelIsRetried(t *testing.T) {
	tl, err := cmaf.NewTimeline(cmaf.Config{SegmentDuration: time.Second, Renditions: []cmaf.RenditionConfig{{ID: "360p", Kind: cmaf.Video}}})
	if err != nil {
		t.Fatal(err)
	}
	outputs := []resource.OutputGroup{{Name: "hls", Type: resource.OutputHLS}, {Name: "dash", Type: resource.OutputDASH}}
	for _, c := range []struct {
		name     string
		ch       Channel
		path     string
		starting bool
	}{
		{"no timeline yet", Channel{Outputs: outputs}, "/live/news/hls/index.m3u8", false},
		{"no timeline yet, starting", Channel{Outputs: outputs, Starting: true}, "/live/news/hls/index.m3u8", true},
		{"no segment yet", Channel{Outputs: outputs, Timeline: tl}, "/live/news/hls/360p/index.m3u8", false},
		{"no segment yet, starting", Channel{Outputs: outputs, Timeline: tl, Starting: true}, "/live/news/hls/360p/index.m3u8", true},
		{"no segment yet, starting, DASH", Channel{Outputs: outputs, Timeline: tl, Starting: true}, "/live/news/dash/manifest.mpd", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := New(func(string) (Channel, bool) { return c.ch, true }, nil, nil)
			mux := http.NewServeMux()
			o.Register(mux)
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, c.path, nil))
			want := http.StatusNotFound
			if c.starting {
				want = http.StatusServiceUnavailable
			}
			if rec.Code != want {
				t.Fatalf("%s: %d %s, want %d", c.path, rec.Code, rec.Body, want)
			}
			if c.starting && (rec.Header().Get("Retry-After") != "1" || rec.Header().Get("Cache-Control") != "no-store") {
				t.Errorf("503 headers %v", rec.Header())
			}
		})
	}
}

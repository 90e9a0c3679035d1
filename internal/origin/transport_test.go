package origin

import (
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sluice-video/sluice/internal/packager/cmaf"
	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/testutil/media"
)

func newTransportStreamOrigin(t *testing.T, tl *cmaf.Timeline) *httptest.Server {
	t.Helper()
	outs := []resource.OutputGroup{{Name: "ts", Type: resource.OutputHLSTS, WindowSeconds: 60}}
	o := New(func(name string) (Channel, bool) { return Channel{Timeline: tl, Outputs: outs}, name == "news" }, nil, nil)
	mux := http.NewServeMux()
	o.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestTransportStreamEndpoint(t *testing.T) {
	tl := packagedChannel(t)
	srv := newTransportStreamOrigin(t, tl)
	resp, body := fetch(t, srv, "GET", "/live/news/ts/index.m3u8")
	if resp.StatusCode != 200 || strings.Contains(string(body), "EXT-X-MEDIA:TYPE=AUDIO") || !strings.Contains(string(body), "mp4a.40.2") {
		t.Fatalf("multivariant: %d\n%s", resp.StatusCode, body)
	}
	resp, body = fetch(t, srv, "GET", "/live/news/ts/360p/index.m3u8")
	if resp.StatusCode != 200 || strings.Contains(string(body), "EXT-X-MAP") {
		t.Fatalf("media playlist: %d\n%s", resp.StatusCode, body)
	}
	segs := regexp.MustCompile(`(?m)^([0-9]+)\.ts$`).FindAllString(string(body), -1)
	if len(segs) < 3 {
		t.Fatalf("%d TS segments listed:\n%s", len(segs), body)
	}
	resp, data := fetch(t, srv, "GET", "/live/news/ts/360p/"+segs[1])
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "video/mp2t" || len(data)%188 != 0 {
		t.Fatalf("segment: %d %s, %d bytes", resp.StatusCode, resp.Header.Get("Content-Type"), len(data))
	}
	again, cached := fetch(t, srv, "GET", "/live/news/ts/360p/"+segs[1])
	if again.Header.Get("ETag") != resp.Header.Get("ETag") || string(cached) != string(data) {
		t.Error("the same segment remuxed twice differs")
	}
	p := filepath.Join(t.TempDir(), "seg.ts")
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(media.Tool(t, "ffprobe"), "-v", "error", "-show_entries", "stream=codec_name", "-of", "csv=p=0", p).CombinedOutput()
	if err != nil || strings.Fields(string(out))[0] != "h264" || !strings.Contains(string(out), "aac") {
		t.Errorf("ffprobe: %v %s", err, out)
	}
	// An audio rendition has no MPEG-TS segments of its own; its audio is
	// in every video rendition's.
	for _, path := range []string{"/live/news/ts/audio/index.m3u8", "/live/news/ts/audio/" + segs[1], "/live/news/ts/360p/1.ts", "/live/news/ts/360p/" + strings.TrimSuffix(segs[1], ".ts") + ".m4s"} {
		if resp, _ := fetch(t, srv, "GET", path); resp.StatusCode != 404 {
			t.Errorf("%s: %d, want 404", path, resp.StatusCode)
		}
	}
}

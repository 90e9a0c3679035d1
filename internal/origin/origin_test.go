package origin

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/encoder"
	"github.com/sluice-video/sluice/internal/encoder/ffmpeg"
	"github.com/sluice-video/sluice/internal/packager/cmaf"
	"github.com/sluice-video/sluice/internal/problem"
	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/testutil/media"
)

// packagedChannel encodes a few seconds with the real encoder command into
// a timeline, as a running channel would.
func packagedChannel(t testing.TB) *cmaf.Timeline {
	t.Helper()
	bin := media.Tool(t, "ffmpeg")
	l, err := (&resource.EncoderSettings{Ladder: "test-360p", SegmentSeconds: 1}).Resolve()
	if err != nil {
		t.Fatal(err)
	}
	src := encoder.Source{
		Args:  []string{"-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25:duration=4.5", "-f", "lavfi", "-i", "sine=duration=4.5"},
		Video: "0:v:0", Audio: "1:a:0",
	}
	cmd := encoder.Build(src, l, encoder.Options{})
	var rends []cmaf.RenditionConfig
	for _, r := range l.Rungs {
		rends = append(rends, cmaf.RenditionConfig{ID: r.Name, Kind: cmaf.Video, Bitrate: int64(r.Bitrate), MaxBitrate: int64(r.MaxBitrate), FrameRate: r.FPS})
	}
	rends = append(rends, cmaf.RenditionConfig{ID: "audio", Kind: cmaf.Audio, Bitrate: 128000, MaxBitrate: 128000})
	tl, err := cmaf.NewTimeline(cmaf.Config{SegmentDuration: time.Second, Window: 30 * time.Second, AvailabilityStart: time.Now().Add(-time.Minute), Renditions: rends})
	if err != nil {
		t.Fatal(err)
	}
	proc, err := ffmpeg.Start(ffmpeg.Config{Binary: bin, Args: cmd.Args, Outputs: len(cmd.Outputs)})
	if err != nil {
		t.Fatal(err)
	}
	feed := tl.StartRun()
	var wg sync.WaitGroup
	for i, out := range cmd.Outputs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := feed.Ingest(out.Rendition, proc.Outputs()[i]); err != nil {
				t.Errorf("ingest %s: %v", out.Rendition, err)
			}
		}()
	}
	wg.Wait()
	<-proc.Done()
	if tl.Produced() < 3 {
		t.Fatalf("only %d segments", tl.Produced())
	}
	return tl
}

func newOrigin(t *testing.T, tl *cmaf.Timeline) *httptest.Server {
	t.Helper()
	outs := []resource.OutputGroup{{Name: "hls", Type: resource.OutputHLS, WindowSeconds: 60}, {Name: "dash", Type: resource.OutputDASH, WindowSeconds: 60}}
	o := New(func(name string) (Channel, bool) {
		switch name {
		case "news":
			return Channel{Timeline: tl, Outputs: outs}, true
		case "fresh":
			return Channel{Outputs: outs}, true
		}
		return Channel{}, false
	}, nil, nil)
	mux := http.NewServeMux()
	o.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func fetch(t *testing.T, srv *httptest.Server, method, path string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	client := srv.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	return resp, body
}

func TestOriginServesManifestsAndSegments(t *testing.T) {
	tl := packagedChannel(t)
	srv := newOrigin(t, tl)
	seg := tl.Snapshot(time.Minute).Renditions[0].Segments[1]
	run := tl.Snapshot(time.Minute).Runs[0].ID
	segPath := "/live/news/hls/360p/" + itoa(seg.Number) + ".m4s"
	cases := []struct {
		path, ctype, cache string
	}{
		{"/live/news/hls/index.m3u8", "application/vnd.apple.mpegurl", "public, max-age=1, stale-if-error=1"},
		{"/live/news/hls/180p/index.m3u8", "application/vnd.apple.mpegurl", "public, max-age=1, stale-if-error=1"},
		{"/live/news/dash/manifest.mpd", "application/dash+xml", "public, max-age=1, stale-if-error=1"},
		{segPath, "video/mp4", "public, max-age=31536000, immutable"},
		{"/live/news/dash/audio/" + itoa(seg.Number) + ".m4s", "video/mp4", "public, max-age=31536000, immutable"},
		{"/live/news/hls/360p/init-" + itoa(run) + ".mp4", "video/mp4", "public, max-age=31536000, immutable"},
	}
	for _, c := range cases {
		resp, body := fetch(t, srv, "GET", c.path)
		if resp.StatusCode != 200 || len(body) == 0 {
			t.Errorf("%s: %d", c.path, resp.StatusCode)
			continue
		}
		h := resp.Header
		if h.Get("Content-Type") != c.ctype || h.Get("Cache-Control") != c.cache || h.Get("ETag") == "" || h.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("%s headers: %v", c.path, h)
		}
		head, hb := fetch(t, srv, "HEAD", c.path)
		if head.StatusCode != 200 || len(hb) != 0 || head.Header.Get("Content-Length") != itoa(uint64(len(body))) {
			t.Errorf("HEAD %s: %d, %d bytes, length %s", c.path, head.StatusCode, len(hb), head.Header.Get("Content-Length"))
		}
		notMod, _ := fetch(t, srv, "GET", c.path, "If-None-Match", h.Get("ETag"))
		if notMod.StatusCode != http.StatusNotModified {
			t.Errorf("%s with its ETag: %d, want 304", c.path, notMod.StatusCode)
		}
	}
	full, whole := fetch(t, srv, "GET", segPath)
	part, body := fetch(t, srv, "GET", segPath, "Range", "bytes=8-99")
	if part.StatusCode != http.StatusPartialContent || string(body) != string(whole[8:100]) || !strings.HasPrefix(part.Header.Get("Content-Range"), "bytes 8-99/") {
		t.Errorf("byte range: %d %q (full %d)", part.StatusCode, part.Header.Get("Content-Range"), full.StatusCode)
	}
	pre, _ := fetch(t, srv, "OPTIONS", segPath, "Origin", "https://player.example", "Access-Control-Request-Method", "GET", "Access-Control-Request-Headers", "Range")
	if pre.StatusCode != http.StatusNoContent || !strings.Contains(pre.Header.Get("Access-Control-Allow-Headers"), "Range") {
		t.Errorf("CORS preflight: %d %v", pre.StatusCode, pre.Header)
	}
	clock, body := fetch(t, srv, "GET", "/time")
	if _, err := time.Parse(time.RFC3339, string(body)); err != nil || clock.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("/time: %q %v", body, err)
	}
}

func TestOriginNotFoundIsAProblem(t *testing.T) {
	tl := packagedChannel(t)
	srv := newOrigin(t, tl)
	paths := map[string]string{
		"/live/nope/hls/index.m3u8":                    `channel \"nope\" does not exist`,
		"/live/fresh/hls/index.m3u8":                   "has not started yet",
		"/live/news/other/index.m3u8":                  `no endpoint \"other\"`,
		"/live/news/hls/manifest.mpd":                  "has no file",
		"/live/news/dash/index.m3u8":                   "has no file",
		"/live/news/hls/720p/index.m3u8":               "no such rendition",
		"/live/news/hls/360p/1.m4s":                    "not in the window",
		"/live/news/hls/360p/99999999999999999999.m4s": "has no file",
		"/live/news/hls/360p/init-1.mp4":               "not in the window",
		"/live/news/hls/360p/segment.ts":               "has no file",
		"/live/news/hls/../../../etc/passwd":           "",
		"/live/news/hls/%2e%2e/%2e%2e/etc/passwd":      "",
		"/live/..%2f..%2fetc/hls/passwd":               "",
		"/live/News/hls/index.m3u8":                    "no such channel",
		"/live/":                                       "no such path",
	}
	for p, detail := range paths {
		resp, body := fetch(t, srv, "GET", p)
		if resp.StatusCode != 404 && resp.StatusCode != 301 && resp.StatusCode != 307 {
			t.Errorf("%s: %d %s", p, resp.StatusCode, body)
			continue
		}
		if strings.Contains(string(body), "root:") {
			t.Fatalf("%s leaked a file: %s", p, body)
		}
		if resp.StatusCode != 404 {
			if loc := resp.Header.Get("Location"); strings.Contains(loc, "..") {
				t.Errorf("%s redirects to %s", p, loc)
			}
			continue
		}
		var pd problem.Details
		if err := json.Unmarshal(body, &pd); err != nil || resp.Header.Get("Content-Type") != problem.ContentType {
			t.Errorf("%s: not a problem document: %s", p, body)
			continue
		}
		if resp.Header.Get("Cache-Control") != "public, max-age=1" {
			t.Errorf("%s: errors are cached for a second, got %q", p, resp.Header.Get("Cache-Control"))
		}
		if !strings.Contains(string(body), detail) {
			t.Errorf("%s: %s does not say %q", p, body, detail)
		}
	}
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }

package edge

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestSpooledHitsFollowTheContent serves large objects from the spool and
// checks that a refreshed object is never answered with the bytes of the
// copy it replaced.
func TestSpooledHitsFollowTheContent(t *testing.T) {
	var version atomic.Int32
	version.Store(1)
	body := func(v int32) string { return strings.Repeat(string('a'+v), 200<<10) }
	o := newOrigin(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=1")
		_, _ = w.Write([]byte(body(version.Load())))
	})
	clk := newClock()
	dir := filepath.Join(t.TempDir(), "spool")
	e, srv := startEdge(t, Config{Origins: []string{o.URL}, Now: clk.Now, HealthInterval: -1, SpoolDir: dir, SpoolBytes: 1 << 20})
	url := srv.URL + "/live/news/hls/720p/index.m3u8"
	expect(t, get(t, url), http.StatusOK, labelMiss, body(1))
	for range 3 {
		r := get(t, url)
		expect(t, r, http.StatusOK, labelHit, body(1))
		if r.header.Get("Content-Length") != "204800" {
			t.Fatalf("Content-Length %q", r.header.Get("Content-Length"))
		}
	}
	if files, _ := os.ReadDir(dir); len(files) != 1 {
		t.Fatalf("%d files spooled, want 1", len(files))
	}
	// The object expires and the origin has a new version of it.
	version.Store(2)
	clk.Advance(2 * time.Second)
	expect(t, get(t, url), http.StatusOK, labelMiss, body(2))
	expect(t, get(t, url), http.StatusOK, labelHit, body(2))
	// HEAD and ranges answer as before.
	if r := fetch(t, http.MethodHead, url); r.status != http.StatusOK || r.body != "" || r.header.Get("Content-Length") != "204800" {
		t.Fatalf("HEAD %d %q %s", r.status, trim(r.body), r.header.Get("Content-Length"))
	}
	if r := get(t, url, "Range", "bytes=10-19"); r.status != http.StatusPartialContent || r.body != strings.Repeat("c", 10) {
		t.Fatalf("range %d %q", r.status, r.body)
	}
	if s := e.Stats(); s.BytesOut < 5*204800 {
		t.Fatalf("%d bytes counted out", s.BytesOut)
	}
	e.Close()
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("the spool folder outlived the edge: %v", err)
	}
}

package web

import (
	"net/http"
	"strings"
	"testing"
)

func TestAssetsServedWithETag(t *testing.T) {
	srv := newTestServer(t, &fakeChannels{})
	cases := []struct{ path, contentType, contains string }{
		{"/assets/style.css", "text/css; charset=utf-8", ".badge"},
		{"/assets/channels.js", "text/javascript; charset=utf-8", "/api/v1/channels"},
		{"/assets/player.js", "text/javascript; charset=utf-8", "window.sluicePlayer"},
		{"/assets/vendor/hls.min.js", "text/javascript; charset=utf-8", "Hls"},
		{"/assets/vendor/dash.all.min.js", "text/javascript; charset=utf-8", "dashjs"},
		{"/assets/vendor/hls.js.LICENSE", "text/plain; charset=utf-8", "Apache License"},
		{"/assets/vendor/dashjs.LICENSE", "text/plain; charset=utf-8", "BSD"},
		{"/assets/vendor/redoc.standalone.js", "text/javascript; charset=utf-8", "e.Redoc="},
		{"/assets/vendor/redoc.LICENSE", "text/plain; charset=utf-8", "MIT License"},
	}
	for _, c := range cases {
		t.Run(c.path, func(t *testing.T) {
			resp, body := get(t, srv, c.path) //nolint:bodyclose // get reads and closes the body
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status = %d", resp.StatusCode)
			}
			if got := resp.Header.Get("Content-Type"); got != c.contentType {
				t.Errorf("Content-Type = %q, want %q", got, c.contentType)
			}
			if got := resp.Header.Get("Cache-Control"); got != "public, max-age=3600" {
				t.Errorf("Cache-Control = %q", got)
			}
			if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Error("no X-Content-Type-Options: nosniff")
			}
			if !strings.Contains(body, c.contains) {
				t.Errorf("body lacks %q", c.contains)
			}
			etag := resp.Header.Get("ETag")
			if !strings.HasPrefix(etag, `"`) || len(etag) < 10 {
				t.Fatalf("ETag = %q", etag)
			}

			resp, body = get(t, srv, c.path, "If-None-Match", etag) //nolint:bodyclose // get reads and closes the body
			if resp.StatusCode != http.StatusNotModified {
				t.Errorf("conditional GET status = %d, want 304", resp.StatusCode)
			}
			if body != "" {
				t.Errorf("304 carried a body of %d bytes", len(body))
			}

			resp, _ = get(t, srv, c.path, "If-None-Match", `"stale"`) //nolint:bodyclose // get reads and closes the body
			if resp.StatusCode != http.StatusOK {
				t.Errorf("GET with a stale ETag = %d, want 200", resp.StatusCode)
			}
		})
	}
}

func TestAssetETagsDiffer(t *testing.T) {
	srv := newTestServer(t, &fakeChannels{})
	a, _ := get(t, srv, "/assets/player.js")
	b, _ := get(t, srv, "/assets/channels.js")
	if a.Header.Get("ETag") == b.Header.Get("ETag") {
		t.Error("different assets share an ETag")
	}
}

func TestUnknownAsset(t *testing.T) {
	srv := newTestServer(t, &fakeChannels{})
	for _, path := range []string{"/assets/nope.js", "/assets/", "/assets/vendor/"} {
		resp, _ := get(t, srv, path)
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", path, resp.StatusCode)
		}
	}
}

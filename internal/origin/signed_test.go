package origin

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/signing"
)

// TestProtectedEndpointsCheckSignatures: an endpoint with
// RequireSignedURLs refuses unsigned, expired and misdirected requests with
// 403 naming the condition; its sibling endpoint stays open. The channel
// has not started, so an admitted request gets the 404 that says so.
func TestProtectedEndpointsCheckSignatures(t *testing.T) {
	key, err := signing.NewHMACKey("k1")
	if err != nil {
		t.Fatal(err)
	}
	v, err := signing.NewVerifier(key)
	if err != nil {
		t.Fatal(err)
	}
	outs := []resource.OutputGroup{{Name: "hls", Type: resource.OutputHLS, RequireSignedURLs: true}, {Name: "dash", Type: resource.OutputDASH}}
	lookup := func(name string) (Channel, bool) { return Channel{Outputs: outs}, name == "news" }
	serve := func(o *Origin) *httptest.Server {
		mux := http.NewServeMux()
		o.Register(mux)
		srv := httptest.NewServer(mux)
		t.Cleanup(srv.Close)
		return srv
	}
	srv := serve(New(lookup, nil, nil).RequireSignatures(v))
	get := func(base, path string) (int, string) {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	sign := func(p signing.Policy) string {
		q, err := signing.Sign(p, key)
		if err != nil {
			t.Fatal(err)
		}
		return q.Encode()
	}
	now := time.Now()
	valid := sign(signing.Policy{Path: "/live/news/hls/*", Expires: now.Add(time.Hour)})
	for path, want := range map[string]string{
		"/live/news/hls/index.m3u8": "missing-signature",
		"/live/news/hls/index.m3u8?" + sign(signing.Policy{Path: "/live/news/hls/*", Expires: now.Add(-time.Minute)}):                             "expired",
		"/live/news/hls/index.m3u8?" + sign(signing.Policy{Path: "/live/sport/*", Expires: now.Add(time.Hour)}):                                   "wrong-path",
		"/live/news/hls/index.m3u8?" + sign(signing.Policy{Path: "/live/news/*", Expires: now.Add(2 * time.Hour), NotBefore: now.Add(time.Hour)}): "not-yet-valid",
		"/live/news/hls/index.m3u8?" + strings.Replace(valid, "sluice-key=k1", "sluice-key=k2", 1):                                                "unknown-key",
	} {
		code, body := get(srv.URL, path)
		if code != http.StatusForbidden || !strings.Contains(body, want) {
			t.Errorf("%s: %d %s, want 403 %s", path, code, body, want)
		}
		if strings.Contains(body, "sluice-signature") && strings.Contains(body, string(key.Secret)) {
			t.Error("the refusal leaks the key")
		}
	}
	if code, body := get(srv.URL, "/live/news/hls/index.m3u8?"+valid); code != http.StatusNotFound || !strings.Contains(body, "not started") {
		t.Errorf("signed: %d %s", code, body)
	}
	if code, body := get(srv.URL, "/live/news/dash/manifest.mpd"); code != http.StatusNotFound || !strings.Contains(body, "not started") {
		t.Errorf("open endpoint: %d %s", code, body)
	}
	// Without keys a protected endpoint is never served.
	open := serve(New(lookup, nil, nil))
	if code, body := get(open.URL, "/live/news/hls/index.m3u8?"+valid); code != http.StatusForbidden || !strings.Contains(body, "no signing keys") {
		t.Errorf("without keys: %d %s", code, body)
	}
}

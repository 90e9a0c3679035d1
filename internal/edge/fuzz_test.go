package edge

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzCacheKey checks the cache-key builder on arbitrary paths and query
// strings: no panics, a key that starts with "/", only allow-listed
// parameters and never a signature, and a canonical form that maps to
// itself.
func FuzzCacheKey(f *testing.F) {
	f.Add("/live/news/hls/720p/index.m3u8", "_HLS_msn=5&_HLS_part=2&sluice-signature=x&sluice-key=k")
	f.Add("/live/news/../x", "start=1&start=2&end=%zz&sluice-policy=;")
	f.Add("", "_HLS_skip=YES&token=t&Sluice-Key=k&_hls_msn=3")
	f.Add("/a b/ü", "start=%E2%82%AC&end=a+b&&=&start")
	allowed := map[string]bool{"_HLS_msn": true, "_HLS_part": true, "_HLS_skip": true, "start": true, "end": true, "sluice-signature": true, "token": true}
	f.Fuzz(func(t *testing.T, path, rawQuery string) {
		u := &url.URL{Path: path, RawQuery: rawQuery}
		key := cacheKey(u, allowed)
		if !strings.HasPrefix(key, "/") {
			t.Fatalf("key %q does not start with /", key)
		}
		p, q, hasQuery := strings.Cut(key, "?")
		if !hasQuery {
			q = ""
		}
		vals, err := url.ParseQuery(q)
		if err != nil {
			t.Fatalf("key %q has an unreadable query: %v", key, err)
		}
		for name := range vals {
			if !allowed[name] || reservedParam(name) {
				t.Fatalf("key %q keeps parameter %q", key, name)
			}
		}
		for _, pair := range strings.Split(q, "&") {
			name, _, _ := strings.Cut(pair, "=")
			if n := strings.ToLower(name); strings.HasPrefix(n, "sluice-") || n == "token" {
				t.Fatalf("key %q carries a signature parameter", key)
			}
		}
		// The key's own query, reordered or not, gives the key again.
		if again := cacheKey(&url.URL{Path: u.Path, RawQuery: q}, allowed); again != key || !strings.HasPrefix(p, "/") {
			t.Fatalf("key %q is not canonical: %q", key, again)
		}
	})
}

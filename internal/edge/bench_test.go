package edge

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkEdgeHit measures the handler alone (no network) answering cache
// hits for a playlist-sized and a segment-sized object, the requests
// bench/edge compares with Varnish.
func BenchmarkEdgeHit(b *testing.B) {
	bodies := map[string][]byte{
		"/live/news/hls/360p/index.m3u8": bytes.Repeat([]byte("#EXTINF:2.000,\n100.m4s\n"), 40),
		"/live/news/hls/360p/100.m4s":    bytes.Repeat([]byte{0x42}, 200_000),
	}
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Header().Set("Content-Type", "video/mp4")
		w.Header().Set("ETag", `"eeee"`)
		w.Header().Set("Access-Control-Allow-Origin", "*")
		_, _ = w.Write(bodies[r.URL.Path])
	}))
	defer origin.Close()
	e, err := New(Config{Origins: []string{origin.URL}, HealthInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	for name, path := range map[string]string{"playlist": "/live/news/hls/360p/index.m3u8", "segment": "/live/news/hls/360p/100.m4s"} {
		b.Run(name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, path, nil)
			e.ServeHTTP(httptest.NewRecorder(), req) // the miss that fills the cache
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				e.ServeHTTP(w, req)
				if w.Code != http.StatusOK || w.Header().Get("X-Cache") != labelHit {
					b.Fatalf("%s: %d %s", path, w.Code, w.Header().Get("X-Cache"))
				}
			}
		})
	}
}

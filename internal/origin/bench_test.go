package origin

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/resource"
)

// BenchmarkOrigin measures the handler alone (no network) for a media
// playlist and a segment, the two requests bench/origin compares with nginx,
// and a segment of an AES-128 endpoint.
func BenchmarkOrigin(b *testing.B) {
	tl := packagedChannel(b)
	outs := []resource.OutputGroup{
		{Name: "hls", Type: resource.OutputHLS, WindowSeconds: 60},
		{Name: "aes", Type: resource.OutputHLS, WindowSeconds: 60, Encryption: &resource.Encryption{Method: resource.EncryptionAES128}},
	}
	o := New(func(string) (Channel, bool) { return Channel{Timeline: tl, Outputs: outs}, true }, nil, nil).
		WithKeySecret([]byte("0123456789abcdef0123456789abcdef"))
	mux := http.NewServeMux()
	o.Register(mux)
	seg := tl.Snapshot(time.Minute).Renditions[0].Segments[1]
	for name, path := range map[string]string{
		"playlist": "/live/news/hls/360p/index.m3u8",
		"segment":  "/live/news/hls/360p/" + itoa(seg.Number) + ".m4s",
		"aes-128":  "/live/news/aes/360p/" + itoa(seg.Number) + ".m4s",
	} {
		b.Run(name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, path, nil)
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				mux.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatalf("%s: %d", path, w.Code)
				}
			}
		})
	}
}

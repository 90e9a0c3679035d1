package stored

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sluice-video/sluice/internal/storage"
)

// TestServeStoredFromAStream answers from storage that cannot seek (S3):
// the whole body with its length and type for GET, no body for HEAD.
func TestServeStoredFromAStream(t *testing.T) {
	obj := storage.Object{Key: "clips/one/index.m3u8", Size: 7, ETag: "abc"}
	for _, method := range []string{http.MethodGet, http.MethodHead} {
		w := httptest.NewRecorder()
		serveStored(w, httptest.NewRequest(method, "/harvest/clips/one/index.m3u8", nil), io.NopCloser(strings.NewReader("#EXTM3U")), obj, 60)
		h := w.Header()
		if w.Code != 200 || h.Get("Content-Type") != "application/vnd.apple.mpegurl" || h.Get("Content-Length") != "7" ||
			h.Get("ETag") != `"abc"` || h.Get("Cache-Control") != "public, max-age=60" {
			t.Fatalf("%s: %d %v", method, w.Code, h)
		}
		want := "#EXTM3U"
		if method == http.MethodHead {
			want = ""
		}
		if w.Body.String() != want {
			t.Fatalf("%s body %q", method, w.Body.String())
		}
	}
	if ct, known := contentTypeOf("a/b.exe"); known || ct != "application/octet-stream" {
		t.Fatalf("unknown type: %s %v", ct, known)
	}
}

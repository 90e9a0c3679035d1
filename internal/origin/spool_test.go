package origin

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/resource"
)

func TestSpooledSegmentsAreServedWhole(t *testing.T) {
	tl := packagedChannel(t)
	outs := []resource.OutputGroup{
		{Name: "hls", Type: resource.OutputHLS, WindowSeconds: 60},
		{Name: "aes", Type: resource.OutputHLS, WindowSeconds: 60, Encryption: &resource.Encryption{Method: resource.EncryptionAES128}},
		// A second encrypted endpoint: same segments, same ETags, other keys.
		{Name: "aes2", Type: resource.OutputHLS, WindowSeconds: 60, Encryption: &resource.Encryption{Method: resource.EncryptionAES128}},
	}
	lookup := func(string) (Channel, bool) { return Channel{Timeline: tl, Outputs: outs}, true }
	plain := New(lookup, nil, nil).WithKeySecret([]byte("0123456789abcdef"))
	dir := filepath.Join(t.TempDir(), "spool")
	spooled, err := New(lookup, nil, nil).WithKeySecret([]byte("0123456789abcdef")).WithSpool(dir, 64<<20)
	if err != nil {
		t.Fatal(err)
	}
	spooled.spool.MinBytes = 1 // the test channel's segments are small
	serve := func(o *Origin) *httptest.Server {
		mux := http.NewServeMux()
		o.Register(mux)
		srv := httptest.NewServer(mux)
		t.Cleanup(srv.Close)
		return srv
	}
	a, b := serve(plain), serve(spooled)
	snap := tl.Snapshot(time.Minute)
	var paths []string
	for _, r := range snap.Renditions {
		for _, s := range r.Segments {
			paths = append(paths, "/live/news/hls/"+r.ID+"/"+itoa(s.Number)+".m4s", "/live/news/aes/"+r.ID+"/"+itoa(s.Number)+".m4s", "/live/news/aes2/"+r.ID+"/"+itoa(s.Number)+".m4s")
		}
		paths = append(paths, "/live/news/hls/"+r.ID+"/init-"+itoa(snap.Runs[0].ID)+".mp4")
	}
	// Many viewers at once, twice over: the first requests write the
	// files, the later ones read them.
	var wg sync.WaitGroup
	for range 2 {
		for _, p := range paths {
			for range 4 {
				wg.Go(func() {
					want, wantBody := getConcurrently(t, a.URL+p)
					got, gotBody := getConcurrently(t, b.URL+p)
					if got.StatusCode != 200 || want.StatusCode != 200 || !bytes.Equal(gotBody, wantBody) ||
						got.Header.Get("Content-Length") != want.Header.Get("Content-Length") || got.Header.Get("ETag") != want.Header.Get("ETag") {
						t.Errorf("%s: spooled %d (%d bytes, ETag %s), from memory %d (%d bytes, ETag %s)", p,
							got.StatusCode, len(gotBody), got.Header.Get("ETag"), want.StatusCode, len(wantBody), want.Header.Get("ETag"))
					}
				})
			}
		}
		wg.Wait()
	}
	files, _ := os.ReadDir(dir)
	if len(files) == 0 {
		t.Fatal("nothing was spooled")
	}
	// Ranges and HEAD answer as before.
	seg := "/live/news/hls/360p/" + itoa(snap.Renditions[0].Segments[0].Number) + ".m4s"
	_, whole := fetch(t, a, "GET", seg)
	part, body := fetch(t, b, "GET", seg, "Range", "bytes=100-199")
	if part.StatusCode != http.StatusPartialContent || !bytes.Equal(body, whole[100:200]) {
		t.Errorf("range from the spooling origin: %d", part.StatusCode)
	}
	head, hb := fetch(t, b, "HEAD", seg)
	if head.StatusCode != 200 || len(hb) != 0 || head.Header.Get("Content-Length") != itoa(uint64(len(whole))) {
		t.Errorf("HEAD: %d, %d bytes", head.StatusCode, len(hb))
	}
}

// getConcurrently is a GET safe to run from many goroutines.
func getConcurrently(t *testing.T, url string) (*http.Response, []byte) {
	resp, err := http.Get(url) //nolint:gosec // a test server's URL
	if err != nil {
		t.Error(err)
		return &http.Response{}, nil
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Error(err)
	}
	return resp, body
}

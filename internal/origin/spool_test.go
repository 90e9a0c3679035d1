package origin

import (
	"bytes"
	"crypto/rand"
	"io"
	"log/slog"
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
	}
	lookup := func(string) (Channel, bool) { return Channel{Timeline: tl, Outputs: outs}, true }
	plain := New(lookup, nil, nil).WithKeySecret([]byte("0123456789abcdef"))
	dir := filepath.Join(t.TempDir(), "spool")
	spooled, err := New(lookup, nil, nil).WithKeySecret([]byte("0123456789abcdef")).WithSpool(dir, 64<<20)
	if err != nil {
		t.Fatal(err)
	}
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
			paths = append(paths, "/live/news/hls/"+r.ID+"/"+itoa(s.Number)+".m4s", "/live/news/aes/"+r.ID+"/"+itoa(s.Number)+".m4s")
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

func randomBody(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func readAll(t *testing.T, f *os.File) []byte {
	t.Helper()
	defer func() { _ = f.Close() }()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSpoolStaysWithinItsBudget(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "spool")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	// What a previous run left is cleared.
	if err := os.WriteFile(filepath.Join(dir, "stale"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	sp, err := newSpool(dir, 100<<10, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "stale")); err == nil {
		t.Fatal("a previous run's file was kept")
	}
	if f := sp.open("small", []byte("tiny")); f != nil {
		t.Fatal("a body below the minimum was spooled")
	}
	bodies := map[string][]byte{}
	held := sp.open("k0", randomBody(t, 40<<10))
	for i := range 10 {
		key := "k" + itoa(uint64(i))
		if bodies[key] = randomBody(t, 40<<10); i == 0 {
			continue
		}
		f := sp.open(key, bodies[key])
		if f == nil {
			t.Fatalf("%s was not spooled", key)
		}
		if got := readAll(t, f); !bytes.Equal(got, bodies[key]) {
			t.Fatalf("%s reads back %d different bytes", key, len(got))
		}
	}
	// Two 40 KB files fit in 100 KB: the newest stay.
	poll(t, "old files removed", func() bool {
		files, _ := os.ReadDir(dir)
		return len(files) == 2
	})
	if sp.size > sp.budget || len(sp.files) != 2 || len(sp.order) != 2 {
		t.Fatalf("%d bytes in %d files (%d in order), budget %d", sp.size, len(sp.files), len(sp.order), sp.budget)
	}
	// A reader of an evicted file still reads all of it.
	if held == nil {
		t.Fatal("k0 was not spooled")
	}
	if got := readAll(t, held); len(got) != 40<<10 {
		t.Fatalf("an evicted file read %d bytes", len(got))
	}
}

func TestSpoolFallsBackToMemoryWhenItCannotWrite(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "spool")
	sp, err := newSpool(dir, 1<<20, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	// The folder disappears (a disk swapped, a cleanup run): writes fail.
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if f := sp.open("a", randomBody(t, 32<<10)); f != nil {
		t.Fatal("a file was returned though it could not be written")
	}
	if !sp.broken || len(sp.files) != 0 || sp.size != 0 {
		t.Fatalf("after a failed write: broken %v, %d files, %d bytes", sp.broken, len(sp.files), sp.size)
	}
	if f := sp.open("b", randomBody(t, 32<<10)); f != nil {
		t.Fatal("spooling went on after it broke")
	}
}

// poll waits for cond with a generous deadline.
func poll(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

package input

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/sluice-video/sluice/internal/outbound"
	"github.com/sluice-video/sluice/internal/testutil/media"
)

// TestRemoteFilesGoThroughTheRelay probes an http FILE input with real
// ffprobe: through the relay it reads the file (seeking with ranges);
// with loopback denied, the server is never asked and the probe error
// says which address the policy refused.
func TestRemoteFilesGoThroughTheRelay(t *testing.T) {
	dir := t.TempDir()
	media.Sample(t, dir, 160, 90, 1)
	var hits atomic.Int32
	files := http.FileServer(http.Dir(dir))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		files.ServeHTTP(w, r)
	}))
	defer srv.Close()
	matches, _ := filepath.Glob(filepath.Join(dir, "*.mp4"))
	url := srv.URL + "/" + filepath.Base(matches[0])
	ffprobe := media.Tool(t, "ffprobe")
	ctx := context.Background()

	open, _ := outbound.New(outbound.Config{LoopbackOnly: true})
	relay, err := outbound.NewRelay(open, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer relay.Close(context.Background())
	p := Prober{Resolver: Resolver{MediaRoot: dir, Relay: relay}, FFprobe: ffprobe}
	pr, err := p.Probe(ctx, fileInput(url))
	if err != nil || pr.Width != 160 {
		t.Fatalf("probe through the relay: %+v %v", pr, err)
	}
	if hits.Load() == 0 {
		t.Fatal("the file server was never asked")
	}

	hits.Store(0)
	public, _ := outbound.New(outbound.Config{})
	denied, err := outbound.NewRelay(public, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer denied.Close(context.Background())
	p.Resolver.Relay = denied
	_, err = p.Probe(ctx, fileInput(url))
	var pe *ProbeError
	if !errors.As(err, &pe) || pe.Location != url || !strings.Contains(pe.Reason, "outbound policy") || !strings.Contains(pe.Reason, srv.Listener.Addr().String()) {
		t.Fatalf("probe of a denied address: %v", err)
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the denied server was asked %d times", n)
	}
}

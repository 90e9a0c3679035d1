package cli

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/signing"
	"github.com/sluice-video/sluice/internal/testutil/poll"
)

// startEdge runs the edge command until the test ends and returns its URL
// and a function that shuts it down (returning runEdge's error).
func startEdge(t *testing.T, o edgeOptions) (string, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan net.Addr, 1)
	o.onListen = func(a net.Addr) { addrc <- a }
	if o.listen == "" {
		o.listen = "127.0.0.1:0"
	}
	if o.cacheSize == "" {
		o.cacheSize = "16MiB"
	}
	o.logFormat, o.logLevel = "text", "error"
	if o.drain == 0 {
		o.drain = time.Minute
	}
	if o.metricsPath == "" {
		o.metricsPath = "/metrics"
	}
	if o.readTimeout == 0 {
		o.readTimeout = time.Minute
	}
	errc := make(chan error, 1)
	var out bytes.Buffer
	go func() { errc <- runEdge(ctx, &globals{stdout: &out, stderr: io.Discard}, o) }()
	var addr net.Addr
	select {
	case addr = <-addrc:
	case err := <-errc:
		cancel()
		t.Fatalf("the edge did not start: %v", err)
	}
	stopped := false
	stop := func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		return <-errc
	}
	t.Cleanup(func() { _ = stop() })
	return "http://" + addr.String(), stop
}

func get(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func TestEdgeCommandCachesAndExportsMetrics(t *testing.T) {
	var originHits atomic.Int64
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			return
		}
		originHits.Add(1)
		w.Header().Set("Cache-Control", "max-age=60")
		_, _ = w.Write([]byte("segment " + r.URL.Path))
	}))
	defer origin.Close()
	base, _ := startEdge(t, edgeOptions{origins: []string{origin.URL}})
	for i := range 3 {
		resp, body := get(t, base+"/live/a/seg-1.m4s")
		if resp.StatusCode != 200 || body != "segment /live/a/seg-1.m4s" {
			t.Fatalf("GET %d: %s %q", i, resp.Status, body)
		}
		if want := map[bool]string{true: "MISS", false: "HIT"}[i == 0]; resp.Header.Get("X-Cache") != want {
			t.Errorf("GET %d: X-Cache %q, want %q", i, resp.Header.Get("X-Cache"), want)
		}
	}
	if n := originHits.Load(); n != 1 {
		t.Errorf("origin saw %d requests, want 1", n)
	}
	_, metrics := get(t, base+"/metrics")
	for _, want := range []string{
		`sluice_edge_requests_total{edge="sluice-edge",result="hit"} 2`,
		`sluice_edge_requests_total{edge="sluice-edge",result="miss"} 1`,
		`sluice_edge_responses_total{class="2xx",edge="sluice-edge"} 3`,
		`sluice_edge_origin_request_duration_seconds_count{edge="sluice-edge"} 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s\n%s", want, metrics)
		}
	}
}

func TestEdgeCommandDrainsResponsesOnShutdown(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			return
		}
		w.Header().Set("Cache-Control", "max-age=60")
		_, _ = w.Write([]byte("first half,"))
		w.(http.Flusher).Flush()
		started <- struct{}{}
		<-release
		_, _ = w.Write([]byte("second half"))
	}))
	defer origin.Close()
	defer close(release)
	base, stop := startEdge(t, edgeOptions{origins: []string{origin.URL}})
	type result struct {
		body string
		err  error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := http.Get(base + "/live/a/part.m4s")
		if err != nil {
			done <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		done <- result{string(b), err}
	}()
	<-started
	stopErr := make(chan error, 1)
	go func() { stopErr <- stop() }()
	// New connections are refused while the response in progress goes on.
	poll.UntilTrue(t, "the edge to refuse connections after shutdown began", time.Minute, func() bool {
		c, err := net.DialTimeout("tcp", strings.TrimPrefix(base, "http://"), time.Second)
		if err != nil {
			return true
		}
		_ = c.Close()
		return false
	})
	release <- struct{}{}
	r := <-done
	if r.err != nil || r.body != "first half,second half" {
		t.Fatalf("the response in progress was cut: %q, %v", r.body, r.err)
	}
	if err := <-stopErr; err != nil {
		t.Fatalf("runEdge: %v", err)
	}
}

func TestEdgeCommandChecksSignedURLs(t *testing.T) {
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok"))
	}))
	defer origin.Close()
	key, err := signing.NewHMACKey("k1")
	if err != nil {
		t.Fatal(err)
	}
	text, err := key.Encode()
	if err != nil {
		t.Fatal(err)
	}
	base, _ := startEdge(t, edgeOptions{origins: []string{origin.URL}, signingKeys: []string{text}})
	resp, body := get(t, base+"/live/a/index.m3u8")
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "missing-signature") {
		t.Errorf("unsigned: %s %s", resp.Status, body)
	}
	if strings.Contains(body, text[len("hmac:k1:"):]) {
		t.Error("the refusal leaks the key")
	}
	signed, err := signing.SignURL(base+"/live/a/index.m3u8", signing.Policy{Path: "/live/a/*", Expires: time.Now().Add(time.Hour)}, key)
	if err != nil {
		t.Fatal(err)
	}
	if resp, body := get(t, signed); resp.StatusCode != 200 || body != "ok" {
		t.Errorf("signed: %s %s", resp.Status, body)
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"512MiB": 512 << 20, "2GiB": 2 << 30, "64MB": 64e6, "1048576": 1 << 20, "1.5G": 3 << 29} {
		if got, err := parseSize("--x", in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-1MiB", "lots", "0", "1e30GiB"} {
		if _, err := parseSize("--x", in); err == nil || !strings.Contains(err.Error(), "--x") {
			t.Errorf("parseSize(%q): %v", in, err)
		}
	}
}

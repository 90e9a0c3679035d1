package edge

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// clock is a settable clock for expiry.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// origin is a real HTTP server that counts the requests it gets, by path
// and query.
type testOrigin struct {
	*httptest.Server
	count    atomic.Int64
	mu       sync.Mutex
	requests []string
}

func newOrigin(t *testing.T, h http.HandlerFunc) *testOrigin {
	t.Helper()
	o := &testOrigin{}
	o.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == DefaultHealthPath {
			_, _ = io.WriteString(w, "ok\n")
			return
		}
		o.count.Add(1)
		o.mu.Lock()
		o.requests = append(o.requests, r.URL.RequestURI())
		o.mu.Unlock()
		h(w, r)
	}))
	t.Cleanup(o.Close)
	return o
}

// seen returns the request targets the origin got.
func (o *testOrigin) seen() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.requests...)
}

// startEdge runs an edge over cfg in a real HTTP server.
func startEdge(t *testing.T, cfg Config) (*Edge, *httptest.Server) {
	t.Helper()
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(e)
	t.Cleanup(func() {
		srv.Close()
		e.Close()
	})
	return e, srv
}

type response struct {
	status int
	header http.Header
	body   string
}

// fetch makes one request and reads the whole answer.
func fetch(t *testing.T, method, url string, hdr ...string) response {
	t.Helper()
	req, err := http.NewRequest(method, url, http.NoBody)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, url, err)
	}
	return response{resp.StatusCode, resp.Header, string(b)}
}

func get(t *testing.T, url string, hdr ...string) response {
	t.Helper()
	return fetch(t, http.MethodGet, url, hdr...)
}

// expect checks a response's status, X-Cache and body.
func expect(t *testing.T, r response, status int, xcache, body string) {
	t.Helper()
	if r.status != status || r.header.Get("X-Cache") != xcache || (body != "" && r.body != body) {
		t.Fatalf("got %d %s %q, want %d %s %q", r.status, r.header.Get("X-Cache"), trim(r.body), status, xcache, trim(body))
	}
}

func trim(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

// serveWith answers with a fixed body and Cache-Control.
func serveWith(cacheControl, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		if cacheControl != "" {
			w.Header().Set("Cache-Control", cacheControl)
		}
		w.Header().Set("Content-Type", "video/mp4")
		w.Header().Set("ETag", `"`+strings.Repeat("e", 4)+`"`)
		_, _ = io.WriteString(w, body)
	}
}

const segmentCC = "public, max-age=31536000, immutable"

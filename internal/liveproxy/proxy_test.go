package liveproxy

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/peer"
	"github.com/sluice-video/sluice/internal/problem"
	"github.com/sluice-video/sluice/internal/resource"
)

type directory struct {
	mu      sync.Mutex
	holders map[string]Holder
	err     error
	asked   int
}

func (d *directory) Holder(_ context.Context, channel string) (Holder, bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.asked++
	if d.err != nil {
		return Holder{}, false, d.err
	}
	h, ok := d.holders[channel]
	return h, ok, nil
}

func (d *directory) set(channel string, h Holder) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.holders == nil {
		d.holders = map[string]Holder{}
	}
	d.holders[channel] = h
}

type holds map[string]bool

func (h holds) Holds(channel string) bool { return h[channel] }

type channels map[string][]resource.OutputGroup

func (c channels) Outputs(channel string) ([]resource.OutputGroup, bool) {
	o, ok := c[channel]
	return o, ok
}

// node is one node of a test cluster: its proxy in front of an origin
// that records what it was asked.
type node struct {
	id     string
	srv    *httptest.Server
	proxy  *Proxy
	origin http.HandlerFunc
}

func newNode(t *testing.T, id string, key *peer.Key, dir Directory, local holds, chans channels, origin http.HandlerFunc) *node {
	t.Helper()
	n := &node{id: id, origin: origin}
	n.proxy = New(Config{
		Self: id, Origin: origin, Directory: dir, Local: local, Channels: chans, Key: key,
		HolderTTL: time.Nanosecond,
	})
	n.srv = httptest.NewServer(n.proxy)
	t.Cleanup(n.srv.Close)
	return n
}

var hlsOutputs = channels{"news": {{Name: "hls", Type: resource.OutputLLHLS}}}

func TestForwardsToTheHolderWithQueryAndHeaders(t *testing.T) {
	key := peer.NewKey([]byte("0123456789abcdef0123456789abcdef"), nil)
	dir := &directory{}
	type seen struct {
		path, query, host, rng, node string
		signed                       bool
	}
	got := make(chan seen, 1)
	holder := newNode(t, "a", key, dir, holds{"news": true}, hlsOutputs, func(w http.ResponseWriter, r *http.Request) {
		node, err := key.Verify(r)
		got <- seen{r.URL.Path, r.URL.RawQuery, r.Host, r.Header.Get("Range"), node, err == nil}
		w.Header().Set("Cache-Control", "max-age=1")
		w.Header().Set("Content-Type", "application/vnd.apple.mpegurl")
		_, _ = io.WriteString(w, "#EXTM3U\n")
	})
	dir.set("news", Holder{Node: "a", URL: holder.srv.URL, Epoch: 3})
	b := newNode(t, "b", key, dir, holds{}, hlsOutputs, func(w http.ResponseWriter, _ *http.Request) {
		t.Error("node b's origin must not serve a channel it does not hold")
		w.WriteHeader(http.StatusTeapot)
	})

	req, _ := http.NewRequest(http.MethodGet, b.srv.URL+"/live/news/hls/720p/index.m3u8?_HLS_msn=7&_HLS_part=2", nil)
	req.Host = "viewer.example"
	req.Header.Set("Range", "bytes=0-99")
	// A viewer cannot pass off a request as a node's.
	req.Header.Set(peer.HeaderNode, "a")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a request with a made-up cluster header: %s %s, want 403", resp.Status, body)
	}
	req.Header.Del(peer.HeaderNode)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "#EXTM3U\n" || resp.Header.Get("Cache-Control") != "max-age=1" {
		t.Fatalf("forwarded answer: %s %q %v", resp.Status, body, resp.Header)
	}
	s := <-got
	want := seen{"/live/news/hls/720p/index.m3u8", "_HLS_msn=7&_HLS_part=2", "viewer.example", "bytes=0-99", "b", true}
	if s != want {
		t.Fatalf("the holder saw %+v, want %+v", s, want)
	}
}

func TestBlockingReloadAndGrowingPartsStreamThrough(t *testing.T) {
	key := peer.NewKey([]byte("0123456789abcdef0123456789abcdef"), nil)
	dir := &directory{}
	arrived := make(chan string, 1)
	release := make(chan struct{})
	holder := newNode(t, "a", key, dir, holds{"news": true}, hlsOutputs, func(w http.ResponseWriter, r *http.Request) {
		arrived <- r.URL.RawQuery
		// A blocking reload: held until the awaited part exists, then the
		// first bytes at once and the rest as the part grows.
		<-release
		_, _ = io.WriteString(w, "first\n")
		w.(http.Flusher).Flush()
		<-release
		_, _ = io.WriteString(w, "second\n")
	})
	dir.set("news", Holder{Node: "a", URL: holder.srv.URL, Epoch: 1})
	b := newNode(t, "b", key, dir, holds{}, hlsOutputs, nil)

	type answer struct {
		resp *http.Response
		err  error
	}
	answers := make(chan answer, 1)
	go func() {
		resp, err := http.Get(b.srv.URL + "/live/news/hls/720p/index.m3u8?_HLS_msn=12&_HLS_part=0")
		answers <- answer{resp, err}
	}()
	if q := <-arrived; q != "_HLS_msn=12&_HLS_part=0" {
		t.Fatalf("the holder was asked %q", q)
	}
	select {
	case a := <-answers:
		t.Fatalf("the viewer was answered before the holder answered: %v %v", a.resp, a.err)
	default:
	}
	release <- struct{}{}
	a := <-answers
	if a.err != nil {
		t.Fatal(a.err)
	}
	defer func() { _ = a.resp.Body.Close() }()
	br := bufio.NewReader(a.resp.Body)
	line, err := br.ReadString('\n')
	if err != nil || line != "first\n" {
		t.Fatalf("first bytes: %q %v", line, err)
	}
	// The first bytes came while the holder still writes the rest.
	close(release)
	rest, _ := io.ReadAll(br)
	if string(rest) != "second\n" {
		t.Fatalf("rest: %q", rest)
	}
}

func TestNoHolderIs503WithRetryAfter(t *testing.T) {
	key := peer.NewKey([]byte("0123456789abcdef0123456789abcdef"), nil)
	dir := &directory{}
	b := newNode(t, "b", key, dir, holds{}, hlsOutputs, func(w http.ResponseWriter, r *http.Request) {
		problem.Write(w, r, http.StatusNotFound, "channel does not exist", 1)
	})
	check := func(path string, status int, detail string) {
		t.Helper()
		resp, err := http.Get(b.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != status || !strings.Contains(string(body), detail) {
			t.Fatalf("%s: %s %s, want %d with %q", path, resp.Status, body, status, detail)
		}
		if status == http.StatusServiceUnavailable && (resp.Header.Get("Retry-After") != "1" || resp.Header.Get("Cache-Control") != "no-store") {
			t.Fatalf("%s: 503 without Retry-After or cached: %v", path, resp.Header)
		}
	}
	check("/live/news/hls/index.m3u8", http.StatusServiceUnavailable, `no node holds channel \"news\"`)
	// An unknown channel is the origin's 404, not a 503 to retry.
	check("/live/nope/hls/index.m3u8", http.StatusNotFound, "does not exist")
	// A holder that died: refused connections are a 503 too.
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	dir.set("news", Holder{Node: "a", URL: deadURL, Epoch: 4})
	check("/live/news/hls/index.m3u8", http.StatusServiceUnavailable, "does not answer")
	// The database does not answer.
	dir.mu.Lock()
	dir.err = errors.New("connection refused")
	dir.mu.Unlock()
	check("/live/news/hls/index.m3u8", http.StatusServiceUnavailable, "state database does not answer")
}

func TestForwardedRequestsNeverLoop(t *testing.T) {
	key := peer.NewKey([]byte("0123456789abcdef0123456789abcdef"), nil)
	dir := &directory{}
	// Both nodes believe the other holds the channel.
	a := newNode(t, "a", key, dir, holds{}, hlsOutputs, nil)
	b := newNode(t, "b", key, dir, holds{}, hlsOutputs, nil)
	dir.set("news", Holder{Node: "a", URL: a.srv.URL, Epoch: 2})
	resp, err := http.Get(b.srv.URL + "/live/news/hls/index.m3u8")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "does not hold") {
		t.Fatalf("%s %s", resp.Status, body)
	}
}

type refuseAll struct{}

func (refuseAll) Verify(*http.Request) error { return errors.New("the signature has expired") }

func TestSignedURLsAreCheckedByTheFirstNode(t *testing.T) {
	key := peer.NewKey([]byte("0123456789abcdef0123456789abcdef"), nil)
	dir := &directory{}
	protected := channels{"news": {{Name: "hls", Type: resource.OutputHLS, RequireSignedURLs: true}}}
	holderVerifier := TrustPeers(refuseAll{}, key)
	holder := newNode(t, "a", key, dir, holds{"news": true}, protected, func(w http.ResponseWriter, r *http.Request) {
		if err := holderVerifier.Verify(r); err != nil {
			problem.Write(w, r, http.StatusForbidden, err.Error(), 0)
			return
		}
		_, _ = io.WriteString(w, "ok")
	})
	dir.set("news", Holder{Node: "a", URL: holder.srv.URL, Epoch: 1})
	b := New(Config{Self: "b", Directory: dir, Local: holds{}, Channels: protected, Key: key, Verifier: refuseAll{}})
	rec := httptest.NewRecorder()
	b.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/live/news/hls/index.m3u8", nil))
	if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "expired") {
		t.Fatalf("unsigned viewer on node b: %d %s", rec.Code, rec.Body)
	}
	// With a signature node b accepts, the holder trusts node b.
	c := newNode(t, "c", key, dir, holds{}, protected, nil)
	c.proxy.cfg.Verifier = acceptAll{}
	resp, err := http.Get(c.srv.URL + "/live/news/hls/index.m3u8?Policy=x&Signature=y")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "ok" {
		t.Fatalf("signed viewer through node c: %s %s", resp.Status, body)
	}
	// A viewer going to the holder directly is still checked there.
	resp, err = http.Get(holder.srv.URL + "/live/news/hls/index.m3u8")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("unsigned viewer on the holder: %s", resp.Status)
	}
}

type acceptAll struct{}

func (acceptAll) Verify(*http.Request) error { return nil }

// TestAnUnansweredHolderIsTold: a holder that does not answer is told to
// the directory's hook, which may then name the node of a STANDARD
// channel's other pipeline; the next request goes there.
func TestAnUnansweredHolderIsTold(t *testing.T) {
	key := peer.NewKey([]byte("0123456789abcdef0123456789abcdef"), nil)
	dir := &directory{}
	other := newNode(t, "c", key, dir, holds{"news": true}, hlsOutputs, func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "#EXTM3U\n")
	})
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	dir.set("news", Holder{Node: "a", URL: deadURL, Epoch: 1})
	var (
		mu   sync.Mutex
		told []Holder
	)
	b := New(Config{Self: "b", Directory: dir, Local: holds{}, Channels: hlsOutputs, Key: key, Unanswered: func(channel string, h Holder) {
		if channel == "news" {
			mu.Lock()
			told = append(told, h)
			mu.Unlock()
			dir.set("news", Holder{Node: "c", URL: other.srv.URL, Epoch: 1})
		}
	}})
	srv := httptest.NewServer(b)
	t.Cleanup(srv.Close)
	get := func() int {
		resp, err := http.Get(srv.URL + "/live/news/hls/index.m3u8")
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	code := get()
	mu.Lock()
	heard := append([]Holder(nil), told...)
	mu.Unlock()
	if code != http.StatusServiceUnavailable || len(heard) != 1 || heard[0].Node != "a" {
		t.Fatalf("a dead holder: %d, told %+v", code, heard)
	}
	if code := get(); code != http.StatusOK {
		t.Errorf("after the hook named another node: %d", code)
	}
}

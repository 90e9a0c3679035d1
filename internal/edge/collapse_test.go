package edge

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/testutil/poll"
)

// TestThousandConcurrentMissesMakeOneOriginRequest holds the origin's
// answer until all 1,000 viewers have asked the edge.
func TestThousandConcurrentMissesMakeOneOriginRequest(t *testing.T) {
	const viewers = 1000
	segment := bytes.Repeat([]byte("0123456789abcdef"), 64<<10) // 1 MiB
	var e *Edge
	ready := make(chan struct{})
	o := newOrigin(t, func(w http.ResponseWriter, _ *http.Request) {
		<-ready
		// If they never all arrive, the counts below say so.
		poll.Reached(30*time.Second, func() bool { return e.Stats().Requests >= viewers })
		w.Header().Set("Cache-Control", segmentCC)
		w.Header().Set("Content-Type", "video/mp4")
		_, _ = w.Write(segment)
	})
	// The origin holds its answer until every viewer has asked, however
	// long a loaded machine takes to start 1,000 requests.
	e, srv := startEdge(t, Config{Origins: []string{o.URL}, HealthInterval: -1, OriginTimeout: 5 * time.Minute})
	close(ready)

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: viewers}}
	defer client.CloseIdleConnections()
	var wg sync.WaitGroup
	labels := make([]string, viewers)
	errs := make(chan error, viewers)
	for i := range viewers {
		wg.Go(func() {
			resp, err := client.Get(srv.URL + "/live/news/hls/720p/7.m4s")
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			switch {
			case err != nil:
				errs <- err
			case resp.StatusCode != http.StatusOK || !bytes.Equal(b, segment):
				errs <- fmt.Errorf("viewer %d: status %d, %d bytes, identical %v", i, resp.StatusCode, len(b), bytes.Equal(b, segment))
			}
			labels[i] = resp.Header.Get("X-Cache")
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := o.count.Load(); n != 1 {
		t.Fatalf("origin got %d requests, want exactly 1", n)
	}
	count := map[string]int{}
	for _, l := range labels {
		count[l]++
	}
	if count[labelMiss] != 1 || count[labelMiss]+count[labelCollapsed]+count[labelHit] != viewers {
		t.Fatalf("X-Cache: %v", count)
	}
	// A response is counted after its body reached the viewer.
	poll.UntilTrue(t, "every response counted", 30*time.Second, func() bool { return e.Stats().Responses.Status2xx == viewers })
	s := e.Stats()
	if s.Misses != 1 || s.Misses+s.Collapsed+s.Hits != viewers || s.OriginRequests != 1 || s.Responses.Status2xx != viewers {
		t.Fatalf("stats %+v", s)
	}
	if want := uint64(viewers * len(segment)); s.BytesOut != want {
		t.Fatalf("bytes out %d, want %d", s.BytesOut, want)
	}
	// Afterwards it is a plain hit.
	expect(t, get(t, srv.URL+"/live/news/hls/720p/7.m4s"), http.StatusOK, labelHit, string(segment))
}

// chunkedOrigin writes a body in pieces, each only once the test releases
// it, flushing after each, as an origin does with an LL-HLS part that is
// still being encoded.
type chunkedOrigin struct {
	*testOrigin
	release  chan struct{}
	finished chan struct{}
}

func newChunkedOrigin(t *testing.T, chunks []string, cacheControl string) *chunkedOrigin {
	t.Helper()
	c := &chunkedOrigin{release: make(chan struct{}, 1), finished: make(chan struct{})}
	c.testOrigin = newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		defer close(c.finished)
		w.Header().Set("Cache-Control", cacheControl)
		w.Header().Set("Content-Type", "video/mp4")
		rc := http.NewResponseController(w)
		for _, chunk := range chunks {
			select {
			case <-c.release:
			case <-r.Context().Done():
				return
			}
			_, _ = io.WriteString(w, chunk)
			_ = rc.Flush()
		}
	})
	return c
}

// readN reads exactly n bytes.
func readN(t *testing.T, r io.Reader, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		t.Fatalf("reading %d bytes: %v", n, err)
	}
	return string(b)
}

func TestStreamingReachesEveryViewerChunkByChunk(t *testing.T) {
	chunks := []string{"part-one|", "part-two|", "part-three|", "end"}
	o := newChunkedOrigin(t, chunks, segmentCC)
	e, srv := startEdge(t, Config{Origins: []string{o.URL}, HealthInterval: -1})
	url := srv.URL + "/live/news/hls/720p/9.m4s"

	o.release <- struct{}{}
	a, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Body.Close()
	if a.Header.Get("X-Cache") != labelMiss {
		t.Fatalf("first viewer X-Cache %q", a.Header.Get("X-Cache"))
	}
	if got := readN(t, a.Body, len(chunks[0])); got != chunks[0] {
		t.Fatalf("first viewer got %q", got)
	}
	// A second viewer attaches mid-way: it gets what has arrived at once.
	b, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Body.Close()
	if b.Header.Get("X-Cache") != labelCollapsed {
		t.Fatalf("second viewer X-Cache %q", b.Header.Get("X-Cache"))
	}
	if got := readN(t, b.Body, len(chunks[0])); got != chunks[0] {
		t.Fatalf("second viewer got %q", got)
	}
	// Each further chunk reaches both viewers while the origin is still
	// writing the object: the next chunk is not released until both have it.
	for _, chunk := range chunks[1:] {
		o.release <- struct{}{}
		for name, resp := range map[string]*http.Response{"first": a, "second": b} {
			if got := readN(t, resp.Body, len(chunk)); got != chunk {
				t.Fatalf("%s viewer got %q, want %q", name, got, chunk)
			}
		}
		select {
		case <-o.finished:
			if chunk != chunks[len(chunks)-1] {
				t.Fatal("the origin finished before the viewers had its chunks")
			}
		default:
		}
	}
	for _, resp := range []*http.Response{a, b} {
		if rest, err := io.ReadAll(resp.Body); err != nil || len(rest) != 0 {
			t.Fatalf("after the last chunk: %q, %v", rest, err)
		}
	}
	if n := o.count.Load(); n != 1 {
		t.Fatalf("origin got %d requests", n)
	}
	poll.UntilTrue(t, "the object to be cached", 30*time.Second, func() bool { return e.Stats().Memory.Objects == 1 })
	expect(t, get(t, url), http.StatusOK, labelHit, strings.Join(chunks, ""))
}

// TestUncacheableStreamIsSharedButNotKept: viewers waiting together share a
// no-store response; a later one asks the origin again.
func TestUncacheableStreamIsSharedButNotKept(t *testing.T) {
	o := newChunkedOrigin(t, []string{"a", "b"}, "no-store")
	e, srv := startEdge(t, Config{Origins: []string{o.URL}, HealthInterval: -1})
	url := srv.URL + "/time"
	o.release <- struct{}{}
	a, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Body.Close()
	if got := readN(t, a.Body, 1); got != "a" {
		t.Fatalf("got %q", got)
	}
	o.release <- struct{}{}
	if b, _ := io.ReadAll(a.Body); string(b) != "b" {
		t.Fatalf("rest %q", b)
	}
	poll.UntilTrue(t, "the fetch to end", 30*time.Second, func() bool { return e.Stats().InFlight == 0 })
	if e.Stats().Memory.Objects != 0 {
		t.Fatal("a no-store response was kept")
	}
}

// TestSlowViewerDoesNotDelayAnother: one viewer stops reading; the origin
// still finishes and another viewer gets the whole object meanwhile.
func TestSlowViewerDoesNotDelayAnother(t *testing.T) {
	body := bytes.Repeat([]byte("slow-viewer-test"), 2<<20) // 32 MiB, more than socket buffers hold
	originDone := make(chan struct{})
	gate := make(chan struct{})
	o := newOrigin(t, func(w http.ResponseWriter, _ *http.Request) {
		defer close(originDone)
		w.Header().Set("Cache-Control", segmentCC)
		rc := http.NewResponseController(w)
		_, _ = w.Write(body[:1024])
		_ = rc.Flush()
		<-gate
		_, _ = w.Write(body[1024:])
	})
	_, srv := startEdge(t, Config{Origins: []string{o.URL}, HealthInterval: -1})
	url := srv.URL + "/live/news/hls/1080p/3.m4s"

	slow, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Body.Close()
	if got := readN(t, slow.Body, 16); got != string(body[:16]) {
		t.Fatalf("slow viewer got %q", got)
	}
	// The slow viewer now stops reading.
	fastDone := make(chan response, 1)
	go func() {
		resp, err := http.Get(url)
		if err != nil {
			fastDone <- response{}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		fastDone <- response{status: resp.StatusCode, header: resp.Header, body: string(b)}
	}()
	poll.UntilTrue(t, "the second viewer to attach", 30*time.Second, func() bool { return o.count.Load() == 1 })
	close(gate)
	select {
	case <-originDone:
	case <-time.After(30 * time.Second):
		t.Fatal("the origin could not finish while a viewer was slow")
	}
	var fast response
	select {
	case fast = <-fastDone:
	case <-time.After(30 * time.Second):
		t.Fatal("the fast viewer waited for the slow one")
	}
	if fast.status != http.StatusOK || fast.body != string(body) {
		t.Fatalf("fast viewer: %d, %d bytes", fast.status, len(fast.body))
	}
	rest, err := io.ReadAll(slow.Body)
	if err != nil || string(body[:16])+string(rest) != string(body) {
		t.Fatalf("slow viewer: %d bytes, %v", 16+len(rest), err)
	}
	if n := o.count.Load(); n != 1 {
		t.Fatalf("origin got %d requests", n)
	}
}

// TestViewerLeavingDoesNotCancelTheSharedFetch: the viewer that started a
// fetch goes away; the one attached to it still gets the whole object.
func TestViewerLeavingDoesNotCancelTheSharedFetch(t *testing.T) {
	chunks := []string{"first|", "second|", "third"}
	o := newChunkedOrigin(t, chunks, segmentCC)
	_, srv := startEdge(t, Config{Origins: []string{o.URL}, HealthInterval: -1})
	url := srv.URL + "/live/news/hls/720p/11.m4s"

	o.release <- struct{}{}
	leader, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	readN(t, leader.Body, len(chunks[0]))
	other, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Body.Close()
	readN(t, other.Body, len(chunks[0]))
	_ = leader.Body.Close() // the viewer that started the fetch leaves
	o.release <- struct{}{}
	o.release <- struct{}{}
	rest, err := io.ReadAll(other.Body)
	if err != nil || string(rest) != chunks[1]+chunks[2] {
		t.Fatalf("rest %q, %v", rest, err)
	}
	if n := o.count.Load(); n != 1 {
		t.Fatalf("origin got %d requests", n)
	}
}

// TestConditionsAndRangesWhileStreaming: a viewer with a matching ETag gets
// 304 at once; a range waits for the whole object and gets 206.
func TestConditionsAndRangesWhileStreaming(t *testing.T) {
	gate := make(chan struct{})
	o := newOrigin(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Cache-Control", segmentCC)
		w.Header().Set("ETag", `"part"`)
		_, _ = io.WriteString(w, "0123")
		_ = http.NewResponseController(w).Flush()
		<-gate
		_, _ = io.WriteString(w, "456789")
	})
	e, srv := startEdge(t, Config{Origins: []string{o.URL}, HealthInterval: -1})
	url := srv.URL + "/live/news/hls/720p/4.m4s"
	first, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Body.Close()
	readN(t, first.Body, 4)

	expect(t, get(t, url, "If-None-Match", `"part"`), http.StatusNotModified, labelCollapsed, "")
	ranged := make(chan response, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodGet, url, http.NoBody)
		req.Header.Set("Range", "bytes=2-7")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			ranged <- response{}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		ranged <- response{resp.StatusCode, resp.Header, string(b)}
	}()
	poll.UntilTrue(t, "the ranged viewer to arrive", 30*time.Second, func() bool { return e.Stats().Requests == 3 })
	close(gate)
	r := <-ranged
	if r.status != http.StatusPartialContent || r.body != "234567" || r.header.Get("Content-Range") != "bytes 2-7/10" {
		t.Fatalf("range while streaming: %d %q %v", r.status, r.body, r.header)
	}
	if n := o.count.Load(); n != 1 {
		t.Fatalf("origin got %d requests", n)
	}
}

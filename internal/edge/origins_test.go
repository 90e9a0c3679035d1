package edge

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/problem"
	"github.com/sluice-video/sluice/internal/testutil/poll"
)

func TestFailoverOnServerError(t *testing.T) {
	primary := newOrigin(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=1")
		http.Error(w, "encoder gone", http.StatusInternalServerError)
	})
	backup := newOrigin(t, serveWith(segmentCC, "from backup"))
	e, srv := startEdge(t, Config{Origins: []string{primary.URL, backup.URL}, HealthInterval: -1})
	expect(t, get(t, srv.URL+"/live/news/hls/720p/1.m4s"), http.StatusOK, labelMiss, "from backup")
	if primary.count.Load() != 1 || backup.count.Load() != 1 {
		t.Fatalf("primary %d, backup %d requests", primary.count.Load(), backup.count.Load())
	}
	s := e.Stats()
	if s.OriginRequests != 2 || s.OriginErrors != 1 || s.Origins[0].Errors != 1 || s.OriginLatency.Count != 2 {
		t.Fatalf("stats %+v", s)
	}
	// A 5xx alone does not mark an origin down: the next object asks it first.
	expect(t, get(t, srv.URL+"/live/news/hls/720p/2.m4s"), http.StatusOK, labelMiss, "from backup")
	if primary.count.Load() != 2 {
		t.Fatalf("primary %d requests", primary.count.Load())
	}
}

func TestFailoverWhenPrimaryIsClosed(t *testing.T) {
	primary := newOrigin(t, serveWith(segmentCC, "from primary"))
	backup := newOrigin(t, serveWith(segmentCC, "from backup"))
	e, srv := startEdge(t, Config{Origins: []string{primary.URL, backup.URL}, HealthInterval: -1})
	expect(t, get(t, srv.URL+"/live/news/hls/720p/1.m4s"), http.StatusOK, labelMiss, "from primary")
	primary.Close()
	expect(t, get(t, srv.URL+"/live/news/hls/720p/2.m4s"), http.StatusOK, labelMiss, "from backup")
	// The connection error marked the primary down: the backup is asked first.
	if s := e.Stats(); s.Origins[0].Healthy || !s.Origins[1].Healthy || s.Origins[0].LastError == "" {
		t.Fatalf("origins %+v", s.Origins)
	}
	expect(t, get(t, srv.URL+"/live/news/hls/720p/3.m4s"), http.StatusOK, labelMiss, "from backup")
	if n := e.Stats().Origins[0].Requests; n != 2 {
		t.Fatalf("the primary was asked %d times, want 2", n)
	}
}

func TestHealthChecksMarkOriginsDownAndUp(t *testing.T) {
	var healthy atomic.Bool
	healthy.Store(true)
	var primaryHits atomic.Int64
	primary := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			if !healthy.Load() {
				http.Error(w, "draining", http.StatusServiceUnavailable)
				return
			}
			_, _ = io.WriteString(w, "ok")
			return
		}
		primaryHits.Add(1)
		serveWith("no-store", "primary")(w, r)
	}))
	defer primary.Close()
	backup := newOrigin(t, serveWith("no-store", "backup"))
	e, srv := startEdge(t, Config{Origins: []string{primary.URL, backup.URL}, HealthInterval: 10 * time.Millisecond})

	expect(t, get(t, srv.URL+"/time"), http.StatusOK, labelMiss, "primary")
	healthy.Store(false)
	poll.UntilTrue(t, "the primary marked down", 30*time.Second, func() bool { return !e.Stats().Origins[0].Healthy })
	// The primary still answers requests, but the healthy backup is preferred.
	expect(t, get(t, srv.URL+"/time"), http.StatusOK, labelMiss, "backup")
	if n := primaryHits.Load(); n != 1 {
		t.Fatalf("primary got %d requests while down", n)
	}
	if h := get(t, srv.URL+"/healthz"); h.status != http.StatusOK {
		t.Fatalf("edge health %d while the backup is up", h.status)
	}
	healthy.Store(true)
	poll.UntilTrue(t, "the primary marked up", 30*time.Second, func() bool { return e.Stats().Origins[0].Healthy })
	expect(t, get(t, srv.URL+"/time"), http.StatusOK, labelMiss, "primary")
}

func TestEdgeHealthFollowsItsOrigins(t *testing.T) {
	o := newOrigin(t, serveWith(segmentCC, "x"))
	e, srv := startEdge(t, Config{Origins: []string{o.URL}, HealthInterval: 10 * time.Millisecond})
	if r := get(t, srv.URL+"/healthz"); r.status != http.StatusOK || r.body != "ok\n" {
		t.Fatalf("health %d %q", r.status, r.body)
	}
	o.Close()
	poll.UntilTrue(t, "the origin marked down", 30*time.Second, func() bool { return !e.Stats().Origins[0].Healthy })
	if r := get(t, srv.URL+"/healthz"); r.status != http.StatusServiceUnavailable {
		t.Fatalf("health %d with every origin down", r.status)
	}
}

func TestStaleIfError(t *testing.T) {
	var failing atomic.Int32 // 0 serve, 1 answer 503
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		if failing.Load() == 1 {
			http.Error(w, "overloaded", http.StatusServiceUnavailable)
			return
		}
		serveWith("public, max-age=1", "playlist v1")(w, r)
	})
	clk := newClock()
	e, srv := startEdge(t, Config{Origins: []string{o.URL}, Now: clk.Now, StaleIfError: 10 * time.Second, HealthInterval: -1})
	url := srv.URL + "/live/news/hls/720p/index.m3u8"
	expect(t, get(t, url), http.StatusOK, labelMiss, "playlist v1")

	// The origin answers 5xx: the expired copy stands in.
	failing.Store(1)
	clk.Advance(2 * time.Second)
	r := get(t, url)
	expect(t, r, http.StatusOK, labelStale, "playlist v1")
	if r.header.Get("Age") != "2" {
		t.Fatalf("stale Age %q", r.header.Get("Age"))
	}
	// For a second after a failure, stale copies are served without asking.
	before := o.count.Load()
	expect(t, get(t, url), http.StatusOK, labelStale, "playlist v1")
	if o.count.Load() != before {
		t.Fatal("the origin was asked again right after failing")
	}

	// The origin is stopped altogether.
	o.Close()
	clk.Advance(time.Second)
	expect(t, get(t, url), http.StatusOK, labelStale, "playlist v1")
	if s := e.Stats(); s.Stale != 3 {
		t.Fatalf("stale count %d", s.Stale)
	}

	// Past the window the edge says the origin failed.
	clk.Advance(10 * time.Second)
	r = get(t, url)
	if r.status != http.StatusBadGateway || r.header.Get("Content-Type") != problem.ContentType {
		t.Fatalf("after the window: %d %v %q", r.status, r.header, r.body)
	}
	var d problem.Details
	if err := json.Unmarshal([]byte(r.body), &d); err != nil || d.Status != http.StatusBadGateway || !strings.Contains(d.Detail, "origin") {
		t.Fatalf("problem %q: %v", r.body, err)
	}
}

func TestOriginTimeoutIs504(t *testing.T) {
	release := make(chan struct{})
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	_, srv := startEdge(t, Config{Origins: []string{o.URL}, OriginTimeout: 50 * time.Millisecond, HealthInterval: -1})
	r := get(t, srv.URL+"/live/news/hls/index.m3u8")
	if r.status != http.StatusGatewayTimeout || r.header.Get("Content-Type") != problem.ContentType {
		t.Fatalf("%d %q", r.status, r.body)
	}
}

func TestShieldChain(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Age", "1")
		serveWith("public, max-age=10", "segment")(w, r)
	})
	clk := newClock()
	shield, shieldSrv := startEdge(t, Config{Origins: []string{o.URL}, Name: "shield", Now: clk.Now, HealthInterval: 10 * time.Millisecond})
	_, edgeSrv := startEdge(t, Config{Origins: []string{shieldSrv.URL}, Name: "edge", Now: clk.Now, HealthInterval: 10 * time.Millisecond})
	url := "/live/news/hls/720p/5.m4s?_HLS_msn=3&sluice-signature=abc"

	r := get(t, edgeSrv.URL+url)
	expect(t, r, http.StatusOK, labelMiss, "segment")
	if r.header.Get("Via") != "1.1 shield, 1.1 edge" {
		t.Fatalf("Via %q", r.header.Get("Via"))
	}
	if s := shield.Stats(); s.Misses != 1 {
		t.Fatalf("shield stats %+v", s)
	}
	// The shield serves a second edge (here: a direct viewer) from its cache.
	expect(t, get(t, shieldSrv.URL+url), http.StatusOK, labelHit, "segment")
	// Ages add up along the chain: 1 s at the origin, then 4 s later.
	clk.Advance(4 * time.Second)
	r = get(t, edgeSrv.URL+url)
	expect(t, r, http.StatusOK, labelHit, "segment")
	if r.header.Get("Age") != "5" {
		t.Fatalf("Age %q", r.header.Get("Age"))
	}
	// Expired at the edge (10 s after the origin made it), and at the shield:
	// one more origin request in all.
	clk.Advance(5 * time.Second)
	expect(t, get(t, edgeSrv.URL+url), http.StatusOK, labelMiss, "segment")
	if n := o.count.Load(); n != 2 {
		t.Fatalf("origin got %d requests, want 2; shield %+v", n, shield.Stats())
	}
	if got := o.seen(); got[0] != "/live/news/hls/720p/5.m4s?_HLS_msn=3" {
		t.Fatalf("origin saw %q", got[0])
	}
}

// TestCloseLetsResponsesFinish shuts the server down while an origin fetch
// is in progress: the viewer still gets the whole object.
func TestCloseLetsResponsesFinish(t *testing.T) {
	gate := make(chan struct{})
	o := newOrigin(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Cache-Control", segmentCC)
		_, _ = io.WriteString(w, "first half|")
		_ = http.NewResponseController(w).Flush()
		<-gate
		_, _ = io.WriteString(w, "second half")
	})
	e, err := New(Config{Origins: []string{o.URL}, HealthInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(e)
	resp, err := http.Get(srv.URL + "/live/news/hls/720p/1.m4s")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	readN(t, resp.Body, len("first half|"))

	shut := make(chan struct{})
	go func() {
		_ = srv.Config.Shutdown(context.Background())
		e.Close()
		close(shut)
	}()
	poll.UntilTrue(t, "the server to stop accepting", 30*time.Second, func() bool {
		c, err := http.Get(srv.URL + "/healthz")
		if err == nil {
			_ = c.Body.Close()
		}
		return err != nil
	})
	close(gate)
	rest, err := io.ReadAll(resp.Body)
	if err != nil || string(rest) != "second half" {
		t.Fatalf("rest %q, %v", rest, err)
	}
	<-shut
	srv.Close()
}

// TestOneFailedHealthCheckLeavesAnOriginUp drives the checks by hand: one
// failed check (a slow or lost answer) does not move traffic away from the
// primary; a second in a row does, and one good check brings it back.
func TestOneFailedHealthCheckLeavesAnOriginUp(t *testing.T) {
	var failing atomic.Bool
	primary := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			if failing.Load() {
				http.Error(w, "busy", http.StatusServiceUnavailable)
				return
			}
			_, _ = io.WriteString(w, "ok")
			return
		}
		serveWith("no-store", "primary")(w, r)
	}))
	defer primary.Close()
	backup := newOrigin(t, serveWith("no-store", "backup"))
	e, srv := startEdge(t, Config{Origins: []string{primary.URL, backup.URL}, HealthInterval: -1})

	failing.Store(true)
	e.origins.checkAll()
	if !e.Stats().Origins[0].Healthy {
		t.Fatal("one failed check marked the primary down")
	}
	expect(t, get(t, srv.URL+"/time"), http.StatusOK, labelMiss, "primary")
	e.origins.checkAll()
	if e.Stats().Origins[0].Healthy {
		t.Fatal("two failed checks in a row left the primary up")
	}
	expect(t, get(t, srv.URL+"/time"), http.StatusOK, labelMiss, "backup")
	failing.Store(false)
	e.origins.checkAll()
	if !e.Stats().Origins[0].Healthy {
		t.Fatal("a good check did not bring the primary back")
	}
	expect(t, get(t, srv.URL+"/time"), http.StatusOK, labelMiss, "primary")
}

// TestOriginBoundsStaleServing: a live playlist whose origin says
// stale-if-error=2 is served stale for two seconds after it expired, not
// for the edge's whole window: a playlist far older than that sends a
// viewer back in the stream (its media sequence goes backwards).
func TestOriginBoundsStaleServing(t *testing.T) {
	var failing atomic.Int32
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		if failing.Load() == 1 {
			http.Error(w, "restarting", http.StatusServiceUnavailable)
			return
		}
		serveWith("public, max-age=1, stale-if-error=2", "playlist v1")(w, r)
	})
	clk := newClock()
	_, srv := startEdge(t, Config{Origins: []string{o.URL}, Now: clk.Now, StaleIfError: 60 * time.Second, HealthInterval: -1})
	url := srv.URL + "/live/news/hls/720p/index.m3u8"
	expect(t, get(t, url), http.StatusOK, labelMiss, "playlist v1")
	failing.Store(1)
	clk.Advance(2 * time.Second) // expired one second ago
	expect(t, get(t, url), http.StatusOK, labelStale, "playlist v1")
	clk.Advance(2 * time.Second) // expired three seconds ago
	if r := get(t, url); r.status == http.StatusOK {
		t.Fatalf("a playlist past its origin's stale-if-error: %d %s %q", r.status, r.header.Get("X-Cache"), r.body)
	}
}

package pull

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/input/live"
	"github.com/sluice-video/sluice/internal/testutil/poll"
)

// heldTSServer sends a TS file, then keeps the connection open without
// sending anything more.
func heldTSServer(t *testing.T) *httptest.Server {
	t.Helper()
	data := tsFile(t, 2)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "video/mp2t")
		_, _ = w.Write(data)
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestBusyKickedAndRemoved: an input held by another publisher is
// retried; deleting the input ends the session, and the puller then
// reports the input missing until it is stopped.
func TestBusyKickedAndRemoved(t *testing.T) {
	srv := heldTSServer(t)
	reg := live.NewRegistry(nil)
	hub := reg.Set(live.InputConfig{Name: "feed", Protocol: "pull"})
	w := watch(t, hub)
	other, err := hub.Claim(live.Publisher{Protocol: "rtmp", Remote: "192.0.2.7:51234"})
	if err != nil {
		t.Fatal(err)
	}
	// The server falls silent after its file: the read timeout must not
	// end the session before the input is deleted, however slow the test.
	o := testOptions()
	o.readTimeout = time.Minute
	p := startRun(t, reg, "feed", srv.URL+"/ts", o)
	logsContain(t, p, "failed: the input already has a publisher: rtmp from 192.0.2.7:51234; retrying in")
	other.Close("the publisher left")
	poll.UntilTrue(t, "the puller to publish", waitLong, func() bool {
		pub, ok := hub.Live()
		return ok && pub.Protocol == "http"
	})
	poll.UntilTrue(t, "frames", waitLong, func() bool { return w.count(live.Video) > 10 })

	reg.Remove("feed")
	logsContain(t, p, "ended: Sluice ended the session: the input was deleted; reconnecting in")
	logsContain(t, p, "failed: input feed does not exist; retrying in")
	if _, ok := hub.Live(); ok {
		t.Error("the removed input's hub still has a publisher")
	}
}

// TestSilentSourceEnds: a source that stops sending ends the session
// after the read timeout, in words.
func TestSilentSourceEnds(t *testing.T) {
	srv := heldTSServer(t)
	reg := live.NewRegistry(nil)
	hub := reg.Set(live.InputConfig{Name: "feed", Protocol: "pull"})
	w := watch(t, hub)
	o := testOptions()
	o.readTimeout = 2 * o.readTimeout / 5
	startRun(t, reg, "feed", srv.URL+"/ts", o)
	poll.UntilTrue(t, "the session to end", waitLong, func() bool { return len(w.endings()) > 0 })
	if got := w.endings()[0]; !strings.Contains(got, "no data from the source for 2s") {
		t.Errorf("end reason %q", got)
	}
}

// TestMuteServers: servers that accept connections and never answer are
// given up after the timeouts, in words.
func TestMuteServers(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var held []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			_ = c.Close()
		}
	}()
	o := testOptions()
	o.connectTimeout, o.readTimeout = time.Second, time.Second
	for _, c := range []struct{ url, want string }{
		{"rtmp://" + ln.Addr().String() + "/live/x", "failed: the RTMP handshake did not complete within 1s; retrying in"},
		{"rtsp://" + ln.Addr().String() + "/stream", "failed: the server did not answer within 1s; retrying in"},
		{"http://" + ln.Addr().String() + "/stream", "failed: timed out: "},
	} {
		t.Run(strings.SplitN(c.url, ":", 2)[0], func(t *testing.T) {
			reg := live.NewRegistry(nil)
			reg.Set(live.InputConfig{Name: "mute", Protocol: "pull"})
			p := startRun(t, reg, "mute", c.url, o)
			logsContain(t, p, c.want)
		})
	}
}

package whip

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/input/live"
	"github.com/sluice-video/sluice/internal/rtc"
)

const testKey = "k3y-for-the-cam"

func newTestServer(t testing.TB) (*Server, *http.ServeMux, *live.Registry) {
	t.Helper()
	reg := live.NewRegistry(nil)
	reg.Set(live.InputConfig{Name: "cam", Protocol: Protocol, StreamKey: testKey, Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	reg.Set(live.InputConfig{Name: "far", Protocol: Protocol, StreamKey: "far-key-0123456", Allow: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}})
	e := rtc.NewEngine(rtc.Config{UDP: "127.0.0.1:0"})
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	s := New(Config{Registry: reg, Engine: e, ConnectTimeout: time.Minute})
	mux := http.NewServeMux()
	s.Register(mux)
	t.Cleanup(func() {
		_ = s.Close(context.Background())
		_ = e.Close(context.Background())
	})
	return s, mux, reg
}

func publisherOffer(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "publisher-offer.sdp"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func do(mux http.Handler, method, path, remote, auth, ctype, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	r.RemoteAddr = remote
	if auth != "" {
		r.Header.Set("Authorization", auth)
	}
	if ctype != "" {
		r.Header.Set("Content-Type", ctype)
	}
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, r)
	return w
}

func TestWHIPAdmission(t *testing.T) {
	_, mux, reg := newTestServer(t)
	sdp := publisherOffer(t)
	const local = "127.0.0.1:40000"
	for name, c := range map[string]struct {
		input, remote, auth string
		want                int
	}{
		"no group allows the address": {"cam", "198.51.100.7:1", "Bearer " + testKey, http.StatusForbidden},
		"no token":                    {"cam", local, "", http.StatusUnauthorized},
		"a wrong key":                 {"cam", local, "Bearer nope", http.StatusUnauthorized},
		"another input's key":         {"cam", local, "Bearer far-key-0123456", http.StatusUnauthorized},
		"the input's group refuses":   {"far", local, "Bearer far-key-0123456", http.StatusForbidden},
	} {
		if w := do(mux, http.MethodPost, "/ingest/whip/"+c.input, c.remote, c.auth, "application/sdp", sdp); w.Code != c.want {
			t.Errorf("%s: %d %s, want %d", name, w.Code, w.Body, c.want)
		}
	}
	hub, _ := reg.Hub("cam")
	if _, live := hub.Live(); live {
		t.Fatalf("a refused publisher claimed the input")
	}
	w := do(mux, http.MethodPost, "/ingest/whip/cam", local, "Bearer "+testKey, "application/sdp", sdp)
	if w.Code != http.StatusCreated || !strings.HasPrefix(w.Header().Get("Location"), "/ingest/whip/cam/") {
		t.Fatalf("the right key: %d %s %v", w.Code, w.Body, w.Header())
	}
	if _, live := hub.Live(); !live {
		t.Errorf("the admitted publisher does not hold the input")
	}
	if w2 := do(mux, http.MethodPost, "/ingest/whip/cam", local, "Bearer "+testKey, "application/sdp", sdp); w2.Code != http.StatusConflict {
		t.Errorf("a second publisher: %d, want 409", w2.Code)
	}
	loc := w.Header().Get("Location")
	if d := do(mux, http.MethodDelete, loc, local, "Bearer wrong", "", ""); d.Code != http.StatusNotFound {
		t.Errorf("DELETE with another key: %d", d.Code)
	}
	if d := do(mux, http.MethodDelete, loc, local, "Bearer "+testKey, "", ""); d.Code != http.StatusOK {
		t.Errorf("DELETE: %d", d.Code)
	}
	if _, live := hub.Live(); live {
		t.Errorf("the input is still held after DELETE")
	}
	if o := do(mux, http.MethodOptions, "/ingest/whip/cam", local, "", "", ""); o.Code != http.StatusNoContent || o.Header().Get("Accept-Post") != "application/sdp" {
		t.Errorf("OPTIONS: %d %v", o.Code, o.Header())
	}
}

func TestWHIPRefusesOffersWithoutH264(t *testing.T) {
	_, mux, _ := newTestServer(t)
	sdp := strings.ReplaceAll(publisherOffer(t), "H264", "VP9")
	if w := do(mux, http.MethodPost, "/ingest/whip/cam", "127.0.0.1:1", "Bearer "+testKey, "application/sdp", sdp); w.Code != http.StatusBadRequest {
		t.Errorf("an offer without H.264: %d %s", w.Code, w.Body)
	}
}

func TestClockUnwraps(t *testing.T) {
	c := &clock{rate: 90000}
	if got := c.at(0xFFFFFF00, time.Second); got != time.Second {
		t.Errorf("first: %v", got)
	}
	// 0x100 ticks after the wrap: 512 ticks after the first.
	if got := c.at(0x100, 0); got != time.Second+512*time.Second/90000 {
		t.Errorf("after the wrap: %v", got)
	}
	// A late packet from before the wrap.
	if got := c.at(0xFFFFFF80, 0); got != time.Second+128*time.Second/90000 {
		t.Errorf("late: %v", got)
	}
}

// claims is a cluster's record of publishers as the test sets it: the
// node that has each input, or an error of the state database.
type claims struct {
	elsewhere string
	err       error
	released  int
}

func (c *claims) Claim(context.Context, string) (func(), error) {
	switch {
	case c.err != nil:
		return nil, c.err
	case c.elsewhere != "":
		return nil, fmt.Errorf("%w: node %s", ErrElsewhere, c.elsewhere)
	}
	return func() { c.released++ }, nil
}

// TestWHIPOnePublisherAcrossTheCluster: on a node of a cluster, a
// publisher is admitted only once the node claimed the input; another
// node's publisher is a conflict, a state database that does not answer
// is a 503, and neither claims the hub.
func TestWHIPOnePublisherAcrossTheCluster(t *testing.T) {
	s, mux, reg := newTestServer(t)
	c := &claims{}
	s.cfg.Cluster = c
	sdp := publisherOffer(t)
	hub, _ := reg.Hub("cam")
	post := func() *httptest.ResponseRecorder {
		return do(mux, http.MethodPost, "/ingest/whip/cam", "127.0.0.1:40000", "Bearer "+testKey, "application/sdp", sdp)
	}
	c.elsewhere = "node-b"
	if w := post(); w.Code != http.StatusConflict || !strings.Contains(w.Body.String(), "another node") {
		t.Errorf("the input published on another node: %d %s", w.Code, w.Body)
	}
	c.elsewhere, c.err = "", errors.New("the database does not answer")
	if w := post(); w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" {
		t.Errorf("the claim failed: %d %s %v", w.Code, w.Body, w.Header())
	}
	if _, live := hub.Live(); live || len(s.sessions.All()) != 0 {
		t.Fatalf("a refused publisher holds the input or a session")
	}
	c.err = nil
	if w := post(); w.Code != http.StatusCreated {
		t.Fatalf("the input claimed: %d %s", w.Code, w.Body)
	}
	if _, live := hub.Live(); !live || c.released != 1 {
		t.Errorf("the admitted publisher: on the hub %v, claim released %d times", live, c.released)
	}
}

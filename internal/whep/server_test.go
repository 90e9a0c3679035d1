package whep

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/output"
	"github.com/sluice-video/sluice/internal/rtc"
)

// sources serves one channel "ch" with endpoint "rtc" on an idle tap.
type sources struct{ hub *output.Hub }

func (s sources) WebRTCSource(channel, endpoint string) (Source, bool) {
	if channel != "ch" || endpoint != "rtc" {
		return Source{}, false
	}
	return Source{Hub: s.hub, Layers: []Layer{{"hi", 1_000_000}, {"lo", 300_000}}, Audio: "audio-opus"}, true
}

func newTestServer(t testing.TB, max int) *Server {
	t.Helper()
	e := rtc.NewEngine(rtc.Config{UDP: "127.0.0.1:0"})
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	s := New(Config{Engine: e, Sources: sources{output.NewHub(nil, nil)}, MaxSessions: max, ConnectTimeout: time.Minute})
	t.Cleanup(func() {
		_ = s.Close(context.Background())
		_ = e.Close(context.Background())
	})
	return s
}

func viewerOffer(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "viewer-offer.sdp"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func offer(s *Server, channel, endpoint, ctype, body, query string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "/live/"+channel+"/"+endpoint+"/whep"+query, strings.NewReader(body))
	r.Header.Set("Content-Type", ctype)
	w := httptest.NewRecorder()
	s.Offer(w, r, channel, endpoint)
	return w
}

func TestOfferAnswers(t *testing.T) {
	before := runtime.NumGoroutine()
	s := newTestServer(t, 1)
	sdp := viewerOffer(t)
	w := offer(s, "ch", "rtc", "application/sdp", sdp, "")
	if w.Code != http.StatusCreated {
		t.Fatalf("offer: %d %s", w.Code, w.Body)
	}
	loc := w.Header().Get("Location")
	if !strings.HasPrefix(loc, "/live/ch/rtc/whep/") || len(loc) != len("/live/ch/rtc/whep/")+32 {
		t.Errorf("Location %q", loc)
	}
	if !strings.Contains(w.Body.String(), "a=rtpmap:102 H264/90000") && !strings.Contains(w.Body.String(), "H264/90000") {
		t.Errorf("the answer offers no H.264:\n%s", w.Body)
	}
	if w.Header().Get("Content-Type") != "application/sdp" || w.Header().Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("headers %v", w.Header())
	}
	if got := offer(s, "ch", "rtc", "application/sdp", sdp, ""); got.Code != http.StatusServiceUnavailable {
		t.Errorf("an offer past the bound: %d", got.Code)
	}
	if n := len(s.Sessions()); n != 1 {
		t.Errorf("%d sessions listed", n)
	}
	id := loc[strings.LastIndexByte(loc, '/')+1:]
	del := httptest.NewRecorder()
	s.Delete(del, httptest.NewRequest(http.MethodDelete, loc, nil), "ch", "rtc", id)
	if del.Code != http.StatusOK {
		t.Errorf("DELETE: %d", del.Code)
	}
	again := httptest.NewRecorder()
	s.Delete(again, httptest.NewRequest(http.MethodDelete, loc, nil), "ch", "rtc", id)
	if again.Code != http.StatusNotFound {
		t.Errorf("DELETE of an ended session: %d", again.Code)
	}
	_ = s.Close(context.Background())
	// Every goroutine of the session is gone (pion's own close a little later).
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before+8 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before+8 {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines before, %d after the session ended:\n%s", before, n, buf[:runtime.Stack(buf, true)])
	}
}

func TestOfferRefusals(t *testing.T) {
	s := newTestServer(t, 0)
	sdp := viewerOffer(t)
	for name, c := range map[string]struct {
		channel, ctype, body, query string
		want                        int
	}{
		"not SDP":          {"ch", "text/plain", sdp, "", http.StatusUnsupportedMediaType},
		"bad SDP":          {"ch", "application/sdp", "v=0\r\n", "", http.StatusBadRequest},
		"no channel":       {"other", "application/sdp", sdp, "", http.StatusNotFound},
		"an unknown layer": {"ch", "application/sdp", sdp, "?layer=nope", http.StatusBadRequest},
	} {
		if w := offer(s, c.channel, "rtc", c.ctype, c.body, c.query); w.Code != c.want {
			t.Errorf("%s: %d %s, want %d", name, w.Code, w.Body, c.want)
		}
	}
	patch := httptest.NewRecorder()
	s.Patch(patch, httptest.NewRequest(http.MethodPatch, "/x", nil), "ch", "rtc", strings.Repeat("0", 32))
	if patch.Code != http.StatusNotFound {
		t.Errorf("PATCH of no session: %d", patch.Code)
	}
}

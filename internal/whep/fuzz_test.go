package whep

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// FuzzWHEPRequest: whatever a viewer sends to a WHEP endpoint and its
// sessions, the server answers one of its documented statuses, and every
// session it starts ends with the server.
func FuzzWHEPRequest(f *testing.F) {
	f.Add("application/sdp", viewerOffer(f), "hi", "a=ice-ufrag:x\r\na=candidate:1 1 udp 1 127.0.0.1 9 typ host\r\n")
	f.Add("application/sdp", "v=0\r\n", "lo", "")
	f.Add("text/plain", "", "", "m=audio 9 RTP/AVP 0\r\n")
	f.Fuzz(func(t *testing.T, ctype, body, layer, patch string) {
		s := newTestServer(t, 4)
		query := ""
		if layer != "" {
			query = "?layer=" + url.QueryEscape(layer)
		}
		w := offer(s, "ch", "rtc", ctype, body, query)
		switch w.Code {
		case http.StatusCreated, http.StatusBadRequest, http.StatusUnsupportedMediaType, http.StatusNotFound:
		default:
			t.Fatalf("offer answered %d: %s", w.Code, w.Body)
		}
		if w.Code == http.StatusCreated {
			loc := w.Header().Get("Location")
			id := loc[strings.LastIndexByte(loc, '/')+1:]
			r := httptest.NewRequest(http.MethodPatch, loc, strings.NewReader(patch))
			r.Header.Set("Content-Type", "application/trickle-ice-sdpfrag")
			pw := httptest.NewRecorder()
			s.Patch(pw, r, "ch", "rtc", id)
			switch pw.Code {
			case http.StatusNoContent, http.StatusBadRequest, http.StatusUnprocessableEntity:
			default:
				t.Fatalf("PATCH answered %d: %s", pw.Code, pw.Body)
			}
		}
		_ = s.Close(context.Background())
		if n := len(s.Sessions()); n != 0 {
			t.Fatalf("%d sessions outlived the server", n)
		}
	})
}

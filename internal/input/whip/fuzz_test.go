package whip

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// FuzzWHIPRequest: whatever a client sends to the WHIP endpoint (method,
// token, media type, body, address), the server answers one of its
// documented statuses and every session it starts ends with it.
func FuzzWHIPRequest(f *testing.F) {
	f.Add(http.MethodPost, "cam", "Bearer "+testKey, "application/sdp", publisherOffer(f), true)
	f.Add(http.MethodPost, "cam", "Bearer x", "application/sdp", "v=0\r\n", true)
	f.Add(http.MethodPost, "far", "bearer far-key-0123456", "application/sdp", "", false)
	f.Add(http.MethodPatch, "cam/0123", "", "application/trickle-ice-sdpfrag", "a=candidate:1 1 udp 1 127.0.0.1 9 typ host\r\n", true)
	f.Add(http.MethodOptions, "cam", "", "", "", true)
	f.Fuzz(func(t *testing.T, method, path, auth, ctype, body string, local bool) {
		s, mux, _ := newTestServer(t)
		switch method {
		case http.MethodPost, http.MethodPatch, http.MethodDelete, http.MethodOptions:
		default:
			method = http.MethodPost
		}
		if _, err := url.ParseRequestURI("/ingest/whip/" + path); err != nil || strings.ContainsAny(path, " %?#") {
			return // not a request a client can send
		}
		remote := "192.0.2.9:1000"
		if local {
			remote = "127.0.0.1:1000"
		}
		w := do(mux, method, "/ingest/whip/"+path, remote, auth, ctype, body)
		switch w.Code {
		case http.StatusCreated, http.StatusNoContent, http.StatusOK, http.StatusBadRequest, http.StatusUnauthorized,
			http.StatusForbidden, http.StatusNotFound, http.StatusConflict, http.StatusUnsupportedMediaType,
			http.StatusUnprocessableEntity, http.StatusMethodNotAllowed, http.StatusMovedPermanently, http.StatusTemporaryRedirect:
		default:
			t.Fatalf("%s %s answered %d: %s", method, path, w.Code, w.Body)
		}
		_ = s.Close(context.Background())
		if n := len(s.sessions.All()); n != 0 {
			t.Fatalf("%d sessions outlived the server", n)
		}
	})
}

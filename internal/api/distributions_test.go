package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/controlplane"
	"github.com/sluice-video/sluice/internal/distribution"
	"github.com/sluice-video/sluice/internal/signing"
	"github.com/sluice-video/sluice/internal/store"
)

// newEdgeServer runs the distribution and sign routes on a real
// distribution service, with one signing key.
func newEdgeServer(t *testing.T, token string) (*httptest.Server, signing.Key) {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "sluice.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	key, err := signing.NewHMACKey("k1")
	if err != nil {
		t.Fatal(err)
	}
	ring, err := signing.NewKeyring(key)
	if err != nil {
		t.Fatal(err)
	}
	dists := distribution.New(distribution.Config{Store: st, Verifier: ring.Verifier()})
	t.Cleanup(func() { dists.Close(context.Background()) })
	mux := http.NewServeMux()
	New(Config{Token: token, Distributions: dists, Signing: ring, Kinds: controlplane.Plane{Distributions: dists}.Kinds()}).Register(mux)
	return serveAPI(t, mux), key
}

func TestDistributionRoutes(t *testing.T) {
	srv, _ := newEdgeServer(t, "secret-token-123")
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Cache-Control", "max-age=30")
		_, _ = w.Write([]byte("segment"))
	}))
	defer origin.Close()
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	_ = ln.Close()
	body := fmt.Sprintf(`{"name":"eu","listen":%q,"origins":[%q]}`, addr, origin.URL)

	if resp, _ := call(t, srv, "POST", "/api/v1/distributions", body, ""); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("create without the token: %s", resp.Status)
	}
	resp, data := call(t, srv, "POST", "/api/v1/distributions", body, "secret-token-123")
	if resp.StatusCode != http.StatusCreated || !strings.Contains(string(data), `"state": "RUNNING"`) {
		t.Fatalf("create: %s %s", resp.Status, data)
	}
	for range 3 {
		r, err := http.Get("http://" + addr + "/live/a/hls/1.m4s")
		if err != nil {
			t.Fatal(err)
		}
		_ = r.Body.Close()
	}
	resp, data = call(t, srv, "GET", "/api/v1/distributions/eu/stats", "", "")
	var st distribution.Stats
	if err := json.Unmarshal(data, &st); err != nil || resp.StatusCode != 200 {
		t.Fatalf("stats: %s %s", resp.Status, data)
	}
	if st.Requests != 3 || st.Hits != 2 || st.Misses != 1 || st.OriginRequests != 1 || st.Responses.Status2xx != 3 || st.OriginLatency.Count != 1 {
		t.Errorf("stats: %+v", st)
	}
	resp, data = call(t, srv, "POST", "/api/v1/distributions", `{"name":"bad","listen":"nowhere","origins":["ftp://x"]}`, "secret-token-123")
	if resp.StatusCode != 400 || !strings.Contains(string(data), "listen") || !strings.Contains(string(data), "origins[0]") {
		t.Errorf("invalid: %s %s", resp.Status, data)
	}
	if resp, data := call(t, srv, "GET", "/api/v1/distributions", "", ""); resp.StatusCode != 200 || !strings.Contains(string(data), `"name": "eu"`) {
		t.Errorf("list: %s %s", resp.Status, data)
	}
	if resp, _ := call(t, srv, "DELETE", "/api/v1/distributions/eu", "", "secret-token-123"); resp.StatusCode != http.StatusNoContent {
		t.Errorf("delete: %s", resp.Status)
	}
	if resp, _ := call(t, srv, "GET", "/api/v1/distributions/eu/stats", "", ""); resp.StatusCode != 404 {
		t.Errorf("stats after delete: %s", resp.Status)
	}
}

func TestSignRoute(t *testing.T) {
	srv, key := newEdgeServer(t, "")
	resp, data := call(t, srv, "POST", "/api/v1/sign", `{"url":"http://edge/live/news/hls/index.m3u8","path":"/live/news/*","expiresIn":60}`, "")
	var m signing.Minted
	if err := json.Unmarshal(data, &m); err != nil || resp.StatusCode != 200 || m.KeyID != "k1" || len(m.Cookies) != 3 {
		t.Fatalf("sign: %s %s", resp.Status, data)
	}
	v, _ := signing.NewVerifier(key)
	if err := v.Verify(httptest.NewRequest("GET", m.URL, nil)); err != nil {
		t.Errorf("the minted URL is refused: %v", err)
	}
	v.Now = func() time.Time { return time.Now().Add(2 * time.Minute) }
	if err := v.Verify(httptest.NewRequest("GET", m.URL, nil)); err == nil {
		t.Error("the minted URL outlives expiresIn")
	}
	for body, want := range map[string]string{
		`{"path":"/a","keyId":"k9"}`:     `no key \"k9\"`,
		`{"path":"/a","expiresIn":-1}`:   "expiresIn",
		`{}`:                             "give a url or a path",
		`{"path":"/a","clientCIDR":"x"}`: "client network",
		`{"path":"/a","secret":"k1"}`:    "unknown field",
	} {
		resp, data := call(t, srv, "POST", "/api/v1/sign", body, "")
		if resp.StatusCode != 400 || !strings.Contains(string(data), want) {
			t.Errorf("%s: %s %s", body, resp.Status, data)
		}
	}
}

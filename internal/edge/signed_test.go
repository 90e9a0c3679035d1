package edge

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/problem"
	"github.com/sluice-video/sluice/internal/signing"
)

func TestSignedURLsAtTheEdge(t *testing.T) {
	o := newOrigin(t, serveWith(segmentCC, "segment"))
	key, err := signing.NewHMACKey("k1")
	if err != nil {
		t.Fatal(err)
	}
	clk := newClock()
	v, err := signing.NewVerifier(key)
	if err != nil {
		t.Fatal(err)
	}
	v.Now = clk.Now
	_, srv := startEdge(t, Config{Origins: []string{o.URL}, Verifier: v, Now: clk.Now, HealthInterval: -1})
	path := "/live/news/hls/720p/1.m4s"
	sign := func(p signing.Policy) string {
		q, err := signing.Sign(p, key)
		if err != nil {
			t.Fatal(err)
		}
		return "?" + q.Encode()
	}

	refused := func(r response, reason signing.Reason) {
		t.Helper()
		var d problem.Details
		if r.status != http.StatusForbidden || r.header.Get("Content-Type") != problem.ContentType || r.header.Get("Cache-Control") != "no-store" {
			t.Fatalf("refusal: %d %v", r.status, r.header)
		}
		if err := json.Unmarshal([]byte(r.body), &d); err != nil || !strings.Contains(d.Detail, string(reason)) {
			t.Fatalf("refusal %q does not name %s", r.body, reason)
		}
	}
	refused(get(t, srv.URL+path), signing.ReasonMissing)
	refused(get(t, srv.URL+path+sign(signing.Policy{Path: "/live/sport/*", Expires: clk.Now().Add(time.Hour)})), signing.ReasonWrongPath)
	refused(get(t, srv.URL+path+sign(signing.Policy{Path: "/live/news/*", Expires: clk.Now()})), signing.ReasonExpired)
	if n := o.count.Load(); n != 0 {
		t.Fatalf("refused requests reached the origin %d times", n)
	}

	good := sign(signing.Policy{Path: "/live/news/*", Expires: clk.Now().Add(time.Hour)})
	expect(t, get(t, srv.URL+path+good), http.StatusOK, labelMiss, "segment")
	// Another viewer's signature hits the same cached object.
	other := sign(signing.Policy{Path: "/live/*", Expires: clk.Now().Add(2 * time.Hour), ClientCIDR: "127.0.0.0/8"})
	expect(t, get(t, srv.URL+path+other), http.StatusOK, labelHit, "segment")
	// Cookies work the same way.
	cookies, err := signing.Cookies(signing.Policy{Path: "/live/news/*", Expires: clk.Now().Add(time.Hour)}, key, signing.CookieOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var header []string
	for _, c := range cookies {
		header = append(header, c.Name+"="+c.Value)
	}
	expect(t, get(t, srv.URL+path, "Cookie", strings.Join(header, "; ")), http.StatusOK, labelHit, "segment")
	// The origin never sees signatures.
	if got := o.seen(); len(got) != 1 || got[0] != path {
		t.Fatalf("origin saw %q", got)
	}
	// Health checks and preflights need no signature.
	if r := get(t, srv.URL+"/healthz"); r.status != http.StatusOK {
		t.Fatalf("health %d", r.status)
	}
	if r := fetch(t, http.MethodOptions, srv.URL+path); r.status != http.StatusNoContent {
		t.Fatalf("preflight %d", r.status)
	}
	clk.Advance(time.Hour)
	refused(get(t, srv.URL+path+good), signing.ReasonExpired)
}

// TestSigningParamsAreReserved ties the two packages: every parameter the
// signer writes is one the cache key leaves out.
func TestSigningParamsAreReserved(t *testing.T) {
	for _, p := range signing.Params() {
		if !reservedParam(p) {
			t.Errorf("%s is not reserved", p)
		}
	}
	u, _ := url.Parse("/a?" + url.Values{signing.ParamPolicy: {"p"}, signing.ParamSignature: {"s"}, signing.ParamKeyID: {"k"}}.Encode())
	all := map[string]bool{signing.ParamPolicy: true, signing.ParamSignature: true, signing.ParamKeyID: true}
	if k := cacheKey(u, all); k != "/a" {
		t.Fatalf("key %q", k)
	}
}

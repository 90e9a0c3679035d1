package signing

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/problem"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func hmacKey(t *testing.T, id string) Key {
	t.Helper()
	k, err := NewHMACKey(id)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// server runs v.Require in front of a handler that answers "ok".
func server(t *testing.T, v *Verifier) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(v.Require(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok")
	})))
	t.Cleanup(srv.Close)
	return srv
}

// get fetches path with the query and cookies given and returns the status
// and, for a refusal, the problem document.
func get(t *testing.T, srv *httptest.Server, pathQuery string, cookies []*http.Cookie, header http.Header) (int, problem.Details) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, srv.URL+pathQuery, http.NoBody)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	for _, c := range cookies {
		req.AddCookie(c)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var d problem.Details
	if resp.StatusCode != http.StatusOK {
		if ct := resp.Header.Get("Content-Type"); ct != problem.ContentType {
			t.Fatalf("refusal content type %q", ct)
		}
		if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
			t.Fatalf("refusal Cache-Control %q, want no-store", cc)
		}
		if err := json.Unmarshal(body, &d); err != nil {
			t.Fatalf("refusal body %q: %v", body, err)
		}
	}
	return resp.StatusCode, d
}

func mustSign(t *testing.T, p Policy, k Key) url.Values {
	t.Helper()
	q, err := Sign(p, k)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func TestVerifyQuery(t *testing.T) {
	key := hmacKey(t, "k1")
	other := hmacKey(t, "k2")
	edKey, err := NewEd25519Key("ed1")
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifier(key, edKey)
	if err != nil {
		t.Fatal(err)
	}
	v.Now = func() time.Time { return t0 }
	srv := server(t, v)

	valid := Policy{Path: "/live/news/*", Expires: t0.Add(time.Hour)}
	tamperedPolicy := func() url.Values {
		q := mustSign(t, valid, key)
		forged := mustSign(t, Policy{Path: "/*", Expires: t0.Add(time.Hour)}, key)
		q.Set(ParamPolicy, forged.Get(ParamPolicy)) // a wider policy under the old signature
		q.Set(ParamSignature, mustSign(t, valid, key).Get(ParamSignature))
		return q
	}
	tamperedSig := func() url.Values {
		q := mustSign(t, valid, key)
		raw, _ := base64.RawURLEncoding.DecodeString(q.Get(ParamSignature))
		raw[0] ^= 1
		q.Set(ParamSignature, base64.RawURLEncoding.EncodeToString(raw))
		return q
	}
	without := func(name string) url.Values {
		q := mustSign(t, valid, key)
		q.Del(name)
		return q
	}
	tests := []struct {
		name  string
		path  string
		query url.Values
		hdr   http.Header
		want  error
	}{
		{"valid", "/live/news/hls/index.m3u8", mustSign(t, valid, key), nil, nil},
		{"valid ed25519", "/live/news/hls/720p/12.m4s", mustSign(t, valid, edKey), nil, nil},
		{"valid exact path", "/live/news/hls/index.m3u8", mustSign(t, Policy{Path: "/live/news/hls/index.m3u8", Expires: t0.Add(time.Minute)}, key), nil, nil},
		{"valid client network", "/live/news/a.m4s", mustSign(t, Policy{Path: "/live/*", Expires: t0.Add(time.Minute), ClientCIDR: "127.0.0.0/8"}, key), nil, nil},
		{"valid start time", "/live/news/a.m4s", mustSign(t, Policy{Path: "/live/*", Expires: t0.Add(time.Minute), NotBefore: t0.Add(-time.Second)}, key), nil, nil},
		{"expired", "/live/news/a.m4s", mustSign(t, Policy{Path: "/live/*", Expires: t0}, key), nil, ErrExpired},
		{"not yet valid", "/live/news/a.m4s", mustSign(t, Policy{Path: "/live/*", Expires: t0.Add(time.Hour), NotBefore: t0.Add(time.Minute)}, key), nil, ErrNotYetValid},
		{"wrong client", "/live/news/a.m4s", mustSign(t, Policy{Path: "/live/*", Expires: t0.Add(time.Hour), ClientCIDR: "203.0.113.0/24"}, key), nil, ErrWrongClient},
		{"wrong client single address", "/live/news/a.m4s", mustSign(t, Policy{Path: "/live/*", Expires: t0.Add(time.Hour), ClientCIDR: "127.0.0.2"}, key), nil, ErrWrongClient},
		{"forwarded for ignored", "/live/news/a.m4s", mustSign(t, Policy{Path: "/live/*", Expires: t0.Add(time.Hour), ClientCIDR: "203.0.113.0/24"}, key), http.Header{"X-Forwarded-For": {"203.0.113.7"}}, ErrWrongClient},
		{"wrong path", "/live/sport/hls/index.m3u8", mustSign(t, valid, key), nil, ErrWrongPath},
		{"path escape", "/live/news/../sport/index.m3u8", mustSign(t, valid, key), nil, ErrWrongPath},
		{"tampered policy", "/live/sport/index.m3u8", tamperedPolicy(), nil, ErrBadSignature},
		{"tampered signature", "/live/news/a.m4s", tamperedSig(), nil, ErrBadSignature},
		{"unknown key", "/live/news/a.m4s", mustSign(t, valid, other), nil, ErrUnknownKey},
		{"missing", "/live/news/a.m4s", url.Values{"start": {"1"}}, nil, ErrMissing},
		{"no signature", "/live/news/a.m4s", without(ParamSignature), nil, ErrMalformed},
		{"no key", "/live/news/a.m4s", without(ParamKeyID), nil, ErrMalformed},
		{"garbage policy", "/live/news/a.m4s", url.Values{ParamPolicy: {"!!"}, ParamSignature: {"AAAA"}, ParamKeyID: {"k1"}}, nil, ErrMalformed},
		{"bad key name", "/live/news/a.m4s", url.Values{ParamPolicy: {"e30"}, ParamSignature: {"AAAA"}, ParamKeyID: {"k 1"}}, nil, ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, d := get(t, srv, tc.path+"?"+tc.query.Encode(), nil, tc.hdr)
			if tc.want == nil {
				if status != http.StatusOK {
					t.Fatalf("status %d (%s), want 200", status, d.Detail)
				}
				return
			}
			if status != http.StatusForbidden {
				t.Fatalf("status %d, want 403", status)
			}
			var want *Error
			if !errors.As(tc.want, &want) {
				t.Fatalf("want %v is not an *Error", tc.want)
			}
			reason := string(want.Reason)
			if !strings.Contains(d.Detail, reason) {
				t.Fatalf("detail %q does not name %q", d.Detail, reason)
			}
			if strings.Contains(d.Detail, base64.RawURLEncoding.EncodeToString(key.Secret)) {
				t.Fatal("the refusal leaks the key")
			}
		})
	}
}

func TestVerifyErrorsAreTyped(t *testing.T) {
	key := hmacKey(t, "k1")
	v := &Verifier{Keys: map[string]Key{"k1": key}, Now: func() time.Time { return t0 }}
	q := mustSign(t, Policy{Path: "/a/*", Expires: t0.Add(-time.Second)}, key)
	r := httptest.NewRequest(http.MethodGet, "/a/b?"+q.Encode(), http.NoBody)
	err := v.Verify(r)
	if !errors.Is(err, ErrExpired) || errors.Is(err, ErrWrongPath) {
		t.Fatalf("got %v, want only ErrExpired", err)
	}
	var e *Error
	if !errors.As(err, &e) || e.Reason != ReasonExpired {
		t.Fatalf("errors.As: %v", err)
	}
}

func TestVerifyCookies(t *testing.T) {
	key := hmacKey(t, "k1")
	v := &Verifier{Keys: map[string]Key{"k1": key}, Now: func() time.Time { return t0 }}
	srv := server(t, v)
	cookiesFor := func(p Policy) []*http.Cookie {
		cs, err := Cookies(p, key, CookieOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return cs
	}
	valid := cookiesFor(Policy{Path: "/live/news/*", Expires: t0.Add(time.Hour)})
	for _, c := range valid {
		if c.Path != "/live/news/" || !c.HttpOnly || !c.Secure || !c.Expires.Equal(t0.Add(time.Hour)) {
			t.Fatalf("cookie %s", c)
		}
		if !strings.HasPrefix(c.String(), c.Name+"=") {
			t.Fatalf("Set-Cookie value %q", c.String())
		}
	}
	tampered := cookiesFor(Policy{Path: "/live/news/*", Expires: t0.Add(time.Hour)})
	tampered[1].Value = strings.Repeat("A", len(tampered[1].Value))
	tests := []struct {
		name    string
		path    string
		cookies []*http.Cookie
		want    Reason
	}{
		{"valid", "/live/news/hls/index.m3u8", valid, ""},
		{"wrong path", "/live/sport/hls/index.m3u8", valid, ReasonWrongPath},
		{"expired", "/live/news/a.m4s", cookiesFor(Policy{Path: "/live/news/*", Expires: t0.Add(-time.Second)}), ReasonExpired},
		{"not yet valid", "/live/news/a.m4s", cookiesFor(Policy{Path: "/live/news/*", Expires: t0.Add(time.Hour), NotBefore: t0.Add(time.Hour / 2)}), ReasonNotYetValid},
		{"wrong client", "/live/news/a.m4s", cookiesFor(Policy{Path: "/live/news/*", Expires: t0.Add(time.Hour), ClientCIDR: "2001:db8::/32"}), ReasonWrongClient},
		{"tampered", "/live/news/a.m4s", tampered, ReasonBadSignature},
		{"incomplete", "/live/news/a.m4s", valid[:2], ReasonMalformed},
		{"none", "/live/news/a.m4s", nil, ReasonMissing},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, d := get(t, srv, tc.path, tc.cookies, nil)
			switch {
			case tc.want == "" && status != http.StatusOK:
				t.Fatalf("status %d (%s), want 200", status, d.Detail)
			case tc.want != "" && (status != http.StatusForbidden || !strings.Contains(d.Detail, string(tc.want))):
				t.Fatalf("status %d detail %q, want 403 %s", status, d.Detail, tc.want)
			}
		})
	}
}

func TestQueryTakesPrecedenceOverCookies(t *testing.T) {
	key := hmacKey(t, "k1")
	v := &Verifier{Keys: map[string]Key{"k1": key}, Now: func() time.Time { return t0 }}
	good, err := Cookies(Policy{Path: "/*", Expires: t0.Add(time.Hour)}, key, CookieOptions{})
	if err != nil {
		t.Fatal(err)
	}
	expired := mustSign(t, Policy{Path: "/*", Expires: t0}, key)
	r := httptest.NewRequest(http.MethodGet, "/x?"+expired.Encode(), http.NoBody)
	for _, c := range good {
		r.AddCookie(c)
	}
	if err := v.Verify(r); !errors.Is(err, ErrExpired) {
		t.Fatalf("got %v, want the query's expiry", err)
	}
}

func TestTrustForwardedFor(t *testing.T) {
	key := hmacKey(t, "k1")
	v := &Verifier{Keys: map[string]Key{"k1": key}, Now: func() time.Time { return t0 }, TrustForwardedFor: true}
	srv := server(t, v)
	q := mustSign(t, Policy{Path: "/*", Expires: t0.Add(time.Hour), ClientCIDR: "198.51.100.0/24"}, key)
	// The last entry is the one the trusted proxy appended; earlier ones are
	// whatever the client claimed.
	if status, d := get(t, srv, "/x?"+q.Encode(), nil, http.Header{"X-Forwarded-For": {"10.1.1.1, 198.51.100.9"}}); status != http.StatusOK {
		t.Fatalf("status %d: %s", status, d.Detail)
	}
	if status, _ := get(t, srv, "/x?"+q.Encode(), nil, http.Header{"X-Forwarded-For": {"198.51.100.9, 10.1.1.1"}}); status != http.StatusForbidden {
		t.Fatalf("status %d, want 403 for a spoofed first entry", status)
	}
}

func TestTrustedNetworksAndPreflights(t *testing.T) {
	key := hmacKey(t, "k1")
	v := &Verifier{Keys: map[string]Key{"k1": key}, Now: func() time.Time { return t0 }}
	srv := server(t, v)
	if status, _ := get(t, srv, "/live/news/a.m4s", nil, nil); status != http.StatusForbidden {
		t.Fatalf("unsigned: %d", status)
	}
	req, _ := http.NewRequest(http.MethodOptions, srv.URL+"/live/news/a.m4s", http.NoBody)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("preflight: %d", resp.StatusCode)
	}
	other := server(t, &Verifier{Keys: v.Keys, Trusted: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}})
	if status, _ := get(t, other, "/live/news/a.m4s", nil, nil); status != http.StatusForbidden {
		t.Fatalf("unsigned from an untrusted network: %d", status)
	}
	edges := server(t, &Verifier{Keys: v.Keys, Trusted: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("127.0.0.0/8")}})
	if status, _ := get(t, edges, "/live/news/a.m4s", nil, nil); status != http.StatusOK {
		t.Fatalf("unsigned from a trusted network: %d", status)
	}
}

func TestKeyRotation(t *testing.T) {
	old, cur := hmacKey(t, "2026-01"), hmacKey(t, "2026-02")
	v, err := NewVerifier(old, cur)
	if err != nil {
		t.Fatal(err)
	}
	v.Now = func() time.Time { return t0 }
	p := Policy{Path: "/*", Expires: t0.Add(time.Hour)}
	for _, k := range []Key{old, cur} {
		r := httptest.NewRequest(http.MethodGet, "/a?"+mustSign(t, p, k).Encode(), http.NoBody)
		if err := v.Verify(r); err != nil {
			t.Fatalf("key %s: %v", k.ID, err)
		}
	}
	// A signature made with one key does not pass under another's ID.
	q := mustSign(t, p, old)
	q.Set(ParamKeyID, cur.ID)
	if err := v.Verify(httptest.NewRequest(http.MethodGet, "/a?"+q.Encode(), http.NoBody)); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("got %v, want bad signature", err)
	}
}

func TestEd25519PublicKeyOnlyVerifies(t *testing.T) {
	k, err := NewEd25519Key("ed")
	if err != nil {
		t.Fatal(err)
	}
	pub := k.Public()
	if len(pub.PrivateKey) != 0 {
		t.Fatal("Public kept the private key")
	}
	if _, err := Sign(Policy{Path: "/*", Expires: t0}, pub); err == nil {
		t.Fatal("a public key signed")
	}
	v := &Verifier{Keys: map[string]Key{"ed": pub}, Now: func() time.Time { return t0 }}
	r := httptest.NewRequest(http.MethodGet, "/a?"+mustSign(t, Policy{Path: "/*", Expires: t0.Add(time.Hour)}, k).Encode(), http.NoBody)
	if err := v.Verify(r); err != nil {
		t.Fatal(err)
	}
}

func TestSignURL(t *testing.T) {
	key := hmacKey(t, "k1")
	s, err := SignURL("https://edge.example/live/news/hls/index.m3u8?_HLS_msn=4&sluice-key=old", Policy{Expires: t0.Add(time.Hour)}, key)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if q.Get("_HLS_msn") != "4" || len(q[ParamKeyID]) != 1 || q.Get(ParamKeyID) != "k1" {
		t.Fatalf("query %v", q)
	}
	v := &Verifier{Keys: map[string]Key{"k1": key}, Now: func() time.Time { return t0 }}
	if err := v.Verify(httptest.NewRequest(http.MethodGet, s, http.NoBody)); err != nil {
		t.Fatal(err)
	}
	// An empty policy path means exactly this URL's path.
	other := strings.Replace(s, "index.m3u8", "720p/index.m3u8", 1)
	if err := v.Verify(httptest.NewRequest(http.MethodGet, other, http.NoBody)); !errors.Is(err, ErrWrongPath) {
		t.Fatalf("got %v, want wrong path", err)
	}
}

func TestPolicyValidate(t *testing.T) {
	bad := []Policy{
		{Path: "live/*", Expires: t0},
		{Path: "/live/*"},
		{Path: "/live/*", Expires: t0, NotBefore: t0.Add(time.Second)},
		{Path: "/live/*", Expires: t0, ClientCIDR: "10.0.0.0/33"},
		{Path: "/" + strings.Repeat("a", maxPathLen), Expires: t0},
	}
	for _, p := range bad {
		if err := p.Validate(); err == nil {
			t.Errorf("%+v: no error", p)
		}
	}
}

func TestMatchPath(t *testing.T) {
	tests := []struct {
		pattern, path string
		want          bool
	}{
		{"/live/news/*", "/live/news/hls/index.m3u8", true},
		{"/live/news/*", "/live/news/", true},
		{"/live/news/*", "/live/news", false},
		{"/live/news/*", "/live/newsroom/a", false},
		{"/live/*/hls/*", "/live/news/hls/720p/1.m4s", true},
		{"/live/*/hls/*", "/live/news/dash/manifest.mpd", false},
		{"/live/news/hls/index.m3u8", "/live/news/hls/index.m3u8", true},
		{"/live/news/hls/index.m3u8", "/live/news/hls/index.m3u8x", false},
		{"/*.m3u8", "/live/news/hls/index.m3u8", true},
		{"/*", "/", true},
		{"/a*b*c", "/aXbYbZc", true},
		{"/a*b*c", "/aXbYbZ", false},
	}
	for _, tc := range tests {
		if got := matchPath(tc.pattern, tc.path); got != tc.want {
			t.Errorf("matchPath(%q, %q) = %v", tc.pattern, tc.path, got)
		}
	}
	for p, want := range map[string]string{"/live/news/*": "/live/news/", "/live/*/hls/*": "/live/", "/live/ne*": "/live/", "/a/b.m3u8": "/a/b.m3u8"} {
		if got := cookiePath(p); got != want {
			t.Errorf("cookiePath(%q) = %q, want %q", p, got, want)
		}
	}
}

func TestKeyText(t *testing.T) {
	hk := hmacKey(t, "h")
	ek, err := NewEd25519Key("e")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []Key{hk, ek, ek.Public()} {
		text, err := k.Encode()
		if err != nil {
			t.Fatal(err)
		}
		if js, _ := json.Marshal(k); strings.Contains(string(js), "Secret") || strings.Contains(string(js), "PrivateKey") {
			t.Fatalf("JSON of %s carries its secret: %s", k, js)
		}
		back, err := ParseKey(text)
		if err != nil {
			t.Fatalf("%s: %v", text, err)
		}
		if back.ID != k.ID || string(back.Secret) != string(k.Secret) || !back.publicKey().Equal(k.publicKey()) || len(back.PrivateKey) != len(k.PrivateKey) {
			t.Fatalf("%s did not round-trip", k)
		}
	}
	if s := hk.String() + hk.GoString(); strings.Contains(s, base64.RawURLEncoding.EncodeToString(hk.Secret)) || !strings.Contains(s, "hmac key h") {
		t.Fatalf("String %q", s)
	}
	for _, bad := range []string{"", "hmac:k", "hmac:k:short", "rsa:k:AAAA", "hmac:bad id:" + strings.Repeat("A", 40), "ed25519:k:AAAA", "ed25519-public:k:AAAA"} {
		if _, err := ParseKey(bad); err == nil {
			t.Errorf("ParseKey(%q) accepted", bad)
		}
	}
	if err := (Key{ID: "x", Secret: make([]byte, 32), PublicKey: make(ed25519.PublicKey, 32)}).Validate(); err == nil {
		t.Error("a key with two kinds of material validated")
	}
}

// TestVerifyForOtherPaths checks a request against the paths it stands
// for: any one of them covered admits it, its own path does not count
// unless given, and trusted networks get no pass.
func TestVerifyForOtherPaths(t *testing.T) {
	key := hmacKey(t, "k1")
	v, err := NewVerifier(key)
	if err != nil {
		t.Fatal(err)
	}
	v.Now = func() time.Time { return t0 }
	v.Trusted = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	stands := []string{"/api/v1/channels/news/frames", "/live/news/frames"}
	tests := []struct {
		name   string
		policy string
		paths  []string
		want   error
	}{
		{"channel-wide", "/live/news/*", stands, nil},
		{"every channel", "/live/*", stands, nil},
		{"the API path itself", "/api/v1/channels/news/frames", stands, nil},
		{"one endpoint only", "/live/news/hls/*", stands, ErrWrongPath},
		{"another channel", "/live/sports/*", stands, ErrWrongPath},
		{"own path not among those given", "/x/*", []string{"/live/news/frames"}, ErrWrongPath},
		{"a path that is not canonical", "/live/*", []string{"/live/news/../sports/frames"}, ErrWrongPath},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := mustSign(t, Policy{Path: tc.policy, Expires: t0.Add(time.Hour)}, key)
			r := httptest.NewRequest(http.MethodGet, "/x/frames?"+q.Encode(), http.NoBody)
			r.RemoteAddr = "127.0.0.1:5000" // trusted for Verify, not for VerifyFor
			if err := v.VerifyFor(r, tc.paths...); !errors.Is(err, tc.want) && (err != nil || tc.want != nil) {
				t.Fatalf("VerifyFor: %v, want %v", err, tc.want)
			}
		})
	}
	r := httptest.NewRequest(http.MethodGet, "/api/v1/channels/news/frames", http.NoBody)
	r.RemoteAddr = "127.0.0.1:5000"
	if err := v.VerifyFor(r, stands...); !errors.Is(err, ErrMissing) {
		t.Fatalf("an unsigned request from a trusted network: %v, want %v", err, ErrMissing)
	}
}

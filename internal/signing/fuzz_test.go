package signing

import (
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"
)

// FuzzVerify feeds arbitrary query strings, cookie headers, paths and
// forwarded addresses to the verifier (Verify and VerifyFor): it must never
// panic, every refusal must be an *Error, and nothing but a real signature
// may pass.
func FuzzVerify(f *testing.F) {
	key := Key{ID: "k1", Secret: []byte("0123456789abcdef0123456789abcdef")}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	good, err := Sign(Policy{Path: "/live/news/*", Expires: now.Add(time.Hour), ClientCIDR: "10.0.0.0/8"}, key)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good.Encode(), "", "/live/news/a.m4s", "10.1.2.3")
	f.Add("", ParamPolicy+"="+good.Get(ParamPolicy)+"; "+ParamSignature+"="+good.Get(ParamSignature)+"; "+ParamKeyID+"=k1", "/live/news/a", "10.0.0.1")
	f.Add("sluice-policy=e30&sluice-signature=&sluice-key=k1", "", "/", "")
	f.Add("sluice-policy=%zz;sluice-key=ed", "sluice-key=\x00", "/live/../x", "[::1]")
	f.Add("a=b&sluice-key=k1&sluice-key=k1", "sluice-policy=;;;", "//", "1.2.3.4, 5.6.7.8")
	f.Fuzz(func(t *testing.T, rawQuery, cookie, path, forwarded string) {
		v := &Verifier{Keys: map[string]Key{"k1": key}, Now: func() time.Time { return now }, TrustForwardedFor: true}
		r := &http.Request{
			Method:     http.MethodGet,
			URL:        &url.URL{Path: path, RawQuery: rawQuery},
			Header:     http.Header{"Cookie": {cookie}, "X-Forwarded-For": {forwarded}},
			RemoteAddr: "192.0.2.1:1234",
		}
		// Standing for other paths admits no more than those paths allow.
		if err := v.VerifyFor(r, path, "/api/v1/channels/news/frames"); err == nil && (!matchPath("/live/news/*", path) || !canonicalPath(path)) {
			t.Fatalf("VerifyFor accepted path %q outside the policy", path)
		}
		err := v.Verify(r)
		if err == nil {
			// Only the seeded signature can pass, and only on its terms.
			if !matchPath("/live/news/*", path) || !canonicalPath(path) {
				t.Fatalf("accepted path %q outside the policy", path)
			}
			return
		}
		var e *Error
		if !errors.As(err, &e) || e.Reason == "" {
			t.Fatalf("untyped refusal %v", err)
		}
	})
}

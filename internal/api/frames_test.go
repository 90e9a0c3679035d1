package api

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/metrics"
	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/signing"
)

func TestStreamSlotsCapServerAndClient(t *testing.T) {
	s := newStreamSlots(FrameLimits{Streams: 3, PerClient: 2})
	take := func(client string) (func(), *limitError) {
		t.Helper()
		release, err := s.acquire(client)
		if err != nil {
			var le *limitError
			if !errors.As(err, &le) || le.retryAfter <= 0 {
				t.Fatalf("refusal %v is not a limit with a retry time", err)
			}
			return nil, le
		}
		return release, nil
	}
	a1, _ := take("192.0.2.1")
	a2, _ := take("192.0.2.1")
	if _, le := take("192.0.2.1"); le == nil || le.reason != metrics.FrameRefusedClientLimit || !strings.Contains(le.detail, "--frame-streams-per-client") {
		t.Fatalf("a third stream of one client: %+v", le)
	}
	b1, le := take("192.0.2.2")
	if le != nil {
		t.Fatalf("another client at the same time: %v", le)
	}
	if _, le := take("192.0.2.3"); le == nil || le.reason != metrics.FrameRefusedServerLimit || !strings.Contains(le.detail, "--frame-streams") {
		t.Fatalf("a stream past the server's cap: %+v", le)
	}
	a1()
	a1() // a second release changes nothing
	if _, le := take("192.0.2.3"); le != nil {
		t.Fatalf("a place freed by a release: %v", le)
	}
	if _, le := take("192.0.2.1"); le == nil || le.reason != metrics.FrameRefusedServerLimit {
		t.Fatalf("a stream past the server's cap again: %+v", le)
	}
	a2()
	b1()
	if s.total != 1 || len(s.byClient) != 1 {
		t.Fatalf("after the releases: %d streams, clients %v", s.total, s.byClient)
	}
}

func TestClientOf(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.7:51234":                 "192.0.2.7",
		"[::ffff:192.0.2.7]:80":           "192.0.2.7",
		"[2001:db8:1:2:3:4:5:6]:443":      "2001:db8:1:2::/64",
		"[2001:db8:1:2:ffff::1%eth0]:443": "2001:db8:1:2::/64",
		"not an address":                  "not an address",
	} {
		if got := clientOf(in); got != want {
			t.Errorf("clientOf(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestFramesNeedCredentials checks who the frames API admits before any
// picture is decoded: the channels exist but do not run, so an admitted
// request gets 409 and a refused one 401 or 403.
func TestFramesNeedCredentials(t *testing.T) {
	key, err := signing.NewHMACKey("k1")
	if err != nil {
		t.Fatal(err)
	}
	ring, err := signing.NewKeyring(key)
	if err != nil {
		t.Fatal(err)
	}
	sign := func(path string) string {
		q, err := signing.Sign(signing.Policy{Path: path, Expires: time.Now().Add(time.Hour)}, key)
		if err != nil {
			t.Fatal(err)
		}
		return q.Encode()
	}
	forged := func() string {
		q, _ := url.ParseQuery(sign("/live/*"))
		q.Set(signing.ParamSignature, strings.Repeat("A", 43))
		return q.Encode()
	}()
	const (
		open      = `{"name":"open","inputAttachments":[{"input":"bars"}],"encoder":{"ladder":"test-360p"}}`
		signed    = `{"name":"signed","inputAttachments":[{"input":"bars"}],"encoder":{"ladder":"test-360p"},"outputs":[{"name":"hls","type":"HLS","requireSignedURLs":true},{"name":"dash","type":"DASH"}]}`
		keyToken  = `{"name":"keyed","inputAttachments":[{"input":"bars"}],"encoder":{"ladder":"test-360p"},"outputs":[{"name":"hls","type":"HLS","encryption":{"method":"AES_128","keyToken":"0123456789abcdef"}}]}`
		token     = "s3cret-token"
		framesOf  = "/api/v1/channels/%s/frames"
		notActive = "not running"
	)
	type check struct {
		channel, query, token string
		status                int
		detail                string
	}
	for _, tc := range []struct {
		name   string
		cfg    Config
		checks []check
	}{
		{"no token, no keys", Config{}, []check{
			{"open", "", "", 409, notActive},
			{"signed", "", "", 403, "neither an API token nor signing keys"},
			{"keyed", "", "", 403, "neither an API token nor signing keys"},
			{"keyed", "", "0123456789abcdef", 403, "neither an API token nor signing keys"},
		}},
		{"no token, signing keys", Config{Signing: ring}, []check{
			{"open", "", "", 409, notActive},
			{"signed", "", "", 401, "signed URL"},
			{"keyed", "", "", 401, "signed URL"},
			{"signed", sign("/live/signed/*"), "", 409, notActive},
			{"signed", sign("/api/v1/channels/signed/frames"), "", 409, notActive},
			{"keyed", sign("/live/*"), "", 409, notActive},
			{"signed", sign("/live/signed/hls/*"), "", 403, "wrong-path"},
			{"signed", sign("/live/open/*"), "", 403, "wrong-path"},
			{"signed", forged, "", 403, "bad-signature"},
			{"signed", "", "some-token", 401, "the API token is wrong"},
		}},
		{"token, no keys", Config{Token: token}, []check{
			{"open", "", "", 401, "API token"},
			{"open", "", "wrong", 401, "the API token is wrong"},
			{"open", "", token, 409, notActive},
			{"signed", "", token, 409, notActive},
			{"open", sign("/live/open/*"), "", 401, "API token"},
		}},
		{"token and keys", Config{Token: token, Signing: ring}, []check{
			{"open", "", "", 401, "signed URL"},
			{"open", sign("/live/open/*"), "", 409, notActive},
			{"signed", sign("/live/open/*"), "", 403, "wrong-path"},
			{"signed", sign("/live/open/*"), token, 409, notActive},
			{"keyed", "", token, 409, notActive},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServerWith(t, tc.cfg)
			if resp, data := call(t, srv, "POST", "/api/v1/inputs", `{"name": "bars", "type": "TEST_PATTERN"}`, token); resp.StatusCode != 201 {
				t.Fatalf("create input: %d %s", resp.StatusCode, data)
			}
			for _, body := range []string{open, signed, keyToken} {
				if resp, data := call(t, srv, "POST", "/api/v1/channels", body, token); resp.StatusCode != 201 {
					t.Fatalf("create channel: %d %s", resp.StatusCode, data)
				}
			}
			for _, name := range []string{"open", "signed", "keyed"} {
				waitState(t, srv, name, resource.StateIdle)
			}
			for _, c := range tc.checks {
				path := strings.Replace(framesOf, "%s", c.channel, 1) + "?fps=5"
				if c.query != "" {
					path += "&" + c.query
				}
				resp, data := call(t, srv, "GET", path, "", c.token)
				p := problemOf(t, resp, data)
				if resp.StatusCode != c.status || !strings.Contains(p.Detail, c.detail) {
					t.Errorf("%s with token %q and query %q: %d %q, want %d …%s…", c.channel, c.token, c.query, resp.StatusCode, p.Detail, c.status, c.detail)
				}
				if resp.StatusCode == http.StatusUnauthorized && resp.Header.Get("WWW-Authenticate") == "" {
					t.Errorf("%s: 401 without a WWW-Authenticate challenge", c.channel)
				}
			}
		})
	}
}

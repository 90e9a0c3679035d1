package httpguard

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sluice-video/sluice/internal/problem"
)

func TestOnlyLoopbackAndPublicHostsAreServed(t *testing.T) {
	srv := httptest.NewServer(LocalHosts(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok")
	}), "video.example.com", "[2001:db8::1]:8080"))
	defer srv.Close()
	port := srv.URL[strings.LastIndexByte(srv.URL, ':')+1:]
	for _, c := range []struct {
		host string
		ok   bool
	}{
		{"localhost:" + port, true},
		{"localhost", true},
		{"LocalHost.:" + port, true},
		{"sluice.localhost:" + port, true},
		{"127.0.0.1:" + port, true},
		{"127.10.0.5", true},
		{"[::1]:" + port, true},
		{"video.example.com", true},
		{"VIDEO.example.com:8080", true},
		{"[2001:db8::1]", true},
		{"evil.example:" + port, false},
		{"127.0.0.1.evil.example:" + port, false},
		{"localhost.evil.example", false},
		{"0.0.0.0:" + port, false},
		{"192.168.1.10:" + port, false},
		{"example.com", false},
	} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/v1/inputs", nil)
		req.Host = c.host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if c.ok {
			if resp.StatusCode != http.StatusOK {
				t.Errorf("Host %s: %d %s, want it served", c.host, resp.StatusCode, body)
			}
			continue
		}
		var p problem.Details
		if resp.StatusCode != http.StatusForbidden || resp.Header.Get("Content-Type") != problem.ContentType ||
			json.Unmarshal(body, &p) != nil || !strings.Contains(p.Detail, `"`+c.host+`"`) {
			t.Errorf("Host %s: %d %s, want 403 problem+json naming the host", c.host, resp.StatusCode, body)
		}
	}
}

package server

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// serveHTTP runs a whole server (without media listeners) behind a real
// HTTP listener on loopback.
func serveHTTP(t *testing.T, cfg Config) *httptest.Server {
	t.Helper()
	cfg.Data, cfg.FFmpeg, cfg.FFprobe = t.TempDir(), "ffmpeg", "ffprobe"
	s, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return srv
}

// request sends a request to srv with the given Host (the listener's own
// address when empty) and extra headers.
func request(t *testing.T, srv *httptest.Server, method, host, path, body string, header ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data)
}

// wildcardAddr is an address on every interface nothing listens on.
func wildcardAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	_ = ln.Close()
	return "0.0.0.0:" + port
}

func TestDistributionsListenOnLoopbackWithoutAToken(t *testing.T) {
	origin := httptest.NewServer(http.NotFoundHandler())
	defer origin.Close()
	body := func(name string) string {
		return fmt.Sprintf(`{"name": %q, "listen": %q, "origins": [%q]}`, name, wildcardAddr(t), origin.URL)
	}
	open := serveHTTP(t, Config{})
	code, answer := request(t, open, "POST", "", "/api/v1/distributions", body("wide"), "Content-Type", "application/json")
	if code != http.StatusBadRequest || !strings.Contains(answer, `"path":"listen"`) || !strings.Contains(answer, "--token") {
		t.Errorf("listen on every interface without a token: %d %s, want 400 naming listen", code, answer)
	}
	guarded := serveHTTP(t, Config{Token: "s3cret-token"})
	code, answer = request(t, guarded, "POST", "", "/api/v1/distributions", body("wide"),
		"Content-Type", "application/json", "Authorization", "Bearer s3cret-token")
	if code != http.StatusCreated || !strings.Contains(answer, `"RUNNING"`) {
		t.Errorf("listen on every interface with a token: %d %s, want 201", code, answer)
	}
}

func TestWithoutATokenOnlyLoopbackHostsAreServed(t *testing.T) {
	srv := serveHTTP(t, Config{PublicHost: "video.example.com"})
	port := srv.URL[strings.LastIndexByte(srv.URL, ':')+1:]
	paths := []string{"/api/v1/inputs", "/", "/live/news/hls/index.m3u8", "/healthz"}
	for _, host := range []string{"evil.example:" + port, "127.0.0.1.nip.example:" + port} {
		for _, path := range paths {
			if code, answer := request(t, srv, "GET", host, path, ""); code != http.StatusForbidden || !strings.Contains(answer, host) {
				t.Errorf("GET %s for host %s: %d %s, want 403 naming the host", path, host, code, answer)
			}
		}
		code, answer := request(t, srv, "POST", host, "/api/v1/inputs", `{"name": "bars", "type": "TEST_PATTERN"}`, "Content-Type", "application/json")
		if code != http.StatusForbidden {
			t.Errorf("POST for host %s: %d %s, want 403", host, code, answer)
		}
	}
	for _, host := range []string{"localhost:" + port, "127.0.0.1:" + port, "[::1]:" + port, "video.example.com"} {
		if code, answer := request(t, srv, "GET", host, "/api/v1/inputs", ""); code != http.StatusOK {
			t.Errorf("GET for host %s: %d %s, want 200", host, code, answer)
		}
	}
	if code, answer := request(t, srv, "POST", "localhost:"+port, "/api/v1/inputs", `{"name": "bars", "type": "TEST_PATTERN"}`, "Content-Type", "application/json"); code != http.StatusCreated {
		t.Errorf("POST for localhost: %d %s", code, answer)
	}
}

func TestWithATokenEveryHostIsServed(t *testing.T) {
	srv := serveHTTP(t, Config{Token: "s3cret-token"})
	for _, path := range []string{"/api/v1/inputs", "/healthz"} {
		if code, answer := request(t, srv, "GET", "video.example.com", path, ""); code != http.StatusOK {
			t.Errorf("GET %s for another host: %d %s, want 200", path, code, answer)
		}
	}
	// The origin answers players of any site (here: no such channel).
	if code, answer := request(t, srv, "GET", "video.example.com", "/live/news/hls/index.m3u8", ""); code != http.StatusNotFound {
		t.Errorf("the origin for another host: %d %s, want 404", code, answer)
	}
}

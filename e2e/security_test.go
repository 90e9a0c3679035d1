package e2e

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/testutil/poll"
)

// TestServeGuardsItsListener runs the server with a short read timeout and
// a small bound of connections per client address: a trickled body is cut
// off, a client over its bound is refused while another address is served,
// requests for another host or from another site's page are refused, and
// the CLI, which sends what the API wants, still changes things.
func TestServeGuardsItsListener(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := startServerWith(t, t.TempDir(), []string{"--read-timeout", "300ms", "--max-conns-per-client", "3"})

	// The CLI: changes with a body (apply, destroy) and without (rotate-key).
	stack := writeStack(t, dir, "guard.yaml", `name: guard
securityGroups:
  - name: local
    allow: [127.0.0.0/8]
inputs:
  - {name: cam, type: RTMP_PUSH, securityGroups: [local]}
`)
	if out, err := s.cli("apply", "-f", stack); err != nil {
		t.Fatalf("apply: %v\n%s", err, out)
	}
	if out, err := s.cli("input", "rotate-key", "cam"); err != nil {
		t.Fatalf("rotate-key: %v\n%s", err, out)
	}
	if out, err := s.cli("destroy", "-f", stack); err != nil {
		t.Fatalf("destroy: %v\n%s", err, out)
	}

	// A page of another site, directly or by DNS rebinding.
	req, _ := http.NewRequest(http.MethodPost, s.url("/api/v1/inputs"), strings.NewReader(`{"name": "x", "type": "TEST_PATTERN"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", "https://evil.example")
	if code := statusOf(t, s.http, req); code != http.StatusForbidden {
		t.Errorf("a change from another site's page: %d, want 403", code)
	}
	req, _ = http.NewRequest(http.MethodGet, s.url("/api/v1/inputs"), nil)
	req.Host = "rebound.example"
	if code := statusOf(t, s.http, req); code != http.StatusForbidden {
		t.Errorf("a read for another host: %d, want 403", code)
	}

	// A trickled body is cut off.
	c := mustDialFrom(t, "127.0.0.1", s.addr)
	if _, err := io.WriteString(c, "POST /api/v1/inputs HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, "the server closes a connection trickling its body", time.Minute, func() (bool, string) {
		if _, err := c.Write([]byte(" ")); err != nil {
			return closedByServer(err), err.Error()
		}
		_ = c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		_, err := c.Read(make([]byte, 4096))
		return closedByServer(err), "still open"
	})

	// 127.0.0.3 holds its three connections; its fourth is closed, while
	// 127.0.0.2 is served.
	for i := range 3 {
		if code, err := healthzOn(mustDialFrom(t, "127.0.0.3", s.addr)); err != nil || code != 200 {
			t.Fatalf("connection %d of 127.0.0.3: %d %v", i+1, code, err)
		}
	}
	if c, err := dialFrom("127.0.0.3", s.addr); err == nil {
		defer c.Close()
		if _, err = healthzOn(c); !closedByServer(err) {
			t.Errorf("a fourth connection of 127.0.0.3: %v, want it closed", err)
		}
	} else if !closedByServer(err) {
		t.Errorf("a fourth connection of 127.0.0.3: %v", err)
	}
	if code, err := healthzOn(mustDialFrom(t, "127.0.0.2", s.addr)); err != nil || code != 200 {
		t.Errorf("a connection of 127.0.0.2: %d %v", code, err)
	}
	if v := metricValue(t, s.url(""), "sluice_http_refused_connections_total"); v < 1 {
		t.Errorf("sluice_http_refused_connections_total = %v", v)
	}
}

// statusOf sends req and returns the answer's status.
func statusOf(t *testing.T, client *http.Client, req *http.Request) int {
	t.Helper()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

// dialFrom opens a connection to addr from the loopback address from.
func dialFrom(from, addr string) (net.Conn, error) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 10 * time.Second}
	return d.Dial("tcp", addr)
}

// mustDialFrom is dialFrom, the connection closed when the test ends.
func mustDialFrom(t *testing.T, from, addr string) net.Conn {
	t.Helper()
	c, err := dialFrom(from, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// healthzOn asks for /healthz on c and keeps c open.
func healthzOn(c net.Conn) (int, error) {
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	defer func() { _ = c.SetDeadline(time.Time{}) }()
	if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n"); err != nil {
		return 0, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}

// closedByServer reports whether an error says the server closed the
// connection.
func closedByServer(err error) bool {
	return err != nil && !errors.Is(err, os.ErrDeadlineExceeded) &&
		(errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE))
}

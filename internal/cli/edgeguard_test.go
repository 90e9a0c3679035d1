package cli

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// dialFrom opens a connection to addr from the loopback address from,
// closed when the test ends.
func dialFrom(t *testing.T, from, addr string) (net.Conn, error) {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 10 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err == nil {
		t.Cleanup(func() { _ = c.Close() })
	}
	return c, err
}

// askOn sends a GET for /healthz on c, keeping c open.
func askOn(c net.Conn) (int, error) {
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

func TestEdgeCommandGuardsItsListener(t *testing.T) {
	origin := httptest.NewServer(http.NotFoundHandler())
	defer origin.Close()
	base, _ := startEdge(t, edgeOptions{origins: []string{origin.URL}, readTimeout: 200 * time.Millisecond, maxConns: 2})
	addr := strings.TrimPrefix(base, "http://")

	// A trickled body is cut off.
	c, err := dialFrom(t, "127.0.0.1", addr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(c, "POST /live/a/seg.m4s HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100000\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(time.Minute); ; {
		if _, err := c.Write([]byte(" ")); closedByServer(err) {
			break
		}
		_ = c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		if _, err := c.Read(make([]byte, 4096)); closedByServer(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the edge still reads a trickled body after a minute")
		}
	}

	// 127.0.0.2 holds its two connections; its third is closed, while
	// 127.0.0.3 is served.
	for i := range 2 {
		c, err := dialFrom(t, "127.0.0.2", addr)
		if err != nil {
			t.Fatal(err)
		}
		if code, err := askOn(c); err != nil || code != 200 {
			t.Fatalf("connection %d of 127.0.0.2: %d %v", i+1, code, err)
		}
	}
	c, err = dialFrom(t, "127.0.0.2", addr)
	if err == nil {
		_, err = askOn(c)
	}
	if !closedByServer(err) {
		t.Errorf("a third connection of 127.0.0.2: %v, want it closed", err)
	}
	c, err = dialFrom(t, "127.0.0.3", addr)
	if err != nil {
		t.Fatal(err)
	}
	if code, err := askOn(c); err != nil || code != 200 {
		t.Errorf("a connection of 127.0.0.3: %d %v", code, err)
	}
	if _, metrics := get(t, base+"/metrics"); !strings.Contains(metrics, `sluice_edge_refused_connections_total{edge="sluice-edge"} 1`) {
		t.Errorf("/metrics does not count the refused connection:\n%s", metrics)
	}
}

package httpguard

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"syscall"
	"testing"
	"time"
)

// serve runs handler behind cfg's server and listener on a loopback port.
func serve(t *testing.T, cfg Config, handler http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := cfg.Server(handler)
	go func() { _ = srv.Serve(cfg.Listener(ln)) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// dialFrom opens a connection to addr from the loopback address from.
func dialFrom(t *testing.T, from, addr string) (net.Conn, error) {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 10 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { _ = c.Close() })
	return c, nil
}

// getFrom sends a GET on a new connection from the loopback address from,
// and returns the connection, held open, with the answer. A connection
// the server closes at once may already fail to connect.
func getFrom(t *testing.T, from, addr string) (net.Conn, *http.Response, error) {
	t.Helper()
	c, err := dialFrom(t, from, addr)
	if err != nil {
		return nil, nil, err
	}
	resp, err := get(c, "/")
	return c, resp, err
}

// get sends a GET on c and reads the answer; it fails when the server
// closed c instead.
func get(c net.Conn, path string) (*http.Response, error) {
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	defer func() { _ = c.SetDeadline(time.Time{}) }()
	if _, err := io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: localhost\r\n\r\n"); err != nil {
		return nil, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return nil, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp, nil
}

// closedByPeer reports whether an error says the other end closed the
// connection.
func closedByPeer(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// trickle sends a request whose body never ends, a byte at a time, and
// returns once the server has closed the connection.
func trickle(t *testing.T, addr, path string) {
	t.Helper()
	c, err := dialFrom(t, "127.0.0.1", addr)
	if err != nil {
		t.Fatal(err)
	}
	head := "POST " + path + " HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n"
	if _, err := io.WriteString(c, head); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); {
		if _, err := c.Write([]byte(" ")); err != nil {
			if closedByPeer(err) {
				return
			}
			t.Fatal(err)
		}
		// Whatever the server answers, then the end of the connection.
		_ = c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		_, err := c.Read(buf)
		if closedByPeer(err) {
			return
		}
		if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatal(err)
		}
	}
	t.Fatal("the server still reads a trickled body after a minute")
}

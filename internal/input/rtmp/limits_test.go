package rtmp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/input/live"
	"github.com/sluice-video/sluice/internal/metrics"
	"github.com/sluice-video/sluice/internal/testutil/livetest"
	"github.com/sluice-video/sluice/internal/testutil/poll"
)

// TestIdleConnectionsDoNotLockOutOthers: many connections from one address
// that send nothing fill that address's share of the handshakes, not the
// server's: a publisher from another address gets in while they are held.
func TestIdleConnectionsDoNotLockOutOthers(t *testing.T) {
	rec := record(t, "libx264", "aac", 320, 180, 2)
	reg := live.NewRegistry(nil)
	hub := reg.Set(live.InputConfig{Name: "cam", Protocol: "rtmp", StreamKey: "k1", Allow: livetest.Prefixes("127.0.0.0/8")})
	w := livetest.Watch(t, hub)
	m := metrics.New(metrics.Config{})
	logger, logged := livetest.CaptureLog(t)
	// Timeouts far beyond the test: the idle connections stay until it ends.
	srv, addr := startServerWith(t, &Server{
		Registry: reg, Logger: logger, Counter: m,
		FirstBytesTimeout: 10 * livetest.WaitLong, HandshakeTimeout: 10 * livetest.WaitLong, ReadTimeout: 5 * time.Second,
	})
	perAddress := live.DefaultHandshakesPerAddress
	start := time.Now()

	const idle = 100
	dialIdle(t, addr, "127.0.0.2", idle)
	poll.UntilTrue(t, "the connections past the address's limit to be refused", livetest.WaitLong, func() bool {
		return livetest.Refused(t, m, "rtmp", live.RefusedAddressLimit) >= float64(idle-perAddress)
	})
	if _, from := srv.handshakes.InProgress("127.0.0.2:1"); from != perAddress {
		t.Errorf("%d handshakes in progress from 127.0.0.2, want %d", from, perAddress)
	}

	c, err := client(context.Background(), "rtmp://"+addr+"/live/k1", "127.0.0.3", true)
	if err != nil {
		t.Fatalf("a publisher from another address: %v", err)
	}
	defer c.Close()
	stop := make(chan struct{})
	defer close(stop)
	go func() { _ = loopRecorded(c, rec, t, stop) }()
	poll.UntilTrue(t, "the publisher's frames", livetest.WaitLong, func() bool { return w.Count(live.Video) >= 10 })
	if st := hub.Status(); !strings.HasPrefix(st.Publisher, "127.0.0.3:") {
		t.Errorf("publisher %q", st.Publisher)
	}
	if _, from := srv.handshakes.InProgress("127.0.0.2:1"); from != perAddress {
		t.Errorf("the idle connections were let go: %d in progress from 127.0.0.2", from)
	}

	// The server-wide limit still holds: 7 more addresses fill it up.
	for i := range live.DefaultHandshakes/perAddress - 1 {
		dialIdle(t, addr, fmt.Sprintf("127.0.0.%d", 10+i), perAddress)
	}
	poll.UntilTrue(t, "every handshake to be taken", livetest.WaitLong, func() bool {
		total, _ := srv.handshakes.InProgress("127.0.0.1:1")
		return total == live.DefaultHandshakes
	})
	expectClosed(t, dialIdle(t, addr, "127.0.0.20", 1))
	poll.UntilTrue(t, "the refusal for the server's limit to be counted", livetest.WaitLong, func() bool {
		return livetest.Refused(t, m, "rtmp", live.RefusedServerLimit) >= 1
	})
	if n := livetest.Refused(t, m, "rtmp", live.RefusedServerLimit); n != 1 {
		t.Errorf("%v refusals for the server's limit, want 1", n)
	}
	if n := livetest.Refused(t, m, "rtmp", live.RefusedAddressLimit); n != float64(idle-perAddress) {
		t.Errorf("%v refusals for the address's limit, want %d", n, idle-perAddress)
	}
	expectLoggedOncePerMinute(t, logged(), live.RefusedAddressLimit, start)
}

// expectLoggedOncePerMinute checks that the refusals for reason, all from
// one address, made one log line a minute since start, not one each.
func expectLoggedOncePerMinute(t *testing.T, logged string, reason live.Refusal, start time.Time) {
	t.Helper()
	lines := strings.Count(logged, "refusal="+string(reason)+" ")
	if most := 1 + int(time.Since(start)/time.Minute); lines < 1 || lines > most {
		t.Errorf("%d log lines about %s, want 1 to %d", lines, reason, most)
	}
}

// TestIdleConnectionsClosedAtFirstBytesTimeout: a connection that sends
// nothing, or only a trickle, is closed once the first-bytes timeout is
// over, long before the handshake timeout, and its address can publish
// again.
func TestIdleConnectionsClosedAtFirstBytesTimeout(t *testing.T) {
	rec := record(t, "libx264", "aac", 320, 180, 2)
	reg := live.NewRegistry(nil)
	hub := reg.Set(live.InputConfig{Name: "cam", Protocol: "rtmp", StreamKey: "k1", Allow: livetest.Prefixes("127.0.0.0/8")})
	w := livetest.Watch(t, hub)
	m := metrics.New(metrics.Config{})
	// The handshake timeout is beyond the test: only the first-bytes
	// timeout can close the idle connections while it runs.
	_, addr := startServerWith(t, &Server{
		Registry: reg, Logger: livetest.Logger(t), Counter: m,
		FirstBytesTimeout: time.Second, HandshakeTimeout: 10 * livetest.WaitLong, ReadTimeout: 5 * time.Second,
	})
	perAddress := live.DefaultHandshakesPerAddress

	const idle = 20
	conns := dialIdle(t, addr, "127.0.0.2", idle)
	trickle := dialIdle(t, addr, "127.0.0.4", 1)[0]
	go func() {
		// The version byte, then nothing but a byte now and then.
		for {
			if _, err := trickle.Write([]byte{3}); err != nil {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	expectClosed(t, append(conns, trickle))
	poll.UntilTrue(t, "the idle connections to be counted", livetest.WaitLong, func() bool {
		return livetest.Refused(t, m, "rtmp", live.RefusedIdle) >= float64(perAddress+1)
	})
	if n := livetest.Refused(t, m, "rtmp", live.RefusedIdle); n != float64(perAddress+1) {
		t.Errorf("%v idle connections counted, want %d", n, perAddress+1)
	}
	if n := livetest.Refused(t, m, "rtmp", live.RefusedAddressLimit); n != float64(idle-perAddress) {
		t.Errorf("%v refusals for the address's limit, want %d", n, idle-perAddress)
	}

	c, err := client(context.Background(), "rtmp://"+addr+"/live/k1", "127.0.0.2", true)
	if err != nil {
		t.Fatalf("a publisher from the address the idle connections came from: %v", err)
	}
	defer c.Close()
	stop := make(chan struct{})
	defer close(stop)
	go func() { _ = loopRecorded(c, rec, t, stop) }()
	poll.UntilTrue(t, "the publisher's frames", livetest.WaitLong, func() bool { return w.Count(live.Video) >= 10 })
}

// dialIdle opens n TCP connections to addr from localIP that send nothing;
// the test closes them when it ends.
func dialIdle(t *testing.T, addr, localIP string, n int) []net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(localIP)}, Timeout: 10 * time.Second}
	conns := make([]net.Conn, 0, n)
	for range n {
		nc, err := d.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { nc.Close() })
		conns = append(conns, nc)
	}
	return conns
}

// expectClosed waits for the server to close every connection: reading
// ends in end of file or a reset, not in the test's own deadline.
func expectClosed(t *testing.T, conns []net.Conn) {
	t.Helper()
	deadline := time.Now().Add(livetest.WaitLong)
	for i, nc := range conns {
		_ = nc.SetReadDeadline(deadline)
		if _, err := io.Copy(io.Discard, nc); errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("connection %d from %s stayed open", i, nc.LocalAddr())
		}
	}
}

// TestIdleRTMPSConnectionsClosedAtFirstBytesTimeout: on RTMPS the first
// bytes are due after the TLS handshake and within the same deadline: a
// connection that never starts TLS and one that stops after it are both
// closed as idle.
func TestIdleRTMPSConnectionsClosedAtFirstBytesTimeout(t *testing.T) {
	reg := live.NewRegistry(nil)
	reg.Set(live.InputConfig{Name: "cam", Protocol: "rtmp", StreamKey: "k1", Allow: livetest.Prefixes("127.0.0.0/8")})
	m := metrics.New(metrics.Config{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &Server{
		Registry: reg, Logger: livetest.Logger(t), Counter: m,
		FirstBytesTimeout: time.Second, HandshakeTimeout: 10 * livetest.WaitLong,
	}
	done := make(chan error, 1)
	go func() {
		done <- srv.Serve(tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{selfSigned(t)}, MinVersion: tls.VersionTLS12}))
	}()
	t.Cleanup(func() {
		srv.Close(context.Background())
		if err := <-done; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve returned %v", err)
		}
	})

	plain := dialIdle(t, ln.Addr().String(), "127.0.0.2", 1)[0]
	d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 10 * time.Second}, Config: &tls.Config{InsecureSkipVerify: true}} //nolint:gosec // a test certificate
	afterTLS, err := d.DialContext(context.Background(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer afterTLS.Close()
	expectClosed(t, []net.Conn{plain, afterTLS})
	poll.UntilTrue(t, "both to be counted as idle", livetest.WaitLong, func() bool {
		return livetest.Refused(t, m, "rtmp", live.RefusedIdle) >= 2
	})
}

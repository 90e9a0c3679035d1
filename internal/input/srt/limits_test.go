package srt

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	gosrt "github.com/datarhei/gosrt"

	"github.com/sluice-video/sluice/internal/input/live"
	"github.com/sluice-video/sluice/internal/metrics"
	"github.com/sluice-video/sluice/internal/testutil/livetest"
	"github.com/sluice-video/sluice/internal/testutil/poll"
)

// TestStalledHandshakesDoNotLockOutOthers: an address that keeps many
// connection requests waiting (each waits out its wrong-key penalty) fills
// its own share of the requests being decided, not the listener's: a
// publisher from another address connects and its media flows.
func TestStalledHandshakesDoNotLockOutOthers(t *testing.T) {
	ts := livetest.TSFile(t, "libx264", "aac", 320, 180, 3)
	reg := live.NewRegistry(nil)
	hub := reg.Set(srtInput("cam", "k1", "", "127.0.0.0/8"))
	w := livetest.Watch(t, hub)
	m := metrics.New(metrics.Config{})
	logger, logged := livetest.CaptureLog(t)
	l := &Listener{Registry: reg, Logger: logger, Counter: m, ReadTimeout: 5 * time.Second}
	addr := serve(t, l)
	perAddress := live.DefaultHandshakesPerAddress
	start := time.Now()

	stallHandshakes(t, addr, "127.0.0.2", 100)
	poll.UntilTrue(t, "the stalling address to fill its share", livetest.WaitLong, func() bool {
		_, from := l.handshakes.InProgress("127.0.0.2:1")
		return from == perAddress && livetest.Refused(t, m, "srt", live.RefusedAddressLimit) > 0
	})

	// gosrt's caller sends its handshake once; a refusal would be the
	// listener's limit, which the metrics would show.
	var c gosrt.Conn
	poll.UntilTrue(t, "a publisher from 127.0.0.1 to connect", livetest.WaitLong, func() bool {
		var err error
		c, err = dialSRT(addr, "k1", "")
		return err == nil
	})
	defer c.Close()
	stop := make(chan struct{})
	defer close(stop)
	go pushTS(c, ts, stop)
	poll.UntilTrue(t, "the publisher's frames", livetest.WaitLong, func() bool { return w.Count(live.Video) >= 10 })
	if st := hub.Status(); !strings.HasPrefix(st.Publisher, "127.0.0.1:") {
		t.Errorf("publisher %q", st.Publisher)
	}
	if n := livetest.Refused(t, m, "srt", live.RefusedServerLimit); n != 0 {
		t.Errorf("%v requests refused for the listener's limit: the stalling address took the others' room", n)
	}
	poll.UntilTrue(t, "the wrong keys to be counted", livetest.WaitLong, func() bool {
		return livetest.Refused(t, m, "srt", live.RefusedStreamKey) > 0
	})
	// The stalling address goes on for the whole test: a line a minute.
	lines := strings.Count(logged(), "refusal=address_limit ")
	if most := 1 + int(time.Since(start)/time.Minute); lines < 1 || lines > most {
		t.Errorf("%d log lines about the address's limit, want 1 to %d", lines, most)
	}
}

// TestListenerLimit: the listener's limit still holds when the addresses
// together reach it: three stalling addresses share 8 places, 4 at most
// each, and the one with room left is refused for the listener's limit.
func TestListenerLimit(t *testing.T) {
	reg := live.NewRegistry(nil)
	reg.Set(srtInput("cam", "k1", "", "127.0.0.0/8"))
	m := metrics.New(metrics.Config{})
	l := &Listener{Registry: reg, Logger: livetest.Logger(t), Counter: m, Limits: live.HandshakeLimits{PerAddress: 4, Total: 8}}
	addr := serve(t, l)

	for _, ip := range []string{"127.0.0.2", "127.0.0.3", "127.0.0.4"} {
		stallHandshakes(t, addr, ip, 10)
	}
	poll.UntilTrue(t, "refusals for the listener's limit", livetest.WaitLong, func() bool {
		return livetest.Refused(t, m, "srt", live.RefusedServerLimit) > 0
	})
	if total, _ := l.handshakes.InProgress("127.0.0.1:1"); total > 8 {
		t.Errorf("%d requests in progress, more than the limit", total)
	}
}

// serve runs l on a free loopback port until the test ends.
func serve(t *testing.T, l *Listener) string {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- l.Serve("127.0.0.1:0") }()
	t.Cleanup(func() {
		l.Close(context.Background())
		if err := <-done; !errors.Is(err, ErrListenerClosed) {
			t.Errorf("Serve returned %v", err)
		}
	})
	poll.UntilTrue(t, "the listener to bind", livetest.WaitLong, func() bool { return l.Addr() != nil })
	return l.Addr().String()
}

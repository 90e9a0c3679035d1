package live

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// countingCounter records refusals as the metrics would count them.
type countingCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *countingCounter) IngestRefused(protocol, reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n[protocol+"/"+reason]++
}

func TestRefusalsLogOncePerAddressAndReason(t *testing.T) {
	clock := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	var buf bytes.Buffer
	counter := &countingCounter{n: map[string]int{}}
	r := NewRefusals(RefusalsConfig{
		Protocol: "rtmp", Counter: counter, Interval: time.Minute, MaxAddresses: 3,
		Logger: slog.New(slog.NewTextHandler(&buf, nil)),
		Now:    func() time.Time { return clock },
	})
	lines := func() []string {
		s := strings.TrimSpace(buf.String())
		buf.Reset()
		if s == "" {
			return nil
		}
		return strings.Split(s, "\n")
	}

	for range 10 {
		r.Refuse("192.0.2.1:1000", RefusedIdle, "RTMP connection closed: it sent nothing")
	}
	r.Refuse("192.0.2.1:1001", RefusedAddressLimit, "RTMP connection refused: too many handshakes from this address", "limit", 8)
	r.Refuse("192.0.2.2:1000", RefusedIdle, "RTMP connection closed: it sent nothing")
	got := lines()
	if len(got) != 3 || !strings.Contains(got[0], "remote=192.0.2.1:1000") || !strings.Contains(got[0], "refusal=idle") ||
		!strings.Contains(got[1], "limit=8") || !strings.Contains(got[2], "remote=192.0.2.2:1000") {
		t.Fatalf("one line per address and reason:\n%s", strings.Join(got, "\n"))
	}
	if n := counter.n["rtmp/idle"]; n != 11 {
		t.Errorf("every refusal is counted: %d idle", n)
	}

	clock = clock.Add(30 * time.Second)
	r.Refuse("192.0.2.1:1002", RefusedIdle, "RTMP connection closed: it sent nothing")
	if got := lines(); len(got) != 0 {
		t.Errorf("within the interval: %q", got)
	}
	clock = clock.Add(31 * time.Second)
	r.Refuse("192.0.2.1:1003", RefusedIdle, "RTMP connection closed: it sent nothing")
	if got := lines(); len(got) != 1 || !strings.Contains(got[0], "suppressed=10") {
		t.Errorf("the next line says how many it follows: %q", got)
	}

}

func TestRefusalsRememberBoundedAddresses(t *testing.T) {
	clock := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	var buf bytes.Buffer
	counter := &countingCounter{n: map[string]int{}}
	r := NewRefusals(RefusalsConfig{
		Protocol: "srt", Counter: counter, MaxAddresses: 2,
		Logger: slog.New(slog.NewTextHandler(&buf, nil)),
		Now:    func() time.Time { return clock },
	})
	for _, remote := range []string{"192.0.2.1:1", "192.0.2.2:1", "192.0.2.3:1"} {
		r.Refuse(remote, RefusedBusy, "SRT caller refused")
	}
	// Full of recent addresses: the third is counted, not logged.
	if n := strings.Count(buf.String(), "\n"); n != 2 || strings.Contains(buf.String(), "192.0.2.3") || counter.n["srt/busy"] != 3 {
		t.Errorf("past MaxAddresses: %d counted,\n%s", counter.n["srt/busy"], buf.String())
	}
	// Once the interval of the old ones is over, they make room.
	buf.Reset()
	clock = clock.Add(time.Minute)
	r.Refuse("192.0.2.3:1", RefusedBusy, "SRT caller refused")
	if !strings.Contains(buf.String(), "192.0.2.3") || len(r.seen) > 2 {
		t.Errorf("after the interval: %d remembered,\n%s", len(r.seen), buf.String())
	}
}

package relay_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/input/relay"
	"github.com/sluice-video/sluice/internal/store"
	"github.com/sluice-video/sluice/internal/testutil/pgserver"
	"github.com/sluice-video/sluice/internal/testutil/poll"
)

// logLines keeps what a slog handler writes.
type logLines struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// with returns the lines that contain s.
func (l *logLines) with(s string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, line := range strings.Split(l.buf.String(), "\n") {
		if strings.Contains(line, s) {
			out = append(out, line)
		}
	}
	return out
}

// TestRecorderLogsADatabaseOutageOnce: while the state database cannot be
// reached, the recorder fails at every tick; it logs the first failure
// with its error and nothing more, and once the database is back, one
// record says it works again and how many attempts failed.
func TestRecorderLogsADatabaseOutageOnce(t *testing.T) {
	pg := pgserver.Start(t)
	proxy := pg.Proxy(t)
	ctx := context.Background()
	st, err := store.Open(ctx, proxy.Through(pg.URL))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	out := &logLines{}
	rec := &relay.Recorder{
		Self: "a", Store: st, Local: &publishing{ids: map[string]time.Time{}},
		Interval: 20 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(out, nil)),
	}
	if err := rec.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rec.Close(context.Background()) })

	const failed, works = "recording the publishers connected to this node failed", "recording the publishers connected to this node works again"
	proxy.Cut()
	poll.Until(t, "the recorder to log the outage", time.Minute, func() (bool, string) {
		return len(out.with(failed)) > 0, "nothing logged"
	})
	// Many more ticks fail meanwhile (fifty intervals).
	time.Sleep(50 * rec.Interval)
	proxy.Restore(t)
	poll.Until(t, "the recorder to log its recovery", time.Minute, func() (bool, string) {
		return len(out.with(works)) > 0, "nothing logged"
	})
	if got := out.with(failed); len(got) != 1 || !strings.Contains(got[0], "error=") {
		t.Errorf("the outage is logged %d times, want once with its error:\n%s", len(got), strings.Join(got, "\n"))
	}
	if got := out.with(works); len(got) != 1 || !strings.Contains(got[0], "failed attempts over") {
		t.Errorf("the recovery is logged %d times, want once with the failed attempts:\n%s", len(got), strings.Join(got, "\n"))
	}
}

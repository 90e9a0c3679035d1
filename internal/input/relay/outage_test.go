package relay_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/input/relay"
	"github.com/sluice-video/sluice/internal/store"
	"github.com/sluice-video/sluice/internal/testutil/pgserver"
	"github.com/sluice-video/sluice/internal/testutil/poll"
	"github.com/sluice-video/sluice/internal/testutil/syncbuf"
)

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
	out := &syncbuf.Buffer{}
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
		return len(out.Lines(failed)) > 0, "nothing logged"
	})
	// Many more ticks fail meanwhile (fifty intervals).
	time.Sleep(50 * rec.Interval)
	proxy.Restore(t)
	poll.Until(t, "the recorder to log its recovery", time.Minute, func() (bool, string) {
		return len(out.Lines(works)) > 0, "nothing logged"
	})
	if got := out.Lines(failed); len(got) != 1 || !strings.Contains(got[0], "error=") {
		t.Errorf("the outage is logged %d times, want once with its error:\n%s", len(got), strings.Join(got, "\n"))
	}
	if got := out.Lines(works); len(got) != 1 || !strings.Contains(got[0], "failed attempts over") {
		t.Errorf("the recovery is logged %d times, want once with the failed attempts:\n%s", len(got), strings.Join(got, "\n"))
	}
}

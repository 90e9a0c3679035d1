package queue

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/sluice-video/sluice/internal/testutil/poll"
)

// records is a slog handler that keeps what it is handed.
type records struct {
	mu    sync.Mutex
	level slog.Level
	list  []slog.Record
}

func (h *records) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }
func (h *records) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	h.list = append(h.list, r.Clone())
	h.mu.Unlock()
	return nil
}
func (h *records) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *records) WithGroup(string) slog.Handler      { return h }

func (h *records) find(match func(slog.Record) bool) (slog.Record, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, r := range h.list {
		if match(r) {
			return r, true
		}
	}
	return slog.Record{}, false
}

func attr(r slog.Record, key string) string {
	v := ""
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == key {
			v = a.Value.String()
			return false
		}
		return true
	})
	return v
}

// River's transient leader-election errors become warnings in words that
// keep the cause; its other records pass unchanged.
func TestRiverLoggerDowngradesTransientElection(t *testing.T) {
	h := &records{level: slog.LevelInfo}
	l := riverLogger(slog.New(h)).With("component", "queue")
	l.Error("leadership.Elector: Error attempting reelection", "attempt", 2, "err", "database is locked")
	l.Error("leadership.Elector: Unable to unmarshal leadership notification", "err", "bad json")
	l.Error("producer: Error fetching jobs", "err", "x")
	l.Debug("leadership.Elector: Current leader attempting reelect")

	w, ok := h.find(func(r slog.Record) bool { return strings.Contains(r.Message, "renew its leadership") })
	if !ok || w.Level != slog.LevelWarn || attr(w, "err") != "database is locked" || attr(w, "attempt") != "2" {
		t.Fatalf("the reelection error was not a warning with its cause: %+v %v", w, ok)
	}
	for _, msg := range []string{"leadership.Elector: Unable to unmarshal leadership notification", "producer: Error fetching jobs"} {
		if r, ok := h.find(func(r slog.Record) bool { return r.Message == msg }); !ok || r.Level != slog.LevelError {
			t.Errorf("%q was not passed on as an error: %+v", msg, r)
		}
	}
	if _, ok := h.find(func(r slog.Record) bool { return r.Level < slog.LevelInfo }); ok {
		t.Error("a debug record passed a handler at info")
	}
	if riverLogger(nil) != nil {
		t.Error("a nil logger did not stay nil")
	}
}

// A real River client on SQLite whose database goes away logs its failed
// reelection as a warning, not an error.
func TestRiverReelectionFailureIsAWarning(t *testing.T) {
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "queue.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	h := &records{level: slog.LevelDebug}
	workers := river.NewWorkers()
	river.AddWorker(workers, &echoWorker{})
	c, err := db.NewClient(workers, Config{Workers: 1, JobTimeout: time.Minute, VisibilityTimeout: 2 * time.Minute,
		MaxAttempts: 3, PollInterval: 50 * time.Millisecond, Logger: slog.New(h)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	poll.UntilTrue(t, "the client to be elected leader", time.Minute, func() bool {
		_, ok := h.find(func(r slog.Record) bool { return strings.HasSuffix(r.Message, "Gained leadership") })
		return ok
	})
	// The database goes away under the leader: its next reelection fails.
	_ = db.SQL.Close()
	poll.UntilTrue(t, "a failed reelection to be logged", time.Minute, func() bool {
		_, ok := h.find(func(r slog.Record) bool { return strings.Contains(r.Message, "renew its leadership") })
		return ok
	})
	cancel()
	stop, cancelStop := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancelStop()
	_ = c.Stop(stop)
	if r, ok := h.find(func(r slog.Record) bool {
		return r.Level >= slog.LevelError && strings.Contains(r.Message, "Elector")
	}); ok {
		t.Errorf("the leader elector logged an error: %s %s", r.Message, attr(r, "err"))
	}
	w, _ := h.find(func(r slog.Record) bool { return strings.Contains(r.Message, "renew its leadership") })
	if w.Level != slog.LevelWarn || attr(w, "err") == "" {
		t.Errorf("the failed reelection was logged at %s without its cause %q", w.Level, attr(w, "err"))
	}
}

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
	"github.com/riverqueue/river/rivertype"

	"github.com/sluice-video/sluice/internal/testutil/pgserver"
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

// Any River service whose database cannot be reached logs a warning in
// words that keeps River's record and its cause, once per quietFor with
// the number held back; the same record with another cause stays an error.
func TestRiverLoggerQuietsAnUnreachableDatabase(t *testing.T) {
	h := &records{level: slog.LevelInfo}
	l := riverLogger(slog.New(h))
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	log := func(l *slog.Logger, d time.Duration, msg, cause string) {
		r := slog.NewRecord(at.Add(d), slog.LevelError, msg, 0)
		r.AddAttrs(slog.String("err", cause))
		_ = l.Handler().Handle(context.Background(), r)
	}
	refused := "failed to connect to `user=postgres database=x`: dial tcp 127.0.0.1:5432: connect: connection refused"
	log(l, 0, "producer: Error fetching jobs", refused)
	for i := range 5 {
		// A logger derived from it shares what was held back.
		log(l.With("part", "vod"), time.Duration(i+1)*time.Second, "producer: Error fetching jobs", refused)
	}
	log(l, 31*time.Second, "producer: Error fetching jobs", refused)
	log(l, 2*time.Second, "notifier.Notifier: Error running listener (will attempt reconnect after backoff)", "FATAL: terminating connection due to administrator command (SQLSTATE 57P01)")
	log(l, 3*time.Second, "producer: Error fetching jobs", `ERROR: relation "river_job" does not exist (SQLSTATE 42P01)`)
	log(l, 4*time.Second, "jobexecutor.JobExecutor: Job errored", refused)

	h.mu.Lock()
	defer h.mu.Unlock()
	var got []string
	for _, r := range h.list {
		got = append(got, r.Level.String()+" "+r.Message+" river="+attr(r, "river")+" repeated="+attr(r, "repeated"))
	}
	want := []string{
		"WARN " + unreachableWords + " river=producer: Error fetching jobs repeated=",
		"WARN " + unreachableWords + " river=producer: Error fetching jobs repeated=5",
		"WARN " + unreachableWords + " river=notifier.Notifier: Error running listener (will attempt reconnect after backoff) repeated=",
		"ERROR producer: Error fetching jobs river= repeated=",
		"ERROR jobexecutor.JobExecutor: Job errored river= repeated=",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("records:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if attr(h.list[0], "err") != refused {
		t.Errorf("the warning lost its cause: %q", attr(h.list[0], "err"))
	}
}

// A real River client on PostgreSQL whose database is cut away for a few
// seconds logs no error, only warnings that it could not reach it, and
// runs jobs again once the database is back.
func TestRiverOnAnUnreachablePostgresWarns(t *testing.T) {
	srv := pgserver.Start(t)
	proxy := srv.Proxy(t)
	ctx := context.Background()
	db, err := Open(ctx, proxy.Through(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	h := &records{level: slog.LevelDebug}
	w := &echoWorker{}
	workers := river.NewWorkers()
	river.AddWorker(workers, w)
	c, err := db.NewClient(workers, Config{Workers: 1, JobTimeout: time.Minute, VisibilityTimeout: 2 * time.Minute,
		MaxAttempts: 3, PollInterval: 50 * time.Millisecond, Logger: slog.New(h)})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := c.Start(runCtx); err != nil {
		t.Fatal(err)
	}
	poll.UntilTrue(t, "the client to be elected leader", time.Minute, func() bool {
		_, ok := h.find(func(r slog.Record) bool { return strings.HasSuffix(r.Message, "Gained leadership") })
		return ok
	})
	proxy.Cut()
	poll.UntilTrue(t, "the queue to warn that it cannot reach its database", time.Minute, func() bool {
		_, ok := h.find(func(r slog.Record) bool { return r.Message == unreachableWords && r.Level == slog.LevelWarn })
		return ok
	})
	proxy.Restore(t)
	var job int64
	poll.Until(t, "a job to be queued once the database is back", time.Minute, func() (bool, string) {
		res, err := c.Insert(ctx, echoArgs{N: 1}, nil)
		if err != nil {
			return false, err.Error()
		}
		job = res.Job.ID
		return true, ""
	})
	poll.Until(t, "the job to complete", time.Minute, func() (bool, string) {
		row, err := c.JobGet(ctx, job)
		if err != nil {
			return false, err.Error()
		}
		return row.State == rivertype.JobStateCompleted, "job " + string(row.State)
	})
	cancel()
	stop, cancelStop := context.WithTimeout(ctx, 10*time.Second)
	defer cancelStop()
	_ = c.Stop(stop)
	if r, ok := h.find(func(r slog.Record) bool { return r.Level >= slog.LevelError }); ok {
		t.Errorf("the queue logged an error while its database was away: %s err=%s", r.Message, attr(r, "err"))
	}
}

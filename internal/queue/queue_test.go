package queue

import (
	"context"
	"errors"
	"net/url"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/sluice-video/sluice/internal/testutil/pgserver"
	"github.com/sluice-video/sluice/internal/testutil/poll"
)

type echoArgs struct {
	N int `json:"n"`
}

func (echoArgs) Kind() string { return "echo" }

type echoWorker struct {
	river.WorkerDefaults[echoArgs]
	runs  atomic.Int64
	fails int64
}

func (w *echoWorker) Work(_ context.Context, j *river.Job[echoArgs]) error {
	if n := w.runs.Add(1); n <= w.fails {
		return errors.New("transient failure")
	}
	return nil
}

// River's SQLite driver works on the pure-Go SQLite driver the rest of the
// state uses: jobs run, fail, are retried and complete.
func TestSQLiteQueueRunsAndRetries(t *testing.T) {
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "queue.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	runsAndRetries(t, db)
}

// The same queue on a real PostgreSQL.
func TestPostgresQueueRunsAndRetries(t *testing.T) {
	srv := pgserver.Start(t)
	db, err := Open(context.Background(), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got := db.Rebind("a = ? AND b = ?"); got != "a = $1 AND b = $2" {
		t.Fatalf("rebind: %s", got)
	}
	runsAndRetries(t, db)

	// Nodes starting together on an empty database migrate in turn.
	if _, err := db.SQL.ExecContext(context.Background(), "CREATE DATABASE nodes"); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/nodes"
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			node, err := Open(context.Background(), u.String())
			if err != nil {
				t.Errorf("node %d: %v", i+1, err)
				return
			}
			node.Close()
		})
	}
	wg.Wait()
}

// A queue on a pool it was given leaves the pool open when it closes: the
// pool is the state store's.
func TestPostgresQueueOnASharedPool(t *testing.T) {
	srv := pgserver.Start(t)
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	db, err := OnPool(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	runsAndRetries(t, db)
	db.Close()
	if err := pool.Ping(ctx); err != nil {
		t.Errorf("the shared pool after the queue closed: %v", err)
	}
}

// runsAndRetries runs a job that fails once on db's queue and waits for it
// to complete on its second attempt.
func runsAndRetries(t *testing.T, db *DB) {
	t.Helper()
	ctx := context.Background()
	w := &echoWorker{fails: 1}
	workers := river.NewWorkers()
	river.AddWorker(workers, w)
	c, err := db.NewClient(workers, Config{Workers: 1, JobTimeout: time.Minute, VisibilityTimeout: 2 * time.Minute, MaxAttempts: 3, PollInterval: 50 * time.Millisecond,
		RetryPolicy: func(int) time.Duration { return 100 * time.Millisecond }})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Stop(ctx) }()
	res, err := c.Insert(ctx, echoArgs{N: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var row *rivertype.JobRow
	poll.Until(t, "the job to complete", time.Minute, func() (bool, string) {
		row, err = c.JobGet(ctx, res.Job.ID)
		if err != nil {
			t.Fatal(err)
		}
		return row.State == rivertype.JobStateCompleted, "job " + string(row.State)
	})
	if row.Attempt != 2 || w.runs.Load() != 2 {
		t.Fatalf("completed after %d attempts and %d runs, want 2", row.Attempt, w.runs.Load())
	}
}

package store

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/testutil/pgserver"
	"github.com/sluice-video/sluice/internal/testutil/poll"
)

// TestConnectionsReturnAfterARestart: PostgreSQL stops for a while under
// a node whose loops keep asking (they fail), and starts again; every
// loop's next attempt succeeds at once, which takes the pool to its
// largest. Once the burst is over, the connections the node keeps open
// return to what they were before the restart.
func TestConnectionsReturnAfterARestart(t *testing.T) {
	pg := pgserver.Start(t)
	ctx := context.Background()
	admin, err := sql.Open("pgx", pg.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = admin.Close() }()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE restart"); err != nil {
		t.Fatal(err)
	}
	s, err := Open(ctx, fmt.Sprintf("postgres://postgres@%s/restart?sslmode=disable", pg.Addr))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	connections := func() (int, error) {
		var n int
		err := admin.QueryRowContext(ctx, "SELECT count(*) FROM pg_stat_activity WHERE datname = 'restart'").Scan(&n)
		return n, err
	}
	// A node's steady work: its loops, one after the other.
	for range 20 {
		if _, _, err := s.ListNodes(ctx); err != nil {
			t.Fatal(err)
		}
	}
	baseline, err := connections()
	if err != nil {
		t.Fatal(err)
	}

	// The database stops; sixteen loops keep trying, each every 50 ms,
	// until each has succeeded once after it came back.
	pg.Stop()
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for {
				rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
				_, _, err := s.ListNodes(rctx)
				cancel()
				if err == nil {
					return
				}
				time.Sleep(50 * time.Millisecond)
			}
		})
	}
	time.Sleep(2 * time.Second)
	pg.Restart(t)
	wg.Wait()
	peak, _ := connections()
	t.Logf("connections: %d before the restart, %d after the burst", baseline, peak)

	// The node's steady work goes on; the pool gives back what it does
	// not need.
	poll.Until(t, fmt.Sprintf("the node's connections to return to %d", baseline), 6*time.Minute, func() (bool, string) {
		if _, _, err := s.ListNodes(ctx); err != nil {
			return false, err.Error()
		}
		n, err := connections()
		ps, ds := s.pool.Stat(), s.db.Stats()
		return err == nil && n <= baseline, fmt.Sprintf("%d connections (%v); the pool holds %d, %d idle, %d in use; database/sql %d open, %d idle, %d in use", n, err, ps.TotalConns(), ps.IdleConns(), ps.AcquiredConns(), ds.OpenConnections, ds.Idle, ds.InUse)
	})
}

package store

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/testutil/poll"
)

// postgresSuite is what only PostgreSQL has: nodes that share it, a
// server that may be away.
func postgresSuite() []suiteCase {
	return []suiteCase{
		{"nodes starting at once migrate once", testConcurrentMigration},
		{"an unreachable server is named, its password masked", testUnreachableAtStart},
		{"a lost server makes changes unavailable until it is back", testLostServer},
		{"a takeover waits for a fenced write under way", testTakeoverWaitsForFencedWrite},
	}
}

func testConcurrentMigration(t *testing.T, e env) {
	var wg sync.WaitGroup
	errs := make([]error, 4)
	stores := make([]*Store, len(errs))
	for i := range errs {
		wg.Go(func() { stores[i], errs[i] = Open(context.Background(), e.dsn) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("node %d: %v", i+1, err)
			continue
		}
		defer func() { _ = stores[i].Close() }()
	}
	if t.Failed() {
		return
	}
	var steps int
	if err := stores[0].db.QueryRowContext(context.Background(), "SELECT COUNT(*) FROM schema_version").Scan(&steps); err != nil || steps != len(migrations()) {
		t.Errorf("%d steps recorded (%v), want each of the %d once", steps, err, len(migrations()))
	}
}

func testUnreachableAtStart(t *testing.T, e env) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	_ = ln.Close()
	const password = "s3cret-Pa55word"
	for _, c := range []struct{ dsn, want string }{
		{fmt.Sprintf("postgres://sluice:%s@%s/state?sslmode=disable", password, closed), closed},
		{fmt.Sprintf("postgres://sluice@%s/state?sslmode=disable&password=%s", closed, password), closed},
		// The server answers, the database is not there.
		{fmt.Sprintf("postgres://postgres:%s@%s/nosuchdb?sslmode=disable", password, e.pg.Addr), "does not exist"},
	} {
		_, err := Open(context.Background(), c.dsn)
		if err == nil {
			t.Fatalf("%s opened", c.dsn)
		}
		msg := err.Error()
		t.Log(msg)
		if strings.Contains(msg, password) {
			t.Errorf("the error shows the password: %s", msg)
		}
		if !strings.Contains(msg, c.want) || !strings.Contains(msg, "xxxxx") || !strings.Contains(msg, "database") {
			t.Errorf("the error does not name the server, the database and a masked password (%s): %s", c.want, msg)
		}
	}
}

func testLostServer(t *testing.T, e env) {
	ctx := context.Background()
	proxy := e.pg.Proxy(t)
	s, err := Open(ctx, proxy.Through(e.dsn))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	in := func(n int) resource.Input {
		return resource.Input{ID: fmt.Sprint("in-", n), InputSpec: resource.InputSpec{Name: fmt.Sprint("cam-", n), Type: resource.InputRTMPPush}}
	}
	if err := s.CreateInput(ctx, in(1)); err != nil {
		t.Fatal(err)
	}
	// The server restarts while the store is idle: its pooled connections
	// are dead, which the next statements must not fail for.
	proxy.Cut()
	proxy.Restore(t)
	if _, err := s.ListInputs(ctx); err != nil {
		t.Errorf("a read on connections from before a restart: %v", err)
	}
	proxy.Cut()
	proxy.Restore(t)
	if err := s.SetChannelDesired(ctx, "ch-none", resource.StateIdle); !errors.Is(err, resource.ErrNotFound) {
		t.Errorf("a write on connections from before a restart: %v, want not found", err)
	}
	proxy.Cut()
	unavailable := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, resource.ErrUnavailable) || !strings.HasPrefix(err.Error(), "the state database is unreachable: ") {
			t.Errorf("%s without the database: %v, want the state database unreachable", what, err)
		}
	}
	unavailable("create", s.CreateInput(ctx, in(2)))
	unavailable("create a channel (a transaction)", s.CreateChannel(ctx, ChannelRecord{Channel: resource.Channel{ID: "ch-1", ChannelSpec: resource.ChannelSpec{Name: "news"}}}))
	_, err = s.ListInputs(ctx)
	unavailable("list", err)
	_, err = s.GetInput(ctx, "cam-1")
	unavailable("get", err)
	if err := s.Ping(ctx); err == nil {
		t.Error("ping without the database succeeded")
	}
	proxy.Restore(t)
	poll.Until(t, "changes to work again once the database is back", time.Minute, func() (bool, string) {
		err := s.CreateInput(ctx, in(3))
		return err == nil, fmt.Sprint(err)
	})
	if got, err := s.ListInputs(ctx); err != nil || len(got) != 2 {
		t.Errorf("after the database came back: %+v %v, want the inputs made while it answered", got, err)
	}
}

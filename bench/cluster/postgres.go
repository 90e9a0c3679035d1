package main

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, to create the benchmark's databases

	"github.com/sluice-video/sluice/bench/internal/child"
	"github.com/sluice-video/sluice/bench/internal/harness"
)

// postgres is the PostgreSQL server the nodes share: the benchmark makes
// one database per cluster it runs.
type postgres struct {
	url string
	n   int
}

// startPostgres returns the server of --database, or starts a throwaway
// one in the workspace (initdb, trust on loopback, no fsync), stopped by
// the workspace's cleanup.
func startPostgres(ctx context.Context, ws *harness.Workspace, given string) (*postgres, error) {
	if given != "" {
		return &postgres{url: given}, nil
	}
	bin, err := pgBin()
	if err != nil {
		return nil, err
	}
	// A folder of its own, not in the workspace: as root, the postgres
	// user owns it and could not pass through the workspace (mode 0700).
	dir, err := os.MkdirTemp("", "sluice-bench-pg-")
	if err != nil {
		return nil, err
	}
	ws.Cleanup.Add(func() { _ = os.RemoveAll(dir) })
	var prefix []string
	if os.Getuid() == 0 {
		// PostgreSQL refuses to run as root: as its own system user.
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root needs the postgres system user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			return nil, err
		}
		prefix = []string{"runuser", "-u", "postgres", "--"}
	}
	argv := func(name string, args ...string) []string {
		return append(append(append([]string{}, prefix...), filepath.Join(bin, name)), args...)
	}
	data := filepath.Join(dir, "data")
	ws.Log.Printf("starting a throwaway PostgreSQL in %s", dir)
	init := argv("initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
	if out, err := exec.CommandContext(ctx, init[0], init[1:]...).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %w\n%s", err, out)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	logf, err := os.Create(filepath.Join(ws.Dir, "postgres.log"))
	if err != nil {
		return nil, err
	}
	run := argv("postgres", "-D", data, "-h", "127.0.0.1", "-p", strconv.Itoa(port), "-k", dir,
		"-c", "fsync=off", "-c", "max_connections=200", "-c", "shared_buffers=64MB")
	proc, err := child.Start(run[0], run[1:], child.Options{Stdout: logf, Stderr: logf})
	if err != nil {
		return nil, err
	}
	ws.Cleanup.Add(func() { proc.Stop(20 * time.Second); _ = logf.Close() })
	pg := &postgres{url: fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)}
	deadline := time.Now().Add(time.Minute)
	for {
		db, err := sql.Open("pgx", pg.url)
		if err == nil {
			err = db.PingContext(ctx)
			_ = db.Close()
		}
		if err == nil {
			return pg, nil
		}
		select {
		case <-proc.Done():
			return nil, fmt.Errorf("PostgreSQL exited at start (log: %s)", logf.Name())
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("PostgreSQL did not answer within a minute: %w", err)
		}
	}
}

// pgBin finds the newest installed PostgreSQL's programs.
func pgBin() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Strings(dirs)
	for i := len(dirs) - 1; i >= 0; i-- {
		if _, err := os.Stat(filepath.Join(dirs[i], "initdb")); err == nil {
			return dirs[i], nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", fmt.Errorf("PostgreSQL is not installed (apt-get install postgresql), or pass --database")
}

// database creates a fresh database for one cluster and returns its URL.
func (p *postgres) database(ctx context.Context, what string) (string, error) {
	p.n++
	name := fmt.Sprintf("bench_%s_%d_%d", what, os.Getpid(), p.n)
	db, err := sql.Open("pgx", p.url)
	if err != nil {
		return "", err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		return "", fmt.Errorf("creating database %s: %w", name, err)
	}
	u, err := url.Parse(p.url)
	if err != nil {
		return "", err
	}
	u.Path = "/" + name
	return u.String(), nil
}

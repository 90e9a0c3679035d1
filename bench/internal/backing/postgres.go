package backing

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, to create the benchmark's databases

	"github.com/sluice-video/sluice/internal/testutil/pgserver"

	"github.com/sluice-video/sluice/bench/internal/child"
	"github.com/sluice-video/sluice/bench/internal/harness"
)

// Postgres is the PostgreSQL server a cluster's nodes share: the
// benchmark makes one database per cluster it runs.
type Postgres struct {
	// URL connects as the superuser to the postgres database.
	URL string

	// argv runs the server again after Stop; empty for a server the
	// benchmark did not start (--database).
	argv    []string
	logPath string
	n       int

	mu   sync.Mutex
	proc *child.Process
}

// StartPostgres returns the server of given (a URL), or starts a
// throwaway one (initdb, trust on loopback, no fsync) in a folder of its
// own, stopped and removed by the workspace's cleanup.
func StartPostgres(ctx context.Context, ws *harness.Workspace, given string) (*Postgres, error) {
	if given != "" {
		return &Postgres{URL: given}, nil
	}
	bin, err := PostgresBin()
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
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	pg := &Postgres{
		URL: fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port),
		argv: argv("postgres", "-D", data, "-h", "127.0.0.1", "-p", strconv.Itoa(port), "-k", dir,
			"-c", "fsync=off", "-c", "max_connections=200", "-c", "shared_buffers=64MB"),
		logPath: filepath.Join(ws.Dir, "postgres.log"),
	}
	ws.Cleanup.Add(pg.Stop)
	return pg, pg.Start(ctx)
}

// Start runs the server (again, after Stop) on its data and its port and
// returns once it answers.
func (p *Postgres) Start(ctx context.Context) error {
	if len(p.argv) == 0 {
		return errors.New("PostgreSQL was given with --database: the benchmark cannot start it")
	}
	logf, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	proc, err := child.Start(p.argv[0], p.argv[1:], child.Options{Stdout: logf, Stderr: logf})
	_ = logf.Close()
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.proc = proc
	p.mu.Unlock()
	deadline := time.Now().Add(time.Minute)
	for {
		err := p.ping(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-proc.Done():
			return fmt.Errorf("PostgreSQL exited at start (log: %s)", p.logPath)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("PostgreSQL did not answer within a minute: %w", err)
		}
	}
}

func (p *Postgres) ping(ctx context.Context) error {
	db, err := sql.Open("pgx", p.URL)
	if err != nil {
		return err
	}
	defer db.Close()
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return db.PingContext(pctx)
}

// Stop shuts the server down with a fast shutdown (SIGINT: open
// transactions are rolled back, clients disconnected), as pg_ctl stop -m
// fast does, and waits until it has exited.
func (p *Postgres) Stop() {
	p.mu.Lock()
	proc := p.proc
	p.proc = nil
	p.mu.Unlock()
	if proc == nil {
		return
	}
	// To the process group: through runuser when run as root.
	_ = syscall.Kill(-proc.Pid(), syscall.SIGCONT)
	_ = syscall.Kill(-proc.Pid(), syscall.SIGINT)
	select {
	case <-proc.Done():
	case <-time.After(20 * time.Second):
	}
	proc.Stop(10 * time.Second)
}

// Pid is the postmaster's process id (0 while stopped).
func (p *Postgres) Pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.proc == nil {
		return 0
	}
	return p.proc.Pid()
}

// Database creates a fresh database named after what and returns its
// URL.
func (p *Postgres) Database(ctx context.Context, what string) (string, error) {
	p.n++
	name := fmt.Sprintf("bench_%s_%d_%d", what, os.Getpid(), p.n)
	db, err := sql.Open("pgx", p.URL)
	if err != nil {
		return "", err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		return "", fmt.Errorf("creating database %s: %w", name, err)
	}
	u, err := url.Parse(p.URL)
	if err != nil {
		return "", err
	}
	u.Path = "/" + name
	return u.String(), nil
}

// PostgresBin finds the newest installed PostgreSQL's programs, as the
// tests' own throwaway servers do.
func PostgresBin() (string, error) {
	bin, err := pgserver.BinDir()
	if err != nil {
		return "", fmt.Errorf("%w (or scripts/deps.sh test, or pass --database)", err)
	}
	return bin, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Package pgserver starts a real PostgreSQL server (Debian's postgresql
// package) for tests: a fresh cluster in a temporary directory, on a
// loopback port, trusted local connections. PostgreSQL refuses to run as
// root, so as root the cluster belongs to the postgres system user.
package pgserver

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/testutil/poll"
)

// Server is a running PostgreSQL.
type Server struct {
	// URL connects as the superuser to the postgres database.
	URL string
	// Addr is the server's host:port.
	Addr string

	command func(ctx context.Context, name string, args ...string) *exec.Cmd
	dir     string
	data    string
	port    int

	mu sync.Mutex
	// stop ends the running server and waits for it; nil while stopped.
	stop func()
}

// BinDir finds the newest installed PostgreSQL's programs: the
// directory that holds initdb and postgres.
func BinDir() (string, error) {
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
	return "", fmt.Errorf("PostgreSQL is not installed (apt-get install postgresql)")
}

// Start runs a server for the test and stops it at cleanup. The test is
// skipped when PostgreSQL is not installed, or fails when
// SLUICE_REQUIRE_TOOLS=1.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := BinDir()
	if err != nil {
		if os.Getenv("SLUICE_REQUIRE_TOOLS") == "1" {
			t.Fatalf("PostgreSQL is required (scripts/deps.sh test installs it): %v", err)
		}
		t.Skip(err)
	}
	dir, err := os.MkdirTemp("", "sluice-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	// As root, run everything as the postgres user, who must own the directory.
	var prefix []string
	if os.Getuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root needs the postgres system user: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
		prefix = []string{"runuser", "-u", "postgres", "--"}
	}
	command := func(ctx context.Context, name string, args ...string) *exec.Cmd {
		argv := append(append([]string{}, prefix...), filepath.Join(bin, name))
		argv = append(argv, args...)
		return exec.CommandContext(ctx, argv[0], argv[1:]...) //nolint:gosec // the installed PostgreSQL programs
	}
	data := filepath.Join(dir, "data")
	if out, err := command(context.Background(), "initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync").CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	s := &Server{
		URL: "postgres://postgres@" + addr + "/postgres?sslmode=disable", Addr: addr,
		command: command, dir: dir, data: data, port: port,
	}
	s.run(t)
	t.Cleanup(s.Stop)
	return s
}

// Stop stops the server with a fast shutdown (its clients' connections
// end) and waits until it has exited; Restart runs it again on its data.
// Stopping a stopped server does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	stop := s.stop
	s.stop = nil
	s.mu.Unlock()
	if stop != nil {
		stop()
	}
}

// Restart starts the stopped server again, on the same data and port,
// and waits until it accepts connections.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.run(t)
}

// run starts postgres on the server's data and waits until it is ready.
func (s *Server) run(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	pctx, cancel := context.WithCancel(ctx)
	cmd := s.command(pctx, "postgres", "-D", s.data, "-h", "127.0.0.1", "-p", strconv.Itoa(s.port), "-k", s.dir,
		"-c", "fsync=off", "-c", "max_connections=100", "-c", "shared_buffers=32MB")
	logf, err := os.OpenFile(filepath.Join(s.dir, "server.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) } // fast shutdown
	cmd.WaitDelay = 20 * time.Second
	if err := cmd.Start(); err != nil {
		cancel()
		_ = logf.Close()
		t.Fatalf("starting PostgreSQL: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	s.mu.Lock()
	s.stop = func() { cancel(); <-exited; _ = logf.Close() }
	s.mu.Unlock()
	poll.Until(t, fmt.Sprintf("PostgreSQL to be ready on port %d", s.port), time.Minute, func() (bool, string) {
		last := "not accepting connections"
		c, err := net.DialTimeout("tcp", s.Addr, time.Second)
		if err == nil {
			_ = c.Close()
			out, err := s.command(ctx, "pg_isready", "-h", "127.0.0.1", "-p", strconv.Itoa(s.port)).CombinedOutput()
			if err == nil {
				return true, ""
			}
			last = "pg_isready: " + string(out)
		}
		select {
		case <-exited:
			log, _ := os.ReadFile(filepath.Join(s.dir, "server.log"))
			t.Fatalf("PostgreSQL exited at start:\n%s", log)
		default:
		}
		return false, last
	})
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port
}

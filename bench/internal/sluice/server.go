package sluice

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sluice-video/sluice/bench/internal/child"
)

// ServerConfig describes a `sluice serve` run for a benchmark.
type ServerConfig struct {
	Binary string
	// DataDir is the server's data directory; media files go under media/.
	DataDir string
	FFmpeg  string
	// Apply are stack files the server applies once it is up.
	Apply []string
	// Args are further `sluice serve` flags, such as the ingest listeners.
	Args []string
	// Addr is the address to listen on; empty picks a free loopback port.
	// A server restarted on the same data directory keeps its address.
	Addr string
	// CPUs, when set, are the only CPUs the server and its encoders run
	// on.
	CPUs []int
	// Env are environment variables the server gets besides the
	// benchmark's own (credentials of shared storage).
	Env []string
}

// Server is a running `sluice serve` on a free loopback port.
type Server struct {
	// URL is the base URL, such as http://127.0.0.1:41234.
	URL     string
	LogPath string
	proc    *child.Process
	log     *os.File
	client  *http.Client
}

// StartServer runs `sluice serve` and returns once its API answers. The
// server's log goes to serve.log in the data directory.
func StartServer(ctx context.Context, cfg ServerConfig) (*Server, error) {
	addr := cfg.Addr
	if addr == "" {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		addr = "127.0.0.1:" + strconv.Itoa(port)
	}
	logPath := filepath.Join(cfg.DataDir, "serve.log")
	// A restarted server appends to the log of the runs before it.
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	// Every benchmark client comes from 127.0.0.1: no bound per client.
	// WebRTC takes a free loopback port, not the shared default a server
	// running beside the benchmark may hold (cfg.Args may name another).
	args := []string{"serve", "--listen", addr, "--data", cfg.DataDir, "--max-conns-per-client", "0", "--webrtc-udp", "127.0.0.1:0"}
	if cfg.FFmpeg != "" {
		args = append(args, "--ffmpeg", cfg.FFmpeg)
	}
	for _, f := range cfg.Apply {
		args = append(args, "--apply", f)
	}
	args = append(args, cfg.Args...)
	proc, err := child.Start(cfg.Binary, args, child.Options{Dir: cfg.DataDir, Stdout: logFile, Stderr: logFile, CPUs: cfg.CPUs, Env: env(cfg.Env)})
	if err != nil {
		_ = logFile.Close()
		return nil, err
	}
	s := &Server{
		URL:     "http://" + addr,
		LogPath: logPath,
		proc:    proc,
		log:     logFile,
		client:  &http.Client{Timeout: 10 * time.Second},
	}
	if err := s.waitUp(ctx, 30*time.Second); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

// env is the benchmark's environment with extra added, or nil (inherit)
// without extra.
func env(extra []string) []string {
	if len(extra) == 0 {
		return nil
	}
	return append(os.Environ(), extra...)
}

// freePort asks the kernel for a loopback port nobody listens on.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitUp polls the version endpoint until the API answers.
func (s *Server) waitUp(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if code, _, err := s.Get(ctx, "/api/v1/version"); err == nil && code == http.StatusOK {
			return nil
		}
		select {
		case <-s.proc.Done():
			return fmt.Errorf("%w (log: %s)", s.proc.ExitedEarly("sluice serve"), s.LogPath)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("sluice serve did not answer within %s (log: %s)", timeout, s.LogPath)
		}
	}
}

// Pid is the server's process id; its encoders are its children.
func (s *Server) Pid() int { return s.proc.Pid() }

// Done is closed when the server has exited.
func (s *Server) Done() <-chan struct{} { return s.proc.Done() }

// Stop shuts the server down as an operator would (SIGTERM, which stops
// its encoders) and kills whatever is left after 10 s.
func (s *Server) Stop() {
	s.proc.Stop(10 * time.Second)
	_ = s.log.Close()
}

// Kill ends the server and its encoders with SIGKILL, as the death of its
// machine would, and waits for the server to exit.
func (s *Server) Kill() {
	_ = syscall.Kill(-s.proc.Pid(), syscall.SIGKILL)
	<-s.proc.Done()
	_ = s.log.Close()
}

// LogProblems returns the warnings and errors the server logged.
func (s *Server) LogProblems() []string {
	f, err := os.Open(s.LogPath)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.Contains(line, "level=WARN") || strings.Contains(line, "level=ERROR") {
			out = append(out, line)
		}
	}
	return out
}

// FreeAddr returns a loopback address with a port nobody listens on, for
// a server or listener that must keep its address across restarts.
func FreeAddr() (string, error) {
	port, err := freePort()
	if err != nil {
		return "", err
	}
	return "127.0.0.1:" + strconv.Itoa(port), nil
}

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/sluice-video/sluice/bench/internal/harness"
	"github.com/sluice-video/sluice/bench/internal/sluice"
)

// node is the soak's `sluice serve`: killed, paused and restarted on the
// same data directory and the same addresses, as an operator's service
// manager would restart it.
type node struct {
	ws     *harness.Workspace
	ffmpeg string
	// addr is the HTTP address; rtmp and srt the ingest listeners.
	addr, rtmp, srt string
	// stack is the stack file applied at the first start only: the later
	// starts find everything in the data directory.
	stack string
	// id, data, args and env are set for a node of a cluster: its node id,
	// its own data directory (the workspace's otherwise), its further
	// flags and environment.
	id, data string
	args     []string
	env      []string

	mu     sync.Mutex
	srv    *sluice.Server
	starts int
}

func newNode(ws *harness.Workspace, ffmpeg, stack string) (*node, error) {
	n := &node{ws: ws, ffmpeg: ffmpeg, stack: stack}
	for _, a := range []*string{&n.addr, &n.rtmp, &n.srt} {
		addr, err := sluice.FreeAddr()
		if err != nil {
			return nil, err
		}
		*a = addr
	}
	ws.Cleanup.Add(n.stop)
	return n, nil
}

// start runs the server and returns once its API answers.
func (n *node) start(ctx context.Context) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	cfg := sluice.ServerConfig{Binary: n.ws.Bin, DataDir: n.dataDir(), FFmpeg: n.ffmpeg, Addr: n.addr,
		Args: append([]string{"--rtmp", n.rtmp, "--srt", n.srt}, n.args...), Env: n.env}
	if n.starts == 0 && n.stack != "" {
		path := filepath.Join(n.ws.Dir, "stack.yaml")
		if err := os.WriteFile(path, []byte(n.stack), 0o600); err != nil {
			return err
		}
		cfg.Apply = []string{path}
	}
	srv, err := sluice.StartServer(ctx, cfg)
	if err != nil {
		return fmt.Errorf("starting sluice serve (start %d): %w", n.starts+1, err)
	}
	n.srv = srv
	n.starts++
	return nil
}

// dataDir is the node's data directory.
func (n *node) dataDir() string {
	if n.data != "" {
		return n.data
	}
	return n.ws.DataDir
}

// server is the running server (or the last one, while it is down).
func (n *node) server() *sluice.Server {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.srv
}

// pid is the server's process id.
func (n *node) pid() int { return n.server().Pid() }

// kill ends the server with SIGKILL, as a crash or the kernel's
// out-of-memory killer would, and waits until it has exited.
func (n *node) kill() {
	srv := n.server()
	_ = syscall.Kill(srv.Pid(), syscall.SIGKILL)
	<-srv.Done()
	srv.Stop()
}

// pause stops the server with SIGSTOP for d, then lets it go on.
func (n *node) pause(ctx context.Context, d time.Duration) {
	pid := n.pid()
	_ = syscall.Kill(pid, syscall.SIGSTOP)
	_ = harness.Sleep(ctx, d)
	_ = syscall.Kill(pid, syscall.SIGCONT)
}

// stop ends the server as an operator would.
func (n *node) stop() {
	if srv := n.server(); srv != nil {
		_ = syscall.Kill(srv.Pid(), syscall.SIGCONT)
		srv.Stop()
	}
}

// restarts is how many times the server was started after the first.
func (n *node) restarts() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.starts - 1
}

func (n *node) String() string { return fmt.Sprintf("sluice serve on %s", n.addr) }

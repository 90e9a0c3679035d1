// Package e2e runs the sluice binary as a user would: a real server on
// loopback, real ffmpeg encoders, real players, and checks what comes out.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/testutil/contract"
	"github.com/sluice-video/sluice/internal/testutil/media"
	"github.com/sluice-video/sluice/internal/testutil/poll"
	"github.com/sluice-video/sluice/internal/testutil/syncbuf"
)

// binary is the sluice binary built once for the package.
type binary struct {
	once sync.Once
	path string
	err  error
	// plain builds without the race detector even when the tests run
	// with it: for load tests, which measure the server as it ships.
	plain bool
	// pkg is the command built, from e2e/ (default ../cmd/sluice).
	pkg string
}

func (b *binary) get(t *testing.T) string {
	t.Helper()
	media.Tool(t, "ffmpeg")
	media.Tool(t, "ffprobe")
	b.once.Do(func() {
		dir, err := os.MkdirTemp("", "sluice-e2e-bin")
		if err != nil {
			b.err = err
			return
		}
		pkg := b.pkg
		if pkg == "" {
			pkg = "../cmd/sluice"
		}
		b.path = filepath.Join(dir, filepath.Base(pkg))
		args := []string{"build", "-o", b.path}
		if raceEnabled && !b.plain {
			args = append(args, "-race")
		}
		out, err := exec.Command("go", append(args, pkg)...).CombinedOutput()
		if err != nil {
			b.err = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

// sluiceBin is shared by every test of the package; the binary does not
// change. plainBin is the same without the race detector; viewersBin the
// WHEP viewers of load tests, in a process of their own, also without it.
var (
	sluiceBin  binary
	plainBin   = binary{plain: true}
	viewersBin = binary{plain: true, pkg: "../internal/testutil/rtcpeer/viewers"}
)

// server is one `sluice serve` process.
type server struct {
	t    *testing.T
	bin  string
	data string
	addr string
	cmd  *exec.Cmd
	log  *syncbuf.Buffer
	done chan struct{}
	// args are added to serve's command line.
	args []string
	// env are added to serve's environment.
	env []string
	// http is the client of the tests' requests to the server: every
	// exchange with /api/v1 is held to api/openapi.yaml (see
	// internal/testutil/contract), so an answer the document does not
	// describe fails the test that caused it.
	http *http.Client
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

// mediaAllow lets the server read files anywhere in the test's temporary
// folders, where the tests make their media, by absolute path: the media
// folder rule applies beyond them.
func mediaAllow(t *testing.T) []string {
	return []string{"--media-allow", filepath.Dir(t.TempDir())}
}

// startServer runs sluice serve on a fresh port with a data directory.
func startServer(t *testing.T, data string) *server {
	t.Helper()
	return startServerWith(t, data, nil)
}

// startServerWith is startServer with more serve flags and environment.
func startServerWith(t *testing.T, data string, args []string, env ...string) *server {
	t.Helper()
	return startServerFrom(t, &sluiceBin, data, args, env...)
}

// startServerFrom is startServerWith with the binary b.
func startServerFrom(t *testing.T, b *binary, data string, args []string, env ...string) *server {
	t.Helper()
	s := &server{t: t, bin: b.get(t), data: data, addr: freeAddr(t), args: args, env: env}
	s.start()
	t.Cleanup(func() {
		s.stop()
		if t.Failed() {
			t.Logf("server log:\n%s", s.log.String())
		}
	})
	return s
}

func (s *server) start() {
	s.t.Helper()
	if s.http == nil {
		s.http = &http.Client{Transport: contract.NewTransport(s.t, nil)}
	}
	s.log = &syncbuf.Buffer{}
	args := append([]string{"serve", "--listen", s.addr, "--data", s.data, "--rtmp", "127.0.0.1:0", "--srt", "127.0.0.1:0", "--webrtc-udp", "127.0.0.1:0"}, mediaAllow(s.t)...)
	s.cmd = exec.Command(s.bin, append(args, s.args...)...)
	// A data race in the server ends it with the report in its log.
	s.cmd.Env = append(append(os.Environ(), "GORACE=halt_on_error=1 exitcode=66"), s.env...)
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.done = make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(s.done) }()
	poll.Until(s.t, "server answers /healthz", 30*time.Second, func() (bool, string) {
		resp, err := http.Get(s.url("/healthz"))
		if err != nil {
			return false, err.Error()
		}
		_ = resp.Body.Close()
		return resp.StatusCode == 200, resp.Status
	})
}

// stop ends the server gracefully (SIGTERM), then by force.
func (s *server) stop() {
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.done
	}
}

// kill ends the server with SIGKILL, as a crash would.
func (s *server) kill() {
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.done
}

func (s *server) url(path string) string { return "http://" + s.addr + path }

// cli runs a sluice client command against this server.
func (s *server) cli(args ...string) (string, error) {
	args = append([]string{"--server", "http://" + s.addr}, args...)
	out, err := exec.Command(s.bin, args...).CombinedOutput()
	return string(out), err
}

// get fetches a path and returns status, headers and body.
func (s *server) get(path string) (int, http.Header, []byte) {
	s.t.Helper()
	resp, err := s.http.Get(s.url(path))
	if err != nil {
		s.t.Fatalf("GET %s: %v", path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, body
}

// put sends a JSON body and returns the status.
func (s *server) put(path, body string) int {
	s.t.Helper()
	req, err := http.NewRequest(http.MethodPut, s.url(path), strings.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.http.Do(req)
	if err != nil {
		s.t.Fatalf("PUT %s: %v", path, err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

func (s *server) channel(name string) resource.Channel {
	s.t.Helper()
	code, _, body := s.get("/api/v1/channels/" + name)
	var ch resource.Channel
	if code != 200 || json.Unmarshal(body, &ch) != nil {
		s.t.Fatalf("GET channel %s: %d %s", name, code, body)
	}
	return ch
}

// waitState polls a channel until it reaches want, failing on a dead end.
func (s *server) waitState(name string, want resource.ChannelState, timeout time.Duration) resource.Channel {
	s.t.Helper()
	var ch resource.Channel
	poll.Until(s.t, fmt.Sprintf("channel %s reaches %s", name, want), timeout, func() (bool, string) {
		ch = s.channel(name)
		return ch.State == want, fmt.Sprintf("%s (%s) %s", ch.State, ch.StateReason, ch.LastError)
	})
	return ch
}

// children returns the pids whose parent is pid.
func children(pid int) []int {
	var out []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// The command name is in parentheses and may hold spaces.
		rest := string(stat[bytes.LastIndexByte(stat, ')')+2:])
		fields := strings.Fields(rest)
		if len(fields) > 1 && fields[1] == strconv.Itoa(pid) {
			out = append(out, child)
		}
	}
	return out
}

func alive(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	rest := string(stat[bytes.LastIndexByte(stat, ')')+2:])
	return !strings.HasPrefix(rest, "Z")
}

// applyStack writes a stack file into dir and applies it with the CLI.
func (s *server) applyStack(dir, name, body string) {
	s.t.Helper()
	if out, err := s.cli("apply", "-f", writeStack(s.t, dir, name+".yaml", body)); err != nil {
		s.t.Fatalf("apply %s: %v\n%s", name, err, out)
	}
}

// runningChannel starts a server whose channel name loops a generated
// sample of the given size on the test ladder, and waits until it runs.
// It returns the server and the directory holding the sample.
func runningChannel(t *testing.T, name string, width, height int, seconds float64) (*server, string) {
	t.Helper()
	dir := t.TempDir()
	sample := media.Sample(t, dir, width, height, seconds)
	s := startServer(t, t.TempDir())
	s.applyStack(dir, name, testStack(name, sample))
	s.waitState(name, resource.StateRunning, 90*time.Second)
	return s, dir
}

// writeStack writes a stack file and returns its path.
func writeStack(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func ffprobeJSON(t *testing.T, args ...string) map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	full := append([]string{"-v", "error", "-of", "json"}, args...)
	out, err := exec.CommandContext(ctx, "ffprobe", full...).Output()
	if err != nil {
		var stderr string
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("ffprobe %v: %v %s", args, err, stderr)
	}
	var v map[string]any
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

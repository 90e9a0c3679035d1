package backing

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/sluice-video/sluice/bench/internal/child"
	"github.com/sluice-video/sluice/bench/internal/harness"
	"github.com/sluice-video/sluice/internal/testutil/s3server"
)

// MinIO is an S3-compatible server the nodes keep their DVR archives and
// packages on.
type MinIO struct {
	// Endpoint is host:port; AccessKey and SecretKey the root
	// credentials, which the nodes take from AWS_ACCESS_KEY_ID and
	// AWS_SECRET_ACCESS_KEY.
	Endpoint             string
	AccessKey, SecretKey string

	bin, data, console, home, logPath string

	mu   sync.Mutex
	proc *child.Process
}

// StartMinIO runs a MinIO server with its data in the workspace, stopped
// by the workspace's cleanup. The binary is $SLUICE_MINIO, .tools/minio
// of the repository (scripts/deps.sh test builds it) or minio on the PATH.
func StartMinIO(ctx context.Context, ws *harness.Workspace) (*MinIO, error) {
	bin, err := s3server.Binary()
	if err != nil {
		return nil, fmt.Errorf("the MinIO server is not installed (scripts/deps.sh test builds it into .tools, or set SLUICE_MINIO): %w", err)
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	console, err := freePort()
	if err != nil {
		return nil, err
	}
	m := &MinIO{Endpoint: "127.0.0.1:" + strconv.Itoa(port), AccessKey: "sluicebench", SecretKey: "sluicebench-secret", //nolint:gosec // throwaway credentials of a loopback server
		bin: bin, data: filepath.Join(ws.Dir, "minio"), home: filepath.Join(ws.Dir, "minio-home"),
		console: "127.0.0.1:" + strconv.Itoa(console), logPath: filepath.Join(ws.Dir, "minio.log")}
	for _, d := range []string{m.data, m.home} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	ws.Cleanup.Add(m.Stop)
	ws.Log.Printf("starting MinIO on %s", m.Endpoint)
	return m, m.Start(ctx)
}

// Env are the environment variables that give a node the credentials.
func (m *MinIO) Env() []string {
	return []string{"AWS_ACCESS_KEY_ID=" + m.AccessKey, "AWS_SECRET_ACCESS_KEY=" + m.SecretKey}
}

// Start runs the server (again, after Stop) on its data and its address
// and returns once it serves S3 requests.
func (m *MinIO) Start(ctx context.Context) error {
	logf, err := os.OpenFile(m.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	proc, err := child.Start(m.bin, []string{"server", "--quiet", "--address", m.Endpoint, "--console-address", m.console, m.data},
		child.Options{Stdout: logf, Stderr: logf, Env: append(os.Environ(), "MINIO_ROOT_USER="+m.AccessKey, "MINIO_ROOT_PASSWORD="+m.SecretKey,
			"MINIO_BROWSER=off", "MINIO_UPDATE=off", "HOME="+m.home)})
	_ = logf.Close()
	if err != nil {
		return err
	}
	m.mu.Lock()
	m.proc = proc
	m.mu.Unlock()
	deadline := time.Now().Add(2 * time.Minute)
	for !m.answers(ctx) {
		select {
		case <-proc.Done():
			return fmt.Errorf("MinIO exited at start (log: %s)", m.logPath)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("MinIO did not answer within 2 minutes (log: %s)", m.logPath)
		}
	}
	return nil
}

// answers reports whether the server serves S3 requests: its readiness
// answers before the object layer is up.
func (m *MinIO) answers(ctx context.Context) bool {
	resp, err := http.Get("http://" + m.Endpoint + "/minio/health/ready") //nolint:noctx // a probe of a loopback server
	if err != nil {
		return false
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false
	}
	c, err := minio.New(m.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(m.AccessKey, m.SecretKey, "")})
	if err != nil {
		return false
	}
	lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err = c.ListBuckets(lctx)
	return err == nil
}

// Stop ends the server as its service manager would (SIGTERM) and waits
// until it has exited.
func (m *MinIO) Stop() {
	m.mu.Lock()
	proc := m.proc
	m.proc = nil
	m.mu.Unlock()
	if proc != nil {
		_ = syscall.Kill(proc.Pid(), syscall.SIGCONT)
		proc.Stop(15 * time.Second)
	}
}

// Pid is the server's process id (0 while stopped).
func (m *MinIO) Pid() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.proc == nil {
		return 0
	}
	return m.proc.Pid()
}

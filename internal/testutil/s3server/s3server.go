// Package s3server starts a real S3-compatible server (MinIO) for tests,
// on loopback with a throwaway data directory. scripts/deps.sh test builds
// the server into the repository's .tools directory.
package s3server

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/sluice-video/sluice/internal/testutil/poll"
)

// Server is a running S3-compatible server.
type Server struct {
	Endpoint  string // host:port
	AccessKey string
	SecretKey string
}

// Binary finds the MinIO server: $SLUICE_MINIO, .tools/minio in the
// repository, or minio on the PATH.
func Binary() (string, error) {
	if p := os.Getenv("SLUICE_MINIO"); p != "" {
		return p, nil
	}
	if dir, err := os.Getwd(); err == nil {
		for d := dir; ; d = filepath.Dir(d) {
			if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
				p := filepath.Join(d, ".tools", "minio")
				if _, err := os.Stat(p); err == nil {
					return p, nil
				}
				break
			}
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	return exec.LookPath("minio")
}

// Start runs a server for the test and stops it at cleanup. The test is
// skipped when the server is not installed, or fails when
// SLUICE_REQUIRE_TOOLS=1.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := Binary()
	if err != nil {
		if os.Getenv("SLUICE_REQUIRE_TOOLS") == "1" {
			t.Fatalf("the MinIO server is required (run scripts/deps.sh test): %v", err)
		}
		t.Skipf("the MinIO server is not installed (scripts/deps.sh test builds it): %v", err)
	}
	port := freePort(t)
	console := freePort(t)
	s := &Server{Endpoint: fmt.Sprintf("127.0.0.1:%d", port), AccessKey: "sluicetest", SecretKey: "sluicetest-secret"} //nolint:gosec // throwaway credentials of a test server on loopback
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "server", "--quiet", "--address", s.Endpoint,
		"--console-address", fmt.Sprintf("127.0.0.1:%d", console), t.TempDir())
	cmd.Env = append(os.Environ(), "MINIO_ROOT_USER="+s.AccessKey, "MINIO_ROOT_PASSWORD="+s.SecretKey,
		"MINIO_BROWSER=off", "MINIO_UPDATE=off", "HOME="+t.TempDir())
	out := &tail{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("starting MinIO: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() { cancel(); <-exited })
	poll.Until(t, "MinIO to be ready on "+s.Endpoint, 2*time.Minute, func() (bool, string) {
		resp, err := http.Get("http://" + s.Endpoint + "/minio/health/ready")
		if err == nil {
			_ = resp.Body.Close()
			// Ready answers before the object layer is up: wait until a
			// real request succeeds too.
			if resp.StatusCode == http.StatusOK && s.answers() {
				return true, ""
			}
		}
		select {
		case <-exited:
			t.Fatalf("MinIO exited before it was ready:\n%s", out.String())
		default:
		}
		return false, "\n" + out.String()
	})
	return s
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

// tail keeps the last few kilobytes of the server's output for failures.
type tail struct {
	mu sync.Mutex
	b  []byte
}

func (w *tail) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.b = append(w.b, p...)
	if len(w.b) > 8192 {
		w.b = w.b[len(w.b)-8192:]
	}
	return len(p), nil
}

func (w *tail) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return string(w.b)
}

// answers reports whether the server serves S3 requests yet.
func (s *Server) answers() bool {
	c, err := minio.New(s.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(s.AccessKey, s.SecretKey, "")})
	if err != nil {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = c.ListBuckets(ctx)
	return err == nil
}

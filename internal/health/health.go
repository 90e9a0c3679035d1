// Package health answers a server's health checks: /healthz (the process
// answers) and /readyz (it can do its work: the state store answers, the
// data directory takes writes and ffmpeg runs; a warning when the node's
// clock is far from the state database's).
package health

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/sluice-video/sluice/internal/problem"
)

// Live answers GET /healthz: the process is up.
func Live(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) }

// Pinger is the state store as readiness checks it.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Readiness answers GET /readyz: the state store answers, the data
// directory takes writes and ffmpeg runs (checked at most every 30 s). A
// node whose clock is far from the database's is ready with a warning.
type Readiness struct {
	Store   Pinger
	DataDir string
	FFmpeg  string
	// Clock, when set, says how far the node's clock is from the state
	// database's when that is too far ("" when it agrees).
	Clock func() string

	mu      sync.Mutex
	checked time.Time
	ffmpeg  error
}

func (rd *Readiness) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	var problems []string
	if err := rd.Store.Ping(ctx); err != nil {
		problems = append(problems, "the state database does not answer: "+err.Error())
	}
	probe := filepath.Join(rd.DataDir, ".ready-probe")
	if err := os.WriteFile(probe, []byte("ok"), 0o600); err != nil {
		problems = append(problems, "the data directory is not writable: "+err.Error())
	} else {
		_ = os.Remove(probe)
	}
	if err := rd.ffmpegWorks(ctx); err != nil {
		problems = append(problems, "ffmpeg does not run: "+err.Error())
	}
	var warning string
	if rd.Clock != nil {
		warning = rd.Clock()
	}
	if len(problems) > 0 {
		if warning != "" {
			problems = append(problems, warning)
		}
		problem.Write(w, r, http.StatusServiceUnavailable, strings.Join(problems, "; "), 0)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	if warning != "" {
		// A warning, not a failure: leases and heartbeats keep the
		// database's time, so the node works; its timestamps are off.
		_, _ = w.Write([]byte("ready\nwarning: " + warning + "\n"))
		return
	}
	_, _ = w.Write([]byte("ready\n"))
}

func (rd *Readiness) ffmpegWorks(ctx context.Context) error {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	if time.Since(rd.checked) < 30*time.Second {
		return rd.ffmpeg
	}
	rd.ffmpeg = exec.CommandContext(ctx, rd.FFmpeg, "-hide_banner", "-version").Run() //nolint:gosec // the configured ffmpeg binary
	rd.checked = time.Now()
	return rd.ffmpeg
}

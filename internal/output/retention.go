package output

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// retention deletes an output's files older than keep, so that an archive
// or a capture folder stays bounded on disk.
type retention struct {
	dir    string
	prefix string // the output's files are <prefix>…; <prefix>latest… is kept
	keep   time.Duration
	now    func() time.Time
	logger *slog.Logger
}

// run prunes now and then every interval until ctx ends.
func (r *retention) run(ctx context.Context) {
	interval := min(max(r.keep/4, 10*time.Second), time.Minute)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		r.prune()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// prune deletes the files whose modification time is older than keep and
// returns how many it deleted.
func (r *retention) prune() int {
	entries, err := os.ReadDir(r.dir)
	if err != nil {
		return 0 // nothing written yet
	}
	cutoff := r.now().Add(-r.keep)
	n := 0
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasPrefix(name, r.prefix) || strings.HasPrefix(name, r.prefix+"latest") {
			continue
		}
		info, err := e.Info()
		if err != nil || !info.ModTime().Before(cutoff) {
			continue
		}
		if err := os.Remove(filepath.Join(r.dir, name)); err == nil {
			n++
		}
	}
	if n > 0 {
		r.logger.Info(fmt.Sprintf("deleted %d files older than %v", n, r.keep), "dir", r.dir)
	}
	return n
}

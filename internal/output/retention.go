package output

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/sluice-video/sluice/internal/storage"
)

// retention deletes an output's files older than keep, so that an archive
// or a capture folder stays bounded on disk, and in storage when the files
// are shipped there.
type retention struct {
	dir    string
	prefix string // the output's files are <prefix>…; <prefix>latest… is kept
	keep   time.Duration
	now    func() time.Time
	logger *slog.Logger
	// storage and key, when set, are where the files are shipped.
	storage storage.Storage
	key     string
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
	cutoff := r.now().Add(-r.keep)
	n := r.pruneStorage(cutoff)
	entries, err := os.ReadDir(r.dir)
	if err != nil {
		return n // nothing written yet
	}
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

// pruneStorage deletes the shipped objects modified before cutoff.
func (r *retention) pruneStorage(cutoff time.Time) int {
	if r.storage == nil {
		return 0
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	objs, err := r.storage.List(ctx, r.key+"/"+r.prefix)
	if err != nil {
		r.logger.Warn("listing an output's files in storage failed; old files are kept for now", "error", err)
		return 0
	}
	n := 0
	for _, o := range objs {
		if strings.HasPrefix(path.Base(o.Key), r.prefix+"latest") || !o.Mod.Before(cutoff) {
			continue
		}
		if err := r.storage.Delete(ctx, o.Key); err == nil {
			n++
		}
	}
	return n
}

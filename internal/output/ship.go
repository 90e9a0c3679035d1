package output

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/sluice-video/sluice/internal/storage"
)

// shipInterval is how often finished files are moved into storage.
const shipInterval = time.Second

// shipper moves an output's finished files from its local folder into
// storage, keeping the folder's layout under key. An ARCHIVE file is
// finished once the next one has started or the output has stopped; a
// frame capture as soon as it is renamed into place. <prefix>latest… is
// copied whenever it changes and stays in the folder, where the next
// capture replaces it. A file whose upload fails stays for the next pass.
type shipper struct {
	dir     string
	prefix  string // the output's files are <prefix>…
	key     string // storage key of the folder: outputs/<channel>/<output>
	storage storage.Storage
	// holdNewest keeps the newest file back while the output runs: its
	// writer may still be appending to it.
	holdNewest bool
	logger     *slog.Logger

	latest map[string]time.Time // modification time of the latest copies shipped
}

// run ships every interval until ctx ends; the final pass is finish's.
func (s *shipper) run(ctx context.Context) {
	t := time.NewTicker(shipInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.pass(ctx, false)
		}
	}
}

// finish ships what the stopped output left, the newest file included.
func (s *shipper) finish() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s.pass(ctx, true)
}

// pass ships the finished files and returns how many it moved.
func (s *shipper) pass(ctx context.Context, final bool) int {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return 0 // nothing written yet
	}
	var files []fs.DirEntry
	for _, e := range entries {
		name := e.Name()
		if e.Type().IsRegular() && strings.HasPrefix(name, s.prefix) && !strings.HasSuffix(name, ".tmp") {
			files = append(files, e)
		}
	}
	if s.holdNewest && !final {
		// os.ReadDir sorts by name, and names sort by time.
		for i := len(files) - 1; i >= 0; i-- {
			if !s.isLatest(files[i].Name()) {
				files = append(files[:i], files[i+1:]...)
				break
			}
		}
	}
	moved := 0
	for _, e := range files {
		name := e.Name()
		info, err := e.Info()
		if err != nil {
			continue // replaced or removed meanwhile
		}
		if s.isLatest(name) {
			if s.latest[name].Equal(info.ModTime()) {
				continue
			}
			if s.upload(ctx, name, info.Size()) {
				if s.latest == nil {
					s.latest = map[string]time.Time{}
				}
				s.latest[name] = info.ModTime()
			}
			continue
		}
		if s.upload(ctx, name, info.Size()) {
			if err := os.Remove(filepath.Join(s.dir, name)); err != nil {
				s.logger.Warn("a file copied to storage could not be removed locally", "file", name, "error", err)
			}
			moved++
		}
	}
	return moved
}

func (s *shipper) isLatest(name string) bool { return strings.HasPrefix(name, s.prefix+"latest") }

// upload copies one file into storage, reporting whether it is there.
func (s *shipper) upload(ctx context.Context, name string, size int64) bool {
	f, err := os.Open(filepath.Join(s.dir, name)) //nolint:gosec // a file of the output's own folder
	if err != nil {
		return false
	}
	defer func() { _ = f.Close() }()
	if _, err := s.storage.Put(ctx, path.Join(s.key, name), f, size); err != nil {
		s.logger.Warn(fmt.Sprintf("copying %s to storage failed; it stays on local disk and is tried again", name), "error", err)
		return false
	}
	return true
}

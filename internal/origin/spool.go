package origin

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
)

// spoolMinBytes is the smallest body worth a file: below it, copying from
// memory costs less than opening one.
const spoolMinBytes = 16 << 10

// spool keeps copies of recently served media segments as files, so that
// plain requests are answered with sendfile(2) from the page cache rather
// than copied from memory through the socket: on Linux that answers
// roughly twice the requests per second for a segment of 100 KB. Files
// are named by the segment's content, written once by the first request
// for them (the others wait for it) and evicted oldest first beyond a
// byte budget. Any failure falls back to answering from memory.
type spool struct {
	dir    string
	budget int64
	logger *slog.Logger

	mu    sync.Mutex
	files map[string]*spoolFile
	order []string
	size  int64
	seq   uint64
	// broken is set after a write fails, so that a full or read-only disk
	// is reported once and not retried on every request.
	broken bool
}

// spoolFile is one body being written or written.
type spoolFile struct {
	path  string
	size  int64
	ready chan struct{}
	err   error
}

// newSpool empties dir (what a previous run left) and returns a spool
// writing there within budget bytes.
func newSpool(dir string, budget int64, logger *slog.Logger) (*spool, error) {
	if err := os.RemoveAll(dir); err != nil {
		return nil, fmt.Errorf("clearing the segment spool: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating the segment spool: %w", err)
	}
	return &spool{dir: dir, budget: budget, logger: logger, files: map[string]*spoolFile{}}, nil
}

// open returns a file holding data, kept under key (which names the
// content), writing it when it is not spooled yet. It returns nil when the
// body should be served from memory.
func (s *spool) open(key string, data []byte) *os.File {
	if s == nil || len(data) < spoolMinBytes {
		return nil
	}
	s.mu.Lock()
	if s.broken {
		s.mu.Unlock()
		return nil
	}
	sf, ok := s.files[key]
	if !ok {
		s.seq++
		sf = &spoolFile{path: filepath.Join(s.dir, strconv.FormatUint(s.seq, 10)), size: int64(len(data)), ready: make(chan struct{})}
		s.files[key] = sf
		s.order = append(s.order, key)
		s.size += sf.size
		s.evict()
	}
	s.mu.Unlock()
	if !ok {
		sf.err = os.WriteFile(sf.path, data, 0o600) //nolint:gosec // the spool folder and a number: no part of a request
		close(sf.ready)
		if sf.err != nil {
			s.fail(key, sf)
			return nil
		}
	}
	<-sf.ready
	if sf.err != nil {
		return nil
	}
	f, err := os.Open(sf.path)
	if err != nil {
		return nil // evicted meanwhile
	}
	return f
}

// evict removes the oldest files beyond the budget; s.mu is held. A file
// still being read stays readable until its reader closes it.
func (s *spool) evict() {
	for s.size > s.budget && len(s.order) > 1 {
		key := s.order[0]
		s.order = s.order[1:]
		sf := s.files[key]
		delete(s.files, key)
		s.size -= sf.size
		go func() {
			<-sf.ready
			_ = os.Remove(sf.path)
		}()
	}
}

// fail forgets a file that could not be written and stops spooling.
func (s *spool) fail(key string, sf *spoolFile) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.files[key] == sf {
		delete(s.files, key)
		s.size -= sf.size
		for i, k := range s.order {
			if k == key {
				s.order = append(s.order[:i], s.order[i+1:]...)
				break
			}
		}
	}
	_ = os.Remove(sf.path)
	if !s.broken {
		s.broken = true
		s.logger.Warn("the segment spool cannot be written; segments are served from memory from now on", "dir", s.dir, "error", sf.err)
	}
}

// send writes a spooled body; the headers and status are written. The
// copy from an *os.File lets net/http use sendfile(2).
func send(w http.ResponseWriter, f *os.File) {
	defer func() { _ = f.Close() }()
	_, _ = io.Copy(w, f)
}

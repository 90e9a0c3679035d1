// Package spool keeps copies of recently served bodies as files, so that
// an HTTP server answers plain requests for large ones with sendfile(2)
// from the page cache rather than copying them from memory through the
// socket: for a 1 MB segment that answers about 1.5 times the requests per
// second. The origin spools its segments and the edge its cached objects.
package spool

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
)

// DefaultMinBytes is the smallest body worth a file by default: on a
// 2-core Linux machine over loopback (go run ./bench/sendfile), sendfile
// answers fewer requests per second than a copy from memory for 32 KB
// bodies, as many for 96 KB, 1.1–1.2 times as many for 256 KB and
// 1.4–1.5 times as many for 1 MB.
const DefaultMinBytes = 128 << 10

// Spool keeps bodies as files in one folder. Each file is written once, by
// the first request for its key (the others wait for it), and evicted
// oldest first beyond a byte budget. Any failure falls back to answering
// from memory. A nil *Spool spools nothing.
type Spool struct {
	// MinBytes is the smallest body spooled (DefaultMinBytes); smaller
	// ones are sent from memory. Set it before the first Open.
	MinBytes int

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

// New empties dir (what a previous run left) and returns a spool writing
// there within budget bytes. dir should be on a local disk or a tmpfs and
// belong to this spool alone.
func New(dir string, budget int64, logger *slog.Logger) (*Spool, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := os.RemoveAll(dir); err != nil {
		return nil, fmt.Errorf("clearing the spool: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating the spool: %w", err)
	}
	return &Spool{MinBytes: DefaultMinBytes, dir: dir, budget: budget, logger: logger, files: map[string]*spoolFile{}}, nil
}

// Open returns a file holding data, kept under key (which must name this
// content and no other), writing it when it is not spooled yet. It returns
// nil when the body should be served from memory; the caller closes the
// file.
func (s *Spool) Open(key string, data []byte) *os.File {
	if s == nil || len(data) < s.MinBytes {
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
	// A plain blocking descriptor: os.Open would also make it non-blocking
	// and try to register it with the network poller, four system calls
	// per request that a regular file sent with sendfile does not need.
	fd, err := syscall.Open(sf.path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil // evicted meanwhile
	}
	return os.NewFile(uintptr(fd), sf.path)
}

// evict removes the oldest files beyond the budget; s.mu is held. A file
// still being read stays readable until its reader closes it.
func (s *Spool) evict() {
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
func (s *Spool) fail(key string, sf *spoolFile) {
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
		s.logger.Warn("the spool cannot be written; bodies are sent from memory from now on", "dir", s.dir, "error", sf.err)
	}
}

// Remove deletes the folder and stops spooling. Files being sent stay
// readable until their readers close them.
func (s *Spool) Remove() {
	if s == nil {
		return
	}
	s.mu.Lock()
	s.broken = true
	s.files, s.order, s.size = map[string]*spoolFile{}, nil, 0
	s.mu.Unlock()
	_ = os.RemoveAll(s.dir)
}

// Send writes a spooled body of size bytes and closes it; the headers and
// status are written. The copy from an *os.File lets net/http use
// sendfile(2), through any wrapper of the ResponseWriter that implements
// io.ReaderFrom; the known size spares the call that would find the end.
func Send(w http.ResponseWriter, f *os.File, size int64) {
	defer func() { _ = f.Close() }()
	_, _ = io.Copy(w, io.LimitReader(f, size))
}

package dvr

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
)

// stored names one stored file of an archive: the writer's epoch, the
// rendition and the file name (<number>.m4s, init-<run>.mp4).
type stored struct {
	epoch     uint64
	rendition string
	name      string
}

// backing is where an archive keeps its bytes and its index: files on a
// local disk (local), or objects on shared storage indexed in the state
// database (shared).
type backing interface {
	// load reads the description and the index.
	load() (meta, []Entry, error)
	// epoch is the writer's epoch, stored in each new entry (0 locally).
	epoch() uint64
	// reset starts the archive afresh with a new description.
	reset(old, m meta) error
	// put stores the bytes of a segment or init segment of the writer.
	put(rendition, name string, data []byte) error
	// get reads them back from the epoch that stored them.
	get(epoch uint64, rendition, name string) ([]byte, bool)
	// commit lists new entries in the index, together.
	commit(entries []Entry) error
	// trim keeps only kept in the index (lastGone is the newest number
	// dropped) and deletes the files of the dropped entries.
	trim(kept []Entry, lastGone uint64, files []stored) error
}

// errFenced is what a backing's write returns when the writer no longer
// holds the channel.
var errFenced = errors.New("the writer's epoch is no longer the channel's newest")

// local is an archive in a directory: <rendition>/<number>.m4s and
// <rendition>/init-<run>.mp4, the description in meta.json and the index
// in index.jsonl, one entry a line.
type local struct {
	dir    string
	logger *slog.Logger
}

func openLocal(dir string, logger *slog.Logger) (*local, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("dvr: creating %s: %w", dir, err)
	}
	return &local{dir: dir, logger: logger}, nil
}

func (l *local) epoch() uint64 { return 0 }

func (l *local) load() (meta, []Entry, error) {
	var m meta
	if b, err := os.ReadFile(filepath.Join(l.dir, "meta.json")); err == nil {
		if err := json.Unmarshal(b, &m); err != nil {
			l.logger.Warn("the DVR archive's meta.json is unreadable; starting the archive afresh", "dir", l.dir, "error", err)
			m = meta{}
		}
	}
	var entries []Entry
	f, err := os.Open(filepath.Join(l.dir, "index.jsonl"))
	if err != nil {
		return m, nil, nil
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		var e Entry
		if json.Unmarshal(sc.Bytes(), &e) != nil {
			continue // a torn last line after a crash
		}
		entries = append(entries, e)
	}
	return m, entries, nil
}

func (l *local) reset(old, m meta) error {
	for _, r := range old.Renditions {
		_ = os.RemoveAll(filepath.Join(l.dir, r.ID))
	}
	_ = os.Remove(filepath.Join(l.dir, "index.jsonl"))
	b, _ := json.Marshal(m)
	return l.writeFile(filepath.Join(l.dir, "meta.json"), b)
}

func (l *local) put(rendition, name string, data []byte) error {
	dir := filepath.Join(l.dir, rendition)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("dvr: %w", err)
	}
	return l.writeFile(filepath.Join(dir, name), data)
}

func (l *local) get(_ uint64, rendition, name string) ([]byte, bool) {
	b, err := os.ReadFile(filepath.Join(l.dir, rendition, name))
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			l.logger.Error("reading an archived segment failed", "rendition", rendition, "file", name, "error", err)
		}
		return nil, false
	}
	return b, true
}

func (l *local) commit(entries []Entry) error {
	f, err := os.OpenFile(filepath.Join(l.dir, "index.jsonl"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("dvr: opening the index: %w", err)
	}
	defer func() { _ = f.Close() }()
	var b []byte
	for _, e := range entries {
		line, _ := json.Marshal(e)
		b = append(append(b, line...), '\n')
	}
	if _, err := f.Write(b); err != nil {
		return fmt.Errorf("dvr: appending to the index: %w", err)
	}
	return nil
}

func (l *local) trim(kept []Entry, _ uint64, files []stored) error {
	var firstErr error
	note := func(err error) {
		if err != nil && !os.IsNotExist(err) && firstErr == nil {
			firstErr = err
		}
	}
	for _, f := range files {
		note(os.Remove(filepath.Join(l.dir, f.rendition, f.name)))
	}
	// Rewrite the index without the deleted entries.
	var b []byte
	for _, e := range kept {
		line, _ := json.Marshal(e)
		b = append(append(b, line...), '\n')
	}
	note(l.writeFile(filepath.Join(l.dir, "index.jsonl"), b))
	return firstErr
}

// writeFile writes atomically: a reader never sees half a file.
func (l *local) writeFile(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("dvr: writing %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("dvr: %w", err)
	}
	return nil
}

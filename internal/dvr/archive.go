package dvr

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluice-video/sluice/internal/packager/cmaf"
)

// Archive is one channel's segments on disk: every rendition's segments
// and init segments, and an index of them (index.jsonl) from which
// time-shifted snapshots are cut. Files live under dir as
// <rendition>/<number>.m4s and <rendition>/init-<run>.mp4; only files the
// index lists are ever served.
type Archive struct {
	dir    string
	logger *slog.Logger

	// window is read and set without mu, so that the origin's requests
	// never wait behind archive I/O to state it.
	window  atomic.Int64 // time.Duration
	mu      sync.RWMutex
	meta    meta
	entries []Entry // oldest first, growing numbers
	// last is the newest number ever archived: retention empties entries,
	// but what it deleted must not be archived again.
	last  uint64
	inits map[string]bool
}

// meta is what a snapshot needs besides the segments (meta.json).
type meta struct {
	AvailabilityStart time.Time        `json:"availabilityStart"`
	SegmentDuration   time.Duration    `json:"segmentDuration"`
	Renditions        []cmaf.Rendition `json:"renditions"`
}

// Entry is one archived segment number: a piece from every rendition.
type Entry struct {
	Number        uint64  `json:"n"`
	Run           uint64  `json:"run"`
	Discontinuity uint64  `json:"disc"`
	Pieces        []Piece `json:"p"`
}

// Piece is one rendition's segment of an entry, in the rendition's timescale.
type Piece struct {
	Start    uint64 `json:"s"`
	Duration uint64 `json:"d"`
	Size     int    `json:"z"`
}

// OpenArchive opens (or creates) the archive in dir, reading its index.
func OpenArchive(dir string, window time.Duration, logger *slog.Logger) (*Archive, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("dvr: creating %s: %w", dir, err)
	}
	a := &Archive{dir: dir, logger: logger, inits: map[string]bool{}}
	a.window.Store(int64(window))
	if b, err := os.ReadFile(filepath.Join(dir, "meta.json")); err == nil {
		if err := json.Unmarshal(b, &a.meta); err != nil {
			logger.Warn("the DVR archive's meta.json is unreadable; starting the archive afresh", "dir", dir, "error", err)
			a.meta = meta{}
		}
	}
	f, err := os.Open(filepath.Join(dir, "index.jsonl"))
	if err == nil {
		defer func() { _ = f.Close() }()
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64*1024), 1<<20)
		for sc.Scan() {
			var e Entry
			if json.Unmarshal(sc.Bytes(), &e) != nil || len(e.Pieces) != len(a.meta.Renditions) {
				continue // a torn last line after a crash
			}
			if n := len(a.entries); n > 0 && e.Number <= a.entries[n-1].Number {
				continue
			}
			a.entries = append(a.entries, e)
		}
	}
	for _, e := range a.entries {
		for _, r := range a.meta.Renditions {
			a.inits[initKey(r.ID, e.Run)] = true
		}
		a.last = e.Number
	}
	return a, nil
}

// SetWindow changes the retention window (the endpoint configuration changed).
func (a *Archive) SetWindow(w time.Duration) {
	a.window.Store(int64(w))
}

// Window returns the retention window.
func (a *Archive) Window() time.Duration {
	return time.Duration(a.window.Load())
}

func initKey(rendition string, run uint64) string {
	return rendition + "/" + strconv.FormatUint(run, 10)
}

// Sync copies the timeline's complete segments that the archive does not
// have yet to disk. It returns how many segment numbers it added.
func (a *Archive) Sync(tl *cmaf.Timeline) (int, error) {
	// Called twice a second: without a new segment there is nothing to
	// copy, so the snapshot of the whole window and the index are skipped.
	a.mu.RLock()
	last := a.last
	a.mu.RUnlock()
	if last > 0 && tl.NextNumber() <= last+1 {
		return 0, nil
	}
	snap := tl.Snapshot(100 * 365 * 24 * time.Hour)
	if len(snap.Renditions) == 0 || len(snap.Renditions[0].Segments) == 0 {
		return 0, nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.adopt(snap); err != nil {
		return 0, err
	}
	added := 0
	f, err := os.OpenFile(filepath.Join(a.dir, "index.jsonl"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return 0, fmt.Errorf("dvr: opening the index: %w", err)
	}
	defer func() { _ = f.Close() }()
	for k, info := range snap.Renditions[0].Segments {
		if a.last > 0 && info.Number <= a.last {
			continue
		}
		e := Entry{Number: info.Number, Run: info.Run, Discontinuity: info.Discontinuity}
		for _, r := range snap.Renditions {
			if k >= len(r.Segments) || r.Segments[k].Number != info.Number {
				return added, fmt.Errorf("dvr: rendition %q has no segment %d in the snapshot", r.ID, info.Number)
			}
			seg, ok := tl.Segment(r.ID, info.Number)
			if !ok {
				return added, nil // slid out of memory meanwhile
			}
			if err := a.write(r.ID, strconv.FormatUint(seg.Number, 10)+".m4s", seg.Data); err != nil {
				return added, err
			}
			if ik := initKey(r.ID, seg.Run); !a.inits[ik] {
				data, ok := tl.Init(r.ID, seg.Run)
				if !ok {
					return added, fmt.Errorf("dvr: init segment of run %d of %q is gone", seg.Run, r.ID)
				}
				if err := a.write(r.ID, "init-"+strconv.FormatUint(seg.Run, 10)+".mp4", data); err != nil {
					return added, err
				}
				a.inits[ik] = true
			}
			e.Pieces = append(e.Pieces, Piece{Start: seg.Start, Duration: seg.Duration, Size: len(seg.Data)})
		}
		line, _ := json.Marshal(e)
		if _, err := f.Write(append(line, '\n')); err != nil {
			return added, fmt.Errorf("dvr: appending to the index: %w", err)
		}
		a.entries = append(a.entries, e)
		a.last = e.Number
		added++
	}
	return added, nil
}

// adopt records the snapshot's rendition description; a different set of
// renditions or another media time origin starts the archive afresh, since
// old and new segments could not share one manifest. a.mu must be held.
func (a *Archive) adopt(snap *cmaf.Snapshot) error {
	same := a.meta.AvailabilityStart.Equal(snap.AvailabilityStart) && len(a.meta.Renditions) == len(snap.Renditions)
	for i := 0; same && i < len(snap.Renditions); i++ {
		m, r := a.meta.Renditions[i], snap.Renditions[i]
		same = m.ID == r.ID && m.Timescale == r.Timescale && m.Codec == r.Codec
	}
	if same {
		return nil
	}
	if len(a.entries) > 0 {
		a.logger.Info("the channel's renditions changed; the DVR archive starts afresh", "dir", a.dir)
	}
	for _, m := range a.meta.Renditions {
		_ = os.RemoveAll(filepath.Join(a.dir, m.ID))
	}
	_ = os.Remove(filepath.Join(a.dir, "index.jsonl"))
	a.entries, a.inits = nil, map[string]bool{}
	a.meta = meta{AvailabilityStart: snap.AvailabilityStart, SegmentDuration: snap.SegmentDuration}
	for _, r := range snap.Renditions {
		r.Segments, r.Edge = nil, nil
		a.meta.Renditions = append(a.meta.Renditions, r)
	}
	b, _ := json.Marshal(a.meta)
	return a.writeFile(filepath.Join(a.dir, "meta.json"), b)
}

func (a *Archive) write(rendition, name string, data []byte) error {
	dir := filepath.Join(a.dir, rendition)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("dvr: %w", err)
	}
	return a.writeFile(filepath.Join(dir, name), data)
}

// writeFile writes atomically: a reader never sees half a file.
func (a *Archive) writeFile(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("dvr: writing %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("dvr: %w", err)
	}
	return nil
}

// Segment returns an archived segment's bytes, if the index lists it.
func (a *Archive) Segment(rendition string, number uint64) ([]byte, bool) {
	a.mu.RLock()
	_, found := slices.BinarySearchFunc(a.entries, number, func(e Entry, n uint64) int { return cmpU(e.Number, n) })
	known := found && a.rendition(rendition) >= 0
	a.mu.RUnlock()
	if !known {
		return nil, false
	}
	return a.read(rendition, strconv.FormatUint(number, 10)+".m4s")
}

// Init returns an archived init segment, if a listed segment needs it.
func (a *Archive) Init(rendition string, run uint64) ([]byte, bool) {
	a.mu.RLock()
	known := a.inits[initKey(rendition, run)] && a.rendition(rendition) >= 0
	a.mu.RUnlock()
	if !known {
		return nil, false
	}
	return a.read(rendition, "init-"+strconv.FormatUint(run, 10)+".mp4")
}

func (a *Archive) read(rendition, name string) ([]byte, bool) {
	b, err := os.ReadFile(filepath.Join(a.dir, rendition, name))
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			a.logger.Error("reading an archived segment failed", "rendition", rendition, "file", name, "error", err)
		}
		return nil, false
	}
	return b, true
}

// rendition returns the index of a rendition; a.mu must be held.
func (a *Archive) rendition(id string) int {
	for i, r := range a.meta.Renditions {
		if r.ID == id {
			return i
		}
	}
	return -1
}

func cmpU(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

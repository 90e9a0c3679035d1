package dvr

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluice-video/sluice/internal/packager/cmaf"
)

// Archive is one channel's segments beyond the in-memory window: every
// rendition's segments and init segments, and an index of them from which
// time-shifted snapshots are cut. On a single server they are files on
// disk (OpenArchive); on a cluster, objects on shared storage indexed in
// the state database (OpenShared). Only what the index lists is ever
// served.
type Archive struct {
	store  backing
	logger *slog.Logger
	// readOnly archives (of a channel another node holds, or that this
	// node lost) are read, never written.
	readOnly bool

	// window is read and set without mu, so that the origin's requests
	// never wait behind archive I/O to state it.
	window atomic.Int64 // time.Duration
	// writing makes the writers (Sync, Trim) take turns. They store
	// files and index entries holding writing alone, and take mu only to
	// change what readers see, so that a request for an archived segment
	// (or for one that is not there) never waits behind storage or the
	// state database. What mu guards changes only with writing held too,
	// so a writer reads it without mu.
	writing sync.Mutex
	mu      sync.RWMutex
	meta    meta
	entries []Entry // oldest first, growing numbers
	// last is the newest number ever archived: retention empties entries,
	// but what it deleted must not be archived again.
	last uint64
	// inits are the init segments the entries need, each with the epoch
	// of the writer that stored it.
	inits map[string]uint64
	// onGap hears of the numbers missing between what the archive held
	// and a timeline's first segment (see OnGap); wrote says whether this
	// archive has added entries since it was opened.
	onGap func(reason string)
	wrote bool
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
	// Epoch is the lease epoch of the node that stored the pieces, on a
	// cluster (their objects are keyed with it); 0 on a single server.
	Epoch uint64 `json:"e,omitempty"`
}

// Piece is one rendition's segment of an entry, in the rendition's timescale.
type Piece struct {
	Start    uint64 `json:"s"`
	Duration uint64 `json:"d"`
	Size     int    `json:"z"`
}

// OpenArchive opens (or creates) the archive in dir, reading its index:
// files under dir as <rendition>/<number>.m4s and
// <rendition>/init-<run>.mp4, the index in index.jsonl.
func OpenArchive(dir string, window time.Duration, logger *slog.Logger) (*Archive, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	b, err := openLocal(dir, logger)
	if err != nil {
		return nil, err
	}
	return newArchive(b, window, false, logger)
}

// newArchive reads the backing's description and index.
func newArchive(b backing, window time.Duration, readOnly bool, logger *slog.Logger) (*Archive, error) {
	a := &Archive{store: b, logger: logger, readOnly: readOnly, inits: map[string]uint64{}}
	a.window.Store(int64(window))
	m, entries, err := b.load()
	if err != nil {
		return nil, err
	}
	a.meta = m
	for _, e := range entries {
		if len(e.Pieces) != len(a.meta.Renditions) {
			continue // a torn last line after a crash
		}
		if n := len(a.entries); n > 0 && e.Number <= a.entries[n-1].Number {
			continue
		}
		a.entries = append(a.entries, e)
	}
	for _, e := range a.entries {
		for _, r := range a.meta.Renditions {
			if _, ok := a.inits[initKey(r.ID, e.Run)]; !ok {
				a.inits[initKey(r.ID, e.Run)] = e.Epoch
			}
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

// OnGap sets the hook that hears of a hole no timeline reports: the
// numbers between the archive's newest segment and the first segment of
// a timeline that started after it (a server restarting, a channel moving
// to another node). The timeline itself tells of the holes after its
// first segment. Call it before the first Sync.
func (a *Archive) OnGap(fn func(reason string)) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.onGap = fn
}

// Sync copies the timeline's complete segments that the archive does not
// have yet. It returns how many segment numbers it added. A read-only
// archive copies nothing; a shared archive whose writer lost the channel
// returns ErrLost and becomes read-only.
func (a *Archive) Sync(tl *cmaf.Timeline) (n int, err error) {
	// Called twice a second: without a new segment there is nothing to
	// copy, so the snapshot of the whole window and the index are skipped.
	a.mu.RLock()
	readOnly, last := a.readOnly, a.last
	a.mu.RUnlock()
	if readOnly || (last > 0 && tl.NextNumber() <= last+1) {
		return 0, nil
	}
	snap := tl.Snapshot(100 * 365 * 24 * time.Hour)
	if len(snap.Renditions) == 0 || len(snap.Renditions[0].Segments) == 0 {
		return 0, nil
	}
	var gap string
	var onGap func(string)
	defer func() {
		// Told once the locks are released.
		if gap != "" && onGap != nil {
			onGap(gap)
		}
	}()
	a.writing.Lock()
	defer a.writing.Unlock()
	if a.readOnly {
		return 0, nil // lost meanwhile
	}
	if err := a.adopt(snap); err != nil {
		return 0, a.lost(err)
	}
	epoch := a.store.epoch()
	var added []Entry
	newInits := map[string]uint64{}
	defer func() {
		// Whatever was stored before a failure is listed, so the index
		// never lacks what the files hold. Readers see the new entries
		// once the index has them.
		if len(added) == 0 {
			return
		}
		if cerr := a.store.commit(added); cerr != nil {
			n, err = 0, errors.Join(err, a.lost(cerr))
			return
		}
		a.mu.Lock()
		defer a.mu.Unlock()
		gap, onGap = a.startGap(tl.FirstNumber()), a.onGap
		a.wrote = true
		maps.Copy(a.inits, newInits)
		a.entries = append(a.entries, added...)
		a.last = added[len(added)-1].Number
	}()
	for k, info := range snap.Renditions[0].Segments {
		if a.last > 0 && info.Number <= a.last {
			continue
		}
		e := Entry{Number: info.Number, Run: info.Run, Discontinuity: info.Discontinuity, Epoch: epoch}
		for _, r := range snap.Renditions {
			if k >= len(r.Segments) || r.Segments[k].Number != info.Number {
				return len(added), fmt.Errorf("dvr: rendition %q has no segment %d in the snapshot", r.ID, info.Number)
			}
			seg, ok := tl.Segment(r.ID, info.Number)
			if !ok {
				return len(added), nil // slid out of memory meanwhile
			}
			if err := a.store.put(r.ID, strconv.FormatUint(seg.Number, 10)+".m4s", seg.Data); err != nil {
				return len(added), err
			}
			ik := initKey(r.ID, seg.Run)
			_, had := a.inits[ik]
			if _, fresh := newInits[ik]; !had && !fresh {
				data, ok := tl.Init(r.ID, seg.Run)
				if !ok {
					return len(added), fmt.Errorf("dvr: init segment of run %d of %q is gone", seg.Run, r.ID)
				}
				if err := a.store.put(r.ID, "init-"+strconv.FormatUint(seg.Run, 10)+".mp4", data); err != nil {
					return len(added), err
				}
				newInits[ik] = epoch
			}
			e.Pieces = append(e.Pieces, Piece{Start: seg.Start, Duration: seg.Duration, Size: len(seg.Data)})
		}
		added = append(added, e)
	}
	return len(added), nil
}

// startGap describes the numbers missing between the archive's newest
// entry and first, the first segment of the timeline whose segments are
// being added: "" when there are none, or when the newest entry is of
// that timeline (which told of its own holes). a.mu must be held for
// writing, before the new entries are appended.
func (a *Archive) startGap(first uint64) string {
	if len(a.entries) == 0 || first == 0 {
		// A channel archived for the first time, or an archive that
		// started afresh or lost everything to retention: no hole in it.
		return ""
	}
	last := a.entries[len(a.entries)-1].Number
	if last+1 >= first {
		return ""
	}
	cause := "the server was not running the channel"
	switch _, shared := a.store.(*shared); {
	case a.wrote:
		cause = "the channel's packaging started again"
	case shared:
		cause = "no node was running the channel"
	}
	return fmt.Sprintf("%d segments are missing (numbers %d to %d): %s", first-last-1, last+1, first-1, cause)
}

// ErrLost says the archive's writer no longer holds the channel: a newer
// holder writes the archive now, and this one stopped writing.
var ErrLost = errors.New("dvr: another node holds the channel now; this archive stopped writing")

// lost turns a fenced write into ErrLost and makes the archive read-only.
// a.writing must be held, and a.mu not.
func (a *Archive) lost(err error) error {
	if errors.Is(err, errFenced) {
		a.mu.Lock()
		a.readOnly = true
		a.mu.Unlock()
		return fmt.Errorf("%w: %w", ErrLost, err)
	}
	return err
}

// adopt records the snapshot's rendition description; a different set of
// renditions or another media time origin starts the archive afresh, since
// old and new segments could not share one manifest. a.writing must be
// held, and a.mu not.
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
		a.logger.Info("the channel's renditions changed; the DVR archive starts afresh")
	}
	old := a.meta
	m := meta{AvailabilityStart: snap.AvailabilityStart, SegmentDuration: snap.SegmentDuration}
	for _, r := range snap.Renditions {
		r.Segments, r.Edge = nil, nil
		m.Renditions = append(m.Renditions, r)
	}
	if err := a.store.reset(old, m); err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.entries, a.inits = nil, map[string]uint64{}
	a.meta = m
	return nil
}

// Segment returns an archived segment's bytes, if the index lists it.
func (a *Archive) Segment(rendition string, number uint64) ([]byte, bool) {
	a.mu.RLock()
	i, found := slices.BinarySearchFunc(a.entries, number, func(e Entry, n uint64) int { return cmpU(e.Number, n) })
	known := found && a.rendition(rendition) >= 0
	var epoch uint64
	if known {
		epoch = a.entries[i].Epoch
	}
	a.mu.RUnlock()
	if !known {
		return nil, false
	}
	return a.store.get(epoch, rendition, strconv.FormatUint(number, 10)+".m4s")
}

// Init returns an archived init segment, if a listed segment needs it.
func (a *Archive) Init(rendition string, run uint64) ([]byte, bool) {
	a.mu.RLock()
	epoch, known := a.inits[initKey(rendition, run)]
	known = known && a.rendition(rendition) >= 0
	a.mu.RUnlock()
	if !known {
		return nil, false
	}
	return a.store.get(epoch, rendition, "init-"+strconv.FormatUint(run, 10)+".mp4")
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

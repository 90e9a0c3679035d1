package cmaf

import (
	"fmt"
	"time"
)

// The grid: boundary k of a timeline is at media time k × SegmentDuration
// from AvailabilityStart. A run on the grid (Feed.OnGrid) is fed by an
// encoder that stamps media time itself and puts its key frames on the
// boundaries, so its segment k is the media between boundaries k and k+1
// and is numbered GridNumber(k), whenever the run started: two pipelines
// of a channel with the same AvailabilityStart and segment length, or an
// encoder that restarted, give the same media the same number and the
// same decode times. A run that is not on the grid is placed on the wall
// clock by its first sample (see Feed.anchor) and numbers its segments one
// after the other.

// Alignment says whether a run's segments are those every other aligned
// run of the channel cuts, so that a segment of one may follow a segment
// of the other without a discontinuity (given identical init segments).
type Alignment struct {
	Aligned bool
	// Reason says, when the run is not aligned, why.
	Reason string
}

// OnGrid tells the run that its encoder stamps media time since the
// timeline's AvailabilityStart and puts its key frames on the grid: the
// run is not anchored, its boundary indexes are those of the grid, and
// its segments are numbered by GridNumber. Call it before Ingest.
func (r *Feed) OnGrid() {
	r.tl.mu.Lock()
	defer r.tl.mu.Unlock()
	r.grid = true
	r.anchored = true
	r.offset = 0
}

// Alignment reports whether the run is aligned, and why not.
func (r *Feed) Alignment() Alignment {
	t := r.tl
	t.mu.RLock()
	defer t.mu.RUnlock()
	return r.alignment()
}

// alignment is Alignment; t.mu must be held.
func (r *Feed) alignment() Alignment {
	t := r.tl
	switch {
	case !r.grid:
		return Alignment{Reason: "the run is not on the segment grid: its timestamps and boundaries count from its own start (a channel with a passthrough rung follows its input's key frames)"}
	case t.shift > 0:
		return Alignment{Reason: fmt.Sprintf("segment numbers are %d above the grid's, to follow the numbers of an earlier timeline", t.shift)}
	}
	for i, off := range r.offGrid {
		if off {
			return Alignment{Reason: fmt.Sprintf("the key frames of rendition %s are not on the segment grid", t.cfg.Renditions[i].ID)}
		}
	}
	return Alignment{Aligned: true}
}

// onGrid reports whether the run is on the grid.
func (r *Feed) onGrid() bool {
	r.tl.mu.RLock()
	defer r.tl.mu.RUnlock()
	return r.grid
}

// keysOnGrid records whether a passthrough rendition's key frames fall on
// the grid.
func (r *Feed) keysOnGrid(idx int, on bool) {
	t := r.tl
	t.mu.Lock()
	defer t.mu.Unlock()
	if r.offGrid == nil {
		r.offGrid = make([]bool, len(t.cfg.Renditions))
	}
	r.offGrid[idx] = !on
}

// gridBase is the number of segment 0 of the grid, before any shift: the
// segment's place in wall-clock time counted in segments since 1970 (plus
// two), as runs that are not on the grid number their first segment.
func (t *Timeline) gridBase() uint64 {
	ms := uint64(max(0, t.cfg.AvailabilityStart.UnixMilli()))
	return ms*uint64(time.Millisecond)/uint64(t.cfg.SegmentDuration) + 2 //nolint:gosec // NewTimeline refuses a segment duration that is not positive
}

// GridNumber returns the number that runs on the grid give segment k (the
// one starting at media time k × SegmentDuration).
func (t *Timeline) GridNumber(k uint64) uint64 {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.gridBase() + t.shift + k
}

// GridIndex returns the grid index k of the segment that runs on the grid
// number n; false for numbers below the grid's first.
func (t *Timeline) GridIndex(n uint64) (uint64, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	first := t.gridBase() + t.shift
	if n < first {
		return 0, false
	}
	return n - first, true
}

// gridNumber numbers a grid run's segment k, fixing the timeline's shift
// at its first such segment: numbers only grow, so when the numbers of
// earlier processes (MinNumber) or runs are ahead of the grid's, every
// grid number of this timeline is raised by the difference (and its runs
// are not aligned). t.mu must be held for writing.
func (t *Timeline) gridNumber(k uint64) uint64 {
	n := t.gridBase() + k
	if !t.shiftSet {
		t.shiftSet = true
		if floor := max(t.cfg.MinNumber, t.next); floor > n {
			t.shift = floor - n
		}
	}
	return n + t.shift
}

// startTime is the media time at which the run starts: its first
// segment's start for a run on the grid, its time zero otherwise.
func (r *Feed) startTime() time.Duration {
	if r.grid {
		return r.gridStart
	}
	return r.offset
}

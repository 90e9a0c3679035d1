package dvr

import (
	"fmt"
	"strconv"
	"time"

	"github.com/sluice-video/sluice/internal/packager/cmaf"
)

// RangeError says that a requested range is not in the DVR window, and
// what the window is.
type RangeError struct {
	Param       string // "start" or "end"
	Reason      string
	First, Last time.Time // the window's span; zero when it is empty
	// Label names the window in the message: "DVR window" when empty.
	Label string
}

func (e *RangeError) Error() string {
	label := e.Label
	if label == "" {
		label = "DVR window"
	}
	if e.First.IsZero() {
		return "query parameter " + strconv.Quote(e.Param) + " " + e.Reason + ": the " + label + " is empty (it holds no segment yet)"
	}
	return fmt.Sprintf("query parameter %q %s: the %s is %s to %s", e.Param, e.Reason, label,
		e.First.UTC().Format(time.RFC3339), e.Last.UTC().Format(time.RFC3339))
}

// Available returns the wall-clock span of the archived segments: the start
// of the oldest and the end of the newest. ok is false when nothing is
// archived.
func (a *Archive) Available() (first, last time.Time, ok bool) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	if len(a.entries) == 0 {
		return time.Time{}, time.Time{}, false
	}
	s, _ := a.span(a.entries[0])
	_, e := a.span(a.entries[len(a.entries)-1])
	return s, e, true
}

// span is an entry's wall-clock start and end, from its first rendition.
func (a *Archive) span(e Entry) (time.Time, time.Time) {
	ts := a.meta.Renditions[0].Timescale
	p := e.Pieces[0]
	start := a.meta.AvailabilityStart.Add(ticks(p.Start, ts))
	return start, start.Add(ticks(p.Duration, ts))
}

func ticks(n uint64, timescale uint32) time.Duration {
	if timescale == 0 {
		return 0
	}
	sec := n / uint64(timescale)
	rem := n % uint64(timescale)
	return time.Duration(sec)*time.Second + time.Duration(rem*uint64(time.Second)/uint64(timescale)) //nolint:gosec // media times stay far below 292 years
}

// Cut returns a snapshot of the archived segments that overlap the range
// (the rule Clip applies to the in-memory window): the segment holding
// Start first, the segment holding the instant before End last (with an
// open range, up to the newest). The snapshot is Ended
// when the range is closed; a start-over snapshot is Ended when ended is.
// A range that starts before the window or ends after the newest segment
// is a *RangeError stating the window.
func (a *Archive) Cut(r Range, ended bool) (*cmaf.Snapshot, error) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	var first, last time.Time
	if len(a.entries) > 0 {
		first, _ = a.span(a.entries[0])
		_, last = a.span(a.entries[len(a.entries)-1])
	}
	if err := checkWindow(r, first, last, "DVR window"); err != nil {
		return nil, err
	}
	s := &cmaf.Snapshot{
		AvailabilityStart: a.meta.AvailabilityStart,
		SegmentDuration:   a.meta.SegmentDuration,
		Window:            time.Duration(a.window.Load()),
		Ended:             !r.Open() || ended,
	}
	var sel []Entry
	for _, e := range a.entries {
		if st, en := a.span(e); overlaps(st, en, r) {
			sel = append(sel, e)
		}
	}
	// A run's period starts at its first selected segment, so that a
	// shifted manifest has no empty head; the start stays put as long as
	// the range does.
	runStart := map[uint64]time.Duration{}
	for _, e := range sel {
		if _, ok := runStart[e.Run]; !ok {
			runStart[e.Run] = ticks(e.Pieces[0].Start, a.meta.Renditions[0].Timescale)
		}
	}
	for _, e := range sel {
		if n := len(s.Runs); n == 0 || s.Runs[n-1].ID != e.Run {
			s.Runs = append(s.Runs, cmaf.Run{ID: e.Run, Start: runStart[e.Run], Discontinuity: e.Discontinuity})
		}
	}
	for i, m := range a.meta.Renditions {
		m.Segments = make([]cmaf.SegmentInfo, 0, len(sel))
		for _, e := range sel {
			p := e.Pieces[i]
			m.Segments = append(m.Segments, cmaf.SegmentInfo{
				Number: e.Number, Run: e.Run, Discontinuity: e.Discontinuity,
				Start: p.Start, Duration: p.Duration, Size: p.Size,
			})
		}
		s.Renditions = append(s.Renditions, m)
	}
	_, s.Updated = a.span(sel[len(sel)-1])
	return s, nil
}

// Trim enforces retention: entries that ended more than the window before
// now are deleted with their files, and init segments no remaining entry
// needs. It returns how many segment numbers it deleted. A read-only
// archive deletes nothing: the channel's holder does.
func (a *Archive) Trim(now time.Time) (int, error) {
	a.writing.Lock()
	defer a.writing.Unlock()
	// The entries leave the index readers see at once; the files and the
	// shared index entries are deleted after, without mu.
	a.mu.Lock()
	if a.readOnly {
		a.mu.Unlock()
		return 0, nil
	}
	drop := 0
	for drop < len(a.entries) {
		if _, end := a.span(a.entries[drop]); !end.Before(now.Add(-time.Duration(a.window.Load()))) {
			break
		}
		drop++
	}
	if drop == 0 {
		a.mu.Unlock()
		return 0, nil
	}
	gone := a.entries[:drop]
	lastGone := gone[len(gone)-1].Number
	kept := append([]Entry(nil), a.entries[drop:]...)
	keep := map[uint64]bool{}
	for _, e := range kept {
		keep[e.Run] = true
	}
	var files []stored
	for _, e := range gone {
		for _, r := range a.meta.Renditions {
			files = append(files, stored{epoch: e.Epoch, rendition: r.ID, name: strconv.FormatUint(e.Number, 10) + ".m4s"})
			ik := initKey(r.ID, e.Run)
			if epoch, ok := a.inits[ik]; ok && !keep[e.Run] {
				files = append(files, stored{epoch: epoch, rendition: r.ID, name: "init-" + strconv.FormatUint(e.Run, 10) + ".mp4"})
				delete(a.inits, ik)
			}
		}
	}
	a.entries = kept
	a.mu.Unlock()
	return drop, a.lost(a.store.trim(kept, lastGone, files))
}

// Size returns the bytes of the archived segments (init segments aside).
func (a *Archive) Size() int64 {
	a.mu.RLock()
	defer a.mu.RUnlock()
	var n int64
	for _, e := range a.entries {
		for _, p := range e.Pieces {
			n += int64(p.Size)
		}
	}
	return n
}

// Len returns how many segment numbers are archived.
func (a *Archive) Len() int {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return len(a.entries)
}

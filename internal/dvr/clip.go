package dvr

import (
	"time"

	"github.com/sluice-video/sluice/internal/packager/cmaf"
)

// The selection rule shared by every time-shifted manifest and harvest,
// whether it is cut from the DVR archive or from the packager's in-memory
// window: a segment is in a range when it overlaps it, so that the
// segments chosen cover the whole request and exceed it by less than one
// segment at either end.

// overlaps reports whether the segment from st to en overlaps the range.
func overlaps(st, en time.Time, r Range) bool {
	return en.After(r.Start) && (r.Open() || st.Before(r.End))
}

// checkWindow returns a *RangeError stating the window (first to last,
// called label in the message) when the range is not inside it: start
// before the oldest segment or at or after the end of the newest, or end
// after the newest segment.
func checkWindow(r Range, first, last time.Time, label string) error {
	switch {
	case first.IsZero() && last.IsZero():
		return &RangeError{Param: "start", Reason: "is outside the " + label, Label: label}
	case r.Start.Before(first) || !r.Start.Before(last):
		return &RangeError{Param: "start", Reason: "(" + r.Start.UTC().Format(time.RFC3339Nano) + ") is outside the " + label, First: first, Last: last, Label: label}
	case !r.Open() && r.End.After(last):
		return &RangeError{Param: "end", Reason: "(" + r.End.UTC().Format(time.RFC3339Nano) + ") is after the newest segment", First: first, Last: last, Label: label}
	}
	return nil
}

// holeError is the RangeError of a range inside the window that no
// segment overlaps: it falls in a hole (the channel was not running, or
// its encoder was restarting).
func holeError(r Range, first, last time.Time, label string) error {
	return &RangeError{Param: "start", Reason: "(" + r.Start.UTC().Format(time.RFC3339Nano) +
		") begins a range in which no segment was recorded (the channel was not running then)", First: first, Last: last, Label: label}
}

// Clip cuts a snapshot of the packager's in-memory window to a range by
// the same rule as Archive.Cut: the segments overlapping the range, a
// finished presentation when the range is closed, a start-over one (Ended
// as the channel is) when it is open, and a *RangeError stating the window
// when the range is not inside it. The live edge (parts in progress) is
// dropped, as the archive has none.
func Clip(s *cmaf.Snapshot, r Range) (*cmaf.Snapshot, error) {
	var first, last time.Time
	if len(s.Renditions) > 0 {
		rd := s.Renditions[0]
		if n := len(rd.Segments); n > 0 {
			first = s.AvailabilityStart.Add(rd.Segments[0].StartTime(rd.Timescale))
			l := rd.Segments[n-1]
			last = s.AvailabilityStart.Add(l.StartTime(rd.Timescale) + l.DurationTime(rd.Timescale))
		}
	}
	if err := checkWindow(r, first, last, "window"); err != nil {
		return nil, err
	}
	c := *s
	c.Ended = !r.Open() || s.Ended
	c.Renditions = make([]cmaf.Rendition, len(s.Renditions))
	// A run's period starts at its first selected segment (as in the
	// archive's cut), so that a shifted manifest has no empty head.
	runStart := map[uint64]time.Duration{}
	for i, rd := range s.Renditions {
		rd.Edge = nil
		var kept []cmaf.SegmentInfo
		for _, seg := range rd.Segments {
			st := s.AvailabilityStart.Add(seg.StartTime(rd.Timescale))
			if !overlaps(st, st.Add(seg.DurationTime(rd.Timescale)), r) {
				continue
			}
			kept = append(kept, seg)
			if _, ok := runStart[seg.Run]; !ok && i == 0 {
				runStart[seg.Run] = seg.StartTime(rd.Timescale)
			}
		}
		rd.Segments = kept
		c.Renditions[i] = rd
	}
	if len(c.Renditions) > 0 && len(c.Renditions[0].Segments) == 0 {
		return nil, holeError(r, first, last, "window")
	}
	c.Runs = nil
	for _, run := range s.Runs {
		if st, ok := runStart[run.ID]; ok {
			run.Start = st
			c.Runs = append(c.Runs, run)
		}
	}
	return &c, nil
}

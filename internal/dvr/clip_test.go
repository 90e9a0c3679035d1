package dvr

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/packager/cmaf"
)

func numbers(s *cmaf.Snapshot) []uint64 {
	var n []uint64
	for _, seg := range s.Renditions[0].Segments {
		n = append(n, seg.Number)
	}
	return n
}

// TestClipSelectsAsCutDoes checks that the in-memory window and the
// archive answer the same range with the same segments: those overlapping
// it, covering the request and exceeding it by less than a segment.
func TestClipSelectsAsCutDoes(t *testing.T) {
	f := newFixture(t)
	snap := f.tl.Snapshot(time.Hour)
	rd := snap.Renditions[0]
	segs := rd.Segments
	if len(segs) < 3 {
		t.Fatalf("the in-memory window holds %d segments", len(segs))
	}
	at := func(i int) time.Time { return snap.AvailabilityStart.Add(segs[i].StartTime(rd.Timescale)) }
	end := func(i int) time.Time { return at(i).Add(segs[i].DurationTime(rd.Timescale)) }
	half := time.Second
	cases := []struct {
		r    Range
		want []uint64
	}{
		{Range{Start: at(0), End: at(2)}, []uint64{segs[0].Number, segs[1].Number}},
		{Range{Start: at(0).Add(half), End: at(1).Add(half)}, []uint64{segs[0].Number, segs[1].Number}},
		{Range{Start: at(1).Add(half), End: end(1)}, []uint64{segs[1].Number}},
		{Range{Start: at(1).Add(half)}, numbersFrom(segs[1:])},
	}
	for _, c := range cases {
		clipped, err := Clip(snap, c.r)
		if err != nil {
			t.Fatalf("Clip(%v): %v", c.r, err)
		}
		cut, err := f.a.Cut(c.r, false)
		if err != nil {
			t.Fatalf("Cut(%v): %v", c.r, err)
		}
		got, arch := numbers(clipped), numbers(cut)
		if !equal(got, c.want) || !equal(arch, c.want) {
			t.Errorf("range %v–%v: in-memory %v, archive %v, want %v", c.r.Start, c.r.End, got, arch, c.want)
		}
		if clipped.Ended != !c.r.Open() || cut.Ended != !c.r.Open() {
			t.Errorf("range %v–%v: ended %v (in-memory) %v (archive)", c.r.Start, c.r.End, clipped.Ended, cut.Ended)
		}
		if len(clipped.Runs) != 1 || clipped.Runs[0].Start != clipped.Renditions[0].Segments[0].StartTime(rd.Timescale) {
			t.Errorf("range %v: the period does not start at the first segment: %+v", c.r.Start, clipped.Runs)
		}
		for _, r := range clipped.Renditions {
			if len(r.Edge) != 0 {
				t.Errorf("%s: a clipped snapshot shows the live edge", r.ID)
			}
		}
	}
}

func numbersFrom(segs []cmaf.SegmentInfo) []uint64 {
	var n []uint64
	for _, s := range segs {
		n = append(n, s.Number)
	}
	return n
}

func equal(a, b []uint64) bool {
	return slices.Equal(a, b)
}

func TestClipOutsideTheWindowStatesIt(t *testing.T) {
	f := newFixture(t)
	snap := f.tl.Snapshot(time.Hour)
	rd := snap.Renditions[0]
	first := snap.AvailabilityStart.Add(rd.Segments[0].StartTime(rd.Timescale))
	l := rd.Segments[len(rd.Segments)-1]
	last := snap.AvailabilityStart.Add(l.StartTime(rd.Timescale) + l.DurationTime(rd.Timescale))
	for _, c := range []struct {
		r     Range
		param string
	}{
		{Range{Start: first.Add(-time.Second)}, "start"},
		{Range{Start: last}, "start"},
		{Range{Start: first, End: last.Add(time.Second)}, "end"},
	} {
		_, err := Clip(snap, c.r)
		var re *RangeError
		if !errors.As(err, &re) || re.Param != c.param || !strings.Contains(err.Error(), "the window is "+first.Format(time.RFC3339)+" to "+last.Format(time.RFC3339)) {
			t.Errorf("Clip(%v): %v, want a %s error stating the window", c.r, err, c.param)
		}
	}
	if _, err := Clip(&cmaf.Snapshot{}, Range{Start: first}); !strings.Contains(fmtErr(err), "window is empty") {
		t.Errorf("an empty window: %v", err)
	}
}

func fmtErr(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

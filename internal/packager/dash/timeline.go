package dash

import (
	"strconv"

	"github.com/sluice-video/sluice/internal/packager/cmaf"
)

// timelineEntry is one <S> element: Repeat more segments of Duration follow
// the first, back to back. HasStart says whether t is written, which is the
// case for the first entry and after any gap or overlap.
type timelineEntry struct {
	Start    uint64
	HasStart bool
	Duration uint64
	Repeat   int
}

// timeline compresses consecutive segments of one Representation in one
// Period into SegmentTimeline entries: equal durations back to back become
// repeats, and a segment that does not start where the previous one ended
// opens an entry with an explicit start.
func timeline(segs []cmaf.SegmentInfo) []timelineEntry {
	var out []timelineEntry
	var end uint64
	for i, seg := range segs {
		contiguous := i > 0 && seg.Start == end
		switch {
		case contiguous && seg.Duration == out[len(out)-1].Duration:
			out[len(out)-1].Repeat++
		case contiguous:
			out = append(out, timelineEntry{Start: seg.Start, Duration: seg.Duration})
		default:
			out = append(out, timelineEntry{Start: seg.Start, HasStart: true, Duration: seg.Duration})
		}
		end = seg.Start + seg.Duration
	}
	return out
}

// timelineElement renders entries as a <SegmentTimeline>.
func timelineElement(entries []timelineEntry) *element {
	tl := newElement("SegmentTimeline")
	for _, e := range entries {
		s := newElement("S")
		if e.HasStart {
			s.set("t", strconv.FormatUint(e.Start, 10))
		}
		s.set("d", strconv.FormatUint(e.Duration, 10))
		if e.Repeat > 0 {
			s.set("r", strconv.Itoa(e.Repeat))
		}
		tl.add(s)
	}
	return tl
}

package dash

import (
	"strconv"
	"time"

	"github.com/sluice-video/sluice/internal/packager/cmaf"
)

// staticMPD wraps the periods of an ended snapshot in a static MPD: the
// presentation starts at the first run's start, so every Period@start is
// shifted by it, and it lasts until the end of the last segment.
func staticMPD(s *cmaf.Snapshot, periods []*element, end, longest time.Duration) []byte {
	starts := make(map[string]time.Duration, len(s.Runs))
	for _, r := range s.Runs {
		starts["p"+strconv.FormatUint(r.ID, 10)] = r.Start
	}
	origin := time.Duration(-1)
	for _, p := range periods {
		st := starts[p.attr("id")]
		if origin < 0 {
			origin = st
		}
		p.set("start", formatDuration(st-origin))
	}
	root := newElement("MPD").
		set("xmlns", mpdNamespace).
		set("profiles", profiles).
		set("type", "static").
		set("mediaPresentationDuration", formatDuration(ceilMillis(end-origin))).
		set("minBufferTime", formatDuration(s.SegmentDuration)).
		set("maxSegmentDuration", formatDuration(ceilMillis(longest)))
	root.add(periods...)
	return root.document()
}

// attr returns an attribute's value ("" when unset).
func (e *element) attr(name string) string {
	for _, a := range e.attrs {
		if a.name == name {
			return a.value
		}
	}
	return ""
}

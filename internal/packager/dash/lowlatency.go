package dash

import (
	"strconv"
	"time"

	"github.com/sluice-video/sluice/internal/packager/cmaf"
)

// lowLatencyProfile is the DASH-IF low-latency profile identifier.
const lowLatencyProfile = "http://www.dashif.org/guidelines/low-latency-live-v5"

// LowLatency describes low-latency DASH: segments are announced as soon as
// their first chunk exists and served with chunked transfer while they are
// written.
type LowLatency struct {
	// SegmentDuration is the channel's segment length and ChunkDuration
	// the length of the CMAF chunks the packager cuts.
	SegmentDuration time.Duration
	ChunkDuration   time.Duration
	// TargetLatency is the latency players aim for (ServiceDescription).
	TargetLatency time.Duration
}

// availabilityTimeOffset is how much earlier than its end a segment may be
// requested: all but its first chunk.
func (ll *LowLatency) availabilityTimeOffset() time.Duration {
	return max(ll.SegmentDuration-ll.ChunkDuration, 0)
}

// serviceDescription tells players the latency to aim for and how much they
// may speed up or slow down to keep it.
func serviceDescription(ll *LowLatency) *element {
	target := ll.TargetLatency.Milliseconds()
	return newElement("ServiceDescription").set("id", "0").add(
		newElement("Latency").
			set("referenceId", "0").
			set("target", strconv.FormatInt(target, 10)).
			set("min", strconv.FormatInt(target/2, 10)).
			set("max", strconv.FormatInt(target*3, 10)),
		newElement("PlaybackRate").set("min", "0.96").set("max", "1.04"),
	)
}

// lowLatencyTemplate addresses a run's segments by number with a fixed
// duration (no SegmentTimeline), so a player can compute and request the
// segment being written; availabilityTimeOffset lets it do so as soon as the
// first chunk exists. Segment k of the run starts k segment lengths after
// the run's start, since the encoder puts key frames on that grid (for a
// run on the channel's grid, its first segment's boundary).
func lowLatencyTemplate(r *cmaf.Rendition, run cmaf.Run, segs []cmaf.SegmentInfo, ll *LowLatency) *element {
	ticks := durationToTicks(ll.SegmentDuration, r.Timescale)
	pto := durationToTicks(run.Start, r.Timescale)
	first := segs[0]
	index := uint64(0)
	if first.Start > pto && ticks > 0 {
		index = (first.Start - pto + ticks/2) / ticks
	}
	start := first.Number - min(index, first.Number)
	if run.Grid {
		// Numbered by the grid from the run's first segment, which may
		// start after its boundary.
		start = run.FirstNumber
	}
	return newElement("SegmentTemplate").
		set("timescale", strconv.FormatUint(uint64(r.Timescale), 10)).
		set("presentationTimeOffset", strconv.FormatUint(pto, 10)).
		set("duration", strconv.FormatUint(ticks, 10)).
		set("startNumber", strconv.FormatUint(start, 10)).
		set("availabilityTimeOffset", strconv.FormatFloat(ll.availabilityTimeOffset().Seconds(), 'f', 3, 64)).
		set("availabilityTimeComplete", "false").
		set("media", mediaTemplate).
		set("initialization", "$RepresentationID$/init-"+strconv.FormatUint(run.ID, 10)+".mp4")
}

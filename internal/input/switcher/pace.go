package switcher

import (
	"time"

	"github.com/sluice-video/sluice/internal/input/live"
)

// aheadLimit is how long before the instant its output time stands for a
// frame of a placed run's live input may arrive. A publisher that sends
// faster than real time (a file pushed without pacing, an encoder catching
// up after a stall) would otherwise carry the output, its segment numbers
// and its date-times ahead of the wall clock, by as much as it sent in
// advance; when it slows down again, the next run could number no segment
// until the wall clock caught up with the last one. Beyond this bound the
// run drops the input's frames until the wall clock reaches where the
// output stands, and goes on from the next key frame then, placed at its
// arrival: the output keeps real time and skips what came too fast.
const aheadLimit = 250 * time.Millisecond

// pace holds a placed run's live output to the wall clock. It returns the
// output times frame f (at dts and pts with the run's offset) is written
// at, or drop when f is dropped because the input runs ahead.
func (r *run) pace(dts, pts time.Duration, f live.Frame) (time.Duration, time.Duration, bool) {
	if !r.placed || !r.haveVideo {
		return dts, pts, false
	}
	if !r.ahead {
		if r.earlyBy(pts, f) <= aheadLimit {
			return dts, pts, false
		}
		r.ahead = true
		if !r.active.warnedAhead {
			r.active.warnedAhead = true
			r.s.logger.Warn("input "+r.active.name()+" sends faster than real time: frames that come too early are dropped, to keep the output on the wall clock",
				"input", r.active.name(), "ahead", r.earlyBy(pts, f).Round(time.Millisecond).String())
		}
	}
	if f.Key && !r.start.Add(r.nextVideo).After(arrival(&f, r.s.cfg.Now())) {
		// The wall clock has reached the output's end: go on from this
		// key frame, placed where it arrived.
		r.ahead = false
		r.clock.newEpoch()
		r.offset = r.placedOffset(f)
		return f.DTS + r.offset, f.PTS + r.offset, false
	}
	r.setStatus(func(st *Status) { st.DroppedInput++ })
	return dts, pts, true
}

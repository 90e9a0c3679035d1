package pull

import "time"

// clock keeps one track's timestamps moving forward. Sources keep their
// own clock, but one that jumps back (a restarted encoder, a wrapped
// counter) continues right after the last frame instead, so subscribers
// always see DTS increase.
type clock struct {
	offset  time.Duration
	last    time.Duration
	step    time.Duration // the last spacing between frames
	started bool
}

// maxStep bounds the spacing remembered to continue after a jump.
const maxStep = time.Second

// fix returns the frame's timestamps on the track's forward-only clock.
func (c *clock) fix(pts, dts time.Duration) (time.Duration, time.Duration) {
	pts, dts = pts+c.offset, dts+c.offset
	if c.started {
		if dts <= c.last {
			shift := c.last + max(c.step, time.Millisecond) - dts
			c.offset += shift
			pts, dts = pts+shift, dts+shift
		} else if d := dts - c.last; d < maxStep {
			c.step = d
		}
	}
	c.last, c.started = dts, true
	return max(pts, dts), dts
}

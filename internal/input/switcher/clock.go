package switcher

import (
	"sync"
	"time"
)

// Clock is what one run of the switcher knows about the wall-clock times of
// its output: for each video frame, by its output timestamp, when it was
// captured (the instant it arrived at the input's hub, or the instant fill
// was due) and when it was handed to the encoder. The encoder keeps the
// stream's timestamps (its output time is the switcher's output time), so
// the packager places the run on the wall clock from the capture time of
// its first frame, and the stage figures come from the handing-over times.
// It is safe for concurrent use: the switcher writes while the packager
// reads.
type Clock struct {
	mu sync.Mutex
	// ring holds the latest frames, oldest first from next (it is full
	// once n reaches len(ring)).
	ring  [clockFrames]clockFrame
	next  int
	n     int
	epoch uint64
}

// clockFrame is one video frame of the output.
type clockFrame struct {
	pts      time.Duration
	captured time.Time
	fed      time.Time
	// epoch changes whenever the output's timestamps stop following the
	// same clock: fill after input, input after fill, a jump resynchronised.
	epoch uint64
}

// clockFrames is how many frames a Clock keeps: about a minute at 60 fps,
// far more than the packager looks back.
const clockFrames = 4096

// clockSpan is how far around a frame the capture estimate looks.
const clockSpan = 2 * time.Second

// NewClock returns an empty clock.
func NewClock() *Clock { return &Clock{} }

// record notes a frame written to the encoder's input.
func (c *Clock) record(pts time.Duration, captured, fed time.Time) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ring[c.next] = clockFrame{pts: pts, captured: captured, fed: fed, epoch: c.epoch}
	c.next = (c.next + 1) % len(c.ring)
	c.n++
}

// newEpoch starts a new stretch of the output whose timestamps follow
// another clock.
func (c *Clock) newEpoch() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
}

// size is how many frames are kept; c.mu must be held.
func (c *Clock) size() int { return min(c.n, len(c.ring)) }

// frame returns the i-th frame kept, oldest first; c.mu must be held.
func (c *Clock) frame(i int) clockFrame {
	if c.n < len(c.ring) {
		return c.ring[i]
	}
	return c.ring[(c.next+i)%len(c.ring)]
}

// at returns the index of the last frame at or before pts (the first frame
// when pts is before all of them); -1 when there is none. c.mu must be
// held.
func (c *Clock) at(pts time.Duration) int {
	n := c.size()
	if n == 0 {
		return -1
	}
	// Output timestamps only grow: binary search for the last ≤ pts.
	lo, hi := 0, n
	for lo < hi {
		mid := (lo + hi) / 2
		if c.frame(mid).pts <= pts {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return max(lo-1, 0)
}

// Captured returns the wall-clock time the output's frame at pts was
// captured. Arrival stamps are late by however long the ingest took to
// read the frame, never early, so the estimate takes, among the frames of
// the same stretch within two seconds of pts, the earliest arrival
// relative to its timestamp: one frame read promptly is enough to undo the
// delays of all the others.
func (c *Clock) Captured(pts time.Duration) (time.Time, bool) {
	if c == nil {
		return time.Time{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	i := c.at(pts)
	if i < 0 {
		return time.Time{}, false
	}
	ref := c.frame(i)
	zero := ref.captured.Add(-ref.pts) // the wall clock of timestamp 0
	for k := range c.size() {
		f := c.frame(k)
		if f.epoch != ref.epoch || f.pts < pts-clockSpan || f.pts > pts+clockSpan {
			continue
		}
		if z := f.captured.Add(-f.pts); z.Before(zero) {
			zero = z
		}
	}
	return zero.Add(pts), true
}

// Fed returns when the output's frame at pts was handed to the encoder;
// false when no frame within half a frame of pts is known.
func (c *Clock) Fed(pts time.Duration) (time.Time, bool) {
	if c == nil {
		return time.Time{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	i := c.at(pts + fedSlack)
	if i < 0 {
		return time.Time{}, false
	}
	f := c.frame(i)
	if f.pts > pts+fedSlack || pts-f.pts > fedSlack {
		return time.Time{}, false
	}
	return f.fed, true
}

// fedSlack is how far an encoder's frame time may be from the input
// frame's (its frame rate conversion rounds to its own frame grid).
const fedSlack = 20 * time.Millisecond

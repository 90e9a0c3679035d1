package whep

import "time"

// chooser picks a viewer's layer (rung) from its bandwidth estimate. The
// estimator (GCC over transport-wide feedback) cannot see past roughly
// what it is sent, so a steady viewer is tried on the next layer up now
// and then; when the estimate then falls, it goes back down and waits
// longer before the next try.
type chooser struct {
	// bitrates of the layers, highest first.
	bitrates []int64
	cur      int
	nextUp   time.Time
	backoff  time.Duration
	// upAt is when the current layer was tried from below (zero when it
	// was not), at the estimate upEstimate.
	upAt       time.Time
	upEstimate int64
}

// Layer choice tuning.
const (
	// headroom is the share of the estimate a layer may take (audio,
	// RTP and FEC overheads take the rest).
	headroom     = 0.85
	firstBackoff = 8 * time.Second
	maxBackoff   = time.Minute
	// probation is how long after an upgrade a fall of the estimate
	// counts against it.
	probation = 6 * time.Second
)

// newChooser starts at the best layer that fits the initial estimate.
func newChooser(bitrates []int64, estimate int64, now time.Time) *chooser {
	c := &chooser{bitrates: bitrates, backoff: firstBackoff, nextUp: now.Add(firstBackoff)}
	c.cur = c.fits(estimate)
	return c
}

// fits returns the best layer within the estimate (the lowest when none).
func (c *chooser) fits(estimate int64) int {
	for i, b := range c.bitrates {
		if float64(b) <= headroom*float64(estimate) {
			return i
		}
	}
	return len(c.bitrates) - 1
}

// decide returns the layer to send from now on, given the current
// estimate in bits per second and the loss fraction (0–1) the viewer
// reports.
func (c *chooser) decide(now time.Time, estimate int64, loss float64) int {
	want := c.fits(estimate)
	if !c.upAt.IsZero() {
		if now.Sub(c.upAt) < probation {
			if float64(estimate) < 0.85*float64(c.upEstimate) || loss > 0.05 {
				c.failedTry(now)
			}
			return c.cur
		}
		c.upAt = time.Time{}
		if want > c.cur {
			c.failedTry(now)
			return c.cur
		}
		c.backoff = firstBackoff // the try held
	}
	switch {
	case want > c.cur || loss > 0.1:
		c.cur = max(want, min(c.cur+1, len(c.bitrates)-1))
		c.nextUp = now.Add(c.backoff)
	case want < c.cur:
		c.cur = want
	case c.cur > 0 && now.After(c.nextUp) && loss < 0.02:
		c.cur--
		c.upAt, c.upEstimate = now, estimate
		c.nextUp = now.Add(c.backoff)
	}
	return c.cur
}

// failedTry goes back down after an upgrade the network did not carry,
// and waits twice as long before the next.
func (c *chooser) failedTry(now time.Time) {
	c.cur = min(c.cur+1, len(c.bitrates)-1)
	c.upAt = time.Time{}
	c.backoff = min(2*c.backoff, maxBackoff)
	c.nextUp = now.Add(c.backoff)
}

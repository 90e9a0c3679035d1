package whep

import (
	"testing"
	"time"
)

func TestChooserStartsAtWhatFits(t *testing.T) {
	now := time.Unix(1000, 0)
	bitrates := []int64{3_000_000, 1_200_000, 400_000}
	for _, c := range []struct {
		estimate int64
		want     int
	}{{10_000_000, 0}, {1_500_000, 1}, {600_000, 2}, {100_000, 2}} {
		if got := newChooser(bitrates, c.estimate, now).cur; got != c.want {
			t.Errorf("estimate %d: layer %d, want %d", c.estimate, got, c.want)
		}
	}
}

func TestChooserFollowsTheEstimate(t *testing.T) {
	now := time.Unix(1000, 0)
	c := newChooser([]int64{3_000_000, 1_200_000, 400_000}, 1_500_000, now)
	if got := c.decide(now.Add(time.Second), 500_000, 0); got != 2 {
		t.Errorf("a falling estimate: layer %d, want 2", got)
	}
	if got := c.decide(now.Add(2*time.Second), 5_000_000, 0); got != 0 {
		t.Errorf("a rising estimate: layer %d, want 0", got)
	}
	if got := c.decide(now.Add(3*time.Second), 5_000_000, 0.2); got != 1 {
		t.Errorf("heavy loss: layer %d, want one down", got)
	}
}

func TestChooserTriesUpAndBacksOff(t *testing.T) {
	now := time.Unix(1000, 0)
	c := newChooser([]int64{3_000_000, 1_200_000, 400_000}, 500_000, now)
	if c.cur != 2 {
		t.Fatalf("start at %d", c.cur)
	}
	// Steady at the estimate the layer gives: a try one layer up once the
	// first wait is over.
	at := now.Add(firstBackoff + time.Second)
	if got := c.decide(at, 500_000, 0); got != 1 {
		t.Fatalf("no try up after %s: layer %d", firstBackoff, got)
	}
	// The estimate falls during the try: back down, and the next try
	// waits twice as long.
	at = at.Add(2 * time.Second)
	if got := c.decide(at, 300_000, 0); got != 2 {
		t.Fatalf("a failed try stays up: layer %d", got)
	}
	if c.backoff != 2*firstBackoff {
		t.Errorf("backoff %s after a failed try, want %s", c.backoff, 2*firstBackoff)
	}
	if got := c.decide(at.Add(firstBackoff+time.Second), 500_000, 0); got != 2 {
		t.Errorf("tried again before the longer wait: layer %d", got)
	}
	if got := c.decide(at.Add(2*firstBackoff+time.Second), 500_000, 0); got != 1 {
		t.Errorf("no try after the longer wait: layer %d", got)
	}
}

func TestChooserKeepsAHeldTry(t *testing.T) {
	now := time.Unix(1000, 0)
	c := newChooser([]int64{3_000_000, 1_200_000, 400_000}, 500_000, now)
	at := now.Add(firstBackoff + time.Second)
	c.decide(at, 500_000, 0)
	// The estimate grows to carry the layer within the probation.
	if got := c.decide(at.Add(probation+time.Second), 1_600_000, 0); got != 1 {
		t.Errorf("a try that held was undone: layer %d", got)
	}
	if c.backoff != firstBackoff {
		t.Errorf("backoff %s after a held try", c.backoff)
	}
}

func TestSkippedFrames(t *testing.T) {
	const f = 40 * time.Millisecond
	for _, c := range []struct {
		wrote          bool
		last, dur, pts time.Duration
		want           uint64
	}{
		{false, 0, f, 10 * f, 0},    // the first frame
		{true, 0, f, f, 0},          // the next frame
		{true, 0, f, f + f/3, 0},    // a little late
		{true, 0, f, 2 * f, 1},      // one missing
		{true, 0, f, 51 * f, 50},    // joined again at the next key frame
		{true, 10 * f, f, 2 * f, 0}, // an encoder restart goes back
		{true, 0, 0, 5 * f, 0},      // no duration known
		{true, 0, 33 * time.Millisecond, 100 * time.Millisecond, 2},
	} {
		if got := skippedFrames(c.wrote, c.last, c.dur, c.pts); got != c.want {
			t.Errorf("skippedFrames(%v, %v, %v, %v) = %d, want %d", c.wrote, c.last, c.dur, c.pts, got, c.want)
		}
	}
}

package switcher

import (
	"testing"
	"time"
)

func TestClockCapturedUndoesLateArrivals(t *testing.T) {
	c := NewClock()
	base := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	frame := 40 * time.Millisecond
	// The frame at output time n×40 ms was captured at base + n×40 ms; the
	// ingest read most frames late, one of them promptly.
	late := []time.Duration{30, 55, 12, 80, 0, 41, 25, 60}
	for n, l := range late {
		pts := time.Duration(n) * frame
		c.record(pts, base.Add(pts+l*time.Millisecond), base.Add(pts+l*time.Millisecond+time.Millisecond))
	}
	for _, pts := range []time.Duration{0, 3 * frame, 7 * frame, 7*frame + 10*time.Millisecond} {
		got, ok := c.Captured(pts)
		if !ok || !got.Equal(base.Add(pts)) {
			t.Errorf("Captured(%v) = %v, %v; want %v", pts, got, ok, base.Add(pts))
		}
	}
	// Before the first frame: the same clock, extended.
	if got, _ := c.Captured(-frame); !got.Equal(base.Add(-frame)) {
		t.Errorf("Captured(-40ms) = %v", got)
	}
}

func TestClockKeepsStretchesApart(t *testing.T) {
	c := NewClock()
	base := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	// Fill from the run's start, then an input whose frames were captured
	// 300 ms before the output times they were given.
	for n := range 10 {
		pts := time.Duration(n) * 40 * time.Millisecond
		c.record(pts, base.Add(pts), base.Add(pts))
	}
	c.newEpoch()
	for n := 10; n < 20; n++ {
		pts := time.Duration(n) * 40 * time.Millisecond
		c.record(pts, base.Add(pts-300*time.Millisecond), base.Add(pts))
	}
	if got, _ := c.Captured(200 * time.Millisecond); !got.Equal(base.Add(200 * time.Millisecond)) {
		t.Errorf("fill: %v", got.Sub(base))
	}
	if got, _ := c.Captured(600 * time.Millisecond); !got.Equal(base.Add(300 * time.Millisecond)) {
		t.Errorf("input: captured at %v, want 300ms", got.Sub(base))
	}
}

func TestClockFed(t *testing.T) {
	c := NewClock()
	base := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	for n := range 5 {
		pts := time.Duration(n) * 40 * time.Millisecond
		c.record(pts, base, base.Add(pts+5*time.Millisecond))
	}
	if got, ok := c.Fed(80 * time.Millisecond); !ok || !got.Equal(base.Add(85*time.Millisecond)) {
		t.Errorf("Fed(80ms) = %v, %v", got.Sub(base), ok)
	}
	// An encoder frame a few milliseconds off the input's (frame rate
	// conversion) is the nearest input frame.
	if got, ok := c.Fed(83 * time.Millisecond); !ok || !got.Equal(base.Add(85*time.Millisecond)) {
		t.Errorf("Fed(83ms) = %v, %v", got.Sub(base), ok)
	}
	if _, ok := c.Fed(time.Second); ok {
		t.Error("Fed of a frame never written")
	}
	var none *Clock
	if _, ok := none.Captured(0); ok {
		t.Error("a nil clock knows a capture time")
	}
}

func TestClockRingWraps(t *testing.T) {
	c := NewClock()
	base := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	n := clockFrames + 100
	for i := range n {
		pts := time.Duration(i) * 10 * time.Millisecond
		c.record(pts, base.Add(pts), base.Add(pts+time.Millisecond))
	}
	last := time.Duration(n-1) * 10 * time.Millisecond
	if got, ok := c.Fed(last); !ok || !got.Equal(base.Add(last+time.Millisecond)) {
		t.Errorf("the newest frame: %v, %v", got, ok)
	}
	if _, ok := c.Fed(0); ok {
		t.Error("the oldest frame is still kept")
	}
	if got, _ := c.Captured(last); !got.Equal(base.Add(last)) {
		t.Errorf("Captured after wrapping: %v", got.Sub(base))
	}
}

package pull

import (
	"testing"
	"time"
)

func TestClock(t *testing.T) {
	ms := time.Millisecond
	var c clock
	steps := []struct{ pts, dts, wantPTS, wantDTS time.Duration }{
		{100 * ms, 80 * ms, 100 * ms, 80 * ms},
		{140 * ms, 120 * ms, 140 * ms, 120 * ms},
		{180 * ms, 160 * ms, 180 * ms, 160 * ms}, // the spacing is 40 ms
		// The source restarts at zero: the clock continues after the last frame.
		{20 * ms, 0, 220 * ms, 200 * ms},
		{60 * ms, 40 * ms, 260 * ms, 240 * ms},
		// A repeated DTS is pushed forward too.
		{60 * ms, 40 * ms, 300 * ms, 280 * ms},
		// PTS before DTS is raised to DTS.
		{50 * ms, 120 * ms, 360 * ms, 360 * ms},
		// A jump forward is the source's own business.
		{10 * time.Second, 10 * time.Second, 10*time.Second + 240*ms, 10*time.Second + 240*ms},
	}
	for i, s := range steps {
		p, d := c.fix(s.pts, s.dts)
		if p != s.wantPTS || d != s.wantDTS {
			t.Errorf("step %d: %v/%v, want %v/%v", i, p, d, s.wantPTS, s.wantDTS)
		}
	}
}

func TestTicks(t *testing.T) {
	if got := ticks(90000*3600*24*365, 90000); got != 365*24*time.Hour {
		t.Errorf("a year at 90 kHz: %v", got)
	}
	if got := ticks(1024, 48000); got != 21333333*time.Nanosecond {
		t.Errorf("an AAC frame: %v", got)
	}
	if got := ticks(5, 0); got != 0 {
		t.Errorf("no rate: %v", got)
	}
}

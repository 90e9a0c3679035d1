package switcher

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/input/live"
)

// lateRun is a run that has just put its input on air after fill, its key
// frame having arrived keyLag after the instant its output time stands for.
func lateRun(now *time.Time, keyLag time.Duration) *run {
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	sw := &Switcher{cfg: Config{Now: func() time.Time { return *now }}}
	return &run{
		s:      sw,
		start:  start,
		active: &source{hub: live.NewHub("cam", nil)},
		late:   lateWatch{on: true, until: 2 * time.Second, lag: keyLag},
	}
}

// A frame that arrives promptly shows by how much the key frame the input
// resumed at was late; within the bound the date-times are held to the
// run goes on, beyond it the encoder restarts.
func TestLateInputRestartsOnlyBeyondTheDateTimeBound(t *testing.T) {
	for _, tc := range []struct {
		keyLag  time.Duration
		restart bool
	}{
		{keyLag: 20 * time.Millisecond},
		{keyLag: 79 * time.Millisecond},
		{keyLag: 100 * time.Millisecond},
		{keyLag: 180 * time.Millisecond, restart: true},
		{keyLag: 3 * time.Second, restart: true},
	} {
		var now time.Time
		r := lateRun(&now, tc.keyLag)
		dts := 400 * time.Millisecond
		// This frame arrived exactly when its output time stands for.
		f := live.Frame{DTS: dts, Received: r.start.Add(dts)}
		now = f.Received.Add(time.Millisecond)
		err := r.checkLate(dts, dts, f)
		var restart *NeedRestart
		got := errors.As(err, &restart)
		if got != tc.restart {
			t.Errorf("key frame %v late: restart %v (%v), want %v", tc.keyLag, got, err, tc.restart)
		}
		if got && !strings.Contains(restart.Reason, "late") {
			t.Errorf("restart reason %q does not say the input was late", restart.Reason)
		}
		if err != nil && !got {
			t.Errorf("key frame %v late: unexpected error %v", tc.keyLag, err)
		}
	}
}

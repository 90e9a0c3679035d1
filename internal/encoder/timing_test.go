package encoder

import (
	"strings"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/resource"
)

func TestGridTimingStartsAtTheNextBoundary(t *testing.T) {
	as := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	now := as.Add(time.Hour + 2300*time.Millisecond + 400*time.Microsecond)
	file := GridTiming(now, as, 2*time.Second, false)
	if want := (Timing{Start: time.Hour + 4*time.Second, Offset: time.Hour + 2300*time.Millisecond}); file != want {
		t.Errorf("file: %+v, want %+v", file, want)
	}
	live := GridTiming(now, as, 2*time.Second, true)
	if want := (Timing{Start: time.Hour + 4*time.Second, Offset: time.Hour + 2*time.Second - StampLead}); live != want {
		t.Errorf("live: %+v, want %+v", live, want)
	}
	// On a boundary, and never boundary 0.
	if got := GridTiming(as.Add(6*time.Second), as, 2*time.Second, false).Start; got != 6*time.Second {
		t.Errorf("on a boundary: start %v, want 6s", got)
	}
	if got := GridTiming(as, as, 2*time.Second, true); got.Start != 2*time.Second || got.Offset != 0 {
		t.Errorf("at the availability start: %+v, want a start at 2s from offset 0", got)
	}
}

func TestFirstFrameIsOnTheRungsGrid(t *testing.T) {
	for _, c := range []struct {
		start time.Duration
		fps   float64
		n     int64
		at    string
	}{
		{3602 * time.Second, 30, 108060, "3602.000000"},
		{3602 * time.Second, 25, 90050, "3602.000000"},
		// 29.97 fps is 2997/100: frame 107951 is at 3601.9686 s, 107952 at 3602.0020 s.
		{3602 * time.Second, 29.97, 107952, "3602.002002"},
		{1500 * time.Millisecond, 15, 23, "1.533333"},
	} {
		n, at := firstFrame(c.start, c.fps)
		if n.Int64() != c.n || at.FloatString(6) != c.at {
			t.Errorf("start %v at %g fps: frame %v at %s, want %d at %s", c.start, c.fps, n, at.FloatString(6), c.n, c.at)
		}
	}
}

func TestTimedFilters(t *testing.T) {
	tm := &Timing{Start: 3602 * time.Second, Offset: 3600400 * time.Millisecond}
	if got, want := fpsFilter(29.97, tm), "fps=29.97:start_time=3602.002002"; got != want {
		t.Errorf("fps filter %q, want %q", got, want)
	}
	if got, want := keyFrames(2*time.Second, 29.97, tm),
		"expr:if(isnan(prev_forced_t),1,gte(floor((t+3602.002002002+0.001)/2),floor((prev_forced_t+3602.002002002+0.001)/2)+1))"; got != want {
		t.Errorf("key frames %q, want %q", got, want)
	}
	// 3602 s at 48 kHz is 172896000 samples, 168843.75 AAC frames: the
	// audio starts at frame 168844.
	if got, want := audioStart(resource.Audio{SampleRate: 48000}, tm), ":first_pts=172896256"; got != want {
		t.Errorf("audio start %q, want %q", got, want)
	}
	if got, want := shift("setpts", tm), "setpts=PTS+3600.400000/TB,"; got != want {
		t.Errorf("shift %q, want %q", got, want)
	}
	// Without a timing, as before.
	if fpsFilter(30, nil) != "fps=30" || keyFrames(2*time.Second, 30, nil) != "expr:gte(t,n_forced*2)" || audioStart(resource.Audio{}, nil) != "" || shift("setpts", nil) != "" {
		t.Error("an untimed run changed")
	}
	args := strings.Join(timingArgs(LiveSource(), tm), " ")
	if !strings.HasPrefix(args, "-copyts -fflags") || strings.Contains(args, "-start_at_zero") || !strings.Contains(args, "-reinit_filter 0 -i pipe:0") {
		t.Errorf("live source with a timing: %s", args)
	}
}

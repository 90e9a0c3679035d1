package cmaf

import (
	"strings"
	"sync"
	"testing"
)

// TestGridHoleBetweenRunsIsReported: a run on the grid that starts after
// the grid went on without segments (an encoder restarting) leaves
// numbers out; the timeline tells its OnGap hook once, naming them, so
// that the hole in the DVR archive and the gaps in the playlists are
// reported. A run that follows on directly reports nothing.
func TestGridHoleBetweenRunsIsReported(t *testing.T) {
	t.Parallel()
	tl := gridTimeline(t, 0, false)
	var mu sync.Mutex
	var gaps []string
	tl.cfg.OnGap = func(reason string) { mu.Lock(); gaps = append(gaps, reason); mu.Unlock() }
	// The first run cuts 50 and 51 (100 s to 104 s); the second starts at
	// 104 s, right after it (52); the third at 112 s (56), leaving 54 and
	// 55 out.
	gridRun(t, tl, gridEncode(t, 99.5, 100, "4.5", 0))
	gridRun(t, tl, gridEncode(t, 104, 104, "4", 0))
	mu.Lock()
	if len(gaps) != 0 {
		t.Errorf("runs that follow on directly reported gaps: %q", gaps)
	}
	mu.Unlock()
	gridRun(t, tl, gridEncode(t, 111.5, 112, "4.5", 0))
	base := tl.GridNumber(0)
	snap := tl.Snapshot(tl.cfg.Window)
	var got []uint64
	for _, s := range snap.Renditions[0].Segments {
		got = append(got, s.Number-base)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(gaps) != 1 || !strings.Contains(gaps[0], "2 segments are missing") {
		t.Fatalf("segments %v (from the grid's 0), gaps reported %q; want one gap of 2 segments", got, gaps)
	}
}

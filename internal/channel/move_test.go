package channel

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/packager/cmaf"
	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/store"
	"github.com/sluice-video/sluice/internal/testutil/fragmented"
)

// clock is a wall clock the test moves.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// holderRun is one encoder run of a holder: the media is fed as the
// encoder would, the wall clock moves on by as much, and the runtime hears
// of the run's first segment as its loop does.
func holderRun(t *testing.T, rt *runtime, tl *cmaf.Timeline, c *clock, files map[string]string, seconds time.Duration) {
	t.Helper()
	fragmented.Ingest(t, tl.StartRun(), files)
	c.add(seconds)
	p := &pipeline{}
	rt.setPipe(p)
	rt.running(p)
}

// numbers lists a timeline's segment numbers and the discontinuity
// sequence of its runs, oldest first.
func numbers(tl *cmaf.Timeline) (nums, discs []uint64) {
	snap := tl.Snapshot(time.Hour)
	for _, s := range snap.Renditions[0].Segments {
		nums = append(nums, s.Number)
	}
	for _, r := range snap.Runs {
		discs = append(discs, r.Discontinuity)
	}
	return nums, discs
}

// TestNumbersAcrossAMove: node a runs the channel (two encoder runs) and
// dies without saying goodbye; node x takes it over and dies before its
// first segment; node b takes it over a lease later. b's numbers continue
// above a's, on the wall-clock grid, and its first run is exactly one
// discontinuity after a's last.
func TestNumbersAcrossAMove(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "sluice.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	spec := setupSpec(t, `{"segmentSeconds": 2, "video": [{"name": "180p", "width": 320, "height": 180, "bitrate": 200000}]}`, "")
	rec := store.ChannelRecord{
		Channel: resource.Channel{ID: "ch-news", ChannelSpec: spec, State: resource.StateIdle, CreatedAt: setupNow, UpdatedAt: setupNow},
		Desired: resource.StateRunning,
	}
	if err := st.CreateChannel(ctx, rec); err != nil {
		t.Fatal(err)
	}
	files := fragmented.SmallRenditions(t, "8")
	holder := func(c *clock) *runtime {
		m := New(Config{Store: st, Now: c.Now})
		t.Cleanup(func() { m.Close(ctx) })
		r, err := st.GetChannel(ctx, rec.ID)
		if err != nil {
			t.Fatal(err)
		}
		lease, err := m.cl.Acquire(ctx, r.ID, r.Name)
		if err != nil {
			t.Fatal(err)
		}
		return m.newRuntime(r, lease)
	}

	// Node a: two runs (an encoder restart between them).
	clockA := &clock{now: setupNow}
	a := holder(clockA)
	tlA := timelineFor(t, a, spec)
	holderRun(t, a, tlA, clockA, files, 8*time.Second)
	clockA.add(3 * time.Second) // the restart's backoff
	holderRun(t, a, tlA, clockA, files, 8*time.Second)
	numsA, discsA := numbers(tlA)
	lastA, lastDiscA := numsA[len(numsA)-1], discsA[len(discsA)-1]
	if len(discsA) != 2 || lastDiscA != discsA[0]+1 {
		t.Fatalf("node a's runs: discontinuities %v", discsA)
	}
	// Node a dies here: no goodbye, no last save.

	// Node x takes the channel over, starts its encoder and dies before
	// the first segment: its run is no discontinuity anyone saw.
	clockX := &clock{now: clockA.Now().Add(10 * time.Second)}
	x := holder(clockX)
	timelineFor(t, x, spec)
	x.saveTimeline() // as the launch of its encoder does

	// Node b takes the channel over once x's lease expired.
	clockB := &clock{now: clockX.Now().Add(10 * time.Second)}
	b := holder(clockB)
	tlB := timelineFor(t, b, spec)
	holderRun(t, b, tlB, clockB, files, 8*time.Second)
	numsB, discsB := numbers(tlB)
	if numsB[0] <= lastA {
		t.Errorf("node b's first segment is %d, node a's last was %d: numbers went back", numsB[0], lastA)
	}
	if len(discsB) != 1 || discsB[0] != lastDiscA+1 {
		t.Errorf("node b's run is at discontinuity %v, node a's last at %d: want exactly one more", discsB, lastDiscA)
	}
	// On the wall-clock grid: the number of a segment is its start in
	// segments since the Unix epoch, plus 2.
	first := tlB.Snapshot(time.Hour).Renditions[0].Segments[0]
	start := tlB.Snapshot(time.Hour).AvailabilityStart.Add(first.StartTime(90000))
	if grid := uint64(start.UnixMilli()/2000) + 2; first.Number != grid {
		t.Errorf("node b's first segment %d starts at %v, on grid slot %d", first.Number, start, grid)
	}
	if got, _ := st.GetChannel(ctx, rec.ID); got.Timeline.Discontinuity != discsB[0] {
		t.Errorf("stored discontinuity %d, want node b's run's %d", got.Timeline.Discontinuity, discsB[0])
	}
}

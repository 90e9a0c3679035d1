package dvr

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/packager/cmaf"
	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/testutil/fragmented"
	"github.com/sluice-video/sluice/internal/testutil/snapshots"
)

// gapRecorder keeps what an archive's gap hook hears.
type gapRecorder struct {
	mu   sync.Mutex
	gaps []string
}

func (g *gapRecorder) hear(reason string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.gaps = append(g.gaps, reason)
}

func (g *gapRecorder) heard() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.gaps...)
}

// reopen opens the archive in dir again, as a new process does, with its
// gap hook recorded.
func reopen(t *testing.T, dir string) (*Archive, *gapRecorder) {
	t.Helper()
	a, err := OpenArchive(dir, time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	g := &gapRecorder{}
	a.OnGap(g.hear)
	return a, g
}

// TestHoleAcrossARestartIsReported: the archive holds segments up to N
// from an earlier process; the timeline of the new process starts at N+5.
// The numbers between are a hole in the archive that no timeline knows
// of: the archive tells its gap hook once, naming them. A new process
// whose numbers follow on reports nothing, and neither does a channel
// archived for the first time. A timeline started again within the
// process leaves the same kind of hole, said in other words.
func TestHoleAcrossARestartIsReported(t *testing.T) {
	files := fragmented.SmallRenditions(t, "21")
	now := t0.Add(time.Minute)
	dir := t.TempDir()

	first, g1 := reopen(t, dir)
	_, errs := runOn(t, files, now, 0, first)
	if len(errs) > 0 || first.Len() != 10 {
		t.Fatalf("the first process archived %d segments: %v", first.Len(), errs)
	}
	if got := g1.heard(); len(got) != 0 {
		t.Errorf("a channel archived for the first time reported gaps: %q", got)
	}
	n := first.last

	// The server stops; the next process numbers its first segment N+5.
	second, g2 := reopen(t, dir)
	tl, errs := runOn(t, files, now, n+5, second)
	if len(errs) > 0 || tl.FirstNumber() != n+5 {
		t.Fatalf("the second process starts at %d (want %d): %v", tl.FirstNumber(), n+5, errs)
	}
	want := fmt.Sprintf("4 segments are missing (numbers %d to %d): the server was not running the channel", n+1, n+4)
	if got := g2.heard(); len(got) != 1 || got[0] != want {
		t.Fatalf("gaps reported %q, want once %q", got, want)
	}
	if second.Len() != 20 || second.entries[10].Number != n+5 {
		t.Fatalf("the archive holds %d segments, the eleventh numbered %d; want 20 with a hole before %d", second.Len(), second.entries[10].Number, n+5)
	}

	// Within the process, the channel's packaging starts again (a new
	// timeline, its renditions unchanged) two numbers further on.
	m := second.last
	if _, errs := runOn(t, files, now, m+3, second); len(errs) > 0 || second.Len() != 30 {
		t.Fatalf("the new timeline archived up to %d segments: %v", second.Len(), errs)
	}
	want = fmt.Sprintf("2 segments are missing (numbers %d to %d): the channel's packaging started again", m+1, m+2)
	if got := g2.heard(); len(got) != 2 || got[1] != want {
		t.Fatalf("gaps reported %q, want then %q", got, want)
	}

	// A third process continues where the second stopped: no hole.
	third, g3 := reopen(t, dir)
	if _, errs := runOn(t, files, now, second.last+1, third); len(errs) > 0 || third.Len() != 40 {
		t.Fatalf("the third process archived up to %d segments: %v", third.Len(), errs)
	}
	if got := g3.heard(); len(got) != 0 {
		t.Errorf("contiguous numbers across a restart reported gaps: %q", got)
	}
}

// TestServicePublishesTheHoleOfARestart: the service of a new process
// publishes the hole between its archive and the channel's new timeline
// as a segment.gap event of the channel, shaped as the channel's own,
// once however often it ticks.
func TestServicePublishesTheHoleOfARestart(t *testing.T) {
	files := fragmented.SmallRenditions(t, "9")
	now := t0.Add(time.Minute)
	root := t.TempDir()
	outs := []resource.OutputGroup{{Name: "hls", Type: resource.OutputHLS, WindowSeconds: 6, DVRWindowSeconds: 600}}
	var mu sync.Mutex
	var events []resource.Event
	service := func(tl *cmaf.Timeline) *Service {
		return NewService(Config{
			Root: root, Now: func() time.Time { return now },
			Sources: func(context.Context) []Source { return []Source{{Name: "news", Timeline: tl, Outputs: outs}} },
			Publish: func(e resource.Event) { mu.Lock(); events = append(events, e); mu.Unlock() },
		})
	}
	timeline := func(minNumber uint64) *cmaf.Timeline {
		tl, err := cmaf.NewTimeline(cmaf.Config{
			SegmentDuration: 2 * time.Second, Window: time.Minute, AvailabilityStart: t0, MinNumber: minNumber,
			Renditions: []cmaf.RenditionConfig{{ID: "180p", Kind: cmaf.Video, FrameRate: 25}, {ID: "audio", Kind: cmaf.Audio}},
			Now:        func() time.Time { return now },
		})
		if err != nil {
			t.Fatal(err)
		}
		fragmented.Ingest(t, tl.StartRun(), files)
		return tl
	}

	before := timeline(0)
	service(before).Tick(context.Background())
	last := before.NextNumber() - 1

	after := timeline(last + 3)
	s := service(after)
	for range 3 {
		s.Tick(context.Background())
	}
	a, err := s.Archive("news", 0)
	if err != nil || a.Len() != 8 {
		t.Fatalf("the archive holds %d segments (%v), want the 4 of each process", a.Len(), err)
	}
	mu.Lock()
	defer mu.Unlock()
	reason := fmt.Sprintf("2 segments are missing (numbers %d to %d): the server was not running the channel", last+1, last+2)
	if len(events) != 1 {
		t.Fatalf("events %+v, want one segment.gap", events)
	}
	e := events[0]
	if e.Type != resource.EventSegmentGap || e.Resource != "channel/news" || e.Detail["channel"] != "news" ||
		e.Detail["reason"] != reason || e.Message != "channel news: "+reason {
		t.Fatalf("event %+v, want a segment.gap of channel news for %q", e, reason)
	}
}

// A range that falls wholly in a hole of the archive (segments a
// restart never recorded) is refused with a RangeError that says so, from
// the archive and from the in-memory window alike; it does not panic.
func TestCutInsideAHoleStatesIt(t *testing.T) {
	f := newFixture(t)
	// Segments 4 to 6 were never recorded: a 6 s hole.
	f.a.entries = append(f.a.entries[:4:4], f.a.entries[7:]...)
	_, holeFrom := f.a.span(f.a.entries[3])
	holeTo, _ := f.a.span(f.a.entries[4])
	if holeTo.Sub(holeFrom) != 6*time.Second {
		t.Fatalf("the hole lasts %v, want 6 s", holeTo.Sub(holeFrom))
	}
	_, err := f.a.Cut(Range{Start: holeFrom.Add(time.Second), End: holeTo.Add(-time.Second)}, false)
	var re *RangeError
	if !errors.As(err, &re) || !strings.Contains(err.Error(), "no segment") {
		t.Fatalf("Cut inside the hole: %v, want a RangeError saying no segment was recorded there", err)
	}
	if snap, err := f.a.Cut(Range{Start: holeFrom.Add(-time.Second), End: holeTo.Add(time.Second)}, false); err != nil || len(snap.Renditions[0].Segments) != 2 {
		t.Fatalf("Cut across the hole: %v", err)
	}

	// The in-memory window cuts by the same rule: two runs 6 s apart.
	r1 := cmaf.Run{ID: 7, Start: 20 * time.Second, Discontinuity: 3}
	r2 := cmaf.Run{ID: 9, Start: 32 * time.Second, Discontinuity: 4}
	v := append(snapshots.VideoSegs(r1, 10, 20*snapshots.VideoScale, snapshots.TwoSeconds, snapshots.TwoSeconds, snapshots.TwoSeconds),
		snapshots.VideoSegs(r2, 16, 32*snapshots.VideoScale, snapshots.TwoSeconds, snapshots.TwoSeconds, snapshots.TwoSeconds)...)
	mem := snapshots.Build([]cmaf.Run{r1, r2}, v, v, nil)
	at := func(d time.Duration) time.Time { return mem.AvailabilityStart.Add(d) }
	if _, err := Clip(mem, Range{Start: at(27 * time.Second), End: at(31 * time.Second)}); !errors.As(err, &re) || !strings.Contains(err.Error(), "no segment") {
		t.Fatalf("Clip inside the gap between runs: %v, want a RangeError saying no segment was recorded there", err)
	}
	if c, err := Clip(mem, Range{Start: at(25 * time.Second), End: at(33 * time.Second)}); err != nil || len(c.Renditions[0].Segments) != 2 {
		t.Fatalf("Clip across the gap: %v", err)
	}
}

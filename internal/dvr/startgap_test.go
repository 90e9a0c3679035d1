package dvr

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/packager/cmaf"
	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/testutil/fragmented"
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

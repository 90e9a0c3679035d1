package dvr

import (
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/packager/cmaf"
	"github.com/sluice-video/sluice/internal/testutil/fragmented"
)

var t0 = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

// fixture is a timeline with a 6 s memory window fed 21 s of media, whose
// every new segment is archived at once, as the service does.
type fixture struct {
	tl  *cmaf.Timeline
	a   *Archive
	dir string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	files := fragmented.SmallRenditions(t, "21")
	f := &fixture{dir: t.TempDir()}
	var err error
	if f.a, err = OpenArchive(f.dir, time.Hour, nil); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	f.tl, err = cmaf.NewTimeline(cmaf.Config{
		SegmentDuration: 2 * time.Second, Window: 6 * time.Second, AvailabilityStart: t0,
		Renditions: []cmaf.RenditionConfig{{ID: "180p", Kind: cmaf.Video, FrameRate: 25}, {ID: "audio", Kind: cmaf.Audio}},
		Now:        func() time.Time { return t0.Add(time.Minute) },
		OnSegment: func(string, time.Duration) {
			mu.Lock()
			defer mu.Unlock()
			if _, err := f.a.Sync(f.tl); err != nil {
				t.Errorf("sync: %v", err)
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	fragmented.Ingest(t, f.tl.StartRun(), files)
	return f
}

func TestArchiveKeepsSegmentsBeyondMemory(t *testing.T) {
	f := newFixture(t)
	inMemory := len(f.tl.Snapshot(time.Hour).Renditions[0].Segments)
	if f.a.Len() != 10 || inMemory >= 10 {
		t.Fatalf("archive has %d segments, memory %d; want 10 archived and fewer in memory", f.a.Len(), inMemory)
	}
	first := f.a.entries[0].Number
	if _, ok := f.tl.Segment("180p", first); ok {
		t.Fatalf("segment %d is still in memory; the test needs it gone", first)
	}
	data, ok := f.a.Segment("180p", first)
	if !ok || len(data) == 0 || len(data) != f.a.entries[0].Pieces[0].Size {
		t.Fatalf("archived segment %d: %d bytes, ok=%v", first, len(data), ok)
	}
	if _, ok := f.a.Init("audio", f.a.entries[0].Run); !ok {
		t.Fatal("the init segment of the run is not archived")
	}
	if _, ok := f.a.Segment("180p", first-1); ok {
		t.Fatal("a segment the index does not list was served")
	}
	// A reopened archive reads the same index.
	b, err := OpenArchive(f.dir, time.Hour, nil)
	if err != nil || b.Len() != 10 {
		t.Fatalf("reopened archive: %d segments, %v", b.Len(), err)
	}
}

func TestCutSelectsTheSegmentsOfTheRange(t *testing.T) {
	f := newFixture(t)
	e := f.a.entries
	s3, _ := f.a.span(e[3])
	s6, _ := f.a.span(e[6])
	// From inside segment 3 to the start of segment 6: segments 3, 4, 5.
	snap, err := f.a.Cut(Range{Start: s3.Add(500 * time.Millisecond), End: s6}, false)
	if err != nil {
		t.Fatal(err)
	}
	if !snap.Ended {
		t.Error("a closed range is not ended")
	}
	for _, r := range snap.Renditions {
		var got []uint64
		for _, s := range r.Segments {
			got = append(got, s.Number)
		}
		if len(got) != 3 || got[0] != e[3].Number || got[2] != e[5].Number {
			t.Errorf("%s: segments %v, want %d..%d", r.ID, got, e[3].Number, e[5].Number)
		}
	}
	// Start-over: from segment 6 to the newest, not ended.
	snap, err = f.a.Cut(Range{Start: s6}, false)
	if err != nil {
		t.Fatal(err)
	}
	if snap.Ended || len(snap.Renditions[0].Segments) != 4 || snap.Renditions[0].Segments[0].Number != e[6].Number {
		t.Errorf("start-over: ended=%v segments=%d", snap.Ended, len(snap.Renditions[0].Segments))
	}
}

func TestCutOutsideTheWindowStatesIt(t *testing.T) {
	f := newFixture(t)
	first, last, _ := f.a.Available()
	cases := []struct {
		r     Range
		param string
	}{
		{Range{Start: first.Add(-time.Second)}, "start"},
		{Range{Start: last.Add(time.Second)}, "start"},
		{Range{Start: first, End: last.Add(time.Second)}, "end"},
	}
	for _, c := range cases {
		_, err := f.a.Cut(c.r, false)
		var re *RangeError
		if !errors.As(err, &re) || re.Param != c.param || !strings.Contains(err.Error(), first.Format(time.RFC3339)) || !strings.Contains(err.Error(), last.Format(time.RFC3339)) {
			t.Errorf("Cut(%v): %v, want a %s error stating the window", c.r, err, c.param)
		}
	}
}

func TestTrimEnforcesRetention(t *testing.T) {
	f := newFixture(t)
	f.a.SetWindow(time.Minute)
	e := f.a.entries
	_, end4 := f.a.span(e[4])
	// Just over a minute after the end of segment 4, segments 0..4 are past the window.
	n, err := f.a.Trim(end4.Add(time.Minute).Add(time.Millisecond))
	if err != nil || n != 5 {
		t.Fatalf("trimmed %d (%v), want 5", n, err)
	}
	if _, ok := f.a.Segment("180p", e[0].Number); ok {
		t.Error("a deleted segment is still served")
	}
	files, _ := filepath.Glob(filepath.Join(f.dir, "180p", "*.m4s"))
	if len(files) != 5 {
		t.Errorf("%d segment files on disk, want 5", len(files))
	}
	if _, ok := f.a.Init("180p", e[5].Run); !ok {
		t.Error("the init segment of the remaining run was deleted")
	}
	// Everything ends: the disk holds nothing but the index and meta.
	if n, _ := f.a.Trim(t0.Add(24 * time.Hour)); n != 5 {
		t.Errorf("trimmed %d, want the last 5", n)
	}
	files, _ = filepath.Glob(filepath.Join(f.dir, "*", "*"))
	if len(files) != 0 {
		t.Errorf("files left after full retention: %v", files)
	}
	b, err := OpenArchive(f.dir, time.Minute, nil)
	if err != nil || b.Len() != 0 {
		t.Fatalf("reopened archive: %d segments, %v", b.Len(), err)
	}
}

package cmaf

import (
	"bytes"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/testutil/fragmented"
)

// A replica run takes the segments and parts of another timeline with
// their numbers; a second run may start numbers later, and every number
// still finds its segment.
func TestReplicaKeepsNumbersAcrossRuns(t *testing.T) {
	t.Parallel()
	files := encodeLowLatency(t, "4.5")
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	src := newPartTimeline(t, now)
	fragmented.Ingest(t, src.StartRun(), files)
	p := src.Progress(0)
	if len(p.Rows) < 4 || len(p.Edge) != 2 || len(p.Edge[0]) == 0 || len(p.Runs) != 1 {
		t.Fatalf("progress: %d rows, %d edge renditions, %d runs", len(p.Rows), len(p.Edge), len(p.Runs))
	}
	run := p.Runs[0]

	dst := newPartTimeline(t, now)
	first, err := dst.StartReplica(run.Start, run.Silent, run.Inits)
	if err != nil {
		t.Fatal(err)
	}
	for _, rw := range p.Rows[:2] {
		if err := first.Complete(rw.Number, rw.Segments); err != nil {
			t.Fatal(err)
		}
	}
	if err := first.Complete(p.Rows[3].Number, p.Rows[3].Segments); err == nil {
		t.Fatal("a run took a number that does not follow its last")
	}
	// Segment 2 is missing: the next run starts at 3, with its parts
	// shown at the live edge first.
	second, err := dst.StartReplica(run.Start+2*time.Second, run.Silent, run.Inits)
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Complete(p.Rows[2].Number, p.Rows[2].Segments); err == nil {
		t.Fatal("a replaced run still takes segments")
	}
	rw := p.Rows[3]
	for i, seg := range rw.Segments {
		if err := second.OpenSegment(i, rw.Number, seg.Start, 7); err != nil {
			t.Fatal(err)
		}
		for _, pt := range seg.Parts {
			if err := second.AddPart(i, rw.Number, seg.Data[pt.Offset:pt.Offset+pt.Size], pt.Duration, pt.Independent); err != nil {
				t.Fatal(err)
			}
		}
	}
	if n, _, _, ok := dst.EdgePosition("360p"); ok && n == rw.Number {
		t.Fatal("the edge of a run without a segment is listed")
	}
	segs := append([]*Segment(nil), rw.Segments...)
	for i := range segs {
		c := *segs[i]
		c.Source = 7
		segs[i] = &c
	}
	if err := second.Complete(rw.Number, segs); err != nil {
		t.Fatal(err)
	}
	for _, rw := range p.Rows[4:] {
		if err := second.Complete(rw.Number, rw.Segments); err != nil {
			t.Fatal(err)
		}
	}
	snap := dst.Snapshot(time.Hour)
	if len(snap.Runs) != 2 || snap.Runs[1].Discontinuity != snap.Runs[0].Discontinuity+1 {
		t.Fatalf("runs %+v", snap.Runs)
	}
	for _, r := range snap.Renditions {
		for _, info := range r.Segments {
			got, ok := dst.Segment(r.ID, info.Number)
			want, _ := src.Segment(r.ID, info.Number)
			if !ok || !bytes.Equal(got.Data, want.Data) {
				t.Errorf("%s segment %d differs from its source", r.ID, info.Number)
			}
			if _, ok := dst.Init(r.ID, info.Run); !ok {
				t.Errorf("%s: no init segment for run %d", r.ID, info.Run)
			}
		}
		if _, ok := dst.Segment(r.ID, p.Rows[2].Number); ok {
			t.Errorf("%s: the missing segment %d is found", r.ID, p.Rows[2].Number)
		}
		pd, ok := dst.Part(r.ID, rw.Number, 0)
		if !ok || pd.Source != 7 {
			t.Errorf("%s: part 0 of segment %d: %v, source %d", r.ID, rw.Number, ok, pd.Source)
		}
	}
}

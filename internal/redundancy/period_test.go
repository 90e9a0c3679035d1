package redundancy

import (
	"bytes"
	"regexp"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/packager/dash"
	"github.com/sluice-video/sluice/internal/packager/hls"
)

// periodPattern finds the Periods of an MPD.
var periodPattern = regexp.MustCompile(`<Period [^>]*>`)

// Two nodes merge the same aligned pipelines, each from the segment it
// had first and at its own time: an edge that moves from one to the other
// finds the same Period (id and start), the same init segment URLs and
// the same playlists. (Which parts of a segment a node listed at its live
// edge may differ: each node chose its pipeline for them on its own.)
func TestNodesServeTheMergedRunAlike(t *testing.T) {
	t.Parallel()
	enc := twoEncodings(t)
	a := newGridPipeline(t, enc[0], epoch)
	// Pipeline 1 starts three seconds late, on the same grid.
	b := newGridPipeline(t, enc[1], epoch.Add(3*time.Second))
	b.skip(3 * time.Second)

	node := func(now time.Time) *Merged {
		cfg := timelineConfig(now)
		m, err := New(Config{Channel: "news", Timeline: cfg})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(m.Close)
		return m
	}
	// Node A merges from pipeline 0's first segment, node B, which began
	// later, from pipeline 1's.
	nodeA, nodeB := node(epoch), node(epoch.Add(4*time.Second))
	nodeA.SetLocal(0, a.tl, a.inputLive)
	a.until(5500 * time.Millisecond)
	a.untilSegments(5)
	untilMerged(t, nodeA, lastNumber(a.tl))
	nodeB.SetLocal(1, b.tl, b.inputLive)
	b.until(5500 * time.Millisecond)
	b.untilSegments(2)
	untilMerged(t, nodeB, lastNumber(b.tl))
	if first, other := complete(nodeA)[0].Start, complete(nodeB)[0].Start; first >= other {
		t.Fatalf("node A begins at decode time %d, node B at %d: the test wants node B to begin later", first, other)
	}
	nodeA.SetLocal(1, b.tl, b.inputLive)
	nodeB.SetLocal(0, a.tl, a.inputLive)
	a.until(time.Hour)
	b.until(time.Hour)
	a.stop()
	b.stop()
	last := max(lastNumber(a.tl), lastNumber(b.tl))
	untilMerged(t, nodeA, last)
	untilMerged(t, nodeB, last)

	snapA, snapB := nodeA.Timeline().Snapshot(3*time.Second), nodeB.Timeline().Snapshot(3*time.Second)
	if len(snapA.Runs) != 1 || len(snapB.Runs) != 1 {
		t.Fatalf("runs %+v on node A and %+v on node B, want one each", snapA.Runs, snapB.Runs)
	}
	mpdA, err := dash.MPD(snapA, dash.Options{Now: epoch.Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	mpdB, err := dash.MPD(snapB, dash.Options{Now: epoch.Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	periodsA, periodsB := periodPattern.FindAll(mpdA, -1), periodPattern.FindAll(mpdB, -1)
	if len(periodsA) != 1 || len(periodsB) != 1 || !bytes.Equal(periodsA[0], periodsB[0]) {
		t.Errorf("node A's Periods %q, node B's %q: want the same one", periodsA, periodsB)
	}
	if !bytes.Equal(mpdA, mpdB) {
		t.Errorf("the nodes' MPDs differ:\n%s\n\n%s", mpdA, mpdB)
	}
	hlsA, err := hls.Media(snapA, "360p")
	if err != nil {
		t.Fatal(err)
	}
	hlsB, err := hls.Media(snapB, "360p")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(hlsA, hlsB) {
		t.Errorf("the nodes' playlists differ:\n%s\n\n%s", hlsA, hlsB)
	}
}

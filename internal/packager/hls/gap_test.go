package hls

import (
	"strings"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/packager/cmaf"
	"github.com/sluice-video/sluice/internal/testutil/snapshots"
)

// TestNumbersJumpBetweenRuns: a run numbered on the wall-clock grid after
// another (another process, or another node that took the channel over)
// leaves numbers out; they are listed as gaps over the time between the
// runs, so the media sequence stays consecutive and players skip them.
func TestNumbersJumpBetweenRuns(t *testing.T) {
	// Run 7: segments 10-12 from 20 s; run 9: segments 16-18 from 32 s,
	// after 6 s without media where 13, 14 and 15 would be.
	r1 := cmaf.Run{ID: 7, Start: 20 * time.Second, Discontinuity: 3}
	r2 := cmaf.Run{ID: 9, Start: 32 * time.Second, Discontinuity: 4}
	v := append(snapshots.VideoSegs(r1, 10, 20*snapshots.VideoScale, snapshots.TwoSeconds, snapshots.TwoSeconds, snapshots.TwoSeconds),
		snapshots.VideoSegs(r2, 16, 32*snapshots.VideoScale, snapshots.TwoSeconds, snapshots.TwoSeconds, snapshots.TwoSeconds)...)
	a := append(snapshots.AlignedAudioSegs(r1, 10, 3), snapshots.AlignedAudioSegs(r2, 16, 3)...)
	snap := snapshots.Build([]cmaf.Run{r1, r2}, v, v, a)
	b, err := Media(snap, "720p")
	if err != nil {
		t.Fatal(err)
	}
	body := string(b)
	want := "#EXTINF:2.000,\n12.m4s\n" +
		"#EXT-X-PROGRAM-DATE-TIME:2026-11-22T10:00:26.000Z\n#EXT-X-GAP\n#EXTINF:2.000,\n13.m4s\n" +
		"#EXT-X-PROGRAM-DATE-TIME:2026-11-22T10:00:28.000Z\n#EXT-X-GAP\n#EXTINF:2.000,\n14.m4s\n" +
		"#EXT-X-PROGRAM-DATE-TIME:2026-11-22T10:00:30.000Z\n#EXT-X-GAP\n#EXTINF:2.000,\n15.m4s\n" +
		"#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI=\"init-9.mp4\"\n#EXT-X-PROGRAM-DATE-TIME:2026-11-22T10:00:32.000Z\n#EXTINF:2.000,\n16.m4s\n"
	if !strings.Contains(body, want) {
		t.Fatalf("the jump between runs is not listed as gaps:\n%s", body)
	}
	// Within a run, numbers must still be consecutive; nor may they go
	// back at a run change.
	within := snapshots.SingleRun(false)
	within.Renditions[0].Segments[3].Number = 7
	if _, err := Media(within, "720p"); err == nil {
		t.Error("a jump within a run was accepted")
	}
	back := snapshots.Build([]cmaf.Run{r1, r2}, append(snapshots.VideoSegs(r1, 10, 20*snapshots.VideoScale, snapshots.TwoSeconds),
		snapshots.VideoSegs(r2, 9, 32*snapshots.VideoScale, snapshots.TwoSeconds)...), nil, nil)
	if _, err := Media(back, back.Renditions[0].ID); err == nil {
		t.Error("numbers going back at a run change were accepted")
	}
}

// TestStartAfterAGapNearTheLiveEdge: right after a restart the newest run
// is shorter than the three target durations players start back from the
// live edge, so they would start in the gap; the playlist then tells them
// to start at the newest run's first segment, and stops once the run is
// long enough, or when no gap precedes it.
func TestStartAfterAGapNearTheLiveEdge(t *testing.T) {
	r1 := cmaf.Run{ID: 7, Start: 20 * time.Second, Discontinuity: 3}
	r2 := cmaf.Run{ID: 9, Start: 32 * time.Second, Discontinuity: 4}
	playlist := func(first uint64, newest int, ended bool) string {
		t.Helper()
		durs := make([]uint64, newest)
		for i := range durs {
			durs[i] = snapshots.TwoSeconds
		}
		v := append(snapshots.VideoSegs(r1, 10, 20*snapshots.VideoScale, snapshots.TwoSeconds, snapshots.TwoSeconds, snapshots.TwoSeconds),
			snapshots.VideoSegs(r2, first, 32*snapshots.VideoScale, durs...)...)
		snap := snapshots.Build([]cmaf.Run{r1, r2}, v, nil, nil)
		snap.Ended = ended
		b, err := Media(snap, snap.Renditions[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if body := playlist(16, 1, false); !strings.Contains(body, "#EXT-X-START:TIME-OFFSET=-2.000\n") {
		t.Errorf("one segment after a gap: no start at the newest run:\n%s", body)
	}
	if body := playlist(16, 2, false); !strings.Contains(body, "#EXT-X-START:TIME-OFFSET=-4.000\n") {
		t.Errorf("two segments after a gap: no start at the newest run:\n%s", body)
	}
	for _, c := range []struct {
		name   string
		body   string
		reason string
	}{
		{"three segments after a gap", playlist(16, 3, false), "the usual start is in the newest run"},
		{"one segment after a restart without a gap", playlist(13, 1, false), "there is no gap to start in"},
		{"an ended playlist", playlist(16, 1, true), "it is played from its start"},
	} {
		if strings.Contains(c.body, "EXT-X-START") {
			t.Errorf("%s: EXT-X-START although %s:\n%s", c.name, c.reason, c.body)
		}
	}
}

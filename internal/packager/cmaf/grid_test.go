package cmaf

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/testutil/fragmented"
	"github.com/sluice-video/sluice/internal/testutil/media"
)

// gridEncode encodes seconds of a test picture (two rungs at 25 fps) and a
// tone as the encoder does for a run on the grid whose source starts at
// media time from and whose output starts at start: media timestamps, key
// frames at each 2 s of media time (keyEvery for the first rung, when
// set), the audio on a grid of 1024 samples. It returns the files by
// rendition.
func gridEncode(t *testing.T, from, start float64, seconds string, keyEvery float64) map[string]string {
	t.Helper()
	dir := t.TempDir()
	out := map[string]string{"360p": filepath.Join(dir, "360p.mp4"), "180p": filepath.Join(dir, "180p.mp4"), "audio": filepath.Join(dir, "audio.mp4")}
	keys := func(every float64) string {
		return fmt.Sprintf("expr:if(isnan(prev_forced_t),1,gte(floor((t+%f+0.001)/%g),floor((prev_forced_t+%f+0.001)/%g)+1))", start, every, start, every)
	}
	first := keys(2)
	if keyEvery > 0 {
		first = keys(keyEvery)
	}
	frag := []string{"-video_track_timescale", "90000", "-f", "mp4", "-movflags", "+frag_keyframe+empty_moov+default_base_moof+negative_cts_offsets+frag_discont",
		"-use_editlist", "0", "-avoid_negative_ts", "make_non_negative", "-frag_duration", "500000"}
	video := func(profile, fk string) []string {
		return []string{"-c:v", "libx264", "-preset", "veryfast", "-profile:v", profile, "-b:v", "300k",
			"-g", "50", "-keyint_min", "50", "-sc_threshold", "0", "-force_key_frames", fk}
	}
	audioStart := int64(math.Ceil(start*48000/1024)) * 1024
	args := []string{"-copyts", "-start_at_zero",
		"-t", seconds, "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25", "-t", seconds, "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-filter_complex", fmt.Sprintf("[0:v]setpts=PTS+%f/TB,split=2[a][b];[a]fps=25:start_time=%f[a2];[b]fps=25:start_time=%f,scale=320:180[b2];"+
			"[1:a]asetpts=PTS+%f/TB,aresample=async=1:first_pts=%d[au]", from, start, start, from, audioStart),
		"-map", "[a2]"}
	args = append(args, video("high", first)...)
	args = append(args, frag...)
	args = append(args, out["360p"], "-map", "[b2]")
	args = append(args, video("baseline", keys(2))...)
	args = append(args, frag...)
	args = append(args, out["180p"], "-map", "[au]", "-c:a", "aac", "-b:a", "96k", "-ar", "48000", "-ac", "2",
		"-f", "mp4", "-movflags", "+empty_moov+default_base_moof+frag_discont", "-use_editlist", "0", "-avoid_negative_ts", "make_non_negative",
		"-frag_duration", "500000", out["audio"])
	media.FFmpeg(t, args...)
	return out
}

// gridTimeline is a timeline of the renditions gridEncode makes, 2 s
// segments, its availability start 100 s before now.
func gridTimeline(t *testing.T, minNumber uint64, passthrough bool) *Timeline {
	t.Helper()
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	tl, err := NewTimeline(Config{
		SegmentDuration:   2 * time.Second,
		Window:            time.Minute,
		AvailabilityStart: now.Add(-100 * time.Second),
		MinNumber:         minNumber,
		Renditions: []RenditionConfig{
			{ID: "360p", Kind: Video, FrameRate: 25, Passthrough: passthrough},
			{ID: "180p", Kind: Video, FrameRate: 25},
			{ID: "audio", Kind: Audio},
		},
		Now: func() time.Time { return now },
	})
	if err != nil {
		t.Fatal(err)
	}
	return tl
}

// gridRun feeds files to a new run of tl on the grid.
func gridRun(t *testing.T, tl *Timeline, files map[string]string) *Feed {
	t.Helper()
	feed := tl.StartRun()
	feed.OnGrid()
	fragmented.Ingest(t, feed, files)
	return feed
}

// TestRunsOnTheGridAreNumberedByTheirPlace: an encoder run on the grid, and
// a second run after a gap (a restart), are numbered by where their
// segments fall on the grid; the numbers the gap skipped are listed as
// gaps after a discontinuity; every segment is found by its number.
func TestRunsOnTheGridAreNumberedByTheirPlace(t *testing.T) {
	t.Parallel()
	tl := gridTimeline(t, 0, false)
	// The first run's source starts at 99.5 s, its output at the boundary
	// at 100 s; the second's at 106.3 s and 108 s.
	a := gridRun(t, tl, gridEncode(t, 99.5, 100, "5", 0))
	b := gridRun(t, tl, gridEncode(t, 106.3, 108, "6.2", 0))
	base := tl.GridNumber(0)
	if want := uint64(time.Date(2026, 11, 22, 9, 58, 20, 0, time.UTC).Unix()/2 + 2); base != want {
		t.Fatalf("segment 0 of the grid is number %d, want %d (the wall-clock count of segments)", base, want)
	}
	snap := tl.Snapshot(time.Minute)
	if len(snap.Runs) != 2 || !snap.Runs[0].Grid || !snap.Runs[0].Aligned || snap.Runs[0].Start != 100*time.Second || snap.Runs[0].FirstNumber != base+50 ||
		snap.Runs[1].Start != 108*time.Second || snap.Runs[1].FirstNumber != base+54 || snap.Runs[1].Discontinuity != snap.Runs[0].Discontinuity+1 {
		t.Fatalf("runs %+v, want runs on the grid from 100 s (number %d) and from 108 s (number %d)", snap.Runs, base+50, base+54)
	}
	for _, r := range snap.Renditions {
		var got []string
		for _, s := range r.Segments {
			got = append(got, fmt.Sprintf("%d@%v", s.Number-base, s.StartTime(r.Timescale).Round(50*time.Millisecond)))
			if seg, _ := tl.Segment(r.ID, s.Number); !seg.Aligned {
				t.Errorf("%s segment %d is not aligned", r.ID, s.Number)
			}
		}
		// Audio segments start at their first AAC frame at or after the
		// boundary: within 1024 samples (21 ms) of it.
		want := "50@1m40s 51@1m42s 54@1m48s 55@1m50s"
		if strings.Join(got, " ") != want {
			t.Errorf("%s: segments %s, want %s", r.ID, strings.Join(got, " "), want)
		}
	}
	for _, n := range []uint64{base + 51, base + 54} {
		seg, ok := tl.Segment("360p", n)
		if !ok || seg.Number != n {
			t.Errorf("segment %d: %v %+v", n, ok, seg)
		}
	}
	if _, ok := tl.Segment("360p", base+52); ok {
		t.Errorf("segment %d, which no run made, is found", base+52)
	}
	for _, f := range []*Feed{a, b} {
		if al := f.Alignment(); !al.Aligned {
			t.Errorf("run %d: %+v", f.ID(), al)
		}
	}
	// The two runs' init segments are the same bytes.
	for _, id := range []string{"360p", "180p", "audio"} {
		ia, _ := tl.Init(id, a.ID())
		ib, _ := tl.Init(id, b.ID())
		if !bytes.Equal(ia, ib) || bytes.Contains(ia, []byte("udta")) {
			t.Errorf("%s: init segments of %d and %d bytes differ, or carry user data", id, len(ia), len(ib))
		}
	}
}

// TestGridRunEndsWhenASegmentIsDropped: numbers are consecutive within a
// run and a run on the grid numbers by the grid, so it cannot leave a
// segment out and go on.
func TestGridRunEndsWhenASegmentIsDropped(t *testing.T) {
	t.Parallel()
	files := gridEncode(t, 100, 100, "9", 0)
	data, err := os.ReadFile(files["180p"])
	if err != nil {
		t.Fatal(err)
	}
	tl := gridTimeline(t, 0, false)
	var mu sync.Mutex
	var gaps []string
	tl.cfg.OnGap = func(reason string) { mu.Lock(); gaps = append(gaps, reason); mu.Unlock() }
	feed := tl.StartRun()
	feed.OnGrid()
	for _, id := range []string{"360p", "audio"} {
		whole, err := os.ReadFile(files[id])
		if err != nil {
			t.Fatal(err)
		}
		if err := feed.Ingest(id, bytes.NewReader(whole)); err != nil {
			t.Fatalf("%s: %v", id, err)
		}
	}
	// The 180p rung loses its second segment (fragments 4 to 7).
	err = feed.Ingest("180p", bytes.NewReader(withoutFragments(t, data, 4, 8)))
	if err == nil || !strings.Contains(err.Error(), "a segment was dropped") {
		t.Fatalf("ingesting a rung without its second segment: %v, want the run to end", err)
	}
	snap := tl.Snapshot(time.Minute)
	if n := len(snap.Renditions[0].Segments); n != 1 {
		t.Errorf("%d segments listed, want the first only", n)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(gaps) != 1 {
		t.Errorf("gaps %q, want one", gaps)
	}
}

// TestGridNumbersStayAboveTheStoredCounter: numbers only grow, so when an
// earlier process numbered beyond the grid (its segments were shorter, or
// the clock went back), the grid's numbers are raised, and the runs say
// they are no longer aligned.
func TestGridNumbersStayAboveTheStoredCounter(t *testing.T) {
	t.Parallel()
	probe := gridTimeline(t, 0, false)
	ahead := probe.GridNumber(50) + 7
	tl := gridTimeline(t, ahead, false)
	feed := gridRun(t, tl, gridEncode(t, 100, 100, "3", 0))
	snap := tl.Snapshot(time.Minute)
	if seg := snap.Renditions[0].Segments[0]; seg.Number != ahead || seg.StartTime(90000) != 100*time.Second {
		t.Fatalf("first segment %d at %v, want %d at 100s", seg.Number, seg.StartTime(90000), ahead)
	}
	if al := feed.Alignment(); al.Aligned || !strings.Contains(al.Reason, "7 above the grid") {
		t.Errorf("alignment %+v, want not aligned: numbers 7 above the grid's", al)
	}
	if s, _ := tl.Segment("360p", ahead); s.Aligned || snap.Runs[0].Aligned {
		t.Error("a segment numbered off the grid is marked aligned")
	}
}

// TestPassthroughOffTheGridIsNotAligned: a passthrough rendition whose key
// frames do not fall on the grid makes its run unaligned, and says which.
func TestPassthroughOffTheGridIsNotAligned(t *testing.T) {
	t.Parallel()
	tl := gridTimeline(t, 0, true)
	feed := gridRun(t, tl, gridEncode(t, 100, 100, "9", 1.5))
	if al := feed.Alignment(); al.Aligned || !strings.Contains(al.Reason, "rendition 360p") {
		t.Errorf("alignment %+v, want not aligned because of rendition 360p", al)
	}
	dependent := 0
	for _, s := range tl.Snapshot(time.Minute).Renditions[0].Segments {
		if s.Dependent {
			dependent++
			if seg, _ := tl.Segment("360p", s.Number); seg.Aligned {
				t.Errorf("segment %d starts without a key frame but is marked aligned", s.Number)
			}
		}
	}
	if dependent == 0 {
		t.Error("no segment of the passthrough rendition starts without a key frame")
	}
}

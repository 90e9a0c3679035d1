package cmaf

import (
	"bytes"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/Eyevinn/mp4ff/mp4"

	"github.com/sluice-video/sluice/internal/testutil/fragmented"
	"github.com/sluice-video/sluice/internal/testutil/media"
)

// encodeRenditions makes two video rungs and an audio track as the encoder
// does (fragmented MP4, key frames on a 2 s grid) and returns their files.
func encodeRenditions(t *testing.T, seconds string) map[string]string {
	t.Helper()
	dir := t.TempDir()
	out := map[string]string{
		"360p":  filepath.Join(dir, "360p.mp4"),
		"180p":  filepath.Join(dir, "180p.mp4"),
		"audio": filepath.Join(dir, "audio.mp4"),
	}
	frag := []string{"-f", "mp4", "-movflags", "+frag_keyframe+empty_moov+default_base_moof+negative_cts_offsets", "-frag_duration", "500000"}
	video := func(size, profile string) []string {
		return []string{"-c:v", "libx264", "-preset", "veryfast", "-profile:v", profile, "-s", size, "-b:v", "300k",
			"-g", "50", "-keyint_min", "50", "-sc_threshold", "0", "-force_key_frames", "expr:gte(t,n_forced*2)",
			"-video_track_timescale", "90000", "-r", "25"}
	}
	args := []string{
		"-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-t", seconds,
		"-filter_complex", "[0:v]split=2[a][b]",
		"-map", "[a]"}
	args = append(args, video("640x360", "high")...)
	args = append(args, frag...)
	args = append(args, out["360p"], "-map", "[b]", "-t", seconds)
	args = append(args, video("320x180", "baseline")...)
	args = append(args, frag...)
	args = append(args, out["180p"], "-map", "1:a", "-t", seconds, "-c:a", "aac", "-b:a", "96k", "-ar", "48000", "-ac", "2",
		"-f", "mp4", "-movflags", "+empty_moov+default_base_moof", "-frag_duration", "500000", out["audio"])
	media.FFmpeg(t, args...)
	return out
}

func newTestTimeline(t *testing.T, now time.Time) *Timeline {
	t.Helper()
	tl, err := NewTimeline(Config{
		SegmentDuration:   2 * time.Second,
		Window:            60 * time.Second,
		AvailabilityStart: now.Add(-10 * time.Second),
		Renditions: []RenditionConfig{
			{ID: "360p", Kind: Video, Bitrate: 300000, MaxBitrate: 360000, FrameRate: 25},
			{ID: "180p", Kind: Video, Bitrate: 300000, MaxBitrate: 360000, FrameRate: 25},
			{ID: "audio", Kind: Audio, Bitrate: 96000, MaxBitrate: 96000},
		},
		Now: func() time.Time { return now },
	})
	if err != nil {
		t.Fatal(err)
	}
	return tl
}

// fixedClock captured media time m at zero + m, and fed it to the encoder
// 30 ms later.
type fixedClock struct{ zero time.Time }

func (c fixedClock) Captured(m time.Duration) (time.Time, bool) { return c.zero.Add(m), true }
func (c fixedClock) Fed(m time.Duration) (time.Time, bool) {
	return c.zero.Add(m + 30*time.Millisecond), true
}

func TestRunWithAClockStartsAtItsCaptureTime(t *testing.T) {
	files := encodeRenditions(t, "5")
	now := time.Date(2026, 11, 22, 10, 0, 0, 500e6, time.UTC)
	var mu sync.Mutex
	stages := map[string][]time.Duration{}
	tl, err := NewTimeline(Config{
		SegmentDuration:   2 * time.Second,
		AvailabilityStart: now.Add(-10 * time.Second),
		Renditions: []RenditionConfig{
			{ID: "360p", Kind: Video, FrameRate: 25},
			{ID: "180p", Kind: Video, FrameRate: 25},
			{ID: "audio", Kind: Audio},
		},
		Now: func() time.Time { return now },
		OnStage: func(stage string, d time.Duration) {
			mu.Lock()
			defer mu.Unlock()
			stages[stage] = append(stages[stage], d)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	// The encoder's time zero was captured 1.234 s before the availability
	// start's tenth second; the first fragment arrives much later (now).
	zero := now.Add(-10*time.Second + 8766*time.Millisecond)
	feed := tl.StartRun()
	feed.UseClock(fixedClock{zero: zero})
	fragmented.Ingest(t, feed, files)
	snap := tl.Snapshot(time.Minute)
	if len(snap.Runs) != 1 || snap.Runs[0].Start != 8766*time.Millisecond {
		t.Fatalf("runs = %+v, want one run at 8.766 s: its capture time", snap.Runs)
	}
	seg := snap.Renditions[0].Segments[1]
	if got := snap.AvailabilityStart.Add(seg.StartTime(snap.Renditions[0].Timescale)); !got.Equal(zero.Add(2 * time.Second)) {
		t.Errorf("the second segment starts at %v, want its capture time %v", got, zero.Add(2*time.Second))
	}
	// Each fragment of the first rung: fed 30 ms after its capture, read
	// at now; segments listed the moment they were read.
	mu.Lock()
	defer mu.Unlock()
	if len(stages[StageEncoder]) < 5 || stages[StageEncoder][0] <= 0 {
		t.Errorf("encoder stage: %v", stages[StageEncoder])
	}
	if len(stages[StagePackager]) != len(snap.Renditions[0].Segments) || stages[StagePackager][0] != 0 {
		t.Errorf("packager stage: %v for %d segments", stages[StagePackager], len(snap.Renditions[0].Segments))
	}
}

func TestTimelineAlignsRenditions(t *testing.T) {
	files := encodeRenditions(t, "9")
	now := time.Date(2026, 11, 22, 10, 0, 0, 500e6, time.UTC)
	tl := newTestTimeline(t, now)
	feed := tl.StartRun()
	fragmented.Ingest(t, feed, files)

	snap := tl.Snapshot(time.Minute)
	// The run starts when its first sample was read: 10 s after the
	// availability start, less the half second of the first fragment.
	if len(snap.Runs) != 1 || snap.Runs[0].Start < 9400*time.Millisecond || snap.Runs[0].Start > 9500*time.Millisecond {
		t.Fatalf("runs = %+v, want one run anchored at 10 s minus the first fragment", snap.Runs)
	}
	runStart := snap.Runs[0].Start
	// 9 s of media on a 2 s grid: 4 complete segments; the last 1 s is never closed.
	for _, r := range snap.Renditions {
		if len(r.Segments) != 4 {
			t.Fatalf("%s: %d segments, want 4", r.ID, len(r.Segments))
		}
		for i, s := range r.Segments {
			if want := snap.Renditions[0].Segments[i].Number; s.Number != want {
				t.Errorf("%s segment %d: number %d, want %d", r.ID, i, s.Number, want)
			}
			start := s.StartTime(r.Timescale)
			if want := runStart + time.Duration(i)*2*time.Second; absDur(start-want) > 25*time.Millisecond {
				t.Errorf("%s segment %d starts at %v, want %v", r.ID, i, start, want)
			}
		}
		if r.Codec == "" || r.Timescale == 0 {
			t.Errorf("%s: missing track info %+v", r.ID, r)
		}
	}
	v0, v1 := snap.Renditions[0], snap.Renditions[1]
	if v0.Width != 640 || v1.Width != 320 || v0.Codec[:5] != "avc1." {
		t.Errorf("video info: %+v / %+v", v0, v1)
	}
	for i := range v0.Segments {
		if v0.Segments[i].Start != v1.Segments[i].Start || v0.Segments[i].Duration != 180000 {
			t.Errorf("segment %d: video rungs start at %d and %d, duration %d", i, v0.Segments[i].Start, v1.Segments[i].Start, v0.Segments[i].Duration)
		}
	}
	// Each served segment parses, starts with a key frame and carries the
	// timeline's decode time.
	for _, r := range snap.Renditions {
		for _, info := range r.Segments {
			seg, ok := tl.Segment(r.ID, info.Number)
			if !ok {
				t.Fatalf("%s/%d not served", r.ID, info.Number)
			}
			checkSegment(t, r, seg)
		}
		if _, ok := tl.Init(r.ID, feed.ID()); !ok {
			t.Errorf("no init for %s", r.ID)
		}
	}
}

func checkSegment(t *testing.T, r Rendition, seg *Segment) {
	t.Helper()
	f, err := mp4.DecodeFile(bytes.NewReader(seg.Data))
	if err != nil {
		t.Fatalf("%s/%d: %v", r.ID, seg.Number, err)
	}
	if len(f.Segments) != 1 || len(f.Segments[0].Fragments) == 0 {
		t.Fatalf("%s/%d: want one segment of fragments", r.ID, seg.Number)
	}
	first := f.Segments[0].Fragments[0]
	if got := first.Moof.Traf.Tfdt.BaseMediaDecodeTime(); got != seg.Start {
		t.Errorf("%s/%d: tfdt %d, want %d", r.ID, seg.Number, got, seg.Start)
	}
	samples, err := first.GetFullSamples(nil)
	if err != nil || len(samples) == 0 {
		t.Fatalf("%s/%d: samples: %v", r.ID, seg.Number, err)
	}
	if r.Kind == Video && !samples[0].IsSync() {
		t.Errorf("%s/%d does not start with a key frame", r.ID, seg.Number)
	}
}

func TestTimelineRunsAreDiscontinuities(t *testing.T) {
	files := encodeRenditions(t, "5")
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	clock := now
	tl := newTestTimeline(t, now)
	tl.cfg.Now = func() time.Time { return clock }
	first := tl.StartRun()
	fragmented.Ingest(t, first, files)
	n := tl.NextNumber()
	clock = clock.Add(30 * time.Second) // the encoder was down for a while
	second := tl.StartRun()
	fragmented.Ingest(t, second, files)

	snap := tl.Snapshot(time.Minute)
	if len(snap.Runs) != 2 || snap.Runs[1].Discontinuity != snap.Runs[0].Discontinuity+1 {
		t.Fatalf("runs = %+v", snap.Runs)
	}
	if st := snap.Runs[1].Start; st < 39400*time.Millisecond || st > 39500*time.Millisecond {
		t.Errorf("second run starts at %v, want 40 s (wall clock) less its first fragment", st)
	}
	segs := snap.Renditions[0].Segments
	for i := 1; i < len(segs); i++ {
		if segs[i].Number != segs[i-1].Number+1 {
			t.Fatalf("numbers not consecutive: %d then %d", segs[i-1].Number, segs[i].Number)
		}
	}
	if segs[2].Number != n || segs[2].Run != second.ID() {
		t.Errorf("second run's first segment is %+v, want number %d of run %d", segs[2], n, second.ID())
	}
}

func TestTimelineWindowIsBounded(t *testing.T) {
	files := encodeRenditions(t, "5")
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	clock := now
	tl := newTestTimeline(t, now)
	tl.cfg.Window = 6 * time.Second
	tl.cfg.Now = func() time.Time { return clock }
	for range 10 {
		fragmented.Ingest(t, tl.StartRun(), files)
		clock = clock.Add(4 * time.Second)
	}
	tl.mu.RLock()
	rows, runs := len(tl.rows), len(tl.runs)
	tl.mu.RUnlock()
	if rows > 5 || runs > 4 {
		t.Errorf("kept %d segments in %d runs for a 6 s window", rows, runs)
	}
	if got := len(tl.Snapshot(4 * time.Second).Renditions[0].Segments); got != 2 {
		t.Errorf("4 s window lists %d segments, want 2", got)
	}
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

func TestRunsWithoutSegmentsAreNotDiscontinuities(t *testing.T) {
	files := encodeRenditions(t, "5")
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	clock := now
	tl := newTestTimeline(t, now)
	tl.cfg.Now = func() time.Time { return clock }
	fragmented.Ingest(t, tl.StartRun(), files)
	// Encoders that fail before their first segment, again and again.
	for range 50 {
		clock = clock.Add(time.Second)
		empty := tl.StartRun()
		if err := empty.Ingest("360p", bytes.NewReader(nil)); err == nil {
			t.Fatal("an empty stream is an error")
		}
	}
	clock = clock.Add(time.Second)
	fragmented.Ingest(t, tl.StartRun(), files)
	snap := tl.Snapshot(time.Minute)
	if len(snap.Runs) != 2 || snap.Runs[1].Discontinuity != snap.Runs[0].Discontinuity+1 {
		t.Errorf("runs %+v: the failed runs in between must not count", snap.Runs)
	}
	tl.mu.RLock()
	kept := len(tl.runs)
	tl.mu.RUnlock()
	if kept != 2 {
		t.Errorf("%d runs kept; runs without segments must not pile up", kept)
	}
	if tl.Discontinuity() != snap.Runs[1].Discontinuity {
		t.Errorf("persisted discontinuity %d, want the latest run's %d", tl.Discontinuity(), snap.Runs[1].Discontinuity)
	}
}

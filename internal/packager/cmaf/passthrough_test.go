package cmaf

import (
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/testutil/fragmented"
	"github.com/sluice-video/sluice/internal/testutil/media"
)

// encodePassthrough makes an encoded rung on a 1 s key-frame grid and a
// "source" rendition whose key frames come every gop frames at 25 fps, as
// the encoder copies an input's video.
func encodePassthrough(t *testing.T, gop string) map[string]string {
	t.Helper()
	dir := t.TempDir()
	out := map[string]string{"source": filepath.Join(dir, "source.mp4"), "360p": filepath.Join(dir, "360p.mp4"), "audio": filepath.Join(dir, "audio.mp4")}
	frag := []string{"-video_track_timescale", "90000", "-f", "mp4", "-movflags", "+frag_keyframe+empty_moov+default_base_moof+negative_cts_offsets", "-frag_duration", "200000"}
	args := []string{"-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25", "-f", "lavfi", "-i", "sine=sample_rate=48000", "-t", "5.5",
		"-filter_complex", "[0:v]split=2[a][b]",
		"-map", "[a]", "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", gop, "-keyint_min", gop, "-sc_threshold", "0"}
	args = append(args, frag...)
	args = append(args, out["source"], "-map", "[b]", "-t", "5.5", "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency",
		"-g", "25", "-keyint_min", "25", "-sc_threshold", "0", "-force_key_frames", "expr:gte(t,n_forced*1)")
	args = append(args, frag...)
	args = append(args, out["360p"], "-map", "1:a", "-t", "5.5", "-c:a", "aac", "-f", "mp4", "-movflags", "+empty_moov+default_base_moof+frag_every_frame", out["audio"])
	media.FFmpeg(t, args...)
	return out
}

func passthroughTimeline(t *testing.T, onKeys func(KeyFrames)) *Timeline {
	t.Helper()
	tl, err := NewTimeline(Config{
		SegmentDuration: time.Second, PartDuration: 200 * time.Millisecond, Window: 30 * time.Second,
		AvailabilityStart: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC),
		Renditions: []RenditionConfig{
			{ID: "source", Kind: Video, Passthrough: true},
			{ID: "360p", Kind: Video, FrameRate: 25},
			{ID: "audio", Kind: Audio},
		},
		Now:         func() time.Time { return time.Date(2026, 1, 1, 12, 0, 10, 0, time.UTC) },
		OnKeyFrames: onKeys,
	})
	if err != nil {
		t.Fatal(err)
	}
	return tl
}

func TestPassthroughOnTheGrid(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var reports []KeyFrames
	tl := passthroughTimeline(t, func(k KeyFrames) { mu.Lock(); reports = append(reports, k); mu.Unlock() })
	fragmented.Ingest(t, tl.StartRun(), encodePassthrough(t, "25"))
	snap := tl.Snapshot(time.Minute)
	src, enc := snap.Renditions[0], snap.Renditions[1]
	if len(src.Segments) < 4 {
		t.Fatalf("%d segments", len(src.Segments))
	}
	for i, seg := range src.Segments {
		if seg.Start != enc.Segments[i].Start || seg.Dependent {
			t.Errorf("segment %d: source starts at %d (dependent %v), the encoded rung at %d", seg.Number, seg.Start, seg.Dependent, enc.Segments[i].Start)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(reports) != 1 || !reports[0].Aligned || reports[0].Rendition != "source" {
		t.Errorf("key frame reports: %+v", reports)
	}
}

func TestPassthroughOffTheGridKeepsTheGrid(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var reports []KeyFrames
	tl := passthroughTimeline(t, func(k KeyFrames) { mu.Lock(); reports = append(reports, k); mu.Unlock() })
	// Key frames every 2.5 s (62 frames at 25 fps): most boundaries have none.
	fragmented.Ingest(t, tl.StartRun(), encodePassthrough(t, "62"))
	snap := tl.Snapshot(time.Minute)
	src, enc := snap.Renditions[0], snap.Renditions[1]
	if len(src.Segments) != len(enc.Segments) || len(src.Segments) < 4 {
		t.Fatalf("%d source segments, %d encoded: every rendition keeps the grid", len(src.Segments), len(enc.Segments))
	}
	dependent := 0
	for i, seg := range src.Segments {
		if d := int64(seg.Start) - int64(enc.Segments[i].Start); d < -3600 || d > 3600 {
			t.Errorf("segment %d: source starts %d ticks from the encoded rung", seg.Number, d)
		}
		if seg.Dependent {
			dependent++
			if seg.Parts[0].Independent {
				t.Errorf("segment %d starts without a key frame but its first part is independent", seg.Number)
			}
		}
	}
	if dependent == 0 {
		t.Error("no segment of the source is marked as starting without a key frame")
	}
	mu.Lock()
	defer mu.Unlock()
	last := reports[len(reports)-1]
	if last.Aligned || last.Interval < 2400*time.Millisecond || last.Interval > 2600*time.Millisecond || last.Frames != 62 {
		t.Errorf("key frame reports: %+v", reports)
	}
}

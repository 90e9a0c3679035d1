package cmaf

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/testutil/fragmented"
	"github.com/sluice-video/sluice/internal/testutil/media"
)

// encodeLowLatency makes a video and an audio rendition as the encoder does
// for low-latency channels: 1 s key-frame grid, 200 ms fragments.
func encodeLowLatency(t *testing.T, seconds string) map[string]string {
	t.Helper()
	dir := t.TempDir()
	out := map[string]string{"360p": filepath.Join(dir, "360p.mp4"), "audio": filepath.Join(dir, "audio.mp4")}
	media.FFmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-t", seconds, "-map", "0:v",
		"-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-b:v", "200k",
		"-g", "25", "-keyint_min", "25", "-sc_threshold", "0", "-force_key_frames", "expr:gte(t,n_forced*1)",
		"-video_track_timescale", "90000",
		"-f", "mp4", "-movflags", "+frag_keyframe+empty_moov+default_base_moof+negative_cts_offsets", "-frag_duration", "200000", out["360p"],
		"-map", "1:a", "-t", seconds, "-c:a", "aac", "-b:a", "64k", "-ar", "48000", "-ac", "2",
		"-f", "mp4", "-movflags", "+empty_moov+default_base_moof", "-frag_duration", "200000", out["audio"])
	return out
}

func newPartTimeline(t *testing.T, now time.Time) *Timeline {
	t.Helper()
	tl, err := NewTimeline(Config{
		SegmentDuration:   time.Second,
		PartDuration:      200 * time.Millisecond,
		Window:            30 * time.Second,
		AvailabilityStart: now.Add(-10 * time.Second),
		Renditions: []RenditionConfig{
			{ID: "360p", Kind: Video, Bitrate: 200000, MaxBitrate: 240000, FrameRate: 25},
			{ID: "audio", Kind: Audio, Bitrate: 64000, MaxBitrate: 64000},
		},
		Now: func() time.Time { return now },
	})
	if err != nil {
		t.Fatal(err)
	}
	return tl
}

func TestTimelineCutsParts(t *testing.T) {
	t.Parallel()
	files := encodeLowLatency(t, "4.5")
	tl := newPartTimeline(t, time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC))
	fragmented.Ingest(t, tl.StartRun(), files)

	snap := tl.Snapshot(30 * time.Second)
	for _, r := range snap.Renditions {
		if len(r.Segments) < 3 {
			t.Fatalf("%s: %d complete segments, want at least 3", r.ID, len(r.Segments))
		}
		part := uint64(r.Timescale) / 5
		for _, seg := range r.Segments {
			if len(seg.Parts) < 4 || len(seg.Parts) > 6 {
				t.Errorf("%s segment %d: %d parts, want about 5", r.ID, seg.Number, len(seg.Parts))
			}
			var sum uint64
			for k, p := range seg.Parts {
				sum += p.Duration
				limit := part + part/40
				if r.Kind == Audio {
					// Audio parts end on the part grid, to within half an
					// AAC frame (1024 samples) each side.
					limit = part + 1024*uint64(r.Timescale)/uint64(r.SampleRate)
				}
				if p.Duration > limit {
					t.Errorf("%s segment %d part %d lasts %d ticks, longer than the part target %d", r.ID, seg.Number, k, p.Duration, part)
				}
			}
			if sum != seg.Duration {
				t.Errorf("%s segment %d: parts add up to %d ticks, the segment lasts %d", r.ID, seg.Number, sum, seg.Duration)
			}
			if !seg.Parts[0].Independent {
				t.Errorf("%s segment %d: the first part is not independent", r.ID, seg.Number)
			}
			if r.Kind == Video {
				for k, p := range seg.Parts[1:] {
					if p.Independent {
						t.Errorf("%s segment %d part %d is independent: the encoder puts a key frame only at segment starts", r.ID, seg.Number, k+1)
					}
				}
			}
			full, _ := tl.Segment(r.ID, seg.Number)
			var joined []byte
			for k := range seg.Parts {
				pd, ok := tl.Part(r.ID, seg.Number, k)
				if !ok || !pd.Complete {
					t.Fatalf("%s part %d.%d: ok %v complete %v", r.ID, seg.Number, k, ok, pd.Complete)
				}
				joined = append(joined, pd.Data...)
			}
			if !bytes.Equal(joined, full.Data) {
				t.Errorf("%s segment %d: the parts joined (%d bytes) are not the segment (%d bytes)", r.ID, seg.Number, len(joined), len(full.Data))
			}
		}
		// The stream ended in the middle of a segment: it stays at the
		// live edge, partial, with the parts that ended.
		if len(r.Edge) == 0 || !r.Edge[len(r.Edge)-1].Partial {
			t.Fatalf("%s: no partial segment at the live edge: %+v", r.ID, r.Edge)
		}
		last := r.Segments[len(r.Segments)-1]
		if r.Edge[0].Number != last.Number+1 {
			t.Errorf("%s: the edge starts at %d after segment %d", r.ID, r.Edge[0].Number, last.Number)
		}
		num, parts, complete, ok := tl.EdgePosition(r.ID)
		edge := r.Edge[len(r.Edge)-1]
		if !ok || complete || num != edge.Number || parts != len(edge.Parts) {
			t.Errorf("%s: EdgePosition = %d, %d, %v, %v; want %d, %d, false, true", r.ID, num, parts, complete, ok, edge.Number, len(edge.Parts))
		}
		g, ok := tl.Growing(r.ID, edge.Number)
		if !ok || g.Complete || len(g.Data) != edge.Size {
			t.Errorf("%s: Growing(%d) = %d bytes complete %v ok %v; want %d bytes in progress", r.ID, edge.Number, len(g.Data), g.Complete, ok, edge.Size)
		}
		if _, ok := tl.Part(r.ID, edge.Number, len(edge.Parts)+1); ok {
			t.Errorf("%s: a part two beyond the edge exists", r.ID)
		}
	}
}

func TestTimelineWithoutPartsKeepsNoEdge(t *testing.T) {
	t.Parallel()
	files := encodeLowLatency(t, "3.5")
	tl2, err := NewTimeline(Config{
		SegmentDuration: time.Second, Renditions: []RenditionConfig{{ID: "audio", Kind: Audio}},
		AvailabilityStart: time.Date(2026, 1, 1, 11, 0, 0, 0, time.UTC),
	})
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(files["audio"])
	if err != nil {
		t.Fatal(err)
	}
	if err := tl2.StartRun().Ingest("audio", bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	snap := tl2.Snapshot(time.Minute)
	r := snap.Renditions[0]
	if len(r.Segments) < 2 || len(r.Edge) != 0 || len(r.Segments[0].Parts) != 0 || snap.PartDuration != 0 {
		t.Errorf("a timeline without parts shows %d segments, %d edge segments, %d parts", len(r.Segments), len(r.Edge), len(r.Segments[0].Parts))
	}
	if _, _, _, ok := tl2.EdgePosition("audio"); !ok {
		t.Error("EdgePosition finds no segment")
	}
}

package ts

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/packager/cmaf"
	"github.com/sluice-video/sluice/internal/testutil/media"
)

// packaged encodes a few seconds as the encoder does and packages them.
func packaged(t *testing.T) *cmaf.Timeline {
	t.Helper()
	dir := t.TempDir()
	v, a := filepath.Join(dir, "v.mp4"), filepath.Join(dir, "a.mp4")
	media.FFmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-t", "5", "-map", "0:v", "-c:v", "libx264", "-preset", "ultrafast", "-b:v", "200k", "-bf", "2",
		"-g", "25", "-keyint_min", "25", "-sc_threshold", "0", "-force_key_frames", "expr:gte(t,n_forced*1)", "-video_track_timescale", "90000",
		"-f", "mp4", "-movflags", "+frag_keyframe+empty_moov+default_base_moof+negative_cts_offsets", "-frag_duration", "500000", v,
		"-map", "1:a", "-t", "5", "-c:a", "aac", "-b:a", "64k", "-ar", "48000", "-ac", "2",
		"-f", "mp4", "-movflags", "+empty_moov+default_base_moof", "-frag_duration", "500000", a)
	tl, err := cmaf.NewTimeline(cmaf.Config{
		SegmentDuration: time.Second, Window: time.Minute, AvailabilityStart: time.Now().Add(-time.Hour),
		Renditions: []cmaf.RenditionConfig{{ID: "v", Kind: cmaf.Video}, {ID: "a", Kind: cmaf.Audio}},
	})
	if err != nil {
		t.Fatal(err)
	}
	feed := tl.StartRun()
	var wg sync.WaitGroup
	for id, p := range map[string]string{"v": v, "a": a} {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			if err := feed.Ingest(id, bytes.NewReader(data)); err != nil {
				t.Errorf("ingest %s: %v", id, err)
			}
		})
	}
	wg.Wait()
	return tl
}

func segmentPair(t *testing.T, tl *cmaf.Timeline, n uint64) (Segment, *Segment) {
	t.Helper()
	v, ok1 := tl.Segment("v", n)
	a, ok2 := tl.Segment("a", n)
	if !ok1 || !ok2 {
		t.Fatalf("no segment %d", n)
	}
	vi, _ := tl.Init("v", v.Run)
	ai, _ := tl.Init("a", a.Run)
	return Segment{Init: vi, Data: v.Data}, &Segment{Init: ai, Data: a.Data}
}

func TestRemuxIsReadByFFprobe(t *testing.T) {
	t.Parallel()
	tl := packaged(t)
	snap := tl.Snapshot(time.Minute)
	segs := snap.Renditions[0].Segments
	if len(segs) < 3 {
		t.Fatalf("%d segments", len(segs))
	}
	var starts []float64
	for _, seg := range segs[:3] {
		v, a := segmentPair(t, tl, seg.Number)
		out, err := Remux(v, a)
		if err != nil {
			t.Fatal(err)
		}
		if len(out)%188 != 0 || out[0] != 0x47 {
			t.Fatalf("segment %d: %d bytes, not whole TS packets", seg.Number, len(out))
		}
		p := filepath.Join(t.TempDir(), "seg.ts")
		if err := os.WriteFile(p, out, 0o600); err != nil {
			t.Fatal(err)
		}
		raw, err := exec.Command(media.Tool(t, "ffprobe"), "-v", "error", "-count_frames", "-show_entries",
			"stream=codec_name,nb_read_frames,start_time", "-of", "json", p).Output()
		if err != nil {
			t.Fatalf("ffprobe: %v", err)
		}
		var probe struct {
			Streams []struct {
				Codec  string `json:"codec_name"`
				Frames string `json:"nb_read_frames"`
				Start  string `json:"start_time"`
			} `json:"streams"`
		}
		if err := json.Unmarshal(raw, &probe); err != nil || len(probe.Streams) != 2 {
			t.Fatalf("ffprobe: %s", raw)
		}
		if probe.Streams[0].Codec != "h264" || probe.Streams[0].Frames != "25" || probe.Streams[1].Codec != "aac" {
			t.Errorf("segment %d: %s", seg.Number, raw)
		}
		var st float64
		_ = json.Unmarshal([]byte(probe.Streams[0].Start), &st)
		starts = append(starts, st)
	}
	// Timestamps follow the timeline: consecutive segments start a
	// segment length apart.
	for i := 1; i < len(starts); i++ {
		if d := starts[i] - starts[i-1]; d < 0.99 || d > 1.01 {
			t.Errorf("segments start %.3f s apart, want 1 s: %v", d, starts)
		}
	}
	v, _ := segmentPair(t, tl, segs[0].Number)
	if out, err := Remux(v, nil); err != nil || len(out) == 0 {
		t.Errorf("video only: %v", err)
	}
}

func FuzzRemux(f *testing.F) {
	f.Add([]byte{0, 0, 0, 8, 'f', 't', 'y', 'p'}, []byte{0, 0, 0, 8, 'm', 'o', 'o', 'f'})
	f.Add([]byte{}, []byte{0, 0, 0, 4})
	f.Fuzz(func(t *testing.T, init, data []byte) {
		_, err := Remux(Segment{Init: init, Data: data}, &Segment{Init: init, Data: data})
		if err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatalf("error %v is not ErrMalformed", err)
		}
	})
}

func TestAnnexBRefusesOverlongNALs(t *testing.T) {
	t.Parallel()
	if _, err := annexB(nil, []byte{0, 0, 0, 9, 1, 2}); !errors.Is(err, ErrMalformed) {
		t.Errorf("err = %v", err)
	}
	got, err := annexB(nil, []byte{0, 0, 0, 2, 0x65, 0x88, 0, 0, 0, 1, 0x41})
	if err != nil || !bytes.Equal(got, []byte{0, 0, 0, 1, 0x65, 0x88, 0, 0, 0, 1, 0x41}) {
		t.Errorf("annexB = %x, %v", got, err)
	}
}

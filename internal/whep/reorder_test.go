package whep

import (
	"context"
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/output"
	"github.com/sluice-video/sluice/internal/testutil/media"
)

// rungStream is two seconds of fragmented MP4 as the encoder writes a
// rung, with B-frames (bframes > 0) or without.
func rungStream(t *testing.T, bframes string) []byte {
	t.Helper()
	media.Tool(t, "ffmpeg")
	data := media.Output(t, "mp4", "-f", "lavfi", "-i", "testsrc2=size=64x64:rate=10", "-t", "2",
		"-c:v", "libx264", "-preset", "veryfast", "-bf", bframes, "-g", "10",
		"-f", "mp4", "-movflags", "+frag_keyframe+empty_moov+default_base_moof+negative_cts_offsets", "-frag_duration", "500000")
	if data == nil {
		t.Fatal("ffmpeg could not make the test stream")
	}
	return data
}

// pumpOf feeds one rendition into a hub, run after run, until pump
// either ends or has passed a whole run's samples on, and returns pump's
// how many samples it passed on and its error.
func pumpOf(t *testing.T, data []byte) (int, error) {
	t.Helper()
	h := output.NewHub(nil, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := make(chan sample, 4096)
	done := make(chan error, 1)
	go func() { done <- pump(ctx, h, "rung", 0, out) }()
	deadline := time.Now().Add(time.Minute)
	init, frags := splitInit(t, data)
	for time.Now().Before(deadline) {
		// A subscriber joins a run at its next key frame: each run is
		// the whole stream again. The run begins with its init segment;
		// the pump subscribes to it (a pause lets it, on a machine too
		// busy to run it at once), then the fragments follow.
		w := h.Writer("rung", nil)
		_, _ = w.Write(init)
		time.Sleep(50 * time.Millisecond)
		_, _ = w.Write(frags)
		_ = w.Close()
		select {
		case err := <-done:
			return len(out), err
		case <-time.After(100 * time.Millisecond):
		}
		if len(out) >= 20 { // two seconds at 10 fps, all in order
			cancel()
			if err := <-done; !errors.Is(err, context.Canceled) {
				return len(out), err
			}
			return len(out), nil
		}
	}
	t.Fatal("pump neither ended nor passed a run on within a minute")
	return 0, nil
}

// splitInit cuts a fragmented MP4 stream before its first moof box.
func splitInit(t *testing.T, data []byte) (init, frags []byte) {
	t.Helper()
	for off := 0; off+8 <= len(data); {
		size := int(binary.BigEndian.Uint32(data[off:]))
		if string(data[off+4:off+8]) == "moof" {
			return data[:off], data[off:]
		}
		if size < 8 {
			break
		}
		off += size
	}
	t.Fatal("the test stream has no moof box")
	return nil, nil
}

func TestLayersWithBFramesAreRefused(t *testing.T) {
	_, err := pumpOf(t, rungStream(t, "2"))
	if !errors.Is(err, errReordered) {
		t.Fatalf("a rendition with B-frames: %v, want %v", err, errReordered)
	}
	n, err := pumpOf(t, rungStream(t, "0"))
	if err != nil {
		t.Fatalf("a rendition without B-frames: %v", err)
	}
	if n == 0 {
		t.Fatal("a rendition without B-frames passed no sample on")
	}
}

func TestUsableNearPrefersLowerLayers(t *testing.T) {
	for _, tc := range []struct {
		unusable []bool
		from     int
		want     int
		ok       bool
	}{
		{[]bool{true, false, false}, 0, 1, true},
		{[]bool{false, true, false}, 1, 2, true},
		{[]bool{false, false, true}, 2, 1, true},
		{[]bool{true}, 0, 0, false},
		{[]bool{true, true}, 1, 0, false},
	} {
		got, ok := usableNear(tc.unusable, tc.from)
		if got != tc.want || ok != tc.ok {
			t.Errorf("usableNear(%v, %d) = %d, %v; want %d, %v", tc.unusable, tc.from, got, ok, tc.want, tc.ok)
		}
	}
}

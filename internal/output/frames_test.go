package output

import (
	"context"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/testutil/media"
)

// clock is a settable time source for the hub.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// playRun writes one encoder run into the hub once the feed has subscribed.
func playRun(t *testing.T, h *Hub, inits, frags [][]byte, subs int) {
	t.Helper()
	w := h.Writer("v", nil)
	_, _ = w.Write(inits[0])
	waitSubscribers(t, h, "v", subs)
	for _, f := range frags {
		_, _ = w.Write(f)
	}
	_ = w.Close()
}

func TestFrameFeedFixedSizeAndRateAcrossRuns(t *testing.T) {
	ffmpeg := media.Tool(t, "ffmpeg")
	data := encoderStream(t, "3")
	inits, frags := split(t, data, len(data))
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	clk := &clock{t: start}
	h := NewHub(clk.now, nil)
	const fps = 5
	feed := &FrameFeed{Hub: h, FFmpeg: ffmpeg, Spec: FrameSpec{Rendition: "v", Width: 48, Height: 32, FPS: fps}}
	var frames []Frame
	ctx := context.Background()
	collect := func(f Frame) error {
		frames = append(frames, f)
		return nil
	}
	done := make(chan error, 1)
	go func() { done <- feed.Run(ctx, collect) }()
	playRun(t, h, inits, frags, 1)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	first := len(frames)
	// 3 s at 5 fps.
	if first < 14 || first > 16 {
		t.Fatalf("%d frames from 3 s at %d fps", first, fps)
	}
	// The encoder restarts 10 s later: the gap is filled with the last
	// picture and the grid goes on.
	clk.set(start.Add(10 * time.Second))
	go func() { done <- feed.Run(ctx, collect) }()
	playRun(t, h, inits, frags, 1)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	fills, disc := 0, 0
	for i, f := range frames {
		if f.Seq != uint64(i) {
			t.Fatalf("frame %d has seq %d", i, f.Seq)
		}
		if f.Width != 48 || f.Height != 32 || len(f.RGB) != 48*32*3 || f.Rendition != "v" {
			t.Fatalf("frame %d: %dx%d, %d bytes", i, f.Width, f.Height, len(f.RGB))
		}
		if i > 0 {
			if d := f.PTS - frames[i-1].PTS; math.Abs(d-1.0/fps) > 1e-6 {
				t.Fatalf("frame %d comes %.4f s after the one before, want %.4f", i, d, 1.0/fps)
			}
			if d := f.Time.Sub(frames[i-1].Time); d < 150*time.Millisecond || d > 250*time.Millisecond {
				t.Errorf("frame %d: wall clock step %v", i, d)
			}
		}
		if f.Fill {
			fills++
		}
		if f.Discontinuity {
			disc++
			if i != first+fills {
				t.Errorf("the discontinuity is on frame %d, want %d", i, first+fills)
			}
		}
	}
	// 10 s between runs, minus the 3 s the first run covered: about 7 s
	// of fill at 5 fps.
	if fills < 33 || fills > 37 || disc != 1 {
		t.Errorf("%d fill frames and %d discontinuities; want about 35 and 1", fills, disc)
	}
	if frames[0].Time.Before(start.Add(-time.Second)) || frames[0].Time.After(start) {
		t.Errorf("the first picture's wall clock %v is not when the run started (%v)", frames[0].Time, start)
	}
	var moving bool
	for i := range frames[0].RGB {
		if frames[0].RGB[i] != frames[5].RGB[i] {
			moving = true
			break
		}
	}
	if !moving {
		t.Error("the pictures of a moving test pattern are all the same")
	}
}

package switcher

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/input/live"
	"github.com/sluice-video/sluice/internal/testutil/media"
	"github.com/sluice-video/sluice/internal/testutil/poll"
)

// TestPlacedRunsGiveAFrameOneMediaTime runs two placed switchers on one
// input, started 1.3 s apart with different output zeros, as the two
// pipelines of a channel do: each frame both wrote gets the same media
// time from both (within half a frame), and that media time is when it
// arrived.
func TestPlacedRunsGiveAFrameOneMediaTime(t *testing.T) {
	tracks, frames := clipFrames(t, "320x180", "libx264", "4")
	hub := live.NewHub("cam", nil)
	publish(t, hub, tracks, frames, "pub")
	poll.UntilTrue(t, "the publisher's tracks", 10*time.Second, func() bool { _, ok := hub.Tracks(); return ok })
	as := time.Now().Add(-time.Hour).Truncate(time.Second)
	fills := &FillMaker{FFmpeg: media.Tool(t, "ffmpeg")}
	start := func(media time.Duration) (*Clock, func()) {
		sw := New(Config{Primary: hub, Fills: fills, Width: 320, Height: 180, FPS: 25})
		v, a := sw.Tracks()
		clock := NewClock()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			done <- sw.Run(ctx, io.Discard, RunSpec{Video: v, Audio: a, Clock: clock, Place: &Placement{Zero: as.Add(media), Media: media}})
		}()
		return clock, func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("run placed at %v: %v", media, err)
			}
		}
	}
	a, stopA := start(time.Hour - time.Minute)
	time.Sleep(1300 * time.Millisecond)
	b, stopB := start(time.Hour - 47*time.Second)
	time.Sleep(3 * time.Second)
	stopA()
	stopB()

	frame := 40 * time.Millisecond
	at := func(c *Clock) map[int64]time.Duration {
		c.mu.Lock()
		defer c.mu.Unlock()
		m := map[int64]time.Duration{}
		for i := range c.size() {
			f := c.frame(i)
			m[f.captured.UnixNano()] = f.pts
		}
		return m
	}
	ma, mb := at(a), at(b)
	both, prompt := 0, 0
	for captured, pa := range ma {
		pb, ok := mb[captured]
		if !ok {
			continue
		}
		both++
		if d := pa - pb; d > frame/2 || d < -frame/2 {
			t.Errorf("the frame that arrived at %v has media time %v in one run and %v in the other", time.Unix(0, captured).Format("15:04:05.000"), pa, pb)
		}
		// A frame may arrive late (it is then placed before its
		// arrival), never before the instant it is placed at.
		switch d := as.Add(pa).Sub(time.Unix(0, captured)); {
		case d > frame/2:
			t.Errorf("the frame that arrived at %v is placed %v after its arrival", time.Unix(0, captured).Format("15:04:05.000"), d)
		case d >= -frame/2:
			prompt++
		}
	}
	if both < 25 || prompt < both/2 {
		t.Fatalf("%d frames written by both runs, %d of them placed within half a frame of their arrival", both, prompt)
	}
	t.Logf("%d frames written by both runs, %d placed within half a frame of their arrival", both, prompt)
}

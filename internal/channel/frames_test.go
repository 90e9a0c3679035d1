package channel

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/output"
	"github.com/sluice-video/sluice/internal/testutil/poll"
)

// TestFrameReadersShareOneDecoder reads a running channel's frames three
// times at once with the same size and rate: one decoder serves them, each
// reader numbers its own pictures, and stopping the channel ends them all
// and the decoder.
func TestFrameReadersShareOneDecoder(t *testing.T) {
	m, _ := newManager(t)
	runningChannel(t, m, "live")
	ctx := context.Background()
	req := output.FrameRequest{Width: 64, Height: 48, FPS: 5, Format: output.FormatRGB24}
	const readers, want = 3, 10
	type result struct {
		frames []output.Frame
		err    error
	}
	results := make(chan result, readers)
	started := make(chan struct{}, readers)
	stop := make(chan struct{})
	var rt *runtime
	for range readers {
		fs, err := m.OpenFrames(ctx, "live", req)
		if err != nil {
			t.Fatal(err)
		}
		rt = fs.rt
		go func() {
			var got []output.Frame
			err := fs.Run(ctx, func(f output.Frame) error {
				if len(got) == 0 {
					started <- struct{}{}
				}
				if len(got) < want {
					got = append(got, f)
					if len(got) == want {
						results <- result{frames: got}
					}
				}
				return nil
			})
			if len(got) < want {
				results <- result{frames: got, err: err}
			}
			<-stop
		}()
	}
	defer close(stop)
	for range readers {
		select {
		case <-started:
		case <-time.After(2 * time.Minute):
			t.Fatal("a reader got no picture")
		}
	}
	if r, d := rt.frames.Counts(); r != readers || d != 1 {
		t.Fatalf("%d readers on %d decoders, want %d on 1", r, d, readers)
	}
	for range readers {
		res := <-results
		if len(res.frames) != want {
			t.Fatalf("a reader ended after %d pictures: %v", len(res.frames), res.err)
		}
		for i, f := range res.frames {
			if f.Seq != uint64(i) || f.Width != 64 || f.Height != 48 || len(f.RGB) != 64*48*3 {
				t.Fatalf("picture %d: seq %d, %dx%d, %d bytes", i, f.Seq, f.Width, f.Height, len(f.RGB))
			}
			if i > 0 && math.Abs(f.PTS-res.frames[i-1].PTS-0.2) > 1e-6 {
				t.Fatalf("picture %d is %.4f s after the one before", i, f.PTS-res.frames[i-1].PTS)
			}
		}
	}
	if _, err := m.StopChannel(ctx, "live"); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, "no frames reader nor decoder after the channel stopped", time.Minute, func() (bool, string) {
		r, d := rt.frames.Counts()
		return r == 0 && d == 0, fmt.Sprintf("%d readers, %d decoders", r, d)
	})
}

package output

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/testutil/media"
	"github.com/sluice-video/sluice/internal/testutil/poll"
)

// countingObserver keeps the last counts a FrameShares reported.
type countingObserver struct {
	mu                sync.Mutex
	readers, decoders int
	dropped           int
}

func (o *countingObserver) FrameShares(readers, decoders int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.readers, o.decoders = readers, decoders
}

func (o *countingObserver) FramesDropped(n int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.dropped += n
}

func (o *countingObserver) get() (readers, decoders, dropped int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.readers, o.decoders, o.dropped
}

// pushedSource is a frame source the test feeds picture by picture: push
// returns once the source has emitted the picture.
type pushedSource struct {
	feed    chan Frame
	starts  atomic.Int32
	stopped chan struct{}
}

func newPushedSource() *pushedSource {
	return &pushedSource{feed: make(chan Frame), stopped: make(chan struct{}, 8)}
}

func (p *pushedSource) start() FrameSource {
	p.starts.Add(1)
	return func(ctx context.Context, emit func(Frame)) error {
		defer func() { p.stopped <- struct{}{} }()
		for {
			select {
			case f, ok := <-p.feed:
				if !ok {
					return nil
				}
				emit(f)
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
}

// picture is the n-th picture of a run at 5 fps starting at t0.
func picture(t0 time.Time, n int) Frame {
	return Frame{
		PTS: 100 + float64(n)/5, Time: t0.Add(time.Duration(n) * 200 * time.Millisecond),
		Width: 16, Height: 16, Rendition: "v", Discontinuity: n == 0, RGB: []byte{byte(n)},
	}
}

// collector receives a tap's pictures on a channel.
func collect(ctx context.Context, tap *FrameTap) (<-chan Frame, <-chan error) {
	got := make(chan Frame, 1024)
	done := make(chan error, 1)
	go func() {
		done <- tap.Run(ctx, func(f Frame) error {
			got <- f
			return nil
		})
	}()
	return got, done
}

func receive(t *testing.T, got <-chan Frame) Frame {
	t.Helper()
	select {
	case f := <-got:
		return f
	case <-time.After(time.Minute):
		t.Fatal("no picture arrived")
		return Frame{}
	}
}

func waitCounts(t *testing.T, s *FrameShares, readers, decoders int) {
	t.Helper()
	poll.Until(t, fmt.Sprintf("%d readers and %d decoders", readers, decoders), time.Minute, func() (bool, string) {
		r, d := s.Counts()
		return r == readers && d == decoders, fmt.Sprintf("%d readers and %d decoders", r, d)
	})
}

var testKey = FrameKey{Width: 16, Height: 16, FPS: 5}

func TestFrameSharesOneSourceForEveryReaderOfAKey(t *testing.T) {
	obs := &countingObserver{}
	s := NewFrameShares(context.Background(), obs)
	src := newPushedSource()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a, aDone := collect(ctx, s.Join(testKey, src.start))
	var fromA []Frame
	for n := range 2 {
		src.feed <- picture(t0, n)
		fromA = append(fromA, receive(t, a))
	}
	b, bDone := collect(ctx, s.Join(testKey, src.start))
	for n := 2; n < 6; n++ {
		src.feed <- picture(t0, n)
	}
	if n := src.starts.Load(); n != 1 {
		t.Fatalf("%d sources started for two readers of one key", n)
	}
	if r, d, _ := obs.get(); r != 2 || d != 1 {
		t.Fatalf("observer: %d readers, %d decoders; want 2 and 1", r, d)
	}
	// Each reader numbers its pictures from 0; b joined at the third.
	for len(fromA) < 6 {
		fromA = append(fromA, receive(t, a))
	}
	for i, f := range fromA {
		if f.Seq != uint64(i) || f.PTS != 100+float64(i)/5 || f.Discontinuity || f.Fill {
			t.Fatalf("reader a, picture %d: %+v", i, f)
		}
	}
	for i := range 4 {
		f := receive(t, b)
		if f.Seq != uint64(i) || f.RGB[0] != byte(i+2) || f.Discontinuity {
			t.Fatalf("reader b, picture %d: %+v", i, f)
		}
	}
	// A second key is a second source.
	other := newPushedSource()
	c := s.Join(FrameKey{Width: 32, Height: 16, FPS: 5}, other.start)
	waitCounts(t, s, 3, 2)
	c.Close()
	<-other.stopped
	waitCounts(t, s, 2, 1)
	// The source ending by itself (the channel stopped) ends every reader
	// without an error.
	close(src.feed)
	for _, done := range []<-chan error{aDone, bDone} {
		if err := <-done; err != nil {
			t.Fatalf("a reader of a source that ended: %v", err)
		}
	}
	waitCounts(t, s, 0, 0)
}

func TestFrameSharesSlowReaderNeitherBlocksNorBreaksTheGrid(t *testing.T) {
	obs := &countingObserver{}
	s := NewFrameShares(context.Background(), obs)
	src := newPushedSource()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	fast, _ := collect(ctx, s.Join(testKey, src.start))
	slow := s.Join(testKey, src.start)
	stuck, release := make(chan struct{}), make(chan struct{})
	slowGot := make(chan Frame, 1024)
	go func() {
		first := true
		_ = slow.Run(ctx, func(f Frame) error {
			if first {
				first = false
				close(stuck)
				<-release // stuck on its first picture, like a client that stopped reading
			}
			slowGot <- f
			return nil
		})
	}()
	buffer := tapBuffer(testKey)
	total := buffer + 20
	for n := range total {
		src.feed <- picture(t0, n) // never waits for the stuck reader
		if f := receive(t, fast); f.Seq != uint64(n) || f.Discontinuity {
			t.Fatalf("the other reader, picture %d: %+v", n, f)
		}
		if n == 0 {
			<-stuck
		}
	}
	// The stuck reader holds one picture and a full buffer; the rest are
	// lost and counted.
	if d := slow.Dropped(); d != total-1-buffer {
		t.Fatalf("the stuck reader lost %d pictures, want %d", d, total-1-buffer)
	}
	if _, _, d := obs.get(); d != total-1-buffer {
		t.Fatalf("the observer heard of %d lost pictures, want %d", d, total-1-buffer)
	}
	close(release)
	// The stuck reader gets its buffer, then the next picture marked as a
	// discontinuity, and its own numbering and grid never skip.
	var frames []Frame
	for len(frames) < buffer+1 {
		frames = append(frames, receive(t, slowGot))
	}
	src.feed <- picture(t0, total)
	frames = append(frames, receive(t, slowGot))
	for i, f := range frames {
		if f.Seq != uint64(i) {
			t.Fatalf("slow reader picture %d has seq %d", i, f.Seq)
		}
		if i > 0 && math.Abs(f.PTS-frames[i-1].PTS-0.2) > 1e-9 {
			t.Fatalf("slow reader picture %d is %.4f s after the one before", i, f.PTS-frames[i-1].PTS)
		}
		if want := i == buffer+1; f.Discontinuity != want || f.Fill {
			t.Fatalf("slow reader picture %d: %+v", i, f)
		}
	}
	if last := frames[buffer+1]; last.RGB[0] != byte(total) || !last.Time.Equal(t0.Add(time.Duration(total)*200*time.Millisecond)) {
		t.Fatalf("the picture after the loss is %+v", last)
	}
}

func TestFrameSharesLastReaderStopsTheSource(t *testing.T) {
	s := NewFrameShares(context.Background(), nil)
	src := newPushedSource()
	ctx, cancel := context.WithCancel(context.Background())
	a, aDone := collect(ctx, s.Join(testKey, src.start))
	bCtx, bCancel := context.WithCancel(context.Background())
	_, bDone := collect(bCtx, s.Join(testKey, src.start))
	src.feed <- picture(time.Now(), 0)
	receive(t, a)
	bCancel()
	if err := <-bDone; !errors.Is(err, context.Canceled) {
		t.Fatalf("a reader that left: %v", err)
	}
	waitCounts(t, s, 1, 1)
	cancel()
	if err := <-aDone; !errors.Is(err, context.Canceled) {
		t.Fatalf("the last reader that left: %v", err)
	}
	select {
	case <-src.stopped:
	case <-time.After(time.Minute):
		t.Fatal("the source runs on without readers")
	}
	waitCounts(t, s, 0, 0)
	// A new reader starts a new source.
	c := s.Join(testKey, src.start)
	defer c.Close()
	if n := src.starts.Load(); n != 2 {
		t.Fatalf("%d sources started, want 2", n)
	}
}

func TestFrameTapFillsTheGapOfAnEncoderRestart(t *testing.T) {
	s := NewFrameShares(context.Background(), nil)
	src := newPushedSource()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got, _ := collect(ctx, s.Join(testKey, src.start))
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	src.feed <- picture(t0, 0)
	src.feed <- picture(t0, 1)
	// The encoder restarts: the next run begins 10 s later on a grid of
	// its own. The fill is far more than a reader's buffer, and still all
	// there, since each reader makes its own.
	t1 := t0.Add(10 * time.Second)
	src.feed <- picture(t1, 0)
	var frames []Frame
	for len(frames) < 51 {
		frames = append(frames, receive(t, got))
	}
	for i, f := range frames {
		if f.Seq != uint64(i) || math.Abs(f.PTS-(100+float64(i)/5)) > 1e-9 {
			t.Fatalf("picture %d: seq %d pts %.4f", i, f.Seq, f.PTS)
		}
		wantFill := i >= 2 && i < 50
		if f.Fill != wantFill || f.Discontinuity != (i == 50) {
			t.Fatalf("picture %d: fill %v discontinuity %v", i, f.Fill, f.Discontinuity)
		}
	}
}

// TestFrameSharesOneDecoderForManyReaders decodes a real encoder run with
// one ffmpeg for three readers, each of which gets every picture with its
// own numbering.
func TestFrameSharesOneDecoderForManyReaders(t *testing.T) {
	ffmpeg := media.Tool(t, "ffmpeg")
	data := encoderStream(t, "2")
	inits, frags := split(t, data, len(data))
	h := NewHub(nil, nil)
	obs := &countingObserver{}
	s := NewFrameShares(context.Background(), obs)
	key := FrameKey{Rendition: "v", Width: 48, Height: 32, FPS: 5}
	var starts atomic.Int32
	start := func() FrameSource {
		starts.Add(1)
		return func(ctx context.Context, emit func(Frame)) error {
			return DecodeRun(ctx, h, ffmpeg, FrameSpec{Rendition: "v", Width: 48, Height: 32, FPS: 5}, func(f Frame) error {
				emit(f)
				return nil
			})
		}
	}
	const readers = 3
	var wg sync.WaitGroup
	results := make([][]Frame, readers)
	for i := range readers {
		tap := s.Join(key, start)
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = tap.Run(context.Background(), func(f Frame) error {
				results[i] = append(results[i], f)
				return nil
			})
		}()
	}
	if r, d, _ := obs.get(); r != readers || d != 1 {
		t.Fatalf("%d readers on %d decoders, want %d on 1", r, d, readers)
	}
	playRun(t, h, inits, frags, 1)
	wg.Wait()
	if n := starts.Load(); n != 1 {
		t.Fatalf("%d decoders started for %d readers of one key", n, readers)
	}
	for i, frames := range results {
		// 2 s at 5 fps.
		if len(frames) < 9 || len(frames) != len(results[0]) {
			t.Fatalf("reader %d got %d pictures (reader 0: %d)", i, len(frames), len(results[0]))
		}
		for j, f := range frames {
			if f.Seq != uint64(j) || f.Width != 48 || len(f.RGB) != 48*32*3 || f.PTS != results[0][j].PTS {
				t.Fatalf("reader %d, picture %d: seq %d, %dx%d, pts %.3f", i, j, f.Seq, f.Width, f.Height, f.PTS)
			}
		}
	}
	waitCounts(t, s, 0, 0)
}

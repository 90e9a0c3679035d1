package output

import (
	"context"
	"math"
	"sync"
)

// FrameKey names the pictures a shared decoder produces: readers asking for
// the same key share one decoder.
type FrameKey struct {
	// Rendition is the rung asked for; "" follows the ladder's first rung.
	Rendition     string
	Width, Height int
	FPS           float64
}

// FrameSource produces the pictures of one key until ctx ends or they end
// for good (it returns nil when the channel stopped). It emits them as
// DecodeRun does: on each run's own PTS grid, the first picture of a run
// marked Discontinuity. emit never blocks.
type FrameSource func(ctx context.Context, emit func(Frame)) error

// FrameSharesObserver hears how many readers and decoders the shares have,
// and how many pictures readers lost by falling behind. Calls must not
// block.
type FrameSharesObserver interface {
	FrameShares(readers, decoders int)
	FramesDropped(n int)
}

// Bounds of a reader's buffer: about two seconds of pictures, at least
// minTapFrames and no more than tapBytes of them (pictures are raw RGB).
const (
	minTapFrames = 4
	maxTapFrames = 120
	tapBytes     = 64 << 20
)

// FrameShares runs one frame source per key for every reader of that key,
// instead of one decoder per reader. Each reader gets the pictures through
// a bounded buffer of its own: a reader that falls behind loses pictures
// (counted) and never slows the source or the other readers. The first
// reader of a key starts its source; when the last one leaves, the source
// is stopped.
type FrameShares struct {
	ctx context.Context
	obs FrameSharesObserver

	mu       sync.Mutex
	shares   map[FrameKey]*share
	readers  int
	decoders int
}

// share is one running source and its readers.
type share struct {
	key    FrameKey
	cancel context.CancelFunc
	taps   map[*FrameTap]struct{}
}

// NewFrameShares returns shares whose sources run until ctx ends (or until
// their last reader leaves). obs may be nil.
func NewFrameShares(ctx context.Context, obs FrameSharesObserver) *FrameShares {
	return &FrameShares{ctx: ctx, obs: obs, shares: map[FrameKey]*share{}}
}

// tapItem is one picture on its way to a reader, with how many pictures the
// reader lost just before it.
type tapItem struct {
	frame Frame
	lost  int
}

// FrameTap is one reader of a shared source. Its pictures are numbered for
// it alone: Seq from 0 without gaps, PTS on one 1/fps grid, the gap of an
// encoder restart filled as a FrameFeed fills it.
type FrameTap struct {
	s   *FrameShares
	sh  *share
	ch  chan tapItem
	seq frameSequencer

	// Guarded by s.mu.
	lost    int   // pictures lost since the last one queued
	dropped int   // pictures lost in all
	err     error // why the source ended, once ch is closed

	closeOnce sync.Once
}

// Join adds a reader of key; the first reader of a key starts the source
// that start makes. The reader must Run (or Close) the tap.
func (s *FrameShares) Join(key FrameKey, start func() FrameSource) *FrameTap {
	t := &FrameTap{s: s, ch: make(chan tapItem, tapBuffer(key)), seq: frameSequencer{fps: key.FPS}}
	s.mu.Lock()
	defer s.mu.Unlock()
	sh := s.shares[key]
	if sh == nil {
		ctx, cancel := context.WithCancel(s.ctx)
		sh = &share{key: key, cancel: cancel, taps: map[*FrameTap]struct{}{}}
		s.shares[key] = sh
		s.decoders++
		src := start()
		go s.run(ctx, sh, src)
	}
	t.sh = sh
	sh.taps[t] = struct{}{}
	s.readers++
	s.report()
	return t
}

// Counts returns how many readers and running sources there are.
func (s *FrameShares) Counts() (readers, decoders int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.readers, s.decoders
}

// run runs a share's source; when it ends by itself, its readers are told.
func (s *FrameShares) run(ctx context.Context, sh *share, src FrameSource) {
	err := src(ctx, func(f Frame) { s.fan(sh, f) })
	sh.cancel()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.decoders--
	if s.shares[sh.key] == sh {
		delete(s.shares, sh.key)
	}
	for t := range sh.taps {
		t.err = err
		close(t.ch)
	}
	sh.taps = nil
	s.report()
}

// fan queues a picture for every reader of a share without waiting: a
// reader whose buffer is full loses it.
func (s *FrameShares) fan(sh *share, f Frame) {
	s.mu.Lock()
	defer s.mu.Unlock()
	dropped := 0
	for t := range sh.taps {
		select {
		case t.ch <- tapItem{frame: f, lost: t.lost}:
			t.lost = 0
		default:
			t.lost++
			t.dropped++
			dropped++
		}
	}
	if dropped > 0 && s.obs != nil {
		s.obs.FramesDropped(dropped)
	}
}

// report tells the observer the counts; s.mu is held.
func (s *FrameShares) report() {
	if s.obs != nil {
		s.obs.FrameShares(s.readers, s.decoders)
	}
}

// Run delivers the reader's pictures to emit until ctx ends, emit fails
// (its error is returned) or the source ends (nil when the channel
// stopped). It closes the tap when it returns.
func (t *FrameTap) Run(ctx context.Context, emit func(Frame) error) error {
	defer t.Close()
	for {
		select {
		case it, ok := <-t.ch:
			if !ok {
				t.s.mu.Lock()
				err := t.err
				t.s.mu.Unlock()
				return err
			}
			if err := t.seq.push(it.frame, it.lost, emit); err != nil {
				return err
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Dropped returns how many pictures the reader lost by falling behind.
func (t *FrameTap) Dropped() int {
	t.s.mu.Lock()
	defer t.s.mu.Unlock()
	return t.dropped
}

// Close leaves the share; the last reader to leave stops its source.
func (t *FrameTap) Close() {
	t.closeOnce.Do(func() {
		s := t.s
		s.mu.Lock()
		defer s.mu.Unlock()
		s.readers--
		sh := t.sh
		if _, ok := sh.taps[t]; ok {
			delete(sh.taps, t)
			if len(sh.taps) == 0 && s.shares[sh.key] == sh {
				delete(s.shares, sh.key)
				sh.cancel()
			}
		}
		s.report()
	})
}

// tapBuffer is how many pictures of key a reader may lag.
func tapBuffer(key FrameKey) int {
	n := min(max(int(math.Ceil(2*key.FPS)), minTapFrames), maxTapFrames)
	if size := key.Width * key.Height * 3; size > 0 {
		n = min(n, max(tapBytes/size, minTapFrames))
	}
	return n
}

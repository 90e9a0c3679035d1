// Package output delivers a channel beyond its packaging endpoints: the
// encoder's streams remuxed to UDP, RTP, RTMP and archive files, and its
// pictures decoded at a fixed size and rate for frame captures, datasets
// and the frames API. Everything starts from a Hub that taps the encoder's
// fragmented-MP4 output, so the input is decoded once, and nothing here can
// slow or stop the channel: a slow or failed consumer only loses its own
// place.
package output

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"sync"
	"time"
)

// ErrBehind ends a subscription whose reader fell so far behind that its
// buffer filled: it must subscribe again, from the next key frame.
var ErrBehind = errors.New("the output fell behind the live stream")

// subBuffer is how many fragments a subscriber may lag (about 30 s of
// 500 ms fragments).
const subBuffer = 64

// Hub fans out each rendition of a channel's encoder to subscribers. An
// encoder run writes every rendition through a Writer; subscribers join
// the current run and receive its init segment and fragments.
type Hub struct {
	now    func() time.Time
	logger *slog.Logger

	mu      sync.Mutex
	streams map[string]*stream
	runs    uint64
}

type stream struct {
	cur  *run
	next chan struct{} // closed (and replaced) when a run begins
}

// run is one encoder run of one rendition.
type run struct {
	id   uint64
	init []byte
	info initInfo
	zero time.Time // wall clock of the encoder's time zero, set by the first fragment
	// wall, when set, is the channel's own wall clock of the run's media
	// times (the capture times its manifests give).
	wall WallClock
	subs map[*Sub]struct{}
}

// WallClock gives the wall-clock time of a media time of an encoder run
// (the encoder's own time, from its first sample); false while unknown.
type WallClock func(media time.Duration) (time.Time, bool)

// Fragment is one moof+mdat of a rendition, with its timing.
type Fragment struct {
	Data []byte
	// Start is the decode time of the first sample and PTS its
	// presentation time, in the run's timescale; Duration is the length.
	Start    uint64
	PTS      int64
	Duration uint64
	// Sync is true when the fragment starts with a key frame.
	Sync bool
}

// NewHub returns an empty hub; now may be nil (time.Now).
func NewHub(now func() time.Time, logger *slog.Logger) *Hub {
	if now == nil {
		now = time.Now
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Hub{now: now, logger: logger, streams: map[string]*stream{}}
}

func (h *Hub) stream(rendition string) *stream {
	s := h.streams[rendition]
	if s == nil {
		s = &stream{next: make(chan struct{})}
		h.streams[rendition] = s
	}
	return s
}

// Writer returns the sink of one rendition for one encoder run. It never
// fails and never blocks: bytes it cannot understand switch it off for the
// rest of the run, with a warning, and the packager is not affected. wall,
// when set, dates the run's pictures (Sub.WallClock) as the channel's
// manifests do; without it they are dated from when the first fragment
// arrived.
func (h *Hub) Writer(rendition string, wall WallClock) io.WriteCloser {
	w := &writer{h: h, rendition: rendition, wall: wall}
	w.sp.onInit = w.init
	w.sp.onFragment = w.fragment
	w.sp.idle = w.idle
	return w
}

// idle reports whether the run has no subscriber and its timing is known,
// so its fragments need not be read at all.
func (w *writer) idle() bool {
	if w.r == nil {
		return false
	}
	w.h.mu.Lock()
	defer w.h.mu.Unlock()
	return len(w.r.subs) == 0 && !w.r.zero.IsZero()
}

type writer struct {
	h         *Hub
	rendition string
	sp        splitter
	r         *run
	broken    bool
	wall      WallClock
}

func (w *writer) Write(p []byte) (int, error) {
	if w.broken {
		return len(p), nil
	}
	if err := w.sp.write(p); err != nil {
		w.broken = true
		w.h.logger.Warn(fmt.Sprintf("outputs of rendition %s are off until the encoder restarts: %v", w.rendition, err), "rendition", w.rendition)
		w.end()
	}
	return len(p), nil
}

func (w *writer) Close() error {
	w.end()
	return nil
}

func (w *writer) init(init []byte) error {
	info, err := parseInit(init)
	if err != nil {
		return err
	}
	w.end()
	h := w.h
	h.mu.Lock()
	defer h.mu.Unlock()
	h.runs++
	w.r = &run{id: h.runs, init: init, info: info, wall: w.wall, subs: map[*Sub]struct{}{}}
	s := h.stream(w.rendition)
	s.cur = w.r
	close(s.next)
	s.next = make(chan struct{})
	return nil
}

func (w *writer) fragment(data []byte) error {
	if w.r == nil {
		return fmt.Errorf("%w: fragment before the init segment", errBox)
	}
	if w.idle() {
		return nil // nobody listens: no need to read the fragment
	}
	h := w.h
	fi, err := parseFragment(data, w.r.info)
	if err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	r := w.r
	if r.zero.IsZero() {
		// The encoder emits a fragment once it is complete: its end is now.
		end := time.Duration(float64(fi.start+fi.duration) / float64(r.info.timescale) * float64(time.Second))
		r.zero = h.now().Add(-end)
	}
	f := Fragment{Data: data, Start: fi.start, PTS: fi.pts, Duration: fi.duration, Sync: fi.sync}
	for sub := range r.subs {
		if !sub.started {
			if sub.wantSync && !f.Sync {
				continue
			}
			sub.started = true
		}
		select {
		case sub.ch <- f:
		default:
			sub.err = ErrBehind
			delete(r.subs, sub)
			close(sub.ch)
		}
	}
	return nil
}

// end closes the current run: its subscribers read io.EOF.
func (w *writer) end() {
	if w.r == nil {
		return
	}
	h := w.h
	h.mu.Lock()
	defer h.mu.Unlock()
	for sub := range w.r.subs {
		close(sub.ch)
	}
	w.r.subs = nil
	if s := h.streams[w.rendition]; s != nil && s.cur == w.r {
		s.cur = nil
	}
	w.r = nil
}

// Sub is a subscription to one run of a rendition.
type Sub struct {
	h         *Hub
	r         *run
	ch        chan Fragment
	wantSync  bool
	started   bool
	err       error // guarded by h.mu; set before ch is closed
	closeOnce sync.Once
}

// RunInfo describes the run a subscription joined.
type RunInfo struct {
	ID        uint64
	Init      []byte
	Timescale uint32
}

// Subscribe joins the current run of a rendition, waiting for one to begin
// if none is live. With fromKey, the first fragment it delivers starts with
// a key frame.
func (h *Hub) Subscribe(ctx context.Context, rendition string, fromKey bool) (*Sub, error) {
	for {
		h.mu.Lock()
		s := h.stream(rendition)
		if r := s.cur; r != nil {
			sub := &Sub{h: h, r: r, ch: make(chan Fragment, subBuffer), wantSync: fromKey}
			r.subs[sub] = struct{}{}
			h.mu.Unlock()
			return sub, nil
		}
		next := s.next
		h.mu.Unlock()
		select {
		case <-next:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Run returns the run's init segment and timescale.
func (s *Sub) Run() RunInfo {
	return RunInfo{ID: s.r.id, Init: s.r.init, Timescale: s.r.info.timescale}
}

// Next returns the next fragment: io.EOF once the run has ended, ErrBehind
// when this subscriber lagged too far.
func (s *Sub) Next(ctx context.Context) (Fragment, error) {
	select {
	case f, ok := <-s.ch:
		if ok {
			return f, nil
		}
		s.h.mu.Lock()
		err := s.err
		s.h.mu.Unlock()
		if err == nil {
			err = io.EOF
		}
		return Fragment{}, err
	case <-ctx.Done():
		return Fragment{}, ctx.Err()
	}
}

// WallClock returns the wall-clock time of a presentation time of the run:
// the time the channel's manifests give it, or an estimate from when the
// run's first fragment arrived when the writer had no wall clock.
func (s *Sub) WallClock(pts int64) time.Time {
	s.h.mu.Lock()
	zero, wall := s.r.zero, s.r.wall
	s.h.mu.Unlock()
	d := time.Duration(math.Round(float64(pts) / float64(s.r.info.timescale) * float64(time.Second)))
	if wall != nil {
		if t, ok := wall(d); ok {
			return t
		}
	}
	return zero.Add(d)
}

// Close leaves the run.
func (s *Sub) Close() {
	s.closeOnce.Do(func() {
		s.h.mu.Lock()
		defer s.h.mu.Unlock()
		if s.r.subs == nil {
			return
		}
		if _, ok := s.r.subs[s]; ok {
			delete(s.r.subs, s)
			close(s.ch)
		}
	})
}

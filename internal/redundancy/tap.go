package redundancy

import (
	"context"
	"errors"
	"time"

	"github.com/sluice-video/sluice/internal/packager/cmaf"
)

// tap follows a pipeline's timeline and tells what it gains, as messages:
// its runs and init segments, the parts of the segments at its live edge
// as they end, its complete segments, whether its input is live. Nothing
// is queued: each step reads what the timeline holds since the last, so a
// slow reader gets more at once (or, past the timeline's window, finds
// the oldest segments gone).
type tap struct {
	tl   *cmaf.Timeline
	live func() bool
	// from is the number of the next complete segment to tell.
	from uint64

	runs   map[uint64]bool
	inits  map[runRendition]bool
	sent   map[edgeKey]int // parts told of an edge segment
	closed map[edgeKey]bool
	ended  bool
	// liveTold and lastLive are the input state last told.
	liveTold, lastLive bool
	// current, when set, says why the timeline is no longer the one to
	// follow (a feed checks it at its keep-alives).
	current func() error
}

type runRendition struct {
	run       uint64
	rendition int
}

// edgeKey names one rendition's segment at the live edge; its start tells
// apart two segments given one number in turn (a segment dropped at the
// edge lets the next take its number).
type edgeKey struct {
	run, number, start uint64
	rendition          int
}

func newTap(tl *cmaf.Timeline, live func() bool, from uint64) *tap {
	return &tap{
		tl: tl, live: live, from: from,
		runs: map[uint64]bool{}, inits: map[runRendition]bool{}, sent: map[edgeKey]int{}, closed: map[edgeKey]bool{},
	}
}

// step tells what the timeline gained since the last step.
func (t *tap) step(emit func(message) error) error {
	p := t.tl.Progress(t.from)
	runs := make(map[uint64]*cmaf.RunMedia, len(p.Runs))
	for i := range p.Runs {
		runs[p.Runs[i].ID] = &p.Runs[i]
	}
	// announce tells a run, and every init segment of it read so far, once.
	announce := func(id uint64) error {
		r := runs[id]
		if r == nil {
			return nil
		}
		if !t.runs[id] {
			if err := emit(message{kind: kindRun, run: id, runStart: r.Start, silent: r.Silent, disc: r.Discontinuity}); err != nil {
				return err
			}
			t.runs[id] = true
		}
		for i, init := range r.Inits {
			k := runRendition{id, i}
			if init == nil || t.inits[k] {
				continue
			}
			if err := emit(message{kind: kindInit, run: id, rendition: i, data: init}); err != nil {
				return err
			}
			t.inits[k] = true
		}
		return nil
	}
	for _, rw := range p.Rows {
		if err := announce(rw.Run); err != nil {
			return err
		}
		m := message{kind: kindSegment, run: rw.Run, number: rw.Number, segs: rw.Segments, fromParts: make([]bool, len(rw.Segments))}
		for i, seg := range rw.Segments {
			k := edgeKey{run: rw.Run, number: rw.Number, start: seg.Start, rendition: i}
			m.fromParts[i] = len(seg.Parts) > 0 && t.sent[k] == len(seg.Parts) && joined(seg)
		}
		if err := emit(m); err != nil {
			return err
		}
		t.from = rw.Number + 1
	}
	for i, list := range p.Edge {
		for _, em := range list {
			if em.Number < t.from {
				continue
			}
			if err := announce(em.Run); err != nil {
				return err
			}
			k := edgeKey{run: em.Run, number: em.Number, start: em.Start, rendition: i}
			for j := t.sent[k]; j < len(em.Parts); j++ {
				pt := em.Parts[j]
				err := emit(message{
					kind: kindPart, run: em.Run, number: em.Number, rendition: i, start: em.Start, part: j,
					data: em.Data[pt.Offset : pt.Offset+pt.Size : pt.Offset+pt.Size], duration: pt.Duration, independent: pt.Independent,
				})
				if err != nil {
					return err
				}
				t.sent[k] = j + 1
			}
			if em.Done && !t.closed[k] {
				if err := emit(message{kind: kindClose, run: em.Run, number: em.Number, rendition: i, start: em.Start, duration: em.Duration}); err != nil {
					return err
				}
				t.closed[k] = true
			}
		}
	}
	t.forget(runs)
	if p.Ended != t.ended {
		t.ended = p.Ended
		if p.Ended {
			if err := emit(message{kind: kindEnded}); err != nil {
				return err
			}
		}
	}
	if t.live != nil {
		if l := t.live(); !t.liveTold || l != t.lastLive {
			if err := emit(message{kind: kindLive, live: l}); err != nil {
				return err
			}
			t.liveTold, t.lastLive = true, l
		}
	}
	return nil
}

// forget drops what was told of segments now complete and of runs gone
// from the timeline, so the tap's memory stays that of the live edge.
func (t *tap) forget(runs map[uint64]*cmaf.RunMedia) {
	for k := range t.sent {
		if k.number < t.from || runs[k.run] == nil {
			delete(t.sent, k)
		}
	}
	for k := range t.closed {
		if k.number < t.from || runs[k.run] == nil {
			delete(t.closed, k)
		}
	}
	for id := range t.runs {
		if runs[id] == nil {
			delete(t.runs, id)
		}
	}
	for k := range t.inits {
		if runs[k.run] == nil {
			delete(t.inits, k)
		}
	}
}

// joined reports whether a segment's parts follow each other from its
// first byte to its last, so that the parts told make the segment.
func joined(seg *cmaf.Segment) bool {
	end := 0
	for _, p := range seg.Parts {
		if p.Offset != end {
			return false
		}
		end += p.Size
	}
	return end == len(seg.Data)
}

// livePoll is how often a tap asks whether the pipeline's input is live.
const livePoll = 200 * time.Millisecond

// errTimelineEnded ends a feed whose timeline ended: the follower asks
// again, and finds the timeline running again, replaced, or gone.
var errTimelineEnded = errors.New("the pipeline's timeline ended")

// follow steps the tap at every change of the timeline until ctx ends or
// emit fails. flush, when set, is called after every step; keepAlive,
// when positive, sends a ping when nothing was sent for that long, and
// then ends the follow when t.current, if set, fails (the timeline is no
// longer the pipeline's), or when the timeline has ended for that long.
func (t *tap) follow(ctx context.Context, emit func(message) error, flush func() error, keepAlive time.Duration) error {
	last, checked := time.Now(), time.Now()
	var endedAt time.Time
	sent := func(m message) error {
		last = time.Now()
		return emit(m)
	}
	tick := time.NewTicker(livePoll)
	defer tick.Stop()
	for {
		changed := t.tl.EdgeChanged()
		if err := t.step(sent); err != nil {
			return err
		}
		if keepAlive > 0 {
			if time.Since(last) >= keepAlive {
				if err := sent(message{kind: kindPing}); err != nil {
					return err
				}
			}
			switch {
			case !t.ended:
				endedAt = time.Time{}
			case endedAt.IsZero():
				endedAt = time.Now()
			case time.Since(endedAt) >= keepAlive:
				if flush != nil {
					_ = flush()
				}
				return errTimelineEnded
			}
			if t.current != nil && time.Since(checked) >= keepAlive {
				checked = time.Now()
				if err := t.current(); err != nil {
					if flush != nil {
						_ = flush()
					}
					return err
				}
			}
		}
		if flush != nil {
			if err := flush(); err != nil {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-changed:
		case <-tick.C:
		}
	}
}

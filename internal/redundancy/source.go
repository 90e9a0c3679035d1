package redundancy

import (
	"bytes"
	"fmt"
	"slices"
	"time"

	"github.com/sluice-video/sluice/internal/packager/cmaf"
)

// source is what the merge knows of one pipeline: its runs, its complete
// segments not yet merged, the segments at its live edge, whether its
// input is live and whether it is reachable. Its messages come from a tap
// of a local timeline or from a peer's feed; apply takes them in order.
type source struct {
	index  int
	remote bool
	// url is a remote pipeline's node; tl a local pipeline's timeline.
	url string
	tl  *cmaf.Timeline
	// gen names the attachment: messages of an earlier one are ignored.
	gen uint64
	// up is true while the pipeline's messages can arrive: a local
	// timeline attached, a peer's feed connected.
	up bool
	// live is the input state last told; ended says the pipeline's
	// timeline ended.
	live, ended bool

	renditions int
	runs       map[uint64]*srcRun
	// segs are complete segments, by number.
	segs []*srcSeg
	// edges are the segments at the live edge, by number, each with an
	// entry per rendition (nil until that rendition opens it).
	edges map[uint64]*srcEdge
	// last is the number of the newest complete segment told.
	last uint64
	// heard is when the source last told something.
	heard time.Time
	// neededFrom is the media time before which the merged timeline needs
	// nothing more of this source (prune); pruned says it was set.
	neededFrom time.Duration
	pruned     bool
}

// srcRun is a run of a pipeline.
type srcRun struct {
	id     uint64
	start  time.Duration
	silent bool
	inits  [][]byte
	// timescales are read from the init segments (0 until read).
	timescales []uint32
}

// complete reports whether every rendition's init segment has been told.
func (r *srcRun) complete() bool {
	for _, ts := range r.timescales {
		if ts == 0 {
			return false
		}
	}
	return true
}

// srcSeg is a complete segment of a pipeline.
type srcSeg struct {
	number uint64
	run    *srcRun
	segs   []*cmaf.Segment
	// at is when it arrived.
	at time.Time
}

// startOf is rendition i's start as media time.
func (s *srcSeg) startOf(i int) time.Duration { return s.segs[i].StartTimeOf(s.run.timescales[i]) }

// srcEdge is one segment number at a pipeline's live edge.
type srcEdge struct {
	number uint64
	run    *srcRun
	r      []*edgePiece
	// firstAt is when its first part arrived.
	firstAt time.Time
}

// edgePiece is one rendition's segment at the live edge.
type edgePiece struct {
	start    uint64
	data     []byte
	parts    []cmaf.Part
	done     bool
	duration uint64
}

// startOf is rendition i's start as media time, when it has begun.
func (e *srcEdge) startOf(i int) (time.Duration, bool) {
	p := e.r[i]
	if p == nil || e.run.timescales[i] == 0 {
		return 0, false
	}
	return cmaf.SegmentInfo{Start: p.start}.StartTime(e.run.timescales[i]), true
}

// parts counts the parts that have arrived, over every rendition.
func (e *srcEdge) parts() int {
	n := 0
	for _, p := range e.r {
		if p != nil {
			n += len(p.parts)
		}
	}
	return n
}

// Bounds of what a source keeps: complete segments not merged yet,
// numbers at the live edge (none further ahead of the newest complete
// segment than that), and parts of one rendition's segment at the live
// edge: four times as many as the shortest part (0.1 s) makes of the
// longest segment (10 s), whose bytes stay within a frame's media.
const (
	maxSourceSegments = 64
	maxSourceEdges    = 16
	maxEdgeParts      = int(4 * 10 / 0.1)
)

func newSource(index, renditions int, gen uint64) *source {
	return &source{index: index, gen: gen, renditions: renditions, runs: map[uint64]*srcRun{}, edges: map[uint64]*srcEdge{}}
}

// apply takes one message of the pipeline. An error says the pipeline's
// messages do not make sense (a peer's feed is then read again).
func (s *source) apply(m message, now time.Time) error {
	s.heard = now
	switch m.kind {
	case kindHello, kindPing:
	case kindRun:
		s.ended = false
		if r := s.runs[m.run]; r != nil {
			r.start, r.silent = m.runStart, m.silent
			return nil
		}
		s.runs[m.run] = &srcRun{
			id: m.run, start: m.runStart, silent: m.silent,
			inits: make([][]byte, s.renditions), timescales: make([]uint32, s.renditions),
		}
		s.forgetRuns()
	case kindInit:
		r, err := s.run(m)
		if err != nil {
			return err
		}
		tr, err := cmaf.NewReader(bytes.NewReader(m.data)).ReadInit()
		if err != nil {
			return fmt.Errorf("the init segment of rendition %d of run %d: %w", m.rendition, m.run, err)
		}
		r.inits[m.rendition], r.timescales[m.rendition] = m.data, tr.Timescale
	case kindPart:
		return s.part(m, now)
	case kindClose:
		r, err := s.run(m)
		if err != nil {
			return err
		}
		if e := s.edges[m.number]; e != nil && e.run == r {
			if p := e.r[m.rendition]; p != nil && p.start == m.start {
				p.done, p.duration = true, m.duration
			}
		}
	case kindSegment:
		return s.segment(m, now)
	case kindLive:
		s.live = m.live
	case kindEnded:
		s.ended = true
	default:
		return fmt.Errorf("unknown message %q", byte(m.kind))
	}
	return nil
}

// run finds the run of a message about one rendition.
func (s *source) run(m message) (*srcRun, error) {
	r := s.runs[m.run]
	if r == nil {
		return nil, fmt.Errorf("a %s of run %d, which was not announced", m.kind, m.run)
	}
	if m.rendition < 0 || m.rendition >= s.renditions {
		return nil, fmt.Errorf("a %s of rendition %d; the channel has %d", m.kind, m.rendition, s.renditions)
	}
	return r, nil
}

// part adds a part to a segment at the live edge: a first part opens the
// segment (replacing another of that number), a later one must follow the
// parts already there.
func (s *source) part(m message, now time.Time) error {
	r, err := s.run(m)
	if err != nil {
		return err
	}
	if r.timescales[m.rendition] == 0 {
		return fmt.Errorf("a part of rendition %d of run %d before its init segment", m.rendition, m.run)
	}
	e := s.edges[m.number]
	if e == nil || e.run != r {
		if m.part != 0 {
			return nil // the start of this segment was missed: it comes whole
		}
		if s.last > 0 && m.number > s.last+maxSourceEdges {
			return fmt.Errorf("a part of segment %d, more than %d segments ahead of the newest complete one, %d", m.number, maxSourceEdges, s.last)
		}
		e = &srcEdge{number: m.number, run: r, r: make([]*edgePiece, s.renditions), firstAt: now}
		s.edges[m.number] = e
		s.boundEdges()
	}
	p := e.r[m.rendition]
	if p == nil || p.start != m.start {
		if m.part != 0 {
			return nil
		}
		p = &edgePiece{start: m.start}
		e.r[m.rendition] = p
	}
	switch {
	case m.part < len(p.parts):
		return nil // told again after a reconnection
	case p.done:
		return fmt.Errorf("part %d of rendition %d of segment %d came after the segment was closed", m.part, m.rendition, m.number)
	case m.part > len(p.parts):
		return fmt.Errorf("part %d of rendition %d of segment %d follows part %d", m.part, m.rendition, m.number, len(p.parts)-1)
	case len(p.parts) >= maxEdgeParts:
		return fmt.Errorf("rendition %d of segment %d has more than %d parts", m.rendition, m.number, maxEdgeParts)
	case len(p.data)+len(m.data) > maxMedia:
		return fmt.Errorf("the parts of rendition %d of segment %d make more than %d bytes", m.rendition, m.number, maxMedia)
	}
	p.parts = append(p.parts, cmaf.Part{Offset: len(p.data), Size: len(m.data), Duration: m.duration, Independent: m.independent})
	p.data = append(p.data, m.data...)
	return nil
}

// segment records a complete segment, joining the renditions sent as parts.
func (s *source) segment(m message, now time.Time) error {
	r := s.runs[m.run]
	if r == nil {
		return fmt.Errorf("segment %d of run %d, which was not announced", m.number, m.run)
	}
	if len(m.segs) != s.renditions {
		return fmt.Errorf("segment %d has %d renditions; the channel has %d", m.number, len(m.segs), s.renditions)
	}
	if !r.complete() {
		return fmt.Errorf("segment %d of run %d before the run's init segments", m.number, m.run)
	}
	segs := make([]*cmaf.Segment, len(m.segs))
	for i, seg := range m.segs {
		if seg.Data == nil && i < len(m.fromParts) && m.fromParts[i] {
			e := s.edges[m.number]
			if e == nil || e.run != r || e.r[i] == nil || e.r[i].start != seg.Start {
				if s.unneeded(m, r) {
					// Its parts were dropped when the merged timeline took
					// the segment from another pipeline: nothing to keep.
					s.forgetThrough(m.number)
					return nil
				}
				return fmt.Errorf("rendition %d of segment %d was sent as parts this feed did not carry", i, m.number)
			}
			if i < len(m.sizes) && len(e.r[i].data) != m.sizes[i] {
				return fmt.Errorf("the parts of rendition %d of segment %d make %d bytes, the segment has %d", i, m.number, len(e.r[i].data), m.sizes[i])
			}
			c := *seg
			c.Data = e.r[i].data
			seg = &c
		}
		segs[i] = seg
	}
	s.forgetThrough(m.number)
	ss := &srcSeg{number: m.number, run: r, segs: segs, at: now}
	k, found := slices.BinarySearchFunc(s.segs, m.number, func(x *srcSeg, n uint64) int {
		switch {
		case x.number < n:
			return -1
		case x.number > n:
			return 1
		}
		return 0
	})
	if found {
		s.segs[k] = ss
	} else {
		s.segs = slices.Insert(s.segs, k, ss)
	}
	if len(s.segs) > maxSourceSegments {
		clear(s.segs[:len(s.segs)-maxSourceSegments])
		s.segs = s.segs[len(s.segs)-maxSourceSegments:]
	}
	return nil
}

// forgetThrough counts number, a segment now told complete, as told and
// drops the live edge up to it, and what lies too far ahead to be the
// live edge.
func (s *source) forgetThrough(number uint64) {
	s.last = max(s.last, number)
	for n := range s.edges {
		if n <= number || n > s.last+maxSourceEdges {
			delete(s.edges, n)
		}
	}
}

// unneeded reports whether a complete segment lies wholly in what prune
// dropped: before what the merged timeline still needs from this source.
func (s *source) unneeded(m message, r *srcRun) bool {
	if !s.pruned || len(m.segs) == 0 || r.timescales[0] == 0 {
		return false
	}
	return m.segs[0].StartTimeOf(r.timescales[0]) < s.neededFrom
}

// boundEdges keeps the newest numbers at the live edge.
func (s *source) boundEdges() {
	for len(s.edges) > maxSourceEdges {
		oldest := uint64(1<<64 - 1)
		for n := range s.edges {
			oldest = min(oldest, n)
		}
		delete(s.edges, oldest)
	}
}

// forgetRuns drops runs that nothing refers to any more, except the
// newest few.
func (s *source) forgetRuns() {
	if len(s.runs) <= 4 {
		return
	}
	used := map[*srcRun]bool{}
	for _, seg := range s.segs {
		used[seg.run] = true
	}
	for _, e := range s.edges {
		used[e.run] = true
	}
	ids := make([]uint64, 0, len(s.runs))
	for id := range s.runs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids[:len(ids)-2] {
		if !used[s.runs[id]] {
			delete(s.runs, id)
		}
	}
}

// reset forgets the live edge, which a feed tells again from its first
// part when it connects again; complete segments stay.
func (s *source) reset() {
	clear(s.edges)
}

// prune drops what lies before media time end (by the first rendition):
// what the merged timeline no longer needs.
func (s *source) prune(end, tol time.Duration) {
	if !s.pruned || end-tol > s.neededFrom {
		s.neededFrom, s.pruned = end-tol, true
	}
	k := 0
	for k < len(s.segs) && s.segs[k].startOf(0)+tol < end {
		k++
	}
	if k > 0 {
		clear(s.segs[:k])
		s.segs = s.segs[k:]
	}
	for n, e := range s.edges {
		if start, ok := e.startOf(0); ok && start+tol < end {
			delete(s.edges, n)
		}
	}
}

// newest is the start of the newest media the source has told (complete
// or at the edge), by the first rendition; ok is false when it has none.
func (s *source) newest() (time.Duration, bool) {
	var at time.Duration
	ok := false
	if n := len(s.segs); n > 0 {
		at, ok = s.segs[n-1].startOf(0), true
	}
	for _, e := range s.edges {
		if st, has := e.startOf(0); has && (!ok || st > at) {
			at, ok = st, true
		}
	}
	return at, ok
}

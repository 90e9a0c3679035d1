package cmaf

import (
	"time"
)

// edgeWriter records one rendition's segment in progress on its run, so the
// origin can list and serve its parts before the segment is complete.
type edgeWriter struct {
	feed *Feed
	idx  int
}

// maxEdge bounds the live-edge segments kept per rendition: the one being
// written and a few complete ones waiting for the other renditions.
const maxEdge = 6

func (w edgeWriter) opened(index, start uint64) {
	t := w.feed.tl
	t.mu.Lock()
	defer t.mu.Unlock()
	r := w.feed
	if r.edges == nil {
		r.edges = make([][]*liveSegment, len(t.cfg.Renditions))
	}
	r.edges[w.idx] = append(r.edges[w.idx], &liveSegment{index: index, start: start})
	e := r.edges[w.idx]
	if len(e) > maxEdge {
		clear(e[:len(e)-maxEdge])
		e = e[len(e)-maxEdge:]
	}
	r.edges[w.idx] = e
	t.edgeNotify()
}

// current returns the segment being written; t.mu must be held.
func (w edgeWriter) current() *liveSegment {
	if w.feed.edges == nil {
		return nil
	}
	e := w.feed.edges[w.idx]
	if len(e) == 0 || e[len(e)-1].done {
		return nil
	}
	return e[len(e)-1]
}

func (w edgeWriter) wrote(chunk []byte) {
	t := w.feed.tl
	t.mu.Lock()
	defer t.mu.Unlock()
	if l := w.current(); l != nil {
		l.data = append(l.data, chunk...)
		t.edgeNotify()
	}
}

func (w edgeWriter) partClosed(p Part) {
	t := w.feed.tl
	t.mu.Lock()
	l := w.current()
	if l != nil {
		l.parts = append(l.parts, p)
		t.edgeNotify()
		t.listing[w.idx].closed(t.cfg.Now())
	}
	t.mu.Unlock()
	if l != nil && w.idx == 0 && t.cfg.OnStage != nil {
		t.cfg.OnStage(StagePackager, t.cfg.Now().Sub(w.feed.readAt[0]))
	}
}

func (w edgeWriter) closed(duration uint64) {
	t := w.feed.tl
	t.mu.Lock()
	defer t.mu.Unlock()
	if l := w.current(); l != nil {
		l.duration = duration
		l.done = true
		t.edgeNotify()
	}
}

// listing follows when a rendition's parts end and when the origin first
// lists them, for StageOrigin.
type listing struct {
	parts    uint64    // parts ended so far
	lastAt   time.Time // when the latest ended
	reported uint64    // parts whose listing was reported
}

func (l *listing) closed(now time.Time) {
	l.parts++
	l.lastAt = now
}

// Listed tells the timeline that a response listing rendition's newest part
// has just been sent to a client that was waiting for it (a blocking
// playlist reload). The first such response after a part ended reports how
// long after the part ended it went out (StageOrigin).
func (t *Timeline) Listed(rendition string) {
	i, ok := t.byID[rendition]
	if !ok || t.cfg.OnStage == nil {
		return
	}
	t.mu.Lock()
	l := &t.listing[i]
	fresh := l.parts > l.reported
	l.reported = l.parts
	at := l.lastAt
	t.mu.Unlock()
	if fresh {
		t.cfg.OnStage(StageOrigin, t.cfg.Now().Sub(at))
	}
}

// edgeNotify wakes everyone waiting for the live edge to move; t.mu must be
// held for writing.
func (t *Timeline) edgeNotify() {
	close(t.edge)
	t.edge = make(chan struct{})
}

// EdgeChanged returns a channel closed at the next change at the live edge:
// a chunk written, a part or segment finished, a new run or the end.
func (t *Timeline) EdgeChanged() <-chan struct{} {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.edge
}

// SegmentDuration returns the configured segment length.
func (t *Timeline) SegmentDuration() time.Duration { return t.cfg.SegmentDuration }

// PartDuration returns the configured part length (0: no parts).
func (t *Timeline) PartDuration() time.Duration { return t.cfg.PartDuration }

// edgeOf returns the live-edge segments of rendition i that are not yet in
// the complete rows, each with its number; t.mu must be held.
func (t *Timeline) edgeOf(i int) ([]*liveSegment, []uint64) {
	if len(t.runs) == 0 || t.next == 0 {
		return nil, nil
	}
	r := t.runs[len(t.runs)-1]
	if r.edges == nil || r.segments == 0 {
		return nil, nil
	}
	var segs []*liveSegment
	var nums []uint64
	for _, l := range r.edges[i] {
		if l.index < r.done {
			continue
		}
		n := t.next + l.index - r.done
		if r.grid {
			n = t.gridBase() + t.shift + l.index
		}
		segs = append(segs, l)
		nums = append(nums, n)
	}
	return segs, nums
}

// PartData is what the timeline holds of one part.
type PartData struct {
	// Data is the part's bytes written so far.
	Data []byte
	// Complete is true once the part has ended: Data is all of it.
	Complete bool
	// ETag is a complete segment's own ETag (the hash of the same bytes a
	// request would otherwise compute); "" for parts and segments in
	// progress.
	ETag string
	// Source names where the bytes come from (see Segment.Source): a
	// response streaming media in progress must end when it changes.
	Source uint64
}

// Part returns part p of segment number of a rendition, complete or being
// written. ok is false when the part does not exist (yet, or any more).
func (t *Timeline) Part(rendition string, number uint64, p int) (PartData, bool) {
	i, ok := t.byID[rendition]
	if !ok || p < 0 {
		return PartData{}, false
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	if seg := t.segmentLocked(i, number); seg != nil {
		if p >= len(seg.Parts) {
			return PartData{}, false
		}
		pt := seg.Parts[p]
		return PartData{Data: seg.Data[pt.Offset : pt.Offset+pt.Size], Complete: true, Source: seg.Source}, true
	}
	segs, nums := t.edgeOf(i)
	for k, l := range segs {
		if nums[k] != number {
			continue
		}
		if p < len(l.parts) {
			pt := l.parts[p]
			return PartData{Data: l.data[pt.Offset : pt.Offset+pt.Size : pt.Offset+pt.Size], Complete: true, Source: l.source}, true
		}
		if p == len(l.parts) && !l.done {
			off := l.openPartOffset()
			return PartData{Data: l.data[off:len(l.data):len(l.data)], Source: l.source}, true
		}
		return PartData{}, false
	}
	return PartData{}, false
}

// Growing returns the bytes written so far of a rendition's segment that is
// complete or at the live edge, and whether it is complete. LL-DASH serves a
// segment this way while it is being written.
func (t *Timeline) Growing(rendition string, number uint64) (PartData, bool) {
	i, ok := t.byID[rendition]
	if !ok {
		return PartData{}, false
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	if seg := t.segmentLocked(i, number); seg != nil {
		return PartData{Data: seg.Data, Complete: true, ETag: seg.ETag, Source: seg.Source}, true
	}
	segs, nums := t.edgeOf(i)
	for k, l := range segs {
		if nums[k] == number {
			return PartData{Data: l.data[:len(l.data):len(l.data)], Complete: l.done, Source: l.source}, true
		}
	}
	return PartData{}, false
}

// EdgePosition returns where a rendition's live edge is: the number of the
// newest segment listed (complete or in progress) and how many of its parts
// have ended, and whether that segment is complete. ok is false before the
// first segment.
func (t *Timeline) EdgePosition(rendition string) (number uint64, parts int, complete bool, ok bool) {
	i, found := t.byID[rendition]
	if !found {
		return 0, 0, false, false
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	segs, nums := t.edgeOf(i)
	if n := len(segs); n > 0 {
		l := segs[n-1]
		return nums[n-1], len(l.parts), l.done, true
	}
	if n := len(t.rows); n > 0 {
		seg := t.rows[n-1].segs[i]
		return seg.Number, len(seg.Parts), true, true
	}
	return 0, 0, false, false
}

// segmentLocked returns rendition i's complete segment by number from the
// rows, or nil; t.mu must be held.
func (t *Timeline) segmentLocked(i int, number uint64) *Segment {
	k := t.rowIndex(number)
	if k < 0 {
		return nil
	}
	return t.rows[k].segs[i]
}

// rowIndex returns the index in t.rows of segment number, or -1; t.mu
// must be held. Numbers grow from row to row, consecutive within a run;
// from one run to the next they may jump (runs on the grid are numbered by
// where they start, and so are the runs of a merged timeline).
func (t *Timeline) rowIndex(number uint64) int {
	n := len(t.rows)
	if n == 0 {
		return -1
	}
	first := t.rows[0].segs[0].Number
	if number < first {
		return -1
	}
	if k := number - first; k < uint64(n) && t.rows[k].segs[0].Number == number {
		return int(k) //nolint:gosec // below len(t.rows)
	}
	k := sortSearchRows(t.rows, number)
	if k < n && t.rows[k].segs[0].Number == number {
		return k
	}
	return -1
}

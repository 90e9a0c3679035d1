package cmaf

import (
	"bytes"
	"errors"
	"fmt"
	"hash/fnv"
	"time"
)

// A timeline is fed either by its encoder (a Feed reads the encoder's
// fragmented MP4 and cuts segments) or with media cut elsewhere (a
// Replica): the timeline of a channel with redundant pipelines takes each
// segment, and the parts of the segment being written, from one of the
// pipelines' own timelines. Progress reads what a timeline holds in the
// form a Replica takes, for copying it to another node.

// Replica is a run of a timeline fed with segments and parts cut by other
// timelines. Its segments keep the numbers they are given: they grow by
// one from segment to segment within the run, and may jump from the last
// segment of one run to the first of the next (manifests list the missing
// numbers as gaps). Renditions are named by their index in
// Config.Renditions. Like every run, a replica run is a discontinuity.
type Replica struct {
	feed *Feed
}

// StartReplica begins a run fed by the caller. inits are the run's init
// segments, one per rendition in the order of Config.Renditions; start is
// the media time of the run's start (since AvailabilityStart), at or before
// its first segment's start.
func (t *Timeline) StartReplica(start time.Duration, silent bool, inits [][]byte) (*Replica, error) {
	return t.StartNamedReplica(0, start, silent, inits)
}

// StartNamedReplica is StartReplica for a run named id (0: after the
// clock, as StartRun names runs): timelines on different nodes fed the
// same media give its run the same name, and so the same init segment
// URLs and DASH Period id. A name the timeline already holds is not
// reused; the run is then named after the clock.
func (t *Timeline) StartNamedReplica(id uint64, start time.Duration, silent bool, inits [][]byte) (*Replica, error) {
	if len(inits) != len(t.cfg.Renditions) {
		return nil, fmt.Errorf("cmaf: a replica run needs %d init segments, got %d", len(t.cfg.Renditions), len(inits))
	}
	tracks := make([]*Track, len(inits))
	for i, init := range inits {
		tr, err := NewReader(bytes.NewReader(init)).ReadInit()
		if err != nil {
			return nil, fmt.Errorf("rendition %s: %w", t.cfg.Renditions[i].ID, err)
		}
		if want := t.cfg.Renditions[i].Kind; tr.Kind != want {
			return nil, fmt.Errorf("rendition %s: %w: expected a %s track, the init segment declares %s", t.cfg.Renditions[i].ID, ErrMalformed, want, tr.Kind)
		}
		tracks[i] = tr
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	r := t.startRunLocked(id)
	r.anchored = true
	r.offset = max(start, 0)
	r.silent = silent
	r.edges = make([][]*liveSegment, len(t.cfg.Renditions))
	copy(r.tracks, tracks)
	copy(t.tracks, tracks)
	t.notify()
	return &Replica{feed: r}, nil
}

// ID returns the run's identifier, which names its init segments.
func (p *Replica) ID() uint64 { return p.feed.id }

// errNotCurrent refuses media for a replica run that a newer run replaced.
var errNotCurrent = errors.New("cmaf: the replica run is no longer the timeline's current run")

// current reports whether the replica is the timeline's newest run; t.mu
// must be held.
func (p *Replica) current() bool {
	t := p.feed.tl
	return len(t.runs) > 0 && t.runs[len(t.runs)-1] == p.feed
}

// edgeSegment returns rendition i's live-edge segment number; t.mu must be
// held.
func (p *Replica) edgeSegment(i int, number uint64) *liveSegment {
	for _, l := range p.feed.edges[i] {
		if l.index == number {
			return l
		}
	}
	return nil
}

// atEdge runs change on rendition i's live edge with t.mu held, once it
// has checked that the replica is still the timeline's current run and
// that i names a rendition, and wakes the edge's waiters when change
// succeeds.
func (p *Replica) atEdge(i int, change func(t *Timeline) error) error {
	t := p.feed.tl
	t.mu.Lock()
	defer t.mu.Unlock()
	if !p.current() {
		return errNotCurrent
	}
	if i < 0 || i >= len(t.cfg.Renditions) {
		return fmt.Errorf("cmaf: no rendition %d", i)
	}
	if err := change(t); err != nil {
		return err
	}
	t.edgeNotify()
	return nil
}

// OpenSegment begins segment number of rendition i at the live edge: start
// is its decode time in the rendition's timescale (since
// AvailabilityStart), source names where its bytes come from (see
// Segment.Source). Segments open in order of number.
func (p *Replica) OpenSegment(i int, number, start, source uint64) error {
	return p.atEdge(i, func(t *Timeline) error {
		e := p.feed.edges[i]
		if n := len(e); n > 0 && e[n-1].index >= number {
			return fmt.Errorf("cmaf: rendition %s: segment %d opened after segment %d", t.cfg.Renditions[i].ID, number, e[n-1].index)
		}
		e = append(e, &liveSegment{index: number, start: start, source: source})
		if len(e) > maxEdge {
			clear(e[:len(e)-maxEdge])
			e = e[len(e)-maxEdge:]
		}
		p.feed.edges[i] = e
		return nil
	})
}

// AddPart appends a part that has ended to rendition i's segment number at
// the live edge: its bytes (the first part starts with the segment's styp),
// its duration in the rendition's timescale and whether it starts with a
// key frame.
func (p *Replica) AddPart(i int, number uint64, data []byte, duration uint64, independent bool) error {
	return p.atEdge(i, func(t *Timeline) error {
		l := p.edgeSegment(i, number)
		if l == nil || l.done {
			return fmt.Errorf("cmaf: rendition %s: segment %d is not being written", t.cfg.Renditions[i].ID, number)
		}
		l.parts = append(l.parts, Part{Offset: len(l.data), Size: len(data), Duration: duration, Independent: independent})
		l.data = append(l.data, data...)
		t.listing[i].closed(t.cfg.Now())
		return nil
	})
}

// CloseSegment marks rendition i's segment number at the live edge as
// complete in that rendition, lasting duration ticks.
func (p *Replica) CloseSegment(i int, number, duration uint64) error {
	return p.atEdge(i, func(t *Timeline) error {
		l := p.edgeSegment(i, number)
		if l == nil {
			return fmt.Errorf("cmaf: rendition %s: segment %d is not at the live edge", t.cfg.Renditions[i].ID, number)
		}
		l.duration, l.done = duration, true
		return nil
	})
}

// Complete adds segment number of every rendition (segs, in the order of
// Config.Renditions) to the timeline. Only Start, Duration, Data, Parts,
// Dependent, ETag and Source of segs are used; Parts may be nil (the
// segment is then served whole only). The number must follow the
// timeline's last segment: by one within the run, by one or more at its
// first segment.
func (p *Replica) Complete(number uint64, segs []*Segment) error {
	t := p.feed.tl
	var news []notice
	t.mu.Lock()
	defer func() {
		t.mu.Unlock()
		t.tell(news)
	}()
	r := p.feed
	if !p.current() {
		return errNotCurrent
	}
	if len(segs) != len(t.cfg.Renditions) {
		return fmt.Errorf("cmaf: segment %d has %d renditions, the timeline %d", number, len(segs), len(t.cfg.Renditions))
	}
	switch {
	case r.segments > 0 && number != t.next:
		return fmt.Errorf("cmaf: segment %d does not follow segment %d of its run", number, t.next-1)
	case t.next > 0 && number < t.next:
		return fmt.Errorf("cmaf: segment %d does not follow the timeline's segment %d", number, t.next-1)
	case number == 0:
		return errors.New("cmaf: segment numbers start at 1")
	}
	rw := row{run: r, segs: make([]*Segment, len(segs))}
	for i, s := range segs {
		if s == nil || s.Duration == 0 {
			return fmt.Errorf("cmaf: rendition %s of segment %d is missing or has no duration", t.cfg.Renditions[i].ID, number)
		}
		etag := s.ETag
		if etag == "" {
			h := fnv.New64a()
			_, _ = h.Write(s.Data)
			etag = fmt.Sprintf(`"%x"`, h.Sum64())
		}
		rw.segs[i] = &Segment{
			Number: number, Run: r.id, Start: s.Start, Duration: s.Duration, Data: s.Data, ETag: etag,
			Dependent: s.Dependent, Parts: s.Parts, Source: s.Source,
		}
	}
	r.done = number + 1
	news, _ = t.addRow(rw, number)
	return nil
}

// Gap tells the timeline's OnGap hook that segments are missing, for the
// channel's figures.
func (t *Timeline) Gap(reason string) {
	t.tell([]notice{{gap: reason}})
}

// Progress is what a timeline holds from a segment number on, in the form
// a Replica takes: what a peer needs to copy it (see Timeline.Progress).
// Its byte slices and segments are shared with the timeline and must not
// be modified.
type Progress struct {
	// Runs are the runs in memory, oldest first.
	Runs []RunMedia
	// Rows are the complete segments from the number asked for on,
	// oldest first.
	Rows []ProgressRow
	// Edge holds, by rendition, the segments at the live edge after the
	// rows: complete in that rendition but not yet in every other, and
	// last the one being written.
	Edge [][]EdgeMedia
	// Ended is true once the timeline has ended.
	Ended bool
}

// RunMedia describes a run of a timeline.
type RunMedia struct {
	ID uint64
	// Start is the media time of the run's start, valid once Placed.
	Start  time.Duration
	Placed bool
	// Discontinuity is the run's discontinuity sequence, valid once it
	// has a segment.
	Discontinuity uint64
	Silent        bool
	// Inits are the run's init segments by rendition, nil until read.
	Inits [][]byte
}

// ProgressRow is one complete segment number: a segment of every
// rendition, in the order of Config.Renditions.
type ProgressRow struct {
	Number   uint64
	Run      uint64
	Segments []*Segment
}

// EdgeMedia is one rendition's segment at the live edge.
type EdgeMedia struct {
	Number uint64
	Run    uint64
	// Start is the segment's decode time in the rendition's timescale.
	Start uint64
	// Data holds the parts that have ended (all of it once Done), and
	// Parts describes them.
	Data  []byte
	Parts []Part
	// Done says the segment is complete in this rendition, lasting
	// Duration ticks.
	Done     bool
	Duration uint64
}

// Progress returns what the timeline holds from segment number from on.
// Rows from before the oldest in memory are gone: Progress then starts at
// the oldest.
func (t *Timeline) Progress(from uint64) Progress {
	t.mu.RLock()
	defer t.mu.RUnlock()
	p := Progress{Ended: t.ended}
	for _, r := range t.runs {
		rm := RunMedia{ID: r.id, Start: r.offset, Placed: r.anchored, Discontinuity: r.disc, Silent: r.silent, Inits: make([][]byte, len(r.tracks))}
		for i, tr := range r.tracks {
			if tr != nil {
				rm.Inits[i] = tr.Init
			}
		}
		p.Runs = append(p.Runs, rm)
	}
	k := sortSearchRows(t.rows, from)
	for _, rw := range t.rows[k:] {
		p.Rows = append(p.Rows, ProgressRow{Number: rw.segs[0].Number, Run: rw.run.id, Segments: append([]*Segment(nil), rw.segs...)})
	}
	if t.cfg.PartDuration > 0 {
		p.Edge = make([][]EdgeMedia, len(t.cfg.Renditions))
		for i := range t.cfg.Renditions {
			segs, nums := t.edgeOf(i)
			for j, l := range segs {
				if nums[j] < from {
					continue
				}
				run := t.runs[len(t.runs)-1] // edgeOf lists the newest run's
				end := l.openPartOffset()
				if l.done {
					end = len(l.data)
				}
				p.Edge[i] = append(p.Edge[i], EdgeMedia{
					Number: nums[j], Run: run.id, Start: l.start, Data: l.data[:end:end],
					Parts: append([]Part(nil), l.parts...), Done: l.done, Duration: l.duration,
				})
			}
		}
	}
	return p
}

// sortSearchRows returns the index of the first row numbered from or
// later.
func sortSearchRows(rows []row, from uint64) int {
	lo, hi := 0, len(rows)
	for lo < hi {
		m := int(uint(lo+hi) >> 1) //nolint:gosec // halves of an int
		if rows[m].segs[0].Number < from {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// Renditions returns the renditions the timeline was configured with.
func (t *Timeline) Renditions() []RenditionConfig {
	return append([]RenditionConfig(nil), t.cfg.Renditions...)
}

// AvailabilityStart returns the wall-clock instant of media time zero.
func (t *Timeline) AvailabilityStart() time.Time { return t.cfg.AvailabilityStart }

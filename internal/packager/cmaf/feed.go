package cmaf

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/Eyevinn/mp4ff/mp4"
)

// Feed is one uninterrupted encoder run feeding a Timeline. Each rendition's
// byte stream is read by Ingest; segments cut at the same boundary in every
// rendition become one numbered segment of the timeline.
type Feed struct {
	tl   *Timeline
	id   uint64
	disc uint64

	// Guarded by tl.mu.
	anchored bool
	offset   time.Duration // media time of the run's time zero
	tracks   []*Track
	pending  map[uint64][]*cutSegment // boundary index → cut per rendition
	done     uint64                   // boundary indexes below this are finished
	segments int
	// edges holds each rendition's segments at the live edge, oldest first,
	// when the timeline cuts parts.
	edges  [][]*liveSegment
	clock  Clock
	silent bool
	// grid says the run is on the grid (OnGrid); gridStart is the boundary
	// of its first segment and gridFirst that segment's number, once it
	// has one; offGrid marks the passthrough renditions whose key frames
	// are off the grid.
	grid      bool
	gridStart time.Duration
	gridFirst uint64
	offGrid   []bool
	// failed ends the run (see add).
	failed error

	// readAt is when each rendition's latest fragment was read; only that
	// rendition's reader touches its entry.
	readAt []time.Time
}

// Clock tells when a run's media entered the pipeline, by the encoder's
// output time (before the run's offset): the encoder keeps its input's
// timestamps, so what its input's writer recorded applies to its output.
type Clock interface {
	// Captured is when the frame at media time m was captured: the
	// instant it arrived at the ingest, or was read by the encoder.
	Captured(m time.Duration) (time.Time, bool)
	// Fed is when the frame at m was handed to the encoder; false when
	// unknown.
	Fed(m time.Duration) (time.Time, bool)
}

// SetSilent marks the run's audio as generated silence (its source has
// none): manifests then list no audio for the run, and its muxed media are
// the video alone, which players start sooner. Call it before Ingest.
func (r *Feed) SetSilent(silent bool) {
	r.tl.mu.Lock()
	defer r.tl.mu.Unlock()
	r.silent = silent
}

// UseClock places the run on the wall clock by the capture time of its
// first sample, and lets the timeline report how long media spent in the
// encoder. Call it before Ingest.
func (r *Feed) UseClock(c Clock) {
	r.tl.mu.Lock()
	defer r.tl.mu.Unlock()
	r.clock = c
}

// ID returns the run's identifier, which names its init segments.
func (r *Feed) ID() uint64 { return r.id }

// Ingest reads one rendition's fragmented MP4 stream until it ends. It
// returns nil when the stream ends cleanly and an error naming the problem
// when the bytes are malformed.
func (r *Feed) Ingest(rendition string, src io.Reader) error {
	idx, ok := r.tl.byID[rendition]
	if !ok {
		return fmt.Errorf("cmaf: unknown rendition %q", rendition)
	}
	rd := NewReader(src)
	track, err := rd.ReadInit()
	if err != nil {
		return fmt.Errorf("rendition %s: %w", rendition, err)
	}
	if want := r.tl.cfg.Renditions[idx].Kind; track.Kind != want {
		return fmt.Errorf("rendition %s: %w: expected a %s track, the stream carries %s", rendition, ErrMalformed, want, track.Kind)
	}
	r.setTrack(idx, track)
	var seg *segmenter
	for {
		samples, err := rd.ReadFragment()
		r.readAt[idx] = r.tl.cfg.Now()
		if errors.Is(err, io.EOF) {
			if r.tl.cfg.KeepFinalSegment && seg != nil && seg.cur != nil {
				r.add(idx, seg.close(nil, seg.lastEnd))
				if err := r.failure(); err != nil {
					return fmt.Errorf("rendition %s: %w", rendition, err)
				}
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("rendition %s: %w", rendition, err)
		}
		if seg == nil {
			seg = newSegmenter(track, r.tl.cfg.SegmentDuration, r.tl.cfg.PartDuration,
				r.anchor(mediaStart(samples, track.Timescale), mediaEnd(samples, track.Timescale)), edgeWriter{feed: r, idx: idx})
			seg.grid = r.onGrid()
			if rc := r.tl.cfg.Renditions[idx]; rc.Passthrough && track.Kind == Video {
				seg.passthrough = true
				hook := r.tl.cfg.OnKeyFrames
				seg.onKeys = func(k KeyFrames) {
					r.keysOnGrid(idx, k.Aligned)
					if hook != nil {
						k.Rendition = rendition
						hook(k)
					}
				}
			}
		}
		if idx == 0 {
			r.encoderStage(samples, track.Timescale)
		}
		seg.readAt = r.readAt[idx]
		cuts, err := seg.push(samples)
		r.add(idx, cuts)
		if ferr := r.failure(); ferr != nil && err == nil {
			err = ferr
		}
		if err != nil {
			return fmt.Errorf("rendition %s: %w", rendition, err)
		}
		if seg.skipped > 0 && seg.skipped == len(samples) {
			r.tl.logger.Warn("encoder output does not start with a key frame; waiting for one", "rendition", rendition)
		}
	}
}

func (r *Feed) setTrack(idx int, t *Track) {
	r.tl.mu.Lock()
	defer r.tl.mu.Unlock()
	r.tracks[idx] = t
	r.tl.tracks[idx] = t
	r.tl.version++
}

// anchor fixes the run's place in media time when its first media arrives.
// Media time follows the wall clock: the run's time zero is placed so that
// the first sample (at media time first) falls at its capture time, as the
// run's clock tells it, so program date-times are true capture times.
// Without a clock, the capture of the first sample is estimated as now
// minus the media the first fragment holds (up to end), which counts what
// the encoder held back as if it had been captured later. Runs never
// overlap: a run starts no earlier than the end of the previous segment.
func (r *Feed) anchor(first, end time.Duration) time.Duration {
	t := r.tl
	t.mu.Lock()
	defer t.mu.Unlock()
	if r.anchored {
		return r.offset
	}
	at := t.cfg.Now().Sub(t.cfg.AvailabilityStart) - end
	if r.clock != nil {
		if c, ok := r.clock.Captured(first); ok {
			at = c.Sub(t.cfg.AvailabilityStart) - first
		}
	}
	if n := len(t.rows); n > 0 {
		last := t.rows[n-1].segs[0]
		ts := t.tracks[0].Timescale
		at = max(at, last.StartTimeOf(ts)+last.DurationOf(ts))
	}
	r.offset = max(at, 0).Truncate(time.Millisecond)
	r.anchored = true
	return r.offset
}

// WallClock returns the wall-clock time the run's manifests give media time
// m of the encoder (before the run's offset); false until the run is
// placed on the wall clock by its first media.
func (r *Feed) WallClock(m time.Duration) (time.Time, bool) {
	t := r.tl
	t.mu.RLock()
	defer t.mu.RUnlock()
	if !r.anchored {
		return time.Time{}, false
	}
	return t.cfg.AvailabilityStart.Add(r.offset + m), true
}

// add records cut segments of one rendition and completes every boundary
// that all renditions have reached. A run on the grid cannot leave a
// number out and go on (numbers are consecutive within a run, and its
// numbers are the grid's): a dropped segment ends it with an error (see
// failure), and the next run continues on the grid. Before its first segment, a run on
// the grid drops what only some renditions have (the audio may start a
// little before the first video boundary) without a word.
func (r *Feed) add(idx int, cuts []cutSegment) {
	if len(cuts) == 0 {
		return
	}
	t := r.tl
	var news []notice
	t.mu.Lock()
	defer func() {
		t.mu.Unlock()
		t.tell(news)
	}()
	drop := func(k uint64, why string) {
		delete(r.pending, k)
		if r.grid && r.segments == 0 {
			return
		}
		t.logger.Warn("segment dropped: "+why, "run", r.id, "boundary", k)
		news = append(news, notice{gap: "a segment was dropped: " + why})
		if r.grid && r.failed == nil {
			r.failed = fmt.Errorf("a segment was dropped (%s): the run on the segment grid ends so that its numbers stay the grid's", why)
		}
	}
	n := len(t.cfg.Renditions)
	for i := range cuts {
		c := &cuts[i]
		if c.index < r.done {
			continue // a boundary already given up on
		}
		set := r.pending[c.index]
		if set == nil {
			set = make([]*cutSegment, n)
			r.pending[c.index] = set
		}
		set[idx] = c
		if !allSet(set) {
			continue
		}
		for k := range r.pending {
			if k < c.index {
				drop(k, "not every rendition produced it")
			}
		}
		delete(r.pending, c.index)
		r.done = c.index + 1
		if r.failed == nil {
			news = append(news, t.complete(r, set)...)
		}
	}
	for len(r.pending) > maxPending {
		oldest := uint64(1<<64 - 1)
		for k := range r.pending {
			oldest = min(oldest, k)
		}
		drop(oldest, "a rendition fell behind")
		r.done = max(r.done, oldest+1)
	}
}

// failure is why the run cannot go on, or nil.
func (r *Feed) failure() error {
	r.tl.mu.RLock()
	defer r.tl.mu.RUnlock()
	return r.failed
}

// maxPending bounds the segments one rendition may be ahead of another.
const maxPending = 16

func allSet(set []*cutSegment) bool {
	for _, c := range set {
		if c == nil {
			return false
		}
	}
	return true
}

// encoderStage reports how long the last frame of a fragment spent in the
// encoder: from being handed to it to the packager reading it.
func (r *Feed) encoderStage(samples []mp4.FullSample, timescale uint32) {
	hook := r.tl.cfg.OnStage
	if hook == nil || r.clock == nil || len(samples) == 0 {
		return
	}
	last := samples[len(samples)-1]
	pts := last.DecodeTime
	if cto := last.CompositionTimeOffset; cto >= 0 {
		pts += uint64(cto)
	} else {
		pts -= min(pts, uint64(-int64(cto)))
	}
	m := ticksToDuration(pts, timescale)
	if fed, ok := r.clock.Fed(m); ok {
		hook(StageEncoder, r.readAt[0].Sub(fed))
	}
}

// mediaStart is the decode time of the first sample, as a duration.
func mediaStart(samples []mp4.FullSample, timescale uint32) time.Duration {
	if len(samples) == 0 {
		return 0
	}
	return ticksToDuration(samples[0].DecodeTime, timescale)
}

// mediaEnd is the decode end of the last sample, as a duration.
func mediaEnd(samples []mp4.FullSample, timescale uint32) time.Duration {
	if len(samples) == 0 {
		return 0
	}
	last := samples[len(samples)-1]
	return ticksToDuration(last.DecodeTime+uint64(last.Dur), timescale)
}

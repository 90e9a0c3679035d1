package cmaf

import (
	"bytes"
	"fmt"
	"time"

	"github.com/Eyevinn/mp4ff/mp4"
)

// cutSegment is a finished segment of one rendition, before numbering.
type cutSegment struct {
	index    uint64 // boundary index within the run: start ≈ index × segment length
	start    uint64 // decode time of the first sample, run offset included
	duration uint64
	data     []byte
	parts    []Part // empty unless the timeline cuts parts
	// readAt is when the fragment that ended the segment was read.
	readAt time.Time
	// dependent is true when the segment starts without a key frame.
	dependent bool
	// onGrid is true when a run on the grid cut the segment from its
	// boundary: a video segment whose first frame is at index × segment
	// (within half a frame); every audio segment.
	onGrid bool
}

// segmenter cuts one rendition's samples into segments on the run's fixed
// grid of segment boundaries. Video segments start at key frames, which the
// encoder places on the grid; audio segments start with the first sample at
// or after a boundary. Each batch of samples (one encoder fragment) becomes
// one chunk, a moof+mdat pair, so a segment is built chunk by chunk.
type segmenter struct {
	track    *Track
	segTicks uint64 // segment length in track ticks
	offset   uint64 // run offset in track ticks, added to every decode time
	seq      uint32 // mfhd sequence number of the next chunk

	cur        *building
	pending    []mp4.FullSample
	lastEnd    uint64 // decode end of the last accepted sample, without offset
	haveSample bool
	skipped    int // samples dropped while waiting for a key frame

	// partTicks is the part length in track ticks; 0 cuts no parts. sink,
	// when set, hears of every chunk, part and segment end as it happens.
	partTicks uint64
	sink      edgeSink
	// readAt is when the fragment being pushed was read.
	readAt time.Time

	// passthrough cuts at every boundary, key frame or not (see
	// RenditionConfig.Passthrough); opened says a segment was opened in
	// this run; keys follows the key frames and onKeys hears of changes.
	passthrough bool
	opened      bool
	keys        keyWatch
	onKeys      func(KeyFrames)

	// grid says the run is on the grid: decode times are media times
	// (the encoder writes key frames with equal decode and presentation
	// times), and boundary k is at k × segment.
	grid bool
}

// keyWatch follows a passthrough rendition's key frames.
type keyWatch struct {
	last, interval uint64 // decode time of the last key frame; ticks to the one before
	seen           bool
	count, frames  int // frames since the last key frame; from the one before to it
	// keyed counts the segments in a row that started with a key frame;
	// offGrid is set from a segment without one until alignedAfter in a
	// row had one.
	keyed    int
	offGrid  bool
	reported KeyFrames
	told     bool
}

// alignedAfter is how many segments in a row must start with a key frame
// for a passthrough rendition to count as aligned again.
const alignedAfter = 4

type building struct {
	index     uint64
	start     uint64 // without offset
	dependent bool   // the first sample is not a key frame
	onGrid    bool   // see cutSegment
	data      bytes.Buffer
	parts     []Part
	// The part being built: where it starts in data and in time, whether it
	// starts with a key frame, and whether it has a sample yet.
	partOffset int
	partStart  uint64
	partIndep  bool
	partOpen   bool
}

func newSegmenter(t *Track, segment, part, offset time.Duration, sink edgeSink) *segmenter {
	ts := uint64(t.Timescale)
	s := &segmenter{
		track:    t,
		segTicks: uint64(segment.Seconds()*float64(ts) + 0.5),
		offset:   uint64(offset.Seconds()*float64(ts) + 0.5),
		seq:      1,
	}
	if part > 0 {
		s.partTicks = uint64(part.Seconds()*float64(ts) + 0.5)
		s.sink = sink
	}
	return s
}

// push consumes one fragment's samples and returns the segments it completed.
func (s *segmenter) push(samples []mp4.FullSample) ([]cutSegment, error) {
	var done []cutSegment
	for i := range samples {
		smp := samples[i]
		if s.haveSample && smp.DecodeTime+s.tolerance(smp) < s.lastEnd {
			return done, fmt.Errorf("%w: decode time goes back from %d to %d", ErrMalformed, s.lastEnd, smp.DecodeTime)
		}
		s.haveSample = true
		s.lastEnd = smp.DecodeTime + uint64(smp.Dur)
		if s.cur != nil && s.startsNext(smp) {
			done = s.close(done, smp.DecodeTime)
		}
		if s.passthrough {
			if smp.IsSync() {
				s.keyFrame(smp)
			}
			s.keys.count++
		}
		if s.cur == nil {
			if s.track.Kind == Video && !smp.IsSync() && (!s.passthrough || !s.opened) {
				s.skipped++
				continue
			}
			s.open(smp.DecodeTime, s.tolerance(smp))
			s.cur.dependent = s.track.Kind == Video && !smp.IsSync()
			if s.passthrough {
				s.segmentOpened(!s.cur.dependent)
			}
		}
		s.startPart(smp)
		s.pending = append(s.pending, smp)
		if s.endsCurrent(smp) {
			done = s.close(done, smp.DecodeTime+uint64(smp.Dur))
			continue
		}
		if s.endsPart(smp) {
			if err := s.flush(); err != nil {
				return done, err
			}
			s.closePart(smp.DecodeTime + uint64(smp.Dur))
		}
	}
	if s.partTicks > 0 {
		// Parts are whole chunks: the samples of a part wait for its end,
		// whatever fragments the encoder cut them into.
		return done, nil
	}
	if err := s.flush(); err != nil {
		return done, err
	}
	return done, nil
}

// startsNext reports whether smp must open the next segment.
func (s *segmenter) startsNext(smp mp4.FullSample) bool {
	next := (s.cur.index + 1) * s.segTicks
	if s.track.Kind == Video {
		return (smp.IsSync() || s.passthrough) && smp.DecodeTime+s.tolerance(smp) >= next
	}
	return smp.DecodeTime >= next
}

// endsCurrent reports whether smp is the last sample of the current segment:
// its end reaches the next boundary, where the encoder puts the next key frame.
func (s *segmenter) endsCurrent(smp mp4.FullSample) bool {
	next := (s.cur.index + 1) * s.segTicks
	end := smp.DecodeTime + uint64(smp.Dur)
	if s.track.Kind == Video {
		return end+s.tolerance(smp) >= next
	}
	return end >= next
}

// startPart opens a part at smp when none is open.
func (s *segmenter) startPart(smp mp4.FullSample) {
	b := s.cur
	if s.partTicks == 0 || b.partOpen {
		return
	}
	b.partOpen = true
	b.partStart = smp.DecodeTime
	b.partIndep = s.track.Kind == Audio || smp.IsSync()
	if len(b.parts) > 0 {
		b.partOffset = b.data.Len()
	}
}

// endsPart reports whether the part must end after smp. A video part ends
// where one more frame would take it past the part length. An audio part
// ends at the sample that reaches the next point of the part grid counted
// from the segment's boundary (to within half a sample), so that audio
// part k covers the time of video part k, give or take half a sample, and
// a video part and its audio can be served together.
func (s *segmenter) endsPart(smp mp4.FullSample) bool {
	if s.partTicks == 0 || !s.cur.partOpen {
		return false
	}
	end := smp.DecodeTime + uint64(smp.Dur)
	if s.track.Kind == Audio {
		next := s.cur.index*s.segTicks + uint64(len(s.cur.parts)+1)*s.partTicks
		return end+uint64(smp.Dur)/2 >= next
	}
	return end-s.cur.partStart+uint64(smp.Dur) > s.partTicks+uint64(smp.Dur)/8
}

// closePart ends the open part at decode time end; pending must be flushed.
func (s *segmenter) closePart(end uint64) {
	b := s.cur
	if !b.partOpen {
		return
	}
	b.partOpen = false
	if end <= b.partStart || b.data.Len() <= b.partOffset {
		return
	}
	p := Part{Offset: b.partOffset, Size: b.data.Len() - b.partOffset, Duration: end - b.partStart, Independent: b.partIndep}
	b.parts = append(b.parts, p)
	if s.sink != nil {
		s.sink.partClosed(p)
	}
}

// keyFrame notes a key frame of a passthrough rendition.
func (s *segmenter) keyFrame(smp mp4.FullSample) {
	k := &s.keys
	if k.seen && smp.DecodeTime > k.last {
		k.interval, k.frames = smp.DecodeTime-k.last, k.count
	}
	k.last, k.seen, k.count = smp.DecodeTime, true, 0
}

// segmentOpened tells, for a passthrough rendition, whether the segment
// just opened starts with a key frame, and reports a change: the key frames
// leave the grid at the first segment without one, and are back on it after
// alignedAfter segments in a row with one.
func (s *segmenter) segmentOpened(withKey bool) {
	k := &s.keys
	if withKey {
		k.keyed++
		if k.keyed >= alignedAfter {
			k.offGrid = false
		}
	} else {
		k.keyed, k.offGrid = 0, true
	}
	if s.onKeys == nil {
		return
	}
	ts := s.track.Timescale
	now := KeyFrames{
		Interval: ticksToDuration(k.interval, ts),
		Frames:   k.frames,
		Aligned:  !k.offGrid,
	}
	prev := k.reported
	if !k.told || now.Aligned != prev.Aligned || (!now.Aligned && now.Frames != prev.Frames) {
		k.reported, k.told = now, true
		s.onKeys(now)
	}
}

// tolerance absorbs rounding of frame times against the grid: half a frame,
// and never more than a quarter of a segment.
func (s *segmenter) tolerance(smp mp4.FullSample) uint64 {
	return min(uint64(smp.Dur)/2, s.segTicks/4)
}

func (s *segmenter) open(dts, tol uint64) {
	s.opened = true
	idx := dts / s.segTicks
	onGrid := s.grid
	switch {
	case s.track.Kind == Video && s.grid:
		// A run's first segment may start after its boundary.
		idx = (dts + tol) / s.segTicks
		onGrid = dts <= idx*s.segTicks+tol
	case s.track.Kind == Video:
		idx = (dts + s.segTicks/2) / s.segTicks
	}
	b := &building{index: idx, start: dts, onGrid: onGrid}
	styp := mp4.NewStyp("cmfs", 0, []string{"cmfs", "cmf2", "msdh", "msix"})
	_ = styp.Encode(&b.data) // writing to a bytes.Buffer cannot fail
	s.cur = b
	if s.sink != nil {
		s.sink.opened(idx, dts+s.offset)
		s.sink.wrote(b.data.Bytes())
	}
}

// close ends the current segment at end and appends it to done, unless it
// has no duration (samples without durations come only from a broken
// stream, and no manifest can list such a segment).
func (s *segmenter) close(done []cutSegment, end uint64) []cutSegment {
	_ = s.flush() // only fails on sample tables the encoder cannot produce; the segment keeps what was written
	s.closePart(end)
	b := s.cur
	s.cur = nil
	if s.sink != nil {
		s.sink.closed(max(end, b.start) - b.start)
	}
	if end <= b.start {
		return done
	}
	return append(done, cutSegment{
		dependent: b.dependent,
		onGrid:    b.onGrid,
		index:     b.index,
		start:     b.start + s.offset,
		duration:  end - b.start,
		// An exact copy: the buffer grew by doubling, and the window keeps
		// every segment for a minute.
		data:   bytes.Clone(b.data.Bytes()),
		parts:  b.parts,
		readAt: s.readAt,
	})
}

// flush writes the pending samples as one chunk of the current segment.
func (s *segmenter) flush() error {
	if len(s.pending) == 0 || s.cur == nil {
		s.pending = s.pending[:0]
		return nil
	}
	frag, err := mp4.CreateFragment(s.seq, s.track.TrackID)
	if err != nil {
		return err
	}
	s.seq++
	for _, smp := range s.pending {
		smp.DecodeTime += s.offset
		frag.AddFullSample(smp)
	}
	s.pending = s.pending[:0]
	before := s.cur.data.Len()
	err = frag.Encode(&s.cur.data)
	if s.sink != nil && s.cur.data.Len() > before {
		s.sink.wrote(s.cur.data.Bytes()[before:])
	}
	return err
}

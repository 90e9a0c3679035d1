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
}

type building struct {
	index uint64
	start uint64 // without offset
	data  bytes.Buffer
}

func newSegmenter(t *Track, segment time.Duration, offset time.Duration) *segmenter {
	ts := uint64(t.Timescale)
	return &segmenter{
		track:    t,
		segTicks: uint64(segment.Seconds()*float64(ts) + 0.5),
		offset:   uint64(offset.Seconds()*float64(ts) + 0.5),
		seq:      1,
	}
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
		if s.cur == nil {
			if s.track.Kind == Video && !smp.IsSync() {
				s.skipped++
				continue
			}
			s.open(smp.DecodeTime)
		}
		s.pending = append(s.pending, smp)
		if s.endsCurrent(smp) {
			done = s.close(done, smp.DecodeTime+uint64(smp.Dur))
		}
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
		return smp.IsSync() && smp.DecodeTime+s.tolerance(smp) >= next
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

// tolerance absorbs rounding of frame times against the grid: half a frame,
// and never more than a quarter of a segment.
func (s *segmenter) tolerance(smp mp4.FullSample) uint64 {
	return min(uint64(smp.Dur)/2, s.segTicks/4)
}

func (s *segmenter) open(dts uint64) {
	idx := dts / s.segTicks
	if s.track.Kind == Video {
		idx = (dts + s.segTicks/2) / s.segTicks
	}
	b := &building{index: idx, start: dts}
	styp := mp4.NewStyp("cmfs", 0, []string{"cmfs", "cmf2", "msdh", "msix"})
	_ = styp.Encode(&b.data) // writing to a bytes.Buffer cannot fail
	s.cur = b
}

// close ends the current segment at end and appends it to done, unless it
// has no duration (samples without durations come only from a broken
// stream, and no manifest can list such a segment).
func (s *segmenter) close(done []cutSegment, end uint64) []cutSegment {
	_ = s.flush() // only fails on sample tables the encoder cannot produce; the segment keeps what was written
	b := s.cur
	s.cur = nil
	if end <= b.start {
		return done
	}
	return append(done, cutSegment{
		index:    b.index,
		start:    b.start + s.offset,
		duration: end - b.start,
		// An exact copy: the buffer grew by doubling, and the window keeps
		// every segment for a minute.
		data: bytes.Clone(b.data.Bytes()),
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
	return frag.Encode(&s.cur.data)
}

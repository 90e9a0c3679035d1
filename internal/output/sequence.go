package output

import (
	"math"
	"time"
)

// maxFillSeconds bounds the gap filled with repeated pictures: a longer
// outage is marked as a discontinuity and not papered over.
const maxFillSeconds = 30

// frameSequencer numbers one consumer's pictures across decoder runs: Seq
// counts from 0 without gaps and PTS stays on one 1/fps grid, so N frames
// always span (N-1)/fps. A picture that starts a new decoder run (marked
// Discontinuity by DecodeRun) is preceded by copies of the last picture
// standing in for the gap (marked fill, up to maxFillSeconds); a picture
// that follows pictures the consumer lost is not, since a reader that fell
// behind gains nothing from more of them. Either is marked discontinuity and
// moved onto the grid.
type frameSequencer struct {
	fps    float64
	seq    uint64
	last   *Frame
	offset float64
}

// push delivers a decoded picture, after the fill it calls for, to emit.
// lost is how many pictures the consumer lost just before this one.
func (s *frameSequencer) push(fr Frame, lost int, emit func(Frame) error) error {
	step := 1 / s.fps
	newRun := fr.Discontinuity
	fr.Discontinuity, fr.Seq = false, 0
	if last := s.last; last != nil && (newRun || lost > 0) {
		if lost == 0 {
			gap := int(math.Round(fr.Time.Sub(last.Time).Seconds()*s.fps)) - 1
			gap = max(0, min(gap, int(maxFillSeconds*s.fps)))
			for range gap {
				fill := *last
				fill.Seq, fill.PTS = s.seq, last.PTS+step
				fill.Time = last.Time.Add(time.Duration(step * float64(time.Second)))
				fill.Fill, fill.Discontinuity = true, false
				if err := s.send(fill, emit); err != nil {
					return err
				}
				last = s.last
			}
		}
		s.offset = s.last.PTS + step - fr.PTS
		fr.Discontinuity = true
	}
	fr.PTS += s.offset
	fr.Seq = s.seq
	return s.send(fr, emit)
}

func (s *frameSequencer) send(fr Frame, emit func(Frame) error) error {
	if err := emit(fr); err != nil {
		return err
	}
	s.seq++
	s.last = &fr
	return nil
}

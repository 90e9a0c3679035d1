package output

import (
	"context"
	"errors"
	"math"
	"time"
)

// maxFillSeconds bounds the gap filled with repeated pictures: a longer
// outage is marked as a discontinuity and not papered over.
const maxFillSeconds = 30

// FrameFeed delivers a rendition's pictures at a fixed size and rate across
// encoder runs. Sequence numbers never skip and PTS stays on one 1/fps
// grid: the gap of an encoder restart is filled with the last picture
// (marked fill), up to maxFillSeconds.
type FrameFeed struct {
	Hub    *Hub
	FFmpeg string
	Spec   FrameSpec

	seq    uint64
	last   *Frame
	offset float64
}

// emitError carries the consumer's own error out of the decoder loop.
type emitError struct{ err error }

func (e emitError) Error() string { return e.err.Error() }
func (e emitError) Unwrap() error { return e.err }

// Run decodes the current (or next) encoder run and calls emit for every
// picture. It returns nil when the run ended, ErrBehind when the consumer
// lagged, emit's error, or why the decoder failed; call it again to go on.
func (f *FrameFeed) Run(ctx context.Context, emit func(Frame) error) error {
	step := 1 / f.Spec.FPS
	first := true
	err := decodeRun(ctx, f.Hub, f.FFmpeg, f.Spec, func(fr Frame) error {
		if first {
			first = false
			if last := f.last; last != nil {
				gap := int(math.Round(fr.Time.Sub(last.Time).Seconds()*f.Spec.FPS)) - 1
				gap = max(0, min(gap, int(maxFillSeconds*f.Spec.FPS)))
				for range gap {
					fill := *last
					fill.Seq, fill.PTS = f.seq, last.PTS+step
					fill.Time = last.Time.Add(time.Duration(step * float64(time.Second)))
					fill.Fill, fill.Discontinuity = true, false
					if err := f.send(fill, emit); err != nil {
						return err
					}
					last = f.last
				}
				f.offset = f.last.PTS + step - fr.PTS
				fr.Discontinuity = true
			}
		}
		fr.PTS += f.offset
		fr.Seq = f.seq
		return f.send(fr, emit)
	})
	var ee emitError
	if errors.As(err, &ee) {
		return ee.err
	}
	return err
}

func (f *FrameFeed) send(fr Frame, emit func(Frame) error) error {
	if err := emit(fr); err != nil {
		return emitError{err}
	}
	f.seq++
	f.last = &fr
	return nil
}

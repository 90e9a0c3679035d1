package output

import (
	"context"
	"errors"
)

// FrameFeed delivers a rendition's pictures at a fixed size and rate across
// encoder runs, for one consumer. Sequence numbers never skip and PTS stays
// on one 1/fps grid: the gap of an encoder restart is filled with the last
// picture (marked fill), up to maxFillSeconds.
type FrameFeed struct {
	Hub    *Hub
	FFmpeg string
	Spec   FrameSpec

	seq frameSequencer
}

// emitError carries the consumer's own error out of the decoder loop.
type emitError struct{ err error }

func (e emitError) Error() string { return e.err.Error() }
func (e emitError) Unwrap() error { return e.err }

// Run decodes the current (or next) encoder run and calls emit for every
// picture. It returns nil when the run ended, ErrBehind when the consumer
// lagged, emit's error, or why the decoder failed; call it again to go on.
func (f *FrameFeed) Run(ctx context.Context, emit func(Frame) error) error {
	f.seq.fps = f.Spec.FPS
	err := DecodeRun(ctx, f.Hub, f.FFmpeg, f.Spec, func(fr Frame) error {
		return f.seq.push(fr, 0, func(fr Frame) error {
			if err := emit(fr); err != nil {
				return emitError{err}
			}
			return nil
		})
	})
	var ee emitError
	if errors.As(err, &ee) {
		return ee.err
	}
	return err
}

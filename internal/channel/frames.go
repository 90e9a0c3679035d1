package channel

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/sluice-video/sluice/internal/output"
	"github.com/sluice-video/sluice/internal/resource"
)

// FrameStream is one reader of a running channel's decoded pictures at a
// fixed size and rate, for the frames API. Readers of the same rendition,
// size and rate share one decoder.
type FrameStream struct {
	rt      *runtime
	key     output.FrameKey
	Channel string
	Spec    output.FrameSpec
	// Protected is true when an endpoint of the channel admits only some
	// viewers (signed URLs, a key token): see resource.ChannelSpec.RestrictsViewers.
	Protected bool
}

// OpenFrames checks a frames request against a channel: it must be running
// (or starting) and the rendition must be in its ladder. The size defaults
// to the rendition's. Nothing starts until Run.
func (m *Manager) OpenFrames(_ context.Context, ref string, req output.FrameRequest) (*FrameStream, error) {
	rt, err := m.lookup(ref)
	if err != nil {
		return nil, err
	}
	if st := rt.state(); !st.Active() {
		return nil, resource.Conflict("channel %s is not running (it is %s): start it to read its frames", rt.name(), st)
	}
	spec := rt.spec()
	ladder, err := spec.Encoder.Resolve()
	if err != nil {
		return nil, err
	}
	rung, ok := resource.DeliveryRendition(resource.OutputGroup{DeliverySettings: resource.DeliverySettings{Rendition: req.Rendition}}, ladder)
	if !ok {
		return nil, resource.FieldErrors{{Path: "rendition", Message: fmt.Sprintf("channel %s has no rendition %q", spec.Name, req.Rendition)}}
	}
	fs := output.FrameSpec{Rendition: rung.Name, Width: req.Width, Height: req.Height, FPS: req.FPS}
	if fs.Width == 0 {
		fs.Width, fs.Height = rung.Width, rung.Height
	}
	return &FrameStream{
		rt:        rt,
		key:       output.FrameKey{Rendition: req.Rendition, Width: fs.Width, Height: fs.Height, FPS: fs.FPS},
		Channel:   spec.Name,
		Spec:      fs,
		Protected: spec.RestrictsViewers(),
	}, nil
}

// Run delivers frames to emit until ctx ends, emit fails (its error is
// returned) or the channel stops (nil). It joins the shared decoder of the
// stream's rendition, size and rate, starting it if it is the first
// reader. Encoder restarts are bridged: the sequence and the PTS grid go
// on, the gap filled with the last picture.
func (s *FrameStream) Run(ctx context.Context, emit func(output.Frame) error) error {
	tap := s.rt.frames.Join(s.key, func() output.FrameSource { return s.rt.frameSource(s.key, s.Spec) })
	err := tap.Run(ctx, emit)
	if n := tap.Dropped(); n > 0 {
		s.rt.logger.Info(fmt.Sprintf("a frames reader fell behind and lost %d pictures", n), "rendition", s.Spec.Rendition)
	}
	return err
}

// errChannelStopped ends a shared decoder whose channel stopped.
var errChannelStopped = errors.New("the channel stopped")

// frameSource is the shared decoder of key: it decodes the rendition run
// after run until the channel stops (then it returns nil) or ctx ends, and
// starts the decoder again when it fails. A key that names no rendition
// follows the ladder's first rung; the picture size stays as it began.
func (rt *runtime) frameSource(key output.FrameKey, spec output.FrameSpec) output.FrameSource {
	return func(ctx context.Context, emit func(output.Frame)) error {
		ctx, cancel := context.WithCancelCause(ctx)
		defer cancel(nil)
		go rt.watchActive(ctx, cancel)
		var emitted atomic.Bool
		for {
			if key.Rendition == "" {
				spec.Rendition = rt.firstRung(spec.Rendition)
			}
			emitted.Store(false)
			runCtx, stopRun := context.WithCancel(ctx)
			if key.Rendition == "" {
				go rt.watchLadder(runCtx, stopRun, spec.Rendition, &emitted)
			}
			err := output.DecodeRun(runCtx, rt.hub, rt.m.cfg.FFmpeg, spec, func(f output.Frame) error {
				emitted.Store(true)
				emit(f)
				return nil
			})
			stopRun()
			switch {
			case errors.Is(context.Cause(ctx), errChannelStopped):
				return nil
			case ctx.Err() != nil:
				return ctx.Err()
			case err == nil, errors.Is(err, output.ErrBehind), errors.Is(err, context.Canceled):
				continue
			}
			rt.logger.Warn("a shared frame decoder failed; starting it again", "rendition", spec.Rendition, "error", err.Error())
			select {
			case <-time.After(time.Second):
			case <-ctx.Done():
			}
		}
	}
}

// watchActive ends a shared decoder once its channel is no longer running.
func (rt *runtime) watchActive(ctx context.Context, cancel context.CancelCauseFunc) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if !rt.state().Active() {
				cancel(errChannelStopped)
				return
			}
		}
	}
}

// firstRung is the name of the ladder's first rung, or current when the
// ladder cannot be read.
func (rt *runtime) firstRung(current string) string {
	spec := rt.spec()
	l, err := spec.Encoder.Resolve()
	if err != nil || len(l.Rungs) == 0 {
		return current
	}
	return l.Rungs[0].Name
}

// watchLadder ends a wait for a rendition the ladder no longer has first
// (the channel was updated meanwhile), so the decoder follows the new
// ladder.
func (rt *runtime) watchLadder(ctx context.Context, stop context.CancelFunc, want string, emitted *atomic.Bool) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if emitted.Load() {
				return
			}
			if rt.firstRung(want) != want {
				stop()
				return
			}
		}
	}
}

// frameObserver reports a channel's frame shares to the manager's observer.
type frameObserver struct{ rt *runtime }

func (o frameObserver) FrameShares(readers, decoders int) {
	o.rt.m.cfg.Observer.FrameShares(o.rt.name(), readers, decoders)
}

func (o frameObserver) FramesDropped(n int) {
	o.rt.m.cfg.Observer.FramesDropped(o.rt.name(), n)
}

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

// FrameStream is a running channel's decoded pictures at a fixed size and
// rate, for the frames API.
type FrameStream struct {
	rt      *runtime
	req     output.FrameRequest
	feed    *output.FrameFeed
	Channel string
	Spec    output.FrameSpec
}

// OpenFrames checks a frames request against a channel: it must be running
// (or starting) and the rendition must be in its ladder. The size defaults
// to the rendition's.
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
		rt:      rt,
		req:     req,
		feed:    &output.FrameFeed{Hub: rt.hub, FFmpeg: m.cfg.FFmpeg, Spec: fs},
		Channel: spec.Name,
		Spec:    fs,
	}, nil
}

// errChannelStopped ends a frames stream whose channel stopped.
var errChannelStopped = errors.New("the channel stopped")

// Run delivers frames to emit until ctx ends, emit fails (its error is
// returned) or the channel stops (nil). Encoder restarts are bridged: the
// sequence and the PTS grid go on, the gap filled with the last picture.
func (s *FrameStream) Run(ctx context.Context, emit func(output.Frame) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if !s.rt.state().Active() {
					cancel(errChannelStopped)
					return
				}
			}
		}
	}()
	var emitErr error
	var emitted atomic.Bool
	wrapped := func(f output.Frame) error {
		emitted.Store(true)
		emitErr = emit(f)
		return emitErr
	}
	for {
		s.follow()
		emitted.Store(false)
		runCtx, stopRun := context.WithCancel(ctx)
		go s.watchLadder(runCtx, stopRun, &emitted)
		err := s.feed.Run(runCtx, wrapped)
		stopRun()
		switch {
		case emitErr != nil:
			return emitErr
		case errors.Is(context.Cause(ctx), errChannelStopped):
			return nil
		case ctx.Err() != nil:
			return ctx.Err()
		case err == nil, errors.Is(err, output.ErrBehind), errors.Is(err, context.Canceled):
			continue
		}
		s.rt.logger.Warn("the frame decoder of a frames stream failed; starting it again", "error", err.Error())
		select {
		case <-time.After(time.Second):
		case <-ctx.Done():
		}
	}
}

// follow keeps a stream that did not name its rendition on the ladder's
// first rung when the ladder changes; the picture size stays as it began.
func (s *FrameStream) follow() {
	if s.req.Rendition != "" {
		return
	}
	spec := s.rt.spec()
	l, err := spec.Encoder.Resolve()
	if err != nil || len(l.Rungs) == 0 {
		return
	}
	s.feed.Spec.Rendition = l.Rungs[0].Name
}

// watchLadder ends a wait for a rendition the ladder no longer has first
// (the channel was updated meanwhile), so the stream follows the new ladder.
func (s *FrameStream) watchLadder(ctx context.Context, stop context.CancelFunc, emitted *atomic.Bool) {
	if s.req.Rendition != "" {
		return
	}
	want := s.feed.Spec.Rendition
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
			spec := s.rt.spec()
			if l, err := spec.Encoder.Resolve(); err == nil && len(l.Rungs) > 0 && l.Rungs[0].Name != want {
				stop()
				return
			}
		}
	}
}

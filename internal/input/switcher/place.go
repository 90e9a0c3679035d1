package switcher

import (
	"context"
	"fmt"
	"time"

	"github.com/sluice-video/sluice/internal/input/live"
)

// Placement puts a run's output on the channel's media clock instead of
// starting it at zero: every frame of an input is written at the output
// time of its capture (the earliest arrival, relative to its timestamp,
// among the frames of its current GOP), fill at the output time it is due.
// Two runs placed on the same clock (two pipelines of one channel, or an
// encoder that restarted) then give a frame captured at one instant the
// same time, whenever each of them started.
type Placement struct {
	// Zero is the wall-clock instant that output time zero stands for.
	Zero time.Time
	// Media is the channel's media time at output time zero: the encoder
	// adds it to the stream's timestamps. Config.Segment's grid is
	// counted in media time.
	Media time.Duration
}

// place sets up a placed run; the run's clock then records encoder times
// (output time plus the placement's media time).
func (r *run) place(p *Placement) {
	if p == nil {
		return
	}
	r.placed = true
	r.start = p.Zero
	r.media = p.Media
}

// zeroOf is the wall-clock instant of timestamp zero of src's clock, as its
// current GOP tells it: the earliest arrival less the frame's presentation
// time, since no frame arrives before it was captured.
func (r *run) zeroOf(src *source) time.Time {
	now := r.s.cfg.Now()
	var zero time.Time
	for i := range src.gop {
		f := &src.gop[i]
		if f.Kind != live.Video {
			continue
		}
		if z := arrival(f, now).Add(-f.PTS); zero.IsZero() || z.Before(zero) {
			zero = z
		}
	}
	return zero
}

// placedOffset is the offset (output time = input time + offset) that puts
// key frame f of the active input at its capture time, but never before
// what was already written nor before output time zero.
func (r *run) placedOffset(f live.Frame) time.Duration {
	zero := r.zeroOf(r.active)
	if zero.IsZero() {
		zero = arrival(&f, r.s.cfg.Now()).Add(-f.PTS)
	}
	off := zero.Sub(r.start)
	if r.haveVideo {
		off = max(off, r.nextVideo-f.DTS)
	}
	return max(off, -f.DTS)
}

// earlyBy is how long before the instant its output time stands for a
// frame written at output PTS pts arrived: positive only when the run's
// placement is late.
func (r *run) earlyBy(pts time.Duration, f live.Frame) time.Duration {
	return r.start.Add(pts).Sub(arrival(&f, r.s.cfg.Now()))
}

// startDrain takes what the inputs sent before the run started. A placed
// run takes all of it before it puts the active input on air, from the
// first frame of its GOP, so that the GOP's earliest arrival places it.
func (r *run) startDrain(ctx context.Context) error {
	if !r.placed {
		return r.drain(ctx)
	}
	r.draining = true
	err := r.drain(ctx)
	r.draining = false
	if err != nil {
		return err
	}
	src := r.active
	if r.mode != modeFill || len(src.gop) == 0 || !r.fits(src) {
		return nil
	}
	if _, a := split(src.tracks); a != nil && r.silent {
		return &NeedRestart{Video: r.video, Audio: r.audio, Reason: fmt.Sprintf("input %s brings audio", src.name())}
	}
	return r.replay(src)
}

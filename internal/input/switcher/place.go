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

// sawFrame notes what a video frame that arrived at at tells of the
// input's clock.
func (src *source) sawFrame(at time.Time, f live.Frame) {
	if z := at.Add(-f.PTS); src.zero.IsZero() || z.Before(src.zero) {
		src.zero = z
	}
}

// zeroOf is the wall-clock instant of timestamp zero of src's clock, as its
// current GOP (and what the run drained of it) tells it: the earliest
// arrival less the frame's presentation time, since no frame arrives
// before it was captured.
func (r *run) zeroOf(src *source) time.Time {
	now := r.s.cfg.Now()
	zero := src.zero
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

// placeWindow is how long a placed run that starts with a live input
// watches the input's frames before it places them: the earliest arrival
// among them, relative to its timestamp, places the whole run, and one
// frame read promptly in that time undoes the delays of all the others.
// The run's output starts at the next segment boundary anyway.
const placeWindow = 500 * time.Millisecond

// startDrain takes what the inputs sent before the run started. A placed
// run takes all of it, and what its active input sends for placeWindow
// more, before it puts that input on air from the first frame of its
// GOP, placed by the earliest arrival it saw.
func (r *run) startDrain(ctx context.Context) error {
	if !r.placed {
		return r.drain(ctx)
	}
	r.draining = true
	err := r.drain(ctx)
	if err == nil && len(r.active.gop) > 0 {
		err = r.watchFor(ctx, placeWindow)
	}
	r.draining = false
	defer func() {
		for _, src := range r.sources {
			src.zero = time.Time{}
		}
	}()
	src := r.active
	if err != nil {
		return err
	}
	if r.mode != modeFill || len(src.gop) == 0 || !r.fits(src) {
		return nil
	}
	if _, a := split(src.tracks); a != nil && r.silent {
		return &NeedRestart{Video: r.video, Audio: r.audio, Reason: fmt.Sprintf("input %s brings audio", src.name())}
	}
	return r.replay(src)
}

// watchFor handles the inputs' events for d, writing nothing.
func (r *run) watchFor(ctx context.Context, d time.Duration) error {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for {
		var ev0, ev1 <-chan live.Event
		ev0 = r.sources[0].sub.Events()
		if len(r.sources) > 1 {
			ev1 = r.sources[1].sub.Events()
		}
		var err error
		select {
		case <-ctx.Done():
			return nil
		case <-deadline.C:
			return nil
		case e, ok := <-ev0:
			err = r.handle(ctx, r.sources[0], e, ok)
		case e, ok := <-ev1:
			err = r.handle(ctx, r.sources[1], e, ok)
		}
		if err != nil {
			return err
		}
	}
}

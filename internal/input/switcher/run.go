package switcher

import (
	"context"
	"fmt"
	"time"

	"github.com/sluice-video/sluice/internal/input/live"
)

// mode is what the output currently carries.
type mode int

const (
	// modeFill: fill, paced by the wall clock; waiting for an input.
	modeFill mode = iota
	// modeLive: the active input's frames, retimed.
	modeLive
)

// Bounds of the switcher.
const (
	maxSourceGOP = 900             // frames kept per input for an instant switch
	maxJump      = 5 * time.Second // a larger timestamp jump is resynchronised
	audioSlack   = 10 * time.Millisecond
	// heldUpAfter: a longer gap between two ticks means the process was
	// held up, and the inputs' readers may not have had their turn yet.
	heldUpAfter = 10 * tickEvery
)

// source is one attached input as the switcher sees it.
type source struct {
	hub     *live.Hub
	primary bool
	sub     *live.Subscription
	tracks  []*live.Track
	live    bool
	// lastArrival is when the input's latest media arrived at its hub (not
	// when the switcher got round to it), so a switcher that was held up
	// does not take frames waiting in its subscription for a loss.
	lastArrival  time.Time
	healthySince time.Time
	gop          []live.Frame
	// zero is the earliest instant of the input's timestamp zero its
	// frames told while a placed run drained them (see sawFrame).
	zero time.Time
	// warnedAhead is set once the input's session was said to send
	// faster than real time (see pace).
	warnedAhead bool
}

func (src *source) healthy(now time.Time, loss time.Duration) bool {
	return src.live && now.Sub(src.lastArrival) < loss && len(src.gop) > 0
}

func (src *source) name() string { return src.hub.Name() }

// run is one encoder run's worth of switching.
type run struct {
	s            *Switcher
	out          *output
	video, audio *live.Track
	start        time.Time
	sources      []*source
	active       *source

	mode         mode
	offset       time.Duration // output time = input time + offset
	nextVideo    time.Duration // output DTS of the next video frame
	lastVideoDTS time.Duration
	haveVideo    bool
	nextAudio    time.Duration
	frameDur     time.Duration
	lastInDTS    time.Duration

	fill     *Clip
	fillSize [2]int
	fillIdx  int
	lastKey  *live.Frame
	lost     time.Time // when the active input was lost; zero while live

	lastTick time.Time
	graced   bool // the last tick judged nothing, after a hold-up

	clock  *Clock // nil records nothing
	silent bool   // the run's audio is generated silence
	// placed runs follow a Placement: start is its Zero, media its media
	// time; draining is set while a placed run takes what its inputs sent
	// before it started, so that it starts with all of it.
	placed   bool
	media    time.Duration
	draining bool
	// late watches the output after fill gave way to an input within the
	// run (see watchLate).
	late lateWatch
	// ahead is set while the active input's frames are dropped for
	// coming too early (see pace).
	ahead bool
}

// lateWatch checks that an input brought on air after fill was not late:
// its first key frame sets where its frames fall on the run's clock, so if
// that frame came in late (queued while the publisher connected, or after
// a stall) every later frame would be dated that much late. The frames
// that follow tell: one that arrives earlier, relative to its timestamp,
// than the key frame did shows by how much.
type lateWatch struct {
	on    bool
	until time.Duration // output time at which the watch ends
	lag   time.Duration // the key frame's arrival minus its output time
}

// Bounds of the late watch: how long after the resume frames are compared,
// and how late the key frame may have been. The limit is the bound
// program date-times are held to against capture time: within it the
// dates stand, and a restart would cost the viewers seconds of picture for
// a few frames' accuracy (a publisher that reconnects is typically read
// 40 to 80 ms late while its connection settles).
const (
	lateWindow = 2 * time.Second
	lateLimit  = 100 * time.Millisecond
)

func (r *run) loadFill(ctx context.Context) error {
	if r.s.cfg.Fills == nil {
		return fmt.Errorf("no fill maker configured")
	}
	c, err := r.s.cfg.Fills.Clip(ctx, Shape{
		Mode: r.s.cfg.Fill, Slate: r.s.cfg.Slate, OpenSlate: r.s.cfg.OpenSlate, Video: r.video.Codec, Width: r.fillSize[0], Height: r.fillSize[1], FPS: r.s.cfg.FPS, Audio: r.audio,
	})
	if err != nil {
		return err
	}
	r.fill = c
	r.frameDur = c.FrameDur
	return nil
}

func (r *run) setStatus(f func(*Status)) {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	f(&r.s.status)
}

func (r *run) other(src *source) *source {
	for _, o := range r.sources {
		if o != src {
			return o
		}
	}
	return nil
}

// handle takes one event from src's subscription; ok is false when the
// subscription was closed under the run.
func (r *run) handle(ctx context.Context, src *source, e live.Event, ok bool) error {
	if !ok {
		return errInputRemoved
	}
	return r.onEvent(ctx, src, e)
}

// drain handles the events already waiting in every subscription. The loop
// picks at random among ready channels, so after a stall the tick can come
// before frames that arrived in time; draining first lets their arrival
// times, not the stall, decide whether an input is lost.
func (r *run) drain(ctx context.Context) error {
	for _, src := range r.sources {
		ch := src.sub.Events()
		for n := len(ch); n > 0; n-- {
			e, ok := <-ch
			if err := r.handle(ctx, src, e, ok); err != nil {
				return err
			}
		}
	}
	return nil
}

// pending reports whether src's subscription holds events not handled yet.
func (src *source) pending() bool { return len(src.sub.Events()) > 0 }

// arrival is when f reached its hub: the hub's stamp, on the same clock as
// Config.Now, or now when the frame carries none (or one ahead of now).
func arrival(f *live.Frame, now time.Time) time.Time {
	if f.Received.IsZero() || f.Received.After(now) {
		return now
	}
	return f.Received
}

// onEvent handles what an input's hub says.
func (r *run) onEvent(_ context.Context, src *source, e live.Event) error {
	now := r.s.cfg.Now()
	switch e.Type {
	case live.EventStarted:
		src.tracks, src.live, src.gop, src.zero, src.warnedAhead = e.Tracks, true, nil, time.Time{}, false
		src.lastArrival, src.healthySince = now, now
		if src == r.active {
			if err := r.checkFits(src); err != nil {
				return err
			}
			if r.mode == modeLive {
				r.toFill(now) // new session or new tracks: resynchronise at its next key frame
			}
		}
	case live.EventFrame:
		return r.onFrame(src, e.Frame, now)
	case live.EventEnded:
		src.live, src.gop = false, nil
		if src == r.active && r.mode == modeLive {
			return r.lose(now, "the publisher went away: "+e.Reason)
		}
	}
	return nil
}

func (r *run) onFrame(src *source, f live.Frame, now time.Time) error {
	at := arrival(&f, now)
	if at.Sub(src.lastArrival) > r.s.cfg.InputLoss {
		src.healthySince = at // media came back after a gap: healthy from here
	}
	if at.After(src.lastArrival) {
		// Never back: a new subscriber is first sent the hub's frames since
		// the last key frame, which arrived before the session was seen.
		src.lastArrival = at
	}
	if f.Kind == live.Video && f.Key {
		src.gop = src.gop[:0]
	}
	if r.draining && f.Kind == live.Video {
		src.sawFrame(at, f)
	}
	if (len(src.gop) > 0 || (f.Kind == live.Video && f.Key)) && len(src.gop) < maxSourceGOP {
		src.gop = append(src.gop, f)
	}
	if src != r.active {
		if r.s.cfg.Policy == PrimaryPreferred && src.primary && r.mode == modeLive && f.Kind == live.Video && f.Key &&
			at.Sub(src.healthySince) >= r.s.cfg.ErrorClear && r.fits(src) {
			r.switchTo(src, "the primary input has been healthy for "+r.s.cfg.ErrorClear.String())
			return r.resumeAt(f)
		}
		return nil
	}
	if r.mode == modeLive {
		return r.writeLive(f)
	}
	if f.Kind == live.Video && f.Key && r.fits(src) {
		if r.draining {
			return nil // the run starts with the whole GOP once drained (startPlaced)
		}
		if !r.lost.IsZero() {
			r.s.emit(Event{Type: "input.restored", Input: src.name(), Reason: "media arrives again",
				Message: fmt.Sprintf("input %s is back after %.1f s of fill", src.name(), now.Sub(r.lost).Seconds())})
		}
		afterFill := r.haveVideo
		if afterFill && r.s.cfg.RestartIntoInput {
			return &NeedRestart{Video: r.video, Audio: r.audio, Reason: fmt.Sprintf("input %s is on air after fill", src.name())}
		}
		if _, a := split(src.tracks); a != nil && r.silent {
			return &NeedRestart{Video: r.video, Audio: r.audio, Reason: fmt.Sprintf("input %s brings audio", src.name())}
		}
		if err := r.resumeAt(f); err != nil {
			return err
		}
		if afterFill && r.mode == modeLive && !r.placed {
			// The run was placed on the wall clock by its fill: watch that
			// the input's frames fall where they were captured.
			r.late = lateWatch{on: true, until: r.lastVideoDTS + lateWindow, lag: r.lagOf(r.lastVideoDTS, f)}
		}
		return nil
	}
	return nil
}

// lagOf is how far behind the run's clock a frame written at output time
// dts arrived: its arrival minus the instant its output time stands for.
func (r *run) lagOf(dts time.Duration, f live.Frame) time.Duration {
	return arrival(&f, r.s.cfg.Now()).Sub(r.start.Add(dts))
}

// checkLate ends the late watch, or asks for a new run when a frame shows
// that the key frame the input resumed at came in late: the new run starts
// with the input and is placed on the wall clock by its capture times. A
// placed run watches after every resume: a frame that arrives before the
// instant its output time stands for shows that the placement is late.
func (r *run) checkLate(dts, pts time.Duration, f live.Frame) error {
	if !r.late.on {
		return nil
	}
	if dts > r.late.until {
		r.late.on = false
		return nil
	}
	early := r.late.lag - r.lagOf(dts, f)
	if r.placed {
		early = r.earlyBy(pts, f)
	}
	if early > lateLimit {
		r.late.on = false
		return &NeedRestart{Video: r.video, Audio: r.audio, Reason: fmt.Sprintf(
			"input %s came on air with frames %d ms late; the encoder restarts so that date-times follow its capture clock",
			r.active.name(), early.Milliseconds())}
	}
	return nil
}

// resumeAt continues the output with the active input from key frame f.
func (r *run) resumeAt(f live.Frame) error {
	r.clock.newEpoch()
	r.late.on, r.ahead = false, false
	r.offset = r.nextVideo - f.DTS
	if r.placed {
		r.offset = r.placedOffset(f)
		if r.haveVideo {
			// Placed by a key frame that may have come in late (its GOP
			// is all that is known of the input's clock): watch, as
			// after fill.
			r.late = lateWatch{on: true, until: f.DTS + r.offset + lateWindow}
		} else {
			r.nextAudio = f.DTS + r.offset
		}
	}
	r.mode = modeLive
	r.lost = time.Time{}
	r.lastInDTS = f.DTS
	r.setStatus(func(st *Status) { st.Filling = false })
	return r.writeLive(f)
}

// tick notices lost inputs and emits fill.
func (r *run) tick(ctx context.Context) error {
	if err := r.drain(ctx); err != nil {
		return err
	}
	now := r.s.cfg.Now()
	// After a hold-up of the whole process the inputs' readers may still
	// have media to hand over: judge one tick later, never two.
	heldUp := !r.lastTick.IsZero() && now.Sub(r.lastTick) > heldUpAfter && !r.graced
	r.lastTick, r.graced = now, heldUp
	if heldUp || r.active.pending() {
		// Or more came in while draining: the loop takes it next, and an
		// input that is sending is not lost.
		if r.mode == modeFill {
			return r.emitFill(ctx, now)
		}
		return nil
	}
	if r.mode == modeLive && now.Sub(r.active.lastArrival) > r.s.cfg.InputLoss {
		if err := r.lose(now, fmt.Sprintf("no media for %v", r.s.cfg.InputLoss)); err != nil {
			return err
		}
	}
	if r.mode != modeFill {
		return nil
	}
	if o := r.other(r.active); o != nil && !r.active.healthy(now, r.s.cfg.InputLoss) && o.healthy(now, r.s.cfg.InputLoss) && r.fits(o) {
		r.switchTo(o, "the active input is lost and "+o.name()+" is healthy")
		return r.replay(o)
	}
	return r.emitFill(ctx, now)
}

// lose handles the loss of the active input: fail over, or fill.
func (r *run) lose(now time.Time, reason string) error {
	r.s.emit(Event{Type: "input.lost", Input: r.active.name(), Reason: reason,
		Message: fmt.Sprintf("input %s is lost (%s)", r.active.name(), reason)})
	if o := r.other(r.active); o != nil && o.healthy(now, r.s.cfg.InputLoss) && r.fits(o) {
		r.switchTo(o, "input "+r.active.name()+" is lost: "+reason)
		return r.replay(o)
	}
	r.toFill(now)
	return nil
}

func (r *run) toFill(now time.Time) {
	if r.mode == modeFill {
		return
	}
	r.mode = modeFill
	r.clock.newEpoch()
	r.fillIdx = 0
	r.lost = now
	r.setStatus(func(st *Status) { st.Filling = true })
}

func (r *run) switchTo(src *source, reason string) {
	from := r.active.name()
	r.active = src
	r.lost = time.Time{}
	r.setStatus(func(st *Status) { st.ActiveInput, st.Switches = src.name(), st.Switches+1 })
	r.s.emit(Event{Type: "input.switched", Input: src.name(), Reason: reason,
		Message: fmt.Sprintf("switched from input %s to %s: %s", from, src.name(), reason)})
}

// replay starts the output on src from its last key frame, so a failover
// shows the new input at once instead of waiting for its next key frame.
func (r *run) replay(src *source) error {
	gop := append([]live.Frame(nil), src.gop...)
	if len(gop) == 0 {
		r.toFill(r.s.cfg.Now())
		return nil
	}
	if err := r.resumeAt(gop[0]); err != nil {
		return err
	}
	for _, f := range gop[1:] {
		if err := r.writeLive(f); err != nil {
			return err
		}
	}
	return nil
}

// fits reports whether src can feed this run's encoder.
func (r *run) fits(src *source) bool {
	return src.tracks != nil && compatible(r.video, r.audio, src.tracks)
}

// checkFits asks for a new encoder when the active input no longer fits.
func (r *run) checkFits(src *source) error {
	if r.fits(src) {
		return nil
	}
	v, a := split(src.tracks)
	if v == nil {
		return nil // audio only: keep filling the picture
	}
	if a == nil {
		a = DefaultAudio()
	}
	return &NeedRestart{Video: v, Audio: a, Reason: fmt.Sprintf("input %s now sends %s", src.name(), describe(v, a))}
}

func describe(v, a *live.Track) string {
	return fmt.Sprintf("%s %dx%d with %s %d Hz %d ch", v.Codec, v.Width, v.Height, a.Codec, a.SampleRate, a.Channels)
}

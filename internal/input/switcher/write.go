package switcher

import (
	"context"
	"time"

	"github.com/sluice-video/sluice/internal/input/live"
)

// writeLive writes one frame of the active input, retimed.
func (r *run) writeLive(f live.Frame) error {
	if f.Kind == live.Audio {
		return r.writeLiveAudio(f)
	}
	dts, pts := f.DTS+r.offset, f.PTS+r.offset
	if r.ahead {
		// Dropping what came too early: the jumps of the input's clock
		// wait until the output goes on.
		var drop bool
		if dts, pts, drop = r.pace(dts, pts, f); drop {
			return nil
		}
	} else if r.haveVideo && (dts <= r.lastVideoDTS || dts-r.lastVideoDTS > maxJump) {
		// The input's clock jumped: continue right after the last frame,
		// at a key frame, or fill until one comes.
		if !f.Key {
			r.toFill(r.s.cfg.Now())
			return nil
		}
		r.clock.newEpoch()
		r.offset = r.nextVideo - f.DTS
		if r.placed {
			r.offset = r.placedOffset(f)
		}
		dts, pts = f.DTS+r.offset, f.PTS+r.offset
	}
	if !r.ahead {
		var drop bool
		if dts, pts, drop = r.pace(dts, pts, f); drop {
			return nil
		}
	}
	if d := f.DTS - r.lastInDTS; d > 0 && d < 200*time.Millisecond {
		r.frameDur = d
	}
	r.lastInDTS = f.DTS
	v, _ := split(r.active.tracks)
	var params [][]byte
	if v != nil {
		params = v.ParamSets
	}
	if err := r.out.writeVideo(pts, dts, f.NALUs, f.Key, params); err != nil {
		return err
	}
	r.fed(pts, f)
	if err := r.checkLate(dts, pts, f); err != nil {
		return err
	}
	r.lastVideoDTS, r.haveVideo = dts, true
	r.nextVideo = dts + r.frameDur
	if f.Key {
		k := f
		r.lastKey = &k
	}
	if _, a := split(r.active.tracks); a == nil {
		return r.silenceUntil(r.nextVideo)
	}
	return nil
}

// fed records a frame of the input handed to the encoder at output time
// pts: captured when it arrived at its hub.
func (r *run) fed(pts time.Duration, f live.Frame) {
	now := r.s.cfg.Now()
	at := arrival(&f, now)
	r.clock.record(r.media+pts, at, now)
	if r.s.cfg.OnFed != nil {
		r.s.cfg.OnFed(now.Sub(at))
	}
}

func (r *run) writeLiveAudio(f live.Frame) error {
	if _, a := split(r.active.tracks); a == nil || !r.haveVideo || r.ahead {
		return nil
	}
	pts := f.PTS + r.offset
	if pts < r.nextAudio-audioSlack {
		return nil // before what was already written (a switch, a jump)
	}
	if err := r.out.writeAudio(pts, f.Data); err != nil {
		return err
	}
	r.nextAudio = pts + audioFrameDur(r.audio, f)
	return nil
}

// emitFill writes fill up to the wall clock: the output never stalls, and
// never runs ahead of real time either.
func (r *run) emitFill(_ context.Context, now time.Time) error {
	target := now.Sub(r.start)
	if r.placed && !r.haveVideo {
		// A placed run starts its fill now, not at output time zero.
		r.nextVideo, r.nextAudio = max(target, 0), max(target, 0)
	}
	for r.nextVideo <= target {
		dts := r.nextVideo
		if seg := r.s.cfg.Segment; seg > 0 && r.haveVideo {
			// Each segment of the fill starts with its key frame.
			half := r.fill.FrameDur / 2
			if (r.media+dts+half)/seg != (r.media+r.lastVideoDTS+half)/seg {
				r.fillIdx = 0
			}
		}
		f, params := r.fillFrame()
		if err := r.out.writeVideo(dts, dts, f.NALUs, f.Key, params); err != nil {
			return err
		}
		// Fill is captured when it is due: the output keeps pace with the
		// wall clock from the run's start.
		r.clock.record(r.media+dts, r.start.Add(dts), r.s.cfg.Now())
		r.lastVideoDTS, r.haveVideo = dts, true
		r.nextVideo = dts + r.fill.FrameDur
		if err := r.silenceUntil(r.nextVideo); err != nil {
			return err
		}
		if !r.lost.IsZero() {
			r.setStatus(func(st *Status) { st.FillTime += r.fill.FrameDur; st.LossSeconds = st.FillTime.Seconds() })
		} else {
			r.setStatus(func(st *Status) { st.FillTime += r.fill.FrameDur })
		}
	}
	return nil
}

// fillFrame picks the next fill picture: the clip, looped from its key
// frame, or the input's last key frame in LAST_FRAME mode.
func (r *run) fillFrame() (live.Frame, [][]byte) {
	if r.s.cfg.Fill == FillLastFrame && r.lastKey != nil {
		var params [][]byte
		if v, _ := split(r.active.tracks); v != nil {
			params = v.ParamSets
		}
		return *r.lastKey, params
	}
	f := r.fill.Video[r.fillIdx]
	r.fillIdx = (r.fillIdx + 1) % len(r.fill.Video)
	return f, r.fill.VideoParams
}

// silenceUntil writes silent audio frames up to t.
func (r *run) silenceUntil(t time.Duration) error {
	for r.nextAudio < t {
		if err := r.out.writeAudio(r.nextAudio, r.fill.Silence.Data); err != nil {
			return err
		}
		r.nextAudio += r.fill.SilenceDur
	}
	return nil
}

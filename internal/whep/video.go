package whep

import (
	"context"
	"errors"
	"time"
)

// sendBacklog is how many samples may wait between the pumps and the
// sender. A session whose sender cannot keep up (a starved machine) then
// fills the tap's own buffer of its subscription (64 one-picture
// fragments, about 2.5 s at 25 fps) and joins again at the next key
// frame: its viewer sees a skip, never a picture that lags further and
// further behind the live edge.
const sendBacklog = 32

// sendVideo sends the layer the chooser (or the viewer's pin) picks,
// switching at a key frame of the new layer that comes after what was
// sent: the rungs' key frames are aligned, so the picture goes on.
func (ss *session) sendVideo() {
	in := make(chan sample, sendBacklog)
	// unfit hears of layers that cannot be sent (errReordered); unusable
	// holds them.
	unfit := make(chan int, len(ss.src.Layers))
	unusable := make([]bool, len(ss.src.Layers))
	cancels := map[int]context.CancelFunc{}
	subscribe := func(layer int) {
		ctx, cancel := context.WithCancel(ss.ctx)
		cancels[layer] = cancel
		ss.wg.Add(1)
		go func() {
			defer ss.wg.Done()
			err := pump(ctx, ss.src.Hub, ss.src.Layers[layer].Name, layer, in)
			if errors.Is(err, errReordered) {
				ss.srv.cfg.Logger.Warn("a WebRTC layer cannot be sent", "channel", ss.inf.Channel, "layer", ss.src.Layers[layer].Name, "error", err)
				unfit <- layer
			}
		}()
	}
	leave := func(layer int) {
		if c := cancels[layer]; c != nil {
			c()
			delete(cancels, layer)
		}
	}
	defer func() {
		for _, c := range cancels {
			c()
		}
	}()
	bitrates := make([]int64, len(ss.src.Layers))
	for i, l := range ss.src.Layers {
		bitrates[i] = l.Bitrate
	}
	estimate := func() int64 {
		if ss.bwe == nil {
			return int64(ss.srv.cfg.InitialBitrate)
		}
		return int64(ss.bwe.GetTargetBitrate())
	}
	choose := newChooser(bitrates, int64(ss.srv.cfg.InitialBitrate), time.Now())
	cur := choose.cur
	if ss.pinned >= 0 {
		cur = ss.pinned
	}
	target := cur
	subscribe(cur)
	ss.setLayer(cur)
	p := newPacketizer(videoKind, 90000)
	var lastPTS, lastDur time.Duration
	wrote := false
	var lossBase Stats
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ss.ctx.Done():
			return
		case l := <-unfit:
			unusable[l] = true
			delete(cancels, l)
			if l != cur && l != target {
				continue
			}
			alt, ok := usableNear(unusable, l)
			if !ok {
				ss.srv.cfg.Logger.Warn("no layer of the channel can be sent over WebRTC; the session gets audio only", "channel", ss.inf.Channel)
				return
			}
			if target != cur && target != l {
				leave(target)
			}
			// the new layer starts at its next key frame, as on a switch
			target = alt
			subscribe(alt)
			if cur == l {
				wrote = false
			}
		case now := <-tick.C:
			if ss.pinned >= 0 {
				continue
			}
			t := choose.decide(now, estimate(), ss.lossFraction(&lossBase))
			if unusable[t] {
				alt, ok := usableNear(unusable, t)
				if !ok {
					continue
				}
				t = alt
			}
			if t == target {
				continue
			}
			if target != cur {
				leave(target)
			}
			target = t
			if t != cur {
				subscribe(t)
			}
		case s := <-in:
			pts := time.Duration(float64(s.PTS) / float64(s.scale) * float64(time.Second))
			if s.layer == target && target != cur {
				if !s.Key || (wrote && pts <= lastPTS) {
					continue
				}
				leave(cur)
				cur = target
				ss.setLayer(cur)
			}
			if s.layer != cur {
				continue
			}
			for _, pkt := range p.packets(s) {
				_ = ss.video.WriteRTP(pkt)
			}
			skipped := skippedFrames(wrote, lastPTS, lastDur, pts)
			lastPTS, wrote = pts, true
			lastDur = time.Duration(float64(s.Duration) / float64(s.scale) * float64(time.Second))
			ss.mu.Lock()
			ss.inf.Frames++
			ss.inf.Dropped += skipped
			ss.mu.Unlock()
		}
	}
}

// skippedFrames counts the frames missing between the frame last sent
// (at last, lasting dur) and the one sent now (at pts): those a session
// lost when it fell behind and joined again at a key frame. A frame
// within half a frame of its place counts as none missing.
func skippedFrames(wrote bool, last, dur, pts time.Duration) uint64 {
	if !wrote || dur <= 0 || pts <= last {
		return 0
	}
	n := (pts - last + dur/2) / dur
	if n <= 1 {
		return 0
	}
	return uint64(n - 1)
}

// usableNear returns the usable layer nearest to l, preferring lower
// bitrates (higher indexes); false when none is usable.
func usableNear(unusable []bool, l int) (int, bool) {
	for d := 1; d < len(unusable); d++ {
		for _, i := range []int{l + d, l - d} {
			if i >= 0 && i < len(unusable) && !unusable[i] {
				return i, true
			}
		}
	}
	return 0, false
}

func (ss *session) setLayer(i int) {
	ss.mu.Lock()
	ss.inf.Layer = ss.src.Layers[i].Name
	ss.mu.Unlock()
}

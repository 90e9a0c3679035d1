package channel

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sluice-video/sluice/internal/packager/cmaf"
	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/store"
)

// transition moves the channel to state to, records why, persists it with
// the desired state and logs it. A transition to the same state with a new
// reason is recorded too: it is news (a retry, a queued start).
func (rt *runtime) transition(to resource.ChannelState, reason, lastError string) {
	now := rt.m.cfg.Now().UTC()
	rt.mu.Lock()
	from := rt.rec.State
	rt.rec.State, rt.rec.StateReason, rt.rec.StateChangedAt, rt.rec.LastError = to, reason, now, lastError
	desired := rt.rec.Desired
	name := rt.rec.Name
	rt.mu.Unlock()
	change := resource.StateChange{At: now, From: from, To: to, Reason: reason}
	if !rt.fenced {
		// The desired state is written only when the runtime changed it
		// itself: a command made through another node is not undone.
		var changed *resource.ChannelState
		if desired != rt.savedDesired {
			changed = &desired
		}
		ctx, cancel := writeContext()
		err := rt.m.store.SetChannelState(ctx, rt.id, rt.fence(), change, lastError, changed)
		cancel()
		switch {
		case errors.Is(err, store.ErrFenced):
			rt.fenced = true
		case err != nil:
			rt.logger.Error("recording the channel state failed", "error", err)
		case changed != nil:
			rt.savedDesired, rt.wrote = desired, rt.m.cfg.Now()
		}
	}
	rt.m.syncDemand()
	obs := rt.m.cfg.Observer
	obs.ChannelState(name, to)
	obs.Event(channelEvent(resource.EventChannelStateChanged, name, fmt.Sprintf("channel %s: %s → %s: %s", name, from, to, reason),
		map[string]string{"from": string(from), "to": string(to), "reason": reason, "error": lastError}))
	msg := fmt.Sprintf("channel %s is %s: %s", name, to, reason)
	if from == to {
		msg = fmt.Sprintf("channel %s stays %s: %s", name, to, reason)
	}
	attrs := []any{"from", from, "to", to}
	if lastError != "" && (to == resource.StateFailed || to == resource.StateCreateFailed || to == resource.StateRecovering || from == to) {
		attrs = append(attrs, "error", lastError)
		rt.logger.Warn(msg, attrs...)
		return
	}
	rt.logger.Info(msg, attrs...)
}

// setDesired records whether the channel should run. With a note, the change
// is persisted at once as a history entry; otherwise the next transition
// persists it.
func (rt *runtime) setDesired(d resource.ChannelState, note string) {
	rt.mu.Lock()
	changed := rt.rec.Desired != d
	rt.rec.Desired = d
	st, lastError := rt.rec.State, rt.rec.LastError
	rt.mu.Unlock()
	if changed && note != "" {
		rt.transition(st, note, lastError)
	}
}

func (rt *runtime) setPipe(p *pipeline) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	rt.pipe = p
	rt.delivering = false
}

func (rt *runtime) timeline() *cmaf.Timeline {
	rt.mu.RLock()
	defer rt.mu.RUnlock()
	return rt.tl
}

// saveTimeline persists the counters that keep numbers growing across restarts.
func (rt *runtime) saveTimeline() {
	tl := rt.timeline()
	if tl == nil {
		return
	}
	if tl.Produced() > 0 {
		rt.seenDisc = max(rt.seenDisc, tl.Discontinuity())
	}
	rt.mu.Lock()
	ts := store.TimelineState{
		AvailabilityStart: rt.rec.Timeline.AvailabilityStart,
		NextNumber:        max(tl.NextNumber(), rt.rec.Timeline.NextNumber),
		Discontinuity:     tl.Discontinuity(),
	}
	rt.rec.Timeline = ts
	rt.mu.Unlock()
	rt.persistTimelineState(ts)
}

// writeContext bounds one write of a runtime: a database that does not
// answer must not hold the channel's loop.
func writeContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 10*time.Second)
}

func lowerState(s resource.ChannelState) string {
	return strings.ToLower(strings.ReplaceAll(string(s), "_", " "))
}

func (p *pipeline) stopRequested() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stopping
}

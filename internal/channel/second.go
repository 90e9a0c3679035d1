package channel

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/sluice-video/sluice/internal/input/switcher"
	"github.com/sluice-video/sluice/internal/resource"
)

// The runtime of a STANDARD channel's other pipeline (index 1) holds that
// pipeline's lease, encodes the channel's inputs into a timeline of its
// own on the channel's segment grid, restarts its encoder when it fails,
// and follows what the channel should be: from the database on a cluster
// (the follower), from the channel's own runtime on a single server. It
// writes nothing of the channel: its only write is its report, fenced by
// its own lease. It lets the pipeline go when the channel should not run
// it, and when the node of pipeline 0 runs it too while another node has
// room (evHandOff).

// pipelineWanted reports whether a channel's pipeline should run: the
// channel runs that many pipelines, should run, and is neither being made
// nor deleted.
func pipelineWanted(desired, state resource.ChannelState, pipelines, index int) bool {
	if index >= pipelines || desired != resource.StateRunning {
		return false
	}
	switch state {
	case resource.StateCreating, resource.StateCreateFailed, resource.StateDeleting, resource.StateDeleted:
		return false
	}
	return true
}

// wanted reports whether the runtime's pipeline should run, by what it
// knows of the channel.
func (rt *runtime) wanted() bool {
	rt.mu.RLock()
	defer rt.mu.RUnlock()
	return !rt.handOff && pipelineWanted(rt.rec.Desired, rt.rec.State, rt.rec.PipelineCount(), rt.index)
}

// handleSecond is the state machine of another pipeline's runtime.
func (rt *runtime) handleSecond(ev any) {
	switch e := ev.(type) {
	case envelope:
		if _, ok := e.cmd.(cmdInputChanged); ok {
			// Another file or URL: the encoder reads it from the start.
			rt.reprobe()
			if rt.pipe != nil {
				rt.secondStop(rt.secondStart)
			}
			e.reply <- nil
			return
		}
		e.reply <- resource.Conflict("pipeline %d of channel %s takes no commands: its channel's own runtime does", rt.index, rt.name())
	case evBoot:
		rt.logger.Info(fmt.Sprintf("this node runs pipeline %d of channel %s: %s", rt.index, rt.name(), e.reason), "epoch", rt.lease.Epoch())
		if rt.wanted() {
			rt.secondStart()
		}
	case evFollow:
		rt.secondFollow(e)
	case evFenced:
		rt.fenced = true
	case evProbed:
		rt.secondProbed(e)
	case evRunning:
		if e.p == rt.pipe {
			rt.failures = 0
			rt.mu.Lock()
			rt.delivering, rt.pipeNote = true, ""
			rt.mu.Unlock()
			rt.logger.Info(fmt.Sprintf("pipeline %d of channel %s delivers segments", rt.index, rt.name()))
		}
	case evExited:
		rt.secondExited(e.p)
	case evStopped:
		rt.secondStopped(e.p)
	case evKeyFrames:
		rt.keyFrames(e)
	case evInput:
		name := rt.name()
		rt.m.cfg.Observer.Event(channelEvent(e.e.Type, name, fmt.Sprintf("channel %s, pipeline %d: %s", name, rt.index, e.e.Message),
			map[string]string{"input": e.e.Input, "reason": e.e.Reason, "pipeline": strconv.Itoa(rt.index)}))
		rt.logger.Info(fmt.Sprintf("channel %s, pipeline %d: %s", name, rt.index, e.e.Message))
	case evRetry:
		if e.gen == rt.retryGen {
			rt.retrying = false
			if rt.wanted() && rt.pipe == nil && rt.afterStop == nil {
				rt.secondLaunch()
			}
		}
	case evHandOff:
		if !rt.handOff {
			rt.handOff = true
			rt.logger.Info(fmt.Sprintf("pipeline %d of channel %s runs on the node of pipeline 0, and another node has room: this node lets it go", rt.index, rt.name()))
		}
	case evShutdown:
		rt.retryGen++
		rt.probeGen++
		if p := rt.pipe; p != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			p.stop(ctx)
			cancel()
			rt.setPipe(nil)
		}
		rt.done = true
		if rt.m.shared && !rt.fenced {
			rt.m.leave(rt, false)
		} else {
			rt.m.unmerge(rt)
		}
		close(e.done)
	}
}

// settleSecond runs after each event: a fenced runtime stops; one whose
// pipeline should not run stops its encoder, then lets the pipeline go.
func (rt *runtime) settleSecond() {
	switch {
	case rt.done:
	case rt.fenced:
		rt.lose("the database refused a write for it: another node holds it")
	case rt.wanted():
	case rt.pipe != nil:
		if !rt.halting {
			rt.secondStop(nil)
		}
	case rt.afterStop == nil:
		rt.done = true
		rt.retryGen++
		rt.probeGen++
		rt.m.leave(rt, false)
		rt.logger.Info(fmt.Sprintf("pipeline %d of channel %s stopped on this node", rt.index, rt.name()))
	}
	if runs := rt.runs(); runs != rt.demanded {
		// Its inputs are wanted here, or no more.
		rt.demanded = runs
		rt.m.syncDemand()
	}
	rt.mu.RLock()
	delivers := rt.delivering
	rt.mu.RUnlock()
	if delivers != rt.told {
		// The channel's own runtime on this node hears at once whether
		// the channel's other pipeline delivers (the watch of the
		// pipelines tells it too, later).
		rt.told = delivers
		if own := rt.m.byID(rt.id); own != nil {
			n := 0
			if delivers {
				n = 1
			}
			own.tell(evSiblings{n: n})
		}
	}
	rt.m.pipelinesChanged(rt.id)
}

// secondFollow takes what the channel should be: a new spec restarts the
// encoder with it; a channel that should run has its encoder started.
func (rt *runtime) secondFollow(e evFollow) {
	h := e.hold
	rt.mu.Lock()
	newer := e.rec != nil && e.rec.Generation > rt.rec.Generation
	if newer {
		tl := rt.rec.Timeline
		rt.rec = *e.rec
		if rt.rec.Timeline.AvailabilityStart.IsZero() {
			rt.rec.Timeline = tl
		}
	}
	if h.ID != "" {
		rt.rec.Desired, rt.rec.State = h.Desired, h.State
		if h.Pipelines > 0 && h.Pipelines <= rt.index {
			// The channel runs one pipeline now.
			rt.rec.ChannelClass = resource.ClassSinglePipeline
		}
	}
	rt.mu.Unlock()
	if newer {
		rt.reprobe()
		if rt.pipe != nil {
			rt.logger.Info(fmt.Sprintf("channel %s was updated: pipeline %d restarts its encoder", rt.name(), rt.index))
			rt.secondStop(rt.secondStart)
			return
		}
	}
	if rt.wanted() && rt.pipe == nil && !rt.probing && !rt.retrying && rt.afterStop == nil {
		rt.secondStart()
	}
}

// reprobe forgets the probe of the input, which changed: a probe under
// way starts again, so that the old input's result, when it comes, is
// not taken for the new one's.
func (rt *runtime) reprobe() {
	rt.probe = nil
	if rt.probing {
		rt.beginProbe()
	}
}

// secondStart checks the input, when that has not been done since the
// last change, and launches the encoder.
func (rt *runtime) secondStart() {
	if rt.probe == nil {
		rt.probing = true
		rt.beginProbe()
		return
	}
	rt.secondLaunch()
}

func (rt *runtime) secondProbed(e evProbed) {
	if e.gen != rt.probeGen {
		return
	}
	rt.probing = false
	if e.err != nil {
		rt.secondRetry("the input cannot be used", e.err.Error())
		return
	}
	rt.probe = &e.probe
	if rt.wanted() && rt.pipe == nil && rt.afterStop == nil {
		rt.secondLaunch()
	}
}

// secondLaunch starts an encoder run now.
func (rt *runtime) secondLaunch() {
	if rt.probe == nil {
		rt.secondStart()
		return
	}
	p, err := rt.newPipeline()
	if err != nil {
		rt.secondRetry("the encoder cannot start", err.Error())
		return
	}
	rt.setPipe(p)
	rt.logger.Info(fmt.Sprintf("encoder started for pipeline %d of channel %s", rt.index, rt.name()), "pid", p.proc.Pid(), "run", p.feed.ID())
	rt.watchRun(p)
}

// secondRetry tries again after the backoff: a pipeline of a running
// channel never gives up while the channel should run.
func (rt *runtime) secondRetry(what, detail string) {
	delay := rt.m.cfg.Backoff[min(rt.failures, len(rt.m.cfg.Backoff)-1)]
	rt.failures++
	rt.mu.Lock()
	rt.pipeNote = fmt.Sprintf("%s (%s); trying again in %v", what, detail, delay)
	rt.mu.Unlock()
	rt.logger.Warn(fmt.Sprintf("pipeline %d of channel %s: %s; trying again in %v", rt.index, rt.name(), what, delay), "error", detail)
	rt.scheduleRetry(delay)
}

// scheduleRetry posts a retry after delay.
func (rt *runtime) scheduleRetry(delay time.Duration) {
	rt.retryGen++
	rt.retrying = true
	gen := rt.retryGen
	time.AfterFunc(delay, func() { rt.post(evRetry{gen: gen}) })
}

// secondExited handles an encoder run that ended by itself: it restarts
// after the backoff.
func (rt *runtime) secondExited(p *pipeline) {
	if p != rt.pipe || p.stopRequested() {
		return
	}
	rt.setPipe(nil)
	var restart *switcher.NeedRestart
	if errors.As(p.err, &restart) {
		rt.logger.Info(fmt.Sprintf("pipeline %d of channel %s: %s: the encoder restarts", rt.index, rt.name(), restart.Reason))
		rt.secondLaunch()
		return
	}
	msg := "the encoder stopped without saying why"
	if p.err != nil {
		msg = p.err.Error()
	}
	rt.mu.Lock()
	rt.restarts++
	rt.mu.Unlock()
	rt.secondRetry("the encoder stopped unexpectedly", msg)
}

// secondStop stops the encoder in the background; then, once stopped,
// runs next.
func (rt *runtime) secondStop(next func()) {
	rt.retryGen++
	rt.retrying = false
	rt.afterStop = next
	p := rt.pipe
	if p == nil {
		rt.secondStopped(nil)
		return
	}
	rt.halting = true
	go func() {
		ctx, cancel := context.WithTimeout(rt.m.ctx, 15*time.Second)
		defer cancel()
		p.stop(ctx)
		rt.post(evStopped{p: p})
	}()
}

func (rt *runtime) secondStopped(p *pipeline) {
	if p != rt.pipe {
		return
	}
	rt.halting = false
	rt.setPipe(nil)
	if tl := rt.timeline(); tl != nil {
		tl.End()
	}
	next := rt.afterStop
	rt.afterStop = nil
	if next != nil && rt.wanted() {
		next()
	}
}

package channel

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/sluice-video/sluice/internal/input"
	"github.com/sluice-video/sluice/internal/input/switcher"
	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/store"
)

// maxStartFailures is how often a start may fail before any segment was
// produced before the channel gives up (FAILED).
const maxStartFailures = 3

// handle is the state machine: every command and event passes here, on the
// runtime's loop goroutine.
func (rt *runtime) handle(ev any) {
	switch e := ev.(type) {
	case envelope:
		e.reply <- rt.command(e.cmd)
	case evCreated:
		rt.beginProbe()
	case evBoot:
		rt.boot(e)
		if e.then != nil && !rt.done {
			e.then.reply <- rt.command(e.then.cmd)
		} else if e.then != nil {
			e.then.reply <- endedError{resource.NotFound("channel", rt.name())}
		}
	case evFollow:
		rt.follow(e)
	case evFenced:
		rt.fenced = true
	case evSiblings:
		rt.siblingsDeliver(e.n)
	case evProbed:
		rt.probed(e)
	case evRunning:
		rt.running(e.p)
	case evExited:
		rt.exited(e.p)
	case evStopped:
		rt.stopped(e.p)
	case evKeyFrames:
		rt.keyFrames(e)
	case evInput:
		rt.m.cfg.Observer.Event(channelEvent(e.e.Type, rt.name(), "channel "+rt.name()+": "+e.e.Message,
			map[string]string{"input": e.e.Input, "reason": e.e.Reason}))
		if st := rt.state(); st.Active() {
			rt.transition(st, e.e.Message, rt.rec.LastError)
		}
	case evRetry:
		if e.gen == rt.retryGen && rt.rec.Desired == resource.StateRunning && rt.encodes() {
			rt.launch()
		}
	case evShutdown:
		rt.retryGen++
		if p := rt.pipe; p != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			p.stop(ctx)
			cancel()
			rt.setPipe(nil)
		}
		rt.stopDeliveries()
		rt.saveTimeline()
		rt.done = true
		if rt.m.shared && !rt.fenced {
			// Another node takes it now.
			rt.m.leave(rt, false)
		} else {
			rt.m.unmerge(rt)
		}
		close(e.done)
	}
}

func (rt *runtime) command(cmd any) error {
	st := rt.state()
	if _, again := cmd.(cmdDelete); rt.deleting && again {
		return nil
	}
	if rt.deleting || st == resource.StateDeleting || st == resource.StateDeleted {
		return resource.Conflict("channel %s is being deleted", rt.name())
	}
	switch c := cmd.(type) {
	case cmdStart:
		return rt.start()
	case cmdStop:
		if err := rt.recordDesired(resource.StateIdle); err != nil {
			return err
		}
		note := ""
		if st == resource.StateCreating || st == resource.StateUpdating {
			note = "stop requested: the channel will not start once " + lowerState(st) + " finishes"
		}
		rt.setDesired(resource.StateIdle, note)
		switch st {
		case resource.StateStarting, resource.StateRunning, resource.StateRecovering:
			rt.beginStop(resource.StateStopping, "stop requested", nil)
		case resource.StateFailed:
			rt.transition(resource.StateIdle, "stop requested", rt.rec.LastError)
		case resource.StateStopping:
			rt.afterStop = nil
		}
	case cmdDelete:
		if err := rt.recordDesired(resource.StateDeleted); err != nil {
			return err
		}
		rt.deleting = true
		rt.setDesired(resource.StateDeleted, "")
		switch st {
		case resource.StateStarting, resource.StateRunning, resource.StateRecovering:
			rt.beginStop(resource.StateStopping, "delete requested: stopping first", rt.remove)
		case resource.StateStopping:
			rt.afterStop = rt.remove
		case resource.StateUpdating:
			if rt.pipe != nil {
				rt.afterStop = rt.remove
				return nil
			}
			rt.probeGen++
			rt.remove()
		default:
			rt.probeGen++
			rt.remove()
		}
	case cmdUpdate:
		return rt.update(c)
	case cmdRestart:
		return rt.restart(c)
	case cmdInputChanged:
		rt.probe = nil
		if st.Active() {
			rt.beginStop(resource.StateUpdating, "input changed: restarting the encoder", rt.beginProbe)
		}
	}
	return nil
}

func (rt *runtime) start() error {
	st := rt.state()
	switch st {
	case resource.StateCreateFailed:
		return resource.Conflict("channel %s could not be created (%s); update it to try again", rt.name(), rt.rec.LastError)
	case resource.StateCreating, resource.StateUpdating, resource.StateStopping, resource.StateIdle, resource.StateFailed:
		if err := rt.recordDesired(resource.StateRunning); err != nil {
			return err
		}
	}
	switch st {
	case resource.StateCreating, resource.StateUpdating:
		rt.setDesired(resource.StateRunning, "start requested; queued until "+lowerState(st)+" finishes")
	case resource.StateStopping:
		rt.setDesired(resource.StateRunning, "start requested; queued until the channel has stopped")
		rt.afterStop = func() { rt.startPipeline("start requested") }
	case resource.StateIdle, resource.StateFailed:
		rt.setDesired(resource.StateRunning, "")
		if rt.m.shared {
			// Placement chooses the node that runs it.
			rt.handOff = true
			return nil
		}
		rt.failures = 0
		rt.mu.Lock()
		rt.restarts = 0
		rt.mu.Unlock()
		rt.startPipeline("start requested")
	}
	return nil
}

// restart stops a running channel and starts it again here, on the node
// that holds it, as one command: no other command comes between the stop
// and the start, and the channel does not go back to placement. The
// history shows both halves. A channel that does not run is started.
func (rt *runtime) restart(c cmdRestart) error {
	seen := c.seen
	if seen == 0 {
		ctx, cancel := writeContext()
		n, err := rt.m.store.RequestChannelRestart(ctx, rt.id)
		cancel()
		if err != nil {
			return err
		}
		seen, rt.wrote = n, rt.m.cfg.Now()
	}
	rt.mu.Lock()
	rt.rec.Restarts = max(rt.rec.Restarts, seen)
	rt.mu.Unlock()
	switch st := rt.state(); {
	case st == resource.StateStarting || st == resource.StateRunning || st == resource.StateRecovering:
	case st == resource.StateStopping && rt.afterStop != nil:
		return nil // already restarting (or starting once stopped)
	default:
		return rt.start()
	}
	if err := rt.recordDesired(resource.StateRunning); err != nil {
		return err
	}
	rt.setDesired(resource.StateRunning, "")
	rt.logger.Info(fmt.Sprintf("channel %s restarts", rt.name()))
	rt.beginStop(resource.StateStopping, "restart requested: stopping first", func() {
		rt.failures = 0
		rt.mu.Lock()
		rt.restarts = 0
		rt.mu.Unlock()
		rt.startPipeline("restart requested: starting again")
	})
	return nil
}

// recordDesired writes the desired state a command asks for before the
// command is carried out: a start, stop or delete the state database did
// not take is refused (unavailable, when the database does not answer)
// rather than carried out here and forgotten at the next restart.
func (rt *runtime) recordDesired(d resource.ChannelState) error {
	ctx, cancel := writeContext()
	defer cancel()
	if err := rt.m.store.SetChannelDesired(ctx, rt.id, d); err != nil {
		return err
	}
	rt.savedDesired, rt.wrote = d, rt.m.cfg.Now()
	return nil
}

func (rt *runtime) update(c cmdUpdate) error {
	old := rt.spec()
	gen := c.generation
	if gen == 0 {
		ctx, cancel := writeContext()
		var err error
		gen, err = rt.m.store.UpdateChannelSpec(ctx, rt.id, c.stack, c.spec, rt.m.cfg.Now().UTC())
		cancel()
		if err != nil {
			return err
		}
		rt.wrote = rt.m.cfg.Now()
	}
	rt.mu.Lock()
	rt.rec.ChannelSpec, rt.rec.Stack, rt.rec.UpdatedAt, rt.rec.Generation = c.spec, c.stack, rt.m.cfg.Now().UTC(), gen
	rt.mu.Unlock()
	if reflect.DeepEqual(old, c.spec) {
		return nil
	}
	rt.logger.Info(fmt.Sprintf("channel %s updated", c.spec.Name))
	rt.probe = nil
	switch st := rt.state(); {
	case st.Active():
		rt.beginStop(resource.StateUpdating, "settings changed: restarting the encoder", rt.beginProbe)
	case st == resource.StateStopping:
	default:
		rt.transition(resource.StateUpdating, "settings changed", "")
		rt.beginProbe()
	}
	return nil
}

// boot resumes a channel read from the state database: at a server's
// start, or when this node of a cluster took the channel (the reason says
// how: "node b took the channel over from node a, whose lease expired"),
// carrying on with what the channel should be.
func (rt *runtime) boot(b evBoot) {
	st := rt.state()
	why := b.reason
	if why == "" {
		why = "server restarted"
	}
	switch {
	case st == resource.StateDeleting || rt.rec.Desired == resource.StateDeleted:
		rt.deleting = true
		rt.remove()
	case st == resource.StateCreating || st == resource.StateUpdating:
		rt.transition(st, why+"; checking the input again", "")
		rt.beginProbe()
	case rt.rec.Desired == resource.StateRunning && st != resource.StateCreateFailed:
		rt.mu.Lock()
		rt.siblings = b.siblings
		rt.mu.Unlock()
		switch {
		case !rt.m.shared:
			rt.startPipeline(why + "; the channel was running")
		case st == resource.StateIdle || st == resource.StateFailed:
			rt.startPipeline("start requested; " + b.placed)
		case st == resource.StateRunning && b.siblings > 0:
			// A STANDARD channel's other pipeline delivers meanwhile: the
			// channel runs on while this one starts.
			rt.transition(resource.StateRunning, why+"; pipeline 0 starts here, pipeline 1 delivers meanwhile", rt.rec.LastError)
			rt.launch()
		default:
			rt.startPipeline(why + "; the channel was " + string(st))
		}
	case st.Active() || st == resource.StateStopping:
		if b.reason != "" {
			why += "; the channel should not run"
		}
		rt.transition(resource.StateIdle, why, rt.rec.LastError)
	}
}

// follow carries out what the database's row of the channel asks that the
// runtime does not know: a command made through another node. A row read
// before the runtime's own last write of a command is older than what the
// runtime knows, and waits for the next reading.
func (rt *runtime) follow(e evFollow) {
	if rt.deleting || e.readAt.Before(rt.wrote) {
		return
	}
	var err error
	switch h := e.hold; {
	case h.Desired == resource.StateDeleted:
		err = rt.command(cmdDelete{})
	case e.rec != nil && e.rec.Generation > rt.rec.Generation:
		err = rt.command(cmdUpdate{spec: e.rec.ChannelSpec, stack: e.rec.Stack, generation: e.rec.Generation})
	case h.Restarts > rt.rec.Restarts:
		err = rt.command(cmdRestart{seen: h.Restarts})
	case h.Desired == resource.StateRunning && rt.rec.Desired != resource.StateRunning:
		err = rt.command(cmdStart{})
	case h.Desired == resource.StateIdle && rt.rec.Desired == resource.StateRunning:
		err = rt.command(cmdStop{})
	}
	if err != nil {
		rt.logger.Warn("carrying out a command made through another node failed", "error", err)
	}
}

// settle runs after each event: a runtime whose write was fenced stops; on
// a cluster, a channel at rest (or left to placement) is let go, so that
// its lease is free and the node carries only what it runs.
func (rt *runtime) settle() {
	switch {
	case rt.done:
	case rt.fenced:
		rt.lose("the database refused a write for it: another node holds it")
	case rt.m.shared && rt.atRest():
		rt.done = true
		rt.m.leave(rt, false)
	}
}

// atRest reports whether nothing is left to do for the channel on this
// node: no pipeline, no command under way, and it should not run.
func (rt *runtime) atRest() bool {
	if rt.handOff {
		return true
	}
	if rt.pipe != nil || rt.deleting || rt.afterStop != nil || rt.rec.Desired == resource.StateDeleted {
		return false
	}
	switch st := rt.state(); st {
	case resource.StateCreateFailed:
		return true
	case resource.StateIdle, resource.StateFailed:
		return rt.rec.Desired != resource.StateRunning
	}
	return false
}

// lose stops everything the runtime does for a channel this node no longer
// holds: the encoder and the deliveries at once, with nothing written.
func (rt *runtime) lose(why string) {
	rt.fenced, rt.done = true, true
	rt.retryGen++
	rt.probeGen++
	rt.logger.Warn(fmt.Sprintf("this node no longer holds channel %s (%s): its encoder stops", rt.name(), why))
	if p := rt.pipe; p != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		p.stop(ctx)
		cancel()
		rt.setPipe(nil)
	}
	rt.stopDeliveries()
	rt.m.leave(rt, true)
}

// beginProbe checks the attached input in the background.
func (rt *runtime) beginProbe() {
	rt.probeGen++
	gen := rt.probeGen
	att := rt.spec().InputAttachments[0]
	m := rt.m
	go func() {
		ctx, cancel := context.WithTimeout(m.ctx, 45*time.Second)
		defer cancel()
		in, err := m.store.GetInput(ctx, att.Input)
		if err != nil {
			rt.post(evProbed{gen: gen, err: fmt.Errorf("input %s: %w", att.Input, err)})
			return
		}
		if in.Type.IsLive() {
			// A live input has nothing to probe: the switcher learns its
			// tracks as they arrive and fills until then.
			rt.post(evProbed{gen: gen, probe: input.Probe{HasAudio: true}})
			return
		}
		pr, err := m.prober.Probe(ctx, in.InputSpec)
		if err != nil {
			err = fmt.Errorf("input %s: %w", att.Input, err)
		}
		rt.post(evProbed{gen: gen, probe: pr, err: err})
	}()
}

func (rt *runtime) probed(e evProbed) {
	if e.gen != rt.probeGen {
		return
	}
	st := rt.state()
	if e.err != nil {
		switch st {
		case resource.StateCreating:
			rt.setDesired(resource.StateIdle, "")
			rt.transition(resource.StateCreateFailed, "the input cannot be used", e.err.Error())
		case resource.StateUpdating, resource.StateStarting, resource.StateRecovering:
			rt.setDesired(resource.StateIdle, "")
			rt.transition(resource.StateFailed, "the input cannot be used", e.err.Error())
		}
		return
	}
	rt.probe = &e.probe
	switch st {
	case resource.StateCreating, resource.StateUpdating:
		reason := "created"
		if st == resource.StateUpdating {
			reason = "updated"
		}
		rt.transition(resource.StateIdle, reason, "")
		if rt.rec.Desired == resource.StateRunning && st == resource.StateCreating && rt.m.shared {
			// Placement chooses the node that runs it.
			rt.handOff = true
			return
		}
		if rt.rec.Desired == resource.StateRunning {
			if st == resource.StateCreating && rt.spec().AutoStart {
				rt.startPipeline("autoStart: the channel starts once created")
			} else {
				rt.startPipeline("start requested while " + lowerState(st))
			}
		}
	case resource.StateStarting, resource.StateRecovering, resource.StateRunning:
		if rt.encodes() {
			rt.launch()
		}
	}
}

// encodes reports whether the channel's own pipeline should have an
// encoder now and has none: the channel is starting or recovering, or
// it is a STANDARD channel that runs on its other pipeline while this
// one restarts.
func (rt *runtime) encodes() bool {
	if rt.pipe != nil {
		return false
	}
	switch rt.state() {
	case resource.StateStarting, resource.StateRecovering:
		return true
	case resource.StateRunning:
		return rt.standard()
	}
	return false
}

// down is the state a running channel is in while the encoder of its own
// pipeline restarts: RECOVERING, or RUNNING for a STANDARD channel whose
// other pipeline delivers meanwhile.
func (rt *runtime) down() resource.ChannelState {
	rt.mu.RLock()
	others := rt.siblings
	rt.mu.RUnlock()
	if others > 0 && rt.standard() {
		return resource.StateRunning
	}
	return resource.StateRecovering
}

// siblingsDeliver hears how many of a STANDARD channel's other pipelines
// deliver segments: the channel runs while one does, and recovers while
// none does and its own pipeline restarts.
func (rt *runtime) siblingsDeliver(n int) {
	rt.mu.Lock()
	was := rt.siblings
	rt.siblings = n
	own := rt.delivering
	rt.mu.Unlock()
	if !rt.standard() || rt.rec.Desired != resource.StateRunning || n == was {
		return
	}
	switch st := rt.state(); {
	case n > 0 && (st == resource.StateStarting || st == resource.StateRecovering):
		own := "restarts"
		if st == resource.StateStarting {
			own = "starts"
		}
		rt.transition(resource.StateRunning, "pipeline 1 delivers segments; pipeline 0 "+own, rt.rec.LastError)
	case n == 0 && st == resource.StateRunning && !own:
		rt.transition(resource.StateRecovering, "no pipeline delivers segments: pipeline 1 stopped and pipeline 0 restarts", rt.rec.LastError)
	}
}

// startPipeline moves to STARTING and launches the encoder (after probing
// the input if that has not been done since the last change).
func (rt *runtime) startPipeline(reason string) {
	rt.transition(resource.StateStarting, reason, rt.rec.LastError)
	if rt.probe == nil {
		rt.beginProbe()
		return
	}
	rt.launch()
}

// launch starts an encoder run now.
func (rt *runtime) launch() {
	if rt.probe == nil {
		rt.beginProbe()
		return
	}
	p, err := rt.newPipeline()
	if err != nil {
		rt.setDesired(resource.StateIdle, "")
		rt.stopDeliveries()
		rt.transition(resource.StateFailed, "the encoder cannot start", err.Error())
		return
	}
	rt.setPipe(p)
	rt.startDeliveries()
	rt.saveTimeline()
	rt.logger.Info(fmt.Sprintf("encoder started for channel %s", rt.name()), "pid", p.proc.Pid(), "run", p.feed.ID())
	rt.watchRun(p)
}

// watchRun tells the loop when the encoder run completes its first
// segment (evRunning) and when it ends (evExited).
func (rt *runtime) watchRun(p *pipeline) {
	tl := rt.timeline()
	go func() {
		for {
			changed := tl.Changed()
			if tl.HasSegmentOf(p.feed) {
				rt.post(evRunning{p: p})
				break
			}
			select {
			case <-changed:
				continue
			case <-p.done:
			}
			break
		}
		<-p.done
		rt.post(evExited{p: p})
	}()
}

func (rt *runtime) running(p *pipeline) {
	if p != rt.pipe {
		return
	}
	rt.mu.Lock()
	rt.delivering, rt.pipeNote = true, ""
	rt.mu.Unlock()
	rt.failures = 0
	// The run's discontinuity sequence is the channel's now: a node that
	// takes the channel over after this one dies continues after it, with
	// exactly one discontinuity more.
	rt.saveTimeline()
	switch rt.state() {
	case resource.StateStarting:
		rt.transition(resource.StateRunning, "the first segment of every rendition is available", rt.rec.LastError)
	case resource.StateRecovering:
		rt.transition(resource.StateRunning, "the encoder restarted; segments flow again after a discontinuity", rt.rec.LastError)
	}
}

// exited handles an encoder run that ended by itself.
func (rt *runtime) exited(p *pipeline) {
	if p != rt.pipe || p.stopRequested() {
		return
	}
	rt.setPipe(nil)
	var restart *switcher.NeedRestart
	if errors.As(p.err, &restart) {
		// Not a failure: the input changed format and needs a new encoder.
		rt.transition(rt.down(), restart.Reason+": the encoder restarts", rt.rec.LastError)
		rt.launch()
		return
	}
	msg := "the encoder stopped without saying why"
	if p.err != nil {
		msg = p.err.Error()
	}
	rt.logger.Warn(fmt.Sprintf("encoder for channel %s stopped unexpectedly", rt.name()), "error", msg)
	st := rt.state()
	if st == resource.StateStarting && rt.failures+1 >= maxStartFailures {
		rt.setDesired(resource.StateIdle, "")
		rt.stopDeliveries()
		rt.transition(resource.StateFailed, fmt.Sprintf("the encoder failed %d times before producing a segment", maxStartFailures), msg)
		return
	}
	delay := rt.m.cfg.Backoff[min(rt.failures, len(rt.m.cfg.Backoff)-1)]
	rt.failures++
	rt.mu.Lock()
	rt.pipeNote = fmt.Sprintf("the encoder stopped unexpectedly (%s); restarting in %v", msg, delay)
	rt.mu.Unlock()
	switch st {
	case resource.StateRunning, resource.StateRecovering:
		rt.mu.Lock()
		rt.restarts++
		rt.mu.Unlock()
		rt.m.cfg.Observer.EncoderRestarted(rt.name())
		reason := fmt.Sprintf("the encoder stopped unexpectedly; restarting in %v", delay)
		to := rt.down()
		if to == resource.StateRunning {
			reason = "pipeline 0: " + reason + "; pipeline 1 delivers meanwhile"
		}
		rt.transition(to, reason, msg)
	default:
		rt.transition(st, fmt.Sprintf("the encoder failed; retrying in %v", delay), msg)
	}
	rt.retryGen++
	gen := rt.retryGen
	time.AfterFunc(delay, func() { rt.post(evRetry{gen: gen}) })
}

// beginStop stops the pipeline in the background, in state st (STOPPING or
// UPDATING); then, once stopped, runs next (or settles in IDLE).
func (rt *runtime) beginStop(st resource.ChannelState, reason string, next func()) {
	rt.retryGen++
	rt.afterStop = next
	rt.transition(st, reason, rt.rec.LastError)
	p := rt.pipe
	if p == nil {
		rt.stopped(nil)
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(rt.m.ctx, 15*time.Second)
		defer cancel()
		p.stop(ctx)
		rt.post(evStopped{p: p})
	}()
}

func (rt *runtime) stopped(p *pipeline) {
	if p != rt.pipe {
		return
	}
	rt.setPipe(nil)
	rt.stopDeliveries()
	if tl := rt.timeline(); tl != nil {
		tl.End()
	}
	rt.saveTimeline()
	next := rt.afterStop
	rt.afterStop = nil
	if rt.state() == resource.StateStopping {
		rt.transition(resource.StateIdle, "stopped", rt.rec.LastError)
	}
	if next != nil {
		next()
		return
	}
	// The channel stopped: its merged timeline, which would follow the
	// ended timeline, closes; the channel's next start merges again.
	rt.m.unmerge(rt)
}

// remove deletes the channel: state DELETING, then gone from the store.
func (rt *runtime) remove() {
	rt.transition(resource.StateDeleting, "delete requested", rt.rec.LastError)
	if rt.fenced {
		return
	}
	ctx, cancel := writeContext()
	err := rt.m.store.DeleteChannel(ctx, rt.id, rt.fence())
	cancel()
	switch {
	case errors.Is(err, store.ErrFenced):
		rt.fenced = true
		return
	case err != nil:
		rt.logger.Error("deleting channel from the state database failed", "error", err)
	}
	rt.mu.Lock()
	rt.rec.State, rt.rec.StateReason = resource.StateDeleted, "deleted"
	rt.mu.Unlock()
	rt.done = true
	rt.m.leave(rt, false)
	rt.logger.Info(fmt.Sprintf("channel %s deleted", rt.name()))
	rt.m.cfg.Observer.Event(channelEvent(resource.EventChannelDeleted, rt.name(), "channel "+rt.name()+" deleted", nil))
}

package channel

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/sluice-video/sluice/internal/input"
	"github.com/sluice-video/sluice/internal/input/switcher"
	"github.com/sluice-video/sluice/internal/output"
	"github.com/sluice-video/sluice/internal/packager/cmaf"
	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/store"
)

// runtime is one channel's live state. A single goroutine (the loop) owns
// every transition, so commands and pipeline events are handled one at a
// time, in order; readers see a copy guarded by mu.
type runtime struct {
	m      *Manager
	id     string
	in     chan any
	quit   chan struct{}
	logger *slog.Logger

	mu   sync.RWMutex
	rec  store.ChannelRecord
	tl   *cmaf.Timeline
	pipe *pipeline
	// hub taps every encoder run for the delivery outputs (outs) and the
	// frames API.
	hub  *output.Hub
	outs *output.Set
	// frames runs the frames API's shared decoders.
	frames *output.FrameShares
	// restarts counts encoder restarts since the channel was last started.
	restarts int
	// keyNote says what to change when a passthrough rung's input key
	// frames are off the segment grid; empty while they are on it.
	keyNote string

	// Owned by the loop goroutine.
	probe     *input.Probe
	probeGen  int
	retryGen  int
	failures  int
	tlKey     string
	sw        *switcher.Switcher
	swKey     string
	afterStop func()
	deleting  bool // a delete was accepted: nothing else is
	done      bool
}

// Commands sent by the API; each gets an error or nil back.
type (
	cmdStart        struct{}
	cmdStop         struct{}
	cmdDelete       struct{}
	cmdInputChanged struct{}
	cmdUpdate       struct {
		spec  resource.ChannelSpec
		stack string
	}
)

type envelope struct {
	cmd   any
	reply chan error
}

// Events raised by the runtime's own background work.
type (
	evCreated struct{}
	evBoot    struct{}
	evProbed  struct {
		gen   int
		probe input.Probe
		err   error
	}
	evRunning  struct{ p *pipeline }
	evExited   struct{ p *pipeline }
	evStopped  struct{ p *pipeline }
	evRetry    struct{ gen int }
	evShutdown struct{ done chan struct{} }
)

func (m *Manager) newRuntime(rec store.ChannelRecord) *runtime {
	rt := &runtime{
		m:      m,
		id:     rec.ID,
		in:     make(chan any, 64),
		quit:   make(chan struct{}),
		logger: m.logger.With("channel", rec.Name),
		rec:    rec,
		hub:    output.NewHub(m.cfg.Now, m.logger.With("channel", rec.Name)),
	}
	rt.frames = output.NewFrameShares(m.ctx, frameObserver{rt})
	return rt
}

// run starts the loop with a first event.
func (rt *runtime) run(first any) {
	rt.m.wg.Add(1)
	go func() {
		defer rt.m.wg.Done()
		defer close(rt.quit)
		rt.handle(first)
		for !rt.done {
			select {
			case ev := <-rt.in:
				rt.handle(ev)
			case <-rt.m.ctx.Done():
				return
			}
		}
	}()
}

// send delivers a command and waits for the loop's answer.
func (rt *runtime) send(ctx context.Context, cmd any) error {
	env := envelope{cmd: cmd, reply: make(chan error, 1)}
	select {
	case rt.in <- env:
	case <-rt.quit:
		return resource.NotFound("channel", rt.name())
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-env.reply:
		return err
	case <-rt.quit:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// post delivers an event from background work; it is dropped once the
// runtime has ended.
func (rt *runtime) post(ev any) {
	select {
	case rt.in <- ev:
	case <-rt.quit:
	case <-rt.m.ctx.Done():
	}
}

// shutdown stops the pipeline for a server shutdown, keeping the desired state.
func (rt *runtime) shutdown(ctx context.Context) {
	done := make(chan struct{})
	select {
	case rt.in <- evShutdown{done: done}:
	case <-rt.quit:
		return
	case <-ctx.Done():
		return
	}
	select {
	case <-done:
	case <-rt.quit:
	case <-ctx.Done():
	}
}

func (rt *runtime) name() string {
	rt.mu.RLock()
	defer rt.mu.RUnlock()
	return rt.rec.Name
}

func (rt *runtime) spec() resource.ChannelSpec {
	rt.mu.RLock()
	defer rt.mu.RUnlock()
	return rt.rec.ChannelSpec
}

func (rt *runtime) state() resource.ChannelState {
	rt.mu.RLock()
	defer rt.mu.RUnlock()
	return rt.rec.State
}

func (rt *runtime) served() Served {
	rt.mu.RLock()
	defer rt.mu.RUnlock()
	return Served{Name: rt.rec.Name, Timeline: rt.tl, Outputs: rt.rec.EffectiveOutputs()}
}

// view returns the channel as the API shows it.
func (rt *runtime) view() resource.Channel {
	rt.mu.RLock()
	defer rt.mu.RUnlock()
	ch := rt.rec.Channel
	ch.InputAttachments = append([]resource.InputAttachment(nil), ch.InputAttachments...)
	for _, o := range rt.rec.EffectiveOutputs() {
		u := EndpointPath(ch.Name, o)
		ch.Endpoints = append(ch.Endpoints, resource.EndpointURL{Name: o.Name, Type: o.Type, URL: u})
	}
	if p := rt.pipe; p != nil {
		pr := p.lastProgress()
		st := &resource.PipelineStatus{
			StartedAt: p.started.UTC(), Restarts: rt.restarts,
			Speed: pr.Speed, FPS: pr.FPS, Frames: pr.Frame, DroppedFrames: pr.Drop, DupFrames: pr.Dup,
			OutTime: pr.OutTime.Seconds(),
		}
		if rt.tl != nil {
			st.Segments = rt.tl.Produced()
		}
		if sw := rt.sw; sw != nil {
			ss := sw.Status()
			st.ActiveInput, st.Filling, st.FillSeconds = ss.ActiveInput, ss.Filling, ss.FillSeconds
			st.InputLossSeconds, st.InputSwitches = ss.LossSeconds, ss.Switches
		}
		st.KeyFrames = rt.keyNote
		ch.Pipeline = st
	}
	ch.Deliveries = rt.deliveryStatus()
	return ch
}

// EndpointPath is the origin path of an output group's manifest.
func EndpointPath(channel string, o resource.OutputGroup) string {
	file := "index.m3u8"
	if o.Type == resource.OutputDASH || o.Type == resource.OutputLLDASH {
		file = "manifest.mpd"
	}
	return fmt.Sprintf("/live/%s/%s/%s", channel, o.Name, file)
}

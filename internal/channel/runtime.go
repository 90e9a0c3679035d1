package channel

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluice-video/sluice/internal/cluster"
	"github.com/sluice-video/sluice/internal/input"
	"github.com/sluice-video/sluice/internal/input/switcher"
	"github.com/sluice-video/sluice/internal/output"
	"github.com/sluice-video/sluice/internal/packager/cmaf"
	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/store"
)

// runtime is one channel pipeline's live state on this node. A single
// goroutine (the loop) owns every transition, so commands and pipeline
// events are handled one at a time, in order; readers see a copy guarded
// by mu.
//
// The runtime of pipeline 0 (index 0) is the channel's own: it carries out
// the commands, writes the channel's state, history and counters, runs
// the deliveries, and encodes. The runtime of a STANDARD channel's other
// pipeline (index 1, second.go) only encodes, on its own lease, following
// what the channel should be; it writes nothing of the channel.
type runtime struct {
	m      *Manager
	id     string
	index  int
	in     chan any
	quit   chan struct{}
	logger *slog.Logger
	// lease is this node's lease of the channel's pipeline: its fence goes
	// with every write the runtime makes, and when it is lost the runtime
	// stops at once (a single server's is never lost).
	lease *cluster.Lease
	// steps counts the events the runtime handled: a runtime at rest
	// handles none.
	steps atomic.Uint64
	// heard is what a single server last told another pipeline's runtime
	// of its channel (Manager.pipelinesChanged; m.secondMu is held).
	heard *store.ChannelHold

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
	// delivering is set once the current encoder run completed a segment;
	// pipeNote says what happened to the pipeline's encoder last (why it
	// restarts, why it waits).
	delivering bool
	pipeNote   string
	// siblings is how many of the channel's other pipelines deliver
	// segments, as last heard (a STANDARD channel's pipeline 0).
	siblings int

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
	// tlMerge is the configuration of the merged timeline tl feeds.
	tlMerge cmaf.Config
	// seenDisc is the discontinuity sequence of the newest run that
	// produced segments (players saw it), as stored: the counters persist
	// it, never the sequence of a run nobody saw, so that a node taking
	// the channel over continues exactly one discontinuity further.
	seenDisc uint64
	// savedDesired is the desired state the database has as far as the
	// runtime knows: a transition writes the desired state only when the
	// runtime changed it itself, never over a command made elsewhere.
	savedDesired resource.ChannelState
	// wrote is when the runtime last wrote a command's field (the desired
	// state, the spec): a reading of the row begun before is older than
	// what the runtime knows.
	wrote time.Time
	// fenced is set when the database refused a write for the channel:
	// another node holds it. The runtime stops, writing nothing more.
	fenced bool
	// handOff is set when a start is left to placement: the runtime lets
	// the channel go, and the node placement chooses starts it. Another
	// pipeline's runtime sets it when it lets its pipeline go to another
	// node (evHandOff).
	handOff bool
	// Another pipeline's runtime: probing while its input is checked,
	// retrying while a retry is pending, halting while its encoder stops.
	probing, retrying, halting bool
	// demanded is whether another pipeline's runtime last told the
	// ingest it wants its inputs; told whether it last told the channel's
	// own runtime on this node that it delivers.
	demanded, told bool
}

// Commands sent by the API; each gets an error or nil back.
type (
	cmdStart        struct{}
	cmdStop         struct{}
	cmdDelete       struct{}
	cmdInputChanged struct{}
	// cmdRestart stops a running channel and starts it again on the node
	// that holds it; seen, when set, is the restart count in the database
	// another node wrote: the runtime need not write it.
	cmdRestart struct{ seen uint64 }
	cmdUpdate  struct {
		spec  resource.ChannelSpec
		stack string
		// generation, when set, is the spec's generation in the database,
		// which another node wrote: the runtime need not write it.
		generation uint64
	}
)

type envelope struct {
	cmd   any
	reply chan error
}

// Events raised by the runtime's own background work.
type (
	evCreated struct{}
	// evBoot resumes a channel read from the database: at a start, or when
	// this node took the channel (then is a command to carry out next,
	// before the channel may be let go).
	evBoot struct {
		// reason says why the runtime boots ("" for a server's start);
		// placed, on a cluster, where a channel that should start was
		// placed.
		reason, placed string
		then           *envelope
		// siblings is how many of a STANDARD channel's other pipelines
		// deliver segments on other nodes as the runtime boots.
		siblings int
	}
	// evSiblings says how many of a STANDARD channel's other pipelines
	// deliver segments (told to the channel's own runtime).
	evSiblings struct{ n int }
	// evHandOff asks the runtime of a STANDARD channel's other pipeline
	// to let it go: it runs on the node of pipeline 0, and another node
	// has room for it now.
	evHandOff struct{}
	// evFollow is the database's row of the channel, read at readAt: a
	// command made through another node.
	evFollow struct {
		hold   store.ChannelHold
		rec    *store.ChannelRecord
		readAt time.Time
	}
	// evFenced says a write outside the loop was refused.
	evFenced struct{}
	evProbed struct {
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

func (m *Manager) newRuntime(rec store.ChannelRecord, lease *cluster.Lease) *runtime {
	logger := m.logger.With("channel", rec.Name)
	if lease.Pipeline() != 0 {
		logger = logger.With("pipeline", lease.Pipeline())
	}
	rt := &runtime{
		m:            m,
		id:           rec.ID,
		index:        lease.Pipeline(),
		in:           make(chan any, 64),
		quit:         make(chan struct{}),
		logger:       logger,
		lease:        lease,
		rec:          rec,
		savedDesired: rec.Desired,
		seenDisc:     rec.Timeline.Discontinuity,
		hub:          output.NewHub(m.cfg.Now, m.logger.With("channel", rec.Name)),
	}
	rt.frames = output.NewFrameShares(m.ctx, frameObserver{rt})
	return rt
}

// run starts the loop with a first event. After each event the runtime
// settles: on a cluster it lets the channel go once it rests, and it stops
// at once when its lease is lost or a write was fenced.
func (rt *runtime) run(first any) {
	rt.m.wg.Add(1)
	go func() {
		defer rt.m.wg.Done()
		defer close(rt.quit)
		rt.step(first)
		for !rt.done {
			select {
			case ev := <-rt.in:
				rt.step(ev)
			case <-rt.lease.Lost():
				rt.lose("its lease was not renewed in time or was taken over")
			case <-rt.m.ctx.Done():
				return
			}
		}
	}()
}

// step handles one event and settles: as the channel's own runtime, or as
// another pipeline's.
func (rt *runtime) step(ev any) {
	rt.steps.Add(1)
	if rt.index != 0 {
		rt.handleSecond(ev)
		rt.settleSecond()
		return
	}
	rt.handle(ev)
	rt.settle()
	rt.m.pipelinesChanged(rt.id)
}

// fence is what the runtime's writes carry.
func (rt *runtime) fence() store.Fence { return rt.lease.Fence() }

// standard reports whether the channel runs two pipelines.
func (rt *runtime) standard() bool {
	rt.mu.RLock()
	defer rt.mu.RUnlock()
	return rt.rec.PipelineCount() > 1
}

// endedError is a command's answer when the runtime ended before taking
// it: the channel was deleted, or (on a cluster) let go.
type endedError struct{ err error }

func (e endedError) Error() string { return e.err.Error() }
func (e endedError) Unwrap() error { return e.err }

// send delivers a command and waits for the loop's answer.
func (rt *runtime) send(ctx context.Context, cmd any) error {
	env := envelope{cmd: cmd, reply: make(chan error, 1)}
	select {
	case rt.in <- env:
	case <-rt.quit:
		return endedError{resource.NotFound("channel", rt.name())}
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
	return Served{ID: rt.rec.ID, Name: rt.rec.Name, Timeline: rt.tl, Outputs: rt.rec.EffectiveOutputs()}
}

// view returns the channel as the API shows it (without its pipelines:
// Manager.present adds them).
func (rt *runtime) view() resource.Channel {
	rt.mu.RLock()
	defer rt.mu.RUnlock()
	ch := withEndpoints(rt.rec)
	if rt.m.shared {
		ch.Node = rt.lease.Fence().Holder
	}
	ch.Pipeline = rt.pipelineStatus()
	ch.Deliveries = rt.deliveryStatus()
	ch.WebRTC = rt.rec.WebRTCMedia()
	return ch
}

// withEndpoints is a stored channel with the paths of its endpoints.
func withEndpoints(rec store.ChannelRecord) resource.Channel {
	ch := rec.Channel
	ch.InputAttachments = append([]resource.InputAttachment(nil), ch.InputAttachments...)
	ch.Endpoints = nil
	for _, o := range rec.EffectiveOutputs() {
		u := EndpointPath(ch.Name, o)
		ch.Endpoints = append(ch.Endpoints, resource.EndpointURL{Name: o.Name, Type: o.Type, URL: u})
	}
	return ch
}

// pipelineStatus is what the running encoder reports (nil when none
// runs); rt.mu is held.
func (rt *runtime) pipelineStatus() *resource.PipelineStatus {
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
			st.InputDroppedFrames = ss.DroppedInput
		}
		st.KeyFrames = rt.keyNote
		return st
	}
	return nil
}

// EndpointPath is the origin path of an output group's manifest.
func EndpointPath(channel string, o resource.OutputGroup) string {
	file := "index.m3u8"
	switch o.Type {
	case resource.OutputDASH, resource.OutputLLDASH:
		file = "manifest.mpd"
	case resource.OutputWebRTC:
		file = "whep"
	}
	return fmt.Sprintf("/live/%s/%s/%s", channel, o.Name, file)
}

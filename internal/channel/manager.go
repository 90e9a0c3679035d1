// Package channel is Sluice's control plane for live channels: inputs and
// channels as resources, each channel's state machine, and its pipeline
// (one encoder process feeding the packager's timeline), supervised and
// restarted when it fails.
package channel

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluice-video/sluice/internal/cluster"
	"github.com/sluice-video/sluice/internal/input"
	"github.com/sluice-video/sluice/internal/input/switcher"
	"github.com/sluice-video/sluice/internal/lifecycle"
	"github.com/sluice-video/sluice/internal/packager/cmaf"
	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/storage"
	"github.com/sluice-video/sluice/internal/store"
)

// Store is the state the manager persists.
type Store interface {
	CreateInput(ctx context.Context, in resource.Input) error
	UpdateInput(ctx context.Context, in resource.Input) error
	DeleteInput(ctx context.Context, id string) error
	GetInput(ctx context.Context, ref string) (resource.Input, error)
	ListInputs(ctx context.Context) ([]resource.Input, error)

	CreateSecurityGroup(ctx context.Context, g resource.SecurityGroup) error
	UpdateSecurityGroup(ctx context.Context, g resource.SecurityGroup) error
	DeleteSecurityGroup(ctx context.Context, id string) error
	GetSecurityGroup(ctx context.Context, ref string) (resource.SecurityGroup, error)
	ListSecurityGroups(ctx context.Context) ([]resource.SecurityGroup, error)

	CreateChannel(ctx context.Context, rec store.ChannelRecord) error
	UpdateChannelSpec(ctx context.Context, id, stack string, spec resource.ChannelSpec, at time.Time) (uint64, error)
	SetChannelState(ctx context.Context, id string, f store.Fence, ch resource.StateChange, lastError string, desired *resource.ChannelState) error
	SetChannelDesired(ctx context.Context, id string, desired resource.ChannelState) error
	// RequestChannelRestart counts a restart asked for a channel, which
	// its holder follows, and returns the count.
	RequestChannelRestart(ctx context.Context, id string) (uint64, error)
	SaveTimeline(ctx context.Context, id string, f store.Fence, ts store.TimelineState) error
	ClaimAvailabilityStart(ctx context.Context, id string, at time.Time) (time.Time, error)
	DeleteChannel(ctx context.Context, id string, f store.Fence) error
	ListChannels(ctx context.Context) ([]store.ChannelRecord, error)
	GetChannel(ctx context.Context, ref string) (store.ChannelRecord, error)
	History(ctx context.Context, id string, limit int) ([]resource.StateChange, error)

	// What a node of a cluster follows: every channel's hold, the live
	// leases with their holders' reports, and this node's reports.
	ListChannelHolds(ctx context.Context) ([]store.ChannelHold, error)
	ListLeases(ctx context.Context) ([]store.LeaseRecord, error)
	SetChannelStatus(ctx context.Context, channelID string, f store.Fence, status string) error
}

// Cluster is the node's membership of a cluster as the manager uses it;
// *cluster.Cluster satisfies it. A single server's (cluster.Solo) holds
// every channel: the manager then keeps every channel's runtime, as it
// always did. On a shared cluster, the manager keeps runtimes only for the
// channels this node holds, follows the database for the others, and
// starts channels where placement puts them.
type Cluster interface {
	Shared() bool
	SelfID() string
	Acquire(ctx context.Context, channelID, channel string) (*cluster.Lease, error)
	AcquirePipeline(ctx context.Context, channelID, channel string, pipeline int) (*cluster.Lease, error)
	Release(ctx context.Context, l *cluster.Lease) error
	Place(ctx context.Context, cands []cluster.Candidate) ([]cluster.Candidate, error)
	// RoomElsewhere says whether another live node could run a pipeline
	// of the channel (by id): one that runs no pipeline of it and has room.
	RoomElsewhere(channelID string) bool
	LiveNodes() []resource.Node
	Wakes() (wake <-chan struct{}, stop func())
	Drain(ctx context.Context) error
}

// Config configures a Manager.
type Config struct {
	Store    Store
	Resolver input.Resolver
	// FFmpeg and FFprobe are the binaries the pipelines and probes run.
	FFmpeg  string
	FFprobe string
	// ChunkDuration is the encoder's fragment length (default 500 ms).
	ChunkDuration time.Duration
	// Live is the live side of inputs; nil serves files and test patterns only.
	Live LiveInputs
	// Fills encodes the fill shown while a live input is lost.
	Fills *switcher.FillMaker
	// Observer hears of events and figures (metrics, the event bus).
	Observer Observer
	// Backoff lists the delays before successive encoder restarts; the last
	// one repeats.
	Backoff []time.Duration
	// OutputBackoff lists the delays before successive retries of a failed
	// delivery output (default 1 s, 2 s, 5 s, 10 s, 30 s).
	OutputBackoff []time.Duration
	// OutputStorage, when set, is where ARCHIVE files and frame captures
	// are moved once finished; nil keeps them in the media directory.
	OutputStorage storage.Storage
	// Cluster is the node's membership of a cluster (default: a single
	// server's cluster of one).
	Cluster Cluster
	// FollowEvery is how often a node of a cluster reads the channels
	// besides the notifications that wake it (default 1.5 s); a single
	// server looks at the pipelines of its STANDARD channels as often.
	FollowEvery time.Duration
	// Merge makes the merged timeline of a STANDARD channel on a node
	// that runs a pipeline of it; nil (or a merge that cannot be made)
	// serves the timeline of a pipeline this node runs (pipeline 0's when
	// it runs both).
	Merge  func(MergeConfig) (Merger, error)
	Logger *slog.Logger
	Now    func() time.Time
}

// Manager owns every channel's runtime and the input resources.
type Manager struct {
	cfg    Config
	store  Store
	logger *slog.Logger
	prober input.Prober

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.RWMutex
	channels map[string]*runtime // by id: each channel's own runtime (pipeline 0)
	// others are the runtimes of the other pipelines of STANDARD channels
	// this node runs.
	others map[store.LeaseKey]*runtime
	// secondMu serialises a single server's keeping of its channels'
	// other pipelines in step.
	secondMu sync.Mutex
	// closing is set once Close begins: no pipeline starts after.
	closing atomic.Bool
	// merges are the merged timelines of the STANDARD channels this node
	// runs a pipeline of, by channel id.
	mergeMu sync.Mutex
	merges  map[string]*merged

	demandMu sync.Mutex

	// cl is the node's cluster; shared is true on a cluster of several
	// nodes.
	cl     Cluster
	shared bool
	// adopt serialises taking and letting go of channels, so that a
	// channel has one runtime on the node at most.
	adopt sync.Mutex
	// follower reads the database on a cluster.
	follower lifecycle.Loop
	// followed is what the follower saw last of inputs and security
	// groups, and the status each held channel last reported.
	followed followState
}

// New returns a manager; Start loads and resumes the stored channels.
func New(cfg Config) *Manager {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.FFmpeg == "" {
		cfg.FFmpeg = "ffmpeg"
	}
	if cfg.FFprobe == "" {
		cfg.FFprobe = "ffprobe"
	}
	if cfg.Observer == nil {
		cfg.Observer = nopObserver{}
	}
	if len(cfg.Backoff) == 0 {
		cfg.Backoff = []time.Duration{200 * time.Millisecond, time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 30 * time.Second}
	}
	if cfg.Cluster == nil {
		cfg.Cluster = cluster.Solo(cluster.Config{})
	}
	if cfg.FollowEvery <= 0 {
		cfg.FollowEvery = 1500 * time.Millisecond
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Manager{
		cfg:      cfg,
		store:    cfg.Store,
		logger:   cfg.Logger,
		prober:   input.Prober{Resolver: cfg.Resolver, FFprobe: cfg.FFprobe},
		ctx:      ctx,
		cancel:   cancel,
		channels: map[string]*runtime{},
		others:   map[store.LeaseKey]*runtime{},
		merges:   map[string]*merged{},
		cl:       cfg.Cluster,
		shared:   cfg.Cluster.Shared(),
	}
}

// Start resumes the stored channels. A single server loads every channel:
// channels that were meant to run start again, interrupted creations and
// deletions finish. A node of a cluster follows the database instead, and
// takes the channels placement gives it.
func (m *Manager) Start(ctx context.Context) error {
	if err := m.bootLive(ctx); err != nil {
		return fmt.Errorf("loading inputs: %w", err)
	}
	if m.shared {
		m.follower.Go(ctx, m.follow)
		return nil
	}
	recs, err := m.store.ListChannels(ctx)
	if err != nil {
		return fmt.Errorf("loading channels: %w", err)
	}
	for _, rec := range recs {
		lease, err := m.cl.Acquire(ctx, rec.ID, rec.Name)
		if err != nil {
			return fmt.Errorf("loading channel %s: %w", rec.Name, err)
		}
		m.install(m.newRuntime(rec, lease), evBoot{})
	}
	m.follower.Go(ctx, m.watchAlone)
	switch len(recs) {
	case 0:
	case 1:
		m.logger.Info("loaded 1 channel from the state database")
	default:
		m.logger.Info(fmt.Sprintf("loaded %d channels from the state database", len(recs)))
	}
	return nil
}

// Close stops every pipeline (channels keep their desired state, so they
// run again at the next start, or on another node of a cluster) and waits
// for the runtimes to finish. A node of a cluster first tells the others
// it is leaving, then lets each channel go as soon as its encoder stopped:
// the other nodes take them at once.
func (m *Manager) Close(ctx context.Context) error {
	m.closing.Store(true)
	if err := m.follower.Stop(ctx); err != nil {
		return err
	}
	if m.shared {
		if err := m.cl.Drain(ctx); err != nil {
			m.logger.Warn("telling the other nodes that this one leaves failed", "error", err)
		}
	}
	m.mu.RLock()
	rts := make([]*runtime, 0, len(m.channels)+len(m.others))
	for _, rt := range m.channels {
		rts = append(rts, rt)
	}
	for _, rt := range m.others {
		rts = append(rts, rt)
	}
	m.mu.RUnlock()
	var wg sync.WaitGroup
	for _, rt := range rts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rt.shutdown(ctx)
		}()
	}
	wg.Wait()
	m.closeMerges()
	m.cancel()
	m.wg.Wait()
	return nil
}

func (m *Manager) lookup(ref string) (*runtime, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if rt, ok := m.channels[ref]; ok {
		return rt, nil
	}
	for _, rt := range m.channels {
		if rt.name() == ref {
			return rt, nil
		}
	}
	return nil, resource.NotFound("channel", ref)
}

// installed reports whether rt is the node's runtime of its channel.
func (m *Manager) installed(rt *runtime) bool {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if rt.index != 0 {
		return m.others[rt.lease.Key()] == rt
	}
	return m.channels[rt.id] == rt
}

// install adds a runtime and runs it with a first event.
func (m *Manager) install(rt *runtime, first any) {
	m.register(rt)
	rt.run(first)
}

// register adds a runtime, so that lookups and commands find it.
func (m *Manager) register(rt *runtime) {
	m.mu.Lock()
	if rt.index != 0 {
		m.others[rt.lease.Key()] = rt
	} else {
		m.channels[rt.id] = rt
	}
	m.mu.Unlock()
}

// leave takes a runtime that ended off the node: its lease is given up
// (unless lost: then there is nothing to give), its series go.
func (m *Manager) leave(rt *runtime, lost bool) {
	m.adopt.Lock()
	defer m.adopt.Unlock()
	if !lost {
		ctx, cancel := writeContext()
		if err := m.cl.Release(ctx, rt.lease); err != nil {
			rt.logger.Warn("giving up the channel's lease failed: another node takes it when it expires", "error", err)
		}
		cancel()
	}
	m.mu.Lock()
	if rt.index != 0 {
		if m.others[rt.lease.Key()] == rt {
			delete(m.others, rt.lease.Key())
		}
	} else if m.channels[rt.id] == rt {
		delete(m.channels, rt.id)
	}
	own := m.channels[rt.id] != nil
	m.mu.Unlock()
	m.unmerge(rt)
	switch {
	case rt.index == 0:
		m.cfg.Observer.ChannelRemoved(rt.name())
	case !own:
		m.cfg.Observer.PipelinesRunning(rt.name(), -1)
	}
	m.syncDemand()
}

func (m *Manager) runtimes() []*runtime {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]*runtime, 0, len(m.channels))
	for _, rt := range m.channels {
		out = append(out, rt)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name() < out[j].name() })
	return out
}

// ListChannels returns every channel with its current state: on a
// cluster, every channel of the database, with the live figures of the
// channels other nodes hold as their holders last reported them.
func (m *Manager) ListChannels(ctx context.Context) ([]resource.Channel, error) {
	if m.shared {
		return m.listShared(ctx)
	}
	return m.HeldChannels(ctx)
}

// HeldChannels returns the channels this node runs (every channel on a
// single server), with their live figures: what its metrics count. A
// STANDARD channel is the node's when it runs the channel's own pipeline
// (pipeline 0).
func (m *Manager) HeldChannels(ctx context.Context) ([]resource.Channel, error) {
	rts := m.runtimes()
	out := make([]resource.Channel, 0, len(rts))
	for _, rt := range rts {
		if m.shared {
			out = append(out, rt.view())
		} else {
			out = append(out, m.present(ctx, rt))
		}
	}
	return out, nil
}

// GetChannel returns a channel by id or name.
func (m *Manager) GetChannel(ctx context.Context, ref string) (resource.Channel, error) {
	if m.shared {
		return m.getShared(ctx, ref)
	}
	rt, err := m.lookup(ref)
	if err != nil {
		return resource.Channel{}, err
	}
	return m.present(ctx, rt), nil
}

// present is a single server's view of a channel, with its pipelines.
func (m *Manager) present(ctx context.Context, rt *runtime) resource.Channel {
	ch := rt.view()
	m.describePipelines(ctx, &ch, rt.record(), nil)
	return ch
}

// History returns a channel's state changes, oldest first.
func (m *Manager) History(ctx context.Context, ref string, limit int) ([]resource.StateChange, error) {
	id := ""
	if rt, err := m.lookup(ref); err == nil {
		id = rt.id
	} else if !m.shared {
		return nil, err
	} else {
		rec, err := m.store.GetChannel(ctx, ref)
		if err != nil {
			return nil, err
		}
		id = rec.ID
	}
	return m.store.History(ctx, id, limit)
}

// CreateChannel validates and stores a channel, then creates it in the
// background (state CREATING); it starts by itself when autoStart is set.
func (m *Manager) CreateChannel(ctx context.Context, stack string, spec resource.ChannelSpec) (resource.Channel, error) {
	if err := m.validateChannel(ctx, spec); err != nil {
		return resource.Channel{}, err
	}
	now := m.cfg.Now().UTC()
	rec := store.ChannelRecord{
		Channel: resource.Channel{
			ID: resource.NewID("ch"), Stack: stack, ChannelSpec: spec,
			State: resource.StateCreating, StateReason: "channel created", StateChangedAt: now,
			CreatedAt: now, UpdatedAt: now,
		},
		Desired: resource.StateIdle,
	}
	if spec.AutoStart {
		rec.Desired = resource.StateRunning
	}
	if err := m.store.CreateChannel(ctx, rec); err != nil {
		return resource.Channel{}, err
	}
	m.logger.Info(fmt.Sprintf("channel %s created", spec.Name), "channel", spec.Name, "id", rec.ID, "autoStart", spec.AutoStart)
	// channel.created is published once the channel can take commands: a
	// rule that starts it on that event must find it.
	announce := func() {
		m.cfg.Observer.Event(channelEvent(resource.EventChannelCreated, spec.Name, "channel "+spec.Name+" created", map[string]string{"id": rec.ID, "stack": stack}))
	}
	m.adopt.Lock()
	defer m.adopt.Unlock()
	lease, err := m.cl.Acquire(ctx, rec.ID, rec.Name)
	if err != nil {
		// Another node took it first (placement): it carries on.
		m.logger.Info(fmt.Sprintf("channel %s is carried on by another node", spec.Name), "error", err)
		announce()
		return withEndpoints(rec), nil
	}
	rt := m.newRuntime(rec, lease)
	// The answer shows the channel as created (CREATING), taken before its
	// state machine runs and moves it on. Commands sent once it is
	// registered wait for the state machine, which handles its creation
	// first.
	created := rt.view()
	m.register(rt)
	announce()
	rt.run(evCreated{})
	return created, nil
}

// UpdateChannel replaces a channel's spec. A running channel restarts its
// pipeline with the new settings; the playlists continue with a discontinuity.
func (m *Manager) UpdateChannel(ctx context.Context, ref, stack string, spec resource.ChannelSpec) (resource.Channel, error) {
	if _, err := m.lookup(ref); err != nil && !m.shared {
		return resource.Channel{}, err
	}
	if err := m.validateChannel(ctx, spec); err != nil {
		return resource.Channel{}, err
	}
	return m.command(ctx, ref, cmdUpdate{spec: spec, stack: stack})
}

// StartChannel starts a channel. Starting a channel that is still being
// created or updated is queued, not refused.
func (m *Manager) StartChannel(ctx context.Context, ref string) (resource.Channel, error) {
	return m.command(ctx, ref, cmdStart{})
}

// StopChannel stops a channel's pipeline; its playlists end.
func (m *Manager) StopChannel(ctx context.Context, ref string) (resource.Channel, error) {
	return m.command(ctx, ref, cmdStop{})
}

// RestartChannel stops a running channel and starts it again, as one
// command carried out by the node that holds it; a channel that does not
// run is started.
func (m *Manager) RestartChannel(ctx context.Context, ref string) (resource.Channel, error) {
	return m.command(ctx, ref, cmdRestart{})
}

// DeleteChannel deletes a channel, stopping it first if it runs.
func (m *Manager) DeleteChannel(ctx context.Context, ref string) (resource.Channel, error) {
	return m.command(ctx, ref, cmdDelete{})
}

// command carries out a command: by the channel's runtime on this node,
// or, on a cluster, through the database (commandShared).
func (m *Manager) command(ctx context.Context, ref string, cmd any) (resource.Channel, error) {
	for range 3 {
		rt, err := m.lookup(ref)
		if err != nil {
			if !m.shared {
				return resource.Channel{}, err
			}
			ch, again, err := m.commandShared(ctx, ref, cmd)
			if again {
				continue
			}
			return ch, err
		}
		err = rt.send(ctx, cmd)
		var ended endedError
		if errors.As(err, &ended) && m.shared {
			// The node let the channel go meanwhile.
			continue
		}
		if err != nil {
			return resource.Channel{}, err
		}
		if m.shared {
			if _, deleted := cmd.(cmdDelete); deleted && !m.installed(rt) {
				return rt.view(), nil
			}
			return m.getShared(ctx, rt.id)
		}
		return m.present(ctx, rt), nil
	}
	return resource.Channel{}, resource.Unavailable("the channel moved between nodes while the command was made; try again")
}

// validateChannel checks a spec and that its inputs exist.
func (m *Manager) validateChannel(ctx context.Context, spec resource.ChannelSpec) error {
	if err := spec.Validate(); err != nil {
		return err
	}
	var errs resource.FieldErrors
	for i, a := range spec.InputAttachments {
		p := resource.Index("inputAttachments", i)
		primary, err := m.store.GetInput(ctx, a.Input)
		switch {
		case errors.Is(err, resource.ErrNotFound):
			errs.Add(resource.JoinPath(p, "input"), "input "+fmt.Sprintf("%q", a.Input)+" does not exist")
			continue
		case err != nil:
			return err
		}
		if passthroughRung(spec) {
			errs.Merge(p, checkPassthroughInput(primary, a))
		}
		if a.SecondaryInput == "" {
			continue
		}
		secondary, err := m.store.GetInput(ctx, a.SecondaryInput)
		switch {
		case errors.Is(err, resource.ErrNotFound):
			errs.Add(resource.JoinPath(p, "secondaryInput"), "input "+fmt.Sprintf("%q", a.SecondaryInput)+" does not exist")
		case err != nil:
			return err
		case !primary.Type.IsLive() || !secondary.Type.IsLive():
			errs.Add(resource.JoinPath(p, "secondaryInput"), "failover needs two live inputs; "+a.Input+" is "+string(primary.Type)+" and "+a.SecondaryInput+" is "+string(secondary.Type))
		}
	}
	return errs.Err()
}

// passthroughRung reports whether the channel's ladder passes its input's
// video through.
func passthroughRung(spec resource.ChannelSpec) bool {
	for _, v := range spec.Encoder.Video {
		if v.Passthrough {
			return true
		}
	}
	return false
}

// checkPassthroughInput says whether an input can feed a passthrough rung:
// a live input or a file (whose video must be H.264 or H.265, checked when
// it is probed), and not one padded after its end, since copied video
// cannot be padded.
func checkPassthroughInput(in resource.Input, a resource.InputAttachment) error {
	var errs resource.FieldErrors
	switch {
	case in.Type.IsLive():
	case in.Type == resource.InputFile:
		if a.SourceEnd() == resource.SourceEndContinue {
			errs.Add("sourceEnd", "a passthrough rung copies the file's video, which cannot continue past its end: use LOOP")
		}
	default:
		errs.Add("input", "a passthrough rung needs an encoded source (a live input or a file), not "+string(in.Type))
	}
	return errs.Err()
}

// Served is what the origin needs to serve a channel.
type Served struct {
	ID       string
	Name     string
	Timeline *cmaf.Timeline // nil until the channel first starts
	Outputs  []resource.OutputGroup
}

// Lookup returns the packaging view of a channel by name, for the origin:
// on a node that runs a pipeline of a STANDARD channel, its merged
// timeline (or, without a merge, the timeline of a pipeline this node
// runs, pipeline 0's first).
func (m *Manager) Lookup(name string) (Served, bool) {
	var sec *runtime
	for _, s := range m.seconds() {
		if s.name() == name {
			sec = s
			break
		}
	}
	rt, err := m.lookup(name)
	if err != nil || rt.name() != name {
		if sec == nil {
			return Served{}, false
		}
		rt = nil
	}
	var out Served
	switch {
	case rt != nil:
		out = rt.served()
	default:
		out = sec.served()
	}
	id := out.ID
	if tl := m.mergedTimeline(id); tl != nil {
		out.Timeline = tl
	} else if out.Timeline == nil && sec != nil && rt != nil {
		out.Timeline = sec.timeline()
	}
	return out, true
}

// Packaging returns a channel's timeline (nil until it first starts) and
// endpoints by name: what the origin, the DVR archives and harvests read
// of it.
func (m *Manager) Packaging(name string) (*cmaf.Timeline, []resource.OutputGroup, bool) {
	c, ok := m.Lookup(name)
	return c.Timeline, c.Outputs, ok
}

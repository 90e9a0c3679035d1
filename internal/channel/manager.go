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
	"time"

	"github.com/sluice-video/sluice/internal/input"
	"github.com/sluice-video/sluice/internal/input/switcher"
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
	UpdateChannelSpec(ctx context.Context, id, stack string, spec resource.ChannelSpec, at time.Time) error
	SetChannelState(ctx context.Context, id string, ch resource.StateChange, lastError string, desired resource.ChannelState) error
	SetChannelDesired(ctx context.Context, id string, desired resource.ChannelState) error
	SaveTimeline(ctx context.Context, id string, ts store.TimelineState) error
	DeleteChannel(ctx context.Context, id string) error
	ListChannels(ctx context.Context) ([]store.ChannelRecord, error)
	History(ctx context.Context, id string, limit int) ([]resource.StateChange, error)
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
	Logger        *slog.Logger
	Now           func() time.Time
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
	channels map[string]*runtime // by id

	demandMu sync.Mutex
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
	ctx, cancel := context.WithCancel(context.Background())
	return &Manager{
		cfg:      cfg,
		store:    cfg.Store,
		logger:   cfg.Logger,
		prober:   input.Prober{Resolver: cfg.Resolver, FFprobe: cfg.FFprobe},
		ctx:      ctx,
		cancel:   cancel,
		channels: map[string]*runtime{},
	}
}

// Start loads every stored channel and resumes it: channels that were
// meant to run start again, interrupted creations and deletions finish.
func (m *Manager) Start(ctx context.Context) error {
	if err := m.bootLive(ctx); err != nil {
		return fmt.Errorf("loading inputs: %w", err)
	}
	recs, err := m.store.ListChannels(ctx)
	if err != nil {
		return fmt.Errorf("loading channels: %w", err)
	}
	for _, rec := range recs {
		rt := m.newRuntime(rec)
		m.mu.Lock()
		m.channels[rec.ID] = rt
		m.mu.Unlock()
		rt.run(evBoot{})
	}
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
// run again at the next start) and waits for the runtimes to finish.
func (m *Manager) Close(ctx context.Context) error {
	m.mu.RLock()
	rts := make([]*runtime, 0, len(m.channels))
	for _, rt := range m.channels {
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

func (m *Manager) remove(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.channels, id)
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

// ListChannels returns every channel with its current state.
func (m *Manager) ListChannels(context.Context) ([]resource.Channel, error) {
	rts := m.runtimes()
	out := make([]resource.Channel, 0, len(rts))
	for _, rt := range rts {
		out = append(out, rt.view())
	}
	return out, nil
}

// GetChannel returns a channel by id or name.
func (m *Manager) GetChannel(_ context.Context, ref string) (resource.Channel, error) {
	rt, err := m.lookup(ref)
	if err != nil {
		return resource.Channel{}, err
	}
	return rt.view(), nil
}

// History returns a channel's state changes, oldest first.
func (m *Manager) History(ctx context.Context, ref string, limit int) ([]resource.StateChange, error) {
	rt, err := m.lookup(ref)
	if err != nil {
		return nil, err
	}
	return m.store.History(ctx, rt.id, limit)
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
	rt := m.newRuntime(rec)
	m.mu.Lock()
	m.channels[rec.ID] = rt
	m.mu.Unlock()
	m.logger.Info(fmt.Sprintf("channel %s created", spec.Name), "channel", spec.Name, "id", rec.ID, "autoStart", spec.AutoStart)
	m.cfg.Observer.Event(channelEvent(resource.EventChannelCreated, spec.Name, "channel "+spec.Name+" created", map[string]string{"id": rec.ID, "stack": stack}))
	// The answer shows the channel as created (CREATING), taken before its
	// state machine runs and moves it on.
	created := rt.view()
	rt.run(evCreated{})
	return created, nil
}

// UpdateChannel replaces a channel's spec. A running channel restarts its
// pipeline with the new settings; the playlists continue with a discontinuity.
func (m *Manager) UpdateChannel(ctx context.Context, ref, stack string, spec resource.ChannelSpec) (resource.Channel, error) {
	rt, err := m.lookup(ref)
	if err != nil {
		return resource.Channel{}, err
	}
	if err := m.validateChannel(ctx, spec); err != nil {
		return resource.Channel{}, err
	}
	if err := rt.send(ctx, cmdUpdate{spec: spec, stack: stack}); err != nil {
		return resource.Channel{}, err
	}
	return rt.view(), nil
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

// DeleteChannel deletes a channel, stopping it first if it runs.
func (m *Manager) DeleteChannel(ctx context.Context, ref string) (resource.Channel, error) {
	return m.command(ctx, ref, cmdDelete{})
}

func (m *Manager) command(ctx context.Context, ref string, cmd any) (resource.Channel, error) {
	rt, err := m.lookup(ref)
	if err != nil {
		return resource.Channel{}, err
	}
	if err := rt.send(ctx, cmd); err != nil {
		return resource.Channel{}, err
	}
	return rt.view(), nil
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
	Name     string
	Timeline *cmaf.Timeline // nil until the channel first starts
	Outputs  []resource.OutputGroup
}

// Lookup returns the packaging view of a channel by name, for the origin.
func (m *Manager) Lookup(name string) (Served, bool) {
	rt, err := m.lookup(name)
	if err != nil || rt.name() != name {
		return Served{}, false
	}
	return rt.served(), true
}

// Packaging returns a channel's timeline (nil until it first starts) and
// endpoints by name: what the origin, the DVR archives and harvests read
// of it.
func (m *Manager) Packaging(name string) (*cmaf.Timeline, []resource.OutputGroup, bool) {
	c, ok := m.Lookup(name)
	return c.Timeline, c.Outputs, ok
}

package channel

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/sluice-video/sluice/internal/input/live"
	"github.com/sluice-video/sluice/internal/input/switcher"
	"github.com/sluice-video/sluice/internal/resource"
)

// LiveInputs is the live side of inputs (the ingest): hubs, publishers,
// endpoints and receivers.
type LiveInputs interface {
	Apply(in resource.Input, groups map[string]resource.SecurityGroup)
	Remove(name string)
	Hub(name string) (*live.Hub, bool)
	Status(name string) *resource.LiveStatus
	Endpoints(in resource.Input) []string
	// NodeEndpoints are an input's endpoints on one node of a cluster
	// (this server's on a single server): where a STANDARD channel's
	// pipeline on that node takes its publisher.
	NodeEndpoints(in resource.Input, node string) []string
	// Demand names the live inputs running channels use; the others make
	// no outbound connection. ownOnly names those taken only from a
	// publisher connected to this node, never relayed from another.
	Demand(wanted, ownOnly map[string]bool)
}

// hasPassthrough reports whether a ladder has a passthrough rung.
func hasPassthrough(l resource.Ladder) bool {
	_, ok := l.Passthrough()
	return ok
}

// stageSwitcher names the switcher's stage in the pipeline figures.
const stageSwitcher = "switcher"

// evInput is a switcher event, recorded in the channel's history.
type evInput struct{ e switcher.Event }

// hubOf returns a live input's hub. On a node of a cluster a channel can
// be placed here before this node has followed the change that created
// its input: the input is then read from the store and handed to the
// ingest at once, instead of failing the channel.
func (rt *runtime) hubOf(name string) (*live.Hub, error) {
	m := rt.m
	if hub, ok := m.cfg.Live.Hub(name); ok {
		return hub, nil
	}
	in, err := m.store.GetInput(m.ctx, name)
	if err != nil {
		return nil, fmt.Errorf("input %s: %w", name, err)
	}
	if !in.Type.IsLive() {
		return nil, fmt.Errorf("input %s is not a live input (%s)", name, in.Type)
	}
	m.applyLive(m.ctx, in)
	if hub, ok := m.cfg.Live.Hub(name); ok {
		return hub, nil
	}
	return nil, fmt.Errorf("input %s is not live on this server", name)
}

// switcherFor returns the channel's switcher, made anew when its inputs or
// settings changed.
func (rt *runtime) switcherFor(spec resource.ChannelSpec, l resource.Ladder) (*switcher.Switcher, error) {
	m := rt.m
	if m.cfg.Live == nil || m.cfg.Fills == nil {
		return nil, errors.New("live inputs are not served by this server")
	}
	att := spec.InputAttachments[0]
	key := fmt.Sprintf("%+v %+v %s %v %v", att, spec.InputLoss, l.Rungs[0].Name, hasPassthrough(l), l.Segment)
	if rt.sw != nil && rt.swKey == key {
		return rt.sw, nil
	}
	primary, err := rt.hubOf(att.Input)
	if err != nil {
		return nil, err
	}
	cfg := switcher.Config{
		Primary: primary,
		Fills:   m.cfg.Fills,
		Logger:  rt.logger,
		OnEvent: func(e switcher.Event) { rt.post(evInput{e: e}) },
		OnFed:   func(d time.Duration) { m.cfg.Observer.PipelineStage(stageSwitcher, d) },
		// A passthrough rung copies what the switcher writes: each run
		// starts with its input's own key frame and parameter sets.
		RestartIntoInput: hasPassthrough(l),
	}
	if cfg.RestartIntoInput {
		cfg.Segment = l.Segment
	}
	if enc := l.Encoded(); len(enc) > 0 {
		// The fill takes the first encoded rung's shape until the input's is known.
		cfg.Width, cfg.Height, cfg.FPS = enc[0].Width, enc[0].Height, int(enc[0].FPS+0.5)
	}
	if att.SecondaryInput != "" {
		secondary, err := rt.hubOf(att.SecondaryInput)
		if err != nil {
			return nil, err
		}
		cfg.Secondary = secondary
		cfg.Policy = switcher.PrimaryPreferred
		cfg.ErrorClear = att.Failover.ErrorClear()
		if f := att.Failover; f != nil && f.Policy == resource.EqualPreference {
			cfg.Policy = switcher.Equal
		}
	}
	cfg.InputLoss = spec.InputLoss.LostAfter()
	cfg.Fill = switcher.FillBlack
	if l := spec.InputLoss; l != nil {
		switch l.Fill {
		case resource.FillSlate:
			cfg.Fill = switcher.FillSlate
		case resource.FillLastFrame:
			cfg.Fill = switcher.FillLastFrame
		}
		if l.Slate != "" {
			// Checked now, so a slate outside the allowed folders fails the
			// start; the fill opens it again (through the same rule) each
			// time it is encoded.
			f, err := m.cfg.Resolver.OpenFile(l.Slate)
			if err != nil {
				return nil, fmt.Errorf("slate: %w", err)
			}
			_ = f.Close()
			slate := l.Slate
			cfg.Slate = slate
			cfg.OpenSlate = func() (*os.File, error) { return m.cfg.Resolver.OpenFile(slate) }
		}
	}
	sw := switcher.New(cfg)
	rt.mu.Lock()
	rt.sw, rt.swKey = sw, key
	rt.mu.Unlock()
	return sw, nil
}

package channel

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"strings"

	"github.com/sluice-video/sluice/internal/resource"
)

// CreateInput validates and stores an input. Push inputs get a stream key.
func (m *Manager) CreateInput(ctx context.Context, stack string, spec resource.InputSpec) (resource.Input, error) {
	if err := m.validateInput(ctx, spec, ""); err != nil {
		return resource.Input{}, err
	}
	now := m.cfg.Now().UTC()
	in := resource.Input{ID: resource.NewID("in"), Stack: stack, InputSpec: spec, CreatedAt: now, UpdatedAt: now}
	if needsKey(spec.Type) {
		in.StreamKey = newStreamKey()
	}
	if err := m.store.CreateInput(ctx, in); err != nil {
		return resource.Input{}, err
	}
	m.logger.Info(fmt.Sprintf("input %s created", spec.Name), "input", spec.Name, "type", spec.Type, "id", in.ID)
	m.applyLive(ctx, in)
	m.sawInput(in)
	return m.decorate(ctx, in)
}

// UpdateInput replaces an input's spec. Channels using it that are running
// restart their pipeline to read the new source.
func (m *Manager) UpdateInput(ctx context.Context, ref, stack string, spec resource.InputSpec) (resource.Input, error) {
	in, err := m.store.GetInput(ctx, ref)
	if err != nil {
		return resource.Input{}, err
	}
	if err := m.validateInput(ctx, spec, in.ID); err != nil {
		return resource.Input{}, err
	}
	attached, err := m.attached(ctx)
	if err != nil {
		return resource.Input{}, err
	}
	users := attached[in.Name]
	if spec.Name != in.Name && len(users) > 0 {
		return resource.Input{}, resource.Conflict("input %s cannot be renamed while channels %s use it", in.Name, strings.Join(users, ", "))
	}
	if spec.Type != in.Type && len(users) > 0 && spec.Type.IsLive() != in.Type.IsLive() {
		return resource.Input{}, resource.Conflict("input %s cannot change between a live and a file input while channels %s use it", in.Name, strings.Join(users, ", "))
	}
	oldName := in.Name
	in.InputSpec, in.Stack, in.UpdatedAt = spec, stack, m.cfg.Now().UTC()
	switch {
	case needsKey(spec.Type) && in.StreamKey == "":
		in.StreamKey = newStreamKey()
	case !needsKey(spec.Type):
		in.StreamKey = ""
	}
	if err := m.store.UpdateInput(ctx, in); err != nil {
		return resource.Input{}, err
	}
	m.logger.Info(fmt.Sprintf("input %s updated", spec.Name), "input", spec.Name)
	if oldName != in.Name && m.cfg.Live != nil {
		m.cfg.Live.Remove(oldName)
	}
	m.applyLive(ctx, in)
	m.sawInput(in)
	if !spec.Type.IsLive() {
		// The channels this node runs restart now; those other nodes of a
		// cluster run, when their nodes see the change.
		for _, rt := range m.usersOf(in.Name) {
			if err := rt.send(ctx, cmdInputChanged{}); err != nil {
				m.logger.Warn("channel did not take the input change", "channel", rt.name(), "error", err)
			}
		}
	}
	return m.decorate(ctx, in)
}

// RotateStreamKey gives a push input a new stream key; its publisher, who
// used the old one, is disconnected.
func (m *Manager) RotateStreamKey(ctx context.Context, ref string) (resource.Input, error) {
	in, err := m.store.GetInput(ctx, ref)
	if err != nil {
		return resource.Input{}, err
	}
	if !needsKey(in.Type) {
		return resource.Input{}, resource.Conflict("input %s is %s, which has no stream key", in.Name, in.Type)
	}
	in.StreamKey, in.UpdatedAt = newStreamKey(), m.cfg.Now().UTC()
	if err := m.store.UpdateInput(ctx, in); err != nil {
		return resource.Input{}, err
	}
	m.logger.Info(fmt.Sprintf("the stream key of input %s was rotated", in.Name), "input", in.Name)
	m.applyLive(ctx, in)
	m.sawInput(in)
	return m.decorate(ctx, in)
}

// DeleteInput deletes an input that no channel uses.
func (m *Manager) DeleteInput(ctx context.Context, ref string) error {
	in, err := m.store.GetInput(ctx, ref)
	if err != nil {
		return err
	}
	attached, err := m.attached(ctx)
	if err != nil {
		return err
	}
	if users := attached[in.Name]; len(users) > 0 {
		return resource.Conflict("input %s is attached to channels %s; delete or change them first", in.Name, strings.Join(users, ", "))
	}
	if err := m.store.DeleteInput(ctx, in.ID); err != nil {
		return err
	}
	if m.cfg.Live != nil {
		m.cfg.Live.Remove(in.Name)
	}
	m.logger.Info(fmt.Sprintf("input %s deleted", in.Name), "input", in.Name)
	return nil
}

// GetInput returns an input by id or name.
func (m *Manager) GetInput(ctx context.Context, ref string) (resource.Input, error) {
	in, err := m.store.GetInput(ctx, ref)
	if err != nil {
		return resource.Input{}, err
	}
	return m.decorate(ctx, in)
}

// ListInputs returns every input.
func (m *Manager) ListInputs(ctx context.Context) ([]resource.Input, error) {
	ins, err := m.store.ListInputs(ctx)
	if err != nil {
		return nil, err
	}
	attached, err := m.attached(ctx)
	if err != nil {
		return nil, err
	}
	for i := range ins {
		ins[i] = m.decorateWith(attached, ins[i])
	}
	return ins, nil
}

// validateInput checks a spec, that its security groups exist, that live
// inputs can be served and that no other input listens on its port.
func (m *Manager) validateInput(ctx context.Context, spec resource.InputSpec, self string) error {
	if err := spec.Validate(); err != nil {
		return err
	}
	var errs resource.FieldErrors
	if err := m.cfg.Resolver.Check(spec); err != nil {
		errs.Add("url", reasonOf(spec.URL, err))
	}
	if spec.Type.IsLive() && m.cfg.Live == nil {
		errs.Add("type", "this server does not serve live inputs")
	}
	for i, g := range spec.SecurityGroups {
		switch _, err := m.store.GetSecurityGroup(ctx, g); {
		case errors.Is(err, resource.ErrNotFound):
			errs.Add(resource.Index("securityGroups", i), fmt.Sprintf("security group %q does not exist", g))
		case err != nil:
			return err
		}
	}
	if spec.Port != 0 {
		others, err := m.store.ListInputs(ctx)
		if err != nil {
			return err
		}
		for _, o := range others {
			if o.ID != self && o.Port == spec.Port {
				errs.Add("port", fmt.Sprintf("port %d is already used by input %s", spec.Port, o.Name))
			}
		}
	}
	return errs.Err()
}

// reasonOf is an error without the path it starts with (the field names it).
func reasonOf(raw string, err error) string {
	return strings.TrimPrefix(err.Error(), raw+": ")
}

// applyLive hands a live input (and its security groups) to the ingest.
func (m *Manager) applyLive(ctx context.Context, in resource.Input) {
	if m.cfg.Live == nil {
		return
	}
	if !in.Type.IsLive() {
		m.cfg.Live.Remove(in.Name)
		return
	}
	groups := map[string]resource.SecurityGroup{}
	for _, name := range in.SecurityGroups {
		if g, err := m.store.GetSecurityGroup(ctx, name); err == nil {
			groups[name] = g
		}
	}
	m.cfg.Live.Apply(in, groups)
}

// bootLive hands every stored live input to the ingest. A node of a
// cluster then follows the inputs other nodes change (followInputs).
func (m *Manager) bootLive(ctx context.Context) error {
	if m.shared {
		// The follower's first reading is where it starts from.
		if err := m.followInputs(ctx); err != nil {
			return err
		}
	}
	if m.cfg.Live == nil {
		return nil
	}
	ins, err := m.store.ListInputs(ctx)
	if err != nil {
		return err
	}
	for _, in := range ins {
		m.applyLive(ctx, in)
	}
	return nil
}

// decorate fills in the attachment state, derived from the channels, and
// the live side: endpoints and publisher status.
func (m *Manager) decorate(ctx context.Context, in resource.Input) (resource.Input, error) {
	attached, err := m.attached(ctx)
	if err != nil {
		return resource.Input{}, err
	}
	return m.decorateWith(attached, in), nil
}

// decorateWith is decorate with the channels of each input.
func (m *Manager) decorateWith(attached map[string][]string, in resource.Input) resource.Input {
	users := attached[in.Name]
	in.AttachedChannels = append([]string{}, users...)
	in.State = resource.InputDetached
	if len(users) > 0 {
		in.State = resource.InputAttached
	}
	if m.cfg.Live != nil && in.Type.IsLive() {
		in.Endpoints = m.cfg.Live.Endpoints(in)
		in.Live = m.cfg.Live.Status(in.Name)
	}
	return in
}

// attached names the channels each input is attached to: those of the
// database on a cluster, those of the node on a single server (the same).
func (m *Manager) attached(ctx context.Context) (map[string][]string, error) {
	out := map[string][]string{}
	add := func(name string, spec resource.ChannelSpec) {
		seen := map[string]bool{}
		for _, a := range spec.InputAttachments {
			for _, in := range []string{a.Input, a.SecondaryInput} {
				if in != "" && !seen[in] {
					seen[in] = true
					out[in] = append(out[in], name)
				}
			}
		}
	}
	if !m.shared {
		for _, rt := range m.runtimes() {
			add(rt.name(), rt.spec())
		}
		return out, nil
	}
	recs, err := m.store.ListChannels(ctx)
	if err != nil {
		return nil, err
	}
	for _, r := range recs {
		add(r.Name, r.ChannelSpec)
	}
	return out, nil
}

// usersOf are the runtimes on this node of the channels (and their other
// pipelines) that use an input.
func (m *Manager) usersOf(inputName string) []*runtime {
	var out []*runtime
	for _, rt := range append(m.runtimes(), m.seconds()...) {
		for _, a := range rt.spec().InputAttachments {
			if a.Input == inputName || a.SecondaryInput == inputName {
				out = append(out, rt)
				break
			}
		}
	}
	return out
}

// needsKey reports whether publishers of an input type present a stream key.
func needsKey(t resource.InputType) bool {
	return t == resource.InputRTMPPush || t == resource.InputSRTListener || t == resource.InputWHIPPush
}

// newStreamKey returns 120 random bits, in a form safe in URLs and SRT
// stream ids.
func newStreamKey() string {
	var b [15]byte
	_, _ = rand.Read(b[:])
	return strings.ToLower(base32.StdEncoding.EncodeToString(b[:]))
}

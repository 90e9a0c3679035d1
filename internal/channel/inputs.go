package channel

import (
	"context"
	"fmt"
	"strings"

	"github.com/sluice-video/sluice/internal/resource"
)

// CreateInput validates and stores an input.
func (m *Manager) CreateInput(ctx context.Context, stack string, spec resource.InputSpec) (resource.Input, error) {
	if err := spec.Validate(); err != nil {
		return resource.Input{}, err
	}
	now := m.cfg.Now().UTC()
	in := resource.Input{ID: newID("in"), Stack: stack, InputSpec: spec, CreatedAt: now, UpdatedAt: now}
	if err := m.store.CreateInput(ctx, in); err != nil {
		return resource.Input{}, err
	}
	m.logger.Info(fmt.Sprintf("input %s created", spec.Name), "input", spec.Name, "type", spec.Type, "id", in.ID)
	return m.decorate(in), nil
}

// UpdateInput replaces an input's spec. Channels using it that are running
// restart their pipeline to read the new source.
func (m *Manager) UpdateInput(ctx context.Context, ref, stack string, spec resource.InputSpec) (resource.Input, error) {
	if err := spec.Validate(); err != nil {
		return resource.Input{}, err
	}
	in, err := m.store.GetInput(ctx, ref)
	if err != nil {
		return resource.Input{}, err
	}
	users := m.usersOf(in.Name)
	if spec.Name != in.Name && len(users) > 0 {
		return resource.Input{}, resource.Conflict("input %s cannot be renamed while channels %s use it", in.Name, strings.Join(names(users), ", "))
	}
	in.InputSpec, in.Stack, in.UpdatedAt = spec, stack, m.cfg.Now().UTC()
	if err := m.store.UpdateInput(ctx, in); err != nil {
		return resource.Input{}, err
	}
	m.logger.Info(fmt.Sprintf("input %s updated", spec.Name), "input", spec.Name)
	for _, rt := range users {
		if err := rt.send(ctx, cmdInputChanged{}); err != nil {
			m.logger.Warn("channel did not take the input change", "channel", rt.name(), "error", err)
		}
	}
	return m.decorate(in), nil
}

// DeleteInput deletes an input that no channel uses.
func (m *Manager) DeleteInput(ctx context.Context, ref string) error {
	in, err := m.store.GetInput(ctx, ref)
	if err != nil {
		return err
	}
	if users := m.usersOf(in.Name); len(users) > 0 {
		return resource.Conflict("input %s is attached to channels %s; delete or change them first", in.Name, strings.Join(names(users), ", "))
	}
	if err := m.store.DeleteInput(ctx, in.ID); err != nil {
		return err
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
	return m.decorate(in), nil
}

// ListInputs returns every input.
func (m *Manager) ListInputs(ctx context.Context) ([]resource.Input, error) {
	ins, err := m.store.ListInputs(ctx)
	if err != nil {
		return nil, err
	}
	for i := range ins {
		ins[i] = m.decorate(ins[i])
	}
	return ins, nil
}

// decorate fills in the attachment state, derived from the channels.
func (m *Manager) decorate(in resource.Input) resource.Input {
	users := m.usersOf(in.Name)
	in.AttachedChannels = names(users)
	in.State = resource.InputDetached
	if len(users) > 0 {
		in.State = resource.InputAttached
	}
	return in
}

func (m *Manager) usersOf(inputName string) []*runtime {
	var out []*runtime
	for _, rt := range m.runtimes() {
		for _, a := range rt.spec().InputAttachments {
			if a.Input == inputName {
				out = append(out, rt)
				break
			}
		}
	}
	return out
}

func names(rts []*runtime) []string {
	out := make([]string, 0, len(rts))
	for _, rt := range rts {
		out = append(out, rt.name())
	}
	return out
}

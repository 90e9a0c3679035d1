package channel

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/sluice-video/sluice/internal/resource"
)

// CreateSecurityGroup validates and stores an input security group.
func (m *Manager) CreateSecurityGroup(ctx context.Context, stack string, spec resource.SecurityGroupSpec) (resource.SecurityGroup, error) {
	if err := spec.Validate(); err != nil {
		return resource.SecurityGroup{}, err
	}
	now := m.cfg.Now().UTC()
	g := resource.SecurityGroup{ID: resource.NewID("sg"), Stack: stack, SecurityGroupSpec: spec, CreatedAt: now, UpdatedAt: now}
	if err := m.store.CreateSecurityGroup(ctx, g); err != nil {
		return resource.SecurityGroup{}, err
	}
	m.logger.Info(fmt.Sprintf("security group %s created", spec.Name), "group", spec.Name, "allow", strings.Join(spec.Allow, ","))
	return m.decorateGroup(ctx, g)
}

// UpdateSecurityGroup replaces a group's allow list. It applies to new
// connections at once, and publishers it no longer allows are disconnected.
func (m *Manager) UpdateSecurityGroup(ctx context.Context, ref, stack string, spec resource.SecurityGroupSpec) (resource.SecurityGroup, error) {
	if err := spec.Validate(); err != nil {
		return resource.SecurityGroup{}, err
	}
	g, err := m.store.GetSecurityGroup(ctx, ref)
	if err != nil {
		return resource.SecurityGroup{}, err
	}
	users, err := m.inputsInGroup(ctx, g.Name)
	if err != nil {
		return resource.SecurityGroup{}, err
	}
	if spec.Name != g.Name && len(users) > 0 {
		return resource.SecurityGroup{}, resource.Conflict("security group %s cannot be renamed while inputs %s use it", g.Name, strings.Join(inputNames(users), ", "))
	}
	g.SecurityGroupSpec, g.Stack, g.UpdatedAt = spec, stack, m.cfg.Now().UTC()
	if err := m.store.UpdateSecurityGroup(ctx, g); err != nil {
		return resource.SecurityGroup{}, err
	}
	m.logger.Info(fmt.Sprintf("security group %s updated", spec.Name), "group", spec.Name, "allow", strings.Join(spec.Allow, ","))
	for _, in := range users {
		m.applyLive(ctx, in)
	}
	return m.decorateGroup(ctx, g)
}

// DeleteSecurityGroup deletes a group no input uses.
func (m *Manager) DeleteSecurityGroup(ctx context.Context, ref string) error {
	g, err := m.store.GetSecurityGroup(ctx, ref)
	if err != nil {
		return err
	}
	users, err := m.inputsInGroup(ctx, g.Name)
	if err != nil {
		return err
	}
	if len(users) > 0 {
		return resource.Conflict("security group %s is attached to inputs %s; change them first", g.Name, strings.Join(inputNames(users), ", "))
	}
	if err := m.store.DeleteSecurityGroup(ctx, g.ID); err != nil {
		return err
	}
	m.logger.Info(fmt.Sprintf("security group %s deleted", g.Name), "group", g.Name)
	return nil
}

// GetSecurityGroup returns a group by id or name.
func (m *Manager) GetSecurityGroup(ctx context.Context, ref string) (resource.SecurityGroup, error) {
	g, err := m.store.GetSecurityGroup(ctx, ref)
	if err != nil {
		return resource.SecurityGroup{}, err
	}
	return m.decorateGroup(ctx, g)
}

// ListSecurityGroups returns every group.
func (m *Manager) ListSecurityGroups(ctx context.Context) ([]resource.SecurityGroup, error) {
	gs, err := m.store.ListSecurityGroups(ctx)
	if err != nil {
		return nil, err
	}
	for i := range gs {
		if gs[i], err = m.decorateGroup(ctx, gs[i]); err != nil {
			return nil, err
		}
	}
	return gs, nil
}

func (m *Manager) decorateGroup(ctx context.Context, g resource.SecurityGroup) (resource.SecurityGroup, error) {
	users, err := m.inputsInGroup(ctx, g.Name)
	if err != nil {
		return g, err
	}
	g.Inputs = inputNames(users)
	return g, nil
}

func (m *Manager) inputsInGroup(ctx context.Context, group string) ([]resource.Input, error) {
	ins, err := m.store.ListInputs(ctx)
	if err != nil {
		return nil, err
	}
	var out []resource.Input
	for _, in := range ins {
		if slices.Contains(in.SecurityGroups, group) {
			out = append(out, in)
		}
	}
	return out, nil
}

func inputNames(ins []resource.Input) []string {
	out := make([]string, 0, len(ins))
	for _, in := range ins {
		out = append(out, in.Name)
	}
	return out
}

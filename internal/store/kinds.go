package store

import (
	"context"

	"github.com/sluice-video/sluice/internal/resource"
)

// The kinds the store keeps: one value each, with the columns that are
// the kind's own.

func securityGroups() kind[resource.SecurityGroup] {
	return kind[resource.SecurityGroup]{
		table: "security_groups", label: "security group",
		row: func(g *resource.SecurityGroup) row {
			return row{id: &g.ID, name: &g.Name, stack: &g.Stack, spec: &g.SecurityGroupSpec, created: &g.CreatedAt, updated: &g.UpdatedAt}
		},
		finish: func(g *resource.SecurityGroup) { g.Inputs = []string{} },
	}
}

func inputs() kind[resource.Input] {
	return kind[resource.Input]{
		table: "inputs", label: "input",
		own: []column{{name: "stream_key", withSpec: true}},
		row: func(in *resource.Input) row {
			return row{id: &in.ID, name: &in.Name, stack: &in.Stack, spec: &in.InputSpec, created: &in.CreatedAt, updated: &in.UpdatedAt,
				own: []any{&in.StreamKey}}
		},
		finish: func(in *resource.Input) {
			in.State = resource.InputDetached
			in.AttachedChannels = []string{}
		},
	}
}

func channels() kind[ChannelRecord] {
	return kind[ChannelRecord]{
		table: "channels", label: "channel",
		own: []column{
			{name: "state"}, {name: "state_reason"}, {name: "state_changed_at"}, {name: "last_error"}, {name: "desired"},
			{name: "ast"}, {name: "next_number"}, {name: "discontinuity"}, {name: "generation"}, {name: "restarts"},
		},
		row: func(r *ChannelRecord) row {
			return row{id: &r.ID, name: &r.Name, stack: &r.Stack, spec: &r.ChannelSpec, created: &r.CreatedAt, updated: &r.UpdatedAt,
				own: []any{&r.State, &r.StateReason, stamp{&r.StateChangedAt}, &r.LastError, &r.Desired,
					stamp{&r.Timeline.AvailabilityStart}, counter{&r.Timeline.NextNumber}, counter{&r.Timeline.Discontinuity}, counter{&r.Generation}, counter{&r.Restarts}}}
		},
	}
}

func alarms() kind[resource.Alarm] {
	return kind[resource.Alarm]{
		table: "alarms", label: "alarm",
		own: []column{{name: "state"}, {name: "state_reason"}, {name: "state_changed_at"}, {name: "silence"}, {name: "acknowledgement"}},
		row: func(a *resource.Alarm) row {
			return row{id: &a.ID, name: &a.Name, stack: &a.Stack, spec: &a.AlarmSpec, created: &a.CreatedAt, updated: &a.UpdatedAt,
				own: []any{&a.State, &a.StateReason, stamp{&a.StateChangedAt}, document[resource.AlarmSilence]{&a.Silence}, document[resource.AlarmAcknowledgement]{&a.Acknowledgement}}}
		},
	}
}

func rules() kind[resource.Rule] {
	return kind[resource.Rule]{
		table: "rules", label: "rule",
		row: func(r *resource.Rule) row {
			return row{id: &r.ID, name: &r.Name, stack: &r.Stack, spec: &r.RuleSpec, created: &r.CreatedAt, updated: &r.UpdatedAt}
		},
	}
}

func distributions() kind[resource.Distribution] {
	return kind[resource.Distribution]{
		table: "distributions", label: "distribution",
		row: func(d *resource.Distribution) row {
			return row{id: &d.ID, name: &d.Name, stack: &d.Stack, spec: &d.DistributionSpec, created: &d.CreatedAt, updated: &d.UpdatedAt}
		},
	}
}

// CreateSecurityGroup stores a new input security group; a taken name is a conflict.
func (s *Store) CreateSecurityGroup(ctx context.Context, g resource.SecurityGroup) error {
	return securityGroups().create(ctx, s, g)
}

// UpdateSecurityGroup replaces a group's spec and stack.
func (s *Store) UpdateSecurityGroup(ctx context.Context, g resource.SecurityGroup) error {
	return securityGroups().update(ctx, s, g)
}

// DeleteSecurityGroup removes a group.
func (s *Store) DeleteSecurityGroup(ctx context.Context, id string) error {
	return securityGroups().remove(ctx, s, id)
}

// GetSecurityGroup returns a group by id or name.
func (s *Store) GetSecurityGroup(ctx context.Context, ref string) (resource.SecurityGroup, error) {
	return securityGroups().get(ctx, s, ref)
}

// ListSecurityGroups returns every group, by name.
func (s *Store) ListSecurityGroups(ctx context.Context) ([]resource.SecurityGroup, error) {
	return securityGroups().list(ctx, s)
}

// CreateInput stores a new input; a taken name is a conflict.
func (s *Store) CreateInput(ctx context.Context, in resource.Input) error {
	return inputs().create(ctx, s, in)
}

// UpdateInput replaces an input's spec, stack and stream key.
func (s *Store) UpdateInput(ctx context.Context, in resource.Input) error {
	return inputs().update(ctx, s, in)
}

// DeleteInput removes an input.
func (s *Store) DeleteInput(ctx context.Context, id string) error {
	return inputs().remove(ctx, s, id)
}

// GetInput returns an input by id or name.
func (s *Store) GetInput(ctx context.Context, ref string) (resource.Input, error) {
	return inputs().get(ctx, s, ref)
}

// ListInputs returns every input, by name.
func (s *Store) ListInputs(ctx context.Context) ([]resource.Input, error) {
	return inputs().list(ctx, s)
}

// CreateAlarm stores a new alarm; a taken name is a conflict.
func (s *Store) CreateAlarm(ctx context.Context, a resource.Alarm) error {
	return alarms().create(ctx, s, a)
}

// UpdateAlarm replaces an alarm's spec and stack (its state stays).
func (s *Store) UpdateAlarm(ctx context.Context, a resource.Alarm) error {
	return alarms().update(ctx, s, a)
}

// DeleteAlarm removes an alarm and its history.
func (s *Store) DeleteAlarm(ctx context.Context, id string) error {
	return alarms().remove(ctx, s, id)
}

// GetAlarm returns an alarm by id or name.
func (s *Store) GetAlarm(ctx context.Context, ref string) (resource.Alarm, error) {
	return alarms().get(ctx, s, ref)
}

// ListAlarms returns every alarm, by name.
func (s *Store) ListAlarms(ctx context.Context) ([]resource.Alarm, error) {
	return alarms().list(ctx, s)
}

// CreateRule stores a new event rule; a taken name is a conflict.
func (s *Store) CreateRule(ctx context.Context, r resource.Rule) error {
	return rules().create(ctx, s, r)
}

// UpdateRule replaces a rule's spec and stack.
func (s *Store) UpdateRule(ctx context.Context, r resource.Rule) error {
	return rules().update(ctx, s, r)
}

// DeleteRule removes a rule.
func (s *Store) DeleteRule(ctx context.Context, id string) error {
	return rules().remove(ctx, s, id)
}

// GetRule returns a rule by id or name.
func (s *Store) GetRule(ctx context.Context, ref string) (resource.Rule, error) {
	return rules().get(ctx, s, ref)
}

// ListRules returns every rule, by name.
func (s *Store) ListRules(ctx context.Context) ([]resource.Rule, error) {
	return rules().list(ctx, s)
}

// CreateDistribution stores a new distribution; a taken name is a conflict.
func (s *Store) CreateDistribution(ctx context.Context, d resource.Distribution) error {
	return distributions().create(ctx, s, d)
}

// UpdateDistribution replaces a distribution's spec and stack.
func (s *Store) UpdateDistribution(ctx context.Context, d resource.Distribution) error {
	return distributions().update(ctx, s, d)
}

// DeleteDistribution removes a distribution.
func (s *Store) DeleteDistribution(ctx context.Context, id string) error {
	return distributions().remove(ctx, s, id)
}

// GetDistribution returns a distribution by id or name.
func (s *Store) GetDistribution(ctx context.Context, ref string) (resource.Distribution, error) {
	return distributions().get(ctx, s, ref)
}

// ListDistributions returns every distribution, by name.
func (s *Store) ListDistributions(ctx context.Context) ([]resource.Distribution, error) {
	return distributions().list(ctx, s)
}

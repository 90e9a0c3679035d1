package stack

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sluice-video/sluice/internal/resource"
)

// Apply converges the server to the stack and returns the plan it carried
// out: inputs are created and updated before the channels that use them,
// and channels are deleted (stopped first) before the inputs they used.
func Apply(ctx context.Context, m Manager, st resource.Stack) (Plan, error) {
	plan, err := MakePlan(ctx, m, st)
	if err != nil {
		return Plan{}, err
	}
	specs := specsOf(st)
	steps := []struct {
		kind, action string
	}{
		{KindRule, ActionDelete}, {KindAlarm, ActionDelete},
		// Pipelines name presets: created after them, deleted before.
		{KindPipeline, ActionDelete}, {KindPreset, ActionDelete},
		{KindPreset, ActionCreate}, {KindPreset, ActionUpdate},
		{KindPipeline, ActionCreate}, {KindPipeline, ActionUpdate},
		// Deleted distributions free their addresses for the new ones.
		{KindDistribution, ActionDelete},
		{KindSecurityGroup, ActionCreate}, {KindSecurityGroup, ActionUpdate},
		{KindInput, ActionCreate}, {KindInput, ActionUpdate},
		// Rules before channels, so that a rule on channel.created sees the
		// creation of the channels this stack declares.
		{KindRule, ActionCreate}, {KindRule, ActionUpdate},
		{KindChannel, ActionDelete},
		{KindChannel, ActionCreate}, {KindChannel, ActionUpdate},
		{KindInput, ActionDelete},
		{KindSecurityGroup, ActionDelete},
		{KindAlarm, ActionCreate}, {KindAlarm, ActionUpdate},
		{KindDistribution, ActionUpdate}, {KindDistribution, ActionCreate},
	}
	for _, step := range steps {
		for _, c := range plan.Changes {
			if c.Kind != step.kind || c.Action != step.action {
				continue
			}
			if err := apply(ctx, m, st.Name, c, specs); err != nil {
				return plan, fmt.Errorf("%s %s %s: %w", c.Action, c.Kind, c.Name, err)
			}
		}
	}
	plan.Applied = true
	return plan, nil
}

// stackSpecs indexes a stack's resources by name.
type stackSpecs struct {
	groups    map[string]resource.SecurityGroupSpec
	inputs    map[string]resource.InputSpec
	channels  map[string]resource.ChannelSpec
	alarms    map[string]resource.AlarmSpec
	rules     map[string]resource.RuleSpec
	dists     map[string]resource.DistributionSpec
	presets   map[string]resource.PresetSpec
	pipelines map[string]resource.PipelineSpec
}

func specsOf(st resource.Stack) stackSpecs {
	s := stackSpecs{
		groups: map[string]resource.SecurityGroupSpec{}, inputs: map[string]resource.InputSpec{}, channels: map[string]resource.ChannelSpec{},
		alarms: map[string]resource.AlarmSpec{}, rules: map[string]resource.RuleSpec{},
		dists: map[string]resource.DistributionSpec{}, presets: map[string]resource.PresetSpec{}, pipelines: map[string]resource.PipelineSpec{},
	}
	for _, p := range st.Presets {
		s.presets[p.Name] = p
	}
	for _, p := range st.Pipelines {
		s.pipelines[p.Name] = p
	}
	for _, d := range st.Distributions {
		s.dists[d.Name] = d
	}
	for _, a := range st.Alarms {
		s.alarms[a.Name] = a
	}
	for _, r := range st.Rules {
		s.rules[r.Name] = r
	}
	for _, g := range st.SecurityGroups {
		s.groups[g.Name] = g
	}
	for _, in := range st.Inputs {
		s.inputs[in.Name] = in
	}
	for _, ch := range st.Channels {
		s.channels[ch.Name] = ch
	}
	return s
}

func apply(ctx context.Context, m Manager, stack string, c Change, specs stackSpecs) error {
	if c.Kind == KindPreset || c.Kind == KindPipeline {
		return applyVOD(ctx, m, stack, c, specs)
	}
	var err error
	if c.Kind == KindDistribution {
		dm, ok := m.(DistributionManager)
		if !ok {
			return errors.New("this server does not run distributions")
		}
		switch c.Action {
		case ActionCreate:
			_, err = dm.CreateDistribution(ctx, stack, specs.dists[c.Name])
		case ActionUpdate:
			_, err = dm.UpdateDistribution(ctx, c.Name, stack, specs.dists[c.Name])
		case ActionDelete:
			err = dm.DeleteDistribution(ctx, c.Name)
		}
		return err
	}
	switch {
	case c.Kind == KindAlarm && c.Action == ActionCreate:
		_, err = m.CreateAlarm(ctx, stack, specs.alarms[c.Name])
	case c.Kind == KindAlarm && c.Action == ActionUpdate:
		_, err = m.UpdateAlarm(ctx, c.Name, stack, specs.alarms[c.Name])
	case c.Kind == KindAlarm && c.Action == ActionDelete:
		err = m.DeleteAlarm(ctx, c.Name)
	case c.Kind == KindRule && c.Action == ActionCreate:
		_, err = m.CreateRule(ctx, stack, specs.rules[c.Name])
	case c.Kind == KindRule && c.Action == ActionUpdate:
		_, err = m.UpdateRule(ctx, c.Name, stack, specs.rules[c.Name])
	case c.Kind == KindRule && c.Action == ActionDelete:
		err = m.DeleteRule(ctx, c.Name)
	case c.Kind == KindSecurityGroup && c.Action == ActionCreate:
		_, err = m.CreateSecurityGroup(ctx, stack, specs.groups[c.Name])
	case c.Kind == KindSecurityGroup && c.Action == ActionUpdate:
		_, err = m.UpdateSecurityGroup(ctx, c.Name, stack, specs.groups[c.Name])
	case c.Kind == KindSecurityGroup && c.Action == ActionDelete:
		err = m.DeleteSecurityGroup(ctx, c.Name)
	case c.Kind == KindInput && c.Action == ActionCreate:
		_, err = m.CreateInput(ctx, stack, specs.inputs[c.Name])
	case c.Kind == KindInput && c.Action == ActionUpdate:
		_, err = m.UpdateInput(ctx, c.Name, stack, specs.inputs[c.Name])
	case c.Kind == KindInput && c.Action == ActionDelete:
		err = m.DeleteInput(ctx, c.Name)
	case c.Kind == KindChannel && c.Action == ActionCreate:
		_, err = m.CreateChannel(ctx, stack, specs.channels[c.Name])
	case c.Kind == KindChannel && c.Action == ActionUpdate:
		_, err = m.UpdateChannel(ctx, c.Name, stack, specs.channels[c.Name])
	case c.Kind == KindChannel && c.Action == ActionDelete:
		err = deleteChannel(ctx, m, c.Name)
	}
	return err
}

// Destroy deletes the resources the stack names that belong to it,
// stopping running channels first, and returns what it did.
func Destroy(ctx context.Context, m Manager, st resource.Stack) (Plan, error) {
	cur, err := load(ctx, m)
	if err != nil {
		return Plan{}, err
	}
	plan := Plan{Stack: st.Name, Changes: []Change{}}
	if vm, ok := m.(VODManager); ok {
		if err := destroyVOD(ctx, vm, st, &plan); err != nil {
			return plan, err
		}
	}
	for _, spec := range st.Distributions {
		if d, ok := cur.dists[spec.Name]; ok && d.Stack == st.Name {
			plan.Changes = append(plan.Changes, Change{Action: ActionDelete, Kind: KindDistribution, Name: spec.Name})
		}
	}
	for _, spec := range st.Rules {
		if r, ok := cur.rules[spec.Name]; ok && r.Stack == st.Name {
			plan.Changes = append(plan.Changes, Change{Action: ActionDelete, Kind: KindRule, Name: spec.Name})
		}
	}
	for _, spec := range st.Alarms {
		if a, ok := cur.alarms[spec.Name]; ok && a.Stack == st.Name {
			plan.Changes = append(plan.Changes, Change{Action: ActionDelete, Kind: KindAlarm, Name: spec.Name})
		}
	}
	for _, spec := range st.Channels {
		if ch, ok := cur.channels[spec.Name]; ok && ch.Stack == st.Name {
			plan.Changes = append(plan.Changes, Change{Action: ActionDelete, Kind: KindChannel, Name: spec.Name})
		}
	}
	for _, spec := range st.Inputs {
		if in, ok := cur.inputs[spec.Name]; ok && in.Stack == st.Name {
			plan.Changes = append(plan.Changes, Change{Action: ActionDelete, Kind: KindInput, Name: spec.Name})
		}
	}
	for _, spec := range st.SecurityGroups {
		if g, ok := cur.groups[spec.Name]; ok && g.Stack == st.Name {
			plan.Changes = append(plan.Changes, Change{Action: ActionDelete, Kind: KindSecurityGroup, Name: spec.Name})
		}
	}
	for _, c := range plan.Changes {
		if err := apply(ctx, m, st.Name, c, stackSpecs{}); err != nil {
			return plan, fmt.Errorf("delete %s %s: %w", c.Kind, c.Name, err)
		}
	}
	plan.Applied = true
	return plan, nil
}

// deleteChannel deletes a channel and waits until it is gone, so that the
// inputs it used can be deleted next.
func deleteChannel(ctx context.Context, m Manager, name string) error {
	if _, err := m.DeleteChannel(ctx, name); err != nil {
		if isGone(err) {
			return nil
		}
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		if _, err := m.GetChannel(ctx, name); isGone(err) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("channel %s did not finish deleting: %w", name, ctx.Err())
		case <-tick.C:
		}
	}
}

package stack

import (
	"context"
	"fmt"

	"github.com/sluice-video/sluice/internal/kinds"
	"github.com/sluice-video/sluice/internal/resource"
)

// Apply converges the server whose kinds t holds to the stack and returns
// the plan it carried out, step by step in the order of t.Steps: what is
// created is created after what it names, and what is deleted is deleted
// after what named it changed (channels finish deleting, stopped first,
// before the inputs they used go).
func Apply(ctx context.Context, t kinds.Table, st resource.Stack) (Plan, error) {
	plan, err := MakePlan(ctx, t, st)
	if err != nil {
		return Plan{}, err
	}
	specs := specsOf(t, st)
	for _, step := range t.Steps() {
		k, _ := t.Kind(step.Kind)
		for _, c := range plan.Changes {
			if c.Kind != step.Kind || c.Action != step.Action {
				continue
			}
			if err := apply(ctx, k, st.Name, c, specs[c.Kind][c.Name]); err != nil {
				return plan, fmt.Errorf("%s %s %s: %w", c.Action, c.Kind, c.Name, err)
			}
		}
	}
	plan.Applied = true
	return plan, nil
}

// specsOf indexes a stack's specs by kind and name.
func specsOf(t kinds.Table, st resource.Stack) map[string]map[string]any {
	specs := map[string]map[string]any{}
	for _, k := range t.Kinds() {
		byName := map[string]any{}
		for _, it := range k.Declared(st) {
			byName[it.Name] = it.Spec
		}
		specs[k.Name] = byName
	}
	return specs
}

// apply carries out one change of kind k.
func apply(ctx context.Context, k kinds.Kind, stack string, c Change, spec any) error {
	var err error
	switch c.Action {
	case ActionCreate:
		_, err = k.Create(ctx, stack, spec)
	case ActionUpdate:
		_, err = k.Update(ctx, c.Name, stack, spec)
	case ActionDelete:
		err = k.Remove(ctx, c.Name)
	}
	return err
}

// Destroy deletes the resources the stack names that belong to it, in the
// order apply deletes (running channels stopped first), and returns what
// it did. Kinds the server does not run are left alone.
func Destroy(ctx context.Context, t kinds.Table, st resource.Stack) (Plan, error) {
	cur, err := load(ctx, t)
	if err != nil {
		return Plan{}, err
	}
	plan := Plan{Stack: st.Name, Changes: []Change{}}
	for _, kind := range t.DeleteOrder() {
		k, _ := t.Kind(kind)
		for _, want := range k.Declared(st) {
			if have, ok := cur[kind][want.Name]; ok && have.Stack == st.Name {
				plan.Changes = append(plan.Changes, Change{Action: ActionDelete, Kind: kind, Name: want.Name})
			}
		}
	}
	for _, c := range plan.Changes {
		k, _ := t.Kind(c.Kind)
		if err := k.Remove(ctx, c.Name); err != nil {
			return plan, fmt.Errorf("delete %s %s: %w", c.Kind, c.Name, err)
		}
	}
	plan.Applied = true
	return plan, nil
}

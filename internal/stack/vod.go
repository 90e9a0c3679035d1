package stack

import (
	"context"
	"errors"

	"github.com/sluice-video/sluice/internal/resource"
)

// VODManager is what the stack engine needs for on-demand presets and
// pipelines. A Manager without it can apply only stacks that declare none.
type VODManager interface {
	OwnedPresets(ctx context.Context) ([]resource.Owned[resource.PresetSpec], error)
	CreatePreset(ctx context.Context, stack string, spec resource.PresetSpec) (resource.PresetSpec, error)
	UpdatePreset(ctx context.Context, ref, stack string, spec resource.PresetSpec) (resource.PresetSpec, error)
	DeletePreset(ctx context.Context, name string) error
	OwnedPipelines(ctx context.Context) ([]resource.Owned[resource.PipelineSpec], error)
	CreatePipeline(ctx context.Context, stack string, spec resource.PipelineSpec) (resource.PipelineSpec, error)
	UpdatePipeline(ctx context.Context, ref, stack string, spec resource.PipelineSpec) (resource.PipelineSpec, error)
	DeletePipeline(ctx context.Context, name string) error
}

// Resource kinds of on-demand transcoding.
const (
	KindPreset   = "preset"
	KindPipeline = "pipeline"
)

var errNoVOD = errors.New("this server does not run on-demand transcoding")

// planVOD adds the changes of the stack's presets and pipelines to plan:
// what to create, update, and delete because the stack no longer declares it.
func planVOD(ctx context.Context, m Manager, st resource.Stack, plan *Plan, conflicts *[]string) error {
	vm, ok := m.(VODManager)
	if !ok {
		if len(st.Presets)+len(st.Pipelines) > 0 {
			return errNoVOD
		}
		return nil
	}
	presets, err := vm.OwnedPresets(ctx)
	if err != nil {
		return err
	}
	pipelines, err := vm.OwnedPipelines(ctx)
	if err != nil {
		return err
	}
	planKind(plan, conflicts, KindPreset, st.Name, presets, st.Presets, func(p resource.PresetSpec) string { return p.Name })
	planKind(plan, conflicts, KindPipeline, st.Name, pipelines, st.Pipelines, func(p resource.PipelineSpec) string { return p.Name })
	return nil
}

// planKind plans one on-demand kind: declared specs, then deletes.
func planKind[T any](plan *Plan, conflicts *[]string, kind, stack string, have []resource.Owned[T], want []T, name func(T) string) {
	cur := map[string]resource.Owned[T]{}
	for _, h := range have {
		cur[name(h.Spec)] = h
	}
	declared := declareKind(plan, conflicts, kind, kind, stack, cur, want, name)
	pruneKind(plan, kind, stack, cur, declared)
}

// applyVOD carries out one preset or pipeline change.
func applyVOD(ctx context.Context, m Manager, stack string, c Change, specs stackSpecs) error {
	vm, ok := m.(VODManager)
	if !ok {
		return errNoVOD
	}
	var err error
	switch c.Kind + " " + c.Action {
	case KindPreset + " " + ActionCreate:
		_, err = vm.CreatePreset(ctx, stack, specs.presets[c.Name])
	case KindPreset + " " + ActionUpdate:
		_, err = vm.UpdatePreset(ctx, c.Name, stack, specs.presets[c.Name])
	case KindPreset + " " + ActionDelete:
		err = vm.DeletePreset(ctx, c.Name)
	case KindPipeline + " " + ActionCreate:
		_, err = vm.CreatePipeline(ctx, stack, specs.pipelines[c.Name])
	case KindPipeline + " " + ActionUpdate:
		_, err = vm.UpdatePipeline(ctx, c.Name, stack, specs.pipelines[c.Name])
	case KindPipeline + " " + ActionDelete:
		err = vm.DeletePipeline(ctx, c.Name)
	}
	return err
}

// destroyVOD deletes the stack's pipelines, then its presets.
func destroyVOD(ctx context.Context, vm VODManager, st resource.Stack, plan *Plan) error {
	pipelines, err := vm.OwnedPipelines(ctx)
	if err != nil {
		return err
	}
	presets, err := vm.OwnedPresets(ctx)
	if err != nil {
		return err
	}
	for _, spec := range st.Pipelines {
		for _, h := range pipelines {
			if h.Spec.Name == spec.Name && h.Stack == st.Name {
				if err := vm.DeletePipeline(ctx, spec.Name); err != nil {
					return err
				}
				plan.Changes = append(plan.Changes, Change{Action: ActionDelete, Kind: KindPipeline, Name: spec.Name})
			}
		}
	}
	for _, spec := range st.Presets {
		for _, h := range presets {
			if h.Spec.Name == spec.Name && h.Stack == st.Name {
				if err := vm.DeletePreset(ctx, spec.Name); err != nil {
					return err
				}
				plan.Changes = append(plan.Changes, Change{Action: ActionDelete, Kind: KindPreset, Name: spec.Name})
			}
		}
	}
	return nil
}

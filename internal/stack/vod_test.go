package stack

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/sluice-video/sluice/internal/controlplane"
	"github.com/sluice-video/sluice/internal/kinds"
	"github.com/sluice-video/sluice/internal/queue"
	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/vod"
)

// withVOD is a control plane that also runs on-demand transcoding.
type withVOD struct {
	controlPlane
	*vod.Service
}

func (w withVOD) table() kinds.Table {
	return controlplane.Plane{Channels: w.Manager, Automation: w.controlPlane.Service, VOD: w.Service}.Kinds()
}

func TestStackPresetsAndPipelinesConverge(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	q, err := queue.Open(ctx, filepath.Join(dir, "queue.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	svc, err := vod.New(ctx, vod.Config{Queue: q, DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	m := withVOD{newManager(t), svc}
	stk := resource.Stack{Name: "media",
		Presets:   []resource.PresetSpec{{Name: "small", Kind: vod.KindMP4, Rungs: []resource.PresetRung{{Name: "180p", Width: 320, Height: 180, Bitrate: 200000}}}},
		Pipelines: []resource.PipelineSpec{{Name: "uploads", Input: "in", Output: "out", Presets: []string{"small"}}},
	}
	plan, err := Apply(ctx, m.table(), stk)
	if err != nil {
		t.Fatal(err)
	}
	if got := summary(plan); !slices.Equal(got, []string{"create preset small", "create pipeline uploads"}) {
		t.Fatalf("first apply: %v", got)
	}
	stk.Pipelines[0].Watch = true
	if plan, err = Apply(ctx, m.table(), stk); err != nil || !slices.Contains(summary(plan), "update pipeline uploads (watch)") {
		t.Fatalf("second apply: %v %v", summary(plan), err)
	}
	if p, err := svc.Pipeline(ctx, "uploads"); err != nil || !p.Watch {
		t.Fatalf("pipeline after update: %+v %v", p, err)
	}
	// A preset the API created belongs to no stack: the stack may not take it.
	if _, err := svc.CreatePreset(ctx, "", vod.Preset{Name: "mine", Kind: vod.KindAudio}); err != nil {
		t.Fatal(err)
	}
	clash := stk
	clash.Presets = append(slices.Clone(stk.Presets), resource.PresetSpec{Name: "mine", Kind: vod.KindAudio})
	if _, err := MakePlan(ctx, m.table(), clash); err == nil {
		t.Fatal("the stack took over a preset it did not create")
	}
	stk.Pipelines, stk.Presets = nil, nil
	if plan, err = Apply(ctx, m.table(), stk); err != nil || !slices.Equal(summary(plan), []string{"delete pipeline uploads", "delete preset small"}) {
		t.Fatalf("emptied stack: %v %v", summary(plan), err)
	}
	// A server without on-demand transcoding refuses such stacks.
	stk.Presets = []resource.PresetSpec{{Name: "x", Kind: vod.KindAudio}}
	if _, err := MakePlan(ctx, newManager(t).table(), stk); err == nil {
		t.Fatal("a plan with presets passed on a server without on-demand transcoding")
	}
}

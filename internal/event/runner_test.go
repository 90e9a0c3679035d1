package event

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/sluice-video/sluice/internal/resource"
)

// jobLog records the jobs a SUBMIT_JOB action submits.
type jobLog struct {
	got []string
	err error
}

func (j *jobLog) SubmitJob(_ context.Context, pipeline, input string, presets []string) (string, error) {
	j.got = append(j.got, pipeline+" "+input+" "+strings.Join(presets, ","))
	return "job-1", j.err
}

func TestSubmitJobAction(t *testing.T) {
	ctx := context.Background()
	jobs := &jobLog{}
	a := &Actions{Jobs: jobs}
	harvested := resource.Event{Type: "harvest.completed", Detail: map[string]string{"input": "clips/goal.mp4"}}
	if err := a.Run(ctx, resource.Action{Type: resource.ActionSubmitJob, Pipeline: "uploads"}, harvested); err != nil {
		t.Fatal(err)
	}
	if err := a.Run(ctx, resource.Action{Type: resource.ActionSubmitJob, Pipeline: "uploads", Input: "intro.mp4", Presets: []string{"system-mp4"}}, harvested); err != nil {
		t.Fatal(err)
	}
	keyed := resource.Event{Type: "object.created", Detail: map[string]string{"key": "in/a.mov"}}
	if err := a.Run(ctx, resource.Action{Type: resource.ActionSubmitJob, Pipeline: "uploads"}, keyed); err != nil {
		t.Fatal(err)
	}
	want := []string{"uploads clips/goal.mp4 ", "uploads intro.mp4 system-mp4", "uploads in/a.mov "}
	if strings.Join(jobs.got, "|") != strings.Join(want, "|") {
		t.Errorf("submitted %q, want %q", jobs.got, want)
	}

	if err := a.Run(ctx, resource.Action{Type: resource.ActionSubmitJob, Pipeline: "uploads"}, resource.Event{Type: "channel.created"}); err == nil || !strings.Contains(err.Error(), "names an input") {
		t.Errorf("an action without an input: %v", err)
	}
	jobs.err = errors.New(`pipeline "uploads" does not exist`)
	if err := a.Run(ctx, resource.Action{Type: resource.ActionSubmitJob, Pipeline: "uploads", Input: "x.mp4"}, harvested); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("a refused job: %v", err)
	}
	if err := (&Actions{}).Run(ctx, resource.Action{Type: resource.ActionSubmitJob, Pipeline: "uploads", Input: "x.mp4"}, harvested); err == nil || !strings.Contains(err.Error(), "no on-demand jobs") {
		t.Errorf("a server without jobs: %v", err)
	}
}

func TestSubmitJobActionNeedsAPipeline(t *testing.T) {
	err := (&resource.Action{Type: resource.ActionSubmitJob}).Validate()
	if err == nil || !strings.Contains(err.Error(), "pipeline") {
		t.Errorf("a SUBMIT_JOB without a pipeline: %v", err)
	}
	if err := (&resource.Action{Type: resource.ActionSubmitJob, Pipeline: "uploads"}).Validate(); err != nil {
		t.Errorf("a valid SUBMIT_JOB: %v", err)
	}
}

package server

import (
	"context"
	"errors"
	"sync/atomic"

	"github.com/sluice-video/sluice/internal/vod"
)

// jobAction submits the on-demand jobs of rules' SUBMIT_JOB actions. Rules
// run before the job service is built, so it is set once it exists.
type jobAction struct {
	svc atomic.Pointer[vod.Service]
}

func (j *jobAction) SubmitJob(ctx context.Context, pipeline, input string, presets []string) (string, error) {
	svc := j.svc.Load()
	if svc == nil {
		return "", errors.New("on-demand jobs are not running on this server")
	}
	job, err := svc.Submit(ctx, vod.SubmitRequest{Pipeline: pipeline, Input: input, Presets: presets})
	return job.ID, err
}

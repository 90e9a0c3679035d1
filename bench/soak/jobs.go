package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/sluice-video/sluice/internal/vod"
)

// jobFeed drops a file into a watched on-demand pipeline at a steady pace,
// as an upload folder receives them, and afterwards accounts for every
// file: one job each, run to an end.
type jobFeed struct {
	node   *node
	source string
	drop   string

	mu      sync.Mutex
	dropped []string
}

// pipelineName is the soak's on-demand pipeline.
const pipelineName = "soak-uploads"

// create makes the watched pipeline.
func (f *jobFeed) create(ctx context.Context, media string) error {
	f.drop = filepath.Join(media, "drop")
	p := vod.Pipeline{Name: pipelineName, Input: f.drop, Watch: true, Suffixes: []string{".mp4"},
		Output: filepath.Join(media, "published"), Presets: []string{"test-mp4"}}
	var out vod.Pipeline
	if err := f.node.server().PostJSON(ctx, "/api/v1/pipelines", p, &out); err != nil {
		return fmt.Errorf("creating the on-demand pipeline: %w", err)
	}
	return os.MkdirAll(f.drop, 0o750)
}

// run drops one file every interval until ctx ends.
func (f *jobFeed) run(ctx context.Context, every time.Duration) {
	for i := 1; ctx.Err() == nil; i++ {
		name := fmt.Sprintf("clip-%04d.mp4", i)
		if err := f.put(name); err == nil {
			f.mu.Lock()
			f.dropped = append(f.dropped, name)
			f.mu.Unlock()
		}
		sleep(ctx, every)
	}
}

// put lands a copy of the source in the drop folder as an upload does:
// written beside it, then renamed into place.
func (f *jobFeed) put(name string) error {
	src, err := os.Open(f.source)
	if err != nil {
		return err
	}
	defer src.Close()
	tmp := filepath.Join(f.drop, "."+name+".part")
	dst, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		_ = dst.Close()
		return err
	}
	if err := dst.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(f.drop, name))
}

// jobAccount is what became of the dropped files.
type jobAccount struct {
	Dropped  int `json:"dropped"`
	Complete int `json:"complete"`
	Errored  int `json:"errored"`
	// Lost are files without a job, or whose job never ended.
	Lost []string `json:"lost,omitempty"`
	// Twice are files that got more than one job.
	Twice []string `json:"twice,omitempty"`
	// Retried counts jobs that needed more than one attempt (a fault
	// ended an attempt), FinishSeconds the time from each file's job
	// to its end.
	Retried       int       `json:"retried"`
	FinishSeconds []float64 `json:"finishSeconds"`
	Errors        []string  `json:"errors,omitempty"`
}

// settle waits up to timeout for every dropped file to have a job that
// ended, then accounts for them.
func (f *jobFeed) settle(ctx context.Context, timeout time.Duration) (jobAccount, error) {
	f.mu.Lock()
	dropped := append([]string(nil), f.dropped...)
	f.mu.Unlock()
	deadline := time.Now().Add(timeout)
	var byInput map[string][]vod.Job
	for {
		var jobs []vod.Job
		if err := f.node.server().GetJSON(ctx, "/api/v1/jobs?limit=1000", &jobs); err == nil {
			byInput = map[string][]vod.Job{}
			for _, j := range jobs {
				if j.Pipeline == pipelineName {
					byInput[j.Input] = append(byInput[j.Input], j)
				}
			}
			if allEnded(dropped, byInput) {
				break
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		sleep(ctx, 2*time.Second)
	}
	if byInput == nil {
		return jobAccount{}, fmt.Errorf("the job list never answered")
	}
	acc := jobAccount{Dropped: len(dropped)}
	for _, name := range dropped {
		js := byInput[name]
		switch {
		case len(js) == 0:
			acc.Lost = append(acc.Lost, name+" (no job)")
			continue
		case len(js) > 1:
			acc.Twice = append(acc.Twice, fmt.Sprintf("%s (%d jobs)", name, len(js)))
		}
		j := js[0]
		if j.Attempts > 1 {
			acc.Retried++
		}
		switch j.State {
		case vod.StateComplete:
			acc.Complete++
			acc.FinishSeconds = append(acc.FinishSeconds, j.Finished.Sub(j.Created).Seconds())
		case vod.StateError:
			acc.Errored++
			if j.Error == "" {
				acc.Lost = append(acc.Lost, name+" (ERROR without a reason)")
			}
			acc.Errors = append(acc.Errors, name+": "+j.Error)
		default:
			acc.Lost = append(acc.Lost, fmt.Sprintf("%s (job %s still %s)", name, j.ID, j.State))
		}
	}
	sort.Float64s(acc.FinishSeconds)
	return acc, nil
}

func allEnded(dropped []string, byInput map[string][]vod.Job) bool {
	for _, name := range dropped {
		js := byInput[name]
		if len(js) == 0 {
			return false
		}
		for _, j := range js {
			if !j.Terminal() {
				return false
			}
		}
	}
	return true
}

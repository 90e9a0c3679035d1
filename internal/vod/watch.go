package vod

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/sluice-video/sluice/internal/resource"
)

// watch polls the input of every pipeline that watches it and submits one
// job per new object. The object's key and ETag (size and modification
// time for folders) are recorded with the job in the same database, so an
// object submits exactly once, across restarts and nodes; an object that
// is replaced with new content is a new object.
func (s *Service) watch(ctx context.Context) {
	t := time.NewTicker(s.cfg.PollInterval)
	defer t.Stop()
	for {
		s.requeueLost(ctx)
		s.scanAll(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (s *Service) scanAll(ctx context.Context) {
	pipelines, err := s.Pipelines(ctx)
	if err != nil {
		return
	}
	for _, p := range pipelines {
		if p.Watch {
			if err := s.scan(ctx, p); err != nil && ctx.Err() == nil {
				s.logger.Warn("could not look for new files in the pipeline's input", "pipeline", p.Name, "error", err)
			}
		}
	}
}

// settle is how long an object must stay unchanged before it is taken: a
// file still being copied into a folder is not submitted half-written.
const settle = 2 * time.Second

func (s *Service) scan(ctx context.Context, p Pipeline) error {
	in, err := s.storageFor(p.Input)
	if err != nil {
		return err
	}
	objs, err := in.List(ctx, "")
	if err != nil {
		return err
	}
	claims, err := s.claims(ctx, p.Name)
	if err != nil {
		return err
	}
	for _, o := range objs {
		if !matchesSuffix(o.Key, p.Suffixes) || s.cfg.Now().Sub(o.Mod) < settle {
			continue
		}
		if c, ok := claims[claimKey{o.Key, o.ETag}]; ok {
			// Claimed by a process that died before it submitted: submit
			// under the claimed id, which the job table keeps unique.
			if !c.submitted && s.cfg.Now().Sub(c.at) > claimGrace {
				s.resubmitClaim(ctx, p, o.Key, o.ETag, c.jobID)
			}
			continue
		}
		// Claim the object first: the primary key lets one claim win
		// when several nodes watch the same input.
		id := resource.NewID("job")
		_, err = s.db.exec(ctx, "INSERT INTO vod_triggers (pipeline, object_key, etag, job_id, created_at) VALUES (?, ?, ?, ?, ?)", p.Name, o.Key, o.ETag, id, stamp(s.cfg.Now()))
		if isDuplicate(err) {
			continue
		}
		if err != nil {
			return err
		}
		j, err := s.submitWithID(ctx, SubmitRequest{Pipeline: p.Name, Input: o.Key}, o.ETag, id)
		if err != nil {
			s.logger.Warn("a new file could not be submitted", "pipeline", p.Name, "key", o.Key, "error", err)
			continue
		}
		s.logger.Info(fmt.Sprintf("new file %s in pipeline %s: job %s submitted", o.Key, p.Name, j.ID), "pipeline", p.Name, "key", o.Key, "job", j.ID)
	}
	return nil
}

// claimKey names one version of an object in a pipeline's input.
type claimKey struct{ key, etag string }

// claim is an object version taken for a job, and whether the job exists.
type claim struct {
	jobID     string
	at        time.Time
	submitted bool
}

// claims reads every object version a pipeline has taken, in one query
// per scan rather than one per object listed.
func (s *Service) claims(ctx context.Context, pipeline string) (map[claimKey]claim, error) {
	rows, err := s.cfg.Queue.SQL.QueryContext(ctx, s.cfg.Queue.Rebind(
		"SELECT t.object_key, t.etag, t.job_id, t.created_at, (SELECT COUNT(*) FROM vod_jobs j WHERE j.id = t.job_id) FROM vod_triggers t WHERE t.pipeline = ?"),
		pipeline)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	out := map[claimKey]claim{}
	for rows.Next() {
		var k claimKey
		var c claim
		var at string
		var jobs int
		if err := rows.Scan(&k.key, &k.etag, &c.jobID, &at, &jobs); err != nil {
			return nil, err
		}
		c.at, c.submitted = unstamp(at), jobs > 0
		out[k] = c
	}
	return out, rows.Err()
}

// claimGrace is how long a claim may stay without its job before it is
// taken for abandoned.
const claimGrace = 30 * time.Second

func (s *Service) resubmitClaim(ctx context.Context, p Pipeline, key, etag, id string) {
	j, err := s.submitWithID(ctx, SubmitRequest{Pipeline: p.Name, Input: key}, etag, id)
	if err != nil {
		if !isDuplicate(err) {
			s.logger.Warn("a claimed file could not be submitted", "pipeline", p.Name, "key", key, "error", err)
		}
		return
	}
	s.logger.Info(fmt.Sprintf("file %s in pipeline %s was claimed but never submitted: job %s submitted", key, p.Name, j.ID), "pipeline", p.Name, "key", key, "job", j.ID)
}

func matchesSuffix(key string, suffixes []string) bool {
	if len(suffixes) == 0 {
		return true
	}
	lower := strings.ToLower(key)
	for _, s := range suffixes {
		if strings.HasSuffix(lower, strings.ToLower(s)) {
			return true
		}
	}
	return false
}

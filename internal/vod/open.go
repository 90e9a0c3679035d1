package vod

import (
	"context"
	"path/filepath"

	"github.com/sluice-video/sluice/internal/queue"
)

// QueueDSN is the job queue of a node: dsn when set (a postgres:// URL
// shared with other nodes, or an SQLite file), else the embedded SQLite
// queue in the data directory.
func QueueDSN(dsn, dataDir string) string {
	if dsn != "" {
		return dsn
	}
	return filepath.Join(dataDir, "queue.db")
}

// Open opens the job queue at dsn and builds the service on it: how
// `sluice worker` makes its own, and `sluice serve` without PostgreSQL.
// The service owns the queue and closes it at Close; Start runs it.
func Open(ctx context.Context, dsn string, cfg Config) (*Service, error) {
	q, err := queue.Open(ctx, dsn)
	if err != nil {
		return nil, err
	}
	return OnQueue(ctx, q, cfg)
}

// OnQueue builds the service on a queue database made for it (by
// queue.OnPool on the state store's PostgreSQL pool, say); the service
// owns it and closes it at Close, or here when it cannot be built.
func OnQueue(ctx context.Context, q *queue.DB, cfg Config) (*Service, error) {
	if cfg.Workers < 0 {
		cfg.Workers = 0
	}
	cfg.Queue = q
	s, err := New(ctx, cfg)
	if err != nil {
		q.Close()
		return nil, err
	}
	s.ownQueue = q
	return s, nil
}

// SubmitJob submits a job for an event rule's or an alarm's SUBMIT_JOB
// action (event.Jobs) and returns its ID.
func (s *Service) SubmitJob(ctx context.Context, pipeline, input string, presets []string) (string, error) {
	job, err := s.Submit(ctx, SubmitRequest{Pipeline: pipeline, Input: input, Presets: presets})
	return job.ID, err
}

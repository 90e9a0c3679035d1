package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/sluice-video/sluice/internal/resource"
)

// SaveHarvestJob inserts or replaces a harvest job.
func (s *Store) SaveHarvestJob(ctx context.Context, j resource.HarvestJob) error {
	body, err := json.Marshal(j)
	if err != nil {
		return err
	}
	return s.again(ctx, func(ctx context.Context) error {
		_, err := s.db.ExecContext(ctx, s.rebind(`INSERT INTO harvest_jobs (id, state, job, created_at, updated_at, node) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT(id) DO UPDATE SET state = excluded.state, job = excluded.job, updated_at = excluded.updated_at, node = excluded.node`),
			j.ID, string(j.State), string(body), formatTime(j.CreatedAt), formatTime(j.UpdatedAt), j.Node)
		return err
	})
}

// GetHarvestJob returns a harvest job by ID.
func (s *Store) GetHarvestJob(ctx context.Context, id string) (resource.HarvestJob, error) {
	var body string
	err := s.again(ctx, func(ctx context.Context) error {
		err := s.db.QueryRowContext(ctx, s.rebind(`SELECT job FROM harvest_jobs WHERE id = ?`), id).Scan(&body)
		return notFoundIfNoRows(err, "harvest job", id)
	})
	if err != nil {
		return resource.HarvestJob{}, err
	}
	return decodeHarvestJob(id, body)
}

// ListHarvestJobs returns every harvest job, newest first.
func (s *Store) ListHarvestJobs(ctx context.Context) ([]resource.HarvestJob, error) {
	var out []resource.HarvestJob
	err := s.query(ctx, func() { out = []resource.HarvestJob{} }, func(sc scanner) error {
		var id, body string
		if err := sc.Scan(&id, &body); err != nil {
			return err
		}
		j, err := decodeHarvestJob(id, body)
		out = append(out, j)
		return err
	}, `SELECT id, job FROM harvest_jobs ORDER BY created_at DESC, id`)
	return out, err
}

func decodeHarvestJob(id, body string) (resource.HarvestJob, error) {
	var j resource.HarvestJob
	if err := json.Unmarshal([]byte(body), &j); err != nil {
		return j, fmt.Errorf("harvest job %s: stored job is unreadable: %w", id, err)
	}
	return j, nil
}

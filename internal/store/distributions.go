package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/sluice-video/sluice/internal/resource"
)

// CreateDistribution stores a new distribution; a taken name is a conflict.
func (s *Store) CreateDistribution(ctx context.Context, r resource.Distribution) error {
	spec, err := json.Marshal(r.DistributionSpec)
	if err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO distributions (id, name, stack, spec, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)`,
		r.ID, r.Name, r.Stack, string(spec), formatTime(r.CreatedAt), formatTime(r.UpdatedAt))
	if isUniqueViolation(err) {
		return resource.Conflict("a distribution named %q already exists", r.Name)
	}
	return err
}

// UpdateDistribution replaces a distribution's spec and stack.
func (s *Store) UpdateDistribution(ctx context.Context, r resource.Distribution) error {
	spec, err := json.Marshal(r.DistributionSpec)
	if err != nil {
		return err
	}
	res, err := s.db.ExecContext(ctx, `UPDATE distributions SET name = ?, stack = ?, spec = ?, updated_at = ? WHERE id = ?`,
		r.Name, r.Stack, string(spec), formatTime(r.UpdatedAt), r.ID)
	if isUniqueViolation(err) {
		return resource.Conflict("a distribution named %q already exists", r.Name)
	}
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("distribution", r.ID)
	}
	return nil
}

// DeleteDistribution removes a distribution.
func (s *Store) DeleteDistribution(ctx context.Context, id string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM distributions WHERE id = ?`, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("distribution", id)
	}
	return nil
}

// GetDistribution returns a distribution by id or name.
func (s *Store) GetDistribution(ctx context.Context, ref string) (resource.Distribution, error) {
	row := s.db.QueryRowContext(ctx, `SELECT id, stack, spec, created_at, updated_at FROM distributions WHERE id = ? OR name = ?`, ref, ref)
	r, err := scanDistribution(row)
	return r, notFoundIfNoRows(err, "distribution", ref)
}

// ListDistributions returns every distribution, by name.
func (s *Store) ListDistributions(ctx context.Context) ([]resource.Distribution, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, stack, spec, created_at, updated_at FROM distributions ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	out := []resource.Distribution{}
	for rows.Next() {
		r, err := scanDistribution(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func scanDistribution(sc scanner) (resource.Distribution, error) {
	var r resource.Distribution
	var spec, created, updated string
	if err := sc.Scan(&r.ID, &r.Stack, &spec, &created, &updated); err != nil {
		return r, err
	}
	if err := json.Unmarshal([]byte(spec), &r.DistributionSpec); err != nil {
		return r, fmt.Errorf("distribution %s: stored spec is unreadable: %w", r.ID, err)
	}
	r.CreatedAt, r.UpdatedAt = parseTime(created), parseTime(updated)
	return r, nil
}

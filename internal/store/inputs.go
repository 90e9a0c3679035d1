package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/sluice-video/sluice/internal/resource"
)

func notFound(kind, ref string) error { return resource.NotFound(kind, ref) }

// CreateInput stores a new input; a taken name is a conflict.
func (s *Store) CreateInput(ctx context.Context, in resource.Input) error {
	spec, err := json.Marshal(in.InputSpec)
	if err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx,
		`INSERT INTO inputs (id, name, stack, spec, stream_key, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		in.ID, in.Name, in.Stack, string(spec), in.StreamKey, formatTime(in.CreatedAt), formatTime(in.UpdatedAt))
	if isUniqueViolation(err) {
		return resource.Conflict("an input named %q already exists", in.Name)
	}
	return err
}

// UpdateInput replaces an input's spec and stack.
func (s *Store) UpdateInput(ctx context.Context, in resource.Input) error {
	spec, err := json.Marshal(in.InputSpec)
	if err != nil {
		return err
	}
	res, err := s.db.ExecContext(ctx,
		`UPDATE inputs SET name = ?, stack = ?, spec = ?, stream_key = ?, updated_at = ? WHERE id = ?`,
		in.Name, in.Stack, string(spec), in.StreamKey, formatTime(in.UpdatedAt), in.ID)
	if isUniqueViolation(err) {
		return resource.Conflict("an input named %q already exists", in.Name)
	}
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("input", in.ID)
	}
	return nil
}

// DeleteInput removes an input.
func (s *Store) DeleteInput(ctx context.Context, id string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM inputs WHERE id = ?`, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("input", id)
	}
	return nil
}

// GetInput returns an input by id or name.
func (s *Store) GetInput(ctx context.Context, ref string) (resource.Input, error) {
	row := s.db.QueryRowContext(ctx,
		`SELECT id, stack, spec, stream_key, created_at, updated_at FROM inputs WHERE id = ? OR name = ?`, ref, ref)
	in, err := scanInput(row)
	return in, notFoundIfNoRows(err, "input", ref)
}

// ListInputs returns every input, by name.
func (s *Store) ListInputs(ctx context.Context) ([]resource.Input, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, stack, spec, stream_key, created_at, updated_at FROM inputs ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	out := []resource.Input{}
	for rows.Next() {
		in, err := scanInput(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, in)
	}
	return out, rows.Err()
}

type scanner interface{ Scan(dest ...any) error }

func scanInput(sc scanner) (resource.Input, error) {
	var in resource.Input
	var spec, created, updated string
	if err := sc.Scan(&in.ID, &in.Stack, &spec, &in.StreamKey, &created, &updated); err != nil {
		return in, err
	}
	if err := json.Unmarshal([]byte(spec), &in.InputSpec); err != nil {
		return in, fmt.Errorf("input %s: stored spec is unreadable: %w", in.ID, err)
	}
	in.CreatedAt, in.UpdatedAt = parseTime(created), parseTime(updated)
	in.State = resource.InputDetached
	in.AttachedChannels = []string{}
	return in, nil
}

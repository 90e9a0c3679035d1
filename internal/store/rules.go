package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/sluice-video/sluice/internal/resource"
)

// CreateRule stores a new event rule; a taken name is a conflict.
func (s *Store) CreateRule(ctx context.Context, r resource.Rule) error {
	spec, err := json.Marshal(r.RuleSpec)
	if err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO rules (id, name, stack, spec, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)`,
		r.ID, r.Name, r.Stack, string(spec), formatTime(r.CreatedAt), formatTime(r.UpdatedAt))
	if isUniqueViolation(err) {
		return resource.Conflict("a rule named %q already exists", r.Name)
	}
	return err
}

// UpdateRule replaces a rule's spec and stack.
func (s *Store) UpdateRule(ctx context.Context, r resource.Rule) error {
	spec, err := json.Marshal(r.RuleSpec)
	if err != nil {
		return err
	}
	res, err := s.db.ExecContext(ctx, `UPDATE rules SET name = ?, stack = ?, spec = ?, updated_at = ? WHERE id = ?`,
		r.Name, r.Stack, string(spec), formatTime(r.UpdatedAt), r.ID)
	if isUniqueViolation(err) {
		return resource.Conflict("a rule named %q already exists", r.Name)
	}
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("rule", r.ID)
	}
	return nil
}

// DeleteRule removes a rule.
func (s *Store) DeleteRule(ctx context.Context, id string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM rules WHERE id = ?`, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("rule", id)
	}
	return nil
}

// GetRule returns a rule by id or name.
func (s *Store) GetRule(ctx context.Context, ref string) (resource.Rule, error) {
	row := s.db.QueryRowContext(ctx, `SELECT id, stack, spec, created_at, updated_at FROM rules WHERE id = ? OR name = ?`, ref, ref)
	r, err := scanRule(row)
	return r, notFoundIfNoRows(err, "rule", ref)
}

// ListRules returns every rule, by name.
func (s *Store) ListRules(ctx context.Context) ([]resource.Rule, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, stack, spec, created_at, updated_at FROM rules ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	out := []resource.Rule{}
	for rows.Next() {
		r, err := scanRule(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func scanRule(sc scanner) (resource.Rule, error) {
	var r resource.Rule
	var spec, created, updated string
	if err := sc.Scan(&r.ID, &r.Stack, &spec, &created, &updated); err != nil {
		return r, err
	}
	if err := json.Unmarshal([]byte(spec), &r.RuleSpec); err != nil {
		return r, fmt.Errorf("rule %s: stored spec is unreadable: %w", r.ID, err)
	}
	r.CreatedAt, r.UpdatedAt = parseTime(created), parseTime(updated)
	return r, nil
}

package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/sluice-video/sluice/internal/resource"
)

// CreateSecurityGroup stores a new input security group; a taken name is a conflict.
func (s *Store) CreateSecurityGroup(ctx context.Context, g resource.SecurityGroup) error {
	spec, err := json.Marshal(g.SecurityGroupSpec)
	if err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx,
		`INSERT INTO security_groups (id, name, stack, spec, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)`,
		g.ID, g.Name, g.Stack, string(spec), formatTime(g.CreatedAt), formatTime(g.UpdatedAt))
	if isUniqueViolation(err) {
		return resource.Conflict("a security group named %q already exists", g.Name)
	}
	return err
}

// UpdateSecurityGroup replaces a group's spec and stack.
func (s *Store) UpdateSecurityGroup(ctx context.Context, g resource.SecurityGroup) error {
	spec, err := json.Marshal(g.SecurityGroupSpec)
	if err != nil {
		return err
	}
	res, err := s.db.ExecContext(ctx, `UPDATE security_groups SET name = ?, stack = ?, spec = ?, updated_at = ? WHERE id = ?`,
		g.Name, g.Stack, string(spec), formatTime(g.UpdatedAt), g.ID)
	if isUniqueViolation(err) {
		return resource.Conflict("a security group named %q already exists", g.Name)
	}
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("security group", g.ID)
	}
	return nil
}

// DeleteSecurityGroup removes a group.
func (s *Store) DeleteSecurityGroup(ctx context.Context, id string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM security_groups WHERE id = ?`, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("security group", id)
	}
	return nil
}

// GetSecurityGroup returns a group by id or name.
func (s *Store) GetSecurityGroup(ctx context.Context, ref string) (resource.SecurityGroup, error) {
	row := s.db.QueryRowContext(ctx, `SELECT id, stack, spec, created_at, updated_at FROM security_groups WHERE id = ? OR name = ?`, ref, ref)
	g, err := scanGroup(row)
	return g, notFoundIfNoRows(err, "security group", ref)
}

// ListSecurityGroups returns every group, by name.
func (s *Store) ListSecurityGroups(ctx context.Context) ([]resource.SecurityGroup, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, stack, spec, created_at, updated_at FROM security_groups ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	out := []resource.SecurityGroup{}
	for rows.Next() {
		g, err := scanGroup(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

func scanGroup(sc scanner) (resource.SecurityGroup, error) {
	var g resource.SecurityGroup
	var spec, created, updated string
	if err := sc.Scan(&g.ID, &g.Stack, &spec, &created, &updated); err != nil {
		return g, err
	}
	if err := json.Unmarshal([]byte(spec), &g.SecurityGroupSpec); err != nil {
		return g, fmt.Errorf("security group %s: stored spec is unreadable: %w", g.ID, err)
	}
	g.CreatedAt, g.UpdatedAt = parseTime(created), parseTime(updated)
	g.Inputs = []string{}
	return g, nil
}

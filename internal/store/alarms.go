package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/sluice-video/sluice/internal/resource"
)

// CreateAlarm stores a new alarm; a taken name is a conflict.
func (s *Store) CreateAlarm(ctx context.Context, a resource.Alarm) error {
	spec, err := json.Marshal(a.AlarmSpec)
	if err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx,
		`INSERT INTO alarms (id, name, stack, spec, state, state_reason, state_changed_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		a.ID, a.Name, a.Stack, string(spec), a.State, a.StateReason, formatTime(a.StateChangedAt), formatTime(a.CreatedAt), formatTime(a.UpdatedAt))
	if isUniqueViolation(err) {
		return resource.Conflict("an alarm named %q already exists", a.Name)
	}
	return err
}

// UpdateAlarm replaces an alarm's spec and stack (its state stays).
func (s *Store) UpdateAlarm(ctx context.Context, a resource.Alarm) error {
	spec, err := json.Marshal(a.AlarmSpec)
	if err != nil {
		return err
	}
	res, err := s.db.ExecContext(ctx, `UPDATE alarms SET name = ?, stack = ?, spec = ?, updated_at = ? WHERE id = ?`,
		a.Name, a.Stack, string(spec), formatTime(a.UpdatedAt), a.ID)
	if isUniqueViolation(err) {
		return resource.Conflict("an alarm named %q already exists", a.Name)
	}
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("alarm", a.ID)
	}
	return nil
}

// DeleteAlarm removes an alarm and its history.
func (s *Store) DeleteAlarm(ctx context.Context, id string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM alarms WHERE id = ?`, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("alarm", id)
	}
	return nil
}

// GetAlarm returns an alarm by id or name.
func (s *Store) GetAlarm(ctx context.Context, ref string) (resource.Alarm, error) {
	row := s.db.QueryRowContext(ctx,
		`SELECT id, stack, spec, state, state_reason, state_changed_at, created_at, updated_at FROM alarms WHERE id = ? OR name = ?`, ref, ref)
	a, err := scanAlarm(row)
	return a, notFoundIfNoRows(err, "alarm", ref)
}

// ListAlarms returns every alarm, by name.
func (s *Store) ListAlarms(ctx context.Context) ([]resource.Alarm, error) {
	rows, err := s.db.QueryContext(ctx,
		`SELECT id, stack, spec, state, state_reason, state_changed_at, created_at, updated_at FROM alarms ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	out := []resource.Alarm{}
	for rows.Next() {
		a, err := scanAlarm(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// SaveAlarmChange records an alarm's new state and appends it to its
// history, keeping the last historyLimit changes.
func (s *Store) SaveAlarmChange(ctx context.Context, id string, ch resource.AlarmChange) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	res, err := tx.ExecContext(ctx, `UPDATE alarms SET state = ?, state_reason = ?, state_changed_at = ? WHERE id = ?`,
		ch.To, ch.Reason, formatTime(ch.At), id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("alarm", id)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO alarm_history (alarm_id, at, from_state, to_state, reason) VALUES (?, ?, ?, ?, ?)`,
		id, formatTime(ch.At), ch.From, ch.To, ch.Reason); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx,
		`DELETE FROM alarm_history WHERE alarm_id = ? AND seq <= (
			SELECT seq FROM alarm_history WHERE alarm_id = ? ORDER BY seq DESC LIMIT 1 OFFSET ?)`,
		id, id, historyLimit); err != nil {
		return err
	}
	return tx.Commit()
}

// AlarmHistory returns an alarm's changes, newest first, at most limit.
func (s *Store) AlarmHistory(ctx context.Context, id string, limit int) ([]resource.AlarmChange, error) {
	rows, err := s.db.QueryContext(ctx,
		`SELECT at, from_state, to_state, reason FROM alarm_history WHERE alarm_id = ? ORDER BY seq DESC LIMIT ?`, id, limit)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	out := []resource.AlarmChange{}
	for rows.Next() {
		var c resource.AlarmChange
		var at string
		if err := rows.Scan(&at, &c.From, &c.To, &c.Reason); err != nil {
			return nil, err
		}
		c.At = parseTime(at)
		out = append(out, c)
	}
	return out, rows.Err()
}

func scanAlarm(sc scanner) (resource.Alarm, error) {
	var a resource.Alarm
	var spec, changed, created, updated string
	if err := sc.Scan(&a.ID, &a.Stack, &spec, &a.State, &a.StateReason, &changed, &created, &updated); err != nil {
		return a, err
	}
	if err := json.Unmarshal([]byte(spec), &a.AlarmSpec); err != nil {
		return a, fmt.Errorf("alarm %s: stored spec is unreadable: %w", a.ID, err)
	}
	a.StateChangedAt, a.CreatedAt, a.UpdatedAt = parseTime(changed), parseTime(created), parseTime(updated)
	return a, nil
}

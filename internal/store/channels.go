package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/sluice-video/sluice/internal/resource"
)

// ChannelRecord is a channel as stored: the resource plus what the control
// plane needs to resume it after a restart.
type ChannelRecord struct {
	resource.Channel
	// Desired is RUNNING when the channel should run, IDLE otherwise.
	Desired  resource.ChannelState
	Timeline TimelineState
}

// TimelineState is the part of a channel's packaging timeline that must
// survive restarts so that media times and numbers only grow.
type TimelineState struct {
	AvailabilityStart time.Time
	NextNumber        uint64
	Discontinuity     uint64
}

// historyLimit bounds the state history kept per channel.
const historyLimit = 1000

// CreateChannel stores a new channel and its first state; a taken name is a conflict.
func (s *Store) CreateChannel(ctx context.Context, rec ChannelRecord) error {
	spec, err := json.Marshal(rec.ChannelSpec)
	if err != nil {
		return err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	_, err = tx.ExecContext(ctx,
		`INSERT INTO channels (id, name, stack, spec, state, state_reason, state_changed_at, last_error, desired, created_at, updated_at)
		 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		rec.ID, rec.Name, rec.Stack, string(spec), rec.State, rec.StateReason, formatTime(rec.StateChangedAt),
		rec.LastError, rec.Desired, formatTime(rec.CreatedAt), formatTime(rec.UpdatedAt))
	if isUniqueViolation(err) {
		return resource.Conflict("a channel named %q already exists", rec.Name)
	}
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx,
		`INSERT INTO channel_history (channel_id, at, from_state, to_state, reason) VALUES (?, ?, '', ?, ?)`,
		rec.ID, formatTime(rec.StateChangedAt), rec.State, rec.StateReason); err != nil {
		return err
	}
	return tx.Commit()
}

// UpdateChannelSpec replaces a channel's spec and stack.
func (s *Store) UpdateChannelSpec(ctx context.Context, id, stack string, spec resource.ChannelSpec, at time.Time) error {
	data, err := json.Marshal(spec)
	if err != nil {
		return err
	}
	res, err := s.db.ExecContext(ctx, `UPDATE channels SET name = ?, stack = ?, spec = ?, updated_at = ? WHERE id = ?`,
		spec.Name, stack, string(data), formatTime(at), id)
	if isUniqueViolation(err) {
		return resource.Conflict("a channel named %q already exists", spec.Name)
	}
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("channel", id)
	}
	return nil
}

// SetChannelState records a state change, the last error and the desired
// state, and appends the change to the channel's history.
func (s *Store) SetChannelState(ctx context.Context, id string, ch resource.StateChange, lastError string, desired resource.ChannelState) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	res, err := tx.ExecContext(ctx,
		`UPDATE channels SET state = ?, state_reason = ?, state_changed_at = ?, last_error = ?, desired = ? WHERE id = ?`,
		ch.To, ch.Reason, formatTime(ch.At), lastError, desired, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("channel", id)
	}
	if _, err := tx.ExecContext(ctx,
		`INSERT INTO channel_history (channel_id, at, from_state, to_state, reason) VALUES (?, ?, ?, ?, ?)`,
		id, formatTime(ch.At), ch.From, ch.To, ch.Reason); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx,
		`DELETE FROM channel_history WHERE channel_id = ? AND seq <= (
			SELECT seq FROM channel_history WHERE channel_id = ? ORDER BY seq DESC LIMIT 1 OFFSET ?)`,
		id, id, historyLimit); err != nil {
		return err
	}
	return tx.Commit()
}

// SaveTimeline stores a channel's timeline counters.
func (s *Store) SaveTimeline(ctx context.Context, id string, ts TimelineState) error {
	_, err := s.db.ExecContext(ctx, `UPDATE channels SET ast = ?, next_number = ?, discontinuity = ? WHERE id = ?`,
		formatTime(ts.AvailabilityStart), int64(ts.NextNumber), int64(ts.Discontinuity), id) //nolint:gosec // counters stay far below 2^63
	return err
}

// DeleteChannel removes a channel and its history.
func (s *Store) DeleteChannel(ctx context.Context, id string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM channels WHERE id = ?`, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("channel", id)
	}
	return nil
}

// ListChannels returns every channel record, by name.
func (s *Store) ListChannels(ctx context.Context) ([]ChannelRecord, error) {
	rows, err := s.db.QueryContext(ctx,
		`SELECT id, stack, spec, state, state_reason, state_changed_at, last_error, desired, ast, next_number, discontinuity, created_at, updated_at
		 FROM channels ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	var out []ChannelRecord
	for rows.Next() {
		var r ChannelRecord
		var spec, changed, ast, created, updated string
		var next, disc int64
		if err := rows.Scan(&r.ID, &r.Stack, &spec, &r.State, &r.StateReason, &changed, &r.LastError, &r.Desired,
			&ast, &next, &disc, &created, &updated); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(spec), &r.ChannelSpec); err != nil {
			return nil, fmt.Errorf("channel %s: stored spec is unreadable: %w", r.ID, err)
		}
		r.StateChangedAt, r.CreatedAt, r.UpdatedAt = parseTime(changed), parseTime(created), parseTime(updated)
		r.Timeline = TimelineState{AvailabilityStart: parseTime(ast), NextNumber: uint64(max(next, 0)), Discontinuity: uint64(max(disc, 0))}
		out = append(out, r)
	}
	return out, rows.Err()
}

// History returns a channel's state changes, oldest first, at most limit.
func (s *Store) History(ctx context.Context, id string, limit int) ([]resource.StateChange, error) {
	rows, err := s.db.QueryContext(ctx,
		`SELECT at, from_state, to_state, reason FROM (
			SELECT seq, at, from_state, to_state, reason FROM channel_history WHERE channel_id = ? ORDER BY seq DESC LIMIT ?
		) ORDER BY seq`, id, limit)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	out := []resource.StateChange{}
	for rows.Next() {
		var c resource.StateChange
		var at string
		if err := rows.Scan(&at, &c.From, &c.To, &c.Reason); err != nil {
			return nil, err
		}
		c.At = parseTime(at)
		out = append(out, c)
	}
	return out, rows.Err()
}

package store

import (
	"context"
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
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	if err := channels().insert(ctx, s, tx, rec); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, s.rebind(
		`INSERT INTO channel_history (channel_id, at, from_state, to_state, reason) VALUES (?, ?, '', ?, ?)`),
		rec.ID, formatTime(rec.StateChangedAt), rec.State, rec.StateReason); err != nil {
		return err
	}
	return tx.Commit()
}

// SetChannelState records a state change, the last error and the desired
// state, and appends the change to the channel's history.
func (s *Store) SetChannelState(ctx context.Context, id string, ch resource.StateChange, lastError string, desired resource.ChannelState) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	res, err := tx.ExecContext(ctx, s.rebind(
		`UPDATE channels SET state = ?, state_reason = ?, state_changed_at = ?, last_error = ?, desired = ? WHERE id = ?`),
		ch.To, ch.Reason, formatTime(ch.At), lastError, desired, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("channel", id)
	}
	if _, err := tx.ExecContext(ctx, s.rebind(
		`INSERT INTO channel_history (channel_id, at, from_state, to_state, reason) VALUES (?, ?, ?, ?, ?)`),
		id, formatTime(ch.At), ch.From, ch.To, ch.Reason); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, s.rebind(
		`DELETE FROM channel_history WHERE channel_id = ? AND seq <= (
			SELECT seq FROM channel_history WHERE channel_id = ? ORDER BY seq DESC LIMIT 1 OFFSET ?)`),
		id, id, historyLimit); err != nil {
		return err
	}
	return tx.Commit()
}

// SaveTimeline stores a channel's timeline counters.
func (s *Store) SaveTimeline(ctx context.Context, id string, ts TimelineState) error {
	_, err := s.db.ExecContext(ctx, s.rebind(`UPDATE channels SET ast = ?, next_number = ?, discontinuity = ? WHERE id = ?`),
		stamp{&ts.AvailabilityStart}, counter{&ts.NextNumber}, counter{&ts.Discontinuity}, id)
	return err
}

// History returns a channel's state changes, oldest first, at most limit.
func (s *Store) History(ctx context.Context, id string, limit int) ([]resource.StateChange, error) {
	rows, err := s.db.QueryContext(ctx, s.rebind(
		`SELECT at, from_state, to_state, reason FROM (
			SELECT seq, at, from_state, to_state, reason FROM channel_history WHERE channel_id = ? ORDER BY seq DESC LIMIT ?
		) AS recent ORDER BY seq`), id, limit)
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

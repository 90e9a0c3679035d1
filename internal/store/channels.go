package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/sluice-video/sluice/internal/resource"
)

// Every write of a channel's row and history is in this file: its
// creation, spec, state, desired state, timeline counters and deletion.

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

// CreateChannel stores a new channel and its first state, together; a
// taken name is a conflict.
func (s *Store) CreateChannel(ctx context.Context, rec ChannelRecord) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := channels().insert(ctx, s, tx, rec); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, s.rebind(
			`INSERT INTO channel_history (channel_id, at, from_state, to_state, reason) VALUES (?, ?, '', ?, ?)`),
			rec.ID, formatTime(rec.StateChangedAt), rec.State, rec.StateReason)
		return err
	})
}

// UpdateChannelSpec replaces a channel's spec and stack.
func (s *Store) UpdateChannelSpec(ctx context.Context, id, stack string, spec resource.ChannelSpec, at time.Time) error {
	return channels().update(ctx, s, ChannelRecord{Channel: resource.Channel{ID: id, Stack: stack, ChannelSpec: spec, UpdatedAt: at}})
}

// DeleteChannel removes a channel and its history.
func (s *Store) DeleteChannel(ctx context.Context, id string) error {
	return channels().remove(ctx, s, id)
}

// ListChannels returns every channel record, by name.
func (s *Store) ListChannels(ctx context.Context) ([]ChannelRecord, error) {
	return channels().list(ctx, s)
}

// SetChannelState records a state change, the last error and the desired
// state, and appends the change to the channel's history, together.
func (s *Store) SetChannelState(ctx context.Context, id string, ch resource.StateChange, lastError string, desired resource.ChannelState) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
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
		_, err = tx.ExecContext(ctx, s.rebind(
			`DELETE FROM channel_history WHERE channel_id = ? AND seq <= (
				SELECT seq FROM channel_history WHERE channel_id = ? ORDER BY seq DESC LIMIT 1 OFFSET ?)`),
			id, id, historyLimit)
		return err
	})
}

// SetChannelDesired records whether a channel should run, before the
// command that changes it is carried out: a command the database did not
// take is refused rather than forgotten at the next restart.
func (s *Store) SetChannelDesired(ctx context.Context, id string, desired resource.ChannelState) error {
	return s.again(ctx, func() error {
		res, err := s.db.ExecContext(ctx, s.rebind(`UPDATE channels SET desired = ? WHERE id = ?`), desired, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("channel", id)
		}
		return nil
	})
}

// SaveTimeline stores a channel's timeline counters.
func (s *Store) SaveTimeline(ctx context.Context, id string, ts TimelineState) error {
	return s.again(ctx, func() error {
		_, err := s.db.ExecContext(ctx, s.rebind(`UPDATE channels SET ast = ?, next_number = ?, discontinuity = ? WHERE id = ?`),
			stamp{&ts.AvailabilityStart}, counter{&ts.NextNumber}, counter{&ts.Discontinuity}, id)
		return err
	})
}

// History returns a channel's state changes, oldest first, at most limit.
func (s *Store) History(ctx context.Context, id string, limit int) ([]resource.StateChange, error) {
	var out []resource.StateChange
	err := s.query(ctx, func() { out = []resource.StateChange{} }, func(sc scanner) error {
		var c resource.StateChange
		if err := sc.Scan(stamp{&c.At}, &c.From, &c.To, &c.Reason); err != nil {
			return err
		}
		out = append(out, c)
		return nil
	}, `SELECT at, from_state, to_state, reason FROM (
			SELECT seq, at, from_state, to_state, reason FROM channel_history WHERE channel_id = ? ORDER BY seq DESC LIMIT ?
		) AS recent ORDER BY seq`, id, noLimit(limit))
	return out, err
}

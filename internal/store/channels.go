package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/sluice-video/sluice/internal/resource"
)

// Every write of a channel's row and history is in this file: its
// creation, spec, state, desired state, timeline counters and deletion.
//
// Two kinds of writes: commands (creation, spec, desired state) say what
// the channel should be, and any node makes them for its API, waking every
// node; the holder's writes (state and history, timeline counters, the
// deletion it carries out) say what the channel is, and carry the
// holder's Fence, checked in the same transaction.

// ChannelRecord is a channel as stored: the resource plus what the control
// plane needs to resume it after a restart.
type ChannelRecord struct {
	resource.Channel
	// Desired is RUNNING when the channel should run, DELETED when it
	// should be deleted, IDLE otherwise.
	Desired  resource.ChannelState
	Timeline TimelineState
	// Generation counts the changes of the spec, so that the holder
	// learns of one made through another node.
	Generation uint64
	// Restarts counts the restarts asked for, so that the holder learns
	// of one asked through another node.
	Restarts uint64
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

// CreateChannel stores a new channel and its first state, together, and
// wakes every node; a taken name is a conflict.
func (s *Store) CreateChannel(ctx context.Context, rec ChannelRecord) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := channels().insert(ctx, s, tx, rec); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, s.rebind(
			`INSERT INTO channel_history (channel_id, at, from_state, to_state, reason) VALUES (?, ?, '', ?, ?)`),
			rec.ID, formatTime(rec.StateChangedAt), rec.State, rec.StateReason)
		if err != nil {
			return err
		}
		return s.notify(ctx, tx, "channel "+rec.ID)
	})
}

// UpdateChannelSpec replaces a channel's spec and stack, counts the change
// in its generation and wakes every node, together. It returns the new
// generation.
func (s *Store) UpdateChannelSpec(ctx context.Context, id, stack string, spec resource.ChannelSpec, at time.Time) (uint64, error) {
	var gen uint64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := channels().updateIn(ctx, s, tx, ChannelRecord{Channel: resource.Channel{ID: id, Stack: stack, ChannelSpec: spec, UpdatedAt: at}}); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, s.rebind(`UPDATE channels SET generation = generation + 1 WHERE id = ? RETURNING generation`), id).Scan(counter{&gen}); err != nil {
			return err
		}
		return s.notify(ctx, tx, "channel "+id)
	})
	return gen, err
}

// DeleteChannel removes a channel, its history and its lease, as its
// holder (fenced), and wakes every node.
func (s *Store) DeleteChannel(ctx context.Context, id string, f Fence) error {
	return s.inFencedTx(ctx, id, f, func(tx *sql.Tx) error {
		if err := channels().removeIn(ctx, s, tx, id); err != nil {
			return err
		}
		return s.notify(ctx, tx, "channel "+id)
	})
}

// ListChannels returns every channel record, by name.
func (s *Store) ListChannels(ctx context.Context) ([]ChannelRecord, error) {
	return channels().list(ctx, s)
}

// GetChannel returns a channel record by id or name.
func (s *Store) GetChannel(ctx context.Context, ref string) (ChannelRecord, error) {
	return channels().get(ctx, s, ref)
}

// SetChannelState records a state change and the last error, and appends
// the change to the channel's history, together, as the channel's holder
// (fenced). With desired, the desired state is written too: a change the
// holder decided itself (a channel that failed stops wanting to run);
// commands write it with SetChannelDesired.
func (s *Store) SetChannelState(ctx context.Context, id string, f Fence, ch resource.StateChange, lastError string, desired *resource.ChannelState) error {
	return s.inFencedTx(ctx, id, f, func(tx *sql.Tx) error {
		q, args := `UPDATE channels SET state = ?, state_reason = ?, state_changed_at = ?, last_error = ? WHERE id = ?`,
			[]any{ch.To, ch.Reason, formatTime(ch.At), lastError, id}
		if desired != nil {
			q, args = `UPDATE channels SET state = ?, state_reason = ?, state_changed_at = ?, last_error = ?, desired = ? WHERE id = ?`,
				[]any{ch.To, ch.Reason, formatTime(ch.At), lastError, *desired, id}
		}
		res, err := tx.ExecContext(ctx, s.rebind(q), args...)
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

// SetChannelDesired records whether a channel should run (RUNNING, IDLE)
// or be deleted (DELETED), before the command that changes it is carried
// out, and wakes every node: a command the database did not take is
// refused rather than forgotten at the next restart, and the channel's
// holder, on whichever node, carries it out.
func (s *Store) SetChannelDesired(ctx context.Context, id string, desired resource.ChannelState) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.rebind(`UPDATE channels SET desired = ? WHERE id = ?`), desired, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("channel", id)
		}
		return s.notify(ctx, tx, "channel "+id)
	})
}

// RequestChannelRestart counts a restart asked for a channel and wakes
// every node, so that its holder, on whichever node, restarts it; it
// returns the new count.
func (s *Store) RequestChannelRestart(ctx context.Context, id string) (uint64, error) {
	var n uint64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.rebind(`UPDATE channels SET restarts = restarts + 1 WHERE id = ?`), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("channel", id)
		}
		if err := tx.QueryRowContext(ctx, s.rebind(`SELECT restarts FROM channels WHERE id = ?`), id).Scan(counter{&n}); err != nil {
			return err
		}
		return s.notify(ctx, tx, "channel "+id)
	})
	return n, err
}

// SaveTimeline stores a channel's timeline counters, as its holder
// (fenced).
func (s *Store) SaveTimeline(ctx context.Context, id string, f Fence, ts TimelineState) error {
	return s.inFencedTx(ctx, id, f, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.rebind(`UPDATE channels SET ast = ?, next_number = ?, discontinuity = ? WHERE id = ?`),
			stamp{&ts.AvailabilityStart}, counter{&ts.NextNumber}, counter{&ts.Discontinuity}, id)
		return err
	})
}

// ClaimAvailabilityStart sets a channel's availability start to at when it
// has none yet, and returns the one it has then: the first pipeline of a
// channel to start fixes it, and every pipeline of the channel, on any
// node, uses the same, so that their media times agree. Not fenced: the
// first writer wins, whoever it is.
func (s *Store) ClaimAvailabilityStart(ctx context.Context, id string, at time.Time) (time.Time, error) {
	var got time.Time
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.rebind(`UPDATE channels SET ast = ? WHERE id = ? AND ast = ''`), stamp{&at}, id); err != nil {
			return err
		}
		err := tx.QueryRowContext(ctx, s.rebind(`SELECT ast FROM channels WHERE id = ?`), id).Scan(stamp{&got})
		return notFoundIfNoRows(err, "channel", id)
	})
	return got, err
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

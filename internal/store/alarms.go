package store

import (
	"context"
	"database/sql"
	"math"

	"github.com/sluice-video/sluice/internal/resource"
)

// SaveAlarmChange records an alarm's new state and appends it to its
// history, keeping the last historyLimit changes, together.
func (s *Store) SaveAlarmChange(ctx context.Context, id string, ch resource.AlarmChange) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.rebind(`UPDATE alarms SET state = ?, state_reason = ?, state_changed_at = ? WHERE id = ?`),
			ch.To, ch.Reason, formatTime(ch.At), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("alarm", id)
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO alarm_history (alarm_id, at, from_state, to_state, reason) VALUES (?, ?, ?, ?, ?)`),
			id, formatTime(ch.At), ch.From, ch.To, ch.Reason); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, s.rebind(
			`DELETE FROM alarm_history WHERE alarm_id = ? AND seq <= (
				SELECT seq FROM alarm_history WHERE alarm_id = ? ORDER BY seq DESC LIMIT 1 OFFSET ?)`),
			id, id, historyLimit)
		return err
	})
}

// AlarmHistory returns an alarm's changes, newest first, at most limit
// (all of them when limit is 0 or less).
func (s *Store) AlarmHistory(ctx context.Context, id string, limit int) ([]resource.AlarmChange, error) {
	var out []resource.AlarmChange
	err := s.query(ctx, func() { out = []resource.AlarmChange{} }, func(sc scanner) error {
		var c resource.AlarmChange
		if err := sc.Scan(stamp{&c.At}, &c.From, &c.To, &c.Reason); err != nil {
			return err
		}
		out = append(out, c)
		return nil
	}, `SELECT at, from_state, to_state, reason FROM alarm_history WHERE alarm_id = ? ORDER BY seq DESC LIMIT ?`, id, noLimit(limit))
	return out, err
}

// noLimit turns a limit of zero or less, which means "all", into one both
// engines read that way (SQLite's LIMIT -1 is refused by PostgreSQL).
func noLimit(limit int) int {
	if limit <= 0 {
		return math.MaxInt32
	}
	return limit
}

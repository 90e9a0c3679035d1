package store

import (
	"context"
	"database/sql"
	"math"

	"github.com/sluice-video/sluice/internal/resource"
)

// SaveAlarmChange records an alarm's status (its state, reason and time
// of change, silence and acknowledgement) and appends a change to its
// history, keeping the last historyLimit changes, together.
func (s *Store) SaveAlarmChange(ctx context.Context, a resource.Alarm, ch resource.AlarmChange) error {
	if ch.Type == "" {
		ch.Type = resource.AlarmStateChanged
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.rebind(`UPDATE alarms SET state = ?, state_reason = ?, state_changed_at = ?, silence = ?, acknowledgement = ? WHERE id = ?`),
			a.State, a.StateReason, stamp{&a.StateChangedAt},
			document[resource.AlarmSilence]{&a.Silence}, document[resource.AlarmAcknowledgement]{&a.Acknowledgement}, a.ID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("alarm", a.ID)
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO alarm_history (alarm_id, at, change_type, from_state, to_state, reason, actor, comment, until_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			a.ID, formatTime(ch.At), ch.Type, ch.From, ch.To, ch.Reason, ch.By, ch.Comment, stamp{&ch.Until}); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, s.rebind(
			`DELETE FROM alarm_history WHERE alarm_id = ? AND seq <= (
				SELECT seq FROM alarm_history WHERE alarm_id = ? ORDER BY seq DESC LIMIT 1 OFFSET ?)`),
			a.ID, a.ID, historyLimit)
		return err
	})
}

// AlarmHistory returns an alarm's changes, newest first, at most limit
// (all of them when limit is 0 or less).
func (s *Store) AlarmHistory(ctx context.Context, id string, limit int) ([]resource.AlarmChange, error) {
	var out []resource.AlarmChange
	err := s.query(ctx, func() { out = []resource.AlarmChange{} }, func(sc scanner) error {
		var c resource.AlarmChange
		if err := sc.Scan(stamp{&c.At}, &c.Type, &c.From, &c.To, &c.Reason, &c.By, &c.Comment, stamp{&c.Until}); err != nil {
			return err
		}
		out = append(out, c)
		return nil
	}, `SELECT at, change_type, from_state, to_state, reason, actor, comment, until_at FROM alarm_history WHERE alarm_id = ? ORDER BY seq DESC LIMIT ?`, id, noLimit(limit))
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

package store

import (
	"context"
	"time"

	"github.com/sluice-video/sluice/internal/auth"
)

// sortableTime writes a time at a fixed width, UTC, so that text order is
// time order: for the columns statements compare.
func sortableTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000000000Z")
}

// CreateSession adds a login.
func (s *Store) CreateSession(ctx context.Context, sess auth.Session) error {
	return s.again(ctx, func(ctx context.Context) error {
		_, err := s.db.ExecContext(ctx, s.rebind(`INSERT INTO sessions (id, user_name, csrf, address, created_at, last_seen, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)`),
			sess.ID, sess.User, sess.CSRF, sess.Address, sortableTime(sess.CreatedAt), sortableTime(sess.LastSeen), sortableTime(sess.ExpiresAt))
		if err == nil {
			return nil
		}
		// Inserted already by a first try whose answer was lost.
		var n int
		if s.db.QueryRowContext(ctx, s.rebind(`SELECT COUNT(*) FROM sessions WHERE id = ?`), sess.ID).Scan(&n) == nil && n == 1 {
			return nil
		}
		return err
	})
}

// GetSession returns a login with its user's current role.
func (s *Store) GetSession(ctx context.Context, id string) (auth.Session, error) {
	var sess auth.Session
	err := s.again(ctx, func(ctx context.Context) error {
		err := s.db.QueryRowContext(ctx, s.rebind(`SELECT s.id, s.user_name, u.role, s.csrf, s.address, s.created_at, s.last_seen, s.expires_at
			FROM sessions s JOIN users u ON u.name = s.user_name WHERE s.id = ?`), id).
			Scan(&sess.ID, &sess.User, (*string)(&sess.Role), &sess.CSRF, &sess.Address, stamp{&sess.CreatedAt}, stamp{&sess.LastSeen}, stamp{&sess.ExpiresAt})
		return notFoundIfNoRows(err, "session", "presented")
	})
	return sess, err
}

// TouchSession records that a login was used at at.
func (s *Store) TouchSession(ctx context.Context, id string, at time.Time) error {
	return s.again(ctx, func(ctx context.Context) error {
		res, err := s.db.ExecContext(ctx, s.rebind(`UPDATE sessions SET last_seen = ? WHERE id = ?`), sortableTime(at), id)
		return oneRow(res, err, "session", "presented")
	})
}

// DeleteSession ends a login.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	return s.again(ctx, func(ctx context.Context) error {
		res, err := s.db.ExecContext(ctx, s.rebind(`DELETE FROM sessions WHERE id = ?`), id)
		return oneRow(res, err, "session", "presented")
	})
}

// DeleteStaleSessions removes the logins expired at now or unused since
// before idleSince.
func (s *Store) DeleteStaleSessions(ctx context.Context, now, idleSince time.Time) error {
	return s.again(ctx, func(ctx context.Context) error {
		_, err := s.db.ExecContext(ctx, s.rebind(`DELETE FROM sessions WHERE expires_at <= ? OR last_seen < ?`), sortableTime(now), sortableTime(idleSince))
		return err
	})
}

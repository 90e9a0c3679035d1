package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/sluice-video/sluice/internal/auth"
	"github.com/sluice-video/sluice/internal/resource"
)

// pgUsersLock is the PostgreSQL advisory lock a change of a user's role
// or a removal holds, so that two such changes at once cannot leave the
// server without an admin (SQLite runs one write at a time anyway).
const pgUsersLock int64 = 0x736c75696365_0003 // "sluice", 3

// CreateUser adds a user; a taken name is a conflict.
func (s *Store) CreateUser(ctx context.Context, u auth.User) error {
	err := s.again(ctx, func(ctx context.Context) error {
		_, err := s.db.ExecContext(ctx, s.rebind(`INSERT INTO users (name, role, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`),
			u.Name, string(u.Role), u.PasswordHash, formatTime(u.CreatedAt), formatTime(u.UpdatedAt))
		return err
	})
	if s.dialect.uniqueViolation(err) {
		return resource.Conflict("a user named %q already exists", u.Name)
	}
	return err
}

// CreateFirstUser adds u only while there is no user, and says whether it
// did: of nodes starting at once, one makes the first admin.
func (s *Store) CreateFirstUser(ctx context.Context, u auth.User) (bool, error) {
	var n int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.lockUsers(ctx, tx); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO users (name, role, password_hash, created_at, updated_at)
			SELECT ?, ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM users)`),
			u.Name, string(u.Role), u.PasswordHash, formatTime(u.CreatedAt), formatTime(u.UpdatedAt))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if s.dialect.uniqueViolation(err) {
		return false, nil
	}
	return n == 1, err
}

// GetUser returns a user by name.
func (s *Store) GetUser(ctx context.Context, name string) (auth.User, error) {
	var u auth.User
	err := s.again(ctx, func(ctx context.Context) error {
		err := s.db.QueryRowContext(ctx, s.rebind(`SELECT name, role, password_hash, created_at, updated_at FROM users WHERE name = ?`), name).
			Scan(&u.Name, (*string)(&u.Role), &u.PasswordHash, stamp{&u.CreatedAt}, stamp{&u.UpdatedAt})
		return notFoundIfNoRows(err, "user", name)
	})
	return u, err
}

// ListUsers returns every user, by name.
func (s *Store) ListUsers(ctx context.Context) ([]auth.User, error) {
	var out []auth.User
	err := s.query(ctx, func() { out = []auth.User{} }, func(sc scanner) error {
		var u auth.User
		err := sc.Scan(&u.Name, (*string)(&u.Role), &u.PasswordHash, stamp{&u.CreatedAt}, stamp{&u.UpdatedAt})
		out = append(out, u)
		return err
	}, `SELECT name, role, password_hash, created_at, updated_at FROM users ORDER BY name`)
	return out, err
}

// SetUserRole changes a user's role; taking the last admin's is a
// conflict, and nothing changes. (A server whose only admin is its
// --token may have no admin user at all.)
func (s *Store) SetUserRole(ctx context.Context, name string, role auth.Role, at time.Time) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.lockUsers(ctx, tx); err != nil {
			return err
		}
		was, err := s.roleOf(ctx, tx, name)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`UPDATE users SET role = ?, updated_at = ? WHERE name = ?`), string(role), formatTime(at), name); err != nil {
			return err
		}
		if was != auth.RoleAdmin {
			return nil
		}
		return s.someAdminLeft(ctx, tx, "user "+name+" is the last admin: make another user an admin first")
	})
}

// SetUserPassword replaces a user's password hash and, with endSessions,
// ends their sessions.
func (s *Store) SetUserPassword(ctx context.Context, name, hash string, at time.Time, endSessions bool) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.rebind(`UPDATE users SET password_hash = ?, updated_at = ? WHERE name = ?`), hash, formatTime(at), name)
		if err := oneRow(res, err, "user", name); err != nil {
			return err
		}
		if !endSessions {
			return nil
		}
		_, err = tx.ExecContext(ctx, s.rebind(`DELETE FROM sessions WHERE user_name = ?`), name)
		return err
	})
}

// DeleteUser removes a user and their sessions; removing the last admin
// is a conflict.
func (s *Store) DeleteUser(ctx context.Context, name string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.lockUsers(ctx, tx); err != nil {
			return err
		}
		was, err := s.roleOf(ctx, tx, name)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM sessions WHERE user_name = ?`), name); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM users WHERE name = ?`), name); err != nil {
			return err
		}
		if was != auth.RoleAdmin {
			return nil
		}
		return s.someAdminLeft(ctx, tx, "user "+name+" is the last admin: make another user an admin first")
	})
}

// lockUsers serialises the changes that must leave an admin, on
// PostgreSQL; SQLite's transactions are serialised already.
func (s *Store) lockUsers(ctx context.Context, tx *sql.Tx) error {
	if s.dialect != postgresDialect {
		return nil
	}
	_, err := tx.ExecContext(ctx, s.rebind("SELECT pg_advisory_xact_lock(?)"), pgUsersLock)
	return err
}

// roleOf is a user's role in a transaction; not found when there is none.
func (s *Store) roleOf(ctx context.Context, tx *sql.Tx, name string) (auth.Role, error) {
	var role string
	err := tx.QueryRowContext(ctx, s.rebind(`SELECT role FROM users WHERE name = ?`), name).Scan(&role)
	return auth.Role(role), notFoundIfNoRows(err, "user", name)
}

// someAdminLeft refuses, as a conflict saying why, a change that left no
// admin.
func (s *Store) someAdminLeft(ctx context.Context, tx *sql.Tx, why string) error {
	var n int
	if err := tx.QueryRowContext(ctx, s.rebind(`SELECT COUNT(*) FROM users WHERE role = ?`), string(auth.RoleAdmin)).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return resource.Conflict("%s", why)
	}
	return nil
}

// oneRow turns a statement that changed no row into not found.
func oneRow(res sql.Result, err error, kind, ref string) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return notFound(kind, ref)
	}
	return nil
}

// CreateToken adds a named API token; a taken name is a conflict.
func (s *Store) CreateToken(ctx context.Context, t auth.Token) error {
	err := s.again(ctx, func(ctx context.Context) error {
		_, err := s.db.ExecContext(ctx, s.rebind(`INSERT INTO api_tokens (name, role, hash, created_at) VALUES (?, ?, ?, ?)`),
			t.Name, string(t.Role), t.Hash, formatTime(t.CreatedAt))
		return err
	})
	if s.dialect.uniqueViolation(err) {
		return resource.Conflict("a token named %q already exists", t.Name)
	}
	return err
}

// TokenByHash finds the token whose SHA-256 is hash.
func (s *Store) TokenByHash(ctx context.Context, hash string) (auth.Token, error) {
	var t auth.Token
	err := s.again(ctx, func(ctx context.Context) error {
		err := s.db.QueryRowContext(ctx, s.rebind(`SELECT name, role, hash, created_at FROM api_tokens WHERE hash = ?`), hash).
			Scan(&t.Name, (*string)(&t.Role), &t.Hash, stamp{&t.CreatedAt})
		return notFoundIfNoRows(err, "token", "presented")
	})
	return t, err
}

// ListTokens returns the named tokens, by name.
func (s *Store) ListTokens(ctx context.Context) ([]auth.Token, error) {
	var out []auth.Token
	err := s.query(ctx, func() { out = []auth.Token{} }, func(sc scanner) error {
		var t auth.Token
		err := sc.Scan(&t.Name, (*string)(&t.Role), &t.Hash, stamp{&t.CreatedAt})
		out = append(out, t)
		return err
	}, `SELECT name, role, hash, created_at FROM api_tokens ORDER BY name`)
	return out, err
}

// DeleteToken removes a named token.
func (s *Store) DeleteToken(ctx context.Context, name string) error {
	return s.again(ctx, func(ctx context.Context) error {
		res, err := s.db.ExecContext(ctx, s.rebind(`DELETE FROM api_tokens WHERE name = ?`), name)
		return oneRow(res, err, "token", name)
	})
}

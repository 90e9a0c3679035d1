// Package store keeps Sluice's state: the resources of every kind, their
// state histories and the packaging counters that must survive a restart.
// The embedded default is SQLite in the data directory (pure Go, no cgo).
// The resource kinds share one generic piece (kind.go); statements are
// written in SQL that PostgreSQL accepts too, their placeholders rebound
// in one place.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/sluice-video/sluice/internal/filemode"
	"github.com/sluice-video/sluice/internal/resource"
)

// Store is the state database.
type Store struct {
	db *sql.DB
	// postgres is set for a PostgreSQL database (to come); SQLite otherwise.
	postgres bool
}

// rebind is the one place a statement's placeholders are written for the
// engine: every statement is written with "?", which SQLite takes and
// PostgreSQL numbers ($1, $2, …).
func (s *Store) rebind(query string) string {
	if !s.postgres {
		return query
	}
	var b strings.Builder
	n := 0
	for _, c := range query {
		if c == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

// Open opens (creating if needed) the SQLite database at path and brings
// its schema up to date.
func Open(ctx context.Context, path string) (*Store, error) {
	// The database holds stream keys and webhook secrets in clear.
	if err := filemode.SQLite(path); err != nil {
		return nil, fmt.Errorf("state database: %w", err)
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(ON)")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("opening state database %s: %w", path, err)
	}
	// One connection: SQLite writes are serialised anyway, and this keeps
	// every statement free of SQLITE_BUSY.
	db.SetMaxOpenConns(1)
	s := &Store{db: db}
	if err := s.migrate(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("state database %s: %w", path, err)
	}
	// The log and shared memory exist now: make sure of their modes.
	if err := filemode.SQLite(path); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("state database: %w", err)
	}
	return s, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

var migrations = []string{
	`CREATE TABLE inputs (
		id TEXT PRIMARY KEY,
		name TEXT NOT NULL UNIQUE,
		stack TEXT NOT NULL DEFAULT '',
		spec TEXT NOT NULL,
		created_at TEXT NOT NULL,
		updated_at TEXT NOT NULL
	);
	CREATE TABLE channels (
		id TEXT PRIMARY KEY,
		name TEXT NOT NULL UNIQUE,
		stack TEXT NOT NULL DEFAULT '',
		spec TEXT NOT NULL,
		state TEXT NOT NULL,
		state_reason TEXT NOT NULL DEFAULT '',
		state_changed_at TEXT NOT NULL,
		last_error TEXT NOT NULL DEFAULT '',
		desired TEXT NOT NULL DEFAULT 'IDLE',
		ast TEXT NOT NULL DEFAULT '',
		next_number INTEGER NOT NULL DEFAULT 0,
		discontinuity INTEGER NOT NULL DEFAULT 0,
		created_at TEXT NOT NULL,
		updated_at TEXT NOT NULL
	);
	CREATE TABLE channel_history (
		seq INTEGER PRIMARY KEY AUTOINCREMENT,
		channel_id TEXT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
		at TEXT NOT NULL,
		from_state TEXT NOT NULL,
		to_state TEXT NOT NULL,
		reason TEXT NOT NULL
	);
	CREATE INDEX channel_history_by_channel ON channel_history(channel_id, seq);`,
	`CREATE TABLE security_groups (
		id TEXT PRIMARY KEY,
		name TEXT NOT NULL UNIQUE,
		stack TEXT NOT NULL DEFAULT '',
		spec TEXT NOT NULL,
		created_at TEXT NOT NULL,
		updated_at TEXT NOT NULL
	);
	ALTER TABLE inputs ADD COLUMN stream_key TEXT NOT NULL DEFAULT '';`,
	`CREATE TABLE alarms (
		id TEXT PRIMARY KEY,
		name TEXT NOT NULL UNIQUE,
		stack TEXT NOT NULL DEFAULT '',
		spec TEXT NOT NULL,
		state TEXT NOT NULL,
		state_reason TEXT NOT NULL DEFAULT '',
		state_changed_at TEXT NOT NULL,
		created_at TEXT NOT NULL,
		updated_at TEXT NOT NULL
	);
	CREATE TABLE alarm_history (
		seq INTEGER PRIMARY KEY AUTOINCREMENT,
		alarm_id TEXT NOT NULL REFERENCES alarms(id) ON DELETE CASCADE,
		at TEXT NOT NULL,
		from_state TEXT NOT NULL,
		to_state TEXT NOT NULL,
		reason TEXT NOT NULL
	);
	CREATE INDEX alarm_history_by_alarm ON alarm_history(alarm_id, seq);
	CREATE TABLE rules (
		id TEXT PRIMARY KEY,
		name TEXT NOT NULL UNIQUE,
		stack TEXT NOT NULL DEFAULT '',
		spec TEXT NOT NULL,
		created_at TEXT NOT NULL,
		updated_at TEXT NOT NULL
	);`,
	`CREATE TABLE distributions (
		id TEXT PRIMARY KEY,
		name TEXT NOT NULL UNIQUE,
		stack TEXT NOT NULL DEFAULT '',
		spec TEXT NOT NULL,
		created_at TEXT NOT NULL,
		updated_at TEXT NOT NULL
	);`,
	`CREATE TABLE harvest_jobs (
		id TEXT PRIMARY KEY,
		state TEXT NOT NULL,
		job TEXT NOT NULL,
		created_at TEXT NOT NULL,
		updated_at TEXT NOT NULL
	);`,
}

// migrate applies the migrations the database has not seen, tracked in
// SQLite's user_version.
func (s *Store) migrate(ctx context.Context) error {
	var version int
	if err := s.db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return err
	}
	if version > len(migrations) {
		return fmt.Errorf("schema version %d is newer than this sluice understands (%d); upgrade sluice", version, len(migrations))
	}
	for i := version; i < len(migrations); i++ {
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
			_ = tx.Rollback()
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", i+1)); err != nil {
			_ = tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	return nil
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func parseTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t
}

// isUniqueViolation reports whether err is SQLite's or PostgreSQL's
// refusal of a taken unique value.
func isUniqueViolation(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "UNIQUE constraint failed") || strings.Contains(err.Error(), "duplicate key value"))
}

func notFound(kind, ref string) error { return resource.NotFound(kind, ref) }

func notFoundIfNoRows(err error, kind, ref string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return notFound(kind, ref)
	}
	return err
}

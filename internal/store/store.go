// Package store keeps Sluice's state: the resources of every kind, their
// state histories, the packaging counters that must survive a restart and
// the secrets every node must share. The embedded default is SQLite in the
// data directory (pure Go, no cgo); a postgres:// URL keeps the same state
// in PostgreSQL, where every node of a cluster finds it. The resource
// kinds share one generic piece (kind.go); statements are written in SQL
// both engines accept, and what differs is decided in one place
// (dialect.go).
package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sluice-video/sluice/internal/resource"
)

// Store is the state database.
type Store struct {
	db      *sql.DB
	dialect dialect
	// pool is the PostgreSQL connection pool db runs on (nil on SQLite),
	// which other parts of the node may share (Pool).
	pool *pgxpool.Pool
	// secret is text that must never show in an error: the password of
	// the PostgreSQL URL.
	secret string
}

// Open opens the state database and brings its schema up to date: a
// postgres:// (or postgresql://) URL, or the path of an SQLite file,
// created when missing. Every node opening the same PostgreSQL database
// sees the same state.
func Open(ctx context.Context, dsn string) (*Store, error) {
	if IsPostgres(dsn) {
		return openPostgres(ctx, dsn)
	}
	return openSQLite(ctx, dsn)
}

// IsPostgres reports whether dsn names a PostgreSQL database rather than
// an SQLite file.
func IsPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// Close closes the database.
func (s *Store) Close() error {
	err := s.db.Close()
	if s.pool != nil {
		s.pool.Close()
	}
	return err
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return errors.New(s.scrub(err.Error()))
	}
	return nil
}

// Pool is the PostgreSQL connection pool the store runs on, for the parts
// of a node that keep their tables in the same database (the job queue);
// nil on SQLite. The store closes it.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// rebind writes a statement's placeholders for the engine (dialect.rebind).
func (s *Store) rebind(query string) string { return s.dialect.rebind(query) }

// check turns the engine's "the server is gone" into the error the API
// answers 503 for; other errors pass unchanged.
func (s *Store) check(err error) error {
	if s.dialect.unreachable(err) {
		return resource.Unavailable("the state database is unreachable: " + s.scrub(err.Error()))
	}
	return err
}

// scrub hides the database password in a text about the database.
func (s *Store) scrub(text string) string { return scrubPassword(text, s.secret) }

// inTx runs fn in a transaction, committed when fn succeeds: the changes
// of several statements are made together or not at all.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return s.check(err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := fn(tx); err != nil {
		return s.check(err)
	}
	return s.check(tx.Commit())
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

func notFound(kind, ref string) error { return resource.NotFound(kind, ref) }

func notFoundIfNoRows(err error, kind, ref string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return notFound(kind, ref)
	}
	return err
}

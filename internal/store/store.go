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
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sluice-video/sluice/internal/dbfault"
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
	// where names the database for people, without its password.
	where string
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

// Where names the database for logs: the SQLite file, or the PostgreSQL
// URL with its password masked.
func (s *Store) Where() string { return s.where }

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
	err := s.db.PingContext(ctx)
	if s.flushed(ctx, err) {
		err = s.db.PingContext(ctx)
	}
	if err != nil {
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
	if s.dialect != postgresDialect {
		return err
	}
	return dbfault.Check(err, s.secret)
}

// scrub hides the database password in a text about the database.
func (s *Store) scrub(text string) string { return scrubPassword(text, s.secret) }

// flushed reports whether err says the server did not answer, and if so
// closes the pool's idle connections: they may have been closed by the
// server (a restart) or the network while idle, and each would fail one
// more statement. The next statement gets a fresh connection.
func (s *Store) flushed(ctx context.Context, err error) bool {
	if s.pool == nil || ctx.Err() != nil || !s.dialect.unreachable(err) {
		return false
	}
	s.pool.Reset()
	return true
}

// again runs op, and once more when it failed because the server did not
// answer (see flushed). op must be safe to run twice: a read, or a write
// that sets what it sets however often it runs.
func (s *Store) again(ctx context.Context, op func(ctx context.Context) error) error {
	ctx, cancel := bounded(ctx)
	defer cancel()
	err := op(ctx)
	if s.flushed(ctx, err) {
		err = op(ctx)
	}
	return s.check(err)
}

// query runs a read and calls row for each row, after start; when the
// server did not answer, it is run once more from start (see again).
func (s *Store) query(ctx context.Context, start func(), row func(sc scanner) error, q string, args ...any) error {
	return s.again(ctx, func(ctx context.Context) error {
		start()
		rows, err := s.db.QueryContext(ctx, s.rebind(q), args...)
		if err != nil {
			return err
		}
		defer func() { _ = rows.Close() }()
		for rows.Next() {
			if err := row(rows); err != nil {
				return err
			}
		}
		return rows.Err()
	})
}

// inTx runs fn in a transaction, committed when fn succeeds: the changes
// of several statements are made together or not at all. A transaction
// that failed before its commit was sent, because the server did not
// answer, is run once more from the start (see flushed); fn returns the
// engine's errors as they are.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	ctx, cancel := bounded(ctx)
	defer cancel()
	committing, err := s.tryTx(ctx, fn)
	if !committing && s.flushed(ctx, err) {
		_, err = s.tryTx(ctx, fn)
	}
	return s.check(err)
}

// tryTx runs fn in a transaction once and says whether the commit was sent.
func (s *Store) tryTx(ctx context.Context, fn func(tx *sql.Tx) error) (committing bool, err error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer func() { _ = tx.Rollback() }()
	if err := fn(tx); err != nil {
		return false, err
	}
	return true, tx.Commit()
}

// statementTimeout bounds the statements of a caller that set no deadline
// of its own: a connection that hangs (a server or a network that stopped
// answering without closing it) fails them instead of holding their
// caller for ever.
const statementTimeout = 30 * time.Second

// bounded is ctx with statementTimeout unless it has a deadline.
func bounded(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, statementTimeout)
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

// storable reports whether a text can be stored and compared in a text
// column on every engine: PostgreSQL refuses a NUL byte and invalid UTF-8
// in text, where SQLite takes them.
func storable(text string) bool {
	return utf8.ValidString(text) && !strings.ContainsRune(text, 0)
}

func notFoundIfNoRows(err error, kind, ref string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return notFound(kind, ref)
	}
	return err
}

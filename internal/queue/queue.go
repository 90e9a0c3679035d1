// Package queue opens the durable job queue and the database that holds
// on-demand jobs: River on SQLite in the data directory by default (one
// node), or River on PostgreSQL when several nodes share the work. Delivery
// is at least once: a job whose worker dies is rescued after the visibility
// timeout and retried with backoff until it runs out of attempts, when it is
// discarded (the dead-letter state).
package queue

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/sluice-video/sluice/internal/dbfault"
	"github.com/sluice-video/sluice/internal/filemode"
)

// Dialect tells SQL that differs between the engines apart.
type Dialect int

// Database engines.
const (
	SQLite Dialect = iota
	Postgres
)

// DB is the queue's database: the River tables and the on-demand tables
// beside them, so a job row and its queue entry are written in one
// transaction.
type DB struct {
	SQL     *sql.DB
	Dialect Dialect
	pool    *pgxpool.Pool
	// ownPool is set when Open opened the pool, which Close then closes.
	ownPool bool
	// secret is the database password, kept out of errors.
	secret string
	sqlite *riversqlite.Driver
	pg     *riverpgxv5.Driver
}

// Open opens the queue database: a postgres:// URL, or the path of an
// SQLite file. River's schema is brought up to date.
func Open(ctx context.Context, dsn string) (*DB, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		return openPostgres(ctx, dsn)
	}
	return openSQLite(ctx, dsn)
}

func openSQLite(ctx context.Context, path string) (*DB, error) {
	// Jobs carry pipeline settings, notify secrets included.
	if err := filemode.SQLite(path); err != nil {
		return nil, fmt.Errorf("queue database: %w", err)
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("opening queue database %s: %w", path, err)
	}
	// River's own advice for SQLite: one connection, so its parallel
	// maintenance never meets SQLITE_BUSY.
	db.SetMaxOpenConns(1)
	d := &DB{SQL: db, Dialect: SQLite, sqlite: riversqlite.New(db)}
	if err := d.migrate(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("queue database %s: %w", path, err)
	}
	if err := filemode.SQLite(path); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("queue database: %w", err)
	}
	return d, nil
}

func openPostgres(ctx context.Context, dsn string) (*DB, error) {
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("opening queue database: %w", err)
	}
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := pool.Ping(pctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("queue database does not answer: %w", err)
	}
	d, err := OnPool(ctx, pool)
	if err != nil {
		pool.Close()
		return nil, err
	}
	d.ownPool = true
	return d, nil
}

// OnPool makes the queue on a PostgreSQL pool the caller opened and
// closes (the state store's, so that a node keeps its state and its queue
// in one database through one pool). River's schema is brought up to date.
func OnPool(ctx context.Context, pool *pgxpool.Pool) (*DB, error) {
	db := stdlib.OpenDBFromPool(pool)
	// database/sql's idle connections each hold one of the pool's: they
	// are given back after the pool's own idle time (when it has one),
	// so that a burst of work does not keep them open.
	if idle := pool.Config().MaxConnIdleTime; idle > 0 {
		db.SetConnMaxIdleTime(idle)
	}
	d := &DB{SQL: db, Dialect: Postgres, pool: pool, pg: riverpgxv5.New(pool), secret: pool.Config().ConnConfig.Password}
	if err := d.migrate(ctx); err != nil {
		_ = d.SQL.Close()
		return nil, fmt.Errorf("queue database: %w", err)
	}
	return d, nil
}

// migrationLock is the PostgreSQL advisory lock held while the queue's
// schema and the tables kept beside it are migrated, so nodes starting
// together on one database take turns (River's migrations take no lock of
// their own).
const migrationLock int64 = 0x736c75696365_0002 // "sluice", 2

func (d *DB) migrate(ctx context.Context) error {
	err := d.Locked(ctx, func(ctx context.Context) error {
		if d.Dialect == Postgres {
			return migrateWith(ctx, d.pg)
		}
		return migrateWith(ctx, d.sqlite)
	})
	if err != nil {
		return fmt.Errorf("queue schema: %w", err)
	}
	return nil
}

// Locked runs fn while this node alone migrates the queue's database: on
// PostgreSQL under an advisory lock that other nodes wait for; SQLite has
// one node.
func (d *DB) Locked(ctx context.Context, fn func(ctx context.Context) error) error {
	if d.Dialect != Postgres {
		return fn(ctx)
	}
	conn, err := d.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", migrationLock); err != nil {
		return err
	}
	defer func() {
		// The lock is the session's: a connection that cannot unlock is
		// closed rather than put back holding it.
		if _, err := conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", migrationLock); err != nil {
			_ = conn.Conn().Close(context.WithoutCancel(ctx))
		}
	}()
	return fn(ctx)
}

func migrateWith[TTx any](ctx context.Context, drv riverdriver.Driver[TTx]) error {
	m, err := rivermigrate.New(drv, nil)
	if err != nil {
		return err
	}
	_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	return err
}

// Close closes the database (not a pool given to OnPool).
func (d *DB) Close() {
	_ = d.SQL.Close()
	if d.ownPool {
		d.pool.Close()
	}
}

// Check turns the error of a PostgreSQL server that went away into
// resource.ErrUnavailable (dbfault.Check), which the API answers 503 for,
// and drops the pool's idle connections; other errors, and SQLite's, pass
// unchanged.
func (d *DB) Check(err error) error {
	if d.Dialect != Postgres || !dbfault.Unreachable(err) {
		return err
	}
	// Idle connections the server or the network closed would each fail
	// one more statement: the next one gets a fresh connection.
	d.pool.Reset()
	return dbfault.Check(err, d.secret)
}

// Rebind turns the ? placeholders of a statement into PostgreSQL's $n.
func (d *DB) Rebind(query string) string {
	if d.Dialect != Postgres {
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

// Config tunes a queue client.
type Config struct {
	// Workers is how many jobs this process runs at once; 0 makes an
	// insert-only client (an API node that runs no jobs).
	Workers int
	// JobTimeout bounds one attempt; VisibilityTimeout is how long a
	// running job may go without finishing before another worker takes
	// it over (its worker is presumed dead). It must exceed JobTimeout.
	JobTimeout        time.Duration
	VisibilityTimeout time.Duration
	// MaxAttempts is how many times a job runs before it is discarded.
	MaxAttempts int
	// PollInterval is how often idle workers look for new jobs.
	PollInterval time.Duration
	// RetryPolicy gives the wait before attempt n+1; nil backs off
	// exponentially (River's default).
	RetryPolicy func(attempt int) time.Duration
	Logger      *slog.Logger
}

// retryPolicy adapts a function to River's retry policy.
type retryPolicy func(attempt int) time.Duration

func (p retryPolicy) NextRetry(j *rivertype.JobRow) time.Time {
	return time.Now().Add(p(j.Attempt))
}

// Client is the part of a River client Sluice uses, whatever the engine.
type Client interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	StopAndCancel(ctx context.Context) error
	Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
	JobCancel(ctx context.Context, id int64) (*rivertype.JobRow, error)
	JobGet(ctx context.Context, id int64) (*rivertype.JobRow, error)
}

// NewClient builds the River client for the database with the registered
// workers.
func (d *DB) NewClient(workers *river.Workers, cfg Config) (Client, error) {
	rc := &river.Config{
		JobTimeout:           cfg.JobTimeout,
		RescueStuckJobsAfter: cfg.VisibilityTimeout,
		MaxAttempts:          cfg.MaxAttempts,
		FetchPollInterval:    cfg.PollInterval,
		FetchCooldown:        min(cfg.PollInterval, 100*time.Millisecond),
		Logger:               riverLogger(cfg.Logger),
		RetryPolicy:          &river.DefaultClientRetryPolicy{},
	}
	if cfg.RetryPolicy != nil {
		rc.RetryPolicy = retryPolicy(cfg.RetryPolicy)
	}
	if cfg.Workers > 0 {
		rc.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: cfg.Workers}}
		rc.Workers = workers
	}
	if d.Dialect == Postgres {
		return river.NewClient(d.pg, rc)
	}
	rc.PollOnly = true // SQLite has no LISTEN/NOTIFY
	return river.NewClient(d.sqlite, rc)
}

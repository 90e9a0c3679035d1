package store

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
)

// What a PostgreSQL URL gets when it does not say: a connection attempt
// that ends (a host that drops packets would otherwise hold a request for
// minutes), and room for the API, the channels and the job queue that
// share the pool.
const (
	pgConnectTimeout = 10 * time.Second
	pgMaxConns       = 16
	// pgStartTimeout bounds the first contact at start.
	pgStartTimeout = 30 * time.Second
	// pgIdleInTransaction is how long the server lets a session sit in
	// an open transaction without a statement before it ends it.
	pgIdleInTransaction = 2 * time.Second
	// A burst of work, such as every loop of a node retrying at once when
	// the database comes back from a restart, fills the pool. pgx keeps
	// idle connections for half an hour and connections for an hour, and
	// it takes its idle connections in turn, so that a node's steady
	// work, a statement every few hundred milliseconds, keeps every one
	// of them in use: the pool stayed at its largest. A connection is
	// closed after pgMaxConnLifetime (give or take pgLifetimeJitter, so
	// that they do not all end at once) and the pool opens a new one only
	// when its work needs it, so it returns to what the work needs; one
	// unused for pgMaxConnIdle is closed sooner. pgHealthCheck is how
	// often the pool looks.
	pgMaxConnLifetime = 2 * time.Minute
	pgLifetimeJitter  = 30 * time.Second
	pgMaxConnIdle     = 30 * time.Second
	pgHealthCheck     = 5 * time.Second
)

// openPostgres opens the PostgreSQL database at dsn and brings its schema
// up to date. Errors name the server and the database, never the
// password.
func openPostgres(ctx context.Context, dsn string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx leaves recognisable passwords out of its parse errors; the
		// URL is not quoted either way.
		return nil, fmt.Errorf("the state database URL %s is not valid: %s", redactURL(dsn), scrubPassword(err.Error(), passwordOf(dsn)))
	}
	secret := cfg.ConnConfig.Password
	if !strings.Contains(dsn, "connect_timeout=") {
		cfg.ConnConfig.ConnectTimeout = pgConnectTimeout
	}
	if !strings.Contains(dsn, "pool_max_conns=") {
		cfg.MaxConns = pgMaxConns
	}
	if !strings.Contains(dsn, "pool_max_conn_idle_time=") {
		cfg.MaxConnIdleTime = pgMaxConnIdle
	}
	if !strings.Contains(dsn, "pool_max_conn_lifetime=") {
		cfg.MaxConnLifetime = pgMaxConnLifetime
	}
	if !strings.Contains(dsn, "pool_max_conn_lifetime_jitter=") {
		cfg.MaxConnLifetimeJitter = pgLifetimeJitter
	}
	if !strings.Contains(dsn, "pool_health_check_period=") {
		cfg.HealthCheckPeriod = pgHealthCheck
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["idle_in_transaction_session_timeout"]; !ok {
		// A node paused or cut off in the middle of a transaction (a
		// fenced write holds its lease row) must not hold its locks for
		// longer than the shortest lease: the server ends its session,
		// and the node that takes its channels over is not kept waiting.
		cfg.ConnConfig.RuntimeParams["idle_in_transaction_session_timeout"] = strconv.FormatInt(pgIdleInTransaction.Milliseconds(), 10)
	}
	where := describePostgres(dsn, cfg)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, errors.New(scrubPassword(fmt.Sprintf("the state database %s: %v", where, err), secret))
	}
	pctx, cancel := context.WithTimeout(ctx, pgStartTimeout)
	defer cancel()
	if err := pool.Ping(pctx); err != nil {
		pool.Close()
		return nil, errors.New(scrubPassword(fmt.Sprintf("the state database does not answer: %s: %s", where, pgReason(err)), secret))
	}
	db := stdlib.OpenDBFromPool(pool)
	// database/sql keeps connections of its own on top of the pool's
	// (each holds one of the pool's while it is idle there): they are
	// given back after the same idle time.
	db.SetConnMaxIdleTime(cfg.MaxConnIdleTime)
	s := &Store{db: db, dialect: postgresDialect, pool: pool, secret: secret, where: scrubPassword(redactURL(dsn), secret)}
	if err := s.migrate(ctx); err != nil {
		_ = s.Close()
		return nil, errors.New(scrubPassword(fmt.Sprintf("the state database %s: %v", where, err), secret))
	}
	return s, nil
}

// describePostgres names a PostgreSQL database for people: the server's
// address, the database, the user and the URL with its password masked.
func describePostgres(dsn string, cfg *pgxpool.Config) string {
	cc := cfg.ConnConfig
	addr := net.JoinHostPort(cc.Host, strconv.Itoa(int(cc.Port)))
	return fmt.Sprintf("%s, database %q as user %q (%s)", addr, cc.Database, cc.User, redactURL(dsn))
}

// pgReason is the part of a connection error that says what went wrong.
func pgReason(err error) string {
	var (
		pg *pgconn.PgError
		op *net.OpError
	)
	switch {
	case errors.As(err, &pg):
		return fmt.Sprintf("%s (SQLSTATE %s)", pg.Message, pg.Code)
	case errors.As(err, &op) && op.Err != nil:
		return op.Err.Error()
	case errors.Is(err, context.DeadlineExceeded):
		return "no answer in time"
	}
	return err.Error()
}

// redactURL is a database URL with its password masked.
func redactURL(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "(an unreadable postgres:// URL)"
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}

// passwordOf is the password a URL carries, if it can be read.
func passwordOf(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return ""
	}
	if p, ok := u.User.Password(); ok {
		return p
	}
	return u.Query().Get("password")
}

// scrubPassword hides a password in a text.
func scrubPassword(text, password string) string {
	if password == "" {
		return text
	}
	return strings.ReplaceAll(text, password, "xxxxx")
}

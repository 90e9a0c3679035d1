package store

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/sluice-video/sluice/internal/filemode"
)

// openSQLite opens (creating if needed) the SQLite database at path and
// brings its schema up to date.
func openSQLite(ctx context.Context, path string) (*Store, error) {
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
	s := &Store{db: db, dialect: sqliteDialect, where: path}
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

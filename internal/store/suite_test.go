package store

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"path/filepath"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver for the suite's admin connection

	"github.com/sluice-video/sluice/internal/testutil/pgserver"
)

// engine makes empty databases of one engine for the shared suite.
type engine struct {
	name     string
	postgres bool
	// fresh returns the DSN of a new, empty database.
	fresh func(t *testing.T) string
	// server is the PostgreSQL server (nil on SQLite).
	server *pgserver.Server
}

// env is one case's database: its DSN, and a way to open it.
type env struct {
	t   *testing.T
	dsn string
	pg  *pgserver.Server
}

// open opens the case's database, closed at the end of the case.
func (e env) open() *Store {
	e.t.Helper()
	s, err := Open(context.Background(), e.dsn)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { _ = s.Close() })
	return s
}

// suiteCase is one behaviour every engine must have.
type suiteCase struct {
	name string
	run  func(t *testing.T, e env)
}

// TestStoreOnSQLite runs the shared suite on SQLite.
func TestStoreOnSQLite(t *testing.T) { runSuite(t, sqliteEngine(), suite()) }

// TestStoreOnPostgres runs the shared suite on a real PostgreSQL (skipped
// without one, unless SLUICE_REQUIRE_TOOLS=1), then the cases only
// PostgreSQL has.
func TestStoreOnPostgres(t *testing.T) {
	runSuite(t, postgresEngine(t), append(suite(), postgresSuite()...))
}

// runSuite runs each case on an empty database of the engine.
func runSuite(t *testing.T, eng engine, cases []suiteCase) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.run(t, env{t: t, dsn: eng.fresh(t), pg: eng.server})
		})
	}
}

func sqliteEngine() engine {
	return engine{name: "SQLite", fresh: func(t *testing.T) string { return filepath.Join(t.TempDir(), "sluice.db") }}
}

// postgresEngine starts PostgreSQL for the test and makes one database in
// it per case.
func postgresEngine(t *testing.T) engine {
	srv := pgserver.Start(t)
	eng := engine{name: "PostgreSQL", postgres: true, server: srv}
	n := 0
	eng.fresh = func(t *testing.T) string {
		t.Helper()
		admin, err := sql.Open("pgx", srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = admin.Close() }()
		n++
		name := fmt.Sprintf("case_%d", n)
		if _, err := admin.ExecContext(context.Background(), "CREATE DATABASE "+name); err != nil {
			t.Fatal(err)
		}
		u, err := url.Parse(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		u.Path = "/" + name
		return u.String()
	}
	return eng
}

package store

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sluice-video/sluice/internal/dbfault"
)

// dialect is the one place where the two engines differ for the code that
// writes statements. Everything else is SQL both accept:
//
//   - placeholders are written "?" and rebound here to PostgreSQL's $n;
//   - upserts are INSERT … ON CONFLICT (…) DO UPDATE SET col = excluded.col
//     (SQLite 3.24 and later, as PostgreSQL);
//   - RETURNING works on both (SQLite 3.35 and later);
//   - times are TEXT in RFC 3339 with nanoseconds (stamp), UTC, so they sort
//     as text and read the same on both; counters are 64-bit integers
//     (INTEGER on SQLite, BIGINT on PostgreSQL);
//   - the schema's version is SQLite's user_version or PostgreSQL's
//     schema_version table (migrate.go), and the few column types that
//     differ are in each migration's SQL for that engine.
type dialect int

const (
	sqliteDialect dialect = iota
	postgresDialect
)

func (d dialect) String() string {
	if d == postgresDialect {
		return "PostgreSQL"
	}
	return "SQLite"
}

// rebind writes a statement's placeholders for the engine: every
// statement is written with "?", which SQLite takes and PostgreSQL numbers
// ($1, $2, …). No statement of the store has a "?" inside a literal.
func (d dialect) rebind(query string) string {
	if d != postgresDialect {
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

// uniqueViolation reports whether err is the engine's refusal of a taken
// unique value.
func (d dialect) uniqueViolation(err error) bool {
	if err == nil {
		return false
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "23505"
	}
	return strings.Contains(err.Error(), "UNIQUE constraint failed")
}

// unreachable reports whether err says the database server could not be
// reached or went away, rather than refusing the statement: the change was
// not made and may work later. An embedded SQLite file is never
// unreachable in this sense.
func (d dialect) unreachable(err error) bool {
	return d == postgresDialect && dbfault.Unreachable(err)
}

// The database's clock, which alone decides when leases and heartbeats
// expire. PostgreSQL keeps those times as timestamptz and reads now();
// SQLite keeps them as TEXT of fixed width (milliseconds, UTC), which
// sorts as time does, and reads its own clock.
const sqliteNow = `strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`

// now is the database's current time in a statement.
func (d dialect) now() string {
	if d == postgresDialect {
		return "now()"
	}
	return sqliteNow
}

// nowPlus is the database's current time plus a length of time, taken
// from one placeholder whose argument is span(length).
func (d dialect) nowPlus() string {
	if d == postgresDialect {
		return "(now() + make_interval(secs => CAST(? AS double precision)))"
	}
	return `strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?)`
}

// span is the argument of nowPlus's placeholder for a length of time.
func (d dialect) span(length time.Duration) any {
	if d == postgresDialect {
		return length.Seconds()
	}
	return fmt.Sprintf("%+.3f seconds", length.Seconds())
}

// forShare locks the rows a fenced write checks against a change until the
// write's transaction ends (PostgreSQL; SQLite has one writer at a time).
func (d dialect) forShare() string {
	if d == postgresDialect {
		return " FOR SHARE"
	}
	return ""
}

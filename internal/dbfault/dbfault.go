// Package dbfault tells a database server that went away from one that
// refused a statement, for the state store and the job queue on
// PostgreSQL. A change that failed because the server could not be
// reached becomes resource.ErrUnavailable, which the API answers 503 for:
// nothing was changed, and the same request may work later.
package dbfault

import (
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sluice-video/sluice/internal/resource"
)

// Unreachable reports whether err says the PostgreSQL server could not be
// reached or went away, rather than refusing the statement.
func Unreachable(err error) bool {
	if err == nil {
		return false
	}
	var (
		connect *pgconn.ConnectError
		pg      *pgconn.PgError
		netErr  net.Error
	)
	switch {
	case errors.As(err, &connect), errors.As(err, &netErr):
		return true
	case errors.As(err, &pg):
		// Class 08 is a connection exception; 57P01-03 a server shutting
		// down, crashed or starting.
		return strings.HasPrefix(pg.Code, "08") || pg.Code == "57P01" || pg.Code == "57P02" || pg.Code == "57P03"
	case errors.Is(err, driver.ErrBadConn), errors.Is(err, sql.ErrConnDone),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return true
	}
	return UnreachableMessage(err.Error())
}

// unreachableTexts are what error messages say when the database server
// is away for a moment, not that a statement or a job is wrong.
var unreachableTexts = []string{
	"connection refused", "connection reset", "broken pipe", "unexpected eof",
	"conn closed", "closed pool", "failed to connect", "i/o timeout",
	"sqlstate 57p01", // terminating connection due to administrator command
	"sqlstate 57p02", // crash shutdown
	"sqlstate 57p03", // the database system is starting up or shutting down
	"database is locked", "database is closed",
}

// UnreachableMessage reports whether an error's text (all a logger that
// was handed err.Error() has left of it) says the database could not be
// reached or went away.
func UnreachableMessage(msg string) bool {
	msg = strings.ToLower(msg)
	for _, t := range unreachableTexts {
		if strings.Contains(msg, t) {
			return true
		}
	}
	return false
}

// Check returns err unchanged, unless it says the server is unreachable:
// then an ErrUnavailable that says so, with hide (the password of the
// database's URL) masked in its text.
func Check(err error, hide string) error {
	if !Unreachable(err) {
		return err
	}
	msg := err.Error()
	if hide != "" {
		msg = strings.ReplaceAll(msg, hide, "xxxxx")
	}
	return resource.Unavailable("the state database is unreachable: " + msg)
}

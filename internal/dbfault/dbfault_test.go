package dbfault

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sluice-video/sluice/internal/resource"
)

func TestUnreachableTellsAGoneServerFromARefusal(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connect: connection refused")}
	for _, c := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"dial refused", fmt.Errorf("creating: %w", refused), true},
		{"server closed the connection", io.ErrUnexpectedEOF, true},
		{"bad connection", driver.ErrBadConn, true},
		{"admin shutdown", &pgconn.PgError{Code: "57P01", Message: "terminating connection due to administrator command"}, true},
		{"connection exception", &pgconn.PgError{Code: "08006"}, true},
		{"unique violation", &pgconn.PgError{Code: "23505"}, false},
		{"syntax error", &pgconn.PgError{Code: "42601"}, false},
		{"not found", resource.NotFound("input", "cam"), false},
		{"request canceled", context.Canceled, false},
	} {
		if got := Unreachable(c.err); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

func TestCheckMakesAnUnavailableWithoutThePassword(t *testing.T) {
	err := Check(fmt.Errorf("dial postgres://u:hunter22@db:5432: %w", io.ErrUnexpectedEOF), "hunter22")
	if !errors.Is(err, resource.ErrUnavailable) || strings.Contains(err.Error(), "hunter22") ||
		!strings.HasPrefix(err.Error(), "the state database is unreachable: ") {
		t.Errorf("%v", err)
	}
	plain := errors.New("no such table")
	if got := Check(plain, "x"); !errors.Is(got, plain) || got.Error() != plain.Error() {
		t.Errorf("a refusal was changed: %v", got)
	}
}

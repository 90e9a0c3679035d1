package store

import (
	"strings"
	"testing"
)

func TestRebindNumbersPlaceholdersForPostgres(t *testing.T) {
	q := "UPDATE inputs SET name = ?, spec = ? WHERE id = ?"
	if got := sqliteDialect.rebind(q); got != q {
		t.Errorf("SQLite: %s", got)
	}
	if got, want := postgresDialect.rebind(q), "UPDATE inputs SET name = $1, spec = $2 WHERE id = $3"; got != want {
		t.Errorf("PostgreSQL: %s, want %s", got, want)
	}
}

func TestEveryKindNamesItsConflict(t *testing.T) {
	for _, c := range []struct{ err, want string }{
		{securityGroups().conflict("x").Error(), `a security group named "x" already exists`},
		{inputs().conflict("x").Error(), `an input named "x" already exists`},
		{channels().conflict("x").Error(), `a channel named "x" already exists`},
		{alarms().conflict("x").Error(), `an alarm named "x" already exists`},
		{rules().conflict("x").Error(), `a rule named "x" already exists`},
		{distributions().conflict("x").Error(), `a distribution named "x" already exists`},
	} {
		if !strings.Contains(c.err, c.want) {
			t.Errorf("%s does not say %s", c.err, c.want)
		}
	}
}

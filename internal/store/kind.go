package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/sluice-video/sluice/internal/resource"
)

// kind is how the store keeps one resource kind: in a table with the
// columns every kind has (id, name, stack, spec as JSON, created_at,
// updated_at) and the few of its own. Adding a kind is one kind value;
// every statement of it is written here once, in SQL that SQLite and
// PostgreSQL both accept, with its placeholders rebound for the engine.
type kind[R any] struct {
	table string
	// label names the kind in errors: "security group".
	label string
	// own are the kind's own columns, in the order of row's own.
	own []column
	// row points into a resource at what its table keeps.
	row func(r *R) row
	// finish, when set, fills what a resource read from its row does not
	// store (the inputs of a group, which the control plane adds).
	finish func(r *R)
}

// column is one of a kind's own columns.
type column struct {
	name string
	// withSpec columns are written by an update of the spec too; the
	// others only with a new row, and by the kind's own statements (a
	// channel's state changes).
	withSpec bool
}

// row points into one resource at its columns; own holds pointers, or
// values such as stamp and counter that read and write through one.
type row struct {
	id, name, stack  *string
	spec             any
	created, updated *time.Time
	own              []any
}

func (k kind[R]) conflict(name string) error {
	article := "a"
	if strings.ContainsRune("aeiou", rune(k.label[0])) {
		article = "an"
	}
	return resource.Conflict("%s %s named %q already exists", article, k.label, name)
}

// insert adds a resource in a transaction; a taken name is a conflict.
// Other errors are the engine's, as they are, for the transaction.
func (k kind[R]) insert(ctx context.Context, s *Store, tx *sql.Tx, r R) error {
	w := k.row(&r)
	spec, err := json.Marshal(w.spec)
	if err != nil {
		return err
	}
	cols := []string{"id", "name", "stack", "spec", "created_at", "updated_at"}
	args := []any{*w.id, *w.name, *w.stack, string(spec), formatTime(*w.created), formatTime(*w.updated)}
	for i, c := range k.own {
		v, err := value(w.own[i])
		if err != nil {
			return err
		}
		cols, args = append(cols, c.name), append(args, v)
	}
	marks := strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ")
	_, err = tx.ExecContext(ctx, s.rebind("INSERT INTO "+k.table+" ("+strings.Join(cols, ", ")+") VALUES ("+marks+")"), args...)
	if s.dialect.uniqueViolation(err) {
		return k.conflict(*w.name)
	}
	return err
}

// create adds a resource; a taken name is a conflict.
func (k kind[R]) create(ctx context.Context, s *Store, r R) error {
	return s.inTx(ctx, func(tx *sql.Tx) error { return k.insert(ctx, s, tx, r) })
}

// update replaces a resource's name, stack and spec (and the own columns
// kept with the spec), found by its ID.
func (k kind[R]) update(ctx context.Context, s *Store, r R) error {
	q, args, name, err := k.updateStatement(s, r)
	if err != nil {
		return err
	}
	return s.again(ctx, func(ctx context.Context) error {
		res, err := s.db.ExecContext(ctx, q, args...)
		return k.updated(s, res, err, name, args[len(args)-1])
	})
}

// updateIn is update in a transaction.
func (k kind[R]) updateIn(ctx context.Context, s *Store, tx *sql.Tx, r R) error {
	q, args, name, err := k.updateStatement(s, r)
	if err != nil {
		return err
	}
	res, err := tx.ExecContext(ctx, q, args...)
	return k.updated(s, res, err, name, args[len(args)-1])
}

// updated is an update's outcome: a taken name is a conflict, no row not
// found.
func (k kind[R]) updated(s *Store, res sql.Result, err error, name string, id any) error {
	if s.dialect.uniqueViolation(err) {
		return k.conflict(name)
	}
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound(k.label, fmt.Sprint(id))
	}
	return nil
}

// updateStatement is an update's statement and arguments, the id last.
func (k kind[R]) updateStatement(s *Store, r R) (q string, args []any, name string, err error) {
	w := k.row(&r)
	spec, err := json.Marshal(w.spec)
	if err != nil {
		return "", nil, "", err
	}
	set := []string{"name = ?", "stack = ?", "spec = ?", "updated_at = ?"}
	args = []any{*w.name, *w.stack, string(spec), formatTime(*w.updated)}
	for i, c := range k.own {
		if !c.withSpec {
			continue
		}
		v, err := value(w.own[i])
		if err != nil {
			return "", nil, "", err
		}
		set, args = append(set, c.name+" = ?"), append(args, v)
	}
	q = s.rebind("UPDATE " + k.table + " SET " + strings.Join(set, ", ") + " WHERE id = ?")
	return q, append(args, *w.id), *w.name, nil
}

// remove deletes a resource by ID (and, through their foreign keys, the
// rows that belong to it).
func (k kind[R]) remove(ctx context.Context, s *Store, id string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error { return k.removeIn(ctx, s, tx, id) })
}

// removeIn is remove in a transaction.
func (k kind[R]) removeIn(ctx context.Context, s *Store, tx *sql.Tx, id string) error {
	res, err := tx.ExecContext(ctx, s.rebind("DELETE FROM "+k.table+" WHERE id = ?"), id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound(k.label, id)
	}
	return nil
}

// get returns a resource by ID or name.
func (k kind[R]) get(ctx context.Context, s *Store, ref string) (R, error) {
	var r R
	if !storable(ref) {
		// No resource has such a name or id, and PostgreSQL refuses the
		// bytes in a query: not found, on every engine alike.
		return r, notFound(k.label, ref)
	}
	err := s.again(ctx, func(ctx context.Context) error {
		var err error
		r, err = k.scan(s.db.QueryRowContext(ctx, s.rebind(k.selectAll()+" WHERE id = ? OR name = ?"), ref, ref))
		return notFoundIfNoRows(err, k.label, ref)
	})
	return r, err
}

// list returns every resource of the kind, by name.
func (k kind[R]) list(ctx context.Context, s *Store) ([]R, error) {
	var out []R
	err := s.query(ctx, func() { out = []R{} }, func(sc scanner) error {
		r, err := k.scan(sc)
		out = append(out, r)
		return err
	}, k.selectAll()+" ORDER BY name")
	return out, err
}

func (k kind[R]) selectAll() string {
	cols := []string{"id", "stack", "spec", "created_at", "updated_at"}
	for _, c := range k.own {
		cols = append(cols, c.name)
	}
	return "SELECT " + strings.Join(cols, ", ") + " FROM " + k.table
}

type scanner interface{ Scan(dest ...any) error }

func (k kind[R]) scan(sc scanner) (R, error) {
	var r R
	w := k.row(&r)
	var spec string
	dest := append([]any{w.id, w.stack, &spec, stamp{w.created}, stamp{w.updated}}, w.own...)
	if err := sc.Scan(dest...); err != nil {
		return r, err
	}
	if err := json.Unmarshal([]byte(spec), w.spec); err != nil {
		return r, fmt.Errorf("%s %s: stored spec is unreadable: %w", k.label, *w.id, err)
	}
	if k.finish != nil {
		k.finish(&r)
	}
	return r, nil
}

// value is what a column pointer holds, as the driver takes it.
func value(p any) (driver.Value, error) {
	return driver.DefaultParameterConverter.ConvertValue(p)
}

// stamp reads and writes a time as the store keeps times: RFC 3339 text,
// "" for none.
type stamp struct{ t *time.Time }

// Value implements driver.Valuer.
func (s stamp) Value() (driver.Value, error) { return formatTime(*s.t), nil }

// Scan implements sql.Scanner.
func (s stamp) Scan(src any) error {
	switch v := src.(type) {
	case string:
		*s.t = parseTime(v)
	case []byte:
		*s.t = parseTime(string(v))
	case nil:
		*s.t = time.Time{}
	default:
		return fmt.Errorf("a time stored as %T", src)
	}
	return nil
}

// document reads and writes an optional value as JSON text, "" for none.
type document[T any] struct{ p **T }

// Value implements driver.Valuer.
func (d document[T]) Value() (driver.Value, error) {
	if *d.p == nil {
		return "", nil
	}
	b, err := json.Marshal(*d.p)
	return string(b), err
}

// Scan implements sql.Scanner.
func (d document[T]) Scan(src any) error {
	var text string
	switch v := src.(type) {
	case string:
		text = v
	case []byte:
		text = string(v)
	case nil:
	default:
		return fmt.Errorf("a document stored as %T", src)
	}
	if text == "" {
		*d.p = nil
		return nil
	}
	v := new(T)
	if err := json.Unmarshal([]byte(text), v); err != nil {
		return fmt.Errorf("a stored document is unreadable: %w", err)
	}
	*d.p = v
	return nil
}

// counter reads and writes a count that only grows as the signed integer
// SQL keeps (a negative one, which cannot be, reads as 0).
type counter struct{ n *uint64 }

// Value implements driver.Valuer.
func (c counter) Value() (driver.Value, error) {
	return int64(*c.n), nil //nolint:gosec // counters stay far below 2^63
}

// Scan implements sql.Scanner.
func (c counter) Scan(src any) error {
	v, ok := src.(int64)
	if !ok && src != nil {
		return fmt.Errorf("a count stored as %T", src)
	}
	*c.n = uint64(max(v, 0))
	return nil
}

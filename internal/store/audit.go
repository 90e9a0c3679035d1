package store

import (
	"context"
	"strings"

	"github.com/sluice-video/sluice/internal/auth"
)

// auditKept is how many entries the audit log keeps; older ones are
// removed as new ones come, every auditPruneEvery entries.
const (
	auditKept       = 100_000
	auditPruneEvery = 500
)

// AddAudit appends an entry to the audit log.
func (s *Store) AddAudit(ctx context.Context, e auth.AuditEntry) error {
	var seq int64
	err := s.again(ctx, func(ctx context.Context) error {
		return s.db.QueryRowContext(ctx, s.rebind(`INSERT INTO audit_log (at, actor, actor_kind, method, route, kind, name, status, address)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq`),
			sortableTime(e.At), e.Actor, string(e.ActorKind), e.Method, e.Route, e.Kind, e.Name, e.Status, e.Address).Scan(&seq)
	})
	if err != nil || seq%auditPruneEvery != 0 {
		return err
	}
	return s.again(ctx, func(ctx context.Context) error {
		_, err := s.db.ExecContext(ctx, s.rebind(`DELETE FROM audit_log WHERE seq <= ?`), seq-auditKept)
		return err
	})
}

// ListAudit returns audit entries, newest first, filtered and paged by q.
func (s *Store) ListAudit(ctx context.Context, q auth.AuditQuery) ([]auth.AuditEntry, error) {
	var where []string
	var args []any
	if q.Actor != "" {
		where, args = append(where, "actor = ?"), append(args, q.Actor)
	}
	if q.Kind != "" {
		where, args = append(where, "kind = ?"), append(args, q.Kind)
	}
	if !q.Since.IsZero() {
		where, args = append(where, "at >= ?"), append(args, sortableTime(q.Since))
	}
	if !q.Until.IsZero() {
		where, args = append(where, "at < ?"), append(args, sortableTime(q.Until))
	}
	if q.Before > 0 {
		where, args = append(where, "seq < ?"), append(args, q.Before)
	}
	stmt := `SELECT seq, at, actor, actor_kind, method, route, kind, name, status, address FROM audit_log`
	if len(where) > 0 {
		stmt += " WHERE " + strings.Join(where, " AND ")
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	stmt += " ORDER BY seq DESC LIMIT ?"
	args = append(args, limit)
	var out []auth.AuditEntry
	err := s.query(ctx, func() { out = []auth.AuditEntry{} }, func(sc scanner) error {
		var e auth.AuditEntry
		err := sc.Scan(&e.Seq, stamp{&e.At}, &e.Actor, (*string)(&e.ActorKind), &e.Method, &e.Route, &e.Kind, &e.Name, &e.Status, &e.Address)
		out = append(out, e)
		return err
	}, stmt, args...)
	return out, err
}

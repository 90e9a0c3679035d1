package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Every statement about the nodes of a cluster is in this file: a node's
// registration, heartbeat and goodbye, and the list of nodes. Their times
// are the database's clock.

// NodeRecord is a node's row.
type NodeRecord struct {
	ID        string
	Advertise string
	// Incarnation tells one process of a node id from the next.
	Incarnation   string
	MaxChannels   int
	Version       string
	Stopped       bool
	StartedAt     time.Time
	LastHeartbeat time.Time
}

// ErrNodeTaken is a heartbeat's or a goodbye's answer when the node's row
// belongs to another process now: it went stale and another process with
// the same id took it.
var ErrNodeTaken = errors.New("the node's row belongs to another process with the same id")

// pgNodeLock is the PostgreSQL advisory lock held while a node registers,
// so that two nodes registering at once see each other.
const pgNodeLock int64 = 0x736c75696365_0002 // "sluice", 2

// ClaimNode registers a node unless another process holds its id, or
// another node its advertised URL (when it has one), with a heartbeat
// fresher than fresh (and no goodbye). It returns the blocking node's row, or nil when the
// row is now n's (started and heartbeat now, on the database's clock).
func (s *Store) ClaimNode(ctx context.Context, n NodeRecord, fresh time.Duration) (*NodeRecord, error) {
	var clash *NodeRecord
	d := s.dialect
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		clash = nil
		if d == postgresDialect {
			if _, err := tx.ExecContext(ctx, s.rebind("SELECT pg_advisory_xact_lock(?)"), pgNodeLock); err != nil {
				return err
			}
		}
		row := tx.QueryRowContext(ctx, s.rebind(`SELECT `+nodeColumns+` FROM nodes
			WHERE (id = ? OR (advertise = ? AND advertise <> '')) AND incarnation <> ? AND state <> 'STOPPED' AND heartbeat_at > `+d.nowPlus()+`
			ORDER BY id LIMIT 1`), n.ID, n.Advertise, n.Incarnation, d.span(-fresh))
		other, err := scanNode(row)
		switch {
		case err == nil:
			clash = &other
			return nil
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		_, err = tx.ExecContext(ctx, s.rebind(`INSERT INTO nodes (id, advertise, incarnation, max_channels, version, state, started_at, heartbeat_at, stopped_at)
			VALUES (?, ?, ?, ?, ?, 'LIVE', `+d.now()+`, `+d.now()+`, NULL)
			ON CONFLICT (id) DO UPDATE SET advertise = excluded.advertise, incarnation = excluded.incarnation,
				max_channels = excluded.max_channels, version = excluded.version, state = 'LIVE',
				started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at, stopped_at = NULL`),
			n.ID, n.Advertise, n.Incarnation, n.MaxChannels, n.Version)
		return err
	})
	return clash, err
}

// GetNode returns a node's row.
func (s *Store) GetNode(ctx context.Context, id string) (NodeRecord, error) {
	var n NodeRecord
	err := s.again(ctx, func(ctx context.Context) error {
		var err error
		n, err = scanNode(s.db.QueryRowContext(ctx, s.rebind(`SELECT `+nodeColumns+` FROM nodes WHERE id = ?`), id))
		return notFoundIfNoRows(err, "node", id)
	})
	return n, err
}

// Heartbeat renews a node's row and returns the database's time of it;
// ErrNodeTaken when the row is another process's now.
func (s *Store) Heartbeat(ctx context.Context, id, incarnation string) (time.Time, error) {
	var at time.Time
	err := s.again(ctx, func(ctx context.Context) error {
		err := s.db.QueryRowContext(ctx, s.rebind(`UPDATE nodes SET heartbeat_at = `+s.dialect.now()+`
			WHERE id = ? AND incarnation = ? RETURNING heartbeat_at`), id, incarnation).Scan(dbTime{&at})
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNodeTaken
		}
		return err
	})
	return at, err
}

// NodeLeaving marks a node's row STOPPED while it stops its channels, and
// wakes every node: placement no longer chooses it, so the channels it
// lets go one by one are taken by the others at once.
func (s *Store) NodeLeaving(ctx context.Context, id, incarnation string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.rebind(`UPDATE nodes SET state = 'STOPPED', stopped_at = `+s.dialect.now()+`
			WHERE id = ? AND incarnation = ?`), id, incarnation)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNodeTaken
		}
		return s.notify(ctx, tx, "leaving "+id)
	})
}

// NodeGoodbye marks a node's row STOPPED and releases its leases at once,
// together, and wakes the other nodes, which take its channels.
func (s *Store) NodeGoodbye(ctx context.Context, id, incarnation string) error {
	d := s.dialect
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.rebind(`UPDATE channel_leases SET expires_at = `+d.now()+`, status = '', incarnation = ''
			WHERE holder = ? AND incarnation = ? AND expires_at > `+d.now()), id, incarnation); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, s.rebind(`UPDATE nodes SET state = 'STOPPED', stopped_at = `+d.now()+`
			WHERE id = ? AND incarnation = ?`), id, incarnation)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNodeTaken
		}
		return s.notify(ctx, tx, "node "+id)
	})
}

// ListNodes returns every node's row, by id, and the database's time of
// the reading.
func (s *Store) ListNodes(ctx context.Context) ([]NodeRecord, time.Time, error) {
	var (
		out []NodeRecord
		now time.Time
	)
	err := s.again(ctx, func(ctx context.Context) error {
		if err := s.db.QueryRowContext(ctx, "SELECT "+s.dialect.now()).Scan(dbTime{&now}); err != nil {
			return err
		}
		out = []NodeRecord{}
		rows, err := s.db.QueryContext(ctx, `SELECT `+nodeColumns+` FROM nodes ORDER BY id`)
		if err != nil {
			return err
		}
		defer func() { _ = rows.Close() }()
		for rows.Next() {
			n, err := scanNode(rows)
			if err != nil {
				return err
			}
			out = append(out, n)
		}
		return rows.Err()
	})
	return out, now, err
}

// DatabaseTime is the database's clock now.
func (s *Store) DatabaseTime(ctx context.Context) (time.Time, error) {
	var now time.Time
	err := s.again(ctx, func(ctx context.Context) error {
		return s.db.QueryRowContext(ctx, "SELECT "+s.dialect.now()).Scan(dbTime{&now})
	})
	return now, err
}

const nodeColumns = `id, advertise, incarnation, max_channels, version, state, started_at, heartbeat_at`

func scanNode(sc scanner) (NodeRecord, error) {
	var (
		n     NodeRecord
		state string
	)
	err := sc.Scan(&n.ID, &n.Advertise, &n.Incarnation, &n.MaxChannels, &n.Version, &state, dbTime{&n.StartedAt}, dbTime{&n.LastHeartbeat})
	n.Stopped = state == "STOPPED"
	return n, err
}

// notifyChannel is the PostgreSQL notification channel that wakes every
// node: a command, a change of a channel, a lease taken or given up, a
// node that said goodbye. Its payload says what, for logs.
const notifyChannel = "sluice_cluster"

// NotifyChannel is the name nodes LISTEN on.
func NotifyChannel() string { return notifyChannel }

// notify wakes every node when tx commits (PostgreSQL; nothing on SQLite,
// whose single server has no one to wake).
func (s *Store) notify(ctx context.Context, tx *sql.Tx, what string) error {
	if s.dialect != postgresDialect {
		return nil
	}
	_, err := tx.ExecContext(ctx, s.rebind("SELECT pg_notify(?, ?)"), notifyChannel, what)
	return err
}

// dbTime reads a time of the database's clock: a timestamptz on
// PostgreSQL, TEXT on SQLite.
type dbTime struct{ t *time.Time }

// Scan implements sql.Scanner.
func (d dbTime) Scan(src any) error {
	switch v := src.(type) {
	case time.Time:
		*d.t = v.UTC()
	case string:
		*d.t = parseTime(v)
	case []byte:
		*d.t = parseTime(string(v))
	case nil:
		*d.t = time.Time{}
	default:
		return fmt.Errorf("a time stored as %T", src)
	}
	return nil
}

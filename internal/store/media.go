package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"slices"
	"time"
)

// Every write of the media side of a cluster is in this file: which nodes
// each push input's publishers are connected to, and the DVR archives' index
// (their objects are on shared storage), whose writes are fenced by the
// writer's lease of the channel.

// SetInputPublisher records that a publisher of the input is connected to
// node, since now. Other nodes keep their records: a publisher may send
// to two nodes at once (one per pipeline of a STANDARD channel).
func (s *Store) SetInputPublisher(ctx context.Context, inputID, node string) error {
	return s.again(ctx, func(ctx context.Context) error {
		_, err := s.db.ExecContext(ctx, s.rebind(`INSERT INTO input_publishers (input_id, node_id, since) VALUES (?, ?, ?)
			ON CONFLICT (input_id, node_id) DO UPDATE SET since = excluded.since`),
			inputID, node, sortableTime(time.Now()))
		return err
	})
}

// ClaimInputPublisher records that a publisher of the input is connected
// to node unless a record names another of the nodes in live (nodes whose
// publishers count: a record of a node that died is not in the way). When
// another node has the input, it returns that node and false. Claims of
// one input are made one at a time (a lock of the input on PostgreSQL;
// SQLite's transactions are serialised already), so that of two nodes
// claiming it at once one wins: inputs that take one publisher across a
// cluster (WHIP) are claimed this way.
func (s *Store) ClaimInputPublisher(ctx context.Context, inputID, node string, live []string) (string, bool, error) {
	var holder string
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		holder = ""
		if s.dialect == postgresDialect {
			if _, err := tx.ExecContext(ctx, s.rebind("SELECT pg_advisory_xact_lock(?, hashtext(?))"), pgPublisherLockClass, inputID); err != nil {
				return err
			}
		}
		rows, err := tx.QueryContext(ctx, s.rebind(`SELECT node_id FROM input_publishers WHERE input_id = ? ORDER BY since DESC, node_id`), inputID)
		if err != nil {
			return err
		}
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				_ = rows.Close()
				return err
			}
			if n != node && holder == "" && slices.Contains(live, n) {
				holder = n
			}
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return err
		}
		if holder != "" {
			return nil
		}
		_, err = tx.ExecContext(ctx, s.rebind(`INSERT INTO input_publishers (input_id, node_id, since) VALUES (?, ?, ?)
			ON CONFLICT (input_id, node_id) DO UPDATE SET since = excluded.since`), inputID, node, sortableTime(time.Now()))
		return err
	})
	if err != nil {
		return "", false, err
	}
	if holder != "" {
		return holder, false, nil
	}
	return node, true, nil
}

// pgPublisherLockClass is the first key of the advisory locks that make
// the claims of one input one at a time (the second is a hash of the
// input's id); the two-key locks are apart from the one-key locks of
// migrations, nodes and users.
const pgPublisherLockClass int32 = 0x736c7501 // "slu", 1

// ClearInputPublisher removes the input's record if it names node: a
// publisher that left node, or a record of an earlier run of node.
func (s *Store) ClearInputPublisher(ctx context.Context, inputID, node string) error {
	return s.again(ctx, func(ctx context.Context) error {
		_, err := s.db.ExecContext(ctx, s.rebind(`DELETE FROM input_publishers WHERE input_id = ? AND node_id = ?`), inputID, node)
		return err
	})
}

// NodeInputPublishers lists the inputs, by id, recorded as published on
// node.
func (s *Store) NodeInputPublishers(ctx context.Context, node string) ([]string, error) {
	var out []string
	err := s.query(ctx, func() { out = nil }, func(sc scanner) error {
		var id string
		if err := sc.Scan(&id); err != nil {
			return err
		}
		out = append(out, id)
		return nil
	}, `SELECT input_id FROM input_publishers WHERE node_id = ? ORDER BY input_id`, node)
	return out, err
}

// InputPublisher returns the node the input's newest publisher is
// recorded on.
func (s *Store) InputPublisher(ctx context.Context, inputID string) (string, bool, error) {
	nodes, err := s.InputPublishers(ctx, inputID)
	if err != nil || len(nodes) == 0 {
		return "", false, err
	}
	return nodes[0], true, nil
}

// InputPublishers returns the nodes the input's publishers are recorded
// on, the newest publisher first.
func (s *Store) InputPublishers(ctx context.Context, inputID string) ([]string, error) {
	var out []string
	err := s.query(ctx, func() { out = nil }, func(sc scanner) error {
		var node string
		if err := sc.Scan(&node); err != nil {
			return err
		}
		out = append(out, node)
		return nil
	}, `SELECT node_id FROM input_publishers WHERE input_id = ? ORDER BY since DESC, node_id`, inputID)
	return out, err
}

// MediaPorts are the ports a node takes publishers on (0: not served).
type MediaPorts struct {
	RTMP  int `json:"rtmp,omitempty"`
	RTMPS int `json:"rtmps,omitempty"`
	SRT   int `json:"srt,omitempty"`
}

// SetNodeMedia records the ingest ports of node.
func (s *Store) SetNodeMedia(ctx context.Context, node string, p MediaPorts) error {
	b, _ := json.Marshal(p)
	return s.again(ctx, func(ctx context.Context) error {
		_, err := s.db.ExecContext(ctx, s.rebind(`INSERT INTO node_media (node_id, ports) VALUES (?, ?)
			ON CONFLICT (node_id) DO UPDATE SET ports = excluded.ports`), node, string(b))
		return err
	})
}

// ListNodeMedia returns the ingest ports of every node that recorded them.
func (s *Store) ListNodeMedia(ctx context.Context) (map[string]MediaPorts, error) {
	var out map[string]MediaPorts
	err := s.query(ctx, func() { out = map[string]MediaPorts{} }, func(sc scanner) error {
		var node, ports string
		if err := sc.Scan(&node, &ports); err != nil {
			return err
		}
		var p MediaPorts
		if json.Unmarshal([]byte(ports), &p) == nil {
			out[node] = p
		}
		return nil
	}, `SELECT node_id, ports FROM node_media`)
	return out, err
}

// DVRIndex is a DVR archive's index as stored: its description (meta)
// and its entries, oldest first.
type DVRIndex struct {
	Meta    string
	Epoch   uint64
	Entries []DVREntry
}

// DVREntry is one archived segment number: the epoch of the holder that
// wrote its objects, and the entry itself (JSON the archive reads).
type DVREntry struct {
	Number uint64
	Epoch  uint64
	Entry  string
}

// LoadDVR reads a channel's archive index; an archive never written is
// empty.
func (s *Store) LoadDVR(ctx context.Context, channel string) (DVRIndex, error) {
	var ix DVRIndex
	err := s.again(ctx, func(ctx context.Context) error {
		ix = DVRIndex{}
		err := s.db.QueryRowContext(ctx, s.rebind(`SELECT meta, epoch FROM dvr_archives WHERE channel = ?`), channel).Scan(&ix.Meta, counter{&ix.Epoch})
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		rows, err := s.db.QueryContext(ctx, s.rebind(`SELECT number, epoch, entry FROM dvr_segments WHERE channel = ? ORDER BY number`), channel)
		if err != nil {
			return err
		}
		defer func() { _ = rows.Close() }()
		for rows.Next() {
			var e DVREntry
			if err := rows.Scan(counter{&e.Number}, counter{&e.Epoch}, &e.Entry); err != nil {
				return err
			}
			ix.Entries = append(ix.Entries, e)
		}
		return rows.Err()
	})
	return ix, err
}

// ResetDVR starts a channel's archive afresh with a new description (its
// renditions or media time origin changed): every entry goes. Fenced by
// the holder's lease of the channel (channelID).
func (s *Store) ResetDVR(ctx context.Context, channelID, channel, meta string, f Fence) error {
	return s.inFencedTx(ctx, channelID, f, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM dvr_segments WHERE channel = ?`), channel); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO dvr_archives (channel, meta, epoch) VALUES (?, ?, ?)
			ON CONFLICT (channel) DO UPDATE SET meta = excluded.meta, epoch = excluded.epoch`), channel, meta, counter{&f.Epoch})
		return err
	})
}

// AddDVR makes entries of a channel's archive visible, together: their
// objects are stored already, under the writer's epoch. Fenced by the
// holder's lease: a writer that lost the channel adds nothing
// (ErrFenced), so what it stored stays invisible. A number already listed
// keeps its first entry.
func (s *Store) AddDVR(ctx context.Context, channelID, channel string, f Fence, entries []DVREntry) error {
	return s.inFencedTx(ctx, channelID, f, func(tx *sql.Tx) error {
		for _, e := range entries {
			if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO dvr_segments (channel, number, epoch, entry) VALUES (?, ?, ?, ?)
				ON CONFLICT (channel, number) DO NOTHING`), channel, counter{&e.Number}, counter{&e.Epoch}, e.Entry); err != nil {
				return err
			}
		}
		return nil
	})
}

// TrimDVR removes the entries of a channel's archive numbered below
// first (retention). Fenced by the holder's lease.
func (s *Store) TrimDVR(ctx context.Context, channelID, channel string, f Fence, first uint64) error {
	return s.inFencedTx(ctx, channelID, f, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM dvr_segments WHERE channel = ? AND number < ?`), channel, counter{&first})
		return err
	})
}

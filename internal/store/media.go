package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// Every write of the media side of a cluster is in this file: which node
// each push input's publisher is connected to, and the DVR archives' index
// (their objects are on shared storage), whose writes are fenced by the
// writer's lease of the channel.

// SetInputPublisher records that the publisher of the input is connected
// to node, replacing the record of any other node.
func (s *Store) SetInputPublisher(ctx context.Context, inputID, node string) error {
	return s.again(ctx, func(ctx context.Context) error {
		_, err := s.db.ExecContext(ctx, s.rebind(`INSERT INTO input_publishers (input_id, node_id, since) VALUES (?, ?, ?)
			ON CONFLICT (input_id) DO UPDATE SET node_id = excluded.node_id, since = excluded.since`),
			inputID, node, formatTime(time.Now()))
		return err
	})
}

// ClaimInputPublisher records that the publisher of the input is connected
// to node unless the record names another of the nodes in live (nodes
// whose publishers count: a record of a node that died is taken over).
// When another node has the input, it returns that node and false. The
// check and the write are one statement, so that of two nodes claiming
// the same input at once one wins.
func (s *Store) ClaimInputPublisher(ctx context.Context, inputID, node string, live []string) (string, bool, error) {
	q := `INSERT INTO input_publishers (input_id, node_id, since) VALUES (?, ?, ?)
		ON CONFLICT (input_id) DO UPDATE SET node_id = excluded.node_id, since = excluded.since`
	args := []any{inputID, node, formatTime(time.Now())}
	var others []string
	for _, n := range live {
		if n != node {
			others = append(others, n)
		}
	}
	if len(others) > 0 {
		q += ` WHERE input_publishers.node_id = excluded.node_id OR input_publishers.node_id NOT IN (?` + strings.Repeat(", ?", len(others)-1) + `)`
		for _, n := range others {
			args = append(args, n)
		}
	}
	var holder string
	claimed := false
	err := s.again(ctx, func(ctx context.Context) error {
		res, err := s.db.ExecContext(ctx, s.rebind(q), args...)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n > 0 {
			claimed = err == nil
			return err
		}
		err = s.db.QueryRowContext(ctx, s.rebind(`SELECT node_id FROM input_publishers WHERE input_id = ?`), inputID).Scan(&holder)
		if errors.Is(err, sql.ErrNoRows) {
			return errors.New("the record of the input's publisher changed while it was claimed")
		}
		return err
	})
	if err != nil {
		return "", false, err
	}
	if claimed {
		return node, true, nil
	}
	return holder, false, nil
}

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

// InputPublisher returns the node the input's publisher is recorded on.
func (s *Store) InputPublisher(ctx context.Context, inputID string) (string, bool, error) {
	var node string
	err := s.again(ctx, func(ctx context.Context) error {
		return s.db.QueryRowContext(ctx, s.rebind(`SELECT node_id FROM input_publishers WHERE input_id = ?`), inputID).Scan(&node)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	return node, err == nil, err
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

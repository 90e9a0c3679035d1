package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Every write of the media side of a cluster is in this file: which node
// each push input's publisher is connected to, and the DVR archives' index
// (their objects are on shared storage), whose writes are fenced by the
// writer's epoch.

// ErrStaleEpoch is the error of a fenced write made with an epoch older
// than the channel's newest: another node holds the channel now, and
// what the writer made must stay invisible.
var ErrStaleEpoch = errors.New("a newer holder of the channel has written since")

// SetInputPublisher records that the publisher of the input is connected
// to node, replacing the record of any other node.
func (s *Store) SetInputPublisher(ctx context.Context, inputID, node string) error {
	return s.again(ctx, func() error {
		_, err := s.db.ExecContext(ctx, s.rebind(`INSERT INTO input_publishers (input_id, node_id, since) VALUES (?, ?, ?)
			ON CONFLICT (input_id) DO UPDATE SET node_id = excluded.node_id, since = excluded.since`),
			inputID, node, formatTime(time.Now()))
		return err
	})
}

// ClearInputPublisher removes the input's record if it names node: a
// publisher that left node, or a record of an earlier run of node.
func (s *Store) ClearInputPublisher(ctx context.Context, inputID, node string) error {
	return s.again(ctx, func() error {
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
	err := s.again(ctx, func() error {
		return s.db.QueryRowContext(ctx, s.rebind(`SELECT node_id FROM input_publishers WHERE input_id = ?`), inputID).Scan(&node)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	return node, err == nil, err
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

// ClaimDVR makes epoch the newest writer of the channel's archive before
// the holder reads it: from then on, writes with an older epoch (a node
// that lost the channel and does not know yet) change nothing. Claiming an
// epoch older than the newest is ErrStaleEpoch; epoch 0 (a single server)
// claims nothing.
func (s *Store) ClaimDVR(ctx context.Context, channel string, epoch uint64) error {
	if epoch == 0 {
		return nil
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO channel_epochs (channel, epoch) VALUES (?, ?)
			ON CONFLICT (channel) DO UPDATE SET epoch = excluded.epoch WHERE channel_epochs.epoch < excluded.epoch`),
			channel, counter{&epoch}); err != nil {
			return err
		}
		return s.checkEpoch(ctx, tx, channel, epoch)
	})
}

// checkEpoch fails with ErrStaleEpoch unless epoch is the channel's newest
// (epoch 0 is not checked).
func (s *Store) checkEpoch(ctx context.Context, tx *sql.Tx, channel string, epoch uint64) error {
	if epoch == 0 {
		return nil
	}
	var newest uint64
	err := tx.QueryRowContext(ctx, s.rebind(`SELECT epoch FROM channel_epochs WHERE channel = ?`), channel).Scan(counter{&newest})
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("channel %s: epoch %d was never claimed: %w", channel, epoch, ErrStaleEpoch)
	case err != nil:
		return err
	case newest != epoch:
		return fmt.Errorf("channel %s: epoch %d, the newest is %d: %w", channel, epoch, newest, ErrStaleEpoch)
	}
	return nil
}

// LoadDVR reads a channel's archive index; an archive never written is
// empty.
func (s *Store) LoadDVR(ctx context.Context, channel string) (DVRIndex, error) {
	var ix DVRIndex
	err := s.again(ctx, func() error {
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
// epoch.
func (s *Store) ResetDVR(ctx context.Context, channel, meta string, epoch uint64) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.checkEpoch(ctx, tx, channel, epoch); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM dvr_segments WHERE channel = ?`), channel); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO dvr_archives (channel, meta, epoch) VALUES (?, ?, ?)
			ON CONFLICT (channel) DO UPDATE SET meta = excluded.meta, epoch = excluded.epoch`), channel, meta, counter{&epoch})
		return err
	})
}

// AddDVR makes entries of a channel's archive visible, together: their
// objects are stored already, under the writer's epoch. Fenced by epoch:
// a writer that is no longer the newest adds nothing (ErrStaleEpoch). A
// number already listed keeps its first entry.
func (s *Store) AddDVR(ctx context.Context, channel string, epoch uint64, entries []DVREntry) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.checkEpoch(ctx, tx, channel, epoch); err != nil {
			return err
		}
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
// first (retention). Fenced by epoch.
func (s *Store) TrimDVR(ctx context.Context, channel string, epoch, first uint64) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.checkEpoch(ctx, tx, channel, epoch); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM dvr_segments WHERE channel = ? AND number < ?`), channel, counter{&first})
		return err
	})
}

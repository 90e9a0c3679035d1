package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/sluice-video/sluice/internal/resource"
)

// Every statement about channel leases is in this file: acquire, renew,
// release, the holder's status report, the list of live leases, and the
// fence check of a holder's writes. A lease's times are the database's
// clock only: it expires when expires_at is not after the database's now.

// ErrLeaseHeld is AcquireLease's answer when another live lease holds the
// channel.
var ErrLeaseHeld = errors.New("another node holds a live lease of the channel")

// LeaseRecord is a live lease, with what the directory and the API show of
// it.
type LeaseRecord struct {
	ChannelID string
	// Channel is the channel's name; Desired its desired state.
	Channel string
	Desired resource.ChannelState
	Holder  string
	// Advertise is the holder's advertised URL ("" when its node row is
	// gone).
	Advertise string
	Epoch     uint64
	ExpiresAt time.Time
	// Status is the holder's last report of the channel's live figures
	// (JSON, "" before the first), and StatusAt its time on the database's
	// clock.
	Status   string
	StatusAt time.Time
}

// Fence is the lease's fence.
func (l LeaseRecord) Fence() Fence { return Fence{Holder: l.Holder, Epoch: l.Epoch} }

// Acquired is an acquisition's outcome: the new epoch, and the lease
// before it.
type Acquired struct {
	Epoch uint64
	// Previous held the lease before ("" for a first lease); Released is
	// true when it let the lease go, false when the lease expired (a
	// takeover).
	Previous string
	Released bool
}

// AcquireLease gives a channel's lease to holder for ttl, on the
// database's clock, when no live lease holds it: a first lease has epoch
// 1, and every acquisition after (a takeover, or the same node taking it
// again) increments it. ErrLeaseHeld when a live lease holds the channel,
// not found when the channel is gone. Every node is woken.
func (s *Store) AcquireLease(ctx context.Context, channelID, holder, incarnation string, ttl time.Duration) (Acquired, error) {
	d := s.dialect
	var got Acquired
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		got = Acquired{}
		var was string
		err := tx.QueryRowContext(ctx, s.rebind(`SELECT holder, incarnation FROM channel_leases WHERE channel_id = ?`), channelID).Scan(&got.Previous, &was)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		got.Released = got.Previous != "" && was == ""
		err = tx.QueryRowContext(ctx, s.rebind(`INSERT INTO channel_leases (channel_id, holder, incarnation, epoch, acquired_at, expires_at)
			SELECT id, ?, ?, 1, `+d.now()+`, `+d.nowPlus()+` FROM channels WHERE id = ?
			ON CONFLICT (channel_id) DO UPDATE SET holder = excluded.holder, incarnation = excluded.incarnation,
				epoch = channel_leases.epoch + 1, acquired_at = excluded.acquired_at, expires_at = excluded.expires_at,
				status = '', status_at = NULL
			WHERE channel_leases.expires_at <= `+d.now()+`
			RETURNING epoch`), holder, incarnation, d.span(ttl), channelID).Scan(counter{&got.Epoch})
		if errors.Is(err, sql.ErrNoRows) {
			var n int
			if err := tx.QueryRowContext(ctx, s.rebind(`SELECT COUNT(*) FROM channels WHERE id = ?`), channelID).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				return notFound("channel", channelID)
			}
			return ErrLeaseHeld
		}
		if err != nil {
			return err
		}
		return s.notify(ctx, tx, "lease "+channelID)
	})
	return got, err
}

// RenewLeases extends, by ttl from the database's now, the leases of the
// channels named that holder (in this incarnation) holds and that have not
// expired, and returns the renewed ones: channel id → epoch. A lease
// missing from the answer is lost; a lease the holder no longer names is
// not renewed, and expires.
func (s *Store) RenewLeases(ctx context.Context, holder, incarnation string, ttl time.Duration, channelIDs []string) (map[string]uint64, error) {
	d := s.dialect
	out := map[string]uint64{}
	if len(channelIDs) == 0 {
		return out, nil
	}
	args := []any{d.span(ttl), holder, incarnation}
	for _, id := range channelIDs {
		args = append(args, id)
	}
	marks := strings.TrimSuffix(strings.Repeat("?, ", len(channelIDs)), ", ")
	err := s.again(ctx, func(ctx context.Context) error {
		clear(out)
		rows, err := s.db.QueryContext(ctx, s.rebind(`UPDATE channel_leases SET expires_at = `+d.nowPlus()+`
			WHERE holder = ? AND incarnation = ? AND expires_at > `+d.now()+` AND channel_id IN (`+marks+`)
			RETURNING channel_id, epoch`), args...)
		if err != nil {
			return err
		}
		defer func() { _ = rows.Close() }()
		for rows.Next() {
			var (
				id    string
				epoch uint64
			)
			if err := rows.Scan(&id, counter{&epoch}); err != nil {
				return err
			}
			out[id] = epoch
		}
		return rows.Err()
	})
	return out, err
}

// ReleaseLease ends a lease at once, if f still holds it, and wakes every
// node: another may take the channel now. A released lease keeps its
// holder, without an incarnation: the next holder knows it was let go.
func (s *Store) ReleaseLease(ctx context.Context, channelID string, f Fence) error {
	d := s.dialect
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.rebind(`UPDATE channel_leases SET expires_at = `+d.now()+`, status = '', incarnation = ''
			WHERE channel_id = ? AND holder = ? AND epoch = ? AND expires_at > `+d.now()), channelID, f.Holder, counter{&f.Epoch})
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		return s.notify(ctx, tx, "release "+channelID)
	})
}

// SetChannelStatus records the holder's report of a channel's live
// figures (JSON), fenced.
func (s *Store) SetChannelStatus(ctx context.Context, channelID string, f Fence, status string) error {
	d := s.dialect
	return s.again(ctx, func(ctx context.Context) error {
		res, err := s.db.ExecContext(ctx, s.rebind(`UPDATE channel_leases SET status = ?, status_at = `+d.now()+`
			WHERE channel_id = ? AND holder = ? AND epoch = ? AND expires_at > `+d.now()), status, channelID, f.Holder, counter{&f.Epoch})
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrFenced
		}
		return nil
	})
}

// ListLeases returns the live leases, by channel name.
func (s *Store) ListLeases(ctx context.Context) ([]LeaseRecord, error) {
	d := s.dialect
	var out []LeaseRecord
	err := s.query(ctx, func() { out = []LeaseRecord{} }, func(sc scanner) error {
		var l LeaseRecord
		if err := sc.Scan(&l.ChannelID, &l.Channel, &l.Desired, &l.Holder, &l.Advertise, counter{&l.Epoch},
			dbTime{&l.ExpiresAt}, &l.Status, dbTime{&l.StatusAt}); err != nil {
			return err
		}
		out = append(out, l)
		return nil
	}, `SELECT l.channel_id, c.name, c.desired, l.holder, COALESCE(n.advertise, ''), l.epoch, l.expires_at, l.status, l.status_at
		FROM channel_leases l JOIN channels c ON c.id = l.channel_id LEFT JOIN nodes n ON n.id = l.holder
		WHERE l.expires_at > `+d.now()+` ORDER BY c.name`)
	return out, err
}

// ChannelHold is what a node's follower reads of every channel on each
// pass: its state, what it should be, the generation of its spec and who
// holds it.
type ChannelHold struct {
	ID, Name   string
	State      resource.ChannelState
	Desired    resource.ChannelState
	Generation uint64
	// Restarts counts the restarts asked for (RequestChannelRestart).
	Restarts uint64
	// Holder and Epoch are the channel's live lease ("" and 0 when no
	// live lease holds it).
	Holder string
	Epoch  uint64
}

// ListChannelHolds returns every channel's hold, by name.
func (s *Store) ListChannelHolds(ctx context.Context) ([]ChannelHold, error) {
	d := s.dialect
	var out []ChannelHold
	err := s.query(ctx, func() { out = []ChannelHold{} }, func(sc scanner) error {
		var h ChannelHold
		if err := sc.Scan(&h.ID, &h.Name, &h.State, &h.Desired, counter{&h.Generation}, counter{&h.Restarts}, &h.Holder, counter{&h.Epoch}); err != nil {
			return err
		}
		out = append(out, h)
		return nil
	}, `SELECT c.id, c.name, c.state, c.desired, c.generation, c.restarts, COALESCE(l.holder, ''), COALESCE(l.epoch, 0)
		FROM channels c LEFT JOIN channel_leases l ON l.channel_id = c.id AND l.expires_at > `+d.now()+`
		ORDER BY c.name`)
	return out, err
}

// checkFence refuses, with ErrFenced, a write of tx for a channel whose
// live lease is not f's, and on PostgreSQL locks the lease row until tx
// ends so that no takeover commits between the check and the write. The
// zero Fence (a single server) is not checked.
func (s *Store) checkFence(ctx context.Context, tx *sql.Tx, channelID string, f Fence) error {
	if f.IsZero() {
		return nil
	}
	var epoch uint64
	err := tx.QueryRowContext(ctx, s.rebind(`SELECT epoch FROM channel_leases
		WHERE channel_id = ? AND holder = ? AND epoch = ? AND expires_at > `+s.dialect.now()+s.dialect.forShare()),
		channelID, f.Holder, counter{&f.Epoch}).Scan(counter{&epoch})
	if errors.Is(err, sql.ErrNoRows) {
		return ErrFenced
	}
	return err
}

// inFencedTx runs fn in a transaction that first checks f (checkFence):
// fn's writes are made only while f holds the channel's lease.
func (s *Store) inFencedTx(ctx context.Context, channelID string, f Fence, fn func(tx *sql.Tx) error) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.checkFence(ctx, tx, channelID, f); err != nil {
			return err
		}
		return fn(tx)
	})
}

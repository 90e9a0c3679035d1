package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sluice-video/sluice/internal/resource"
)

// Every statement about channel leases is in this file: acquire, renew,
// release, the holder's status report, the list of live leases, and the
// fence check of a holder's writes. A lease's times are the database's
// clock only: it expires when expires_at is not after the database's now.
//
// A lease is a pipeline's: (channel, pipeline index). Pipeline 0's lease
// is the channel's own (a SINGLE_PIPELINE channel has no other): its
// holder writes the channel's state. A STANDARD channel's pipeline 1 has a
// lease of its own, held by another node when there is one.

// ErrLeaseHeld is AcquireLease's answer when another live lease holds the
// channel.
var ErrLeaseHeld = errors.New("another node holds a live lease of the channel")

// LeaseKey names the lease of one pipeline of a channel.
type LeaseKey struct {
	ChannelID string
	Pipeline  int
}

// LeaseRecord is a live lease, with what the directory and the API show of
// it.
type LeaseRecord struct {
	ChannelID string
	// Pipeline is the index of the pipeline whose lease it is.
	Pipeline int
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
func (l LeaseRecord) Fence() Fence {
	return Fence{Holder: l.Holder, Epoch: l.Epoch, Pipeline: l.Pipeline}
}

// Key is the lease's key.
func (l LeaseRecord) Key() LeaseKey { return LeaseKey{ChannelID: l.ChannelID, Pipeline: l.Pipeline} }

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

// AcquireLease gives the lease of a channel's pipeline 0 (the channel's
// own) to holder: AcquirePipelineLease of pipeline 0.
func (s *Store) AcquireLease(ctx context.Context, channelID, holder, incarnation string, ttl time.Duration) (Acquired, error) {
	return s.AcquirePipelineLease(ctx, LeaseKey{ChannelID: channelID}, holder, incarnation, ttl)
}

// AcquirePipelineLease gives the lease of a channel's pipeline to holder
// for ttl, on the database's clock, when no live lease holds it: a first
// lease has epoch 1, and every acquisition after (a takeover, or the same
// node taking it again) increments it. ErrLeaseHeld when a live lease
// holds the pipeline, not found when the channel is gone. Every node is
// woken.
func (s *Store) AcquirePipelineLease(ctx context.Context, key LeaseKey, holder, incarnation string, ttl time.Duration) (Acquired, error) {
	d := s.dialect
	channelID := key.ChannelID
	var got Acquired
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		got = Acquired{}
		var was string
		err := tx.QueryRowContext(ctx, s.rebind(`SELECT holder, incarnation FROM channel_leases WHERE channel_id = ? AND pipeline = ?`), channelID, key.Pipeline).Scan(&got.Previous, &was)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		got.Released = got.Previous != "" && was == ""
		err = tx.QueryRowContext(ctx, s.rebind(`INSERT INTO channel_leases (channel_id, pipeline, holder, incarnation, epoch, acquired_at, expires_at)
			SELECT id, ?, ?, ?, 1, `+d.now()+`, `+d.nowPlus()+` FROM channels WHERE id = ?
			ON CONFLICT (channel_id, pipeline) DO UPDATE SET holder = excluded.holder, incarnation = excluded.incarnation,
				epoch = channel_leases.epoch + 1, acquired_at = excluded.acquired_at, expires_at = excluded.expires_at,
				status = '', status_at = NULL
			WHERE channel_leases.expires_at <= `+d.now()+`
			RETURNING epoch`), key.Pipeline, holder, incarnation, d.span(ttl), channelID).Scan(counter{&got.Epoch})
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
		return s.notify(ctx, tx, fmt.Sprintf("lease %s/%d", channelID, key.Pipeline))
	})
	return got, err
}

// RenewLeases extends, by ttl from the database's now, the leases named
// that holder (in this incarnation) holds and that have not expired, and
// returns the renewed ones with their epochs. A lease missing from the
// answer is lost; a lease the holder no longer names is not renewed, and
// expires.
func (s *Store) RenewLeases(ctx context.Context, holder, incarnation string, ttl time.Duration, keys []LeaseKey) (map[LeaseKey]uint64, error) {
	d := s.dialect
	out := map[LeaseKey]uint64{}
	if len(keys) == 0 {
		return out, nil
	}
	args := []any{d.span(ttl), holder, incarnation}
	for _, k := range keys {
		args = append(args, k.ChannelID, k.Pipeline)
	}
	marks := strings.TrimSuffix(strings.Repeat("(?, ?), ", len(keys)), ", ")
	err := s.again(ctx, func(ctx context.Context) error {
		clear(out)
		rows, err := s.db.QueryContext(ctx, s.rebind(`UPDATE channel_leases SET expires_at = `+d.nowPlus()+`
			WHERE holder = ? AND incarnation = ? AND expires_at > `+d.now()+` AND (channel_id, pipeline) IN (`+marks+`)
			RETURNING channel_id, pipeline, epoch`), args...)
		if err != nil {
			return err
		}
		defer func() { _ = rows.Close() }()
		for rows.Next() {
			var (
				k     LeaseKey
				epoch uint64
			)
			if err := rows.Scan(&k.ChannelID, &k.Pipeline, counter{&epoch}); err != nil {
				return err
			}
			out[k] = epoch
		}
		return rows.Err()
	})
	return out, err
}

// ReleaseLease ends the lease of f's pipeline of a channel at once, if f
// still holds it, and wakes every node: another may take it now. A
// released lease keeps its holder, without an incarnation: the next holder
// knows it was let go.
func (s *Store) ReleaseLease(ctx context.Context, channelID string, f Fence) error {
	d := s.dialect
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.rebind(`UPDATE channel_leases SET expires_at = `+d.now()+`, status = '', incarnation = ''
			WHERE channel_id = ? AND pipeline = ? AND holder = ? AND epoch = ? AND expires_at > `+d.now()), channelID, f.Pipeline, f.Holder, counter{&f.Epoch})
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		return s.notify(ctx, tx, fmt.Sprintf("release %s/%d", channelID, f.Pipeline))
	})
}

// SetChannelStatus records the holder's report of the live figures (JSON)
// of f's pipeline of a channel, fenced by that pipeline's lease.
func (s *Store) SetChannelStatus(ctx context.Context, channelID string, f Fence, status string) error {
	d := s.dialect
	return s.again(ctx, func(ctx context.Context) error {
		res, err := s.db.ExecContext(ctx, s.rebind(`UPDATE channel_leases SET status = ?, status_at = `+d.now()+`
			WHERE channel_id = ? AND pipeline = ? AND holder = ? AND epoch = ? AND expires_at > `+d.now()), status, channelID, f.Pipeline, f.Holder, counter{&f.Epoch})
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrFenced
		}
		return nil
	})
}

// ListLeases returns the live leases, by channel name and pipeline.
func (s *Store) ListLeases(ctx context.Context) ([]LeaseRecord, error) {
	d := s.dialect
	var out []LeaseRecord
	err := s.query(ctx, func() { out = []LeaseRecord{} }, func(sc scanner) error {
		var l LeaseRecord
		if err := sc.Scan(&l.ChannelID, &l.Pipeline, &l.Channel, &l.Desired, &l.Holder, &l.Advertise, counter{&l.Epoch},
			dbTime{&l.ExpiresAt}, &l.Status, dbTime{&l.StatusAt}); err != nil {
			return err
		}
		out = append(out, l)
		return nil
	}, `SELECT l.channel_id, l.pipeline, c.name, c.desired, l.holder, COALESCE(n.advertise, ''), l.epoch, l.expires_at, l.status, l.status_at
		FROM channel_leases l JOIN channels c ON c.id = l.channel_id LEFT JOIN nodes n ON n.id = l.holder
		WHERE l.expires_at > `+d.now()+` ORDER BY c.name, l.pipeline`)
	return out, err
}

// ChannelHold is what a node's follower reads of every channel on each
// pass: its state, what it should be, the generation of its spec, how many
// pipelines it runs and who holds each.
type ChannelHold struct {
	ID, Name   string
	State      resource.ChannelState
	Desired    resource.ChannelState
	Generation uint64
	// Restarts counts the restarts asked for (RequestChannelRestart).
	Restarts uint64
	// Pipelines is how many pipelines the channel's spec runs (1, or 2
	// for a STANDARD channel).
	Pipelines int
	// Holder and Epoch are the live lease of pipeline 0, the channel's
	// own ("" and 0 when no live lease holds it).
	Holder string
	Epoch  uint64
	// Holders are the live leases of its pipelines by index, pipeline 0
	// included ("" for a pipeline no live lease holds); at least
	// Pipelines long.
	Holders []PipelineHolder
}

// PipelineHolder is the live lease of one pipeline of a channel.
type PipelineHolder struct {
	Holder string
	Epoch  uint64
}

// HolderOf is the node that holds pipeline i's live lease ("" when none).
func (h ChannelHold) HolderOf(i int) string {
	if i < 0 || i >= len(h.Holders) {
		return ""
	}
	return h.Holders[i].Holder
}

// ListChannelHolds returns every channel's hold, by name.
func (s *Store) ListChannelHolds(ctx context.Context) ([]ChannelHold, error) {
	d := s.dialect
	var out []ChannelHold
	err := s.query(ctx, func() { out = []ChannelHold{} }, func(sc scanner) error {
		var (
			h    ChannelHold
			spec string
		)
		if err := sc.Scan(&h.ID, &h.Name, &h.State, &h.Desired, counter{&h.Generation}, counter{&h.Restarts}, &spec); err != nil {
			return err
		}
		var cs resource.ChannelSpec
		_ = json.Unmarshal([]byte(spec), &cs) // a spec that does not read runs one pipeline
		h.Pipelines = cs.PipelineCount()
		h.Holders = make([]PipelineHolder, h.Pipelines)
		out = append(out, h)
		return nil
	}, `SELECT id, name, state, desired, generation, restarts, spec FROM channels ORDER BY name`)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]int, len(out))
	for i, h := range out {
		byID[h.ID] = i
	}
	var leases []LeaseRecord
	err = s.query(ctx, func() { leases = nil }, func(sc scanner) error {
		var l LeaseRecord
		if err := sc.Scan(&l.ChannelID, &l.Pipeline, &l.Holder, counter{&l.Epoch}); err != nil {
			return err
		}
		leases = append(leases, l)
		return nil
	}, `SELECT channel_id, pipeline, holder, epoch FROM channel_leases WHERE expires_at > `+d.now())
	if err != nil {
		return nil, err
	}
	for _, l := range leases {
		i, ok := byID[l.ChannelID]
		if !ok || l.Pipeline < 0 {
			continue
		}
		h := &out[i]
		for len(h.Holders) <= l.Pipeline {
			h.Holders = append(h.Holders, PipelineHolder{})
		}
		h.Holders[l.Pipeline] = PipelineHolder{Holder: l.Holder, Epoch: l.Epoch}
		if l.Pipeline == 0 {
			h.Holder, h.Epoch = l.Holder, l.Epoch
		}
	}
	return out, nil
}

// checkFence refuses, with ErrFenced, a write of tx for a channel whose
// live lease of pipeline 0 (the channel's own) is not f's, and on
// PostgreSQL locks the lease row until tx ends so that no takeover commits
// between the check and the write. The channel's writes are its own
// pipeline's: another pipeline's fence is refused. The zero Fence (a
// single server) is not checked.
func (s *Store) checkFence(ctx context.Context, tx *sql.Tx, channelID string, f Fence) error {
	if f.IsZero() {
		return nil
	}
	if f.Pipeline != 0 {
		return ErrFenced
	}
	var epoch uint64
	err := tx.QueryRowContext(ctx, s.rebind(`SELECT epoch FROM channel_leases
		WHERE channel_id = ? AND pipeline = ? AND holder = ? AND epoch = ? AND expires_at > `+s.dialect.now()+s.dialect.forShare()),
		channelID, f.Pipeline, f.Holder, counter{&f.Epoch}).Scan(counter{&epoch})
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

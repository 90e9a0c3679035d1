package dvr

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-video/sluice/internal/storage"
	"github.com/sluice-video/sluice/internal/store"
)

// Index is the DVR archives' index in the state database, where every
// node of a cluster reads it; its writes are fenced by the writer's lease
// of the channel. *store.Store satisfies it.
type Index interface {
	LoadDVR(ctx context.Context, channel string) (store.DVRIndex, error)
	ResetDVR(ctx context.Context, channelID, channel, meta string, f store.Fence) error
	AddDVR(ctx context.Context, channelID, channel string, f store.Fence, entries []store.DVREntry) error
	TrimDVR(ctx context.Context, channelID, channel string, f store.Fence, first uint64) error
}

// Hold is this node's lease of a channel, as the archive's writer: the
// channel's id and the lease's fence (the zero fence on a single server).
type Hold struct {
	ChannelID string
	Fence     store.Fence
}

// Shared is where the archives of a cluster are: objects on shared
// storage (S3), an index in the state database. An object is keyed with
// the epoch of the lease under which it was written
// (<channel>/<epoch>/<rendition>/<file>), and becomes visible only when
// its entry is added to the index, which refuses a writer whose lease of
// the channel is gone: what a node that lost the channel stores stays
// invisible, and the new holder continues the same archive.
type Shared struct {
	Storage storage.Storage
	Index   Index
	// Timeout bounds one storage or index operation (default 10 s).
	Timeout time.Duration
}

// shared is an archive on Shared, for one channel, written under one
// lease.
type shared struct {
	cfg     Shared
	channel string
	hold    Hold
	logger  *slog.Logger
}

// OpenShared opens a channel's archive on shared storage, to write under
// hold (the holder's lease; its epoch keys the objects it stores) or, when
// readOnly, to read only.
func OpenShared(sh Shared, channel string, hold Hold, readOnly bool, window time.Duration, logger *slog.Logger) (*Archive, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if sh.Timeout <= 0 {
		sh.Timeout = 10 * time.Second
	}
	b := &shared{cfg: sh, channel: channel, hold: hold, logger: logger}
	return newArchive(b, window, readOnly, logger)
}

func (s *shared) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), s.cfg.Timeout)
}

func (s *shared) epoch() uint64 { return s.hold.Fence.Epoch }

// key is an object's key: <channel>/<epoch>/<rendition>/<name>.
func (s *shared) key(epoch uint64, rendition, name string) string {
	return path.Join(s.channel, strconv.FormatUint(epoch, 10), rendition, name)
}

func (s *shared) load() (meta, []Entry, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	ix, err := s.cfg.Index.LoadDVR(ctx, s.channel)
	if err != nil {
		return meta{}, nil, fmt.Errorf("dvr: reading the index of %s: %w", s.channel, err)
	}
	var m meta
	if ix.Meta != "" {
		if err := json.Unmarshal([]byte(ix.Meta), &m); err != nil {
			s.logger.Warn("the DVR archive's description is unreadable; starting the archive afresh", "error", err)
			return meta{}, nil, nil
		}
	}
	entries := make([]Entry, 0, len(ix.Entries))
	for _, row := range ix.Entries {
		var e Entry
		if json.Unmarshal([]byte(row.Entry), &e) != nil {
			continue
		}
		e.Number, e.Epoch = row.Number, row.Epoch
		entries = append(entries, e)
	}
	return m, entries, nil
}

func (s *shared) reset(old, m meta) error {
	b, _ := json.Marshal(m)
	ctx, cancel := s.ctx()
	defer cancel()
	if err := s.fenced(s.cfg.Index.ResetDVR(ctx, s.hold.ChannelID, s.channel, string(b), s.hold.Fence)); err != nil {
		return err
	}
	// The objects of the archive before are of no use any more.
	if len(old.Renditions) > 0 {
		s.removeAll(ctx, func(string) bool { return true })
	}
	return nil
}

func (s *shared) put(rendition, name string, data []byte) error {
	ctx, cancel := s.ctx()
	defer cancel()
	if _, err := s.cfg.Storage.Put(ctx, s.key(s.epoch(), rendition, name), bytes.NewReader(data), int64(len(data))); err != nil {
		return fmt.Errorf("dvr: storing %s/%s: %w", rendition, name, err)
	}
	return nil
}

func (s *shared) get(epoch uint64, rendition, name string) ([]byte, bool) {
	ctx, cancel := s.ctx()
	defer cancel()
	r, _, err := s.cfg.Storage.Get(ctx, s.key(epoch, rendition, name))
	if err != nil {
		if !errors.Is(err, storage.ErrNotFound) {
			s.logger.Error("reading an archived segment failed", "rendition", rendition, "file", name, "error", err)
		}
		return nil, false
	}
	defer func() { _ = r.Close() }()
	b, err := io.ReadAll(r)
	if err != nil {
		s.logger.Error("reading an archived segment failed", "rendition", rendition, "file", name, "error", err)
		return nil, false
	}
	return b, true
}

func (s *shared) commit(entries []Entry) error {
	rows := make([]store.DVREntry, 0, len(entries))
	for _, e := range entries {
		b, _ := json.Marshal(e)
		rows = append(rows, store.DVREntry{Number: e.Number, Epoch: e.Epoch, Entry: string(b)})
	}
	ctx, cancel := s.ctx()
	defer cancel()
	return s.fenced(s.cfg.Index.AddDVR(ctx, s.hold.ChannelID, s.channel, s.hold.Fence, rows))
}

func (s *shared) trim(_ []Entry, lastGone uint64, files []stored) error {
	ctx, cancel := s.ctx()
	defer cancel()
	// The index first: nothing listed ever points at a deleted object.
	if err := s.fenced(s.cfg.Index.TrimDVR(ctx, s.hold.ChannelID, s.channel, s.hold.Fence, lastGone+1)); err != nil {
		return err
	}
	var firstErr error
	for _, f := range files {
		if err := s.cfg.Storage.Delete(ctx, s.key(f.epoch, f.rendition, f.name)); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return firstErr
}

// fenced turns the index's refusal of a stale writer into errFenced.
func (s *shared) fenced(err error) error {
	if errors.Is(err, store.ErrFenced) {
		return fmt.Errorf("%w: %w", errFenced, err)
	}
	return err
}

// sweep deletes the objects of older epochs that no entry lists: what a
// holder stored and could not list before it lost the channel (or the
// index dropped since). Objects of this writer's epoch are left alone.
func (s *shared) sweep(ctx context.Context, listed map[string]bool) int {
	return s.removeAll(ctx, func(key string) bool {
		rest := strings.TrimPrefix(key, s.channel+"/")
		ep, _, _ := strings.Cut(rest, "/")
		n, err := strconv.ParseUint(ep, 10, 64)
		return err == nil && n < s.epoch() && !listed[key]
	})
}

// removeAll deletes the channel's objects that match; it returns how many.
func (s *shared) removeAll(ctx context.Context, match func(key string) bool) int {
	objs, err := s.cfg.Storage.List(ctx, s.channel+"/")
	if err != nil {
		s.logger.Warn("listing the DVR archive's objects failed", "error", err)
		return 0
	}
	n := 0
	for _, o := range objs {
		if !match(o.Key) {
			continue
		}
		if err := s.cfg.Storage.Delete(ctx, o.Key); err != nil {
			s.logger.Warn("deleting an unlisted DVR object failed", "key", o.Key, "error", err)
			continue
		}
		n++
	}
	return n
}

// Sweep deletes the archive's objects on shared storage that older
// writers stored and the index does not list. It does nothing on a local
// archive or a read-only one.
func (a *Archive) Sweep(ctx context.Context) int {
	s, ok := a.store.(*shared)
	a.mu.RLock()
	if !ok || a.readOnly {
		a.mu.RUnlock()
		return 0
	}
	listed := map[string]bool{}
	for _, e := range a.entries {
		for _, r := range a.meta.Renditions {
			listed[s.key(e.Epoch, r.ID, strconv.FormatUint(e.Number, 10)+".m4s")] = true
			listed[s.key(a.inits[initKey(r.ID, e.Run)], r.ID, "init-"+strconv.FormatUint(e.Run, 10)+".mp4")] = true
		}
	}
	a.mu.RUnlock()
	return s.sweep(ctx, listed)
}

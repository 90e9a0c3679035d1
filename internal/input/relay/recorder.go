package relay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"time"

	"github.com/sluice-video/sluice/internal/lifecycle"
	"github.com/sluice-video/sluice/internal/outage"
	"github.com/sluice-video/sluice/internal/store"
)

// PublicationStore keeps which node each input's publisher is connected
// to; *store.Store satisfies it.
type PublicationStore interface {
	// NodeInputPublishers lists the inputs (by id) recorded on node.
	NodeInputPublishers(ctx context.Context, node string) ([]string, error)
	// SetInputPublisher records that the input's publisher is connected
	// to node, replacing any other node's record.
	SetInputPublisher(ctx context.Context, inputID, node string) error
	// ClaimInputPublisher records that the input's publisher is
	// connected to node unless another of the live nodes is recorded,
	// which it then returns with false.
	ClaimInputPublisher(ctx context.Context, inputID, node string, live []string) (string, bool, error)
	// ClearInputPublisher removes the input's record if it names node.
	ClearInputPublisher(ctx context.Context, inputID, node string) error
	// SetNodeMedia records node's ingest ports; ListNodeMedia reads those
	// of every node.
	SetNodeMedia(ctx context.Context, node string, p store.MediaPorts) error
	ListNodeMedia(ctx context.Context) (map[string]store.MediaPorts, error)
}

// Publishing lists the inputs (by id) whose publisher is connected to this
// node, not relayed, each with the start of its session.
type Publishing interface {
	Publishing() map[string]time.Time
}

// Recorder keeps this node's records of its publishers in step with the
// publishers connected to it: a new session is recorded (the holder of
// the input's channel then pulls it from here), an ended one is cleared,
// and records of an earlier run of this node are cleared at start. It
// records the node's ingest ports too, and reads those of the others, so
// that push inputs show an endpoint on every node.
type Recorder struct {
	Self  string
	Store PublicationStore
	Local Publishing
	// Ports are this node's bound ingest ports, asked once started.
	Ports func() store.MediaPorts
	// LiveNodes lists the ids of the cluster's live nodes, for Claim: a
	// record of another node counts only while that node is live.
	LiveNodes func() []string
	// Interval is how often the records are brought in step (default
	// 500 ms).
	Interval time.Duration
	Logger   *slog.Logger

	loop lifecycle.Loop
	// syncMu makes Sync and Claim take turns, so that a sync never
	// clears the record of a claim it did not see.
	syncMu sync.Mutex
	// claims counts, by input id, the claims whose publisher is not on
	// this node's hub yet: their records are kept.
	claims map[string]int
	// written are the sessions recorded, by input id, with their start.
	written      map[string]time.Time
	ticks        int
	portsWritten bool

	mu    sync.Mutex
	ports map[string]store.MediaPorts
}

// portsEvery is how many syncs pass between two readings of the nodes'
// ports.
const portsEvery = 4

// NodePorts returns the ingest ports of every node, as last read.
func (r *Recorder) NodePorts() map[string]store.MediaPorts {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.ports)
}

// syncPorts records this node's ports (the first time) and reads every
// node's.
func (r *Recorder) syncPorts(ctx context.Context) error {
	if r.Ports != nil && !r.portsWritten {
		if err := r.Store.SetNodeMedia(ctx, r.Self, r.Ports()); err != nil {
			return err
		}
		r.portsWritten, r.ticks = true, 0
	}
	if r.ticks%portsEvery == 0 {
		ports, err := r.Store.ListNodeMedia(ctx)
		if err != nil {
			return err
		}
		r.mu.Lock()
		r.ports = ports
		r.mu.Unlock()
	}
	return nil
}

// Start brings the records in step every Interval until Close.
func (r *Recorder) Start(ctx context.Context) error {
	if r.Interval <= 0 {
		r.Interval = 500 * time.Millisecond
	}
	if r.Logger == nil {
		r.Logger = slog.New(slog.DiscardHandler)
	}
	r.written = map[string]time.Time{}
	r.loop.Go(ctx, r.run)
	return nil
}

// Close stops the loop and clears this node's records: its publishers
// are disconnected as the node stops.
func (r *Recorder) Close(ctx context.Context) error {
	if err := r.loop.Stop(ctx); err != nil {
		return err
	}
	if r.written == nil {
		return nil
	}
	for id := range r.written {
		if err := r.Store.ClearInputPublisher(ctx, id, r.Self); err != nil {
			r.Logger.Warn("clearing the record of a publisher failed", "input", id, "error", err)
		}
	}
	return nil
}

// run brings the records in step every Interval. A failure (the state
// database is down) is logged once, and its end once.
func (r *Recorder) run(ctx context.Context) {
	t := time.NewTicker(r.Interval)
	defer t.Stop()
	failures := outage.New(r.Logger, slog.LevelWarn, nil)
	for {
		if err := r.Sync(ctx); ctx.Err() == nil {
			failures.Report(err, "recording the publishers connected to this node failed",
				"recording the publishers connected to this node works again")
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// ErrElsewhere says that an input's publisher is connected to another
// live node.
var ErrElsewhere = errors.New("the input's publisher is connected to another node")

// Claim makes this node the one that has the input's publisher, unless
// another live node has it: then it fails with ErrElsewhere, naming that
// node. On success the record is kept until release is called, which the
// caller does once its publisher's session is on the hub (where Sync
// sees it) or could not start; WHIP inputs, which take one publisher
// across the cluster, are claimed this way before a session is made.
func (r *Recorder) Claim(ctx context.Context, inputID string) (release func(), err error) {
	var live []string
	if r.LiveNodes != nil {
		live = r.LiveNodes()
	}
	r.syncMu.Lock()
	defer r.syncMu.Unlock()
	node, ok, err := r.Store.ClaimInputPublisher(ctx, inputID, r.Self, live)
	if err != nil {
		return nil, fmt.Errorf("recording the publisher: %w", err)
	}
	if !ok {
		return nil, fmt.Errorf("%w: node %s", ErrElsewhere, node)
	}
	if r.claims == nil {
		r.claims = map[string]int{}
	}
	r.claims[inputID]++
	var once sync.Once
	return func() {
		once.Do(func() {
			r.syncMu.Lock()
			defer r.syncMu.Unlock()
			if r.claims[inputID]--; r.claims[inputID] <= 0 {
				delete(r.claims, inputID)
			}
		})
	}, nil
}

// Sync brings the records in step once.
func (r *Recorder) Sync(ctx context.Context) error {
	r.syncMu.Lock()
	defer r.syncMu.Unlock()
	if r.written == nil {
		r.written = map[string]time.Time{}
	}
	defer func() { r.ticks++ }()
	if err := r.syncPorts(ctx); err != nil {
		return err
	}
	local := r.Local.Publishing()
	recorded, err := r.Store.NodeInputPublishers(ctx, r.Self)
	if err != nil {
		return err
	}
	for id, since := range local {
		if w, ok := r.written[id]; ok && w.Equal(since) {
			continue // recorded already; another node may have taken it since
		}
		if err := r.Store.SetInputPublisher(ctx, id, r.Self); err != nil {
			return err
		}
		r.written[id] = since
	}
	for _, id := range recorded {
		if _, ok := local[id]; !ok && r.claims[id] == 0 {
			if err := r.Store.ClearInputPublisher(ctx, id, r.Self); err != nil {
				return err
			}
		}
	}
	for id := range r.written {
		if _, ok := local[id]; !ok {
			delete(r.written, id)
		}
	}
	return nil
}

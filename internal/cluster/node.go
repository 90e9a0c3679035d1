package cluster

import (
	"context"
	"log/slog"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/sluice-video/sluice/internal/lifecycle"
	"github.com/sluice-video/sluice/internal/outage"
	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/store"
)

// Config configures a node.
type Config struct {
	// Store is the state database every node shares (nil for Solo).
	Store Store
	// NodeID names the node (--node-id); Advertise is the URL peers reach
	// it at (--advertise, "http://host:port").
	NodeID    string
	Advertise string
	// MaxChannels is how many running channels placement gives the node
	// (--max-channels; at least 1).
	MaxChannels int
	Version     string
	// Lease is how long a channel's lease lasts without renewal (default
	// DefaultLease); the holder renews every Lease/3 and stops publishing
	// when Lease minus a margin passed since its last renewal was sent.
	Lease time.Duration
	// Heartbeat is how often the node renews its row (default
	// DefaultHeartbeat, at most Lease/3). A node whose heartbeat is older
	// than three of them is not live.
	Heartbeat time.Duration
	// Now is the node's clock (default time.Now).
	Now Clock
	// Client checks peers' advertised URLs (default: a client with a
	// 2-second timeout).
	Client *http.Client
	Logger *slog.Logger
}

// Cluster is this node's membership of the cluster: its heartbeat, its
// leases, placement and the directory of nodes and holders. It is a
// lifecycle component: Start registers the node (refusing a duplicate id
// or advertised URL whose heartbeat is fresh) and starts the heartbeat,
// the renewals and the listener of notifications; Close releases the
// node's leases at once and says goodbye.
type Cluster struct {
	cfg    Config
	solo   bool
	logger *slog.Logger

	// incarnation tells this process from an earlier or later one with
	// the same node id.
	incarnation string
	loops       lifecycle.Loop
	wg          sync.WaitGroup

	mu      sync.Mutex
	leases  map[store.LeaseKey]*Lease // the leases this node holds
	hooks   map[int]func(Holding)
	hookSeq int
	wakes   map[int]chan struct{}
	wakeSeq int
	// dir is the last snapshot of the nodes and the live leases.
	dir directory
	// waiting is when Place first saw each candidate unplaced;
	// waitingRoom the candidates no node had room for at the last reading.
	waiting     map[store.LeaseKey]time.Time
	waitingRoom map[store.LeaseKey]bool
	// stopping is set by Close; evicted when another process took the
	// node's row. Either way, the node takes no more channels.
	stopping, evicted bool
	// failing are the kinds of failure logged once until they end.
	failing map[string]*outage.Reporter
}

// Solo returns the cluster of one of a single server (SQLite): it holds
// every channel, its leases never expire and carry the zero Fence, and it
// keeps no row. cfg.Store may be nil.
func Solo(cfg Config) *Cluster {
	c := newCluster(cfg)
	c.solo = true
	return c
}

// New returns a node of a cluster on the shared PostgreSQL database of
// cfg.Store; nothing starts before Start.
func New(cfg Config) *Cluster { return newCluster(cfg) }

func newCluster(cfg Config) *Cluster {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Lease <= 0 {
		cfg.Lease = DefaultLease
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = DefaultHeartbeat
	}
	cfg.Heartbeat = min(cfg.Heartbeat, cfg.Lease/3)
	if cfg.MaxChannels < 1 {
		cfg.MaxChannels = 1
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 2 * time.Second}
	}
	return &Cluster{
		cfg: cfg, logger: cfg.Logger,
		leases: map[store.LeaseKey]*Lease{}, hooks: map[int]func(Holding){}, wakes: map[int]chan struct{}{},
		waiting: map[store.LeaseKey]time.Time{}, failing: map[string]*outage.Reporter{},
	}
}

// Shared reports whether the node shares its channels with other nodes
// (false for a single server's cluster of one).
func (c *Cluster) Shared() bool { return !c.solo }

// SelfID is this node's id.
func (c *Cluster) SelfID() string { return c.cfg.NodeID }

// Advertise is the URL this node advertises to its peers.
func (c *Cluster) Advertise() string { return c.cfg.Advertise }

// LeaseDuration is how long a lease lasts without renewal.
func (c *Cluster) LeaseDuration() time.Duration { return c.cfg.Lease }

// Nodes reads every node the database knows, live or not, with the
// channels each holds, its load, the age of its heartbeat and, for live
// peers, whether this node reached their advertised URL. A single server
// answers itself alone.
func (c *Cluster) Nodes(ctx context.Context) ([]resource.Node, error) {
	return c.nodes(ctx)
}

// LiveNodes is the live nodes of the last snapshot (refreshed on every
// notification and at least every heartbeat), this one included. It does
// not touch the database.
func (c *Cluster) LiveNodes() []resource.Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.liveNodes()
}

// Holder says who holds a channel (by id or name) with a live lease of
// its pipeline 0 (the channel's own), as of the last snapshot (refreshed
// on every notification and at least every heartbeat); false when no
// node holds it. A single server holds every channel. It does not touch
// the database: it is cheap enough for every request of the origin.
func (c *Cluster) Holder(channel string) (Holder, bool) {
	for _, h := range c.Holders(channel) {
		if h.Pipeline == 0 {
			return h, true
		}
	}
	return Holder{}, false
}

// Holders says who holds each pipeline of a channel (by id or name) with
// a live lease, by pipeline index, as Holder does: one for a
// SINGLE_PIPELINE channel, up to two for a STANDARD channel, none while no
// node holds any.
func (c *Cluster) Holders(channel string) []Holder {
	if c.solo {
		return []Holder{{ChannelID: channel, Channel: channel, Node: c.cfg.NodeID, Advertise: c.cfg.Advertise, Self: true}}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	own := map[int]bool{}
	var out []Holder
	for _, l := range c.leasesByRef(channel) {
		own[l.pipeline] = true
		out = append(out, Holder{ChannelID: l.channelID, Channel: l.channel, Pipeline: l.pipeline, Node: c.cfg.NodeID, Advertise: c.cfg.Advertise, Epoch: l.fence.Epoch, Self: true})
	}
	for _, h := range c.dir.holders[channel] {
		// The snapshot is older than this node's own leases: a lease it
		// no longer has is not its.
		if own[h.Pipeline] || h.Node == c.cfg.NodeID {
			continue
		}
		out = append(out, h)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Pipeline < out[j].Pipeline })
	return out
}

// OnHolding calls fn each time this node takes or lets go of a channel,
// until stop is called. fn runs on the goroutine that took or lost the
// lease: it must return quickly and never call back into the cluster.
// Losing a lease is told before the channel's runtime is stopped, so that
// components stop publishing at once.
func (c *Cluster) OnHolding(fn func(Holding)) (stop func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.hookSeq++
	id := c.hookSeq
	c.hooks[id] = fn
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		delete(c.hooks, id)
	}
}

// Lease returns this node's lease of a channel (by id; of its pipeline
// 0), if it holds one.
func (c *Cluster) Lease(channelID string) (*Lease, bool) {
	return c.PipelineLease(channelID, 0)
}

// PipelineLease returns this node's lease of a channel's pipeline (by the
// channel's id), if it holds one.
func (c *Cluster) PipelineLease(channelID string, pipeline int) (*Lease, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	l, ok := c.leases[store.LeaseKey{ChannelID: channelID, Pipeline: pipeline}]
	return l, ok
}

// Wakes returns a channel that receives (without blocking the sender,
// coalesced) each time a notification of the cluster arrives: a command,
// a change of a channel's spec, a lease taken or given up, a node that
// said goodbye. stop ends it. A single server's never fires.
func (c *Cluster) Wakes() (wake <-chan struct{}, stop func()) {
	ch := make(chan struct{}, 1)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.wakeSeq++
	id := c.wakeSeq
	c.wakes[id] = ch
	return ch, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		delete(c.wakes, id)
	}
}

// ClockProblem says, when this node's clock is more than MaxClockSkew
// from the database's at its last heartbeat, by how much; "" otherwise.
func (c *Cluster) ClockProblem() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dir.clockProblem
}

// Start registers the node and starts its heartbeat, renewals and
// listener. A node whose id or advertised URL is that of another node
// with a fresh heartbeat is refused, naming the other.
func (c *Cluster) Start(ctx context.Context) error {
	if c.solo {
		return nil
	}
	return c.start(ctx)
}

// Drain begins a clean stop: the node takes no more channels and its row
// says STOPPED, so that placement gives the channels it lets go, one by
// one as their encoders stop, to the other nodes at once. Its heartbeat
// and renewals go on until Close. A single server has nothing to do.
func (c *Cluster) Drain(ctx context.Context) error {
	c.mu.Lock()
	c.stopping = true
	c.mu.Unlock()
	if c.solo {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, c.statementTimeout())
	defer cancel()
	return c.cfg.Store.NodeLeaving(ctx, c.cfg.NodeID, c.incarnation)
}

// Close releases every lease this node still holds (so that other nodes
// take its channels at once), marks its row STOPPED and stops its loops.
// The channels' runtimes must have stopped before: their writes would be
// refused after.
func (c *Cluster) Close(ctx context.Context) error {
	if c.solo {
		return nil
	}
	return c.close(ctx)
}

// fire tells the hooks of a holding change.
func (c *Cluster) fire(h Holding) {
	c.mu.Lock()
	fns := make([]func(Holding), 0, len(c.hooks))
	for _, fn := range c.hooks {
		fns = append(fns, fn)
	}
	c.mu.Unlock()
	for _, fn := range fns {
		fn(h)
	}
}

// wake tells every Wakes channel, without blocking.
func (c *Cluster) wake() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, ch := range c.wakes {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// leasesByRef finds this node's leases of a channel's pipelines by the
// channel's id or name; c.mu is held.
func (c *Cluster) leasesByRef(ref string) []*Lease {
	var out []*Lease
	for k, l := range c.leases {
		if k.ChannelID == ref || l.channel == ref {
			out = append(out, l)
		}
	}
	return out
}

// soloNode is a single server as its node list shows it.
func (c *Cluster) soloNode(running []string) resource.Node {
	now := c.cfg.Now().UTC()
	return resource.Node{
		ID: c.cfg.NodeID, Advertise: c.cfg.Advertise, MaxChannels: c.cfg.MaxChannels, Version: c.cfg.Version,
		State: resource.NodeLive, LastHeartbeat: now, Channels: running, Load: len(running), Self: true,
	}
}

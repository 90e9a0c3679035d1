package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"sync"
	"time"

	"github.com/sluice-video/sluice/internal/cluster"
	"github.com/sluice-video/sluice/internal/dvr"
	"github.com/sluice-video/sluice/internal/harvest"
	"github.com/sluice-video/sluice/internal/input/ingest"
	"github.com/sluice-video/sluice/internal/input/live"
	"github.com/sluice-video/sluice/internal/input/relay"
	"github.com/sluice-video/sluice/internal/input/whip"
	"github.com/sluice-video/sluice/internal/liveproxy"
	"github.com/sluice-video/sluice/internal/peer"
	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/store"
)

// The parts of a node of a cluster that carry media between nodes, and
// the adapters between them and the cluster (who holds what, where the
// nodes are): the origin's proxy, the ingest relay, the endpoints of push
// inputs, the DVR archives and harvests.

// clusterMedia are the parts of a node that carry media between the nodes
// of a cluster; nil on a single server.
type clusterMedia struct {
	key      *peer.Key
	puller   *relay.Puller
	recorder *relay.Recorder
	outputs  *channelOutputs
}

// buildClusterMedia reads the cluster key and makes the ingest relay of a
// node of a shared cluster; nil on a single server.
func buildClusterMedia(ctx context.Context, cl *cluster.Cluster, st *store.Store, registry *live.Registry, logger *slog.Logger) (*clusterMedia, error) {
	if !cl.Shared() {
		return nil, nil
	}
	key, err := peer.LoadKey(ctx, st)
	if err != nil {
		return nil, err
	}
	m := &clusterMedia{key: key, outputs: newChannelOutputs(st)}
	m.puller = &relay.Puller{
		Self: cl.SelfID(), Key: key, Publications: st, Nodes: nodeURLs{cl}, Hubs: registry,
		Logger: logger.With("part", "ingest relay"),
	}
	m.recorder = &relay.Recorder{Self: cl.SelfID(), Store: st, LiveNodes: liveNodeIDs(cl), Logger: logger.With("part", "ingest relay")}
	return m, nil
}

// proxy puts the origin of the channels this node holds behind the
// forwarding of the others to their holders.
func (m *clusterMedia) proxy(cl *cluster.Cluster, origin http.Handler, verifier liveproxy.Verifier, logger *slog.Logger) http.Handler {
	dir := newHolders(cl)
	return liveproxy.New(liveproxy.Config{
		Self: cl.SelfID(), Origin: origin, Directory: dir, Local: acting{cl}, Unanswered: dir.unanswered,
		Channels: m.outputs, Key: m.key, Verifier: verifier, Logger: logger.With("part", "origin proxy"),
	})
}

// harvestLookup finds a channel for a harvest on any node: its endpoints
// from the channel manager when this node holds it, from the state
// database otherwise, and its archive (read from shared storage when
// another node writes it).
func harvestLookup(held harvest.Channels, outputs liveproxy.Channels, archives harvest.Archives) func(string) (harvest.Source, bool) {
	local := harvest.LookupIn(held, archives)
	return func(name string) (harvest.Source, bool) {
		if src, ok := local(name); ok {
			return src, true
		}
		outs, ok := outputs.Outputs(name)
		if !ok || outs == nil {
			return harvest.Source{}, false
		}
		src := harvest.Source{Outputs: outs}
		if a := archives.ArchiveFor(name, outs); a != nil {
			src.Archive = a
		}
		return src, true
	}
}

// peersPassGuard lets requests signed by another node of the cluster past
// the host check of a server without a token (they come from a node, not
// a web page), and every other request through it.
func peersPassGuard(key *peer.Key, mux, guarded http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if key.Signed(r) {
			mux.ServeHTTP(w, r)
			return
		}
		guarded.ServeHTTP(w, r)
	})
}

// holders is the cluster's directory as the origin's proxy asks it: the
// node that holds a channel's pipeline, pipeline 0's first, passing over
// a node that is not live and, for a while, one that did not answer a
// forwarded request while another node runs a pipeline of the channel.
type holders struct {
	cl  *cluster.Cluster
	now func() time.Time

	mu sync.Mutex
	// silent are the nodes that did not answer, by channel, until when
	// they are passed over.
	silent map[string]map[string]time.Time
}

// silentFor is how long a node that did not answer is passed over.
const silentFor = 5 * time.Second

func newHolders(cl *cluster.Cluster) *holders {
	return &holders{cl: cl, now: time.Now, silent: map[string]map[string]time.Time{}}
}

func (h *holders) Holder(_ context.Context, channel string) (liveproxy.Holder, bool, error) {
	all := h.cl.Holders(channel)
	if len(all) == 0 {
		return liveproxy.Holder{}, false, nil
	}
	live := map[string]bool{}
	for _, n := range h.cl.LiveNodes() {
		live[n.ID] = true
	}
	now := h.now()
	best := all[0]
	// The silent nodes are read under the lock: unanswered writes the
	// same inner map from other requests.
	h.mu.Lock()
	silent := h.silent[channel]
	for _, ho := range all {
		if live[ho.Node] && !now.Before(silent[ho.Node]) {
			best = ho
			break
		}
	}
	h.mu.Unlock()
	return liveproxy.Holder{Node: best.Node, URL: best.Advertise, Epoch: best.Epoch}, true, nil
}

// unanswered passes over a node that did not answer for a while.
func (h *holders) unanswered(channel string, ho liveproxy.Holder) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.silent) > 4096 {
		clear(h.silent) // names come from requests: never an unbounded map
	}
	if h.silent[channel] == nil {
		h.silent[channel] = map[string]time.Time{}
	}
	h.silent[channel][ho.Node] = h.now().Add(silentFor)
}

// acting is whether this node may serve a channel now.
type acting struct{ cl *cluster.Cluster }

func (a acting) Holds(channel string) bool { return a.cl.Acting(channel) }

// nodeURLs gives the advertised URL of a live node, for the ingest relay.
type nodeURLs struct{ cl *cluster.Cluster }

func (n nodeURLs) NodeURL(_ context.Context, node string) (string, bool, error) {
	for _, nd := range n.cl.LiveNodes() {
		if nd.ID == node {
			return nd.Advertise, nd.Advertise != "", nil
		}
	}
	return "", false, nil
}

// liveNodeIDs lists the ids of the cluster's live nodes.
func liveNodeIDs(cl *cluster.Cluster) func() []string {
	return func() []string {
		var out []string
		for _, n := range cl.LiveNodes() {
			out = append(out, n.ID)
		}
		return out
	}
}

// whipClaims keeps a WHIP input to one publisher across the cluster: the
// node a publisher connects to claims the input's record of publishers
// by the input's id.
type whipClaims struct {
	ingest   *ingest.Ingest
	recorder *relay.Recorder
}

func (w whipClaims) Claim(ctx context.Context, input string) (func(), error) {
	in, ok := w.ingest.Input(input)
	if !ok {
		return nil, fmt.Errorf("input %s is not known to this node yet", input)
	}
	release, err := w.recorder.Claim(ctx, in.ID)
	if errors.Is(err, relay.ErrElsewhere) {
		return nil, fmt.Errorf("%w: %w", whip.ErrElsewhere, err)
	}
	return release, err
}

// ingestNodes lists the live nodes with their advertised host and ingest
// ports, for the endpoints of push inputs: this node first.
func ingestNodes(cl *cluster.Cluster, ports func() map[string]store.MediaPorts) func() []ingest.NodeIngest {
	return func() []ingest.NodeIngest {
		known := ports()
		var out []ingest.NodeIngest
		for _, n := range cl.LiveNodes() {
			p, ok := known[n.ID]
			u, err := url.Parse(n.Advertise)
			if !ok || err != nil || u.Hostname() == "" {
				continue
			}
			out = append(out, ingest.NodeIngest{Node: n.ID, Host: u.Hostname(), RTMP: p.RTMP, RTMPS: p.RTMPS, SRT: p.SRT, HTTP: n.Advertise})
		}
		self := cl.SelfID()
		sort.SliceStable(out, func(i, j int) bool {
			if (out[i].Node == self) != (out[j].Node == self) {
				return out[i].Node == self
			}
			return out[i].Node < out[j].Node
		})
		return out
	}
}

// dvrHolding says whether this node holds a channel, with its lease, for
// the DVR archives on shared storage: the lease of its pipeline 0, whose
// holder writes the channel's archive.
func dvrHolding(cl *cluster.Cluster) func(channel string) (dvr.Hold, bool) {
	return func(channel string) (dvr.Hold, bool) {
		h, ok := cl.Holder(channel)
		if !ok || !h.Self || !cl.ActingPipeline(channel, 0) {
			return dvr.Hold{}, false
		}
		return dvr.Hold{ChannelID: h.ChannelID, Fence: h.Fence()}, true
	}
}

// ChannelGetter reads a channel from the state database.
type ChannelGetter interface {
	GetChannel(ctx context.Context, ref string) (store.ChannelRecord, error)
}

// channelOutputs gives a channel's endpoints from the state database, for
// the proxy's check of signed URLs on a node that does not hold the
// channel; each channel is read again after a second at most.
type channelOutputs struct {
	store ChannelGetter
	now   func() time.Time

	mu    sync.Mutex
	known map[string]outputsRead
}

type outputsRead struct {
	outputs []resource.OutputGroup
	ok      bool
	at      time.Time
}

// outputsFresh is how long a channel's endpoints are trusted.
const outputsFresh = time.Second

func newChannelOutputs(st ChannelGetter) *channelOutputs {
	return &channelOutputs{store: st, now: time.Now, known: map[string]outputsRead{}}
}

func (c *channelOutputs) Outputs(channel string) ([]resource.OutputGroup, bool) {
	now := c.now()
	c.mu.Lock()
	r, hit := c.known[channel]
	c.mu.Unlock()
	if hit && now.Sub(r.at) < outputsFresh {
		return r.outputs, r.ok
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rec, err := c.store.GetChannel(ctx, channel)
	r = outputsRead{at: now}
	if err == nil {
		r.outputs, r.ok = rec.EffectiveOutputs(), true
	} else if !errors.Is(err, resource.ErrNotFound) {
		// The database does not answer: the channel may exist; the proxy
		// then finds no holder and answers 503.
		r.ok = true
	}
	c.mu.Lock()
	if len(c.known) > 4096 {
		clear(c.known)
	}
	c.known[channel] = r
	c.mu.Unlock()
	return r.outputs, r.ok
}

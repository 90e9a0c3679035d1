// Package cluster makes each `sluice serve` process a node of a cluster
// whose only arbiter is the state database: a heartbeat row per node, a
// lease per channel pipeline (holder, epoch, expiry on the database's
// clock) that the holder renews, placement of the pipelines that should
// run on the least-loaded live node (the two pipelines of a STANDARD
// channel on two nodes while there are two), and LISTEN/NOTIFY to wake
// every node when a command or a lease changed.
//
// A server on SQLite is a cluster of one (Solo): the same methods, a node
// that holds every channel and never loses a lease, no heartbeat row.
//
// What other parts of a node read of the cluster:
//
//   - the directory: this node's id and advertised URL (SelfID,
//     Advertise), the live nodes (LiveNodes, Nodes), and who holds a
//     channel, at which advertised URL, with which epoch (Holder);
//   - the hook: OnHolding tells local components that this node now holds,
//     or no longer holds, a channel at an epoch;
//   - the fence of a channel this node holds (Lease, Lease.Fence), which
//     every write for the channel carries (store.Fence).
package cluster

import (
	"errors"
	"time"

	"github.com/sluice-video/sluice/internal/store"
)

// Defaults of a node's timing.
const (
	// DefaultLease is how long a lease lasts without renewal (--lease).
	DefaultLease = 10 * time.Second
	// DefaultHeartbeat is how often a node renews its heartbeat row.
	DefaultHeartbeat = 2 * time.Second
	// MaxClockSkew is how far a node's clock may be from the database's
	// before the node warns (log and /readyz).
	MaxClockSkew = time.Second
)

// ErrHeld is Acquire's answer when another node holds a live lease of the
// channel.
var ErrHeld = errors.New("another node holds the channel")

// Holder says who holds a channel's pipeline: the node, the URL it
// advertises and the lease's epoch.
type Holder struct {
	ChannelID string
	// Channel is the channel's name.
	Channel string
	// Pipeline is the index of the pipeline (0: the channel's own).
	Pipeline int
	// Node is the holder's id and Advertise its advertised URL
	// ("http://host:port", no trailing slash).
	Node      string
	Advertise string
	Epoch     uint64
	// Self is true when the holder is this node.
	Self bool
}

// Fence is the holder's fence for the channel.
func (h Holder) Fence() store.Fence {
	return store.Fence{Holder: h.Node, Epoch: h.Epoch, Pipeline: h.Pipeline}
}

// Holding is what OnHolding tells: this node now holds (Held) or no
// longer holds a channel's pipeline, at an epoch.
type Holding struct {
	ChannelID string
	// Channel is the channel's name.
	Channel string
	// Pipeline is the index of the pipeline (0: the channel's own).
	Pipeline int
	Epoch    uint64
	// Fence is what the node's writes for the channel carry while it holds
	// it (the zero Fence on a single server).
	Fence store.Fence
	// Held is true when the node took the channel, false when it let it go
	// (at rest, deleted, at a clean stop) or lost it (Lost).
	Held bool
	// Lost is true when the lease was lost rather than given up: not
	// renewed in time, or taken over. Whatever the node still does for the
	// channel must stop at once: it may no longer publish it.
	Lost bool
}

// Candidate is a channel's pipeline that should have a holder and has
// none: what Place chooses among.
type Candidate struct {
	ChannelID string
	Channel   string
	// Pipeline is the index of the pipeline (0: the channel's own, the
	// only one of a SINGLE_PIPELINE channel).
	Pipeline int
}

// key is the candidate's lease key.
func (cd Candidate) key() store.LeaseKey {
	return store.LeaseKey{ChannelID: cd.ChannelID, Pipeline: cd.Pipeline}
}

// Clock is the node's clock: its readings carry the monotonic clock, on
// which a holder measures its right to publish since its last renewal.
type Clock func() time.Time

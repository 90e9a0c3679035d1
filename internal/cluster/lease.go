package cluster

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/sluice-video/sluice/internal/store"
)

// Lease is this node's lease of one pipeline of a channel (pipeline 0,
// the channel's own, for a SINGLE_PIPELINE channel): its fence, and the
// moment, on the node's monotonic clock, until which the node may act for
// it (its last successful renewal's sending time, plus the lease, less a
// safety margin). It is lost when that moment passes without a renewal,
// or when a renewal finds it gone (taken over, expired); Lost is closed
// then. A single server's lease is never lost.
type Lease struct {
	channelID, channel string
	pipeline           int
	fence              store.Fence
	previous           string
	tookOver           bool
	lost               chan struct{}

	mu sync.Mutex
	// sent is when the acquisition was sent; renewals sent before it do
	// not know the lease.
	sent       time.Time
	validUntil time.Time
	ended      bool
}

// ChannelID is the channel's id; Channel its name.
func (l *Lease) ChannelID() string { return l.channelID }

// Channel is the channel's name.
func (l *Lease) Channel() string { return l.channel }

// Pipeline is the index of the pipeline the lease is of (0 for the
// channel's own).
func (l *Lease) Pipeline() int { return l.pipeline }

// Key is the lease's key in the database: the channel's id and the
// pipeline's index.
func (l *Lease) Key() store.LeaseKey {
	return store.LeaseKey{ChannelID: l.channelID, Pipeline: l.pipeline}
}

// Fence is what every write of the holder for the channel carries.
func (l *Lease) Fence() store.Fence { return l.fence }

// Epoch is the lease's epoch (0 on a single server).
func (l *Lease) Epoch() uint64 { return l.fence.Epoch }

// Previous is the node that held the channel's lease before ("" for the
// first lease, and on a single server), and TookOver whether its lease
// expired rather than being let go: the channel was taken over.
func (l *Lease) Previous() (node string, tookOver bool) { return l.previous, l.tookOver }

// Lost is closed when the lease is lost: the node must stop publishing the
// channel at once and write nothing more for it.
func (l *Lease) Lost() <-chan struct{} { return l.lost }

// margin is how long before the lease's expiry, on the node's clock, the
// holder stops acting for the channel: room for the clocks' rates and for
// stopping.
func margin(lease time.Duration) time.Duration { return lease / 5 }

// Acquire takes the lease of a channel (of its pipeline 0) for this node:
// AcquirePipeline of pipeline 0.
func (c *Cluster) Acquire(ctx context.Context, channelID, channel string) (*Lease, error) {
	return c.AcquirePipeline(ctx, channelID, channel, 0)
}

// AcquirePipeline takes the lease of a channel's pipeline for this node:
// at once on a single server; on a cluster when no live lease holds it
// (ErrHeld otherwise), with a new epoch. Holding hooks hear of it before
// it returns.
func (c *Cluster) AcquirePipeline(ctx context.Context, channelID, channel string, pipeline int) (*Lease, error) {
	key := store.LeaseKey{ChannelID: channelID, Pipeline: pipeline}
	c.mu.Lock()
	if old, ok := c.leases[key]; ok {
		c.mu.Unlock()
		return old, nil
	}
	stopped := c.stopping || c.evicted
	c.mu.Unlock()
	l := &Lease{channelID: channelID, channel: channel, pipeline: pipeline, lost: make(chan struct{})}
	if c.solo {
		l.fence = store.Fence{Pipeline: pipeline}
	} else {
		if stopped {
			return nil, errors.New("this node is stopping or lost its row; it takes no channel")
		}
		sent := c.cfg.Now()
		ctx, cancel := context.WithTimeout(ctx, c.statementTimeout())
		got, err := c.cfg.Store.AcquirePipelineLease(ctx, key, c.cfg.NodeID, c.incarnation, c.cfg.Lease)
		cancel()
		switch {
		case errors.Is(err, store.ErrLeaseHeld):
			return nil, ErrHeld
		case err != nil:
			return nil, err
		}
		l.fence, l.previous, l.tookOver = store.Fence{Holder: c.cfg.NodeID, Epoch: got.Epoch, Pipeline: pipeline}, got.Previous, got.Previous != "" && !got.Released
		l.sent, l.validUntil = sent, sent.Add(c.cfg.Lease-margin(c.cfg.Lease))
	}
	c.mu.Lock()
	c.leases[key] = l
	c.mu.Unlock()
	c.logger.Debug(fmt.Sprintf("this node holds %s", l.what()), "channel", channel, "pipeline", pipeline, "epoch", l.fence.Epoch)
	c.fire(l.holding(true, false))
	return l, nil
}

// what names the lease for logs: "channel news", or "pipeline 1 of
// channel news".
func (l *Lease) what() string {
	if l.pipeline == 0 {
		return "channel " + l.channel
	}
	return fmt.Sprintf("pipeline %d of channel %s", l.pipeline, l.channel)
}

// holding is what the hooks hear of the lease.
func (l *Lease) holding(held, lost bool) Holding {
	return Holding{ChannelID: l.channelID, Channel: l.channel, Pipeline: l.pipeline, Epoch: l.fence.Epoch, Fence: l.fence, Held: held, Lost: lost}
}

// Release gives a lease up: at once in the database (another node may
// take the pipeline now, and is woken), and for the hooks. Releasing a
// lease that was lost or released does nothing.
func (c *Cluster) Release(ctx context.Context, l *Lease) error {
	if !c.forget(l) {
		return nil
	}
	c.fire(l.holding(false, false))
	if c.solo {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, c.statementTimeout())
	defer cancel()
	return c.cfg.Store.ReleaseLease(ctx, l.channelID, l.fence)
}

// forget ends a lease for this node; false when it had ended.
func (c *Cluster) forget(l *Lease) bool {
	l.mu.Lock()
	if l.ended {
		l.mu.Unlock()
		return false
	}
	l.ended = true
	l.mu.Unlock()
	c.mu.Lock()
	if c.leases[l.Key()] == l {
		delete(c.leases, l.Key())
	}
	c.mu.Unlock()
	return true
}

// lose ends a lease that was lost: Lost is closed and the hooks hear of it.
func (c *Cluster) lose(l *Lease, why string) {
	if !c.forget(l) {
		return
	}
	c.logger.Warn(fmt.Sprintf("this node lost the lease of %s: %s; it stops publishing it", l.what(), why),
		"channel", l.channel, "pipeline", l.pipeline, "epoch", l.fence.Epoch)
	c.fire(l.holding(false, true))
	close(l.lost)
}

// held is a copy of the leases this node holds.
func (c *Cluster) held() []*Lease {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]*Lease, 0, len(c.leases))
	for _, l := range c.leases {
		out = append(out, l)
	}
	return out
}

// renew extends every lease of this node once. A lease the database did
// not renew (expired, taken over) is lost; one it renewed may be acted on
// until the sending time plus the lease, less the margin.
func (c *Cluster) renew(ctx context.Context) {
	held := c.held()
	if len(held) == 0 {
		return
	}
	keys := make([]store.LeaseKey, len(held))
	for i, l := range held {
		keys[i] = l.Key()
	}
	sent := c.cfg.Now()
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Lease/3)
	renewed, err := c.cfg.Store.RenewLeases(ctx, c.cfg.NodeID, c.incarnation, c.cfg.Lease, keys)
	cancel()
	if err != nil {
		c.logOnce("renew", "renewing this node's leases failed; its channels stop if it lasts", err)
		return
	}
	c.clearOnce("renew", "this node renews its leases again")
	for _, l := range held {
		l.mu.Lock()
		before := l.sent.After(sent)
		l.mu.Unlock()
		if before {
			continue
		}
		epoch, ok := renewed[l.Key()]
		if !ok || epoch != l.fence.Epoch {
			c.lose(l, "the database no longer has it (expired or taken over)")
			continue
		}
		l.mu.Lock()
		l.validUntil = sent.Add(c.cfg.Lease - margin(c.cfg.Lease))
		l.mu.Unlock()
	}
}

// watch loses every lease whose time to act passed on this node's clock.
func (c *Cluster) watch() {
	now := c.cfg.Now()
	for _, l := range c.held() {
		l.mu.Lock()
		late := now.After(l.validUntil)
		l.mu.Unlock()
		if late {
			c.lose(l, fmt.Sprintf("not renewed within %s", c.cfg.Lease-margin(c.cfg.Lease)))
		}
	}
}

// statementTimeout bounds one statement of the node's own work, so that a
// hung connection cannot hold it.
func (c *Cluster) statementTimeout() time.Duration { return max(c.cfg.Lease/2, 2*time.Second) }

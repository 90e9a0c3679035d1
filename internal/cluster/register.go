package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/sluice-video/sluice/internal/outage"
	"github.com/sluice-video/sluice/internal/store"
)

// fresh is how recent a heartbeat must be for its node to be live: three
// heartbeats.
func (c *Cluster) fresh() time.Duration { return 3 * c.cfg.Heartbeat }

// grace is how long an unplaced channel waits for the node placement chose
// before any node with room takes it.
func (c *Cluster) grace() time.Duration { return 2*c.cfg.Heartbeat + time.Second }

// start registers the node and starts its loops.
func (c *Cluster) start(ctx context.Context) error {
	var raw [8]byte
	_, _ = rand.Read(raw[:])
	c.incarnation = hex.EncodeToString(raw[:])
	if err := c.register(ctx); err != nil {
		return err
	}
	c.logger.Info(fmt.Sprintf("this node is %s in a cluster, advertised at %s", c.cfg.NodeID, c.cfg.Advertise),
		"node", c.cfg.NodeID, "advertise", c.cfg.Advertise, "maxChannels", c.cfg.MaxChannels, "lease", c.cfg.Lease)
	c.refresh(ctx)
	c.loops.Go(ctx, c.run)
	return nil
}

// register claims the node's row. Another process with the same id, or
// another node with the same advertised URL, whose heartbeat is fresh
// blocks it: when that heartbeat moves on while the node watches, the
// other is live and the node is refused; when it goes stale (the other was
// this node before a crash), the node takes the row.
func (c *Cluster) register(ctx context.Context) error {
	row := store.NodeRecord{ID: c.cfg.NodeID, Advertise: c.cfg.Advertise, Incarnation: c.incarnation,
		MaxChannels: c.cfg.MaxChannels, Version: c.cfg.Version}
	var (
		watched *store.NodeRecord
		told    bool
	)
	for {
		clash, err := c.cfg.Store.ClaimNode(ctx, row, c.fresh())
		if err != nil {
			return fmt.Errorf("registering node %s: %w", c.cfg.NodeID, err)
		}
		if clash == nil {
			return nil
		}
		if watched != nil && watched.ID == clash.ID && watched.Incarnation == clash.Incarnation && clash.LastHeartbeat.After(watched.LastHeartbeat) {
			return refusal(row, *clash)
		}
		if watched == nil || watched.ID != clash.ID || watched.Incarnation != clash.Incarnation {
			watched = clash
		}
		if !told {
			c.logger.Info(fmt.Sprintf("node %s (%s) has a fresh heartbeat: waiting to see whether it is still running", clash.ID, clash.Advertise))
			told = true
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(c.cfg.Heartbeat / 2):
		}
	}
}

// refusal is the error of a node whose id or advertised URL a live node
// has.
func refusal(self, other store.NodeRecord) error {
	what := fmt.Sprintf("the node id %q", self.ID)
	if other.ID != self.ID {
		what = fmt.Sprintf("the advertised URL %s", self.Advertise)
	}
	return fmt.Errorf("%s is taken: node %s, advertised at %s, started %s, is running (its heartbeat is fresh); give this node another --node-id and --advertise",
		what, other.ID, other.Advertise, other.StartedAt.UTC().Format(time.RFC3339))
}

// run is the node's background work until Close: the heartbeat and the
// directory every heartbeat, the renewals every lease/3, the watch of the
// leases' deadlines, the checks of the peers, and the listener.
func (c *Cluster) run(ctx context.Context) {
	c.spawn(func() { c.listen(ctx) })
	c.spawn(func() { c.every(ctx, c.cfg.Lease/3, c.renew) })
	c.spawn(func() { c.every(ctx, max(c.cfg.Lease/20, 50*time.Millisecond), func(context.Context) { c.watch() }) })
	c.spawn(func() { c.every(ctx, 2*c.cfg.Heartbeat+c.cfg.Heartbeat/2, c.checkPeers) })
	c.every(ctx, c.cfg.Heartbeat, func(ctx context.Context) {
		c.heartbeat(ctx)
		c.refresh(ctx)
	})
}

// spawn runs f in a goroutine that close waits for.
func (c *Cluster) spawn(f func()) {
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		f()
	}()
}

// every runs f every d until ctx ends, the first time after d.
func (c *Cluster) every(ctx context.Context, d time.Duration, f func(context.Context)) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			f(ctx)
		}
	}
}

// heartbeat renews the node's row and compares its clock with the
// database's.
func (c *Cluster) heartbeat(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Heartbeat)
	defer cancel()
	sent := c.cfg.Now()
	at, err := c.cfg.Store.Heartbeat(ctx, c.cfg.NodeID, c.incarnation)
	received := c.cfg.Now()
	switch {
	case errors.Is(err, store.ErrNodeTaken):
		c.mu.Lock()
		first := !c.evicted
		c.evicted = true
		c.mu.Unlock()
		if first {
			c.logger.Error(fmt.Sprintf("node %s's row was taken by another process with the same id while this one did not renew it; this node takes no more channels: stop it or give it another --node-id", c.cfg.NodeID))
		}
		return
	case err != nil:
		c.logOnce("heartbeat", "the node's heartbeat failed", err)
		return
	}
	c.clearOnce("heartbeat", "the node's heartbeat works again")
	c.compareClocks(at, sent, received)
}

// compareClocks warns when the database's clock at a heartbeat is more
// than MaxClockSkew from the node's at the middle of the round trip.
func (c *Cluster) compareClocks(db, sent, received time.Time) {
	local := sent.Add(received.Sub(sent) / 2)
	skew := db.Sub(local.Round(0))
	problem := ""
	if skew > MaxClockSkew || skew < -MaxClockSkew {
		ahead := "behind"
		if skew < 0 {
			ahead, skew = "ahead of", -skew
		}
		problem = fmt.Sprintf("this node's clock is %s %s the database's: lease times are the database's, but timestamps and the segment grid of this node are off; synchronise its clock (NTP)",
			skew.Round(time.Millisecond), ahead)
	}
	c.mu.Lock()
	was := c.dir.clockProblem
	c.dir.clockProblem = problem
	c.mu.Unlock()
	switch {
	case problem != "" && was == "":
		c.logger.Warn(problem)
	case problem == "" && was != "":
		c.logger.Info("this node's clock agrees with the database's again")
	}
}

// close releases the node's leases, says goodbye and stops the loops.
func (c *Cluster) close(ctx context.Context) error {
	c.mu.Lock()
	c.stopping = true
	c.mu.Unlock()
	err := c.loops.Stop(ctx)
	c.wg.Wait()
	for _, l := range c.held() {
		if c.forget(l) {
			c.fire(l.holding(false, false))
		}
	}
	gctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.statementTimeout())
	defer cancel()
	if gerr := c.cfg.Store.NodeGoodbye(gctx, c.cfg.NodeID, c.incarnation); gerr != nil && !errors.Is(gerr, store.ErrNodeTaken) {
		c.logger.Warn("saying goodbye failed: the node's channels move when their leases expire", "error", gerr)
	} else if gerr == nil {
		c.logger.Info(fmt.Sprintf("node %s said goodbye: its channels go to the other nodes", c.cfg.NodeID))
	}
	return err
}

// logOnce logs a failure of a kind once until clearOnce says it is over
// (and reminds of it every few minutes meanwhile).
func (c *Cluster) logOnce(kind, msg string, err error) {
	c.failures(kind).Fail(msg, err)
}

// clearOnce ends a failure logged by logOnce, saying so with how many
// attempts failed over how long.
func (c *Cluster) clearOnce(kind, msg string) {
	c.failures(kind).Recover(msg)
}

// failures is the reporter of a kind of failure.
func (c *Cluster) failures(kind string) *outage.Reporter {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.failing[kind]
	if !ok {
		r = outage.New(c.logger, slog.LevelWarn, c.cfg.Now)
		c.failing[kind] = r
	}
	return r
}

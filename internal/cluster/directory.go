package cluster

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/store"
)

// directory is the node's last reading of the nodes and the live leases,
// which LiveNodes and Holder answer from without touching the database.
type directory struct {
	nodes []resource.Node
	// holders are the live leases by channel id and by name, each
	// channel's by pipeline.
	holders map[string][]Holder
	// clockProblem is the last heartbeat's comparison of the clocks.
	clockProblem string
	// reach is the last check of each peer's advertised URL, by node id.
	reach map[string]resource.Reachability
}

// refresh reads the nodes and the leases into the directory.
func (c *Cluster) refresh(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, c.statementTimeout())
	defer cancel()
	if _, err := c.readNodes(ctx); err != nil {
		c.logOnce("directory", "reading the nodes and leases failed", err)
		return
	}
	c.clearOnce("directory", "reading the nodes and leases works again")
}

// readNodes reads the nodes and the live leases, keeps them as the
// directory and returns the nodes as the API shows them.
func (c *Cluster) readNodes(ctx context.Context) ([]resource.Node, error) {
	rows, now, err := c.cfg.Store.ListNodes(ctx)
	if err != nil {
		return nil, err
	}
	leases, err := c.cfg.Store.ListLeases(ctx)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	nodes := c.describe(rows, now, leases)
	advertised := map[string]string{}
	for _, n := range nodes {
		advertised[n.ID] = n.Advertise
	}
	holders := make(map[string][]Holder, 2*len(leases))
	for _, l := range leases {
		h := Holder{ChannelID: l.ChannelID, Channel: l.Channel, Pipeline: l.Pipeline, Node: l.Holder, Advertise: l.Advertise, Epoch: l.Epoch, Self: l.Holder == c.cfg.NodeID}
		holders[l.ChannelID] = append(holders[l.ChannelID], h)
		holders[l.Channel] = append(holders[l.Channel], h)
	}
	c.dir.nodes, c.dir.holders = nodes, holders
	return nodes, nil
}

// describe makes the API's nodes of their rows and the live leases; c.mu
// is held.
func (c *Cluster) describe(rows []store.NodeRecord, now time.Time, leases []store.LeaseRecord) []resource.Node {
	held := map[string][]string{}
	for _, l := range leases {
		held[l.Holder] = append(held[l.Holder], PipelineName(l.Channel, l.Pipeline))
	}
	out := make([]resource.Node, 0, len(rows))
	for _, r := range rows {
		age := now.Sub(r.LastHeartbeat)
		n := resource.Node{
			ID: r.ID, Advertise: r.Advertise, MaxChannels: r.MaxChannels, Version: r.Version,
			StartedAt: r.StartedAt, LastHeartbeat: r.LastHeartbeat, HeartbeatAgeSeconds: max(age.Seconds(), 0),
			Channels: held[r.ID], Self: r.ID == c.cfg.NodeID,
		}
		switch {
		case r.Stopped:
			n.State = resource.NodeStopped
		case age >= c.fresh():
			n.State = resource.NodeLost
		default:
			n.State = resource.NodeLive
		}
		if n.Channels == nil {
			n.Channels = []string{}
		}
		sort.Strings(n.Channels)
		n.Load = len(n.Channels)
		if reach, ok := c.dir.reach[r.ID]; ok && !n.Self && n.State == resource.NodeLive {
			n.Reachability = &reach
		}
		out = append(out, n)
	}
	return out
}

// PipelineName names a channel's pipeline in the node list and logs: the
// channel's name for its pipeline 0 (a SINGLE_PIPELINE channel's only
// one), "news (pipeline 1)" for the other pipeline of a STANDARD channel.
func PipelineName(channel string, pipeline int) string {
	if pipeline == 0 {
		return channel
	}
	return fmt.Sprintf("%s (pipeline %d)", channel, pipeline)
}

// nodes answers Nodes.
func (c *Cluster) nodes(ctx context.Context) ([]resource.Node, error) {
	if !c.solo {
		return c.readNodes(ctx)
	}
	running := []string{}
	if c.cfg.Store != nil {
		recs, err := c.cfg.Store.ListChannels(ctx)
		if err != nil {
			return nil, err
		}
		for _, r := range recs {
			if r.Desired == resource.StateRunning {
				running = append(running, r.Name)
			}
		}
	}
	return []resource.Node{c.soloNode(running)}, nil
}

// liveNodes are the directory's live nodes; c.mu is held.
func (c *Cluster) liveNodes() []resource.Node {
	if c.solo {
		return []resource.Node{c.soloNode(nil)}
	}
	out := []resource.Node{}
	for _, n := range c.dir.nodes {
		if n.State == resource.NodeLive {
			out = append(out, n)
		}
	}
	return out
}

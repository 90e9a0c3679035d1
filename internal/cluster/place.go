package cluster

import (
	"context"
	"fmt"
	"maps"
	"sort"
	"time"

	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/store"
)

// Place says which of the channel pipelines that should have a holder and
// have none this node takes now. Every node computes the same placement
// from the same reading: the pipelines in order of channel name and index,
// each on the live node with the fewest pipelines that has room (the
// lowest id among equals), counting the ones placed before it, and never
// on a node that holds another pipeline of the same channel while another
// live node has room (anti-affinity: the two pipelines of a STANDARD
// channel run on two nodes when there are two). A node takes the
// pipelines it was chosen for, and any pipeline that waited longer than a
// grace period for the node chosen for it (which may have died since its
// last heartbeat), if it has room and holds no other pipeline of the
// channel; one that holds another takes it only after twice the grace
// period. Taking is Acquire: of two nodes that try, one wins. A single
// server takes every pipeline.
func (c *Cluster) Place(ctx context.Context, cands []Candidate) ([]Candidate, error) {
	if c.solo {
		return cands, nil
	}
	c.mu.Lock()
	off := c.stopping || c.evicted
	c.mu.Unlock()
	if off || len(cands) == 0 {
		c.mu.Lock()
		clear(c.waiting)
		c.mu.Unlock()
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(ctx, c.statementTimeout())
	defer cancel()
	nodes, err := c.readNodes(ctx)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	holding := c.holdingNodes()
	chosen := placement(nodes, cands, holding)
	now := c.cfg.Now()
	waiting := make(map[store.LeaseKey]time.Time, len(cands))
	waitingRoom := map[store.LeaseKey]bool{}
	load, room := 0, 0
	for _, n := range nodes {
		if n.Self {
			load, room = n.Load, n.MaxChannels
		}
	}
	var take []Candidate
	for _, cd := range cands {
		k := cd.key()
		if _, placed := chosen[k]; !placed {
			if !c.waitingRoom[k] {
				c.logger.Warn(fmt.Sprintf("%s should run, and no live node has room for it: every node runs its --max-channels", PipelineName("channel "+cd.Channel, cd.Pipeline)), "channel", cd.Channel, "pipeline", cd.Pipeline)
			}
			waitingRoom[k] = true
		}
		since, ok := c.waiting[k]
		if !ok {
			since = now
		}
		waiting[k] = since
		sibling := holding[cd.ChannelID][c.cfg.NodeID]
		switch waited := now.Sub(since); {
		case chosen[k] == c.cfg.NodeID:
		case waited >= c.grace() && load < room && !sibling:
		case waited >= 2*c.grace() && load < room:
		default:
			continue
		}
		take = append(take, cd)
		load++
		if holding[cd.ChannelID] == nil {
			holding[cd.ChannelID] = map[string]bool{}
		}
		holding[cd.ChannelID][c.cfg.NodeID] = true
	}
	c.waiting, c.waitingRoom = waiting, waitingRoom
	return take, nil
}

// holdingNodes are the nodes that hold a pipeline of each channel, by
// channel id, from the directory and this node's own leases; c.mu is
// held.
func (c *Cluster) holdingNodes() map[string]map[string]bool {
	out := map[string]map[string]bool{}
	add := func(channelID, node string) {
		if out[channelID] == nil {
			out[channelID] = map[string]bool{}
		}
		out[channelID][node] = true
	}
	for _, hs := range c.dir.holders {
		for _, h := range hs {
			if h.Node != c.cfg.NodeID {
				add(h.ChannelID, h.Node)
			}
		}
	}
	for k := range c.leases {
		add(k.ChannelID, c.cfg.NodeID)
	}
	return out
}

// RoomElsewhere reports whether a live node other than this one has room
// for one more pipeline and holds no pipeline of the channel (by id), as
// of the last snapshot: a node that runs both pipelines of a STANDARD
// channel then lets one go, for placement to put it there. A single
// server has no other node.
func (c *Cluster) RoomElsewhere(channelID string) bool {
	if c.solo {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopping || c.evicted {
		return false
	}
	holding := c.holdingNodes()[channelID]
	for _, n := range c.liveNodes() {
		if !n.Self && !holding[n.ID] && n.Load < n.MaxChannels {
			return true
		}
	}
	return false
}

// placement chooses a node for each candidate: in order of channel name
// and pipeline, the live node with the fewest pipelines and room for one
// more (the lowest id among equals), counting those chosen before, among
// the nodes that hold no other pipeline of the channel (holding, by
// channel id), else among all. A candidate for which no node has room is
// not in the answer.
func placement(nodes []resource.Node, cands []Candidate, holding map[string]map[string]bool) map[store.LeaseKey]string {
	type slot struct {
		id         string
		load, room int
	}
	var slots []*slot
	for _, n := range nodes {
		if n.State == resource.NodeLive {
			slots = append(slots, &slot{id: n.ID, load: n.Load, room: n.MaxChannels})
		}
	}
	order := append([]Candidate(nil), cands...)
	sort.Slice(order, func(i, j int) bool {
		if order[i].Channel != order[j].Channel {
			return order[i].Channel < order[j].Channel
		}
		if order[i].ChannelID != order[j].ChannelID {
			return order[i].ChannelID < order[j].ChannelID
		}
		return order[i].Pipeline < order[j].Pipeline
	})
	busyOf := make(map[string]map[string]bool, len(holding))
	for id, nodes := range holding {
		busyOf[id] = maps.Clone(nodes)
	}
	out := map[store.LeaseKey]string{}
	for _, cd := range order {
		busy := busyOf[cd.ChannelID]
		best := func(apart bool) *slot {
			var b *slot
			for _, s := range slots {
				if s.load >= s.room || (apart && busy[s.id]) {
					continue
				}
				if b == nil || s.load < b.load || (s.load == b.load && s.id < b.id) {
					b = s
				}
			}
			return b
		}
		b := best(true)
		if b == nil {
			b = best(false)
		}
		if b == nil {
			continue
		}
		b.load++
		out[cd.key()] = b.id
		if busy == nil {
			busyOf[cd.ChannelID] = map[string]bool{}
		}
		busyOf[cd.ChannelID][b.id] = true
	}
	return out
}

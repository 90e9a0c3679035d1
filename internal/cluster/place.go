package cluster

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/sluice-video/sluice/internal/resource"
)

// Place says which of the channels that should have a holder and have
// none this node takes now. Every node computes the same placement from
// the same reading: the channels in order of name, each on the live node
// with the fewest channels that has room (the lowest id among equals),
// counting the ones placed before it. A node takes the channels it was
// chosen for, and any channel that waited longer than a grace period for
// the node chosen for it (which may have died since its last heartbeat),
// if it has room. Taking is Acquire: of two nodes that try, one wins.
// A single server takes every channel.
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
	chosen := placement(nodes, cands)
	now := c.cfg.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	waiting := make(map[string]time.Time, len(cands))
	waitingRoom := map[string]bool{}
	load, room := 0, 0
	for _, n := range nodes {
		if n.Self {
			load, room = n.Load, n.MaxChannels
		}
	}
	var take []Candidate
	for _, cd := range cands {
		if _, placed := chosen[cd.ChannelID]; !placed {
			if !c.waitingRoom[cd.ChannelID] {
				c.logger.Warn(fmt.Sprintf("channel %s should run, and no live node has room for it: every node runs its --max-channels", cd.Channel), "channel", cd.Channel)
			}
			waitingRoom[cd.ChannelID] = true
		}
		since, ok := c.waiting[cd.ChannelID]
		if !ok {
			since = now
		}
		waiting[cd.ChannelID] = since
		switch {
		case chosen[cd.ChannelID] == c.cfg.NodeID:
		case now.Sub(since) >= c.grace() && load < room:
		default:
			continue
		}
		take = append(take, cd)
		load++
	}
	c.waiting, c.waitingRoom = waiting, waitingRoom
	return take, nil
}

// placement chooses a node for each candidate: in order of name, the live
// node with the fewest channels and room for one more (the lowest id among
// equals), counting those chosen before. A candidate for which no node has
// room is not in the answer.
func placement(nodes []resource.Node, cands []Candidate) map[string]string {
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
		return order[i].ChannelID < order[j].ChannelID
	})
	out := map[string]string{}
	for _, cd := range order {
		var best *slot
		for _, s := range slots {
			if s.load >= s.room {
				continue
			}
			if best == nil || s.load < best.load || (s.load == best.load && s.id < best.id) {
				best = s
			}
		}
		if best == nil {
			continue
		}
		best.load++
		out[cd.ChannelID] = best.id
	}
	return out
}

package main

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// nodePaths are the fault proxies the soak puts before one node of a
// cluster, as before the single server: a TCP proxy before its RTMP port
// (the RTMP publisher reaches the node holding its channel through it),
// a UDP relay before its SRT port (the SRT publisher's way) and a TCP
// proxy before its HTTP port (the edge's origin).
type nodePaths struct {
	rtmp, edge *proxy
	srt        *udpRelay
}

// startPaths starts the fault proxies before n.
func (c *cluster) startPaths(n *node) error {
	p := &nodePaths{}
	var err error
	if p.rtmp, err = startProxy(n.rtmp); err != nil {
		return err
	}
	c.r.ws.Cleanup.Add(p.rtmp.close)
	if p.edge, err = startProxy(n.addr); err != nil {
		return err
	}
	c.r.ws.Cleanup.Add(p.edge.close)
	if p.srt, err = startUDPRelay(n.srt, uint64(time.Now().UnixNano())+uint64(len(c.paths))); err != nil {
		return err
	}
	c.r.ws.Cleanup.Add(p.srt.close)
	c.paths[n.id] = p
	return nil
}

// through rewrites a publish URL of node id to go through the node's
// fault proxy or relay: the RTMP and SRT listeners' addresses become
// those of the proxy and the relay before them.
func (c *cluster) through(id, url string) string {
	p := c.paths[id]
	for _, n := range c.nodes {
		if n.id != id || p == nil {
			continue
		}
		url = strings.Replace(url, n.rtmp, p.rtmp.addr(), 1)
		return strings.Replace(url, n.srt, p.srt.addr(), 1)
	}
	return url
}

// origins are the edge's origins: every node, through its edge proxy.
func (c *cluster) origins() []string {
	var out []string
	for _, n := range c.nodes {
		out = append(out, "http://"+c.paths[n.id].edge.addr())
	}
	return out
}

// netFault injects one of the network faults on the paths before every
// node (a publisher reaches whichever node holds its channel, the edge
// every node) and undoes it; ok is false for another fault.
func (c *cluster) netFault(ctx context.Context, kind string) (note string, err error, ok bool) {
	var rtmp, edge []*proxy
	var srt []*udpRelay
	for _, n := range c.nodes {
		p := c.paths[n.id]
		rtmp, edge, srt = append(rtmp, p.rtmp), append(edge, p.edge), append(srt, p.srt)
	}
	switch kind {
	case faultNetPublisher:
		holder := orDash(c.holder(ctx, "soak-rtmp"))
		for _, p := range rtmp {
			if err := p.setDelay(300 * time.Millisecond); err != nil {
				return "", err, true
			}
		}
		sleep(ctx, 10*time.Second)
		for _, p := range rtmp {
			if err := p.setDelay(0); err != nil {
				return "", err, true
			}
			p.cut(5 * time.Second)
		}
		sleep(ctx, 5*time.Second)
		// ffmpeg does not reconnect by itself: its operator's loop would.
		return fmt.Sprintf("300 ms added to every chunk from the RTMP publisher (to node %s) for 10s, then its connection cut and refused for 5s", holder),
			c.r.rtmpPub.start(1), true
	case faultNetUDP:
		holder := orDash(c.holder(ctx, "soak-srt"))
		return netUDP(ctx, srt, fmt.Sprintf("the SRT publisher and the nodes (it publishes to node %s)", holder)), nil, true
	case faultNetEdge:
		for _, p := range edge {
			p.cut(10 * time.Second)
		}
		sleep(ctx, 10*time.Second)
		return fmt.Sprintf("the edge's connections to the %d origins cut and refused for 10s", len(edge)), nil, true
	}
	return "", nil, false
}

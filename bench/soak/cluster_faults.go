package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/sluice-video/sluice/bench/internal/procfs"
)

// The faults of a cluster, besides the single server's that still apply.
const (
	faultNodeKill  = "node-kill"
	faultNodeStop  = "node-stop"
	faultPGStop    = "pg-stop"
	faultMinIOStop = "minio-stop"
)

// clusterFaults are the faults --cluster knows, in the order of its
// default schedule. The server faults become node faults; the network
// faults act on the proxies and relays before every node
// (cluster_net.go); disk-full fills one node's data directory.
var clusterFaults = []string{
	faultNodeKill, faultEncoderKill, faultNetPublisher, faultPGStop, faultPublisherVanish, faultNetEdge,
	faultNodeStop, faultBadAPI, faultNetUDP, faultMinIOStop, faultPublisherGarbage, faultDiskFull,
	faultPublisherFlap, faultPublisherFast,
}

// outage is how long a paused node, PostgreSQL and MinIO stay away:
// longer than the lease, so that the channels of a paused node move and,
// without the database, every node stops its channels.
const outage = clusterLease + 5*time.Second

// fault injects a fault of the cluster and undoes it; ok is false for a
// fault the single server's code injects.
func (c *cluster) fault(ctx context.Context, kind string) (note string, err error, ok bool) {
	switch kind {
	case faultNodeKill:
		n := c.nextVictim()
		held := c.heldBy(ctx, n.id)
		c.setDown(n, true)
		n.kill()
		err := n.start(ctx)
		c.setDown(n, false)
		return fmt.Sprintf("SIGKILL to node %s (holding %s), then started again", n.id, held), err, true
	case faultNodeStop:
		n := c.nextVictim()
		held := c.heldBy(ctx, n.id)
		c.setDown(n, true)
		n.pause(ctx, outage)
		c.setDown(n, false)
		return fmt.Sprintf("SIGSTOP to node %s (holding %s) for %s", n.id, held, outage), nil, true
	case faultPGStop:
		c.pg.Stop()
		sleep(ctx, outage)
		return fmt.Sprintf("PostgreSQL stopped (fast shutdown) for %s, then started again", outage), c.pg.Start(ctx), true
	case faultMinIOStop:
		c.s3.Stop()
		sleep(ctx, outage)
		return fmt.Sprintf("MinIO stopped for %s, then started again", outage), c.s3.Start(ctx), true
	case faultEncoderKill:
		var encoders []int
		owner := map[int]string{}
		for _, n := range c.nodes {
			kids, _ := procfs.Children(n.pid())
			for _, pid := range kids {
				if procfs.Name(pid) == "ffmpeg" {
					encoders = append(encoders, pid)
					owner[pid] = n.id
				}
			}
		}
		if len(encoders) == 0 {
			return "", errors.New("no node runs an encoder"), true
		}
		pid := encoders[rand.IntN(len(encoders))] //nolint:gosec // which encoder dies, not a secret
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			return "", err, true
		}
		return fmt.Sprintf("SIGKILL to encoder %d of node %s (%d encoders in the cluster)", pid, owner[pid], len(encoders)), nil, true
	case faultDiskFull:
		if !c.tmpfs {
			return "skipped: needs root to mount a small file system for each node's data directory", nil, true
		}
		n := c.busiest(ctx)
		held := c.heldBy(ctx, n.id)
		filler := filepath.Join(n.dataDir(), "filler")
		filled, err := fillDisk(filler)
		sleep(ctx, 15*time.Second)
		if rerr := os.Remove(filler); err == nil {
			err = rerr
		}
		return fmt.Sprintf("the data directory's file system of node %s (holding %s) filled (%d MiB more) for 15s", n.id, held, filled>>20), err, true
	}
	return "", nil, false
}

// busiest is the node holding the most channels (the first of them on
// a tie): the one whose full disk hurts most.
func (c *cluster) busiest(ctx context.Context) *node {
	held := c.heldChannels(ctx)
	best := c.nodes[0]
	for _, n := range c.nodes[1:] {
		if held[n.id] > held[best.id] {
			best = n
		}
	}
	return best
}

// nextVictim is the node the next node fault takes down: each in turn.
func (c *cluster) nextVictim() *node {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.nodes[c.victim%len(c.nodes)]
	c.victim++
	return n
}

// heldBy names the channels node id holds, for the fault's note.
func (c *cluster) heldBy(ctx context.Context, id string) string {
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var held []string
	for _, ch := range c.r.channels {
		if c.holder(rctx, ch) == id {
			held = append(held, ch)
		}
	}
	if len(held) == 0 {
		return "no channel"
	}
	return strings.Join(held, ", ")
}

package cluster

// Acting reports whether this node holds a pipeline of a channel (by id
// or name; any pipeline) and may still act for it at this instant: it has
// the lease, and the lease's time to act has not passed on this node's
// clock. It does not wait for the watch that loses such leases, so a node
// that was paused past its lease and runs again never serves the channel
// for a moment more. A single server acts for every channel.
func (c *Cluster) Acting(channel string) bool {
	return c.acting(channel, -1)
}

// ActingPipeline is Acting for one pipeline of the channel: pipeline 0 is
// the channel's own, whose holder writes the channel's state and archive.
func (c *Cluster) ActingPipeline(channel string, pipeline int) bool {
	return c.acting(channel, pipeline)
}

// acting is Acting for one pipeline, or any when pipeline is negative.
func (c *Cluster) acting(channel string, pipeline int) bool {
	if c.solo {
		return true
	}
	now := c.cfg.Now()
	c.mu.Lock()
	leases := c.leasesByRef(channel)
	c.mu.Unlock()
	for _, l := range leases {
		if pipeline >= 0 && l.pipeline != pipeline {
			continue
		}
		l.mu.Lock()
		ok := !l.ended && !now.After(l.validUntil)
		l.mu.Unlock()
		if ok {
			return true
		}
	}
	return false
}

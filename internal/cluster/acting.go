package cluster

// Acting reports whether this node holds a channel (by id or name) and may
// still act for it at this instant: it has the lease, and the lease's time
// to act has not passed on this node's clock. It does not wait for the
// watch that loses such leases, so a node that was paused past its lease
// and runs again never serves the channel for a moment more. A single
// server acts for every channel.
func (c *Cluster) Acting(channel string) bool {
	if c.solo {
		return true
	}
	now := c.cfg.Now()
	c.mu.Lock()
	l, ok := c.leaseByRef(channel)
	c.mu.Unlock()
	if !ok {
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return !l.ended && !now.After(l.validUntil)
}

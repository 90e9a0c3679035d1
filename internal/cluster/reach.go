package cluster

import (
	"context"
	"fmt"
	"net/http"
	"sync"

	"github.com/sluice-video/sluice/internal/resource"
)

// checkPeers asks every live peer's advertised URL for /healthz, and keeps
// the answers for the node list: a node that cannot reach a peer cannot
// forward to it either.
func (c *Cluster) checkPeers(ctx context.Context) {
	c.mu.Lock()
	var peers []resource.Node
	for _, n := range c.dir.nodes {
		if n.State == resource.NodeLive && !n.Self {
			peers = append(peers, n)
		}
	}
	c.mu.Unlock()
	results := make(map[string]resource.Reachability, len(peers))
	var (
		mu sync.Mutex
		wg sync.WaitGroup
	)
	for _, p := range peers {
		wg.Go(func() {
			r := c.reach(ctx, p.Advertise)
			mu.Lock()
			results[p.ID] = r
			mu.Unlock()
		})
	}
	wg.Wait()
	c.mu.Lock()
	defer c.mu.Unlock()
	for id, r := range results {
		if was, ok := c.dir.reach[id]; ok && was.Reachable && !r.Reachable {
			c.logger.Warn(fmt.Sprintf("node %s does not answer at its advertised URL", id), "error", r.Error)
		}
	}
	c.dir.reach = results
}

// reach checks one advertised URL.
func (c *Cluster) reach(ctx context.Context, advertise string) resource.Reachability {
	r := resource.Reachability{CheckedAt: c.cfg.Now().UTC()}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, advertise+"/healthz", nil)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	resp, err := c.cfg.Client.Do(req)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		r.Error = "GET /healthz answered " + resp.Status
		return r
	}
	r.Reachable = true
	return r
}

package api

import (
	"context"
	"net/http"

	"github.com/sluice-video/sluice/internal/problem"
	"github.com/sluice-video/sluice/internal/resource"
)

// Nodes lists the nodes of the server's cluster; *cluster.Cluster
// satisfies it.
type Nodes interface {
	Nodes(ctx context.Context) ([]resource.Node, error)
}

// listNodes answers GET /api/v1/nodes: every node the state database
// knows (a single server: itself), with its channels, load and last
// heartbeat.
func (a *API) listNodes(w http.ResponseWriter, r *http.Request) {
	if a.cfg.Nodes == nil {
		problem.Write(w, r, http.StatusNotFound, "this server keeps no list of nodes", 0)
		return
	}
	all, err := a.cfg.Nodes.Nodes(r.Context())
	answer(a, w, r, http.StatusOK, all, err)
}

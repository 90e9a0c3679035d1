package web

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/sluice-video/sluice/internal/resource"
)

// NodeLister lists the nodes of the server's cluster, as GET /api/v1/nodes
// answers them: on a single server, the server itself.
type NodeLister func(ctx context.Context) ([]resource.Node, error)

// nodeRow is one node as the console's nodes page shows it: the columns
// of `sluice node list`.
type nodeRow struct {
	ID        string
	Self      bool
	State     string
	Advertise string
	Load      int
	// MaxChannels is the node's capacity (--max-channels).
	MaxChannels int
	// Heartbeat is the age of its last heartbeat in words, and
	// LastHeartbeat when that was.
	Heartbeat     string
	LastHeartbeat string
	Reachable     string
	Version       string
	Channels      []string
}

// consoleNodes is the page of the cluster's nodes: each node's state,
// advertised URL, load against its capacity, last heartbeat and the
// channels it holds. A server given no list of nodes is its only node.
func (p *Pages) consoleNodes(w http.ResponseWriter, r *http.Request, c Console, cp *consolePage) {
	cp.Title, cp.Section = "Nodes", "nodes"
	if c.Nodes == nil {
		p.render(w, r, http.StatusOK, p.views.console["nodes"], cp)
		return
	}
	all, err := c.Nodes(r.Context())
	if err != nil {
		p.logger.ErrorContext(r.Context(), "listing the nodes for the console", "err", err)
		cp.Error = "Sluice could not list the nodes: " + err.Error()
		p.render(w, r, http.StatusInternalServerError, p.views.console["nodes"], cp)
		return
	}
	cp.Nodes = []nodeRow{}
	for _, n := range all {
		cp.Nodes = append(cp.Nodes, nodeRowOf(n))
	}
	p.render(w, r, http.StatusOK, p.views.console["nodes"], cp)
}

func nodeRowOf(n resource.Node) nodeRow {
	row := nodeRow{
		ID: n.ID, Self: n.Self, State: string(n.State), Advertise: n.Advertise,
		Load: n.Load, MaxChannels: n.MaxChannels, Version: n.Version, Channels: n.Channels,
		Heartbeat: time.Duration(n.HeartbeatAgeSeconds*float64(time.Second)).Round(100*time.Millisecond).String() + " ago",
		Reachable: nodeReachability(n),
	}
	if !n.LastHeartbeat.IsZero() {
		row.LastHeartbeat = n.LastHeartbeat.UTC().Format(time.RFC3339)
	}
	return row
}

// nodeReachability says whether the answering node reached a node at its
// advertised URL, as `sluice node list` does.
func nodeReachability(n resource.Node) string {
	switch {
	case n.Self:
		return "this node"
	case n.Reachability == nil:
		return "not checked"
	case n.Reachability.Reachable:
		return "yes"
	}
	return strings.TrimSpace("no: " + n.Reachability.Error)
}

package distribution

import (
	"context"
	"errors"
	"net"
	"time"

	"github.com/sluice-video/sluice/internal/edge"
	"github.com/sluice-video/sluice/internal/httpguard"
	"github.com/sluice-video/sluice/internal/resource"
)

// runner is one distribution's edge node.
type runner struct {
	id, name, listen string
	// addr is the address actually bound (the port of ":0" resolved).
	addr    string
	started time.Time
	node    *edge.Node
	edge    *edge.Edge
}

// startRunner builds d's edge and serves it on d.Listen, guarded.
func startRunner(d resource.Distribution, cfg edge.Config, guard httpguard.Config, listen func(string, string) (net.Listener, error)) (*runner, error) {
	n := edge.NewNode(edge.NodeConfig{Edge: cfg, Listen: d.Listen, ListenFunc: listen, Guard: guard})
	if err := n.Start(context.Background()); err != nil {
		if le, ok := errors.AsType[*edge.ListenError](err); ok {
			return nil, resource.Conflict("listen: cannot listen on %s: %v", d.Listen, le.Err)
		}
		return nil, err
	}
	r := &runner{
		id: d.ID, name: d.Name, listen: d.Listen, addr: n.Addr().String(), started: time.Now(),
		node: n, edge: n.Edge(),
	}
	go func() {
		<-n.Done()
		if err := n.Err(); err != nil {
			cfg.Logger.Error("the edge's listener failed", "addr", r.addr, "error", err)
		}
	}()
	cfg.Logger.Info("the edge is serving", "addr", r.addr, "origins", d.Origins)
	return r, nil
}

// closeListener stops accepting connections at once, so the address is
// free for the edge that replaces this one; stop then drains.
func (r *runner) closeListener() { r.node.CloseListener() }

// stop closes the listener, lets the responses in progress finish until
// ctx ends (then cuts them) and closes the edge.
func (r *runner) stop(ctx context.Context) { _ = r.node.Close(ctx) }

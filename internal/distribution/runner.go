package distribution

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/sluice-video/sluice/internal/edge"
	"github.com/sluice-video/sluice/internal/httpguard"
	"github.com/sluice-video/sluice/internal/resource"
)

// runner is one distribution's edge and the HTTP server in front of it.
type runner struct {
	id, name, listen string
	// addr is the address actually bound (the port of ":0" resolved).
	addr    string
	started time.Time
	edge    *edge.Edge
	srv     *http.Server
	ln      net.Listener
	done    chan struct{}
}

// startRunner builds d's edge and serves it on d.Listen, guarded.
func startRunner(d resource.Distribution, cfg edge.Config, guard httpguard.Config, listen func(string, string) (net.Listener, error)) (*runner, error) {
	e, err := edge.New(cfg)
	if err != nil {
		return nil, err
	}
	ln, err := listen("tcp", d.Listen)
	if err != nil {
		e.Close()
		return nil, resource.Conflict("listen: cannot listen on %s: %v", d.Listen, err)
	}
	r := &runner{
		id: d.ID, name: d.Name, listen: d.Listen, addr: ln.Addr().String(), started: time.Now(),
		edge: e, ln: ln, done: make(chan struct{}), srv: guard.Server(e),
	}
	go func() {
		defer close(r.done)
		if err := r.srv.Serve(guard.Listener(ln)); err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
			cfg.Logger.Error("the edge's listener failed", "addr", r.addr, "error", err)
		}
	}()
	cfg.Logger.Info("the edge is serving", "addr", r.addr, "origins", d.Origins)
	return r, nil
}

// closeListener stops accepting connections at once, so the address is
// free for the edge that replaces this one; stop then drains.
func (r *runner) closeListener() { _ = r.ln.Close() }

// stop closes the listener, lets the responses in progress finish until
// ctx ends (then cuts them) and closes the edge.
func (r *runner) stop(ctx context.Context) {
	if err := r.srv.Shutdown(ctx); err != nil {
		_ = r.srv.Close()
	}
	<-r.done
	r.edge.Close()
}

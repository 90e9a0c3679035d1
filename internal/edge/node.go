package edge

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sync"

	"github.com/sluice-video/sluice/internal/httpguard"
)

// NodeMetrics exports a node's figures: its edge's and the connections
// its guard refused. *metrics.Metrics satisfies it.
type NodeMetrics interface {
	EdgeObserver(name string) Observer
	EdgeConnectionRefused(name string)
}

// NodeConfig configures a Node.
type NodeConfig struct {
	Edge Config
	// Listen is the address to listen on; ListenFunc listens (default
	// net.Listen).
	Listen     string
	ListenFunc func(network, address string) (net.Listener, error)
	// Guard protects the listener.
	Guard httpguard.Config
	// Metrics, when set, observes the edge and counts refused connections
	// (it sets Edge.Observer and Guard.Refused).
	Metrics NodeMetrics
	// Routes, when set, wraps the edge's handler with routes of the
	// node's own (such as /metrics).
	Routes func(edge http.Handler) http.Handler
}

// Node is an edge serving HTTP on its own listener: what `sluice edge`
// runs, and what each distribution of a server runs. New builds it,
// Start makes the edge and serves, Close drains and closes both.
type Node struct {
	cfg NodeConfig

	mu      sync.Mutex
	edge    *Edge
	serving *httpguard.Serving
}

// NewNode returns a node; nothing runs before Start.
func NewNode(cfg NodeConfig) *Node {
	if cfg.ListenFunc == nil {
		cfg.ListenFunc = net.Listen
	}
	if cfg.Edge.Name == "" {
		cfg.Edge.Name = DefaultName
	}
	if m := cfg.Metrics; m != nil {
		name := cfg.Edge.Name
		cfg.Edge.Observer = m.EdgeObserver(name)
		cfg.Guard.Refused = func() { m.EdgeConnectionRefused(name) }
	}
	if cfg.Guard.Logger == nil {
		cfg.Guard.Logger = cfg.Edge.Logger
	}
	return &Node{cfg: cfg}
}

// Start makes the edge (its origins' health checks start) and serves it
// on the listener.
func (n *Node) Start(context.Context) error {
	e, err := New(n.cfg.Edge)
	if err != nil {
		return err
	}
	ln, err := n.cfg.ListenFunc("tcp", n.cfg.Listen)
	if err != nil {
		e.Close()
		return &ListenError{Addr: n.cfg.Listen, Err: err}
	}
	var h http.Handler = e
	if n.cfg.Routes != nil {
		h = n.cfg.Routes(e)
	}
	s := n.cfg.Guard.Serving(ln, h)
	n.mu.Lock()
	n.edge, n.serving = e, s
	n.mu.Unlock()
	return s.Start(context.Background())
}

// ListenError is a node's failure to listen.
type ListenError struct {
	Addr string
	Err  error
}

func (e *ListenError) Error() string { return fmt.Sprintf("listening on %s: %v", e.Addr, e.Err) }
func (e *ListenError) Unwrap() error { return e.Err }

// Edge returns the node's edge, nil before Start.
func (n *Node) Edge() *Edge {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.edge
}

// Addr returns the bound address, nil before Start.
func (n *Node) Addr() net.Addr {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.serving == nil {
		return nil
	}
	return n.serving.Addr()
}

// Done is closed when serving ended (nil before Start); Err says why
// when it ended on its own.
func (n *Node) Done() <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.serving == nil {
		return nil
	}
	return n.serving.Done()
}

// Err returns why serving ended on its own.
func (n *Node) Err() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.serving == nil {
		return nil
	}
	return n.serving.Err()
}

// CloseListener frees the address at once; Close then drains.
func (n *Node) CloseListener() {
	n.mu.Lock()
	s := n.serving
	n.mu.Unlock()
	if s != nil {
		s.CloseListener()
	}
}

// Close stops serving, letting the responses in progress finish until
// ctx ends (then cuts them and returns ctx's error), and closes the edge.
func (n *Node) Close(ctx context.Context) error {
	n.mu.Lock()
	e, s := n.edge, n.serving
	n.mu.Unlock()
	var err error
	if s != nil {
		err = s.Close(ctx)
	}
	if e != nil {
		e.Close()
	}
	return err
}

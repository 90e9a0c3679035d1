package rtmp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
)

// Port is one listener of a Server, as a component: rtmp:// on Addr, or
// rtmps:// when TLS is set. Several ports share their Server (and its
// limits); Close closes this port's listener only.
type Port struct {
	Server *Server
	// Name is how logs call the port ("RTMP", "RTMPS").
	Name string
	Addr string
	// TLS, when set, makes the port RTMPS.
	TLS *tls.Config
	// Hint is added to a failure to listen (which flag to change).
	Hint string

	mu   sync.Mutex
	ln   net.Listener
	done chan struct{}
}

// Start listens on Addr and serves in the background.
func (p *Port) Start(context.Context) error {
	p.Server.init()
	var ln net.Listener
	var err error
	if p.TLS != nil {
		ln, err = tls.Listen("tcp", p.Addr, p.TLS)
	} else {
		ln, err = net.Listen("tcp", p.Addr)
	}
	if err != nil {
		return fmt.Errorf("listening on %s: %w%s", p.Addr, err, p.Hint)
	}
	done := make(chan struct{})
	p.mu.Lock()
	p.ln, p.done = ln, done
	p.mu.Unlock()
	logger := p.Server.Logger
	logger.Info(fmt.Sprintf("%s ingest is listening", p.Name), "addr", ln.Addr().String())
	go func() {
		defer close(done)
		if err := p.Server.Serve(ln); err != nil && !errors.Is(err, net.ErrClosed) && !errors.Is(err, ErrServerClosed) {
			logger.Error(fmt.Sprintf("the %s listener stopped", p.Name), "error", err)
		}
	}()
	return nil
}

// Close closes the listener and waits for its accept loop to end.
func (p *Port) Close(ctx context.Context) error {
	p.mu.Lock()
	ln, done := p.ln, p.done
	p.mu.Unlock()
	if ln == nil {
		return nil
	}
	_ = ln.Close()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Number returns the bound port, 0 before Start.
func (p *Port) Number() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln == nil {
		return 0
	}
	_, port, err := net.SplitHostPort(p.ln.Addr().String())
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(port)
	return n
}

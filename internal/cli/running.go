package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
)

// listen opens the TCP listener of a command's HTTP server.
func listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", addr, err)
	}
	return ln, nil
}

// httpServer is an HTTP server that may stop on its own: its listener failed.
type httpServer interface {
	Done() <-chan struct{}
	Err() error
}

// untilStopped waits for the command to be stopped (ctx ends: SIGINT or
// SIGTERM), then returns nil; or for its HTTP server to stop on its own,
// then returns why.
func untilStopped(ctx context.Context, s httpServer) error {
	select {
	case <-s.Done():
		if err := s.Err(); err != nil {
			return err
		}
		return errors.New("the HTTP server stopped")
	case <-ctx.Done():
		return nil
	}
}

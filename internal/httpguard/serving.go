package httpguard

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
)

// Serving is an HTTP server on a listener behind the guard, as a
// component: Start serves in the background, Close stops accepting and
// lets the requests in progress finish until its context ends, then cuts
// them. `sluice serve`, `sluice edge` and the distributions' edges serve
// this way.
type Serving struct {
	srv *http.Server
	ln  net.Listener

	mu      sync.Mutex
	started bool
	done    chan struct{}
	err     error
}

// Serving returns the server of h on ln, guarded; nothing is served
// before Start.
func (c Config) Serving(ln net.Listener, h http.Handler) *Serving {
	return &Serving{srv: c.Server(h), ln: c.Listener(ln), done: make(chan struct{})}
}

// Addr returns the listener's address.
func (s *Serving) Addr() net.Addr { return s.ln.Addr() }

// Start serves in the background.
func (s *Serving) Start(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return nil
	}
	s.started = true
	go func() {
		defer close(s.done)
		err := s.srv.Serve(s.ln)
		if errors.Is(err, http.ErrServerClosed) || errors.Is(err, net.ErrClosed) {
			err = nil
		}
		s.mu.Lock()
		s.err = err
		s.mu.Unlock()
	}()
	return nil
}

// Done is closed when serving has ended, on its own or by Close.
func (s *Serving) Done() <-chan struct{} { return s.done }

// Err returns why serving ended on its own (nil when closed).
func (s *Serving) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// CloseListener stops accepting connections at once (the address is
// free); Close then lets the requests in progress finish.
func (s *Serving) CloseListener() { _ = s.ln.Close() }

// Close stops accepting connections and waits for the requests in
// progress until ctx ends; then it cuts them and returns ctx's error.
// It may be called more than once, at once too.
func (s *Serving) Close(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if err != nil {
		_ = s.srv.Close()
	}
	s.mu.Lock()
	started := s.started
	s.mu.Unlock()
	if started {
		<-s.done
	} else {
		_ = s.ln.Close()
	}
	return err
}

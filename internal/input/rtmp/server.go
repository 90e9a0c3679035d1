// Package rtmp is Sluice's RTMP and RTMPS ingest: it accepts publishers
// (OBS, ffmpeg, hardware encoders), admits them through the input registry
// (security group and stream key) before reading any media, and publishes
// what they send on the input's hub. Playing is refused: RTMP in Sluice is
// ingest only.
//
// Publishers use rtmp://host:port/live/<stream key> (server "…/live",
// stream key "<stream key>" in OBS), or rtmps:// on a TLS listener; the key
// may also be the last path element of another application
// (rtmp://host/app/<stream key>). Video is H.264 or H.265 (legacy FLV or
// enhanced RTMP), audio AAC, MP3 or Opus (enhanced RTMP).
package rtmp

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/sluice-video/sluice/internal/input/live"
)

// Defaults of the server's timeouts.
const (
	DefaultFirstBytesTimeout = 3 * time.Second
	DefaultHandshakeTimeout  = 10 * time.Second
	DefaultReadTimeout       = 10 * time.Second
)

// Server accepts RTMP publishers. The zero value needs a Registry; it may
// serve several listeners at once (RTMP and RTMPS), which share its limits.
//
// A connection is screened before it costs anything: an address no
// input's security group allows is closed at once; then each address may
// have Limits.PerAddress connections in their handshake, and all together
// Limits.Total, so that one address holding connections open cannot lock
// the others out. A client must send the start of its handshake (C0 and
// C1, after the TLS handshake on RTMPS) within FirstBytesTimeout, which a
// connection that sends nothing runs into, and get as far as an admitted
// publish within HandshakeTimeout.
type Server struct {
	Registry *live.Registry
	Logger   *slog.Logger
	// Counter counts refused connections by reason (the server's
	// metrics); nil counts none.
	Counter live.RefusalCounter
	// Limits bound the connections in their handshake (live's defaults
	// for zeros).
	Limits live.HandshakeLimits
	// FirstBytesTimeout bounds the time from accept to the client's C0
	// and C1; HandshakeTimeout the time from accept to an admitted publish
	// command; ReadTimeout the silence of a publisher. Defaults for zeros.
	FirstBytesTimeout time.Duration
	HandshakeTimeout  time.Duration
	ReadTimeout       time.Duration

	once       sync.Once
	mu         sync.Mutex
	closed     bool
	done       chan struct{}
	listeners  map[net.Listener]struct{}
	conns      map[net.Conn]struct{}
	wg         sync.WaitGroup
	handshakes *live.Handshakes
	refusals   *live.Refusals
}

func (s *Server) init() {
	s.once.Do(func() {
		s.done = make(chan struct{})
		s.listeners = map[net.Listener]struct{}{}
		s.conns = map[net.Conn]struct{}{}
		if s.Logger == nil {
			s.Logger = slog.New(slog.DiscardHandler)
		}
		s.handshakes = live.NewHandshakes(s.Limits)
		s.refusals = live.NewRefusals(live.RefusalsConfig{Protocol: "rtmp", Counter: s.Counter, Logger: s.Logger})
		if s.FirstBytesTimeout <= 0 {
			s.FirstBytesTimeout = DefaultFirstBytesTimeout
		}
		if s.HandshakeTimeout <= 0 {
			s.HandshakeTimeout = DefaultHandshakeTimeout
		}
		if s.ReadTimeout <= 0 {
			s.ReadTimeout = DefaultReadTimeout
		}
	})
}

// ErrServerClosed is returned by Serve after Close.
var ErrServerClosed = errors.New("rtmp: server closed")

// Serve accepts connections on ln until Close: a plain TCP listener for
// rtmp://, or a tls.NewListener for rtmps://. It closes ln on return.
func (s *Server) Serve(ln net.Listener) error {
	s.init()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ln.Close()
		return ErrServerClosed
	}
	s.listeners[ln] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, ln)
		s.mu.Unlock()
		ln.Close()
	}()
	s.Logger.Info("RTMP server listening", "address", ln.Addr().String())
	var backoff time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.isClosed() {
				return ErrServerClosed
			}
			if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() || isTemporary(err) {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.Logger.Warn("RTMP accept failed; retrying", "error", err, "retry_in", backoff)
				select {
				case <-time.After(backoff):
				case <-s.done:
				}
				continue
			}
			return err
		}
		backoff = 0
		s.accept(nc)
	}
}

// accept screens a new connection by address before any byte is read:
// the security groups, then the handshakes in progress from its address,
// then those of the whole server.
func (s *Server) accept(nc net.Conn) {
	remote := nc.RemoteAddr().String()
	if !s.Registry.AllowedAnywhere("rtmp", remote) {
		s.refusals.Refuse(remote, live.RefusedSecurityGroup, "RTMP connection refused: no input's security group allows this address")
		nc.Close()
		return
	}
	release, refused := s.handshakes.Begin(remote)
	switch refused {
	case live.RefusedAddressLimit:
		s.refusals.Refuse(remote, refused, "RTMP connection refused: this address already has as many connections in their handshake as one address may", "limit", s.handshakes.Limits().PerAddress)
		nc.Close()
		return
	case live.RefusedServerLimit:
		s.refusals.Refuse(remote, refused, "RTMP connection refused: the server already has as many connections in their handshake as it takes", "limit", s.handshakes.Limits().Total)
		nc.Close()
		return
	}
	accepted := time.Now()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		release()
		nc.Close()
		return
	}
	s.conns[nc] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		defer func() {
			s.mu.Lock()
			delete(s.conns, nc)
			s.mu.Unlock()
			nc.Close()
		}()
		defer release()
		c := &conn{srv: s, nc: nc, remote: remote, accepted: accepted, admitted: release}
		c.run()
	}()
}

// Start does nothing: the server serves the listeners given to Serve
// (see Port).
func (s *Server) Start(context.Context) error { return nil }

// Close stops every listener and ends every connection, then waits for
// their goroutines.
func (s *Server) Close(context.Context) error {
	s.init()
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.done)
	}
	for ln := range s.listeners {
		ln.Close()
	}
	for nc := range s.conns {
		nc.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// isTemporary reports accept errors worth retrying (too many open files).
func isTemporary(err error) bool {
	type temporary interface {
		error
		Temporary() bool
	}
	t, ok := errors.AsType[temporary](err)
	return ok && t.Temporary()
}

// Package srt is Sluice's SRT ingest: a listener that admits publishers in
// their handshake (security group, stream key in the stream id, the
// input's passphrase) before any media flows, and a caller that connects
// out to an SRT source. Both carry MPEG-TS into the input's hub.
//
// Publishers call srt://host:port?streamid=<stream key>, or use SRT's
// access control syntax streamid=#!::r=<stream key>,m=publish; an input
// with a passphrase also needs passphrase=<passphrase> (pbkeylen 16, 24
// or 32). The SRT latency of a listener connection is the larger of the
// publisher's and SRT's default (120 ms): gosrt sets latency per listener,
// not per connection request.
package srt

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	gosrt "github.com/datarhei/gosrt"

	"github.com/sluice-video/sluice/internal/input/live"
)

// ErrListenerClosed is returned by Serve after Close.
var ErrListenerClosed = errors.New("srt: listener closed")

// Listener accepts SRT publishers (SRT_LISTENER inputs) on one UDP port;
// the stream id names the input.
//
// SRT's induction is stateless (a SYN cookie), and a caller reaches Sluice
// only with its conclusion, which is decided at once: the security
// groups, then the requests in progress from its address
// (Limits.PerAddress) and from all (Limits.Total), then the stream id, the
// key and the passphrase. A request stays in progress only while its
// address waits out a wrong-key penalty, so an address that keeps
// guessing fills its own share and not the listener's. A connected caller
// that sends nothing at all is dropped by SRT's peer idle timeout (5 s),
// one that sends no media by ReadTimeout.
type Listener struct {
	// Address is where Start listens ("host:port", UDP).
	Address  string
	Registry *live.Registry
	Logger   *slog.Logger
	// Counter counts refused callers by reason (the server's metrics);
	// nil counts none.
	Counter live.RefusalCounter
	// Limits bound the connection requests being decided at once (live's
	// defaults for zeros).
	Limits live.HandshakeLimits
	// ReadTimeout ends a session whose publisher sends no media for this
	// long; DefaultReadTimeout when zero.
	ReadTimeout time.Duration

	once       sync.Once
	mu         sync.Mutex
	closed     bool
	done       chan struct{}
	ln         gosrt.Listener
	conns      map[gosrt.Conn]struct{}
	wg         sync.WaitGroup
	handshakes *live.Handshakes
	refusals   *live.Refusals
}

func (l *Listener) init() {
	l.once.Do(func() {
		l.done = make(chan struct{})
		l.conns = map[gosrt.Conn]struct{}{}
		if l.Logger == nil {
			l.Logger = slog.New(slog.DiscardHandler)
		}
		l.handshakes = live.NewHandshakes(l.Limits)
		l.refusals = live.NewRefusals(live.RefusalsConfig{Protocol: "srt", Counter: l.Counter, Logger: l.Logger})
		if l.ReadTimeout <= 0 {
			l.ReadTimeout = DefaultReadTimeout
		}
	})
}

// Serve listens on addr ("host:port", UDP) and accepts publishers until
// Close.
func (l *Listener) Serve(addr string) error {
	l.init()
	cfg := gosrt.DefaultConfig()
	ln, err := gosrt.Listen("srt", addr, cfg)
	if err != nil {
		return err
	}
	l.mu.Lock()
	if l.closed || l.ln != nil {
		already := l.ln != nil
		l.mu.Unlock()
		ln.Close()
		if already {
			return errors.New("srt: the listener is already serving")
		}
		return ErrListenerClosed
	}
	l.ln = ln
	l.mu.Unlock()
	l.Logger.Info("SRT listener listening", "address", ln.Addr().String())
	for {
		req, err := ln.Accept2()
		if err != nil {
			if l.isClosed() {
				return ErrListenerClosed
			}
			return err
		}
		l.screen(req)
	}
}

// screen decides by address whether a connection request is looked at:
// the security groups, then the requests in progress from its address,
// then those of the whole listener. It hands the request on to handle.
func (l *Listener) screen(req gosrt.ConnRequest) {
	remote := req.RemoteAddr().String()
	if !l.Registry.AllowedAnywhere("srt", remote) {
		l.refusals.Refuse(remote, live.RefusedSecurityGroup, "SRT caller refused: no input's security group allows this address")
		req.Reject(gosrt.REJX_FORBIDDEN)
		return
	}
	release, refused := l.handshakes.Begin(remote)
	switch refused {
	case live.RefusedAddressLimit:
		l.refusals.Refuse(remote, refused, "SRT caller refused: this address already has as many connection requests being decided as one address may", "limit", l.handshakes.Limits().PerAddress)
		req.Reject(gosrt.REJX_OVERLOAD)
		return
	case live.RefusedServerLimit:
		l.refusals.Refuse(remote, refused, "SRT caller refused: the listener already has as many connection requests being decided as it takes", "limit", l.handshakes.Limits().Total)
		req.Reject(gosrt.REJX_OVERLOAD)
		return
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		release()
		req.Reject(gosrt.REJ_CLOSE)
		return
	}
	l.wg.Add(1)
	l.mu.Unlock()
	go func() {
		defer l.wg.Done()
		defer release()
		l.handle(req, remote, release)
	}()
}

// Addr returns the address the listener is bound to, nil before Serve
// has bound it.
func (l *Listener) Addr() net.Addr {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ln == nil {
		return nil
	}
	return l.ln.Addr()
}

// Start listens on Address and serves in the background: it returns
// once the port is bound, or with why it could not be.
func (l *Listener) Start(context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- l.Serve(l.Address) }()
	if err := waitBound(errc, l.Addr); err != nil {
		return fmt.Errorf("listening on %s: %w (pass --srt with another address, or \"\" to serve no SRT)", l.Address, err)
	}
	l.Logger.Info("SRT ingest is listening", "addr", l.Addr().String())
	return nil
}

// waitBound waits until Serve has bound its port (or failed).
func waitBound(errc <-chan error, addr func() net.Addr) error {
	deadline := time.Now().Add(5 * time.Second)
	for addr() == nil {
		select {
		case err := <-errc:
			if err == nil {
				err = errors.New("the listener stopped at once")
			}
			return err
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return errors.New("the listener did not start")
		}
	}
	return nil
}

// Number returns the bound port, 0 before Start.
func (l *Listener) Number() int {
	a := l.Addr()
	if a == nil {
		return 0
	}
	_, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(port)
	return n
}

// Close stops listening and ends every connection, then waits for them.
func (l *Listener) Close(context.Context) error {
	l.init()
	l.mu.Lock()
	if !l.closed {
		l.closed = true
		close(l.done)
	}
	ln := l.ln
	for c := range l.conns {
		_ = c.Close()
	}
	l.mu.Unlock()
	if ln != nil {
		ln.Close()
	}
	l.wg.Wait()
	return nil
}

func (l *Listener) isClosed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closed
}

// track registers a live connection so Close can end it; false when the
// listener is closing.
func (l *Listener) track(c gosrt.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false
	}
	l.conns[c] = struct{}{}
	return true
}

func (l *Listener) untrack(c gosrt.Conn) {
	l.mu.Lock()
	delete(l.conns, c)
	l.mu.Unlock()
}

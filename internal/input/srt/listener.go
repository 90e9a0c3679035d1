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
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"

	gosrt "github.com/datarhei/gosrt"

	"github.com/sluice-video/sluice/internal/input/live"
)

// ErrListenerClosed is returned by Serve after Close.
var ErrListenerClosed = errors.New("srt: listener closed")

// maxPendingRequests bounds connection requests being decided at once
// (each may wait out a penalty before it is answered).
const maxPendingRequests = 64

// Listener accepts SRT publishers (SRT_LISTENER inputs) on one UDP port;
// the stream id names the input.
type Listener struct {
	Registry *live.Registry
	Logger   *slog.Logger
	// ReadTimeout ends a session whose publisher sends no media for this
	// long; DefaultReadTimeout when zero.
	ReadTimeout time.Duration

	once       sync.Once
	mu         sync.Mutex
	closed     bool
	done       chan struct{}
	ln         gosrt.Listener
	conns      map[gosrt.Conn]struct{}
	pending    int
	wg         sync.WaitGroup
	refusedLog *live.LogLimiter
}

func (l *Listener) init() {
	l.once.Do(func() {
		l.done = make(chan struct{})
		l.conns = map[gosrt.Conn]struct{}{}
		l.refusedLog = live.NewLogLimiter(time.Minute, 4096)
		if l.Logger == nil {
			l.Logger = slog.New(slog.DiscardHandler)
		}
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
		l.mu.Lock()
		full := l.pending >= maxPendingRequests
		if !full && !l.closed {
			l.pending++
			l.wg.Add(1)
		}
		closed := l.closed
		l.mu.Unlock()
		switch {
		case closed:
			req.Reject(gosrt.REJ_CLOSE)
		case full:
			req.Reject(gosrt.REJX_OVERLOAD)
			if l.refusedLog.Allow(req.RemoteAddr().String(), time.Now()) {
				l.Logger.Warn("SRT caller refused: too many connection requests at once", "remote", req.RemoteAddr().String(), "limit", maxPendingRequests)
			}
		default:
			go func() {
				defer l.wg.Done()
				l.handle(req)
			}()
		}
	}
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

// Close stops listening and ends every connection, then waits for them.
func (l *Listener) Close() {
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

// decided moves a request out of the pending count.
func (l *Listener) decided() {
	l.mu.Lock()
	l.pending--
	l.mu.Unlock()
}

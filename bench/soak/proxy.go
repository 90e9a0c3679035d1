package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/rs/zerolog"
)

// proxy is a TCP proxy the soak puts between two parts (a publisher and
// the server's RTMP port, the edge and the origin) to inject network
// faults from outside Sluice: added latency on every chunk, and cut
// connections with new ones refused for a while. It is toxiproxy used
// as a library, without its HTTP API: the latency is a latency toxic
// on both directions, the cut disables the proxy (closing every
// connection and its listener) and enables it again on the same
// address.
type proxy struct {
	tp     *toxiproxy.Proxy
	listen string // the address clients connect to, kept across cuts
	done   chan struct{}

	mu     sync.Mutex
	closed bool
	delay  time.Duration
	cuts   int         // which cut the pending reopening belongs to
	reopen *time.Timer // the pending reopening, nil if none
	wg     sync.WaitGroup
}

// reopenRetry is how soon the proxy tries again to listen on its
// address after a cut when that failed (another socket held the port).
const reopenRetry = 100 * time.Millisecond

// startProxy listens on a free loopback port and relays to target.
func startProxy(target string) (*proxy, error) {
	server := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(nil), zerolog.Nop())
	tp := toxiproxy.NewProxy(server, "soak to "+target, "127.0.0.1:0", target)
	if err := tp.Start(); err != nil {
		return nil, fmt.Errorf("fault proxy to %s: %w", target, err)
	}
	// Start has chosen the port: Listen now names it, and every later
	// start listens there again.
	return &proxy{tp: tp, listen: tp.Listen, done: make(chan struct{})}, nil
}

// addr is where clients connect.
func (p *proxy) addr() string { return p.listen }

// latencyToxic is how a latency toxic is described to toxiproxy.
type latencyToxic struct {
	Name       string  `json:"name"`
	Type       string  `json:"type"`
	Stream     string  `json:"stream"`
	Toxicity   float32 `json:"toxicity"`
	Attributes struct {
		Latency int64 `json:"latency"` // milliseconds
	} `json:"attributes"`
}

// setDelay holds every chunk relayed from now on, both ways, for d (to
// the millisecond); 0 relays at once again.
func (p *proxy) setDelay(d time.Duration) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || d == p.delay {
		return nil
	}
	p.tp.Toxics.ResetToxics(context.Background())
	p.delay = 0
	if d <= 0 {
		return nil
	}
	ms := max(d.Milliseconds(), 1)
	for _, stream := range []string{"upstream", "downstream"} {
		t := latencyToxic{Name: "latency " + stream, Type: "latency", Stream: stream, Toxicity: 1}
		t.Attributes.Latency = ms
		b, err := json.Marshal(t)
		if err != nil {
			return err
		}
		if _, err := p.tp.Toxics.AddToxicJson(bytes.NewReader(b)); err != nil {
			p.tp.Toxics.ResetToxics(context.Background())
			return fmt.Errorf("latency of %s %s to %s: %w", d, stream, p.tp.Upstream, err)
		}
	}
	p.delay = d
	return nil
}

// cut closes every relayed connection and refuses new ones for d: the
// proxy stops listening and listens again on the same address after d.
// A later cut replaces the time of an earlier one.
func (p *proxy) cut(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.tp.Stop()
	p.cuts++
	p.stopReopen()
	cut := p.cuts
	p.wg.Add(1)
	p.reopen = time.AfterFunc(d, func() {
		defer p.wg.Done()
		p.reopenAfter(cut)
	})
}

// stopReopen cancels the pending reopening, if it has not begun.
func (p *proxy) stopReopen() {
	if p.reopen != nil && p.reopen.Stop() {
		p.wg.Done()
	}
	p.reopen = nil
}

// reopenAfter listens again after cut, unless a later cut or close
// came meanwhile; it tries until it can (the port may be held for a
// moment by another socket) or the proxy is closed.
func (p *proxy) reopenAfter(cut int) {
	for {
		p.mu.Lock()
		if p.closed || p.cuts != cut {
			p.mu.Unlock()
			return
		}
		err := p.tp.Start()
		p.mu.Unlock()
		if err == nil || errors.Is(err, toxiproxy.ErrProxyAlreadyStarted) {
			return
		}
		t := time.NewTimer(reopenRetry)
		select {
		case <-p.done:
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// close stops listening and cuts everything; nothing of the proxy runs
// on once its connections' relays have seen them closed.
func (p *proxy) close() {
	p.mu.Lock()
	if !p.closed {
		p.closed = true
		close(p.done)
		p.stopReopen()
		p.tp.Stop()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

package peer

import (
	"context"
	"net"
	"net/http"
	"time"
)

// TransportConfig bounds cluster-internal requests.
type TransportConfig struct {
	// DialTimeout bounds connecting to a node (default 2 s): a node that
	// died refuses at once, one cut off does not answer.
	DialTimeout time.Duration
	// ResponseHeaderTimeout bounds the wait for a node's answer once the
	// request is sent (default 30 s, above the longest blocking playlist
	// reload the origin holds).
	ResponseHeaderTimeout time.Duration
	// IdleConnsPerNode is how many idle connections are kept to each node
	// for the next requests (default 64).
	IdleConnsPerNode int
	// ConnsPerNode bounds the connections to one node (default 192, below
	// the connections a node takes from one address, 256 by default);
	// more requests wait for one to be free.
	ConnsPerNode int
}

// NewTransport returns the transport of cluster-internal requests:
// connections kept and reused per node, bounded dials and waits, never
// through an HTTP proxy of the environment (nodes talk directly, on the
// addresses they advertise).
func NewTransport(cfg TransportConfig) *http.Transport {
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = 2 * time.Second
	}
	if cfg.ResponseHeaderTimeout <= 0 {
		cfg.ResponseHeaderTimeout = 30 * time.Second
	}
	if cfg.IdleConnsPerNode <= 0 {
		cfg.IdleConnsPerNode = 64
	}
	if cfg.ConnsPerNode <= 0 {
		cfg.ConnsPerNode = 192
	}
	d := &net.Dialer{Timeout: cfg.DialTimeout, KeepAlive: 15 * time.Second}
	return &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		},
		MaxIdleConns:          cfg.IdleConnsPerNode * 8,
		MaxIdleConnsPerHost:   cfg.IdleConnsPerNode,
		MaxConnsPerHost:       cfg.ConnsPerNode,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   cfg.DialTimeout,
		ResponseHeaderTimeout: cfg.ResponseHeaderTimeout,
		ExpectContinueTimeout: time.Second,
		ForceAttemptHTTP2:     false,
	}
}

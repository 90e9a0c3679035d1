// Package httpguard keeps Sluice's HTTP listeners from being held by
// clients that send slowly or open many connections: a request must
// arrive within a time limit, one client address may hold only so many
// connections, and a server that trusts every loopback caller answers only
// for loopback host names (DNS rebinding).
package httpguard

import (
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Defaults of a listener's protection.
const (
	// DefaultReadTimeout is how long a client may take to send a request,
	// body included: a 1 MiB API request at 35 kB/s.
	DefaultReadTimeout = 30 * time.Second
	// DefaultMaxConnsPerClient bounds one client address's connections:
	// far above what a player or an edge in front of this server opens,
	// far below the file descriptors a server has.
	DefaultMaxConnsPerClient = 256
	// headerTimeout bounds the request line and headers, idleTimeout a
	// kept-alive connection between requests.
	headerTimeout = 10 * time.Second
	idleTimeout   = 2 * time.Minute
)

// Config is the protection of one HTTP listener.
type Config struct {
	// ReadTimeout bounds how long a client may take to send a request,
	// from its first line to the end of its body (default
	// DefaultReadTimeout), so that a body trickled a byte at a time does
	// not hold a connection and a goroutine for ever. It bounds reading
	// the request only: once the body has been read (at once for a GET),
	// net/http lifts the deadline, so answers held open on purpose (LL-HLS
	// blocking playlist reloads, server-sent events, frames streams) and
	// handlers working long after reading their body are not cut.
	ReadTimeout time.Duration
	// MaxConnsPerClient bounds the connections one client address holds
	// open at once; further ones are closed as soon as they are accepted.
	// 0 sets no bound.
	MaxConnsPerClient int
	// Refused, when set, counts each connection closed over that bound.
	Refused func()
	Logger  *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.ReadTimeout <= 0 {
		c.ReadTimeout = DefaultReadTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Server returns an HTTP server for h with the read, header and idle
// timeouts; serve it on Listener's wrapping of the listener.
func (c Config) Server(h http.Handler) *http.Server {
	c = c.withDefaults()
	return &http.Server{
		Handler:           h,
		ReadTimeout:       c.ReadTimeout,
		ReadHeaderTimeout: min(headerTimeout, c.ReadTimeout),
		IdleTimeout:       idleTimeout,
		ErrorLog:          slog.NewLogLogger(c.Logger.Handler(), slog.LevelWarn),
	}
}

// Listener returns ln with the bound on connections per client address,
// or ln itself when there is no bound.
func (c Config) Listener(ln net.Listener) net.Listener {
	c = c.withDefaults()
	if c.MaxConnsPerClient <= 0 {
		return ln
	}
	return newPerClient(ln, c.MaxConnsPerClient, c.Refused, c.Logger)
}

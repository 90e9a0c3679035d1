package live

import (
	"net/netip"
	"sync"
)

// Default handshake limits of the ingest listeners.
const (
	DefaultHandshakesPerAddress = 8
	DefaultHandshakes           = 64
)

// HandshakeLimits bound the connections an ingest listener holds before it
// has admitted or refused them: each costs a goroutine and buffers, and
// an unbounded number would let anyone exhaust the server.
type HandshakeLimits struct {
	// PerAddress is how many one source address may have in their
	// handshake at once; an IPv6 address counts with the rest of its /64,
	// which one host usually has whole. DefaultHandshakesPerAddress when
	// zero.
	PerAddress int
	// Total is how many all addresses together may have at once.
	// DefaultHandshakes when zero.
	Total int
}

// withDefaults fills the zero limits.
func (l HandshakeLimits) withDefaults() HandshakeLimits {
	if l.PerAddress <= 0 {
		l.PerAddress = DefaultHandshakesPerAddress
	}
	if l.Total <= 0 {
		l.Total = DefaultHandshakes
	}
	return l
}

// Handshakes counts the connections in their handshake, by source address
// and in all. The per-address limit comes first, so that one address
// holding connections open (idle, or waiting out wrong-key penalties)
// runs into its own limit long before the server-wide one, and the others
// still get in.
type Handshakes struct {
	limits HandshakeLimits

	mu     sync.Mutex
	total  int
	byAddr map[netip.Prefix]int // only addresses with handshakes in progress
}

// NewHandshakes returns a counter with the limits (defaults for zeros).
func NewHandshakes(limits HandshakeLimits) *Handshakes {
	return &Handshakes{limits: limits.withDefaults(), byAddr: map[netip.Prefix]int{}}
}

// Limits returns the limits in force.
func (h *Handshakes) Limits() HandshakeLimits { return h.limits }

// Begin counts a new connection from remote ("ip:port") in its handshake,
// or refuses it: RefusedAddressLimit when its address has PerAddress in
// progress, RefusedServerLimit when all have Total. On success it returns
// "" and the release to call once the connection is admitted or gone
// (calls after the first do nothing).
func (h *Handshakes) Begin(remote string) (release func(), refused Refusal) {
	key := addressKey(remote)
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.byAddr[key] >= h.limits.PerAddress:
		return nil, RefusedAddressLimit
	case h.total >= h.limits.Total:
		return nil, RefusedServerLimit
	}
	h.byAddr[key]++
	h.total++
	var once sync.Once
	return func() { once.Do(func() { h.end(key) }) }, ""
}

func (h *Handshakes) end(key netip.Prefix) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.total--
	if h.byAddr[key]--; h.byAddr[key] <= 0 {
		delete(h.byAddr, key)
	}
}

// InProgress returns the handshakes in progress, in all and from remote's
// address.
func (h *Handshakes) InProgress(remote string) (total, fromAddress int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.total, h.byAddr[addressKey(remote)]
}

// addressKey is what the per-address limit counts by: the IPv4 address,
// or the /64 of an IPv6 address. Unparseable addresses share one key.
func addressKey(remote string) netip.Prefix {
	ip, err := parseIP(remote)
	if err != nil {
		return netip.Prefix{}
	}
	bits := 32
	if ip.Is6() {
		bits = 64
	}
	p, _ := ip.Prefix(bits)
	return p
}

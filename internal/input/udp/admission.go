package udp

import (
	"net/netip"
	"time"
)

// verdicts caches the registry's answer for each source address for a
// short time: a datagram stream asks many times a second, and a refused
// address is counted on the input once per period, not once per packet.
// It is used by the receiving goroutine only.
type verdicts struct {
	ttl time.Duration
	max int
	by  map[netip.Addr]verdict
}

type verdict struct {
	allowed bool
	reason  string
	until   time.Time
}

func newVerdicts(ttl time.Duration, maxAddrs int) *verdicts {
	return &verdicts{ttl: ttl, max: maxAddrs, by: map[netip.Addr]verdict{}}
}

// get returns the cached verdict for ip, if still fresh.
func (v *verdicts) get(ip netip.Addr, now time.Time) (verdict, bool) {
	d, ok := v.by[ip]
	if !ok || now.After(d.until) {
		return verdict{}, false
	}
	return d, true
}

// put records a verdict; a full cache drops its stale entries first, then
// everything (it is only a cache).
func (v *verdicts) put(ip netip.Addr, d verdict, now time.Time) {
	if len(v.by) >= v.max {
		for a, e := range v.by {
			if now.After(e.until) {
				delete(v.by, a)
			}
		}
		if len(v.by) >= v.max {
			clear(v.by)
		}
	}
	d.until = now.Add(v.ttl)
	v.by[ip] = d
}

// forget drops every verdict: the registry changed.
func (v *verdicts) forget() { clear(v.by) }
